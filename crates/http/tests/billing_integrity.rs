//! Billing that cannot be gamed, over HTTP on every store (memory, SQLite,
//! Postgres): the quota window belongs to the tenant (subscribing, changing
//! plan, cancelling and subscribing again never reset it), one trial per
//! tenant, the `tokens` budget inside the turn, bounded usage quantities,
//! and a webhook signed with an empty key.

#[macro_use]
mod support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::memory::{ScriptedChatModel, ScriptedTurn};
use agents_adapters::payments::StripeWebhookVerifier;
use agents_application::billing::PlanConfig;
use agents_domain::billing::PlanFeature;
use agents_domain::llm::{ChatModel, TokenUsage};
use agents_http::{AppState, HttpSettings, build_app};
use serde_json::json;
use support::Stores;
use support::api::{assert_error, call, req, user};

fn limit(key: &str, hard_limit: i64) -> PlanFeature {
    PlanFeature {
        key: key.into(),
        display_name: None,
        description: None,
        hard_limit: Some(hard_limit),
        soft_limit: None,
        is_metered: false,
    }
}

/// Billing on (local gateway, webhooks signed with `webhook_secret`), chat
/// behind the turn guard with `model`, and each plan's features as given.
async fn billing_app_state(
    stores: &Stores,
    model: Arc<dyn ChatModel>,
    webhook_secret: &str,
    plans: Vec<(&str, Vec<PlanFeature>)>,
) -> AppState {
    let settings = support::billing_settings(webhook_secret);
    let state = support::app_with(&settings, stores, Some(model)).await;
    let billing = state.billing.clone().expect("billing on");
    let configs = plans
        .into_iter()
        .map(|(code, features)| PlanConfig {
            code: code.into(),
            stripe_price_id: None,
            features,
        })
        .collect();
    billing.sync_plans(configs).await.expect("plans sync");
    state
}

/// `starter` and `pro` both allow `messages` per window.
async fn messages_state(stores: &Stores, starter: i64, pro: i64) -> AppState {
    billing_app_state(
        stores,
        Arc::new(ScriptedChatModel::echo()),
        "whsec_integrity",
        vec![
            ("starter", vec![limit("messages", starter)]),
            ("pro", vec![limit("messages", pro)]),
        ],
    )
    .await
}

fn chat(token: &str, text: &str) -> actix_http::Request {
    req(
        "POST",
        "/api/v1/chat",
        Some(token),
        Some(json!({"message": text})),
    )
}

mod scenarios {
    use super::*;

    pub async fn subscribing_after_spending_the_default_allowance_still_answers_429(
        stores: Stores,
    ) {
        let state = messages_state(&stores, 2, 2).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, tenant, _) = user(&app, "spender").await;
        for i in 0..2 {
            let ok = call(&app, chat(&token, &format!("turn {i}"))).await;
            assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        }
        assert_error(
            &call(&app, chat(&token, "over")).await,
            StatusCode::TOO_MANY_REQUESTS,
            "quota_exceeded",
        );
        let uri = format!("/api/v1/billing/tenants/{tenant}/subscription");
        let starter = Some(json!({"plan_code": "starter"}));
        let created = call(&app, req("POST", &uri, Some(&token), starter)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_error(
            &call(&app, chat(&token, "after subscribing")).await,
            StatusCode::TOO_MANY_REQUESTS,
            "quota_exceeded",
        );
    }

    pub async fn cancel_and_subscribe_again_keeps_the_window_and_grants_no_second_trial(
        stores: Stores,
    ) {
        let state = messages_state(&stores, 2, 2).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, tenant, _) = user(&app, "resubscriber").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/subscription");
        let starter = || Some(json!({"plan_code": "starter"}));
        let first = call(&app, req("POST", &uri, Some(&token), starter())).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        assert_eq!(first.body["status"], "trialing");
        assert!(first.body["trial_ends_at"].is_string(), "{}", first.body);
        for i in 0..2 {
            let ok = call(&app, chat(&token, &format!("turn {i}"))).await;
            assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        }
        for round in 0..2 {
            let cancel = Some(json!({"cancel_at_period_end": false}));
            let canceled = call(
                &app,
                req("POST", &format!("{uri}/cancel"), Some(&token), cancel),
            )
            .await;
            assert_eq!(canceled.body["status"], "canceled", "{}", canceled.body);
            let again = call(&app, req("POST", &uri, Some(&token), starter())).await;
            assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
            assert_eq!(
                again.body["status"], "active",
                "round {round}: no second trial"
            );
            assert!(again.body["trial_ends_at"].is_null(), "{}", again.body);
            assert_error(
                &call(&app, chat(&token, "fresh allowance?")).await,
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exceeded",
            );
        }
        let usage = call(
            &app,
            req(
                "GET",
                &format!("/api/v1/billing/tenants/{tenant}/usage"),
                Some(&token),
                None,
            ),
        )
        .await;
        let messages = &usage.body["features"][0];
        assert_eq!(messages["feature_key"], "messages", "{}", usage.body);
        assert_eq!(messages["quantity"], 2, "{}", usage.body);
    }

    pub async fn a_plan_change_carries_the_usage_into_the_new_limit(stores: Stores) {
        let state = messages_state(&stores, 2, 3).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, tenant, _) = user(&app, "upgrader").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/subscription");
        let starter = Some(json!({"plan_code": "starter"}));
        assert_eq!(
            call(&app, req("POST", &uri, Some(&token), starter))
                .await
                .status,
            StatusCode::CREATED
        );
        for i in 0..2 {
            assert_eq!(
                call(&app, chat(&token, &format!("turn {i}"))).await.status,
                StatusCode::OK
            );
        }
        let pro = Some(json!({"plan_code": "pro"}));
        let changed = call(&app, req("PATCH", &uri, Some(&token), pro)).await;
        assert_eq!(changed.body["plan_code"], "pro", "{}", changed.body);
        let third = call(&app, chat(&token, "one more on pro")).await;
        assert_eq!(third.status, StatusCode::OK, "{}", third.body);
        assert_error(
            &call(&app, chat(&token, "past pro's limit")).await,
            StatusCode::TOO_MANY_REQUESTS,
            "quota_exceeded",
        );
    }

    pub async fn a_tokens_budget_caps_each_model_call_and_refuses_when_spent(stores: Stores) {
        let usage = TokenUsage {
            prompt_tokens: 40,
            completion_tokens: 20,
            total_tokens: 60,
        };
        let model = Arc::new(ScriptedChatModel::new([
            ScriptedTurn::text("first answer").with_usage(usage),
            ScriptedTurn::text("second answer").with_usage(usage),
        ]));
        let state = billing_app_state(
            &stores,
            model.clone(),
            "whsec_integrity",
            vec![("starter", vec![limit("tokens", 100)])],
        )
        .await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, _, _) = user(&app, "tokener").await;
        let first = call(&app, chat(&token, "hello")).await;
        assert_eq!(first.body["response"], "first answer", "{}", first.body);
        let second = call(&app, chat(&token, "again")).await;
        assert_eq!(second.body["response"], "second answer", "{}", second.body);
        let caps: Vec<_> = model
            .requests()
            .iter()
            .map(|r| r.max_output_tokens)
            .collect();
        assert_eq!(
            caps,
            [Some(100), Some(40)],
            "each call asks for what is left"
        );
        // 120 of 100 used: the next turn is refused before the model is asked.
        let refused = call(
            &app,
            req(
                "POST",
                "/api/v1/chat",
                Some(&token),
                Some(json!({"message": "third", "conversation_id": "spent-1"})),
            ),
        )
        .await;
        assert_error(&refused, StatusCode::TOO_MANY_REQUESTS, "quota_exceeded");
        assert_eq!(model.requests().len(), 2);
        let stored = call(
            &app,
            req("GET", "/api/v1/conversations/spent-1", Some(&token), None),
        )
        .await;
        assert_eq!(
            stored.status,
            StatusCode::NOT_FOUND,
            "a refused turn stores nothing"
        );
    }

    pub async fn usage_quantities_are_bounded_and_named(stores: Stores) {
        let state = messages_state(&stores, 100, 100).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, tenant, _) = user(&app, "reporter").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/usage");
        for quantity in [json!(0), json!(1_000_001), json!(i64::MAX)] {
            let body = Some(json!({"feature_key": "api_calls", "quantity": quantity}));
            let refused = call(&app, req("POST", &uri, Some(&token), body)).await;
            assert_error(
                &refused,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
            );
            assert_eq!(
                refused.body["details"][0]["field"], "quantity",
                "{}",
                refused.body
            );
        }
        for key in ["a", "b", "c"] {
            let body = Some(
                json!({"feature_key": "api_calls", "quantity": 1_000_000, "idempotency_key": key}),
            );
            assert_eq!(
                call(&app, req("POST", &uri, Some(&token), body))
                    .await
                    .status,
                StatusCode::ACCEPTED
            );
        }
        let totals = call(&app, req("GET", &uri, Some(&token), None)).await;
        assert_eq!(totals.status, StatusCode::OK, "{}", totals.body);
        let api_calls = totals.body["features"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["feature_key"] == "api_calls")
            .cloned()
            .unwrap_or_default();
        assert_eq!(api_calls["quantity"], 3_000_000, "{}", totals.body);
    }

    pub async fn an_event_signed_with_an_empty_secret_is_never_applied(stores: Stores) {
        let state =
            billing_app_state(&stores, Arc::new(ScriptedChatModel::echo()), "", vec![]).await;
        let app = test::init_service(build_app(state, HttpSettings::default())).await;
        let (token, tenant, _) = user(&app, "victim").await;
        let uri = format!("/api/v1/billing/tenants/{tenant}/subscription");
        let created = call(
            &app,
            req(
                "POST",
                &uri,
                Some(&token),
                Some(json!({"plan_code": "pro"})),
            ),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let tenant_id =
            agents_domain::TenantId::from_uuid(uuid::Uuid::parse_str(&tenant).expect("uuid"));
        let live = stores
            .billing
            .live_subscription(tenant_id)
            .await
            .expect("read")
            .expect("live");
        stores
            .billing
            .update_subscription(agents_domain::billing::Subscription {
                processor_subscription_id: Some("sub_victim".into()),
                ..live
            })
            .await
            .expect("linked");
        let forged =
            json!({"id": "evt_forged", "type": "customer.subscription.deleted", "created": 1,
            "data": {"object": {"id": "sub_victim", "status": "canceled"}}})
            .to_string();
        let signature = StripeWebhookVerifier::new("")
            .signature_header(forged.as_bytes(), time::OffsetDateTime::now_utc());
        let post = test::TestRequest::post()
            .uri("/api/v1/billing/webhooks/stripe")
            .insert_header(("Stripe-Signature", signature))
            .insert_header(("content-type", "application/json"))
            .set_payload(forged)
            .to_request();
        let refused = call(&app, post).await;
        assert_error(
            &refused,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
        let read = call(&app, req("GET", &uri, Some(&token), None)).await;
        assert_eq!(
            read.body["status"], "trialing",
            "not canceled by a forged event"
        );
    }
}

on_every_store!(
    subscribing_after_spending_the_default_allowance_still_answers_429,
    cancel_and_subscribe_again_keeps_the_window_and_grants_no_second_trial,
    a_plan_change_carries_the_usage_into_the_new_limit,
    a_tokens_budget_caps_each_model_call_and_refuses_when_spent,
    usage_quantities_are_bounded_and_named,
    an_event_signed_with_an_empty_secret_is_never_applied,
);
