//! Tenants, members and roles over HTTP, run on every store: in memory,
//! SQLite and Postgres.

#[macro_use]
mod support;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_http::{HttpSettings, build_app};
use serde_json::json;

use support::api::{assert_error, call, get_as, login, register, with_auth};

mod scenarios {
    use super::*;
    use support::Stores;

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
}

on_every_store!(tenants_members_and_roles);
