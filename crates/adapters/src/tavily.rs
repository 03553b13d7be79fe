//! [`TavilySearch`]: the web-search port over Tavily's search API
//! (`POST {base}/search` with a bearer key). Vendor JSON stays in here.

use agents_domain::secret::Secret;
use std::time::Duration;

use agents_domain::search::{SearchError, SearchHit, SearchResults, WebSearch};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::openai::HttpClientError;

/// How thorough a Tavily search is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchDepth {
    /// Fast, one credit.
    #[default]
    Basic,
    /// Slower and deeper, two credits.
    Advanced,
}

/// How to reach Tavily.
#[derive(Debug, Clone)]
pub struct TavilySettings {
    /// API base (`TAVILY_BASE_URL`, default `https://api.tavily.com`).
    pub base_url: String,
    /// API key (`TAVILY_API_KEY`).
    pub api_key: Secret,
    /// Longest wait for the whole answer.
    pub timeout: Duration,
    /// Search depth.
    pub search_depth: SearchDepth,
}

impl TavilySettings {
    /// Settings for `api_key` at Tavily's public address, basic depth, 15 s.
    pub fn new(api_key: impl Into<Secret>) -> Self {
        Self {
            base_url: "https://api.tavily.com".into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(15),
            search_depth: SearchDepth::Basic,
        }
    }
}

#[derive(Serialize)]
struct SearchRequest<'a> {
    query: &'a str,
    max_results: u8,
    include_answer: bool,
    search_depth: SearchDepth,
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    results: Vec<ResultItem>,
}

#[derive(Deserialize)]
struct ResultItem {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    score: Option<f64>,
}

/// Web search through Tavily.
#[derive(Debug, Clone)]
pub struct TavilySearch {
    http: reqwest::Client,
    url: String,
    settings: TavilySettings,
}

impl TavilySearch {
    /// A client for `settings`.
    pub fn new(settings: TavilySettings) -> Result<Self, HttpClientError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| HttpClientError::new(e.to_string()))?;
        let url = format!("{}/search", settings.base_url.trim_end_matches('/'));
        Ok(Self {
            http,
            url,
            settings,
        })
    }
}

/// Tavily's message from an error body: `{"detail": {"error": ...}}`,
/// `{"detail": "..."}` or `{"error": ...}`; else the start of the body.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let found = parsed.as_ref().and_then(|v| {
        [
            v.pointer("/detail/error"),
            v.get("detail"),
            v.pointer("/error/message"),
            v.get("error"),
        ]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_owned))
    });
    found.unwrap_or_else(|| {
        let text: String = String::from_utf8_lossy(body)
            .trim()
            .chars()
            .take(300)
            .collect();
        if text.is_empty() {
            "empty response body".into()
        } else {
            text
        }
    })
}

fn transport(error: &reqwest::Error) -> SearchError {
    if error.is_timeout() {
        SearchError::Timeout
    } else {
        SearchError::Other(error.to_string())
    }
}

#[async_trait]
impl WebSearch for TavilySearch {
    async fn search(&self, query: &str, max_results: u8) -> Result<SearchResults, SearchError> {
        let body = SearchRequest {
            query,
            max_results,
            include_answer: true,
            search_depth: self.settings.search_depth,
        };
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(self.settings.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| transport(&e))?;
        if !status.is_success() {
            return Err(SearchError::Rejected {
                status: status.as_u16(),
                message: error_message(&bytes),
            });
        }
        let parsed: SearchResponse = serde_json::from_slice(&bytes)
            .map_err(|e| SearchError::Other(format!("unreadable search response: {e}")))?;
        Ok(SearchResults {
            answer: parsed.answer.filter(|a| !a.trim().is_empty()),
            hits: parsed
                .results
                .into_iter()
                .map(|item| SearchHit {
                    title: item.title,
                    url: item.url,
                    score: item.score.unwrap_or(0.0),
                    content: item.content,
                })
                .collect(),
        })
    }
}
