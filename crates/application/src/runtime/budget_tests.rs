//! A run's token budget: each model call is asked for at most what is
//! left, and a spent budget ends the run instead of calling the model.

use super::tests::{request, run, runtime};
use super::*;
use crate::testing::{USAGE, calls, model, text};

fn with_budget(budget: u32) -> RunRequest {
    RunRequest {
        token_budget: Some(budget),
        ..request(&[])
    }
}

#[tokio::test]
async fn each_model_call_is_asked_for_at_most_the_tokens_left() {
    let model = model(vec![calls(&[("echo", r#"{"text":"hi"}"#)]), text("done")]);
    let budget = USAGE.total_tokens * 3;
    let (result, _) = run(&runtime(model.clone(), 10), with_budget(budget)).await;
    result.expect("answered within the budget");
    let caps: Vec<_> = model
        .requests()
        .iter()
        .map(|r| r.max_output_tokens)
        .collect();
    assert_eq!(
        caps,
        [Some(budget), Some(budget - USAGE.total_tokens)],
        "the second call gets what the first left"
    );
}

#[tokio::test]
async fn a_spent_budget_ends_the_run_before_another_model_call() {
    let model = model(vec![calls(&[("echo", r#"{"text":"hi"}"#)]), text("done")]);
    let (result, _) = run(&runtime(model.clone(), 10), with_budget(USAGE.total_tokens)).await;
    let failure = result.expect_err("budget spent by the tool call turn");
    assert_eq!(failure.error, RunError::TokenBudgetExhausted);
    assert_eq!(failure.usage, USAGE, "what was used is reported");
    assert_eq!(model.requests().len(), 1, "the model is not called again");
}

#[tokio::test]
async fn without_a_budget_no_cap_is_sent() {
    let model = model(vec![text("done")]);
    let (result, _) = run(&runtime(model.clone(), 10), request(&[])).await;
    result.expect("answered");
    assert_eq!(model.requests()[0].max_output_tokens, None);
}
