//! Field-exact validation errors from serde: each wrong field named by its
//! JSON path (`seat_count`, `features.0.key`) or parameter name (`limit`),
//! one entry per wrong field, with a message in JSON terms that never names
//! a Rust type.

use agents_domain::FieldError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A serde path as API.md spells it: segments joined by dots.
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// What serde said was expected, in the words of a JSON client.
fn describe_expected(expected: &str) -> String {
    let expected = expected.trim();
    match expected {
        "a string" | "string" | "a borrowed string" | "a character" => "a string".into(),
        "a boolean" | "bool" => "true or false".into(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".into(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "an integer of 0 or more".into(),
        "f32" | "f64" => "a number".into(),
        e if e.starts_with("struct ") || e.starts_with("a map") || e == "map" => "an object".into(),
        e if e.starts_with("a sequence") || e.starts_with("tuple") || e.starts_with("a tuple") => {
            "an array".into()
        }
        e if e.contains("RFC3339") || e.contains("RFC 3339") => "an RFC 3339 timestamp".into(),
        e if e.starts_with("one of ") => e.replace('`', ""),
        _ => "a valid value".into(),
    }
}

/// The JSON kind of a value, for "got ..." in messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Rewrites one serde message; `found` is the offending JSON value when known.
pub(crate) fn friendly(message: &str, found: Option<&Value>) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let expected = message.split_once(", expected ").map(|(_, e)| e);
    if message.starts_with("invalid type:") {
        let want = describe_expected(expected.unwrap_or_default());
        return match found {
            Some(value) => format!("must be {want}, not {}", kind(value)),
            None => format!("must be {want}"),
        };
    }
    if message.starts_with("invalid value:") {
        return format!(
            "must be {}",
            describe_expected(expected.unwrap_or_default())
        );
    }
    if message.starts_with("unknown variant") {
        return match expected {
            Some(e) => format!("must be {}", describe_expected(e)),
            None => "is not an accepted value".into(),
        };
    }
    if message.starts_with("invalid length") {
        return "has the wrong number of items".into();
    }
    if message.starts_with("unknown field") {
        return "is not a known field".into();
    }
    if message.starts_with("duplicate field") {
        return "is given more than once".into();
    }
    if message.starts_with("missing field") {
        return "is required".into();
    }
    // Parse errors of numbers in query strings (std's wording).
    if message.contains("digit") || message.contains("number too") {
        return "must be a whole number".into();
    }
    // A message of our own Deserialize impls (or a library's) passes when
    // it cannot name a Rust item.
    if message.contains('`') || message.contains("struct") || message.contains("enum") {
        "has an invalid value".into()
    } else {
        message.to_owned()
    }
}

/// The value at a dotted path, for messages.
fn value_at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(root);
    }
    path.split('.')
        .try_fold(root, |value, segment| match value {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

/// The field a "missing field `x`" message names, under `parent`.
fn missing_field(message: &str, parent: &str) -> Option<String> {
    let name = message.strip_prefix("missing field `")?.split('`').next()?;
    Some(if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    })
}

/// Deserializes a JSON object into `T`, reporting every wrong top-level
/// field: serde stops at the first error, so the offending field is set
/// aside and the rest deserialized again until nothing else is wrong.
/// `required` (from the request's schema) names the fields that must be
/// present, all reported at once.
pub fn from_json_object<T: DeserializeOwned>(
    object: Map<String, Value>,
    required: &[String],
) -> Result<T, Vec<FieldError>> {
    let original = Value::Object(object.clone());
    let mut remaining = object;
    let mut errors: Vec<FieldError> = Vec::new();
    let reported = |errors: &Vec<FieldError>, field: &str| errors.iter().any(|e| e.field == field);
    loop {
        let attempt = serde_path_to_error::deserialize::<_, T>(Value::Object(remaining.clone()));
        let error = match attempt {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(error) => error,
        };
        let path = dotted(error.path());
        let message = error.inner().to_string();
        if let Some(field) = missing_field(&message, &path) {
            if !reported(&errors, &field) && !required.contains(&field) {
                errors.push(FieldError::new(field, "is required"));
            }
            // Root-level fields missing are all in `required`; a nested one
            // is set aside with its top-level field.
            if path.is_empty() {
                break;
            }
        } else if !reported(&errors, &path) {
            let found = value_at(&original, &path);
            errors.push(FieldError::new(
                if path.is_empty() { "body" } else { &path },
                friendly(&message, found),
            ));
        }
        let top = path.split('.').next().unwrap_or_default().to_owned();
        if top.is_empty() || remaining.remove(&top).is_none() {
            break;
        }
    }
    for field in required {
        if original.get(field.as_str()).is_none() {
            errors.push(FieldError::new(field.clone(), "is required"));
        }
    }
    Err(errors)
}

/// Deserializes a query string into `T`, reporting every wrong parameter by
/// name (a wrong one is set aside and the rest parsed again).
pub fn from_query<T: DeserializeOwned>(query: &str) -> Result<T, Vec<FieldError>> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut errors: Vec<FieldError> = Vec::new();
    loop {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        let error = match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(value) if errors.is_empty() => return Ok(value),
            Ok(_) => return Err(errors),
            Err(error) => error,
        };
        let path = dotted(error.path());
        let message = error.inner().to_string();
        if let Some(field) = missing_field(&message, "") {
            if !errors.iter().any(|e| e.field == field) {
                errors.push(FieldError::new(field, "is required"));
            }
            return Err(errors);
        }
        let found = pairs
            .iter()
            .find(|(key, _)| *key == path)
            .map(|(_, value)| Value::String(value.clone()));
        let message = match found {
            // Every query value arrives as text: say what it should be.
            Some(_) if message.starts_with("invalid type:") => friendly(&message, None),
            _ => friendly(&message, found.as_ref()),
        };
        errors.push(FieldError::new(
            if path.is_empty() { "query" } else { &path },
            message,
        ));
        let before = pairs.len();
        pairs.retain(|(key, _)| *key != path);
        if pairs.len() == before {
            return Err(errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Feature {
        key: String,
        limit: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        seat_count: Option<i64>,
        active: Option<bool>,
        #[serde(default)]
        features: Vec<Feature>,
    }

    fn errors(value: Value) -> Vec<(String, String)> {
        let Value::Object(object) = value else {
            panic!("an object")
        };
        from_json_object::<Body>(object, &["name".into()])
            .expect_err("invalid")
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn every_wrong_field_is_named_by_its_path() {
        let found = errors(json!({
            "name": 42,
            "seat_count": "two",
            "active": "yes",
            "features": [{"key": "a"}, {"key": 7}]
        }));
        // In key order (serde_json objects are sorted maps).
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["active", "features.1.key", "name", "seat_count"]);
        assert_eq!(found[0].1, "must be true or false, not a string");
        assert_eq!(found[1].1, "must be a string, not a number");
        assert_eq!(found[2].1, "must be a string, not a number");
        assert_eq!(found[3].1, "must be an integer, not a string");
    }

    #[test]
    fn missing_fields_are_listed_together_with_wrong_ones() {
        let found = errors(json!({"seat_count": 2.5, "features": [{"limit": -1}]}));
        assert_eq!(
            found,
            [
                (
                    "features.0.limit".into(),
                    "must be an integer of 0 or more".into()
                ),
                (
                    "seat_count".into(),
                    "must be an integer, not a number".into()
                ),
                ("name".into(), "is required".into()),
            ]
        );
    }

    #[test]
    fn messages_never_name_rust_types() {
        for message in [
            "invalid type: string \"x\", expected struct CancelRequest",
            "invalid type: integer `1`, expected an RFC3339-formatted `OffsetDateTime`",
            "invalid value: integer `-1`, expected u32",
            "unknown variant `x`, expected one of `owner`, `admin`",
            "custom error naming `SomeType`",
        ] {
            let shown = friendly(message, Some(&json!(1)));
            for rust in [
                "struct",
                "OffsetDateTime",
                "u32",
                "`",
                "CancelRequest",
                "SomeType",
            ] {
                assert!(!shown.contains(rust), "{message} -> {shown}");
            }
        }
        assert_eq!(
            friendly(
                "unknown variant `x`, expected one of `owner`, `admin`",
                None
            ),
            "must be one of owner, admin"
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Paging {
        q: String,
        page: Option<u64>,
        limit: Option<u64>,
    }

    #[test]
    fn query_parameters_are_named() {
        let errors = from_query::<Paging>("q=x&page=abc&limit=-1").expect_err("invalid");
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("page", "must be a whole number"),
                ("limit", "must be a whole number")
            ]
        );
        let errors = from_query::<Paging>("limit=abc").expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["limit", "q"]);
        let ok = from_query::<Paging>("q=caf%C3%A9&limit=5").expect("valid");
        assert_eq!((ok.q.as_str(), ok.limit), ("café", Some(5)));
    }
}
