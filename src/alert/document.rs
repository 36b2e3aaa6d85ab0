//! The JSON rendering of a part (`sqs`, `lambda`): the changed problems with what changed for
//! each, every change with its finding, the proposals that fix them, the trigger and the
//! counts, for programs.

use serde_json::{Map, Value, json};

use super::context::{Context, Detail, MINIMAL_BLOCKERS, MINIMAL_EXPLANATION_CHARS};
use super::phrase::{problem_cause, problem_change, truncate_chars};
use super::state::{ChangeKind, FindingChange};
use super::trigger::ChangeEvent;

/// Affected target ids kept per problem in a minimal part (the rest are counted).
const MINIMAL_TARGET_IDS: usize = 50;

/// At most this many trigger events are listed in a message (the rest are counted).
pub const MAX_LISTED_EVENTS: usize = 20;

pub(super) fn json_document(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
    detail: Detail,
) -> Value {
    let r = ctx.report;
    let problems: Vec<Value> = ctx
        .problems_in(chunk)
        .into_iter()
        .map(|changed| {
            let proposal_ids: Vec<String> = ctx
                .proposals_for_problem(changed)
                .iter()
                .map(|p| p.id.clone())
                .collect();
            let mut problem = changed.problem.clone();
            // The report's problem names the report's proposals; here, this alert's.
            problem.proposal_ids.clone_from(&proposal_ids);
            let mut omitted = 0;
            if detail == Detail::Minimal {
                omitted = problem
                    .affected
                    .target_ids
                    .len()
                    .saturating_sub(MINIMAL_TARGET_IDS);
                problem.affected.target_ids.truncate(MINIMAL_TARGET_IDS);
            }
            let (ous, accounts) = changed.targets();
            let mut value = json!({
                "change": changed.kind().as_str(),
                "description": format!("{} {}", problem_cause(changed.problem), problem_change(changed)),
                "changedFindings": changed.changes.len(),
                "changedProfiles": changed.profiles(),
                "changedSourceRegions": changed.source_regions(),
                "changedTargets": { "organizationalUnits": ous, "accounts": accounts },
                "problem": problem,
                "proposalIds": proposal_ids,
            });
            if omitted > 0
                && let Some(object) = value.as_object_mut()
            {
                object.insert("targetIdsOmitted".into(), json!(omitted));
            }
            value
        })
        .collect();
    let changes: Vec<Value> = chunk
        .iter()
        .map(|change| {
            let key = change.key();
            let proposal_ids: Vec<&str> = ctx
                .proposals_for(&key)
                .into_iter()
                .map(|p| p.id.as_str())
                .collect();
            let mut finding = change.finding.clone();
            let mut omitted = 0;
            if detail == Detail::Minimal {
                omitted = finding.blockers.len().saturating_sub(MINIMAL_BLOCKERS);
                finding.blockers.truncate(MINIMAL_BLOCKERS);
                finding.explanation =
                    truncate_chars(&finding.explanation, MINIMAL_EXPLANATION_CHARS);
            }
            let mut value = json!({
                "change": change.kind.as_str(),
                "findingKey": key,
                "previousStatus": change.previous.as_ref().map(|p| p.status.as_str()),
                "fingerprint": change.next.fingerprint,
                "finding": finding,
                "proposalIds": proposal_ids,
            });
            if omitted > 0
                && let Some(object) = value.as_object_mut()
            {
                object.insert("blockersOmitted".into(), json!(omitted));
            }
            value
        })
        .collect();
    let proposals: Vec<Value> = ctx
        .proposals_in(chunk)
        .into_iter()
        .map(|p| {
            let mut p = p.clone();
            if detail != Detail::Full {
                p.before = None;
                p.after = None;
                p.diff = None;
                p.artifact = None;
            }
            serde_json::to_value(p).unwrap_or(Value::Null)
        })
        .collect();
    let listed: Vec<&ChangeEvent> = ctx.trigger.events.iter().take(MAX_LISTED_EVENTS).collect();
    let change_summary: Map<String, Value> =
        std::iter::once(("changes".to_string(), json!(ctx.total)))
            .chain(std::iter::once((
                "problems".to_string(),
                json!(ctx.problems.len()),
            )))
            .chain(
                [
                    ChangeKind::NewlyBlocked,
                    ChangeKind::NewlyConditional,
                    ChangeKind::NewlyUnknown,
                    ChangeKind::BlockersChanged,
                    ChangeKind::Fixed,
                ]
                .into_iter()
                .map(|k| (k.as_str().to_string(), json!(ctx.count(k)))),
            )
            .collect();
    json!({
        "formatVersion": 1,
        "type": "crisGuardAlert",
        "organizationId": r.organization_id,
        "snapshotCapturedAt": r.snapshot_captured_at,
        "part": part,
        "parts": parts,
        "detail": detail.as_str(),
        "trigger": {
            "kind": ctx.trigger.kind.as_str(),
            "changedBy": ctx.trigger.changed_by(),
            "events": listed,
            "eventsOmitted": ctx.trigger.events.len().saturating_sub(MAX_LISTED_EVENTS),
        },
        "summary": r.summary,
        "changeSummary": change_summary,
        "problems": problems,
        "changes": changes,
        "proposals": proposals,
        "proposalsOmitted": ctx.unproposed,
    })
}
