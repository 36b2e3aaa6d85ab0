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

use crate::findings::{Finding, Proposal, Report, Summary};
use crate::org::{Org, TargetRef};
use crate::snapshot::ValidSnapshot;

mod admin;
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
    let decisions = decide(&org, options);
    Report {
        format_version: 1,
        organization_id: snapshot.snapshot.organization.id.clone(),
        snapshot_captured_at: snapshot.snapshot.captured_at.clone(),
        summary: decisions.summary(),
        problems: Vec::new(),
        findings: decisions.findings().collect(),
        proposals: Vec::new(),
        what_if: None,
        unresolved: Vec::new(),
    }
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
    Decisions {
        engine,
        targets,
        items,
        summary,
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
}

impl<'a> Decisions<'a> {
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The findings, built in report order as the iterator is advanced.
    pub fn findings(&self) -> impl Iterator<Item = Finding> + '_ {
        let mut facts: Option<(u32, TargetFacts)> = None;
        self.items.iter().filter_map(move |item| {
            let target = *self.targets.get(item.position as usize)?;
            if facts
                .as_ref()
                .is_none_or(|(position, _)| *position != item.position)
            {
                facts = Some((item.position, TargetFacts::of(self.engine.org, target)));
            }
            let (_, target_facts) = facts.as_ref()?;
            let check = self.engine.checks.get(item.check as usize)?;
            Some(finding::finding(
                self.engine.org,
                target,
                target_facts,
                check,
                &item.verdict,
            ))
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
        let mut report = serializer.serialize_struct("Report", 6)?;
        report.serialize_field("formatVersion", &1u32)?;
        report.serialize_field("organizationId", &snapshot.organization.id)?;
        report.serialize_field("snapshotCapturedAt", &snapshot.captured_at)?;
        report.serialize_field("summary", &self.decisions.summary)?;
        report.serialize_field("findings", &Findings(self.decisions))?;
        report.serialize_field("proposals", &[] as &[Proposal])?;
        report.end()
    }
}
