//! API keys over HTTP, on every store: conversations that belong to a
//! key, a monthly budget under concurrent chats, the per-key rate limit.

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
    use support::Stores;

    pub async fn a_keys_conversations_are_its_own_and_its_admins(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (alice, tenant) = user(&app, "alice").await;
        let (carol, _) = user(&app, "carol").await;
        call(
            &app,
            bearer(
                test::TestRequest::post()
                    .uri(&format!("/api/v1/tenants/{tenant}/members"))
                    .set_json(json!({"username_or_email": "carol", "role": "viewer"})),
                &alice,
            ),
        )
        .await;
        let first = secret(&create_key(&app, &alice, &tenant, json!({"name": "a"})).await);
        let second = secret(&create_key(&app, &alice, &tenant, json!({"name": "b"})).await);
        assert_eq!(
            call(&app, bearer(chat("script-run"), &first)).await.status,
            StatusCode::OK
        );
        let read = |token: &str| {
            bearer(
                test::TestRequest::get()
                    .uri("/api/v1/conversations/script-run")
                    .insert_header(("X-Tenant-Id", tenant.as_str())),
                token,
            )
        };
        assert_eq!(call(&app, read(&first)).await.status, StatusCode::OK);
        assert_eq!(
            call(&app, read(&alice)).await.status,
            StatusCode::OK,
            "owners see it"
        );
        assert_eq!(
            call(&app, read(&second)).await.status,
            StatusCode::NOT_FOUND,
            "other keys do not"
        );
        assert_eq!(
            call(&app, read(&carol)).await.status,
            StatusCode::NOT_FOUND,
            "viewers do not"
        );
        let hijack = call(&app, bearer(chat("script-run"), &second)).await;
        assert_eq!(hijack.status, StatusCode::NOT_FOUND, "{}", hijack.body);
    }

    pub async fn a_message_budget_of_two_answers_two_of_eight_concurrent_chats(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (alice, tenant) = user(&app, "alice").await;
        let key = secret(
            &create_key(
                &app,
                &alice,
                &tenant,
                json!({"name": "budget", "monthly_message_limit": 2}),
            )
            .await,
        );
        let replies = futures::future::join_all(
            (0..8).map(|i| call(&app, bearer(chat(&format!("c{i}")), &key))),
        )
        .await;
        let answered = replies
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        let refused: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
            .collect();
        assert_eq!((answered, refused.len()), (2, 6));
        assert!(
            refused
                .iter()
                .all(|r| r.body["error"] == "quota_exceeded"
                    && r.headers.contains_key("retry-after"))
        );
        let listed = call(
            &app,
            bearer(test::TestRequest::get().uri("/api/v1/conversations"), &key),
        )
        .await;
        assert_eq!(
            listed.body.as_array().map(Vec::len),
            Some(2),
            "a refusal stores nothing"
        );
        let keys = call(
            &app,
            bearer(
                test::TestRequest::get().uri(&format!("/api/v1/tenants/{tenant}/api-keys")),
                &alice,
            ),
        )
        .await;
        assert_eq!(keys.body[0]["usage"]["messages"], 2);
    }

    pub async fn a_keys_rate_limit_refuses_past_its_minute(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let (alice, tenant) = user(&app, "alice").await;
        let key = secret(
            &create_key(
                &app,
                &alice,
                &tenant,
                json!({"name": "slow", "rate_limit_per_minute": 2}),
            )
            .await,
        );
        let list = || bearer(test::TestRequest::get().uri("/api/v1/conversations"), &key);
        assert_eq!(call(&app, list()).await.status, StatusCode::OK);
        assert_eq!(call(&app, list()).await.status, StatusCode::OK);
        let third = call(&app, list()).await;
        assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(third.body["error"], "rate_limited");
        assert!(third.headers.contains_key("retry-after"));
        // Users of the tenant are not slowed by the key's limit.
        let user_list = call(
            &app,
            bearer(
                test::TestRequest::get().uri("/api/v1/conversations"),
                &alice,
            ),
        )
        .await;
        assert_eq!(user_list.status, StatusCode::OK);
    }
}

on_every_store!(
    a_keys_conversations_are_its_own_and_its_admins,
    a_message_budget_of_two_answers_two_of_eight_concurrent_chats,
    a_keys_rate_limit_refuses_past_its_minute,
);
