//! The document declares what the server enforces: lengths, patterns,
//! enums and ranges of the request schemas and parameters, the rules the
//! derive cannot write (landed on fields that exist), optional bodies that
//! are not nullable, and the answers each kind of operation can give.

mod support;

use actix_web::test;
use agents_http::{HttpSettings, build_app};
use serde_json::{Value, json};

#[actix_web::test]
async fn enforced_constraints_and_optional_bodies_are_declared() {
    let stores = support::memory_stores();
    let state = support::billing_state(&stores).await;
    let app = test::init_service(build_app(state, HttpSettings::default())).await;
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    let doc: Value = test::read_body_json(res).await;
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let register = schema("RegisterRequest");
    assert_eq!(register["properties"]["username"]["minLength"], 3);
    assert_eq!(register["properties"]["username"]["maxLength"], 50);
    assert!(register["properties"]["username"]["pattern"].is_string());
    assert_eq!(register["properties"]["password"]["minLength"], 8);
    assert_eq!(register["properties"]["password"]["maxLength"], 128);
    assert_eq!(
        schema("RoleName")["enum"],
        json!(["owner", "admin", "viewer"])
    );
    assert!(schema("ChatBody")["properties"]["message"]["pattern"].is_string());
    let usage = &schema("UsageRequest")["properties"]["quantity"];
    assert_eq!(
        (usage["minimum"].clone(), usage["maximum"].clone()),
        (json!(1), json!(1_000_000))
    );
    assert_eq!(
        schema("StartSubscriptionRequest")["properties"]["seat_count"]["minimum"],
        1
    );
    assert!(
        schema("TokenUsageBody")["properties"]["prompt_tokens"].is_object(),
        "chat usage has its own schema name"
    );
    assert!(schema("UsageBody")["properties"]["features"].is_object());

    let parameter = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or(Value::Null)
    };
    let limit = parameter("/api/v1/conversations", "limit");
    assert_eq!(
        (limit["minimum"].clone(), limit["maximum"].clone()),
        (json!(1), json!(100))
    );
    assert_eq!(parameter("/api/v1/conversations", "page")["minimum"], 1);
    assert!(parameter("/api/v1/conversations/search", "q")["pattern"].is_string());
    // Every rule the derive cannot write landed on a field that exists.
    for (name, field, key) in [
        ("ChatBody", "message", "pattern"),
        ("CreateTenantRequest", "name", "pattern"),
        ("CreateTenantRequest", "slug", "not"),
        ("RegisterRequest", "display_name", "pattern"),
        ("UsageRequest", "period_start", "pattern"),
        ("UsageRequest", "period_end", "pattern"),
    ] {
        assert!(
            !schema(name)["properties"][field][key].is_null(),
            "{name}.{field} lacks {key}"
        );
    }
    assert!(schema("UsageRequest")["anyOf"].is_array());
    assert_eq!(
        schema("UpdateSubscriptionRequest")["anyOf"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let usage_get = &doc["paths"]["/api/v1/billing/tenants/{tenant_id}/usage"]["get"]["parameters"];
    assert!(
        usage_get.as_array().is_some_and(|ps| ps
            .iter()
            .filter(|p| p["schema"]["pattern"].is_string())
            .count()
            == 2),
        "{usage_get}"
    );
    let user_id =
        &doc["paths"]["/api/v1/tenants/{tenant_id}/members/{user_id}"]["patch"]["parameters"];
    assert!(
        user_id.as_array().is_some_and(|ps| ps
            .iter()
            .any(|p| p["name"] == "user_id" && p["schema"]["pattern"].is_string())),
        "{user_id}"
    );

    let cancel = &doc["paths"]["/api/v1/billing/tenants/{tenant_id}/subscription/cancel"]["post"]["requestBody"];
    assert_ne!(cancel["required"], true, "the body may be absent: {cancel}");
    assert_eq!(
        cancel["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/CancelRequest"}),
        "an optional body, never null"
    );
    let chat = &doc["paths"]["/api/v1/chat"]["post"]["responses"];
    for status in [
        "400", "401", "403", "413", "422", "429", "500", "502", "503", "504",
    ] {
        assert!(chat[status].is_object(), "chat lacks {status}");
    }
    assert!(chat["429"]["headers"]["Retry-After"].is_object());
    assert!(chat["401"]["headers"]["WWW-Authenticate"].is_object());
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
}
