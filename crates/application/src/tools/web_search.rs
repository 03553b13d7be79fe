//! `tavily_search`: web search through the web-search port.

use std::sync::Arc;

use agents_domain::search::{SearchResults, WebSearch};
use async_trait::async_trait;

use super::{Tool, ToolContext, ToolError};

/// Longest extract of one source shown to the model.
const CONTENT_PREVIEW_CHARS: usize = 300;

/// Searches the web; unavailable without a configured provider.
pub struct WebSearchTool {
    search: Option<Arc<dyn WebSearch>>,
}

impl WebSearchTool {
    /// A tool over `search`; `None` makes it unavailable.
    pub fn new(search: Option<Arc<dyn WebSearch>>) -> Self {
        Self { search }
    }
}

/// Formats results as the Python service did: the answer, then numbered
/// sources with title, URL, score and trimmed content.
pub fn format_search_results(query: &str, results: &SearchResults) -> String {
    let mut out = format!("Search results for: {query}\n\n");
    if let Some(answer) = results.answer.as_deref().filter(|a| !a.is_empty()) {
        out.push_str(&format!("Answer: {answer}\n\n"));
    }
    if results.hits.is_empty() {
        out.push_str("No sources found.\n");
        return out;
    }
    out.push_str("Sources:\n");
    for (i, hit) in results.hits.iter().enumerate() {
        let mut content: String = hit.content.chars().take(CONTENT_PREVIEW_CHARS).collect();
        if hit.content.chars().count() > CONTENT_PREVIEW_CHARS {
            content.push_str("...");
        }
        out.push_str(&format!(
            "{}. {}\n   URL: {}\n   Score: {:.2}\n   {}\n\n",
            i + 1,
            hit.title,
            hit.url,
            hit.score,
            content
        ));
    }
    out
}

#[async_trait]
impl Tool for WebSearchTool {
    fn name(&self) -> &str {
        "tavily_search"
    }
    fn description(&self) -> &str {
        "Search the web for current information. Returns an answer and sources."
    }
    fn category(&self) -> &str {
        "web_search"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "What to search for"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 10, "description": "Number of sources (default 5)"}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }
    fn available(&self) -> bool {
        self.search.is_some()
    }
    async fn call(
        &self,
        _context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        let search = self.search.as_ref().ok_or_else(|| {
            ToolError::Failed("search failed: web search is not configured".into())
        })?;
        let query = arguments
            .get("query")
            .and_then(|q| q.as_str())
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| {
                ToolError::InvalidArguments("'query' must be a non-empty string".into())
            })?;
        let max = arguments
            .get("max_results")
            .and_then(|m| m.as_u64())
            .unwrap_or(5)
            .clamp(1, 10) as u8;
        let results = search
            .search(query, max)
            .await
            .map_err(|e| ToolError::Failed(format!("search failed: {e}")))?;
        Ok(format_search_results(query, &results))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents_domain::search::SearchHit;

    #[test]
    fn results_are_formatted_answer_first_with_numbered_trimmed_sources() {
        let results = SearchResults {
            answer: Some("Rust 1.95".into()),
            hits: vec![SearchHit {
                title: "Release".into(),
                url: "https://example.org/r".into(),
                score: 0.912,
                content: "x".repeat(400),
            }],
        };
        let text = format_search_results("rust version", &results);
        assert!(text.starts_with("Search results for: rust version"));
        assert!(text.contains("Answer: Rust 1.95"));
        assert!(text.contains("1. Release\n   URL: https://example.org/r\n   Score: 0.91"));
        assert!(text.contains(&format!("{}...", "x".repeat(300))));
        assert!(!text.contains(&"x".repeat(301)));
    }
}
