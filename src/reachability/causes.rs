//! Causes behind the decisions (contract §3.1): the blockers of each shared verdict become
//! cause keys once per distinct verdict (not per finding), and the decisions that carry them
//! are tallied into [`Problem`]s. Verdict ids index flat arrays: no per-finding hashing.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::findings::{Affected, BlockerKind, Cause, CauseKind, LegName, Problem, Status};
use crate::org::{Org, TargetRef};
use crate::problems;
use crate::request::leg::LegKind;

use super::engine::Decided;
use super::profiles::Check;
use super::verdict::Verdict;

/// One cause while the decisions are tallied.
struct Tally {
    cause: Cause,
    region_deny: bool,
    status: Status,
    findings: usize,
    /// Report positions of the affected targets (ascending: decisions come in report order).
    positions: Vec<u32>,
    attached: BTreeSet<String>,
    checks: Vec<bool>,
}

/// The problems of one run and, per decision, which of them it carries.
pub(super) struct Problems {
    pub(super) problems: Vec<Problem>,
    /// Per decision: its verdict's id.
    item_verdict: Vec<u32>,
    /// Per verdict id: the problem indices it carries.
    verdict_problems: Vec<Vec<u32>>,
}

impl Problems {
    /// The problem ids of decision `item`.
    pub(super) fn ids_of(&self, item: usize) -> Vec<String> {
        let Some(&verdict) = self.item_verdict.get(item) else {
            return Vec::new();
        };
        self.verdict_problems
            .get(verdict as usize)
            .map(|list| {
                list.iter()
                    .filter_map(|&p| self.problems.get(p as usize))
                    .map(|p| p.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The contract's name of a leg kind.
pub fn leg_name(kind: LegKind) -> LegName {
    match kind {
        LegKind::Profile => LegName::Profile,
        LegKind::SourceModel => LegName::SourceModel,
        LegKind::DestinationModel => LegName::DestinationModel,
        LegKind::GlobalModel => LegName::GlobalModel,
        LegKind::GuardrailProfile => LegName::GuardrailProfile,
        LegKind::Marketplace => LegName::Marketplace,
    }
}

fn empty_cause(kind: CauseKind) -> Cause {
    Cause {
        kind,
        policy_id: None,
        policy_name: None,
        sid: None,
        statement_index: None,
        attached_to: Vec::new(),
        leg: None,
        regions: Vec::new(),
        actions: Vec::new(),
        level_policy_ids: Vec::new(),
        reason: None,
    }
}

/// A cause of one verdict: its key's tally index and the chain level it sits at.
type VerdictCause = (u32, Option<usize>);

struct Builder<'o, 'a> {
    org: &'o Org<'a>,
    checks: &'o [Check],
    tallies: Vec<Tally>,
    keys: HashMap<String, u32>,
}

impl<'a> Builder<'_, 'a> {
    fn tally(&mut self, cause: Cause, region_deny: bool) -> u32 {
        let key = problems::cause_key(&cause);
        if let Some(&index) = self.keys.get(&key) {
            return index;
        }
        let index = u32::try_from(self.tallies.len()).unwrap_or(u32::MAX);
        self.tallies.push(Tally {
            cause,
            region_deny,
            status: Status::Reachable,
            findings: 0,
            positions: Vec::new(),
            attached: BTreeSet::new(),
            checks: vec![false; self.checks.len()],
        });
        self.keys.insert(key, index);
        index
    }

    /// The causes of a verdict, seen first on `target` for `check` (verdicts are shared by
    /// targets with the same chain, so what is read from the target is the same for all).
    fn causes_of(
        &mut self,
        verdict: &Verdict,
        target: TargetRef<'a>,
        check: &Check,
    ) -> Vec<VerdictCause> {
        let mut out: Vec<VerdictCause> = Vec::new();
        if verdict.status == Status::Reachable {
            return out;
        }
        if verdict.status == Status::Unknown || verdict.blockers.is_empty() {
            let (kind, reason) = match self.org.gap_for(target) {
                Some(gap) => (CauseKind::Gap, gap),
                None => (
                    CauseKind::Unknown,
                    verdict
                        .reason
                        .clone()
                        .unwrap_or_else(|| format!("{} cannot be decided", check.profile_id)),
                ),
            };
            let mut cause = empty_cause(kind);
            cause.reason = Some(reason);
            out.push((self.tally(cause, false), None));
            return out;
        }
        let policies = self.org.policies();
        for blocker in &verdict.blockers {
            let leg = check.legs.get(blocker.leg);
            let index = match blocker.kind {
                BlockerKind::AccountNotActive => {
                    let mut cause = empty_cause(CauseKind::AccountNotActive);
                    cause.attached_to = vec![self.org.target_id(target).to_string()];
                    self.tally(cause, false)
                }
                BlockerKind::NoAllow => {
                    let chain = match target {
                        TargetRef::Account(id) => self.org.account_chain(id),
                        TargetRef::OrganizationalUnit(id) | TargetRef::Root(id) => {
                            self.org.new_account_chain(id)
                        }
                    };
                    let mut ids: Vec<String> = blocker
                        .level
                        .and_then(|l| self.org.chain_levels(chain).get(l))
                        .map(|level| {
                            level
                                .iter()
                                .filter_map(|&p| policies.get(p))
                                .map(|p| p.id.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    ids.sort();
                    ids.dedup();
                    let mut cause = empty_cause(CauseKind::NoAllow);
                    cause.level_policy_ids = ids;
                    self.tally(cause, false)
                }
                BlockerKind::ExplicitDeny => {
                    let policy = blocker.policy.and_then(|p| policies.get(p));
                    let statement =
                        policy.and_then(|p| blocker.statement.and_then(|s| p.statements.get(s)));
                    let mut cause = empty_cause(CauseKind::ExplicitDeny);
                    cause.policy_id = policy.map(|p| p.id.clone());
                    cause.policy_name = policy.map(|p| p.name.clone());
                    cause.sid = statement.and_then(|s| s.sid.clone());
                    cause.statement_index = statement.map(|s| s.index);
                    cause.leg = leg.map(|l| leg_name(l.kind));
                    let region_deny = statement.is_some_and(|s| {
                        s.conditions
                            .iter()
                            .any(|c| c.key_lowercase() == "aws:requestedregion")
                    });
                    let index = self.tally(cause, region_deny);
                    if let (Some(tally), Some(leg)) = (self.tallies.get_mut(index as usize), leg) {
                        let cause = &mut tally.cause;
                        if !cause.regions.contains(&leg.region) {
                            cause.regions.push(leg.region.clone());
                        }
                        if !cause.actions.contains(&leg.action) {
                            cause.actions.push(leg.action.clone());
                        }
                    }
                    index
                }
            };
            let level = match blocker.kind {
                BlockerKind::AccountNotActive => None,
                _ => blocker.level,
            };
            if !out.contains(&(index, level)) {
                out.push((index, level));
            }
        }
        out
    }
}

/// Tallies the causes of every non-reachable decision into problems, worst first.
pub(super) fn problems<'a>(
    org: &Org<'a>,
    checks: &[Check],
    targets: &[TargetRef<'a>],
    items: &[Decided],
) -> Problems {
    let mut builder = Builder {
        org,
        checks,
        tallies: Vec::new(),
        keys: HashMap::default(),
    };
    let mut verdict_ids: HashMap<*const Verdict, u32> = HashMap::default();
    let mut verdict_causes: Vec<Vec<VerdictCause>> = Vec::new();
    let mut item_verdict = Vec::with_capacity(items.len());
    // Per position: the target each chain level is attached to (built when first needed).
    let mut levels: Option<(u32, Vec<String>)> = None;
    let mut reported = vec![false; targets.len()];
    for item in items {
        let Some(&target) = targets.get(item.position as usize) else {
            item_verdict.push(u32::MAX);
            continue;
        };
        if let Some(slot) = reported.get_mut(item.position as usize) {
            *slot = true;
        }
        let pointer = Arc::as_ptr(&item.verdict);
        let id = match verdict_ids.get(&pointer) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(verdict_causes.len()).unwrap_or(u32::MAX);
                let causes = match checks.get(item.check as usize) {
                    Some(check) => builder.causes_of(&item.verdict, target, check),
                    None => Vec::new(),
                };
                verdict_causes.push(causes);
                verdict_ids.insert(pointer, id);
                id
            }
        };
        item_verdict.push(id);
        let Some(causes) = verdict_causes.get(id as usize) else {
            continue;
        };
        for &(cause, level) in causes {
            let Some(tally) = builder.tallies.get_mut(cause as usize) else {
                continue;
            };
            tally.findings += 1;
            if item.verdict.status.severity() > tally.status.severity() {
                tally.status = item.verdict.status;
            }
            if let Some(slot) = tally.checks.get_mut(item.check as usize) {
                *slot = true;
            }
            if tally.positions.last() != Some(&item.position) {
                tally.positions.push(item.position);
                if let Some(level) = level {
                    if levels.as_ref().is_none_or(|(p, _)| *p != item.position) {
                        levels = Some((item.position, org.level_targets(target)));
                    }
                    if let Some(id) = levels.as_ref().and_then(|(_, ids)| ids.get(level)) {
                        tally.attached.insert(id.clone());
                    }
                } else if tally.cause.kind == CauseKind::AccountNotActive {
                    tally.attached.insert(org.target_id(target).to_string());
                }
            }
        }
    }
    let tree = reported_tree(org, targets, &reported);
    let built: Vec<Problem> = builder
        .tallies
        .into_iter()
        .map(|tally| problem(org, checks, targets, &tree, tally))
        .collect();
    // Tally index → place after sorting.
    let mut order: Vec<usize> = (0..built.len()).collect();
    order.sort_by(|&a, &b| match (built.get(a), built.get(b)) {
        (Some(a), Some(b)) => problems::worst_first(a, b),
        _ => std::cmp::Ordering::Equal,
    });
    let mut place = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        if let Some(slot) = place.get_mut(old) {
            *slot = u32::try_from(new).unwrap_or(u32::MAX);
        }
    }
    let mut slots: Vec<Option<Problem>> = built.into_iter().map(Some).collect();
    let built: Vec<Problem> = order
        .iter()
        .filter_map(|&old| slots.get_mut(old).and_then(Option::take))
        .collect();
    let verdict_problems = verdict_causes
        .into_iter()
        .map(|causes| {
            let mut list: Vec<u32> = causes
                .iter()
                .filter_map(|&(cause, _)| place.get(cause as usize).copied())
                .collect();
            list.sort_unstable();
            list.dedup();
            list
        })
        .collect();
    Problems {
        problems: built,
        item_verdict,
        verdict_problems,
    }
}

/// The reported targets as a tree (parents before children, as in report order): each
/// reported position's nearest reported ancestor, and the positions in node order.
struct ReportedTree {
    positions: Vec<u32>,
    parents: Vec<Option<usize>>,
    /// Report position → node index.
    node_of: Vec<Option<usize>>,
}

fn reported_tree<'a>(org: &Org<'a>, targets: &[TargetRef<'a>], reported: &[bool]) -> ReportedTree {
    let mut node_of = vec![None; targets.len()];
    let mut index_of: HashMap<&str, usize> = HashMap::default();
    for (position, &target) in targets.iter().enumerate() {
        index_of.insert(org.target_id(target), position);
    }
    let mut positions = Vec::new();
    let mut parents = Vec::new();
    for (position, &target) in targets.iter().enumerate() {
        if !reported.get(position).copied().unwrap_or(false) {
            continue;
        }
        let mut parent = None;
        let mut current = org.parent_of(org.target_id(target));
        let mut steps = 0;
        while let Some(id) = current {
            if let Some(node) = index_of
                .get(id)
                .and_then(|&p| node_of.get(p).copied().flatten())
            {
                parent = Some(node);
                break;
            }
            current = org.parent_of(id);
            steps += 1;
            if steps > targets.len() {
                break;
            }
        }
        if let Some(slot) = node_of.get_mut(position) {
            *slot = Some(positions.len());
        }
        positions.push(u32::try_from(position).unwrap_or(u32::MAX));
        parents.push(parent);
    }
    ReportedTree {
        positions,
        parents,
        node_of,
    }
}

fn problem<'a>(
    org: &Org<'a>,
    checks: &[Check],
    targets: &[TargetRef<'a>],
    tree: &ReportedTree,
    tally: Tally,
) -> Problem {
    let mut affected = vec![false; tree.positions.len()];
    for &position in &tally.positions {
        if let Some(Some(node)) = tree.node_of.get(position as usize)
            && let Some(slot) = affected.get_mut(*node)
        {
            *slot = true;
        }
    }
    let target_ids: Vec<String> = problems::compress(&tree.parents, &affected)
        .into_iter()
        .filter_map(|node| tree.positions.get(node))
        .filter_map(|&p| targets.get(p as usize))
        .map(|&t| org.target_id(t).to_string())
        .collect();
    let mut profiles = BTreeSet::new();
    let mut regions = BTreeSet::new();
    for (check, _) in checks.iter().zip(&tally.checks).filter(|(_, on)| **on) {
        profiles.insert(check.profile_id.clone());
        regions.insert(check.source_region.clone());
    }
    let mut cause = tally.cause;
    cause.regions.sort();
    cause.actions.sort();
    cause.attached_to = tally.attached.into_iter().collect();
    let names: Vec<String> = cause.attached_to.iter().map(|id| org.name_of(id)).collect();
    let explanation = problems::explanation(&cause, &names, tally.region_deny);
    Problem {
        id: problems::problem_id(&problems::cause_key(&cause)),
        status: tally.status,
        cause,
        affected: Affected {
            findings: tally.findings,
            targets: tally.positions.len(),
            target_ids,
            profiles: profiles.into_iter().collect(),
            source_regions: regions.into_iter().collect(),
        },
        explanation,
        proposal_ids: Vec::new(),
        unresolved_reason: None,
    }
}
