//! The answer's write when the database fails at the end of a turn:
//! retried briefly, stored once, or given up with 503, the turn guard told
//! and the lost turn named in the log.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agents_domain::clock::SystemClock;
use agents_domain::conversation::{ConversationScope, MessageRole};
use agents_domain::{TenantId, UserId};

use super::guard::MockTurnGuard;
use super::*;
use crate::runtime::tests::{test_catalog, test_registry};
use crate::runtime::{AgentRuntime, RuntimeSettings};
use crate::testing::{AppendFault, MemoryStore, USAGE, model, text};

struct Fixture {
    store: Arc<MemoryStore>,
    service: ChatService,
    scope: ConversationScope,
}

/// A chat service whose turn guard expects one `after_turn` that
/// `succeeded` (or not) with the model's usage.
fn fixture(faults: &[AppendFault], window: Duration, succeeded: bool) -> Fixture {
    let store = Arc::new(MemoryStore::default());
    store
        .assistant_faults
        .lock()
        .map(|mut f| f.extend(faults))
        .ok();
    let runtime = AgentRuntime::new(
        model(vec![text("The answer")]),
        Arc::new(test_catalog()),
        Arc::new(test_registry()),
        RuntimeSettings::default(),
    );
    let mut guard = MockTurnGuard::new();
    guard
        .expect_admit()
        .returning(|_| Ok(super::Admission::default()));
    guard
        .expect_before_turn()
        .returning(|_, _| Ok(TurnPermit::default()));
    guard
        .expect_after_turn()
        .withf(move |_, _, outcome| outcome.succeeded == succeeded && outcome.usage == USAGE)
        .times(1)
        .return_const(());
    let settings = ChatSettings {
        answer_write_window: window,
        ..ChatSettings::default()
    };
    let service = ChatService::new(
        Arc::new(runtime),
        store.clone(),
        Arc::new(SystemClock),
        settings,
    )
    .with_turn_guard(Arc::new(guard));
    let scope = ConversationScope {
        tenant_id: TenantId::new(),
        user_id: UserId::new(),
        api_key: None,
        include_unowned: false,
    };
    Fixture {
        store,
        service,
        scope,
    }
}

fn ask() -> ChatRequest {
    ChatRequest {
        message: "hello".into(),
        ..ChatRequest::default()
    }
}

/// Runs a turn to its end, returning its conversation and outcome.
async fn turn(f: &Fixture) -> (ConversationKey, Result<ChatReply, ChatError>) {
    let run = f.service.start(f.scope, ask()).await.expect("accepted");
    let key = run.conversation_id.clone();
    (key, run.collect().await)
}

fn roles(f: &Fixture, key: &ConversationKey) -> Vec<MessageRole> {
    f.store
        .messages(f.scope.tenant_id, key)
        .iter()
        .map(|m| m.role)
        .collect()
}

#[tokio::test]
async fn an_answer_whose_first_write_fails_is_written_again_and_the_turn_succeeds() {
    let f = fixture(&[AppendFault::Refuse], Duration::from_secs(1), true);
    let (key, reply) = turn(&f).await;
    assert_eq!(reply.expect("answered").response, "The answer");
    assert_eq!(f.store.assistant_appends.load(Ordering::SeqCst), 2);
    assert_eq!(roles(&f, &key), [MessageRole::User, MessageRole::Assistant]);
}

#[tokio::test]
async fn a_write_whose_commit_answer_was_lost_is_retried_and_stored_once() {
    let f = fixture(&[AppendFault::StoreThenFail], Duration::from_secs(1), true);
    let (key, reply) = turn(&f).await;
    reply.expect("answered");
    assert_eq!(f.store.assistant_appends.load(Ordering::SeqCst), 2);
    assert_eq!(
        roles(&f, &key),
        [MessageRole::User, MessageRole::Assistant],
        "stored exactly once"
    );
}

/// Captures what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn an_answer_that_cannot_be_stored_is_503_gives_the_unit_back_and_names_the_turn_in_the_log()
{
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runtime has one thread: the spawned turn logs through it.
    let _default = tracing::subscriber::set_default(subscriber);
    let faults = [AppendFault::Refuse; 5];
    let f = fixture(&faults, Duration::from_millis(600), false);
    let (key, reply) = turn(&f).await;
    assert!(
        matches!(reply, Err(ChatError::ServiceUnavailable(_))),
        "{reply:?}"
    );
    assert_eq!(
        f.store.assistant_appends.load(Ordering::SeqCst),
        ChatSettings::default().answer_write_attempts
    );
    assert_eq!(roles(&f, &key), [MessageRole::User], "the question stays");
    let lost = log
        .text()
        .lines()
        .find(|l| l.contains("could not be stored"))
        .map(str::to_owned)
        .expect("the lost answer is logged");
    assert!(lost.contains(&format!("conversation={key}")), "{lost}");
    let run_id = lost
        .split("run_id=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    assert!(
        run_id.len() == 36 && uuid::Uuid::try_parse(run_id).is_ok(),
        "{lost}"
    );
    assert!(
        !log.text().contains("The answer"),
        "the answer text is not logged"
    );
}

#[tokio::test]
async fn retries_that_hang_are_cut_at_the_end_of_the_window() {
    let faults = [AppendFault::Refuse, AppendFault::Hang, AppendFault::Hang];
    let f = fixture(&faults, Duration::from_millis(300), false);
    let started = Instant::now();
    let (key, reply) = turn(&f).await;
    assert!(matches!(reply, Err(ChatError::ServiceUnavailable(_))));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up after {:?}",
        started.elapsed()
    );
    assert_eq!(roles(&f, &key), [MessageRole::User]);
}
