//! The agent routes' use cases: the public agent list and an agent's use in
//! the caller's tenant, from stored conversations.

use std::sync::Arc;

use agents_domain::conversation::{ConversationError, ConversationStore};
use agents_domain::{StoreError, TenantId};
use time::OffsetDateTime;

use super::AgentCatalog;

/// One line of `GET /api/v1/agents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentListing {
    /// Agent name.
    pub name: String,
    /// Always `active`: every configured agent can be used.
    pub status: &'static str,
    /// One line for clients.
    pub description: String,
}

/// `GET /api/v1/agents/{name}/status` for one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStatus {
    /// Agent name.
    pub name: String,
    /// Always `active`.
    pub status: &'static str,
    /// When it last answered in this tenant.
    pub last_used: Option<OffsetDateTime>,
    /// Conversations of this tenant it started or answered last.
    pub total_conversations: u64,
}

/// Why an agent status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AgentStatusError {
    /// 404 `not_found`: no agent of that name.
    #[error("agent '{0}' not found")]
    UnknownAgent(String),
    /// 503 `service_unavailable` when the database did not answer, else
    /// 500 `internal_error`.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Lists agents and reports their use.
#[derive(Clone)]
pub struct AgentService {
    catalog: Arc<AgentCatalog>,
    store: Arc<dyn ConversationStore>,
}

impl AgentService {
    /// A service over the agents of `catalog` and the conversations of `store`.
    pub fn new(catalog: Arc<AgentCatalog>, store: Arc<dyn ConversationStore>) -> Self {
        Self { catalog, store }
    }

    /// Every agent, sorted by name.
    pub fn list(&self) -> Vec<AgentListing> {
        self.catalog
            .all()
            .map(|agent| AgentListing {
                name: agent.name.clone(),
                status: "active",
                description: agent.description.clone(),
            })
            .collect()
    }

    /// How `tenant` used the agent `name` (exact name; no fallback).
    pub async fn status(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<AgentStatus, AgentStatusError> {
        let agent = self
            .catalog
            .get(name)
            .ok_or_else(|| AgentStatusError::UnknownAgent(name.to_owned()))?;
        let usage = self
            .store
            .agent_usage(tenant, &agent.name)
            .await
            .map_err(|e| match e {
                ConversationError::Store(error) => AgentStatusError::Store(error),
                ConversationError::NotFound => {
                    StoreError::other("agent usage reported not found").into()
                }
            })?;
        Ok(AgentStatus {
            name: agent.name.clone(),
            status: "active",
            last_used: usage.last_used,
            total_conversations: usage.total_conversations,
        })
    }
}

#[cfg(test)]
mod tests {
    use agents_domain::conversation::{AgentUsage, MockConversationStore};

    use super::*;

    fn service(store: MockConversationStore) -> AgentService {
        let tools = ["get_current_time", "search_conversations", "tavily_search"];
        let catalog = AgentCatalog::new(vec![], &tools).expect("built-ins are valid");
        AgentService::new(Arc::new(catalog), Arc::new(store))
    }

    #[tokio::test]
    async fn status_comes_from_the_store_for_the_tenant() {
        let tenant = TenantId::new();
        let mut store = MockConversationStore::new();
        store
            .expect_agent_usage()
            .withf(move |t, agent| *t == tenant && agent == "code_assistant")
            .returning(|_, _| {
                Ok(AgentUsage {
                    last_used: None,
                    total_conversations: 3,
                })
            });
        let status = service(store)
            .status(tenant, "code_assistant")
            .await
            .expect("known agent");
        assert_eq!(status.total_conversations, 3);
        assert_eq!(status.status, "active");
    }

    #[tokio::test]
    async fn unknown_agents_are_not_found() {
        let result = service(MockConversationStore::new())
            .status(TenantId::new(), "nope")
            .await;
        assert!(
            matches!(&result, Err(AgentStatusError::UnknownAgent(name)) if name == "nope"),
            "{result:?}"
        );
        let names: Vec<_> = service(MockConversationStore::new())
            .list()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["code_assistant", "data_analyst", "triage"]);
    }
}
