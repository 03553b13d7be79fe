//! The conversation store on a fresh Postgres database: concurrent appends,
//! then the conversation list page and the last-20-messages read at two
//! table sizes (seeded with SQL, read through the store), and a list page
//! for one user with many conversations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agents_adapters::sql::{PoolOptions, SqlDatabase, connect};
use agents_domain::conversation::{
    ConversationKey, ConversationScope, ConversationStore, ConversationUpdate, MessageContent,
    MessageRole, NewMessage, PageRequest,
};
use agents_domain::{TenantId, UserId};
use agents_e2e::postgres::TestDatabase;
use sea_orm::ConnectionTrait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::stats::{Sample, drive, ms, quantile, rate, row, sorted};

/// Settings of the store benchmark.
#[derive(Debug, Clone, Copy)]
pub struct DbBench {
    /// Concurrent appending tasks (and pool connections).
    pub concurrency: usize,
    /// Conversations the appends spread over.
    pub conversations: u64,
    /// Measured window of the appends.
    pub duration: Duration,
    /// Reads timed per figure.
    pub reads: usize,
    /// Users at the small size (each has 100 conversations and 1,000 messages).
    pub small_users: u64,
    /// Users at the large size.
    pub large_users: u64,
}

/// Conversations of each seeded user; the first `LONG` have `LONG_MESSAGES`
/// messages, the rest `SHORT_MESSAGES`: 1,000 messages per user.
const PER_USER: u64 = 100;
const LONG: u64 = 10;
const LONG_MESSAGES: u64 = 55;
const SHORT_MESSAGES: u64 = 5;

/// The tenant and user ids of seeded users `lo..=hi` (the seeding SQL
/// derives them as `md5('t' || n)::uuid` and `md5('u' || n)::uuid`).
async fn seeded_ids(db: &SqlDatabase, lo: u64, hi: u64) -> Result<Vec<(Uuid, Uuid)>, String> {
    let rows = db
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(
            db.connection().get_database_backend(),
            format!(
                "SELECT md5('t' || g)::uuid AS t, md5('u' || g)::uuid AS u
                 FROM generate_series({lo}, {hi}) g ORDER BY g"
            ),
        ))
        .await
        .map_err(|e| e.to_string())?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<Uuid>("", "t").map_err(|e| e.to_string())?,
                r.try_get::<Uuid>("", "u").map_err(|e| e.to_string())?,
            ))
        })
        .collect()
}

fn scope((tenant, user): (Uuid, Uuid), include_unowned: bool) -> ConversationScope {
    ConversationScope {
        tenant_id: TenantId::from_uuid(tenant),
        user_id: UserId::from_uuid(user),
        api_key: None,
        include_unowned,
    }
}

async fn sql(db: &SqlDatabase, statement: &str) -> Result<(), String> {
    db.connection()
        .execute_unprepared(statement)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e}\n in: {statement}"))
}

/// Users `lo..=hi`, each with a personal tenant they own.
async fn seed_accounts(db: &SqlDatabase, lo: u64, hi: u64) -> Result<(), String> {
    sql(
        db,
        &format!(
            "INSERT INTO tenant_accounts (id, slug, name)
             SELECT md5('t' || g)::uuid, 'bench-t' || g, 'Bench ' || g FROM generate_series({lo}, {hi}) g;
             INSERT INTO users (id, tenant_id, external_id, username, email, password_hash, is_active)
             SELECT md5('u' || g)::uuid, md5('t' || g)::uuid, 'bench-u' || g, 'bench_u' || g,
                    'u' || g || '@bench.example', 'x', true FROM generate_series({lo}, {hi}) g;
             INSERT INTO tenant_memberships (tenant_id, user_id, role)
             SELECT md5('t' || g)::uuid, md5('u' || g)::uuid, 'owner' FROM generate_series({lo}, {hi}) g;"
        ),
    )
    .await
}

/// For users `lo..=hi`: `PER_USER` conversations each (`conv-<c>`, with
/// `c = user * PER_USER + j`) and their messages, then `VACUUM ANALYZE`.
async fn seed_conversations(db: &SqlDatabase, lo: u64, hi: u64) -> Result<(), String> {
    let started = Instant::now();
    seed_accounts(db, lo, hi).await?;
    let (c_lo, c_hi) = (lo * PER_USER, hi * PER_USER + PER_USER - 1);
    let count = |c: &str| {
        format!(
            "CASE WHEN {c} % {PER_USER} < {LONG} THEN {LONG_MESSAGES} ELSE {SHORT_MESSAGES} END"
        )
    };
    sql(
        db,
        &format!(
            "INSERT INTO agent_conversations (id, conversation_key, tenant_id, user_id, agent_entrypoint,
                 active_agent, status, message_count, created_at, updated_at, last_message_at)
             SELECT md5('c' || c)::uuid, 'conv-' || c, md5('t' || (c / {PER_USER}))::uuid,
                    md5('u' || (c / {PER_USER}))::uuid, 'triage', 'triage', 'active', {n},
                    timestamptz '2025-01-01' + c * interval '1 second',
                    timestamptz '2025-01-01' + c * interval '1 second',
                    timestamptz '2025-01-01' + c * interval '1 second'
             FROM generate_series({c_lo}, {c_hi}) c",
            n = count("c")
        ),
    )
    .await?;
    sql(
        db,
        &format!(
            "INSERT INTO agent_messages (conversation_id, position, role, agent_type, content, created_at)
             SELECT md5('c' || c)::uuid, p,
                    CASE WHEN p % 2 = 0 THEN 'user' ELSE 'assistant' END,
                    CASE WHEN p % 2 = 1 THEN 'triage' END,
                    jsonb_build_object('text', 'Message ' || p || ' of conversation ' || c
                        || ': a sentence of ordinary length, as people and agents write them.'),
                    timestamptz '2025-01-01' + c * interval '1 second' + p * interval '1 millisecond'
             FROM generate_series({c_lo}, {c_hi}) c, generate_series(0, {n} - 1) p",
            n = count("c")
        ),
    )
    .await?;
    sql(db, "VACUUM ANALYZE agent_conversations, agent_messages").await?;
    eprintln!(
        "seeded users {lo}..={hi} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn table_sizes(db: &SqlDatabase) -> Result<(i64, i64), String> {
    let row = db
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            db.connection().get_database_backend(),
            "SELECT (SELECT count(*) FROM agent_conversations) AS c, (SELECT count(*) FROM agent_messages) AS m",
        ))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no count row")?;
    let get = |name: &str| row.try_get::<i64>("", name).map_err(|e| e.to_string());
    Ok((get("c")?, get("m")?))
}

/// A small deterministic generator (xorshift), so runs read the same rows.
struct Pick(u64);

impl Pick {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Times `reads` list pages and last-20 reads for random users among
/// `1..=users`, after as many untimed ones; prints a row per figure.
async fn time_reads(
    store: &dyn ConversationStore,
    ids: &[(Uuid, Uuid)],
    reads: usize,
    size: &str,
) -> Result<(), String> {
    let mut pick = Pick(0x9E37_79B9_7F4A_7C15);
    let page = PageRequest { page: 1, limit: 20 };
    let (mut owner_list, mut member_list, mut history) = (
        Vec::with_capacity(reads),
        Vec::with_capacity(reads),
        Vec::with_capacity(reads),
    );
    for round in 0..2 * reads {
        let user = 1 + pick.below(ids.len() as u64);
        let who = ids[user as usize - 1];
        let conversation = user * PER_USER + pick.below(LONG);
        let key = ConversationKey::from_stored(format!("conv-{conversation}"));

        let start = Instant::now();
        let listed = store
            .list(scope(who, true), page)
            .await
            .map_err(|e| e.to_string())?;
        let t_owner = start.elapsed();
        let start = Instant::now();
        let listed_member = store
            .list(scope(who, false), page)
            .await
            .map_err(|e| e.to_string())?;
        let t_member = start.elapsed();
        let start = Instant::now();
        let messages = store
            .recent_messages(scope(who, true), &key, 20)
            .await
            .map_err(|e| e.to_string())?;
        let t_history = start.elapsed();

        if listed.total != PER_USER || listed.items.len() != 20 || listed_member.items.len() != 20 {
            return Err(format!(
                "user {user}: list gave {} of {} items",
                listed.items.len(),
                listed.total
            ));
        }
        if messages.len() != 20
            || messages.last().map(|m| m.position) != Some(LONG_MESSAGES as i32 - 1)
        {
            return Err(format!("{key}: got {} messages", messages.len()));
        }
        if round >= reads {
            owner_list.push(t_owner);
            member_list.push(t_member);
            history.push(t_history);
        }
    }
    for (label, values) in [
        (format!("list page (20 of 100), owner, {size}"), owner_list),
        (
            format!("list page (20 of 100), member, {size}"),
            member_list,
        ),
        (format!("last 20 messages, {size}"), history),
    ] {
        let values = sorted(values);
        row(
            &format!("  {label}"),
            &format!("{reads} reads"),
            &ms(quantile(&values, 0.5)),
            &ms(quantile(&values, 0.99)),
        );
    }
    Ok(())
}

/// Runs the store benchmark; prints table rows.
pub async fn run(bench: DbBench) -> Result<(), String> {
    let database = TestDatabase::create()
        .await
        .ok_or("Postgres is unreachable (set TEST_DATABASE_URL)")?;
    let options = PoolOptions {
        max_connections: u32::try_from(bench.concurrency).unwrap_or(u32::MAX),
        ..PoolOptions::default()
    };
    let db = connect(&database.url, &options)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let store = db.stores().conversations;

    // Appends: user 0 in tenant 0, spread over `conversations` keys.
    seed_accounts(&db, 0, 0).await?;
    let appender = scope(seeded_ids(&db, 0, 0).await?[0], true);
    let keys: Arc<Vec<ConversationKey>> = Arc::new(
        (0..bench.conversations)
            .map(|i| ConversationKey::from_stored(format!("append-{i}")))
            .collect(),
    );
    let concurrency = bench.concurrency as u64;
    let op = {
        let (store, keys) = (store.clone(), keys.clone());
        move |worker: usize, id: u64| {
            let (store, keys) = (store.clone(), keys.clone());
            async move {
                let sequence = id % 1_000_000_000;
                let index = (sequence * concurrency + worker as u64) % keys.len() as u64;
                let key = &keys[index as usize];
                let message = NewMessage {
                    role: MessageRole::User,
                    agent_type: None,
                    content: MessageContent::text(format!("append {id}")),
                    token_count_prompt: None,
                    token_count_completion: None,
                    latency_ms: None,
                    run_id: None,
                    created_at: OffsetDateTime::now_utc(),
                };
                let update = ConversationUpdate {
                    entrypoint: "triage".into(),
                    ..ConversationUpdate::default()
                };
                store
                    .append(appender, key, message, update)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    };
    // Creates every conversation first, then warms up.
    drive(
        bench.concurrency,
        Duration::from_secs(2),
        u64::MAX,
        op.clone(),
    )
    .await;
    let run = drive(bench.concurrency, bench.duration, 10_000_000, op).await;
    run.check("append")?;
    let latencies = sorted(run.samples.iter().map(Sample::latency).collect());
    row(
        &format!(
            "appends, {} tasks over {} conversations",
            bench.concurrency, bench.conversations
        ),
        &rate(run.per_second()),
        &ms(quantile(&latencies, 0.5)),
        &ms(quantile(&latencies, 0.99)),
    );

    // Reads at two sizes: the same per-user data, ten times the rows.
    let mut seeded = 0;
    for users in [bench.small_users, bench.large_users] {
        seed_conversations(&db, seeded + 1, users).await?;
        seeded = users;
        let (conversations, messages) = table_sizes(&db).await?;
        eprintln!("tables: {conversations} conversations, {messages} messages");
        let size = format!(
            "{}k conv / {}k msgs",
            (conversations + 500) / 1000,
            (messages + 500) / 1000
        );
        let ids = seeded_ids(&db, 1, users).await?;
        time_reads(store.as_ref(), &ids, bench.reads, &size).await?;
    }

    // One user with 100x the conversations: the page total is a count.
    let heavy = 1_000_000;
    seed_accounts(&db, heavy, heavy).await?;
    sql(
        &db,
        &format!(
            "INSERT INTO agent_conversations (id, conversation_key, tenant_id, user_id, agent_entrypoint,
                 active_agent, status, message_count, created_at, updated_at)
             SELECT gen_random_uuid(), 'heavy-' || c, md5('t{heavy}')::uuid, md5('u{heavy}')::uuid,
                    'triage', 'triage', 'active', 0, now(), now() - c * interval '1 second'
             FROM generate_series(1, 10000) c;
             ANALYZE agent_conversations"
        ),
    )
    .await?;
    let who = seeded_ids(&db, heavy, heavy).await?[0];
    let mut times = Vec::with_capacity(bench.reads);
    for round in 0..2 * bench.reads {
        let start = Instant::now();
        let page = store
            .list(scope(who, true), PageRequest { page: 1, limit: 20 })
            .await
            .map_err(|e| e.to_string())?;
        if page.total != 10_000 {
            return Err(format!("heavy user: total {}", page.total));
        }
        if round >= bench.reads {
            times.push(start.elapsed());
        }
    }
    let times = sorted(times);
    row(
        "  list page (20), owner of 10,000 conversations",
        &format!("{} reads", bench.reads),
        &ms(quantile(&times, 0.5)),
        &ms(quantile(&times, 0.99)),
    );
    db.close().await;
    drop(database);
    Ok(())
}
