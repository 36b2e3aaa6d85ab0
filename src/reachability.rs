//! Reachability: expands each inference profile into the requests Bedrock authorizes and decides,
//! per OU/account × profile × source Region, reachable / blocked / conditional / unknown.
//!
//! Speed comes from sharing: every target's SCP chain is interned (the list of policy sets from
//! the root down), and the abstract result of one chain × check is computed once and reused by
//! every OU and account with the same chain. Only policies that can depend on the account or
//! OU path (see [`crate::policy::Policy::account_sensitive`]) make results per target.
//!
//! By job: [`profiles`] expands profiles into checks, [`verdict`] (with [`admin`] and
//! [`witness`]) decides one chain × check, [`engine`] shares that work across the organization,
//! and [`finding`] (with [`explanation`]) turns a verdict into a finding. This module is the
//! run: [`evaluate`], [`decide`] and the [`Decisions`] they make.

use crate::error::InputError;
use crate::expectations::{self, Cell, ExpectationResult, ExpectationsFile, TargetName};
use crate::findings::{Finding, Problem, Proposal, Report, Status, Summary, WhatIf};
use crate::org::{Org, TargetRef};
use crate::snapshot::ValidSnapshot;

mod admin;
mod causes;
mod engine;
mod explanation;
mod finding;
mod kinds;
mod other_checks;
mod profiles;
mod verdict;
pub mod witness;

pub use crate::request::leg::{Caller, Leg, LegKind, request_for};
pub use admin::{ADMIN_PRINCIPALS, admin_patterns, deny_binds_non_admins};
pub use causes::leg_name;
pub(crate) use engine::caller_class;
pub use engine::{Sensitivity, statement_sensitivity};
pub use kinds::checks;
pub use profiles::{Check, DEFAULT_ACTIONS, Options, checks_of};
pub use verdict::{AbstractBlocker, Verdict, verdict};

use engine::{Decided, Engine};
use finding::TargetFacts;

/// Below this many decisions the findings are built on one thread (a thread costs more).
const PARALLEL_FINDINGS: usize = 4_096;

/// Evaluates every target × profile × source Region of the snapshot.
pub fn evaluate(snapshot: &ValidSnapshot, options: &Options) -> Report {
    let org = Org::new(snapshot);
    decide(&org, options).to_report()
}

/// Decides every target × profile × source Region of the organization, without building the
/// findings' text yet.
pub fn decide<'a>(org: &'a Org<'a>, options: &'a Options) -> Decisions<'a> {
    let engine = Engine::new(org, options);
    let targets = org.targets_in_order(&options.ous);
    let items = engine.decide(&targets);
    let mut summary = Summary {
        checks: items.len(),
        ..Summary::default()
    };
    for item in &items {
        summary.count(item.verdict.status);
    }
    let problems = causes::problems(org, &engine.checks, &targets, &items);
    Decisions {
        engine,
        targets,
        items,
        summary,
        problems,
        what_if: None,
        expectations: Vec::new(),
    }
}

/// Decides only the cells named (target id, profile id, source Region), in the order given:
/// a proof reads the statuses of the findings reported before and of those it claims, a few
/// ten thousand cells, not every account × check (hundreds of thousands at 10,000 accounts).
/// A cell the organization does not evaluate (unknown target, no such check, a root) has no
/// verdict. Problems are not tallied: [`CellDecisions::findings_of`] leaves `problemIds` empty.
pub fn decide_cells<'a>(
    org: &'a Org<'a>,
    options: &'a Options,
    cells: &[(&str, &str, &str)],
) -> CellDecisions<'a> {
    let engine = Engine::new(org, options);
    let targets: rustc_hash::FxHashMap<&str, TargetRef<'a>> = org
        .targets_in_order(&options.ous)
        .into_iter()
        .filter(|t| !matches!(t, TargetRef::Root(_)))
        .map(|t| (org.target_id(t), t))
        .collect();
    let mut checks: rustc_hash::FxHashMap<(&str, &str), Vec<usize>> =
        rustc_hash::FxHashMap::default();
    for (index, check) in engine.checks.iter().enumerate() {
        checks
            .entry((check.profile_id.as_str(), check.source_region.as_str()))
            .or_default()
            .push(index);
    }
    let mut wanted: Vec<(TargetRef<'a>, usize)> = Vec::new();
    let mut ranges = Vec::with_capacity(cells.len());
    for &(target, profile, region) in cells {
        let start = wanted.len();
        if let (Some(&target), Some(list)) = (targets.get(target), checks.get(&(profile, region))) {
            wanted.extend(list.iter().map(|&check| (target, check)));
        }
        ranges.push(start..wanted.len());
    }
    let verdicts = engine.verdicts_for(&wanted);
    CellDecisions {
        engine,
        wanted,
        verdicts,
        ranges,
    }
}

/// The verdicts [`decide_cells`] made: per cell named, one per check with its profile and
/// Region (one, but for check kinds that share them).
pub struct CellDecisions<'a> {
    engine: Engine<'a>,
    wanted: Vec<(TargetRef<'a>, usize)>,
    verdicts: Vec<Option<std::sync::Arc<verdict::Verdict>>>,
    ranges: Vec<std::ops::Range<usize>>,
}

impl CellDecisions<'_> {
    /// The status of the `index`-th cell named, that of its last check (as a map from cell to
    /// status filled in report order would hold); `None` when it is not evaluated.
    pub fn status(&self, index: usize) -> Option<Status> {
        let range = self.ranges.get(index)?.clone();
        self.verdicts.get(range)?.last()?.as_ref().map(|v| v.status)
    }

    /// The findings of the `index`-th cell named, one per check, without problem ids.
    pub fn findings_of(&self, index: usize) -> Vec<Finding> {
        let Some(range) = self.ranges.get(index).cloned() else {
            return Vec::new();
        };
        let org = self.engine.org;
        range
            .filter_map(|i| {
                let &(target, check) = self.wanted.get(i)?;
                let verdict = self.verdicts.get(i)?.as_ref()?;
                let check = self.engine.checks.get(check)?;
                let facts = TargetFacts::of(org, target);
                Some(finding::finding(org, target, &facts, check, verdict, true))
            })
            .collect()
    }
}

/// Every decision of one evaluation run, in report order: a shared verdict per reported
/// target × check. Findings (the contract's strings, several kB each for a blocked check) are
/// built from it one at a time, so a large organization is decided in little memory and its
/// report can be written while it is built ([`Decisions::report`]).
pub struct Decisions<'a> {
    engine: Engine<'a>,
    /// Every target in report order; [`Decided::position`] indexes it.
    targets: Vec<TargetRef<'a>>,
    items: Vec<Decided>,
    summary: Summary,
    problems: causes::Problems,
    what_if: Option<WhatIf>,
    expectations: Vec<ExpectationResult>,
}

impl<'a> Decisions<'a> {
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The whole report in memory (what [`Decisions::report`] streams).
    pub fn to_report(&self) -> Report {
        self.to_report_with(false)
    }

    /// [`Decisions::to_report`] for the human renderings (text, markdown, html, sarif): a finding
    /// that names its problems drops its blockers and explanation, which its problems carry
    /// once. At 10,000 accounts this keeps the report in memory a fraction of its JSON size.
    /// Those blockers and explanations are never built (writing them took longer than
    /// rendering the report).
    pub fn to_compact_report(&self) -> Report {
        self.to_report_with(true)
    }

    fn to_report_with(&self, compact: bool) -> Report {
        let snapshot = &self.engine.org.snapshot().snapshot;
        // One finding per decision: sized up front rather than grown by doubling (the
        // findings of a 10,000-account organization take tens of MB). Their text is built on
        // every core, the second half of the items on another thread (findings are
        // independent; the order is kept by joining the halves).
        let mut findings = Vec::with_capacity(self.items.len());
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        if workers < 2 || self.items.len() < PARALLEL_FINDINGS {
            findings.extend(self.findings_in(0..self.items.len(), compact));
        } else {
            let middle = self.items.len() / 2;
            std::thread::scope(|scope| {
                let second = scope.spawn(|| {
                    self.findings_in(middle..self.items.len(), compact)
                        .collect::<Vec<_>>()
                });
                findings.extend(self.findings_in(0..middle, compact));
                match second.join() {
                    Ok(rest) => findings.extend(rest),
                    // A thread that died is redone here: same inputs, same findings.
                    Err(_) => findings.extend(self.findings_in(middle..self.items.len(), compact)),
                }
            });
        }
        Report {
            format_version: 1,
            organization_id: snapshot.organization.id.clone(),
            snapshot_captured_at: snapshot.captured_at.clone(),
            summary: self.summary,
            expectations: self.expectations.clone(),
            problems: self.problems().to_vec(),
            findings,
            proposals: Vec::new(),
            what_if: self.what_if.clone(),
            unresolved: Vec::new(),
        }
    }

    /// One entry per cause, worst first (§3.1).
    pub fn problems(&self) -> &[Problem] {
        &self.problems.problems
    }

    /// Shows these decisions as a what-if against `base`, the same snapshot without the
    /// changes: `fixed` and `broken` count findings whose reachability the changes flip.
    pub fn set_what_if(&mut self, source: String, changes: usize, base: &Decisions<'_>) {
        let (fixed, broken) = self.flips_against(base);
        self.what_if = Some(WhatIf {
            source,
            changes,
            fixed,
            broken,
        });
    }

    pub fn what_if(&self) -> Option<&WhatIf> {
        self.what_if.as_ref()
    }

    /// The status of every reported target × check, keyed by target id and check index.
    fn statuses(&self) -> rustc_hash::FxHashMap<(&str, u32), Status> {
        self.items
            .iter()
            .filter_map(|item| {
                let target = self.targets.get(item.position as usize)?;
                Some((
                    (self.engine.org.target_id(*target), item.check),
                    item.verdict.status,
                ))
            })
            .collect()
    }

    /// (Findings non-reachable in `base` and reachable here, reachable there and not here.)
    /// A target listed on one side only is compared with its OU's status on the other (an
    /// account is listed only where it differs from a new account in its OU).
    fn flips_against(&self, base: &Decisions<'_>) -> (usize, usize) {
        let mine = self.statuses();
        let theirs = base.statuses();
        let same_checks = self.engine.checks.len() == base.engine.checks.len();
        let status_in = |map: &rustc_hash::FxHashMap<(&str, u32), Status>,
                         org: &Org<'_>,
                         id: &str,
                         check: u32| {
            map.get(&(id, check)).copied().or_else(|| {
                org.parent_of(id)
                    .and_then(|parent| map.get(&(parent, check)).copied())
            })
        };
        let mut keys: Vec<(&str, u32)> = mine.keys().chain(theirs.keys()).copied().collect();
        keys.sort_unstable();
        keys.dedup();
        let (mut fixed, mut broken) = (0, 0);
        if !same_checks {
            return (fixed, broken);
        }
        for (id, check) in keys {
            let now = status_in(&mine, self.engine.org, id, check);
            let before = status_in(&theirs, base.engine.org, id, check);
            match (before, now) {
                (Some(b), Some(n)) if b != Status::Reachable && n == Status::Reachable => {
                    fixed += 1
                }
                (Some(b), Some(n)) if b == Status::Reachable && n != Status::Reachable => {
                    broken += 1
                }
                _ => {}
            }
        }
        (fixed, broken)
    }

    /// Judges `file` (see [`Decisions::judge_expectations`]) and keeps the results for the
    /// report; returns the exit code they give (§6).
    pub fn set_expectations(
        &mut self,
        source: &str,
        file: &ExpectationsFile,
    ) -> Result<u8, InputError> {
        self.expectations = self.judge_expectations(source, file)?;
        Ok(expectations::exit_code(&self.expectations))
    }

    pub fn expectation_results(&self) -> &[ExpectationResult] {
        &self.expectations
    }

    /// Judges the expectations (§6) against these decisions. Every target in scope counts, listed
    /// or not: an account the report folds into its OU is judged by its OU's verdict (the same
    /// by construction), and cells with no listed decision (dropped by `--only-problems`, or an
    /// account directly in a root) are decided here.
    pub fn judge_expectations(
        &self,
        source: &str,
        file: &ExpectationsFile,
    ) -> Result<Vec<ExpectationResult>, InputError> {
        let org = self.engine.org;
        let paths: Vec<String> = self.targets.iter().map(|t| org.path(*t)).collect();
        let names: Vec<TargetName<'_>> = self
            .targets
            .iter()
            .zip(&paths)
            .map(|(t, path)| TargetName {
                id: org.target_id(*t),
                path,
            })
            .collect();
        let checks: Vec<(&str, &str)> = self
            .engine
            .checks
            .iter()
            .map(|c| (c.profile_id.as_str(), c.source_region.as_str()))
            .collect();
        let resolved = expectations::resolve(source, file, &names, &checks)?;
        let position_of: rustc_hash::FxHashMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(p, n)| (n.id, u32::try_from(p).unwrap_or(u32::MAX)))
            .collect();
        let item_at = |position: u32, check: u32| {
            self.items
                .binary_search_by_key(&(position, check), |i| (i.position, i.check))
                .ok()
        };
        // Per cell: the listed item it takes its verdict from, else a verdict decided here.
        let mut results = Vec::with_capacity(resolved.len());
        for (expectation, resolved) in file.expectations.iter().zip(&resolved) {
            let mut listed = Vec::new();
            let mut unlisted = Vec::new();
            for &t in &resolved.targets {
                let (Some(&target), Ok(position)) = (self.targets.get(t), u32::try_from(t)) else {
                    continue;
                };
                let parent = match target {
                    TargetRef::Account(id) => {
                        org.parent_of(id).and_then(|p| position_of.get(p).copied())
                    }
                    _ => None,
                };
                for &c in &resolved.checks {
                    let check = u32::try_from(c).unwrap_or(u32::MAX);
                    // Without `--only-problems` a missing account cell was left out because
                    // it equals its OU's; with it, it may also be a dropped reachable one.
                    let folded = || {
                        if self.engine.options.only_problems {
                            None
                        } else {
                            parent.and_then(|p| item_at(p, check))
                        }
                    };
                    match item_at(position, check).or_else(folded) {
                        Some(index) => listed.push((t, c, index)),
                        None => unlisted.push((t, c)),
                    }
                }
            }
            let cells: Vec<(TargetRef<'_>, usize)> = unlisted
                .iter()
                .filter_map(|&(t, c)| Some((*self.targets.get(t)?, c)))
                .collect();
            let decided = self.engine.verdicts_for(&cells);
            let key = |t: usize, c: usize| {
                format!(
                    "{}|{}|{}",
                    names.get(t).map_or("", |n| n.id),
                    checks.get(c).map_or("", |x| x.0),
                    checks.get(c).map_or("", |x| x.1)
                )
            };
            let ids: Vec<Vec<String>> = listed
                .iter()
                .map(|&(_, _, index)| self.problems.ids_of(index))
                .collect();
            // Keyed by the listed finding the verdict comes from (an account folded into its
            // OU names the OU's finding), so every key is a finding of the report.
            let from_listed = listed.iter().zip(&ids).filter_map(|(&(_, c, index), ids)| {
                let item = self.items.get(index)?;
                Some(Cell {
                    key: key(item.position as usize, c),
                    status: item.verdict.status,
                    problem_ids: ids,
                })
            });
            let from_decided = unlisted
                .iter()
                .zip(&decided)
                .map(|(&(t, c), verdict)| Cell {
                    key: key(t, c),
                    // A cell that could not be decided is never taken for reachable.
                    status: verdict.as_ref().map_or(Status::Unknown, |v| v.status),
                    problem_ids: &[],
                });
            results.push(expectations::judge(
                expectation,
                from_listed.chain(from_decided),
            ));
        }
        Ok(results)
    }

    /// The findings, built in report order as the iterator is advanced.
    pub fn findings(&self) -> impl Iterator<Item = Finding> + '_ {
        self.findings_in(0..self.items.len(), false)
    }

    /// [`Decisions::findings`] of the items in `range`; `compact` leaves out the blockers and
    /// explanation of a finding that names its problems (see [`Decisions::to_compact_report`]).
    fn findings_in(
        &self,
        range: std::ops::Range<usize>,
        compact: bool,
    ) -> impl Iterator<Item = Finding> + '_ {
        let mut facts: Option<(u32, TargetFacts)> = None;
        let start = range.start;
        self.items
            .get(range)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(move |(offset, item)| (start + offset, item))
            .filter_map(move |(index, item)| {
                let target = *self.targets.get(item.position as usize)?;
                if facts
                    .as_ref()
                    .is_none_or(|(position, _)| *position != item.position)
                {
                    facts = Some((item.position, TargetFacts::of(self.engine.org, target)));
                }
                let (_, target_facts) = facts.as_ref()?;
                let check = self.engine.checks.get(item.check as usize)?;
                let problem_ids = self.problems.ids_of(index);
                let detailed = !compact || problem_ids.is_empty();
                let mut finding = finding::finding(
                    self.engine.org,
                    target,
                    target_facts,
                    check,
                    &item.verdict,
                    detailed,
                );
                finding.problem_ids = problem_ids;
                Some(finding)
            })
    }

    /// Every decided target × check in report order, as (target id, profile id, source Region,
    /// status): what a caller needs to compare two evaluations without building findings. The
    /// position of a cell is the index [`Decisions::finding_at`] takes.
    pub fn cells(&self) -> impl Iterator<Item = (&str, &str, &str, Status)> + '_ {
        self.items.iter().filter_map(|item| {
            let target = self.targets.get(item.position as usize)?;
            let check = self.engine.checks.get(item.check as usize)?;
            Some((
                self.engine.org.target_id(*target),
                check.profile_id.as_str(),
                check.source_region.as_str(),
                item.verdict.status,
            ))
        })
    }

    /// The finding of the cell at `index` (the same as the `index`-th of [`Decisions::findings`]).
    pub fn finding_at(&self, index: usize) -> Option<Finding> {
        let item = self.items.get(index)?;
        let target = *self.targets.get(item.position as usize)?;
        let check = self.engine.checks.get(item.check as usize)?;
        let facts = TargetFacts::of(self.engine.org, target);
        let mut finding =
            finding::finding(self.engine.org, target, &facts, check, &item.verdict, true);
        finding.problem_ids = self.problems.ids_of(index);
        Some(finding)
    }

    /// The report these decisions make, serialized exactly as [`Report`] is, with each finding
    /// built as it is written: peak memory stays that of the decisions, not of the report.
    pub fn report(&self) -> ReportStream<'_, 'a> {
        ReportStream { decisions: self }
    }
}

/// A [`Report`] without proposals, serialized from [`Decisions`] (see [`Decisions::report`]).
pub struct ReportStream<'d, 'a> {
    decisions: &'d Decisions<'a>,
}

impl serde::Serialize for ReportStream<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Findings<'d, 'a>(&'d Decisions<'a>);
        impl serde::Serialize for Findings<'_, '_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.findings())
            }
        }
        let snapshot = &self.decisions.engine.org.snapshot().snapshot;
        // Field names and order as `Report` derives them.
        let what_if = self.decisions.what_if.as_ref();
        let expectations = &self.decisions.expectations;
        let fields = 7 + usize::from(what_if.is_some()) + usize::from(!expectations.is_empty());
        let mut report = serializer.serialize_struct("Report", fields)?;
        report.serialize_field("formatVersion", &1u32)?;
        report.serialize_field("organizationId", &snapshot.organization.id)?;
        report.serialize_field("snapshotCapturedAt", &snapshot.captured_at)?;
        report.serialize_field("summary", &self.decisions.summary)?;
        if !expectations.is_empty() {
            report.serialize_field("expectations", expectations)?;
        }
        report.serialize_field("problems", self.decisions.problems())?;
        report.serialize_field("findings", &Findings(self.decisions))?;
        report.serialize_field("proposals", &[] as &[Proposal])?;
        if let Some(what_if) = what_if {
            report.serialize_field("whatIf", what_if)?;
        }
        report.end()
    }
}
