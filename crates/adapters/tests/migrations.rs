//! Migrations on both backends (up, down to zero, up again) and the
//! adoption of a database the Python service created.

mod contract;

use agents_adapters::sql::{MigrateError, SqlDatabase, connect};
use agents_domain::conversation::{ConversationKey, ConversationScope};
use agents_domain::{TenantId, UserId};
use contract::postgres::TempDatabase;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

/// The Python service's schema as its Alembic migration created it (the
/// SQL of SCHEMA.md), plus its `alembic_version` table.
const PYTHON_SCHEMA: &str = include_str!("../../../migration/src/sql/m0001_postgres_up.sql");

async fn tables(db: &SqlDatabase) -> Vec<String> {
    let conn = db.connection();
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
    };
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("tables");
    rows.iter()
        .map(|r| r.try_get::<String>("", "name").expect("name"))
        .collect()
}

/// Every migration of the service.
fn all() -> usize {
    Migrator::migrations().len()
}

async fn up_down_up(db: &SqlDatabase) {
    assert_eq!(db.pending_migrations().await.expect("pending"), all());
    let report = db.migrate().await.expect("up");
    assert!(!report.adopted);
    assert_eq!(report.applied.len(), all());
    assert_eq!(db.pending_migrations().await.expect("pending"), 0);
    assert!(tables(db).await.contains(&"usage_counters".to_owned()));
    Migrator::down(db.connection(), None)
        .await
        .expect("down to zero");
    assert_eq!(tables(db).await, vec!["seaql_migrations".to_owned()]);
    assert_eq!(db.migrate().await.expect("up again").applied.len(), all());
    let plans = db.stores().billing.plans().await.expect("plans");
    assert_eq!(plans.len(), 2, "seeded once, not twice");
}

#[tokio::test]
async fn sqlite_migrates_up_down_and_up_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = connect(
        &format!("sqlite://{}/a/b/agents.db", dir.path().display()),
        &contract::pool(),
    )
    .await
    .expect("open");
    up_down_up(&db).await;
}

#[tokio::test]
async fn postgres_migrates_up_down_and_up_again() {
    let Some(temp) = TempDatabase::create().await else {
        return;
    };
    let db = connect(temp.url(), &contract::pool()).await.expect("open");
    up_down_up(&db).await;
    db.close().await;
}

/// Builds the Python service's database: schema, alembic revision, a
/// `default` tenant and two conversations written the Python way.
async fn python_database(db: &SqlDatabase, revision: &str) -> (TenantId, Uuid) {
    let conn = db.connection();
    let b = conn.get_database_backend();
    conn.execute_unprepared(PYTHON_SCHEMA)
        .await
        .expect("python schema");
    conn.execute_unprepared(
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL,
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    )
    .await
    .expect("alembic table");
    let exec = |sql: &str, values: Vec<Value>| {
        conn.execute_raw(Statement::from_sql_and_values(b, sql, values))
    };
    exec(
        "INSERT INTO alembic_version (version_num) VALUES ($1)",
        vec![Value::from(revision)],
    )
    .await
    .expect("rev");
    // The plans the Python migration seeded.
    conn.execute_unprepared(
        r#"INSERT INTO billing_plans (id, code, name, "interval", interval_count, price_cents, currency,
               trial_days, seat_included, feature_toggles, is_active)
           VALUES (gen_random_uuid(), 'starter', 'Starter', 'monthly', 1, 0, 'USD', 14, 1,
                   '{"enable_web_search": false}', true),
                  (gen_random_uuid(), 'pro', 'Pro', 'monthly', 1, 9900, 'USD', 14, 5,
                   '{"enable_web_search": true}', true)"#,
    )
    .await
    .expect("plans");
    let tenant = Uuid::new_v4();
    exec(
        "INSERT INTO tenant_accounts (id, slug, name) VALUES ($1, 'default', 'Default')",
        vec![Value::from(tenant)],
    )
    .await
    .expect("tenant");
    let namespace = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"anything-agents:conversation");
    let legacy_id = Uuid::new_v5(&namespace, b"support-chat");
    for (id, key) in [
        (legacy_id, "support-chat".to_owned()),
        (Uuid::new_v4(), Uuid::new_v4().to_string()),
    ] {
        exec(
            "INSERT INTO agent_conversations (id, conversation_key, tenant_id, agent_entrypoint, active_agent,
                 message_count, total_tokens_prompt, total_tokens_completion, handoff_count, last_message_at)
             VALUES ($1, $2, $3, 'triage', 'code_assistant', 3, 120, 45, 1, now())",
            vec![Value::from(id), Value::from(key), Value::from(tenant)],
        )
        .await
        .expect("conversation");
        for (position, role, text) in [
            (0, "user", "hi"),
            (1, "assistant", "hello!"),
            (2, "user", "bye"),
        ] {
            exec(
                "INSERT INTO agent_messages (conversation_id, position, role, content)
                 VALUES ($1, $2, $3, jsonb_build_object('text', $4::text))",
                vec![
                    Value::from(id),
                    Value::from(position),
                    Value::from(role),
                    Value::from(text),
                ],
            )
            .await
            .expect("message");
        }
    }
    (TenantId::from_uuid(tenant), legacy_id)
}

#[tokio::test]
async fn a_python_database_is_adopted_and_reads_back_through_the_store() {
    let Some(temp) = TempDatabase::create().await else {
        return;
    };
    let db = connect(temp.url(), &contract::pool()).await.expect("open");
    let (tenant, legacy_id) = python_database(&db, migration::PYTHON_ALEMBIC_REVISION).await;
    assert_eq!(
        db.pending_migrations().await.expect("pending"),
        all(),
        "not adopted yet"
    );
    let report = db.migrate().await.expect("adopt");
    assert!(report.adopted);
    assert_eq!(
        report.applied.len(),
        all() - 1,
        "only the later migrations run"
    );
    assert_eq!(db.pending_migrations().await.expect("pending"), 0);
    let stores = db.stores();
    let admin = ConversationScope {
        tenant_id: tenant,
        user_id: UserId::new(),
        include_unowned: true,
    };
    let key = ConversationKey::parse("support-chat").expect("key");
    let (c, messages) = stores
        .conversations
        .history(admin, &key)
        .await
        .expect("history")
        .expect("found");
    assert_eq!(c.id, legacy_id, "the Python row keeps its id");
    assert_eq!(
        (
            c.message_count,
            c.total_tokens_prompt,
            c.total_tokens_completion,
            c.handoff_count
        ),
        (3, 120, 45, 1)
    );
    assert_eq!(c.user_id, None);
    let texts: Vec<_> = messages
        .iter()
        .map(|m| (m.position, m.content.text.as_str()))
        .collect();
    assert_eq!(texts, vec![(0, "hi"), (1, "hello!"), (2, "bye")]);
    let page = stores.conversations.list(
        admin,
        agents_domain::conversation::PageRequest { page: 1, limit: 10 },
    );
    assert_eq!(page.await.expect("list").total, 2);
    // Continuing it takes the next position.
    let appended = stores
        .conversations
        .append(
            admin,
            &key,
            contract::user_message("again", 1),
            Default::default(),
        )
        .await
        .expect("append");
    assert_eq!(appended.position, 3);
    // The Python service's plans are kept, and gain the `messages` and `tokens` features.
    let plans = stores.billing.plans().await.expect("plans");
    assert_eq!(
        plans
            .iter()
            .map(|p| (p.code.as_str(), p.features.len()))
            .collect::<Vec<_>>(),
        vec![("pro", 2), ("starter", 2)]
    );
    // Running again is a no-op.
    assert_eq!(db.migrate().await.expect("again"), Default::default());
    db.close().await;
}

async fn assert_refused_and_untouched(db: &SqlDatabase) {
    let err = db.migrate().await.expect_err("must be refused");
    assert!(matches!(err, MigrateError::Refused(_)), "{err:?}");
    let names = tables(db).await;
    assert!(
        !names.contains(&"seaql_migrations".to_owned()),
        "nothing recorded: {names:?}"
    );
    assert!(
        !names.contains(&"tenant_memberships".to_owned()),
        "nothing migrated: {names:?}"
    );
}

#[tokio::test]
async fn an_unknown_alembic_revision_is_refused_without_changes() {
    let Some(temp) = TempDatabase::create().await else {
        return;
    };
    let db = connect(temp.url(), &contract::pool()).await.expect("open");
    python_database(&db, "abc").await;
    assert_refused_and_untouched(&db).await;
    let err = db.migrate().await.expect_err("refused").to_string();
    assert!(
        err.contains("abc") && err.contains(migration::PYTHON_ALEMBIC_REVISION),
        "{err}"
    );
    db.close().await;
}

#[tokio::test]
async fn a_python_database_missing_tables_is_refused_without_changes() {
    let Some(temp) = TempDatabase::create().await else {
        return;
    };
    let db = connect(temp.url(), &contract::pool()).await.expect("open");
    python_database(&db, migration::PYTHON_ALEMBIC_REVISION).await;
    db.connection()
        .execute_unprepared("DROP TABLE subscription_usage")
        .await
        .expect("drop");
    assert_refused_and_untouched(&db).await;
    db.close().await;
}

#[tokio::test]
async fn tables_without_any_history_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = connect(
        &format!("sqlite://{}/agents.db", dir.path().display()),
        &contract::pool(),
    )
    .await
    .expect("open");
    db.connection()
        .execute_unprepared("CREATE TABLE agent_conversations (id integer)")
        .await
        .expect("stray table");
    assert_refused_and_untouched(&db).await;
}

/// Subscriptions stored before `billing_integrity` keep their tenant's
/// used trial and processor customer through the back-fill.
async fn billing_rows_are_back_filled(db: &SqlDatabase) {
    let conn = db.connection();
    let b = conn.get_database_backend();
    // Every migration before billing_integrity (later ones may follow it).
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261201_000005_billing_integrity")
        .expect("billing_integrity is a migration");
    Migrator::up(conn, Some(u32::try_from(before).expect("few migrations")))
        .await
        .expect("up to billing_usage");
    let ts = |seconds: i64| migration::timestamp_value(b, contract::at(seconds));
    let (tenant, other) = (Uuid::new_v4(), Uuid::new_v4());
    for (id, slug) in [(tenant, "trialed"), (other, "plain")] {
        conn.execute_raw(Statement::from_sql_and_values(
            b,
            "INSERT INTO tenant_accounts (id, slug, name, created_at) VALUES ($1, $2, $2, $3)",
            [Value::from(id), Value::from(slug), ts(0)],
        ))
        .await
        .expect("tenant");
    }
    let plan: Uuid = conn
        .query_one_raw(Statement::from_string(
            b,
            "SELECT id FROM billing_plans WHERE code = 'pro'",
        ))
        .await
        .expect("plan")
        .expect("seeded")
        .try_get("", "id")
        .expect("id");
    let subscription = |tenant: Uuid, trial: Option<i64>, customer: Option<&str>, at: i64| {
        Statement::from_sql_and_values(
            b,
            "INSERT INTO tenant_subscriptions (id, tenant_id, plan_id, status, auto_renew, processor,
                 processor_customer_id, starts_at, trial_ends_at, created_at, updated_at)
             VALUES ($1, $2, $3, 'canceled', true, 'stripe', $4, $5, $6, $5, $5)",
            [
                Value::from(Uuid::new_v4()),
                Value::from(tenant),
                Value::from(plan),
                Value::String(customer.map(str::to_owned)),
                ts(at),
                match trial {
                    Some(t) => ts(t),
                    None if b == sea_orm::DbBackend::Sqlite => Value::String(None),
                    None => Value::TimeDateTimeWithTimeZone(None),
                },
            ],
        )
    };
    for statement in [
        subscription(tenant, Some(100), Some("cus_old"), 10),
        subscription(tenant, None, Some("cus_new"), 20),
        subscription(other, None, None, 30),
    ] {
        conn.execute_raw(statement).await.expect("subscription");
    }
    db.migrate().await.expect("billing_integrity");
    let billing = db.stores().billing;
    let account = billing
        .billing_account(agents_domain::TenantId::from_uuid(tenant))
        .await
        .expect("account");
    assert!(account.trial_used);
    assert_eq!(
        account.customer.map(|c| (c.processor, c.customer_id)),
        Some(("stripe".into(), "cus_new".into())),
        "the newest subscription's customer"
    );
    let plain = billing
        .billing_account(agents_domain::TenantId::from_uuid(other))
        .await
        .expect("account");
    assert_eq!(plain, Default::default());
}

#[tokio::test]
async fn sqlite_back_fills_the_tenant_billing_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/agents.db", dir.path().display());
    let db = connect(&url, &contract::pool()).await.expect("open");
    billing_rows_are_back_filled(&db).await;
}

#[tokio::test]
async fn postgres_back_fills_the_tenant_billing_rows() {
    let Some(temp) = TempDatabase::create().await else {
        return;
    };
    let db = connect(temp.url(), &contract::pool()).await.expect("open");
    billing_rows_are_back_filled(&db).await;
    db.close().await;
}
