//! CloudFormation intrinsic functions in a policy document, resolved to text for one source
//! Region: `Fn::Sub`, `Ref` and `Fn::Join` with the pseudo-parameters the check fixes
//! (`AWS::Region`, `AWS::AccountId`, `AWS::Partition`, `AWS::URLSuffix`). Anything else (a
//! template parameter, `Fn::GetAtt`, `Fn::If`, …) is unknown: it is written as a wildcard when
//! that can only widen what the statement grants or denies (`Unknown::Wide`), or as a value that
//! matches nothing (`Unknown::Narrow`), so evaluating both ways brackets the real answer.

use serde_json::{Map, Value as Json};

use super::source::{Node, Value};

/// The facts `Fn::Sub` and `Ref` may use.
#[derive(Debug, Clone)]
pub struct Env {
    pub region: String,
    pub account: String,
    pub partition: String,
}

/// How an unknown value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    Wide,
    Narrow,
}

/// What matches no ARN, action or condition value a request carries.
const NOTHING: &str = "unresolved-by-cris-guard";

/// Converts a policy document to JSON. `unknown_for(effect)` says how to write unknown values
/// inside a statement of that effect; `notes` collects what was unknown, once each.
pub fn document(
    node: &Node,
    env: &Env,
    unknown_for: impl Fn(&str) -> Unknown,
    notes: &mut Vec<String>,
) -> Json {
    let Value::Map(entries) = &node.value else {
        return plain(node, env, Unknown::Narrow, notes);
    };
    let mut out = Map::new();
    for (key, value) in entries {
        let json = if key == "Statement" {
            let statements: Vec<Json> = value
                .items()
                .into_iter()
                .map(|s| {
                    let effect = s.get("Effect").and_then(Node::as_str).unwrap_or("Allow");
                    plain(s, env, unknown_for(effect), notes)
                })
                .collect();
            match &value.value {
                Value::Seq(_) => Json::Array(statements),
                _ => statements.into_iter().next().unwrap_or(Json::Null),
            }
        } else {
            plain(value, env, Unknown::Narrow, notes)
        };
        out.insert(key.clone(), json);
    }
    Json::Object(out)
}

fn plain(node: &Node, env: &Env, unknown: Unknown, notes: &mut Vec<String>) -> Json {
    if let Some(text) = intrinsic(node, env, notes) {
        return Json::String(render(&text, unknown));
    }
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        // IAM reads numbers in conditions as strings; so does the engine.
        Value::Number(n) => Json::String(n.clone()),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(
            items
                .iter()
                .map(|i| plain(i, env, unknown, notes))
                .collect(),
        ),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), plain(v, env, unknown, notes)))
                .collect(),
        ),
    }
}

/// A resolved string: literal text and unknown holes.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Hole,
}

fn render(parts: &[Part], unknown: Unknown) -> String {
    parts
        .iter()
        .map(|p| match (p, unknown) {
            (Part::Text(t), _) => t.as_str(),
            (Part::Hole, Unknown::Wide) => "*",
            (Part::Hole, Unknown::Narrow) => NOTHING,
        })
        .collect()
}

/// The text of an intrinsic-function node; `None` when the node is not one.
fn intrinsic(node: &Node, env: &Env, notes: &mut Vec<String>) -> Option<Vec<Part>> {
    let Value::Map(entries) = &node.value else {
        return None;
    };
    let [(name, argument)] = entries.as_slice() else {
        return None;
    };
    if name != "Ref" && !name.starts_with("Fn::") {
        return None;
    }
    Some(match name.as_str() {
        "Ref" => reference(argument.as_str().unwrap_or_default(), env, notes, node.line),
        "Fn::Sub" => sub(argument, env, notes),
        "Fn::Join" => join(argument, env, notes),
        other => {
            note(
                notes,
                format!(
                    "line {}: `{other}` cannot be resolved statically; treated as unknown",
                    node.line
                ),
            );
            vec![Part::Hole]
        }
    })
}

fn note(notes: &mut Vec<String>, text: String) {
    if !notes.contains(&text) {
        notes.push(text);
    }
}

fn reference(name: &str, env: &Env, notes: &mut Vec<String>, line: usize) -> Vec<Part> {
    let known = match name {
        "AWS::Region" => Some(env.region.clone()),
        "AWS::AccountId" => Some(env.account.clone()),
        "AWS::Partition" => Some(env.partition.clone()),
        "AWS::URLSuffix" => Some("amazonaws.com".to_string()),
        _ => None,
    };
    match known {
        Some(text) => vec![Part::Text(text)],
        None => {
            note(
                notes,
                format!(
                    "line {line}: `{name}` is not a pseudo-parameter the check fixes; treated as unknown"
                ),
            );
            vec![Part::Hole]
        }
    }
}

fn text_of(node: &Node, env: &Env, notes: &mut Vec<String>) -> Vec<Part> {
    if let Some(parts) = intrinsic(node, env, notes) {
        return parts;
    }
    match &node.value {
        Value::Str(s) | Value::Number(s) => vec![Part::Text(s.clone())],
        _ => {
            note(
                notes,
                format!(
                    "line {}: a non-text value inside a string function; treated as unknown",
                    node.line
                ),
            );
            vec![Part::Hole]
        }
    }
}

fn sub(argument: &Node, env: &Env, notes: &mut Vec<String>) -> Vec<Part> {
    let (template, variables) = match &argument.value {
        Value::Seq(items) => (items.first(), items.get(1)),
        _ => (Some(argument), None),
    };
    let Some(template) = template.and_then(Node::as_str) else {
        return vec![Part::Hole];
    };
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        parts.push(Part::Text(before.to_string()));
        let Some(end) = after.find('}') else {
            parts.push(Part::Text(after.to_string()));
            rest = "";
            break;
        };
        let name = &after[2..end];
        rest = &after[end + 1..];
        if let Some(literal) = name.strip_prefix('!') {
            // `${!Literal}` writes `${Literal}`.
            parts.push(Part::Text(format!("${{{literal}}}")));
        } else if let Some(value) = variables.and_then(|v| v.get(name)) {
            parts.extend(text_of(value, env, notes));
        } else if name.contains(':') && !name.starts_with("AWS::") {
            // An IAM policy variable such as `${aws:PrincipalTag/team}`, kept for IAM.
            parts.push(Part::Text(format!("${{{name}}}")));
        } else {
            parts.extend(reference(name, env, notes, argument.line));
        }
    }
    parts.push(Part::Text(rest.to_string()));
    parts
}

fn join(argument: &Node, env: &Env, notes: &mut Vec<String>) -> Vec<Part> {
    let Value::Seq(items) = &argument.value else {
        return vec![Part::Hole];
    };
    let (Some(delimiter), Some(list)) = (items.first().and_then(Node::as_str), items.get(1)) else {
        return vec![Part::Hole];
    };
    let Value::Seq(values) = &list.value else {
        return vec![Part::Hole];
    };
    let mut parts = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            parts.push(Part::Text(delimiter.to_string()));
        }
        parts.extend(text_of(value, env, notes));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            region: "eu-west-1".to_string(),
            account: "111122223333".to_string(),
            partition: "aws".to_string(),
        }
    }

    fn resolve(yaml: &str, unknown: Unknown) -> (Json, Vec<String>) {
        let node: Node = serde_saphyr::from_str(yaml).unwrap();
        let mut notes = Vec::new();
        let json = plain(&node, &env(), unknown, &mut notes);
        (json, notes)
    }

    #[test]
    fn sub_and_join_resolve_pseudo_parameters_and_keep_iam_variables() {
        let (json, notes) = resolve(
            "- !Sub arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:x/${aws:username}\n- !Join [':', [a, !Ref AWS::Region]]\n- !Sub ['${A}-${AWS::Region}', {A: !Ref AWS::AccountId}]",
            Unknown::Narrow,
        );
        assert_eq!(
            json,
            serde_json::json!([
                "arn:aws:bedrock:eu-west-1:111122223333:x/${aws:username}",
                "a:eu-west-1",
                "111122223333-eu-west-1"
            ])
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn parameters_and_get_att_are_unknown_and_said_so() {
        let (wide, notes) = resolve(
            "!Sub 'arn:aws:bedrock:*::foundation-model/${ModelId}'",
            Unknown::Wide,
        );
        assert_eq!(
            wide,
            Json::String("arn:aws:bedrock:*::foundation-model/*".to_string())
        );
        assert!(notes[0].contains("`ModelId`"), "{notes:?}");
        let (narrow, notes) = resolve("!GetAtt Role.Arn", Unknown::Narrow);
        assert_eq!(narrow, Json::String(NOTHING.to_string()));
        assert!(notes[0].contains("Fn::GetAtt"), "{notes:?}");
    }
}
