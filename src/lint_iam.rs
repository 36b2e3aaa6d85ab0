//! `lint-iam` (contract §9): checks a CRIS caller's own identity policies for every request a
//! cross-Region call makes, and names the pitfall (domain.md §11) behind each one they miss.
//!
//! Identity policies are the same language as SCPs, so the engine is the project's: each
//! principal's documents form one level (an Allow is needed, a Deny wins) and each profile ×
//! source Region is expanded into its requests exactly as `evaluate` does. Template values that
//! cannot be resolved are evaluated both ways (widest and narrowest); when the two answers
//! differ the request is `unknown`. The smallest statement to add is written in AWS's pattern
//! (Deadline Cloud assistant permissions; the three-part global policy) and proven by
//! re-evaluating with it.

mod fix;
pub mod render;
mod resolve;
mod rules;
pub mod source;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::arn::Arn;
use crate::error::InputError;
use crate::evaluation::{self, Outcome};
use crate::policy::{self, Applies, Effect, Policy};
use crate::reachability::{Check, Leg, LegKind, Options, checks_of};
use crate::request::leg::with_account;
use crate::request::{Context, MissingKeys, Request};
use crate::snapshot::InferenceProfile;

pub use rules::{RULES, Rule};

/// The account the requests carry when no policy names one (AWS's documentation example).
pub const EXAMPLE_ACCOUNT: &str = "111122223333";

/// One input file as read by the caller.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub name: String,
    pub text: String,
}

/// What to check against.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Only these profiles (empty: those the policy grants at least one request of).
    pub profiles: Vec<String>,
    /// Only these source Regions (empty: every source Region of each profile).
    pub source_regions: Vec<String>,
}

/// The verdict of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Allowed,
    ExplicitlyDenied,
    ImplicitlyDenied,
    Unknown,
}

/// One request a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingRequest {
    pub action: String,
    pub resource: String,
    pub requested_region: String,
    /// `profile`, `sourceModel`, `destinationModel`, `globalModel` or `marketplace`.
    pub kind: String,
    pub decision: Decision,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// A request of the call is denied: the call fails.
    Error,
    /// Decided only with facts the policy text does not fix.
    Unknown,
    /// Harmless now or only at first use, but wrong.
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub principal: String,
    pub file: String,
    /// 1-based line of the statement (or the document, or the resource) the finding is about.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_region: Option<String>,
    pub requests: Vec<MissingRequest>,
    pub why: String,
    pub fix: String,
    /// Statements to add (AWS's recommended pattern), proven by re-evaluation; empty when an
    /// Allow cannot help (a Deny wins) or nothing is missing.
    pub statements_to_add: Vec<serde_json::Value>,
}

/// The result of linting every input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LintReport {
    /// Principals checked (policy files, template roles, unattached template policies).
    pub principals: Vec<PrincipalSummary>,
    pub findings: Vec<Finding>,
    /// Where the routing came from.
    pub routing_source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalSummary {
    pub principal: String,
    pub file: String,
    /// Profile × source Region pairs checked.
    pub checks: usize,
    pub requests_allowed: usize,
    pub requests_denied: usize,
    pub requests_unknown: usize,
    /// What could not be read or resolved.
    pub notes: Vec<String>,
}

impl LintReport {
    /// Exit code as `evaluate`: 1 when a request is denied, 2 when one is unknown, else 0.
    pub fn exit_code(&self) -> u8 {
        let any = |s: Severity| self.findings.iter().any(|f| f.severity == s);
        if any(Severity::Error) {
            1
        } else if any(Severity::Unknown) {
            2
        } else {
            0
        }
    }
}

/// Where the routing comes from without a snapshot.
pub const DOCUMENTED_ROUTING: &str = "the routing tables documented in domain.md §3.2 (AWS \"Supported Regions and models for inference profiles\", late 2025); pass --snapshot for the live routing";

/// Profiles with their routing: from a snapshot, or the routing tables documented in the
/// project (domain.md §3.2, `generate::SYSTEM_PROFILES`).
pub fn documented_profiles() -> BTreeMap<String, Vec<InferenceProfile>> {
    crate::generate::inference_profiles(EXAMPLE_ACCOUNT)
}

/// Lints every input against the profiles (`inference_profiles` keyed by source Region).
pub fn lint(
    inputs: &[InputFile],
    profiles: &BTreeMap<String, Vec<InferenceProfile>>,
    routing_source: &str,
    options: &LintOptions,
) -> Result<LintReport, InputError> {
    let candidate_checks = expand(profiles, options);
    let mut report = LintReport {
        principals: Vec::new(),
        findings: Vec::new(),
        routing_source: routing_source.to_string(),
    };
    for input in inputs {
        for unit in source::read(&input.name, &input.text)? {
            lint_unit(&unit, &candidate_checks, options, &mut report)?;
        }
    }
    Ok(report)
}

/// The checks of the profiles, as `evaluate` builds them.
fn expand(profiles: &BTreeMap<String, Vec<InferenceProfile>>, options: &LintOptions) -> Vec<Check> {
    let wanted = Options {
        profiles: options.profiles.clone(),
        source_regions: options.source_regions.clone(),
        ..Options::default()
    };
    checks_of(profiles, &[], &wanted)
}

/// The documents of one principal compiled for one source Region, both ways.
struct Compiled {
    wide: Vec<Policy>,
    narrow: Vec<Policy>,
}

fn compile(
    unit: &source::Unit,
    env: &resolve::Env,
    notes: &mut Vec<String>,
) -> Result<Compiled, InputError> {
    let one = |unknown_for: &dyn Fn(&str) -> resolve::Unknown, notes: &mut Vec<String>| {
        unit.documents
            .iter()
            .enumerate()
            .map(|(i, document)| {
                let json = resolve::document(&document.node, env, unknown_for, notes);
                policy::parse(&format!("{i}"), &document.label, &json.to_string()).map_err(|err| {
                    let path = if document.path.is_empty() {
                        err.path
                    } else {
                        format!("$.{}{}", document.path, err.path.trim_start_matches('$'))
                    };
                    InputError::new(&unit.file, path, err.message)
                })
            })
            .collect::<Result<Vec<Policy>, InputError>>()
    };
    // Widest: unknown values widen Allows and narrow Denies; narrowest the other way round.
    let wide = one(
        &|effect| match effect {
            "Deny" => resolve::Unknown::Narrow,
            _ => resolve::Unknown::Wide,
        },
        notes,
    )?;
    let narrow = one(
        &|effect| match effect {
            "Deny" => resolve::Unknown::Wide,
            _ => resolve::Unknown::Narrow,
        },
        &mut Vec::new(),
    )?;
    Ok(Compiled { wide, narrow })
}

/// The account the requests carry: the one the policy's Bedrock ARNs name, else the example.
fn caller_account(unit: &source::Unit) -> String {
    let mut found = None;
    for document in &unit.documents {
        visit_strings(&document.node, &mut |s, _| {
            if found.is_none()
                && let Some(arn) = Arn::parse(s)
                && arn.service == "bedrock"
                && arn.account.len() == 12
                && arn.account.bytes().all(|b| b.is_ascii_digit())
            {
                found = Some(arn.account);
            }
        });
    }
    found.unwrap_or_else(|| EXAMPLE_ACCOUNT.to_string())
}

/// Calls `f` on every string of a node with its line.
fn visit_strings(node: &source::Node, f: &mut impl FnMut(&str, usize)) {
    match &node.value {
        source::Value::Str(s) => f(s, node.line),
        source::Value::Seq(items) => items.iter().for_each(|i| visit_strings(i, f)),
        source::Value::Map(entries) => entries.iter().for_each(|(_, v)| visit_strings(v, f)),
        _ => {}
    }
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

/// The request of one leg for an identity-policy caller in `account`: nothing about the
/// principal is known beyond its account.
fn request(leg: &Leg, account: &str) -> Request {
    let mut context = Context::new(MissingKeys::UnknownCaller);
    context.set("aws:RequestedRegion", vec![leg.region.clone()]);
    context.set("aws:PrincipalAccount", vec![account.to_string()]);
    // Only the profile has an account; the `aws:` spelling of the profile key does not exist.
    match leg.kind {
        LegKind::Profile => context.set("aws:ResourceAccount", vec![account.to_string()]),
        _ => context.set_absent("aws:ResourceAccount"),
    }
    context.set_absent("aws:InferenceProfileArn");
    match &leg.inference_profile_arn {
        Some(arn) => context.set(
            "bedrock:InferenceProfileArn",
            vec![with_account(arn, account)],
        ),
        None => context.set_absent("bedrock:InferenceProfileArn"),
    }
    let resource = match leg.kind {
        LegKind::Profile => with_account(&leg.resource, account),
        _ => leg.resource.clone(),
    };
    Request::new(&leg.action, &resource, context)
}

/// The decision of one request under one principal's policies, bracketed both ways.
fn decide(compiled: &Compiled, request: &Request) -> Decision {
    let wide = outcome(&compiled.wide, request);
    let narrow = outcome(&compiled.narrow, request);
    match (wide, narrow) {
        (_, Outcome::Allowed) => Decision::Allowed,
        (Outcome::ExplicitlyDenied, _) => Decision::ExplicitlyDenied,
        (Outcome::ImplicitlyDenied, _) => Decision::ImplicitlyDenied,
        _ => Decision::Unknown,
    }
}

fn outcome(policies: &[Policy], request: &Request) -> Outcome {
    let level: Vec<usize> = (0..policies.len()).collect();
    evaluation::evaluate(&[level], policies, request).outcome
}

fn kind_name(kind: LegKind) -> &'static str {
    crate::reachability::leg_name(kind).as_str()
}

fn lint_unit(
    unit: &source::Unit,
    candidate_checks: &[Check],
    options: &LintOptions,
    report: &mut LintReport,
) -> Result<(), InputError> {
    let account = caller_account(unit);
    let mut summary = PrincipalSummary {
        principal: unit.name.clone(),
        file: unit.file.clone(),
        checks: 0,
        requests_allowed: 0,
        requests_denied: 0,
        requests_unknown: 0,
        notes: unit.notes.clone(),
    };
    let statements = rules::statements(unit);
    report
        .findings
        .extend(rules::static_findings(unit, &statements));
    let mut compiled_by_region: BTreeMap<String, Compiled> = BTreeMap::new();
    let mut marketplace_checked = false;
    for check in candidate_checks {
        if let Some(why) = &check.missing {
            summary.checks += 1;
            report.findings.push(Finding {
                rule: rules::ROUTING_UNKNOWN.to_string(),
                severity: Severity::Unknown,
                principal: unit.name.clone(),
                file: unit.file.clone(),
                line: unit.documents.first().map_or(1, |d| d.node.line),
                profile: Some(check.profile_id.clone()),
                source_region: Some(check.source_region.clone()),
                requests: Vec::new(),
                why: why.clone(),
                fix: rules::fix_text(rules::ROUTING_UNKNOWN).to_string(),
                statements_to_add: Vec::new(),
            });
            continue;
        }
        let region = check.source_region.clone();
        if !compiled_by_region.contains_key(&region) {
            let env = resolve::Env {
                region: region.clone(),
                account: account.clone(),
                partition: partition_of(&region).to_string(),
            };
            let compiled = compile(unit, &env, &mut summary.notes)?;
            compiled_by_region.insert(region.clone(), compiled);
        }
        let Some(compiled) = compiled_by_region.get(&region) else {
            continue;
        };
        let decided: Vec<(Leg, Request, Decision)> = check
            .legs
            .iter()
            .map(|leg| {
                let request = request(leg, &account);
                let decision = decide(compiled, &request);
                (leg.clone(), request, decision)
            })
            .collect();
        // Without `--profile`, only profiles the policy grants something of are checked.
        if options.profiles.is_empty() && !decided.iter().any(|(_, _, d)| *d == Decision::Allowed) {
            continue;
        }
        summary.checks += 1;
        for (_, _, decision) in &decided {
            match decision {
                Decision::Allowed => summary.requests_allowed += 1,
                Decision::Unknown => summary.requests_unknown += 1,
                _ => summary.requests_denied += 1,
            }
        }
        let context = rules::CheckContext {
            unit,
            statements: &statements,
            check,
            account: &account,
            compiled,
        };
        report.findings.extend(rules::classify(&context, &decided));
        if !marketplace_checked && fix::sold_through_marketplace(check) {
            marketplace_checked = true;
            report.findings.extend(rules::marketplace(&context));
        }
    }
    report.principals.push(summary);
    Ok(())
}

/// A decision that fails the call.
fn denied(decision: Decision) -> bool {
    matches!(
        decision,
        Decision::ExplicitlyDenied | Decision::ImplicitlyDenied
    )
}

/// Which statements of the (widest) policies apply to a request as Allow or Deny.
fn applying(policies: &[Policy], request: &Request, effect: Effect) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (p, policy) in policies.iter().enumerate() {
        for statement in &policy.statements {
            if statement.effect == effect && statement.applies(request) == Applies::Yes {
                out.push((p, statement.index));
            }
        }
    }
    out
}
