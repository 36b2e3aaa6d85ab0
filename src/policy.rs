//! SCP documents: parsing into compiled statements, matching actions and resources, and size.
//!
//! Parsing checks the full IAM grammar an SCP may use (since September 2025 SCPs accept the
//! full IAM language except `Principal`/`NotPrincipal`) and names the JSON path of any problem.
//! Everything a request is matched against is compiled here, once: lowercased action patterns
//! bucketed by service, wildcard tokens, condition operators.

mod arn_index;
pub mod condition;
pub mod json;
mod resource;
pub mod wildcard;

pub use resource::ResourcePattern;
pub(crate) use resource::split_arn_pattern;

use std::collections::{HashMap, HashSet};

use arn_index::ArnIndex;
use condition::{ConditionClause, Tri};
use json::Json;
use wildcard::Wildcard;

use crate::request::{Lookup, NEW_ACCOUNT, Request};

/// The policy language version AWS requires.
pub const POLICY_VERSION: &str = "2012-10-17";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A parsed, compiled SCP.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub statements: Vec<Statement>,
    /// True when some statement's outcome can depend on the caller's account id (a resource
    /// pattern with a specific account, an account-related key, or a policy variable); such
    /// policies are not shared across accounts by the reachability cache.
    pub account_sensitive: bool,
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub action: ActionMatch,
    pub resource: ResourceMatch,
    pub conditions: Vec<ConditionClause>,
    /// For a long resource list: its patterns by literal resource part.
    resource_index: Option<ArnIndex>,
}

/// `Action` or `NotAction`.
#[derive(Debug, Clone)]
pub enum ActionMatch {
    Action(ActionSet),
    NotAction(ActionSet),
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone)]
pub enum ResourceMatch {
    Resource(Vec<ResourcePattern>),
    NotResource(Vec<ResourcePattern>),
}

/// A set of action patterns, compiled for fast lookup: exact names in a hash set, patterns with
/// a literal service prefix bucketed by service, the rest scanned.
#[derive(Debug, Clone, Default)]
pub struct ActionSet {
    /// The patterns as written (for display and remediation).
    pub patterns: Vec<String>,
    exact: HashSet<String>,
    by_service: HashMap<String, Vec<Wildcard>>,
    others: Vec<Wildcard>,
}

impl ActionSet {
    pub fn new(patterns: Vec<String>) -> ActionSet {
        let mut set = ActionSet {
            patterns,
            ..ActionSet::default()
        };
        for pattern in &set.patterns {
            let lower = pattern.to_ascii_lowercase();
            let wildcard = Wildcard::new(&lower);
            if wildcard.literal().is_some() {
                set.exact.insert(lower);
                continue;
            }
            match lower.split_once(':') {
                Some((service, _)) if !service.contains(['*', '?']) => {
                    set.by_service
                        .entry(service.to_string())
                        .or_default()
                        .push(wildcard);
                }
                _ => set.others.push(wildcard),
            }
        }
        set
    }

    /// Whether a lowercased action name matches any pattern.
    pub fn matches(&self, action_lowercase: &str) -> bool {
        if self.exact.contains(action_lowercase) {
            return true;
        }
        if let Some((service, _)) = action_lowercase.split_once(':')
            && let Some(bucket) = self.by_service.get(service)
            && bucket.iter().any(|w| w.matches_lowercase(action_lowercase))
        {
            return true;
        }
        self.others
            .iter()
            .any(|w| w.matches_lowercase(action_lowercase))
    }
}

/// Raw and minified size of a policy document, in characters as AWS counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicySize {
    pub chars: usize,
    pub minified_chars: usize,
}

impl PolicySize {
    pub fn of(text: &str) -> PolicySize {
        let minified = minify(text).map(|m| m.chars().count()).unwrap_or(0);
        PolicySize {
            chars: text.chars().count(),
            minified_chars: minified,
        }
    }
}

/// The document with insignificant whitespace removed, key order kept.
pub fn minify(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    serde_json::to_string(&value).ok()
}

/// A policy that cannot be used, with the JSON path inside the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: {message}")]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

fn parse_error(path: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        path: path.into(),
        message: message.into(),
    }
}

/// The deepest JSON nesting a policy may have; deeper input is refused before it is walked.
const MAX_DEPTH: usize = 32;

/// Parses and compiles a policy document.
pub fn parse(id: &str, name: &str, text: &str) -> Result<Policy, ParseError> {
    let document: Json = serde_json::from_str(text)
        .map_err(|err| parse_error("$", format!("invalid JSON: {err}")))?;
    check_depth(&document, 0)?;
    let Json::Object(top) = &document else {
        return Err(parse_error(
            "$",
            format!("expected an object, found {}", document.kind()),
        ));
    };
    check_duplicates(top, "$")?;
    let mut version = None;
    let mut statements_json = None;
    for (key, value) in top {
        match key.as_str() {
            "Version" => version = Some(value),
            "Statement" => statements_json = Some(value),
            "Id" => {}
            other => {
                return Err(parse_error(
                    format!("$.{other}"),
                    format!("unknown policy element `{other}` (expected Version, Id, Statement)"),
                ));
            }
        }
    }
    match version {
        Some(Json::String(v)) if v == POLICY_VERSION => {}
        Some(Json::String(v)) => {
            return Err(parse_error(
                "$.Version",
                format!("version `{v}` is not supported, SCPs require `{POLICY_VERSION}`"),
            ));
        }
        Some(other) => {
            return Err(parse_error(
                "$.Version",
                format!("expected a string, found {}", other.kind()),
            ));
        }
        None => return Err(parse_error("$", "missing `Version`")),
    }
    let statements_json = statements_json.ok_or_else(|| parse_error("$", "missing `Statement`"))?;
    let items: Vec<(&Json, String)> = match statements_json {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (s, format!("$.Statement[{i}]")))
            .collect(),
        Json::Object(_) => vec![(statements_json, "$.Statement".to_string())],
        other => {
            return Err(parse_error(
                "$.Statement",
                format!("expected an object or an array, found {}", other.kind()),
            ));
        }
    };
    let mut statements = Vec::with_capacity(items.len());
    let mut sids = HashSet::new();
    for (index, (json, path)) in items.into_iter().enumerate() {
        let statement = parse_statement(index, json, &path)?;
        if let Some(sid) = &statement.sid
            && !sids.insert(sid.clone())
        {
            return Err(parse_error(
                format!("{path}.Sid"),
                format!("duplicate Sid `{sid}`"),
            ));
        }
        statements.push(statement);
    }
    let account_sensitive = statements.iter().any(|s| {
        let patterns = match &s.resource {
            ResourceMatch::Resource(p) | ResourceMatch::NotResource(p) => p,
        };
        patterns.iter().any(ResourcePattern::account_sensitive)
            || s.conditions.iter().any(ConditionClause::account_sensitive)
    });
    Ok(Policy {
        id: id.to_string(),
        name: name.to_string(),
        statements,
        account_sensitive,
    })
}

fn check_depth(value: &Json, depth: usize) -> Result<(), ParseError> {
    if depth > MAX_DEPTH {
        return Err(parse_error(
            "$",
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    match value {
        Json::Array(items) => items.iter().try_for_each(|v| check_depth(v, depth + 1)),
        Json::Object(entries) => entries
            .iter()
            .try_for_each(|(_, v)| check_depth(v, depth + 1)),
        _ => Ok(()),
    }
}

fn check_duplicates(entries: &[(String, Json)], path: &str) -> Result<(), ParseError> {
    let mut seen = HashSet::new();
    for (key, _) in entries {
        if !seen.insert(key.as_str()) {
            return Err(parse_error(
                format!("{path}.{key}"),
                format!("duplicate key `{key}`"),
            ));
        }
    }
    Ok(())
}

fn parse_statement(index: usize, json: &Json, path: &str) -> Result<Statement, ParseError> {
    let Json::Object(entries) = json else {
        return Err(parse_error(
            path,
            format!("expected a statement object, found {}", json.kind()),
        ));
    };
    check_duplicates(entries, path)?;
    let mut sid = None;
    let mut effect = None;
    let mut action = None;
    let mut resource = None;
    let mut conditions = Vec::new();
    for (key, value) in entries {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "Sid" => match value {
                Json::String(s) => sid = Some(s.clone()),
                other => {
                    return Err(parse_error(
                        at,
                        format!("expected a string, found {}", other.kind()),
                    ));
                }
            },
            "Effect" => match value {
                Json::String(s) if s == "Allow" => effect = Some(Effect::Allow),
                Json::String(s) if s == "Deny" => effect = Some(Effect::Deny),
                Json::String(s) => {
                    return Err(parse_error(
                        at,
                        format!("effect `{s}` is neither `Allow` nor `Deny`"),
                    ));
                }
                other => {
                    return Err(parse_error(
                        at,
                        format!("expected a string, found {}", other.kind()),
                    ));
                }
            },
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err(parse_error(
                        at,
                        "a statement has either Action or NotAction, not both",
                    ));
                }
                let patterns = string_list(value, &at)?;
                for (i, pattern) in patterns.iter().enumerate() {
                    if pattern != "*" && !pattern.contains(':') {
                        return Err(parse_error(
                            format!("{at}[{i}]"),
                            format!("action `{pattern}` is not of the form service:action"),
                        ));
                    }
                }
                let set = ActionSet::new(patterns);
                action = Some(if key == "Action" {
                    ActionMatch::Action(set)
                } else {
                    ActionMatch::NotAction(set)
                });
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return Err(parse_error(
                        at,
                        "a statement has either Resource or NotResource, not both",
                    ));
                }
                let mut patterns = Vec::new();
                for (i, text) in string_list(value, &at)?.iter().enumerate() {
                    patterns.push(
                        ResourcePattern::compile(text)
                            .map_err(|m| parse_error(format!("{at}[{i}]"), m))?,
                    );
                }
                resource = Some(if key == "Resource" {
                    ResourceMatch::Resource(patterns)
                } else {
                    ResourceMatch::NotResource(patterns)
                });
            }
            "Condition" => conditions = condition::operator::parse_block(value, &at)?,
            "Principal" | "NotPrincipal" => {
                return Err(parse_error(at, format!("SCPs do not support `{key}`")));
            }
            other => {
                return Err(parse_error(
                    at,
                    format!(
                        "unknown statement element `{other}` (expected Sid, Effect, Action, NotAction, Resource, NotResource, Condition)"
                    ),
                ));
            }
        }
    }
    let effect = effect.ok_or_else(|| parse_error(path, "missing `Effect`"))?;
    let action = action.ok_or_else(|| parse_error(path, "missing `Action` or `NotAction`"))?;
    // SCPs written before the full IAM language often omit Resource; AWS reads that as `*`.
    let resource =
        resource.unwrap_or_else(|| ResourceMatch::Resource(vec![ResourcePattern::any()]));
    let (ResourceMatch::Resource(patterns) | ResourceMatch::NotResource(patterns)) = &resource;
    let resource_index = ArnIndex::of(patterns.iter().map(ResourcePattern::literal_resource));
    Ok(Statement {
        index,
        sid,
        effect,
        action,
        resource,
        conditions,
        resource_index,
    })
}

/// A string or a non-empty array of strings.
pub(crate) fn string_list(value: &Json, path: &str) -> Result<Vec<String>, ParseError> {
    match value {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) if items.is_empty() => Err(parse_error(path, "empty list")),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Json::String(s) => Ok(s.clone()),
                other => Err(parse_error(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", other.kind()),
                )),
            })
            .collect(),
        other => Err(parse_error(
            path,
            format!(
                "expected a string or an array of strings, found {}",
                other.kind()
            ),
        )),
    }
}

impl Statement {
    /// Whether two callers (accounts, OU paths) can get different answers for a request whose
    /// resource does not carry the caller's account, such as remediation's probes: through a
    /// condition on the caller's account or path, or a policy variable in a resource pattern.
    pub fn caller_sensitive_for_fixed_resource(&self) -> bool {
        let patterns = match &self.resource {
            ResourceMatch::Resource(p) | ResourceMatch::NotResource(p) => p,
        };
        patterns.iter().any(ResourcePattern::has_variables)
            || self
                .conditions
                .iter()
                .any(ConditionClause::account_sensitive)
    }

    /// Whether a resource pattern can tell accounts apart (a fixed account segment, a policy
    /// variable): requests carry the caller's account in their resource ARNs.
    pub fn resource_pins_accounts(&self) -> bool {
        let (ResourceMatch::Resource(patterns) | ResourceMatch::NotResource(patterns)) =
            &self.resource;
        patterns.iter().any(ResourcePattern::account_sensitive)
    }

    /// Whether this statement applies to the request: `True`, `False`, `Unknown` (a fact the
    /// answer needs is not fixed), with the residual condition clauses when it depends only on
    /// unknown context keys.
    pub fn applies(&self, request: &Request) -> Applies {
        let action = match &self.action {
            ActionMatch::Action(set) => set.matches(&request.action_lowercase),
            ActionMatch::NotAction(set) => !set.matches(&request.action_lowercase),
        };
        if !action {
            return Applies::No;
        }
        let resource = self.resource_matches(&request.resource, request);
        if resource == Tri::False {
            return Applies::No;
        }
        let mut residual = Vec::new();
        let mut indeterminate = resource == Tri::Unknown;
        for clause in &self.conditions {
            match clause.evaluate(request) {
                Tri::True => {}
                Tri::False => return Applies::No,
                // Unknown although the key is set: a new account's id against a pattern that
                // may or may not match it. No principal can choose that: not a condition.
                Tri::Unknown if holds_new_account(request, clause.key_lowercase()) => {
                    indeterminate = true;
                }
                Tri::Unknown => residual.push(clause),
            }
        }
        if indeterminate {
            return Applies::Indeterminate;
        }
        if residual.is_empty() {
            Applies::Yes
        } else {
            Applies::Residual(residual.into_iter().cloned().collect())
        }
    }

    fn resource_matches(&self, resource: &str, request: &Request) -> Tri {
        let (ResourceMatch::Resource(patterns) | ResourceMatch::NotResource(patterns)) =
            &self.resource;
        let matched = match &self.resource_index {
            Some(index) => any_tri(
                index
                    .candidates(resource)
                    .filter_map(|i| patterns.get(i))
                    .map(|p| p.matches(resource, request)),
            ),
            None => any_tri(patterns.iter().map(|p| p.matches(resource, request))),
        };
        match self.resource {
            ResourceMatch::Resource(_) => matched,
            ResourceMatch::NotResource(_) => !matched,
        }
    }

    /// `policyId/Sid` or `policyId/#index` for display.
    pub fn label(&self) -> String {
        statement_label(self.sid.as_deref(), self.index)
    }
}

/// A statement's name within its policy: its Sid, or `#index` when it has none (what
/// [`Statement::label`] shows, for statements known only by Sid and index, as blockers are).
pub fn statement_label(sid: Option<&str>, index: usize) -> String {
    match sid {
        Some(sid) => sid.to_string(),
        None => format!("#{index}"),
    }
}

/// Whether a key of the request is set to a value holding [`NEW_ACCOUNT`].
fn holds_new_account(request: &Request, lowercase_key: &str) -> bool {
    match request.context.get(lowercase_key) {
        Lookup::Present(values) => values.iter().any(|v| v.contains(NEW_ACCOUNT)),
        Lookup::Absent | Lookup::Unknown => false,
    }
}

fn any_tri(items: impl Iterator<Item = Tri>) -> Tri {
    let mut result = Tri::False;
    for item in items {
        result = result.or(item);
        if result == Tri::True {
            return Tri::True;
        }
    }
    result
}

/// Whether a statement applies to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Applies {
    Yes,
    No,
    /// Applies exactly when all these clauses (on unknown keys) hold.
    Residual(Vec<ConditionClause>),
    /// Depends on a fact that cannot be expressed as a condition (an unknown account in a
    /// resource ARN, an unknown policy variable).
    Indeterminate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::arn_index::INDEXED_MIN;
    use crate::policy::arn_index::tests::{pattern, value};
    use crate::request::{Context, MissingKeys};
    use proptest::prelude::*;

    /// `text` with its first ARN part `arn` when it has six, as ARN patterns and ARNs start.
    fn arn(text: &str) -> String {
        match text.split_once(':') {
            Some((_, rest)) if text.matches(':').count() >= 5 => format!("arn:{rest}"),
            _ => text.to_string(),
        }
    }

    proptest! {
        /// The resource-part index of a long `Resource`/`NotResource` list gives what walking
        /// every pattern gives.
        #[test]
        fn an_indexed_resource_list_agrees_with_the_walk(
            literal in proptest::collection::vec(pattern(true), INDEXED_MIN..14),
            wild in proptest::collection::vec(pattern(false), 0..4),
            resource in value(),
            not in prop::bool::ANY,
        ) {
            let listed: Vec<String> = literal.iter().chain(&wild).map(|p| arn(p)).collect();
            let body = serde_json::json!({
                "Effect": "Deny",
                "Action": "*",
                if not { "NotResource" } else { "Resource" }: listed,
            });
            let text = format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
            let mut policy = parse("p-1", "p", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let indexed = policy.statements.remove(0);
            let mut walked = indexed.clone();
            walked.resource_index = None;
            let request = Request::new("s3:GetObject", &arn(&resource), Context::new(MissingKeys::Absent));
            prop_assert_eq!(
                indexed.resource_matches(&request.resource, &request),
                walked.resource_matches(&request.resource, &request)
            );
        }
    }

    fn statement(body: &str) -> Statement {
        let text = format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
        let mut policy = parse("p-1", "p", &text).unwrap_or_else(|e| panic!("{e}"));
        policy.statements.remove(0)
    }

    /// Remediation's probes share one answer per chain unless a statement can tell callers
    /// apart for a resource without the caller's account: a Control Tower guardrail's
    /// `arn:aws:s3:::aws-controltower*` cannot, `${aws:PrincipalAccount}` and account
    /// conditions can.
    #[test]
    fn only_conditions_and_variables_tell_callers_apart_on_a_fixed_resource() {
        let cases = [
            (
                r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::aws-controltower*"}"#,
                false,
            ),
            (r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#, false),
            (
                r#"{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::b-${aws:PrincipalAccount}"}"#,
                true,
            ),
            (
                r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"123456789012"}}}"#,
                true,
            ),
            (
                r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:123456789012:inference-profile/*"}}}"#,
                true,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                statement(body).caller_sensitive_for_fixed_resource(),
                want,
                "{body}"
            );
        }
    }
}
