//! A newcomer's journey: the browser asks for `/`, signs up (a field error
//! first), chats with the answer streaming in, reloads, finds and opens the
//! conversation, deletes it, signs out and in again.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::{PASSWORD, fake_model, last_answer, refresh_works, send_message, server};
use agents_e2e::fake_openai::answer_for;

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_signs_up_chats_with_a_streamed_answer_and_manages_the_conversation() {
    let fake = fake_model().await;
    let server = server(Some(&fake));
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };

    // A browser asking for the root lands on the console's sign-in form.
    browser.open("/").await;
    browser
        .wait_until(
            "location.pathname === '/app' && !document.getElementById('auth-screen').hidden",
            "the sign-in screen at /app",
        )
        .await;
    browser.screenshot("01-sign-in").await;
    // The start log line names the address just opened.
    assert!(
        server
            .log()
            .contains(&format!("\"console\":\"{}/app\"", server.base_url)),
        "{}",
        server.log()
    );

    // A password the API refuses: its message appears next to that field.
    browser.click("#tab-signup").await;
    browser.fill("#signup-username", "ada").await;
    browser.fill("#signup-email", "ada@example.com").await;
    browser.fill("#signup-password", "short").await;
    browser.click("#signup-submit").await;
    let password_error = "#signup-form [data-field-error=password]";
    browser
        .wait_until(
            &format!("!document.querySelector('{password_error}').hidden"),
            "the password field's error",
        )
        .await;
    assert!(!browser.text(password_error).await.is_empty());
    assert_eq!(
        browser
            .attr("#signup-password", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert!(
        !browser
            .visible("#signup-form [data-field-error=username]")
            .await
    );
    browser.screenshot("02-sign-up-field-error").await;

    browser.fill("#signup-password", PASSWORD).await;
    browser.click("#signup-submit").await;
    browser
        .wait_until(
            "!document.getElementById('app-screen').hidden && document.body.dataset.screensFor",
            "the console after sign-up",
        )
        .await;
    assert_eq!(browser.text("#user-name").await, "ada");

    // Enter sends; the answer streams in word by word, then ends.
    let message = "hello console, answer slowly please";
    send_message(&browser, message).await;
    browser
        .wait_until(
            "(() => { const m = document.querySelector('#messages [data-role=assistant]'); return m && m.dataset.state === 'streaming' && m.textContent.includes('You said'); })()",
            "part of the answer while it streams",
        )
        .await;
    let partial = browser
        .js(
            "return document.querySelector('#messages [data-role=assistant] .turn-body').textContent;",
            Vec::new(),
        )
        .await;
    browser.screenshot("03-chat-streaming").await;
    let expected = answer_for(&[json!({"role": "user", "content": message})]);
    let partial = partial.as_str().unwrap_or_default().to_owned();
    assert!(
        expected.starts_with(&partial) && partial.len() < expected.len(),
        "partial {partial:?} of {expected:?}"
    );
    let (answer, state) = last_answer(&browser).await;
    assert_eq!(state, "done");
    assert_eq!(answer, expected);
    let path = browser.js("return location.pathname;", Vec::new()).await;
    let conversation = path
        .as_str()
        .and_then(|p| p.strip_prefix("/app/c/"))
        .unwrap_or_else(|| panic!("the address names the conversation: {path}"))
        .to_owned();

    // The conversation goes on; a tool call and its result show in line.
    send_message(&browser, "what time is it?").await;
    let (answer, state) = last_answer(&browser).await;
    assert_eq!(state, "done");
    assert!(
        answer.contains("Current UTC time") && answer.contains("You said: what time is it?."),
        "{answer}"
    );
    let events = browser
        .js(
            "const m = [...document.querySelectorAll('#messages [data-role=assistant]')].pop(); \
             return [...m.querySelectorAll('[data-testid=tool-call], [data-testid=tool-result], .content')].map(e => e.dataset.testid || 'text');",
            Vec::new(),
        )
        .await;
    assert_eq!(events, json!(["tool-call", "tool-result", "text"]));
    assert!(
        browser
            .text("#messages [data-testid=tool-call]")
            .await
            .contains("get_current_time")
    );
    assert_eq!(
        browser.js("return location.pathname;", Vec::new()).await,
        path,
        "the same conversation"
    );
    browser.screenshot("04-chat-answered").await;

    // A reload resumes the session and reopens the conversation from history.
    browser.reload().await;
    let item = format!("#conversation-list [data-conversation-id='{conversation}']");
    browser
        .wait_until(
            &format!("document.querySelector(\"{item}\") && document.querySelectorAll('#messages [data-testid=message]').length === 4"),
            "the conversation listed and reopened after a reload",
        )
        .await;
    assert_eq!(
        browser
            .text("#messages [data-role=assistant] .turn-body")
            .await,
        expected,
        "the first answer, as stored"
    );

    // A new chat, then the conversation opened from the list.
    browser.click("#new-chat").await;
    browser
        .wait_until(
            "document.querySelectorAll('#messages [data-testid=message]').length === 0 && location.pathname === '/app'",
            "an empty new chat",
        )
        .await;
    browser.click(&item).await;
    browser
        .wait_until(
            "document.querySelectorAll('#messages [data-testid=message]').length === 4",
            "the conversation opened from the list",
        )
        .await;
    assert_eq!(
        browser.text("#messages [data-role=user] .content").await,
        message
    );
    browser.screenshot("05-history").await;

    // Delete asks first, then the conversation leaves the list.
    browser.click("#delete-conversation").await;
    assert!(browser.visible("#confirm-delete").await);
    browser.click("#confirm-delete").await;
    browser
        .wait_until(
            &format!("!document.querySelector(\"{item}\") && location.pathname === '/app' && document.getElementById('conversation-list-status').textContent.includes('No conversations')"),
            "the deleted conversation gone from the list",
        )
        .await;

    // Only the refresh token (and the chosen tenant) is stored, in this tab.
    let stored = browser
        .js(
            "return [Object.keys(sessionStorage).sort(), localStorage.length, sessionStorage.getItem('agents.refresh_token')];",
            Vec::new(),
        )
        .await;
    assert_eq!(stored[0], json!(["agents.refresh_token", "agents.tenant"]));
    assert_eq!(stored[1], json!(0));
    let refresh_token = stored[2].as_str().unwrap_or_default().to_owned();
    assert!(!refresh_token.is_empty());

    // Sign out revokes the login on the server.
    browser.click("#signout").await;
    browser
        .wait_until(
            "!document.getElementById('auth-screen').hidden && sessionStorage.length === 0",
            "the sign-in form after signing out",
        )
        .await;
    assert!(!refresh_works(&server.base_url, &refresh_token).await);

    // A wrong password is said above the form; the right one signs in.
    browser.fill("#signin-username", "ada").await;
    browser.fill("#signin-password", "not the password").await;
    browser.click("#signin-submit").await;
    browser
        .wait_until(
            "!document.querySelector('#signin-form [data-testid=form-error]').hidden",
            "the sign-in error",
        )
        .await;
    assert!(
        browser
            .text("#signin-form [data-testid=form-error]")
            .await
            .contains("Incorrect username or password")
    );
    browser.fill("#signin-password", PASSWORD).await;
    browser.click("#signin-submit").await;
    browser
        .wait_until(
            "!document.getElementById('app-screen').hidden",
            "the console after signing in again",
        )
        .await;
    assert_eq!(
        browser
            .js("return document.activeElement.id;", Vec::new())
            .await,
        Value::from("message-input"),
        "the composer has the focus"
    );
    browser.quit().await;
}
