//! Accounts, tokens and tenants over HTTP, run on every store: in memory,
//! SQLite and Postgres.

#[macro_use]
mod support;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_domain::UserId;
use agents_domain::account::TokenIssuer;
use agents_http::{HttpSettings, build_app};
use serde_json::json;

use support::api::{assert_error, call, get_as, login, post, register};

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
    concurrent_registrations_create_one_user,
);
