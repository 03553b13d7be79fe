//! What the billing tests share: a subscription row to store, a caller in
//! a tenant, and the billing service over a fixture's store with the `pro`
//! plan priced and limited.

use std::sync::Arc;

use agents_application::accounts::Caller;
use agents_application::billing::{BillingService, BillingSettings, PlanConfig};
use agents_domain::account::{AccessClaims, Role, Tenant};
use agents_domain::billing::{PaymentGateway, PlanFeature, Subscription, SubscriptionStatus};
use agents_domain::clock::SystemClock;
use agents_domain::{SubscriptionId, TenantId, UserId};
use time::OffsetDateTime;

use super::{Fixture, at};

/// A Stripe-managed subscription of `tenant` to the seeded `plan_code`
/// with `status` (a fresh processor id), ready to store.
pub async fn subscription(
    f: &Fixture,
    tenant: TenantId,
    plan_code: &str,
    status: SubscriptionStatus,
) -> Subscription {
    let plan = f
        .billing
        .plan(plan_code)
        .await
        .expect("plan")
        .expect("seeded");
    Subscription {
        id: SubscriptionId::new(),
        tenant_id: tenant,
        plan_id: plan.id,
        plan_code: plan.code,
        status,
        auto_renew: true,
        billing_email: Some("billing@example.com".into()),
        processor: Some("stripe".into()),
        processor_customer_id: Some("cus_1".into()),
        processor_subscription_id: Some(format!("sub_{}", uuid::Uuid::new_v4().simple())),
        starts_at: at(0),
        current_period_start: Some(at(0)),
        current_period_end: Some(at(86_400)),
        trial_ends_at: None,
        cancel_at: None,
        seat_count: Some(1),
        metadata: serde_json::json!({"source": "test"}),
        created_at: at(0),
        updated_at: at(0),
        version: 0,
        last_event_at: None,
    }
}

/// A user acting in `tenant` with `role`.
pub fn caller(tenant: TenantId, role: Role) -> Caller {
    Caller {
        user_id: UserId::new(),
        claims: AccessClaims {
            sub: String::new(),
            iat: 0,
            exp: 0,
            jti: String::new(),
            iss: String::new(),
            aud: String::new(),
        },
        tenant: Some((
            Tenant {
                id: tenant,
                slug: "acme".into(),
                name: "Acme".into(),
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            role,
        )),
        api_key: None,
    }
}

/// The billing service over the fixture's store and `gateway`, with `pro`
/// priced (`price_pro`) and its `messages` limited to 1000 (metered).
pub async fn service(f: &Fixture, gateway: Arc<dyn PaymentGateway>) -> BillingService {
    let service = BillingService::new(
        f.billing.clone(),
        gateway,
        Arc::new(SystemClock),
        BillingSettings::default(),
    );
    let pro = PlanConfig {
        code: "pro".into(),
        stripe_price_id: Some("price_pro".into()),
        features: vec![PlanFeature {
            key: "messages".into(),
            display_name: None,
            description: None,
            hard_limit: Some(1000),
            soft_limit: Some(800),
            is_metered: true,
        }],
    };
    service.sync_plans(vec![pro]).await.expect("plans sync");
    service
}
