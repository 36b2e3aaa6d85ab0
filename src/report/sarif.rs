//! SARIF 2.1.0 rendering for code-scanning UIs: one result per problem (§3.1).
//!
//! A problem's rule is its cause kind (`CRIS010` explicit deny ... `CRIS014` cannot decide),
//! its level its status (blocked: error, conditional: warning, unknown: note). Its physical
//! location is the policy's entry in the snapshot file when the caller passes that file in
//! [`RenderOptions`]; the affected OUs and accounts are logical locations; the problem id is
//! the partial fingerprint, so a UI tracks the same cause across runs.
//!
//! A report without problems (one built before the problem layer) gets one result per
//! non-reachable finding under the rules `CRIS001`-`CRIS003`, keyed by the finding key.
//! The log is built from typed structs so key order is fixed whatever `serde_json` features
//! are enabled.

use rustc_hash::FxHashMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::layout::Matrix;
use super::problem;
use crate::findings::ExpectationResult;
use crate::findings::{
    Affected, Blocker, Cause, CauseKind, Condition, Finding, Problem, Report, Status, Summary,
    TargetKind,
};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where a reader learns what the tool checks (the blog post whose scenario it decides).
const INFORMATION_URI: &str = "https://aws.amazon.com/blogs/machine-learning/enable-amazon-bedrock-cross-region-inference-in-multi-account-environments/";
const SCP_EVALUATION_URI: &str = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html";
const ACCOUNT_STATUS_URI: &str =
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts.html";
const CRIS_URI: &str =
    "https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html";

/// The snapshot file the report was evaluated from: its path as the user gave it and its text,
/// in which a problem's policy entry is found.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotFile<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

/// A policy file of infrastructure code a what-if wrote (a CfCT manifest's `resource_file`, a
/// Terraform policy's `file(…)` or the `.tf` file that writes it inline): results about that
/// policy point at its statement there, where the pull request changes it.
#[derive(Debug, Clone, Copy)]
pub struct PolicyFile<'a> {
    pub policy_name: &'a str,
    pub path: &'a str,
    pub text: &'a str,
    /// Byte offset where the policy starts in `text` (its `resource` block in a `.tf` file;
    /// 0 for a policy document): the `Sid` is searched from here, and a result whose
    /// statement has no `Sid` points here.
    pub from: usize,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// When set, results point at the line of their policy's id in this file.
    pub snapshot: Option<SnapshotFile<'a>>,
    /// Preferred over the snapshot for the policies they name.
    pub policy_files: &'a [PolicyFile<'a>],
}

/// Renders the report as a SARIF 2.1.0 log (pretty JSON, one trailing newline).
pub fn render(report: &Report, options: &RenderOptions<'_>) -> String {
    let log = log(report, options);
    match serde_json::to_string_pretty(&log) {
        Ok(mut json) => {
            json.push('\n');
            json
        }
        // Serializing these plain structs cannot fail; stay valid JSON regardless.
        Err(_) => format!("{{\"$schema\":\"{SCHEMA}\",\"version\":\"2.1.0\",\"runs\":[]}}\n"),
    }
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    organization_id: &'a str,
    snapshot_captured_at: &'a str,
    summary: Summary,
    /// With `--expect` (§6): which intents hold; results behind none of the violated ones are
    /// `note`s.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    expectations: &'a [ExpectationResult],
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: &'static str,
    short_description: Message,
    full_description: Message,
    default_configuration: Configuration,
    help: Message,
    help_uri: &'static str,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<Location<'a>>,
    partial_fingerprints: Fingerprints,
    properties: Properties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    logical_locations: Vec<LogicalLocation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: SourceRegion,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

/// A SARIF region (a place in a file, not an AWS Region).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceRegion {
    start_line: usize,
    start_column: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
enum Fingerprints {
    #[serde(rename = "crisFindingKey/v1")]
    FindingKey(String),
    #[serde(rename = "crisProblemId/v1")]
    ProblemId(String),
}

/// What a result carries beyond the SARIF fields: a problem, or (without problems) a finding.
#[derive(Serialize)]
#[serde(untagged)]
enum Properties<'a> {
    Problem(ProblemProperties<'a>),
    Finding(ResultProperties<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProblemProperties<'a> {
    problem_id: &'a str,
    status: Status,
    cause: &'a Cause,
    affected: &'a Affected,
    proposal_ids: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    unresolved_reason: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    target_id: &'a str,
    target_path: &'a str,
    profile_id: &'a str,
    source_region: &'a str,
    status: Status,
    blockers: &'a [Blocker],
    conditions: &'a [Condition],
}

/// `(rule index, rule id, level)` per non-reachable status (findings without problems).
fn rule_of(status: Status) -> Option<(usize, &'static str, &'static str)> {
    match status {
        Status::Blocked => Some((0, "CRIS001", "error")),
        Status::Conditional => Some((1, "CRIS002", "warning")),
        Status::Unknown => Some((2, "CRIS003", "note")),
        Status::Reachable => None,
    }
}

fn level_of(status: Status) -> &'static str {
    match status {
        Status::Blocked => "error",
        Status::Conditional => "warning",
        Status::Unknown | Status::Reachable => "note",
    }
}

const HELP: &str = "Run `cris-guard evaluate --format text` for the blockers and `cris-guard propose` for a verified fix.";

fn rule(
    id: &'static str,
    name: &'static str,
    level: &'static str,
    short: &str,
    full: &str,
    help_uri: &'static str,
) -> Rule {
    Rule {
        id,
        name,
        short_description: Message {
            text: short.to_string(),
        },
        full_description: Message {
            text: full.to_string(),
        },
        default_configuration: Configuration { level },
        help: Message {
            text: HELP.to_string(),
        },
        help_uri,
    }
}

fn finding_rules() -> Vec<Rule> {
    vec![
        rule(
            "CRIS001",
            "InferenceProfileBlocked",
            "error",
            "Cross-Region inference profile blocked by SCPs",
            "Some request that Bedrock authorizes for a call through this inference profile (the profile in the source Region, or the foundation model in the source or a destination Region) is denied by the SCPs that apply to the target, for every principal.",
            SCP_EVALUATION_URI,
        ),
        rule(
            "CRIS002",
            "InferenceProfileConditional",
            "warning",
            "Cross-Region inference profile reachable only under conditions",
            "Whether calls through this inference profile are allowed depends on request facts the snapshot does not fix, such as the calling principal's ARN; the conditions say which.",
            SCP_EVALUATION_URI,
        ),
        rule(
            "CRIS003",
            "InferenceProfileUnknown",
            "note",
            "Cross-Region inference profile reachability unknown",
            "The snapshot lacks a fact needed to decide whether calls through this inference profile are allowed; the message says which.",
            CRIS_URI,
        ),
    ]
}

/// The rule of a problem's cause kind: its index in [`problem_rules`].
fn problem_rule_index(kind: CauseKind) -> usize {
    match kind {
        CauseKind::ExplicitDeny => 0,
        CauseKind::NoAllow => 1,
        CauseKind::AccountNotActive => 2,
        CauseKind::Gap => 3,
        CauseKind::Unknown => 4,
    }
}

fn problem_rules() -> Vec<Rule> {
    vec![
        rule(
            "CRIS010",
            "ExplicitDenyBlocksInference",
            "error",
            "An SCP statement denies a request cross-Region inference needs",
            "A Deny statement of a service control policy matches a request Bedrock authorizes for a call through a cross-Region inference profile: the profile in the source Region, the foundation model in the source Region, or the model in a destination Region the profile routes to. Every account below the targets the policy is attached to loses the profile (or keeps it only for principals that meet the statement's conditions).",
            SCP_EVALUATION_URI,
        ),
        rule(
            "CRIS011",
            "NoAllowForInference",
            "error",
            "A level of the organization has no SCP that allows a request cross-Region inference needs",
            "SCPs allow a request only when every level from the root down to the account has an attached SCP that allows it. At this level none does, so the request is implicitly denied below it.",
            SCP_EVALUATION_URI,
        ),
        rule(
            "CRIS012",
            "AccountNotActive",
            "error",
            "The account is not ACTIVE",
            "An account that is suspended or being closed cannot call Bedrock, whatever its SCPs say.",
            ACCOUNT_STATUS_URI,
        ),
        rule(
            "CRIS013",
            "OrganizationPartNotRead",
            "note",
            "Part of the organization could not be read",
            "The snapshot lacks part of the organization (an OU, an account's policies or the inference profiles of a Region), so reachability there is unknown rather than assumed.",
            CRIS_URI,
        ),
        rule(
            "CRIS014",
            "CannotDecide",
            "note",
            "cris-guard cannot decide reachability",
            "The snapshot lacks a fact the answer needs or holds a policy cris-guard cannot interpret; the message says which.",
            CRIS_URI,
        ),
    ]
}

fn log<'a>(report: &'a Report, options: &RenderOptions<'_>) -> Log<'a> {
    let (rules, results) = if report.problems.is_empty() {
        let matrix = Matrix::of(report);
        let results = matrix.problems().into_iter().filter_map(result).collect();
        (finding_rules(), results)
    } else {
        let targets = target_names(report);
        let results = problem::ordered(report)
            .into_iter()
            .map(|p| problem_result(report, p, &targets, options))
            .collect();
        (problem_rules(), results)
    };
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "cris-guard",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules,
                },
            },
            results,
            properties: RunProperties {
                organization_id: &report.organization_id,
                snapshot_captured_at: &report.snapshot_captured_at,
                summary: report.summary,
                expectations: &report.expectations,
            },
        }],
    }
}

fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Root => "root",
        TargetKind::OrganizationalUnit => "organizationalUnit",
        TargetKind::Account => "account",
    }
}

/// Target id → (path, kind), from the findings (looked up only: hashed, since a large
/// report has hundreds of thousands of findings).
fn target_names(report: &Report) -> FxHashMap<&str, (&str, TargetKind)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.target_id.as_str(),
                (f.target_path.as_str(), f.target_kind),
            )
        })
        .collect()
}

/// The kind of a target known only by id: `r-…` root, `ou-…` OU, else an account.
fn kind_of_id(id: &str) -> TargetKind {
    if id.starts_with("r-") {
        TargetKind::Root
    } else if id.starts_with("ou-") {
        TargetKind::OrganizationalUnit
    } else {
        TargetKind::Account
    }
}

fn problem_result<'a>(
    report: &Report,
    problem: &'a Problem,
    targets: &FxHashMap<&str, (&'a str, TargetKind)>,
    options: &RenderOptions<'_>,
) -> SarifResult<'a> {
    let rule_index = problem_rule_index(problem.cause.kind);
    let rule_id = problem_rules()
        .get(rule_index)
        .map(|r| r.id)
        .unwrap_or("CRIS014");
    let text = if problem.explanation.is_empty() {
        format!(
            "{}: {}.",
            problem.status.as_str(),
            problem::title(problem, &|s| s.to_string(), &|s| s.to_string())
        )
    } else {
        problem.explanation.clone()
    };
    let logical_locations = problem
        .affected
        .target_ids
        .iter()
        .map(|id| {
            let (path, kind) = targets
                .get(id.as_str())
                .copied()
                .unwrap_or((id.as_str(), kind_of_id(id)));
            LogicalLocation {
                name: path.rsplit('/').next().unwrap_or(path),
                fully_qualified_name: path,
                kind: kind_name(kind),
            }
        })
        .collect();
    let from_code = problem.cause.policy_name.as_deref().and_then(|name| {
        let file = options
            .policy_files
            .iter()
            .find(|f| f.policy_name == name)?;
        let (line, column) = problem
            .cause
            .sid
            .as_deref()
            .and_then(|sid| key_position(file.text, file.from, "Sid", sid))
            .or_else(|| position(file.text, file.from))
            .unwrap_or((1, 1));
        Some(PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: file_uri(file.path),
            },
            region: SourceRegion {
                start_line: line,
                start_column: column,
            },
        })
    });
    let physical_location = match (options.snapshot, &problem.cause.policy_id) {
        _ if from_code.is_some() => from_code,
        (Some(file), Some(policy_id)) => {
            policy_position(file.text, policy_id).map(|(line, column)| PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: file_uri(file.path),
                },
                region: SourceRegion {
                    start_line: line,
                    start_column: column,
                },
            })
        }
        _ => None,
    };
    // With `--expect`, a problem behind no violated expectation is informational (§6).
    let behind_violation = report.expectations.is_empty()
        || report
            .expectations
            .iter()
            .any(|e| e.problem_ids.contains(&problem.id));
    SarifResult {
        rule_id,
        rule_index,
        level: if behind_violation {
            level_of(problem.status)
        } else {
            "note"
        },
        message: Message { text },
        locations: vec![Location {
            physical_location,
            logical_locations,
        }],
        partial_fingerprints: Fingerprints::ProblemId(problem.id.clone()),
        properties: Properties::Problem(ProblemProperties {
            problem_id: &problem.id,
            status: problem.status,
            cause: &problem.cause,
            affected: &problem.affected,
            proposal_ids: &problem.proposal_ids,
            unresolved_reason: problem.unresolved_reason.as_deref(),
        }),
    }
}

/// The 1-based line and column of the policy's `"id": "<policy id>"` entry in the snapshot
/// text (policy ids appear nowhere else as an `id` value), or `None` when it is not there (a
/// policy a what-if created).
fn policy_position(text: &str, policy_id: &str) -> Option<(usize, usize)> {
    key_position(text, 0, "id", policy_id)
}

/// The 1-based line and column of the first `"<key>": "<value>"` in JSON text.
fn key_position(text: &str, from: usize, key: &str, value: &str) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(value).ok()?;
    let quoted_key = serde_json::to_string(key).ok()?;
    let mut from = from;
    while let Some(found) = text.get(from..)?.find(&quoted) {
        let at = from + found;
        let before = text.get(..at)?.trim_end();
        // JSON `"Sid": "X"`, or HCL (`jsonencode`) `Sid = "X"` / `"Sid" = "X"`.
        let key_before = before
            .strip_suffix(':')
            .or_else(|| before.strip_suffix('='))
            .map(str::trim_end);
        if let Some(key_text) = key_before
            && (key_text.ends_with(&quoted_key)
                || key_text.ends_with(key)
                    && !key_text[..key_text.len() - key.len()]
                        .ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        {
            return position(text, at);
        }
        from = at + quoted.len();
    }
    None
}

/// 1-based line and column of byte offset `at` in `text`.
fn position(text: &str, at: usize) -> Option<(usize, usize)> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(..at)?.matches('\n').count() + 1;
    let column = text.get(line_start..at)?.chars().count() + 1;
    Some((line, column))
}

/// A relative URI reference for a path as the user gave it (`\` as `/`, unsafe bytes
/// percent-encoded).
fn file_uri(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                uri.push(char::from(byte));
            }
            other => {
                let _ = write!(uri, "%{other:02X}");
            }
        }
    }
    uri
}

fn result(finding: &Finding) -> Option<SarifResult<'_>> {
    let (rule_index, rule_id, level) = rule_of(finding.status)?;
    let text = if finding.explanation.is_empty() {
        format!(
            "{} from {} is {} for {}.",
            finding.profile_id,
            finding.source_region,
            finding.status.as_str(),
            finding.target_path
        )
    } else {
        finding.explanation.clone()
    };
    Some(SarifResult {
        rule_id,
        rule_index,
        level,
        message: Message { text },
        locations: vec![Location {
            physical_location: None,
            logical_locations: vec![LogicalLocation {
                name: finding
                    .target_path
                    .rsplit('/')
                    .next()
                    .unwrap_or(&finding.target_path),
                fully_qualified_name: &finding.target_path,
                kind: kind_name(finding.target_kind),
            }],
        }],
        partial_fingerprints: Fingerprints::FindingKey(finding.key()),
        properties: Properties::Finding(ResultProperties {
            target_id: &finding.target_id,
            target_path: &finding.target_path,
            profile_id: &finding.profile_id,
            source_region: &finding.source_region,
            status: finding.status,
            blockers: &finding.blockers,
            conditions: &finding.conditions,
        }),
    })
}
