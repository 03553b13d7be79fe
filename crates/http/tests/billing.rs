//! Billing over HTTP on every store (in memory, SQLite, Postgres): plans,
//! the subscription lifecycle with every role, idempotent usage, the Stripe
//! webhook, and 404 when billing is off.

mod support;

use std::sync::Arc;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
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

async fn add_member<S, B>(app: &S, owner: &str, tenant: &str, name: &str, role: &str)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let uri = format!("/api/v1/tenants/{tenant}/members");
    let body = json!({"username_or_email": name, "role": role});
    let added = call(app, req("POST", &uri, Some(owner), Some(body))).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
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
}

mod quota {
    use super::*;
    use support::Stores;

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

macro_rules! suite {
    ($backend:ident, $stores:expr) => {
        mod $backend {
            use super::*;

            async fn stores() -> Option<support::Stores> {
                $stores
            }

            #[actix_web::test]
            async fn routes_are_404_when_billing_is_off() {
                if let Some(s) = stores().await {
                    scenarios::routes_are_404_when_billing_is_off(s).await
                }
            }
            #[actix_web::test]
            async fn plans_are_public_with_features() {
                if let Some(s) = stores().await {
                    scenarios::plans_are_public_with_features(s).await
                }
            }
            #[actix_web::test]
            async fn subscription_lifecycle_with_every_role() {
                if let Some(s) = stores().await {
                    scenarios::subscription_lifecycle_with_every_role(s).await
                }
            }
            #[actix_web::test]
            async fn usage_counts_once_per_key_and_totals_per_feature() {
                if let Some(s) = stores().await {
                    scenarios::usage_counts_once_per_key_and_totals_per_feature(s).await
                }
            }
            #[actix_web::test]
            async fn chat_stops_with_quota_exceeded_at_the_hard_limit() {
                if let Some(s) = stores().await {
                    quota::chat_stops_with_quota_exceeded_at_the_hard_limit(s).await
                }
            }
            #[actix_web::test]
            async fn stripe_webhooks_are_verified_applied_once_and_unknown_types_ignored() {
                if let Some(s) = stores().await {
                    scenarios::stripe_webhooks_are_verified_applied_once_and_unknown_types_ignored(
                        s,
                    )
                    .await
                }
            }
        }
    };
}

suite!(memory, Some(support::memory_stores()));
suite!(sqlite, Some(support::sqlite_stores().await));
suite!(postgres, support::postgres_stores().await);

#[actix_web::test]
async fn a_plan_sets_its_tenants_chat_rate() {
    use agents_adapters::limiter::InMemoryRateLimiter;
    use agents_http::ratelimit::{RateLimitPolicy, RateLimits};
    let stores = support::memory_stores();
    let mut state = billing_state(&stores).await;
    state.chat_plan_limits = Arc::new([("starter".to_owned(), 1)].into_iter().collect());
    let settings = HttpSettings {
        rate_limits: RateLimitPolicy::new(
            Arc::new(InMemoryRateLimiter::new()),
            RateLimits {
                anon_per_minute: 0,
                chat_per_minute: 100,
            },
        ),
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(state, settings)).await;
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
