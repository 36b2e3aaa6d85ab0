//! Why remediation has no proposal for a problem, one enum per step (reading blockers, planning,
//! proving), each variant naming the finding, policy or target it concerns. The texts are the
//! `reason`s of [`crate::findings::Unresolved`].

use std::collections::BTreeSet;

use crate::error::InputError;
use crate::findings::{CauseKind, LegName};

use super::MAX_SCPS_PER_TARGET;

/// Why no proposal covers a problem (its text is the `Unresolved` reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Rejection {
    #[error(
        "denied by design: {profile_id} is not an approved profile (--approved-profile), so no fix may open it"
    )]
    NotApproved { profile_id: String },
    #[error(
        "denied by design: only the principals that {statements} allow may call, wherever the call is routed, and no fix widens who may call"
    )]
    WhoMayCall { statements: String },
    #[error("{finding} is {status} but names no SCP statement or level to change")]
    NothingToChange {
        finding: String,
        status: &'static str,
    },
    #[error(transparent)]
    Blocker(#[from] BlockerError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A plan that did not prove, with what the blockers behind the first ones say.
    #[error("{error}{}", behind(.unfixable))]
    Proof {
        error: ProofError,
        unfixable: BTreeSet<String>,
    },
}

/// At most this many reasons behind the first blockers are named in a reason.
const MAX_BEHIND_LISTED: usize = 10;

/// Bounded like [`did_not_verify`]: at 6,000 accounts the blockers behind a failed plan gave
/// thousands of distinct reasons, and the reason of every finding of the group repeated them
/// (5.8 GB in one event's proofs).
fn behind(unfixable: &BTreeSet<String>) -> String {
    if unfixable.is_empty() {
        return String::new();
    }
    let reasons: Vec<&str> = unfixable
        .iter()
        .take(MAX_BEHIND_LISTED)
        .map(String::as_str)
        .collect();
    let more = unfixable.len() - reasons.len();
    let mut text = format!(". Behind the first blockers: {}", reasons.join("; "));
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// A blocker no SCP or Control Tower change may lift.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BlockerError {
    #[error("account {account_id} is not ACTIVE; no SCP change makes it reachable")]
    AccountNotActive { account_id: String },
    #[error("{finding}: a level without an Allow is not named")]
    UnnamedLevel { finding: String },
    #[error("{finding}: blocking policy `{policy_id}` is unknown")]
    UnknownPolicy { finding: String, policy_id: String },
    #[error(
        "{finding}: the blocked request {action} on {resource} in {region} is not one of its check's requests"
    )]
    UnknownLeg {
        finding: String,
        action: String,
        resource: String,
        region: String,
    },
    #[error(
        "{profile_id} from {source_region} is denied in its source Region {} by {} ({}, {}): the request on the profile itself carries no bedrock:InferenceProfileArn, so a profile exemption cannot open it, and allowing the source Region would open it for every service",
        .deny.region, .deny.policy_name, .deny.policy_id, .deny.statement
    )]
    SourceRegionDenied {
        profile_id: String,
        source_region: String,
        deny: Box<Deny>,
    },
    #[error(
        "the Control Tower control {} in {} ({}) denies {} in {}; it has no parameter that exempts Bedrock and Control Tower SCPs are never edited in place (drift)",
        .deny.statement, .deny.policy_name, .deny.policy_id, .deny.action, .deny.region
    )]
    ControlTowerControl { deny: Box<Deny> },
    #[error(
        "the AWS-managed policy {} ({}) denies {} in {}; AWS-managed policies cannot be edited",
        .deny.policy_name, .deny.policy_id, .deny.action, .deny.region
    )]
    AwsManaged { deny: Box<Deny> },
}

/// The kind of problem a [`BlockerError`] is about, as far as it tells.
pub(crate) struct BlockerCause<'a> {
    pub kind: CauseKind,
    pub policy_id: Option<&'a str>,
    pub leg: Option<LegName>,
}

impl BlockerError {
    /// Which of a finding's problems the error is about (kind, denying policy, leg).
    pub(crate) fn cause(&self) -> Option<BlockerCause<'_>> {
        fn deny(deny: &Deny, leg: Option<LegName>) -> Option<BlockerCause<'_>> {
            Some(BlockerCause {
                kind: CauseKind::ExplicitDeny,
                policy_id: Some(deny.policy_id.as_str()),
                leg,
            })
        }
        match self {
            BlockerError::AccountNotActive { .. } => Some(BlockerCause {
                kind: CauseKind::AccountNotActive,
                policy_id: None,
                leg: None,
            }),
            BlockerError::SourceRegionDenied { deny: d, .. } => deny(d, Some(LegName::Profile)),
            BlockerError::ControlTowerControl { deny: d }
            | BlockerError::AwsManaged { deny: d } => deny(d, None),
            BlockerError::UnnamedLevel { .. }
            | BlockerError::UnknownPolicy { .. }
            | BlockerError::UnknownLeg { .. } => None,
        }
    }
}

/// The statement that denies a blocked request, and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deny {
    pub policy_name: String,
    pub policy_id: String,
    /// `Sid X` or `statement #N`.
    pub statement: String,
    pub action: String,
    pub region: String,
}

/// A policy document remediation cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DocumentError {
    #[error("invalid JSON: {message}")]
    InvalidJson { message: String },
    #[error("the policy has no Statement list")]
    NoStatementList,
    #[error(
        "its statement {sid} denies the source Region on a narrower Resource than \"*\", so it cannot be narrowed by NotResource"
    )]
    CannotNarrow { sid: String },
    #[error("statement #{index} is not in the policy")]
    NoStatement { index: usize },
}

/// A patch too large for one SCP: `patching <name> (<id>) would make it N characters, …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "patching {policy_name} ({policy_id}) would make it {chars} characters, over the 5,120-character SCP limit even minified"
)]
pub(crate) struct Oversize {
    pub policy_name: String,
    pub policy_id: String,
    pub chars: usize,
}

/// Why no plan could be built for a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlanError {
    #[error("policy `{policy_id}` is not in the snapshot")]
    UnknownPolicy { policy_id: String },
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(
        "{oversize}, and the patched statements are the whole policy, so splitting it across policies does not help"
    )]
    WholePolicy { oversize: Oversize },
    #[error(
        "{oversize}, and moving the patched statement to a new SCP is not possible: {target_name} ({target_id}) already has {attached} SCPs attached (the limit is {MAX_SCPS_PER_TARGET})"
    )]
    NoRoomToMove {
        oversize: Oversize,
        target_name: String,
        target_id: String,
        attached: usize,
    },
    #[error("{oversize}, and the patched statements alone would be {chars} characters")]
    MovedTooLarge { oversize: Oversize, chars: usize },
    #[error(
        "the requests to allow at {level_name} ({level_id}) could not be derived from the snapshot"
    )]
    NoRequestsToAllow {
        level_name: String,
        level_id: String,
    },
    #[error(
        "{level_name} ({level_id}) needs an Allow for the approved profiles, but no allow-list SCP there has room and it already has {attached} SCPs attached (the limit is {MAX_SCPS_PER_TARGET})"
    )]
    NoRoomForAllow {
        level_name: String,
        level_id: String,
        attached: usize,
    },
    #[error("GRREGIONDENY blocks, but no policy holding it was found")]
    NoLandingZonePolicy,
    #[error(
        "its statement {sid} denies bedrock:ApplyGuardrail on a narrower Resource than \"*\", so the guardrail profile cannot be exempted by NotResource"
    )]
    GuardrailResource { sid: String },
    #[error(
        "the Control Tower Region deny blocks {action} for {profile_id}, a Marketplace first-use request: Control Tower's Region denies exempt `aws-marketplace:*`, so this deny is not one cris-guard knows how to re-shape; check the policy by hand"
    )]
    ControlTowerMarketplace { action: String, profile_id: String },
    #[error(
        "the customer-managed SCP {policy_id} blocks both inference and a guardrail profile or Marketplace request of findings that the Control Tower Region deny also blocks; cris-guard patches one policy for one kind at a time, so fix {policy_id} first and run propose again"
    )]
    SharedPatch { policy_id: String },
    #[error(
        "{level_name} ({level_id}) has no SCP that allows {actions}; cris-guard adds Allows for inference only"
    )]
    NoAllowForOtherKind {
        level_name: String,
        level_id: String,
        actions: String,
    },
}

/// Why a plan did not prove (`what` names the plan: `the SCP patch`, `option 1 (…)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProofError {
    #[error("{what}: {file} would be {chars} characters, over the 5,120-character SCP limit")]
    DocumentTooLarge {
        what: &'static str,
        file: String,
        chars: usize,
    },
    #[error("{what}: {error}")]
    Invalid {
        what: &'static str,
        error: VerifyError,
    },
    #[error("{what} did not verify:{}", did_not_verify(.still_blocked, .newly_allowed))]
    DidNotVerify {
        what: &'static str,
        still_blocked: Vec<String>,
        newly_allowed: Vec<String>,
    },
    #[error("{what} fixes none of the findings it targets")]
    FixesNothing { what: &'static str },
}

/// At most this many still-blocked findings are named in a reason.
const MAX_STILL_LISTED: usize = 40;

fn did_not_verify(still_blocked: &[String], newly_allowed: &[String]) -> String {
    let mut reason = String::new();
    if !still_blocked.is_empty() {
        // At scale thousands of findings stay blocked; the first ones say what is wrong.
        let shown = still_blocked
            .get(..MAX_STILL_LISTED)
            .unwrap_or(still_blocked);
        let more = still_blocked.len() - shown.len();
        reason.push_str(&format!(" still not reachable: {}", shown.join(", ")));
        if more > 0 {
            reason.push_str(&format!(" and {more} more"));
        }
        reason.push(';');
    }
    if !newly_allowed.is_empty() {
        reason.push_str(&format!(
            " it would newly allow: {};",
            newly_allowed.join("; ")
        ));
    }
    reason.trim_end_matches(';').to_string()
}

/// The organization with a plan's changes applied is not one AWS would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum VerifyError {
    #[error("the changed organization is not valid: {}", .error.message)]
    InvalidChange { error: InputError },
    #[error(
        "{target_id} would have {attached} SCPs attached, over the limit of {MAX_SCPS_PER_TARGET}"
    )]
    TooManyScps { target_id: String, attached: usize },
    #[error("{policy_id} would be {chars} characters, over the 5,120-character SCP limit")]
    PolicyTooLarge { policy_id: String, chars: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_proof_lists_what_stayed_and_what_opened_then_what_lies_behind() {
        let rejection = Rejection::Proof {
            error: ProofError::DidNotVerify {
                what: "the SCP patch",
                still_blocked: vec!["a is blocked".into(), "b is blocked".into()],
                newly_allowed: vec!["x".into(), "y".into()],
            },
            unfixable: ["r2".to_string(), "r1".to_string()].into(),
        };
        assert_eq!(
            rejection.to_string(),
            "the SCP patch did not verify: still not reachable: a is blocked, b is blocked; it would newly allow: x; y. Behind the first blockers: r1; r2"
        );
        let many = ProofError::DidNotVerify {
            what: "the SCP patch",
            still_blocked: (0..45).map(|i| format!("f{i} is blocked")).collect(),
            newly_allowed: Vec::new(),
        };
        assert!(
            many.to_string()
                .ends_with("f38 is blocked, f39 is blocked and 5 more"),
            "{many}"
        );
        let deep = Rejection::Proof {
            error: ProofError::FixesNothing { what: "the patch" },
            unfixable: (0..1_000).map(|i| format!("r{i:04}")).collect(),
        };
        assert!(
            deep.to_string().ends_with("r0008; r0009 and 990 more"),
            "{deep}"
        );
        let plain = Rejection::Proof {
            error: ProofError::FixesNothing {
                what: "the new SCP",
            },
            unfixable: BTreeSet::new(),
        };
        assert_eq!(
            plain.to_string(),
            "the new SCP fixes none of the findings it targets"
        );
    }
}
