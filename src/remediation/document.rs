//! Policy documents as ordered JSON trees: parse, edit in place, print minified (what AWS
//! counts) or pretty (what a diff shows), independent of `serde_json`'s map ordering.

use crate::policy::json::{Json, write_string};

use super::error::DocumentError;

/// Parses a policy document, keeping key order.
pub(crate) fn parse(text: &str) -> Result<Json, DocumentError> {
    serde_json::from_str::<Json>(text).map_err(|e| DocumentError::InvalidJson {
        message: e.to_string(),
    })
}

/// The document without insignificant whitespace, keys in document order.
pub(crate) fn minified(json: &Json) -> String {
    json.minified()
}

/// Two-space indented, like `serde_json::to_string_pretty`, with a final newline.
pub(crate) fn pretty(json: &Json) -> String {
    let mut out = String::new();
    write_pretty(json, 0, &mut out);
    out.push('\n');
    out
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_pretty(json: &Json, level: usize, out: &mut String) {
    match json {
        Json::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(level + 1, out);
                write_pretty(item, level + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(level, out);
            out.push(']');
        }
        Json::Object(entries) if !entries.is_empty() => {
            out.push_str("{\n");
            for (i, (key, value)) in entries.iter().enumerate() {
                indent(level + 1, out);
                write_string(key, out);
                out.push_str(": ");
                write_pretty(value, level + 1, out);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            indent(level, out);
            out.push('}');
        }
        other => out.push_str(&other.minified()),
    }
}

/// A string for one value, an array for several (the way policies are usually written).
pub(crate) fn one_or_many(values: &[String]) -> Json {
    match values {
        [one] => Json::String(one.clone()),
        many => Json::Array(many.iter().cloned().map(Json::String).collect()),
    }
}

pub(crate) fn strings(values: &[String]) -> Json {
    Json::Array(values.iter().cloned().map(Json::String).collect())
}

/// The strings of a string-or-array value (other items are skipped).
pub(crate) fn string_list(json: &Json) -> Vec<String> {
    match json {
        Json::String(s) => vec![s.clone()],
        Json::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Json::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Looks a key up in an object (exact match).
pub(crate) fn get<'a>(json: &'a Json, key: &str) -> Option<&'a Json> {
    match json {
        Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Looks a key up in an object, ignoring ASCII case (condition keys are case-insensitive).
pub(crate) fn get_ignore_case<'a>(json: &'a Json, key: &str) -> Option<&'a Json> {
    match json {
        Json::Object(entries) => entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

pub(crate) fn get_mut<'a>(json: &'a mut Json, key: &str) -> Option<&'a mut Json> {
    match json {
        Json::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

/// The object under `key`, created (appended, empty) when missing; `None` when `json` is not
/// an object or the key holds something else.
pub(crate) fn object_entry<'a>(json: &'a mut Json, key: &str) -> Option<&'a mut Json> {
    let Json::Object(entries) = json else {
        return None;
    };
    let index = match entries.iter().position(|(k, _)| k == key) {
        Some(index) => index,
        None => {
            entries.push((key.to_string(), Json::Object(Vec::new())));
            entries.len() - 1
        }
    };
    match entries.get_mut(index) {
        Some((_, value @ Json::Object(_))) => Some(value),
        _ => None,
    }
}

/// Sets `key` in place (keeping its position) or appends it.
pub(crate) fn set(json: &mut Json, key: &str, value: Json) {
    if let Json::Object(entries) = json {
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key.to_string(), value)),
        }
    }
}

/// The `Statement` list of a policy (a single statement object counts as a list of one).
pub(crate) fn statements(policy: &Json) -> Vec<&Json> {
    match get(policy, "Statement") {
        Some(Json::Array(items)) => items.iter().collect(),
        Some(object @ Json::Object(_)) => vec![object],
        _ => Vec::new(),
    }
}

/// The `Statement` list, made an array when it was a single object.
pub(crate) fn statements_mut(policy: &mut Json) -> Option<&mut Vec<Json>> {
    let statement = get_mut(policy, "Statement")?;
    if let Json::Object(_) = statement {
        let single = std::mem::replace(statement, Json::Null);
        *statement = Json::Array(vec![single]);
    }
    match statement {
        Json::Array(items) => Some(items),
        _ => None,
    }
}

pub(crate) fn sid(statement: &Json) -> Option<String> {
    match get(statement, "Sid") {
        Some(Json::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The values of `operator` → `key` in a statement's Condition (key compared ignoring case).
pub(crate) fn condition_values(statement: &Json, operator: &str, key: &str) -> Vec<String> {
    get(statement, "Condition")
        .and_then(|c| get(c, operator))
        .and_then(|block| get_ignore_case(block, key))
        .map(string_list)
        .unwrap_or_default()
}

/// Adds `values` under `Condition` → `operator` → `key`: appended to an existing key (the
/// spelling already there is kept), or a new key in an existing operator block, or a new block.
pub(crate) fn merge_condition(statement: &mut Json, operator: &str, key: &str, values: &[String]) {
    let Some(condition) = object_entry(statement, "Condition") else {
        return;
    };
    let Some(block) = object_entry(condition, operator) else {
        return;
    };
    let Json::Object(entries) = block else {
        return;
    };
    match entries
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
    {
        Some((_, existing)) => {
            let mut list = string_list(existing);
            for value in values {
                if !list.contains(value) {
                    list.push(value.clone());
                }
            }
            *existing = one_or_many(&list);
        }
        None => entries.push((key.to_string(), one_or_many(values))),
    }
}

/// A fresh `{"Version":"2012-10-17","Statement":[…]}`.
pub(crate) fn policy_of(statements: Vec<Json>) -> Json {
    Json::Object(vec![
        (
            "Version".to_string(),
            Json::String(crate::policy::POLICY_VERSION.to_string()),
        ),
        ("Statement".to_string(), Json::Array(statements)),
    ])
}

/// Builds an object from ordered pairs.
pub(crate) fn object(entries: Vec<(&str, Json)>) -> Json {
    Json::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A unified diff of two pretty documents, `a/<file>` → `b/<file>`.
pub(crate) fn unified_diff(file: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_serde_json() {
        // Keys sorted, so the comparison holds with or without serde_json's `preserve_order`.
        let text = r#"{"Statement":[{"Action":["a:b","c:*"],"Condition":{"Bool":{"aws:x":"true"}},"E":[],"Effect":"Deny","O":{},"Resource":"*","Sid":"A"}],"Version":"2012-10-17"}"#;
        let json = parse(text).unwrap_or(Json::Null);
        let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let expected = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
        assert_eq!(pretty(&json), expected);
        assert_eq!(minified(&json), text);
    }

    #[test]
    fn merge_appends_to_an_existing_key() {
        let mut statement = parse(
            r#"{"Effect":"Deny","Condition":{"ArnNotLike":{"bedrock:inferenceProfileArn":"x"}}}"#,
        )
        .unwrap_or(Json::Null);
        merge_condition(
            &mut statement,
            "ArnNotLike",
            "bedrock:InferenceProfileArn",
            &["y".to_string()],
        );
        assert_eq!(
            minified(&statement),
            r#"{"Effect":"Deny","Condition":{"ArnNotLike":{"bedrock:inferenceProfileArn":["x","y"]}}}"#
        );
    }
}
