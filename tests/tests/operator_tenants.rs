//! Operator commands on tenants, members and users against SQLite and
//! Postgres: one JSON object on success, one line naming the problem on
//! failure, and nothing left behind by a command that failed.

use agents_e2e::postgres::TestDatabase;
use agents_e2e::run_in;
use serde_json::Value;

const SECRET: (&str, &str) = ("SECRET_KEY", "operator-test-secret-0123456789abcdefgh");

struct Operator {
    dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl Operator {
    fn new(database_url: Option<&str>) -> Self {
        let mut envs = vec![(SECRET.0.to_owned(), SECRET.1.to_owned())];
        if let Some(url) = database_url {
            envs.push(("DATABASE_URL".into(), url.to_owned()));
            envs.push(("AUTO_RUN_MIGRATIONS".into(), "true".into()));
        }
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            envs,
        }
    }

    /// Runs a command: `Ok(json)` on success, `Err(stderr)` on failure.
    fn run(&self, args: &[&str]) -> Result<Value, String> {
        let envs: Vec<(&str, &str)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("AGENTS_USER_PASSWORD", "a-strong-password")])
            .collect();
        let (status, stdout, stderr) = run_in(self.dir.path(), args, &envs, None);
        if status.success() {
            let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "one JSON object on stdout: {stdout}");
            Ok(serde_json::from_str(lines[0]).expect("JSON on stdout"))
        } else {
            Err(stderr)
        }
    }

    fn fails(&self, args: &[&str], naming: &str) {
        let stderr = self.run(args).expect_err("must fail");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("agents-server: "))
            .unwrap_or_else(|| panic!("a one-line reason: {stderr}"));
        assert!(line.contains(naming), "{line:?} should name {naming:?}");
        assert!(!line.contains("configuration error"), "{line}");
        assert!(!line.contains("invalid request"), "{line}");
    }

    fn user(&self, name: &str, tenant: Option<(&str, &str)>) -> Result<Value, String> {
        let email = format!("{name}@example.com");
        let mut args = vec!["user", "create", "--username", name, "--email", &email];
        if let Some((tenant, slug)) = tenant {
            args.extend(["--tenant", tenant, "--tenant-slug", slug]);
        }
        self.run(&args)
    }
}

fn slugs(list: &Value) -> Vec<String> {
    list["tenants"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["slug"].as_str().map(str::to_owned))
        .collect()
}

fn operator_commands(op: &Operator) {
    let created = op.user("ops", Some(("Acme", "acme"))).expect("ops");
    assert_eq!(created["tenants"][1]["slug"], "acme");

    // A taken shared slug fails the whole command: the user is not left behind.
    op.fails(
        &[
            "user",
            "create",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--tenant",
            "Other",
            "--tenant-slug",
            "acme",
        ],
        r#"slug "acme" is taken"#,
    );
    let before = op.run(&["tenant", "list"]).expect("list");
    assert_eq!(slugs(&before).len(), 2, "{before}");
    op.user("bob", None).expect("bob's name was never taken");

    op.fails(
        &[
            "tenant", "create", "--name", "Acme 2", "--slug", "acme", "--owner", "ops",
        ],
        r#"slug "acme" is taken"#,
    );
    op.fails(
        &["tenant", "create", "--name", "Ghost", "--owner", "nobody"],
        r#""nobody""#,
    );
    let made = op
        .run(&[
            "tenant",
            "create",
            "--name",
            "Research Team",
            "--owner",
            "ops",
        ])
        .expect("create");
    assert_eq!(made["tenant"]["slug"], "research-team");
    assert_eq!(made["owner"]["username"], "ops");

    let added = op
        .run(&[
            "tenant",
            "add-member",
            "--tenant",
            "acme",
            "--user",
            "bob@example.com",
            "--role",
            "viewer",
        ])
        .expect("add");
    assert_eq!(added["member"]["role"], "viewer");
    op.fails(
        &[
            "tenant",
            "add-member",
            "--tenant",
            "acme",
            "--user",
            "bob",
            "--role",
            "admin",
        ],
        "already a member",
    );
    op.fails(
        &[
            "tenant",
            "add-member",
            "--tenant",
            "nowhere",
            "--user",
            "bob",
            "--role",
            "admin",
        ],
        r#""nowhere""#,
    );
    op.fails(
        &[
            "tenant",
            "add-member",
            "--tenant",
            "acme",
            "--user",
            "bob",
            "--role",
            "boss",
        ],
        r#""boss""#,
    );
    op.fails(
        &[
            "tenant",
            "remove-member",
            "--tenant",
            "acme",
            "--user",
            "ops",
        ],
        "without an owner",
    );
    op.run(&[
        "tenant",
        "remove-member",
        "--tenant",
        "acme",
        "--user",
        "bob",
    ])
    .expect("remove");
    op.fails(
        &[
            "tenant",
            "remove-member",
            "--tenant",
            "acme",
            "--user",
            "bob",
        ],
        "not a member",
    );
    let list = op.run(&["tenant", "list"]).expect("list");
    let acme = list["tenants"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["slug"] == "acme")
        .cloned()
        .expect("acme listed");
    assert_eq!(acme["members"], 1, "{list}");
    assert_eq!(
        slugs(&list).len(),
        4,
        "ops, acme, bob, research-team: {list}"
    );
}

#[test]
fn operator_commands_on_sqlite_print_json_and_leave_nothing_half_done() {
    operator_commands(&Operator::new(None));
}

#[tokio::test]
async fn operator_commands_on_postgres_print_json_and_leave_nothing_half_done() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || operator_commands(&Operator::new(Some(&url))))
        .await
        .expect("commands");
}
