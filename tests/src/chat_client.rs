//! A chat client for load and fault tests: registers and logs in, runs one
//! turn (plain or streamed) and reduces it to what the tests judge: how it
//! ended, the answer, how long it took.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How one turn ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Answered: 200 with the reply, or a stream ending with `done`.
    Answered(String),
    /// An error envelope (`status`, `error`), or a stream's terminal
    /// `error` event (status 200).
    Refused {
        /// The HTTP status.
        status: u16,
        /// The stable error name.
        error: String,
    },
    /// No complete answer: the connection failed or the body was unreadable.
    Broken(String),
}

/// One turn's outcome.
#[derive(Debug, Clone)]
pub struct Turn {
    /// When the request was sent.
    pub started: Instant,
    /// How long until the response (or stream) ended.
    pub took: Duration,
    /// Whether it was streamed.
    pub streamed: bool,
    /// How it ended.
    pub ending: Ending,
}

impl Turn {
    /// The answer, when there is one.
    pub fn answer(&self) -> Option<&str> {
        match &self.ending {
            Ending::Answered(answer) => Some(answer),
            _ => None,
        }
    }

    /// The error name when refused.
    pub fn error(&self) -> Option<&str> {
        match &self.ending {
            Ending::Refused { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status the client got (200 for every stream that started).
    pub fn status(&self) -> Option<u16> {
        match &self.ending {
            Ending::Answered(_) => Some(200),
            Ending::Refused { status, .. } => Some(*status),
            Ending::Broken(_) => None,
        }
    }
}

/// A logged-in user of one server.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ChatClient {
    /// Registers `username` on `base` and logs in.
    pub async fn register(base: &str, username: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("http client: {e}"));
        let res = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse"}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("register: {e}"));
        assert_eq!(res.status(), 201, "register {username}");
        let mut client = Self {
            http,
            base: base.to_owned(),
            token: String::new(),
        };
        client.token = client.login(username).await;
        client
    }

    /// The same user on another server (replicas sharing a database and key).
    pub fn on(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    async fn login(&self, username: &str) -> String {
        let res = self
            .http
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&json!({"username": username, "password": "correct horse"}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}"));
        assert_eq!(res.status(), 200, "login {username}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        body["access_token"].as_str().unwrap_or_default().to_owned()
    }

    /// Sends `message` in `conversation`, streamed or not.
    pub async fn turn(&self, conversation: &str, message: &str, streamed: bool) -> Turn {
        let started = Instant::now();
        let path = if streamed { "chat/stream" } else { "chat" };
        let sent = self
            .http
            .post(format!("{}/api/v1/{path}", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"message": message, "conversation_id": conversation}))
            .send()
            .await;
        let ending = match sent {
            Err(e) => Ending::Broken(e.to_string()),
            Ok(res) => {
                let status = res.status().as_u16();
                match res.text().await {
                    Err(e) => Ending::Broken(e.to_string()),
                    Ok(body) if status != 200 => refused(status, &body),
                    Ok(body) if streamed => stream_ending(&body),
                    Ok(body) => match serde_json::from_str::<Value>(&body) {
                        Ok(reply) => {
                            Ending::Answered(reply["response"].as_str().unwrap_or_default().into())
                        }
                        Err(e) => Ending::Broken(format!("unreadable reply: {e}")),
                    },
                }
            }
        };
        Turn {
            started,
            took: started.elapsed(),
            streamed,
            ending,
        }
    }
}

fn refused(status: u16, body: &str) -> Ending {
    let envelope: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    Ending::Refused {
        status,
        error: envelope["error"]
            .as_str()
            .unwrap_or("<no envelope>")
            .to_owned(),
    }
}

/// The answer of a complete stream (its deltas), or its terminal error.
fn stream_ending(body: &str) -> Ending {
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    match events.last().map(|e| (e["type"].as_str(), e)) {
        Some((Some("done"), _)) => Ending::Answered(
            events
                .iter()
                .filter(|e| e["type"] == "delta")
                .filter_map(|e| e["chunk"].as_str())
                .collect(),
        ),
        Some((Some("error"), event)) => Ending::Refused {
            status: 200,
            error: event["error"].as_str().unwrap_or_default().to_owned(),
        },
        _ => Ending::Broken(format!("stream without a terminal event: {body:?}")),
    }
}
