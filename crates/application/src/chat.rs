//! The chat use case: validate a message, store it, run the agent in the
//! background and report every step as a [`ChatEvent`]. The streaming
//! endpoint forwards the events; the plain endpoint collects them.

mod admission;
mod error;
mod guard;
mod keyed;
mod log;
mod prepare;
mod turn;

#[cfg(test)]
mod answer_write_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use agents_domain::TenantId;
use agents_domain::clock::Clock;
use agents_domain::conversation::{
    ConversationKey, ConversationScope, ConversationStore, ToolCallRecord,
};
use agents_domain::limiter::RateLimiter;
use agents_domain::llm::TokenUsage;
use tokio::sync::mpsc;

use crate::runs::RunTracking;
use crate::runtime::{AgentRuntime, HandoffRecord, RunEvent};
use agents_domain::RunId;
use agents_domain::run::NewRun;

pub use admission::ChatRateLimits;
pub use error::ChatError;
#[cfg(any(test, feature = "mocks"))]
pub use guard::MockTurnGuard;
pub use guard::{Admission, NoTurnGuard, TurnGuard, TurnOutcome, TurnPermit, TurnRefused};

use admission::ChatRate;
pub use log::LoggedEvent;

/// Tunables of the chat use case.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSettings {
    /// Earlier user/assistant messages sent to the model
    /// (`CHAT_HISTORY_MESSAGES`).
    pub history_messages: u64,
    /// Longest message in characters after trimming.
    pub max_message_chars: usize,
    /// How many times in all the answer's write is tried when the database
    /// does not answer (the model's work is done; losing it costs a turn).
    pub answer_write_attempts: u32,
    /// Retries of the answer's write stop this long after its first
    /// failure; the client then gets 503 `service_unavailable`.
    pub answer_write_window: Duration,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            history_messages: 20,
            max_message_chars: 32_000,
            answer_write_attempts: 3,
            answer_write_window: Duration::from_secs(1),
        }
    }
}

/// A chat request as the client sent it; validated by [`ChatService::start`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The user's message (1..=32,000 characters after trimming).
    pub message: String,
    /// The conversation to continue; `None` starts a new one.
    pub conversation_id: Option<String>,
    /// The agent to ask; unknown names fall back to `triage`, `None`
    /// resumes the conversation's last agent.
    pub agent_type: Option<String>,
}

/// The full answer of a chat turn (the body of `POST /api/v1/chat`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    /// The answer text.
    pub response: String,
    /// The conversation, normalised as stored.
    pub conversation_id: ConversationKey,
    /// The agent that answered.
    pub agent_used: String,
    /// Whether any handoff happened.
    pub handoff_occurred: bool,
    /// The model of the answering agent.
    pub model_used: String,
    /// Tools offered to the answering agent.
    pub tools_available: Vec<String>,
    /// Tool calls of the turn.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Handoffs of the turn (`Display` gives `from->to`).
    pub handoffs: Vec<HandoffRecord>,
    /// Tokens over every model call of the turn.
    pub usage: TokenUsage,
}

/// One event of a chat turn. Exactly one `Done` or `Error` ends every run.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// Answer text as it arrives.
    Delta(String),
    /// A tool is about to run.
    ToolCall {
        /// Tool name.
        name: String,
        /// Its arguments.
        arguments: serde_json::Value,
    },
    /// A tool finished.
    ToolResult {
        /// Tool name.
        name: String,
        /// Start of its result.
        result_preview: String,
    },
    /// Another agent took over (from now on `agent_used` is `to`).
    Handoff {
        /// Previous agent.
        from: String,
        /// New agent.
        to: String,
    },
    /// The answer is complete and stored.
    Done(ChatReply),
    /// The run failed; the user's message stays stored.
    Error(ChatError),
}

impl From<RunEvent> for ChatEvent {
    fn from(event: RunEvent) -> Self {
        match event {
            RunEvent::Delta(text) => ChatEvent::Delta(text),
            RunEvent::ToolCall { name, arguments } => ChatEvent::ToolCall { name, arguments },
            RunEvent::ToolResult {
                name,
                result_preview,
            } => ChatEvent::ToolResult {
                name,
                result_preview,
            },
            RunEvent::Handoff { from, to } => ChatEvent::Handoff { from, to },
        }
    }
}

/// An accepted chat turn, running in the background. Dropping it does not
/// stop the run: the answer is stored either way.
#[derive(Debug)]
pub struct ChatRun {
    /// The run (its events can be followed and it can be cancelled by id).
    pub run_id: RunId,
    /// The conversation, normalised (a new id when none was given).
    pub conversation_id: ConversationKey,
    /// The agent the run starts with.
    pub agent: String,
    /// The model the starting agent runs on (a metrics label).
    pub model: String,
    /// The run's events with their ids; ends after `Done` or `Error`.
    pub events: mpsc::UnboundedReceiver<LoggedEvent>,
}

impl ChatRun {
    /// The next event, `None` after the terminal one.
    pub async fn next(&mut self) -> Option<ChatEvent> {
        self.events.recv().await.map(|logged| logged.event)
    }

    /// The next event with its id and agent, `None` after the terminal one.
    pub async fn next_logged(&mut self) -> Option<LoggedEvent> {
        self.events.recv().await
    }

    /// Waits for the end of the run: the reply, or why there is none.
    pub async fn collect(mut self) -> Result<ChatReply, ChatError> {
        while let Some(event) = self.next().await {
            match event {
                ChatEvent::Done(reply) => return Ok(reply),
                ChatEvent::Error(error) => return Err(error),
                _ => {}
            }
        }
        Err(ChatError::Internal(crate::cause::Cause::message(
            "the run ended without a result",
        )))
    }
}

/// Chat turns: shared by the plain and the streaming endpoint.
#[derive(Clone)]
pub struct ChatService {
    runtime: Arc<AgentRuntime>,
    store: Arc<dyn ConversationStore>,
    clock: Arc<dyn Clock>,
    guard: Arc<dyn TurnGuard>,
    rate: Option<ChatRate>,
    key_budget: Option<crate::api_keys::KeyBudget>,
    settings: ChatSettings,
    tracking: Option<RunTracking>,
}

impl ChatService {
    /// A chat service without a turn guard (no quota, nothing counted).
    pub fn new(
        runtime: Arc<AgentRuntime>,
        store: Arc<dyn ConversationStore>,
        clock: Arc<dyn Clock>,
        settings: ChatSettings,
    ) -> Self {
        Self {
            runtime,
            store,
            clock,
            guard: Arc::new(NoTurnGuard),
            rate: None,
            key_budget: None,
            settings,
            tracking: None,
        }
    }

    /// The same service with every turn kept as a run: a row, an event log
    /// that can be replayed and followed, cancel and shutdown handling.
    pub fn with_runs(mut self, tracking: RunTracking) -> Self {
        self.tracking = Some(tracking);
        self
    }

    /// The same service with `guard` checking and counting each turn.
    pub fn with_turn_guard(mut self, guard: Arc<dyn TurnGuard>) -> Self {
        self.guard = guard;
        self
    }

    /// The same service counting each tenant's chat requests in `limiter`
    /// against `limits`.
    pub fn with_rate_limit(
        mut self,
        limiter: Arc<dyn RateLimiter>,
        limits: ChatRateLimits,
    ) -> Self {
        self.rate = Some(ChatRate::new(limiter, limits));
        self
    }

    /// The same service with API keys' monthly budgets checked and counted
    /// on the turns keys start (on top of the plan's guard).
    pub fn with_key_budget(mut self, budget: crate::api_keys::KeyBudget) -> Self {
        self.key_budget = Some(budget);
        self
    }

    /// Admits the turn in `scope`'s tenant: its chat rate (on the plan the
    /// turn guard reads, once), the request's validity, a configured model,
    /// the plan's quota. Then loads the history, stores the user's message
    /// and starts the run on the tokio runtime. Errors here mean nothing
    /// was stored and nothing counted. The run continues, and its answer is
    /// stored, even if the returned [`ChatRun`] is dropped.
    pub async fn start(
        &self,
        scope: ConversationScope,
        request: ChatRequest,
    ) -> Result<ChatRun, ChatError> {
        let tenant = scope.tenant_id;
        // The plan is read before the rate check only when the rate depends
        // on it; either way it is read once.
        let admitted = match &self.rate {
            Some(rate) if rate.depends_on_plan() => Some(self.guard.admit(tenant).await?),
            _ => None,
        };
        self.check_rate(tenant, admitted.as_ref()).await?;
        let prepared = prepare::validate(&request, &self.settings)?;
        if !self.runtime.has_model() {
            return Err(ChatError::LlmUnavailable(
                "no language model provider is configured".into(),
            ));
        }
        let admission = match admitted {
            Some(admission) => admission,
            None => self.guard.admit(tenant).await?,
        };
        let permit = self.guard.before_turn(tenant, admission).await?;
        let (permit, key_turn) = self.reserve_for_key(&scope, permit).await?;
        let accepted = prepare::accept(self, scope, prepared, &permit).await;
        let turn = match accepted {
            Ok(turn) => turn,
            Err(error) => {
                let outcome = TurnOutcome {
                    usage: TokenUsage::default(),
                    succeeded: false,
                };
                self.finish_turn(&scope, permit, key_turn, outcome).await;
                return Err(error);
            }
        };
        let control = match self.open_run(&turn).await {
            Ok(control) => control,
            Err(error) => {
                let outcome = TurnOutcome {
                    usage: TokenUsage::default(),
                    succeeded: false,
                };
                self.finish_turn(&scope, permit, key_turn, outcome).await;
                return Err(error);
            }
        };
        let (control, events) = control;
        let run = ChatRun {
            run_id: turn.run_id,
            conversation_id: turn.key.clone(),
            agent: turn.run.agent.clone(),
            model: self.runtime.model_of(&turn.run.agent),
            events,
        };
        let work = turn::complete(self.clone(), turn, (permit, key_turn), control);
        match &self.tracking {
            Some(tracking) => tracking.spawn(work),
            None => drop(tokio::spawn(work)),
        }
        Ok(run)
    }

    async fn check_rate(
        &self,
        tenant: TenantId,
        admission: Option<&Admission>,
    ) -> Result<(), ChatError> {
        match &self.rate {
            Some(rate) => {
                let plan = admission.and_then(|a| a.plan_code.as_deref());
                rate.check(tenant, plan).await
            }
            None => Ok(()),
        }
    }

    /// Stores the run's row, takes its cancel signal and registers it, so
    /// it is visible, stoppable and leased before its id is handed out.
    async fn open_run(
        &self,
        turn: &prepare::AcceptedTurn,
    ) -> Result<(turn::RunControl, mpsc::UnboundedReceiver<LoggedEvent>), ChatError> {
        let (sender, events) = mpsc::unbounded_channel();
        let log = log::EventLog::new(
            turn.run_id,
            turn.scope.tenant_id,
            turn.key.to_string(),
            turn.run.agent.clone(),
            sender,
            self.tracking.clone(),
        );
        let Some(tracking) = &self.tracking else {
            let control = turn::RunControl {
                log,
                cancel: Box::pin(std::future::pending()),
                registration: None,
            };
            return Ok((control, events));
        };
        let now = self.clock.now();
        tracking
            .store
            .create(NewRun {
                id: turn.run_id,
                tenant_id: turn.scope.tenant_id,
                user_id: turn.scope.user_id,
                conversation: turn.key.clone(),
                agent: turn.run.agent.clone(),
                started_at: now,
                owner: tracking.settings.owner.clone(),
                lease_until: now + tracking.settings.lease,
            })
            .await?;
        let registration = tracking.registry.register(turn.run_id);
        let cancel = match tracking.bus.cancel_signal(turn.run_id).await {
            Ok(signal) => signal,
            Err(error) => {
                // The run still answers; only a cancel cannot reach it.
                tracing::warn!(run_id = %turn.run_id, %error, "no cancel signal for this run");
                Box::pin(std::future::pending())
            }
        };
        let control = turn::RunControl {
            log,
            cancel,
            registration: Some(registration),
        };
        Ok((control, events))
    }

    /// Runs a turn to its end: [`start`](Self::start) then
    /// [`ChatRun::collect`].
    pub async fn chat(
        &self,
        scope: ConversationScope,
        request: ChatRequest,
    ) -> Result<ChatReply, ChatError> {
        self.start(scope, request).await?.collect().await
    }
}
