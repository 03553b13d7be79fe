//! Embedding the agents engine in another Rust program, without serving
//! HTTP or a database: the composition root (`agents_server::App`) builds
//! the services from settings, with an agent and a tool of our own over
//! in-memory stores; one streamed turn printed as it arrives.
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

use agents_adapters::memory::ScriptedChatModel;
use agents_application::chat::{ChatEvent, ChatRequest};
use agents_application::tools::{Tool, ToolContext, ToolError};
use agents_domain::conversation::ConversationScope;
use agents_domain::ids::{TenantId, UserId};
use agents_server::App;
use agents_server::config::{AgentSettings, Secret, Settings};
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

/// The settings of this embedding: OpenAI when a key is set (else the
/// offline echo model), in-memory stores, and our game master agent.
fn settings() -> Settings {
    let mut settings = Settings {
        use_in_memory_repo: true,
        // Signs access tokens, which this embedding never issues.
        secret_key: Some(Secret::new("embedded-agent-example-key-0123456789")),
        ..Settings::default()
    };
    if let Ok(key) = std::env::var("OPENAI_API_KEY").map(|k| k.trim().to_owned())
        && !key.is_empty()
    {
        settings.openai_api_key = Some(Secret::new(key));
        if let Ok(base) = std::env::var("OPENAI_BASE_URL") {
            settings.openai_base_url = base;
        }
        if let Ok(model) = std::env::var("OPENAI_MODEL") {
            settings.openai_model = model;
        }
    }
    settings.agents.insert(
        "game_master".into(),
        AgentSettings {
            description: "Runs tabletop games and rolls dice.".into(),
            instructions: "You run tabletop games. Use roll_dice for every roll; never invent one."
                .into(),
            model: None,
            tools: vec!["roll_dice".into()],
            handoffs: vec![],
        },
    );
    settings
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut settings = settings();
    let offline = settings.openai_api_key.is_none();
    if offline {
        eprintln!("(OPENAI_API_KEY is not set: using the offline echo model)");
        settings.openai_model = "echo".into();
    }
    // The composition root the server uses, with our tool registered.
    let mut builder = App::builder(&settings).tool(Arc::new(RollDice));
    if offline {
        builder = builder.chat_model(Some(Arc::new(ScriptedChatModel::echo())));
    }
    let chat = builder.build().await?.state.chat;

    let message = std::env::args()
        .nth(1)
        .unwrap_or_else(|| r#"/call roll_dice {"sides": 20}"#.into());
    let scope = ConversationScope {
        tenant_id: TenantId::new(),
        user_id: UserId::new(),
        include_unowned: false,
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
