//! Renders a [`LintReport`]: text for a terminal, JSON (the report as is) and SARIF 2.1.0 with
//! a physical location (file and line of the statement or resource) on every result.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::{LintReport, RULES, Severity};

/// The report as pretty JSON with a trailing newline.
pub fn json(report: &LintReport) -> String {
    pretty(&serde_json::to_value(report).unwrap_or(Json::Null))
}

fn pretty(value: &Json) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_string());
    text.push('\n');
    text
}

/// Findings grouped per principal, each with its requests, why, fix and statements to add.
pub fn text(report: &LintReport) -> String {
    let mut out = String::new();
    for principal in &report.principals {
        let name = if principal.principal == principal.file {
            principal.file.clone()
        } else {
            format!("{} ({})", principal.principal, principal.file)
        };
        let _ = writeln!(
            out,
            "{name}: {} profile × Region checks, {} requests allowed, {} denied, {} unknown",
            principal.checks,
            principal.requests_allowed,
            principal.requests_denied,
            principal.requests_unknown
        );
        for note in &principal.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        if principal.checks == 0 {
            let _ = writeln!(
                out,
                "  no profile checked: the policies grant no request of any profile (pass --profile to check one)"
            );
        }
        let findings = report
            .findings
            .iter()
            .filter(|f| f.principal == principal.principal && f.file == principal.file);
        for finding in findings {
            let scope = match (&finding.profile, &finding.source_region) {
                (Some(p), Some(r)) => format!(" {p} from {r}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}[{}] {}:{}{scope}",
                level(finding.severity),
                finding.rule,
                finding.file,
                finding.line
            );
            for request in &finding.requests {
                let _ = writeln!(
                    out,
                    "    {} {} on {} (aws:RequestedRegion = {})",
                    request_decision(request.decision),
                    request.action,
                    request.resource,
                    request.requested_region
                );
            }
            let _ = writeln!(out, "    why: {}", finding.why);
            let _ = writeln!(out, "    fix: {}", finding.fix);
            if !finding.statements_to_add.is_empty() {
                let _ = writeln!(out, "    add:");
                for statement in &finding.statements_to_add {
                    for line in pretty(statement).lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "routing: {}", report.routing_source);
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Unknown => "unknown",
        Severity::Warning => "warning",
    }
}

fn request_decision(decision: super::Decision) -> &'static str {
    match decision {
        super::Decision::Allowed => "allowed",
        super::Decision::ExplicitlyDenied => "explicitly denied:",
        super::Decision::ImplicitlyDenied => "not allowed:",
        super::Decision::Unknown => "unknown:",
    }
}

/// A SARIF 2.1.0 log: one rule per [`RULES`] entry, one result per finding.
pub fn sarif(report: &LintReport) -> String {
    let rules: Vec<Json> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.name},
                "help": {"text": rule.fix},
            })
        })
        .collect();
    let results: Vec<Json> = report
        .findings
        .iter()
        .map(|finding| {
            let mut message = finding.why.clone();
            if let (Some(p), Some(r)) = (&finding.profile, &finding.source_region) {
                message = format!("{p} from {r}: {message}");
            }
            for request in &finding.requests {
                let _ = write!(
                    message,
                    "\nmissing: {} on {} ({})",
                    request.action, request.resource, request.requested_region
                );
            }
            let _ = write!(message, "\nfix: {}", finding.fix);
            json!({
                "ruleId": finding.rule,
                "ruleIndex": RULES.iter().position(|r| r.id == finding.rule).unwrap_or(0),
                "level": match finding.severity {
                    Severity::Error => "error",
                    Severity::Unknown => "note",
                    Severity::Warning => "warning",
                },
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.file},
                        "region": {"startLine": finding.line.max(1)},
                    },
                    "logicalLocations": [{"name": finding.principal, "kind": "resource"}],
                }],
            })
        })
        .collect();
    pretty(&json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cris-guard lint-iam",
                "informationUri": "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html",
                "rules": rules,
            }},
            "results": results,
        }],
    }))
}
