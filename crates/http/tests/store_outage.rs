//! What a client sees when the conversation store fails: an unavailable
//! store is 503 `service_unavailable` with `Retry-After` (plain, before a
//! stream, and as a stream's terminal event), a broken one an opaque 500.

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use agents_adapters::memory::InMemoryConversationStore;
use agents_domain::conversation::{
    AgentUsage, Appended, Conversation, ConversationError, ConversationHit, ConversationKey,
    ConversationScope, ConversationStore, ConversationSummary, ConversationUpdate, MessageRole,
    NewMessage, Page, PageRequest, StoredMessage,
};
use agents_domain::{StoreError, TenantId};
use agents_http::{HttpSettings, build_app};
use async_trait::async_trait;
use serde_json::{Value, json};

/// How the store fails from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    None,
    /// Every call: the database does not answer.
    Unavailable,
    /// Every call: a failure that is not the database being down.
    Broken,
    /// Only the answer's write (assistant appends): unavailable.
    AnswerWrite,
}

/// The in-memory store, failing on demand.
struct Switchable {
    inner: InMemoryConversationStore,
    failure: Mutex<Failure>,
}

impl Switchable {
    fn set(&self, failure: Failure) {
        if let Ok(mut current) = self.failure.lock() {
            *current = failure;
        }
    }

    fn check(&self, role: Option<MessageRole>) -> Result<(), ConversationError> {
        let failure = self.failure.lock().map(|f| *f).unwrap_or(Failure::None);
        let err = match failure {
            Failure::Unavailable => {
                StoreError::unavailable("connection refused (secret-host:5432)")
            }
            Failure::Broken => StoreError::other("column \"x\" does not exist"),
            Failure::AnswerWrite if role == Some(MessageRole::Assistant) => {
                StoreError::unavailable("connection reset")
            }
            _ => return Ok(()),
        };
        Err(ConversationError::Store(err))
    }
}

#[async_trait]
impl ConversationStore for Switchable {
    async fn append(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        message: NewMessage,
        update: ConversationUpdate,
    ) -> Result<Appended, ConversationError> {
        self.check(Some(message.role))?;
        self.inner.append(scope, key, message, update).await
    }
    async fn find(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, ConversationError> {
        self.check(None)?;
        self.inner.find(scope, key).await
    }
    async fn recent_messages(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
        limit: u64,
    ) -> Result<Vec<StoredMessage>, ConversationError> {
        self.check(None)?;
        self.inner.recent_messages(scope, key, limit).await
    }
    async fn history(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<Option<(Conversation, Vec<StoredMessage>)>, ConversationError> {
        self.check(None)?;
        self.inner.history(scope, key).await
    }
    async fn list(
        &self,
        scope: ConversationScope,
        page: PageRequest,
    ) -> Result<Page<ConversationSummary>, ConversationError> {
        self.check(None)?;
        self.inner.list(scope, page).await
    }
    async fn search(
        &self,
        scope: ConversationScope,
        query: &str,
        limit: u64,
    ) -> Result<Vec<ConversationHit>, ConversationError> {
        self.check(None)?;
        self.inner.search(scope, query, limit).await
    }
    async fn delete(
        &self,
        scope: ConversationScope,
        key: &ConversationKey,
    ) -> Result<bool, ConversationError> {
        self.check(None)?;
        self.inner.delete(scope, key).await
    }
    async fn agent_usage(
        &self,
        tenant: TenantId,
        agent: &str,
    ) -> Result<AgentUsage, ConversationError> {
        self.check(None)?;
        self.inner.agent_usage(tenant, agent).await
    }
}

async fn call<S, B>(app: &S, req: Request) -> (StatusCode, String, Option<String>)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
    (status, body, retry_after)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// An app on the switchable store and a logged-in user's bearer token.
async fn app_and_token() -> (
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
    Arc<Switchable>,
    String,
) {
    let store = Arc::new(Switchable {
        inner: InMemoryConversationStore::new(),
        failure: Mutex::new(Failure::None),
    });
    let mut stores = support::memory_stores();
    stores.conversations = store.clone();
    let app = test::init_service(build_app(
        support::state_on(&stores, None).await,
        HttpSettings::default(),
    ))
    .await;
    let register = test::TestRequest::post()
        .uri("/api/v1/auth/register")
        .set_json(
            json!({"username": "olga", "email": "olga@example.com", "password": "correct horse"}),
        )
        .to_request();
    assert_eq!(call(&app, register).await.0, StatusCode::CREATED);
    let login = test::TestRequest::post()
        .uri("/api/v1/auth/token")
        .set_json(json!({"username": "olga", "password": "correct horse"}))
        .to_request();
    let token = json(&call(&app, login).await.1)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (app, store, format!("Bearer {token}"))
}

fn chat(path: &str, token: &str) -> Request {
    test::TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", token))
        .set_json(json!({"message": "hello", "conversation_id": "outage"}))
        .to_request()
}

#[actix_web::test]
async fn an_unavailable_store_answers_503_with_retry_after_and_no_internals() {
    let (app, store, token) = app_and_token().await;
    store.set(Failure::Unavailable);
    let list = test::TestRequest::get()
        .uri("/api/v1/conversations")
        .insert_header(("Authorization", token.as_str()))
        .to_request();
    for req in [
        list,
        chat("/api/v1/chat", &token),
        chat("/api/v1/chat/stream", &token),
    ] {
        let (status, body, retry_after) = call(&app, req).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(json(&body)["error"], "service_unavailable");
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert!(!body.contains("secret-host"), "no internals: {body}");
    }
    store.set(Failure::None);
    let (status, _, _) = call(&app, chat("/api/v1/chat", &token)).await;
    assert_eq!(status, StatusCode::OK, "heals as soon as the store answers");
}

#[actix_web::test]
async fn a_broken_store_answers_an_opaque_500_without_retry_after() {
    let (app, store, token) = app_and_token().await;
    store.set(Failure::Broken);
    let (status, body, retry_after) = call(&app, chat("/api/v1/chat", &token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(&body)["error"], "internal_error");
    assert!(!body.contains("column"), "no SQL in the body: {body}");
    assert_eq!(retry_after, None);
}

#[actix_web::test]
async fn an_answer_that_cannot_be_stored_is_503_plain_and_a_terminal_event_when_streamed() {
    let (app, store, token) = app_and_token().await;
    store.set(Failure::AnswerWrite);
    let (status, body, retry_after) = call(&app, chat("/api/v1/chat", &token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(json(&body)["error"], "service_unavailable");
    assert!(retry_after.is_some());

    let (status, body, _) = call(&app, chat("/api/v1/chat/stream", &token)).await;
    assert_eq!(status, StatusCode::OK, "the stream had started");
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(json)
        .collect();
    assert!(
        events.iter().any(|e| e["type"] == "delta"),
        "the answer streamed: {body}"
    );
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(
        (
            last["type"].as_str(),
            last["error"].as_str(),
            last["is_complete"].as_bool()
        ),
        (Some("error"), Some("service_unavailable"), Some(true)),
        "{body}"
    );
    // The questions stay stored; neither answer is.
    store.set(Failure::None);
    let history = test::TestRequest::get()
        .uri("/api/v1/conversations/outage")
        .insert_header(("Authorization", token.as_str()))
        .to_request();
    let (_, body, _) = call(&app, history).await;
    let roles: Vec<_> = json(&body)["messages"]
        .as_array()
        .map(|m| m.iter().map(|m| m["role"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(roles, [json!("user"), json!("user")], "{body}");
}

#[actix_web::test]
async fn the_metrics_endpoint_describes_the_counter_the_sql_adapter_counts() {
    assert_eq!(
        agents_http::telemetry::metrics::names::DB_ERRORS_TOTAL,
        agents_adapters::sql::DB_ERRORS_TOTAL
    );
}
