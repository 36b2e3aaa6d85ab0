//! Proof of a proposal: apply its changes to the snapshot, re-evaluate, and compare a probe set
//! before and after, so that a proposal is shown only when it fixes what it claims and opens
//! nothing else.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::arn::Arn;
use crate::findings::{Status, TargetKind};
use crate::org::{Org, TargetRef};
use crate::reachability::{self, Check, Leg, LegKind, Verdict};
use crate::snapshot::{MAX_SCP_CHARS, ValidSnapshot};
use crate::what_if::Change;

use super::context::Ctx;
use super::error::VerifyError;
use super::probe_answers::{
    BeforeProbes, LevelAnswers, OTHER_PROFILE, Probe, ProbeCache, Question, caller_class,
    folded_status,
};

/// At most this many readable entries in `newlyAllowedOutsideProfiles`.
const MAX_LISTED: usize = 40;

/// What re-evaluation found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub fixed: usize,
    /// The untouched statements of the organization (`policyId/Sid`) that leave claimed
    /// findings `conditional` on who calls: fixed for the principals they allow.
    pub allowed_principals: BTreeSet<String>,
    pub still_blocked: Vec<String>,
    /// The claimed findings still not reachable, as re-evaluated.
    pub still_findings: Vec<crate::findings::Finding>,
    pub newly_allowed: Vec<String>,
    /// Whether the probes were compared (see [`Openings`]): else `newly_allowed` lists only
    /// reported findings.
    pub probed: bool,
    /// Probe requests compared per target.
    pub probes: usize,
    pub targets: usize,
}

/// What a proposal claims and may open.
pub(crate) struct Claim<'a> {
    pub changes: &'a [Change],
    /// Finding keys the proposal claims to fix.
    pub fixes: &'a BTreeSet<String>,
    /// Regions the proposal starts governing (probed too).
    pub new_regions: &'a BTreeSet<String>,
    /// Probes for what the plan exempts beyond inference (other check kinds).
    pub extra_probes: &'a [Probe],
    pub openings: Openings,
}

/// Whether a proof probes what the changes open when they leave claims unfixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Openings {
    /// Always: the failure's reason says everything that is wrong.
    Always,
    /// Only when every claim is fixed: a plan that fixes too little is planned again, and its
    /// reason is then never read (the probes are the costliest part of a proof).
    WhenClaimsHold,
}

/// Builds a probe leg from action, resource, Region and profile ARN.
type LegBuilder = dyn Fn(&str, String, &str, Option<String>) -> Leg;

/// Applies the changes and checks the claim. `Err` when the changed snapshot is invalid (a
/// limit broken, a bad reference).
pub(crate) fn verify(ctx: &Ctx, claim: &Claim) -> Result<Outcome, VerifyError> {
    let after = crate::what_if::apply("proposal", &ctx.snapshot.snapshot, claim.changes)
        .map_err(|error| VerifyError::InvalidChange { error })?;
    check_limits(ctx.snapshot, &after)?;
    let mut outcome = Outcome::default();
    let mut options = ctx.options.evaluation.clone();
    options.all_accounts = true;
    options.only_problems = false;
    // Statuses of the cells the proof reads only: the claimed ones, and the blocked or
    // conditional findings outside the approved profiles on targets the changes reach (the
    // others are as reported, and a plan may open any call through an approved profile, so
    // those are never compared). A finding (several kB of text) is built just for claims still
    // blocked.
    let after_org = Org::new(&after);
    let mut reach = Reach::new(&ctx.org, &after_org, claim.changes);
    let mut index_of: HashMap<Cell, usize> = HashMap::with_capacity(ctx.report.findings.len());
    let mut cells: Vec<Cell> = Vec::with_capacity(ctx.report.findings.len());
    let report_cells = ctx
        .openable()
        .filter(|finding| {
            reach.reaches_target(
                &ctx.org,
                &after_org,
                finding.target_kind,
                &finding.target_id,
            )
        })
        .map(|finding| {
            (
                finding.target_id.as_str(),
                finding.profile_id.as_str(),
                finding.source_region.as_str(),
            )
        });
    for cell in report_cells.chain(claim.fixes.iter().filter_map(|key| cell_of(key))) {
        index_of.entry(cell).or_insert_with(|| {
            cells.push(cell);
            cells.len() - 1
        });
    }
    let decided = reachability::decide_cells(&after_org, &options, &cells);
    let status = |cell: &Cell| index_of.get(cell).and_then(|&i| decided.status(i));
    let mut still: Vec<usize> = Vec::new();
    let touched = touched_policies(claim.changes);
    for key in claim.fixes {
        let cell = cell_of(key);
        let decided_cell = cell
            .as_ref()
            .and_then(|cell| Some((status(cell)?, index_of.get(cell)?)));
        let own = match decided_cell {
            Some((Status::Conditional, &index)) => {
                who_may_call(&decided.findings_of(index), &ctx.org, &touched)
            }
            _ => None,
        };
        if let Some(statements) = own {
            outcome.fixed += 1;
            outcome.allowed_principals.extend(statements);
            continue;
        }
        match decided_cell {
            Some((Status::Reachable, _)) => outcome.fixed += 1,
            Some((other, &index)) => {
                outcome
                    .still_blocked
                    .push(format!("{key} is {}", other.as_str()));
                still.push(index);
            }
            None => outcome
                .still_blocked
                .push(format!("{key} is no longer evaluated")),
        }
    }
    // Every finding of a still-blocked key, claim by claim.
    for index in still {
        outcome.still_findings.extend(decided.findings_of(index));
    }
    for finding in ctx.openable() {
        let cell = (
            finding.target_id.as_str(),
            finding.profile_id.as_str(),
            finding.source_region.as_str(),
        );
        let Some(now) = status(&cell) else {
            continue;
        };
        if now == finding.status || claim.fixes.contains(&finding.key()) {
            continue;
        }
        let opened = match finding.status {
            Status::Blocked => matches!(now, Status::Reachable | Status::Conditional),
            Status::Conditional => now == Status::Reachable,
            _ => false,
        };
        if opened {
            outcome.newly_allowed.push(format!(
                "{}: {} from {} becomes {} (was {})",
                finding.target_id,
                finding.profile_id,
                finding.source_region,
                now.as_str(),
                finding.status.as_str()
            ));
        }
    }
    if claim.openings == Openings::WhenClaimsHold && !outcome.still_blocked.is_empty() {
        return Ok(outcome);
    }
    outcome.probed = true;
    let mut probes = probes(ctx.snapshot, &ctx.actions, &ctx.approved, claim.new_regions);
    probes.extend(claim.extra_probes.iter().cloned());
    outcome.probes = probes.len();
    // Only the entries shown are written out (a change can open millions of target × probe).
    let room = MAX_LISTED.saturating_sub(outcome.newly_allowed.len());
    let flips = flipped_probes(ctx, &after_org, &mut reach, &probes, room);
    outcome.targets = flips.targets;
    let total = outcome.newly_allowed.len() + flips.count;
    outcome.newly_allowed.extend(flips.listed);
    if total > MAX_LISTED {
        outcome.newly_allowed.truncate(MAX_LISTED);
        outcome
            .newly_allowed
            .push(format!("… and {} more", total - MAX_LISTED));
    }
    Ok(outcome)
}

/// The policies a change attaches, detaches, edits or creates.
fn touched_policies(changes: &[Change]) -> HashSet<&str> {
    changes
        .iter()
        .filter_map(|change| match change {
            Change::Attach { policy_id, .. }
            | Change::Detach { policy_id, .. }
            | Change::Update { policy_id, .. } => Some(policy_id.as_str()),
            Change::Create { policy_id, .. } => policy_id.as_deref(),
        })
        .collect()
}

/// The statements (`policyId/Sid`) that leave `findings` conditional, when each is a deny
/// of who may call (conditions on principal keys only) that the organization already had and
/// the proposal leaves alone: a fix must keep that choice, and it is no break, since it holds
/// wherever a call is routed. `None`
/// when a finding is still blocked or unknown, or a condition or blocker comes from
/// anything else: a policy the proposal writes or changes, or one that names the Region (a
/// Region deny with a principal exemption, like Control Tower's, still breaks the profile
/// for everyone else).
pub(crate) fn who_may_call(
    findings: &[crate::findings::Finding],
    before: &Org,
    touched: &HashSet<&str>,
) -> Option<BTreeSet<String>> {
    let untouched = |id: &str| {
        !touched.contains(id)
            && before.policies().iter().any(|p| {
                p.id == id
                    && p.statements.iter().all(|s| {
                        s.conditions
                            .iter()
                            .all(|c| !c.key.eq_ignore_ascii_case("aws:RequestedRegion"))
                    })
            })
    };
    let mut statements = BTreeSet::new();
    for finding in findings {
        match finding.status {
            Status::Reachable => continue,
            Status::Conditional if !finding.conditions.is_empty() => {}
            _ => return None,
        }
        for blocker in &finding.blockers {
            let own = blocker.kind == crate::findings::BlockerKind::ExplicitDeny
                && blocker.policy_id.as_deref().is_some_and(untouched);
            if !own {
                return None;
            }
        }
        for condition in &finding.conditions {
            if !is_principal_key(&condition.key) {
                return None;
            }
            let from = condition.from.as_deref()?;
            let policy = from.split('/').next().unwrap_or(from);
            if !untouched(policy) {
                return None;
            }
            statements.insert(from.to_string());
        }
    }
    (!statements.is_empty()).then_some(statements)
}

/// A condition key that says who calls (`aws:PrincipalArn`, `aws:PrincipalTag/…`, `aws:userid`),
/// not how or from where (`aws:CalledVia`, `aws:SourceVpce`).
fn is_principal_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("aws:principal") || key == "aws:userid" || key == "aws:username"
}

/// A finding's target id, profile id and source Region.
type Cell<'k> = (&'k str, &'k str, &'k str);

/// The cell a finding key (`target|profile|Region`, [`crate::findings::Finding::key`]) names.
fn cell_of(key: &str) -> Option<Cell<'_>> {
    let mut parts = key.splitn(3, '|');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// At most 5 SCPs directly attached per target (only checked where a change added some), and
/// every document within 5,120 characters.
fn check_limits(before: &ValidSnapshot, after: &ValidSnapshot) -> Result<(), VerifyError> {
    let count = |s: &ValidSnapshot| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for policy in &s.snapshot.policies {
            for target in &policy.targets {
                *counts.entry(target.clone()).or_default() += 1;
            }
        }
        counts
    };
    let old = count(before);
    let mut new: Vec<(String, usize)> = count(after).into_iter().collect();
    new.sort();
    for (target, n) in new {
        if n > super::MAX_SCPS_PER_TARGET && n > old.get(&target).copied().unwrap_or(0) {
            return Err(VerifyError::TooManyScps {
                target_id: target,
                attached: n,
            });
        }
    }
    for (record, size) in after.snapshot.policies.iter().zip(&after.policy_sizes) {
        if size.chars > MAX_SCP_CHARS {
            return Err(VerifyError::PolicyTooLarge {
                policy_id: record.id.clone(),
                chars: size.chars,
            });
        }
    }
    Ok(())
}

/// Every Region the snapshot's profiles mention (sources and destinations), plus `extra`.
fn probe_regions(snapshot: &ValidSnapshot, extra: &BTreeSet<String>) -> BTreeSet<String> {
    let mut regions: BTreeSet<String> = snapshot
        .snapshot
        .inference_profiles
        .keys()
        .cloned()
        .collect();
    for profiles in snapshot.snapshot.inference_profiles.values() {
        for profile in profiles {
            for model in &profile.models {
                if let Some(arn) = Arn::parse(&model.model_arn)
                    && !arn.region.is_empty()
                {
                    regions.insert(arn.region);
                }
            }
        }
    }
    regions.extend(extra.iter().filter(|r| *r != "unspecified").cloned());
    regions
}

/// The probe set (contract §4): other services in every probed Region, direct model calls
/// without `bedrock:InferenceProfileArn`, and model calls through profiles not approved.
pub(crate) fn probes(
    snapshot: &ValidSnapshot,
    actions: &[String],
    approved: &BTreeSet<String>,
    extra_regions: &BTreeSet<String>,
) -> Vec<Probe> {
    let regions = probe_regions(snapshot, extra_regions);
    let mut models: BTreeSet<(String, String)> = BTreeSet::new();
    let mut global_models: BTreeSet<(String, String)> = BTreeSet::new();
    let mut others: Vec<String> = Vec::new();
    let mut seen_others = BTreeSet::new();
    for profiles in snapshot.snapshot.inference_profiles.values() {
        for profile in profiles {
            for model in &profile.models {
                if let Some(arn) = Arn::parse(&model.model_arn) {
                    let key = (arn.partition.clone(), arn.resource.clone());
                    if arn.region.is_empty() || profile.inference_profile_id.starts_with("global.")
                    {
                        global_models.insert(key.clone());
                    }
                    models.insert(key);
                }
            }
            if !approved.contains(&profile.inference_profile_id)
                && seen_others.insert(profile.inference_profile_id.clone())
                && others.len() < 3
            {
                others.push(profile.inference_profile_arn.clone());
            }
        }
    }
    if !approved
        .iter()
        .any(|p| OTHER_PROFILE.ends_with(&format!("/{p}")))
    {
        others.push(OTHER_PROFILE.to_string());
    }
    let leg = |action: &str, resource: String, region: &str, ipa: Option<String>| Leg {
        action: action.to_string(),
        resource,
        region: region.to_string(),
        inference_profile_arn: ipa,
        kind: LegKind::DestinationModel,
    };
    let mut probes = Vec::new();
    for region in &regions {
        for (action, resource) in [
            ("ec2:RunInstances", "*".to_string()),
            ("s3:GetObject", "arn:aws:s3:::probe-bucket/key".to_string()),
            ("lambda:InvokeFunction", "*".to_string()),
            ("sts:AssumeRole", "*".to_string()),
        ] {
            probes.push(Probe {
                label: format!("{action} in {region}"),
                leg: leg(action, resource, region, None),
            });
        }
        for (partition, model) in &models {
            bedrock_probes(
                &mut probes,
                actions,
                &others,
                partition,
                model,
                region,
                &leg,
            );
        }
    }
    if !global_models.is_empty() || extra_regions.contains("unspecified") {
        for (partition, model) in &global_models {
            bedrock_probes(
                &mut probes,
                actions,
                &others,
                partition,
                model,
                "unspecified",
                &leg,
            );
        }
    }
    probes
}

fn bedrock_probes(
    probes: &mut Vec<Probe>,
    actions: &[String],
    others: &[String],
    partition: &str,
    model: &str,
    region: &str,
    leg: &LegBuilder,
) {
    let arn_region = if region == "unspecified" { "" } else { region };
    let resource = format!("arn:{partition}:bedrock:{arn_region}::{model}");
    for action in actions {
        probes.push(Probe {
            label: format!("{action} on {resource} in {region} without an inference profile"),
            leg: leg(action, resource.clone(), region, None),
        });
        for other in others {
            probes.push(Probe {
                label: format!(
                    "{action} on {resource} in {region} through the profile {other}, which is not approved"
                ),
                leg: leg(action, resource.clone(), region, Some(other.clone())),
            });
        }
    }
}

/// The id of an organization's policy by index.
fn id<'o>(org: &'o Org<'_>, policy: usize) -> Option<&'o str> {
    org.policies().get(policy).map(|p| p.id.as_str())
}

/// Which targets a plan's changes reach: those whose chain holds other policies (or the same at
/// other levels) after the change, or a policy the plan creates or updates. Every other target
/// decides every request as before, so a proof evaluates only the reached ones.
struct Reach<'o> {
    /// Updated policies, and created ones (ids the organization before does not have).
    changed: HashSet<&'o str>,
    /// (chain before, chain after) → reached.
    pairs: HashMap<(usize, usize), bool>,
}

impl<'o> Reach<'o> {
    fn new(before: &Org<'_>, after: &'o Org<'_>, changes: &'o [Change]) -> Reach<'o> {
        let known: HashSet<&str> = before.policies().iter().map(|p| p.id.as_str()).collect();
        let changed = changes
            .iter()
            .filter_map(|change| match change {
                Change::Update { policy_id, .. } => Some(policy_id.as_str()),
                _ => None,
            })
            .chain(
                after
                    .policies()
                    .iter()
                    .map(|p| p.id.as_str())
                    .filter(|id| !known.contains(id)),
            )
            .collect();
        Reach {
            changed,
            pairs: HashMap::new(),
        }
    }

    /// Whether a target with chain `b` before and `a` after is reached.
    fn reaches(&mut self, before: &Org<'_>, b: usize, after: &Org<'_>, a: usize) -> bool {
        let changed = &self.changed;
        *self.pairs.entry((b, a)).or_insert_with(|| {
            let (b_levels, a_levels) = (before.chain_levels(b), after.chain_levels(a));
            let same = b_levels.len() == a_levels.len()
                && b_levels.iter().zip(a_levels).all(|(x, y)| {
                    x.len() == y.len()
                        && x.iter()
                            .zip(y)
                            .all(|(&p, &q)| id(before, p) == id(after, q))
                });
            !same
                || b_levels
                    .iter()
                    .flatten()
                    .any(|&p| id(before, p).is_some_and(|id| changed.contains(id)))
        })
    }

    /// [`Reach::reaches`] for the target of a finding (an OU or root as a new account in it).
    fn reaches_target(
        &mut self,
        before: &Org<'_>,
        after: &Org<'_>,
        kind: TargetKind,
        id: &str,
    ) -> bool {
        let (b, a) = match kind {
            TargetKind::Account => (before.account_chain(id), after.account_chain(id)),
            TargetKind::OrganizationalUnit | TargetKind::Root => {
                (before.new_account_chain(id), after.new_account_chain(id))
            }
        };
        self.reaches(before, b, after, a)
    }
}

/// Probes denied before and allowed (for some non-admin principal) after, per target: the
/// first `room` as readable strings, the count, and the number of targets probed.
///
/// A target whose chain holds the same policies at the same levels, none of them updated,
/// decides every probe as before, so only targets the changes reach are evaluated. The others
/// are answered per pair of chains (before, after) and caller class, from each level content's
/// answer, computed once per content; probes the levels leave open (conditions) take the full
/// verdict of one target of the pair.
fn flipped_probes(
    ctx: &Ctx,
    after_org: &Org<'_>,
    reach: &mut Reach<'_>,
    probes: &[Probe],
    room: usize,
) -> Flips {
    let before_org = &ctx.org;
    let chain_ids = |org: &Org, chain: usize| -> Vec<Vec<String>> {
        org.chain_levels(chain)
            .iter()
            .map(|level| {
                level
                    .iter()
                    .filter_map(|&p| org.policies().get(p).map(|policy| policy.id.clone()))
                    .collect()
            })
            .collect()
    };
    let admins = reachability::admin_patterns(&ctx.options.evaluation.admin_principals);
    let before_targets = before_org.targets_in_order(&[]);
    let after_targets = after_org.targets_in_order(&[]);
    // The organization before is the same for every plan: its answers are kept across
    // verifications, under an id per probe label (plans probe different sets).
    let mut before = ctx.before_probes.borrow_mut();
    let ids: Vec<usize> = probes
        .iter()
        .map(|probe| before.id_of(&probe.label))
        .collect();
    let before_contents = before.content_names(before_org.policies());
    let after_contents = before.content_names(after_org.policies());
    let BeforeProbes {
        cache: before_cache,
        levels: shared,
        ..
    } = &mut *before;
    // Level contents holding a policy this plan creates or updates: answers for this proof only.
    let mut fresh = LevelAnswers::default();
    let mut after_cache = ProbeCache::default();
    let mut pairs: HashMap<PairKey, Vec<Pair>> = HashMap::new();
    let mut flips = Flips::default();
    for (b, a) in before_targets.iter().zip(after_targets.iter()) {
        let (b_chain, a_chain) = match (b, a) {
            (TargetRef::OrganizationalUnit(x), TargetRef::OrganizationalUnit(y)) => (
                before_org.new_account_chain(x),
                after_org.new_account_chain(y),
            ),
            (TargetRef::Account(x), TargetRef::Account(y)) => {
                if before_org.is_management(x) {
                    continue;
                }
                (before_org.account_chain(x), after_org.account_chain(y))
            }
            _ => continue,
        };
        flips.targets += 1;
        if !reach.reaches(before_org, b_chain, after_org, a_chain) {
            continue;
        }
        // A caller (a few strings) is built only where a chain can tell callers apart, or
        // for the first target of a pair: most targets share a pair's answers.
        let b_caller = before_org
            .chain_is_sensitive(b_chain)
            .then(|| before_org.caller(*b));
        let a_caller = after_org
            .chain_is_sensitive(a_chain)
            .then(|| after_org.caller(*a));
        let key = (
            b_chain,
            a_chain,
            classes(before_org, b_chain, b_caller.as_ref()),
            classes(after_org, a_chain, a_caller.as_ref()),
        );
        let answers = match pairs.entry(key) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let b_caller = b_caller.unwrap_or_else(|| before_org.caller(*b));
                let a_caller = a_caller.unwrap_or_else(|| after_org.caller(*a));
                let before_ids = chain_ids(before_org, b_chain);
                let after_ids = chain_ids(after_org, a_chain);
                let sides = Sides {
                    before: Side {
                        org: before_org,
                        chain: b_chain,
                        ids: &before_ids,
                        contents: &before_contents,
                        changes_apply: false,
                        caller: &b_caller,
                        target: *b,
                    },
                    after: Side {
                        org: after_org,
                        chain: a_chain,
                        ids: &after_ids,
                        contents: &after_contents,
                        changes_apply: true,
                        caller: &a_caller,
                        target: *a,
                    },
                    changed: &reach.changed,
                };
                let mut caches = Caches {
                    shared: &mut *shared,
                    fresh: &mut fresh,
                    before: &mut *before_cache,
                    after: &mut after_cache,
                };
                entry.insert(sides.answers(probes, &ids, &admins, &mut caches))
            }
        };
        let id = before_org.target_id(*b);
        for (probe, answer) in probes.iter().zip(answers.iter()) {
            let now = match answer {
                Pair::Same => continue,
                Pair::Flipped => Status::Reachable,
            };
            if now != Status::Blocked {
                if flips.count < room {
                    flips.listed.push(format!("{id}: {}", probe.label));
                }
                flips.count += 1;
            }
        }
    }
    flips
}

/// Probes denied before and allowed after: the first few as readable strings, how many in all,
/// and the number of targets probed.
#[derive(Default)]
struct Flips {
    listed: Vec<String>,
    count: usize,
    targets: usize,
}

/// Targets with the same chains before and after, and the same caller class at each level.
type PairKey = (usize, usize, Vec<Option<String>>, Vec<Option<String>>);

/// A probe's answer for a pair of chains: not flipped, or flipped.
#[derive(Clone, Copy)]
enum Pair {
    Same,
    Flipped,
}

/// One side (before or after) of a target's chain: its organization, chain and level policy ids.
struct Side<'s, 'a> {
    org: &'s Org<'a>,
    chain: usize,
    ids: &'s [Vec<String>],
    /// Each policy's content name (by index), which level answers are keyed by.
    contents: &'s [String],
    /// The organization after the change (its created and updated policies are new content).
    changes_apply: bool,
    caller: &'s reachability::Caller,
    /// A target with this chain (and caller class), for the full verdict.
    target: TargetRef<'a>,
}

impl<'s> Side<'s, '_> {
    /// Per level: its content id (in `fresh` when it holds a changed policy, else in `shared`;
    /// per caller class where the content can tell callers apart), its policies, and whether
    /// it is fresh and keyed per caller class.
    fn levels(
        &self,
        changed: &HashSet<&str>,
        shared: &mut LevelAnswers,
        fresh: &mut LevelAnswers,
    ) -> Vec<Level<'s>> {
        self.ids
            .iter()
            .zip(self.org.chain_levels(self.chain))
            .map(|(names, content)| {
                // The organization before holds the originals of updated policies.
                let is_fresh =
                    self.changes_apply && names.iter().any(|id| changed.contains(id.as_str()));
                let store = if is_fresh { &mut *fresh } else { &mut *shared };
                let class = caller_class(content, self.org.policies(), self.caller);
                let mut key: Vec<String> = content
                    .iter()
                    .filter_map(|&p| self.contents.get(p).cloned())
                    .collect();
                key.extend(class.iter().cloned());
                Level {
                    fresh: is_fresh,
                    id: store.level_id(key),
                    content,
                    per_caller: class.is_some(),
                }
            })
            .collect()
    }
}

/// The caller class of every level of a chain (targets with the same chains and classes answer
/// alike); none for a chain that cannot tell callers apart (whose caller is not built).
fn classes(
    org: &Org<'_>,
    chain: usize,
    caller: Option<&reachability::Caller>,
) -> Vec<Option<String>> {
    let Some(caller) = caller.filter(|_| org.chain_is_sensitive(chain)) else {
        return Vec::new();
    };
    org.chain_levels(chain)
        .iter()
        .map(|content| caller_class(content, org.policies(), caller))
        .collect()
}

/// One level of a chain, as [`Side::levels`] names it.
struct Level<'s> {
    fresh: bool,
    id: usize,
    content: &'s [usize],
    per_caller: bool,
}

/// The two chains of the targets that share them, and the policies the plan changes.
struct Sides<'s, 'a> {
    before: Side<'s, 'a>,
    after: Side<'s, 'a>,
    changed: &'s HashSet<&'s str>,
}

impl Sides<'_, '_> {
    /// Every probe's [`Pair`] answer. Levels answer from `shared` (unchanged contents, by global
    /// probe id) or `fresh` (contents with a changed policy, by this proof's probe index).
    fn answers(
        &self,
        probes: &[Probe],
        ids: &[usize],
        admins: &[crate::policy::wildcard::Wildcard],
        caches: &mut Caches<'_>,
    ) -> Vec<Pair> {
        let before_levels = self
            .before
            .levels(self.changed, caches.shared, caches.fresh);
        let after_levels = self.after.levels(self.changed, caches.shared, caches.fresh);
        // The status from the levels' answers, or, when they leave it open (conditions), from
        // the full verdict of one of the targets (the same for all: same chain and classes).
        let status = |side: &Side,
                      levels: &[Level],
                      (p, probe, global): (usize, &Probe, usize),
                      caches: &mut Caches<'_>| {
            let flags = levels.iter().fold(0u8, |flags, level| {
                let question = Question {
                    content: level.content,
                    policies: side.org.policies(),
                    probe,
                    caller: side.caller,
                    admins,
                    per_caller: level.per_caller,
                };
                flags
                    | if level.fresh {
                        caches.fresh.answer(level.id, p, &question)
                    } else {
                        caches.shared.answer(level.id, global, &question)
                    }
            });
            folded_status(flags).unwrap_or_else(|| {
                let (index, cache) = if side.changes_apply {
                    (p, &mut *caches.after)
                } else {
                    (global, &mut *caches.before)
                };
                status_of(
                    side.org,
                    side.target,
                    side.chain,
                    index,
                    probe,
                    admins,
                    cache,
                )
            })
        };
        probes
            .iter()
            .enumerate()
            .zip(ids)
            .map(|((p, probe), &global)| {
                let question = (p, probe, global);
                if status(&self.before, &before_levels, question, caches) != Status::Blocked {
                    return Pair::Same;
                }
                match status(&self.after, &after_levels, question, caches) {
                    Status::Blocked => Pair::Same,
                    _ => Pair::Flipped,
                }
            })
            .collect()
    }
}

/// The answers a pair's probes are taken from: level answers (unchanged contents, and those a
/// plan changed) and full verdicts per chain, before and after.
struct Caches<'c> {
    shared: &'c mut LevelAnswers,
    fresh: &'c mut LevelAnswers,
    before: &'c mut ProbeCache,
    after: &'c mut ProbeCache,
}

fn status_of<'a>(
    org: &Org<'a>,
    target: TargetRef<'a>,
    chain: usize,
    index: usize,
    probe: &Probe,
    admins: &[crate::policy::wildcard::Wildcard],
    cache: &mut ProbeCache,
) -> Status {
    // Per target only when a statement that applies to the probe's action can tell callers
    // apart; most probes (other services, other Regions) share one answer per chain.
    let sensitive = *cache.sensitive.entry((chain, index)).or_insert_with(|| {
        org.chain_is_sensitive(chain)
            && org
                .chain_levels(chain)
                .iter()
                .flatten()
                .filter_map(|&p| org.policies().get(p))
                .filter(|policy| policy.account_sensitive)
                .flat_map(|policy| &policy.statements)
                // A probe's resource never carries the caller's account, so a specific
                // Resource alone does not tell callers apart (only conditions and variables).
                .any(|statement| {
                    statement.caller_sensitive_for_fixed_resource()
                        && reachability::statement_sensitivity(
                            statement,
                            &[probe.leg.action.to_ascii_lowercase()],
                        ) != reachability::Sensitivity::None
                })
    });
    // A per-target answer is asked for once per proof; keeping it would only cost memory (one
    // entry per target × probe, gigabytes at 10,000 accounts).
    let key = (chain, index);
    if !sensitive && let Some(status) = cache.status.get(&key) {
        return *status;
    }
    let check = Check {
        kind: crate::findings::CheckKind::Inference,
        profile_id: String::new(),
        source_region: probe.leg.region.clone(),
        profile_arn: String::new(),
        legs: vec![probe.leg.clone()],
        missing: None,
    };
    let verdict: Verdict = reachability::verdict(
        &check,
        org.chain_levels(chain),
        org.policies(),
        &org.caller(target),
        admins,
    );
    if !sensitive {
        cache.status.insert(key, verdict.status);
    }
    verdict.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenerateOptions, organization};
    use crate::snapshot::PolicyContent;

    /// A generated organization of `accounts` accounts, validated.
    fn generated(accounts: usize) -> Result<ValidSnapshot, crate::error::InputError> {
        crate::snapshot::validate(
            "test",
            organization(&GenerateOptions {
                accounts,
                ..GenerateOptions::default()
            }),
        )
    }

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    /// The probes denied before and allowed after, decided the slow way: the full verdict of
    /// every target × probe, before and after.
    fn flipped_per_target(ctx: &Ctx, after: &ValidSnapshot, probes: &[Probe]) -> Vec<String> {
        let after_org = Org::new(after);
        let admins = reachability::admin_patterns(&ctx.options.evaluation.admin_principals);
        let status = |org: &Org, target: TargetRef, chain: usize, probe: &Probe| {
            let check = Check {
                kind: crate::findings::CheckKind::Inference,
                profile_id: String::new(),
                source_region: probe.leg.region.clone(),
                profile_arn: String::new(),
                legs: vec![probe.leg.clone()],
                missing: None,
            };
            let levels = org.chain_levels(chain);
            reachability::verdict(&check, levels, org.policies(), &org.caller(target), &admins)
                .status
        };
        let mut flipped = Vec::new();
        for (b, a) in ctx
            .org
            .targets_in_order(&[])
            .into_iter()
            .zip(after_org.targets_in_order(&[]))
        {
            let (b_chain, a_chain) = match (b, a) {
                (TargetRef::OrganizationalUnit(x), TargetRef::OrganizationalUnit(y)) => {
                    (ctx.org.new_account_chain(x), after_org.new_account_chain(y))
                }
                (TargetRef::Account(x), TargetRef::Account(y)) if !ctx.org.is_management(x) => {
                    (ctx.org.account_chain(x), after_org.account_chain(y))
                }
                _ => continue,
            };
            for probe in probes {
                if status(&ctx.org, b, b_chain, probe) == Status::Blocked
                    && status(&after_org, a, a_chain, probe) != Status::Blocked
                {
                    flipped.push(format!("{}: {}", ctx.org.target_id(b), probe.label));
                }
            }
        }
        flipped
    }

    /// Every non-FullAWSAccess policy in use replaced by an Allow of everything, one at a time.
    fn opening_changes(valid: &ValidSnapshot) -> Vec<Vec<Change>> {
        valid
            .snapshot
            .policies
            .iter()
            .filter(|p| !p.targets.is_empty() && p.name != "FullAWSAccess")
            .map(|p| {
                vec![Change::Update {
                    policy_id: p.id.clone(),
                    content: PolicyContent::Text(ALLOW_ALL.to_string()),
                    name: None,
                }]
            })
            .collect()
    }

    /// Compares the flips of every change against the per-target decision; returns how many.
    fn compare(
        valid: &ValidSnapshot,
        cases: &[Vec<Change>],
    ) -> Result<usize, Box<dyn std::error::Error>> {
        let options = super::super::Options {
            approved_profiles: Vec::new(),
            evaluation: reachability::Options {
                source_regions: vec!["us-east-1".to_string()],
                ..reachability::Options::default()
            },
        };
        let report = reachability::evaluate(valid, &options.evaluation);
        let ctx = Ctx::new(valid, &report, &options);
        let all = probes(valid, &ctx.actions, &ctx.approved, &BTreeSet::new());
        let sample: Vec<Probe> = all.iter().step_by(61).cloned().collect();
        let mut flips = 0;
        for changes in cases {
            let after = crate::what_if::apply("test", &valid.snapshot, changes)?;
            let expected = flipped_per_target(&ctx, &after, &sample);
            let after_org = Org::new(&after);
            let mut reach = Reach::new(&ctx.org, &after_org, changes);
            let got = flipped_probes(&ctx, &after_org, &mut reach, &sample, usize::MAX).listed;
            assert_eq!(got, expected, "changes {changes:?}");
            flips += got.len();
        }
        Ok(flips)
    }

    /// A target the changes do not reach (same policies at the same levels, none created or
    /// updated) keeps every status: over opening changes, attachments and detachments, each
    /// finding whose status differs after a full re-evaluation is on a reached target, and some
    /// targets are left out (the shortcut is taken).
    #[test]
    fn targets_a_plan_does_not_reach_keep_their_status() -> Result<(), Box<dyn std::error::Error>> {
        let valid = generated(60)?;
        let options = reachability::Options {
            all_accounts: true,
            source_regions: vec!["us-east-1".to_string()],
            ..reachability::Options::default()
        };
        let before = reachability::evaluate(&valid, &options);
        let before_org = Org::new(&valid);
        let mut cases = opening_changes(&valid);
        let first_ou = valid
            .snapshot
            .organizational_units
            .first()
            .map(|ou| ou.id.clone())
            .ok_or("no OU")?;
        for policy in valid
            .snapshot
            .policies
            .iter()
            .filter(|p| p.name != "FullAWSAccess")
        {
            if !policy.targets.contains(&first_ou) {
                cases.push(vec![Change::Attach {
                    policy_id: policy.id.clone(),
                    target_id: first_ou.clone(),
                }]);
            }
            if let Some(target) = policy.targets.first() {
                cases.push(vec![Change::Detach {
                    policy_id: policy.id.clone(),
                    target_id: target.clone(),
                }]);
            }
        }
        let (mut changed, mut skipped) = (0, 0);
        for changes in &cases {
            let after = crate::what_if::apply("test", &valid.snapshot, changes)?;
            let after_report = reachability::evaluate(&after, &options);
            let after_org = Org::new(&after);
            let mut reach = Reach::new(&before_org, &after_org, changes);
            for (old, new) in before.findings.iter().zip(&after_report.findings) {
                assert_eq!(old.key(), new.key());
                let reached =
                    reach.reaches_target(&before_org, &after_org, old.target_kind, &old.target_id);
                if old.status != new.status {
                    changed += 1;
                    assert!(
                        reached,
                        "{} changed but is not reached by {changes:?}",
                        old.key()
                    );
                } else if !reached {
                    skipped += 1;
                }
            }
        }
        assert!(
            changed > 0 && skipped > 0,
            "changed {changed}, skipped {skipped}"
        );
        Ok(())
    }

    /// The shared level answers and caller classes give the same flips as deciding every target
    /// × probe on its own, for changes that open Regions, services and profiles, and for lifting
    /// a deny of every account not listed in `aws:PrincipalAccount` (answers per caller class).
    #[test]
    fn shared_answers_agree_with_per_target_verdicts() -> Result<(), Box<dyn std::error::Error>> {
        let valid = generated(60)?;
        let cases = opening_changes(&valid);
        assert!(
            cases.len() > 3,
            "too few changes to compare: {}",
            cases.len()
        );
        assert!(compare(&valid, &cases)? > 0, "no change flipped a probe");

        let listed: Vec<String> = valid
            .snapshot
            .accounts
            .iter()
            .step_by(7)
            .map(|a| a.id.clone())
            .collect();
        let by_account = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"StringNotEquals":{{"aws:PrincipalAccount":{listed:?}}}}}}}]}}"#
        );
        assert!(
            compare_lifting(&valid, "byaccount", by_account)? > 0,
            "lifting the deny flipped nothing"
        );
        Ok(())
    }

    /// [`compare`] for lifting `deny`, attached to every root as `p-{name}` (an Allow of
    /// everything in its place).
    fn compare_lifting(
        valid: &ValidSnapshot,
        name: &str,
        deny: String,
    ) -> Result<usize, Box<dyn std::error::Error>> {
        let roots: Vec<String> = valid.snapshot.roots.iter().map(|r| r.id.clone()).collect();
        let denied = crate::what_if::apply(
            "test",
            &valid.snapshot,
            &[Change::Create {
                policy_id: Some(format!("p-{name}")),
                name: name.to_string(),
                content: PolicyContent::Text(deny),
                targets: roots,
            }],
        )?;
        let lifted = vec![vec![Change::Update {
            policy_id: format!("p-{name}"),
            content: PolicyContent::Text(ALLOW_ALL.to_string()),
            name: None,
        }]];
        compare(&denied, &lifted)
    }
    /// Callers share level answers per class of how they match a path guard's values (as with
    /// the generator's `ForAllValues:StringNotLike` on `aws:PrincipalOrgPaths`), not per account:
    /// lifting a root deny of everything outside one OU flips exactly the probes of the targets
    /// outside it. A class that ignored the path would answer every target like the first.
    #[test]
    fn shared_answers_agree_for_a_path_guard() -> Result<(), Box<dyn std::error::Error>> {
        let valid = generated(40)?;
        let inside = valid
            .snapshot
            .accounts
            .iter()
            .map(|a| a.parent_id.clone())
            .find(|parent| parent.starts_with("ou-"))
            .ok_or("no account in an OU")?;
        let guard = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"ForAllValues:StringNotLike":{{"aws:PrincipalOrgPaths":"*/{inside}/*"}}}}}}]}}"#
        );
        assert!(
            compare_lifting(&valid, "pathguard", guard)? > 0,
            "lifting the path guard flipped nothing"
        );
        Ok(())
    }

    /// A plan that opens reported findings outside the approved profiles lists each of them
    /// (the proof reads only those cells besides its claims): compared with a full
    /// re-evaluation of the changed organization.
    #[test]
    fn findings_opened_outside_the_approved_profiles_are_newly_allowed()
    -> Result<(), Box<dyn std::error::Error>> {
        let valid = generated(60)?;
        let evaluation = reachability::Options {
            all_accounts: true,
            only_problems: false,
            source_regions: vec!["us-east-1".to_string()],
            ..reachability::Options::default()
        };
        let report = reachability::evaluate(&valid, &evaluation);
        let blocked = |f: &&crate::findings::Finding| {
            matches!(f.status, Status::Blocked | Status::Conditional)
        };
        let approved_profile = report
            .findings
            .iter()
            .find(blocked)
            .map(|f| f.profile_id.clone())
            .ok_or("nothing blocked")?;
        let options = super::super::Options {
            approved_profiles: vec![approved_profile.clone()],
            evaluation: evaluation.clone(),
        };
        let ctx = Ctx::new(&valid, &report, &options);
        let mut checked = 0;
        for changes in opening_changes(&valid) {
            let after = crate::what_if::apply("test", &valid.snapshot, &changes)?;
            let now: HashMap<String, Status> = reachability::evaluate(&after, &evaluation)
                .findings
                .into_iter()
                .map(|f| (f.key(), f.status))
                .collect();
            let expected: Vec<String> = report
                .findings
                .iter()
                .filter(blocked)
                .filter(|f| f.profile_id != approved_profile)
                .filter_map(|f| {
                    let after = *now.get(&f.key())?;
                    let opened = match f.status {
                        Status::Blocked => after != Status::Blocked && after != Status::Unknown,
                        _ => after == Status::Reachable,
                    };
                    opened.then(|| {
                        format!(
                            "{}: {} from {} becomes {} (was {})",
                            f.target_id,
                            f.profile_id,
                            f.source_region,
                            after.as_str(),
                            f.status.as_str()
                        )
                    })
                })
                .collect();
            let claim = Claim {
                changes: &changes,
                fixes: &BTreeSet::new(),
                new_regions: &BTreeSet::new(),
                extra_probes: &[],
                openings: Openings::Always,
            };
            let outcome = verify(&ctx, &claim)?;
            let shown = expected.len().min(MAX_LISTED);
            assert_eq!(
                outcome.newly_allowed.get(..shown),
                expected.get(..shown),
                "changes {changes:?}"
            );
            checked += expected.len();
        }
        assert!(
            checked > 0,
            "no change opened a finding outside the approved profile"
        );
        Ok(())
    }

    /// A proof that leaves a claim unfixed probes what the changes open only when asked to
    /// ([`Openings::Always`], for a failure's full reason); its claims are judged alike either
    /// way.
    #[test]
    fn openings_are_probed_when_claims_hold_or_when_asked() -> Result<(), Box<dyn std::error::Error>>
    {
        let valid = generated(60)?;
        let options = super::super::Options {
            approved_profiles: Vec::new(),
            evaluation: reachability::Options {
                source_regions: vec!["us-east-1".to_string()],
                ..reachability::Options::default()
            },
        };
        let report = reachability::evaluate(&valid, &options.evaluation);
        let ctx = Ctx::new(&valid, &report, &options);
        let mut compared = 0;
        let none = BTreeSet::new();
        for changes in opening_changes(&valid) {
            let after = crate::what_if::apply("test", &valid.snapshot, &changes)?;
            let still_blocked: BTreeSet<String> =
                reachability::evaluate(&after, &options.evaluation)
                    .findings
                    .iter()
                    .filter(|f| f.status == Status::Blocked)
                    .map(|f| f.key())
                    .take(1)
                    .collect();
            let claim = |openings| Claim {
                changes: &changes,
                fixes: &still_blocked,
                new_regions: &none,
                extra_probes: &[],
                openings,
            };
            let full = verify(&ctx, &claim(Openings::Always))?;
            let short = verify(&ctx, &claim(Openings::WhenClaimsHold))?;
            assert!(full.probed);
            assert_eq!(
                short.probed,
                still_blocked.is_empty(),
                "changes {changes:?}"
            );
            assert_eq!(short.still_blocked, full.still_blocked);
            assert_eq!(short.fixed, full.fixed);
            if !short.probed
                && full.targets > 0
                && full.newly_allowed.len() > short.newly_allowed.len()
            {
                compared += 1;
            }
        }
        assert!(
            compared > 0,
            "no change left a claim blocked and opened a probe"
        );
        Ok(())
    }
}
