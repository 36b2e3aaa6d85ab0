//! Findings: a verdict resolved for one target into the contract's [`Finding`], its blockers
//! named by policy, statement and attachment, with the sentence [`explain`] writes.

use crate::findings::{Blocker, BlockerKind, Finding, TargetKind};
use crate::org::{Org, TargetRef};

use super::explanation::explain;
use super::profiles::Check;
use super::verdict::Verdict;

/// `detailed: false` leaves out the blockers and the explanation (the compact report).
pub(super) fn finding(
    org: &Org<'_>,
    target: TargetRef<'_>,
    facts: &TargetFacts,
    check: &Check,
    verdict: &Verdict,
    detailed: bool,
) -> Finding {
    if !detailed {
        // Blockers and explanation left to the finding's problems.
        return finding_of(org, target, facts, check, verdict);
    }
    let levels = &facts.level_targets;
    let policies = org.policies();
    let blockers: Vec<Blocker> = verdict
        .blockers
        .iter()
        .map(|b| {
            let leg = check.legs.get(b.leg);
            let policy = b.policy.and_then(|p| policies.get(p));
            let statement = policy.and_then(|p| b.statement.and_then(|s| p.statements.get(s)));
            Blocker {
                region: leg.map(|l| l.region.clone()).unwrap_or_default(),
                action: leg.map(|l| l.action.clone()).unwrap_or_default(),
                resource: leg.map(|l| l.resource.clone()).unwrap_or_default(),
                policy_id: policy.map(|p| p.id.clone()),
                policy_name: policy.map(|p| p.name.clone()),
                sid: statement.and_then(|s| s.sid.clone()),
                statement_index: statement.map(|s| s.index),
                attached_to: match b.kind {
                    BlockerKind::AccountNotActive => Some(org.target_id(target).to_string()),
                    _ => b.level.and_then(|l| levels.get(l).cloned()),
                },
                kind: b.kind,
            }
        })
        .collect();
    let explanation = explain(org, target, check, verdict, &blockers);
    Finding {
        blockers,
        explanation,
        ..finding_of(org, target, facts, check, verdict)
    }
}

/// The finding without blockers and explanation.
fn finding_of(
    org: &Org<'_>,
    target: TargetRef<'_>,
    facts: &TargetFacts,
    check: &Check,
    verdict: &Verdict,
) -> Finding {
    Finding {
        target_id: org.target_id(target).to_string(),
        target_kind: match target {
            TargetRef::Root(_) => TargetKind::Root,
            TargetRef::OrganizationalUnit(_) => TargetKind::OrganizationalUnit,
            TargetRef::Account(_) => TargetKind::Account,
        },
        target_path: facts.path.clone(),
        profile_id: check.profile_id.clone(),
        source_region: check.source_region.clone(),
        check_kind: check.kind,
        status: verdict.status,
        blockers: Vec::new(),
        conditions: verdict.conditions.clone(),
        explanation: String::new(),
        problem_ids: Vec::new(),
    }
}

/// What every finding of one target repeats, computed once per target.
pub(super) struct TargetFacts {
    /// The target id each level of the target's chain is attached to.
    level_targets: Vec<String>,
    path: String,
}

impl TargetFacts {
    pub(super) fn of(org: &Org<'_>, target: TargetRef<'_>) -> TargetFacts {
        TargetFacts {
            level_targets: org.level_targets(target),
            path: org.path(target),
        }
    }
}
