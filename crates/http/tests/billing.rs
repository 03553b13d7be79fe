//! Billing over HTTP on every store (in memory, SQLite, Postgres): plans,
//! the subscription lifecycle with every role, idempotent usage, and 404
//! when billing is off.

#[macro_use]
mod support;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_http::{AppState, HttpSettings, build_app};
use serde_json::json;
use support::api::{add_member, assert_error, call, req, user};

const WEBHOOK_SECRET: &str = "whsec_http_tests";

async fn billing_state(stores: &support::Stores) -> AppState {
    support::billing_state_signed(stores, WEBHOOK_SECRET).await
}

mod scenarios {
    use super::*;
    use support::Stores;

    pub async fn routes_are_404_when_billing_is_off(stores: Stores) {
        let app = test::init_service(build_app(
            support::state_on(&stores, None).await,
            HttpSettings::default(),
        ))
        .await;
        let plans = call(&app, req("GET", "/api/v1/billing/plans", None, None)).await;
        assert_error(&plans, StatusCode::NOT_FOUND, "not_found");
        let hook = call(
            &app,
            req(
                "POST",
                "/api/v1/billing/webhooks/stripe",
                None,
                Some(json!({})),
            ),
        )
        .await;
        assert_error(&hook, StatusCode::NOT_FOUND, "not_found");
    }

    pub async fn plans_are_public_with_features(stores: Stores) {
        let app = test::init_service(build_app(
            billing_state(&stores).await,
            HttpSettings::default(),
        ))
        .await;
        let plans = call(&app, req("GET", "/api/v1/billing/plans", None, None)).await;
        assert_eq!(plans.status, StatusCode::OK, "{}", plans.body);
        let codes: Vec<_> = plans
            .body
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["code"].clone())
            .collect();
        assert_eq!(codes, vec![json!("pro"), json!("starter")]);
        let starter = &plans.body[1];
        assert_eq!(starter["price_cents"], 0);
        assert_eq!(starter["trial_days"], 14);
        assert_eq!(starter["feature_toggles"]["enable_web_search"], false);
        let keys: Vec<_> = starter["features"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| f["key"].clone())
            .collect();
        assert_eq!(keys, vec![json!("messages"), json!("tokens")]);
        assert!(starter["features"][0]["hard_limit"].is_null());
    }

    pub async fn subscription_lifecycle_with_every_role(stores: Stores) {
        let app = test::init_service(build_app(
            billing_state(&stores).await,
            HttpSettings::default(),
        ))
        .await;
        let (owner, tenant, _) = user(&app, "bill_owner").await;
        let (admin, _, _) = user(&app, "bill_admin").await;
        let (viewer, _, _) = user(&app, "bill_viewer").await;
        let (outsider, _, _) = user(&app, "bill_outsider").await;
        add_member(&app, &owner, &tenant, "bill_admin", "admin").await;
        add_member(&app, &owner, &tenant, "bill_viewer", "viewer").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/subscription");
        let cancel = format!("{uri}/cancel");
        let pro = || {
            Some(
                json!({"plan_code": "pro", "billing_email": "billing@example.com", "seat_count": 2}),
            )
        };

        assert_error(
            &call(&app, req("GET", &uri, None, None)).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_error(
            &call(&app, req("GET", &uri, Some(&owner), None)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(&app, req("GET", &uri, Some(&outsider), None)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(&app, req("POST", &uri, Some(&viewer), pro())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(&app, req("POST", &uri, Some(&outsider), pro())).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let gold = Some(json!({"plan_code": "gold"}));
        assert_error(
            &call(&app, req("POST", &uri, Some(&admin), gold)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let zero = Some(json!({"plan_code": "pro", "seat_count": 0}));
        assert_error(
            &call(&app, req("POST", &uri, Some(&admin), zero)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );

        let created = call(&app, req("POST", &uri, Some(&admin), pro())).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let s = &created.body;
        assert_eq!(
            (
                s["tenant_id"].as_str(),
                s["plan_code"].as_str(),
                s["status"].as_str()
            ),
            (Some(tenant.as_str()), Some("pro"), Some("trialing"))
        );
        assert_eq!(
            (s["seat_count"].clone(), s["auto_renew"].clone()),
            (json!(2), json!(true))
        );
        assert!(
            s["current_period_end"].is_string()
                && s["trial_ends_at"].is_string()
                && s["cancel_at"].is_null()
        );
        assert_eq!(s["metadata"], json!({}));
        assert_error(
            &call(&app, req("POST", &uri, Some(&owner), pro())).await,
            StatusCode::CONFLICT,
            "conflict",
        );
        let read = call(&app, req("GET", &uri, Some(&viewer), None)).await;
        assert_eq!(
            (read.status, read.body["plan_code"].clone()),
            (StatusCode::OK, json!("pro"))
        );

        assert_error(
            &call(&app, req("PATCH", &uri, Some(&owner), Some(json!({})))).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        let renew = Some(json!({"auto_renew": false}));
        assert_error(
            &call(&app, req("PATCH", &uri, Some(&viewer), renew)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let gold = Some(json!({"plan_code": "gold"}));
        assert_error(
            &call(&app, req("PATCH", &uri, Some(&owner), gold)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let change = Some(
            json!({"plan_code": "starter", "seat_count": 1, "billing_email": "new@example.com"}),
        );
        let changed = call(&app, req("PATCH", &uri, Some(&admin), change)).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(changed.body["plan_code"], "starter");
        assert_eq!(changed.body["billing_email"], "new@example.com");

        assert_error(
            &call(&app, req("POST", &cancel, Some(&viewer), None)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        let at_end = call(&app, req("POST", &cancel, Some(&owner), None)).await;
        assert_eq!(at_end.status, StatusCode::OK, "{}", at_end.body);
        assert_eq!(at_end.body["status"], "trialing");
        assert_eq!(at_end.body["cancel_at"], at_end.body["current_period_end"]);
        let now = call(
            &app,
            req(
                "POST",
                &cancel,
                Some(&owner),
                Some(json!({"cancel_at_period_end": false})),
            ),
        )
        .await;
        assert_eq!(
            (now.status, now.body["status"].clone()),
            (StatusCode::OK, json!("canceled"))
        );
        assert_error(
            &call(&app, req("GET", &uri, Some(&owner), None)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert_error(
            &call(&app, req("POST", &cancel, Some(&owner), None)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        let again = call(&app, req("POST", &uri, Some(&owner), pro())).await;
        assert_eq!(
            again.status,
            StatusCode::CREATED,
            "a canceled tenant may subscribe again: {}",
            again.body
        );
    }

    pub async fn usage_counts_once_per_key_and_totals_per_feature(stores: Stores) {
        let app = test::init_service(build_app(
            billing_state(&stores).await,
            HttpSettings::default(),
        ))
        .await;
        let (owner, tenant, _) = user(&app, "use_owner").await;
        let (viewer, _, _) = user(&app, "use_viewer").await;
        add_member(&app, &owner, &tenant, "use_viewer", "viewer").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/usage");
        let report = |key: &str, q: i64| {
            Some(json!({"feature_key": "messages", "quantity": q, "idempotency_key": key}))
        };
        for _ in 0..2 {
            let r = call(&app, req("POST", &uri, Some(&owner), report("k-1", 5))).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
            assert_eq!(
                r.body,
                json!({"success": true, "message": "Usage recorded."})
            );
        }
        let r = call(&app, req("POST", &uri, Some(&owner), report("k-2", 2))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        assert_error(
            &call(&app, req("POST", &uri, Some(&viewer), report("k-3", 1))).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &call(&app, req("POST", &uri, Some(&owner), report("k-4", 0))).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );
        let tokens = Some(json!({"feature_key": "tokens", "quantity": 40}));
        assert_eq!(
            call(&app, req("POST", &uri, Some(&owner), tokens))
                .await
                .status,
            StatusCode::ACCEPTED
        );

        let totals = call(&app, req("GET", &uri, Some(&viewer), None)).await;
        assert_eq!(totals.status, StatusCode::OK, "{}", totals.body);
        assert_eq!(totals.body["plan_code"], "starter");
        let features = &totals.body["features"];
        assert_eq!(
            (
                features[0]["feature_key"].clone(),
                features[0]["quantity"].clone()
            ),
            (json!("messages"), json!(7))
        );
        assert_eq!(
            (
                features[1]["feature_key"].clone(),
                features[1]["quantity"].clone()
            ),
            (json!("tokens"), json!(40))
        );
        assert_eq!(features[0]["soft_limit_reached"], false);
        let old =
            format!("{uri}?period_start=2020-01-01T00:00:00Z&period_end=2020-02-01T00:00:00Z");
        let empty = call(&app, req("GET", &old, Some(&viewer), None)).await;
        assert_eq!(empty.body["features"][0]["quantity"], 0, "{}", empty.body);
        let backwards =
            format!("{uri}?period_start=2020-02-01T00:00:00Z&period_end=2020-01-01T00:00:00Z");
        assert_error(
            &call(&app, req("GET", &backwards, Some(&viewer), None)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );
    }
}

on_every_store!(
    routes_are_404_when_billing_is_off,
    plans_are_public_with_features,
    subscription_lifecycle_with_every_role,
    usage_counts_once_per_key_and_totals_per_feature,
);
