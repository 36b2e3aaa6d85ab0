//! Is a policy document well-formed? The closed part of the IAM grammar, which decides whether
//! a document the engine cannot parse is bad input (exit 3) or only *uninterpretable*.
//!
//! AWS validates every SCP it stores, so a document from `DescribePolicy` is well-formed: valid
//! JSON within the size and nesting limits, no repeated key, an object with `Version` and
//! `Statement`, statements that are objects with an `Effect` of `Allow` or `Deny`, exactly one
//! of `Action`/`NotAction`, at most one of `Resource`/`NotResource`, no `Principal` (SCPs have
//! none), unique `Sid`s, and the JSON types the grammar fixes (strings or non-empty lists of
//! strings; `Condition` an object of operators, each an object of keys whose values are
//! scalars or lists of scalars). None of that can change without AWS changing the language, so
//! a document that breaks it was not written by AWS: it is malformed input.
//!
//! The rest is open vocabulary that AWS extends and our parser may lag behind: element and
//! condition operator names, the `Version` value, and the syntax of values (actions, ARN
//! patterns, policy variables, dates, numbers, IP ranges, booleans). A document the parser
//! refuses only for those is *uninterpretable*: it loads, and every target whose SCP chain
//! holds it is `unknown` with the parser's reason (see [`super::load_policy`]).
//!
//! This check runs only on documents the parser refused, so it can never make a document the
//! parser accepts fail; and where it is more lenient than the parser, the result is
//! `unknown`, never a wrong decision.

use std::collections::HashSet;

use crate::policy::json::Json;

/// The deepest nesting the policy parser accepts (`crate::policy`'s limit); no real SCP comes
/// close (a condition value sits at depth 6).
const MAX_DEPTH: usize = 32;

/// Where (the JSON path below the document, `.Statement[0].Effect`, empty for the document)
/// and how the document breaks the closed grammar; `None` when it is well-formed.
pub fn malformation(text: &str) -> Option<(String, String)> {
    let document: Json = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(err) => return Some((String::new(), format!("invalid JSON: {err}"))),
    };
    if depth_over(&document, 0) {
        return Some((
            String::new(),
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    if let Some(found) = duplicate_key(&document, "") {
        return Some(found);
    }
    document_shape(&document).err()
}

type Shape = Result<(), (String, String)>;

fn fail(path: impl Into<String>, message: impl Into<String>) -> Shape {
    Err((path.into(), message.into()))
}

fn depth_over(value: &Json, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    match value {
        Json::Array(items) => items.iter().any(|v| depth_over(v, depth + 1)),
        Json::Object(entries) => entries.iter().any(|(_, v)| depth_over(v, depth + 1)),
        _ => false,
    }
}

/// The first key that appears twice in one object, in document order.
fn duplicate_key(value: &Json, path: &str) -> Option<(String, String)> {
    match value {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| duplicate_key(item, &format!("{path}[{i}]"))),
        Json::Object(entries) => {
            let mut seen = HashSet::new();
            for (key, _) in entries {
                if !seen.insert(key.as_str()) {
                    return Some((format!("{path}.{key}"), format!("duplicate key `{key}`")));
                }
            }
            entries
                .iter()
                .find_map(|(key, item)| duplicate_key(item, &format!("{path}.{key}")))
        }
        _ => None,
    }
}

fn get<'a>(entries: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn document_shape(document: &Json) -> Shape {
    let Json::Object(top) = document else {
        return fail("", format!("expected an object, found {}", document.kind()));
    };
    match get(top, "Version") {
        None => return fail("", "missing `Version`"),
        Some(Json::String(_)) => {}
        Some(other) => {
            return fail(
                ".Version",
                format!("expected a string, found {}", other.kind()),
            );
        }
    }
    let statements: Vec<(&Json, String)> = match get(top, "Statement") {
        None => return fail("", "missing `Statement`"),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (s, format!(".Statement[{i}]")))
            .collect(),
        Some(object @ Json::Object(_)) => vec![(object, ".Statement".to_string())],
        Some(other) => {
            return fail(
                ".Statement",
                format!("expected an object or an array, found {}", other.kind()),
            );
        }
    };
    let mut sids = HashSet::new();
    for (statement, path) in statements {
        statement_shape(statement, &path)?;
        if let Json::Object(entries) = statement
            && let Some(Json::String(sid)) = get(entries, "Sid")
            && !sids.insert(sid.as_str())
        {
            return fail(format!("{path}.Sid"), format!("duplicate Sid `{sid}`"));
        }
    }
    Ok(())
}

fn statement_shape(statement: &Json, path: &str) -> Shape {
    let Json::Object(entries) = statement else {
        return fail(
            path,
            format!("expected a statement object, found {}", statement.kind()),
        );
    };
    for (key, value) in entries {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "Sid" if !matches!(value, Json::String(_)) => {
                return fail(at, format!("expected a string, found {}", value.kind()));
            }
            "Effect" => match value {
                Json::String(s) if s == "Allow" || s == "Deny" => {}
                Json::String(s) => {
                    return fail(at, format!("effect `{s}` is neither `Allow` nor `Deny`"));
                }
                other => return fail(at, format!("expected a string, found {}", other.kind())),
            },
            "Action" | "NotAction" | "Resource" | "NotResource" => string_list(value, &at)?,
            "Condition" => condition_shape(value, &at)?,
            "Principal" | "NotPrincipal" => {
                return fail(at, format!("SCPs do not support `{key}`"));
            }
            // Another element: open vocabulary (uninterpretable, not malformed).
            _ => {}
        }
    }
    let has = |key: &str| get(entries, key).is_some();
    if !has("Effect") {
        return fail(path, "missing `Effect`");
    }
    match (has("Action"), has("NotAction")) {
        (false, false) => return fail(path, "missing `Action` or `NotAction`"),
        (true, true) => {
            return fail(
                format!("{path}.NotAction"),
                "a statement has either Action or NotAction, not both",
            );
        }
        _ => {}
    }
    if has("Resource") && has("NotResource") {
        return fail(
            format!("{path}.NotResource"),
            "a statement has either Resource or NotResource, not both",
        );
    }
    Ok(())
}

/// A string or a non-empty array of strings.
fn string_list(value: &Json, path: &str) -> Shape {
    match value {
        Json::String(_) => Ok(()),
        Json::Array(items) if items.is_empty() => fail(path, "empty list"),
        Json::Array(items) => match items
            .iter()
            .enumerate()
            .find(|(_, item)| !matches!(item, Json::String(_)))
        {
            Some((i, item)) => fail(
                format!("{path}[{i}]"),
                format!("expected a string, found {}", item.kind()),
            ),
            None => Ok(()),
        },
        other => fail(
            path,
            format!(
                "expected a string or an array of strings, found {}",
                other.kind()
            ),
        ),
    }
}

fn condition_shape(value: &Json, path: &str) -> Shape {
    let Json::Object(operators) = value else {
        return fail(path, format!("expected an object, found {}", value.kind()));
    };
    for (operator, keys) in operators {
        let at = format!("{path}.{operator}");
        let Json::Object(keys) = keys else {
            return fail(
                at,
                format!(
                    "expected an object of condition keys, found {}",
                    keys.kind()
                ),
            );
        };
        if keys.is_empty() {
            return fail(at, "no condition keys");
        }
        for (key, values) in keys {
            let key_at = format!("{at}.{key}");
            let scalar = |v: &Json| matches!(v, Json::String(_) | Json::Number(_) | Json::Bool(_));
            match values {
                Json::Array(items) => {
                    if let Some((i, item)) = items.iter().enumerate().find(|(_, v)| !scalar(v)) {
                        return fail(
                            format!("{key_at}[{i}]"),
                            format!(
                                "expected a string, number or boolean, found {}",
                                item.kind()
                            ),
                        );
                    }
                }
                other if scalar(other) => {}
                other => {
                    return fail(
                        key_at,
                        format!(
                            "expected a string, number, boolean or an array of them, found {}",
                            other.kind()
                        ),
                    );
                }
            }
        }
    }
    Ok(())
}
