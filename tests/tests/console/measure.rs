//! The console at phone width, and its figures: page weight (bytes of HTML,
//! JS, CSS and the icon, raw and gzip, as Chromium loaded them) and time to
//! first render, printed for the README (run with `--nocapture`).

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::{Account, fake_model, last_answer, send_message, server, sign_in};

/// Gzip bytes the whole console may weigh: a budget that keeps it small.
const GZIP_BUDGET: u64 = 48 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn at_phone_width_the_chat_fits_and_the_history_slides_in() {
    let fake = fake_model().await;
    let server = server(Some(&fake));
    Account::register(&server.base_url, "pia").await;
    let Some(browser) = Browser::start_sized(&server.base_url, (390, 844)).await else {
        return;
    };
    browser.open("/app").await;
    browser.screenshot("09-phone-sign-in").await;
    sign_in(&browser, "pia").await;
    send_message(&browser, "a first question for the phone").await;
    assert_eq!(last_answer(&browser).await.1, "done");

    let layout = "return [window.innerWidth, document.documentElement.scrollWidth <= window.innerWidth, \
        document.getElementById('sidebar').getBoundingClientRect().right <= 0, \
        document.getElementById('composer').getBoundingClientRect().bottom <= window.innerHeight, \
        [...document.querySelectorAll('#messages [data-testid=message]')].map(m => { const r = m.getBoundingClientRect(); \
          return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; })];";
    assert_eq!(
        browser.js(layout, Vec::new()).await,
        json!([390, true, true, true, [true, true]]),
        "phone width, no sideways scroll, history off screen, composer and both messages on screen"
    );
    browser.screenshot("10-phone-chat").await;

    browser.click("#toggle-sidebar").await;
    browser
        .wait_until(
            "document.getElementById('sidebar').getBoundingClientRect().left >= 0 && document.querySelector('#conversation-list [data-testid=conversation-item]')",
            "the history over the chat",
        )
        .await;
    browser.screenshot("11-phone-history").await;
    // Escape closes it again.
    browser.escape("#conversation-search").await;
    browser
        .wait_until(
            "document.getElementById('toggle-sidebar').getAttribute('aria-expanded') === 'false'",
            "the history closed by Escape",
        )
        .await;
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_loads_only_its_own_small_files_and_renders_promptly() {
    let server = server(None);
    let Some(browser) = Browser::start(&server.base_url).await else {
        return;
    };
    let mut cold = None;
    let mut warm = Vec::new();
    for visit in 0..4 {
        browser.open("/app").await;
        browser
            .wait_until(
                "performance.getEntriesByName('console-ready').length > 0",
                "the console ready",
            )
            .await;
        let figures = browser
            .js(
                "const nav = performance.getEntriesByType('navigation')[0]; \
                 const paint = performance.getEntriesByName('first-contentful-paint')[0]; \
                 const ready = performance.getEntriesByName('console-ready')[0]; \
                 const files = [nav, ...performance.getEntriesByType('resource')].map(e => ({ \
                   name: e.name, raw: e.decodedBodySize, wire: e.encodedBodySize, cached: e.transferSize === 0 })); \
                 return { paint: paint ? paint.startTime : null, ready: ready.startTime, files };",
                Vec::new(),
            )
            .await;
        if visit == 0 {
            cold = Some(figures);
        } else {
            warm.push(figures);
        }
    }
    let cold = cold.unwrap_or(Value::Null);
    let files = cold["files"].as_array().cloned().unwrap_or_default();
    let origin = format!("{}/app", server.base_url);
    let mut raw = 0;
    let mut wire = 0;
    for file in &files {
        let name = file["name"].as_str().unwrap_or_default();
        assert!(
            name.starts_with(&origin),
            "only the server's own /app files: {name}"
        );
        raw += file["raw"].as_u64().unwrap_or(0);
        wire += file["wire"].as_u64().unwrap_or(0);
    }
    // The page, its stylesheet, the icon and every module.
    assert!(files.len() >= 14, "{files:?}");
    assert!(wire > 0 && wire < raw, "served compressed: {wire} of {raw}");
    assert!(
        wire <= GZIP_BUDGET,
        "{wire} gzip bytes, budget {GZIP_BUDGET}"
    );
    // A repeat visit takes the hashed assets from the cache.
    let reused = warm
        .last()
        .and_then(|w| w["files"].as_array())
        .map(|files| {
            files
                .iter()
                .filter(|f| {
                    f["cached"] == true
                        && f["name"]
                            .as_str()
                            .is_some_and(|n| n.contains("/app/assets/"))
                })
                .count()
        })
        .unwrap_or(0);
    assert!(reused >= 13, "assets cached on a repeat visit: {reused}");
    let ms = |v: &Value| {
        v.as_f64()
            .map(|f| format!("{f:.0} ms"))
            .unwrap_or_else(|| "n/a".into())
    };
    eprintln!(
        "console page weight: {} files, {raw} bytes raw, {wire} bytes gzip",
        files.len()
    );
    eprintln!(
        "first visit: first contentful paint {}, console ready {}",
        ms(&cold["paint"]),
        ms(&cold["ready"])
    );
    for (i, w) in warm.iter().enumerate() {
        eprintln!(
            "repeat visit {}: first contentful paint {}, console ready {}",
            i + 1,
            ms(&w["paint"]),
            ms(&w["ready"])
        );
    }
    browser.quit().await;
}
