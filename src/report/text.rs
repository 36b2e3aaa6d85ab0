//! Terminal rendering: a header line, the target × profile matrix, problems and proposals.
//!
//! The layout it shares with the other renderers lives in [`super::layout`]. Everything here
//! is pure: the output depends only on the report.

use std::collections::BTreeSet;

use super::layout::{
    Matrix, Row, blocker_lines, clean, condition_line, kind_words, symbol, truncate,
    verification_words, width,
};
use std::fmt::Write as _;

use crate::findings::{Proposal, Report, Status, TargetKind, Unresolved};

/// How to render for a terminal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Use ANSI colours (the CLI sets this when stdout is a TTY and `NO_COLOR` is unset).
    pub color: bool,
}

/// The width the matrix tries to stay within before it falls back to a narrower layout.
const TARGET_WIDTH: usize = 120;
/// The widest target name column; longer names are cut with `…`.
const MAX_NAME_WIDTH: usize = 44;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

/// Renders the report for a terminal.
pub fn render(report: &Report, options: &RenderOptions) -> String {
    let paint = Paint {
        color: options.color,
    };
    let matrix = Matrix::of(report);
    let mut out = String::new();
    header(&mut out, report, paint);
    if report.findings.is_empty() {
        out.push_str("\nNo findings.\n");
    } else {
        out.push('\n');
        matrix_section(&mut out, &matrix, paint);
    }
    problems_section(&mut out, &matrix, paint);
    proposals_section(&mut out, &report.proposals, paint);
    unresolved_section(&mut out, &report.unresolved, paint);
    out
}

#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn wrap(self, style: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn status(self, status: Status, text: &str) -> String {
        self.wrap(status_color(status), text)
    }
}

fn status_color(status: Status) -> &'static str {
    match status {
        Status::Reachable => GREEN,
        Status::Blocked => RED,
        Status::Conditional => YELLOW,
        Status::Unknown => MAGENTA,
    }
}

fn header(out: &mut String, report: &Report, paint: Paint) {
    let s = &report.summary;
    let counts = [
        (Status::Reachable, s.reachable),
        (Status::Blocked, s.blocked),
        (Status::Conditional, s.conditional),
        (Status::Unknown, s.unknown),
    ]
    .iter()
    .map(|&(status, n)| {
        let words = format!("{n} {}", status.as_str());
        if n > 0 {
            paint.status(status, &words)
        } else {
            words
        }
    })
    .collect::<Vec<_>>()
    .join(", ");
    let _ = writeln!(
        out,
        "{} · organization {} · snapshot {} · {} checks: {counts}",
        paint.wrap(BOLD, "cris-guard"),
        clean(&report.organization_id),
        clean(&report.snapshot_captured_at),
        s.checks,
    );
}

/// How wide the matrix cells are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Abbreviated profile id and Region over each column; cells say `✗ blocked`.
    Words,
    /// Same headers; cells are the symbol only.
    Symbols,
    /// Columns are numbered and explained in a legend below; cells are the symbol only.
    Numbered,
}

fn matrix_section(out: &mut String, matrix: &Matrix<'_>, paint: Paint) {
    let names: Vec<String> = matrix.rows.iter().map(row_label).collect();
    let name_width = names
        .iter()
        .map(|n| width(n))
        .chain([width("Target")])
        .max()
        .unwrap_or(0);
    let abbreviations = matrix.abbreviations();

    let widths_for = |layout: Layout| -> Vec<usize> {
        matrix
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| match layout {
                Layout::Words => width(&abbreviations[i])
                    .max(width(column.source_region))
                    .max(13),
                Layout::Symbols => width(&abbreviations[i]).max(width(column.source_region)),
                Layout::Numbered => (i + 1).to_string().len(),
            })
            .collect()
    };
    let total = |widths: &[usize]| name_width + widths.iter().map(|w| w + 2).sum::<usize>();
    let layout = [Layout::Words, Layout::Symbols]
        .into_iter()
        .find(|&layout| total(&widths_for(layout)) <= TARGET_WIDTH)
        .unwrap_or(Layout::Numbered);
    let widths = widths_for(layout);

    // Header lines.
    let header_lines: Vec<Vec<String>> = match layout {
        Layout::Words | Layout::Symbols => vec![
            abbreviations.iter().map(|a| clean(a)).collect(),
            matrix
                .columns
                .iter()
                .map(|c| clean(c.source_region))
                .collect(),
        ],
        Layout::Numbered => vec![(1..=matrix.columns.len()).map(|i| i.to_string()).collect()],
    };
    let last = header_lines.len().saturating_sub(1);
    for (line_index, labels) in header_lines.iter().enumerate() {
        let mut line = pad(if line_index == last { "Target" } else { "" }, name_width);
        for (label, &w) in labels.iter().zip(&widths) {
            line.push_str("  ");
            line.push_str(&pad(label, w));
        }
        let _ = writeln!(out, "{}", paint.wrap(BOLD, line.trim_end()));
    }

    // One line per target.
    for (r, name) in names.iter().enumerate() {
        let mut line = pad(name, name_width);
        for (c, &w) in widths.iter().enumerate() {
            line.push_str("  ");
            let (status, text) = match matrix.cell(r, c) {
                Some(finding) => (
                    Some(finding.status),
                    cell_text(finding.status, layout == Layout::Words),
                ),
                None => (None, "·".to_string()),
            };
            let padded = pad(&text, w);
            line.push_str(&match status {
                Some(status) => paint.status(status, &padded),
                None => paint.wrap(DIM, &padded),
            });
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }

    // Key and legend.
    out.push('\n');
    if layout != Layout::Words {
        let key = [
            Status::Reachable,
            Status::Blocked,
            Status::Conditional,
            Status::Unknown,
        ]
        .iter()
        .map(|&s| paint.status(s, &format!("{} {}", symbol(s), s.as_str())))
        .chain(std::iter::once("· not in report".to_string()))
        .collect::<Vec<_>>()
        .join("  ");
        let _ = writeln!(out, "Key: {key}");
    }
    match layout {
        Layout::Numbered => {
            let number_width = matrix.columns.len().to_string().len();
            for (i, column) in matrix.columns.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  {:>number_width$}  {} @ {}",
                    i + 1,
                    clean(column.profile_id),
                    clean(column.source_region)
                );
            }
        }
        Layout::Words | Layout::Symbols => {
            let mut seen = BTreeSet::new();
            let legend: Vec<String> = matrix
                .columns
                .iter()
                .zip(&abbreviations)
                .filter(|(column, abbreviation)| column.profile_id != abbreviation.as_str())
                .filter(|(column, _)| seen.insert(column.profile_id))
                .map(|(column, abbreviation)| {
                    format!("  {} = {}", clean(abbreviation), clean(column.profile_id))
                })
                .collect();
            if !legend.is_empty() {
                let _ = writeln!(out, "Profiles:");
                for line in legend {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
    }
}

fn row_label(row: &Row<'_>) -> String {
    let name = match row.kind {
        TargetKind::Account => format!("{} ({})", clean(row.name), clean(row.target_id)),
        TargetKind::Root | TargetKind::OrganizationalUnit => clean(row.name),
    };
    let indent = "  ".repeat(row.depth.min(8));
    truncate(&format!("{indent}{name}"), MAX_NAME_WIDTH)
}

fn cell_text(status: Status, words: bool) -> String {
    if words {
        format!("{} {}", symbol(status), status.as_str())
    } else {
        symbol(status).to_string()
    }
}

fn problems_section(out: &mut String, matrix: &Matrix<'_>, paint: Paint) {
    let problems = matrix.problems();
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint.wrap(BOLD, &format!("Problems ({})", problems.len()))
    );
    for finding in problems {
        let status = paint.status(
            finding.status,
            &format!("{} {}", symbol(finding.status), finding.status.as_str()),
        );
        let _ = writeln!(
            out,
            "\n{status}  {} ({})  {} @ {}",
            paint.wrap(BOLD, &clean(&finding.target_path)),
            clean(&finding.target_id),
            clean(&finding.profile_id),
            clean(&finding.source_region),
        );
        if !finding.explanation.is_empty() {
            let _ = writeln!(out, "    {}", clean(&finding.explanation));
        }
        let blockers = blocker_lines(&finding.blockers, &clean, &clean);
        if !blockers.is_empty() {
            let title = if finding.status == Status::Conditional {
                "blockers (for principals that miss the conditions):"
            } else {
                "blockers:"
            };
            let _ = writeln!(out, "    {title}");
            for line in blockers {
                let _ = writeln!(out, "      {line}");
            }
        }
        if !finding.conditions.is_empty() {
            let _ = writeln!(out, "    conditions:");
            for condition in &finding.conditions {
                let _ = writeln!(out, "      {}", condition_line(condition, &clean, &clean));
            }
        }
    }
}

/// Problems `propose` has no verified fix for: said out loud, never silently left out.
fn unresolved_section(out: &mut String, unresolved: &[Unresolved], paint: Paint) {
    let (by_design, unresolved): (Vec<&Unresolved>, Vec<&Unresolved>) =
        unresolved.iter().partition(|u| u.by_design);
    if !by_design.is_empty() {
        let n: usize = by_design.iter().map(|u| u.fixes.len()).sum();
        let _ = writeln!(
            out,
            "\n{}",
            paint.wrap(
                BOLD,
                &format!(
                    "Denied by design ({n} finding{})",
                    if n == 1 { "" } else { "s" }
                )
            )
        );
        for item in &by_design {
            let _ = writeln!(out, "  {}", clean(&item.reason));
        }
    }
    if unresolved.is_empty() {
        return;
    }
    let problems: usize = unresolved.iter().map(|u| u.fixes.len()).sum();
    let _ = writeln!(
        out,
        "\n{}",
        paint.wrap(
            BOLD,
            &format!(
                "No verified fix ({problems} problem{})",
                if problems == 1 { "" } else { "s" }
            )
        )
    );
    for item in unresolved {
        let keys: Vec<String> = item.fixes.iter().map(|k| clean(k)).collect();
        let _ = writeln!(out, "  {}", keys.join(", "));
        let _ = writeln!(out, "    {}", clean(&item.reason));
    }
}

fn proposals_section(out: &mut String, proposals: &[Proposal], paint: Paint) {
    if proposals.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        paint.wrap(BOLD, &format!("Proposals ({})", proposals.len()))
    );
    for proposal in proposals {
        let mut title = format!("{}  {}", clean(&proposal.id), kind_words(proposal.kind));
        if let Some(policy) = &proposal.policy_id {
            let _ = write!(title, "  policy {}", clean(policy));
        }
        if !proposal.target_ids.is_empty() {
            let targets: Vec<String> = proposal.target_ids.iter().map(|t| clean(t)).collect();
            let _ = write!(title, "  targets {}", targets.join(", "));
        }
        let _ = writeln!(out, "\n{}", paint.wrap(BOLD, &title));
        if !proposal.summary.is_empty() {
            let _ = writeln!(out, "    {}", clean(&proposal.summary));
        }
        let _ = writeln!(out, "    {}", verification_words(proposal));
        if let Some(diff) = &proposal.diff {
            let _ = writeln!(out, "    diff:");
            for line in diff.lines() {
                let style = match line.chars().next() {
                    Some('+') => GREEN,
                    Some('-') => RED,
                    Some('@') => CYAN,
                    _ => "",
                };
                let text = clean(line);
                let _ = writeln!(
                    out,
                    "      {}",
                    if style.is_empty() {
                        text
                    } else {
                        paint.wrap(style, &text)
                    }
                );
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
    padded.extend(std::iter::repeat_n(' ', to.saturating_sub(width(text))));
    padded
}
