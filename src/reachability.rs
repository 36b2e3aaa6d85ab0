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

use crate::findings::{Finding, Problem, Proposal, Report, Status, Summary, WhatIf};
use crate::org::{Org, TargetRef};
use crate::snapshot::ValidSnapshot;

mod admin;
mod causes;
mod engine;
mod explanation;
mod finding;
mod profiles;
mod verdict;
pub mod witness;

pub use crate::request::leg::{Caller, Leg, LegKind, request_for};
pub use admin::{ADMIN_PRINCIPALS, admin_patterns};
pub use engine::{Sensitivity, statement_sensitivity};
pub use profiles::{Check, DEFAULT_ACTIONS, Options, checks};
pub use verdict::{AbstractBlocker, Verdict, verdict};

use engine::{Decided, Engine};
use finding::TargetFacts;

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
}

impl<'a> Decisions<'a> {
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The whole report in memory (what [`Decisions::report`] streams).
    pub fn to_report(&self) -> Report {
        let snapshot = &self.engine.org.snapshot().snapshot;
        Report {
            format_version: 1,
            organization_id: snapshot.organization.id.clone(),
            snapshot_captured_at: snapshot.captured_at.clone(),
            summary: self.summary,
            problems: self.problems().to_vec(),
            findings: self.findings().collect(),
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

    /// The findings, built in report order as the iterator is advanced.
    pub fn findings(&self) -> impl Iterator<Item = Finding> + '_ {
        let mut facts: Option<(u32, TargetFacts)> = None;
        self.items
            .iter()
            .enumerate()
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
                let mut finding =
                    finding::finding(self.engine.org, target, target_facts, check, &item.verdict);
                finding.problem_ids = self.problems.ids_of(index);
                Some(finding)
            })
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
        let fields = 7 + usize::from(what_if.is_some());
        let mut report = serializer.serialize_struct("Report", fields)?;
        report.serialize_field("formatVersion", &1u32)?;
        report.serialize_field("organizationId", &snapshot.organization.id)?;
        report.serialize_field("snapshotCapturedAt", &snapshot.captured_at)?;
        report.serialize_field("summary", &self.decisions.summary)?;
        report.serialize_field("problems", self.decisions.problems())?;
        report.serialize_field("findings", &Findings(self.decisions))?;
        report.serialize_field("proposals", &[] as &[Proposal])?;
        if let Some(what_if) = what_if {
            report.serialize_field("whatIf", what_if)?;
        }
        report.end()
    }
}
