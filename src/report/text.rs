//! Terminal rendering that leads with problems (§3.1): a first line saying what the report is
//! (a what-if, or its counts), the problems worst first, the target × profile matrix with
//! identical rows and subtrees printed once and cells naming their problems, then proposals.
//!
//! Styles are `anstyle` escapes, always written; the CLI prints through `anstream`, which
//! strips them for `NO_COLOR`, a pipe or a file and keeps them for `CLICOLOR_FORCE`. Prose is
//! wrapped to [`RenderOptions::width`]; code (diffs, artifacts, `apply` commands) is not, so it
//! still copies and pastes. Everything here is pure: the output depends only on the report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;

use anstyle::{AnsiColor, Style};

use super::layout::{
    Matrix, Tree, clean, condition_line, kind_words as proposal_kind_words, symbol, truncate,
    verification_words, width as display_width,
};
use super::problem;
use crate::findings::{Problem, Proposal, Report, Status, TargetKind, Unresolved};

/// How to render for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Columns to fit: the matrix picks a layout that fits, prose wraps.
    pub width: usize,
}

/// The width when there is no terminal to ask (a pipe, a file, a test).
pub const DEFAULT_WIDTH: usize = 100;

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            width: DEFAULT_WIDTH,
        }
    }
}

/// The narrowest width honoured; below it lines overflow rather than become unreadable.
const MIN_WIDTH: usize = 40;
/// The widest target name column; longer names are cut with `…`.
const MAX_NAME_WIDTH: usize = 44;
/// Items of a list (targets, profiles) named before `and N more`.
const MAX_LISTED: usize = 8;
/// Names of the other members of a group of identical rows.
const MAX_GROUP_NAMES: usize = 3;
/// Distinct conditions shown for a conditional problem.
const MAX_CONDITIONS: usize = 3;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn status_style(status: Status) -> Style {
    match status {
        Status::Reachable => AnsiColor::Green.on_default(),
        Status::Blocked => AnsiColor::Red.on_default(),
        Status::Conditional => AnsiColor::Yellow.on_default(),
        Status::Unknown => AnsiColor::Magenta.on_default(),
    }
}

fn paint(style: Style, text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{style}{text}{style:#}")
    }
}

/// Renders the report for a terminal of `options.width` columns, with `anstyle` styles.
pub fn render(report: &Report, options: &RenderOptions) -> String {
    let width = options.width.max(MIN_WIDTH);
    let matrix = Matrix::of(report);
    let problems = problem::ordered(report);
    let numbers: BTreeMap<&str, usize> = problems
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i + 1))
        .collect();
    let mut out = String::new();
    header(&mut out, report, width);
    expectations_section(&mut out, report, width);
    problems_section(&mut out, report, &matrix, &problems, width);
    if report.findings.is_empty() {
        out.push_str("\nNo findings.\n");
    } else {
        matrix_section(&mut out, &matrix, &numbers, width);
    }
    proposals_section(&mut out, &report.proposals, width);
    unresolved_section(&mut out, &report.unresolved, width);
    out
}

/// Appends `text` wrapped to `width`, every line styled, continuation lines indented more.
fn wrapped(out: &mut String, text: &str, width: usize, indent: &str, style: Style) {
    let more = format!("{indent}  ");
    let options = textwrap::Options::new(width)
        .initial_indent(indent)
        .subsequent_indent(&more)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    for line in textwrap::wrap(text, options) {
        let line = line.trim_end();
        let body = line.trim_start();
        let lead = line.get(..line.len() - body.len()).unwrap_or_default();
        let _ = writeln!(out, "{lead}{}", paint(style, body));
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The what-if line when there is one, then the counts, then where the report comes from.
fn header(out: &mut String, report: &Report, width: usize) {
    if let Some(line) = problem::what_if_line(report) {
        wrapped(out, &clean(&line), width, "", BOLD);
    }
    let s = &report.summary;
    let worst = report.worst_status();
    let counts = [
        (Status::Reachable, s.reachable),
        (Status::Blocked, s.blocked),
        (Status::Conditional, s.conditional),
        (Status::Unknown, s.unknown),
    ]
    .iter()
    .map(|&(status, n)| format!("{n} {}", status.as_str()))
    .collect::<Vec<_>>()
    .join(", ");
    let line = format!(
        "{} {} · {counts} of {} · {}",
        symbol(worst),
        worst.as_str(),
        plural(s.checks, "check", "checks"),
        plural(report.problems.len(), "problem", "problems")
    );
    wrapped(out, &line, width, "", status_style(worst).bold());
    let source = format!(
        "cris-guard · organization {} · snapshot {}",
        clean(&report.organization_id),
        clean(&report.snapshot_captured_at)
    );
    wrapped(out, &source, width, "", DIM);
}

/// `a, b, c and 5 more`.
fn listing(items: &[String]) -> String {
    let shown = items.len().min(MAX_LISTED);
    let mut list = items.get(..shown).unwrap_or_default().join(", ");
    if items.len() > shown {
        let _ = write!(list, " and {} more", items.len() - shown);
    }
    list
}

/// With `--expect`: the intents, before the problems, since the exit code reflects only them.
fn expectations_section(out: &mut String, report: &Report, width: usize) {
    let lines = problem::expectation_lines(report, &|v| v.to_string(), &clean);
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", paint(BOLD, "Expectations"));
    for (standing, line) in lines {
        let status = match standing {
            problem::Standing::Violated => Status::Blocked,
            problem::Standing::Undecided => Status::Unknown,
            problem::Standing::Holds => Status::Reachable,
        };
        let mark = paint(
            status_style(status),
            &format!("{} {}", symbol(status), standing.words()),
        );
        wrapped(out, &format!("{mark}  {line}"), width, "  ", Style::new());
    }
}

fn problems_section(
    out: &mut String,
    report: &Report,
    matrix: &Matrix<'_>,
    problems: &[&Problem],
    width: usize,
) {
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint(BOLD, &format!("Problems ({}), worst first", problems.len()))
    );
    let paths: BTreeMap<&str, &str> = matrix.rows.iter().map(|r| (r.target_id, r.path)).collect();
    // The conditions behind each conditional problem, from its findings.
    let mut conditions: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for finding in report
        .findings
        .iter()
        .filter(|f| f.status == Status::Conditional)
    {
        for id in &finding.problem_ids {
            let lines = conditions.entry(id.as_str()).or_default();
            for condition in &finding.conditions {
                lines.insert(condition_line(condition, &clean, &clean));
            }
        }
    }
    for (i, p) in problems.iter().enumerate() {
        let status = format!("{} {}", symbol(p.status), p.status.as_str());
        let _ = writeln!(
            out,
            "\n{}  {}  {}  {}",
            paint(BOLD, &format!("#{}", i + 1)),
            paint(status_style(p.status).bold(), &status),
            paint(BOLD, &clean(&p.id)),
            problem::kind_words(p.cause.kind)
        );
        let detail = |out: &mut String, text: &str| wrapped(out, text, width, "    ", Style::new());
        if !p.explanation.is_empty() {
            detail(out, &clean(&p.explanation));
        }
        detail(
            out,
            &format!("Cause: {}", problem::title(p, &clean, &clean)),
        );
        detail(out, &format!("Affects {}.", problem::affected_words(p)));
        let a = &p.affected;
        let targets: Vec<String> = a
            .target_ids
            .iter()
            .map(|id| match paths.get(id.as_str()) {
                Some(path) => format!("{} ({})", clean(path), clean(id)),
                None => clean(id),
            })
            .collect();
        detail(out, &format!("Targets: {}", listing(&targets)));
        let profiles: Vec<String> = a.profiles.iter().map(|s| clean(s)).collect();
        detail(out, &format!("Profiles: {}", listing(&profiles)));
        let regions: Vec<String> = a.source_regions.iter().map(|s| clean(s)).collect();
        detail(out, &format!("Source Regions: {}", listing(&regions)));
        if let Some(lines) = conditions.get(p.id.as_str()) {
            for line in lines.iter().take(MAX_CONDITIONS) {
                detail(out, &format!("Condition: {line}"));
            }
            if lines.len() > MAX_CONDITIONS {
                detail(
                    out,
                    &format!(
                        "and {} more conditions (see --format json)",
                        lines.len() - MAX_CONDITIONS
                    ),
                );
            }
        }
        if !p.proposal_ids.is_empty() {
            let ids: Vec<String> = p.proposal_ids.iter().map(|s| clean(s)).collect();
            detail(out, &format!("Fixed by: {}", listing(&ids)));
        }
        if let Some(reason) = &p.unresolved_reason {
            detail(out, &format!("No fix: {}", clean(reason)));
        }
    }
}

/// How much the matrix says per cell and column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Abbreviated profile id and Region over each column; cells name problem ids.
    Ids,
    /// Same headers; cells refer to problems by their number (`#1`).
    Refs,
    /// Columns are numbered and explained in a legend below, columns with the same cells in
    /// every row printed once; cells as in `Refs`. Split into panels when still too wide.
    Numbered,
}

fn cell_text(
    matrix: &Matrix<'_>,
    numbers: &BTreeMap<&str, usize>,
    row: usize,
    column: usize,
    layout: Layout,
) -> (Option<Status>, String) {
    let Some(finding) = matrix.cell(row, column) else {
        return (None, "·".to_string());
    };
    let status = finding.status;
    let text = match (status, finding.problem_ids.split_first(), layout) {
        (Status::Reachable, _, Layout::Ids) | (_, None, Layout::Ids) => {
            format!("{} {}", symbol(status), status.as_str())
        }
        (Status::Reachable, _, _) | (_, None, _) => symbol(status).to_string(),
        (_, Some((first, rest)), Layout::Ids) => {
            let mut text = format!("{} {}", symbol(status), clean(first));
            if !rest.is_empty() {
                let _ = write!(text, " +{}", rest.len());
            }
            text
        }
        (_, Some((first, rest)), Layout::Refs | Layout::Numbered) => {
            let mut text = match numbers.get(first.as_str()) {
                Some(n) => format!("{} #{n}", symbol(status)),
                None => format!("{} {}", symbol(status), clean(first)),
            };
            if !rest.is_empty() {
                let _ = write!(text, "+{}", rest.len());
            }
            text
        }
    };
    (Some(status), text)
}

fn kind_noun(kind: TargetKind, n: usize) -> &'static str {
    match (kind, n) {
        (TargetKind::Root, 1) => "root",
        (TargetKind::Root, _) => "roots",
        (TargetKind::OrganizationalUnit, 1) => "OU",
        (TargetKind::OrganizationalUnit, _) => "OUs",
        (TargetKind::Account, 1) => "account",
        (TargetKind::Account, _) => "accounts",
    }
}

fn row_label(matrix: &Matrix<'_>, r: usize, name_width: usize) -> String {
    let Some(row) = matrix.rows.get(r) else {
        return String::new();
    };
    let name = match row.kind {
        TargetKind::Account => format!("{} ({})", clean(row.name), clean(row.target_id)),
        TargetKind::Root | TargetKind::OrganizationalUnit => clean(row.name),
    };
    let indent = "  ".repeat(row.depth.min(8));
    truncate(&format!("{indent}{name}"), name_width)
}

/// Consecutive column ranges whose cells fit in `width` next to the name column.
fn panels(name_width: usize, widths: &[usize], width: usize) -> Vec<Range<usize>> {
    let mut panels = Vec::new();
    let mut start = 0;
    let mut used = name_width;
    for (i, w) in widths.iter().enumerate() {
        if i > start && used + w + 2 > width {
            panels.push(start..i);
            start = i;
            used = name_width;
        }
        used += w + 2;
    }
    if start < widths.len() {
        panels.push(start..widths.len());
    }
    panels
}

fn matrix_section(
    out: &mut String,
    matrix: &Matrix<'_>,
    numbers: &BTreeMap<&str, usize>,
    width: usize,
) {
    let tree = Tree::of(matrix);
    // The rows printed: the first of each group of identical siblings, in tree order, with
    // the others of its group (whose subtrees are the same, so they are not walked).
    let mut shown: Vec<(usize, &[usize])> = Vec::new();
    let mut stack: Vec<&[usize]> = tree.tops.iter().rev().map(Vec::as_slice).collect();
    while let Some(group) = stack.pop() {
        let Some((&first, others)) = group.split_first() else {
            continue;
        };
        shown.push((first, others));
        if let Some(kids) = tree.kids.get(first) {
            stack.extend(kids.iter().rev().map(Vec::as_slice));
        }
    }
    let name_cap = MAX_NAME_WIDTH.min(width / 3).max(12);
    let name_width = shown
        .iter()
        .map(|&(r, _)| display_width(&row_label(matrix, r, name_cap)))
        .chain([display_width("Target")])
        .max()
        .unwrap_or(0);
    let abbreviations = matrix.abbreviations();
    let cells = |layout: Layout, c: usize| -> Vec<String> {
        shown
            .iter()
            .map(|&(r, _)| cell_text(matrix, numbers, r, c, layout).1)
            .collect()
    };
    // Each printed column with the columns it stands for (only `Numbered` merges them).
    let widths_for = |layout: Layout, columns: &[Vec<usize>]| -> Vec<usize> {
        columns
            .iter()
            .enumerate()
            .map(|(position, group)| {
                let c = group.first().copied().unwrap_or(0);
                let header = match layout {
                    Layout::Ids | Layout::Refs => matrix.columns.get(c).map_or(0, |column| {
                        display_width(&abbreviations[c]).max(display_width(column.source_region))
                    }),
                    Layout::Numbered => (position + 1).to_string().len(),
                };
                cells(layout, c)
                    .iter()
                    .map(|text| display_width(text))
                    .fold(header, usize::max)
            })
            .collect()
    };
    let total = |widths: &[usize]| name_width + widths.iter().map(|w| w + 2).sum::<usize>();
    let singles: Vec<Vec<usize>> = (0..matrix.columns.len()).map(|c| vec![c]).collect();
    // One column per profile × Region cannot fit when its headers alone are too wide; then
    // its cells (hundreds of thousands at 10,000 accounts) are not measured.
    let headers_fit = total(
        &matrix
            .columns
            .iter()
            .zip(&abbreviations)
            .map(|(column, abbreviation)| {
                display_width(abbreviation).max(display_width(column.source_region))
            })
            .collect::<Vec<_>>(),
    ) <= width;
    let (layout, columns) = [Layout::Ids, Layout::Refs]
        .into_iter()
        .filter(|_| headers_fit)
        .find(|&layout| total(&widths_for(layout, &singles)) <= width)
        .map_or_else(
            || {
                // Columns with the same cells in every printed row are printed once.
                let mut groups: Vec<Vec<usize>> = Vec::new();
                let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
                for c in 0..matrix.columns.len() {
                    let key = cells(Layout::Numbered, c);
                    match index.get(&key).and_then(|&g| groups.get_mut(g)) {
                        Some(group) => group.push(c),
                        None => {
                            index.insert(key, groups.len());
                            groups.push(vec![c]);
                        }
                    }
                }
                (Layout::Numbered, groups)
            },
            |layout| (layout, singles.clone()),
        );
    let widths = widths_for(layout, &columns);
    let first = |position: usize| {
        columns
            .get(position)
            .and_then(|g| g.first())
            .copied()
            .unwrap_or(0)
    };

    out.push('\n');
    let heading = format!(
        "Matrix ({} of {} targets shown; identical rows and subtrees once)",
        shown.len(),
        matrix.rows.len()
    );
    wrapped(out, &heading, width, "", BOLD);
    for range in panels(name_width, &widths, width) {
        out.push('\n');
        let header_lines: Vec<Vec<String>> = match layout {
            Layout::Ids | Layout::Refs => vec![
                range
                    .clone()
                    .map(|p| clean(&abbreviations[first(p)]))
                    .collect(),
                range
                    .clone()
                    .map(|p| {
                        matrix
                            .columns
                            .get(first(p))
                            .map_or_else(String::new, |col| clean(col.source_region))
                    })
                    .collect(),
            ],
            Layout::Numbered => vec![range.clone().map(|p| (p + 1).to_string()).collect()],
        };
        let last = header_lines.len().saturating_sub(1);
        for (line_index, labels) in header_lines.iter().enumerate() {
            let mut line = pad(if line_index == last { "Target" } else { "" }, name_width);
            for (label, p) in labels.iter().zip(range.clone()) {
                line.push_str("  ");
                line.push_str(&pad(label, widths[p]));
            }
            let _ = writeln!(out, "{}", paint(BOLD, line.trim_end()));
        }
        for &(r, others) in &shown {
            let mut line = pad(&row_label(matrix, r, name_width), name_width);
            for p in range.clone() {
                line.push_str("  ");
                let (status, text) = cell_text(matrix, numbers, r, first(p), layout);
                // The last cell is not padded: no trailing spaces inside its style.
                let padded = if p + 1 == range.end {
                    text
                } else {
                    pad(&text, widths[p])
                };
                line.push_str(&match status {
                    Some(status) => paint(status_style(status), &padded),
                    None => paint(DIM, &padded),
                });
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if !others.is_empty() {
                let _ = writeln!(out, "{}", paint(DIM, &more_line(matrix, r, others, width)));
            }
        }
    }

    out.push('\n');
    if layout != Layout::Ids {
        let key = [
            Status::Reachable,
            Status::Blocked,
            Status::Conditional,
            Status::Unknown,
        ]
        .iter()
        .map(|&s| paint(status_style(s), &format!("{} {}", symbol(s), s.as_str())))
        .chain([
            "· not in report".to_string(),
            "#N problem N, +M and M more".to_string(),
        ])
        .collect::<Vec<_>>()
        .join("  ");
        wrapped(out, &format!("Key: {key}"), width, "", Style::new());
    }
    match layout {
        Layout::Numbered => {
            let number_width = columns.len().to_string().len();
            for (position, group) in columns.iter().enumerate() {
                let names: Vec<String> = group
                    .iter()
                    .filter_map(|&c| matrix.columns.get(c))
                    .map(|column| {
                        format!(
                            "{} @ {}",
                            clean(column.profile_id),
                            clean(column.source_region)
                        )
                    })
                    .collect();
                let same = if names.len() > 1 {
                    " (the same results)"
                } else {
                    ""
                };
                let line = format!("{:>number_width$}  {}{same}", position + 1, listing(&names));
                wrapped(out, &line, width, "  ", Style::new());
            }
        }
        Layout::Ids | Layout::Refs => {
            let mut seen = BTreeSet::new();
            let legend: Vec<String> = matrix
                .columns
                .iter()
                .zip(&abbreviations)
                .filter(|(column, abbreviation)| column.profile_id != abbreviation.as_str())
                .filter(|(column, _)| seen.insert(column.profile_id))
                .map(|(column, abbreviation)| {
                    format!("{} = {}", clean(abbreviation), clean(column.profile_id))
                })
                .collect();
            if !legend.is_empty() {
                let _ = writeln!(out, "Profiles:");
                for line in legend {
                    wrapped(out, &line, width, "  ", Style::new());
                }
            }
        }
    }
}

/// `  ↳ and 312 more OUs like this: Dev, Test, QA, …`, cut to the width.
fn more_line(matrix: &Matrix<'_>, first: usize, others: &[usize], width: usize) -> String {
    let Some(row) = matrix.rows.get(first) else {
        return String::new();
    };
    let names: Vec<String> = others
        .iter()
        .take(MAX_GROUP_NAMES)
        .filter_map(|&r| matrix.rows.get(r))
        .map(|r| clean(r.name))
        .collect();
    let etc = if others.len() > MAX_GROUP_NAMES {
        ", …"
    } else {
        ""
    };
    let line = format!(
        "{}  ↳ and {} more {} like this: {}{etc}",
        "  ".repeat(row.depth.min(8)),
        others.len(),
        kind_noun(row.kind, others.len()),
        names.join(", ")
    );
    truncate(&line, width)
}

/// Problems `propose` has no verified fix for: said out loud, never silently left out. Denies
/// by design (profiles outside `--approved-profile`) come first, under their own heading.
fn unresolved_section(out: &mut String, unresolved: &[Unresolved], width: usize) {
    let (by_design, unresolved): (Vec<&Unresolved>, Vec<&Unresolved>) =
        unresolved.iter().partition(|u| u.by_design);
    // One entry per problem (findings that name no problem get one entry between them).
    for (title, items, list_keys) in [
        ("Denied by design", by_design, false),
        ("No verified fix", unresolved, true),
    ] {
        if items.is_empty() {
            continue;
        }
        let findings: usize = items.iter().map(|u| u.fixes.len()).sum();
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                BOLD,
                &format!(
                    "{title} ({}, {})",
                    plural(items.len(), "problem", "problems"),
                    plural(findings, "finding", "findings")
                )
            )
        );
        for item in items {
            if let Some(id) = &item.problem_id {
                wrapped(out, &clean(id), width, "  ", BOLD);
            }
            if list_keys {
                let keys: Vec<String> = item.fixes.iter().map(|k| clean(k)).collect();
                wrapped(out, &listing(&keys), width, "  ", Style::new());
            }
            wrapped(out, &clean(&item.reason), width, "    ", Style::new());
        }
    }
}

fn proposals_section(out: &mut String, proposals: &[Proposal], width: usize) {
    if proposals.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint(BOLD, &format!("Proposals ({})", proposals.len()))
    );
    for proposal in proposals {
        let mut title = format!(
            "{}  {}",
            clean(&proposal.id),
            proposal_kind_words(proposal.kind)
        );
        if let Some(policy) = &proposal.policy_id {
            let _ = write!(title, "  policy {}", clean(policy));
        }
        if !proposal.target_ids.is_empty() {
            let targets: Vec<String> = proposal.target_ids.iter().map(|t| clean(t)).collect();
            let _ = write!(title, "  targets {}", listing(&targets));
        }
        out.push('\n');
        wrapped(out, &title, width, "", BOLD);
        if !proposal.summary.is_empty() {
            wrapped(out, &clean(&proposal.summary), width, "    ", Style::new());
        }
        wrapped(
            out,
            &verification_words(proposal),
            width,
            "    ",
            Style::new(),
        );
        if let Some(diff) = &proposal.diff {
            let _ = writeln!(out, "    diff:");
            for line in diff.lines() {
                let style = match line.chars().next() {
                    Some('+') => AnsiColor::Green.on_default(),
                    Some('-') => AnsiColor::Red.on_default(),
                    Some('@') => AnsiColor::Cyan.on_default(),
                    _ => Style::new(),
                };
                let _ = writeln!(out, "      {}", paint(style, &clean(line)));
            }
        }
        if let Some(artifact) = &proposal.artifact {
            let _ = writeln!(out, "    artifact:");
            for line in serde_json::to_string_pretty(artifact)
                .unwrap_or_default()
                .lines()
            {
                let _ = writeln!(out, "      {}", clean(line));
            }
        }
        if !proposal.apply.is_empty() {
            let _ = writeln!(out, "    apply:");
            for line in proposal.apply.lines() {
                let _ = writeln!(out, "      {}", clean(line));
            }
        }
    }
}

fn pad(text: &str, to: usize) -> String {
    let mut padded = text.to_string();
    padded.extend(std::iter::repeat_n(
        ' ',
        to.saturating_sub(display_width(text)),
    ));
    padded
}
