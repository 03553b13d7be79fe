//! The part of a turn's admission and settlement that belongs to an API
//! key: its monthly budgets on top of the tenant's plan (both must pass).

use agents_domain::conversation::ConversationScope;
use agents_domain::llm::TokenUsage;

use super::{ChatError, ChatService, TurnOutcome, TurnPermit};
use crate::api_keys::KeyReservation;

impl ChatService {
    /// Counts the turn against the acting key's budgets, after the plan
    /// granted `permit`; a refusal gives the plan's unit back. The model
    /// is then asked for at most the tokens left under either limit.
    pub(super) async fn reserve_for_key(
        &self,
        scope: &ConversationScope,
        mut permit: TurnPermit,
    ) -> Result<(TurnPermit, Option<KeyReservation>), ChatError> {
        let (Some(key), Some(budget)) = (scope.api_key, self.key_budget.as_ref()) else {
            return Ok((permit, None));
        };
        match budget.reserve(key).await {
            Ok(reservation) => {
                if let Some(left) = reservation.tokens_left {
                    let left = u32::try_from(left).unwrap_or(u32::MAX);
                    permit.max_tokens = Some(permit.max_tokens.map_or(left, |m| m.min(left)));
                }
                Ok((permit, Some(reservation)))
            }
            Err(refusal) => {
                let outcome = TurnOutcome {
                    usage: TokenUsage::default(),
                    succeeded: false,
                };
                self.guard
                    .after_turn(scope.tenant_id, permit, outcome)
                    .await;
                Err(refusal.into())
            }
        }
    }

    /// Reports how a turn ended to the plan's guard and the key's budget.
    pub(super) async fn finish_turn(
        &self,
        scope: &ConversationScope,
        permit: TurnPermit,
        key: Option<KeyReservation>,
        outcome: TurnOutcome,
    ) {
        if let (Some(reservation), Some(budget)) = (key, self.key_budget.as_ref()) {
            let tokens = i64::from(outcome.usage.total_tokens);
            budget.settle(reservation, outcome.succeeded, tokens).await;
        }
        self.guard
            .after_turn(scope.tenant_id, permit, outcome)
            .await;
    }
}
