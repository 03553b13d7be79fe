//! A small JSON Schema validator for tool arguments: the subset our tool
//! schemas use (object, typed properties, `required`, `enum`, string
//! lengths, numeric bounds, `additionalProperties: false`). Keywords outside
//! the subset are ignored, so a richer schema only validates less strictly.

use serde_json::{Map, Value};

/// Checks `arguments` against `schema`; the error says, for the model, what
/// to fix (e.g. "'query' is required").
pub fn validate_arguments(schema: &Value, arguments: &Value) -> Result<(), String> {
    check(schema, arguments, "arguments")
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(kind) = schema.get("type") {
        check_type(kind, value, path)?;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!(
            "{path} must be one of {}",
            Value::Array(allowed.clone())
        ));
    }
    match value {
        Value::String(text) => check_string(schema, text, path),
        Value::Number(_) => check_number(schema, value, path),
        Value::Object(fields) => check_object(schema, fields),
        Value::Array(items) => match schema.get("items") {
            Some(item_schema) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| check(item_schema, item, &format!("{path}[{i}]"))),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn check_type(kind: &Value, value: &Value, path: &str) -> Result<(), String> {
    let names: Vec<&str> = match kind {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    if names.is_empty() || names.iter().any(|name| has_type(name, value)) {
        return Ok(());
    }
    Err(format!("{path} must be of type {}", names.join(" or ")))
}

fn has_type(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        // JSON Schema counts 3.0 as an integer.
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        // An unknown type name is a schema we do not understand: let it pass.
        _ => true,
    }
}

fn check_string(schema: &Map<String, Value>, text: &str, path: &str) -> Result<(), String> {
    let length = text.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        return Err(format!("{path} must be at least {min} characters long"));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        return Err(format!("{path} must be at most {max} characters long"));
    }
    Ok(())
}

fn check_number(schema: &Map<String, Value>, value: &Value, path: &str) -> Result<(), String> {
    let Some(number) = value.as_f64() else {
        return Ok(());
    };
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && number < min
    {
        return Err(format!("{path} must be at least {}", schema["minimum"]));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && number > max
    {
        return Err(format!("{path} must be at most {}", schema["maximum"]));
    }
    Ok(())
}

fn check_object(schema: &Map<String, Value>, fields: &Map<String, Value>) -> Result<(), String> {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                return Err(format!("'{name}' is required"));
            }
        }
    }
    for (name, value) in fields {
        match properties.and_then(|p| p.get(name)) {
            Some(property) => check(property, value, &format!("'{name}'"))?,
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                let mut known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                known.sort_unstable();
                let hint = if known.is_empty() {
                    "this tool takes no arguments".to_owned()
                } else {
                    format!("allowed: {}", known.join(", "))
                };
                return Err(format!("unknown argument '{name}' ({hint})"));
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn search_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20},
                "ratio": {"type": "number", "minimum": 0.5},
                "exact": {"type": "boolean"},
                "mode": {"type": "string", "enum": ["fast", "deep"]}
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    #[test]
    fn valid_arguments_pass() {
        let schema = search_schema();
        assert_eq!(
            validate_arguments(&schema, &json!({"query": "rust"})),
            Ok(())
        );
        let full = json!({"query": "q", "limit": 20, "ratio": 0.5, "exact": true, "mode": "deep"});
        assert_eq!(validate_arguments(&schema, &full), Ok(()));
        assert_eq!(
            validate_arguments(&schema, &json!({"query": "q", "limit": 3.0})),
            Ok(())
        );
    }

    #[test]
    fn each_rule_is_enforced_with_a_readable_message() {
        let schema = search_schema();
        let cases = [
            (json!([]), "arguments must be of type object"),
            (json!({}), "'query' is required"),
            (
                json!({"query": ""}),
                "'query' must be at least 1 characters long",
            ),
            (json!({"query": 5}), "'query' must be of type string"),
            (
                json!({"query": "q", "limit": 0}),
                "'limit' must be at least 1",
            ),
            (
                json!({"query": "q", "limit": 21}),
                "'limit' must be at most 20",
            ),
            (
                json!({"query": "q", "limit": 2.5}),
                "'limit' must be of type integer",
            ),
            (
                json!({"query": "q", "ratio": 0.1}),
                "'ratio' must be at least 0.5",
            ),
            (
                json!({"query": "q", "exact": "yes"}),
                "'exact' must be of type boolean",
            ),
            (
                json!({"query": "q", "mode": "slow"}),
                "'mode' must be one of [\"fast\",\"deep\"]",
            ),
            (
                json!({"query": "q", "extra": 1}),
                "unknown argument 'extra' (allowed: exact, limit, mode, query, ratio)",
            ),
        ];
        for (arguments, expected) in cases {
            assert_eq!(
                validate_arguments(&schema, &arguments),
                Err(expected.to_owned()),
                "{arguments}"
            );
        }
    }

    #[test]
    fn a_tool_without_arguments_rejects_any() {
        let schema = json!({"type": "object", "properties": {}, "additionalProperties": false});
        assert_eq!(validate_arguments(&schema, &json!({})), Ok(()));
        assert_eq!(
            validate_arguments(&schema, &json!({"tz": "UTC"})),
            Err("unknown argument 'tz' (this tool takes no arguments)".to_owned())
        );
    }

    #[test]
    fn unknown_keywords_and_open_objects_are_lenient() {
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "integer", "format": "int32"}}});
        assert_eq!(
            validate_arguments(&schema, &json!({"n": 1, "other": true})),
            Ok(())
        );
        assert_eq!(validate_arguments(&json!(true), &json!("anything")), Ok(()));
    }
}
