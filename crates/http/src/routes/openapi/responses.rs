//! Completes the collected document with the answers every operation of a
//! kind can give, so it lists every status a client can receive: bodies can
//! be malformed (400), too large (413) or invalid (422); bearer routes
//! answer 401, tenant routes 403; store-backed routes 500 and 503. The
//! rules read the operation (body, security, parameters, path) rather than
//! a list of routes, so a new route is covered without being named here.

use serde_json::{Map, Value, json};

/// One error answer: its status, stable name(s) and when it happens.
struct Answer {
    status: &'static str,
    description: &'static str,
}

const INVALID_JSON: Answer = Answer {
    status: "400",
    description: "`invalid_json`: the body is not JSON",
};
const UNAUTHORIZED: Answer = Answer {
    status: "401",
    description: "`unauthorized`: missing, invalid or expired credentials",
};
const FORBIDDEN: Answer = Answer {
    status: "403",
    description: "`forbidden`: not a member of the tenant named, or the role does not allow this",
};
const KEY_SCOPE: Answer = Answer {
    status: "403",
    description: "`forbidden`: not a member of the tenant named, the role does not allow this, or the API key lacks the scope or names another tenant",
};
const KEY_RATE_LIMITED: Answer = Answer {
    status: "429",
    description: "`rate_limited`: the API key's `rate_limit_per_minute` is reached (or `quota_exceeded` where the operation says so)",
};
const TOO_LARGE: Answer = Answer {
    status: "413",
    description: "`payload_too_large`: the body is over MAX_BODY_BYTES",
};
const INVALID: Answer = Answer {
    status: "422",
    description: "`validation_error`: `details` lists each wrong field by JSON path or parameter name",
};
const INTERNAL: Answer = Answer {
    status: "500",
    description: "`internal_error`: quote X-Correlation-ID when reporting it",
};
const UNAVAILABLE: Answer = Answer {
    status: "503",
    description: "`service_unavailable`: the database (or another dependency) is not answering",
};

/// Path parameters the server validates (422 when malformed).
const VALIDATED_PATH_PARAMETERS: &[&str] = &["conversation_id", "user_id"];

/// Routes answered from memory, never touching a store.
const STORELESS: &[&str] = &["/api/v1/agents", "/api/v1/tools"];

fn envelope(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    })
}

fn parameters_in<'a>(operation: &'a Value, place: &str) -> Vec<&'a str> {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == place)
        .filter_map(|p| p["name"].as_str())
        .collect()
}

/// The answers `operation` at `path` can give besides its own.
fn answers(path: &str, operation: &Value) -> Vec<Answer> {
    let mut answers = Vec::new();
    let has_body = operation.get("requestBody").is_some();
    let secured = operation["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    let tenant_scoped = parameters_in(operation, "header").contains(&"X-Tenant-Id")
        || parameters_in(operation, "path").contains(&"tenant_id");
    let validated_parameters = !parameters_in(operation, "query").is_empty()
        || parameters_in(operation, "path")
            .iter()
            .any(|p| VALIDATED_PATH_PARAMETERS.contains(p));
    if has_body {
        answers.extend([INVALID_JSON, TOO_LARGE]);
    }
    if has_body || validated_parameters {
        answers.push(INVALID);
    }
    if secured {
        answers.push(UNAUTHORIZED);
    }
    // Routes an API key may use (the `api_key` scheme) also answer for the
    // key: its scopes and tenant (403) and its rate limit (429).
    let by_key = operation["security"]
        .as_array()
        .is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()));
    if by_key {
        answers.extend([KEY_SCOPE, KEY_RATE_LIMITED]);
    } else if tenant_scoped {
        answers.push(FORBIDDEN);
    }
    if path.starts_with("/api/v1/") && !STORELESS.contains(&path) {
        answers.extend([INTERNAL, UNAVAILABLE]);
    }
    answers
}

/// An optional body is absent, never `null`: utoipa writes `Option<T>`
/// bodies as `oneOf [null, T]`; keep `T` (with `required: false`).
fn unwrap_optional_body(operation: &mut Value) {
    let Some(content) = operation
        .pointer_mut("/requestBody/content")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for media in content.values_mut() {
        let Some(one_of) = media.pointer("/schema/oneOf").and_then(Value::as_array) else {
            continue;
        };
        let not_null: Vec<Value> = one_of
            .iter()
            .filter(|s| s.get("type") != Some(&json!("null")))
            .cloned()
            .collect();
        if let [only] = not_null.as_slice() {
            media["schema"] = only.clone();
        }
    }
}

/// Documents `Retry-After` on 429 and `WWW-Authenticate` on 401.
fn document_headers(responses: &mut Map<String, Value>) {
    let header =
        |description: &str, schema: Value| json!({"description": description, "schema": schema});
    if let Some(limited) = responses.get_mut("429") {
        limited["headers"]["Retry-After"] = header(
            "Seconds to wait before trying again",
            json!({"type": "integer", "minimum": 1}),
        );
    }
    if let Some(unauthorized) = responses.get_mut("401") {
        unauthorized["headers"]["WWW-Authenticate"] =
            header("Always `Bearer`", json!({"type": "string"}));
    }
}

/// OpenAPI requires a description on every response; utoipa leaves it out
/// when a handler gives none.
fn describe_missing(responses: &mut Map<String, Value>) {
    for (status, response) in responses.iter_mut() {
        if response.get("description").is_none() {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
                .unwrap_or("Response");
            response["description"] = json!(reason);
        }
    }
}

/// Adds the shared answers to every operation of `document` (the JSON of
/// the collected OpenAPI document), without replacing an operation's own
/// description of a status.
pub fn complete(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut().filter(|op| op.get("responses").is_some()) {
            unwrap_optional_body(operation);
            for answer in answers(path, operation) {
                if let Some(responses) = operation["responses"].as_object_mut() {
                    responses
                        .entry(answer.status)
                        .or_insert_with(|| envelope(answer.description));
                }
            }
            if let Some(responses) = operation["responses"].as_object_mut() {
                document_headers(responses);
                describe_missing(responses);
            }
        }
    }
}
