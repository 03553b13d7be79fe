//! Billing benchmark on Postgres: usage reports per second from 32
//! concurrent clients across 100 tenants (through `BillingService`), and
//! the latency the billing turn guard adds to a chat turn (quota check at
//! the start, usage recorded at the end), first with the default plan
//! without limits, then with `messages` and `tokens` hard limits (set high
//! enough never to refuse), which is what a production plan has.
//!
//! `cargo run --release -p agents-adapters --example billing_bench`
//! (`BENCH_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! is the admin URL; a scratch database is created and dropped.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use agents_adapters::payments::LocalGateway;
use agents_adapters::sql::{PoolOptions, connect};
use agents_application::accounts::Caller;
use agents_application::billing::{
    BillingService, BillingSettings, BillingTurnGuard, PlanConfig, UsageInput,
};
use agents_application::chat::{TurnGuard, TurnOutcome};
use agents_domain::account::{AccessClaims, Role, Tenant};
use agents_domain::billing::PlanFeature;
use agents_domain::clock::SystemClock;
use agents_domain::llm::TokenUsage;
use agents_domain::{TenantId, UserId};
use sea_orm::{ConnectionTrait, Database, Statement, Value};

const CLIENTS: usize = 32;
const TENANTS: usize = 100;
const REPORTS_PER_CLIENT: usize = 500;
const TURNS: usize = 2000;

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

fn caller(tenant: TenantId) -> Caller {
    let claims = AccessClaims {
        sub: String::new(),
        iat: 0,
        exp: 0,
        jti: String::new(),
        iss: String::new(),
        aud: String::new(),
    };
    let tenant = Tenant {
        id: tenant,
        slug: String::new(),
        name: String::new(),
        created_at: time::OffsetDateTime::now_utc(),
    };
    Caller {
        user_id: UserId::new(),
        claims,
        tenant: Some((tenant, Role::Owner)),
        api_key: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: p50 {:?}  p95 {:?}  p99 {:?}  (n={})",
        percentile(&samples, 0.50),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
        samples.len()
    );
}

#[tokio::main]
async fn main() -> Fallible<()> {
    let admin_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("billing_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url.as_str()).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    let result = run(&format!("{base}/{name}")).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    result
}

async fn run(url: &str) -> Fallible<()> {
    let options = PoolOptions {
        max_connections: 40,
        ..PoolOptions::default()
    };
    let db = connect(url, &options).await?;
    db.migrate().await?;
    let tenants: Vec<TenantId> = (0..TENANTS).map(|_| TenantId::new()).collect();
    for (i, t) in tenants.iter().enumerate() {
        db.connection()
            .execute_raw(Statement::from_sql_and_values(
                db.connection().get_database_backend(),
                "INSERT INTO tenant_accounts (id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
                [
                    Value::from(t.as_uuid()),
                    Value::from(format!("bench-{i}")),
                    Value::from(format!("Bench {i}")),
                    Value::from(time::OffsetDateTime::now_utc()),
                ],
            ))
            .await?;
    }
    let clock = Arc::new(SystemClock);
    let service = Arc::new(BillingService::new(
        db.stores().billing,
        Arc::new(LocalGateway::new(clock.clone())),
        clock,
        BillingSettings::default(),
    ));

    // 1. Usage reports: 32 clients, each cycling over the 100 tenants.
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (service, tenants) = (service.clone(), tenants.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(REPORTS_PER_CLIENT);
                for i in 0..REPORTS_PER_CLIENT {
                    let tenant = tenants[(c * 7 + i) % TENANTS];
                    let input = UsageInput {
                        feature_key: "messages".into(),
                        quantity: 1,
                        idempotency_key: Some(format!("bench-{c}-{i}")),
                        ..UsageInput::default()
                    };
                    let t = Instant::now();
                    service.record_usage(&caller(tenant), input).await?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, agents_application::billing::BillingServiceError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    let total = CLIENTS * REPORTS_PER_CLIENT;
    println!(
        "usage reports: {total} from {CLIENTS} clients over {TENANTS} tenants in {elapsed:.2?} = {:.0}/s",
        total as f64 / elapsed.as_secs_f64()
    );
    summary("  per report", latencies);

    guard_latency(&service, &tenants, "no limits").await?;
    let limit = |key: &str| PlanFeature {
        key: key.into(),
        display_name: None,
        description: None,
        hard_limit: Some(2_000_000_000),
        soft_limit: None,
        is_metered: false,
    };
    service
        .sync_plans(vec![PlanConfig {
            code: "starter".into(),
            stripe_price_id: None,
            features: vec![limit("messages"), limit("tokens")],
        }])
        .await?;
    guard_latency(&service, &tenants, "messages+tokens limits").await?;
    db.close().await;
    Ok(())
}

/// The turn guard's added latency, sequential (what one chat waits), then
/// under 32 concurrent chats.
async fn guard_latency(
    service: &Arc<BillingService>,
    tenants: &[TenantId],
    label: &str,
) -> Fallible<()> {
    println!("turn guard, plan with {label}:");
    let guard = BillingTurnGuard::new(service.clone());
    let outcome = TurnOutcome {
        usage: TokenUsage {
            prompt_tokens: 100,
            completion_tokens: 50,
            total_tokens: 150,
        },
        succeeded: true,
    };
    let (mut before, mut after) = (Vec::with_capacity(TURNS), Vec::with_capacity(TURNS));
    for i in 0..TURNS {
        let tenant = tenants[i % TENANTS];
        let t = Instant::now();
        let admission = guard.admit(tenant).await.map_err(|e| e.to_string())?;
        let permit = guard
            .before_turn(tenant, admission)
            .await
            .map_err(|e| e.to_string())?;
        before.push(t.elapsed());
        let t = Instant::now();
        guard.after_turn(tenant, permit, outcome).await;
        after.push(t.elapsed());
    }
    summary("  quota check before a turn (sequential)", before);
    summary("  usage recording after a turn (sequential)", after);

    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (guard, tenants) = (guard.clone(), tenants.to_vec());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                for i in 0..TURNS / CLIENTS {
                    let tenant = tenants[(c + i * CLIENTS) % TENANTS];
                    let t = Instant::now();
                    let Ok(admission) = guard.admit(tenant).await else {
                        continue;
                    };
                    if let Ok(permit) = guard.before_turn(tenant, admission).await {
                        samples.push(t.elapsed());
                        guard.after_turn(tenant, permit, outcome).await;
                    }
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await?);
    }
    println!(
        "  guarded turns under {CLIENTS} concurrent clients: {} in {:.2?}",
        samples.len(),
        started.elapsed()
    );
    summary("  quota check (concurrent)", samples);
    Ok(())
}
