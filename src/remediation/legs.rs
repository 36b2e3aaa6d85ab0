//! The engine's checks behind the report's findings, derived once: the report's `Blocker` names
//! only a request's action, resource and Region, so its leg (and the leg's kind) is looked up
//! in the check the finding comes from.

use std::collections::{BTreeSet, HashMap};

use crate::arn::Arn;
use crate::findings::{Blocker, Finding};
use crate::reachability::{self, Check, LegKind};
use crate::snapshot::ValidSnapshot;

/// A profile ARN with its account wildcarded (`*`), as exemptions name profiles; text that is
/// not an ARN as it is.
pub(crate) fn any_account(resource: &str) -> String {
    match Arn::parse(resource) {
        Some(mut arn) => {
            arn.account = "*".to_string();
            arn.to_string()
        }
        None => resource.to_string(),
    }
}

/// The checks of an evaluation, by profile and source Region.
pub(crate) struct Checks {
    checks: Vec<Check>,
    /// Profile id → source Region → check indices: nested, so a lookup borrows the finding's
    /// strings instead of building a key (it runs per finding × blocker).
    by_finding: HashMap<String, HashMap<String, Vec<usize>>>,
}

impl Checks {
    /// The checks `reachability::evaluate` decides with these options.
    pub(crate) fn new(snapshot: &ValidSnapshot, options: &reachability::Options) -> Checks {
        let checks = reachability::checks(snapshot, options);
        let mut by_finding: HashMap<String, HashMap<String, Vec<usize>>> = HashMap::new();
        for (index, check) in checks.iter().enumerate() {
            by_finding
                .entry(check.profile_id.clone())
                .or_default()
                .entry(check.source_region.clone())
                .or_default()
                .push(index);
        }
        Checks { checks, by_finding }
    }

    /// The checks a finding was decided from.
    fn of<'s>(&'s self, finding: &Finding) -> impl Iterator<Item = &'s Check> {
        self.by_finding
            .get(&finding.profile_id)
            .and_then(|regions| regions.get(&finding.source_region))
            .into_iter()
            .flatten()
            .filter_map(|&index| self.checks.get(index))
    }

    /// The kind of the leg a blocker of `finding` denies, when the finding's check has it.
    pub(crate) fn leg_kind(&self, finding: &Finding, blocker: &Blocker) -> Option<LegKind> {
        self.of(finding)
            .flat_map(|check| &check.legs)
            .find(|leg| {
                leg.action == blocker.action
                    && leg.resource == blocker.resource
                    && leg.region == blocker.region
            })
            .map(|leg| leg.kind)
    }

    /// The Resource patterns and exemption patterns the findings' checks use: profile ARNs with
    /// the account wildcarded, model ARNs as they are.
    pub(crate) fn leg_resources(
        &self,
        findings: &[&Finding],
    ) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut profile_arns = BTreeSet::new();
        let mut model_arns = BTreeSet::new();
        for finding in findings {
            for leg in self.of(finding).flat_map(|check| &check.legs) {
                if leg.kind == LegKind::Profile {
                    profile_arns.insert(any_account(&leg.resource));
                } else {
                    model_arns.insert(leg.resource.clone());
                }
            }
        }
        (profile_arns, model_arns)
    }
}
