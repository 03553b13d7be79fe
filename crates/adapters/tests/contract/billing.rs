//! What the billing use-case tests share: a caller in a tenant, and the
//! billing service over a fixture's store with the `pro` plan priced and
//! limited.

use std::sync::Arc;

use agents_application::accounts::Caller;
use agents_application::billing::{BillingService, BillingSettings, PlanConfig};
use agents_domain::TenantId;
use agents_domain::UserId;
use agents_domain::account::{AccessClaims, Role, Tenant};
use agents_domain::billing::{PaymentGateway, PlanFeature};
use agents_domain::clock::SystemClock;
use time::OffsetDateTime;

use super::Fixture;

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
