//! `cris-guard check`: one concrete, fully specified request under the SCPs of one target.

use serde::{Deserialize, Serialize};

use crate::arn::Arn;
use crate::error::InputError;
use crate::evaluation::{self, Outcome};
use crate::org::{Org, TargetRef};
use crate::policy::Applies;
use crate::request::{Context, MissingKeys, NEW_ACCOUNT, Request};
use crate::snapshot::ValidSnapshot;

/// REQUEST.json (contract §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default)]
    pub principal: Option<String>,
    pub action: String,
    pub resource: String,
    #[serde(default)]
    pub context: std::collections::BTreeMap<String, ContextValue>,
}

/// A context value: a string or a list of strings (contract §1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ContextValue {
    One(String),
    Many(Vec<String>),
}

/// Hand-written so a wrong type says what is expected ("a string or a list of strings") at the
/// key's path, where an untagged derive says only "did not match any variant".
impl<'de> Deserialize<'de> for ContextValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContextValueVisitor)
    }
}

struct ContextValueVisitor;

impl<'de> serde::de::Visitor<'de> for ContextValueVisitor {
    type Value = ContextValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ContextValue, E> {
        Ok(ContextValue::One(v.to_string()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<ContextValue, E> {
        Ok(ContextValue::One(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ContextValue, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<String>()? {
            values.push(value);
        }
        Ok(ContextValue::Many(values))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// `allowed`, `explicitlyDenied`, `implicitlyDenied` (contract §1), or `unknown` (an
    /// addition): the chain holds a policy that could not be read or interpreted, or a part of
    /// the organization above the target could not be read, and no SCP that was read denies.
    pub decision: String,
    pub levels: Vec<LevelReport>,
    pub explanation: String,
    /// Why the decision is `unknown` (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// Size of each SCP in the chain, raw and minified, against the 5,120-character limit.
    pub policies: Vec<PolicySizeReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelReport {
    pub target_id: String,
    pub decision: String,
    pub matched_statements: Vec<MatchedStatement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedStatement {
    pub policy_id: String,
    pub policy_name: String,
    pub sid: Option<String>,
    pub statement_index: usize,
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySizeReport {
    pub policy_id: String,
    pub size_chars: usize,
    pub minified_chars: usize,
}

/// Parses REQUEST.json. Reading is strict ([`crate::json_input`]): an object, no repeated
/// keys; context keys are case-insensitive, so two spellings of one key are refused too.
pub fn parse_request(source: &str, bytes: &[u8]) -> Result<RequestSpec, InputError> {
    let spec: RequestSpec = crate::json_input::read(source, "request", bytes)?;
    let mut keys: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for key in spec.context.keys() {
        if let Some(first) = keys.insert(key.to_ascii_lowercase(), key) {
            return Err(InputError::new(
                source,
                format!("$.context.{key}"),
                format!(
                    "duplicate key `{key}`: condition keys are case-insensitive and `{first}` is also given"
                ),
            ));
        }
    }
    if !spec.action.contains(':') {
        return Err(InputError::new(
            source,
            "$.action",
            format!("`{}` is not of the form service:action", spec.action),
        ));
    }
    if let Some(principal) = &spec.principal
        && Arn::parse(principal).is_none()
    {
        return Err(InputError::new(
            source,
            "$.principal",
            format!("`{principal}` is not an ARN"),
        ));
    }
    reject_placeholder(source, &spec)?;
    Ok(spec)
}

/// Refuses [`NEW_ACCOUNT`] (`{account}`) in the principal, the resource and context values.
/// It is the engine's internal stand-in for an account id that is not known yet (an OU read as
/// a new account) and makes a pattern naming an account match "unknown"; a check request is
/// fully specified, so it must not carry it, and would otherwise echo it in its output.
fn reject_placeholder(source: &str, spec: &RequestSpec) -> Result<(), InputError> {
    let refuse = |path: String, value: &str| {
        InputError::new(
            source,
            path,
            format!(
                "`{value}` holds `{NEW_ACCOUNT}`, cris-guard's internal placeholder for the id of an account not yet created; a check request is fully specified: give the 12-digit account id"
            ),
        )
    };
    if let Some(principal) = &spec.principal
        && principal.contains(NEW_ACCOUNT)
    {
        return Err(refuse("$.principal".into(), principal));
    }
    if spec.resource.contains(NEW_ACCOUNT) {
        return Err(refuse("$.resource".into(), &spec.resource));
    }
    for (key, value) in &spec.context {
        match value {
            ContextValue::One(v) if v.contains(NEW_ACCOUNT) => {
                return Err(refuse(format!("$.context.{key}"), v));
            }
            ContextValue::One(_) => {}
            ContextValue::Many(values) => {
                if let Some((i, v)) = values
                    .iter()
                    .enumerate()
                    .find(|(_, v)| v.contains(NEW_ACCOUNT))
                {
                    return Err(refuse(format!("$.context.{key}[{i}]"), v));
                }
            }
        }
    }
    Ok(())
}

/// Evaluates the request for a target (an OU means a new account directly in it).
pub fn check(
    snapshot: &ValidSnapshot,
    target_id: &str,
    spec: &RequestSpec,
) -> Result<CheckResult, InputError> {
    let org = Org::new(snapshot);
    let s = &snapshot.snapshot;
    let target = if s.accounts.iter().any(|a| a.id == target_id) {
        TargetRef::Account(
            s.accounts
                .iter()
                .find(|a| a.id == target_id)
                .map(|a| a.id.as_str())
                .unwrap_or(""),
        )
    } else if let Some(ou) = s.organizational_units.iter().find(|o| o.id == target_id) {
        TargetRef::OrganizationalUnit(&ou.id)
    } else if let Some(root) = s.roots.iter().find(|r| r.id == target_id) {
        TargetRef::Root(&root.id)
    } else {
        return Err(InputError::new(
            "--target",
            "$",
            format!("`{target_id}` is not an account, OU or root in the snapshot"),
        ));
    };
    let chain = match target {
        TargetRef::Account(id) => org.account_chain(id),
        TargetRef::OrganizationalUnit(id) | TargetRef::Root(id) => org.new_account_chain(id),
    };
    let levels = org.chain_levels(chain);
    let mut context = Context::new(MissingKeys::Absent);
    for (key, value) in &spec.context {
        let values = match value {
            ContextValue::One(v) => vec![v.clone()],
            ContextValue::Many(vs) => vs.clone(),
        };
        context.set(key, values);
    }
    // `aws:PrincipalArn` and `aws:PrincipalAccount` default from `principal` (contract §1) unless
    // the context gives them: an explicit value wins, so a role's path can be stated.
    if let Some(principal) = &spec.principal {
        if !spec
            .context
            .keys()
            .any(|k| k.eq_ignore_ascii_case("aws:PrincipalArn"))
        {
            context.set("aws:PrincipalArn", vec![principal_arn(principal)]);
        }
        if !spec
            .context
            .keys()
            .any(|k| k.eq_ignore_ascii_case("aws:PrincipalAccount"))
            && let Some(arn) = Arn::parse(principal)
            && !arn.account.is_empty()
        {
            context.set("aws:PrincipalAccount", vec![arn.account]);
        }
    }
    let request = Request::new(&spec.action, &spec.resource, context);
    let decision = evaluation::evaluate(levels, org.policies(), &request);
    let level_targets = org.level_targets(target);
    let policies = org.policies();
    let mut level_reports = Vec::new();
    for level in &decision.levels {
        let matched = level
            .matched
            .iter()
            .filter(|m| m.applies == Applies::Yes)
            .filter_map(|m| {
                let policy = policies.get(m.policy)?;
                let statement = policy.statements.get(m.statement)?;
                Some(MatchedStatement {
                    policy_id: policy.id.clone(),
                    policy_name: policy.name.clone(),
                    sid: statement.sid.clone(),
                    statement_index: statement.index,
                    effect: m.effect.as_str().to_string(),
                })
            })
            .collect();
        level_reports.push(LevelReport {
            target_id: level_targets.get(level.level).cloned().unwrap_or_default(),
            decision: level.outcome.as_str().to_string(),
            matched_statements: matched,
        });
    }
    let explanation = match decision.outcome {
        _ if levels.is_empty() => format!(
            "{target_id} is not restricted by SCPs (management account, or SCPs not enabled)."
        ),
        Outcome::Allowed => format!(
            "{} on {} is allowed: every level has an SCP that allows it and none denies it.",
            spec.action, spec.resource
        ),
        Outcome::ExplicitlyDenied => {
            let denies: Vec<String> = decision
                .explicit_denies()
                .filter_map(|(level, m)| {
                    let policy = policies.get(m.policy)?;
                    let statement = policy.statements.get(m.statement)?;
                    Some(format!(
                        "{} ({}) {} attached to {}",
                        policy.name,
                        policy.id,
                        statement
                            .sid
                            .as_ref()
                            .map(|s| format!("Sid {s}"))
                            .unwrap_or_else(|| format!("statement {}", statement.index)),
                        level_targets.get(level).map(String::as_str).unwrap_or("?")
                    ))
                })
                .collect();
            format!(
                "{} on {} is explicitly denied by {}.",
                spec.action,
                spec.resource,
                denies.join("; ")
            )
        }
        Outcome::ImplicitlyDenied => {
            let missing: Vec<String> = decision
                .levels_without_allow()
                .map(|l| level_targets.get(l.level).cloned().unwrap_or_default())
                .collect();
            format!(
                "{} on {} is implicitly denied: no SCP attached to {} allows it.",
                spec.action,
                spec.resource,
                missing.join(", ")
            )
        }
        Outcome::Conditional | Outcome::Indeterminate => {
            "The request is not fully specified.".to_string()
        }
    };
    // A deny from an SCP that was read is final whatever else applies; any other answer
    // needs every SCP of the chain, so a policy that could not be read or interpreted (or an
    // unread part of the organization above the target) leaves it unknown.
    let unknown_reason = match decision.outcome {
        Outcome::ExplicitlyDenied => None,
        _ if levels.is_empty() => None,
        _ => org.gap_for(target),
    };
    let explanation = match &unknown_reason {
        Some(reason) => format!(
            "Cannot decide {} on {}: {reason}. No SCP that was read denies it.",
            spec.action, spec.resource
        ),
        None => explanation,
    };
    let mut sizes = Vec::new();
    for level in levels {
        for &index in level {
            if let (Some(record), Some(size)) =
                (s.policies.get(index), snapshot.policy_sizes.get(index))
                && !sizes
                    .iter()
                    .any(|p: &PolicySizeReport| p.policy_id == record.id)
            {
                sizes.push(PolicySizeReport {
                    policy_id: record.id.clone(),
                    size_chars: size.chars,
                    minified_chars: size.minified_chars,
                });
            }
        }
    }
    Ok(CheckResult {
        decision: match decision.outcome {
            _ if unknown_reason.is_some() => "unknown",
            Outcome::Allowed => "allowed",
            Outcome::ExplicitlyDenied => "explicitlyDenied",
            _ => "implicitlyDenied",
        }
        .to_string(),
        levels: level_reports,
        explanation,
        unknown_reason,
        policies: sizes,
    })
}

/// The `aws:PrincipalArn` AWS puts in the request context for `principal`: for an STS role
/// session (`arn:P:sts::A:assumed-role/Role/session`) it is the role's ARN
/// (`arn:P:iam::A:role/Role`), not the session's (IAM global condition keys reference; domain.md
/// §11), so a guardrail that exempts `arn:*:iam::*:role/AWSControlTowerExecution` lets that
/// role's sessions through. A session ARN does not carry the role's path: a role created under
/// one (`role/team/Role`) is read as `role/Role` here, and a request that must say otherwise
/// gives `aws:PrincipalArn` in its `context`, which always wins over this default. Any other
/// principal (an IAM role or user, a federated user, a root) is its own `aws:PrincipalArn`.
pub fn principal_arn(principal: &str) -> String {
    let role = Arn::parse(principal).and_then(|arn| {
        if arn.service != "sts" {
            return None;
        }
        let rest = arn.resource.strip_prefix("assumed-role/")?;
        let (role, session) = rest.split_once('/')?;
        if role.is_empty() || session.is_empty() {
            return None;
        }
        Some(format!(
            "arn:{}:iam::{}:role/{role}",
            arn.partition, arn.account
        ))
    });
    role.unwrap_or_else(|| principal.to_string())
}

#[cfg(test)]
mod tests {
    use super::principal_arn;

    #[test]
    fn a_role_session_is_read_as_its_role_and_other_principals_as_themselves() {
        for (principal, expected) in [
            (
                "arn:aws:sts::222222222222:assumed-role/AWSControlTowerExecution/s",
                "arn:aws:iam::222222222222:role/AWSControlTowerExecution",
            ),
            (
                "arn:aws-us-gov:sts::222222222222:assumed-role/R/a/b",
                "arn:aws-us-gov:iam::222222222222:role/R",
            ),
            (
                "arn:aws:iam::222222222222:role/team/R",
                "arn:aws:iam::222222222222:role/team/R",
            ),
            (
                "arn:aws:sts::222222222222:federated-user/bob",
                "arn:aws:sts::222222222222:federated-user/bob",
            ),
            (
                "arn:aws:sts::222222222222:assumed-role/R",
                "arn:aws:sts::222222222222:assumed-role/R",
            ),
        ] {
            assert_eq!(principal_arn(principal), expected, "{principal}");
        }
    }
}
