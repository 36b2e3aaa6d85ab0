//! HTML rendering: one self-contained page (inline CSS, one hashed inline script, no external
//! assets).
//!
//! The page shows the summary, the problems, the org tree as one table (targets nested by
//! `targetPath` and collapsible by subtree, one column per profile × source Region, the name
//! column and the header sticky) and the proposals. A cell is a status glyph that links to its
//! problem; to stay small at 10,000 accounts it carries at most a short class, its glyph and
//! spoken label come from CSS (see [`CellKeys`]). Everything that comes from data is escaped
//! with [`escape`] (or [`css_string`]); a Content-Security-Policy allows only that script and
//! forbids every load.

use std::fmt::Write as _;

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;

use super::layout::{
    Matrix, Tree, blocker_line, condition_line, kind_words, symbol, verification_words,
};
use super::problem;
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
.badge { display:block; text-align:center; border-radius:999px; padding:.1rem .4rem; font-size:.8rem; font-weight:600; border:1px solid transparent; white-space:nowrap; }
.badge.reachable { color:var(--ok); background:var(--ok-bg); }
.badge.blocked { color:var(--bad); background:var(--bad-bg); border-color:var(--bad); }
.badge.conditional { color:var(--cond); background:var(--cond-bg); border-color:var(--cond); }
.badge.unknown { color:var(--unk); background:var(--unk-bg); border-color:var(--unk); }
.badge.worst { display:inline-block; font-weight:600; padding:.1rem .6rem; border-radius:999px; margin-left:.5rem; font-size:.85rem; vertical-align:middle; }
.expectations { list-style:none; padding-left:0; } .expectations .badge { display:inline-block; margin-right:.4rem; }
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
.vh { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
.whatif { background:#ddf4ff; border:1px solid #54aeff; border-radius:6px; padding:.5rem .8rem; margin:0 0 1rem; font-weight:600; }
.filters { display:flex; gap:1rem; flex-wrap:wrap; margin:1rem 0; }
.filters select { font:inherit; margin-left:.3rem; }
section.problem { border:1px solid var(--line); border-left-width:4px; border-radius:6px; margin:.5rem 0; padding:.1rem .75rem .5rem; }
section.problem.blocked { border-left-color:var(--bad); }
section.problem.conditional { border-left-color:var(--cond); }
section.problem.unknown { border-left-color:var(--unk); }
section.problem:target { box-shadow:0 0 0 3px #0969da55; }
section.problem h3 { font-weight:600; }
section.problem dl { display:grid; grid-template-columns:max-content 1fr; gap:.2rem .9rem; margin:.5rem 0; }
section.problem dt { color:var(--muted); }
section.problem dd { margin:0; }
.badge.inline { display:inline-block; }
.scroll { overflow:auto; max-height:85vh; border:1px solid var(--line); border-radius:6px; }
table.m { table-layout:fixed; border-collapse:collapse; width:calc(var(--name) + var(--cols) * var(--col)); }
table.m caption { text-align:left; color:var(--muted); padding:.4rem .5rem; caption-side:top; }
table.m th, table.m td { width:var(--col); padding:.25rem .4rem; border-top:1px solid #eaeef2; text-align:center; }
table.m td { cursor:pointer; font-weight:600; }
table.m td::before, .cellkey .glyph::before { content:var(--g); color:var(--c); }
table.m th.name { width:var(--name); text-align:left; font-weight:400; position:sticky; left:0; background:#fff; z-index:1; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
table.m thead th { position:sticky; top:0; z-index:2; background:#f6f8fa; color:var(--muted); font-size:.8rem; font-weight:600; }
table.m thead th.name { background:#f6f8fa; z-index:3; }
table.m tbody tr:hover th.name, table.m tbody tr:hover td { background:#f6f8fa; }
th.name .id { color:var(--muted); font-size:.8rem; margin-left:.35rem; font-weight:400; }
th.name .kind { font-size:.7rem; color:var(--muted); border:1px solid var(--line); border-radius:4px; padding:0 .25rem; margin-right:.35rem; }
th.name .badge { margin-left:.35rem; font-size:.7rem; }
button.tog { font:inherit; font-weight:600; color:inherit; background:none; border:0; padding:0; cursor:pointer; }
button.tog::before { content:"\25B8\00A0" / ""; }
button.tog[aria-expanded="true"]::before { content:"\25BE\00A0" / ""; }
.cellkey { margin:.6rem 0 0; font-size:.85rem; }
.cellkey ul { list-style:none; padding-left:.5rem; }
.cellkey .glyph { display:inline-block; width:1.2rem; text-align:center; font-weight:600; }
details.names { display:inline-block; margin-left:.5rem; font-size:.8rem; }
details.names ul { white-space:normal; margin:.2rem 0; padding-left:1rem; }
"#;

/// Opening and closing subtrees, a cell's click to its problem, and the filters: one generated
/// rule set hides what does not match, so filtering a large page touches no element but one
/// `<style>`.
const SCRIPT: &str = r#"(function(){var g=document.getElementById('grid');
function on(b){return b.getAttribute('aria-expanded')==='true';}
if(g)g.addEventListener('click',function(e){var b=e.target.closest('button.tog');
if(b){var open=!on(b),tr=b.closest('tr'),d=+tr.dataset.d,skip=Infinity;b.setAttribute('aria-expanded',String(open));
for(var n=tr.nextElementSibling;n&&+n.dataset.d>d;n=n.nextElementSibling){var nd=+n.dataset.d;
if(!open){n.hidden=true;continue;}if(nd>skip)continue;skip=Infinity;n.hidden=false;
var t=n.querySelector('button.tog');if(t&&!on(t))skip=nd;}return;}
var td=e.target.closest('td');if(!td)return;var k=td.className||td.parentNode.className,li=document.getElementById(k);if(!li)return;
var a=li.querySelectorAll('a');if(a.length===1){location.hash=a[0].getAttribute('href').slice(1);}else{li.closest('details').open=true;location.hash=k;}});
var f=document.getElementById('filters'),o=document.getElementById('filter-style');if(!f||!o)return;f.hidden=false;
function q(v){return JSON.stringify(v);}
function apply(){var s=f.elements.status.value,p=f.elements.profile.value,r=f.elements.region.value,css='';
document.querySelectorAll('#grid thead th[data-p]').forEach(function(h,i){if((p&&h.dataset.p!==p)||(r&&h.dataset.r!==r))css+='#grid tr>:nth-child('+(i+2)+'){display:none}';});
if(s)css+='tr[data-s]:not([data-s~='+q(s)+']),.problem:not([data-status='+q(s)+']){display:none}';
if(p)css+='.problem:not([data-profiles~='+q(p)+']){display:none}';
if(r)css+='.problem:not([data-regions~='+q(r)+']){display:none}';
o.textContent=css;}
f.addEventListener('change',apply);apply();})();"#;

/// `sha256-` of [`SCRIPT`], the only script the Content-Security-Policy lets run (a test
/// recomputes it).
pub(crate) const SCRIPT_HASH: &str = "sha256-tg1/MRI+mP4Qn7fokglJhIhDW/PPVWM+1Ai5vJYre6Y=";

/// Subtrees deeper than this start closed, or one level less when that would show more than
/// [`OPEN_ROWS`] rows: every shown cell costs the browser layout time (a 10,000-account page
/// opened to depth 2 shows 32,000 cells).
const OPEN_DEPTH: usize = 2;
const OPEN_ROWS: usize = 60;

/// Renders the report as one self-contained HTML page.
pub fn render(report: &Report) -> String {
    let matrix = Matrix::of(report);
    let keys = CellKeys::of(&matrix, !report.problems.is_empty());
    let mut out = String::new();
    let worst = report.worst_status();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'\">"
    );
    let what_if = if report.what_if.is_some() {
        "what-if: "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<title>cris-guard: {what_if}{} ({})</title>",
        escape(&report.organization_id),
        worst.as_str()
    );
    let _ = writeln!(
        out,
        "<style>{STYLE}</style>\n{}<style id=\"filter-style\"></style>\n<noscript><style>#grid tr[hidden] {{ display:table-row; }}</style></noscript>\n</head>\n<body>",
        keys.style()
    );
    if let Some(line) = problem::what_if_line(report) {
        let _ = writeln!(
            out,
            "<p class=\"whatif\" role=\"note\">{}</p>",
            escape(&line)
        );
    }
    summary_section(&mut out, report, worst);
    expectations_section(&mut out, report);
    filters(&mut out, &matrix);
    if report.problems.is_empty() {
        finding_problems_section(&mut out, &matrix.problems());
    } else {
        problems_section(&mut out, report);
    }
    tree_section(&mut out, &matrix, &keys);
    proposals_section(&mut out, &report.proposals);
    let _ = writeln!(out, "<script>{SCRIPT}</script>");
    out.push_str("</body>\n</html>\n");
    out
}

/// With `--expect`: the intents, before the problems, since the exit code reflects only them.
fn expectations_section(out: &mut String, report: &Report) {
    let lines =
        problem::expectation_lines(report, &|v| format!("<code>{}</code>", escape(v)), &escape);
    if lines.is_empty() {
        return;
    }
    out.push_str("<section aria-labelledby=\"expectations\">\n<h2 id=\"expectations\">Expectations</h2>\n<ul class=\"expectations\">\n");
    for (standing, line) in lines {
        let class = match standing {
            problem::Standing::Violated => "blocked",
            problem::Standing::Undecided => "unknown",
            problem::Standing::Holds => "reachable",
        };
        let _ = writeln!(
            out,
            "<li><span class=\"badge {class}\">{}</span> {line}</li>",
            standing.words()
        );
    }
    out.push_str("</ul>\n</section>\n");
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

/// Status, profile and Region selectors (hidden until the script runs).
fn filters(out: &mut String, matrix: &Matrix<'_>) {
    let profiles: BTreeSet<&str> = matrix.columns.iter().map(|c| c.profile_id).collect();
    let regions: BTreeSet<&str> = matrix.columns.iter().map(|c| c.source_region).collect();
    out.push_str("<form id=\"filters\" class=\"filters\" aria-label=\"Filter problems and the organization tree\" hidden>\n");
    out.push_str("<label>Status <select name=\"status\"><option value=\"\">any</option>");
    for status in [
        Status::Blocked,
        Status::Conditional,
        Status::Unknown,
        Status::Reachable,
    ] {
        let _ = write!(out, "<option>{}</option>", status.as_str());
    }
    out.push_str("</select></label>\n<label>Profile <select name=\"profile\"><option value=\"\">any</option>");
    for profile in profiles {
        let _ = write!(out, "<option>{}</option>", escape(profile));
    }
    out.push_str("</select></label>\n<label>Source Region <select name=\"region\"><option value=\"\">any</option>");
    for region in regions {
        let _ = write!(out, "<option>{}</option>", escape(region));
    }
    out.push_str("</select></label>\n</form>\n");
}

/// One section per problem, worst first, with the anchor the tree's cells link to.
fn problems_section(out: &mut String, report: &Report) {
    let problems = problem::ordered(report);
    let _ = writeln!(out, "<h2>Problems ({})</h2>", problems.len());
    let code = |s: &str| format!("<code>{}</code>", escape(s));
    let list = |items: &[String]| items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ");
    for p in problems {
        let status = p.status.as_str();
        let _ = write!(
            out,
            "<section class=\"problem {status}\" id=\"{}\" data-status=\"{status}\" data-profiles=\"{}\" data-regions=\"{}\" aria-labelledby=\"{0}-h\">",
            escape(&p.id),
            escape(&p.affected.profiles.join(" ")),
            escape(&p.affected.source_regions.join(" "))
        );
        let _ = write!(
            out,
            "<h3 id=\"{}-h\"><span class=\"badge {status} inline\">{} {status}</span> <code>{}</code> {}</h3>",
            escape(&p.id),
            symbol(p.status),
            escape(&p.id),
            problem::title(p, &code, &|s| escape(s))
        );
        if !p.explanation.is_empty() {
            let _ = write!(out, "<p>{}</p>", escape(&p.explanation));
        }
        let a = &p.affected;
        let _ = write!(
            out,
            "<details><summary>{}</summary><dl>",
            escape(&problem::affected_words(p))
        );
        let _ = write!(
            out,
            "<dt>Cause</dt><dd>{}</dd>",
            problem::kind_words(p.cause.kind)
        );
        if !p.cause.actions.is_empty() {
            let _ = write!(out, "<dt>Actions</dt><dd>{}</dd>", list(&p.cause.actions));
        }
        let _ = write!(
            out,
            "<dt>Targets ({})</dt><dd>{}</dd><dt>Profiles</dt><dd>{}</dd><dt>Source Regions</dt><dd>{}</dd>",
            a.targets,
            list(&a.target_ids),
            list(&a.profiles),
            list(&a.source_regions)
        );
        if !p.proposal_ids.is_empty() {
            let _ = write!(out, "<dt>Fixed by</dt><dd>{}</dd>", list(&p.proposal_ids));
        }
        if let Some(reason) = &p.unresolved_reason {
            let _ = write!(out, "<dt>No fix</dt><dd>{}</dd>", escape(reason));
        }
        out.push_str("</dl></details></section>\n");
    }
}

fn tree_section(out: &mut String, matrix: &Matrix<'_>, keys: &CellKeys) {
    let _ = writeln!(out, "<h2 id=\"tree\">Organization tree</h2>");
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
    out.push_str("<table class=\"m\" id=\"grid\"><caption>Status of each target per profile and source Region; a cell links to its problem (see the cell key below). Identical rows and subtrees are shown once; a button opens or closes a subtree.</caption>\n<thead><tr><th scope=\"col\" class=\"name\">Target</th>");
    for (column, abbreviation) in matrix.columns.iter().zip(&abbreviations) {
        let _ = write!(
            out,
            "<th scope=\"col\" data-p=\"{}\" data-r=\"{}\" title=\"{0} @ {1}\"><code>{}</code> {1}</th>",
            escape(column.profile_id),
            escape(column.source_region),
            escape(abbreviation),
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let tree = Tree::of(matrix);
    let mut context = Context {
        matrix,
        tree: &tree,
        keys,
        open_depth: OPEN_DEPTH,
    };
    if context.shown(&tree.tops) > OPEN_ROWS {
        context.open_depth = OPEN_DEPTH - 1;
    }
    context.groups(out, &tree.tops, false);
    out.push_str("</tbody></table>\n</div>\n");
    keys.legend(out);
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
    if !legend.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"legend\">Profiles: {}.</p>",
            legend.join("; ")
        );
    }
}

/// The kinds of cell the matrix has: a status with the problems behind it (or, in a report
/// without problems, the finding entry it links to). Cells carry only a short class (`k3`,
/// none when the cell is like most of its row); the glyph and the words a screen reader says
/// come from one generated CSS rule per kind, the links from the cell key list. This keeps a
/// 10,000-account page to a few MB.
struct CellKeys {
    /// (status, link targets) per kind; `None` status is a cell without a finding.
    kinds: Vec<(Option<Status>, Vec<String>)>,
    /// Whether the links are problem ids (else finding entries, `f-N`).
    by_problem: bool,
    /// The kind of each (row, column).
    cells: Vec<Vec<usize>>,
}

impl CellKeys {
    fn of(matrix: &Matrix<'_>, by_problem: bool) -> CellKeys {
        // Hashed, and a key cloned only when it is new: this runs once per cell.
        let mut index: FxHashMap<(Option<Status>, Vec<String>), usize> = FxHashMap::default();
        let mut kinds = Vec::new();
        // Non-reachable findings without problems link to their entry in the finding list
        // (`f-N`, in the order of [`Matrix::problems`]).
        let loose: FxHashMap<*const Finding, usize> = matrix
            .problems()
            .into_iter()
            .enumerate()
            .map(|(i, f)| (std::ptr::from_ref(f), i))
            .collect();
        let mut cells = Vec::with_capacity(matrix.rows.len());
        for row in 0..matrix.rows.len() {
            let mut kinds_of_row = Vec::with_capacity(matrix.columns.len());
            for column in 0..matrix.columns.len() {
                let key = match matrix.cell(row, column) {
                    None => (None, Vec::new()),
                    Some(f) if f.status == Status::Reachable => (Some(f.status), Vec::new()),
                    Some(f) if f.problem_ids.is_empty() => (
                        Some(f.status),
                        loose
                            .get(&std::ptr::from_ref(f))
                            .map(|i| vec![format!("f-{i}")])
                            .unwrap_or_default(),
                    ),
                    Some(f) => (Some(f.status), f.problem_ids.clone()),
                };
                let kind = match index.get(&key) {
                    Some(&kind) => kind,
                    None => {
                        let next = kinds.len();
                        index.insert(key.clone(), next);
                        kinds.push(key);
                        next
                    }
                };
                kinds_of_row.push(kind);
            }
            cells.push(kinds_of_row);
        }
        CellKeys {
            kinds,
            by_problem,
            cells,
        }
    }

    /// One rule per kind setting its glyph with the words a screen reader says (`--g`) and its
    /// colour (`--c`); a class-less cell inherits them from its row, whose class is the row's
    /// usual kind. One rule in the page's style then draws every cell.
    fn style(&self) -> String {
        let mut out = String::from("<style>");
        for (k, (status, links)) in self.kinds.iter().enumerate() {
            let (glyph, words, colour) = match status {
                None => ("·", "not in report".to_string(), "#afb8c1"),
                Some(status) => {
                    let mut words = status.as_str().to_string();
                    if !links.is_empty() {
                        let _ = write!(
                            words,
                            ": {} {}",
                            match (self.by_problem, links.len()) {
                                (true, 1) => "problem",
                                (true, _) => "problems",
                                (false, _) => "finding",
                            },
                            links.join(", ")
                        );
                    }
                    (symbol(*status), words, status_colour(*status))
                }
            };
            let _ = write!(
                out,
                ".k{k}{{--g:{} / {};--c:{colour}}}",
                css_string(glyph),
                css_string(&words)
            );
        }
        out.push_str("</style>\n");
        out
    }

    /// The cell key: each kind with the problems it links to (what a click on a cell opens).
    fn legend(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "<details class=\"cellkey\" id=\"cellkey\"><summary>Cell key ({} kinds of cell; a cell opens its problem, or its entry here when it has several)</summary><ul>",
            self.kinds.len()
        );
        for (k, (status, links)) in self.kinds.iter().enumerate() {
            let _ = write!(
                out,
                "<li id=\"k{k}\"><span class=\"glyph k{k}\" aria-hidden=\"true\"></span> "
            );
            match status {
                None => out.push_str("not in report"),
                Some(status) => {
                    out.push_str(status.as_str());
                    for link in links {
                        let _ = write!(out, " <a href=\"#{0}\">{0}</a>", escape(link));
                    }
                }
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul></details>\n");
    }

    fn kind(&self, row: usize, column: usize) -> usize {
        self.cells
            .get(row)
            .and_then(|r| r.get(column))
            .copied()
            .unwrap_or(0)
    }

    /// The kind most cells of the row have (ties: the lowest).
    fn usual(&self, row: usize) -> usize {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for &k in self.cells.get(row).map(Vec::as_slice).unwrap_or(&[]) {
            *counts.entry(k).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map_or(0, |(k, _)| k)
    }
}

fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Reachable => "var(--ok)",
        Status::Blocked => "var(--bad)",
        Status::Conditional => "var(--cond)",
        Status::Unknown => "var(--unk)",
    }
}

/// A quoted CSS string that cannot end the string or the `<style>` element.
fn css_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' | '<' | '>' | '&' => {
                let _ = write!(out, "\\{:x} ", u32::from(c));
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Context<'m, 'a> {
    matrix: &'m Matrix<'a>,
    tree: &'m Tree,
    keys: &'m CellKeys,
    /// Subtrees at this depth and below start closed.
    open_depth: usize,
}

impl Context<'_, '_> {
    /// How many rows [`Self::groups`] shows before anything is opened or closed.
    fn shown(&self, groups: &[Vec<usize>]) -> usize {
        groups
            .iter()
            .filter_map(|g| g.first())
            .map(|&r| {
                let open = self
                    .matrix
                    .rows
                    .get(r)
                    .is_some_and(|row| row.depth < self.open_depth);
                let kids = self.tree.kids.get(r).map(Vec::as_slice).unwrap_or(&[]);
                1 + if open { self.shown(kids) } else { 0 }
            })
            .sum()
    }

    /// Sibling groups: leaf rows first, then each subtree (its row, then its children).
    /// Everything below a closed subtree starts `hidden`.
    fn groups(&self, out: &mut String, groups: &[Vec<usize>], hidden: bool) {
        let (leaves, subtrees): (Vec<&Vec<usize>>, Vec<&Vec<usize>>) =
            groups.iter().partition(|g| {
                g.first()
                    .is_some_and(|&r| self.tree.leaf.get(r).copied().unwrap_or(true))
            });
        for group in leaves {
            self.row(out, group, hidden, None);
        }
        for group in subtrees {
            let Some(row) = group.first().and_then(|&r| self.matrix.rows.get(r)) else {
                continue;
            };
            let open = row.depth < self.open_depth;
            self.row(out, group, hidden, Some(open));
            let kids = group
                .first()
                .and_then(|&r| self.tree.kids.get(r))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            self.groups(out, kids, hidden || !open);
        }
    }

    /// One row for a group of identical rows; `toggle` is `Some(open)` for a subtree's own row.
    fn row(&self, out: &mut String, group: &[usize], hidden: bool, toggle: Option<bool>) {
        let Some(&first) = group.first() else {
            return;
        };
        let Some(row) = self.matrix.rows.get(first) else {
            return;
        };
        let columns = self.matrix.columns.len();
        let statuses: BTreeSet<&str> = (0..columns)
            .filter_map(|c| self.matrix.cell(first, c))
            .map(|f| f.status.as_str())
            .collect();
        let kind = match row.kind {
            TargetKind::Root => "root",
            TargetKind::OrganizationalUnit => "OU",
            TargetKind::Account => "account",
        };
        let depth = if toggle.is_some() {
            row.depth
        } else {
            row.depth.max(1)
        };
        let usual = self.keys.usual(first);
        let _ = write!(
            out,
            "<tr data-s=\"{}\" data-d=\"{depth}\" class=\"k{usual}\"{}><th scope=\"row\" class=\"name\" style=\"padding-left:{}rem\" title=\"{}\"><span class=\"kind\">{kind}</span>",
            statuses.into_iter().collect::<Vec<_>>().join(" "),
            if hidden { " hidden" } else { "" },
            indent(depth),
            escape(row.path)
        );
        match toggle {
            Some(open) => {
                let _ = write!(
                    out,
                    "<button type=\"button\" class=\"tog\" aria-expanded=\"{open}\">{}</button><span class=\"id\">{}</span>",
                    escape(row.name),
                    escape(row.target_id)
                );
                let worst = self
                    .tree
                    .worst
                    .get(first)
                    .copied()
                    .unwrap_or(Status::Reachable);
                let _ = write!(
                    out,
                    " <span class=\"badge {0} inline\">{1} worst: {0}</span>",
                    worst.as_str(),
                    symbol(worst)
                );
                if group.len() > 1 {
                    self.names(
                        out,
                        &group[1..],
                        &format!("and {} more with the same results", group.len() - 1),
                    );
                }
            }
            None if group.len() == 1 => {
                let _ = write!(
                    out,
                    "{}<span class=\"id\">{}</span>",
                    escape(row.name),
                    escape(row.target_id)
                );
            }
            None => {
                let _ = write!(out, "{} {kind}s with the same results", group.len());
                self.names(out, group, "names");
            }
        }
        out.push_str("</th>");
        for c in 0..columns {
            let k = self.keys.kind(first, c);
            if k == usual {
                out.push_str("<td>");
            } else {
                let _ = write!(out, "<td class=\"k{k}\">");
            }
        }
        out.push_str("</tr>\n");
    }

    /// The names of a group's rows, in a closed `<details>`.
    fn names(&self, out: &mut String, rows: &[usize], label: &str) {
        let _ = write!(
            out,
            "<details class=\"names\"><summary>{label}</summary><ul>"
        );
        for &r in rows {
            if let Some(row) = self.matrix.rows.get(r) {
                let _ = write!(
                    out,
                    "<li>{} <span class=\"id\">{}</span></li>",
                    escape(row.name),
                    escape(row.target_id)
                );
            }
        }
        out.push_str("</ul></details>");
    }
}

fn indent(depth: usize) -> f32 {
    depth.saturating_sub(1) as f32 * 1.25 + if depth > 0 { 0.4 } else { 0.0 }
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

/// Without problems (a report from before the problem layer): one entry per finding.
fn finding_problems_section(out: &mut String, problems: &[&Finding]) {
    if problems.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Problems ({})</h2>", problems.len());
    for (i, finding) in problems.iter().enumerate() {
        let status = finding.status.as_str();
        let _ = write!(
            out,
            "<details class=\"problem {status}\" id=\"f-{i}\"><summary><span class=\"badge {status}\" style=\"display:inline-block\">{} {status}</span> <b>{}</b> <code>{}</code> from <code>{}</code></summary><div>",
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
