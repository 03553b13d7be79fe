//! The console's Stop button and its reattach on reload, against the run
//! routes: Stop ends the answer as cancelled with the text so far stored;
//! a reload during an answer picks the run up again and shows the whole
//! answer, without a gap or a repeat.

use serde_json::json;

use crate::browser::Browser;
use crate::{Account, fake_model, last_answer, send_message, server, sign_in};
use agents_e2e::fake_openai::answer_for;

/// Waits until the last assistant message streams some of its text.
async fn streaming(browser: &Browser) {
    browser
        .wait_until(
            "(() => { const m = [...document.querySelectorAll('#messages [data-role=assistant]')].pop(); return m && m.dataset.state === 'streaming' && m.textContent.includes('You said'); })()",
            "part of the answer while it streams",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_ends_the_answer_as_cancelled_and_the_text_so_far_is_stored() {
    let fake = fake_model().await;
    let server = server(Some(&fake));
    let account = Account::register(&server.base_url, "stopper").await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.open("/app").await;
    sign_in(&browser, &account.username).await;
    let message = "tell me a long story, slowly please";
    send_message(&browser, message).await;
    streaming(&browser).await;
    assert!(browser.visible("#stop-button").await);
    browser.click("#stop-button").await;
    let (shown, state) = last_answer(&browser).await;
    assert_eq!(state, "cancelled");
    let expected = answer_for(&[json!({"role": "user", "content": message})]);
    assert!(
        shown.len() < expected.len() && expected.starts_with(shown.trim_end()),
        "{shown:?} is a prefix of {expected:?}"
    );
    let (_, list) = account.get("/api/v1/conversations").await;
    let id = list[0]["conversation_id"]
        .as_str()
        .expect("a conversation")
        .to_owned();
    let (_, detail) = account.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(detail["messages"][1]["content"], shown.as_str(), "{detail}");
    assert_eq!(detail["active_run"], serde_json::Value::Null);
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_during_an_answer_reattaches_and_shows_it_whole() {
    let fake = fake_model().await;
    let server = server(Some(&fake));
    let account = Account::register(&server.base_url, "reloader").await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.open("/app").await;
    sign_in(&browser, &account.username).await;
    let message = "explain reattaching, slowly please";
    send_message(&browser, message).await;
    streaming(&browser).await;
    // The page (and its connection) goes away mid-answer.
    browser.reload().await;
    browser
        .wait_until(
            "!document.getElementById('app-screen').hidden",
            "the console after the reload",
        )
        .await;
    let (shown, state) = last_answer(&browser).await;
    assert_eq!(state, "done");
    let expected = answer_for(&[json!({"role": "user", "content": message})]);
    assert_eq!(shown, expected, "the whole answer, no gap and no repeat");
    browser.quit().await;
}
