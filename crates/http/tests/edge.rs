//! The edge as an attacker probes it: tenant references that name no tenant
//! and forged `X-Forwarded-For` lines, through the real app.

mod support;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::test;
use agents_adapters::limiter::InMemoryRateLimiter;
use agents_http::extract::TrustedProxies;
use agents_http::ratelimit::{RateLimitPolicy, RateLimits};
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};

async fn token_for<S, B>(app: &S, name: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let register = test::TestRequest::post()
        .uri("/api/v1/auth/register")
        .set_json(json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse"}))
        .to_request();
    assert_eq!(
        test::call_service(app, register).await.status(),
        StatusCode::CREATED
    );
    let login = test::TestRequest::post()
        .uri("/api/v1/auth/token")
        .set_json(json!({"username": name, "password": "correct horse"}))
        .to_request();
    let body: Value = test::read_body_json(test::call_service(app, login).await).await;
    body["access_token"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn a_malformed_tenant_header_is_answered_like_an_unknown_tenant() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let token = token_for(&app, "erin").await;
    let conversations = |value: HeaderValue, token: &str| {
        test::TestRequest::get()
            .uri("/api/v1/conversations")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("X-Tenant-Id", value))
            .to_request()
    };
    let unknown = test::call_service(
        &app,
        conversations(HeaderValue::from_static("no-such-tenant"), &token),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
    let unknown: Value = test::read_body_json(unknown).await;

    let malformed = [
        HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid header byte"),
        HeaderValue::from_static("not a slug; not a uuid"),
        HeaderValue::from_static(""),
        HeaderValue::from_str(&"a".repeat(65)).expect("header"),
    ];
    for value in malformed {
        let shown = format!("{value:?}");
        let res = test::call_service(&app, conversations(value.clone(), &token)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{shown}");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(
            body, unknown,
            "{shown} looks exactly like an unknown tenant"
        );
        let res = test::call_service(&app, conversations(value, "not-a-token")).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{shown}: the token is checked first, as for any tenant"
        );
    }
    let own = test::call_service(
        &app,
        conversations(HeaderValue::from_static("ERIN"), &token),
    )
    .await;
    assert_eq!(
        own.status(),
        StatusCode::OK,
        "a slug in any case still works"
    );
}

#[actix_web::test]
async fn a_path_tenant_that_names_nothing_never_falls_back_to_the_default_one() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let token = token_for(&app, "frank").await;
    for path in ["%20", "a%20b", "%E2%9C%93"] {
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tenants/{path}/members"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let req = test::TestRequest::get()
        .uri("/api/v1/tenants/frank/members")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn forged_forwarded_for_lines_cannot_pick_the_client_address() {
    let mut state = support::state().await;
    state.trusted_proxies = TrustedProxies(vec!["10.0.0.0/8".parse().expect("cidr")]);
    let settings = HttpSettings {
        rate_limits: RateLimitPolicy::new(
            Arc::new(InMemoryRateLimiter::new()),
            RateLimits {
                anon_per_minute: 1,
                chat_per_minute: 0,
            },
        ),
        ..HttpSettings::default()
    };
    let app = test::init_service(build_app(state, settings)).await;
    // The proxy at 10.0.0.1 appended the real client, 1.2.3.4, to whatever
    // the client sent: a second line, or a hop with a port.
    let attempt = |lines: &[&str], forged_suffix: usize| {
        let mut req = test::TestRequest::post()
            .uri("/api/v1/auth/token")
            .peer_addr("10.0.0.1:4000".parse().expect("socket address"))
            .set_json(json!({"username": "nobody", "password": "wrong password"}));
        for line in lines {
            req = req.append_header((
                "X-Forwarded-For",
                line.replace("N", &forged_suffix.to_string()),
            ));
        }
        req.to_request()
    };
    let res = test::call_service(&app, attempt(&["6.6.6.N", "1.2.3.4"], 1)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    for (forged, lines) in [
        (2, &["6.6.6.N", "1.2.3.4"][..]),
        (3, &["6.6.6.N, 1.2.3.4:5555"][..]),
        (4, &["6.6.6.N", "[::ffff:1.2.3.4]:443"][..]),
    ] {
        let res = test::call_service(&app, attempt(lines, forged)).await;
        assert_eq!(
            res.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{lines:?}: still 1.2.3.4's budget, whatever was forged before it"
        );
    }
}
