//! What the guard publishes for a report's changes: verified proposals for the changed problems
//! (bounded, saying what was left out) and the SNS messages (contract §5). Pure, so the guard and
//! `cris-guard evaluate --format sns` build the very same messages.

use std::collections::BTreeSet;

use crate::alert::{self, Alert, FindingChange, SnsMessage, Trigger};
use crate::findings::{Report, Status};
use crate::remediation;
use crate::snapshot::ValidSnapshot;

/// At most this many changed problems (changed findings, for a report without problems) get a
/// proposal per alert: each is verified by re-evaluating the organization, and a first sweep of
/// a large organization must not run past the Lambda's timeout. The alert counts the rest and
/// points at `cris-guard propose`.
pub const MAX_PROPOSED: usize = 20;

/// The messages that alert `changes` of `report` (one, or "part i of n"; none without
/// changes), with proposals for the first [`MAX_PROPOSED`] changed problems that are blocked or
/// conditional, as far as `should_stop` lets the proofs run (the guard's time budget: an alert
/// without every proposal beats no alert). What was left out is counted in the alert.
pub fn alert_messages(
    snapshot: &ValidSnapshot,
    report: &Report,
    changes: &[FindingChange],
    trigger: &Trigger,
    options: &remediation::Options,
    should_stop: &dyn Fn() -> bool,
) -> Vec<SnsMessage> {
    if changes.is_empty() {
        return Vec::new();
    }
    let fixable =
        |c: &FindingChange| matches!(c.finding.status, Status::Blocked | Status::Conditional);
    let problems = alert::changed_problems(changes, report);
    let (wanted, unproposed): (BTreeSet<String>, usize) = if problems.is_empty() {
        let eligible: Vec<&FindingChange> = changes.iter().filter(|c| fixable(c)).collect();
        (
            eligible
                .iter()
                .take(MAX_PROPOSED)
                .map(|c| c.key())
                .collect(),
            eligible.len().saturating_sub(MAX_PROPOSED),
        )
    } else {
        let eligible: Vec<_> = problems
            .iter()
            .filter(|p| p.changes.iter().any(|c| fixable(c)))
            .collect();
        (
            eligible
                .iter()
                .take(MAX_PROPOSED)
                .flat_map(|p| p.changes.iter().filter(|c| fixable(c)).map(|c| c.key()))
                .collect(),
            eligible.len().saturating_sub(MAX_PROPOSED),
        )
    };
    let (proposals, stopped) = if wanted.is_empty() {
        (Vec::new(), false)
    } else {
        remediation::propose_for(snapshot, report, options, &wanted, should_stop)
    };
    let mut unproposed = unproposed;
    if stopped {
        // The changed problems the budget left without a proposal.
        let fixed: BTreeSet<&str> = proposals
            .iter()
            .flat_map(|p| p.fixes.iter().map(String::as_str))
            .collect();
        unproposed += if problems.is_empty() {
            wanted
                .iter()
                .filter(|k| !fixed.contains(k.as_str()))
                .count()
        } else {
            problems
                .iter()
                .filter(|p| p.changes.iter().any(|c| fixable(c)))
                .take(MAX_PROPOSED)
                .filter(|p| !p.changes.iter().any(|c| fixed.contains(c.key().as_str())))
                .count()
        };
    }
    alert::messages(&Alert {
        changes,
        report,
        trigger,
        proposals: &proposals,
        management_account_id: Some(&snapshot.snapshot.organization.management_account_id),
        unproposed,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::alert::fixtures::keys_in;
    use crate::generate::{self, GenerateOptions};

    /// A first sweep (empty alert state) of `snapshot`: its parts, each within the budget, as
    /// JSON, after checking that together they name every change exactly once.
    fn first_sweep_parts(
        snapshot: crate::snapshot::Snapshot,
        options: &remediation::Options,
        should_stop: &dyn Fn() -> bool,
    ) -> Vec<Value> {
        let valid = crate::snapshot::validate("generated", snapshot).unwrap();
        let report = crate::reachability::evaluate(&valid, &options.evaluation);
        let changes = alert::diff(&alert::StateView::new(), &report);
        assert!(changes.len() > 1_000, "{} changes", changes.len());
        let messages = alert_messages(
            &valid,
            &report,
            &changes,
            &Trigger::schedule(),
            options,
            should_stop,
        );
        let parts: Vec<Value> = messages
            .iter()
            .map(|message| {
                assert!(message.publish_bytes() <= alert::PUBLISH_BUDGET_BYTES);
                serde_json::from_str(&message.json).unwrap()
            })
            .collect();
        let named: BTreeSet<String> = parts.iter().flat_map(keys_in).collect();
        let changed: BTreeSet<String> = changes.iter().map(FindingChange::key).collect();
        assert_eq!(named, changed);
        parts
    }

    /// Regression: the first sweep of a generated 150-account organization was published in
    /// 157 parts, each change carrying its finding and blockers; per problem it fits in one or
    /// two, and still names every changed check.
    #[test]
    fn a_first_sweep_of_a_generated_organization_fits_in_few_parts() {
        let snapshot = generate::organization(&GenerateOptions {
            accounts: 150,
            ..GenerateOptions::default()
        });
        let parts = first_sweep_parts(snapshot, &remediation::Options::default(), &|| true);
        assert!(parts.len() <= 2, "{} parts", parts.len());
    }

    /// Regression: the guard's first sweep of a generated 1,000-account organization (seed 42,
    /// two source Regions, as `cargo bench --bench guard` runs it) was published in 2,753 parts
    /// of about 850 KB each, over SNS's limit: each part carried two proposals naming every one
    /// of the 3,000 findings they fix. A part names only its own changes a proposal fixes.
    #[test]
    fn proposals_fixing_thousands_of_findings_do_not_swell_every_part() {
        let mut snapshot = generate::organization(&GenerateOptions {
            accounts: 1_000,
            seed: 42,
            ..GenerateOptions::default()
        });
        let regions = ["us-east-1", "us-west-2"];
        snapshot
            .inference_profiles
            .retain(|region, _| regions.contains(&region.as_str()));
        let mut options = remediation::Options::default();
        options.evaluation.source_regions = regions.iter().map(|r| r.to_string()).collect();
        let parts = first_sweep_parts(snapshot, &options, &|| false);
        assert!(parts.len() <= 4, "{} parts", parts.len());
        let mut fixed_findings = 0;
        for part in &parts {
            let keys = keys_in(part);
            for proposal in part["proposals"].as_array().unwrap() {
                fixed_findings =
                    fixed_findings.max(proposal["verification"]["fixedFindings"].as_u64().unwrap());
                for key in proposal["fixes"].as_array().unwrap() {
                    assert!(
                        keys.iter().any(|k| Some(k.as_str()) == key.as_str()),
                        "{key} is not in this part"
                    );
                }
            }
        }
        assert!(
            fixed_findings > 1_000,
            "a proposal fixes {fixed_findings} findings"
        );
    }
}
