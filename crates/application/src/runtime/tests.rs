//! The run loop against a scripted model: answers, tools, handoffs, limits
//! and failures.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use agents_domain::conversation::ConversationScope;
use agents_domain::llm::{ChatMessage, LlmError, ModelEvent, TokenUsage, ToolCall};
use agents_domain::{TenantId, UserId};

use super::*;
use crate::agents::{AgentCatalog, AgentDefinition};
use crate::testing::{
    EchoTool, FailingTool, FakeModel, RendezvousTool, Reply, USAGE, calls, model, text,
};
use crate::tools::{ToolContext, ToolRegistry, WebSearchTool};

fn agent(name: &str, tools: &[&str], handoffs: &[&str]) -> AgentDefinition {
    AgentDefinition {
        name: name.into(),
        description: format!("{name} agent"),
        instructions: format!("You are {name}."),
        model: (name == "helper").then(|| "helper-model".to_owned()),
        tools: tools.iter().map(|t| t.to_string()).collect(),
        handoffs: handoffs.iter().map(|t| t.to_string()).collect(),
    }
}

pub(crate) fn test_catalog() -> AgentCatalog {
    let known = [
        "get_current_time",
        "search_conversations",
        "tavily_search",
        "echo",
        "broken",
        "left",
        "right",
    ];
    let agents = vec![
        agent(
            "tester",
            &["echo", "broken", "left", "right", "tavily_search"],
            &["helper"],
        ),
        agent("helper", &["echo"], &[]),
    ];
    AgentCatalog::new(agents, &known).expect("test agents are valid")
}

pub(crate) fn test_registry() -> ToolRegistry {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut registry = ToolRegistry::new();
    registry
        .register(Arc::new(EchoTool("echo")))
        .register(Arc::new(FailingTool))
        .register(Arc::new(WebSearchTool::new(None)))
        .register(Arc::new(RendezvousTool {
            name: "left",
            barrier: barrier.clone(),
        }))
        .register(Arc::new(RendezvousTool {
            name: "right",
            barrier,
        }));
    registry
}

pub(super) fn runtime(model: Arc<FakeModel>, max_turns: u32) -> AgentRuntime {
    let settings = RuntimeSettings {
        default_model: "test-model".into(),
        max_turns,
        ..RuntimeSettings::default()
    };
    AgentRuntime::new(
        model,
        Arc::new(test_catalog()),
        Arc::new(test_registry()),
        settings,
    )
}

pub(super) fn request(disabled: &[&str]) -> RunRequest {
    RunRequest {
        agent: "tester".into(),
        history: vec![],
        message: "hello".into(),
        context: ToolContext {
            scope: ConversationScope {
                tenant_id: TenantId::new(),
                user_id: UserId::new(),
                api_key: None,
                include_unowned: false,
            },
        },
        disabled_tools: disabled
            .iter()
            .map(|t| t.to_string())
            .collect::<BTreeSet<_>>(),
        token_budget: None,
    }
}

pub(super) async fn run(
    runtime: &AgentRuntime,
    request: RunRequest,
) -> (Result<RunSummary, RunFailure>, Vec<RunEvent>) {
    let events = Mutex::new(Vec::new());
    let emit = |event| events.lock().expect("not poisoned").push(event);
    let result = runtime.run(request, &emit).await;
    (result, events.into_inner().expect("not poisoned"))
}

fn tool_names(model: &FakeModel, call: usize) -> Vec<String> {
    model.requests()[call]
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect()
}

fn times(usage: TokenUsage, n: u32) -> TokenUsage {
    TokenUsage {
        prompt_tokens: usage.prompt_tokens * n,
        completion_tokens: usage.completion_tokens * n,
        total_tokens: usage.total_tokens * n,
    }
}

#[tokio::test]
async fn a_plain_answer_streams_its_text_and_offers_only_usable_tools() {
    let model = model(vec![text("Hello")]);
    let (result, events) = run(&runtime(model.clone(), 10), request(&[])).await;
    let summary = result.expect("answered");
    assert_eq!(summary.text, "Hello");
    assert_eq!(
        events,
        [RunEvent::Delta("He".into()), RunEvent::Delta("llo".into())]
    );
    assert_eq!(
        (summary.agent.as_str(), summary.model.as_str()),
        ("tester", "test-model")
    );
    assert_eq!((summary.usage, summary.model_calls), (USAGE, 1));
    // tavily_search is unavailable without a provider, so it is not offered.
    assert_eq!(
        tool_names(&model, 0),
        ["echo", "broken", "left", "right", "transfer_to_helper"]
    );
    assert_eq!(summary.tools_available, ["echo", "broken", "left", "right"]);
    let sent = &model.requests()[0].messages;
    assert_eq!(
        sent[0],
        ChatMessage::System {
            content: "You are tester.".into()
        }
    );
    assert_eq!(
        sent[1],
        ChatMessage::User {
            content: "hello".into()
        }
    );
}

#[tokio::test]
async fn one_tool_call_is_run_and_its_result_fed_back() {
    let model = model(vec![calls(&[("echo", r#"{"text":"hi"}"#)]), text("done")]);
    let (result, events) = run(&runtime(model.clone(), 10), request(&[])).await;
    let summary = result.expect("answered");
    assert_eq!(
        events[0],
        RunEvent::ToolCall {
            name: "echo".into(),
            arguments: serde_json::json!({"text": "hi"})
        }
    );
    assert_eq!(
        events[1],
        RunEvent::ToolResult {
            name: "echo".into(),
            result_preview: "echo: hi".into()
        }
    );
    assert_eq!(summary.tool_calls.len(), 1);
    assert_eq!(summary.tool_calls[0].result_preview, "echo: hi");
    assert_eq!(summary.usage, times(USAGE, 2));
    let second = &model.requests()[1].messages;
    assert!(
        matches!(&second[2], ChatMessage::Assistant { tool_calls, .. } if tool_calls[0].name == "echo")
    );
    assert_eq!(
        second[3],
        ChatMessage::Tool {
            tool_call_id: "call_0".into(),
            content: "echo: hi".into()
        }
    );
}

#[tokio::test]
async fn parallel_tool_calls_run_concurrently() {
    let model = model(vec![
        calls(&[("left", "{}"), ("right", "{}")]),
        text("both"),
    ]);
    let (result, _) = run(&runtime(model.clone(), 10), request(&[])).await;
    let summary = result.expect("answered");
    let previews: Vec<_> = summary
        .tool_calls
        .iter()
        .map(|c| c.result_preview.as_str())
        .collect();
    assert_eq!(previews, ["left met its partner", "right met its partner"]);
    let second = &model.requests()[1].messages;
    assert_eq!(
        second[3],
        ChatMessage::Tool {
            tool_call_id: "call_0".into(),
            content: "left met its partner".into()
        }
    );
    assert_eq!(
        second[4],
        ChatMessage::Tool {
            tool_call_id: "call_1".into(),
            content: "right met its partner".into()
        }
    );
}

#[tokio::test]
async fn a_handoff_switches_the_agent_and_is_not_a_tool_call() {
    let handoff = Reply::Stream(vec![
        Ok(ModelEvent::TextDelta("One moment.".into())),
        Ok(ModelEvent::ToolCall(ToolCall {
            id: "h".into(),
            name: "transfer_to_helper".into(),
            arguments: String::new(),
        })),
    ]);
    let model = model(vec![handoff, text("Helper here")]);
    let (result, events) = run(&runtime(model.clone(), 10), request(&[])).await;
    let summary = result.expect("answered");
    assert_eq!(summary.agent, "helper");
    assert_eq!(summary.model, "helper-model");
    assert_eq!(
        summary.handoffs,
        [HandoffRecord {
            from: "tester".into(),
            to: "helper".into()
        }]
    );
    assert_eq!(summary.handoffs[0].to_string(), "tester->helper");
    assert!(summary.tool_calls.is_empty());
    assert!(events.contains(&RunEvent::Handoff {
        from: "tester".into(),
        to: "helper".into()
    }));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RunEvent::ToolCall { .. }))
    );
    assert_eq!(summary.text, "One moment.\n\nHelper here");
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Delta(d) => Some(d.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, summary.text);
    let second = &model.requests()[1];
    assert_eq!(
        second.messages[0],
        ChatMessage::System {
            content: "You are helper.".into()
        }
    );
    assert_eq!(second.model, "helper-model");
    assert_eq!(tool_names(&model, 1), ["echo"]);
}

#[tokio::test]
async fn the_run_fails_after_max_turns_model_calls() {
    let model = model(
        (0..5)
            .map(|_| calls(&[("echo", r#"{"text":"again"}"#)]))
            .collect(),
    );
    let (result, _) = run(&runtime(model.clone(), 3), request(&[])).await;
    let failure = result.expect_err("never answered");
    assert_eq!(failure.error, RunError::MaxTurnsExceeded { max_turns: 3 });
    assert_eq!(failure.usage, times(USAGE, 3));
    assert_eq!(model.requests().len(), 3);
}

#[tokio::test]
async fn a_model_error_mid_stream_fails_the_run_after_the_text_so_far() {
    let provider = LlmError::Provider {
        status: Some(500),
        message: "boom".into(),
        retry_after: None,
    };
    let model = model(vec![Reply::Stream(vec![
        Ok(ModelEvent::TextDelta("par".into())),
        Err(provider.clone()),
    ])]);
    let (result, events) = run(&runtime(model, 10), request(&[])).await;
    assert_eq!(result.expect_err("failed").error, RunError::Llm(provider));
    assert_eq!(events, [RunEvent::Delta("par".into())]);
}

#[tokio::test]
async fn an_answer_with_neither_text_nor_a_tool_call_fails_the_run() {
    for (what, reply) in [
        (
            "no content at all",
            vec![
                Ok(ModelEvent::Usage(USAGE)),
                Ok(ModelEvent::Finished(agents_domain::llm::FinishReason::Stop)),
            ],
        ),
        (
            "empty and blank deltas",
            vec![
                Ok(ModelEvent::TextDelta(String::new())),
                Ok(ModelEvent::TextDelta(" \n".into())),
                Ok(ModelEvent::Finished(agents_domain::llm::FinishReason::Stop)),
            ],
        ),
    ] {
        let model = model(vec![Reply::Stream(reply)]);
        let (result, _) = run(&runtime(model, 10), request(&[])).await;
        let failure = result.expect_err(what);
        assert!(
            matches!(&failure.error, RunError::Llm(LlmError::Provider { message, .. }) if message.contains("neither text nor a tool call")),
            "{what}: {:?}",
            failure.error
        );
    }
}

#[tokio::test]
async fn a_model_refusing_the_call_fails_the_run() {
    let model = model(vec![Reply::Fail(LlmError::Timeout)]);
    let (result, events) = run(&runtime(model, 10), request(&[])).await;
    assert_eq!(
        result.expect_err("failed").error,
        RunError::Llm(LlmError::Timeout)
    );
    assert!(events.is_empty());
}

#[tokio::test]
async fn a_failing_tool_becomes_a_result_the_model_reads() {
    let model = model(vec![calls(&[("broken", "{}")]), text("sorry")]);
    let (result, events) = run(&runtime(model.clone(), 10), request(&[])).await;
    assert_eq!(result.expect("answered").text, "sorry");
    assert!(events.contains(&RunEvent::ToolResult {
        name: "broken".into(),
        result_preview: "search failed: provider down".into()
    }));
    let fed = &model.requests()[1].messages[3];
    assert_eq!(
        fed,
        &ChatMessage::Tool {
            tool_call_id: "call_0".into(),
            content: "search failed: provider down".into()
        }
    );
}

#[tokio::test]
async fn bad_arguments_become_results_the_model_reads() {
    let model = model(vec![
        calls(&[("echo", r#"{"text":5}"#), ("echo", "{oops")]),
        text("fixed"),
    ]);
    let (result, events) = run(&runtime(model.clone(), 10), request(&[])).await;
    let summary = result.expect("answered");
    assert_eq!(
        summary.tool_calls[0].result_preview,
        "invalid arguments: 'text' must be of type string"
    );
    assert!(
        summary.tool_calls[1]
            .result_preview
            .starts_with("invalid arguments: not valid JSON")
    );
    assert_eq!(summary.tool_calls[1].arguments, serde_json::json!("{oops"));
    assert!(events.contains(&RunEvent::ToolCall {
        name: "echo".into(),
        arguments: serde_json::json!("{oops")
    }));
}

#[tokio::test]
async fn disabled_tools_are_not_offered_and_cannot_be_called() {
    let model = model(vec![calls(&[("echo", r#"{"text":"x"}"#)]), text("ok")]);
    let (result, _) = run(&runtime(model.clone(), 10), request(&["echo"])).await;
    assert!(!tool_names(&model, 0).contains(&"echo".to_owned()));
    let preview = &result.expect("answered").tool_calls[0].result_preview;
    assert_eq!(
        preview,
        "unknown tool 'echo': available tools are broken, left, right"
    );
}

#[tokio::test]
async fn history_comes_between_instructions_and_the_new_message() {
    let model = model(vec![text("again")]);
    let mut req = request(&[]);
    req.history = vec![
        ChatMessage::User {
            content: "earlier".into(),
        },
        ChatMessage::Assistant {
            content: "reply".into(),
            tool_calls: vec![],
        },
    ];
    let (result, _) = run(&runtime(model.clone(), 10), req).await;
    assert!(result.is_ok());
    let sent = &model.requests()[0].messages;
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[1],
        ChatMessage::User {
            content: "earlier".into()
        }
    );
    assert_eq!(
        sent[3],
        ChatMessage::User {
            content: "hello".into()
        }
    );
}
