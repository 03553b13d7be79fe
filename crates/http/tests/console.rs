//! `/app`, the web console, at the HTTP level: security headers on every
//! response, `no-cache` for the page and immutable caching for the hashed
//! assets, revalidation, `GET /` content negotiation, and the files: every
//! one embedded, none writing markup from strings.

mod support;

use std::path::Path;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use agents_http::routes::console::{ASSETS, CONTENT_SECURITY_POLICY, assets_path};
use agents_http::{HttpSettings, build_app};
use serde_json::Value;
use support::header;

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn assert_secure<B>(res: &actix_web::dev::ServiceResponse<B>, what: &str) {
    let csp = header(res, "content-security-policy");
    assert_eq!(csp, CONTENT_SECURITY_POLICY, "{what}");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} missing");
    }
    for weak in [
        "unsafe-inline",
        "unsafe-eval",
        "*",
        "data:",
        "http:",
        "https:",
    ] {
        assert!(!csp.contains(weak), "{what}: CSP allows {weak}");
    }
    assert_eq!(header(res, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(res, "referrer-policy"), "no-referrer", "{what}");
}

#[actix_web::test]
async fn every_console_response_carries_the_security_headers() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let assets = assets_path();
    let mut requests: Vec<(Method, String)> = vec![
        (Method::GET, "/app".into()),
        (Method::GET, "/app/".into()),
        (Method::GET, "/app/c/some-conversation".into()),
        (Method::GET, "/app/usage".into()),
        (Method::GET, "/app/assets".into()),
        (Method::GET, "/app/assets/0123456789abcdef/app.js".into()),
        (Method::GET, format!("{assets}/missing.js")),
        (Method::POST, "/app".into()),
        (Method::DELETE, "/app/c/x".into()),
    ];
    for asset in ASSETS {
        requests.push((Method::GET, format!("{assets}/{}", asset.name)));
    }
    let mut statuses = Vec::new();
    for (method, uri) in requests {
        let req = test::TestRequest::default()
            .method(method.clone())
            .uri(&uri)
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_secure(&res, &format!("{method} {uri}"));
        statuses.push(res.status().as_u16());
    }
    // A revalidation answered 304 carries them too.
    let res = test::call_service(&app, test::TestRequest::get().uri("/app").to_request()).await;
    let etag = header(&res, "etag");
    let revalidate = test::TestRequest::get()
        .uri("/app")
        .insert_header(("if-none-match", etag))
        .to_request();
    let res = test::call_service(&app, revalidate).await;
    assert_secure(&res, "GET /app revalidated");
    statuses.push(res.status().as_u16());
    // The list covers pages, assets, misses, wrong methods and a 304.
    for status in [200, 304, 404, 405] {
        assert!(statuses.contains(&status), "{statuses:?}");
    }
}

#[actix_web::test]
async fn the_page_is_revalidated_and_the_assets_are_immutable_under_a_content_hash() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let assets = assets_path();
    let hash = assets.trim_start_matches("/app/assets/");
    assert_eq!(hash.len(), 16, "{assets}");
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));

    let res = test::call_service(&app, test::TestRequest::get().uri("/app").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control"), "no-cache");
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    let etag = header(&res, "etag");
    let page = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    assert!(page.contains(&format!(
        "<script type=\"module\" src=\"{assets}/app.js\"></script>"
    )));
    assert!(page.contains(&format!("href=\"{assets}/style.css\"")));
    assert!(!page.contains("{{"), "a placeholder left in the page");
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains("style=\""), "no inline style");

    let again = test::TestRequest::get()
        .uri("/app/c/abc")
        .insert_header(("if-none-match", etag.as_str()))
        .to_request();
    let res = test::call_service(&app, again).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_MODIFIED,
        "same page, same tag"
    );
    assert!(test::read_body(res).await.is_empty());

    for asset in ASSETS {
        let uri = format!("{assets}/{}", asset.name);
        let res = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert_eq!(
            header(&res, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&res, "content-type"), asset.content_type, "{uri}");
        assert_eq!(test::read_body(res).await.as_ref(), asset.bytes, "{uri}");
    }

    // Another hash (a page from an older build) or name: 404 in the envelope.
    for uri in [
        format!("/app/assets/{}/app.js", "f".repeat(16)),
        format!("{assets}/index.html"),
        format!("{assets}/../app.js"),
    ] {
        let res = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
        assert_ne!(
            header(&res, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"], "not_found", "{uri}");
    }
}

#[actix_web::test]
async fn assets_are_sent_gzipped_to_clients_that_accept_it() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let uri = format!("{}/app.js", assets_path());
    let req = test::TestRequest::get()
        .uri(&uri)
        .insert_header(("accept-encoding", "gzip"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(header(&res, "content-encoding"), "gzip");
    assert!(
        header(&res, "vary")
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
}

#[actix_web::test]
async fn a_browser_asking_for_the_root_is_sent_to_the_console_and_api_clients_keep_json() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header(("accept", BROWSER_ACCEPT))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(header(&res, "location"), "/app");
    assert!(header(&res, "vary").contains("Accept"));

    for accept in [None, Some("*/*"), Some("application/json, text/html")] {
        let mut req = test::TestRequest::get().uri("/");
        if let Some(accept) = accept {
            req = req.insert_header(("accept", accept));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{accept:?}");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["docs"], "/docs", "{accept:?}");
    }
}

fn console_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/console"))
}

#[::core::prelude::v1::test]
fn every_file_of_the_console_folder_is_embedded() {
    let mut on_disk: Vec<String> = std::fs::read_dir(console_dir())
        .expect("console folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "index.html")
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
    embedded.sort();
    assert_eq!(embedded, on_disk, "ASSETS and crates/http/console/ differ");
}

#[::core::prelude::v1::test]
fn no_console_script_turns_strings_into_markup_or_code() {
    let forbidden = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setTimeout('",
        "setAttribute('on",
        "createContextualFragment",
        "DOMParser",
    ];
    let mut scripts = 0;
    for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
        let text = std::str::from_utf8(asset.bytes).expect("utf-8");
        for pattern in forbidden {
            assert!(!text.contains(pattern), "{} uses {pattern}", asset.name);
        }
        // Nothing is fetched from elsewhere: every URL is the server's own.
        for scheme in ["http://", "https://", "//cdn"] {
            assert!(!text.contains(scheme), "{} names {scheme}", asset.name);
        }
        scripts += 1;
    }
    assert!(scripts >= 10);
}
