//! Accounts, tokens and tenants over HTTP, run on every store: in memory,
//! SQLite and Postgres.

#[macro_use]
mod support;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use agents_domain::UserId;
use agents_domain::account::TokenIssuer;
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};

struct Reply {
    status: StatusCode,
    headers: actix_web::http::header::HeaderMap,
    body: Value,
}

async fn call<S, B>(app: &S, req: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn post(uri: &str, body: Value) -> Request {
    test::TestRequest::post()
        .uri(uri)
        .set_json(body)
        .to_request()
}

fn get_as(uri: &str, token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
}

fn with_auth(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("Authorization", format!("Bearer {token}")))
}

async fn register<S, B>(app: &S, username: &str) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(
        app,
        post("/api/v1/auth/register", json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

async fn login<S, B>(app: &S, username: &str) -> (String, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = call(
        app,
        post(
            "/api/v1/auth/token",
            json!({"username": username, "password": "correct horse"}),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    (
        reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reply.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["success"], false);
    assert_eq!(reply.body["error"], code, "{}", reply.body);
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(
            reply
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
    }
}

mod scenarios {
    use super::*;
    use support::Stores;

    pub async fn register_login_me(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let body = register(&app, "alice").await;
        assert_eq!(body["user"]["username"], "alice");
        assert_eq!(body["user"]["email"], "alice@example.com");
        assert_eq!(body["user"]["is_active"], true);
        assert_eq!(body["tenant"]["slug"], "alice");
        assert_eq!(body["tenant"]["role"], "owner");
        assert!(body["user"].get("password_hash").is_none());

        let dup = call(&app, post("/api/v1/auth/register", json!({"username": "alice", "email": "other@example.com", "password": "correct horse"}))).await;
        assert_error(&dup, StatusCode::CONFLICT, "conflict");
        let dup = call(&app, post("/api/v1/auth/register", json!({"username": "alice2", "email": "ALICE@example.com", "password": "correct horse"}))).await;
        assert_error(&dup, StatusCode::CONFLICT, "conflict");
        let bad = call(
            &app,
            post(
                "/api/v1/auth/register",
                json!({"username": "a b", "email": "x", "password": "short"}),
            ),
        )
        .await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert_eq!(bad.body["details"].as_array().map(Vec::len), Some(3));

        let reserved = register(&app, "admin").await;
        assert_ne!(
            reserved["tenant"]["slug"], "admin",
            "reserved slugs are never given out"
        );

        let reply = call(
            &app,
            post(
                "/api/v1/auth/token",
                json!({"username": "alice@example.com", "password": "correct horse"}),
            ),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["token_type"], "bearer");
        assert_eq!(reply.body["expires_in"], 1800);
        let access = reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();

        let me = call(&app, get_as("/api/v1/auth/me", &access).to_request()).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.body["success"], true);
        assert_eq!(
            me.body["message"],
            "User information retrieved successfully"
        );
        assert_eq!(me.body["data"]["username"], "alice");
        assert_eq!(me.body["data"]["tenants"][0]["role"], "owner");
        assert_eq!(
            me.body["data"]["token_payload"]["aud"],
            "anything-agents-api"
        );
    }

    pub async fn wrong_password_and_unknown_user_look_the_same_then_throttle(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        register(&app, "bob").await;
        let wrong = call(
            &app,
            post(
                "/api/v1/auth/token",
                json!({"username": "bob", "password": "nope nope"}),
            ),
        )
        .await;
        let unknown = call(
            &app,
            post(
                "/api/v1/auth/token",
                json!({"username": "ghost", "password": "nope nope"}),
            ),
        )
        .await;
        assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_error(&unknown, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(wrong.body["message"], "Incorrect username or password");
        assert_eq!(wrong.body, unknown.body);
        for _ in 0..4 {
            call(
                &app,
                post(
                    "/api/v1/auth/token",
                    json!({"username": "bob", "password": "nope nope"}),
                ),
            )
            .await;
        }
        let throttled = call(
            &app,
            post(
                "/api/v1/auth/token",
                json!({"username": "bob", "password": "correct horse"}),
            ),
        )
        .await;
        assert_error(&throttled, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let retry: u64 = throttled
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(retry >= 1, "Retry-After must be set");
    }

    pub async fn refresh_rotates_and_reuse_revokes_the_family(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        register(&app, "carol").await;
        let (_, first) = login(&app, "carol").await;
        let rotated = call(
            &app,
            post("/api/v1/auth/refresh", json!({"refresh_token": first})),
        )
        .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        let second = rotated.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_ne!(second, first);
        let access = rotated.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            call(&app, get_as("/api/v1/auth/me", &access).to_request())
                .await
                .status,
            StatusCode::OK
        );

        // The successor is used: the first token is now spent for good.
        let third = call(
            &app,
            post("/api/v1/auth/refresh", json!({"refresh_token": second})),
        )
        .await;
        assert_eq!(third.status, StatusCode::OK, "{}", third.body);
        let third = third.body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let replay = call(
            &app,
            post("/api/v1/auth/refresh", json!({"refresh_token": first})),
        )
        .await;
        assert_error(&replay, StatusCode::UNAUTHORIZED, "unauthorized");
        let after_theft = call(
            &app,
            post("/api/v1/auth/refresh", json!({"refresh_token": third})),
        )
        .await;
        assert_error(&after_theft, StatusCode::UNAUTHORIZED, "unauthorized");

        let (_, other_login) = login(&app, "carol").await;
        let out = call(
            &app,
            post("/api/v1/auth/logout", json!({"refresh_token": other_login})),
        )
        .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        let after_logout = call(
            &app,
            post(
                "/api/v1/auth/refresh",
                json!({"refresh_token": other_login}),
            ),
        )
        .await;
        assert_error(&after_logout, StatusCode::UNAUTHORIZED, "unauthorized");
        let garbage = call(
            &app,
            post("/api/v1/auth/refresh", json!({"refresh_token": "garbage"})),
        )
        .await;
        assert_error(&garbage, StatusCode::UNAUTHORIZED, "unauthorized");
    }

    pub async fn bad_tokens_are_401(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let body = register(&app, "dave").await;
        let user = UserId::from_uuid(
            body["user"]["id"]
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .unwrap_or_default(),
        );
        let (expired, _) = support::jwt()
            .issue(
                user,
                time::OffsetDateTime::now_utc() - time::Duration::hours(1),
            )
            .expect("issue");
        let (valid, _) = support::jwt()
            .issue(user, time::OffsetDateTime::now_utc())
            .expect("issue");
        let payload = valid.split('.').nth(1).unwrap_or_default().to_owned();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        let mut tampered = valid.clone();
        tampered.push('x');
        for token in [
            expired.as_str(),
            none.as_str(),
            tampered.as_str(),
            "garbage",
        ] {
            let reply = call(&app, get_as("/api/v1/auth/me", token).to_request()).await;
            assert_error(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let no_header = call(
            &app,
            test::TestRequest::get().uri("/api/v1/auth/me").to_request(),
        )
        .await;
        assert_error(&no_header, StatusCode::UNAUTHORIZED, "unauthorized");
        let basic = call(
            &app,
            test::TestRequest::get()
                .uri("/api/v1/auth/me")
                .insert_header(("Authorization", "Basic YTpi"))
                .to_request(),
        )
        .await;
        assert_error(&basic, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(
            call(&app, get_as("/api/v1/auth/me", &valid).to_request())
                .await
                .status,
            StatusCode::OK
        );
    }

    pub async fn tenants_members_and_roles(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        register(&app, "owner1").await;
        let viewer_body = register(&app, "viewer1").await;
        let viewer_id = viewer_body["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let admin_body = register(&app, "admin1").await;
        let admin_id = admin_body["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (owner, _) = login(&app, "owner1").await;
        let (viewer, _) = login(&app, "viewer1").await;
        let (admin, _) = login(&app, "admin1").await;

        let created = call(
            &app,
            with_auth(test::TestRequest::post().uri("/api/v1/tenants"), &owner)
                .set_json(json!({"name": "Acme Inc", "slug": "acme"}))
                .to_request(),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["role"], "owner");
        let tenant = created.body["id"].as_str().unwrap_or_default().to_owned();
        let taken = call(
            &app,
            with_auth(test::TestRequest::post().uri("/api/v1/tenants"), &viewer)
                .set_json(json!({"name": "X", "slug": "acme"}))
                .to_request(),
        )
        .await;
        assert_error(&taken, StatusCode::CONFLICT, "conflict");
        let reserved = call(
            &app,
            with_auth(test::TestRequest::post().uri("/api/v1/tenants"), &viewer)
                .set_json(json!({"name": "X", "slug": "admin"}))
                .to_request(),
        )
        .await;
        assert_error(
            &reserved,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );

        let members_uri = format!("/api/v1/tenants/{tenant}/members");
        let outsider = call(&app, get_as(&members_uri, &viewer).to_request()).await;
        assert_error(&outsider, StatusCode::FORBIDDEN, "forbidden");
        let by_slug = call(
            &app,
            get_as("/api/v1/tenants/acme/members", &owner).to_request(),
        )
        .await;
        assert_eq!(by_slug.status, StatusCode::OK);

        let add = |token: &str, who: &str, role: &str| {
            with_auth(test::TestRequest::post().uri(&members_uri), token)
                .set_json(json!({"username_or_email": who, "role": role}))
                .to_request()
        };
        assert_eq!(
            call(&app, add(&owner, "viewer1", "viewer")).await.status,
            StatusCode::CREATED
        );
        assert_eq!(
            call(&app, add(&owner, "admin1@example.com", "admin"))
                .await
                .status,
            StatusCode::CREATED
        );
        assert_error(
            &call(&app, add(&owner, "viewer1", "viewer")).await,
            StatusCode::CONFLICT,
            "conflict",
        );
        assert_error(
            &call(&app, add(&owner, "nobody", "viewer")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );
        assert_error(
            &call(&app, add(&viewer, "owner1", "viewer")).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(&app, add(&admin, "viewer1", "owner")).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(&app, add(&owner, "viewer1", "god")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );

        let list = call(&app, get_as(&members_uri, &viewer).to_request()).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body.as_array().map(Vec::len), Some(3));

        // X-Tenant-Role is ignored: a viewer claiming owner is still a viewer.
        let spoof = with_auth(
            test::TestRequest::patch().uri(&format!("{members_uri}/{admin_id}")),
            &viewer,
        )
        .insert_header(("X-Tenant-Role", "owner"))
        .set_json(json!({"role": "viewer"}))
        .to_request();
        assert_error(&call(&app, spoof).await, StatusCode::FORBIDDEN, "forbidden");

        let promote = with_auth(
            test::TestRequest::patch().uri(&format!("{members_uri}/{viewer_id}")),
            &owner,
        )
        .set_json(json!({"role": "admin"}))
        .to_request();
        let promoted = call(&app, promote).await;
        assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
        assert_eq!(promoted.body["role"], "admin");

        let me = call(&app, get_as("/api/v1/auth/me", &owner).to_request()).await;
        let owner_id = me.body["data"]["user_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let demote_last = with_auth(
            test::TestRequest::patch().uri(&format!("{members_uri}/{owner_id}")),
            &owner,
        )
        .set_json(json!({"role": "viewer"}))
        .to_request();
        assert_error(
            &call(&app, demote_last).await,
            StatusCode::CONFLICT,
            "conflict",
        );
        let remove_last = with_auth(
            test::TestRequest::delete().uri(&format!("{members_uri}/{owner_id}")),
            &owner,
        )
        .to_request();
        assert_error(
            &call(&app, remove_last).await,
            StatusCode::CONFLICT,
            "conflict",
        );

        let remove = with_auth(
            test::TestRequest::delete().uri(&format!("{members_uri}/{viewer_id}")),
            &owner,
        )
        .to_request();
        assert_eq!(call(&app, remove).await.status, StatusCode::NO_CONTENT);
        // Removal takes effect at once, with the same still-valid token.
        assert_error(
            &call(&app, get_as(&members_uri, &viewer).to_request()).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let tenants = call(&app, get_as("/api/v1/tenants", &viewer).to_request()).await;
        assert_eq!(
            tenants.body.as_array().map(Vec::len),
            Some(1),
            "only the personal tenant is left"
        );
    }

    pub async fn concurrent_registrations_create_one_user(stores: Stores) {
        let state = support::state_on(&stores, None).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let requests = (0..20).map(|i| {
            post("/api/v1/auth/register", json!({"username": "racer", "email": format!("racer{i}@example.com"), "password": "correct horse"}))
        });
        let replies =
            futures::future::join_all(requests.map(|req| test::call_service(&app, req))).await;
        let created = replies
            .iter()
            .filter(|r| r.status() == StatusCode::CREATED)
            .count();
        let conflicts = replies
            .iter()
            .filter(|r| r.status() == StatusCode::CONFLICT)
            .count();
        assert_eq!((created, conflicts), (1, 19));
    }
}

on_every_store!(
    register_login_me,
    wrong_password_and_unknown_user_look_the_same_then_throttle,
    refresh_rotates_and_reuse_revokes_the_family,
    bad_tokens_are_401,
    tenants_members_and_roles,
    concurrent_registrations_create_one_user,
);
