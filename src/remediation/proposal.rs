//! Proof and proposal: a plan is applied and re-evaluated ([`super::verify`]), and a plan that
//! fixes what it claims and opens nothing becomes a [`Proposal`] with its diff, artifact and
//! summary text.

use std::collections::BTreeSet;

use crate::findings::{Finding, Proposal, ProposalKind, Verification};

use super::context::Ctx;
use super::error::ProofError;
use super::plan::Plan;
use super::problems::Group;
use super::{document, verify};

/// Why a plan did not become a proposal.
#[derive(Clone)]
pub(crate) struct Failure {
    pub(crate) error: ProofError,
    /// Boxed: `Failure` is the `Err` of every proof.
    pub(crate) left: Box<Left>,
}

/// What a failed proof's re-evaluation left.
#[derive(Clone, Default)]
pub(crate) struct Left {
    /// Claimed findings still not reachable after the change, as re-evaluated.
    pub(crate) still: Vec<Finding>,
    /// The organization's own statements (`policyId/Sid`) the proof accepted as limiting only
    /// who may call ([`verify::Outcome::allowed_principals`]): not what still blocks.
    pub(crate) own_conditions: BTreeSet<String>,
    /// The plan, when the proof stopped at its unfixed claims without probing what it opens
    /// ([`verify::Openings::WhenClaimsHold`]): proving it again with
    /// [`verify::Openings::Always`] gives the full reason.
    pub(crate) unprobed: Option<Plan>,
}

impl From<ProofError> for Failure {
    fn from(error: ProofError) -> Failure {
        Failure {
            error,
            left: Box::default(),
        }
    }
}

impl Ctx<'_> {
    /// Applies, re-evaluates and turns a plan into a proposal, or says why not.
    pub(crate) fn prove(
        &self,
        group: &Group,
        plan: Plan,
        openings: verify::Openings,
    ) -> Result<Proposal, Failure> {
        let fixes: BTreeSet<String> = group.findings.iter().map(|f| f.key()).collect();
        let what = kind_name(plan.kind);
        for doc in &plan.documents {
            let size = document::minified(&doc.after).chars().count();
            if size > crate::snapshot::MAX_SCP_CHARS {
                return Err(ProofError::DocumentTooLarge {
                    what,
                    file: doc.file.clone(),
                    chars: size,
                }
                .into());
            }
        }
        let outcome = verify::verify(
            self,
            &verify::Claim {
                changes: &plan.changes,
                fixes: &fixes,
                new_regions: &plan.new_regions,
                extra_probes: &plan.probes,
                openings,
            },
        )
        .map_err(|error| Failure::from(ProofError::Invalid { what, error }))?;
        if !outcome.still_blocked.is_empty() || !outcome.newly_allowed.is_empty() {
            return Err(Failure {
                error: ProofError::DidNotVerify {
                    what,
                    still_blocked: outcome.still_blocked,
                    newly_allowed: outcome.newly_allowed,
                },
                left: Box::new(Left {
                    still: outcome.still_findings,
                    own_conditions: outcome.allowed_principals,
                    unprobed: (!outcome.probed).then_some(plan),
                }),
            });
        }
        if outcome.fixed == 0 {
            return Err(ProofError::FixesNothing { what }.into());
        }
        Ok(self.proposal(group, plan, &fixes, &outcome))
    }

    fn proposal(
        &self,
        group: &Group,
        plan: Plan,
        fixes: &BTreeSet<String>,
        outcome: &verify::Outcome,
    ) -> Proposal {
        let primary = plan.documents.first();
        let before = primary
            .and_then(|d| d.before.as_ref())
            .map(document::minified);
        let after = primary.map(|d| document::minified(&d.after));
        let size = plan
            .documents
            .iter()
            .map(|d| document::minified(&d.after).chars().count())
            .max();
        let diff: String = plan
            .documents
            .iter()
            .map(|d| {
                let before = d.before.as_ref().map(document::pretty).unwrap_or_default();
                document::unified_diff(&d.file, &before, &document::pretty(&d.after))
            })
            .collect();
        let mut artifact = serde_json::Map::new();
        for (key, value) in &plan.artifact {
            artifact.insert(key.clone(), value.clone());
        }
        let files: serde_json::Map<String, serde_json::Value> = plan
            .documents
            .iter()
            .map(|d| {
                (
                    d.file.clone(),
                    serde_json::Value::String(document::minified(&d.after)),
                )
            })
            .collect();
        artifact.insert("files".into(), serde_json::Value::Object(files));
        artifact.insert(
            "whatIf".into(),
            serde_json::to_value(&plan.changes).unwrap_or(serde_json::Value::Null),
        );
        let mut summary = plan.summary.join(" ");
        let targets: BTreeSet<String> = group
            .findings
            .iter()
            .map(|f| f.target_path.clone())
            .collect();
        let profiles: BTreeSet<&str> = group
            .findings
            .iter()
            .map(|f| f.profile_id.as_str())
            .collect();
        let becomes = if outcome.allowed_principals.is_empty() {
            "every claimed finding becomes reachable".to_string()
        } else {
            format!(
                "every claimed finding becomes reachable for the principals the organization's own conditions allow ({}, left as they are)",
                join_list(
                    &outcome
                        .allowed_principals
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                )
            )
        };
        summary.push_str(&format!(
            " Fixes {} finding{} ({} for {}). Verified by re-evaluating the organization with the change applied: {becomes}, and none of {} probe requests (other services, direct model calls and calls through profiles that are not approved, in every Region the profiles use) changes from denied to allowed in any of the {} OUs and accounts.",
            fixes.len(),
            if fixes.len() == 1 { "" } else { "s" },
            join_list(&profiles.into_iter().map(str::to_string).collect::<Vec<_>>()),
            join_list(&targets.into_iter().collect::<Vec<_>>()),
            outcome.probes,
            outcome.targets
        ));
        Proposal {
            id: String::new(),
            fixes: fixes.iter().cloned().collect(),
            kind: plan.kind,
            policy_id: plan.policy_id,
            target_ids: plan.targets.into_iter().collect(),
            before,
            after,
            diff: Some(diff),
            size_chars: size,
            verification: Verification {
                fixed_findings: outcome.fixed,
                still_blocked: outcome.still_blocked.len(),
                newly_allowed_outside_profiles: outcome.newly_allowed.clone(),
                fixed_for_allowed_principals: outcome.allowed_principals.iter().cloned().collect(),
            },
            apply: plan.apply.join("\n"),
            fixes_problems: group
                .findings
                .iter()
                .flat_map(|f| f.problem_ids.iter().cloned())
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect(),
            summary,
            artifact: Some(serde_json::Value::Object(artifact)),
        }
    }
}

fn kind_name(kind: ProposalKind) -> &'static str {
    match kind {
        ProposalKind::PatchScp => "the SCP patch",
        ProposalKind::NewScp => "the new SCP",
        ProposalKind::ControlTowerParameters => "option 1 (Control Tower parameters)",
        ProposalKind::CfctManifest => "option 2 (governed Region + CfCT SCP)",
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
