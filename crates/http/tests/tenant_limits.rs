//! Tenant creation limits over HTTP on every store: a user owns at most
//! `MAX_TENANTS_PER_USER` tenants (409 past it, also under a burst of
//! concurrent creations), and creates at most
//! `RATE_LIMIT_TENANT_CREATE_PER_HOUR` per hour (429).

#[macro_use]
mod support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_application::accounts::AccountSettings;
use agents_http::{HttpSettings, build_app};
use serde_json::json;
use support::Stores;
use support::api::{assert_error, call, req, user};

mod scenarios {
    use super::*;

    pub async fn a_user_owns_at_most_the_tenant_cap_also_under_a_burst(stores: Stores) {
        let mut state = support::state_on(&stores, None).await;
        state.accounts = Arc::new(support::account_service(
            &stores,
            AccountSettings {
                max_tenants_per_user: 4,
                tenant_creates_per_hour: 100,
                ..AccountSettings::default()
            },
        ));
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, _, _) = user(&app, "founder").await;
        let create = |i: usize| {
            req(
                "POST",
                "/api/v1/tenants",
                Some(&token),
                Some(json!({"name": format!("Team {i}")})),
            )
        };
        let burst = futures::future::join_all((0..10).map(|i| call(&app, create(i)))).await;
        let created = burst
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 3, "the personal tenant plus three");
        for refused in burst.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_error(refused, StatusCode::CONFLICT, "conflict");
        }
        let tenants = call(&app, req("GET", "/api/v1/tenants", Some(&token), None)).await;
        assert_eq!(tenants.body.as_array().map(Vec::len), Some(4));
        // Someone else is not affected.
        let (other, _, _) = user(&app, "cofounder").await;
        let theirs = req(
            "POST",
            "/api/v1/tenants",
            Some(&other),
            Some(json!({"name": "Theirs"})),
        );
        assert_eq!(call(&app, theirs).await.status, StatusCode::CREATED);
    }

    pub async fn tenant_creation_is_rate_limited_per_user(stores: Stores) {
        let mut state = support::state_on(&stores, None).await;
        state.accounts = Arc::new(support::account_service(
            &stores,
            AccountSettings {
                max_tenants_per_user: 0,
                tenant_creates_per_hour: 2,
                ..AccountSettings::default()
            },
        ));
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, _, _) = user(&app, "hasty").await;
        for i in 0..2 {
            let body = Some(json!({"name": format!("Fast {i}")}));
            assert_eq!(
                call(&app, req("POST", "/api/v1/tenants", Some(&token), body))
                    .await
                    .status,
                StatusCode::CREATED
            );
        }
        let body = Some(json!({"name": "One too many"}));
        let limited = call(&app, req("POST", "/api/v1/tenants", Some(&token), body)).await;
        assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert!(
            limited
                .retry_after
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
        );
        let (other, _, _) = user(&app, "patient").await;
        let body = Some(json!({"name": "Mine"}));
        assert_eq!(
            call(&app, req("POST", "/api/v1/tenants", Some(&other), body))
                .await
                .status,
            StatusCode::CREATED
        );
    }
}

on_every_store!(
    a_user_owns_at_most_the_tenant_cap_also_under_a_burst,
    tenant_creation_is_rate_limited_per_user,
);
