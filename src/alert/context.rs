//! What every part of one alert shares (the report, the trigger, the proposals and the counts
//! of changes), and how much detail a part carries.

use std::collections::BTreeMap;

use super::state::{ChangeKind, FindingChange};
use super::trigger::Trigger;
use crate::findings::{Proposal, Report};

/// How much of each change and proposal a part carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    Full,
    /// Proposals without before/after/diff.
    Compact,
    /// Also at most [`MINIMAL_BLOCKERS`] blockers per finding and a bounded explanation.
    Minimal,
}

impl Detail {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Detail::Full => "full",
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
    counts: BTreeMap<ChangeKind, usize>,
    pub(super) total: usize,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        changes: &[FindingChange],
        report: &'a Report,
        trigger: &'a Trigger,
        proposals: &'a [Proposal],
    ) -> Self {
        let mut counts = BTreeMap::new();
        for change in changes {
            *counts.entry(change.kind).or_insert(0) += 1;
        }
        Context {
            report,
            trigger,
            proposals,
            counts,
            total: changes.len(),
        }
    }

    /// How many changes of this kind the whole alert has.
    pub(super) fn count(&self, kind: ChangeKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    pub(super) fn proposals_for(&self, key: &str) -> Vec<&'a Proposal> {
        self.proposals
            .iter()
            .filter(|p| p.fixes.iter().any(|k| k == key))
            .collect()
    }
}
