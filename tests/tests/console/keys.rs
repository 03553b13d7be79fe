//! The API keys screen against the real routes: an owner creates a key
//! (shown once, with a copy button), the key works over HTTP, the list
//! shows it with its use, revoking it (after a confirmation) stops it.

use serde_json::Value;

use crate::browser::Browser;
use crate::{Account, server, sign_in};

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_creates_a_key_that_works_and_revokes_it_from_the_console() {
    let server = server(None);
    let owner = Account::register(&server.base_url, "kira").await;
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    browser.open("/app").await;
    sign_in(&browser, &owner.username).await;
    browser
        .wait_until(
            "!document.getElementById('nav-keys').hidden",
            "the API keys entry for an owner",
        )
        .await;
    browser.click("#nav-keys").await;
    browser
        .wait_until(
            "!document.getElementById('keys-view').hidden && document.getElementById('keys-status').textContent === 'No keys yet.'",
            "the empty keys screen",
        )
        .await;

    browser.fill("#key-name", "nightly-report").await;
    browser.fill("#key-monthly-messages", "50").await;
    browser.click("#create-key").await;
    browser
        .wait_until(
            "!document.getElementById('new-key').hidden && document.querySelectorAll('[data-testid=key-row]').length === 1",
            "the new key and its row",
        )
        .await;
    let key = browser
        .js(
            "return document.querySelector('[data-testid=new-key-value]').value;",
            Vec::new(),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(key.starts_with("agk_"), "{key}");
    let row = browser.text("[data-testid=key-row]").await;
    assert!(
        row.contains("nightly-report") && row.contains(&key[..12]),
        "{row}"
    );
    assert!(!row.contains(&key[12..]), "the list never shows the secret");
    browser.click("#copy-key").await;
    browser
        .wait_until(
            "document.getElementById('copy-status').textContent !== ''",
            "the copy outcome",
        )
        .await;
    browser.screenshot("09-new-api-key").await;

    // The key works over HTTP, and the screen shows that it was used.
    let http = reqwest::Client::new();
    let listed = http
        .get(format!("{}/api/v1/conversations", server.base_url))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("list");
    assert_eq!(listed.status(), 200);
    browser.click("#dismiss-key").await;
    assert_eq!(
        browser
            .js(
                "return document.querySelector('[data-testid=new-key-value]').value;",
                Vec::new()
            )
            .await,
        Value::String(String::new()),
        "the key is forgotten once the panel closes"
    );
    browser.reload().await;
    browser
        .wait_until(
            "(() => { const r = document.querySelector('[data-testid=key-row]'); return r && !r.textContent.includes('never'); })()",
            "the row's last use after a reload",
        )
        .await;

    // Revoking asks first, then the key stops working at once.
    browser.click("[data-testid=revoke-key]").await;
    browser.click("[data-testid=confirm-revoke]").await;
    browser
        .wait_until(
            "document.querySelector('[data-testid=key-row]')?.dataset.state === 'revoked'",
            "the revoked row",
        )
        .await;
    assert!(!browser.visible("[data-testid=revoke-key]").await);
    let refused = http
        .get(format!("{}/api/v1/conversations", server.base_url))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("list");
    assert_eq!(refused.status(), 401);
    browser.quit().await;
}
