//! The web-search port (Tavily in production).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One result of a web search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Page title.
    pub title: String,
    /// Page address.
    pub url: String,
    /// Relevance in 0..1 as the provider scores it.
    pub score: f64,
    /// Extract of the page.
    pub content: String,
}

/// The results of a web search.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchResults {
    /// A direct answer, when the provider gives one.
    pub answer: Option<String>,
    /// The sources found, best first.
    pub hits: Vec<SearchHit>,
}

/// Why a web search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// No search provider is configured.
    #[error("web search is not configured")]
    NotConfigured,
    /// The provider refused the request (bad key, bad query, quota).
    #[error("search provider rejected the request ({status}): {message}")]
    Rejected {
        /// HTTP status from the provider.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The provider did not answer in time.
    #[error("search provider timed out")]
    Timeout,
    /// Transport or decoding failure.
    #[error("search provider failed: {0}")]
    Other(String),
}

/// Searches the web.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebSearch: Send + Sync {
    /// Runs `query`, returning at most `max_results` hits.
    async fn search(&self, query: &str, max_results: u8) -> Result<SearchResults, SearchError>;
}
