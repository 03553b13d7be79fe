//! The release server under test: started on a free loopback port with a
//! clean environment and the limiters off, its memory and CPU read from
//! `/proc`, and a user registered and logged in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agents_e2e::free_port;
use agents_e2e::postgres::TestDatabase;
use serde_json::{Value, json};

/// Where the server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Store {
    /// The zero-setup default: a SQLite file in the data directory.
    Sqlite,
    /// A fresh Postgres database (dropped afterwards), migrated on start.
    Postgres,
    /// Everything in memory.
    Memory,
}

impl Store {
    /// `SQLite`, `Postgres`, `memory`.
    pub fn label(self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgres => "Postgres",
            Store::Memory => "memory",
        }
    }
}

/// The default server binary: `agents-server` next to this benchmark.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("agents-server")))
        .unwrap_or_else(|| PathBuf::from("agents-server"))
}

/// A running server; killed (SIGTERM, then SIGKILL) on drop, its database dropped after.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _data: tempfile::TempDir,
    /// The Postgres database, when the store is Postgres (dropped after the server).
    pub database: Option<TestDatabase>,
}

impl Server {
    /// Starts `binary` on `store`, with `extra` environment variables, and
    /// waits (at most 60 s) until it accepts connections.
    pub async fn start(
        binary: &Path,
        store: Store,
        extra: &[(&str, &str)],
    ) -> Result<Self, String> {
        let data = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let database = match store {
            Store::Postgres => Some(
                TestDatabase::create()
                    .await
                    .ok_or("Postgres is unreachable (set TEST_DATABASE_URL)")?,
            ),
            _ => None,
        };
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATA_DIR", data.path())
            .env("LOG_LEVEL", "warn")
            .env("RATE_LIMIT_ANON_PER_MINUTE", "0")
            .env("RATE_LIMIT_CHAT_PER_MINUTE", "0")
            .env("LOGIN_MAX_FAILURES", "0")
            .current_dir(data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("BENCH_SERVER_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        match (store, &database) {
            (Store::Postgres, Some(db)) => {
                command
                    .env("DATABASE_URL", &db.url)
                    .env("AUTO_RUN_MIGRATIONS", "true");
            }
            (Store::Memory, _) => {
                command.env("USE_IN_MEMORY_REPO", "true");
            }
            _ => {}
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _data: data,
            database,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "agents-server exited at start ({status}); BENCH_SERVER_LOGS=1 shows why"
                ));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err("agents-server did not listen within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> Result<u64, String> {
        status_field(self.pid(), "VmRSS:")
    }

    /// User plus system CPU time used so far.
    pub fn cpu_time(&self) -> Result<Duration, String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .map_err(|e| format!("/proc/{}/stat: {e}", self.pid()))?;
        // Fields after the command name (which may hold spaces): state is
        // field 3, utime 14 and stime 15 (man 5 proc).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> Result<u64, String> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| format!("unexpected /proc stat: {stat}"))
        };
        // utime and stime are in clock ticks; USER_HZ is 100 on Linux.
        Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
    }
}

fn status_field(pid: u32, name: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP client for the benchmark: keep-alive, no proxy, bounded timeouts.
pub fn client(pool: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(pool)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| format!("http client: {e}"))
}

/// The benchmark user's password.
pub const PASSWORD: &str = "bench-password-123";

/// Registers `username` (a personal tenant comes with it) and logs in;
/// returns the access token.
pub async fn register_and_login(
    http: &reqwest::Client,
    base: &str,
    username: &str,
) -> Result<String, String> {
    let res = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": username, "email": format!("{username}@bench.example"), "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| format!("register: {e}"))?;
    if res.status() != 201 {
        return Err(format!(
            "register: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        ));
    }
    login(http, base, username).await
}

/// Logs in with the benchmark password; returns the access token.
pub async fn login(http: &reqwest::Client, base: &str, username: &str) -> Result<String, String> {
    let res = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| format!("login body: {e}"))?;
    if status != 200 {
        return Err(format!("login: {status} {body}"));
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login: no access_token in {body}"))
}
