//! The JSON rendering of a part (`sqs`, `lambda`): the changed problems with what changed for
//! each (the changed checks grouped per problem), the changes no problem covers with their
//! findings, the proposals that fix them, the trigger and the counts, for programs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::context::{Context, Detail, MINIMAL_BLOCKERS, MINIMAL_EXPLANATION_CHARS};
use super::phrase::{problem_cause, problem_change, truncate_chars};
use super::problems::ChangedProblem;
use super::state::{ChangeKind, FindingChange};
use super::trigger::ChangeEvent;
use crate::findings::{Proposal, Status};

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
    earlier: &BTreeSet<usize>,
) -> Value {
    let r = ctx.report;
    let listed_problems = ctx.problems_in(chunk);
    let covered: BTreeSet<&str> = listed_problems
        .iter()
        .map(|p| p.problem.id.as_str())
        .collect();
    let problems: Vec<Value> = listed_problems
        .into_iter()
        .map(|changed| problem_entry(ctx, changed, chunk, detail))
        .collect();
    // Past full detail, a change its problem covers is only one of that problem's
    // `changedChecks`, and fixed checks (no problem any more) are grouped the same way. Only
    // the rest carry their finding.
    let (grouped, listed): (Vec<&FindingChange>, Vec<&FindingChange>) =
        chunk.iter().copied().partition(|c| {
            detail != Detail::Full
                && (c
                    .finding
                    .problem_ids
                    .iter()
                    .any(|p| covered.contains(p.as_str()))
                    || (ctx.by_problem() && c.kind == ChangeKind::Fixed))
        });
    let fixed: Vec<&FindingChange> = grouped
        .into_iter()
        .filter(|c| c.finding.problem_ids.is_empty())
        .collect();
    let changes: Vec<Value> = listed
        .iter()
        .map(|change| change_entry(ctx, change, detail))
        .collect();
    // A proposal fixing a whole OU's findings names thousands of finding keys, and every part
    // with one of its problems carries it. At full detail it lists only this part's changes it
    // fixes; past it none, as the problems' `proposalIds` and `changedChecks` say what it
    // fixes. `fixesOmitted` counts the rest; `cris-guard propose` lists them all.
    let keys: BTreeSet<String> = if detail == Detail::Full {
        chunk.iter().map(|c| c.key()).collect()
    } else {
        BTreeSet::new()
    };
    let (given, named) = ctx.proposals_split(chunk, earlier);
    let proposals: Vec<Value> = given
        .into_iter()
        .map(|p| proposal_entry(p, &keys, detail))
        .collect();
    let in_earlier_parts: Vec<&str> = named.iter().map(|p| p.id.as_str()).collect();
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
        "fixedChecks": check_groups(&fixed),
        "changes": changes,
        "proposals": proposals,
        "proposalsInEarlierParts": in_earlier_parts,
        "proposalsOmitted": ctx.unproposed,
    })
}

/// Changed checks in few lines: per (change, previous status, status), targets with the same
/// changed checks together, and each target's checks as blocks of profiles × source Regions.
/// Every key `targetId|profileId|sourceRegion` of `changes` is one target of a group times one
/// profile and one source Region of one of its blocks.
/// The checks of `chunk` that `changed` covers, grouped.
pub(super) fn changed_checks(changed: &ChangedProblem<'_>, chunk: &[&FindingChange]) -> Vec<Value> {
    let id = changed.problem.id.as_str();
    let in_part: Vec<&FindingChange> = chunk
        .iter()
        .copied()
        .filter(|c| c.finding.problem_ids.iter().any(|p| p == id))
        .collect();
    check_groups(&in_part)
}

pub(super) fn check_groups(changes: &[&FindingChange]) -> Vec<Value> {
    type Checks<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;
    /// Blocks of (profiles, source Regions).
    type Blocks<'a> = Vec<(Vec<&'a str>, Vec<&'a str>)>;
    let mut by_change: BTreeMap<(ChangeKind, Option<Status>, Status), BTreeMap<&str, Checks<'_>>> =
        BTreeMap::new();
    for change in changes {
        let f = change.finding;
        by_change
            .entry((
                change.kind,
                change.previous.as_ref().map(|p| p.status),
                f.status,
            ))
            .or_default()
            .entry(f.target_id.as_str())
            .or_default()
            .entry(f.profile_id.as_str())
            .or_default()
            .insert(f.source_region.as_str());
    }
    let mut groups = Vec::new();
    for ((kind, previous, status), targets) in by_change {
        let mut same: BTreeMap<Blocks<'_>, Vec<&str>> = BTreeMap::new();
        for (target, checks) in targets {
            let mut blocks: BTreeMap<Vec<&str>, Vec<&str>> = BTreeMap::new();
            for (profile, regions) in checks {
                blocks
                    .entry(regions.into_iter().collect())
                    .or_default()
                    .push(profile);
            }
            let blocks: Blocks<'_> = blocks
                .into_iter()
                .map(|(regions, profiles)| (profiles, regions))
                .collect();
            same.entry(blocks).or_default().push(target);
        }
        for (blocks, target_ids) in same {
            let checks: usize = blocks.iter().map(|(p, r)| p.len() * r.len()).sum();
            groups.push(json!({
                "change": kind.as_str(),
                "previousStatus": previous.map(Status::as_str),
                "status": status.as_str(),
                "findings": checks * target_ids.len(),
                "targetIds": target_ids,
                "checks": blocks
                    .into_iter()
                    .map(|(profiles, regions)| json!({ "profiles": profiles, "sourceRegions": regions }))
                    .collect::<Vec<_>>(),
            }));
        }
    }
    groups
}

/// A changed problem as a part lists it: what changed, the problem (without what a part that
/// must shrink leaves out) and the checks of `chunk` it covers.
pub(super) fn problem_entry(
    ctx: &Context<'_>,
    changed: &ChangedProblem<'_>,
    chunk: &[&FindingChange],
    detail: Detail,
) -> Value {
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
        "changedChecks": changed_checks(changed, chunk),
    });
    if let Some(object) = value.as_object_mut() {
        if omitted > 0 {
            object.insert("targetIdsOmitted".into(), json!(omitted));
        }
        if detail != Detail::Full {
            // `changedChecks` names the changed profiles and Regions; the report lists
            // every affected one.
            object.remove("changedProfiles");
            object.remove("changedSourceRegions");
            if let Some(affected) = object
                .get_mut("problem")
                .and_then(|p| p.get_mut("affected"))
                .and_then(Value::as_object_mut)
            {
                affected.remove("profiles");
                affected.remove("sourceRegions");
            }
        }
    }
    value
}

/// A change no problem covers, with its finding.
pub(super) fn change_entry(ctx: &Context<'_>, change: &FindingChange, detail: Detail) -> Value {
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
        finding.explanation = truncate_chars(&finding.explanation, MINIMAL_EXPLANATION_CHARS);
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
}

/// A proposal a part carries, naming only those of the changes it fixes that are in `keys`.
pub(super) fn proposal_entry(p: &Proposal, keys: &BTreeSet<String>, detail: Detail) -> Value {
    let mut p = p.clone();
    let fixes = p.fixes.len();
    p.fixes.retain(|k| keys.contains(k));
    let fixes_omitted = fixes - p.fixes.len();
    if detail != Detail::Full {
        p.before = None;
        p.after = None;
        p.diff = None;
        p.artifact = None;
    }
    if detail == Detail::Minimal {
        p.summary = truncate_chars(&p.summary, MINIMAL_EXPLANATION_CHARS);
    }
    let mut value = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("fixesOmitted".into(), json!(fixes_omitted));
    }
    value
}
