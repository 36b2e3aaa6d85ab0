//! HTML rendering: one self-contained page (inline CSS, no script, no external assets).
//!
//! The page shows the summary, the org tree (targets nested by `targetPath`, one aligned
//! column per profile × source Region with a coloured badge), the problems and the proposals.
//! A badge of a non-reachable finding is a `<details>`: its `title` gives the explanation on
//! hover, clicking it opens the blockers. Everything that comes from data is escaped with
//! [`escape`]; a Content-Security-Policy forbids scripts and every load.

use std::fmt::Write as _;

use super::layout::{Matrix, blocker_line, condition_line, kind_words, symbol, verification_words};
use crate::findings::{BlockerKind, Finding, Proposal, Report, Status, TargetKind};

const STYLE: &str = r#"
:root { --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --cond:#9a6700; --cond-bg:#fff8c5;
  --unk:#8250df; --unk-bg:#fbefff; --line:#d0d7de; --muted:#57606a; --col:8.5rem; --name:20rem; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color:#1f2328; margin:0; padding:1.5rem 2rem 3rem; }
h1 { font-size:1.4rem; margin:0 0 .25rem; }
h2 { font-size:1.15rem; margin:2rem 0 .75rem; border-bottom:1px solid var(--line); padding-bottom:.3rem; }
h3 { font-size:1rem; margin:1.25rem 0 .4rem; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.meta { color:var(--muted); margin:0 0 1rem; }
.tiles { display:flex; gap:.75rem; flex-wrap:wrap; }
.tile { border:1px solid var(--line); border-radius:8px; padding:.5rem .9rem; min-width:7.5rem; }
.tile b { display:block; font-size:1.5rem; line-height:1.2; }
.tile.reachable { border-color:var(--ok); background:var(--ok-bg); color:var(--ok); }
.tile.blocked { border-color:var(--bad); background:var(--bad-bg); color:var(--bad); }
.tile.conditional { border-color:var(--cond); background:var(--cond-bg); color:var(--cond); }
.tile.unknown { border-color:var(--unk); background:var(--unk-bg); color:var(--unk); }
.tile.zero { border-color:var(--line); background:#fff; color:var(--muted); }
.scroll { width:max-content; min-width:100%; }
.grid { display:grid; grid-template-columns: var(--name) repeat(var(--cols), var(--col)); align-items:center; column-gap:.5rem; }
.head { position:sticky; top:0; background:#f6f8fa; border:1px solid var(--line); border-radius:6px 6px 0 0; padding:.4rem .5rem; font-size:.8rem; color:var(--muted); z-index:2; }
.head .colh { text-align:center; line-height:1.25; overflow:hidden; }
.head .colh code { display:block; color:#1f2328; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
ul.tree, ul.tree ul { list-style:none; margin:0; padding:0; }
ul.tree { border:1px solid var(--line); border-top:0; border-radius:0 0 6px 6px; }
ul.tree li > .grid { padding:.3rem .5rem; border-top:1px solid #eaeef2; }
ul.tree > li:first-child > .grid { border-top:0; }
ul.tree li > .grid:hover { background:#f6f8fa; }
.name { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.name .guide { color:#afb8c1; }
.name .id { color:var(--muted); font-size:.8rem; margin-left:.35rem; }
.name .kind { font-size:.7rem; color:var(--muted); border:1px solid var(--line); border-radius:4px; padding:0 .25rem; margin-right:.35rem; }
.name.placeholder { color:var(--muted); font-style:italic; }
.badge { display:block; text-align:center; border-radius:999px; padding:.1rem .4rem; font-size:.8rem; font-weight:600; border:1px solid transparent; white-space:nowrap; }
.badge.reachable { color:var(--ok); background:var(--ok-bg); }
.badge.blocked { color:var(--bad); background:var(--bad-bg); border-color:var(--bad); }
.badge.conditional { color:var(--cond); background:var(--cond-bg); border-color:var(--cond); }
.badge.unknown { color:var(--unk); background:var(--unk-bg); border-color:var(--unk); }
.badge.none { color:#afb8c1; font-weight:400; }
.badge.worst { display:inline-block; font-weight:600; padding:.1rem .6rem; border-radius:999px; margin-left:.5rem; font-size:.85rem; vertical-align:middle; }
details.cell { position:relative; }
details.cell > summary { list-style:none; cursor:pointer; }
details.cell > summary::-webkit-details-marker { display:none; }
details.cell > summary:focus-visible { outline:2px solid #0969da; border-radius:999px; }
details.cell[open] > summary { box-shadow:0 0 0 2px #0969da55; }
.pop { position:absolute; z-index:5; top:calc(100% + .35rem); left:0; width:46rem; max-width:90vw; background:#fff; border:1px solid var(--line);
  border-radius:8px; box-shadow:0 8px 24px #8c959f40; padding:.75rem .9rem; font-weight:400; }
.cell.right .pop { left:auto; right:0; }
.pop p { margin:0 0 .5rem; }
.pop .what { font-weight:600; }
table.blockers { border-collapse:collapse; width:100%; font-size:.8rem; margin:.25rem 0 .5rem; }
table.blockers th, table.blockers td { text-align:left; border-bottom:1px solid #eaeef2; padding:.2rem .35rem; vertical-align:top; }
table.blockers th { color:var(--muted); font-weight:600; }
table.blockers td code { white-space:nowrap; }
table.blockers .res { display:block; word-break:break-all; color:var(--muted); font-size:.75rem; margin-top:.1rem; }
ul.conds { margin:.25rem 0 0; padding-left:1.1rem; font-size:.85rem; }
.legend { color:var(--muted); font-size:.85rem; margin:.6rem 0 0; }
.legend code { color:#1f2328; }
details.problem { border:1px solid var(--line); border-left-width:4px; border-radius:6px; margin:.5rem 0; padding:.45rem .75rem; }
details.problem.blocked { border-left-color:var(--bad); }
details.problem.conditional { border-left-color:var(--cond); }
details.problem.unknown { border-left-color:var(--unk); }
details.problem > summary { cursor:pointer; }
details.problem > div { margin-top:.5rem; }
.proposal { border:1px solid var(--line); border-radius:8px; padding:.25rem 1rem 1rem; margin:1rem 0; }
.proposal dl { display:grid; grid-template-columns:max-content 1fr; gap:.2rem .9rem; margin:.5rem 0; }
.proposal dt { color:var(--muted); }
.proposal dd { margin:0; }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:.6rem .8rem; overflow-x:auto; margin:.3rem 0 .8rem; }
pre.diff .add { color:var(--ok); background:var(--ok-bg); display:inline-block; min-width:100%; }
pre.diff .del { color:var(--bad); background:var(--bad-bg); display:inline-block; min-width:100%; }
pre.diff .hunk { color:#0969da; }
.empty { color:var(--muted); font-style:italic; }
"#;

/// Renders the report as one self-contained HTML page.
pub fn render(report: &Report) -> String {
    let matrix = Matrix::of(report);
    let mut out = String::new();
    let worst = report.worst_status();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    let _ = writeln!(
        out,
        "<title>cris-guard: {} ({})</title>",
        escape(&report.organization_id),
        worst.as_str()
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    summary_section(&mut out, report, worst);
    tree_section(&mut out, &matrix);
    problems_section(&mut out, &matrix.problems());
    proposals_section(&mut out, &report.proposals);
    out.push_str("</body>\n</html>\n");
    out
}

fn summary_section(out: &mut String, report: &Report, worst: Status) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "<header>\n<h1>Bedrock cross-Region inference reachability <span class=\"worst badge {0}\">{1} {0}</span></h1>",
        worst.as_str(),
        symbol(worst)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Organization <code>{}</code> · snapshot captured <code>{}</code> · {} checks</p>",
        escape(&report.organization_id),
        escape(&report.snapshot_captured_at),
        s.checks
    );
    out.push_str("<div class=\"tiles\">\n");
    for (status, n) in [
        (Status::Reachable, s.reachable),
        (Status::Blocked, s.blocked),
        (Status::Conditional, s.conditional),
        (Status::Unknown, s.unknown),
    ] {
        let zero = if n == 0 { " zero" } else { "" };
        let _ = writeln!(
            out,
            "<div class=\"tile {0}{zero}\"><b>{n}</b>{1} {0}</div>",
            status.as_str(),
            symbol(status)
        );
    }
    out.push_str("</div>\n</header>\n");
}

fn tree_section(out: &mut String, matrix: &Matrix<'_>) {
    let _ = writeln!(out, "<h2>Organization tree</h2>");
    if matrix.rows.is_empty() {
        out.push_str("<p class=\"empty\">No findings.</p>\n");
        return;
    }
    let columns = matrix.columns.len();
    let abbreviations = matrix.abbreviations();
    // Monospace labels at 12.5px are about 0.47rem a character; leave room for padding.
    let longest = abbreviations
        .iter()
        .map(|a| a.chars().count())
        .chain(
            matrix
                .columns
                .iter()
                .map(|c| c.source_region.chars().count()),
        )
        .max()
        .unwrap_or(0);
    let column_width = (longest as f32 * 0.47 + 0.6).max(8.5);
    let _ = writeln!(
        out,
        "<div class=\"scroll\" style=\"--cols:{columns}; --col:{column_width:.1}rem\">"
    );
    out.push_str("<div class=\"grid head\"><div>Target</div>");
    for (column, abbreviation) in matrix.columns.iter().zip(&abbreviations) {
        let _ = write!(
            out,
            "<div class=\"colh\" title=\"{} @ {}\"><code>{}</code>{}</div>",
            escape(column.profile_id),
            escape(column.source_region),
            escape(abbreviation),
            escape(column.source_region)
        );
    }
    out.push_str("</div>\n<ul class=\"tree\">\n");
    tree(out, matrix);
    out.push_str("</ul>\n");
    let legend: Vec<String> = matrix
        .columns
        .iter()
        .zip(&abbreviations)
        .filter(|(column, abbreviation)| column.profile_id != abbreviation.as_str())
        .map(|(column, abbreviation)| {
            format!(
                "<code>{}</code> = <code>{}</code>",
                escape(abbreviation),
                escape(column.profile_id)
            )
        })
        .fold(Vec::new(), |mut acc, entry| {
            if !acc.contains(&entry) {
                acc.push(entry);
            }
            acc
        });
    out.push_str("</div>\n<p class=\"legend\">Click a badge for its blockers. ");
    if !legend.is_empty() {
        let _ = write!(out, "Profiles: {}.", legend.join("; "));
    }
    out.push_str("</p>\n");
}

/// The rows as nested lists. Top-level rows below a root that is not itself in the report
/// hang under a placeholder for it.
fn tree(out: &mut String, matrix: &Matrix<'_>) {
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); matrix.rows.len()];
    // (root name, top-level rows under it), in row order.
    let mut tops: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (index, row) in matrix.rows.iter().enumerate() {
        if let Some(parent) = row.parent {
            if let Some(list) = kids.get_mut(parent) {
                list.push(index);
            }
            continue;
        }
        let root = row.path.split_once('/').map(|(root, _)| root);
        match tops.last_mut() {
            Some((name, list)) if *name == root && root.is_some() => list.push(index),
            _ => tops.push((root, vec![index])),
        }
    }
    for (root, rows) in tops {
        match root {
            Some(name) => {
                let _ = write!(
                    out,
                    "<li><div class=\"grid\"><div class=\"name placeholder\">{}</div></div>\n<ul>\n",
                    escape(name)
                );
                for row in rows {
                    subtree(out, matrix, &kids, row);
                }
                out.push_str("</ul></li>\n");
            }
            None => {
                for row in rows {
                    subtree(out, matrix, &kids, row);
                }
            }
        }
    }
}

fn subtree(out: &mut String, matrix: &Matrix<'_>, kids: &[Vec<usize>], row: usize) {
    out.push_str("<li>");
    target_row(out, matrix, row);
    if let Some(children) = kids.get(row).filter(|c| !c.is_empty()) {
        out.push_str("\n<ul>\n");
        for &child in children {
            subtree(out, matrix, kids, child);
        }
        out.push_str("</ul>");
    }
    out.push_str("</li>\n");
}

fn target_row(out: &mut String, matrix: &Matrix<'_>, row_index: usize) {
    let Some(row) = matrix.rows.get(row_index) else {
        return;
    };
    let depth = row.depth;
    let kind = match row.kind {
        TargetKind::Root => "root",
        TargetKind::OrganizationalUnit => "OU",
        TargetKind::Account => "account",
    };
    let guide = if depth > 0 {
        "<span class=\"guide\">└ </span>"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<div class=\"grid\"><div class=\"name\" style=\"padding-left:{}rem\" title=\"{}\">{guide}<span class=\"kind\">{kind}</span>{}<span class=\"id\">{}</span></div>",
        depth.saturating_sub(1) as f32 * 1.25 + if depth > 0 { 0.4 } else { 0.0 },
        escape(row.path),
        escape(row.name),
        escape(row.target_id)
    );
    let columns = matrix.columns.len();
    for column in 0..columns {
        match matrix.cell(row_index, column) {
            None => out.push_str("<span class=\"badge none\" title=\"not in report\">·</span>"),
            Some(finding) if finding.status == Status::Reachable => {
                let _ = write!(
                    out,
                    "<span class=\"badge reachable\" title=\"{}\">{} reachable</span>",
                    escape(&finding.explanation),
                    symbol(Status::Reachable)
                );
            }
            Some(finding) => {
                let status = finding.status.as_str();
                // Columns on the right open their popover leftwards so it stays on the page.
                let right = if column > 0 && column >= columns / 2 {
                    " right"
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    "<details class=\"cell{right}\"><summary class=\"badge {status}\" title=\"{}\">{} {status}</summary><div class=\"pop\">",
                    escape(&finding.explanation),
                    symbol(finding.status)
                );
                finding_body(out, finding, true);
                out.push_str("</div></details>");
            }
        }
    }
    out.push_str("</div>");
}

fn finding_body(out: &mut String, finding: &Finding, heading: bool) {
    if heading {
        let _ = write!(
            out,
            "<p class=\"what\">{} · <code>{}</code> from <code>{}</code></p>",
            escape(&finding.target_path),
            escape(&finding.profile_id),
            escape(&finding.source_region)
        );
    }
    if !finding.explanation.is_empty() {
        let _ = write!(out, "<p>{}</p>", escape(&finding.explanation));
    }
    if !finding.blockers.is_empty() {
        if finding.status == Status::Conditional {
            out.push_str("<p>Blocks principals that miss the conditions:</p>");
        }
        out.push_str(
            "<table class=\"blockers\"><thead><tr><th>Region</th><th>Action and resource</th><th>Denied by</th><th>Sid</th><th>Attached to</th></tr></thead><tbody>",
        );
        for blocker in &finding.blockers {
            let by = match blocker.kind {
                BlockerKind::ExplicitDeny => match (&blocker.policy_name, &blocker.policy_id) {
                    (Some(name), Some(id)) => {
                        format!("{} <code>{}</code>", escape(name), escape(id))
                    }
                    (Some(name), None) => escape(name),
                    (None, Some(id)) => format!("<code>{}</code>", escape(id)),
                    (None, None) => "an SCP".to_string(),
                },
                BlockerKind::NoAllow => "no SCP allows it".to_string(),
                BlockerKind::AccountNotActive => "account not ACTIVE".to_string(),
            };
            let sid = match (&blocker.sid, blocker.statement_index) {
                (Some(sid), Some(index)) => format!("<code>{}</code> #{index}", escape(sid)),
                (Some(sid), None) => format!("<code>{}</code>", escape(sid)),
                (None, Some(index)) => format!("#{index}"),
                (None, None) => String::new(),
            };
            let _ = write!(
                out,
                "<tr title=\"{}\"><td><code>{}</code></td><td><code>{}</code><span class=\"res\">{}</span></td><td>{by}</td><td>{sid}</td><td><code>{}</code></td></tr>",
                escape(&blocker_line(blocker, &|s| s.to_string(), &|s| s.to_string())),
                escape(&blocker.region),
                escape(&blocker.action),
                escape(&blocker.resource),
                escape(blocker.attached_to.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</tbody></table>");
    }
    if !finding.conditions.is_empty() {
        out.push_str("<ul class=\"conds\">");
        for condition in &finding.conditions {
            let line = condition_line(
                condition,
                &|s| format!("<code>{}</code>", escape(s)),
                &|s| escape(s),
            );
            let _ = write!(out, "<li>{line}</li>");
        }
        out.push_str("</ul>");
    }
}

fn problems_section(out: &mut String, problems: &[&Finding]) {
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Problems ({})</h2>", problems.len());
    for finding in problems {
        let status = finding.status.as_str();
        let _ = write!(
            out,
            "<details class=\"problem {status}\"><summary><span class=\"badge {status}\" style=\"display:inline-block\">{} {status}</span> <b>{}</b> <code>{}</code> from <code>{}</code></summary><div>",
            symbol(finding.status),
            escape(&finding.target_path),
            escape(&finding.profile_id),
            escape(&finding.source_region)
        );
        finding_body(out, finding, false);
        out.push_str("</div></details>\n");
    }
}

fn proposals_section(out: &mut String, proposals: &[Proposal]) {
    if proposals.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Proposals ({})</h2>", proposals.len());
    for proposal in proposals {
        let _ = write!(
            out,
            "<section class=\"proposal\"><h3>{} · {}</h3>",
            escape(&proposal.id),
            kind_words(proposal.kind)
        );
        if !proposal.summary.is_empty() {
            let _ = write!(out, "<p>{}</p>", escape(&proposal.summary));
        }
        out.push_str("<dl>");
        if let Some(policy) = &proposal.policy_id {
            let _ = write!(
                out,
                "<dt>Policy</dt><dd><code>{}</code></dd>",
                escape(policy)
            );
        }
        if !proposal.target_ids.is_empty() {
            let targets: Vec<String> = proposal
                .target_ids
                .iter()
                .map(|t| format!("<code>{}</code>", escape(t)))
                .collect();
            let _ = write!(out, "<dt>Targets</dt><dd>{}</dd>", targets.join(", "));
        }
        let _ = write!(
            out,
            "<dt>Verification</dt><dd>{}</dd>",
            escape(&verification_words(proposal))
        );
        out.push_str("</dl>");
        if let Some(diff) = &proposal.diff {
            out.push_str("<h4>Diff</h4><pre class=\"diff\">");
            for line in diff.lines() {
                let class = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => "add",
                    Some('-') if !line.starts_with("---") => "del",
                    Some('@') => "hunk",
                    _ => "",
                };
                if class.is_empty() {
                    let _ = writeln!(out, "{}", escape(line));
                } else {
                    let _ = writeln!(out, "<span class=\"{class}\">{}</span>", escape(line));
                }
            }
            out.push_str("</pre>");
        }
        if let Some(artifact) = &proposal.artifact {
            let _ = write!(
                out,
                "<h4>Artifact</h4><pre>{}</pre>",
                escape(&serde_json::to_string_pretty(artifact).unwrap_or_default())
            );
        }
        if !proposal.apply.is_empty() {
            let _ = write!(out, "<h4>Apply</h4><pre>{}</pre>", escape(&proposal.apply));
        }
        out.push_str("</section>\n");
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
