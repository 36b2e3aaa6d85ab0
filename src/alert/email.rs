//! The `email` rendering of a part: a readable plain-text report, problems first (each with
//! what changed, why and its fix), then the changed checks, then the verified proposals with
//! their `apply` commands and the files those commands read. Lines are wrapped at
//! [`EMAIL_COLUMNS`]; commands are wrapped with shell continuations so they still paste and
//! run, and file contents are printed verbatim between markers.

use std::collections::BTreeSet;

use super::context::{Context, Detail, MINIMAL_EXPLANATION_CHARS};
use super::notification::unproposed_line;
use super::phrase::{
    blocker_line, change_label, headline, params_line, part_suffix, problem_cause, problem_change,
    proposal_kind, summary_line, trigger_line, truncate_chars,
};
use super::problems::ChangedProblem;
use super::state::FindingChange;
use crate::findings::{Finding, Proposal};

/// Lines of the e-mail are at most this wide (except words longer than that, such as an ARN,
/// and file contents).
pub const EMAIL_COLUMNS: usize = 100;

/// Trigger events listed in the email (the rest are counted).
const LISTED_EVENTS: usize = 10;
/// Blockers listed per change (the rest are counted).
const LISTED_BLOCKERS: usize = 10;
/// Changed checks listed under the problems (the JSON alert lists all).
pub(super) const LISTED_CHECKS: usize = 100;
/// Affected target ids named per problem.
const LISTED_TARGETS: usize = 10;

pub(super) fn email_text(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
    detail: Detail,
    earlier: &BTreeSet<usize>,
) -> String {
    let r = ctx.report;
    let mut out = Email::default();
    out.line(&format!(
        "cris-guard: {} in organization {}{}.",
        headline(ctx),
        r.organization_id,
        part_suffix(part, parts)
    ));
    if parts > 1 {
        out.line(&format!(
            "This part lists {} of the {} changed checks.",
            chunk.len(),
            ctx.total
        ));
    }
    out.line(&format!("Snapshot captured at {}.", r.snapshot_captured_at));
    out.line(&format!("Organization: {}.", summary_line(&r.summary)));
    out.line(&format!("Trigger: {}.", trigger_line(ctx.trigger)));
    for event in ctx.trigger.events.iter().take(LISTED_EVENTS) {
        out.line(&format!(
            "  - {} {} ({}){}{}",
            event.event_time,
            event.event_name,
            event.source,
            event
                .changed_by
                .as_deref()
                .map(|p| format!(" by {p}"))
                .unwrap_or_default(),
            params_line(&event.request_parameters)
        ));
    }
    if ctx.trigger.events.len() > LISTED_EVENTS {
        out.line(&format!(
            "  - and {} more events",
            ctx.trigger.events.len() - LISTED_EVENTS
        ));
    }
    if ctx.by_problem() {
        problems(&mut out, ctx, chunk, detail);
    } else {
        findings(&mut out, ctx, chunk, detail);
    }
    let (proposals, named) = ctx.proposals_split(chunk, earlier);
    if !proposals.is_empty() || !named.is_empty() {
        out.line("");
        out.line(
            "PROPOSED FIXES (each verified by re-evaluating the organization with it applied)",
        );
    }
    if !named.is_empty() {
        out.line(&format!(
            "{}: given in full in an earlier part of this alert.",
            named
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for p in proposals {
        proposal(&mut out, p, detail);
    }
    if ctx.unproposed > 0 {
        out.line("");
        out.line(&unproposed_line(ctx));
    }
    out.text
}

/// The changed problems of the part, then its changed checks one line each.
fn problems(out: &mut Email, ctx: &Context<'_>, chunk: &[&FindingChange], detail: Detail) {
    let listed = ctx.problems_in(chunk);
    out.line("");
    out.line(&format!("PROBLEMS ({})", listed.len()));
    for (i, changed) in listed.iter().enumerate() {
        problem_block(out, ctx, i + 1, changed, detail);
    }
    out.line("");
    out.line(&format!("CHANGED CHECKS ({})", chunk.len()));
    for change in chunk.iter().take(LISTED_CHECKS) {
        check_line(out, change);
    }
    if chunk.len() > LISTED_CHECKS {
        out.line(&format!(
            "- and {} more (the JSON alert for SQS and Lambda lists every one)",
            chunk.len() - LISTED_CHECKS
        ));
    }
}

/// Without problems in the report: each changed finding with its blockers and conditions.
fn findings(out: &mut Email, ctx: &Context<'_>, chunk: &[&FindingChange], detail: Detail) {
    for (i, change) in chunk.iter().enumerate() {
        finding_block(out, ctx, i + 1, change, detail);
    }
}

/// One changed problem: its cause, what changed, why, what it affects and what fixes it.
fn problem_block(
    out: &mut Email,
    ctx: &Context<'_>,
    number: usize,
    changed: &ChangedProblem<'_>,
    detail: Detail,
) {
    let p = changed.problem;
    out.line("");
    out.line(&format!(
        "{}. {}: {} [{}]",
        number,
        p.status.as_str().to_uppercase(),
        problem_cause(p),
        p.id
    ));
    out.line(&format!("   Change:   {}", problem_change(changed)));
    out.line(&format!(
        "   Why:      {}",
        explanation(&p.explanation, detail)
    ));
    let ids: Vec<&str> = p
        .affected
        .target_ids
        .iter()
        .take(LISTED_TARGETS)
        .map(String::as_str)
        .collect();
    let more = p.affected.target_ids.len().saturating_sub(LISTED_TARGETS);
    out.line(&format!(
        "   Affected: {} checks on {} targets in all: {}{}",
        p.affected.findings,
        p.affected.targets,
        ids.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ));
    let fixes: Vec<&str> = ctx
        .proposals_for_problem(changed)
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    if !fixes.is_empty() {
        out.line(&format!("   Fixed by: {} (below)", fixes.join(", ")));
    } else if let Some(reason) = &p.unresolved_reason {
        out.line(&format!("   No fix:   {reason}"));
    }
}

/// One changed check, on one line.
fn check_line(out: &mut Email, change: &FindingChange) {
    let f = change.finding;
    let problems = if f.problem_ids.is_empty() {
        String::new()
    } else {
        format!(" [{}]", f.problem_ids.join(", "))
    };
    out.line(&format!(
        "- {}: {} ({}), {} from {}{problems}",
        change_label(change.kind),
        f.target_path,
        f.target_id,
        f.profile_id,
        f.source_region
    ));
}

/// One changed finding with its blockers and conditions.
fn finding_block(
    out: &mut Email,
    ctx: &Context<'_>,
    number: usize,
    change: &FindingChange,
    detail: Detail,
) {
    let f: &Finding = change.finding;
    out.line("");
    out.line(&format!(
        "{}. {}: {} ({})",
        number,
        change_label(change.kind),
        f.target_path,
        f.target_id
    ));
    out.line(&format!("   Profile:       {}", f.profile_id));
    out.line(&format!("   Source Region: {}", f.source_region));
    let was = change.previous.as_ref().map_or_else(
        || "not seen before".to_string(),
        |p| format!("was {}", p.status.as_str()),
    );
    out.line(&format!("   Status:        {} ({was})", f.status.as_str()));
    out.line(&format!(
        "   Why:           {}",
        explanation(&f.explanation, detail)
    ));
    if !f.blockers.is_empty() {
        out.line("   Blockers:");
        for b in f.blockers.iter().take(LISTED_BLOCKERS) {
            out.line(&format!("     - {}", blocker_line(b)));
        }
        if f.blockers.len() > LISTED_BLOCKERS {
            out.line(&format!(
                "     - and {} more",
                f.blockers.len() - LISTED_BLOCKERS
            ));
        }
    }
    if !f.conditions.is_empty() {
        out.line("   Reachable only when:");
        for c in &f.conditions {
            out.line(&format!(
                "     - {} {} {}",
                c.key,
                c.operator,
                c.values.join(", ")
            ));
        }
    }
    let ids: Vec<&str> = ctx
        .proposals_for(&change.key())
        .into_iter()
        .map(|p| p.id.as_str())
        .collect();
    if !ids.is_empty() {
        out.line(&format!("   Fixed by:      {} (below)", ids.join(", ")));
    }
}

/// What one piece of an e-mail adds to it, for the split to measure a part before rendering it:
/// a changed problem, a changed finding (without problems), a changed check line or a proposal.
pub(super) enum Piece<'a, 'b> {
    Problem(&'b ChangedProblem<'a>),
    Finding(&'b FindingChange<'a>),
    Check(&'b FindingChange<'a>),
    Proposal(&'b Proposal),
}

pub(super) fn piece_text(ctx: &Context<'_>, piece: Piece<'_, '_>, detail: Detail) -> String {
    let mut out = Email::default();
    match piece {
        Piece::Problem(changed) => problem_block(&mut out, ctx, 1, changed, detail),
        Piece::Finding(change) => finding_block(&mut out, ctx, 1, change, detail),
        Piece::Check(change) => check_line(&mut out, change),
        Piece::Proposal(p) => proposal(&mut out, p, detail),
    }
    out.text
}

fn explanation(text: &str, detail: Detail) -> String {
    if detail == Detail::Minimal {
        truncate_chars(text, MINIMAL_EXPLANATION_CHARS)
    } else {
        text.to_string()
    }
}

/// One proposal: what it does, what it fixes, the files its commands read (inlined at full
/// detail when the proposal carries them: a part that must shrink names them instead, as the
/// JSON drops them), and the commands.
fn proposal(out: &mut Email, p: &Proposal, detail: Detail) {
    out.line("");
    let summary = if p.summary.is_empty() {
        String::new()
    } else {
        format!(" {}", p.summary)
    };
    out.line(&format!("{} ({}):{summary}", p.id, proposal_kind(p)));
    if !p.fixes_problems.is_empty() {
        out.line(&format!("Fixes problems: {}", p.fixes_problems.join(", ")));
    }
    let files = files_named(&p.apply);
    let inlined = if detail == Detail::Full {
        file_contents(p, &files)
    } else {
        Vec::new()
    };
    if !files.is_empty() {
        let how = if inlined.len() == files.len() {
            "its contents are below"
        } else {
            "`cris-guard propose --snapshot <file> --output-dir <dir>` writes them"
        };
        out.line(&format!(
            "Files the commands read: {} ({how})",
            files.join(", ")
        ));
    }
    out.line("Apply:");
    for line in p.apply.lines() {
        out.command(line);
    }
    for (file, contents) in inlined {
        out.raw(&format!("----- begin {file} -----"));
        for line in contents.lines() {
            out.raw(line);
        }
        out.raw(&format!("----- end {file} -----"));
    }
}

/// The contents of the named `files` the proposal carries (its artifact's `files`, which
/// `propose` writes), pretty; a proposal without them whose commands read one file reads its
/// `after` document.
fn file_contents(p: &Proposal, files: &[String]) -> Vec<(String, String)> {
    let carried = p
        .artifact
        .as_ref()
        .and_then(|a| a.get("files"))
        .and_then(serde_json::Value::as_object);
    match (carried, files, p.after.as_deref()) {
        (Some(carried), _, _) => files
            .iter()
            .filter_map(|file| {
                let contents = carried.get(file)?.as_str()?;
                Some((file.clone(), pretty(contents)))
            })
            .collect(),
        (None, [file], Some(after)) => vec![(file.clone(), pretty(after))],
        _ => Vec::new(),
    }
}

/// The `file://NAME` operands of a command, in order, once each.
fn files_named(apply: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    apply
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("file://"))
        .map(|name| name.trim_end_matches([')', '"', '\'', ';']).to_string())
        .filter(|name| !name.is_empty() && seen.insert(name.clone()))
        .collect()
}

/// A policy document as people read it (minified in the proposal).
fn pretty(document: &str) -> String {
    serde_json::from_str::<serde_json::Value>(document)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| document.to_string())
}

/// The text being written, wrapped as it goes.
#[derive(Default)]
struct Email {
    text: String,
}

impl Email {
    /// Prose, wrapped at [`EMAIL_COLUMNS`] with a hanging indent under its label
    /// (`   Why:      `) or its list marker.
    fn line(&mut self, text: &str) {
        let trimmed = text.trim_start();
        if trimmed.is_empty() {
            self.raw("");
            return;
        }
        let lead = text.len() - trimmed.len();
        let hang = hanging_indent(trimmed);
        let first = " ".repeat(lead);
        let rest = " ".repeat(lead + hang);
        let options = textwrap::Options::new(EMAIL_COLUMNS)
            .initial_indent(&first)
            .subsequent_indent(&rest)
            .break_words(false)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for line in textwrap::wrap(trimmed, options) {
            self.raw(&line);
        }
    }

    /// A shell command: wrapped with ` \` continuations (no indent, so a break inside a
    /// double-quoted string keeps its text), a comment with `# ` continuations.
    fn command(&mut self, text: &str) {
        if text.chars().count() <= EMAIL_COLUMNS {
            self.raw(text);
            return;
        }
        if let Some(comment) = text.strip_prefix('#') {
            let options = textwrap::Options::new(EMAIL_COLUMNS)
                .initial_indent("#")
                .subsequent_indent("# ")
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            for line in textwrap::wrap(comment, options) {
                self.raw(&line);
            }
            return;
        }
        let options = textwrap::Options::new(EMAIL_COLUMNS - 2)
            .break_words(false)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        let lines = textwrap::wrap(text, options);
        let last = lines.len().saturating_sub(1);
        for (i, line) in lines.iter().enumerate() {
            if i < last {
                self.raw(&format!("{line} \\"));
            } else {
                self.raw(line);
            }
        }
    }

    fn raw(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }
}

/// Where continuation lines start: under the value of a `Label:   value` line, after a list
/// marker (`- `, `1. `), else two columns in.
fn hanging_indent(line: &str) -> usize {
    if let Some(rest) = line.strip_prefix("- ") {
        return line.len() - rest.len();
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(". ") {
        return digits + 2;
    }
    if let Some(colon) = line.find(':') {
        let after = &line[colon + 1..];
        let spaces = after.len() - after.trim_start_matches(' ').len();
        if (spaces >= 2 && colon <= 20) || (spaces == 1 && colon <= 14) {
            return colon + 1 + spaces;
        }
    }
    2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::context::Alert;
    use crate::alert::message::messages;
    use crate::alert::notification::tests::problem_alert;
    use crate::alert::state::{StateView, diff};
    use crate::alert::trigger::Trigger;

    /// Lines outside the verbatim file contents.
    fn prose_lines(email: &str) -> Vec<&str> {
        let mut inside = false;
        email
            .lines()
            .filter(|l| {
                if l.starts_with("----- begin ") {
                    inside = true;
                } else if l.starts_with("----- end ") {
                    inside = false;
                    return false;
                }
                !inside
            })
            .collect()
    }

    #[test]
    fn the_email_leads_with_problems_wraps_at_100_and_carries_the_files_it_applies() {
        let (r, proposals) = problem_alert();
        let changes = diff(&StateView::new(), &r);
        let trigger = Trigger::schedule();
        let mut alert = Alert::new(&changes, &r, &trigger, &proposals);
        alert.unproposed = 2;
        let email = messages(&alert).remove(0).email;
        let at = |s: &str| {
            email
                .find(s)
                .unwrap_or_else(|| panic!("no {s:?} in\n{email}"))
        };
        assert!(at("PROBLEMS (1)") < at("CHANGED CHECKS (7)"));
        assert!(at("CHANGED CHECKS (7)") < at("PROPOSED FIXES"));
        assert!(email.contains(
            "1. BLOCKED: GRREGIONDENY of aws-guardrails-AbCdEf (p-abcd1234) [pb-1c9e04d2]\n   Change:   newly blocks 2 profiles across 3 OUs and 1 account from us-east-1\n"
        ));
        assert!(email.contains("   Fixed by: prop-1 (below)"));
        for line in prose_lines(&email) {
            assert!(
                line.chars().count() <= EMAIL_COLUMNS || !line.trim().contains(' '),
                "{} columns: {line}",
                line.chars().count()
            );
        }
        // The command that was one long line is continued, and still names its file.
        assert!(
            email.contains("Files the commands read: p-abcd1234.json (its contents are below)")
        );
        assert!(email.contains(" \\\n"), "{email}");
        let command: String = email
            .lines()
            .skip_while(|l| !l.starts_with("aws organizations update-policy"))
            .take_while(|l| !l.starts_with("-----"))
            .map(|l| l.strip_suffix('\\').unwrap_or(l))
            .collect();
        assert!(
            command.ends_with("--content file://p-abcd1234.json"),
            "{command}"
        );
        assert!(command.contains("\"Region deny with the cross-Region inference exemption for approved profiles (cris-guard)\""), "{command}");
        assert!(
            email.contains("----- begin p-abcd1234.json -----\n{\n"),
            "{email}"
        );
        assert!(email.contains("Proposals for 2 more changed problems were not computed"));
        insta::assert_snapshot!("problem_email", email);
    }

    #[test]
    fn the_email_inlines_each_named_file_from_the_proposal_not_its_after_document() {
        // Regression: a Control Tower proposal's `after` is the guardrail Control Tower
        // re-writes, while its commands read the customer SCP it carries in `artifact.files`.
        let (r, mut proposals) = problem_alert();
        let changes = diff(&StateView::new(), &r);
        let mut p = proposals.remove(0);
        p.apply = "aws organizations create-policy --content file://customer.json".into();
        p.after = Some(r#"{"Sid":"GRREGIONDENY"}"#.into());
        p.artifact = Some(serde_json::json!({"files": {
            "aws-guardrails-AbCdEf.json": r#"{"Sid":"GRREGIONDENY"}"#,
            "customer.json": r#"{"Sid":"Customer"}"#,
        }}));
        let trigger = Trigger::schedule();
        let email = messages(&Alert::new(&changes, &r, &trigger, &[p]))
            .remove(0)
            .email;
        assert!(
            email.contains("Files the commands read: customer.json (its contents are below)"),
            "{email}"
        );
        assert!(
            email.contains("----- begin customer.json -----\n{\n  \"Sid\": \"Customer\"\n}\n"),
            "{email}"
        );
        assert!(!email.contains("GRREGIONDENY\""), "{email}");
    }

    #[test]
    fn a_part_that_must_shrink_names_the_files_instead_of_inlining_them() {
        // Regression: below full detail the JSON drops a proposal's files but the email still
        // inlined them, so a part could never fit SNS's 256 KB.
        let (r, mut proposals) = problem_alert();
        let changes = diff(&StateView::new(), &r);
        let mut p = proposals.remove(0);
        p.apply = "aws organizations create-policy --content file://customer.json".into();
        p.artifact = Some(serde_json::json!({"files": {"customer.json": r#"{"Sid":"Customer"}"#}}));
        let trigger = Trigger::schedule();
        let proposals = [p];
        let alert = Alert::new(&changes, &r, &trigger, &proposals);
        let ctx = Context::new(&alert);
        let chunk: Vec<&FindingChange> = changes.iter().collect();
        let full = email_text(&ctx, &chunk, 1, 1, Detail::Full, &BTreeSet::new());
        assert!(full.contains("----- begin customer.json -----"), "{full}");
        let compact = email_text(&ctx, &chunk, 1, 1, Detail::Compact, &BTreeSet::new());
        assert!(
            compact.contains("Files the commands read: customer.json (`cris-guard propose"),
            "{compact}"
        );
        assert!(!compact.contains("----- begin customer.json"), "{compact}");
    }

    #[test]
    fn long_prose_hangs_under_its_label() {
        let mut out = Email::default();
        out.line(&format!("   Why:      {}", "word ".repeat(40)));
        let lines: Vec<&str> = out.text.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= EMAIL_COLUMNS));
        assert!(lines[1].starts_with("             word"), "{:?}", lines[1]);
    }
}
