//! Plan limits on chat: the billing turn guard in front of the real chat
//! use case, as the composition root wires it (in-memory stores, echo model). A `hard_limit = 3` lets exactly
//! three chats through, sequentially and under 10 concurrent requests; a
//! failed model call gives its unit back; usage is recorded per turn.

use std::sync::Arc;

use agents_adapters::memory::{
    InMemoryBillingStore, InMemoryConversationStore, ScriptedChatModel, ScriptedTurn,
};
use agents_application::billing::{PlanConfig, calendar_month};
use agents_application::chat::{ChatError, ChatRequest, ChatService};
use agents_domain::billing::{BillingStore, PlanFeature};
use agents_domain::conversation::{ConversationScope, ConversationStore};
use agents_domain::llm::{ChatModel, LlmError};
use agents_domain::search::MockWebSearch;
use agents_domain::{TenantId, UserId};
use agents_server::config::{Secret, Settings};
use agents_server::{App, Stores};

struct Setup {
    chat: Arc<ChatService>,
    billing: Arc<InMemoryBillingStore>,
    conversations: Arc<InMemoryConversationStore>,
}

async fn setup(model: Arc<dyn ChatModel>, plan: &str, messages_limit: Option<i64>) -> Setup {
    let billing = Arc::new(InMemoryBillingStore::new());
    let conversations = Arc::new(InMemoryConversationStore::new());
    let stores = Stores {
        conversations: conversations.clone(),
        billing: billing.clone(),
        ..Stores::in_memory()
    };
    let settings = Settings {
        enable_billing: true,
        default_plan: plan.into(),
        secret_key: Some(Secret::new("billing-quota-tests-secret-0123456789")),
        ..Settings::default()
    };
    let app = App::builder(&settings)
        .stores(stores)
        .chat_model(Some(model))
        .web_search(Arc::new(MockWebSearch::new()))
        .build()
        .await
        .expect("the app builds");
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
    let service = app.state.billing.clone().expect("billing is on");
    service.sync_plans(vec![limits]).await.expect("plans sync");
    Setup {
        chat: app.state.chat,
        billing,
        conversations,
    }
}

fn scope(tenant: TenantId) -> ConversationScope {
    ConversationScope {
        tenant_id: tenant,
        user_id: UserId::new(),
        include_unowned: false,
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
