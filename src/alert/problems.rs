//! Changes grouped by problem (contract §3.1): which changed findings each problem of the report
//! is behind, and what the change amounts to for the problem ("newly blocks 3 profiles across
//! 480 OUs"). A report without problems (an older path) has no changed problems, and the
//! renderings fall back to one entry per changed finding.

use std::collections::{BTreeMap, BTreeSet};

use super::state::{ChangeKind, FindingChange};
use crate::findings::{Problem, Report, TargetKind};

/// One problem of the report with the changes of this alert behind it.
#[derive(Debug, Clone)]
pub struct ChangedProblem<'a> {
    pub problem: &'a Problem,
    /// The changed findings that name this problem, in the alert's order.
    pub changes: Vec<&'a FindingChange<'a>>,
}

impl<'a> ChangedProblem<'a> {
    /// The most urgent kind among its changes (`newlyBlocked` before `blockersChanged`).
    pub fn kind(&self) -> ChangeKind {
        self.changes
            .iter()
            .map(|c| c.kind)
            .min()
            .unwrap_or(ChangeKind::BlockersChanged)
    }

    /// Distinct profiles of its changes.
    pub fn profiles(&self) -> BTreeSet<&'a str> {
        self.changes
            .iter()
            .map(|c| c.finding.profile_id.as_str())
            .collect()
    }

    /// Distinct source Regions of its changes.
    pub fn source_regions(&self) -> BTreeSet<&'a str> {
        self.changes
            .iter()
            .map(|c| c.finding.source_region.as_str())
            .collect()
    }

    /// Distinct changed targets: (OUs and roots, accounts).
    pub fn targets(&self) -> (usize, usize) {
        let mut ous = BTreeSet::new();
        let mut accounts = BTreeSet::new();
        for change in &self.changes {
            let f = change.finding;
            match f.target_kind {
                TargetKind::Account => accounts.insert(f.target_id.as_str()),
                TargetKind::Root | TargetKind::OrganizationalUnit => {
                    ous.insert(f.target_id.as_str())
                }
            };
        }
        (ous.len(), accounts.len())
    }
}

/// The problems of `report` that `changes` name, worst first (the report's order, which is
/// worst first), each with its changes. Empty when the report carries no problems.
pub fn changed_problems<'a>(
    changes: &'a [FindingChange<'a>],
    report: &'a Report,
) -> Vec<ChangedProblem<'a>> {
    let mut by_id: BTreeMap<&str, Vec<&'a FindingChange<'a>>> = BTreeMap::new();
    for change in changes {
        for id in &change.finding.problem_ids {
            by_id.entry(id.as_str()).or_default().push(change);
        }
    }
    report
        .problems
        .iter()
        .filter_map(|problem| {
            by_id
                .remove(problem.id.as_str())
                .map(|changes| ChangedProblem { problem, changes })
        })
        .collect()
}
