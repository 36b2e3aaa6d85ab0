//! Remediation: the smallest SCP change (or Control Tower parameters / CfCT entry) that restores
//! reachability, proven by re-evaluating the snapshot with the change applied.

use crate::reachability;
use crate::report::{Proposal, Report};
use crate::snapshot::ValidSnapshot;

/// What a fix may open.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Profiles a fix may open; empty means the ones found blocked or conditional.
    pub approved_profiles: Vec<String>,
    /// The options the report was evaluated with (re-used for verification).
    pub evaluation: reachability::Options,
}

/// Proposals for every blocked or conditional finding of `report`; only verified ones.
pub fn propose(_snapshot: &ValidSnapshot, _report: &Report, _options: &Options) -> Vec<Proposal> {
    Vec::new()
}
