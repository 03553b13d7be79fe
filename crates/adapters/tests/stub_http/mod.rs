//! A tiny scripted HTTP/1.1 server for outbound-adapter tests: each
//! connection gets the next scripted reply, written piece by piece with
//! pauses, so tests control chunk boundaries and stalls byte by byte. Every
//! request is recorded for assertions on its shape.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One piece of a reply.
pub enum Part {
    /// Bytes written and flushed at once.
    Bytes(Vec<u8>),
    /// A pause before the next piece.
    Pause(Duration),
}

/// A scripted reply.
pub struct Reply {
    head: String,
    parts: Vec<Part>,
}

impl Reply {
    /// A `text/event-stream` 200 whose body ends when the connection closes.
    pub fn sse(parts: Vec<Part>) -> Self {
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
                .to_owned();
        Self { head, parts }
    }

    /// A complete JSON reply with `status` and extra `headers`.
    pub fn json(status: u16, body: &str, headers: &[(&str, &str)]) -> Self {
        let mut head = format!(
            "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        Self {
            head,
            parts: vec![Part::Bytes(body.as_bytes().to_vec())],
        }
    }

    /// Reads the request and then answers nothing for `wait`.
    pub fn silent(wait: Duration) -> Self {
        Self {
            head: String::new(),
            parts: vec![Part::Pause(wait)],
        }
    }
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, ...
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A running stub server.
pub struct StubServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl StubServer {
    /// Serves `replies` in order, one per connection; afterwards a 500.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let recorded = requests.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let reply = replies.lock().expect("lock").pop_front();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let reply = reply.unwrap_or_else(|| {
                        Reply::json(500, "{\"error\":{\"message\":\"unscripted\"}}", &[])
                    });
                    serve(socket, reply, recorded).await;
                });
            }
        });
        Self { url, requests }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

/// A `data:` event with its blank line.
pub fn event(json: &serde_json::Value) -> Vec<u8> {
    format!("data: {json}\n\n").into_bytes()
}

/// Splits `bytes` at the given offsets into pieces with short pauses, so
/// each arrives in its own network read.
pub fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Part> {
    let mut cuts: Vec<usize> = cuts.iter().copied().filter(|c| *c < bytes.len()).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(bytes.len());
    let mut parts = Vec::new();
    let mut start = 0;
    for cut in cuts {
        parts.push(Part::Bytes(bytes[start..cut].to_vec()));
        parts.push(Part::Pause(Duration::from_millis(15)));
        start = cut;
    }
    parts
}

async fn serve(mut socket: TcpStream, reply: Reply, recorded: Arc<Mutex<Vec<Recorded>>>) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    recorded.lock().expect("lock").push(request);
    if !reply.head.is_empty() && socket.write_all(reply.head.as_bytes()).await.is_err() {
        return;
    }
    for part in reply.parts {
        match part {
            Part::Bytes(bytes) => {
                if socket.write_all(&bytes).await.is_err() || socket.flush().await.is_err() {
                    return;
                }
            }
            Part::Pause(wait) => tokio::time::sleep(wait).await,
        }
    }
    let _ = socket.shutdown().await;
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}
