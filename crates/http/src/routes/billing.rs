//! `/api/v1/billing`: plans, a tenant's subscription and usage, and the
//! Stripe webhook. Mounted, with the billing service in the app data, only
//! when billing is enabled; the path's tenant is the one acted on
//! (`X-Tenant-Id` is ignored here).

mod dto;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use agents_application::billing::{
    BillingService, NewSubscription, SubscriptionPatch, UsageInput, WebhookOutcome,
};
use utoipa_actix_web::service_config::ServiceConfig;

pub use dto::*;

use crate::error::{ApiResult, ErrorEnvelope};
use crate::extract::{Json, PathTenant, Query, parse_json};

/// Every plan with its features.
#[utoipa::path(tag = "billing", responses((status = 200, body = Vec<PlanBody>), (status = 404, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
#[get("/billing/plans")]
async fn list_plans(billing: web::Data<BillingService>) -> ApiResult<HttpResponse> {
    let plans = billing.plans().await?;
    Ok(HttpResponse::Ok().json(plans.into_iter().map(PlanBody::from).collect::<Vec<_>>()))
}

/// The tenant's live subscription (any member).
#[utoipa::path(
    tag = "billing",
    security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    responses((status = 200, body = SubscriptionBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope))
)]
#[get("/billing/tenants/{tenant_id}/subscription")]
async fn get_subscription(
    billing: web::Data<BillingService>,
    tenant: PathTenant,
) -> ApiResult<HttpResponse> {
    let caller = tenant.member().await?;
    let subscription = billing.subscription(&caller).await?;
    Ok(HttpResponse::Ok().json(SubscriptionBody::from(subscription)))
}

/// Subscribes the tenant to a plan (owner/admin).
#[utoipa::path(
    tag = "billing",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    request_body = StartSubscriptionRequest,
    responses((status = 201, body = SubscriptionBody), (status = 401, body = ErrorEnvelope), (status = 402, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[post("/billing/tenants/{tenant_id}/subscription")]
async fn start_subscription(
    billing: web::Data<BillingService>,
    tenant: PathTenant,
    body: Json<StartSubscriptionRequest>,
) -> ApiResult<HttpResponse> {
    let caller = tenant.member().await?;
    let body = body.into_inner();
    let input = NewSubscription {
        plan_code: body.plan_code,
        billing_email: body.billing_email,
        auto_renew: body.auto_renew,
        seat_count: body.seat_count,
    };
    let subscription = billing.start_subscription(&caller, input).await?;
    Ok(HttpResponse::Created().json(SubscriptionBody::from(subscription)))
}

/// Changes plan, renewal, billing email or seats (owner/admin).
#[utoipa::path(
    tag = "billing",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    request_body = UpdateSubscriptionRequest,
    responses((status = 200, body = SubscriptionBody), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[patch("/billing/tenants/{tenant_id}/subscription")]
async fn update_subscription(
    billing: web::Data<BillingService>,
    tenant: PathTenant,
    body: Json<UpdateSubscriptionRequest>,
) -> ApiResult<HttpResponse> {
    let caller = tenant.member().await?;
    let body = body.into_inner();
    let patch = SubscriptionPatch {
        plan_code: body.plan_code,
        auto_renew: body.auto_renew,
        billing_email: body.billing_email,
        seat_count: body.seat_count,
    };
    let subscription = billing.update_subscription(&caller, patch).await?;
    Ok(HttpResponse::Ok().json(SubscriptionBody::from(subscription)))
}

/// Cancels at the period end (default) or now (owner/admin).
#[utoipa::path(
    tag = "billing",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    request_body(content = Option<CancelRequest>, description = "Optional (no body: `cancel_at_period_end` is true)"),
    responses((status = 200, body = SubscriptionBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[post("/billing/tenants/{tenant_id}/subscription/cancel")]
async fn cancel_subscription(
    billing: web::Data<BillingService>,
    tenant: PathTenant,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    // An absent body means the default; a present one must be valid JSON.
    let at_period_end = if body.iter().all(u8::is_ascii_whitespace) {
        true
    } else {
        parse_json::<CancelRequest>(&body)?.cancel_at_period_end
    };
    let caller = tenant.member().await?;
    let subscription = billing.cancel_subscription(&caller, at_period_end).await?;
    Ok(HttpResponse::Ok().json(SubscriptionBody::from(subscription)))
}

/// Records usage; the same idempotency key counts once (owner/admin).
#[utoipa::path(
    tag = "billing",
    security(("bearer" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug")),
    request_body = UsageRequest,
    responses((status = 202, body = AcceptedBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[post("/billing/tenants/{tenant_id}/usage")]
async fn record_usage(
    billing: web::Data<BillingService>,
    tenant: PathTenant,
    body: Json<UsageRequest>,
) -> ApiResult<HttpResponse> {
    let caller = tenant.member().await?;
    let body = body.into_inner();
    let input = UsageInput {
        feature_key: body.feature_key,
        quantity: body.quantity,
        idempotency_key: body.idempotency_key,
        period_start: body.period_start,
        period_end: body.period_end,
    };
    billing.record_usage(&caller, input).await?;
    // A repeated key answers the same: the client's retry succeeded.
    Ok(HttpResponse::Accepted().json(AcceptedBody {
        success: true,
        message: "Usage recorded.".into(),
    }))
}

/// Usage totals per feature with the plan's limits (any member).
#[utoipa::path(
    tag = "billing",
    security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = String, Path, description = "Tenant id or slug"), UsageQuery),
    responses((status = 200, body = UsageBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[get("/billing/tenants/{tenant_id}/usage")]
async fn get_usage(
    billing: web::Data<BillingService>,
    tenant: PathTenant,
    query: Query<UsageQuery>,
) -> ApiResult<HttpResponse> {
    let caller = tenant.member().await?;
    let summary = billing
        .usage(&caller, query.period_start, query.period_end)
        .await?;
    Ok(HttpResponse::Ok().json(UsageBody::from(summary)))
}

/// Stripe's webhook: `Stripe-Signature` checked over the raw body; each
/// event id is applied at most once; unknown types are acknowledged.
#[utoipa::path(
    tag = "billing",
    params(("Stripe-Signature" = String, Header, description = "`t=...,v1=...`")),
    request_body(content = String, description = "The raw Stripe event JSON", content_type = "application/json"),
    responses((status = 200, body = WebhookBody), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope))
)]
#[post("/billing/webhooks/stripe")]
async fn stripe_webhook(
    billing: web::Data<BillingService>,
    request: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let signature = request
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let outcome = billing.handle_webhook(&body, signature).await?;
    let status = match outcome {
        WebhookOutcome::Applied => "applied",
        WebhookOutcome::Duplicate => "duplicate",
        WebhookOutcome::Ignored => "ignored",
    };
    Ok(HttpResponse::Ok().json(WebhookBody {
        received: true,
        status: status.into(),
    }))
}

/// Mounts the billing routes under `/api/v1` (only when billing is on).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_plans)
        .service(get_subscription)
        .service(start_subscription)
        .service(update_subscription)
        .service(cancel_subscription)
        .service(record_usage)
        .service(get_usage)
        .service(stripe_webhook);
}
