//! Plan limits on chat: the billing turn guard in front of the real chat
//! use case (in-memory stores, echo model). A `hard_limit = 3` lets exactly
//! three chats through, sequentially and under 10 concurrent requests; a
//! failed model call gives its unit back; usage is recorded per turn.

use std::sync::Arc;

use agents_adapters::memory::{
    InMemoryBillingStore, InMemoryConversationStore, ScriptedChatModel, ScriptedTurn,
};
use agents_adapters::payments::LocalGateway;
use agents_application::agents::AgentCatalog;
use agents_application::billing::{
    BillingService, BillingSettings, BillingTurnGuard, PlanConfig, calendar_month,
};
use agents_application::chat::{ChatError, ChatRequest, ChatService, ChatSettings};
use agents_application::runtime::{AgentRuntime, RuntimeSettings};
use agents_application::tools::{
    CurrentTimeTool, SearchConversationsTool, ToolRegistry, WebSearchTool,
};
use agents_domain::billing::{BillingStore, PlanFeature};
use agents_domain::clock::SystemClock;
use agents_domain::conversation::{ConversationScope, ConversationStore};
use agents_domain::llm::{ChatModel, LlmError};
use agents_domain::search::MockWebSearch;
use agents_domain::{TenantId, UserId};

struct Setup {
    chat: Arc<ChatService>,
    billing: Arc<InMemoryBillingStore>,
    conversations: Arc<InMemoryConversationStore>,
}

async fn setup(model: Arc<dyn ChatModel>, plan: &str, messages_limit: Option<i64>) -> Setup {
    let billing = Arc::new(InMemoryBillingStore::new());
    let service = BillingService::new(
        billing.clone(),
        Arc::new(LocalGateway::new(Arc::new(SystemClock))),
        Arc::new(SystemClock),
        BillingSettings {
            default_plan: plan.into(),
        },
    );
    let limits = PlanConfig {
        code: plan.into(),
        stripe_price_id: None,
        features: vec![PlanFeature {
            key: "messages".into(),
            display_name: None,
            description: None,
            hard_limit: messages_limit,
            soft_limit: messages_limit.map(|l| l - 1),
            is_metered: false,
        }],
    };
    service.sync_plans(vec![limits]).await.expect("plans sync");
    let conversations = Arc::new(InMemoryConversationStore::new());
    let mut tools = ToolRegistry::new();
    tools
        .register(Arc::new(CurrentTimeTool::new(Arc::new(SystemClock))))
        .register(Arc::new(SearchConversationsTool::new(
            conversations.clone(),
        )))
        .register(Arc::new(WebSearchTool::new(Some(Arc::new(
            MockWebSearch::new(),
        )))));
    let catalog = AgentCatalog::new(vec![], &tools.names()).expect("built-in agents are valid");
    let runtime = AgentRuntime::new(
        model,
        Arc::new(catalog),
        Arc::new(tools),
        RuntimeSettings::default(),
    );
    let chat = ChatService::new(
        Arc::new(runtime),
        conversations.clone(),
        Arc::new(SystemClock),
        ChatSettings::default(),
    )
    .with_turn_guard(Arc::new(BillingTurnGuard::new(Arc::new(service))));
    Setup {
        chat: Arc::new(chat),
        billing,
        conversations,
    }
}

fn scope(tenant: TenantId) -> ConversationScope {
    ConversationScope {
        tenant_id: tenant,
        user_id: UserId::new(),
        include_unowned: false,
        api_key: None,
    }
}

fn ask(message: &str) -> ChatRequest {
    ChatRequest {
        message: message.into(),
        conversation_id: None,
        agent_type: None,
    }
}

async fn totals(store: &InMemoryBillingStore, tenant: TenantId) -> Vec<(String, i64)> {
    let period = calendar_month(time::OffsetDateTime::now_utc());
    store
        .usage_totals(tenant, period)
        .await
        .expect("totals")
        .into_iter()
        .map(|t| (t.feature_key, t.quantity))
        .collect()
}

#[tokio::test]
async fn a_hard_limit_of_3_lets_exactly_3_chats_through_then_429_before_storing() {
    let s = setup(Arc::new(ScriptedChatModel::echo()), "starter", Some(3)).await;
    let tenant = TenantId::new();
    for i in 0..3 {
        s.chat
            .chat(scope(tenant), ask(&format!("hello {i}")))
            .await
            .expect("within the limit");
    }
    let err = s
        .chat
        .chat(scope(tenant), ask("one too many"))
        .await
        .expect_err("refused");
    let ChatError::QuotaExceeded { retry_after, .. } = err else {
        panic!("expected quota_exceeded, got {err:?}");
    };
    assert!(retry_after.is_some_and(|d| d.as_secs() >= 1));
    let listed = s
        .conversations
        .search(scope(tenant), "too many", 10)
        .await
        .expect("search");
    assert!(listed.is_empty(), "a refused chat stores nothing");
    let usage = totals(&s.billing, tenant).await;
    assert_eq!(usage[0], ("messages".to_owned(), 3));
    assert_eq!(usage[1].0, "tokens");
    assert!(usage[1].1 > 0, "tokens are recorded");
    // Another tenant has its own counter.
    s.chat
        .chat(scope(TenantId::new()), ask("hi"))
        .await
        .expect("other tenant");
}

#[tokio::test]
async fn ten_concurrent_chats_against_a_limit_of_3_let_exactly_3_through() {
    let s = setup(Arc::new(ScriptedChatModel::echo()), "starter", Some(3)).await;
    let tenant = TenantId::new();
    let runs: Vec<_> = (0..10)
        .map(|i| {
            let chat = s.chat.clone();
            tokio::spawn(async move { chat.chat(scope(tenant), ask(&format!("race {i}"))).await })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for run in runs {
        match run.await.expect("joined") {
            Ok(_) => ok += 1,
            Err(ChatError::QuotaExceeded { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (3, 7));
}

#[tokio::test]
async fn a_failed_model_call_gives_the_unit_back() {
    let model = Arc::new(ScriptedChatModel::new([
        ScriptedTurn::fail(LlmError::Timeout),
        ScriptedTurn::text("first"),
        ScriptedTurn::text("second"),
    ]));
    let s = setup(model, "starter", Some(2)).await;
    let tenant = TenantId::new();
    assert!(matches!(
        s.chat.chat(scope(tenant), ask("a")).await,
        Err(ChatError::LlmTimeout)
    ));
    s.chat
        .chat(scope(tenant), ask("b"))
        .await
        .expect("the failed turn did not count");
    s.chat
        .chat(scope(tenant), ask("c"))
        .await
        .expect("still within the limit");
    assert_eq!(
        totals(&s.billing, tenant).await[0],
        ("messages".to_owned(), 2)
    );
}

#[tokio::test]
async fn the_web_search_toggle_decides_whether_tavily_is_offered() {
    let starter = setup(Arc::new(ScriptedChatModel::echo()), "starter", None).await;
    let reply = starter
        .chat
        .chat(scope(TenantId::new()), ask("hi"))
        .await
        .expect("answered");
    assert!(
        !reply.tools_available.iter().any(|t| t == "tavily_search"),
        "{:?}",
        reply.tools_available
    );
    let pro = setup(Arc::new(ScriptedChatModel::echo()), "pro", None).await;
    let reply = pro
        .chat
        .chat(scope(TenantId::new()), ask("hi"))
        .await
        .expect("answered");
    assert!(
        reply.tools_available.iter().any(|t| t == "tavily_search"),
        "{:?}",
        reply.tools_available
    );
}
