//! The layout and phrases every renderer shares: the target × profile [`Matrix`], profile-id
//! abbreviation, status symbols, and the blocker, condition, proposal-kind and verification
//! sentences, so every format orders and words things the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::findings::{
    Blocker, BlockerKind, Condition, Finding, Proposal, ProposalKind, Report, Status, TargetKind,
};

/// The longest abbreviated profile id; longer ones are cut with `…`.
const MAX_ABBREVIATION: usize = 28;

/// One column of the matrix: a profile called from a source Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column<'a> {
    pub(crate) profile_id: &'a str,
    pub(crate) source_region: &'a str,
}

/// One row of the matrix: a target, in tree order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row<'a> {
    pub(crate) target_id: &'a str,
    pub(crate) kind: TargetKind,
    pub(crate) path: &'a str,
    /// The path below the parent row (normally the last segment; more when a name contains
    /// `/` or a level in between is not in the report). Top-level rows are named below the root.
    pub(crate) name: &'a str,
    /// Levels above the target (`Root` is 0, `Root/Sandbox` is 1).
    pub(crate) depth: usize,
    /// The nearest row whose path is a prefix of this one's.
    pub(crate) parent: Option<usize>,
}

/// The findings arranged as targets × (profile, source Region), in a deterministic order:
/// targets in tree order (by path segments), columns by profile id then Region.
#[derive(Debug)]
pub(crate) struct Matrix<'a> {
    pub(crate) columns: Vec<Column<'a>>,
    pub(crate) rows: Vec<Row<'a>>,
    /// The first finding of each (row, column), at `row * columns.len() + column`: a dense
    /// table, since renderers look up every cell of a 10,000-account matrix several times.
    cells: Vec<Option<&'a Finding>>,
    /// Every finding with its (row, column), in matrix order (stable for duplicates).
    placed: Vec<(usize, usize, &'a Finding)>,
}

impl<'a> Matrix<'a> {
    pub(crate) fn of(report: &'a Report) -> Matrix<'a> {
        // Hashed, not ordered, lookups: a 10,000-account report has hundreds of thousands of
        // findings, and comparing their strings in a B-tree was most of the layout's time.
        let mut column_keys: Vec<(&str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.profile_id.as_str(), f.source_region.as_str()))
            .collect::<FxHashSet<_>>()
            .into_iter()
            .collect();
        column_keys.sort_unstable();
        let columns: Vec<Column<'a>> = column_keys
            .iter()
            .map(|&(profile_id, source_region)| Column {
                profile_id,
                source_region,
            })
            .collect();
        let column_index: FxHashMap<(&str, &str), usize> = column_keys
            .iter()
            .enumerate()
            .map(|(i, &key)| (key, i))
            .collect();

        // Rows: one per target id (its first finding), sorted by path segments, then kind,
        // then id (unique, so the order is total).
        let mut targets: FxHashMap<&str, &Finding> = FxHashMap::default();
        for finding in &report.findings {
            targets.entry(finding.target_id.as_str()).or_insert(finding);
        }
        let mut rows: Vec<Row<'a>> = targets
            .values()
            .map(|f| Row {
                target_id: &f.target_id,
                kind: f.target_kind,
                path: &f.target_path,
                name: &f.target_path,
                depth: 0,
                parent: None,
            })
            .collect();
        // Case-insensitive by segment (then exact, so the order stays total); the lowercased
        // segments are made once per row, not per comparison.
        rows.sort_by_cached_key(|row| {
            let segments: Vec<(String, &'a str)> =
                row.path.split('/').map(|s| (s.to_lowercase(), s)).collect();
            (segments, kind_rank(row.kind), row.target_id)
        });
        // Sorted by segments, every subtree directly follows its top: a row's parent is the
        // row before it or one of that row's ancestors. Paths are compared as strings, so a
        // name containing `/` still nests under the right parent.
        for i in 0..rows.len() {
            let path = rows[i].path;
            let mut candidate = i.checked_sub(1);
            while let Some(c) = candidate {
                if path
                    .strip_prefix(rows[c].path)
                    .is_some_and(|rest| rest.starts_with('/'))
                {
                    break;
                }
                candidate = rows[c].parent;
            }
            let (name, depth) = match candidate {
                Some(c) => (
                    path.get(rows[c].path.len() + 1..).unwrap_or(path),
                    rows[c].depth + 1,
                ),
                None => match path.split_once('/') {
                    Some((_, below_root)) => (below_root, 1),
                    None => (path, 0),
                },
            };
            rows[i].parent = candidate;
            rows[i].name = name;
            rows[i].depth = depth;
        }
        let row_index: FxHashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.target_id, i))
            .collect();

        let mut placed = Vec::with_capacity(report.findings.len());
        let mut cells = vec![None; rows.len() * columns.len()];
        for finding in &report.findings {
            let row = row_index.get(finding.target_id.as_str()).copied();
            let column = column_index
                .get(&(finding.profile_id.as_str(), finding.source_region.as_str()))
                .copied();
            if let (Some(row), Some(column)) = (row, column) {
                if let Some(cell @ None) = cells.get_mut(row * columns.len() + column) {
                    *cell = Some(finding);
                }
                placed.push((row, column, finding));
            }
        }
        placed.sort_by_key(|&(row, column, _)| (row, column));
        Matrix {
            columns,
            rows,
            cells,
            placed,
        }
    }

    pub(crate) fn cell(&self, row: usize, column: usize) -> Option<&'a Finding> {
        if column >= self.columns.len() {
            return None;
        }
        self.cells
            .get(row * self.columns.len() + column)
            .copied()
            .flatten()
    }

    /// Every non-reachable finding, in matrix order.
    pub(crate) fn problems(&self) -> Vec<&'a Finding> {
        self.placed
            .iter()
            .map(|&(_, _, f)| f)
            .filter(|f| f.status != Status::Reachable)
            .collect()
    }

    /// A short, unique label for each column's profile id (see [`abbreviate`]).
    pub(crate) fn abbreviations(&self) -> Vec<String> {
        let profiles: BTreeSet<&str> = self.columns.iter().map(|c| c.profile_id).collect();
        let labels = unique_abbreviations(&profiles);
        self.columns
            .iter()
            .map(|c| {
                labels
                    .get(c.profile_id)
                    .cloned()
                    .unwrap_or_else(|| c.profile_id.to_string())
            })
            .collect()
    }
}

/// Rows and subtrees that look the same, rendered once (HTML and text): sibling nodes whose kind, cells and
/// children (recursively) are identical form one group.
pub(crate) struct Tree {
    /// Children of each row, as groups of rows with the same shape, in row order.
    pub(crate) kids: Vec<Vec<Vec<usize>>>,
    /// Top-level rows, grouped the same way.
    pub(crate) tops: Vec<Vec<usize>>,
    /// The worst status in each row's subtree.
    pub(crate) worst: Vec<Status>,
    pub(crate) leaf: Vec<bool>,
}

impl Tree {
    pub(crate) fn of(matrix: &Matrix<'_>) -> Tree {
        let n = matrix.rows.len();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut top: Vec<usize> = Vec::new();
        for (i, row) in matrix.rows.iter().enumerate() {
            match row.parent.and_then(|p| children.get_mut(p)) {
                Some(list) => list.push(i),
                None => top.push(i),
            }
        }
        // Shapes are interned bottom-up; rows come parents first, so walk backwards.
        let mut shapes: FxHashMap<(u8, String, Vec<usize>), usize> = FxHashMap::default();
        let mut shape = vec![0usize; n];
        let mut worst = vec![Status::Reachable; n];
        for i in (0..n).rev() {
            let mut cells = String::new();
            let mut w = Status::Reachable;
            for c in 0..matrix.columns.len() {
                match matrix.cell(i, c) {
                    Some(f) => {
                        let _ = write!(cells, "{}:{};", f.status.as_str(), f.problem_ids.join(","));
                        if f.problem_ids.is_empty() && f.status != Status::Reachable {
                            // Without problems a cell carries its own blockers: never merge.
                            let _ = write!(cells, "#{i}");
                        }
                        w = worse(w, f.status);
                    }
                    None => cells.push_str("-;"),
                }
            }
            let mut kid_shapes: Vec<usize> = Vec::new();
            for &k in children.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                kid_shapes.push(shape.get(k).copied().unwrap_or(0));
                w = worse(w, worst.get(k).copied().unwrap_or(Status::Reachable));
            }
            kid_shapes.sort_unstable();
            let kind = matrix.rows.get(i).map_or(0, |r| r.kind as u8);
            let next = shapes.len();
            let id = *shapes.entry((kind, cells, kid_shapes)).or_insert(next);
            if let Some(slot) = shape.get_mut(i) {
                *slot = id;
            }
            if let Some(slot) = worst.get_mut(i) {
                *slot = w;
            }
        }
        let group = |rows: &[usize]| {
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut index: FxHashMap<usize, usize> = FxHashMap::default();
            for &r in rows {
                let key = shape.get(r).copied().unwrap_or(0);
                match index.get(&key) {
                    Some(&g) => {
                        if let Some(list) = groups.get_mut(g) {
                            list.push(r);
                        }
                    }
                    None => {
                        index.insert(key, groups.len());
                        groups.push(vec![r]);
                    }
                }
            }
            groups
        };
        Tree {
            kids: children.iter().map(|c| group(c)).collect(),
            tops: group(&top),
            worst,
            leaf: children.iter().map(Vec::is_empty).collect(),
        }
    }
}

fn worse(a: Status, b: Status) -> Status {
    if b.severity() > a.severity() { b } else { a }
}

fn kind_rank(kind: TargetKind) -> u8 {
    match kind {
        TargetKind::Root => 0,
        TargetKind::OrganizationalUnit => 1,
        TargetKind::Account => 2,
    }
}

/// Abbreviations that tell every profile apart: the short form where it is unambiguous,
/// else the id without the vendor, else the full id.
fn unique_abbreviations<'a>(profiles: &BTreeSet<&'a str>) -> BTreeMap<&'a str, String> {
    let mut labels: BTreeMap<&str, String> = profiles.iter().map(|&p| (p, abbreviate(p))).collect();
    for fallback in [without_vendor as fn(&str) -> String, |p: &str| {
        p.to_string()
    }] {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for label in labels.values() {
            *counts.entry(label.clone()).or_default() += 1;
        }
        for (profile, label) in labels.iter_mut() {
            if counts.get(label.as_str()).copied().unwrap_or(0) > 1 {
                *label = fallback(profile);
            }
        }
    }
    labels
}

/// Splits `us.anthropic.claude-3-5-sonnet-20241022-v2:0` into the routing prefix (`us`), the
/// vendor (`anthropic`) and the model (`claude-3-5-sonnet-20241022-v2:0`). Ids that are not
/// shaped like that (application profile ids, ARNs) give `(None, None, last path segment)`.
fn split_profile(id: &str) -> (Option<&str>, Option<&str>, &str) {
    let base = id.rsplit('/').next().unwrap_or(id);
    let mut parts = base.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(prefix), Some(vendor), Some(model)) => (Some(prefix), Some(vendor), model),
        (Some(vendor), Some(model), None) => (None, Some(vendor), model),
        _ => (None, None, base),
    }
}

fn join_prefix(prefix: Option<&str>, model: &str) -> String {
    match prefix {
        Some(prefix) => format!("{prefix}.{model}"),
        None => model.to_string(),
    }
}

fn without_vendor(id: &str) -> String {
    match split_profile(id) {
        (prefix, Some(_), model) => join_prefix(prefix, model),
        _ => id.to_string(),
    }
}

/// A short label for a profile id that keeps the routing prefix and the model family:
/// `us.anthropic.claude-3-5-sonnet-20241022-v2:0` → `us.claude-3-5-sonnet`. The vendor is
/// kept when the model name alone is too short to recognise (`us.deepseek.r1-v1:0` →
/// `us.deepseek.r1`).
pub(crate) fn abbreviate(id: &str) -> String {
    let (prefix, vendor, model) = split_profile(id);
    let mut family = model;
    if let Some((head, tail)) = family.rsplit_once(':')
        && !tail.is_empty()
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        family = head;
    }
    if let Some((head, tail)) = family.rsplit_once("-v")
        && !tail.is_empty()
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        family = head;
    }
    if let Some((head, tail)) = family.rsplit_once('-')
        && tail.len() == 8
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        family = head;
    }
    if family.is_empty() {
        family = model;
    }
    let short = match vendor {
        Some(vendor) if family.chars().count() < 4 => {
            join_prefix(prefix, &format!("{vendor}.{family}"))
        }
        _ => join_prefix(prefix, family),
    };
    truncate(&short, MAX_ABBREVIATION)
}

/// The status symbol: reachable ✓, blocked ✗, conditional ~, unknown ?.
pub(crate) fn symbol(status: Status) -> &'static str {
    match status {
        Status::Reachable => "✓",
        Status::Blocked => "✗",
        Status::Conditional => "~",
        Status::Unknown => "?",
    }
}

/// Human words for a proposal kind.
pub(crate) fn kind_words(kind: ProposalKind) -> &'static str {
    match kind {
        ProposalKind::PatchScp => "patch SCP",
        ProposalKind::NewScp => "new SCP",
        ProposalKind::ControlTowerParameters => "Control Tower parameters",
        ProposalKind::CfctManifest => "CfCT manifest entry",
    }
}

/// `fixes 3 findings; verified: 3 fixed, 0 still blocked, nothing else newly allowed`.
pub(crate) fn verification_words(proposal: &Proposal) -> String {
    let v = &proposal.verification;
    let newly = if v.newly_allowed_outside_profiles.is_empty() {
        "nothing newly allowed outside approved profiles".to_string()
    } else {
        format!(
            "newly allowed outside approved profiles: {}",
            v.newly_allowed_outside_profiles.join(", ")
        )
    };
    let size = proposal
        .size_chars
        .map(|n| format!("; policy size {n} characters"))
        .unwrap_or_default();
    let n = proposal.fixes.len();
    format!(
        "fixes {n} finding{}; verified: {} fixed, {} still blocked, {newly}{size}",
        if n == 1 { "" } else { "s" },
        v.fixed_findings,
        v.still_blocked,
    )
}

/// One sentence per blocker, identical sentences merged (the same denial often hits the
/// profile and the model in one Region) and counted.
///
/// `code` formats identifiers (Regions, actions, ids), `text` formats names; both also do the
/// escaping of the output format.
pub(crate) fn blocker_lines(
    blockers: &[Blocker],
    code: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let mut lines: Vec<(String, usize)> = Vec::new();
    for blocker in blockers {
        let line = blocker_line(blocker, code, text);
        match lines.iter_mut().find(|(l, _)| *l == line) {
            Some((_, count)) => *count += 1,
            None => lines.push((line, 1)),
        }
    }
    lines
        .into_iter()
        .map(|(line, count)| {
            if count > 1 {
                format!("{line} ({count} requests)")
            } else {
                line
            }
        })
        .collect()
}

/// `us-east-2 bedrock:InvokeModel denied by aws-guardrails-AbCdEf (p-abcd1234) Sid GRREGIONDENY #0 attached to ou-…`
pub(crate) fn blocker_line(
    blocker: &Blocker,
    code: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> String {
    let head = format!("{} {}", code(&blocker.region), code(&blocker.action));
    let attached = blocker.attached_to.as_deref().map(code);
    match blocker.kind {
        BlockerKind::ExplicitDeny => {
            let policy = match (&blocker.policy_name, &blocker.policy_id) {
                (Some(name), Some(id)) => format!("{} ({})", text(name), code(id)),
                (Some(name), None) => text(name),
                (None, Some(id)) => code(id),
                (None, None) => "an SCP".to_string(),
            };
            let mut line = format!("{head} denied by {policy}");
            if let Some(sid) = &blocker.sid {
                let _ = write!(line, " Sid {}", code(sid));
            }
            if let Some(index) = blocker.statement_index {
                let _ = write!(line, " #{index}");
            }
            if let Some(attached) = attached {
                let _ = write!(line, " attached to {attached}");
            }
            line
        }
        BlockerKind::NoAllow => match attached {
            Some(attached) => {
                format!("{head} not allowed: no SCP attached to {attached} allows it")
            }
            None => {
                format!("{head} not allowed: a level of the hierarchy has no SCP that allows it")
            }
        },
        BlockerKind::AccountNotActive => match attached {
            Some(attached) => format!("{head} impossible: account {attached} is not ACTIVE"),
            None => format!("{head} impossible: the account is not ACTIVE"),
        },
    }
}

/// `reachable only if aws:PrincipalARN ArnLike arn:aws:iam::*:role/X (from p-1/Sid)`.
pub(crate) fn condition_line(
    condition: &Condition,
    code: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> String {
    let effect = match (condition.effect.as_str(), condition.group) {
        ("reachableOnlyIf", _) => "reachable only if".to_string(),
        ("reachableIfAnyOf", Some(group)) => format!("reachable if any of group {group}:"),
        ("reachableIfAnyOf", None) => "reachable if any of:".to_string(),
        (other, _) => text(other),
    };
    let values: Vec<String> = condition.values.iter().map(|v| code(v)).collect();
    let mut line = format!(
        "{effect} {} {} {}",
        code(&condition.key),
        code(&condition.operator),
        values.join(", ")
    );
    if let Some(from) = &condition.from {
        let _ = write!(line, " (from {})", code(from));
    }
    line
}

/// The text with control characters (including ESC) replaced, so data cannot drive the
/// terminal; newlines and tabs become spaces.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Display width, counting one column per character (good enough for names and symbols).
pub(crate) fn width(text: &str) -> usize {
    text.chars().count()
}

/// Cuts the text to `max` characters, ending in `…` when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_keep_prefix_and_family() {
        assert_eq!(
            abbreviate("us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
            "us.claude-3-5-sonnet"
        );
        assert_eq!(
            abbreviate("global.anthropic.claude-sonnet-4-20250514-v1:0"),
            "global.claude-sonnet-4"
        );
        assert_eq!(abbreviate("us.amazon.nova-pro-v1:0"), "us.nova-pro");
        assert_eq!(abbreviate("us.deepseek.r1-v1:0"), "us.deepseek.r1");
        assert_eq!(abbreviate("abcd1234efgh"), "abcd1234efgh");
    }

    #[test]
    fn colliding_abbreviations_fall_back() {
        let profiles: BTreeSet<&str> = [
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "us.amazon.nova-pro-v1:0",
        ]
        .into_iter()
        .collect();
        let labels = unique_abbreviations(&profiles);
        assert_eq!(labels["us.amazon.nova-pro-v1:0"], "us.nova-pro");
        assert_eq!(
            labels["us.anthropic.claude-3-5-sonnet-20240620-v1:0"],
            "us.claude-3-5-sonnet-20240620-v1:0"
        );
    }

    fn finding(id: &str, kind: TargetKind, path: &str, profile: &str, region: &str) -> Finding {
        Finding {
            target_id: id.into(),
            target_kind: kind,
            target_path: path.into(),
            profile_id: profile.into(),
            source_region: region.into(),
            check_kind: Default::default(),
            status: Status::Reachable,
            blockers: Vec::new(),
            conditions: Vec::new(),
            explanation: String::new(),
            problem_ids: Vec::new(),
        }
    }

    /// Rows in tree order by case-insensitive path segments (then kind, then id), columns by
    /// profile then Region, whatever order the findings come in (the layout is hashed).
    #[test]
    fn matrix_orders_rows_and_columns_whatever_the_finding_order() {
        use TargetKind::{Account, OrganizationalUnit as Ou, Root};
        let mut findings = vec![
            finding("r-1", Root, "Root", "us.b", "us-west-2"),
            finding("ou-b", Ou, "Root/beta", "us.b", "us-east-1"),
            finding("ou-g", Ou, "Root/Gamma", "us.b", "us-east-1"),
            finding("ou-a", Ou, "Root/Alpha", "us.a", "us-east-1"),
            finding("111", Account, "Root/Alpha/x", "us.b", "us-west-2"),
            finding("ou-c", Ou, "Root/Alpha/x", "us.a", "us-east-1"),
            finding("ou-d", Ou, "Root/alpha/x", "us.a", "us-east-1"),
            finding("222", Account, "Root/Alpha/x/y", "us.a", "us-east-1"),
        ];
        let expect_rows = ["r-1", "ou-a", "ou-c", "111", "222", "ou-d", "ou-b", "ou-g"];
        let expect_columns = [
            ("us.a", "us-east-1"),
            ("us.b", "us-east-1"),
            ("us.b", "us-west-2"),
        ];
        for _ in 0..findings.len() {
            findings.rotate_left(1);
            let report = Report {
                format_version: 1,
                organization_id: "o-1".into(),
                snapshot_captured_at: String::new(),
                summary: Default::default(),
                expectations: Vec::new(),
                problems: Vec::new(),
                findings: findings.clone(),
                proposals: Vec::new(),
                what_if: None,
                unresolved: Vec::new(),
            };
            let matrix = Matrix::of(&report);
            let rows: Vec<&str> = matrix.rows.iter().map(|r| r.target_id).collect();
            assert_eq!(rows, expect_rows);
            let columns: Vec<(&str, &str)> = matrix
                .columns
                .iter()
                .map(|c| (c.profile_id, c.source_region))
                .collect();
            assert_eq!(columns, expect_columns);
            let names: Vec<(&str, usize)> = matrix.rows.iter().map(|r| (r.name, r.depth)).collect();
            assert_eq!(
                names,
                [
                    ("Root", 0),
                    ("Alpha", 1),
                    ("x", 2),
                    ("x", 2),
                    ("y", 3),
                    ("alpha/x", 1),
                    ("beta", 1),
                    ("Gamma", 1)
                ]
            );
        }
    }

    #[test]
    fn clean_strips_escapes() {
        assert_eq!(clean("a\x1b[31mb\nc"), "a\u{fffd}[31mb c");
    }
}
