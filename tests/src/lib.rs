//! End-to-end test support: builds the `agents-server` binary from the
//! current source (never a stale one), starts it on a free port with a
//! clean environment, and stops it with SIGTERM.
#![forbid(unsafe_code)]

pub mod fake_openai;
pub mod postgres;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Builds the server once per test process and returns its path.
///
/// `cargo build` is a no-op when nothing changed, so this costs little and
/// guarantees the binary matches the source under test.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let cargo = option_env!("CARGO").unwrap_or("cargo");
            let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "agents-server",
                    "--bin",
                    "agents-server",
                    "--manifest-path",
                    manifest,
                ])
                .status()
                .unwrap_or_else(|e| panic!("could not run cargo build: {e}"));
            assert!(status.success(), "cargo build of agents-server failed");
            // The test binary lives in <target>/<profile>/deps/; the server in <target>/<profile>/.
            let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .unwrap_or_else(|| panic!("unexpected test binary location {}", exe.display()));
            let binary = profile_dir.join("agents-server");
            assert!(
                binary.is_file(),
                "server binary not found at {}",
                binary.display()
            );
            binary
        })
        .clone()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A running server process.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The data directory (kept until the server is dropped).
    pub data_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts the server with a clean environment plus `envs`, an in-memory
    /// store unless `envs` chooses one, and waits until `/health` answers.
    pub fn start(envs: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let port = free_port();
        let mut command = Command::new(server_binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATA_DIR", data_dir.path())
            .env("LOG_FORMAT", "json")
            .env("WORKERS", "2")
            .current_dir(data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("E2E_SERVER_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        if !envs
            .iter()
            .any(|(k, _)| *k == "DATABASE_URL" || *k == "USE_IN_MEMORY_REPO")
        {
            command.env("USE_IN_MEMORY_REPO", "true");
        }
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start agents-server: {e}"));
        let mut server = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            data_dir,
        };
        server.wait_healthy(Duration::from_secs(60));
        server
    }

    fn wait_healthy(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        let url = format!("{}/health", self.base_url);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("agents-server exited before becoming healthy: {status}");
            }
            if std::net::TcpStream::connect_timeout(
                &url_addr(&self.base_url),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("agents-server did not answer at {url} within {within:?}");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    panic!("agents-server did not exit within {within:?} of SIGTERM");
                }
            }
        }
    }
}

fn url_addr(base_url: &str) -> std::net::SocketAddr {
    let host_port = base_url.trim_start_matches("http://");
    host_port
        .parse()
        .unwrap_or_else(|e| panic!("bad address {host_port}: {e}"))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the binary with `args` and `envs` (clean environment) to completion,
/// returning its exit status and stderr.
pub fn run_to_exit(args: &[&str], envs: &[(&str, &str)]) -> (ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let output = Command::new(server_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(envs.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run agents-server: {e}"));
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
