//! What one alert is about ([`Alert`]), what every part of it shares (the report, the trigger,
//! the proposals, the counts of changes and the changed problems), and how much detail a part
//! carries.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::problems::{ChangedProblem, changed_problems};
use super::state::{ChangeKind, FindingChange};
use super::trigger::Trigger;
use crate::findings::{Proposal, Report};

/// What one alert is about: the changes (as [`super::diff`] found them, worst first) of
/// `report`, why the guard ran, and the verified proposals it carries.
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    pub changes: &'a [FindingChange<'a>],
    pub report: &'a Report,
    pub trigger: &'a Trigger,
    pub proposals: &'a [Proposal],
    /// Makes the policy ARNs the chat notification links (`relatedResources`); without it the
    /// notification names no policy ARN.
    pub management_account_id: Option<&'a str>,
    /// Changed problems (changed findings, for a report without problems) for which no
    /// proposal was computed; the alert says so and points at `cris-guard propose`.
    pub unproposed: usize,
}

impl<'a> Alert<'a> {
    /// An alert with no management account and every proposal computed.
    pub fn new(
        changes: &'a [FindingChange<'a>],
        report: &'a Report,
        trigger: &'a Trigger,
        proposals: &'a [Proposal],
    ) -> Self {
        Alert {
            changes,
            report,
            trigger,
            proposals,
            management_account_id: None,
            unproposed: 0,
        }
    }
}

/// How much of each change and proposal a part carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    Full,
    /// Changes a problem covers only in that problem's `changedChecks`, not one by one.
    Grouped,
    /// Also proposals without before/after/diff.
    Compact,
    /// Also at most [`MINIMAL_BLOCKERS`] blockers per finding and a bounded explanation.
    Minimal,
}

impl Detail {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Detail::Full => "full",
            Detail::Grouped => "grouped",
            Detail::Compact => "compact",
            Detail::Minimal => "minimal",
        }
    }
}

pub(super) const MINIMAL_BLOCKERS: usize = 10;
pub(super) const MINIMAL_EXPLANATION_CHARS: usize = 2_000;

/// What every part shares.
pub(super) struct Context<'a> {
    pub(super) report: &'a Report,
    pub(super) trigger: &'a Trigger,
    pub(super) proposals: &'a [Proposal],
    /// For policy ARNs (the chat notification's related resources).
    pub(super) management_account_id: Option<&'a str>,
    /// Changed problems (or findings, without problems) left without a proposal in this alert.
    pub(super) unproposed: usize,
    counts: BTreeMap<ChangeKind, usize>,
    pub(super) total: usize,
    /// Every changed problem of the alert, worst first; empty for a report without problems,
    /// whose renderings then list changed findings.
    pub(super) problems: Vec<ChangedProblem<'a>>,
    /// The ids of `problems`.
    problem_ids: HashSet<&'a str>,
    /// Finding key → indices in `proposals` of the proposals fixing it. A Control Tower
    /// proposal fixes tens of thousands of findings: scanning its `fixes` once per listed
    /// change made one event alert at 10,000 accounts take 20 s.
    fixed_by: HashMap<&'a str, Vec<usize>>,
    /// [`Self::proposals_for_problem`] of each of `problems` by id, as indices: every
    /// rendering of a part asks it for each of the part's problems.
    problem_proposals: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Context<'a> {
    pub(super) fn new(alert: &Alert<'a>) -> Self {
        let mut counts = BTreeMap::new();
        for change in alert.changes {
            *counts.entry(change.kind).or_insert(0) += 1;
        }
        let problems = changed_problems(alert.changes, alert.report);
        let mut ctx = Context {
            problem_ids: problems.iter().map(|p| p.problem.id.as_str()).collect(),
            report: alert.report,
            trigger: alert.trigger,
            proposals: alert.proposals,
            management_account_id: alert.management_account_id,
            unproposed: alert.unproposed,
            counts,
            total: alert.changes.len(),
            problems,
            fixed_by: fixed_by(alert.proposals),
            problem_proposals: HashMap::new(),
        };
        ctx.problem_proposals = ctx
            .problems
            .iter()
            .map(|changed| {
                (
                    changed.problem.id.as_str(),
                    ctx.problem_proposal_indices(changed),
                )
            })
            .collect();
        ctx
    }

    /// Whether renderings speak of problems (the report has them) or of findings.
    pub(super) fn by_problem(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Whether `change` is one of a changed problem's, so a part listing its problems covers it.
    pub(super) fn in_a_problem(&self, change: &FindingChange) -> bool {
        change
            .finding
            .problem_ids
            .iter()
            .any(|id| self.problem_ids.contains(id.as_str()))
    }

    /// The changed problems with at least one change in `chunk`.
    pub(super) fn problems_in(&self, chunk: &[&FindingChange]) -> Vec<&ChangedProblem<'a>> {
        let ids: BTreeSet<&str> = chunk
            .iter()
            .flat_map(|c| c.finding.problem_ids.iter().map(String::as_str))
            .collect();
        self.problems
            .iter()
            .filter(|p| ids.contains(p.problem.id.as_str()))
            .collect()
    }

    /// The indices of the proposals fixing one of `changes`.
    fn fixing(&self, changes: &[&FindingChange]) -> BTreeSet<usize> {
        if self.fixed_by.is_empty() {
            return BTreeSet::new();
        }
        changes
            .iter()
            .filter_map(|c| self.fixed_by.get(c.key().as_str()))
            .flatten()
            .copied()
            .collect()
    }

    /// The proposals that fix `problem`: those naming it in `fixesProblems`, else (a
    /// remediation that does not fill it) those fixing one of its changed findings.
    pub(super) fn proposals_for_problem(&self, changed: &ChangedProblem<'_>) -> Vec<&'a Proposal> {
        let id = changed.problem.id.as_str();
        match self.problem_proposals.get(id) {
            Some(indices) => indices
                .iter()
                .filter_map(|&i| self.proposals.get(i))
                .collect(),
            None => self
                .problem_proposal_indices(changed)
                .into_iter()
                .filter_map(|i| self.proposals.get(i))
                .collect(),
        }
    }

    fn problem_proposal_indices(&self, changed: &ChangedProblem<'_>) -> Vec<usize> {
        if self.proposals.is_empty() {
            return Vec::new();
        }
        let fixing = self.fixing(&changed.changes);
        self.proposals
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                if p.fixes_problems.is_empty() {
                    fixing.contains(i)
                } else {
                    p.fixes_problems.contains(&changed.problem.id)
                }
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The proposals a part carries: those fixing one of its changes or problems.
    pub(super) fn proposals_in(&self, chunk: &[&FindingChange]) -> Vec<&'a Proposal> {
        self.proposal_indices_in(chunk)
            .into_iter()
            .filter_map(|i| self.proposals.get(i))
            .collect()
    }

    /// [`Self::proposals_in`] split into those a part gives in full and those an earlier part
    /// of the alert already gave (`earlier`: indices), which it names only: at 5,000 accounts
    /// five Control Tower proposals repeated in every part left room for one change per part,
    /// 4,226 parts in all.
    pub(super) fn proposals_split(
        &self,
        chunk: &[&FindingChange],
        earlier: &BTreeSet<usize>,
    ) -> (Vec<&'a Proposal>, Vec<&'a Proposal>) {
        let (given, named): (Vec<usize>, Vec<usize>) = self
            .proposal_indices_in(chunk)
            .into_iter()
            .partition(|i| !earlier.contains(i));
        let of = |list: Vec<usize>| -> Vec<&'a Proposal> {
            list.into_iter()
                .filter_map(|i| self.proposals.get(i))
                .collect()
        };
        (of(given), of(named))
    }

    /// The indices in `proposals` of [`Self::proposals_in`], in order.
    pub(super) fn proposal_indices_in(&self, chunk: &[&FindingChange]) -> Vec<usize> {
        let fixing = self.fixing(chunk);
        let problems: BTreeSet<&str> = self
            .problems_in(chunk)
            .iter()
            .map(|p| p.problem.id.as_str())
            .collect();
        self.proposals
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                fixing.contains(i)
                    || p.fixes_problems
                        .iter()
                        .any(|id| problems.contains(id.as_str()))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// How many changes of this kind the whole alert has.
    pub(super) fn count(&self, kind: ChangeKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    pub(super) fn proposals_for(&self, key: &str) -> Vec<&'a Proposal> {
        self.fixed_by
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.proposals.get(i))
            .collect()
    }
}

fn fixed_by(proposals: &[Proposal]) -> HashMap<&str, Vec<usize>> {
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, proposal) in proposals.iter().enumerate() {
        for key in &proposal.fixes {
            let fixing = index.entry(key.as_str()).or_default();
            // A proposal naming a key twice is still one proposal for it.
            if fixing.last() != Some(&i) {
                fixing.push(i);
            }
        }
    }
    index
}
