//! The web console in a real headless Chromium, against the real binary
//! and the fake model: the journey of a newcomer, model output shown as
//! text, the no-model hint, what a viewer sees, phone width, page weight
//! and time to first render. Screenshots of the main screens go to
//! `<target>/console-screenshots/`.

mod browser;
mod journey;
mod keys;
mod measure;
mod runs;
mod safety;

use std::time::Duration;

use agents_e2e::TestServer;
use agents_e2e::fake_openai::FakeOpenAi;
use serde_json::{Value, json};

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

/// The server on SQLite (what `cargo run` uses) with the fake model, or
/// with no model at all when `fake` is `None`.
pub fn server(fake: Option<&FakeOpenAi>) -> TestServer {
    let mut envs = vec![("USE_IN_MEMORY_REPO", "false")];
    if let Some(fake) = fake {
        envs.extend([
            ("OPENAI_BASE_URL", fake.base_url.as_str()),
            ("OPENAI_API_KEY", "sk-console-e2e"),
            ("OPENAI_MODEL", "gpt-console"),
        ]);
    }
    TestServer::start(&envs)
}

/// The fake model, with a short pause between words.
pub async fn fake_model() -> FakeOpenAi {
    FakeOpenAi::start(Duration::from_millis(20)).await
}

/// A user made through the API (the console signs in as them).
pub struct Account {
    http: reqwest::Client,
    base: String,
    /// Username.
    pub username: String,
    token: String,
}

impl Account {
    /// Registers `username` and logs in.
    pub async fn register(base: &str, username: &str) -> Self {
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("register: {e}"));
        assert_eq!(res.status(), 201, "register {username}");
        let res = http
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}"));
        assert_eq!(res.status(), 200, "login {username}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        Self {
            http,
            base: base.to_owned(),
            username: username.to_owned(),
            token: body["access_token"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// POSTs `body` to `path` with this user's token: (status, JSON body).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

impl Account {
    /// GETs `path` with this user's token: (status, JSON body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Whether `/api/v1/auth/refresh` still accepts `refresh_token`.
pub async fn refresh_works(base: &str, refresh_token: &str) -> bool {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}

/// Signs in through the console's form (the page must be open).
pub async fn sign_in(browser: &browser::Browser, username: &str) {
    browser
        .wait_until(
            "!document.getElementById('auth-screen').hidden",
            "the sign-in form",
        )
        .await;
    browser.fill("#signin-username", username).await;
    browser.fill("#signin-password", PASSWORD).await;
    browser.click("#signin-submit").await;
    browser
        .wait_until(
            "!document.getElementById('app-screen').hidden && document.body.dataset.screensFor",
            "the console after sign-in",
        )
        .await;
}

/// Types `message` in the composer and presses Enter.
pub async fn send_message(browser: &browser::Browser, message: &str) {
    browser.type_into("#message-input", message, true).await;
}

/// The text of the last assistant message once it has ended; its state too.
pub async fn last_answer(browser: &browser::Browser) -> (String, String) {
    browser
        .wait_until(
            "(() => { const m = [...document.querySelectorAll('#messages [data-role=assistant]')].pop(); return m && m.dataset.state !== 'streaming'; })()",
            "the answer to end",
        )
        .await;
    let value = browser
        .js(
            "const m = [...document.querySelectorAll('#messages [data-role=assistant]')].pop(); return [m.querySelector('.turn-body').textContent, m.dataset.state];",
            Vec::new(),
        )
        .await;
    (
        value[0].as_str().unwrap_or_default().to_owned(),
        value[1].as_str().unwrap_or_default().to_owned(),
    )
}
