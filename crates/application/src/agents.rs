//! Agent definitions: the built-ins and those declared in configuration.

mod builtin;
mod status;

use std::collections::BTreeMap;

pub use builtin::builtin_agents;
pub use status::{AgentListing, AgentService, AgentStatus, AgentStatusError};

/// An agent: instructions for a model, the tools it may call and the agents
/// it may hand off to.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDefinition {
    /// Unique name (`triage`).
    pub name: String,
    /// One line for clients.
    pub description: String,
    /// System instructions for the model.
    pub instructions: String,
    /// Model override; `None` uses the configured default model.
    pub model: Option<String>,
    /// Tool names it may call.
    pub tools: Vec<String>,
    /// Agents it may hand off to.
    pub handoffs: Vec<String>,
}

/// Why an agent catalog could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// An agent hands off to an agent that does not exist.
    #[error("agent '{agent}' hands off to unknown agent '{target}'")]
    UnknownHandoff {
        /// The agent.
        agent: String,
        /// The missing target.
        target: String,
    },
    /// An agent names a tool that does not exist.
    #[error("agent '{agent}' uses unknown tool '{tool}'")]
    UnknownTool {
        /// The agent.
        agent: String,
        /// The missing tool.
        tool: String,
    },
    /// An agent name is not `[a-z0-9_]{1,64}`.
    #[error("agent name '{0}' must be 1-64 characters of lowercase letters, digits or '_'")]
    BadName(String),
}

/// The agents this server runs, by name.
#[derive(Debug, Clone)]
pub struct AgentCatalog {
    agents: BTreeMap<String, AgentDefinition>,
}

/// The agent every new conversation starts with and unknown names fall back to.
pub const DEFAULT_AGENT: &str = "triage";

impl AgentCatalog {
    /// Builds a catalog from the built-ins plus `extra` (which replace
    /// built-ins of the same name), checking every handoff target and tool.
    pub fn new(extra: Vec<AgentDefinition>, known_tools: &[&str]) -> Result<Self, CatalogError> {
        let mut agents: BTreeMap<String, AgentDefinition> = builtin_agents()
            .into_iter()
            .map(|a| (a.name.clone(), a))
            .collect();
        for agent in extra {
            let valid = !agent.name.is_empty()
                && agent.name.len() <= 64
                && agent
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(CatalogError::BadName(agent.name));
            }
            agents.insert(agent.name.clone(), agent);
        }
        for agent in agents.values() {
            if let Some(target) = agent.handoffs.iter().find(|t| !agents.contains_key(*t)) {
                return Err(CatalogError::UnknownHandoff {
                    agent: agent.name.clone(),
                    target: target.clone(),
                });
            }
            if let Some(tool) = agent
                .tools
                .iter()
                .find(|t| !known_tools.contains(&t.as_str()))
            {
                return Err(CatalogError::UnknownTool {
                    agent: agent.name.clone(),
                    tool: tool.clone(),
                });
            }
        }
        Ok(Self { agents })
    }

    /// Every agent, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &AgentDefinition> {
        self.agents.values()
    }

    /// The agent named `name`.
    pub fn get(&self, name: &str) -> Option<&AgentDefinition> {
        self.agents.get(name)
    }

    /// The agent named `name`, or `triage` when unknown (the Python
    /// service's fallback).
    pub fn resolve(&self, name: Option<&str>) -> &AgentDefinition {
        name.and_then(|n| self.agents.get(n))
            .or_else(|| self.agents.get(DEFAULT_AGENT))
            .or_else(|| self.agents.values().next())
            .expect("the catalog always holds the built-in agents")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOLS: &[&str] = &["get_current_time", "search_conversations", "tavily_search"];

    fn agent(name: &str, handoffs: &[&str], tools: &[&str]) -> AgentDefinition {
        AgentDefinition {
            name: name.into(),
            description: "d".into(),
            instructions: "i".into(),
            model: None,
            tools: tools.iter().map(|t| t.to_string()).collect(),
            handoffs: handoffs.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn builtins_are_listed_sorted_and_triage_hands_off() {
        let catalog = AgentCatalog::new(vec![], TOOLS).expect("valid");
        let names: Vec<_> = catalog.all().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["code_assistant", "data_analyst", "triage"]);
        assert_eq!(
            catalog.resolve(Some("triage")).handoffs,
            ["code_assistant", "data_analyst"]
        );
    }

    #[test]
    fn unknown_names_fall_back_to_triage() {
        let catalog = AgentCatalog::new(vec![], TOOLS).expect("valid");
        assert_eq!(catalog.resolve(Some("nope")).name, "triage");
        assert_eq!(catalog.resolve(None).name, "triage");
    }

    #[test]
    fn configured_agents_are_checked() {
        let ok = AgentCatalog::new(
            vec![agent("legal", &["triage"], &["get_current_time"])],
            TOOLS,
        )
        .expect("valid");
        assert!(ok.get("legal").is_some());
        assert_eq!(
            AgentCatalog::new(vec![agent("legal", &["ghost"], &[])], TOOLS).err(),
            Some(CatalogError::UnknownHandoff {
                agent: "legal".into(),
                target: "ghost".into()
            })
        );
        assert!(matches!(
            AgentCatalog::new(vec![agent("legal", &[], &["rm_rf"])], TOOLS),
            Err(CatalogError::UnknownTool { .. })
        ));
        assert!(matches!(
            AgentCatalog::new(vec![agent("Bad Name", &[], &[])], TOOLS),
            Err(CatalogError::BadName(_))
        ));
    }
}
