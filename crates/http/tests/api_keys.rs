//! Tenant API keys over HTTP, on every store: lifecycle, the scopes
//! matrix, a fixed tenant and who may manage keys; the OpenAPI document's
//! key scheme.

#[macro_use]
mod support;
mod key_support;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_http::{HttpSettings, build_app};
use key_support::*;
use serde_json::json;

mod scenarios {
    use super::*;
    use agents_adapters::auth::Sha256KeyMaterial;
    use agents_domain::api_key::{ApiKey, KeyMaterial, NewApiKey, Scope};
    use agents_domain::{ApiKeyId, TenantId};
    use support::Stores;

    pub async fn a_key_is_created_used_listed_and_revoked(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (alice, tenant) = user(&app, "alice").await;
        let created = create_key(&app, &alice, &tenant, json!({"name": "backend"})).await;
        let key = secret(&created);
        assert!(key.starts_with("agk_") && key.len() >= 36, "{key}");
        assert_eq!(created["prefix"], key[..12]);
        assert_eq!(created["scopes"], json!(["chat", "conversations:read"]));
        assert!(created["created_by"].is_string());

        let answered = call(&app, bearer(chat("from-backend"), &key)).await;
        assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
        let listed = call(
            &app,
            test::TestRequest::get()
                .uri("/api/v1/conversations")
                .insert_header(("X-API-Key", key.as_str()))
                .to_request(),
        )
        .await;
        assert_eq!(listed.status, StatusCode::OK);
        assert_eq!(listed.body[0]["conversation_id"], "from-backend");

        let keys = call(
            &app,
            bearer(
                test::TestRequest::get().uri(&format!("/api/v1/tenants/{tenant}/api-keys")),
                &alice,
            ),
        )
        .await;
        assert_eq!(keys.status, StatusCode::OK);
        let row = &keys.body[0];
        assert!(row.get("key").is_none(), "the secret is shown once: {row}");
        assert!(!keys.body.to_string().contains(&key));
        assert!(row["last_used_at"].is_string());
        assert!(row["revoked_at"].is_null());
        assert_eq!(row["usage"]["messages"], 1);
        assert!(
            row["usage"]["tokens"].as_i64().unwrap_or_default() > 0,
            "{row}"
        );

        let id = created["id"].as_str().unwrap_or_default();
        let revoked = call(
            &app,
            bearer(
                test::TestRequest::delete().uri(&format!("/api/v1/tenants/{tenant}/api-keys/{id}")),
                &alice,
            ),
        )
        .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let after = call(&app, bearer(chat("again"), &key)).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            after
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );

        // Unknown and expired keys get exactly the revoked key's answer.
        let material = Sha256KeyMaterial;
        let expired = material.generate();
        stores
            .api_keys
            .create(NewApiKey {
                key: ApiKey {
                    id: ApiKeyId::new(),
                    tenant_id: TenantId::from_uuid(tenant.parse().expect("uuid")),
                    name: "old".into(),
                    prefix: expired[..12].to_owned(),
                    scopes: vec![Scope::Chat],
                    created_at: time::OffsetDateTime::now_utc() - time::Duration::days(2),
                    expires_at: Some(time::OffsetDateTime::now_utc() - time::Duration::days(1)),
                    revoked_at: None,
                    last_used_at: None,
                    rate_limit_per_minute: None,
                    monthly_message_limit: None,
                    monthly_token_limit: None,
                    created_by: None,
                },
                hash: material.hash(&expired),
            })
            .await
            .expect("expired key");
        let unknown = material.generate();
        let wrong_secret = format!("{}{}", &key[..12], &unknown[12..]);
        for other in [expired.as_str(), unknown.as_str(), wrong_secret.as_str()] {
            let reply = call(&app, bearer(chat("x"), other)).await;
            assert_eq!(
                (reply.status, &reply.body),
                (after.status, &after.body),
                "{other}"
            );
        }
        let empty = call(
            &app,
            test::TestRequest::get()
                .uri("/api/v1/conversations")
                .insert_header(("X-API-Key", ""))
                .to_request(),
        )
        .await;
        assert_eq!(empty.status, StatusCode::UNAUTHORIZED);
    }

    pub async fn scopes_open_their_routes_and_nothing_else(stores: Stores) {
        let state = support::billing_state(&stores).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (alice, tenant) = user(&app, "alice").await;
        let families: [(&str, Route); 4] = [
            ("chat", |_| chat("matrix")),
            ("conversations:read", |_| {
                test::TestRequest::get().uri("/api/v1/conversations")
            }),
            ("conversations:write", |_| {
                test::TestRequest::delete().uri("/api/v1/conversations/matrix")
            }),
            ("billing:read", |t| {
                test::TestRequest::get().uri(&format!("/api/v1/billing/tenants/{t}/usage"))
            }),
        ];
        for (scope, _) in &families {
            let key = secret(
                &create_key(
                    &app,
                    &alice,
                    &tenant,
                    json!({"name": scope, "scopes": [scope]}),
                )
                .await,
            );
            for (family, request) in &families {
                let reply = call(&app, bearer(request(&tenant), &key)).await;
                if family == scope {
                    assert!(
                        reply.status != StatusCode::FORBIDDEN
                            && reply.status != StatusCode::UNAUTHORIZED,
                        "{scope} opens {family}: {} {}",
                        reply.status,
                        reply.body
                    );
                } else {
                    assert_eq!(
                        reply.status,
                        StatusCode::FORBIDDEN,
                        "{scope} must not open {family}: {}",
                        reply.body
                    );
                    assert_eq!(reply.body["error"], "forbidden");
                }
            }
        }
        let all = secret(&create_key(&app, &alice, &tenant, json!({"name": "all", "scopes": ["chat", "conversations:read", "conversations:write", "billing:read"]})).await);
        let closed = [
            test::TestRequest::get().uri("/api/v1/tenants"),
            test::TestRequest::post()
                .uri("/api/v1/tenants")
                .set_json(json!({"name": "Keyed"})),
            test::TestRequest::get().uri(&format!("/api/v1/tenants/{tenant}/members")),
            test::TestRequest::get().uri(&format!("/api/v1/tenants/{tenant}/api-keys")),
            test::TestRequest::post()
                .uri(&format!("/api/v1/tenants/{tenant}/api-keys"))
                .set_json(json!({"name": "child"})),
            test::TestRequest::get().uri("/api/v1/auth/me"),
            test::TestRequest::post()
                .uri(&format!("/api/v1/billing/tenants/{tenant}/subscription"))
                .set_json(json!({"plan_code": "pro"})),
            test::TestRequest::post()
                .uri(&format!("/api/v1/billing/tenants/{tenant}/usage"))
                .set_json(json!({"feature_key": "messages", "quantity": 1})),
        ];
        for request in closed {
            let reply = call(&app, bearer(request, &all)).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        }
    }

    pub async fn a_keys_tenant_is_fixed_and_only_managers_handle_keys(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (alice, tenant) = user(&app, "alice").await;
        let (bob, bobs_tenant) = user(&app, "bob").await;
        let (carol, _) = user(&app, "carol").await;
        let add = call(
            &app,
            bearer(
                test::TestRequest::post()
                    .uri(&format!("/api/v1/tenants/{tenant}/members"))
                    .set_json(json!({"username_or_email": "carol", "role": "viewer"})),
                &alice,
            ),
        )
        .await;
        assert_eq!(add.status, StatusCode::CREATED);
        let key = secret(
            &create_key(
                &app,
                &alice,
                &tenant,
                json!({"name": "k", "scopes": ["conversations:read", "billing:read"]}),
            )
            .await,
        );

        let elsewhere = call(
            &app,
            bearer(
                test::TestRequest::get()
                    .uri("/api/v1/conversations")
                    .insert_header(("X-Tenant-Id", bobs_tenant.as_str())),
                &key,
            ),
        )
        .await;
        assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
        let own = call(
            &app,
            bearer(
                test::TestRequest::get()
                    .uri("/api/v1/conversations")
                    .insert_header(("X-Tenant-Id", "alice")),
                &key,
            ),
        )
        .await;
        assert_eq!(own.status, StatusCode::OK, "its own tenant by slug");

        for token in [&bob, &carol] {
            for request in [
                test::TestRequest::post()
                    .uri(&format!("/api/v1/tenants/{tenant}/api-keys"))
                    .set_json(json!({"name": "mine"})),
                test::TestRequest::get().uri(&format!("/api/v1/tenants/{tenant}/api-keys")),
            ] {
                let reply = call(&app, bearer(request, token)).await;
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
            }
        }
        let id = uuid::Uuid::new_v4();
        let missing = call(
            &app,
            bearer(
                test::TestRequest::delete().uri(&format!("/api/v1/tenants/{tenant}/api-keys/{id}")),
                &alice,
            ),
        )
        .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let bad = call(
            &app,
            bearer(
                test::TestRequest::delete().uri(&format!("/api/v1/tenants/{tenant}/api-keys/nope")),
                &alice,
            ),
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

        let invalid = call(&app, bearer(test::TestRequest::post().uri(&format!("/api/v1/tenants/{tenant}/api-keys")).set_json(json!({"name": " ", "scopes": ["chat", "admin"], "expires_at": "2001-01-01T00:00:00Z", "monthly_message_limit": 0})), &alice)).await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = invalid.body["details"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["field"].as_str())
            .collect();
        assert_eq!(
            fields,
            vec!["name", "scopes.1", "expires_at", "monthly_message_limit"]
        );
    }
}

on_every_store!(
    a_key_is_created_used_listed_and_revoked,
    scopes_open_their_routes_and_nothing_else,
    a_keys_tenant_is_fixed_and_only_managers_handle_keys,
);

#[actix_web::test]
async fn the_document_declares_the_key_scheme_and_what_keys_can_be_answered() {
    let stores = support::memory_stores();
    let app = test::init_service(build_app(
        support::state_on(&stores, None).await,
        HttpSettings::default(),
    ))
    .await;
    let doc = call(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await
    .body;
    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(
        (&scheme["type"], &scheme["in"], &scheme["name"]),
        (&json!("apiKey"), &json!("header"), &json!("X-API-Key"))
    );
    for (method, path) in [
        ("post", "/api/v1/chat"),
        ("get", "/api/v1/conversations"),
        ("delete", "/api/v1/conversations/{conversation_id}"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(
            op["security"].to_string().contains("api_key"),
            "{method} {path}"
        );
        for status in ["401", "403", "429"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} documents {status}"
            );
        }
    }
    let keys = &doc["paths"]["/api/v1/tenants/{tenant_id}/api-keys"];
    assert!(keys["post"]["responses"]["201"].is_object());
    assert!(
        !keys["get"]["security"].to_string().contains("api_key"),
        "keys never manage keys"
    );
}

#[actix_web::test]
async fn malformed_key_requests_name_the_field() {
    let stores = support::memory_stores();
    let app = test::init_service(build_app(
        support::state_on(&stores, None).await,
        HttpSettings::default(),
    ))
    .await;
    let (alice, tenant) = user(&app, "alice").await;
    for (body, field) in [
        (json!({"name": 5}), "name"),
        (json!({}), "name"),
        (json!({"name": "x", "scopes": ["chat", 5]}), "scopes.1"),
        (json!({"name": "x", "scopes": "chat"}), "scopes"),
        (json!({"name": "x", "expires_at": "tomorrow"}), "expires_at"),
        (
            json!({"name": "x", "rate_limit_per_minute": "fast"}),
            "rate_limit_per_minute",
        ),
        (
            json!({"name": "x", "monthly_token_limit": 1.5}),
            "monthly_token_limit",
        ),
        (
            json!({"name": "x", "monthly_message_limit": -1}),
            "monthly_message_limit",
        ),
    ] {
        let reply = call(
            &app,
            bearer(
                test::TestRequest::post()
                    .uri(&format!("/api/v1/tenants/{tenant}/api-keys"))
                    .set_json(&body),
                &alice,
            ),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(
            reply.body["details"][0]["field"], field,
            "{body}: {}",
            reply.body
        );
    }
}
