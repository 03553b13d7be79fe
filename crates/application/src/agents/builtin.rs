//! The three built-in agents, with instructions in the spirit of the Python
//! service.

use super::AgentDefinition;

/// `triage`, `code_assistant` and `data_analyst`.
pub fn builtin_agents() -> Vec<AgentDefinition> {
    vec![
        AgentDefinition {
            name: "triage".into(),
            description: "Routes each request to the best specialist agent, or answers general questions itself.".into(),
            instructions: "You are a triage agent. Understand what the user needs. Hand off to \
                code_assistant for programming, debugging and code review, and to data_analyst for \
                data analysis, statistics and visualisation. Answer general questions yourself, \
                concisely. Use web search for current events when it is available."
                .into(),
            model: None,
            tools: vec![
                "get_current_time".into(),
                "search_conversations".into(),
                "tavily_search".into(),
            ],
            handoffs: vec!["code_assistant".into(), "data_analyst".into()],
        },
        AgentDefinition {
            name: "code_assistant".into(),
            description: "Writes, explains, reviews and debugs code.".into(),
            instructions: "You are an expert software engineer. Write clear, correct, idiomatic code, \
                explain your reasoning briefly, point out bugs and edge cases, and prefer small \
                complete examples. Search the web for library documentation when it helps."
                .into(),
            model: None,
            tools: vec!["get_current_time".into(), "tavily_search".into()],
            handoffs: vec![],
        },
        AgentDefinition {
            name: "data_analyst".into(),
            description: "Analyses data, explains statistics and suggests visualisations.".into(),
            instructions: "You are a data analyst. Help the user understand their data: compute and \
                explain statistics, propose analyses and charts, state assumptions, and say when the \
                data cannot support a conclusion."
                .into(),
            model: None,
            tools: vec![
                "get_current_time".into(),
                "search_conversations".into(),
                "tavily_search".into(),
            ],
            handoffs: vec![],
        },
    ]
}
