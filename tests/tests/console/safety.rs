//! What the console must never do, and what it must say: model output is
//! text (no markup, no script link), a server without a model says how to
//! configure one, and a viewer is never offered the API keys screen.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::{Account, fake_model, last_answer, send_message, server, sign_in};
use agents_e2e::fake_openai::{HTML_ANSWER, HTML_TRIGGER};

#[tokio::test(flavor = "multi_thread")]
async fn a_model_answer_with_markup_is_shown_as_text() {
    let fake = fake_model().await;
    let server = server(Some(&fake));
    Account::register(&server.base_url, "mallory").await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.open("/app").await;
    sign_in(&browser, "mallory").await;
    send_message(&browser, &format!("please {HTML_TRIGGER}")).await;
    let (text, state) = last_answer(&browser).await;
    assert_eq!(state, "done");

    // No element came from the answer's markup; it reads as written.
    let made = browser
        .js(
            "return document.querySelectorAll('#messages img, #messages script, #messages b, #messages i, #messages [onerror], #messages [onclick]').length;",
            Vec::new(),
        )
        .await;
    assert_eq!(made, json!(0), "the answer created elements");
    assert!(
        text.contains("<img src=x onerror=alert(1)>"),
        "shown as text: {text}"
    );
    assert!(text.contains("<script>alert(2)</script>"), "{text}");
    // The script link stays literal text; the https link is a safe anchor.
    assert!(
        text.contains("[script link](javascript:alert(3))"),
        "{text}"
    );
    let links = browser
        .js(
            "return [...document.querySelectorAll('#messages a')].map(a => [a.getAttribute('href'), a.rel, a.textContent]);",
            Vec::new(),
        )
        .await;
    assert_eq!(
        links,
        json!([[
            "https://example.com/docs",
            "noopener noreferrer",
            "real link"
        ]])
    );
    // The fenced block and the inline code keep their markup as code text.
    let code = browser
        .js(
            "return [...document.querySelectorAll('#messages code')].map(c => c.textContent);",
            Vec::new(),
        )
        .await;
    assert_eq!(code, json!(["<b onclick=alert(4)>bold</b>", "<i>code</i>"]));
    assert!(HTML_ANSWER.contains("<img"), "the fake still sends markup");
    assert_eq!(browser.alert_text().await, None, "an alert opened");

    // The stored answer, opened again, is text too.
    browser.reload().await;
    browser
        .wait_until(
            "document.querySelectorAll('#messages [data-testid=message]').length === 2",
            "the stored conversation",
        )
        .await;
    let made = browser
        .js(
            "return document.querySelectorAll('#messages img, #messages script, #messages b').length;",
            Vec::new(),
        )
        .await;
    assert_eq!(made, json!(0));
    browser.screenshot("06-markup-shown-as-text").await;
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_model_the_console_says_how_to_configure_one() {
    let server = server(None);
    Account::register(&server.base_url, "olga").await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.open("/app").await;
    sign_in(&browser, "olga").await;
    assert!(!browser.visible("#llm-unavailable").await);
    send_message(&browser, "is anyone there?").await;
    browser
        .wait_until(
            "!document.getElementById('llm-unavailable').hidden",
            "the no-model hint",
        )
        .await;
    let hint = browser.text("#llm-unavailable").await;
    assert!(
        hint.contains("OPENAI_API_KEY") && hint.contains("OPENAI_BASE_URL"),
        "{hint}"
    );
    // Nothing was stored, so nothing is shown as sent; the text is kept to retry.
    assert_eq!(
        browser
            .js(
                "return [document.querySelectorAll('#messages [data-testid=message]').length, document.getElementById('message-input').value];",
                Vec::new(),
            )
            .await,
        json!([0, "is anyone there?"])
    );
    browser.screenshot("07-no-model-configured").await;
    browser.quit().await;
}

/// The API-keys requests the page has made so far.
async fn key_requests(browser: &Browser) -> Vec<String> {
    let value = browser
        .js(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/api-keys'));",
            Vec::new(),
        )
        .await;
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_is_never_offered_the_api_keys_screen() {
    let server = server(None);
    let owner = Account::register(&server.base_url, "olivia").await;
    Account::register(&server.base_url, "victor").await;
    let (status, team) = owner
        .post("/api/v1/tenants", json!({"name": "Team Console"}))
        .await;
    assert_eq!(status, 201, "{team}");
    let team_id = team["id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = owner
        .post(
            &format!("/api/v1/tenants/{team_id}/members"),
            json!({"username_or_email": "victor", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };

    // The owner's console asks whether the keys routes exist (they may not yet).
    browser.open("/app").await;
    sign_in(&browser, &owner.username).await;
    browser
        .wait_until(
            "performance.getEntriesByType('resource').some(e => e.name.includes('/api-keys'))",
            "the owner's console probing the keys routes",
        )
        .await;
    browser.click("#signout").await;
    browser
        .wait_until(
            "!document.getElementById('auth-screen').hidden",
            "signed out",
        )
        .await;
    browser
        .js(
            "performance.clearResourceTimings(); return null;",
            Vec::new(),
        )
        .await;

    // The viewer switches to the shared tenant: no keys entry, no keys request.
    sign_in(&browser, "victor").await;
    browser.select("#tenant-select", &team_id).await;
    browser
        .wait_until(
            &format!("document.body.dataset.screensFor === '{team_id}'"),
            "the viewer's menu for the team",
        )
        .await;
    assert!(!browser.visible("#nav-keys").await);
    let team_requests: Vec<String> = key_requests(&browser)
        .await
        .into_iter()
        .filter(|name| name.contains(&team_id))
        .collect();
    assert!(team_requests.is_empty(), "{team_requests:?}");
    browser.screenshot("08-viewer-menu").await;

    // Asking for the keys screen by address lands on the chat.
    browser.open("/app/keys").await;
    browser
        .wait_until(
            &format!("document.body.dataset.screensFor === '{team_id}' && location.pathname === '/app' && !document.getElementById('chat-view').hidden"),
            "the chat instead of the keys screen",
        )
        .await;
    assert!(!browser.visible("#keys-view").await);
    assert!(
        key_requests(&browser)
            .await
            .iter()
            .all(|name| !name.contains(&team_id))
    );
    browser.quit().await;
}
