//! Cutting an alert too large for one SNS message into parts without rendering it again and
//! again: each run of changes a part carries together (a problem's, the fixed checks, one change
//! outside any problem) is measured once from the pieces it adds to a part, and the runs are
//! packed in order into parts the estimate says fit. `message` renders each part once and
//! halves one that still does not fit, so the estimate decides how fast the parts are found,
//! never whether they fit.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;

use serde_json::Value;

use super::PUBLISH_BUDGET_BYTES;
use super::context::{Context, Detail};
use super::document::{change_entry, changed_checks, check_groups, problem_entry, proposal_entry};
use super::email::{LISTED_CHECKS, Piece, piece_text};
use super::notification::notification;
use super::problems::ChangedProblem;
use super::state::{ChangeKind, FindingChange};
use super::text::MAX_DEFAULT_CHARS;

/// Part numbers at least as long as any alert's, so numbering cannot outgrow the estimate.
pub(super) const PROBE_PART: usize = 99_999;

/// A part with no changes, numbered [`PROBE_PART`] of [`PROBE_PART`], as `message` renders it:
/// what every part takes before its changes. Handed in, so this file does not render.
pub(super) struct EmptyPart<'s> {
    pub publish_bytes: usize,
    pub notification: &'s str,
}

/// Headroom for what the estimate does not add up exactly (separators, list numbers).
const SLACK_BYTES: usize = PUBLISH_BUDGET_BYTES / 50;

/// The changes of an alert in the order parts carry them: by changed problem, worst first (so a
/// problem's changes stay together across parts), then the rest in the alert's order.
pub(super) struct Ordered<'a> {
    pub(super) changes: Vec<&'a FindingChange<'a>>,
    runs: Vec<(RunKind, Range<usize>)>,
}

/// What a run of [`Ordered::changes`] is, which decides how a part renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    /// The changes placed with one changed problem (a change of several problems is placed
    /// with the first): past full detail, only that problem's `changedChecks`.
    Problem,
    /// Checks reachable again outside any problem: grouped in `fixedChecks`.
    Fixed,
    /// One change listed with its finding.
    Listed,
}

pub(super) fn order<'a>(ctx: &Context<'a>, changes: &'a [FindingChange<'a>]) -> Ordered<'a> {
    let mut placed: HashSet<String> = HashSet::new();
    let mut all: Vec<&FindingChange> = Vec::with_capacity(changes.len());
    let mut runs = Vec::new();
    for changed in &ctx.problems {
        let start = all.len();
        for change in &changed.changes {
            if placed.insert(change.key()) {
                all.push(change);
            }
        }
        if all.len() > start {
            runs.push((RunKind::Problem, start..all.len()));
        }
    }
    for change in changes.iter().filter(|c| !placed.contains(&c.key())) {
        let kind = if ctx.by_problem() && change.kind == ChangeKind::Fixed {
            RunKind::Fixed
        } else {
            RunKind::Listed
        };
        match runs.last_mut() {
            Some((RunKind::Fixed, range)) if kind == RunKind::Fixed => range.end += 1,
            _ => runs.push((kind, all.len()..all.len() + 1)),
        }
        all.push(change);
    }
    Ordered { changes: all, runs }
}

/// What a part carries once however many of its runs need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Shared {
    /// A changed problem (index in `Context::problems`): its entry without changed checks in
    /// the JSON, its paragraph in the e-mail.
    Problem(usize),
    /// A proposal (index in `Context::proposals`).
    Proposal(usize),
}

/// A run measured at [`Detail::Grouped`]: `own` bytes in every part that carries some of it,
/// `variable` bytes spread over its changes, and what it needs a part to carry.
struct Run {
    range: Range<usize>,
    own: usize,
    variable: usize,
    shared: Vec<Shared>,
}

impl Run {
    fn per_change(&self) -> usize {
        self.variable.div_ceil(self.range.len().max(1))
    }
}

/// Packs `ordered` greedily, in order, into parts of at most [`PUBLISH_BUDGET_BYTES`] by the
/// estimate. A run that fits a part of its own is not cut: the part before it closes early.
pub(super) fn plan<'a>(
    ctx: &Context<'_>,
    ordered: &Ordered<'a>,
    empty: &EmptyPart<'_>,
) -> Vec<Vec<&'a FindingChange<'a>>> {
    let all = &ordered.changes;
    let detail = Detail::Grouped;
    let capacity = PUBLISH_BUDGET_BYTES
        .saturating_sub(overhead(ctx, all, empty))
        .max(1);
    let problem_bytes: Vec<usize> = ctx
        .problems
        .iter()
        .map(|changed| {
            bare_problem_json(ctx, changed)
                + escaped_len(&piece_text(ctx, Piece::Problem(changed), detail))
        })
        .collect();
    let proposal_bytes: Vec<usize> = ctx
        .proposals
        .iter()
        .map(|p| {
            2 * json_bytes(&proposal_entry(p, &BTreeSet::new(), detail))
                + escaped_len(&piece_text(ctx, Piece::Proposal(p), detail))
        })
        .collect();
    let cost = |shared: &Shared| match *shared {
        Shared::Problem(i) => problem_bytes.get(i).copied().unwrap_or(0),
        Shared::Proposal(i) => proposal_bytes.get(i).copied().unwrap_or(0),
    };
    // The e-mail lists a part's first changed checks, which packing in order knows when it
    // opens the part.
    let first_checks = |start: usize| -> usize {
        if !ctx.by_problem() {
            return 0;
        }
        let listed = &all[start..all.len().min(start + LISTED_CHECKS)];
        listed
            .iter()
            .map(|c| escaped_len(&piece_text(ctx, Piece::Check(c), detail)))
            .sum::<usize>()
            // The line counting the rest.
            + if start + LISTED_CHECKS < all.len() { 100 } else { 0 }
    };
    let index: HashMap<&str, usize> = ctx
        .problems
        .iter()
        .enumerate()
        .map(|(i, p)| (p.problem.id.as_str(), i))
        .collect();
    let runs: Vec<Run> = ordered
        .runs
        .iter()
        .map(|(kind, range)| measure(ctx, &index, *kind, range.clone(), &all[range.clone()]))
        .collect();
    let mut chunks: Vec<Vec<&'a FindingChange<'a>>> = Vec::new();
    let mut current: Vec<&'a FindingChange<'a>> = Vec::new();
    let mut used = first_checks(0);
    let mut carried: BTreeSet<Shared> = BTreeSet::new();
    for run in &runs {
        let mut rest = run.range.clone();
        while !rest.is_empty() {
            let fixed = run.own
                + run
                    .shared
                    .iter()
                    .filter(|s| !carried.contains(s))
                    .map(cost)
                    .sum::<usize>();
            let needed = fixed
                + if rest == run.range {
                    run.variable
                } else {
                    rest.len() * run.per_change()
                };
            let room = capacity.saturating_sub(used);
            let fitting = room.saturating_sub(fixed) / run.per_change().max(1);
            let take = if needed <= room {
                rest.len()
            } else if current.is_empty() {
                // Alone in a part: as many of its changes as fit, at least one.
                fitting.max(1)
            } else if rest == run.range
                && needed <= capacity.saturating_sub(first_checks(rest.start))
            {
                // The whole run in the next part, where it fits.
                0
            } else {
                // Too large for any part: fill this one and go on in the next.
                fitting
            }
            .min(rest.len());
            if take > 0 {
                current.extend(&all[rest.start..rest.start + take]);
                used += fixed + take * run.per_change();
                carried.extend(run.shared.iter().copied());
                rest.start += take;
            }
            if !rest.is_empty() {
                chunks.push(std::mem::take(&mut current));
                used = first_checks(rest.start);
                // A proposal is given in full once, in the first part that needs it (later
                // parts name it); a problem's entry is in every part with its changes.
                carried.retain(|s| matches!(s, Shared::Proposal(_)));
            }
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// What the changed problems' entries without their checks take in a part carrying them all
/// (as a part carrying every change does): a lower bound of the whole alert in one part.
pub(super) fn bare_problems_bytes(ctx: &Context<'_>) -> usize {
    ctx.problems
        .iter()
        .map(|changed| bare_problem_json(ctx, changed))
        .sum()
}

/// A changed problem's entry without its checks, in both JSON renderings.
fn bare_problem_json(ctx: &Context<'_>, changed: &ChangedProblem<'_>) -> usize {
    2 * json_bytes(&problem_entry(ctx, changed, &[], Detail::Grouped))
}

/// What a run adds to a part at [`Detail::Grouped`] besides what it shares: in the JSON
/// (twice, `sqs` and `lambda`) its changed checks, fixed-check groups or listed change, and
/// (without problems) its finding in the e-mail.
fn measure(
    ctx: &Context<'_>,
    index: &HashMap<&str, usize>,
    kind: RunKind,
    range: Range<usize>,
    chunk: &[&FindingChange],
) -> Run {
    let detail = Detail::Grouped;
    let mut shared: Vec<Shared> = ctx
        .proposal_indices_in(chunk)
        .into_iter()
        .map(Shared::Proposal)
        .collect();
    let (own, variable) = match kind {
        RunKind::Problem => {
            let mut variable = 0;
            for changed in ctx.problems_in(chunk) {
                // The entry with the run's checks less the bare entry its part carries once.
                variable += 2 * changed_checks(changed, chunk)
                    .iter()
                    .map(json_bytes)
                    .sum::<usize>();
                shared.extend(
                    index
                        .get(changed.problem.id.as_str())
                        .map(|&i| Shared::Problem(i)),
                );
            }
            (0, variable)
        }
        RunKind::Fixed => (
            0,
            check_groups(chunk)
                .iter()
                .map(|group| 2 * json_bytes(group))
                .sum(),
        ),
        RunKind::Listed => {
            let mut bytes: usize = chunk
                .iter()
                .map(|c| 2 * json_bytes(&change_entry(ctx, c, detail)))
                .sum();
            if !ctx.by_problem() {
                bytes += chunk
                    .iter()
                    .map(|c| escaped_len(&piece_text(ctx, Piece::Finding(c), detail)))
                    .sum::<usize>();
            }
            (bytes, 0)
        }
    };
    Run {
        range,
        own,
        variable,
        shared,
    }
}

/// What every part takes besides its runs, what they share and its first changed checks: a
/// part with no changes, plus what grows with a part's changes up to a bound (the chat
/// notification, the `default` text), plus [`SLACK_BYTES`].
fn overhead(ctx: &Context<'_>, all: &[&FindingChange], empty: &EmptyPart<'_>) -> usize {
    let chat = escaped_len(&notification(ctx, all, PROBE_PART, PROBE_PART).to_string())
        .saturating_sub(escaped_len(empty.notification));
    // A character is at most 4 bytes in UTF-8, and escaping doubles a quote at most.
    let default = 4 * MAX_DEFAULT_CHARS;
    empty.publish_bytes + chat + default + SLACK_BYTES
}

/// What `value` adds to the `Message` as an element of a list in a JSON rendering: escaped
/// once more, as the rendering is itself a string of the message, and a separator.
fn json_bytes(value: &Value) -> usize {
    escaped_len(&value.to_string()) + 1
}

/// The length of `text` as a JSON string, without the quotes.
fn escaped_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(6 * text.len(), |s| s.len() - 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::context::Alert;
    use crate::alert::fixtures::{blocker, finding, problem, proposal, report};
    use crate::alert::message::{given_before, planned_parts, render};
    use crate::alert::state::{FindingState, StateView, diff, fingerprint};
    use crate::alert::trigger::Trigger;
    use crate::findings::{Finding, Proposal, Report, Status, TargetKind};

    /// An alert's shape: `problems` changed problems behind `targets` accounts each, every
    /// account with `profiles` changed profiles from `regions` source Regions (`distinct`: each
    /// account a different profile, so no two accounts group together), `fixed` checks
    /// reachable again, `outside` changed checks outside any problem (long explanations),
    /// and a proposal per problem.
    struct Shape {
        name: &'static str,
        problems: usize,
        targets: usize,
        profiles: usize,
        regions: usize,
        distinct: bool,
        fixed: usize,
        outside: usize,
        proposals: bool,
    }

    /// The report of `shape` (its `fixed` checks reachable again) and its proposals; its
    /// changes are [`changes_of`] it.
    fn alert_of(shape: &Shape) -> (Report, Vec<Proposal>) {
        let mut findings = Vec::new();
        let mut problems = Vec::new();
        for p in 0..shape.problems {
            let mut group: Vec<Finding> = Vec::new();
            for t in 0..shape.targets {
                for profile in 0..shape.profiles {
                    for region in 0..shape.regions {
                        let mut f = finding(
                            &format!("{:012}", p * 100_000 + t),
                            Status::Blocked,
                            vec![blocker("us-east-2", "bedrock:InvokeModel")],
                        );
                        f.target_kind = TargetKind::Account;
                        let profile = if shape.distinct {
                            t * shape.profiles + profile
                        } else {
                            profile
                        };
                        f.profile_id = format!("us.anthropic.model-{profile}-v1:0");
                        f.source_region = format!("us-west-{region}");
                        group.push(f);
                    }
                }
            }
            let mut pb = problem(&format!("pb-{p:08x}"), &mut group);
            pb.explanation = format!("{} {p}", "Routed to a denied Region.".repeat(20));
            problems.push(pb);
            findings.extend(group);
        }
        for i in 0..shape.fixed + shape.outside {
            let mut f = finding(&format!("ou-ab12-{i:08}"), Status::Blocked, vec![]);
            f.explanation = "x".repeat(300);
            if i < shape.fixed {
                f.status = Status::Reachable;
            }
            findings.push(f);
        }
        let mut r = report("2026-11-29T00:00:00Z", findings);
        r.problems = problems;
        let proposals = if shape.proposals {
            (0..shape.problems)
                .map(|p| proposal(&format!("prop-{p}"), Vec::new(), &format!("pb-{p:08x}")))
                .collect()
        } else {
            Vec::new()
        };
        (r, proposals)
    }

    /// The changes of an [`alert_of`] report: its checks reachable again are fixed, stored as
    /// blocked, placed where the diff places blocked ones (by key, before the `outside` ones).
    fn changes_of<'r>(shape: &Shape, r: &'r Report) -> Vec<FindingChange<'r>> {
        let mut changes = diff(&StateView::new(), r);
        let mut fixed: Vec<FindingChange<'r>> = r
            .findings
            .iter()
            .filter(|f| f.status == Status::Reachable)
            .map(|f| {
                let blocked = Finding {
                    status: Status::Blocked,
                    ..f.clone()
                };
                let stored = FindingState {
                    fingerprint: fingerprint(&blocked),
                    status: Status::Blocked,
                    snapshot_captured_at: r.snapshot_captured_at.clone(),
                };
                FindingChange {
                    kind: ChangeKind::Fixed,
                    finding: f,
                    previous: Some(stored.clone()),
                    next: FindingState {
                        status: Status::Reachable,
                        ..stored
                    },
                }
            })
            .collect();
        fixed.sort_by_key(FindingChange::key);
        let at = changes.len() - shape.outside;
        changes.splice(at..at, fixed);
        changes
    }

    const SHAPES: &[Shape] = &[
        Shape {
            name: "a first sweep: many problems of many grouped checks",
            problems: 120,
            targets: 30,
            profiles: 4,
            regions: 2,
            distinct: false,
            fixed: 0,
            outside: 0,
            proposals: false,
        },
        Shape {
            name: "one problem larger than a part",
            problems: 1,
            targets: 1_500,
            profiles: 1,
            regions: 1,
            distinct: true,
            fixed: 0,
            outside: 0,
            proposals: false,
        },
        Shape {
            name: "problems with proposals, fixed checks and checks outside any problem",
            problems: 60,
            targets: 40,
            profiles: 2,
            regions: 2,
            distinct: true,
            fixed: 1_000,
            outside: 100,
            proposals: true,
        },
        Shape {
            name: "a report without problems",
            problems: 0,
            targets: 0,
            profiles: 0,
            regions: 0,
            distinct: false,
            fixed: 0,
            outside: 600,
            proposals: false,
        },
    ];

    /// Regression: five Control Tower proposals of about 10 KB each (their `apply` names every
    /// OU), each fixing every problem, were repeated in every part, which left room for one
    /// change per part: a first sweep of a generated 5,000-account organization came out as
    /// 4,226 parts. Each proposal is now given in full once, in the first part that needs it,
    /// and named in later parts (`proposalsInEarlierParts`).
    #[test]
    fn large_proposals_shared_by_every_problem_are_given_once() {
        let shape = &SHAPES[0];
        let (r, _) = alert_of(shape);
        let changes = changes_of(shape, &r);
        let problem_ids: Vec<String> = r.problems.iter().map(|p| p.id.clone()).collect();
        let proposals: Vec<Proposal> = (0..5)
            .map(|i| {
                let mut p = proposal(&format!("prop-{i}"), Vec::new(), "pb-0");
                p.fixes_problems = problem_ids.clone();
                p.apply = "aws controltower enable-control --target-identifier ou-x\n".repeat(150);
                p.summary = "Option 1 of the AWS blog. ".repeat(80);
                p
            })
            .collect();
        let trigger = Trigger::schedule();
        let msgs = crate::alert::messages(&Alert::new(&changes, &r, &trigger, &proposals));
        assert!(msgs.len() > 1, "{} parts", msgs.len());
        // Without the proposals the same alert takes about as many parts.
        let bare = crate::alert::messages(&Alert::new(&changes, &r, &trigger, &[]));
        assert!(
            msgs.len() <= bare.len() + 2,
            "{} parts with the proposals, {} without",
            msgs.len(),
            bare.len()
        );
        let mut given: Vec<String> = Vec::new();
        for m in &msgs {
            assert!(m.publish_bytes() <= PUBLISH_BUDGET_BYTES);
            let json: Value = serde_json::from_str(&m.json).expect("the JSON rendering parses");
            for p in json["proposals"].as_array().into_iter().flatten() {
                given.push(p["id"].as_str().unwrap_or_default().to_string());
            }
            for id in json["proposalsInEarlierParts"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert!(
                    given.iter().any(|g| Some(g.as_str()) == id.as_str()),
                    "{id}"
                );
            }
        }
        given.sort();
        assert_eq!(given, ["prop-0", "prop-1", "prop-2", "prop-3", "prop-4"]);
    }

    /// The packer's own promises, before any part is rendered: every change once and in order,
    /// every part within the budget as rendered (a packer that overfills fails here, not only
    /// the halving behind it), parts well filled, and a problem that fits a part not cut.
    #[test]
    fn planned_parts_fit_hold_every_change_once_and_keep_problems_together() {
        for shape in SHAPES {
            let (r, proposals) = alert_of(shape);
            let changes = changes_of(shape, &r);
            let trigger = Trigger::schedule();
            let ctx = Context::new(&Alert::new(&changes, &r, &trigger, &proposals));
            let ordered = order(&ctx, &changes);
            let chunks = planned_parts(&ctx, &ordered);
            let name = shape.name;
            let parts = chunks.len();
            assert!(parts > 1, "{name}: {parts} parts");
            let planned: Vec<&FindingChange> = chunks.concat();
            assert_eq!(planned.len(), changes.len(), "{name}");
            assert!(
                planned
                    .iter()
                    .zip(&ordered.changes)
                    .all(|(a, b)| std::ptr::eq(*a, *b)),
                "{name}: the parts reorder the changes"
            );
            let earlier = given_before(&ctx, &chunks);
            let sizes: Vec<usize> = chunks
                .iter()
                .zip(&earlier)
                .enumerate()
                .map(|(i, (chunk, earlier))| {
                    render(&ctx, chunk, i + 1, parts, Detail::Grouped, earlier).publish_bytes()
                })
                .collect();
            for (i, size) in sizes.iter().enumerate() {
                assert!(
                    *size <= PUBLISH_BUDGET_BYTES,
                    "{name}: part {} of {parts} is {size} bytes",
                    i + 1
                );
                assert!(
                    i + 1 == parts || *size > PUBLISH_BUDGET_BYTES * 3 / 4,
                    "{name}: part {} of {parts} is only {size} bytes: {sizes:?}",
                    i + 1
                );
            }
            let part_of = |change: &FindingChange| {
                chunks
                    .iter()
                    .position(|chunk| chunk.iter().any(|c| std::ptr::eq(*c, change)))
            };
            for changed in &ctx.problems {
                let alone = render(
                    &ctx,
                    &changed.changes,
                    1,
                    1,
                    Detail::Grouped,
                    &BTreeSet::new(),
                );
                let holding: BTreeSet<Option<usize>> =
                    changed.changes.iter().map(|c| part_of(c)).collect();
                if alone.publish_bytes() <= PUBLISH_BUDGET_BYTES / 2 {
                    assert_eq!(holding.len(), 1, "{name}: {} is cut", changed.problem.id);
                }
            }
        }
    }
}
