//! A client of the run routes: streams read frame by frame.

use std::time::Duration;

use serde_json::{Value, json};

/// A logged-in user on one server.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub tenant: String,
}

/// An open `text/event-stream`.
pub struct Sse {
    res: reqwest::Response,
    buffer: String,
}

pub type Event = (u64, Value);

impl Sse {
    /// The next data frame, `None` at the end of the stream (or on a cut).
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let id = frame.lines().find_map(|l| l.strip_prefix("id: "));
                let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some(id), Some(data)) = (id, data) {
                    let id = id.parse().expect("numeric id");
                    return Some((id, serde_json::from_str(data).expect("json event")));
                }
                continue;
            }
            match self.res.chunk().await {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Frames until `count` deltas were seen.
    pub async fn until_deltas(&mut self, count: usize) -> Vec<Event> {
        let mut seen = Vec::new();
        while seen
            .iter()
            .filter(|(_, e): &&Event| e["type"] == "delta")
            .count()
            < count
        {
            seen.push(self.next().await.expect("the stream goes on"));
        }
        seen
    }

    /// Every remaining frame.
    pub async fn all(mut self) -> Vec<Event> {
        let mut seen = Vec::new();
        while let Some(event) = self.next().await {
            seen.push(event);
        }
        seen
    }
}

pub fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|(id, _)| *id).collect()
}

pub fn text_of(events: &[Event]) -> String {
    events
        .iter()
        .filter(|(_, e)| e["type"] == "delta")
        .map(|(_, e)| e["chunk"].as_str().unwrap_or_default())
        .collect()
}

impl Client {
    pub async fn register(base: &str, name: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let body = json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"});
        let res = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&body)
            .send()
            .await
            .expect("register");
        assert_eq!(res.status(), 201);
        let registered: Value = res.json().await.expect("json");
        let tenant = registered["tenant"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let login: Value = http
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"username": name, "password": "correct horse"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        Self {
            http,
            base: base.to_owned(),
            token: login["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            tenant,
        }
    }

    /// The same user on another replica.
    pub fn on(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub async fn stream(&self, message: &str, conversation: &str) -> Sse {
        let res = self
            .http
            .post(format!("{}/api/v1/chat/stream", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"message": message, "conversation_id": conversation}))
            .send()
            .await
            .expect("stream");
        assert_eq!(res.status(), 200);
        Sse {
            res,
            buffer: String::new(),
        }
    }

    /// The run's events after `last` (header) or `after` (query); `Err`
    /// with the status when refused.
    pub async fn events(
        &self,
        run: &str,
        last: Option<u64>,
        after: Option<u64>,
    ) -> Result<Sse, u16> {
        let mut url = format!("{}/api/v1/chat/runs/{run}/events", self.base);
        if let Some(after) = after {
            url.push_str(&format!("?after={after}"));
        }
        let mut req = self.http.get(url).bearer_auth(&self.token);
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.expect("events");
        if res.status() != 200 {
            return Err(res.status().as_u16());
        }
        Ok(Sse {
            res,
            buffer: String::new(),
        })
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("post");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}
