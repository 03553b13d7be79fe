//! The real binary on SQLite, pointed at a local fake OpenAI server: the
//! whole chat journey of a client, over TCP.

use std::time::Duration;

use agents_e2e::TestServer;
use agents_e2e::fake_openai::{EMPTY_ANSWER, FakeOpenAi, answer_for};
use futures::StreamExt;
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn register(base: &str, username: &str) -> Self {
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": "correct horse"}))
            .send()
            .await
            .expect("register");
        assert_eq!(res.status(), 201);
        let res = http
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"username": username, "password": "correct horse"}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        let token = body["access_token"].as_str().unwrap_or_default().to_owned();
        Self {
            http,
            base: base.to_owned(),
            token,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
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
}

fn parse_sse(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|f| f.lines().any(|l| l.starts_with("data: ")))
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad event {d}: {e}")))
        .collect()
}

#[tokio::test]
async fn a_client_chats_streams_continues_and_manages_history() {
    let fake = FakeOpenAi::start(Duration::from_millis(5)).await;
    let server = TestServer::start(&[
        ("USE_IN_MEMORY_REPO", "false"),
        ("OPENAI_BASE_URL", &fake.base_url),
        ("OPENAI_API_KEY", "sk-test-e2e"),
        ("OPENAI_MODEL", "gpt-e2e"),
    ]);
    let alice = Client::register(&server.base_url, "alice").await;

    let res = alice
        .post("/api/v1/chat")
        .json(&json!({"message": "hello e2e", "conversation_id": "e2e-1"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        body["response"],
        "You said: hello e2e. I have seen 0 earlier messages."
    );
    assert_eq!(body["metadata"]["model_used"], "gpt-e2e");
    assert_eq!(body["metadata"]["usage"]["total_tokens"], 19);
    let (auth, first) = fake
        .requests()
        .into_iter()
        .next()
        .expect("the model was called");
    assert_eq!(auth, "Bearer sk-test-e2e");
    assert_eq!(first["model"], "gpt-e2e");
    assert_eq!(first["stream"], true);
    assert_eq!(first["messages"][0]["role"], "system");
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"get_current_time") && tools.contains(&"transfer_to_code_assistant"),
        "{tools:?}"
    );
    assert!(
        !tools.contains(&"tavily_search"),
        "unavailable tools are not offered"
    );

    // Continue by stream: the model receives the earlier turns.
    let res = alice
        .post("/api/v1/chat/stream")
        .json(&json!({"message": "second turn", "conversation_id": "e2e-1"}))
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status(), 200);
    let events = parse_sse(&res.text().await.expect("body"));
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.last(), Some(&"done"));
    assert!(
        kinds[..kinds.len() - 1].iter().all(|k| *k == "delta"),
        "{kinds:?}"
    );
    let streamed: String = events.iter().filter_map(|e| e["chunk"].as_str()).collect();
    assert_eq!(
        streamed,
        "You said: second turn. I have seen 2 earlier messages."
    );
    let second = &fake.requests()[1].1;
    let history: Vec<(&str, &str)> = second["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] != "system")
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default(),
                m["content"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(history[0], ("user", "hello e2e"));
    assert_eq!(
        history[1],
        (
            "assistant",
            "You said: hello e2e. I have seen 0 earlier messages."
        )
    );
    assert_eq!(history[2], ("user", "second turn"));

    // A tool call shows up as tool_call and tool_result events.
    let res = alice
        .post("/api/v1/chat/stream")
        .json(&json!({"message": "what time is it?", "conversation_id": "e2e-2"}))
        .send()
        .await
        .expect("stream");
    let events = parse_sse(&res.text().await.expect("body"));
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let call = kinds
        .iter()
        .position(|k| *k == "tool_call")
        .expect("tool_call event");
    let result = kinds
        .iter()
        .position(|k| *k == "tool_result")
        .expect("tool_result event");
    assert!(call < result && kinds.last() == Some(&"done"), "{kinds:?}");
    assert!(
        events[result]["tool"]["result_preview"]
            .as_str()
            .unwrap_or_default()
            .contains("UTC")
    );

    // History: list, search, get, delete.
    let res = alice
        .http
        .get(format!("{}/api/v1/conversations", server.base_url))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("list");
    assert_eq!(res.headers()["x-total-count"], "2");
    let list: Value = res.json().await.expect("json");
    assert_eq!(list[0]["conversation_id"], "e2e-2");
    let (_, hits) = alice.get("/api/v1/conversations/search?q=second").await;
    assert_eq!(hits[0]["conversation_id"], "e2e-1");
    let (status, conv) = alice.get("/api/v1/conversations/e2e-1").await;
    assert_eq!(status, 200);
    assert_eq!(conv["messages"].as_array().map(Vec::len), Some(4));

    // Another tenant sees none of it.
    let bob = Client::register(&server.base_url, "bob").await;
    assert_eq!(bob.get("/api/v1/conversations/e2e-1").await.0, 404);
    assert_eq!(bob.get("/api/v1/conversations").await.1, json!([]));
    assert_eq!(
        bob.get("/api/v1/conversations/search?q=hello").await.1,
        json!([])
    );
    let res = bob
        .http
        .delete(format!("{}/api/v1/conversations/e2e-1", server.base_url))
        .bearer_auth(&bob.token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 404);

    let res = alice
        .http
        .delete(format!("{}/api/v1/conversations/e2e-1", server.base_url))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    assert_eq!(alice.get("/api/v1/conversations/e2e-1").await.0, 404);
}

#[tokio::test]
async fn a_client_that_drops_the_stream_still_finds_the_full_answer() {
    let fake = FakeOpenAi::start(Duration::from_millis(60)).await;
    let server = TestServer::start(&[
        ("USE_IN_MEMORY_REPO", "false"),
        ("OPENAI_BASE_URL", &fake.base_url),
        ("OPENAI_API_KEY", "sk-test-e2e"),
    ]);
    let alice = Client::register(&server.base_url, "alice").await;
    let res = alice
        .post("/api/v1/chat/stream")
        .json(&json!({"message": "a long answer please", "conversation_id": "dropped"}))
        .send()
        .await
        .expect("stream");
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        if seen.contains("\"type\":\"delta\"") {
            break;
        }
    }
    drop(body);
    let expected = answer_for(&[json!({"role": "user", "content": "a long answer please"})]);
    let mut stored = Value::Null;
    for _ in 0..100 {
        let (_, conv) = alice.get("/api/v1/conversations/dropped").await;
        if conv["messages"].as_array().map(Vec::len) == Some(2) {
            stored = conv;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        stored["messages"][1]["content"], expected,
        "the run completed after the client left"
    );
}

#[tokio::test]
async fn an_answer_with_no_text_and_no_tool_call_is_an_llm_error_and_stores_nothing() {
    let fake = FakeOpenAi::start(Duration::ZERO).await;
    let server = TestServer::start(&[
        ("OPENAI_BASE_URL", &fake.base_url),
        ("OPENAI_API_KEY", "sk-test-e2e"),
    ]);
    let grace = Client::register(&server.base_url, "grace").await;
    let message = format!("please answer {EMPTY_ANSWER}");
    let res = grace
        .post("/api/v1/chat")
        .json(&json!({"message": message, "conversation_id": "empty-1"}))
        .send()
        .await
        .expect("chat");
    assert_eq!(res.status(), 502);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "llm_error", "{body}");

    let res = grace
        .post("/api/v1/chat/stream")
        .json(&json!({"message": message, "conversation_id": "empty-1"}))
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status(), 200);
    let events = parse_sse(&res.text().await.expect("body"));
    let last = events.last().expect("a terminal event");
    assert_eq!(last["type"], "error", "{events:?}");
    assert_eq!(last["error"], "llm_error");
    assert!(
        events.iter().all(|e| e["type"] != "delta"),
        "no text was made up: {events:?}"
    );

    let (status, conversation) = grace.get("/api/v1/conversations/empty-1").await;
    assert_eq!(status, 200);
    let roles: Vec<&str> = conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "user"], "no assistant message is stored");
}
