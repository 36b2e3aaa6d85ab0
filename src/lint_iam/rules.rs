//! The rules of `lint-iam`: one per caller-policy pitfall of domain.md §11, plus the generic
//! ones (nothing granted, a Deny wins, routing or values unknown), each with its fix text; and
//! the classification of a denied request into the pitfall that explains it.

use serde_json::json;

use super::source::{Node, Unit, Value};
use super::{
    Compiled, Decision, Finding, MissingRequest, Severity, applying, decide, denied, fix, kind_name,
};
use crate::policy::{Applies, Effect};
use crate::reachability::{Check, Leg, LegKind};
use crate::request::leg::MARKETPLACE_ACTIONS;
use crate::request::{Context, MissingKeys, Request};

/// A rule: id, short name and the fix text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub fix: &'static str,
}

pub(super) const PINNED_REGION: &str = "model-arn-pinned-to-region";
pub(super) const PROFILE_MISSING: &str = "profile-arn-missing";
pub(super) const GLOBAL_MISSING: &str = "global-model-arn-missing";
pub(super) const PROFILE_IN_MODEL_ARN: &str = "profile-id-in-model-arn";
pub(super) const STREAMING_MISSING: &str = "streaming-action-missing";
pub(super) const RESOURCE_ACCOUNT: &str = "resource-account-on-model-arn";
pub(super) const CONVERSE_ACTION: &str = "nonexistent-converse-action";
pub(super) const KEY_TYPO: &str = "inference-profile-arn-key-typo";
pub(super) const PREFIX_PATTERN: &str = "prefix-pattern-misses-profile";
pub(super) const MARKETPLACE: &str = "marketplace-actions-missing";
pub(super) const NOT_GRANTED: &str = "invoke-not-granted";
pub(super) const MODEL_MISSING: &str = "model-arn-missing";
pub(super) const EXPLICIT_DENY: &str = "explicit-deny";
pub(super) const UNRESOLVED: &str = "unresolved-value";
pub(super) const ROUTING_UNKNOWN: &str = "routing-unknown";

/// Every rule, pitfalls 1-10 of domain.md §11 first.
pub const RULES: &[Rule] = &[
    Rule {
        id: PINNED_REGION,
        name: "Model ARN pinned to the deployment Region",
        fix: "Grant the foundation model in every destination Region of the profile (a `*` Region part limited by `aws:RequestedRegion` and `bedrock:InferenceProfileArn`), not only the Region the stack is deployed in; a Region list must hold every Region the call reaches from each source Region.",
    },
    Rule {
        id: PROFILE_MISSING,
        name: "Inference profile ARN not granted",
        fix: "Add the inference profile ARN in the source Region (`arn:aws:bedrock:<source>:<account>:inference-profile/<id>`) to the statement's resources.",
    },
    Rule {
        id: GLOBAL_MISSING,
        name: "Region-less model ARN missing for a global profile",
        fix: "A `global.` profile is also authorized on `arn:aws:bedrock:::foundation-model/<model>` with `aws:RequestedRegion = unspecified`; add AWS's third global statement.",
    },
    Rule {
        id: PROFILE_IN_MODEL_ARN,
        name: "Profile id written into a foundation-model ARN",
        fix: "A foundation-model ARN holds the model id without the profile prefix (`foundation-model/amazon.nova-pro-v1:0`, not `foundation-model/eu.amazon.nova-pro-v1:0`); the profile id belongs in an `inference-profile/` ARN.",
    },
    Rule {
        id: STREAMING_MISSING,
        name: "InvokeModelWithResponseStream missing",
        fix: "Streaming calls (InvokeModelWithResponseStream, ConverseStream) need `bedrock:InvokeModelWithResponseStream` on the same resources as `bedrock:InvokeModel`.",
    },
    Rule {
        id: RESOURCE_ACCOUNT,
        name: "aws:ResourceAccount on account-less model ARNs",
        fix: "Foundation-model ARNs have no account, so `aws:ResourceAccount` is absent and `StringEquals` on it never holds; limit the profile ARN by account instead, and the models by `bedrock:InferenceProfileArn`.",
    },
    Rule {
        id: CONVERSE_ACTION,
        name: "Non-existent bedrock:Converse / bedrock:ConverseStream actions",
        fix: "There are no `bedrock:Converse*` IAM actions: Converse authorizes as `bedrock:InvokeModel`, ConverseStream as `bedrock:InvokeModelWithResponseStream`; name those.",
    },
    Rule {
        id: KEY_TYPO,
        name: "aws:InferenceProfileArn instead of bedrock:InferenceProfileArn",
        fix: "The condition key is `bedrock:InferenceProfileArn` (the Bedrock prerequisites page spells it `aws:`, which no request carries).",
    },
    Rule {
        id: PREFIX_PATTERN,
        name: "Profile prefix pattern misses the profile",
        fix: "Prefix patterns such as `inference-profile/us.*` miss `jp.`, `au.`, `ca.` and `global.` profiles; list the prefixes the callers use, or match `inference-profile/*` limited by Region.",
    },
    Rule {
        id: MARKETPLACE,
        name: "Marketplace actions missing for first use",
        fix: "The first call to a third-party model subscribes the account through AWS Marketplace: allow `aws-marketplace:Subscribe` and `aws-marketplace:ViewSubscriptions` (narrowly: `aws:CalledViaLast = bedrock.amazonaws.com`), or subscribe the account beforehand.",
    },
    Rule {
        id: NOT_GRANTED,
        name: "No Bedrock inference granted",
        fix: "Nothing in the policy allows invoking this profile; add the statements shown if this principal is meant to call it.",
    },
    Rule {
        id: MODEL_MISSING,
        name: "Foundation model not granted",
        fix: "A call through a profile is also authorized on the foundation model in the source and every destination Region; add the model statement shown.",
    },
    Rule {
        id: EXPLICIT_DENY,
        name: "A Deny statement wins",
        fix: "An explicit Deny in the principal's policies blocks the request; no Allow can help. Narrow the Deny (for example exempt calls whose `bedrock:InferenceProfileArn` is an allowed profile).",
    },
    Rule {
        id: UNRESOLVED,
        name: "Decided only with unresolved template values",
        fix: "The answer depends on a template parameter or attribute the linter cannot resolve; check the deployed policy, or pass a policy with the values filled in.",
    },
    Rule {
        id: ROUTING_UNKNOWN,
        name: "Routing of the profile unknown",
        fix: "Pass a snapshot (`--snapshot`) that lists the profile in this source Region, or a profile the documented routing tables know.",
    },
];

pub(super) fn fix_text(id: &str) -> &'static str {
    RULES.iter().find(|r| r.id == id).map_or("", |r| r.fix)
}

/// One statement of a principal's documents, with where it is written.
#[derive(Debug, Clone)]
pub(super) struct StatementText<'u> {
    pub policy: usize,
    pub index: usize,
    pub label: String,
    pub node: &'u Node,
}

impl StatementText<'_> {
    fn strings_under(&self, keys: &[&str]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for key in keys {
            if let Some(node) = self.node.get(key) {
                super::visit_strings(node, &mut |s, line| out.push((s.to_string(), line)));
            }
        }
        out
    }

    fn condition_keys(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        if let Some(Value::Map(operators)) = self.node.get("Condition").map(|c| &c.value) {
            for (_, keys) in operators {
                if let Value::Map(entries) = &keys.value {
                    out.extend(entries.iter().map(|(k, v)| (k.clone(), v.line)));
                }
            }
        }
        out
    }
}

pub(super) fn statements(unit: &Unit) -> Vec<StatementText<'_>> {
    let mut out = Vec::new();
    for (policy, document) in unit.documents.iter().enumerate() {
        let Some(list) = document.node.get("Statement") else {
            continue;
        };
        for (index, node) in list.items().into_iter().enumerate() {
            let label = match node.get("Sid").and_then(Node::as_str) {
                Some(sid) => format!("`{sid}`"),
                None => format!("#{index}"),
            };
            out.push(StatementText {
                policy,
                index,
                label: format!("statement {label} of {}", document.label),
                node,
            });
        }
    }
    out
}

const PREFIXES: &[&str] = &["us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"];

/// The profile prefix a `foundation-model/` resource wrongly starts with.
fn profile_prefix_in_model(resource: &str) -> Option<&'static str> {
    let model = resource.split_once("foundation-model/")?.1;
    PREFIXES
        .iter()
        .find(|p| model.starts_with(&format!("{p}.")))
        .copied()
}

/// The prefixes of `inference-profile/<prefix>.` patterns in a text.
fn profile_prefixes(text: &str) -> Option<String> {
    let after = text.split_once("inference-profile/")?.1;
    let (prefix, _) = after.split_once('.')?;
    (!prefix.is_empty() && !prefix.contains('*')).then(|| prefix.to_string())
}

fn is_converse(action: &str) -> Option<&'static str> {
    match action.to_ascii_lowercase().as_str() {
        "bedrock:converse" => Some("bedrock:InvokeModel"),
        "bedrock:conversestream" => Some("bedrock:InvokeModelWithResponseStream"),
        _ => None,
    }
}

fn warning(unit: &Unit, rule: &str, line: usize, why: String) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity: Severity::Warning,
        principal: unit.name.clone(),
        file: unit.file.clone(),
        line,
        profile: None,
        source_region: None,
        requests: Vec::new(),
        why,
        fix: fix_text(rule).to_string(),
        statements_to_add: Vec::new(),
    }
}

/// Pitfalls visible in the text alone (4, 6, 7, 8), whatever profile is checked.
pub(super) fn static_findings(unit: &Unit, statements: &[StatementText<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    for statement in statements {
        for (resource, line) in statement.strings_under(&["Resource", "NotResource"]) {
            if let Some(prefix) = profile_prefix_in_model(&resource) {
                out.push(warning(unit, PROFILE_IN_MODEL_ARN, line, format!(
                    "{}: `{resource}` names a `{prefix}.` profile id as a foundation model; no model has that id, so the resource matches nothing",
                    statement.label
                )));
            }
        }
        for (action, line) in statement.strings_under(&["Action", "NotAction"]) {
            if let Some(real) = is_converse(&action) {
                out.push(warning(unit, CONVERSE_ACTION, line, format!(
                    "{}: `{action}` is not an IAM action and matches nothing; the call is authorized as `{real}`",
                    statement.label
                )));
            }
        }
        for (key, line) in statement.condition_keys() {
            if key.eq_ignore_ascii_case("aws:InferenceProfileArn") {
                out.push(warning(unit, KEY_TYPO, line, format!(
                    "{}: condition key `{key}` is never in a request; the key is `bedrock:InferenceProfileArn`",
                    statement.label
                )));
            }
            let covers_models = statement
                .strings_under(&["Resource"])
                .iter()
                .any(|(r, _)| r == "*" || r.contains("foundation-model"));
            if key.eq_ignore_ascii_case("aws:ResourceAccount") && covers_models {
                out.push(warning(unit, RESOURCE_ACCOUNT, line, format!(
                    "{}: `aws:ResourceAccount` is absent for foundation-model ARNs (they have no account), so this condition never holds for them",
                    statement.label
                )));
            }
        }
    }
    out
}

/// What classifying the requests of one check needs.
pub(super) struct CheckContext<'a> {
    pub unit: &'a Unit,
    pub statements: &'a [StatementText<'a>],
    pub check: &'a Check,
    pub account: &'a str,
    pub compiled: &'a Compiled,
}

impl CheckContext<'_> {
    fn statement(&self, policy: usize, index: usize) -> Option<&StatementText<'_>> {
        self.statements
            .iter()
            .find(|s| s.policy == policy && s.index == index)
    }

    fn first_line(&self) -> usize {
        self.statements.first().map_or(1, |s| s.node.line)
    }

    fn policy_strings(&self, keys: &[&str]) -> Vec<(String, usize)> {
        self.statements
            .iter()
            .flat_map(|s| s.strings_under(keys))
            .collect()
    }
}

/// The pitfall that explains one denied request, the line it points at and why.
fn cause(
    context: &CheckContext<'_>,
    leg: &Leg,
    request: &Request,
    decision: Decision,
    decided: &[(Leg, Request, Decision)],
) -> (&'static str, usize, String) {
    let narrow = &context.compiled.narrow;
    if decision == Decision::ExplicitlyDenied {
        let (line, label) = applying(narrow, request, Effect::Deny)
            .first()
            .and_then(|(p, i)| context.statement(*p, *i))
            .map_or(
                (context.first_line(), "a Deny statement".to_string()),
                |s| (s.node.line, s.label.clone()),
            );
        return (EXPLICIT_DENY, line, format!("{label} denies it"));
    }
    // An Allow that names the action and resource but whose condition fails.
    for (p, policy) in narrow.iter().enumerate() {
        for statement in policy
            .statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
        {
            let mut bare = statement.clone();
            bare.conditions.clear();
            if bare.applies(request) != Applies::Yes {
                continue;
            }
            let line_label = context
                .statement(p, statement.index)
                .map_or((context.first_line(), String::new()), |s| {
                    (s.node.line, s.label.clone())
                });
            for clause in &statement.conditions {
                if clause.evaluate(request) != crate::policy::condition::Tri::False {
                    continue;
                }
                let failed = format!(
                    "{} allows it except that `{} {}: {:?}` does not hold",
                    line_label.1, clause.operator, clause.key, clause.values
                );
                let rule = match clause.key_lowercase() {
                    "aws:resourceaccount" => RESOURCE_ACCOUNT,
                    "aws:inferenceprofilearn" => KEY_TYPO,
                    "bedrock:inferenceprofilearn"
                        if clause.values.iter().any(|v| profile_prefixes(v).is_some()) =>
                    {
                        PREFIX_PATTERN
                    }
                    // A Region list that misses a Region the call reaches.
                    "aws:requestedregion" if leg.kind == LegKind::GlobalModel => GLOBAL_MISSING,
                    "aws:requestedregion" => PINNED_REGION,
                    _ => kind_rule(context, leg, decided),
                };
                return (rule, line_label.0, failed);
            }
        }
    }
    let rule = kind_rule(context, leg, decided);
    let line = anchor_line(context, rule, leg, decided);
    let mut granted: Vec<&str> = decided
        .iter()
        .filter(|(l, _, d)| *d == Decision::Allowed && l.kind != LegKind::Profile)
        .map(|(l, _, _)| l.region.as_str())
        .collect();
    granted.sort_unstable();
    granted.dedup();
    let why = match rule {
        PINNED_REGION | GLOBAL_MISSING => format!(
            "no Allow statement matches these requests; the model is granted for this call only with aws:RequestedRegion in [{}]",
            granted.join(", ")
        ),
        _ => "no Allow statement matches these requests".to_string(),
    };
    (rule, line, why)
}

/// The pitfall a request without any matching Allow points to, from what else is allowed.
fn kind_rule(
    context: &CheckContext<'_>,
    leg: &Leg,
    decided: &[(Leg, Request, Decision)],
) -> &'static str {
    let allowed = |pick: &dyn Fn(&Leg) -> bool| {
        decided
            .iter()
            .any(|(l, _, d)| *d == Decision::Allowed && pick(l))
    };
    if context
        .policy_strings(&["Action"])
        .iter()
        .any(|(a, _)| is_converse(a).is_some_and(|real| real.eq_ignore_ascii_case(&leg.action)))
    {
        return CONVERSE_ACTION;
    }
    if leg.action.ends_with("WithResponseStream")
        && allowed(&|l| l.resource == leg.resource && l.kind == leg.kind && l.action != leg.action)
    {
        return STREAMING_MISSING;
    }
    let resources = context.policy_strings(&["Resource"]);
    let model_leg = |l: &Leg| l.kind != LegKind::Profile;
    match leg.kind {
        LegKind::Profile => {
            let prefix = context
                .check
                .profile_id
                .split('.')
                .next()
                .unwrap_or_default();
            let prefixes: Vec<String> = resources
                .iter()
                .filter_map(|(r, _)| profile_prefixes(r))
                .collect();
            if !prefixes.is_empty() && !prefixes.iter().any(|p| p == prefix) {
                PREFIX_PATTERN
            } else if allowed(&model_leg)
                || resources
                    .iter()
                    .any(|(r, _)| r.contains("foundation-model"))
            {
                PROFILE_MISSING
            } else {
                NOT_GRANTED
            }
        }
        _ if resources
            .iter()
            .any(|(r, _)| profile_prefix_in_model(r).is_some()) =>
        {
            PROFILE_IN_MODEL_ARN
        }
        LegKind::GlobalModel if allowed(&model_leg) => GLOBAL_MISSING,
        LegKind::SourceModel | LegKind::DestinationModel if allowed(&model_leg) => PINNED_REGION,
        _ if allowed(&|_| true) => MODEL_MISSING,
        _ => NOT_GRANTED,
    }
}

/// The line a rule points at: the statement granting the nearest allowed request.
fn anchor_line(
    context: &CheckContext<'_>,
    rule: &str,
    leg: &Leg,
    decided: &[(Leg, Request, Decision)],
) -> usize {
    let text_line = |keys: &[&str], hit: &dyn Fn(&str) -> bool| {
        context
            .policy_strings(keys)
            .into_iter()
            .find(|(s, _)| hit(s))
            .map(|(_, line)| line)
    };
    let found = match rule {
        PROFILE_IN_MODEL_ARN => text_line(&["Resource"], &|r| profile_prefix_in_model(r).is_some()),
        CONVERSE_ACTION => text_line(&["Action"], &|a| is_converse(a).is_some()),
        PREFIX_PATTERN => text_line(&["Resource"], &|r| profile_prefixes(r).is_some()),
        _ => None,
    };
    found
        .or_else(|| {
            // The Allow that grants a sibling request (same action first).
            let mut siblings: Vec<&(Leg, Request, Decision)> = decided
                .iter()
                .filter(|(_, _, d)| *d == Decision::Allowed)
                .collect();
            siblings.sort_by_key(|(l, _, _)| l.action != leg.action);
            siblings.iter().find_map(|(_, r, _)| {
                applying(&context.compiled.narrow, r, Effect::Allow)
                    .first()
                    .and_then(|(p, i)| context.statement(*p, *i))
                    .map(|s| s.node.line)
            })
        })
        .unwrap_or_else(|| context.first_line())
}

fn missing(leg: &Leg, request: &Request, decision: Decision) -> MissingRequest {
    MissingRequest {
        action: leg.action.clone(),
        resource: request.resource.clone(),
        requested_region: leg.region.clone(),
        kind: kind_name(leg.kind).to_string(),
        decision,
    }
}

/// The denied requests of one check that one rule explains.
struct Group<'d> {
    rule: &'static str,
    line: usize,
    whys: Vec<String>,
    items: Vec<&'d (Leg, Request, Decision)>,
}

/// Findings for the requests of one check: one per pitfall, with its requests.
pub(super) fn classify(
    context: &CheckContext<'_>,
    decided: &[(Leg, Request, Decision)],
) -> Vec<Finding> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for item in decided {
        let (leg, request, decision) = item;
        let (rule, line, why) = match decision {
            Decision::Allowed => continue,
            Decision::Unknown => (
                UNRESOLVED,
                context.first_line(),
                "the answer differs with the widest and the narrowest reading of unresolved values"
                    .to_string(),
            ),
            _ => cause(context, leg, request, *decision, decided),
        };
        match groups.iter_mut().find(|g| g.rule == rule) {
            Some(group) => {
                if !group.whys.contains(&why) {
                    group.whys.push(why);
                }
                group.items.push(item);
            }
            None => groups.push(Group {
                rule,
                line,
                whys: vec![why],
                items: vec![item],
            }),
        }
    }
    groups
        .into_iter()
        .map(
            |Group {
                 rule,
                 line,
                 whys,
                 items,
             }| {
                let legs: Vec<&Leg> = items.iter().map(|(l, _, _)| l).collect();
                let statements_to_add = match rule {
                    EXPLICIT_DENY | UNRESOLVED => Vec::new(),
                    _ => fix::statements(context.check, &legs, context.account, context.compiled),
                };
                Finding {
                    rule: rule.to_string(),
                    severity: if rule == UNRESOLVED {
                        Severity::Unknown
                    } else {
                        Severity::Error
                    },
                    principal: context.unit.name.clone(),
                    file: context.unit.file.clone(),
                    line,
                    profile: Some(context.check.profile_id.clone()),
                    source_region: Some(context.check.source_region.clone()),
                    requests: items.iter().map(|(l, r, d)| missing(l, r, *d)).collect(),
                    why: whys.join("; "),
                    fix: fix_text(rule).to_string(),
                    statements_to_add,
                }
            },
        )
        .collect()
}

/// Pitfall 10: the Marketplace requests of a third-party model's first call.
pub(super) fn marketplace(context: &CheckContext<'_>) -> Vec<Finding> {
    let marketplace_request = |action: &str| {
        let mut request_context = Context::new(MissingKeys::UnknownCaller);
        request_context.set(
            "aws:RequestedRegion",
            vec![context.check.source_region.clone()],
        );
        request_context.set("aws:PrincipalAccount", vec![context.account.to_string()]);
        request_context.set(
            "aws:CalledViaLast",
            vec!["bedrock.amazonaws.com".to_string()],
        );
        Request::new(action, "*", request_context)
    };
    let requests: Vec<MissingRequest> = MARKETPLACE_ACTIONS
        .iter()
        .map(|action| (action, marketplace_request(action)))
        .map(|(action, request)| (action, decide(context.compiled, &request)))
        .filter(|(_, decision)| denied(*decision))
        .map(|(action, decision)| MissingRequest {
            action: (*action).to_string(),
            resource: "*".to_string(),
            requested_region: context.check.source_region.clone(),
            kind: "marketplace".to_string(),
            decision,
        })
        .collect();
    if requests.is_empty() {
        return Vec::new();
    }
    vec![Finding {
        rule: MARKETPLACE.to_string(),
        severity: Severity::Warning,
        principal: context.unit.name.clone(),
        file: context.unit.file.clone(),
        line: context.first_line(),
        profile: Some(context.check.profile_id.clone()),
        source_region: Some(context.check.source_region.clone()),
        requests,
        why: format!(
            "{} is a third-party model: the first call in an account not yet subscribed needs the Marketplace actions",
            context.check.profile_id
        ),
        fix: fix_text(MARKETPLACE).to_string(),
        statements_to_add: vec![json!({
            "Sid": "AllowBedrockMarketplaceFirstUse",
            "Effect": "Allow",
            "Action": MARKETPLACE_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}},
        })],
    }]
}
