//! The fixture every store contract test runs on: the in-memory stores, the
//! SQL stores on a fresh SQLite file, or on a fresh Postgres database
//! (created from `TEST_DATABASE_URL` and dropped afterwards; skipped with a
//! printed reason when Postgres is unreachable, unless `REQUIRE_POSTGRES=1`).
#![allow(dead_code)]

pub mod billing;
pub mod postgres;

use std::sync::Arc;

use agents_adapters::memory::{
    InMemoryAccountStore, InMemoryBillingStore, InMemoryConversationStore,
    InMemoryRefreshTokenStore, InMemoryRunStore,
};
use agents_adapters::sql::{PoolOptions, SqlDatabase, connect};
use agents_domain::account::{
    AccountStore, Email, NewTenant, NewUser, RefreshTokenStore, Slug, TenantName, Username,
};
use agents_domain::billing::BillingStore;
use agents_domain::conversation::{
    Conversation, ConversationKey, ConversationStore, MessageContent, MessageRole, NewMessage,
    StoredMessage,
};
use agents_domain::run::RunStore;
use agents_domain::{TenantId, UserId};
use sea_orm::{ConnectionTrait, Statement, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Which implementation a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `memory::*`.
    Memory,
    /// `sql::*` on a temporary SQLite file.
    Sqlite,
    /// `sql::*` on a fresh Postgres database.
    Postgres,
}

/// Keeps the backing database alive for as long as a test holds the fixture.
enum Guard {
    Memory(Arc<InMemoryConversationStore>),
    Sqlite(#[allow(dead_code)] tempfile::TempDir, SqlDatabase),
    Postgres(postgres::TempDatabase, SqlDatabase),
}

/// The four stores of one backend, sharing one database.
#[derive(Clone)]
pub struct Fixture {
    pub backend: Backend,
    pub conversations: Arc<dyn ConversationStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub tokens: Arc<dyn RefreshTokenStore>,
    pub billing: Arc<dyn BillingStore>,
    pub runs: Arc<dyn RunStore>,
    guard: Arc<Guard>,
}

/// Pool settings for tests: enough connections for the concurrency tests.
pub fn pool() -> PoolOptions {
    PoolOptions {
        max_connections: 8,
        ..PoolOptions::default()
    }
}

/// Opens a fresh fixture; `None` when Postgres is unreachable and not required.
pub async fn fixture(backend: Backend) -> Option<Fixture> {
    match backend {
        Backend::Memory => {
            let conversations = Arc::new(InMemoryConversationStore::new());
            Some(Fixture {
                backend,
                conversations: conversations.clone(),
                accounts: Arc::new(InMemoryAccountStore::new()),
                tokens: Arc::new(InMemoryRefreshTokenStore::new()),
                billing: Arc::new(InMemoryBillingStore::new()),
                runs: Arc::new(InMemoryRunStore::new()),
                guard: Arc::new(Guard::Memory(conversations)),
            })
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/nested/agents.db", dir.path().display());
            let db = connect(&url, &pool()).await.expect("open sqlite");
            db.migrate().await.expect("migrate sqlite");
            Some(sql_fixture(backend, db.clone(), Guard::Sqlite(dir, db)))
        }
        Backend::Postgres => {
            let temp = postgres::TempDatabase::create().await?;
            let db = connect(temp.url(), &pool()).await.expect("open postgres");
            db.migrate().await.expect("migrate postgres");
            Some(sql_fixture(backend, db.clone(), Guard::Postgres(temp, db)))
        }
    }
}

fn sql_fixture(backend: Backend, db: SqlDatabase, guard: Guard) -> Fixture {
    let stores = db.stores();
    Fixture {
        backend,
        conversations: stores.conversations,
        accounts: stores.accounts,
        tokens: stores.refresh_tokens,
        billing: stores.billing,
        runs: stores.runs,
        guard: Arc::new(guard),
    }
}

/// Runs `test` on a fresh fixture of `backend` (or reports the skip).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if let Some(fixture) = fixture(backend).await {
        test(fixture).await;
    }
}

/// Declares one `#[tokio::test]` per contract test and backend.
#[macro_export]
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { $crate::contract::run($crate::contract::Backend::Memory, super::$name).await })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { $crate::contract::run($crate::contract::Backend::Sqlite, super::$name).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { $crate::contract::run($crate::contract::Backend::Postgres, super::$name).await })*
        }
    };
}

/// A fixed instant plus `seconds`, with microseconds so precision is checked too.
pub fn at(seconds: i64) -> OffsetDateTime {
    time::macros::datetime!(2025-11-06 12:00:00.123456 UTC) + time::Duration::seconds(seconds)
}

/// A key.
pub fn key(value: &str) -> ConversationKey {
    ConversationKey::parse(value).expect("valid key")
}

/// A user message with `text` stored at `at(seconds)`.
pub fn user_message(text: &str, seconds: i64) -> NewMessage {
    NewMessage {
        role: MessageRole::User,
        agent_type: None,
        content: MessageContent::text(text),
        token_count_prompt: None,
        token_count_completion: None,
        latency_ms: None,
        run_id: None,
        created_at: at(seconds),
    }
}

/// Registers `name` (with its personal tenant `name-home`).
pub async fn register(f: &Fixture, name: &str) -> (UserId, TenantId) {
    let user = new_user(name);
    let tenant = new_tenant(&format!("{name}-home"));
    let (user, tenant) = f.accounts.register(user, tenant).await.expect("register");
    (user.id, tenant.id)
}

/// A new user record for `name` (email `name@example.com`).
pub fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        username: Username::parse(name).expect("username"),
        email: Email::parse(&format!("{name}@example.com")).expect("email"),
        display_name: None,
        password_hash: format!("$argon2id$hash-of-{name}"),
        created_at: at(0),
    }
}

/// A new tenant record with `slug`.
pub fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        id: TenantId::new(),
        slug: Slug::parse_any(slug).expect("slug"),
        name: TenantName::parse(slug).expect("name"),
        created_at: at(0),
    }
}

impl Fixture {
    /// Stores a conversation without a user (as the Python service wrote
    /// them) with one user message `text`.
    pub async fn seed_unowned(&self, tenant: TenantId, key_value: &str, text: &str) {
        let created = at(100);
        match &*self.guard {
            Guard::Memory(store) => store.import(
                Conversation {
                    id: Uuid::new_v4(),
                    key: key(key_value),
                    tenant_id: tenant,
                    user_id: None,
                    agent_entrypoint: "triage".into(),
                    active_agent: Some("triage".into()),
                    message_count: 1,
                    total_tokens_prompt: 0,
                    total_tokens_completion: 0,
                    handoff_count: 0,
                    last_message_at: Some(created),
                    created_at: created,
                    updated_at: created,
                },
                vec![StoredMessage {
                    position: 0,
                    role: MessageRole::User,
                    agent_type: None,
                    content: MessageContent::text(text),
                    token_count_prompt: None,
                    token_count_completion: None,
                    latency_ms: None,
                    created_at: created,
                }],
            ),
            Guard::Sqlite(_, db) | Guard::Postgres(_, db) => {
                seed_unowned_sql(db, tenant, key_value, text, created).await
            }
        }
    }
}

async fn seed_unowned_sql(
    db: &SqlDatabase,
    tenant: TenantId,
    key_value: &str,
    text: &str,
    created: OffsetDateTime,
) {
    let conn = db.connection();
    let b = conn.get_database_backend();
    let id = Uuid::new_v4();
    let ts = migration::timestamp_value(b, created);
    conn.execute_raw(Statement::from_sql_and_values(
        b,
        "INSERT INTO agent_conversations (id, conversation_key, tenant_id, user_id, agent_entrypoint, active_agent,
             message_count, last_message_at, created_at, updated_at)
         VALUES ($1, $2, $3, NULL, 'triage', 'triage', 1, $4, $4, $4)",
        [Value::from(id), Value::from(key_value), Value::from(tenant.as_uuid()), ts.clone()],
    ))
    .await
    .expect("seed conversation");
    let content = serde_json::json!({ "text": text });
    conn.execute_raw(Statement::from_sql_and_values(
        b,
        "INSERT INTO agent_messages (conversation_id, position, role, content, created_at)
         VALUES ($1, 0, 'user', $2, $3)",
        [Value::from(id), Value::Json(Some(Box::new(content))), ts],
    ))
    .await
    .expect("seed message");
}
