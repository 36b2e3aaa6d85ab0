//! Which checks a run makes: the inference checks and the other kinds (contract §8), as the
//! options select them.

use crate::findings::CheckKind;
use crate::snapshot::ValidSnapshot;

use super::other_checks;
use super::profiles::{self, Check, Options};

/// Builds the checks of the snapshot, filtered by the options: inference checks first, then the
/// other kinds (contract §8). `--profile` values name inference profiles, guardrail profiles
/// or Marketplace models; each kind keeps the ones it knows.
pub fn checks(snapshot: &ValidSnapshot, options: &Options) -> Vec<Check> {
    let snapshot = &snapshot.snapshot;
    let kinds = options.kinds(snapshot);
    let mut out = Vec::new();
    if kinds.contains(&CheckKind::Inference) {
        let others = other_checks::ids(snapshot);
        let mut inference = options.clone();
        inference.profiles.retain(|p| !others.contains(p.as_str()));
        if options.profiles.is_empty() || !inference.profiles.is_empty() {
            out.extend(profiles::checks_of(
                &snapshot.inference_profiles,
                &snapshot.gaps,
                &inference,
            ));
        }
    }
    if kinds.contains(&CheckKind::GuardrailProfile) {
        out.extend(other_checks::guardrail_checks(snapshot, options));
    }
    if kinds.contains(&CheckKind::MarketplaceFirstUse) {
        out.extend(other_checks::marketplace_checks(snapshot, options));
    }
    out
}
