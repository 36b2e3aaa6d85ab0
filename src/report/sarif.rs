//! SARIF 2.1.0 rendering for code-scanning UIs: one result per non-reachable finding.
//!
//! Rules: `CRIS001` profile blocked (error), `CRIS002` conditional (warning), `CRIS003`
//! unknown (note). A result names its target as a logical location and carries the finding
//! key as a partial fingerprint, so a UI tracks the same problem across runs. The log is built
//! from typed structs so key order is fixed whatever `serde_json` features are enabled.

use serde::Serialize;

use super::layout::Matrix;
use crate::findings::{Blocker, Condition, Finding, Report, Status, Summary, TargetKind};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders the report as a SARIF 2.1.0 log (pretty JSON, one trailing newline).
pub fn render(report: &Report) -> String {
    let log = log(report);
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
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    logical_locations: Vec<LogicalLocation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: &'a str,
    kind: &'static str,
}

#[derive(Serialize)]
struct Fingerprints {
    #[serde(rename = "crisFindingKey/v1")]
    finding_key: String,
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

/// `(rule index, rule id, level)` per non-reachable status.
fn rule_of(status: Status) -> Option<(usize, &'static str, &'static str)> {
    match status {
        Status::Blocked => Some((0, "CRIS001", "error")),
        Status::Conditional => Some((1, "CRIS002", "warning")),
        Status::Unknown => Some((2, "CRIS003", "note")),
        Status::Reachable => None,
    }
}

fn rules() -> Vec<Rule> {
    let rule = |id, name, level, short: &str, full: &str| {
        Rule {
        id,
        name,
        short_description: Message { text: short.to_string() },
        full_description: Message { text: full.to_string() },
        default_configuration: Configuration { level },
        help: Message {
            text: "Run `cris-guard evaluate --format text` for the blockers and `cris-guard propose` for a verified fix."
                .to_string(),
        },
    }
    };
    vec![
        rule(
            "CRIS001",
            "InferenceProfileBlocked",
            "error",
            "Cross-Region inference profile blocked by SCPs",
            "Some request that Bedrock authorizes for a call through this inference profile (the profile in the source Region, or the foundation model in the source or a destination Region) is denied by the SCPs that apply to the target, for every principal.",
        ),
        rule(
            "CRIS002",
            "InferenceProfileConditional",
            "warning",
            "Cross-Region inference profile reachable only under conditions",
            "Whether calls through this inference profile are allowed depends on request facts the snapshot does not fix, such as the calling principal's ARN; the conditions say which.",
        ),
        rule(
            "CRIS003",
            "InferenceProfileUnknown",
            "note",
            "Cross-Region inference profile reachability unknown",
            "The snapshot lacks a fact needed to decide whether calls through this inference profile are allowed; the message says which.",
        ),
    ]
}

fn log(report: &Report) -> Log<'_> {
    let matrix = Matrix::of(report);
    let results = matrix.problems().into_iter().filter_map(result).collect();
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "cris-guard",
                    version: env!("CARGO_PKG_VERSION"),
                    rules: rules(),
                },
            },
            results,
            properties: RunProperties {
                organization_id: &report.organization_id,
                snapshot_captured_at: &report.snapshot_captured_at,
                summary: report.summary,
            },
        }],
    }
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
    let kind = match finding.target_kind {
        TargetKind::Root => "root",
        TargetKind::OrganizationalUnit => "organizationalUnit",
        TargetKind::Account => "account",
    };
    Some(SarifResult {
        rule_id,
        rule_index,
        level,
        message: Message { text },
        locations: vec![Location {
            logical_locations: vec![LogicalLocation {
                name: finding
                    .target_path
                    .rsplit('/')
                    .next()
                    .unwrap_or(&finding.target_path),
                fully_qualified_name: &finding.target_path,
                kind,
            }],
        }],
        partial_fingerprints: Fingerprints {
            finding_key: finding.key(),
        },
        properties: ResultProperties {
            target_id: &finding.target_id,
            target_path: &finding.target_path,
            profile_id: &finding.profile_id,
            source_region: &finding.source_region,
            status: finding.status,
            blockers: &finding.blockers,
            conditions: &finding.conditions,
        },
    })
}
