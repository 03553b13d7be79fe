//! Embedding the agents engine in another Rust program, without actix or a
//! database: an agent with a tool of its own over in-memory stores, one
//! streamed turn printed as it arrives.
//!
//! ```text
//! cargo run -p agents-application --example embedded_agent
//! OPENAI_API_KEY=sk-... cargo run -p agents-application --example embedded_agent -- "Roll a d20"
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to OpenAI (`OPENAI_BASE_URL` and
//! `OPENAI_MODEL` override the endpoint and model); without it, it runs
//! offline on the echo model, which calls our tool when the message reads
//! `/call roll_dice {"sides": 20}`.

use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use agents_adapters::memory::{InMemoryConversationStore, ScriptedChatModel};
use agents_adapters::openai::{OpenAiChatModel, OpenAiSettings};
use agents_application::agents::{AgentCatalog, AgentDefinition};
use agents_application::chat::{ChatEvent, ChatRequest, ChatService, ChatSettings};
use agents_application::runtime::{AgentRuntime, RuntimeSettings};
use agents_application::tools::{
    CurrentTimeTool, SearchConversationsTool, Tool, ToolContext, ToolError, ToolRegistry,
    WebSearchTool,
};
use agents_domain::clock::{Clock, SystemClock};
use agents_domain::conversation::{ConversationScope, ConversationStore};
use agents_domain::ids::{TenantId, UserId};
use agents_domain::llm::ChatModel;
use async_trait::async_trait;

/// Our own tool: rolls a die with the requested number of sides.
struct RollDice;

#[async_trait]
impl Tool for RollDice {
    fn name(&self) -> &str {
        "roll_dice"
    }
    fn description(&self) -> &str {
        "Roll one die with the given number of sides and return the result."
    }
    fn category(&self) -> &str {
        "games"
    }
    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": {"sides": {"type": "integer", "minimum": 2, "maximum": 1000}},
            "required": ["sides"],
            "additionalProperties": false
        })
    }
    async fn call(
        &self,
        _context: ToolContext,
        arguments: serde_json::Value,
    ) -> Result<String, ToolError> {
        let sides = arguments["sides"]
            .as_u64()
            .filter(|s| (2..=1000).contains(s))
            .ok_or_else(|| ToolError::InvalidArguments("sides must be 2 to 1000".into()))?;
        // Not cryptographic; a die in an example needs no more.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()))
            .unwrap_or(7);
        Ok(format!("rolled a {} on a d{sides}", nanos % sides + 1))
    }
}

/// OpenAI when a key is set, else the offline echo model.
fn model() -> Result<(Arc<dyn ChatModel>, String), Box<dyn std::error::Error>> {
    match std::env::var("OPENAI_API_KEY") {
        Ok(key) if !key.is_empty() => {
            let base = std::env::var("OPENAI_BASE_URL")
                .unwrap_or_else(|_| "https://api.openai.com/v1".into());
            let name = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
            let model = OpenAiChatModel::new(OpenAiSettings::new(base, key))?;
            Ok((Arc::new(model), name))
        }
        _ => {
            eprintln!("(OPENAI_API_KEY is not set: using the offline echo model)");
            Ok((Arc::new(ScriptedChatModel::echo()), "echo".into()))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn ConversationStore> = Arc::new(InMemoryConversationStore::new());

    // The built-in agents name the built-in tools, so they are registered too.
    let mut tools = ToolRegistry::new();
    tools
        .register(Arc::new(CurrentTimeTool::new(clock.clone())))
        .register(Arc::new(SearchConversationsTool::new(store.clone())))
        .register(Arc::new(WebSearchTool::new(None)))
        .register(Arc::new(RollDice));
    let game_master = AgentDefinition {
        name: "game_master".into(),
        description: "Runs tabletop games and rolls dice.".into(),
        instructions: "You run tabletop games. Use roll_dice for every roll; never invent one."
            .into(),
        model: None,
        tools: vec!["roll_dice".into()],
        handoffs: vec![],
    };
    let catalog = AgentCatalog::new(vec![game_master], &tools.names())?;

    let (model, model_name) = model()?;
    let runtime = AgentRuntime::new(
        model,
        Arc::new(catalog),
        Arc::new(tools),
        RuntimeSettings {
            default_model: model_name,
            ..RuntimeSettings::default()
        },
    );
    let chat = ChatService::new(Arc::new(runtime), store, clock, ChatSettings::default());

    let message = std::env::args()
        .nth(1)
        .unwrap_or_else(|| r#"/call roll_dice {"sides": 20}"#.into());
    let scope = ConversationScope {
        tenant_id: TenantId::new(),
        user_id: UserId::new(),
        include_unowned: false,
        api_key: None,
    };
    let mut run = chat
        .start(
            scope,
            ChatRequest {
                message,
                conversation_id: None,
                agent_type: Some("game_master".into()),
            },
        )
        .await?;
    println!("conversation {}", run.conversation_id);
    while let Some(event) = run.next().await {
        match event {
            ChatEvent::Delta(text) => {
                print!("{text}");
                std::io::stdout().flush()?;
            }
            ChatEvent::ToolCall { name, arguments } => println!("[tool call] {name} {arguments}"),
            ChatEvent::ToolResult {
                name,
                result_preview,
            } => println!("[tool result] {name}: {result_preview}"),
            ChatEvent::Handoff { from, to } => println!("[handoff] {from} -> {to}"),
            ChatEvent::Done(reply) => {
                println!(
                    "\n[done] agent={} model={} tokens={}",
                    reply.agent_used, reply.model_used, reply.usage.total_tokens
                );
            }
            ChatEvent::Error(error) => {
                eprintln!("\n[error] {error}");
                return Err(error.into());
            }
        }
    }
    Ok(())
}
