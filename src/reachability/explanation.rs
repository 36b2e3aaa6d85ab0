//! One-sentence explanations of findings, written for a platform engineer.

use crate::findings::{Blocker, BlockerKind, CheckKind, Status};
use crate::org::{Org, TargetRef};
use crate::request::leg::LegKind;

use super::profiles::Check;
use super::verdict::Verdict;

/// `bedrock:InvokeModel` → `InvokeModel`.
fn short_action(action: &str) -> &str {
    action
        .split_once(':')
        .map(|(_, name)| name)
        .unwrap_or(action)
}

fn statement_words(org: &Org<'_>, blocker: &Blocker) -> String {
    let policy = blocker
        .policy_name
        .clone()
        .or_else(|| blocker.policy_id.clone())
        .unwrap_or_default();
    let sid = match (&blocker.sid, blocker.statement_index) {
        (Some(sid), _) => format!("Sid {sid}"),
        (None, Some(index)) => format!("statement {index}"),
        (None, None) => String::new(),
    };
    let attached = blocker
        .attached_to
        .as_deref()
        .map(|id| org.name_of(id))
        .unwrap_or_default();
    format!("the deny in {policy} ({sid}, attached to {attached})")
}

/// Explains a finding.
pub fn explain(
    org: &Org<'_>,
    target: TargetRef<'_>,
    check: &Check,
    verdict: &Verdict,
    blockers: &[Blocker],
) -> String {
    let profile = &match check.kind {
        CheckKind::Inference => check.profile_id.clone(),
        CheckKind::GuardrailProfile => format!("guardrail profile {}", check.profile_id),
        CheckKind::MarketplaceFirstUse => format!("first use of {}", check.profile_id),
    };
    let source = &check.source_region;
    match verdict.status {
        Status::Unknown => format!(
            "Cannot decide {profile} from {source}: {}.",
            verdict
                .reason
                .as_deref()
                .unwrap_or("a fact the answer needs is missing")
        ),
        Status::Reachable => {
            if let TargetRef::Account(id) = target
                && org.is_management(id)
            {
                return format!(
                    "{profile} from {source} is reachable: SCPs never restrict the management account."
                );
            }
            let mut regions: Vec<&str> = check.legs.iter().map(|l| l.region.as_str()).collect();
            regions.sort_unstable();
            regions.dedup();
            let checked = match check.kind {
                CheckKind::Inference => "profile and models",
                CheckKind::GuardrailProfile => "ApplyGuardrail on the guardrail profile",
                CheckKind::MarketplaceFirstUse => "aws-marketplace:Subscribe and ViewSubscriptions",
            };
            format!(
                "{profile} from {source} is reachable: all {} authorization checks ({checked} in {}) are allowed for every principal.",
                verdict.requests,
                regions.join(", ")
            )
        }
        Status::Blocked | Status::Conditional => {
            let Some(first) = blockers.first() else {
                return format!("{profile} from {source} is {}.", verdict.status.as_str());
            };
            let leg = check.legs.iter().find(|l| {
                l.region == first.region && l.action == first.action && l.resource == first.resource
            });
            let cause = match first.kind {
                BlockerKind::AccountNotActive => {
                    let status = match target {
                        TargetRef::Account(id) => org
                            .account(id)
                            .map(|a| a.status.clone())
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    return format!(
                        "The account is {status}: no principal in it can call Bedrock."
                    );
                }
                BlockerKind::ExplicitDeny => {
                    format!("which {} rejects", statement_words(org, first))
                }
                BlockerKind::NoAllow => format!(
                    "which no SCP attached to {} allows",
                    first
                        .attached_to
                        .as_deref()
                        .map(|id| org.name_of(id))
                        .unwrap_or_default()
                ),
            };
            let action = short_action(&first.action);
            let what = match leg.map(|l| l.kind) {
                Some(LegKind::DestinationModel) => {
                    format!(
                        "{action} from {source} is routed to {}, {cause}",
                        first.region
                    )
                }
                Some(LegKind::GlobalModel) => format!(
                    "{action} through the global profile checks the Region-less model with aws:RequestedRegion = unspecified, {cause}"
                ),
                Some(LegKind::Profile) => {
                    format!("{action} on the profile itself in the source Region {source}, {cause}")
                }
                Some(LegKind::SourceModel) | None => {
                    format!("{action} on the model in the source Region {source}, {cause}")
                }
                // The blog's bedrock:InferenceProfileArn exemption never covers this request.
                Some(LegKind::GuardrailProfile) if first.region == *source => format!(
                    "{action} on {profile} in the source Region {source} (a guardrailed call), {cause}"
                ),
                Some(LegKind::GuardrailProfile) => format!(
                    "{action} on {profile} from {source} is routed to {}, {cause}",
                    first.region
                ),
                Some(LegKind::Marketplace) => format!(
                    "the {profile} from {source} in an account not yet subscribed needs {}, {cause}",
                    first.action
                ),
            };
            let more = blockers.len().saturating_sub(1);
            let more = if more > 0 {
                format!(" ({more} more blocker{})", if more == 1 { "" } else { "s" })
            } else {
                String::new()
            };
            if verdict.status == Status::Conditional {
                let conditions: Vec<String> = verdict
                    .conditions
                    .iter()
                    .map(|c| format!("{} {} [{}]", c.key, c.operator, c.values.join(", ")))
                    .collect();
                format!(
                    "Reachable only when {}; for other principals {what}{more}.",
                    conditions.join(" and ")
                )
            } else {
                let mut sentence = what;
                if let Some(first_char) = sentence.get(..1) {
                    sentence = format!("{}{}", first_char.to_uppercase(), &sentence[1..]);
                }
                format!("{sentence}{more}.")
            }
        }
    }
}
