//! A local server speaking the OpenAI Chat Completions streaming wire
//! format (`POST /v1/chat/completions`, SSE `data:` chunks, a usage chunk,
//! `data: [DONE]`), recording every request it receives.
//!
//! Its answer to a user message `m` is `You said: m. I have seen N earlier
//! messages.`, streamed word by word with a pause between chunks (none when
//! the pause is zero); a message containing `what time` makes it call
//! `get_current_time` first, and `say N words` makes it answer `word1 ...
//! wordN`; one containing [`EMPTY_ANSWER`] gets a stream with no text and no
//! tool call (`choices: []`, then `[DONE]`), as some providers send when they
//! fail; one containing [`HTML_TRIGGER`] answers [`HTML_ANSWER`] (markup a
//! client must show as text); one containing [`SLOW_TRIGGER`] pauses at least
//! [`SLOW_PAUSE`] between words (time to press Stop or cut the connection).
//! Like a real model it honours an output cap (`max_completion_tokens` or
//! `max_tokens`, one token per word): it stops there with
//! `finish_reason: length` and reports the words sent as completion tokens.
//! It also records when it served each request ([`Served`]), so a benchmark
//! in the same process can tell the model's time from the server's.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A user message containing this gets an answer with no content at all.
pub const EMPTY_ANSWER: &str = "[empty answer]";

/// The running fake.
pub struct FakeOpenAi {
    /// `http://127.0.0.1:PORT/v1`, for `OPENAI_BASE_URL`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    served: Arc<Mutex<Vec<Served>>>,
    task: tokio::task::JoinHandle<()>,
}

/// When the fake served one chat completion request (instants of this process).
#[derive(Debug, Clone)]
pub struct Served {
    /// The content of the request's last user message.
    pub user_message: String,
    /// When the connection was accepted.
    pub accepted: Instant,
    /// When each frame was written: one per answer word (or tool-call part),
    /// then the finish frame.
    pub frames: Vec<Instant>,
    /// When the whole response (usage chunk and `[DONE]`) was written.
    pub finished: Instant,
}

impl FakeOpenAi {
    /// Starts the fake on a free port; `pause` is the gap between chunks.
    pub async fn start(pause: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let requests: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let served: Arc<Mutex<Vec<Served>>> = Arc::default();
        let log = Log {
            requests: requests.clone(),
            served: served.clone(),
        };
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let accepted = Instant::now();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, log, pause, accepted).await;
                });
            }
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            requests,
            served,
            task,
        }
    }

    /// Every request so far: (authorization header, JSON body).
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Takes the timings of the completion requests served so far.
    pub fn take_served(&self) -> Vec<Served> {
        self.served
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

#[derive(Clone)]
struct Log {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    served: Arc<Mutex<Vec<Served>>>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A user message containing this gets [`HTML_ANSWER`].
pub const HTML_TRIGGER: &str = "answer with html";

/// Markup, a script link and Markdown: a client must render the markup and
/// the `javascript:` link as text, and may render the rest as Markdown.
pub const HTML_ANSWER: &str = "Here is markup: <img src=x onerror=alert(1)> and <script>alert(2)</script>.\n\n\
- a [script link](javascript:alert(3))\n\
- a [real link](https://example.com/docs)\n\n\
```html\n<b onclick=alert(4)>bold</b>\n```\n\nInline `<i>code</i>` too.";

/// A user message containing this is answered slowly.
pub const SLOW_TRIGGER: &str = "slowly";

/// The least pause between the words of a slow answer.
pub const SLOW_PAUSE: Duration = Duration::from_millis(250);

/// The answer the fake gives to `messages` without a cap (what a client
/// should end up with).
pub fn answer_for(messages: &[Value]) -> String {
    let last_user = messages.iter().rev().find(|m| m["role"] == "user");
    let text = last_user
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    if let Some(count) = text
        .strip_prefix("say ")
        .and_then(|rest| rest.strip_suffix(" words"))
        .and_then(|n| n.parse::<usize>().ok())
    {
        return (1..=count)
            .map(|i| format!("word{i}"))
            .collect::<Vec<_>>()
            .join(" ");
    }
    if text.contains(HTML_TRIGGER) {
        return HTML_ANSWER.to_owned();
    }
    let earlier = messages
        .iter()
        .filter(|m| m["role"] == "user" || m["role"] == "assistant")
        .count()
        .saturating_sub(1);
    format!("You said: {text}. I have seen {earlier} earlier messages.")
}

async fn serve(
    mut socket: TcpStream,
    log: Log,
    pause: Duration,
    accepted: Instant,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body: Value = serde_json::from_slice(&buffer[header_end..]).unwrap_or(Value::Null);
    let authorization = header("authorization");
    if let Ok(mut all) = log.requests.lock() {
        all.push((authorization, body.clone()));
    }
    if !head.starts_with("POST /v1/chat/completions ") {
        let error = r#"{"error":{"message":"unknown path","type":"invalid_request_error"}}"#;
        let reply = format!(
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{error}",
            error.len()
        );
        socket.write_all(reply.as_bytes()).await?;
        return Ok(());
    }
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
        .await?;
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let model = body["model"].as_str().unwrap_or("unknown").to_owned();
    let cap = body["max_completion_tokens"]
        .as_u64()
        .or_else(|| body["max_tokens"].as_u64())
        .and_then(|cap| usize::try_from(cap).ok());
    let mut completion_words = None;
    let frame = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let wants_time = messages.last().is_some_and(|m| m["role"] == "user")
        && messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .is_some_and(|t| t.contains("what time"));
    let wants_nothing = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .is_some_and(|t| t.contains(EMPTY_ANSWER));
    let mut frames = Vec::new();
    if wants_nothing {
        frames.push(json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": []}));
    } else if wants_time {
        frames.push(frame(json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_current_time", "arguments": ""}}]}), Value::Null));
        frames.push(frame(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
            Value::Null,
        ));
        frames.push(frame(json!({}), json!("tool_calls")));
    } else {
        let answer = answer_for(&messages);
        let words: Vec<&str> = answer.split_inclusive(' ').collect();
        let sent = cap.map_or(words.len(), |cap| words.len().min(cap));
        for (i, word) in words.into_iter().take(sent).enumerate() {
            let delta = if i == 0 {
                json!({"role": "assistant", "content": word})
            } else {
                json!({"content": word})
            };
            frames.push(frame(delta, Value::Null));
        }
        let finish = if cap.is_some_and(|cap| cap < answer.split_inclusive(' ').count()) {
            "length"
        } else {
            "stop"
        };
        frames.push(frame(json!({}), json!(finish)));
        completion_words = Some(sent);
    }
    let user_message = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    let pause = if user_message.contains(SLOW_TRIGGER) {
        pause.max(SLOW_PAUSE)
    } else {
        pause
    };
    let mut written = Vec::with_capacity(frames.len());
    for frame in frames {
        socket
            .write_all(format!("data: {frame}\n\n").as_bytes())
            .await?;
        socket.flush().await?;
        written.push(Instant::now());
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    // Fixed usage unless capped, where the words sent are what counts.
    let completion = match (cap, completion_words) {
        (Some(_), Some(words)) => words,
        _ => 7,
    };
    let usage = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
                       "usage": {"prompt_tokens": 12, "completion_tokens": completion, "total_tokens": 12 + completion}});
    socket
        .write_all(format!("data: {usage}\n\ndata: [DONE]\n\n").as_bytes())
        .await?;
    let finished = Instant::now();
    if let Ok(mut all) = log.served.lock() {
        all.push(Served {
            user_message,
            accepted,
            frames: written,
            finished,
        });
    }
    socket.shutdown().await
}
