//! Constraints the server enforces that the schema derive cannot write:
//! lengths counted after trimming (with whitespace exactly as Rust's
//! `str::trim` sees it, Unicode White_Space, not a regex's `\s`), timestamps
//! that must be valid dates, fields that go together or exclude values.
//! Merged into the collected document by schema and property (or operation
//! and parameter) name; a name that no longer exists fails the conformance
//! test, so a renamed field cannot silently lose its rule.

use agents_domain::account::RESERVED_SLUGS;
use serde_json::{Value, json};

/// Rust's whitespace as the body of a regex character class.
macro_rules! ws {
    () => {
        r"\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// 1 to `N` characters after trimming: `N - 2` is the middle's maximum.
macro_rules! trimmed {
    ($middle:literal) => {
        concat!(
            "^[",
            ws!(),
            "]*[^",
            ws!(),
            "]([\\s\\S]{0,",
            $middle,
            "}[^",
            ws!(),
            "])?[",
            ws!(),
            "]*$"
        )
    };
}

/// 1 to 128 characters after trimming (tenant names).
pub const TRIMMED_1_128: &str = trimmed!("126");

/// Blank, or 1 to 128 characters after trimming (a display name: blank is none).
pub const BLANK_OR_TRIMMED_1_128: &str = concat!(
    "^[",
    ws!(),
    "]*([^",
    ws!(),
    "]([\\s\\S]{0,126}[^",
    ws!(),
    "])?)?[",
    ws!(),
    "]*$"
);

/// 1 to 100 characters after trimming (API key names).
pub const TRIMMED_1_100: &str = trimmed!("98");

/// 1 to 200 characters after trimming (search text).
pub const TRIMMED_1_200: &str = trimmed!("198");

/// 1 to 32,000 characters after trimming (a chat message).
pub const TRIMMED_1_32000: &str = trimmed!("31998");

/// An RFC 3339 timestamp with a valid month, day and time of day
/// (`format: date-time` alone is only an annotation in JSON Schema 2020-12).
pub const RFC3339: &str = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$";

/// A UUID in its hyphenated form, any case.
pub const UUID: &str =
    "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

/// Sets `key` to `value` in the schema of `property` of component `schema`.
fn property(doc: &mut Value, schema: &str, property: &str, key: &str, value: Value) {
    if let Some(target) = doc.pointer_mut(&format!(
        "/components/schemas/{schema}/properties/{property}"
    )) {
        target[key] = value;
    }
}

/// Sets `key` to `value` in component `schema` itself.
fn schema(doc: &mut Value, schema: &str, key: &str, value: Value) {
    if let Some(target) = doc.pointer_mut(&format!("/components/schemas/{schema}")) {
        target[key] = value;
    }
}

/// Sets `key` to `value` in the schema of parameter `name` of every
/// operation under `path`.
fn parameter(doc: &mut Value, path: &str, name: &str, key: &str, value: Value) {
    let Some(item) = doc
        .pointer_mut(&format!(
            "/paths/{}",
            path.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for operation in item.values_mut() {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for parameter in parameters.iter_mut().filter(|p| p["name"] == name) {
            parameter["schema"][key] = value.clone();
        }
    }
}

/// A field that, when present, is not null.
fn present(field: &str) -> Value {
    json!({"required": [field], "properties": {field: {"not": {"type": "null"}}}})
}

/// Applies every rule to the document's JSON.
pub fn apply(doc: &mut Value) {
    property(
        doc,
        "ChatBody",
        "message",
        "pattern",
        json!(TRIMMED_1_32000),
    );
    property(
        doc,
        "CreateTenantRequest",
        "name",
        "pattern",
        json!(TRIMMED_1_128),
    );
    property(
        doc,
        "RegisterRequest",
        "display_name",
        "pattern",
        json!(BLANK_OR_TRIMMED_1_128),
    );
    property(
        doc,
        "CreateKeyRequest",
        "name",
        "pattern",
        json!(TRIMMED_1_100),
    );
    property(
        doc,
        "CreateKeyRequest",
        "expires_at",
        "pattern",
        json!(RFC3339),
    );
    parameter(
        doc,
        "/api/v1/conversations/search",
        "q",
        "pattern",
        json!(TRIMMED_1_200),
    );
    parameter(
        doc,
        "/api/v1/tenants/{tenant_id}/members/{user_id}",
        "user_id",
        "pattern",
        json!(UUID),
    );
    // Slugs the server never hands out.
    property(
        doc,
        "CreateTenantRequest",
        "slug",
        "not",
        json!({"enum": RESERVED_SLUGS}),
    );
    for field in ["period_start", "period_end"] {
        property(doc, "UsageRequest", field, "pattern", json!(RFC3339));
        parameter(
            doc,
            "/api/v1/billing/tenants/{tenant_id}/usage",
            field,
            "pattern",
            json!(RFC3339),
        );
    }
    // A period is both ends or none.
    schema(
        doc,
        "UsageRequest",
        "anyOf",
        json!([
            {"properties": {"period_start": {"type": "null"}, "period_end": {"type": "null"}}},
            {"allOf": [present("period_start"), present("period_end")]},
        ]),
    );
    // A change names at least one thing to change.
    schema(
        doc,
        "UpdateSubscriptionRequest",
        "anyOf",
        json!(
            ["plan_code", "auto_renew", "billing_email", "seat_count"]
                .map(present)
                .to_vec()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, value: &str) -> bool {
        jsonschema::validator_for(&json!({"pattern": pattern}))
            .expect("the pattern compiles")
            .is_valid(&json!(value))
    }

    #[test]
    fn trimmed_lengths_follow_rusts_trim() {
        for value in [
            "a",
            "  a b  ",
            "",
            " \u{85} \t",
            "\u{feff}",
            "\n\u{3000}x\u{2028}",
            "\u{a0}",
        ] {
            let rust = !value.trim().is_empty() && value.trim().chars().count() <= 200;
            assert_eq!(matches(TRIMMED_1_200, value), rust, "{value:?}");
        }
        assert!(matches(TRIMMED_1_200, &format!("  {}  ", "é".repeat(200))));
        assert!(!matches(TRIMMED_1_200, &"é".repeat(201)));
        assert!(matches(BLANK_OR_TRIMMED_1_128, "   "));
        assert!(matches(BLANK_OR_TRIMMED_1_128, ""));
        assert!(matches(BLANK_OR_TRIMMED_1_128, " Zoë "));
        assert!(!matches(BLANK_OR_TRIMMED_1_128, &"x".repeat(129)));
    }

    #[test]
    fn timestamps_and_uuids() {
        assert!(matches(RFC3339, "2026-12-01T05:06:31.024572Z"));
        assert!(matches(RFC3339, "2026-12-01t05:06:31+01:00"));
        assert!(!matches(RFC3339, ""));
        assert!(!matches(RFC3339, "2026-13-01T05:06:31Z"));
        assert!(matches(UUID, "0B7E5F9E-8a51-4d3c-9f5e-2f6f7d1c9a10"));
        assert!(!matches(UUID, "0b7e5f9e8a514d3c9f5e2f6f7d1c9a10"));
    }
}
