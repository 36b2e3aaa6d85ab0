//! Markdown rendering for a pull-request comment (GitHub-flavoured Markdown).
//!
//! Data is escaped: names go through [`text`] (backslash escapes, so `|`, `*`, `<` and friends
//! stay literal), identifiers through [`code`] (a code span that survives backticks), and
//! fenced blocks use a fence longer than any backtick run inside them.

use std::fmt::Write as _;

use super::layout::{Matrix, blocker_lines, condition_line, kind_words, verification_words};
use crate::findings::{Finding, Proposal, Report, Status, TargetKind};

/// The most problems listed one by one; a PR comment has a size limit (65,536 characters).
const MAX_PROBLEMS: usize = 100;

/// Renders the report as a Markdown pull-request comment.
pub fn render(report: &Report) -> String {
    let matrix = Matrix::of(report);
    let mut out = String::new();
    let s = &report.summary;
    let worst = report.worst_status();
    let _ = writeln!(
        out,
        "## cris-guard: Bedrock cross-Region inference reachability\n"
    );
    let status_line = match worst {
        Status::Reachable => format!("every one of {} checks is reachable", s.checks),
        _ => format!(
            "{} blocked, {} conditional, {} unknown of {} checks",
            s.blocked, s.conditional, s.unknown, s.checks
        ),
    };
    let _ = writeln!(out, "**Status: {}** ({status_line})\n", worst.as_str());
    let _ = writeln!(
        out,
        "Organization {}, snapshot captured {}.\n",
        code(&report.organization_id, false),
        code(&report.snapshot_captured_at, false)
    );
    let _ = writeln!(
        out,
        "| Checks | Reachable | Blocked | Conditional | Unknown |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        s.checks, s.reachable, s.blocked, s.conditional, s.unknown
    );

    if !matrix.rows.is_empty() {
        matrix_section(&mut out, &matrix);
    }
    problems_section(&mut out, &matrix.problems());
    if !report.proposals.is_empty() {
        let _ = writeln!(out, "### Proposals\n");
        for proposal in &report.proposals {
            proposal_section(&mut out, proposal);
        }
    }
    // Exactly one trailing newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn matrix_section(out: &mut String, matrix: &Matrix<'_>) {
    let abbreviations = matrix.abbreviations();
    let _ = writeln!(out, "### Matrix\n");
    let mut header = String::from("| Target |");
    let mut rule = String::from("|---|");
    for (column, abbreviation) in matrix.columns.iter().zip(&abbreviations) {
        let _ = write!(
            header,
            " {}<br>{} |",
            code(abbreviation, true),
            text(column.source_region)
        );
        rule.push_str(":---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (r, row) in matrix.rows.iter().enumerate() {
        let indent = "&nbsp;&nbsp;&nbsp;&nbsp;".repeat(row.depth.min(8));
        let name = match row.kind {
            TargetKind::Account => format!("{} {}", text(row.name), code(row.target_id, true)),
            TargetKind::Root | TargetKind::OrganizationalUnit => text(row.name),
        };
        let mut line = format!("| {indent}{name} |");
        for c in 0..matrix.columns.len() {
            let cell = match matrix.cell(r, c) {
                Some(finding) => status_cell(finding.status),
                None => "-",
            };
            let _ = write!(line, " {cell} |");
        }
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    let mut legend: Vec<String> = Vec::new();
    for (column, abbreviation) in matrix.columns.iter().zip(&abbreviations) {
        let entry = format!(
            "{} = {}",
            code(abbreviation, false),
            code(column.profile_id, false)
        );
        if column.profile_id != abbreviation.as_str() && !legend.contains(&entry) {
            legend.push(entry);
        }
    }
    if !legend.is_empty() {
        let _ = writeln!(out, "Profiles: {}.\n", legend.join("; "));
    }
}

fn status_cell(status: Status) -> &'static str {
    match status {
        Status::Reachable => "reachable",
        Status::Blocked => "**blocked**",
        Status::Conditional => "*conditional*",
        Status::Unknown => "*unknown*",
    }
}

fn problems_section(out: &mut String, problems: &[&Finding]) {
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Problems ({})\n", problems.len());
    let code_item = |s: &str| code(s, false);
    for finding in problems.iter().take(MAX_PROBLEMS) {
        let _ = writeln!(
            out,
            "- **{}**: {} ({}), {} from {}\n",
            finding.status.as_str(),
            code(&finding.target_path, false),
            code(&finding.target_id, false),
            code(&finding.profile_id, false),
            code(&finding.source_region, false),
        );
        if !finding.explanation.is_empty() {
            let _ = writeln!(out, "  {}\n", text(&finding.explanation));
        }
        for line in blocker_lines(&finding.blockers, &code_item, &text) {
            let _ = writeln!(out, "  - {line}");
        }
        for condition in &finding.conditions {
            let _ = writeln!(out, "  - {}", condition_line(condition, &code_item, &text));
        }
        if !finding.blockers.is_empty() || !finding.conditions.is_empty() {
            out.push('\n');
        }
    }
    if problems.len() > MAX_PROBLEMS {
        let _ = writeln!(
            out,
            "*...and {} more; see the JSON report for all of them.*\n",
            problems.len() - MAX_PROBLEMS
        );
    }
}

fn proposal_section(out: &mut String, proposal: &Proposal) {
    let _ = write!(
        out,
        "#### {}: {}",
        text(&proposal.id),
        kind_words(proposal.kind)
    );
    if let Some(policy) = &proposal.policy_id {
        let _ = write!(out, " on {}", code(policy, false));
    }
    out.push_str("\n\n");
    if !proposal.summary.is_empty() {
        let _ = writeln!(out, "{}\n", text(&proposal.summary));
    }
    if !proposal.target_ids.is_empty() {
        let targets: Vec<String> = proposal.target_ids.iter().map(|t| code(t, false)).collect();
        let _ = writeln!(out, "Targets: {}.\n", targets.join(", "));
    }
    let _ = writeln!(out, "{}.\n", text(&verification_words(proposal)));
    if let Some(diff) = &proposal.diff {
        fenced(out, "diff", diff);
    }
    if let Some(artifact) = &proposal.artifact {
        fenced(
            out,
            "json",
            &serde_json::to_string_pretty(artifact).unwrap_or_default(),
        );
    }
    if !proposal.apply.is_empty() {
        fenced(out, "sh", &proposal.apply);
    }
}

/// A fenced code block whose fence is longer than any backtick run in the body.
fn fenced(out: &mut String, language: &str, body: &str) {
    let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
    let _ = writeln!(
        out,
        "{fence}{language}\n{}\n{fence}\n",
        body.trim_end_matches('\n')
    );
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Plain text with Markdown and HTML punctuation backslash-escaped, on one line.
pub(crate) fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `value` literally. In a table cell (`in_table`), `|` is escaped too:
/// GitHub splits cells before it parses code spans, and drops the backslash inside the span.
pub(crate) fn code(value: &str, in_table: bool) -> String {
    let value: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let value = if in_table {
        value.replace('|', "\\|")
    } else {
        value
    };
    let fence = "`".repeat(longest_backtick_run(&value) + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}
