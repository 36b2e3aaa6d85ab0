//! Markdown rendering for a pull-request comment (GitHub-flavoured Markdown).
//!
//! Problems (§3.1) lead: one line each, then one `<details>` block each with what it affects;
//! the matrix and the proposals follow. A comment holds at most [`MAX_CHARS`] characters, so
//! when the whole does not fit, details, matrix rows and proposals are left out (and the
//! comment says so) while every problem keeps its line.
//!
//! Data is escaped: names go through [`text`] (backslash escapes, so `|`, `*`, `<` and friends
//! stay literal), identifiers through [`code`] (a code span that survives backticks), and
//! fenced blocks use a fence longer than any backtick run inside them.

use std::fmt::Write as _;

use super::html::escape;
use super::layout::{Matrix, blocker_lines, condition_line, kind_words, verification_words};
use super::problem;
use crate::findings::{Finding, Problem, Proposal, Report, Status, TargetKind};

/// The most problems listed one by one; a PR comment has a size limit (65,536 characters).
const MAX_PROBLEMS: usize = 100;

/// GitHub's limit for a pull-request comment body, in characters.
pub const MAX_CHARS: usize = 65_536;

/// Room kept for the note that says what was left out.
const NOTE_RESERVE: usize = 400;

/// Renders the report as a Markdown pull-request comment of at most [`MAX_CHARS`] characters.
pub fn render(report: &Report) -> String {
    let matrix = Matrix::of(report);
    let mut out = String::new();
    if let Some(line) = problem::what_if_line(report) {
        let _ = writeln!(out, "**{}**\n", text(&line));
    }
    head(&mut out, report);
    expectations_section(&mut out, report);
    if report.problems.is_empty() {
        // A report from before the problem layer: one entry per non-reachable finding.
        if !matrix.rows.is_empty() {
            matrix_section(&mut out, &matrix, false);
        }
        problems_section(&mut out, &matrix.problems());
        for (i, proposal) in report.proposals.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "### Proposals\n");
            }
            proposal_section(&mut out, proposal);
        }
        return finish(out);
    }
    let problems = problem::ordered(report);
    problem_list(&mut out, &problems, MAX_CHARS.saturating_sub(NOTE_RESERVE));
    // What fits after the lines every problem gets, in order of use to a reader.
    let mut budget = MAX_CHARS.saturating_sub(NOTE_RESERVE + out.chars().count());
    let mut left_out: Vec<String> = Vec::new();
    let mut details = String::new();
    let mut details_left_out = 0;
    for p in &problems {
        let block = problem_details(p);
        let size = block.chars().count();
        if size <= budget {
            budget -= size;
            details.push_str(&block);
        } else {
            details_left_out += 1;
        }
    }
    if details_left_out > 0 {
        left_out.push(format!("the details of {details_left_out} problems"));
    }
    let mut matrix_text = String::new();
    if !matrix.rows.is_empty() {
        matrix_section(&mut matrix_text, &matrix, false);
        if matrix_text.chars().count() > budget {
            matrix_text.clear();
            matrix_section(&mut matrix_text, &matrix, true);
            if matrix_text.chars().count() > budget {
                matrix_text.clear();
                left_out.push("the matrix".to_string());
            } else {
                left_out.push("the matrix rows that are reachable throughout".to_string());
            }
        }
        budget = budget.saturating_sub(matrix_text.chars().count());
    }
    let mut proposals = String::new();
    let mut proposals_left_out = 0;
    for proposal in &report.proposals {
        let mut block = String::new();
        proposal_section(&mut block, proposal);
        let size = block.chars().count();
        if size <= budget {
            budget -= size;
            proposals.push_str(&block);
        } else {
            proposals_left_out += 1;
        }
    }
    if proposals_left_out > 0 {
        left_out.push(format!("{proposals_left_out} proposals"));
    }
    out.push_str(&details);
    out.push_str(&matrix_text);
    if !proposals.is_empty() {
        let _ = writeln!(out, "### Proposals\n");
        out.push_str(&proposals);
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "*Shortened to fit a pull-request comment: {} left out; the JSON report (`--format json`) has everything.*\n",
            left_out.join(", ")
        );
    }
    finish(out)
}

fn head(out: &mut String, report: &Report) {
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
}

/// With `--expect`: the intents first, since the exit code reflects only them.
fn expectations_section(out: &mut String, report: &Report) {
    let lines = problem::expectation_lines(report, &|v| code(v, false), &text);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Expectations
"
    );
    for (standing, line) in lines {
        let mark = match standing {
            problem::Standing::Violated => "❌",
            problem::Standing::Undecided => "❔",
            problem::Standing::Holds => "✅",
        };
        let _ = writeln!(out, "- {mark} **{}**: {line}", standing.words());
    }
    out.push('\n');
}

/// Exactly one trailing newline, and never more than [`MAX_CHARS`] characters (cut at a line,
/// with a note, should the lines of the problems alone be too many).
fn finish(mut out: String) -> String {
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.chars().count() > MAX_CHARS {
        let keep = out
            .char_indices()
            .nth(MAX_CHARS - NOTE_RESERVE)
            .map_or(out.len(), |(i, _)| i);
        let cut = out.get(..keep).and_then(|s| s.rfind('\n')).unwrap_or(0);
        out.truncate(cut);
        out.push_str("\n\n*Cut to fit a pull-request comment; the JSON report (`--format json`) has everything.*\n");
    }
    out
}

/// One line per problem, worst first. When the full lines do not fit in `limit`, every
/// problem still gets a short line (status and id).
fn problem_list(out: &mut String, problems: &[&Problem], limit: usize) {
    let _ = writeln!(out, "### Problems ({})\n", problems.len());
    let code_item = |s: &str| code(s, false);
    let full: Vec<String> = problems
        .iter()
        .map(|p| {
            format!(
                "- **{}** [{}](#{}): {} ({})",
                p.status.as_str(),
                code(&p.id, false),
                anchor(&p.id),
                problem::title(p, &code_item, &text),
                text(&problem::affected_words(p))
            )
        })
        .collect();
    let size: usize = full.iter().map(|l| l.chars().count() + 1).sum();
    if out.chars().count() + size <= limit {
        for line in full {
            let _ = writeln!(out, "{line}");
        }
    } else {
        for p in problems {
            let _ = writeln!(out, "- **{}** {}", p.status.as_str(), code(&p.id, false));
        }
    }
    out.push('\n');
}

/// The fragment GitHub gives a heading `Problem pb-1c9e04d2`.
fn anchor(id: &str) -> String {
    let slug: String = id
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("problem-{slug}")
}

/// A `<details>` block: the problem's explanation and everything it affects.
fn problem_details(p: &Problem) -> String {
    let mut out = String::new();
    let code_item = |s: &str| code(s, false);
    let list = |items: &[String]| {
        items
            .iter()
            .map(|i| code(i, false))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "#### Problem {}\n\n<details><summary>{} · {} · {}</summary>\n",
        text(&p.id),
        p.status.as_str(),
        problem::kind_words(p.cause.kind),
        escape(&problem::affected_words(p))
    );
    if !p.explanation.is_empty() {
        let _ = writeln!(out, "{}\n", text(&p.explanation));
    }
    let _ = writeln!(out, "- Cause: {}", problem::title(p, &code_item, &text));
    if !p.cause.actions.is_empty() {
        let _ = writeln!(out, "- Actions: {}", list(&p.cause.actions));
    }
    let a = &p.affected;
    let _ = writeln!(
        out,
        "- Affects {} target{}: {}",
        a.targets,
        if a.targets == 1 { "" } else { "s" },
        list(&a.target_ids)
    );
    let _ = writeln!(out, "- Profiles: {}", list(&a.profiles));
    let _ = writeln!(out, "- Source Regions: {}", list(&a.source_regions));
    if !p.proposal_ids.is_empty() {
        let _ = writeln!(out, "- Fixed by: {}", list(&p.proposal_ids));
    }
    if let Some(reason) = &p.unresolved_reason {
        let _ = writeln!(out, "- No fix: {}", text(reason));
    }
    let _ = writeln!(out, "\n</details>\n");
    out
}

/// The matrix of targets × profile and source Region; with `only_problems`, only the rows
/// with a non-reachable cell.
fn matrix_section(out: &mut String, matrix: &Matrix<'_>, only_problems: bool) {
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
        if only_problems
            && (0..matrix.columns.len()).all(|c| {
                matrix
                    .cell(r, c)
                    .is_none_or(|f| f.status == Status::Reachable)
            })
        {
            continue;
        }
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
