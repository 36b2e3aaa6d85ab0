//! Reading `lint-iam` inputs: an identity policy document, or the IAM resources of a
//! CloudFormation/SAM template (YAML or JSON), as trees that keep each node's line and YAML tag,
//! so findings can point at a statement and `!Sub` can be told from a plain string.
//!
//! CloudFormation short tags (`!Sub`, `!Ref`, `!Join`, …) are read through serde-saphyr's
//! [`Tagged`] wrapper (unknown tags are kept, not interpreted) and turned into their long form
//! (`{"Fn::Sub": …}`) here; resolution to text happens per source Region in [`super::resolve`].

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Spanned, Tagged};

use crate::error::InputError;

/// A YAML/JSON node with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a sequence, or the node itself (IAM accepts a single value for a list).
    pub fn items(&self) -> Vec<&Node> {
        match &self.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![self],
        }
    }
}

/// The node a short tag stands for: `!Sub x` is `{"Fn::Sub": x}`, `!Ref x` is `{"Ref": x}`,
/// `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`.
fn long_form(tag: &str, node: Node) -> Node {
    let name = tag.trim_start_matches('!');
    let line = node.line;
    let (key, inner) = match name {
        "Ref" => ("Ref".to_string(), node),
        "GetAtt" => {
            let inner = match &node.value {
                Value::Str(s) => Node {
                    value: Value::Seq(
                        s.splitn(2, '.')
                            .map(|part| Node {
                                value: Value::Str(part.to_string()),
                                line,
                            })
                            .collect(),
                    ),
                    line,
                },
                _ => node,
            };
            ("Fn::GetAtt".to_string(), inner)
        }
        other => (format!("Fn::{other}"), node),
    };
    Node {
        value: Value::Map(vec![(key, inner)]),
        line,
    }
}

/// Whether a resolved tag is one of YAML's own (`!!str`, …), which changes nothing here.
fn is_core_tag(tag: &str) -> bool {
    tag.starts_with("tag:yaml.org,2002:") || tag.starts_with("!!")
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        let spanned = Spanned::<Tagged<Value>>::deserialize(deserializer)?;
        let line = usize::try_from(spanned.referenced.line()).unwrap_or(0);
        let Tagged(value, tag) = spanned.value;
        let node = Node { value, line };
        Ok(match tag {
            Some(tag) if !is_core_tag(&tag) => long_form(&tag, node),
            _ => node,
        })
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Node>()?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// One policy document found in an input, with where it was found.
#[derive(Debug, Clone)]
pub struct Document {
    /// `file` for a policy file, `file#Resources.Role.Properties.Policies[0]` in a template.
    pub label: String,
    /// The path of the document inside the file (empty for a policy file).
    pub path: String,
    pub node: Node,
}

/// What one principal is granted: a policy file, a template role with every policy attached
/// to it in the template, or a template policy attached to no role of the template.
#[derive(Debug, Clone)]
pub struct Unit {
    pub name: String,
    pub file: String,
    pub documents: Vec<Document>,
    /// What the template attaches that cannot be read here (managed policies by ARN).
    pub notes: Vec<String>,
}

const ROLE: &str = "AWS::IAM::Role";
const POLICY: &str = "AWS::IAM::Policy";
const MANAGED_POLICY: &str = "AWS::IAM::ManagedPolicy";
const SAM_FUNCTION: &str = "AWS::Serverless::Function";

/// Reads one input file into the principals it describes.
pub fn read(file: &str, text: &str) -> Result<Vec<Unit>, InputError> {
    let root: Node = serde_saphyr::from_str(text)
        .map_err(|err| InputError::new(file, "$", format!("not YAML or JSON: {err}")))?;
    if root.get("Statement").is_some() {
        return Ok(vec![Unit {
            name: file.to_string(),
            file: file.to_string(),
            documents: vec![Document {
                label: file.to_string(),
                path: String::new(),
                node: root,
            }],
            notes: Vec::new(),
        }]);
    }
    let Some(resources) = root.get("Resources") else {
        return Err(InputError::new(
            file,
            "$",
            "expected an IAM policy document (with `Statement`) or a CloudFormation template (with `Resources`)",
        ));
    };
    let Value::Map(resources) = &resources.value else {
        return Err(InputError::new(file, "$.Resources", "expected a mapping"));
    };
    let kind = |id: &str| {
        resources
            .iter()
            .find(|(k, _)| k == id)
            .and_then(|(_, r)| r.get("Type"))
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    let mut units: Vec<Unit> = Vec::new();
    for (id, resource) in resources {
        if resource.get("Type").and_then(Node::as_str) != Some(ROLE) {
            continue;
        }
        let mut unit = Unit {
            name: id.clone(),
            file: file.to_string(),
            documents: Vec::new(),
            notes: Vec::new(),
        };
        let properties = resource.get("Properties");
        if let Some(policies) = properties.and_then(|p| p.get("Policies")) {
            for (i, policy) in policies.items().into_iter().enumerate() {
                let path = format!("Resources.{id}.Properties.Policies[{i}].PolicyDocument");
                let document = policy.get("PolicyDocument").ok_or_else(|| {
                    InputError::new(file, format!("$.{path}"), "missing `PolicyDocument`")
                })?;
                unit.documents.push(document_at(file, &path, document));
            }
        }
        for arn in properties
            .and_then(|p| p.get("ManagedPolicyArns"))
            .map(Node::items)
            .unwrap_or_default()
        {
            match arn.get("Ref").and_then(Node::as_str) {
                Some(target) if kind(target).as_deref() == Some(MANAGED_POLICY) => {}
                _ => unit.notes.push(format!(
                    "{id} also has a managed policy attached by ARN (line {}), which is not read",
                    arn.line
                )),
            }
        }
        units.push(unit);
    }
    for (id, resource) in resources {
        if resource.get("Type").and_then(Node::as_str) == Some(SAM_FUNCTION)
            && let Some(policies) = resource.get("Properties").and_then(|p| p.get("Policies"))
        {
            units.push(sam_function(file, id, policies));
        }
    }
    for (id, resource) in resources {
        let Some(kind @ (POLICY | MANAGED_POLICY)) = resource.get("Type").and_then(Node::as_str)
        else {
            continue;
        };
        let path = format!("Resources.{id}.Properties.PolicyDocument");
        let document = resource
            .get("Properties")
            .and_then(|p| p.get("PolicyDocument"))
            .ok_or_else(|| {
                InputError::new(file, format!("$.{path}"), "missing `PolicyDocument`")
            })?;
        let document = document_at(file, &path, document);
        let mut attached = false;
        let roles = resource
            .get("Properties")
            .and_then(|p| p.get("Roles"))
            .map(Node::items)
            .unwrap_or_default();
        for role in roles {
            if let Some(target) = role.get("Ref").and_then(Node::as_str)
                && let Some(unit) = units.iter_mut().find(|u| u.name == target)
            {
                unit.documents.push(document.clone());
                attached = true;
            }
        }
        if kind == MANAGED_POLICY {
            for unit in units.iter_mut() {
                let refers = resources
                    .iter()
                    .find(|(k, _)| *k == unit.name)
                    .and_then(|(_, r)| r.get("Properties"))
                    .and_then(|p| p.get("ManagedPolicyArns"))
                    .map(Node::items)
                    .unwrap_or_default()
                    .into_iter()
                    .any(|arn| arn.get("Ref").and_then(Node::as_str) == Some(id));
                if refers && !unit.documents.iter().any(|d| d.path == document.path) {
                    unit.documents.push(document.clone());
                    attached = true;
                }
            }
        }
        if !attached {
            units.push(Unit {
                name: id.clone(),
                file: file.to_string(),
                documents: vec![document],
                notes: Vec::new(),
            });
        }
    }
    Ok(units)
}

/// A SAM function's `Policies`: inline documents are read; managed policy names and SAM
/// policy templates are named in a note.
fn sam_function(file: &str, id: &str, policies: &Node) -> Unit {
    let mut unit = Unit {
        name: id.to_string(),
        file: file.to_string(),
        documents: Vec::new(),
        notes: Vec::new(),
    };
    for (i, policy) in policies.items().into_iter().enumerate() {
        if policy.get("Statement").is_some() {
            let path = format!("Resources.{id}.Properties.Policies[{i}]");
            unit.documents.push(document_at(file, &path, policy));
        } else {
            unit.notes.push(format!(
                "{id} also has a managed policy or SAM policy template (line {}), which is not read",
                policy.line
            ));
        }
    }
    unit
}

fn document_at(file: &str, path: &str, node: &Node) -> Document {
    Document {
        label: format!("{file}#{path}"),
        path: path.to_string(),
        node: node.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_become_long_forms_and_lines_are_kept() {
        let yaml = "a: !Sub arn:${AWS::Partition}:x\nb:\n  - !GetAtt Role.Arn\n  - !Ref P\n";
        let node: Node = serde_saphyr::from_str(yaml).unwrap();
        let a = node.get("a").unwrap();
        assert_eq!(
            a.get("Fn::Sub").and_then(Node::as_str),
            Some("arn:${AWS::Partition}:x")
        );
        assert_eq!(a.line, 1);
        let b = node.get("b").unwrap().items();
        assert_eq!(b[0].line, 3);
        assert!(
            matches!(&b[0].get("Fn::GetAtt").unwrap().value, Value::Seq(parts) if parts.len() == 2)
        );
        assert_eq!(b[1].get("Ref").and_then(Node::as_str), Some("P"));
    }

    #[test]
    fn json_is_read_with_lines() {
        let json = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\"}\n  ]\n}";
        let units = read("p.json", json).unwrap();
        let statements = units[0].documents[0].node.get("Statement").unwrap().items();
        assert_eq!(statements[0].line, 4);
    }
}
