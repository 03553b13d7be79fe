//! Conversation history use cases: list, search, read and delete the
//! caller's conversations. Thin over the store, which filters by tenant and
//! user in every query; this layer validates paging and maps errors.

use std::sync::Arc;

use agents_domain::conversation::{
    Conversation, ConversationError, ConversationHit, ConversationKey, ConversationScope,
    ConversationStore, ConversationSummary, Page, PageRequest, StoredMessage,
};
use agents_domain::{FieldError, StoreError};

/// Largest page and search size.
pub const MAX_LIMIT: u64 = 100;
/// Page and search size when the client sends none.
pub const DEFAULT_LIMIT: u64 = 20;
/// Longest search text in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Why a conversation operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConversationsError {
    /// 422 `validation_error`: bad paging or search parameters.
    #[error("invalid request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// 404 `not_found`: absent, or not the caller's (the two look the same).
    #[error("conversation not found")]
    NotFound,
    /// 503 `service_unavailable` when the database did not answer, else
    /// 500 `internal_error`.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ConversationError> for ConversationsError {
    fn from(error: ConversationError) -> Self {
        match error {
            ConversationError::NotFound => ConversationsError::NotFound,
            ConversationError::Store(error) => error.into(),
        }
    }
}

/// Validates `?page=&limit=`: page ≥ 1 (default 1), limit 1..=100 (default 20).
pub fn page_request(
    page: Option<u64>,
    limit: Option<u64>,
) -> Result<PageRequest, ConversationsError> {
    let mut errors = Vec::new();
    let page = page.unwrap_or(1);
    if page == 0 {
        errors.push(FieldError::new("page", "must be 1 or more"));
    }
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if errors.is_empty() {
        Ok(PageRequest { page, limit })
    } else {
        Err(ConversationsError::Validation(errors))
    }
}

/// The conversation routes' use cases.
#[derive(Clone)]
pub struct ConversationService {
    store: Arc<dyn ConversationStore>,
}

impl ConversationService {
    /// A service over `store`.
    pub fn new(store: Arc<dyn ConversationStore>) -> Self {
        Self { store }
    }

    /// The caller's conversations, newest first, with the total count
    /// (for `X-Total-Count`). Build `page` with [`page_request`].
    pub async fn list(
        &self,
        scope: ConversationScope,
        page: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationsError> {
        Ok(self.store.list(scope, page).await?)
    }

    /// The caller's conversations whose id or text contains `query`
    /// (trimmed, 1..=200 characters), at most `limit` (1..=100, default 20).
    pub async fn search(
        &self,
        scope: ConversationScope,
        query: &str,
        limit: Option<u64>,
    ) -> Result<Vec<ConversationHit>, ConversationsError> {
        let query = query.trim();
        let mut errors = Vec::new();
        let length = query.chars().count();
        if length == 0 || length > MAX_QUERY_CHARS {
            errors.push(FieldError::new(
                "q",
                format!("must be 1 to {MAX_QUERY_CHARS} characters"),
            ));
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if !errors.is_empty() {
            return Err(ConversationsError::Validation(errors));
        }
        Ok(self.store.search(scope, query, limit).await?)
    }

    /// One conversation with every message, oldest first.
    pub async fn get(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<(Conversation, Vec<StoredMessage>), ConversationsError> {
        self.store
            .history(scope, key)
            .await?
            .ok_or(ConversationsError::NotFound)
    }

    /// Deletes one conversation and its messages.
    pub async fn delete(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<(), ConversationsError> {
        if self.store.delete(scope, key).await? {
            Ok(())
        } else {
            Err(ConversationsError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use agents_domain::conversation::MockConversationStore;
    use agents_domain::{TenantId, UserId};

    use super::*;

    fn scope() -> ConversationScope {
        ConversationScope {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            api_key: None,
            include_unowned: false,
        }
    }

    #[test]
    fn paging_is_validated_with_defaults() {
        assert_eq!(
            page_request(None, None).ok(),
            Some(PageRequest { page: 1, limit: 20 })
        );
        assert_eq!(
            page_request(Some(3), Some(100)).ok(),
            Some(PageRequest {
                page: 3,
                limit: 100
            })
        );
        let Err(ConversationsError::Validation(errors)) = page_request(Some(0), Some(101)) else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["page", "limit"]);
    }

    #[tokio::test]
    async fn a_blank_search_is_refused_without_touching_the_store() {
        let service = ConversationService::new(Arc::new(MockConversationStore::new()));
        assert!(matches!(
            service.search(scope(), "   ", None).await,
            Err(ConversationsError::Validation(_))
        ));
    }

    #[tokio::test]
    async fn missing_conversations_are_not_found_and_outages_are_unavailable() {
        let mut store = MockConversationStore::new();
        store.expect_history().returning(|_, _| Ok(None));
        store.expect_delete().returning(|_, _| Ok(false));
        store.expect_list().returning(|_, _| {
            Err(ConversationError::Store(StoreError::Unavailable(
                "down".into(),
            )))
        });
        let service = ConversationService::new(Arc::new(store));
        let key = ConversationKey::generate();
        assert!(matches!(
            service.get(scope(), &key).await,
            Err(ConversationsError::NotFound)
        ));
        assert!(matches!(
            service.delete(scope(), &key).await,
            Err(ConversationsError::NotFound)
        ));
        let outage = service
            .list(scope(), PageRequest { page: 1, limit: 20 })
            .await;
        assert!(
            matches!(&outage, Err(ConversationsError::Store(e)) if e.is_unavailable()),
            "{outage:?}"
        );
    }
}
