//! Fixes for the checks beyond inference (contract §8), proven like the others. A customer SCP
//! that denies `bedrock:ApplyGuardrail` on a guardrail profile stops denying it on that guardrail
//! profile's ARN in any Region (`NotResource`: the blog's Option 2 exemption, extended to the
//! guardrail profile's requests); one that denies the AWS Marketplace requests of a model's
//! first use exempts them only when Bedrock makes them for the caller (`StringNotEquals
//! aws:CalledViaLast bedrock.amazonaws.com`). A statement that also denies other actions is split
//! so the exemption covers exactly the blocked ones.

use std::collections::{BTreeMap, BTreeSet};

use crate::findings::{BlockerKind, CheckKind};
use crate::policy::json::Json;
use crate::request::leg::{BEDROCK_SERVICE, Leg, LegKind};

use super::context::Ctx;
use super::customer::{any_region_and_account, rename, unique_sid};
use super::document as doc;
use super::error::{DocumentError, PlanError};
use super::plan::Plan;
use super::probe_answers::Probe;
use super::problems::{Group, Unit};
use super::proposal::join_list;

const APPLY_GUARDRAIL: &str = "bedrock:ApplyGuardrail";
const CALLED_VIA_LAST: &str = "aws:CalledViaLast";
/// Direct Marketplace calls that must stay denied (Unsubscribe too: Bedrock never makes it).
const MARKETPLACE_PROBES: &[&str] = &[
    "aws-marketplace:Subscribe",
    "aws-marketplace:ViewSubscriptions",
    "aws-marketplace:Unsubscribe",
];

/// What one Deny statement must stop denying.
#[derive(Default)]
struct Exempt {
    /// Guardrail profile ARN patterns (any Region and account) `bedrock:ApplyGuardrail` passes on.
    guardrail_profiles: BTreeSet<String>,
    /// Marketplace actions that pass when Bedrock makes them.
    marketplace: BTreeSet<String>,
}

/// The plan for a group of guardrail-profile and Marketplace first-use findings: every customer
/// SCP that blocks them patched; a missing Allow has no plan. The Control Tower Region deny is
/// left to `control_tower`, which plans it for every kind of the group at once.
pub(crate) fn plans(ctx: &Ctx, group: &Group) -> Result<Vec<Plan>, PlanError> {
    let mut plan: Option<Plan> = None;
    for unit in &group.units {
        let next = match unit {
            Unit::Patch(policy_id) => patch(ctx, group, policy_id)?,
            Unit::Allow(level) => {
                return Err(PlanError::NoAllowForOtherKind {
                    level_name: ctx.org.name_of(level),
                    level_id: level.clone(),
                    actions: blocked_actions(group, |b| {
                        b.kind == BlockerKind::NoAllow && b.attached_to.as_deref() == Some(level)
                    }),
                });
            }
            // Planned with the group's inference findings (`control_tower`).
            Unit::ControlTower => continue,
        };
        match &mut plan {
            Some(plan) => plan.absorb(&next),
            None => plan = Some(next),
        }
    }
    Ok(plan.into_iter().collect())
}

/// The actions of the group's blockers that `wanted` keeps, for a reason.
fn blocked_actions(group: &Group, wanted: impl Fn(&crate::findings::Blocker) -> bool) -> String {
    let actions: BTreeSet<String> = group
        .blockers()
        .filter(|b| wanted(b))
        .map(|b| b.action.clone())
        .collect();
    join_list(&actions.into_iter().collect::<Vec<_>>())
}

/// Patches the Deny statements of `policy_id` that block the group's findings.
fn patch(ctx: &Ctx, group: &Group, policy_id: &str) -> Result<Plan, PlanError> {
    let record = ctx
        .record(policy_id)
        .ok_or_else(|| PlanError::UnknownPolicy {
            policy_id: policy_id.to_string(),
        })?;
    let mut exempt: BTreeMap<usize, Exempt> = BTreeMap::new();
    for finding in group.all() {
        for blocker in &finding.blockers {
            if blocker.kind != BlockerKind::ExplicitDeny
                || blocker.policy_id.as_deref() != Some(policy_id)
            {
                continue;
            }
            let Some(index) = blocker.statement_index else {
                continue;
            };
            let entry = exempt.entry(index).or_default();
            match finding.check_kind {
                CheckKind::GuardrailProfile => {
                    entry
                        .guardrail_profiles
                        .insert(any_region_and_account(&blocker.resource));
                }
                CheckKind::MarketplaceFirstUse => {
                    entry.marketplace.insert(blocker.action.clone());
                }
                CheckKind::Inference => {}
            }
        }
    }
    let original = doc::parse(&record.content.text())?;
    let mut after = original.clone();
    let mut taken: BTreeSet<String> = doc::statements(&original)
        .iter()
        .filter_map(|s| doc::sid(s))
        .collect();
    let statements = doc::statements_mut(&mut after).ok_or(DocumentError::NoStatementList)?;
    let mut edits = Vec::new();
    for (&index, exempt) in exempt.iter().rev() {
        let statement = statements
            .get_mut(index)
            .ok_or(DocumentError::NoStatement { index })?;
        let sid = doc::sid(statement).unwrap_or_else(|| format!("#{index}"));
        let mut copies = Vec::new();
        if !exempt.guardrail_profiles.is_empty() {
            let resources: Vec<String> = exempt.guardrail_profiles.iter().cloned().collect();
            let what = format!(
                "on the guardrail profiles {}",
                join_list(&quoted(&resources))
            );
            let (copy, edit) = exempt_in(
                statement,
                &sid,
                &[APPLY_GUARDRAIL.to_string()],
                ("ExceptGuardrailProfiles", "DenyApplyGuardrail", &what),
                &mut taken,
                &|s| not_resource(s, &sid, &resources),
            )?;
            copies.extend(copy);
            edits.push(edit);
        }
        if !exempt.marketplace.is_empty() {
            let actions: Vec<String> = exempt.marketplace.iter().cloned().collect();
            let what = format!("when `{CALLED_VIA_LAST}` is `{BEDROCK_SERVICE}`");
            let (copy, edit) = exempt_in(
                statement,
                &sid,
                &actions,
                ("ExceptViaBedrock", "DenyMarketplace", &what),
                &mut taken,
                &|s| {
                    doc::merge_condition(
                        s,
                        "StringNotEquals",
                        CALLED_VIA_LAST,
                        &[BEDROCK_SERVICE.to_string()],
                    );
                    Ok(())
                },
            )?;
            copies.extend(copy);
            edits.push(edit);
        }
        for (offset, copy) in copies.into_iter().enumerate() {
            statements.insert(index + 1 + offset, copy);
        }
    }
    edits.reverse();
    let mut plan = Plan::patch_in_place(record, original, after);
    let mut kept = vec!["other services".to_string()];
    if exempt.values().any(|e| !e.guardrail_profiles.is_empty()) {
        kept.push(format!("`{APPLY_GUARDRAIL}` on guardrails themselves"));
    }
    if exempt.values().any(|e| !e.marketplace.is_empty()) {
        kept.push("Marketplace calls the caller makes directly".to_string());
    }
    plan.summary.push(format!(
        "Patches the customer-managed SCP {} ({}) in place: {}. Everything else the statements denied stays denied: {} (these are probed too). No Allow is added.",
        record.name,
        record.id,
        edits.join("; "),
        join_list(&kept)
    ));
    plan.probes = probes(ctx, &exempt);
    Ok(plan)
}

fn quoted(items: &[String]) -> Vec<String> {
    items.iter().map(|i| format!("`{i}`")).collect()
}

/// Makes `statement` stop denying `actions` unless `exemption` (applied to the denying
/// statement) says so: split when the statement denies other actions too (it stops covering
/// `actions`, and a copy denies exactly them with the exemption), else the exemption in place.
/// Returns the copy and a description.
fn exempt_in(
    statement: &mut Json,
    sid: &str,
    actions: &[String],
    (suffix, unnamed, what): (&str, &str, &str),
    taken: &mut BTreeSet<String>,
    exemption: &dyn Fn(&mut Json) -> Result<(), PlanError>,
) -> Result<(Option<Json>, String), PlanError> {
    let listed = join_list(&quoted(actions));
    let before = statement.clone();
    if !exclude(statement, actions) {
        exemption(statement)?;
        return Ok((
            None,
            format!(
                "its Deny statement {sid}, which denies {listed} through its own action list, no longer applies {what} (to every action it lists)"
            ),
        ));
    }
    let mut copy = before;
    match doc::get(&copy, "NotAction") {
        Some(_) => rename(&mut copy, "NotAction", "Action", doc::strings(actions)),
        None => doc::set(&mut copy, "Action", doc::strings(actions)),
    }
    let base = doc::sid(&copy).unwrap_or_else(|| unnamed.to_string());
    let new_sid = unique_sid(&format!("{base}{suffix}"), taken);
    match doc::get(&copy, "Sid") {
        Some(_) => doc::set(&mut copy, "Sid", Json::String(new_sid.clone())),
        None => {
            if let Json::Object(entries) = &mut copy {
                entries.insert(0, ("Sid".to_string(), Json::String(new_sid.clone())));
            }
        }
    }
    exemption(&mut copy)?;
    Ok((
        Some(copy),
        format!(
            "its Deny statement {sid} is split: it no longer covers {listed}, and a new statement {new_sid} denies exactly that under the same conditions except {what}"
        ),
    ))
}

/// Takes `actions` out of what the statement covers, when that is possible without changing
/// anything else it denies; `false` when the statement denies exactly them (or through a
/// wildcard that cannot be narrowed).
fn exclude(statement: &mut Json, actions: &[String]) -> bool {
    let has = |list: &[String], action: &str| list.iter().any(|a| a.eq_ignore_ascii_case(action));
    if let Some(mut list) = doc::get(statement, "NotAction").map(doc::string_list) {
        for action in actions {
            if !has(&list, action) {
                list.push(action.clone());
            }
        }
        doc::set(statement, "NotAction", doc::strings(&list));
        return true;
    }
    let listed = doc::get(statement, "Action")
        .map(doc::string_list)
        .unwrap_or_default();
    if has(&listed, "*") {
        rename(statement, "Action", "NotAction", doc::strings(actions));
        return true;
    }
    let rest: Vec<String> = listed
        .iter()
        .filter(|a| !has(actions, a))
        .cloned()
        .collect();
    if actions.iter().all(|a| has(&listed, a)) && !rest.is_empty() {
        doc::set(statement, "Action", doc::one_or_many(&rest));
        return true;
    }
    false
}

/// `bedrock:ApplyGuardrail` passes on `resources`: `NotResource` replaces `Resource: "*"` (or
/// grows).
fn not_resource(statement: &mut Json, sid: &str, resources: &[String]) -> Result<(), PlanError> {
    if let Some(mut list) = doc::get(statement, "NotResource").map(doc::string_list) {
        for resource in resources {
            if !list.contains(resource) {
                list.push(resource.clone());
            }
        }
        doc::set(statement, "NotResource", doc::strings(&list));
        return Ok(());
    }
    let star = doc::get(statement, "Resource")
        .map(doc::string_list)
        .is_some_and(|r| r == ["*"]);
    if !star {
        return Err(PlanError::GuardrailResource {
            sid: sid.to_string(),
        });
    }
    rename(
        statement,
        "Resource",
        "NotResource",
        doc::strings(resources),
    );
    Ok(())
}

/// What must stay denied besides the standard probes, in every Region the snapshot's profiles
/// use: `bedrock:ApplyGuardrail` on a guardrail (not its profile), and direct Marketplace calls
/// (no `aws:CalledVia`).
fn probes(ctx: &Ctx, exempt: &BTreeMap<usize, Exempt>) -> Vec<Probe> {
    extra_probes(
        ctx,
        exempt.values().any(|e| !e.guardrail_profiles.is_empty()),
        exempt.values().any(|e| !e.marketplace.is_empty()),
    )
}

/// [`probes`] for what a plan exempts: `guardrails` (`bedrock:ApplyGuardrail` on guardrail
/// profiles) and/or `marketplace` (first-use requests via Bedrock).
pub(crate) fn extra_probes(ctx: &Ctx, guardrails: bool, marketplace: bool) -> Vec<Probe> {
    let facts = &ctx.snapshot.snapshot;
    let mut regions: BTreeSet<&str> = facts
        .inference_profiles
        .keys()
        .chain(facts.guardrail_profiles.keys())
        .chain(facts.marketplace_models.keys())
        .map(String::as_str)
        .collect();
    regions.extend(
        facts
            .guardrail_profiles
            .values()
            .flatten()
            .flat_map(|p| &p.destination_regions)
            .map(String::as_str),
    );
    let probe = |action: &str, resource: String, region: &str, label: String| Probe {
        leg: Leg {
            action: action.to_string(),
            resource,
            region: region.to_string(),
            inference_profile_arn: None,
            kind: LegKind::DestinationModel,
        },
        label,
    };
    let mut probes = Vec::new();
    for region in regions {
        if guardrails {
            let guardrail = format!("arn:aws:bedrock:{region}:111111111111:guardrail/probe");
            probes.push(probe(
                APPLY_GUARDRAIL,
                guardrail.clone(),
                region,
                format!("{APPLY_GUARDRAIL} on the guardrail {guardrail} in {region}"),
            ));
        }
        if marketplace {
            for action in MARKETPLACE_PROBES {
                probes.push(probe(
                    action,
                    "*".to_string(),
                    region,
                    format!("{action} in {region} made by the caller directly"),
                ));
            }
        }
    }
    probes
}
