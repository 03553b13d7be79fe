//! End-to-end test support: starts the server binary Cargo built for these
//! tests on a port it binds itself (`PORT=0`, the address read back from
//! its output) with a clean environment, and stops it with SIGTERM.
#![forbid(unsafe_code)]

pub mod chat_client;
pub mod fake_openai;
pub mod fault_proxy;
pub mod postgres;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The server binary Cargo built for this package's tests and benches
/// (`agents-e2e-server`, next to the bench binary and one level above the
/// test binaries): never a stale one, and no nested `cargo build`.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
    let name = format!("agents-e2e-server{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(&name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} not found near {}", exe.display()))
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
        Self::start_in(data_dir, envs)
    }

    /// Like [`TestServer::start`], in a given data directory (shared with an
    /// operator command, say). The server's log goes to `server.log` there.
    pub fn start_in(data_dir: tempfile::TempDir, envs: &[(&str, &str)]) -> Self {
        let log = std::fs::File::create(data_dir.path().join("server.log"))
            .unwrap_or_else(|e| panic!("log file: {e}"));
        let mut command = Command::new(server_binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("DATA_DIR", data_dir.path())
            .env("LOG_FORMAT", "json")
            .env("WORKERS", "2")
            // All test clients share 127.0.0.1; tests about limits set their own.
            .env("RATE_LIMIT_ANON_PER_MINUTE", "0")
            .current_dir(data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("E2E_SERVER_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::from(log)
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
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start agents-server: {e}"));
        let address = listening_address(&mut child, Duration::from_secs(60));
        let mut server = Self {
            child,
            base_url: format!("http://{address}"),
            data_dir,
        };
        server.wait_healthy(Duration::from_secs(60));
        server
    }

    fn wait_healthy(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("agents-server exited before becoming healthy: {status}");
            }
            // A bound socket accepts before the server runs (and handles
            // signals): wait for a real 200 from /health.
            if health_ok(&self.base_url) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "agents-server did not answer {}/health within {within:?}",
            self.base_url
        );
    }

    /// What the server logged so far (JSON lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
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

/// The address the child reports on stdout once bound (`listening on
/// ADDR`); stdout is drained afterwards so the child never blocks on it.
fn listening_address(child: &mut Child, within: Duration) -> String {
    use std::io::BufRead;
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("the server's stdout is not piped"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("listening on ") {
                let _ = tx.send(address.to_owned());
                break;
            }
        }
        lines.for_each(drop);
    });
    let deadline = Instant::now() + within;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(address) => return address,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("agents-server exited before listening: {status}");
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("agents-server did not report its address within {within:?}");
            }
        }
    }
}

fn health_ok(base_url: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) =
        std::net::TcpStream::connect_timeout(&url_addr(base_url), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
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
    let (status, _, stderr) = run_in(dir.path(), args, envs, None);
    (status, stderr)
}

/// Runs the binary in `dir` (also its `DATA_DIR`) with `stdin` piped in,
/// returning exit status, stdout and stderr.
pub fn run_in(
    dir: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&str>,
) -> (ExitStatus, String, String) {
    use std::io::Write;
    let mut child = Command::new(server_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", dir)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run agents-server: {e}"));
    // Dropping the pipe closes stdin, so a command waiting for input ends.
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin.unwrap_or_default().as_bytes());
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("agents-server did not finish: {e}"));
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
