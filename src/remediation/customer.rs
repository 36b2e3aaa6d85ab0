//! Fixes in customer-managed SCPs: a blocking Deny gets an `ArnNotLike` exemption on
//! `bedrock:InferenceProfileArn` for the approved profiles (NotAction Region denies are split so
//! the exemption covers exactly the checked actions), and a level lacking an Allow gets one,
//! restricted to the approved profiles and their models.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::arn::Arn;
use crate::findings::{BlockerKind, ProposalKind};
use crate::policy::ActionSet;
use crate::policy::json::Json;
use crate::reachability::LegKind;
use crate::snapshot::{MAX_SCP_CHARS, PolicyContent, PolicyRecord};
use crate::what_if::Change;

use super::MAX_SCPS_PER_TARGET;
use super::context::Ctx;
use super::document as doc;
use super::error::{DocumentError, Oversize, PlanError};
use super::legs;
use super::plan::{Doc, IdAllocator, Plan, file_name};
use super::problems::Group;
use super::proposal::join_list;

const IPA: &str = "bedrock:InferenceProfileArn";

/// How one statement was patched (for the summary).
enum Edit {
    NewKey {
        sid: String,
    },
    NewBlockKey {
        sid: String,
    },
    Appended {
        sid: String,
    },
    Split {
        sid: String,
        new_sid: String,
        added: Vec<String>,
    },
    /// A deny of the source Region, narrowed by resource so the approved profiles' own requests
    /// pass: split (exactly the checked actions) or `NotResource` in place (every action of the
    /// statement on those profile ARNs).
    Narrowed {
        sid: String,
        new_sid: Option<String>,
        resources: Vec<String>,
    },
}

/// The Deny statements of each customer SCP that block a group's findings, read in one pass
/// over their blockers (a group holds thousands of findings, and names several SCPs).
#[derive(Default)]
pub(crate) struct Denies {
    by_policy: HashMap<String, PolicyDenies>,
}

/// One SCP's blocking Deny statements.
#[derive(Default)]
struct PolicyDenies {
    /// The statements' indices.
    indices: BTreeSet<usize>,
    /// The statements that deny an approved profile's own request (its source Region), with
    /// the profile ARNs to exempt there: the source Region as requested, any account.
    narrow: BTreeMap<usize, BTreeSet<String>>,
}

impl Denies {
    pub(crate) fn of(ctx: &Ctx, group: &Group) -> Denies {
        let mut denies = Denies::default();
        // Thousands of findings repeat a few statement × profile ARN pairs: each is read once.
        let mut seen: HashSet<(&str, usize, &str)> = HashSet::new();
        for finding in group.all() {
            for blocker in &finding.blockers {
                let (BlockerKind::ExplicitDeny, Some(policy_id)) =
                    (blocker.kind, blocker.policy_id.as_deref())
                else {
                    continue;
                };
                let Some(index) = blocker.statement_index else {
                    continue;
                };
                let entry = denies.by_policy.entry(policy_id.to_string()).or_default();
                entry.indices.insert(index);
                let key = (policy_id, index, blocker.resource.as_str());
                if seen.contains(&key)
                    || ctx.checks.leg_kind(finding, blocker) != Some(LegKind::Profile)
                {
                    continue;
                }
                seen.insert(key);
                entry
                    .narrow
                    .entry(index)
                    .or_default()
                    .insert(legs::any_account(&blocker.resource));
            }
        }
        denies
    }
}

/// Patches the Deny statements of `policy_id` that block the group's findings (`denies`, read
/// from the group).
pub(crate) fn patch_deny(
    ctx: &Ctx,
    denies: &Denies,
    policy_id: &str,
    profiles: &BTreeSet<String>,
    ids: &mut IdAllocator,
) -> Result<Plan, PlanError> {
    let record = ctx
        .record(policy_id)
        .ok_or_else(|| PlanError::UnknownPolicy {
            policy_id: policy_id.to_string(),
        })?;
    let none = PolicyDenies::default();
    let PolicyDenies { indices, narrow } = denies.by_policy.get(policy_id).unwrap_or(&none);
    let patterns = ctx.exemption_patterns(profiles);
    let original = doc::parse(&record.content.text())?;
    let file = file_name(&record.name, &record.id);
    // Preferred: NotAction denies split (exemption limited to the checked actions), others
    // patched in place. Then: everything in place (smaller). Then the same with the profile
    // lists folded into prefix wildcards. Then: the patched statements moved to a new SCP on
    // the same targets.
    let folded = ctx.folded_patterns(&patterns, profiles);
    let folded_narrow: BTreeMap<usize, BTreeSet<String>> = narrow
        .iter()
        .map(|(&index, arns)| {
            let arns: Vec<String> = arns.iter().cloned().collect();
            (
                index,
                ctx.folded_patterns(&arns, profiles).into_iter().collect(),
            )
        })
        .collect();
    let mut candidates = vec![(&patterns, narrow, false)];
    if folded != patterns || folded_narrow != *narrow {
        candidates.push((&folded, &folded_narrow, true));
    }
    let mut sizes = Vec::new();
    for (patterns, narrow, wildcards) in candidates {
        for split in [true, false] {
            let (after, edits) =
                patched(&original, indices, narrow, patterns, &ctx.actions, split)?;
            let size = doc::minified(&after).chars().count();
            if size <= MAX_SCP_CHARS {
                let mut plan = Plan::new(ProposalKind::PatchScp);
                plan.policy_id = Some(record.id.clone());
                plan.apply.push(format!(
                    "aws organizations update-policy --policy-id {} --content file://{file}",
                    record.id
                ));
                plan.update_policy(record, original, after);
                plan.targets.extend(record.targets.iter().cloned());
                plan.summary
                    .push(patch_summary(ctx, record, &edits, patterns, &ctx.actions));
                if wildcards {
                    plan.summary.push(format!(
                        "The {} approved profiles are named by prefix wildcards so the policy fits the 5,120-character SCP limit (the exact list makes it {} characters): no profile known today that is not approved matches one, but a profile AWS adds later under the same prefix would be exempted too.",
                        profiles.len(),
                        sizes.iter().min().copied().unwrap_or(0)
                    ));
                }
                return Ok(plan);
            }
            // What the error reports is the exact list's size.
            if !wildcards {
                sizes.push(size);
            }
        }
    }
    let patch = Patch {
        original: &original,
        indices,
        narrow,
        patterns: &patterns,
    };
    moved(ctx, record, &patch, ids, &sizes)
}

/// What a customer-SCP patch changes: which statements of which document, the profile legs
/// to narrow by resource, and the profile ARN patterns to exempt.
struct Patch<'a> {
    original: &'a Json,
    indices: &'a BTreeSet<usize>,
    narrow: &'a BTreeMap<usize, BTreeSet<String>>,
    patterns: &'a [String],
}

fn is_star(json: Option<&Json>) -> bool {
    match json {
        Some(Json::String(s)) => s == "*",
        Some(Json::Array(items)) => {
            items.len() == 1 && matches!(items.first(), Some(Json::String(s)) if s == "*")
        }
        _ => false,
    }
}

/// Replaces `old` by `new` (keeping its position) in a statement.
pub(crate) fn rename(statement: &mut Json, old: &str, new: &str, value: Json) {
    if let Json::Object(entries) = statement
        && let Some(entry) = entries.iter_mut().find(|(k, _)| k == old)
    {
        *entry = (new.to_string(), value);
    }
}

/// The policy with the statements at `indices` patched.
fn patched(
    original: &Json,
    indices: &BTreeSet<usize>,
    narrow: &BTreeMap<usize, BTreeSet<String>>,
    patterns: &[String],
    actions: &[String],
    split: bool,
) -> Result<(Json, Vec<Edit>), DocumentError> {
    let mut policy = original.clone();
    let mut taken: BTreeSet<String> = doc::statements(original)
        .iter()
        .filter_map(|s| doc::sid(s))
        .collect();
    let statements = doc::statements_mut(&mut policy).ok_or(DocumentError::NoStatementList)?;
    let mut edits = Vec::new();
    for &index in indices.iter().rev() {
        let statement = statements
            .get_mut(index)
            .ok_or(DocumentError::NoStatement { index })?;
        let sid = doc::sid(statement).unwrap_or_else(|| format!("#{index}"));
        if let Some(resources) = narrow.get(&index) {
            let resources: Vec<String> = resources.iter().cloned().collect();
            let edit = narrowed(
                statement, sid, &resources, patterns, actions, split, &mut taken,
            )?;
            if let Some(copy) = edit.1 {
                statements.insert(index + 1, copy);
            }
            edits.push(edit.0);
            continue;
        }
        let not_action = doc::get(statement, "NotAction").map(doc::string_list);
        match not_action {
            Some(existing) if split => {
                let set = ActionSet::new(existing.clone());
                let added: Vec<String> = actions
                    .iter()
                    .filter(|a| !set.matches(&a.to_ascii_lowercase()))
                    .cloned()
                    .collect();
                let mut list = existing;
                list.extend(added.iter().cloned());
                let mut copy = statement.clone();
                doc::set(statement, "NotAction", doc::strings(&list));
                let new_sid = unique_sid(
                    &match doc::sid(&copy) {
                        Some(s) => format!("{s}ExceptApprovedCRIS"),
                        None => "DenyBedrockInvokeExceptApprovedCRIS".to_string(),
                    },
                    &mut taken,
                );
                if let Json::Object(entries) = &mut copy {
                    for (key, value) in entries.iter_mut() {
                        if key == "NotAction" {
                            *key = "Action".to_string();
                            *value = doc::strings(actions);
                        }
                    }
                    match entries.iter_mut().find(|(k, _)| k == "Sid") {
                        Some(entry) => entry.1 = Json::String(new_sid.clone()),
                        None => entries.insert(0, ("Sid".into(), Json::String(new_sid.clone()))),
                    }
                }
                doc::merge_condition(&mut copy, "ArnNotLike", IPA, patterns);
                statements.insert(index + 1, copy);
                edits.push(Edit::Split {
                    sid,
                    new_sid,
                    added,
                });
            }
            _ => {
                let had_block = doc::get(statement, "Condition")
                    .and_then(|c| doc::get(c, "ArnNotLike"))
                    .is_some();
                let had_key = !doc::condition_values(statement, "ArnNotLike", IPA).is_empty();
                doc::merge_condition(statement, "ArnNotLike", IPA, patterns);
                edits.push(match (had_block, had_key) {
                    (_, true) => Edit::Appended { sid },
                    (true, false) => Edit::NewBlockKey { sid },
                    (false, false) => Edit::NewKey { sid },
                });
            }
        }
    }
    edits.reverse();
    Ok((policy, edits))
}

pub(crate) fn unique_sid(base: &str, taken: &mut BTreeSet<String>) -> String {
    let sid = (1..)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}{n}")
            }
        })
        .find(|s| !taken.contains(s))
        .unwrap_or_else(|| base.to_string());
    taken.insert(sid.clone());
    sid
}

/// Narrows a deny of the source Region by resource. Split when the statement covers every
/// action (`Action: "*"` or `NotAction`): it stops covering the checked actions, and a copy
/// denies exactly those on every resource but the approved profile ARNs (model requests still
/// denied unless they carry an approved `bedrock:InferenceProfileArn`). Otherwise (an `Action`
/// list, or no split wanted) `NotResource` replaces `Resource: "*"` in place.
fn narrowed(
    statement: &mut Json,
    sid: String,
    resources: &[String],
    patterns: &[String],
    actions: &[String],
    split: bool,
    taken: &mut BTreeSet<String>,
) -> Result<(Edit, Option<Json>), DocumentError> {
    let existing_not_resource = doc::get(statement, "NotResource").map(doc::string_list);
    if !is_star(doc::get(statement, "Resource")) && existing_not_resource.is_none() {
        return Err(DocumentError::CannotNarrow { sid });
    }
    let not_action = doc::get(statement, "NotAction").map(doc::string_list);
    let all_actions = not_action.is_some() || is_star(doc::get(statement, "Action"));
    if split && all_actions && existing_not_resource.is_none() && !actions.is_empty() {
        let mut copy = statement.clone();
        match not_action {
            Some(existing) => {
                let set = ActionSet::new(existing.clone());
                let mut list = existing;
                list.extend(
                    actions
                        .iter()
                        .filter(|a| !set.matches(&a.to_ascii_lowercase()))
                        .cloned(),
                );
                doc::set(statement, "NotAction", doc::strings(&list));
            }
            None => rename(statement, "Action", "NotAction", doc::strings(actions)),
        }
        let new_sid = unique_sid(
            &match doc::sid(&copy) {
                Some(s) => format!("{s}ExceptApprovedCRISProfiles"),
                None => "DenyBedrockInvokeExceptApprovedCRISProfiles".to_string(),
            },
            taken,
        );
        if let Json::Object(entries) = &mut copy {
            if let Some(entry) = entries.iter_mut().find(|(k, _)| k == "NotAction") {
                *entry = ("Action".to_string(), doc::strings(actions));
            }
            if let Some(entry) = entries.iter_mut().find(|(k, _)| k == "Action") {
                entry.1 = doc::strings(actions);
            }
            match entries.iter_mut().find(|(k, _)| k == "Sid") {
                Some(entry) => entry.1 = Json::String(new_sid.clone()),
                None => entries.insert(0, ("Sid".into(), Json::String(new_sid.clone()))),
            }
        }
        rename(
            &mut copy,
            "Resource",
            "NotResource",
            doc::strings(resources),
        );
        doc::merge_condition(&mut copy, "ArnNotLike", IPA, patterns);
        return Ok((
            Edit::Narrowed {
                sid,
                new_sid: Some(new_sid),
                resources: resources.to_vec(),
            },
            Some(copy),
        ));
    }
    match existing_not_resource {
        Some(mut list) => {
            list.extend(
                resources
                    .iter()
                    .filter(|r| !list.contains(r))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            doc::set(statement, "NotResource", doc::strings(&list));
        }
        None => rename(
            statement,
            "Resource",
            "NotResource",
            doc::strings(resources),
        ),
    }
    doc::merge_condition(statement, "ArnNotLike", IPA, patterns);
    Ok((
        Edit::Narrowed {
            sid,
            new_sid: None,
            resources: resources.to_vec(),
        },
        None,
    ))
}

fn attached_labels(ctx: &Ctx, record: &PolicyRecord) -> String {
    join_list(
        &record
            .targets
            .iter()
            .map(|t| ctx.label(t))
            .collect::<Vec<_>>(),
    )
}

fn patch_summary(
    ctx: &Ctx,
    record: &PolicyRecord,
    edits: &[Edit],
    patterns: &[String],
    actions: &[String],
) -> String {
    let profiles = join_list(
        &patterns
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>(),
    );
    let parts: Vec<String> = edits
        .iter()
        .map(|edit| match edit {
            Edit::NewKey { sid } => format!(
                "its Deny statement {sid} gets an `ArnNotLike` condition on `{IPA}` for {profiles}"
            ),
            Edit::NewBlockKey { sid } => format!(
                "its Deny statement {sid} gets `{IPA}` ({profiles}) in its existing `ArnNotLike` block"
            ),
            Edit::Appended { sid } => format!(
                "its Deny statement {sid} gets {profiles} appended to its existing `ArnNotLike` values on `{IPA}`"
            ),
            Edit::Narrowed { sid, new_sid: Some(new_sid), resources } => format!(
                "its Region deny {sid} is narrowed by resource: it no longer covers {checked}, and a new statement {new_sid} denies exactly those actions under the same conditions on every resource except the approved profiles' own ARNs in their source Regions ({}) — a deny of the source Region is lifted only for the request on the profile itself — and on models only unless the call is routed through {profiles}",
                join_list(&resources.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>()),
                checked = join_list(&actions.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>()),
            ),
            Edit::Narrowed { sid, new_sid: None, resources } => format!(
                "its Deny statement {sid} is narrowed by resource: `NotResource` {} (the approved profiles' own ARNs in their source Regions) replaces `Resource: \"*\"`, and it gets an `ArnNotLike` condition on `{IPA}` for {profiles}. Trade-off: every action this statement lists (not only inference) is no longer denied on those profile ARNs, e.g. `bedrock:GetInferenceProfile`",
                join_list(&resources.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>()),
            ),
            Edit::Split { sid, new_sid, added } => format!(
                "its NotAction Region deny {sid} is split: {} {} added to its NotAction list, and a new statement {new_sid} denies exactly those actions under the same conditions unless the call is routed through {profiles}",
                join_list(&added.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>()),
                if added.len() == 1 { "is" } else { "are" }
            ),
        })
        .collect();
    let narrowed = edits.iter().any(|e| matches!(e, Edit::Narrowed { .. }));
    format!(
        "Patches the customer-managed SCP {} ({}, attached to {}) in place: {}. Only the model requests Bedrock makes on behalf of an approved profile carry that profile ARN, so everything else the statement denied stays denied: other services, direct model calls, other profiles{}. No Allow is added.",
        record.name,
        record.id,
        attached_labels(ctx, record),
        parts.join("; "),
        if narrowed {
            "; the approved profiles become callable from the denied source Region, and nothing else does there"
        } else {
            ", and calls that originate in a denied Region (the request on the profile itself carries no profile ARN)"
        }
    )
}

/// The patched statements moved to a new SCP on the same targets, when the patch does not fit.
fn moved(
    ctx: &Ctx,
    record: &PolicyRecord,
    patch: &Patch<'_>,
    ids: &mut IdAllocator,
    sizes: &[usize],
) -> Result<Plan, PlanError> {
    let Patch {
        original,
        indices,
        narrow,
        patterns,
    } = *patch;
    let oversize = Oversize {
        policy_name: record.name.clone(),
        policy_id: record.id.clone(),
        chars: sizes.iter().min().copied().unwrap_or(0),
    };
    let too_big = oversize.to_string();
    let all = doc::statements(original);
    if indices.len() >= all.len() {
        return Err(PlanError::WholePolicy { oversize });
    }
    for target in &record.targets {
        let n = ctx.attached(target);
        if n >= MAX_SCPS_PER_TARGET {
            return Err(PlanError::NoRoomToMove {
                oversize,
                target_name: ctx.org.name_of(target),
                target_id: target.clone(),
                attached: n,
            });
        }
    }
    let (patched_policy, edits) = patched(original, indices, narrow, patterns, &[], false)?;
    let patched_statements = doc::statements(&patched_policy);
    let mut kept = Vec::new();
    let mut moved = Vec::new();
    for (i, statement) in patched_statements.into_iter().enumerate() {
        if indices.contains(&i) {
            moved.push(statement.clone());
        } else if let Some(original) = all.get(i) {
            kept.push((*original).clone());
        }
    }
    let mut remaining = original.clone();
    doc::set(&mut remaining, "Statement", Json::Array(kept));
    let new_policy = doc::policy_of(moved);
    let new_size = doc::minified(&new_policy).chars().count();
    if new_size > MAX_SCP_CHARS {
        return Err(PlanError::MovedTooLarge {
            oversize,
            chars: new_size,
        });
    }
    let id = ids.next();
    let name: String = format!("{}-cris", record.name).chars().take(128).collect();
    let file = file_name(&name, &id);
    let old_file = file_name(&record.name, &record.id);
    let mut plan = Plan::new(ProposalKind::PatchScp);
    plan.policy_id = Some(record.id.clone());
    plan.changes.push(Change::Update {
        policy_id: record.id.clone(),
        content: PolicyContent::Text(doc::minified(&remaining)),
        name: None,
    });
    plan.create_policy(id.clone(), &name, &new_policy, record.targets.clone());
    plan.apply.push(format!(
        "NEW_POLICY_ID=$(aws organizations create-policy --name {name} --type SERVICE_CONTROL_POLICY --description \"{} statements with the CRIS exemption (cris-guard)\" --content file://{file} --query Policy.PolicySummary.Id --output text)",
        record.name
    ));
    for target in &record.targets {
        plan.apply.push(format!(
            "aws organizations attach-policy --policy-id \"$NEW_POLICY_ID\" --target-id {target}"
        ));
    }
    plan.apply.push(format!(
        "aws organizations update-policy --policy-id {} --content file://{old_file}",
        record.id
    ));
    plan.documents.push(Doc {
        file: old_file,
        before: Some(original.clone()),
        after: remaining,
    });
    plan.documents.push(Doc {
        file,
        before: None,
        after: new_policy,
    });
    plan.targets.extend(record.targets.iter().cloned());
    plan.summary.push(format!(
        "{too_big}, so the patched statement moves to a new SCP {name} attached to the same targets (create it and attach it before updating {}, so the Region deny is never absent). {}",
        record.name,
        patch_summary(ctx, record, &edits, patterns, &ctx.actions)
    ));
    Ok(plan)
}

/// Adds an Allow for the approved profiles (and their models, only through those profiles) to
/// the allow-list SCP of a level that has none for Bedrock.
pub(crate) fn add_allow(
    ctx: &Ctx,
    group: &Group,
    level: &str,
    profiles: &BTreeSet<String>,
    ids: &mut IdAllocator,
) -> Result<Plan, PlanError> {
    let findings: Vec<&crate::findings::Finding> = group
        .all()
        .filter(|f| {
            profiles.contains(&f.profile_id)
                && f.blockers.iter().any(|b| {
                    b.kind == BlockerKind::NoAllow && b.attached_to.as_deref() == Some(level)
                })
        })
        .collect();
    let (profile_arns, model_arns) = ctx.checks.leg_resources(&findings);
    if profile_arns.is_empty() || model_arns.is_empty() {
        return Err(PlanError::NoRequestsToAllow {
            level_name: ctx.org.name_of(level),
            level_id: level.to_string(),
        });
    }
    let mut profile_arns: Vec<String> = profile_arns.into_iter().collect();
    let mut model_arns: Vec<String> = model_arns.into_iter().collect();
    // Too long to list exactly even in an SCP of its own: profiles by prefix wildcards (as
    // for a patched deny) and each model in any Region (callable only through those profiles).
    let exact_size = doc::minified(&doc::policy_of(allow_statements(
        &ctx.actions,
        &profile_arns,
        &model_arns,
        &mut BTreeSet::new(),
    )))
    .chars()
    .count();
    let wildcards = exact_size > MAX_SCP_CHARS;
    if wildcards {
        // Each profile in any Region and account, as the guards' patterns name it: with many
        // source Regions the per-Region ARNs alone pass the limit.
        let any_region: Vec<String> = profile_arns
            .iter()
            .map(|arn| any_region_and_account(arn))
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        profile_arns = ctx.folded_patterns(&any_region, profiles);
        model_arns = model_arns
            .iter()
            .map(|arn| match Arn::parse(arn) {
                Some(mut parsed) => {
                    parsed.region = "*".to_string();
                    parsed.to_string()
                }
                None => arn.clone(),
            })
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
    }
    let statements = |taken: &mut BTreeSet<String>| {
        allow_statements(&ctx.actions, &profile_arns, &model_arns, taken)
    };
    let what = format!(
        "an Allow for {} on the approved profiles ({}) and, only when the call carries one of those profiles in `{IPA}`, on their foundation models ({})",
        join_list(
            &ctx.actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
        ),
        join_list(
            &profile_arns
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
        ),
        join_list(
            &model_arns
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
        ),
    );
    let mut why = format!(
        "{} has no SCP that allows these requests (an allow-list without Bedrock). This fixes a missing Allow, not a Deny: direct model calls, other profiles and other services get no new Allow at this level.",
        ctx.label(level)
    );
    if wildcards {
        why.push_str(&format!(
            " The exact lists would make the SCP {exact_size} characters, over the 5,120-character limit, so profiles are named by prefix wildcards that match no known profile outside the approved ones, in any Region and account, and models in any Region; a profile AWS adds later under the same prefix would be allowed too."
        ));
    }
    let mut candidates: Vec<&PolicyRecord> = ctx
        .snapshot
        .snapshot
        .policies
        .iter()
        .filter(|p| {
            p.targets.iter().any(|t| t == level)
                && !p.aws_managed
                && !p.name.starts_with("aws-guardrails-")
        })
        .filter(|p| {
            doc::parse(&p.content.text()).is_ok_and(|json| {
                doc::statements(&json)
                    .iter()
                    .any(|s| matches!(doc::get(s, "Effect"), Some(Json::String(e)) if e == "Allow"))
            })
        })
        .collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    for record in candidates {
        let original = doc::parse(&record.content.text())?;
        let mut taken: BTreeSet<String> = doc::statements(&original)
            .iter()
            .filter_map(|s| doc::sid(s))
            .collect();
        let mut after = original.clone();
        let Some(list) = doc::statements_mut(&mut after) else {
            continue;
        };
        list.extend(statements(&mut taken));
        if doc::minified(&after).chars().count() > MAX_SCP_CHARS {
            continue;
        }
        let file = file_name(&record.name, &record.id);
        let mut plan = Plan::new(ProposalKind::PatchScp);
        plan.policy_id = Some(record.id.clone());
        plan.apply.push(format!(
            "aws organizations update-policy --policy-id {} --content file://{file}",
            record.id
        ));
        plan.update_policy(record, original, after);
        plan.targets.insert(level.to_string());
        plan.summary.push(format!(
            "Adds to the allow-list SCP {} ({}, attached to {}) {what}. {why}",
            record.name,
            record.id,
            attached_labels(ctx, record)
        ));
        return Ok(plan);
    }
    let n = ctx.attached(level);
    if n >= MAX_SCPS_PER_TARGET {
        return Err(PlanError::NoRoomForAllow {
            level_name: ctx.org.name_of(level),
            level_id: level.to_string(),
            attached: n,
        });
    }
    let mut taken = BTreeSet::new();
    let policy = doc::policy_of(statements(&mut taken));
    let id = ids.next();
    let name = "allow-bedrock-cris".to_string();
    let file = file_name(&name, &id);
    let mut plan = Plan::new(ProposalKind::NewScp);
    plan.create_policy(id, &name, &policy, vec![level.to_string()]);
    plan.apply.push(format!(
        "NEW_POLICY_ID=$(aws organizations create-policy --name {name} --type SERVICE_CONTROL_POLICY --description \"Allow Bedrock inference through approved cross-Region inference profiles (cris-guard)\" --content file://{file} --query Policy.PolicySummary.Id --output text)"
    ));
    plan.apply.push(format!(
        "aws organizations attach-policy --policy-id \"$NEW_POLICY_ID\" --target-id {level}"
    ));
    plan.documents.push(Doc {
        file,
        before: None,
        after: policy,
    });
    plan.targets.insert(level.to_string());
    plan.summary.push(format!(
        "Creates the SCP {name} with {what}, attached to {}. {why}",
        ctx.label(level)
    ));
    Ok(plan)
}

/// The two Allow statements for the approved profiles and, only through them, their models.
fn allow_statements(
    actions: &[String],
    profile_arns: &[String],
    model_arns: &[String],
    taken: &mut BTreeSet<String>,
) -> Vec<Json> {
    vec![
        doc::object(vec![
            (
                "Sid",
                Json::String(unique_sid("AllowBedrockCRISProfiles", taken)),
            ),
            ("Effect", Json::String("Allow".into())),
            ("Action", doc::one_or_many(actions)),
            ("Resource", doc::one_or_many(profile_arns)),
        ]),
        doc::object(vec![
            (
                "Sid",
                Json::String(unique_sid("AllowBedrockCRISModelsViaProfiles", taken)),
            ),
            ("Effect", Json::String("Allow".into())),
            ("Action", doc::one_or_many(actions)),
            ("Resource", doc::one_or_many(model_arns)),
            (
                "Condition",
                doc::object(vec![(
                    "ArnLike",
                    doc::object(vec![(IPA, doc::one_or_many(profile_arns))]),
                )]),
            ),
        ]),
    ]
}

/// The ARN with any Region and account (`arn:<partition>:bedrock:*:*:guardrail-profile/<id>`):
/// the profile as every account sees it in every Region it routes to.
pub(crate) fn any_region_and_account(resource: &str) -> String {
    match Arn::parse(resource) {
        Some(mut arn) => {
            arn.region = "*".to_string();
            arn.account = "*".to_string();
            arn.to_string()
        }
        None => resource.to_string(),
    }
}
