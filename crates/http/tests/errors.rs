//! Every error class answers with the envelope: unknown routes, wrong
//! methods, oversized bodies, malformed JSON, wrong content types.

mod support;

use support::header;

use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, test, web};
use agents_http::error::json_config;
use agents_http::middleware::{error_envelope, request_context};
use agents_http::{HttpSettings, build_app};
use serde_json::Value;

async fn assert_envelope<B: actix_web::body::MessageBody>(
    res: actix_web::dev::ServiceResponse<B>,
    status: StatusCode,
    code: &str,
) -> Value {
    assert_eq!(res.status(), status);
    assert!(res.headers().contains_key("x-correlation-id"));
    assert!(res.headers().contains_key("x-process-time"));
    let content_type = header(&res, "content-type");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["success"], false);
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body.get("details").is_some());
    body
}

#[actix_web::test]
async fn unknown_route_is_404_envelope() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/nope/at/all").to_request(),
    )
    .await;
    assert_envelope(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[actix_web::test]
async fn wrong_method_is_405_envelope_with_allow() {
    let app = test::init_service(build_app(support::state().await, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::delete()
            .uri("/api/v1/agents")
            .to_request(),
    )
    .await;
    assert_eq!(header(&res, "allow"), "GET");
    assert_envelope(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Probe {
    message: String,
    count: u32,
}

async fn echo(_body: web::Json<Probe>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// The JSON extractor configuration and middleware the app uses, on a
/// throwaway route, so each body failure can be provoked.
fn json_app() -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(json_config(1024))
        .route("/echo", web::post().to(echo))
        .wrap(from_fn(error_envelope))
        .wrap(from_fn(request_context))
}

#[actix_web::test]
async fn oversized_body_is_413() {
    let app = test::init_service(json_app()).await;
    let big = format!(r#"{{"message":"{}","count":1}}"#, "x".repeat(4096));
    let req = test::TestRequest::post()
        .uri("/echo")
        .insert_header(("content-type", "application/json"))
        .set_payload(big)
        .to_request();
    assert_envelope(
        test::call_service(&app, req).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}

#[actix_web::test]
async fn malformed_json_is_400_envelope() {
    let app = test::init_service(json_app()).await;
    let req = test::TestRequest::post()
        .uri("/echo")
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"message\": ")
        .to_request();
    assert_envelope(
        test::call_service(&app, req).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
}

#[actix_web::test]
async fn wrong_content_type_is_422_envelope() {
    let app = test::init_service(json_app()).await;
    let req = test::TestRequest::post()
        .uri("/echo")
        .insert_header(("content-type", "text/plain"))
        .set_payload(r#"{"message":"hi","count":1}"#)
        .to_request();
    assert_envelope(
        test::call_service(&app, req).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    )
    .await;
}

#[actix_web::test]
async fn missing_field_is_422_naming_the_field() {
    let app = test::init_service(json_app()).await;
    let req = test::TestRequest::post()
        .uri("/echo")
        .set_json(serde_json::json!({"count": 1}))
        .to_request();
    let body = assert_envelope(
        test::call_service(&app, req).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    )
    .await;
    assert_eq!(body["details"][0]["field"], "message");
}

#[actix_web::test]
async fn wrong_type_is_422() {
    let app = test::init_service(json_app()).await;
    let req = test::TestRequest::post()
        .uri("/echo")
        .set_json(serde_json::json!({"message": "hi", "count": -3}))
        .to_request();
    assert_envelope(
        test::call_service(&app, req).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    )
    .await;
}

async fn boom() -> HttpResponse {
    panic!("a bug in a handler")
}

#[actix_web::test]
async fn a_panicking_handler_answers_an_opaque_500_envelope() {
    let app = test::init_service(
        App::new()
            .route("/boom", web::get().to(boom))
            .wrap(from_fn(error_envelope))
            .wrap(from_fn(request_context)),
    )
    .await;
    let err = test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
        .await
        .err()
        .expect("the panic becomes an error that actix renders");
    let res = err.error_response();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = actix_web::body::to_bytes(res.into_body())
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).expect("JSON envelope");
    assert_eq!(body["error"], "internal_error");
    assert!(
        !body["message"].as_str().unwrap_or_default().contains("bug"),
        "no internals leak"
    );
}
