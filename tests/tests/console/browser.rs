//! Headless Chromium driven through Debian's chromedriver (WebDriver, via
//! fantoccini): one fresh profile and one chromedriver process per test,
//! screenshots under `<target>/console-screenshots/`. Absent browser tools
//! skip the test with a reason, unless `REQUIRE_BROWSER=1`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a condition may take to become true in the page.
pub const WAIT: Duration = Duration::from_secs(15);

/// Narrower windows than this are emulated (a desktop window cannot shrink further).
const MIN_WINDOW_WIDTH: u32 = 500;

/// chromedriver and the session it runs. Dropping it ends the session
/// (which closes Chromium), then chromedriver, even when a test panicked
/// before [`Browser::quit`].
struct DriverProcess {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl DriverProcess {
    /// `DELETE /session/{id}` over a plain socket: no runtime needed in `drop`.
    fn end_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        if let Ok(mut socket) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if socket.write_all(request.as_bytes()).is_ok() {
                let mut answer = Vec::new();
                let _ = socket.read_to_end(&mut answer);
            }
        }
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        self.end_session();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session on one server.
pub struct Browser {
    client: Client,
    process: DriverProcess,
    _profile: tempfile::TempDir,
    base_url: String,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `(chromium, chromedriver)`: `CHROMIUM` and `CHROMEDRIVER`, or found on `PATH`.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]))?;
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromedriver"]))?;
    Some((chromium, driver))
}

/// Where screenshots go: `<target>/console-screenshots/` (the test binary
/// lives in `<target>/<profile>/deps/`).
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn capabilities(chromium: &str, profile: &str, (width, height): (u32, u32)) -> Capabilities {
    let mut options = json!({
        "binary": chromium,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={profile}"),
        ],
    });
    if width < MIN_WINDOW_WIDTH {
        // Chromium's windows are never this narrow: emulate the device.
        options["mobileEmulation"] = json!({
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true}
        });
    }
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    caps
}

impl Browser {
    /// A browser for `base_url`, or `None` (with the reason printed) when
    /// Chromium or chromedriver is missing and `REQUIRE_BROWSER` is not 1.
    pub async fn start(base_url: &str) -> Option<Self> {
        Self::start_sized(base_url, (1280, 900)).await
    }

    /// Like [`Browser::start`], with a viewport of `(width, height)`.
    pub async fn start_sized(base_url: &str, size: (u32, u32)) -> Option<Self> {
        let Some((chromium, chromedriver)) = tools() else {
            assert!(
                std::env::var("REQUIRE_BROWSER").as_deref() != Ok("1"),
                "REQUIRE_BROWSER=1 but chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "skipped: chromium or chromedriver not found (install Debian's chromium and chromium-driver, or set CHROMIUM/CHROMEDRIVER)"
            );
            return None;
        };
        let port = agents_e2e::free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", chromedriver.display()));
        let mut process = DriverProcess {
            child,
            port,
            session: None,
        };
        assert!(
            wait_for_port(port, Duration::from_secs(20)),
            "chromedriver did not listen on {port}"
        );
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("profile dir: {e}"));
        let caps = capabilities(
            &chromium.to_string_lossy(),
            &profile.path().to_string_lossy(),
            size,
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("could not start a Chromium session: {e}"));
        process.session = client.session_id().await.ok().flatten();
        Some(Self {
            client,
            process,
            _profile: profile,
            base_url: base_url.to_owned(),
        })
    }

    /// Loads `path` of the server.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base_url))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    /// Reloads the page.
    pub async fn reload(&self) {
        self.client
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("reload: {e}"));
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until the JavaScript expression `condition` is truthy.
    pub async fn wait_until(&self, condition: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        let script = format!("return Boolean({condition});");
        loop {
            if let Ok(Value::Bool(true)) = self.client.execute(&script, Vec::new()).await {
                return;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("failed-{}", slug(what))).await;
                panic!("timed out waiting for {what} ({condition})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element matching `css` (it must exist now).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Whether `css` matches an element that is displayed.
    pub async fn visible(&self, css: &str) -> bool {
        let script = "const e = document.querySelector(arguments[0]); return Boolean(e && e.offsetParent !== null && !e.closest('[hidden]'));";
        self.js(script, vec![Value::from(css)]).await == Value::Bool(true)
    }

    /// Clears the field `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Types `text` into `css` (after what it holds), then presses Enter when `enter`.
    pub async fn type_into(&self, css: &str, text: &str, enter: bool) {
        let field = self.find(css).await;
        let keys = if enter {
            text.to_owned() + &Key::Enter
        } else {
            text.to_owned()
        };
        field
            .send_keys(&keys)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Presses Escape in `css`.
    pub async fn escape(&self, css: &str) {
        self.find(css)
            .await
            .send_keys(&Key::Escape)
            .await
            .unwrap_or_else(|e| panic!("escape in {css}: {e}"));
    }

    /// Chooses the option with `value` in the select `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The visible text of `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// The attribute `name` of `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("{name} of {css}: {e}"))
    }

    /// Saves a PNG of the viewport as `<name>.png` in [`screenshots_dir`].
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = screenshots_dir().join(format!("{name}.png"));
        match self.client.screenshot().await {
            Ok(png) => {
                if let Err(e) = std::fs::write(&path, png) {
                    eprintln!("screenshot {name}: {e}");
                }
            }
            Err(e) => eprintln!("screenshot {name} failed: {e}"),
        }
        path
    }

    /// An open alert's text, if any (model output must never open one).
    pub async fn alert_text(&self) -> Option<String> {
        self.client.get_alert_text().await.ok()
    }

    /// Ends the session (Chromium exits) and chromedriver.
    pub async fn quit(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.process.session = None;
        }
    }
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect()
}
