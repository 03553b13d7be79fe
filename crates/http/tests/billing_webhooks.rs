//! Billing over HTTP on every store (in memory, SQLite, Postgres): the
//! Stripe webhook, chat stopped at the plan's quota; and a plan's chat rate.

#[macro_use]
mod support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::payments::StripeWebhookVerifier;
use agents_application::billing::PlanConfig;
use agents_domain::billing::PlanFeature;
use agents_http::{AppState, HttpSettings, build_app};
use serde_json::json;
use support::api::{assert_error, call, req, user};

const WEBHOOK_SECRET: &str = "whsec_http_tests";

async fn billing_state(stores: &support::Stores) -> AppState {
    support::billing_state_signed(stores, WEBHOOK_SECRET).await
}

/// The billing state with chat behind the billing turn guard and a
/// `starter` plan limited to `limit` messages per period.
async fn guarded_state(stores: &support::Stores, limit: i64) -> AppState {
    let state = billing_state(stores).await;
    let billing = state.billing.clone().expect("billing on");
    let plan = PlanConfig {
        code: "starter".into(),
        stripe_price_id: None,
        features: vec![PlanFeature {
            key: "messages".into(),
            display_name: None,
            description: None,
            hard_limit: Some(limit),
            soft_limit: None,
            is_metered: false,
        }],
    };
    billing.sync_plans(vec![plan]).await.expect("plans sync");
    state
}

mod scenarios {
    use super::*;
    use support::Stores;

    pub async fn stripe_webhooks_are_verified_applied_once_and_unknown_types_ignored(
        stores: Stores,
    ) {
        let app = test::init_service(build_app(
            billing_state(&stores).await,
            HttpSettings::default(),
        ))
        .await;
        let (owner, tenant, _) = user(&app, "hook_owner").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/subscription");
        let created = call(
            &app,
            req(
                "POST",
                &uri,
                Some(&owner),
                Some(json!({"plan_code": "pro"})),
            ),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED);
        // Link the local subscription to a processor id, as Stripe would.
        let tenant_id =
            agents_domain::TenantId::from_uuid(uuid::Uuid::parse_str(&tenant).expect("uuid"));
        let mut live = stores
            .billing
            .live_subscription(tenant_id)
            .await
            .expect("read")
            .expect("live");
        live.processor_subscription_id = Some("sub_hook".into());
        stores
            .billing
            .update_subscription(live)
            .await
            .expect("linked");

        let verifier = StripeWebhookVerifier::new(WEBHOOK_SECRET);
        let event = |id: &str, kind: &str, status: &str| {
            json!({"id": id, "type": kind, "created": 1_800_000_000, "data": {"object": {"id": "sub_hook", "customer": "cus_1",
                "status": status, "cancel_at": null, "items": {"data": [{"id": "si_1", "quantity": 4}]}}}})
            .to_string()
        };
        let post = |payload: &str, signature: Option<String>| {
            let mut r = test::TestRequest::post()
                .uri("/api/v1/billing/webhooks/stripe")
                .insert_header(("content-type", "application/json"))
                .set_payload(payload.to_owned());
            if let Some(sig) = signature {
                r = r.insert_header(("Stripe-Signature", sig));
            }
            r.to_request()
        };
        let now = time::OffsetDateTime::now_utc();
        let updated = event("evt_1", "customer.subscription.updated", "past_due");
        let ok = call(
            &app,
            post(
                &updated,
                Some(verifier.signature_header(updated.as_bytes(), now)),
            ),
        )
        .await;
        assert_eq!(
            (ok.status, ok.body["status"].clone()),
            (StatusCode::OK, json!("applied")),
            "{}",
            ok.body
        );
        let read = call(&app, req("GET", &uri, Some(&owner), None)).await;
        assert_eq!(
            (read.body["status"].clone(), read.body["seat_count"].clone()),
            (json!("past_due"), json!(4))
        );

        // The same event id again, even with other content, is not applied.
        let replay = event("evt_1", "customer.subscription.updated", "active");
        let again = call(
            &app,
            post(
                &replay,
                Some(verifier.signature_header(replay.as_bytes(), now)),
            ),
        )
        .await;
        assert_eq!(
            (again.status, again.body["status"].clone()),
            (StatusCode::OK, json!("duplicate"))
        );
        assert_eq!(
            call(&app, req("GET", &uri, Some(&owner), None)).await.body["status"],
            "past_due"
        );

        let wrong =
            StripeWebhookVerifier::new("whsec_wrong").signature_header(updated.as_bytes(), now);
        let stale = verifier.signature_header(updated.as_bytes(), now - time::Duration::minutes(6));
        for signature in [Some(wrong), Some(stale), Some("t=1,v1=00".into()), None] {
            assert_error(
                &call(&app, post(&updated, signature)).await,
                StatusCode::BAD_REQUEST,
                "invalid_signature",
            );
        }
        let malformed = "{\"id\": \"evt_2\", \"type\": ";
        let bad = call(
            &app,
            post(
                malformed,
                Some(verifier.signature_header(malformed.as_bytes(), now)),
            ),
        )
        .await;
        assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");

        let paid = json!({"id": "evt_3", "type": "invoice.paid", "created": 1_800_000_001, "data": {"object": {"id": "in_1",
            "subscription": "sub_hook", "amount_paid": 9900, "currency": "usd", "status": "paid",
            "period_start": now.unix_timestamp(), "period_end": now.unix_timestamp() + 86_400}}})
        .to_string();
        let r = call(
            &app,
            post(&paid, Some(verifier.signature_header(paid.as_bytes(), now))),
        )
        .await;
        assert_eq!(r.body["status"], "applied", "{}", r.body);
        assert_eq!(
            call(&app, req("GET", &uri, Some(&owner), None)).await.body["status"],
            "active",
            "a paid invoice settles past_due"
        );

        let other =
            json!({"id": "evt_4", "type": "charge.refunded", "created": 1_800_000_002, "data": {"object": {}}}).to_string();
        let r = call(
            &app,
            post(
                &other,
                Some(verifier.signature_header(other.as_bytes(), now)),
            ),
        )
        .await;
        assert_eq!(
            (r.status, r.body["status"].clone()),
            (StatusCode::OK, json!("ignored"))
        );
    }

    pub async fn chat_stops_with_quota_exceeded_at_the_hard_limit(stores: Stores) {
        let state = guarded_state(&stores, 2).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, tenant, _) = user(&app, "quota_user").await;
        for i in 0..2 {
            let body = Some(json!({"message": format!("hello {i}")}));
            let ok = call(&app, req("POST", "/api/v1/chat", Some(&token), body)).await;
            assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        }
        let body = Some(json!({"message": "one too many", "conversation_id": "refused-1"}));
        let refused = call(&app, req("POST", "/api/v1/chat", Some(&token), body)).await;
        assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "quota_exceeded");
        assert!(
            refused
                .retry_after
                .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
        );
        let stored = call(
            &app,
            req("GET", "/api/v1/conversations/refused-1", Some(&token), None),
        )
        .await;
        assert_eq!(
            stored.status,
            StatusCode::NOT_FOUND,
            "a refused chat stores nothing"
        );
        let uri = format!("/api/v1/billing/tenants/{tenant}/usage");
        let usage = call(&app, req("GET", &uri, Some(&token), None)).await;
        let messages = &usage.body["features"][0];
        assert_eq!(messages["feature_key"], "messages", "{}", usage.body);
        assert_eq!(
            (
                messages["quantity"].clone(),
                messages["hard_limit_reached"].clone()
            ),
            (json!(2), json!(true))
        );
        assert!(
            usage.body["features"][1]["quantity"]
                .as_i64()
                .is_some_and(|t| t > 0),
            "tokens recorded"
        );
    }
}

on_every_store!(
    stripe_webhooks_are_verified_applied_once_and_unknown_types_ignored,
    chat_stops_with_quota_exceeded_at_the_hard_limit,
);

#[actix_web::test]
async fn a_plan_sets_its_tenants_chat_rate() {
    use agents_server::config::PlanSettings;
    let stores = support::memory_stores();
    let mut settings = support::billing_settings(WEBHOOK_SECRET);
    settings.rate_limit_chat_per_minute = 100;
    let starter = PlanSettings {
        chat_per_minute: Some(1),
        ..PlanSettings::default()
    };
    settings.plans.insert("starter".into(), starter);
    let echo = Arc::new(agents_adapters::memory::ScriptedChatModel::echo());
    let state = support::app_with(&settings, &stores, Some(echo)).await;
    let app = test::init_service(build_app(state, HttpSettings::default())).await;
    let (token, _, _) = user(&app, "ratey").await;
    let chat = |n: u32| {
        test::TestRequest::post()
            .uri("/api/v1/chat")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(json!({"message": format!("turn {n}")}))
            .to_request()
    };
    assert_eq!(call(&app, chat(1)).await.status, StatusCode::OK);
    let refused = call(&app, chat(2)).await;
    assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}
