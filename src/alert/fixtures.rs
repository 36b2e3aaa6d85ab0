//! Findings, blockers and reports for the alert unit tests.

use crate::findings::{Blocker, BlockerKind, Finding, Report, Status, Summary, TargetKind};

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
