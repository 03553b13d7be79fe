//! `TavilySearch` against a local server: request shape, result parsing,
//! error statuses and the timeout.

mod stub_http;

use std::time::Duration;

use agents_adapters::tavily::{SearchDepth, TavilySearch, TavilySettings};
use agents_domain::search::{SearchError, WebSearch};
use serde_json::json;
use stub_http::{Reply, StubServer};

fn search(server: &StubServer, timeout: Duration) -> TavilySearch {
    let mut settings = TavilySettings::new("tvly-test");
    settings.base_url = format!("{}/", server.url);
    settings.timeout = timeout;
    settings.search_depth = SearchDepth::Advanced;
    TavilySearch::new(settings).expect("client builds")
}

#[tokio::test]
async fn a_search_posts_the_query_with_a_bearer_key_and_reads_the_results() {
    let body = json!({
        "query": "rust release",
        "answer": "Rust 1.95 is out.",
        "results": [
            {"title": "Announcing Rust", "url": "https://blog.rust-lang.org/", "content": "Today...", "score": 0.93, "raw_content": null},
            {"title": "No score", "url": "https://example.org/", "content": "..."}
        ],
        "response_time": 1.2
    });
    let server = StubServer::start(vec![Reply::json(200, &body.to_string(), &[])]).await;
    let results = search(&server, Duration::from_secs(5))
        .search("rust release", 3)
        .await
        .expect("found");
    assert_eq!(results.answer.as_deref(), Some("Rust 1.95 is out."));
    assert_eq!(results.hits.len(), 2);
    assert_eq!(
        (results.hits[0].title.as_str(), results.hits[0].score),
        ("Announcing Rust", 0.93)
    );
    assert_eq!(results.hits[1].score, 0.0);

    let sent = &server.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/search")
    );
    assert_eq!(sent.header("authorization"), Some("Bearer tvly-test"));
    assert_eq!(
        sent.json(),
        json!({"query": "rust release", "max_results": 3, "include_answer": true, "search_depth": "advanced"})
    );
}

#[tokio::test]
async fn error_statuses_are_rejections_with_the_providers_message() {
    let cases = [
        (
            401,
            json!({"detail": {"error": "Unauthorized: missing or invalid API key."}}).to_string(),
            "Unauthorized: missing or invalid API key.",
        ),
        (
            429,
            json!({"detail": "Too many requests"}).to_string(),
            "Too many requests",
        ),
        (500, "upstream exploded".to_owned(), "upstream exploded"),
    ];
    for (status, body, message) in cases {
        let server = StubServer::start(vec![Reply::json(status, &body, &[])]).await;
        let error = search(&server, Duration::from_secs(5))
            .search("q", 5)
            .await
            .expect_err("rejected");
        match error {
            SearchError::Rejected {
                status: got,
                message: text,
            } => {
                assert_eq!((got, text.as_str()), (status, message));
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_slow_provider_times_out_and_garbage_is_an_error() {
    let server = StubServer::start(vec![
        Reply::silent(Duration::from_secs(3)),
        Reply::json(200, "not json", &[]),
    ])
    .await;
    let client = search(&server, Duration::from_millis(300));
    assert!(matches!(
        client.search("q", 5).await,
        Err(SearchError::Timeout)
    ));
    assert!(matches!(
        client.search("q", 5).await,
        Err(SearchError::Other(_))
    ));
    assert!(
        !format!("{client:?}").contains("tvly-test"),
        "the key is never printed"
    );
}
