//! The smallest statements to add for the requests a principal misses, in AWS's pattern: the
//! profile ARN limited to the source Region, the model in every Region the call reaches limited
//! by `bedrock:InferenceProfileArn` (Deadline Cloud assistant permissions), and the Region-less
//! model with `aws:RequestedRegion = unspecified` for `global.` profiles (the three-part global
//! policy, domain.md §2.1). Each set is proven by re-evaluating the requests with it.

use serde_json::{Value as Json, json};

use super::{Compiled, Decision, EXAMPLE_ACCOUNT, decide, request, with_account};
use crate::arn::{Arn, foundation_model_id};
use crate::policy;
use crate::reachability::{Check, Leg, LegKind};

/// Whether the model of a check is a third-party model sold through AWS Marketplace (every
/// provider but Amazon), whose first call subscribes the account.
pub(super) fn sold_through_marketplace(check: &Check) -> bool {
    check
        .legs
        .iter()
        .find(|leg| leg.kind != LegKind::Profile)
        .and_then(|leg| foundation_model_id(&leg.resource))
        .is_some_and(|model| !model.starts_with("amazon."))
}

/// The statements that allow `legs` of `check`, when adding them makes every one allowed.
pub(super) fn statements(
    check: &Check,
    legs: &[&Leg],
    account: &str,
    compiled: &Compiled,
) -> Vec<Json> {
    // A policy that names no account gets the caller's own through a policy variable.
    let account_text = if account == EXAMPLE_ACCOUNT {
        "${aws:PrincipalAccount}"
    } else {
        account
    };
    let profile_arn = with_account(&check.profile_arn, account_text);
    let partition =
        Arn::parse(&check.profile_arn).map_or_else(|| "aws".to_string(), |a| a.partition);
    let actions = |kinds: &[LegKind]| -> Vec<String> {
        let mut out: Vec<String> = legs
            .iter()
            .filter(|l| kinds.contains(&l.kind))
            .map(|l| l.action.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let model = legs
        .iter()
        .find(|l| l.kind != LegKind::Profile)
        .and_then(|l| foundation_model_id(&l.resource))
        .or_else(|| {
            check
                .legs
                .iter()
                .find_map(|l| foundation_model_id(&l.resource))
        });
    let mut out = Vec::new();
    let profile_actions = actions(&[LegKind::Profile]);
    if !profile_actions.is_empty() {
        out.push(json!({
            "Sid": "AllowCrisInferenceProfile",
            "Effect": "Allow",
            "Action": profile_actions,
            "Resource": profile_arn,
            "Condition": {"StringEquals": {"aws:RequestedRegion": check.source_region}},
        }));
    }
    let regional = actions(&[LegKind::SourceModel, LegKind::DestinationModel]);
    if let Some(model) = &model
        && !regional.is_empty()
    {
        let mut regions: Vec<String> = legs
            .iter()
            .filter(|l| matches!(l.kind, LegKind::SourceModel | LegKind::DestinationModel))
            .map(|l| l.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        out.push(json!({
            "Sid": "AllowCrisFoundationModel",
            "Effect": "Allow",
            "Action": regional,
            "Resource": format!("arn:{partition}:bedrock:*::foundation-model/{model}"),
            "Condition": {
                "StringEquals": {"aws:RequestedRegion": regions},
                "ArnLike": {"bedrock:InferenceProfileArn": profile_arn},
            },
        }));
    }
    let global = actions(&[LegKind::GlobalModel]);
    if let Some(model) = &model
        && !global.is_empty()
    {
        out.push(json!({
            "Sid": "AllowCrisGlobalFoundationModel",
            "Effect": "Allow",
            "Action": global,
            "Resource": format!("arn:{partition}:bedrock:::foundation-model/{model}"),
            "Condition": {"StringEquals": {
                "aws:RequestedRegion": "unspecified",
                "bedrock:InferenceProfileArn": profile_arn,
            }},
        }));
    }
    if out.is_empty() || !proven(&out, legs, account, compiled) {
        return Vec::new();
    }
    out
}

/// Whether every leg is allowed once `statements` are added (a Deny may still win).
pub(super) fn proven(
    statements: &[Json],
    legs: &[&Leg],
    account: &str,
    compiled: &Compiled,
) -> bool {
    let document = json!({"Version": policy::POLICY_VERSION, "Statement": statements});
    let Ok(added) = policy::parse("fix", "fix", &document.to_string()) else {
        return false;
    };
    let with = Compiled {
        wide: compiled
            .wide
            .iter()
            .cloned()
            .chain([added.clone()])
            .collect(),
        narrow: compiled.narrow.iter().cloned().chain([added]).collect(),
    };
    legs.iter()
        .all(|leg| decide(&with, &request(leg, account)) == Decision::Allowed)
}
