//! An operator moves the Python service's database onto ours: the server
//! adopts it, `tenant add-member --tenant default` gives a user its
//! conversations over HTTP, and `migration reset` refuses to drop them.

use agents_e2e::postgres::TestDatabase;
use agents_e2e::{TestServer, run_in, run_migration};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, Value as SqlValue};
use serde_json::{Value, json};

const PYTHON_SCHEMA: &str = include_str!("../../migration/src/sql/m0001_postgres_up.sql");
const SECRET: (&str, &str) = ("SECRET_KEY", "adoption-test-secret-0123456789abcdefgh");

/// The Python service's database: its schema and revision, the `default`
/// tenant and one conversation of three messages.
async fn python_database(db: &DatabaseConnection) {
    db.execute_unprepared(PYTHON_SCHEMA).await.expect("schema");
    db.execute_unprepared(
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL,
             CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
         INSERT INTO alembic_version VALUES ('20251106_120000');",
    )
    .await
    .expect("alembic");
    let tenant = uuid::Uuid::new_v4();
    let conversation = uuid::Uuid::new_v4();
    let b = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        b,
        "INSERT INTO tenant_accounts (id, slug, name) VALUES ($1, 'default', 'Default')",
        [SqlValue::from(tenant)],
    ))
    .await
    .expect("tenant");
    db.execute_raw(Statement::from_sql_and_values(
        b,
        "INSERT INTO agent_conversations (id, conversation_key, tenant_id, agent_entrypoint, message_count, last_message_at)
         VALUES ($1, 'support-chat', $2, 'triage', 2, now())",
        [SqlValue::from(conversation), SqlValue::from(tenant)],
    ))
    .await
    .expect("conversation");
    for (position, role, text) in [
        (0, "user", "where is my order?"),
        (1, "assistant", "on its way"),
    ] {
        db.execute_raw(Statement::from_sql_and_values(
            b,
            "INSERT INTO agent_messages (conversation_id, position, role, content)
             VALUES ($1, $2, $3, jsonb_build_object('text', $4::text))",
            [
                SqlValue::from(conversation),
                SqlValue::from(position),
                SqlValue::from(role),
                SqlValue::from(text),
            ],
        ))
        .await
        .expect("message");
    }
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        format!("SELECT COUNT(*) AS n FROM {table}"),
    ))
    .await
    .expect("count")
    .expect("row")
    .try_get("", "n")
    .expect("n")
}

#[tokio::test]
async fn an_adopted_python_database_is_reachable_through_a_member_and_never_reset() {
    let Some(temp) = TestDatabase::create().await else {
        return;
    };
    let db = Database::connect(temp.url.as_str()).await.expect("connect");
    python_database(&db).await;
    let url = temp.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let op_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let envs = [
            SECRET,
            ("DATABASE_URL", op_url.as_str()),
            ("AUTO_RUN_MIGRATIONS", "true"),
            ("AGENTS_USER_PASSWORD", "a-strong-password"),
        ];
        for args in [
            &[
                "user",
                "create",
                "--username",
                "ops",
                "--email",
                "ops@example.com",
            ][..],
            &[
                "tenant",
                "add-member",
                "--tenant",
                "default",
                "--user",
                "ops",
                "--role",
                "admin",
            ],
        ] {
            let (status, _, stderr) = run_in(&path, args, &envs, None);
            assert!(status.success(), "{args:?}: {stderr}");
        }
    })
    .await
    .expect("operator commands");

    let server = TestServer::start_in(dir, &[SECRET, ("DATABASE_URL", url.as_str())]);
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(format!("{}/api/v1/auth/token", server.base_url))
        .json(&json!({"username": "ops", "password": "a-strong-password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let list: Value = http
        .get(format!("{}/api/v1/conversations", server.base_url))
        .bearer_auth(&access)
        .header("X-Tenant-Id", "default")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert!(list.to_string().contains("support-chat"), "{list}");
    let history = http
        .get(format!(
            "{}/api/v1/conversations/support-chat",
            server.base_url
        ))
        .bearer_auth(&access)
        .header("X-Tenant-Id", "default")
        .send()
        .await
        .expect("history");
    assert_eq!(history.status(), 200);
    let history = history.text().await.expect("body");
    assert!(
        history.contains("where is my order?") && history.contains("on its way"),
        "{history}"
    );
    drop(server);

    for command in [
        &["reset"][..],
        &["fresh"],
        &["refresh"],
        &["down", "-n", "99"],
    ] {
        let url = url.clone();
        let command = command.to_vec();
        let (status, _, stderr) = tokio::task::spawn_blocking(move || {
            run_migration(&command, &[("DATABASE_URL", url.as_str())])
        })
        .await
        .expect("migration");
        assert!(!status.success(), "refused: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("--force") && stderr.contains("Python"),
            "{stderr}"
        );
    }
    assert_eq!(count(&db, "agent_conversations").await, 1, "tables intact");
    assert_eq!(count(&db, "agent_messages").await, 2);
    assert!(count(&db, "seaql_migrations").await > 1);
    db.close().await.expect("close");
}
