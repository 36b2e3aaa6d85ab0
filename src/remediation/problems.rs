//! Problems: what blocks each finding, as units a proposal can change (a customer SCP to patch,
//! a level lacking an Allow, the Control Tower Region deny), and findings sharing a unit grouped
//! so one proposal covers them all.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::findings::{BlockerKind, CheckKind, Finding};
use crate::reachability::LegKind;
use crate::snapshot::PolicyRecord;

use super::context::Ctx;
use super::error::{BlockerError, Deny};

/// What blocks a finding, as something a proposal can change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Unit {
    /// A customer-managed SCP whose Deny statements to patch.
    Patch(String),
    /// A level (root, OU or account id) where no SCP allows the request.
    Allow(String),
    /// The Control Tower Region deny (GRREGIONDENY and/or CT.MULTISERVICE.PV.1).
    ControlTower,
}

/// Findings that share units, fixed together.
pub(crate) struct Group<'a> {
    pub(crate) units: BTreeSet<Unit>,
    pub(crate) findings: Vec<&'a Finding>,
    /// The same findings as re-evaluated under an earlier plan, for the blockers that showed up
    /// once the first ones were out of the way.
    /// Shared, not cloned, by the parts a group is planned in (at 10,000 accounts they held
    /// tens of MB per copy).
    pub(crate) hidden: Vec<Arc<Finding>>,
}

impl<'a> Group<'a> {
    /// The group's findings, then the same findings as re-evaluated under earlier plans.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .copied()
            .chain(self.hidden.iter().map(|f| &**f))
    }

    /// Every known blocker of the group's findings.
    pub(crate) fn blockers(&self) -> impl Iterator<Item = &crate::findings::Blocker> {
        self.all().flat_map(|f| f.blockers.iter())
    }

    /// The findings `keep` selects, with the units their own blockers name: a group that mixes
    /// check kinds under the Control Tower Region deny is planned part by part.
    pub(crate) fn part(&self, keep: impl Fn(&Finding) -> bool) -> Group<'a> {
        let findings: Vec<&'a Finding> =
            self.findings.iter().copied().filter(|f| keep(f)).collect();
        let hidden: Vec<Arc<Finding>> = self.hidden.iter().filter(|f| keep(f)).cloned().collect();
        let blockers: Vec<&crate::findings::Blocker> = findings
            .iter()
            .copied()
            .chain(hidden.iter().map(|f| &**f))
            .flat_map(|f| f.blockers.iter())
            .collect();
        let units = self
            .units
            .iter()
            .filter(|unit| {
                blockers.iter().any(|b| match unit {
                    Unit::Patch(policy_id) => {
                        b.kind == BlockerKind::ExplicitDeny
                            && b.policy_id.as_deref() == Some(policy_id)
                    }
                    Unit::Allow(level) => {
                        b.kind == BlockerKind::NoAllow && b.attached_to.as_deref() == Some(level)
                    }
                    Unit::ControlTower => {
                        b.kind == BlockerKind::ExplicitDeny
                            && matches!(b.sid.as_deref(), Some(GRREGIONDENY | CTMULTISERVICEPV1))
                    }
                })
            })
            .cloned()
            .collect();
        Group {
            units,
            findings,
            hidden,
        }
    }

    /// The customer SCP that both the inference findings and the other kinds' findings of a
    /// group would patch, if any: the two patches cannot be made on one document at once.
    pub(crate) fn shared_patch(&self) -> Option<String> {
        let inference = self.part(|f| f.check_kind == CheckKind::Inference);
        let others = self.part(|f| f.check_kind != CheckKind::Inference);
        inference
            .units
            .intersection(&others.units)
            .find_map(|unit| match unit {
                Unit::Patch(policy_id) => Some(policy_id.clone()),
                _ => None,
            })
    }

    /// A group whose kinds share a customer SCP patch, split by kind (each planned and proven
    /// against the current documents, like separate patches of one SCP); else the group.
    pub(crate) fn split_shared(self) -> Vec<Group<'a>> {
        if self.shared_patch().is_none() {
            return vec![self];
        }
        vec![
            self.part(|f| f.check_kind == CheckKind::Inference),
            self.part(|f| f.check_kind != CheckKind::Inference),
        ]
    }
}

/// Merges findings whose units overlap, in report order.
pub(crate) fn groups<'a>(problems: Vec<(&'a Finding, BTreeSet<Unit>)>) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for (finding, units) in problems {
        let mut merged = Group {
            units,
            findings: vec![finding],
            hidden: Vec::new(),
        };
        let mut rest = Vec::new();
        for group in groups {
            if group.units.intersection(&merged.units).next().is_some() {
                merged.units.extend(group.units);
                let mut findings = group.findings;
                findings.append(&mut merged.findings);
                merged.findings = findings;
            } else {
                rest.push(group);
            }
        }
        rest.push(merged);
        groups = rest;
    }
    groups
}

impl Ctx<'_> {
    /// The approved profiles the group's findings concern.
    pub(crate) fn profiles_of(&self, group: &Group) -> BTreeSet<String> {
        group
            .findings
            .iter()
            .map(|f| f.profile_id.clone())
            .filter(|p| self.approved.contains(p))
            .collect()
    }

    /// The problems of `finding` that `error` is about (the inactive account's, the denying
    /// policy's), or all of them when it names none.
    pub(crate) fn problems_behind(&self, finding: &Finding, error: &BlockerError) -> Vec<String> {
        let matching: Vec<String> = error
            .cause()
            .map(|wanted| {
                finding
                    .problem_ids
                    .iter()
                    .filter(|id| {
                        self.problems.get(id.as_str()).is_some_and(|problem| {
                            let cause = &problem.cause;
                            cause.kind == wanted.kind
                                && (wanted.policy_id.is_none()
                                    || cause.policy_id.as_deref() == wanted.policy_id)
                                && (wanted.leg.is_none() || cause.leg == wanted.leg)
                        })
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if matching.is_empty() {
            finding.problem_ids.clone()
        } else {
            matching
        }
    }

    /// The units that block a finding, or why no change may lift its blockers.
    pub(crate) fn units_of(&self, finding: &Finding) -> Result<BTreeSet<Unit>, BlockerError> {
        let mut units = BTreeSet::new();
        for blocker in &finding.blockers {
            match blocker.kind {
                BlockerKind::AccountNotActive => {
                    return Err(BlockerError::AccountNotActive {
                        account_id: finding.target_id.clone(),
                    });
                }
                BlockerKind::NoAllow => {
                    let level =
                        blocker
                            .attached_to
                            .clone()
                            .ok_or_else(|| BlockerError::UnnamedLevel {
                                finding: finding.key(),
                            })?;
                    units.insert(Unit::Allow(level));
                }
                BlockerKind::ExplicitDeny => {
                    let policy_id = blocker.policy_id.clone().unwrap_or_default();
                    let record =
                        self.record(&policy_id)
                            .ok_or_else(|| BlockerError::UnknownPolicy {
                                finding: finding.key(),
                                policy_id: policy_id.clone(),
                            })?;
                    let sid = blocker.sid.clone().unwrap_or_default();
                    let label = if sid.is_empty() {
                        format!("statement #{}", blocker.statement_index.unwrap_or(0))
                    } else {
                        format!("Sid {sid}")
                    };
                    let deny = || {
                        Box::new(Deny {
                            policy_name: record.name.clone(),
                            policy_id: record.id.clone(),
                            statement: label.clone(),
                            action: blocker.action.clone(),
                            region: blocker.region.clone(),
                        })
                    };
                    let leg = self.checks.leg_kind(finding, blocker).ok_or_else(|| {
                        BlockerError::UnknownLeg {
                            finding: finding.key(),
                            action: blocker.action.clone(),
                            resource: blocker.resource.clone(),
                            region: blocker.region.clone(),
                        }
                    })?;
                    let control_tower = is_control_tower(record, &sid);
                    // A customer deny of the source Region is narrowed by resource (the profile
                    // request names the profile ARN); a Control Tower one cannot be.
                    if leg == LegKind::Profile && (control_tower || record.aws_managed) {
                        return Err(BlockerError::SourceRegionDenied {
                            profile_id: finding.profile_id.clone(),
                            source_region: finding.source_region.clone(),
                            deny: deny(),
                        });
                    }
                    if control_tower {
                        if sid != GRREGIONDENY && sid != CTMULTISERVICEPV1 {
                            return Err(BlockerError::ControlTowerControl { deny: deny() });
                        }
                        units.insert(Unit::ControlTower);
                    } else if record.aws_managed {
                        return Err(BlockerError::AwsManaged { deny: deny() });
                    } else {
                        units.insert(Unit::Patch(policy_id));
                    }
                }
            }
        }
        Ok(units)
    }
}

pub(crate) const GRREGIONDENY: &str = "GRREGIONDENY";
pub(crate) const CTMULTISERVICEPV1: &str = "CTMULTISERVICEPV1";

/// Control Tower-managed: named `aws-guardrails-*`, or a statement with a Control Tower Sid.
fn is_control_tower(record: &PolicyRecord, sid: &str) -> bool {
    record.name.starts_with("aws-guardrails-") || sid == GRREGIONDENY || sid == CTMULTISERVICEPV1
}
