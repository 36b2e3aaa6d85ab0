//! Findings, blockers, problems, proposals and reports for the alert unit tests (hand-made
//! reports that carry problems, as the problem layer fills them).

use crate::findings::{
    Affected, Blocker, BlockerKind, Cause, CauseKind, Finding, LegName, Problem, Proposal,
    ProposalKind, Report, Status, Summary, TargetKind, Verification,
};

pub(super) fn blocker(region: &str, action: &str) -> Blocker {
    Blocker {
        region: region.into(),
        action: action.into(),
        resource: format!("arn:aws:bedrock:{region}::foundation-model/m"),
        policy_id: Some("p-abcd1234".into()),
        policy_name: Some("aws-guardrails-AbCdEf".into()),
        sid: Some("GRREGIONDENY".into()),
        statement_index: Some(0),
        attached_to: Some("ou-ab12-11111111".into()),
        kind: BlockerKind::ExplicitDeny,
    }
}

pub(super) fn finding(target: &str, status: Status, blockers: Vec<Blocker>) -> Finding {
    Finding {
        target_id: target.into(),
        target_kind: TargetKind::OrganizationalUnit,
        target_path: format!("Root/{target}"),
        profile_id: "us.anthropic.claude-3-5-sonnet-20241022-v2:0".into(),
        source_region: "us-east-1".into(),
        check_kind: Default::default(),
        status,
        blockers,
        conditions: Vec::new(),
        explanation: "routed to us-east-2, which the Region deny rejects".into(),
        problem_ids: Vec::new(),
    }
}

pub(super) fn report(captured: &str, findings: Vec<Finding>) -> Report {
    Report {
        format_version: 1,
        organization_id: "o-exampleorgid".into(),
        snapshot_captured_at: captured.into(),
        summary: Summary::of(&findings),
        expectations: Vec::new(),
        problems: Vec::new(),
        findings,
        proposals: Vec::new(),
        what_if: None,
        unresolved: Vec::new(),
    }
}

/// A Region-deny problem behind `findings` (their `problem_ids` are set to it).
pub(super) fn problem(id: &str, findings: &mut [Finding]) -> Problem {
    for f in findings.iter_mut() {
        f.problem_ids = vec![id.to_string()];
    }
    let mut targets: Vec<String> = findings.iter().map(|f| f.target_id.clone()).collect();
    targets.dedup();
    Problem {
        id: id.into(),
        status: Status::Blocked,
        cause: Cause {
            kind: CauseKind::ExplicitDeny,
            policy_id: Some("p-abcd1234".into()),
            policy_name: Some("aws-guardrails-AbCdEf".into()),
            sid: Some("GRREGIONDENY".into()),
            statement_index: Some(0),
            attached_to: vec!["ou-ab12-11111111".into()],
            leg: Some(LegName::DestinationModel),
            regions: vec!["us-east-2".into()],
            actions: vec!["bedrock:InvokeModel".into()],
            level_policy_ids: Vec::new(),
            reason: None,
        },
        affected: Affected {
            findings: findings.len(),
            targets: targets.len(),
            target_ids: targets,
            profiles: vec!["us.anthropic.claude-3-5-sonnet-20241022-v2:0".into()],
            source_regions: vec!["us-east-1".into()],
        },
        explanation: "Calls routed to us-east-2 are rejected by the Region deny GRREGIONDENY of aws-guardrails-AbCdEf, attached to Sandbox.".into(),
        proposal_ids: Vec::new(),
        unresolved_reason: None,
    }
}

/// A verified patch of `p-abcd1234` for `problem_id`, its document in one file.
pub(super) fn proposal(id: &str, fixes: Vec<String>, problem_id: &str) -> Proposal {
    Proposal {
        id: id.into(),
        fixes,
        kind: ProposalKind::PatchScp,
        policy_id: Some("p-abcd1234".into()),
        target_ids: vec!["ou-ab12-11111111".into()],
        before: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
        after: Some(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"GRREGIONDENY","Effect":"Deny","NotAction":["bedrock:*"],"Resource":"*"}]}"#
                .into(),
        ),
        diff: None,
        size_chars: Some(120),
        verification: Verification::default(),
        apply: "# 1. Exempt Bedrock calls through approved cross-Region inference profiles from the Region deny of aws-guardrails-AbCdEf\naws organizations update-policy --policy-id p-abcd1234 --description \"Region deny with the cross-Region inference exemption for approved profiles (cris-guard)\" --content file://p-abcd1234.json".into(),
        fixes_problems: vec![problem_id.into()],
        summary: "Exempt approved cross-Region inference profiles from GRREGIONDENY.".into(),
        artifact: None,
    }
}

/// Every finding key a part's JSON names: in its problems' and the fixed `changedChecks`
/// groups (targets × profiles × source Regions) and in its listed changes.
pub(crate) fn keys_in(part: &serde_json::Value) -> Vec<String> {
    let mut keys = Vec::new();
    let groups = part["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["changedChecks"].as_array().into_iter().flatten())
        .chain(part["fixedChecks"].as_array().into_iter().flatten());
    for group in groups {
        for target in group["targetIds"].as_array().into_iter().flatten() {
            for block in group["checks"].as_array().into_iter().flatten() {
                for profile in block["profiles"].as_array().into_iter().flatten() {
                    for region in block["sourceRegions"].as_array().into_iter().flatten() {
                        keys.push(format!(
                            "{}|{}|{}",
                            target.as_str().unwrap_or_default(),
                            profile.as_str().unwrap_or_default(),
                            region.as_str().unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    for change in part["changes"].as_array().into_iter().flatten() {
        keys.push(
            change["findingKey"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    keys
}
