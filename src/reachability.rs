//! Reachability: expands each inference profile into the requests Bedrock authorizes and decides,
//! per OU/account × profile × source Region, reachable / blocked / conditional / unknown.
//!
//! Speed comes from sharing: every target's SCP chain is interned (the list of policy sets from
//! the root down), and the abstract result of one chain × check is computed once and reused by
//! every OU and account with the same chain. Only policies that can depend on the account or
//! OU path (see [`crate::policy::Policy::account_sensitive`]) make results per target.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::arn::Arn;
use crate::evaluation::{self, Decision, LevelResult, Outcome};
use crate::findings::{
    Blocker, BlockerKind, Condition, Finding, Report, Status, Summary, TargetKind,
};
use crate::org::{Org, TargetRef};
use crate::policy::condition::ConditionClause;
use crate::policy::wildcard::Wildcard;
use crate::policy::{ActionMatch, Applies, Effect, Policy, ResourceMatch, Statement};
use crate::request::Request;
pub use crate::request::leg::{Caller, Leg, LegKind, request_for};
use crate::snapshot::{InferenceProfile, ValidSnapshot};

pub mod witness;

/// The actions checked when none are given.
pub const DEFAULT_ACTIONS: &[&str] = &[
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
];

/// Administration roles that Control Tower and StackSets exempt from their own guardrails;
/// "every principal" means every principal but these (contract §3).
pub const ADMIN_PRINCIPALS: &[&str] = &[
    "arn:*:iam::*:role/AWSControlTowerExecution",
    "arn:*:sts::*:assumed-role/AWSControlTowerExecution/*",
    "arn:*:iam::*:role/aws-controltower-*",
    "arn:*:sts::*:assumed-role/aws-controltower-*",
    "arn:*:iam::*:role/stacksets-exec-*",
    "arn:*:sts::*:assumed-role/stacksets-exec-*",
    "arn:*:iam::*:role/AWSControlTower_VPCFlowLogsRole",
];

/// An index as stored in [`Decided`]: organizations and check sets are far below `u32::MAX`
/// (AWS caps an organization at a few hundred thousand accounts), so this never saturates.
fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Worker threads [`decide`] uses at most (one per core up to this).
const MAX_WORKERS: usize = 8;

/// What to check and how to read "every principal".
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Actions in the check set; empty means [`DEFAULT_ACTIONS`].
    pub actions: Vec<String>,
    /// Only these profile ids (empty: all).
    pub profiles: Vec<String>,
    /// Only these source Regions (empty: all in the snapshot).
    pub source_regions: Vec<String>,
    /// Only these OUs and what is below them (empty: the whole organization).
    pub ous: Vec<String>,
    /// Drop reachable findings.
    pub only_problems: bool,
    /// ARN patterns of administration principals added to [`ADMIN_PRINCIPALS`].
    pub admin_principals: Vec<String>,
    /// List every account, not only those whose result differs from their OU's.
    pub all_accounts: bool,
}

/// Evaluates every target × profile × source Region of the snapshot.
pub fn evaluate(snapshot: &ValidSnapshot, options: &Options) -> Report {
    let org = Org::new(snapshot);
    let decisions = decide(&org, options);
    Report {
        format_version: 1,
        organization_id: snapshot.snapshot.organization.id.clone(),
        snapshot_captured_at: snapshot.snapshot.captured_at.clone(),
        summary: decisions.summary(),
        findings: decisions.findings().collect(),
        proposals: Vec::new(),
        unresolved: Vec::new(),
    }
}

/// Decides every target × profile × source Region of the organization, without building the
/// findings' text yet.
pub fn decide<'a>(org: &'a Org<'a>, options: &'a Options) -> Decisions<'a> {
    let engine = Engine::new(org, options);
    let targets = org.targets_in_order(&options.ous);
    let items = engine.decide(&targets);
    let mut summary = Summary {
        checks: items.len(),
        ..Summary::default()
    };
    for item in &items {
        summary.count(item.verdict.status);
    }
    Decisions {
        engine,
        targets,
        items,
        summary,
    }
}

/// Every decision of one evaluation run, in report order: a shared verdict per reported
/// target × check. Findings (the contract's strings, several kB each for a blocked check) are
/// built from it one at a time, so a large organization is decided in little memory and its
/// report can be written while it is built ([`Decisions::report`]).
pub struct Decisions<'a> {
    engine: Engine<'a>,
    /// Every target in report order; [`Decided::position`] indexes it.
    targets: Vec<TargetRef<'a>>,
    items: Vec<Decided>,
    summary: Summary,
}

/// One reported target × check (16 bytes: a 10,000-account organization has hundreds of
/// thousands, millions with `all_accounts`).
struct Decided {
    /// The target's place in report order.
    position: u32,
    check: u32,
    verdict: Arc<Verdict>,
}

impl<'a> Decisions<'a> {
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The findings, built in report order as the iterator is advanced.
    pub fn findings(&self) -> impl Iterator<Item = Finding> + '_ {
        let mut facts: Option<(u32, TargetFacts)> = None;
        self.items.iter().filter_map(move |item| {
            let target = *self.targets.get(item.position as usize)?;
            if facts
                .as_ref()
                .is_none_or(|(position, _)| *position != item.position)
            {
                facts = Some((item.position, TargetFacts::of(self.engine.org, target)));
            }
            let (_, target_facts) = facts.as_ref()?;
            let check = self.engine.checks.get(item.check as usize)?;
            Some(
                self.engine
                    .finding(target, target_facts, check, &item.verdict),
            )
        })
    }

    /// The report these decisions make, serialized exactly as [`Report`] is, with each finding
    /// built as it is written: peak memory stays that of the decisions, not of the report.
    pub fn report(&self) -> ReportStream<'_, 'a> {
        ReportStream { decisions: self }
    }
}

/// A [`Report`] without proposals, serialized from [`Decisions`] (see [`Decisions::report`]).
pub struct ReportStream<'d, 'a> {
    decisions: &'d Decisions<'a>,
}

impl serde::Serialize for ReportStream<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Findings<'d, 'a>(&'d Decisions<'a>);
        impl serde::Serialize for Findings<'_, '_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.findings())
            }
        }
        let snapshot = &self.decisions.engine.org.snapshot().snapshot;
        // Field names and order as `Report` derives them.
        let mut report = serializer.serialize_struct("Report", 6)?;
        report.serialize_field("formatVersion", &1u32)?;
        report.serialize_field("organizationId", &snapshot.organization.id)?;
        report.serialize_field("snapshotCapturedAt", &snapshot.captured_at)?;
        report.serialize_field("summary", &self.decisions.summary)?;
        report.serialize_field("findings", &Findings(self.decisions))?;
        report.serialize_field("proposals", &[] as &[crate::findings::Proposal])?;
        report.end()
    }
}

/// One (profile, source Region) to check.
#[derive(Debug, Clone)]
pub struct Check {
    pub profile_id: String,
    pub source_region: String,
    /// The profile ARN as the snapshot lists it.
    pub profile_arn: String,
    pub legs: Vec<Leg>,
    /// Why the check cannot be decided, when the snapshot lacks a fact.
    pub missing: Option<String>,
}

/// Builds the checks of the snapshot, filtered by the options.
pub fn checks(snapshot: &ValidSnapshot, options: &Options) -> Vec<Check> {
    let actions: Vec<String> = if options.actions.is_empty() {
        DEFAULT_ACTIONS.iter().map(|a| (*a).to_string()).collect()
    } else {
        options.actions.clone()
    };
    let mut checks = Vec::new();
    let mut seen_profiles = HashSet::new();
    let regions: Vec<&String> = if options.source_regions.is_empty() {
        snapshot.snapshot.inference_profiles.keys().collect()
    } else {
        options.source_regions.iter().collect()
    };
    for region in regions {
        let gap = snapshot
            .snapshot
            .gaps
            .iter()
            .find(|g| g.scope == format!("inferenceProfiles:{region}"));
        let Some(profiles) = snapshot.snapshot.inference_profiles.get(region.as_str()) else {
            let why = match gap {
                Some(gap) => format!(
                    "inference profiles in {region} could not be read: {}",
                    gap.reason
                ),
                None => {
                    format!("the snapshot has no inference profiles for source Region {region}")
                }
            };
            checks.push(unknown_check("*", region, why));
            continue;
        };
        if let Some(gap) = gap {
            checks.push(unknown_check(
                "*",
                region,
                format!(
                    "inference profiles in {region} could not be fully read: {}",
                    gap.reason
                ),
            ));
        }
        for profile in profiles {
            if !options.profiles.is_empty()
                && !options.profiles.contains(&profile.inference_profile_id)
            {
                continue;
            }
            seen_profiles.insert(profile.inference_profile_id.clone());
            checks.push(check_for(profile, region, &actions));
        }
    }
    for wanted in &options.profiles {
        if !seen_profiles.contains(wanted) {
            checks.push(unknown_check(
                wanted,
                "*",
                format!(
                    "the snapshot lists profile {wanted} in none of the source Regions checked"
                ),
            ));
        }
    }
    checks
}

fn unknown_check(profile: &str, region: &str, why: String) -> Check {
    Check {
        profile_id: profile.to_string(),
        source_region: region.to_string(),
        profile_arn: String::new(),
        legs: Vec::new(),
        missing: Some(why),
    }
}

fn check_for(profile: &InferenceProfile, source: &str, actions: &[String]) -> Check {
    let id = &profile.inference_profile_id;
    let mut check = Check {
        profile_id: id.clone(),
        source_region: source.to_string(),
        profile_arn: profile.inference_profile_arn.clone(),
        legs: Vec::new(),
        missing: None,
    };
    if profile.status != "ACTIVE" {
        check.missing = Some(format!("profile {id} is {} in {source}", profile.status));
        return check;
    }
    let models: Vec<Arn> = profile
        .models
        .iter()
        .filter_map(|m| Arn::parse(&m.model_arn))
        .collect();
    let Some(first) = models.first() else {
        check.missing = Some(format!(
            "the snapshot lists no models for {id} in {source}, so its destination Regions are unknown"
        ));
        return check;
    };
    let partition = first.partition.clone();
    let model_resource = first.resource.clone();
    let global = id.starts_with("global.") || models.iter().any(|m| m.region.is_empty());
    let model_arn = |region: &str| format!("arn:{partition}:bedrock:{region}::{model_resource}");
    let mut destinations: Vec<String> = Vec::new();
    for model in &models {
        if !model.region.is_empty() && !destinations.contains(&model.region) {
            destinations.push(model.region.clone());
        }
    }
    destinations.sort();
    for action in actions {
        check.legs.push(Leg {
            action: action.clone(),
            resource: profile.inference_profile_arn.clone(),
            region: source.to_string(),
            inference_profile_arn: None,
            kind: LegKind::Profile,
        });
        check.legs.push(Leg {
            action: action.clone(),
            resource: model_arn(source),
            region: source.to_string(),
            inference_profile_arn: Some(profile.inference_profile_arn.clone()),
            kind: LegKind::SourceModel,
        });
        if global {
            check.legs.push(Leg {
                action: action.clone(),
                resource: model_arn(""),
                region: "unspecified".to_string(),
                inference_profile_arn: Some(profile.inference_profile_arn.clone()),
                kind: LegKind::GlobalModel,
            });
        } else {
            for region in destinations.iter().filter(|r| r.as_str() != source) {
                check.legs.push(Leg {
                    action: action.clone(),
                    resource: model_arn(region),
                    region: region.clone(),
                    inference_profile_arn: Some(profile.inference_profile_arn.clone()),
                    kind: LegKind::DestinationModel,
                });
            }
        }
    }
    check
}

/// The result of one chain × check, independent of which target owns the chain: blockers
/// name levels by position, resolved to target ids per target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub blockers: Vec<AbstractBlocker>,
    pub conditions: Vec<Condition>,
    /// For `unknown`: what is missing.
    pub reason: Option<String>,
    /// Number of requests evaluated (for the reachable explanation).
    pub requests: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AbstractBlocker {
    pub leg: usize,
    pub level: Option<usize>,
    pub policy: Option<usize>,
    pub statement: Option<usize>,
    pub kind: BlockerKind,
}

/// Decides one check for one chain.
pub fn verdict(
    check: &Check,
    chain: &[Vec<usize>],
    policies: &[Policy],
    caller: &Caller,
    admins: &[Wildcard],
) -> Verdict {
    if let Some(reason) = &check.missing {
        return unknown_verdict(reason.clone());
    }
    let decisions: Vec<Decision> = check
        .legs
        .iter()
        .map(|leg| evaluation::evaluate(chain, policies, &request_for(leg, caller)))
        .collect();
    let legs: Vec<Vec<&LevelResult>> = decisions
        .iter()
        .map(|d| d.levels.iter().collect())
        .collect();
    assemble(
        check,
        &legs,
        policies,
        admins,
        caller,
        &mut AdminMemo::default(),
    )
}

fn unknown_verdict(reason: String) -> Verdict {
    Verdict {
        status: Status::Unknown,
        blockers: Vec::new(),
        conditions: Vec::new(),
        reason: Some(reason),
        requests: 0,
    }
}

/// Builds the verdict of a check from the level results of each of its legs (`legs[leg]`
/// lists the chain's levels, root first; a level's position is its index, whatever its
/// `level` field says, so that memoized level results can be shared between chains).
fn assemble(
    check: &Check,
    legs: &[Vec<&LevelResult>],
    policies: &[Policy],
    admins: &[Wildcard],
    caller: &Caller,
    memo: &mut AdminMemo,
) -> Verdict {
    let mut blocked = Vec::new();
    let mut conditional_blockers = Vec::new();
    let mut conditions: Vec<Condition> = Vec::new();
    let mut indeterminate = None;
    let mut group = 0usize;
    for (leg_index, (leg, levels)) in check.legs.iter().zip(legs).enumerate() {
        match evaluation::combine(levels.iter().copied()) {
            Outcome::Allowed => {}
            Outcome::ExplicitlyDenied => {
                for (position, level) in levels.iter().enumerate() {
                    for m in &level.matched {
                        if m.effect == Effect::Deny && m.applies == Applies::Yes {
                            blocked.push(deny_blocker(leg_index, position, m.policy, m.statement));
                        }
                    }
                }
            }
            Outcome::ImplicitlyDenied => {
                for (position, level) in levels.iter().enumerate() {
                    if level.outcome == Outcome::ImplicitlyDenied {
                        blocked.push(no_allow_blocker(leg_index, position));
                    }
                }
            }
            Outcome::Indeterminate => {
                indeterminate.get_or_insert_with(|| {
                    format!(
                        "whether {} on {} is allowed depends on the account id of a new account, which the snapshot cannot fix",
                        leg.action, leg.resource
                    )
                });
            }
            Outcome::Conditional => {
                classify_conditional(
                    levels,
                    leg_index,
                    policies,
                    admins,
                    memo,
                    &mut Accumulators {
                        blocked: &mut blocked,
                        conditional_blockers: &mut conditional_blockers,
                        conditions: &mut conditions,
                        group: &mut group,
                    },
                );
            }
        }
    }
    dedup(&mut blocked);
    dedup(&mut conditional_blockers);
    // Keeps the first of equal conditions (a handful per verdict: a scan beats hashing).
    let mut kept: Vec<Condition> = Vec::with_capacity(conditions.len());
    for condition in conditions {
        let same = |c: &Condition| {
            c.key == condition.key
                && c.operator == condition.operator
                && c.values == condition.values
                && c.effect == condition.effect
        };
        if !kept.iter().any(same) {
            kept.push(condition);
        }
    }
    let mut conditions = kept;
    // Verdicts are kept for the whole run (one per chain × check): no spare capacity.
    blocked.shrink_to_fit();
    conditional_blockers.shrink_to_fit();
    conditions.shrink_to_fit();
    let requests = check.legs.len();
    if !blocked.is_empty() {
        return Verdict {
            status: Status::Blocked,
            blockers: blocked,
            conditions: Vec::new(),
            reason: None,
            requests,
        };
    }
    if let Some(reason) = indeterminate {
        return Verdict {
            status: Status::Unknown,
            blockers: Vec::new(),
            conditions: Vec::new(),
            reason: Some(reason),
            requests,
        };
    }
    if !conditions.is_empty() {
        // Each condition alone may be met while no principal meets them all.
        return match witness::find(check, legs, caller, admins) {
            witness::Witness::Found(_) => Verdict {
                status: Status::Conditional,
                blockers: conditional_blockers,
                conditions,
                reason: None,
                requests,
            },
            witness::Witness::Nobody => Verdict {
                status: Status::Blocked,
                blockers: conditional_blockers,
                conditions: Vec::new(),
                reason: None,
                requests,
            },
            witness::Witness::Undecided => Verdict {
                status: Status::Unknown,
                blockers: Vec::new(),
                conditions: Vec::new(),
                reason: Some(
                    "the conditions of the denies and allows in the way are too many to decide whether any principal meets them all"
                        .to_string(),
                ),
                requests,
            },
        };
    }
    Verdict {
        status: Status::Reachable,
        blockers: Vec::new(),
        conditions: Vec::new(),
        reason: None,
        requests,
    }
}

/// Drops repeated blockers, keeping the first (a few dozen at most: a scan beats hashing).
fn dedup(blockers: &mut Vec<AbstractBlocker>) {
    let mut index = 0;
    while index < blockers.len() {
        let repeated = blockers
            .get(..index)
            .zip(blockers.get(index))
            .is_some_and(|(before, b)| before.contains(b));
        if repeated {
            blockers.remove(index);
        } else {
            index += 1;
        }
    }
}

fn deny_blocker(leg: usize, level: usize, policy: usize, statement: usize) -> AbstractBlocker {
    AbstractBlocker {
        leg,
        level: Some(level),
        policy: Some(policy),
        statement: Some(statement),
        kind: BlockerKind::ExplicitDeny,
    }
}

fn no_allow_blocker(leg: usize, level: usize) -> AbstractBlocker {
    AbstractBlocker {
        leg,
        level: Some(level),
        policy: None,
        statement: None,
        kind: BlockerKind::NoAllow,
    }
}

/// The verdict being built by [`assemble`].
struct Accumulators<'a> {
    /// What blocks every non-admin principal.
    blocked: &'a mut Vec<AbstractBlocker>,
    /// What only blocks principals that miss a condition.
    conditional_blockers: &'a mut Vec<AbstractBlocker>,
    conditions: &'a mut Vec<Condition>,
    group: &'a mut usize,
}

/// Splits a conditional decision (the level results of one leg) into what blocks every
/// non-admin principal and what only blocks principals that miss a condition.
fn classify_conditional(
    levels: &[&LevelResult],
    leg: usize,
    policies: &[Policy],
    admins: &[Wildcard],
    memo: &mut AdminMemo,
    out: &mut Accumulators<'_>,
) {
    for (position, level) in levels.iter().enumerate() {
        for m in &level.matched {
            let (Applies::Residual(clauses), Effect::Deny) = (&m.applies, m.effect) else {
                continue;
            };
            // The deny is escaped when any one clause fails. Escapes that only admin principals
            // can take do not count: for everyone else the deny applies.
            let escapes: Vec<&ConditionClause> = clauses
                .iter()
                .filter(|c| !escape_is_admin_only(c, admins, memo))
                .collect();
            if escapes.is_empty() {
                out.blocked
                    .push(deny_blocker(leg, position, m.policy, m.statement));
                continue;
            }
            out.conditional_blockers
                .push(deny_blocker(leg, position, m.policy, m.statement));
            let from = statement_label(policies, m.policy, m.statement);
            let grouped = escapes.len() > 1;
            if grouped {
                *out.group += 1;
            }
            for clause in escapes {
                let (operator, values) = clause.negation();
                out.conditions.push(Condition {
                    key: clause.key.clone(),
                    operator,
                    values,
                    effect: if grouped {
                        "reachableIfAnyOf"
                    } else {
                        "reachableOnlyIf"
                    }
                    .to_string(),
                    group: grouped.then_some(*out.group),
                    from: Some(from.clone()),
                });
            }
        }
    }
    for (position, level) in levels.iter().enumerate() {
        if level.outcome != Outcome::Conditional {
            continue;
        }
        // An Allow whose condition only admin principals meet allows nobody we count.
        let usable: Vec<(&crate::evaluation::Matched, &Vec<ConditionClause>)> = level
            .matched
            .iter()
            .filter_map(|m| match (&m.applies, m.effect) {
                (Applies::Residual(clauses), Effect::Allow) => Some((m, clauses)),
                _ => None,
            })
            .filter(|(_, clauses)| !clauses.iter().any(|c| allow_is_admin_only(c, admins, memo)))
            .collect();
        if usable.is_empty() {
            out.blocked.push(no_allow_blocker(leg, position));
            continue;
        }
        out.conditional_blockers
            .push(no_allow_blocker(leg, position));
        let grouped = usable.len() > 1;
        if grouped {
            *out.group += 1;
        }
        for (m, clauses) in usable {
            let from = statement_label(policies, m.policy, m.statement);
            for clause in clauses {
                out.conditions.push(Condition {
                    key: clause.key.clone(),
                    operator: clause.operator.clone(),
                    values: clause.values.clone(),
                    effect: if grouped {
                        "reachableIfAnyOf"
                    } else {
                        "reachableOnlyIf"
                    }
                    .to_string(),
                    group: grouped.then_some(*out.group),
                    from: Some(from.clone()),
                });
            }
        }
    }
}

fn statement_label(policies: &[Policy], policy: usize, statement: usize) -> String {
    match policies.get(policy) {
        Some(p) => match p.statements.get(statement) {
            Some(s) => format!("{}/{}", p.id, s.label()),
            None => p.id.clone(),
        },
        None => String::new(),
    }
}

const PRINCIPAL_KEYS: &[&str] = &["aws:principalarn"];

/// A deny clause like `ArnNotLike aws:PrincipalARN [AWSControlTowerExecution]` is escaped only
/// by principals matching its values; if they are all admin roles, nobody we count escapes.
fn escape_is_admin_only(
    clause: &ConditionClause,
    admins: &[Wildcard],
    memo: &mut AdminMemo,
) -> bool {
    PRINCIPAL_KEYS.contains(&clause.key_lowercase())
        && clause.is_negated()
        && clause.set_qualifier().is_none()
        && !clause.if_exists()
        && clause.values.iter().all(|v| memo.is_admin(v, admins))
}

/// An allow clause like `ArnLike aws:PrincipalARN [AWSControlTowerExecution]`.
fn allow_is_admin_only(
    clause: &ConditionClause,
    admins: &[Wildcard],
    memo: &mut AdminMemo,
) -> bool {
    PRINCIPAL_KEYS.contains(&clause.key_lowercase())
        && !clause.is_negated()
        && clause.set_qualifier().is_none()
        && clause.values.iter().all(|v| memo.is_admin(v, admins))
}

/// [`is_admin_pattern`] answers by pattern, remembered for one evaluation run (the same few
/// principal patterns come back for every chain and check).
#[derive(Debug, Default)]
struct AdminMemo(HashMap<String, bool>);

impl AdminMemo {
    fn is_admin(&mut self, pattern: &str, admins: &[Wildcard]) -> bool {
        if let Some(&known) = self.0.get(pattern) {
            return known;
        }
        let answer = is_admin_pattern(pattern, admins);
        self.0.insert(pattern.to_string(), answer);
        answer
    }
}

/// Whether every principal a pattern matches is an admin principal, tested on an instance of
/// the pattern (wildcards filled in): `arn:aws:iam::*:role/AWSControlTowerExecution` is admin,
/// `arn:aws:iam::*:role/*` is not.
fn is_admin_pattern(pattern: &str, admins: &[Wildcard]) -> bool {
    let instance: String = pattern
        .chars()
        .map(|c| if c == '*' || c == '?' { 'x' } else { c })
        .collect();
    let broad: String = pattern
        .chars()
        .map(|c| if c == '*' || c == '?' { 'Q' } else { c })
        .collect();
    admins.iter().any(|a| a.matches(&instance)) && admins.iter().any(|a| a.matches(&broad))
}

/// Compiles the admin principal patterns (built-in plus the user's).
pub fn admin_patterns(extra: &[String]) -> Vec<Wildcard> {
    ADMIN_PRINCIPALS
        .iter()
        .map(|p| Wildcard::new(p))
        .chain(extra.iter().map(|p| Wildcard::new(p)))
        .collect()
}

/// The per-snapshot evaluation state: compiled checks, interned chains and the result cache.
struct Engine<'a> {
    org: &'a Org<'a>,
    options: &'a Options,
    checks: Vec<Check>,
    admins: Vec<Wildcard>,
    /// The distinct actions of each check's legs, lowercased.
    check_actions: Vec<Vec<String>>,
}

/// The memo tables of one evaluation run. Work is shared at three grains:
/// - a verdict per chain × check (per target too when the chain is account-sensitive);
/// - a level result per distinct level content (the SCPs attached at one level) × check × leg,
///   shared by every chain that has that level, for levels that cannot depend on the account;
/// - the requests of each check's legs, built once.
///
/// So the policy work grows with distinct level contents × legs, and the per-chain work is
/// combining cached level results.
#[derive(Default)]
struct Memo {
    verdicts: HashMap<(usize, usize, Option<usize>), Arc<Verdict>>,
    /// Level content → level-set id.
    level_ids: HashMap<Vec<usize>, usize>,
    /// Level-set id → its policy indices and whether any of them is account-sensitive.
    level_sets: Vec<(Vec<usize>, bool)>,
    /// Chain id → the level-set id of each of its levels.
    chain_sets: HashMap<usize, Rc<[usize]>>,
    /// (level set, check) → the level's result for each leg (account-independent sets only).
    levels: HashMap<(usize, usize), Vec<LevelResult>>,
    /// Check → the requests of its legs, for account-independent levels.
    requests: HashMap<usize, Vec<Request>>,
    admin: AdminMemo,
    /// (level set, check) → whether the level's result for the check can depend on the account.
    set_sensitive: HashMap<(usize, usize), Sensitivity>,
    /// Chain → whether its result for some check can depend on the account.
    chain_sensitive: HashMap<usize, bool>,
}

/// What a statement's answer for `actions` can depend on beyond the chain: nothing when it
/// applies to none of them, else the caller's account when it names a resource or an
/// account-related condition, or only its OU path (`aws:PrincipalOrgPaths`).
pub(crate) fn statement_sensitivity(statement: &Statement, actions: &[String]) -> Sensitivity {
    let applies = actions.iter().any(|action| match &statement.action {
        ActionMatch::Action(set) => set.matches(action),
        ActionMatch::NotAction(set) => !set.matches(action),
    });
    if !applies {
        return Sensitivity::None;
    }
    let patterns = match &statement.resource {
        ResourceMatch::Resource(p) | ResourceMatch::NotResource(p) => p,
    };
    let resource = if patterns.iter().any(|p| p.text != "*") {
        Sensitivity::Account
    } else {
        Sensitivity::None
    };
    statement
        .conditions
        .iter()
        .filter(|c| c.account_sensitive())
        .map(|c| {
            let path_only = c.key_lowercase() == "aws:principalorgpaths"
                && !c.values.iter().any(|v| v.contains("${"));
            if path_only {
                Sensitivity::Path
            } else {
                Sensitivity::Account
            }
        })
        .fold(resource, Ord::max)
}

/// What, beyond its chain, a level's (or chain's) result for a check can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Sensitivity {
    /// Nothing: shared by every target with the chain.
    None,
    /// The caller's OU path (`aws:PrincipalOrgPaths`): shared by an OU and its accounts.
    Path,
    /// The caller's account.
    Account,
}

impl<'a> Engine<'a> {
    fn new(org: &'a Org<'a>, options: &'a Options) -> Engine<'a> {
        let checks = checks(org.snapshot(), options);
        let check_actions = checks
            .iter()
            .map(|check| {
                let mut actions: Vec<String> = check
                    .legs
                    .iter()
                    .map(|leg| leg.action.to_ascii_lowercase())
                    .collect();
                actions.sort_unstable();
                actions.dedup();
                actions
            })
            .collect();
        Engine {
            org,
            options,
            checks,
            admins: admin_patterns(&options.admin_principals),
            check_actions,
        }
    }

    /// Whether a level's result for a check can depend on the caller's account or OU path:
    /// some account-sensitive policy there has a statement that can match one of the check's
    /// actions (actions are fixed per leg, so other statements never apply whatever the account)
    /// and that names a resource or an account- or path-related condition. Finer than
    /// [`Policy::account_sensitive`]: the Control Tower guardrail is account-sensitive through
    /// an S3 statement that never applies to Bedrock.
    fn set_sensitive_for(&self, memo: &mut Memo, set: usize, check_index: usize) -> Sensitivity {
        let Some((content, true)) = memo.level_sets.get(set) else {
            return Sensitivity::None;
        };
        if let Some(&known) = memo.set_sensitive.get(&(set, check_index)) {
            return known;
        }
        let actions = self
            .check_actions
            .get(check_index)
            .map_or(&[][..], Vec::as_slice);
        let policies = self.org.policies();
        let sensitive = content
            .iter()
            .filter_map(|&p| policies.get(p))
            .filter(|p| p.account_sensitive)
            .flat_map(|p| &p.statements)
            .map(|statement| statement_sensitivity(statement, actions))
            .fold(Sensitivity::None, Ord::max);
        memo.set_sensitive.insert((set, check_index), sensitive);
        sensitive
    }

    /// What a chain's result for this check can depend on beyond the chain.
    fn chain_sensitive_for(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
    ) -> Sensitivity {
        if !self.org.chain_is_sensitive(chain) {
            return Sensitivity::None;
        }
        let sets = self.chain_sets(memo, chain);
        sets.iter()
            .map(|&set| self.set_sensitive_for(memo, set, check_index))
            .fold(Sensitivity::None, Ord::max)
    }

    /// Whether a chain's result for some check can depend on the caller's account (a path
    /// dependence is shared with the account's OU).
    fn chain_sensitive_any(&self, memo: &mut Memo, chain: usize) -> bool {
        if !self.org.chain_is_sensitive(chain) {
            return false;
        }
        if let Some(&known) = memo.chain_sensitive.get(&chain) {
            return known;
        }
        let sensitive = (0..self.checks.len())
            .any(|c| self.chain_sensitive_for(memo, chain, c) == Sensitivity::Account);
        memo.chain_sensitive.insert(chain, sensitive);
        sensitive
    }

    /// The verdict of every reported target × check, in report order (reachable ones dropped
    /// under `only_problems`). Checks are dealt out to one worker thread per core, each with
    /// its own memo: checks share no verdicts, so the split costs only the level results both
    /// workers compute, and the result does not depend on the number of workers.
    fn decide(&self, targets: &[TargetRef<'a>]) -> Vec<Decided> {
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_WORKERS)
            .min(self.checks.len().max(1));
        if workers == 1 {
            return self.decide_share(targets, 0, 1);
        }
        let shares: Vec<Vec<Decided>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|worker| scope.spawn(move || self.decide_share(targets, worker, workers)))
                .collect();
            handles
                .into_iter()
                .enumerate()
                // A worker that died is redone here: same inputs, same answer.
                .map(|(worker, handle)| {
                    handle
                        .join()
                        .unwrap_or_else(|_| self.decide_share(targets, worker, workers))
                })
                .collect()
        });
        let mut items = Vec::with_capacity(shares.iter().map(Vec::len).sum());
        for share in shares {
            items.extend(share);
        }
        items.sort_unstable_by_key(|item| (item.position, item.check));
        items
    }

    /// Lists a decision unless `only_problems` drops it.
    fn keep(&self, items: &mut Vec<Decided>, position: usize, check: usize, verdict: Arc<Verdict>) {
        if !(self.options.only_problems && verdict.status == Status::Reachable) {
            items.push(Decided {
                position: index_u32(position),
                check: index_u32(check),
                verdict,
            });
        }
    }

    /// [`Engine::decide`] for the checks whose index is `worker` modulo `workers`.
    fn decide_share(
        &self,
        targets: &[TargetRef<'a>],
        worker: usize,
        workers: usize,
    ) -> Vec<Decided> {
        let mut memo = Memo::default();
        let mut items = Vec::new();
        let mine = |&(c, _): &(usize, &Check)| c % workers == worker;
        for (position, &target) in targets.iter().enumerate() {
            match target {
                TargetRef::Root(_) => {}
                TargetRef::OrganizationalUnit(ou) => {
                    let chain = self.org.new_account_chain(ou);
                    for (c, check) in self.checks.iter().enumerate().filter(mine) {
                        let verdict = self.cached(&mut memo, chain, c, check, target);
                        self.keep(&mut items, position, c, verdict);
                    }
                }
                TargetRef::Account(account) => {
                    let record = self.org.account(account);
                    let active = record.is_some_and(|a| a.status == "ACTIVE");
                    let chain = self.org.account_chain(account);
                    let baseline = self.org.parent_new_account_chain(account);
                    let same_chain = baseline == Some(chain)
                        && !self.org.is_management(account)
                        && !self.chain_sensitive_any(&mut memo, chain);
                    if !self.options.all_accounts
                        && active
                        && same_chain
                        && self.org.gap_for(target).is_none()
                    {
                        continue;
                    }
                    for (c, check) in self.checks.iter().enumerate().filter(mine) {
                        let verdict = if !active {
                            Arc::new(Verdict {
                                status: Status::Blocked,
                                blockers: vec![AbstractBlocker {
                                    leg: 0,
                                    level: None,
                                    policy: None,
                                    statement: None,
                                    kind: BlockerKind::AccountNotActive,
                                }],
                                conditions: Vec::new(),
                                reason: None,
                                requests: check.legs.len(),
                            })
                        } else {
                            self.cached(&mut memo, chain, c, check, target)
                        };
                        if !self.options.all_accounts && active && !self.org.is_management(account)
                        {
                            // Listed only where the result differs from a new account's in the OU.
                            if let Some(base) = baseline {
                                let parent = self.org.parent_target(account);
                                let base_verdict = self.cached(&mut memo, base, c, check, parent);
                                if Arc::ptr_eq(&base_verdict, &verdict)
                                    || same_verdict(&base_verdict, &verdict)
                                {
                                    continue;
                                }
                            }
                        }
                        self.keep(&mut items, position, c, verdict);
                    }
                }
            }
        }
        items
    }

    fn cached(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
        check: &Check,
        target: TargetRef<'a>,
    ) -> Arc<Verdict> {
        if let Some(gap) = self.org.gap_for(target) {
            return Arc::new(unknown_verdict(gap));
        }
        let per_target = match self.chain_sensitive_for(memo, chain, check_index) {
            Sensitivity::None => None,
            // Every account directly in an OU has the OU's path: keyed by the container.
            Sensitivity::Path => Some(match target {
                TargetRef::Account(account) => {
                    self.org.target_index(self.org.parent_target(account))
                }
                TargetRef::Root(_) | TargetRef::OrganizationalUnit(_) => {
                    self.org.target_index(target)
                }
            }),
            Sensitivity::Account => Some(self.org.target_index(target)),
        };
        let key = (chain, check_index, per_target);
        if let Some(verdict) = memo.verdicts.get(&key) {
            return Arc::clone(verdict);
        }
        let verdict = Arc::new(self.compute(memo, chain, check_index, check, target));
        memo.verdicts.insert(key, Arc::clone(&verdict));
        verdict
    }

    /// The same as [`verdict`] for the target's caller, from memoized level results where a
    /// level cannot depend on the account.
    fn compute(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
        check: &Check,
        target: TargetRef<'a>,
    ) -> Verdict {
        if let Some(reason) = &check.missing {
            return unknown_verdict(reason.clone());
        }
        let policies = self.org.policies();
        let sets = self.chain_sets(memo, chain);
        let mut caller = None;
        // Account-independent levels: computed once per level content × check.
        let sensitive: Vec<usize> = sets
            .iter()
            .enumerate()
            .filter(|&(_, &set)| {
                self.set_sensitive_for(memo, set, check_index) != Sensitivity::None
            })
            .map(|(position, _)| position)
            .collect();
        for (position, &set) in sets.iter().enumerate() {
            if sensitive.contains(&position) || memo.levels.contains_key(&(set, check_index)) {
                continue;
            }
            let Some((content, _)) = memo.level_sets.get(set) else {
                continue;
            };
            let requests = memo.requests.entry(check_index).or_insert_with(|| {
                let caller = caller.get_or_insert_with(|| self.org.caller(target));
                check
                    .legs
                    .iter()
                    .map(|leg| request_for(leg, caller))
                    .collect()
            });
            let results = requests
                .iter()
                .map(|request| {
                    let mut result = evaluation::evaluate_level(0, content, policies, request);
                    // Kept for the whole run: no spare capacity.
                    result.matched.shrink_to_fit();
                    result
                })
                .collect();
            memo.levels.insert((set, check_index), results);
        }
        // Account-sensitive levels: computed for this target's own requests.
        let own: Vec<Vec<LevelResult>> = if sensitive.is_empty() {
            Vec::new()
        } else {
            let caller = caller.get_or_insert_with(|| self.org.caller(target));
            check
                .legs
                .iter()
                .map(|leg| {
                    let request = request_for(leg, caller);
                    sensitive
                        .iter()
                        .map(|&position| {
                            let content = sets
                                .get(position)
                                .and_then(|&set| memo.level_sets.get(set))
                                .map_or(&[][..], |(content, _)| content.as_slice());
                            evaluation::evaluate_level(position, content, policies, &request)
                        })
                        .collect()
                })
                .collect()
        };
        let Memo { levels, admin, .. } = memo;
        let mut legs: Vec<Vec<&LevelResult>> = Vec::with_capacity(check.legs.len());
        for leg in 0..check.legs.len() {
            let mut row = Vec::with_capacity(sets.len());
            let mut own_row = own.get(leg).map(|r| r.iter());
            for (position, &set) in sets.iter().enumerate() {
                let result = if sensitive.contains(&position) {
                    own_row.as_mut().and_then(Iterator::next)
                } else {
                    levels.get(&(set, check_index)).and_then(|r| r.get(leg))
                };
                match result {
                    Some(result) => row.push(result),
                    // Unreachable by construction; the plain computation is always right.
                    None => {
                        return verdict(
                            check,
                            self.org.chain_levels(chain),
                            policies,
                            &self.org.caller(target),
                            &self.admins,
                        );
                    }
                }
            }
            legs.push(row);
        }
        let caller = caller.unwrap_or_else(|| self.org.caller(target));
        assemble(check, &legs, policies, &self.admins, &caller, admin)
    }

    /// The level-set ids of a chain's levels.
    fn chain_sets(&self, memo: &mut Memo, chain: usize) -> Rc<[usize]> {
        if let Some(sets) = memo.chain_sets.get(&chain) {
            return Rc::clone(sets);
        }
        let policies = self.org.policies();
        let sets: Rc<[usize]> = self
            .org
            .chain_levels(chain)
            .iter()
            .map(|level| {
                if let Some(&id) = memo.level_ids.get(level) {
                    return id;
                }
                let id = memo.level_sets.len();
                let sensitive = level
                    .iter()
                    .any(|&p| policies.get(p).is_some_and(|p| p.account_sensitive));
                memo.level_sets.push((level.clone(), sensitive));
                memo.level_ids.insert(level.clone(), id);
                id
            })
            .collect();
        memo.chain_sets.insert(chain, Rc::clone(&sets));
        sets
    }

    fn finding(
        &self,
        target: TargetRef<'a>,
        facts: &TargetFacts,
        check: &Check,
        verdict: &Verdict,
    ) -> Finding {
        let levels = &facts.level_targets;
        let policies = self.org.policies();
        let blockers: Vec<Blocker> = verdict
            .blockers
            .iter()
            .map(|b| {
                let leg = check.legs.get(b.leg);
                let policy = b.policy.and_then(|p| policies.get(p));
                let statement = policy.and_then(|p| b.statement.and_then(|s| p.statements.get(s)));
                Blocker {
                    region: leg.map(|l| l.region.clone()).unwrap_or_default(),
                    action: leg.map(|l| l.action.clone()).unwrap_or_default(),
                    resource: leg.map(|l| l.resource.clone()).unwrap_or_default(),
                    policy_id: policy.map(|p| p.id.clone()),
                    policy_name: policy.map(|p| p.name.clone()),
                    sid: statement.and_then(|s| s.sid.clone()),
                    statement_index: statement.map(|s| s.index),
                    attached_to: match b.kind {
                        BlockerKind::AccountNotActive => {
                            Some(self.org.target_id(target).to_string())
                        }
                        _ => b.level.and_then(|l| levels.get(l).cloned()),
                    },
                    kind: b.kind,
                }
            })
            .collect();
        let explanation = crate::explanation::explain(self.org, target, check, verdict, &blockers);
        Finding {
            target_id: self.org.target_id(target).to_string(),
            target_kind: match target {
                TargetRef::Root(_) => TargetKind::Root,
                TargetRef::OrganizationalUnit(_) => TargetKind::OrganizationalUnit,
                TargetRef::Account(_) => TargetKind::Account,
            },
            target_path: facts.path.clone(),
            profile_id: check.profile_id.clone(),
            source_region: check.source_region.clone(),
            status: verdict.status,
            blockers,
            conditions: verdict.conditions.clone(),
            explanation,
        }
    }
}

/// What every finding of one target repeats, computed once per target.
struct TargetFacts {
    /// The target id each level of the target's chain is attached to.
    level_targets: Vec<String>,
    path: String,
}

impl TargetFacts {
    fn of(org: &Org<'_>, target: TargetRef<'_>) -> TargetFacts {
        TargetFacts {
            level_targets: org.level_targets(target),
            path: org.path(target),
        }
    }
}

/// Two verdicts say the same to a reader (blockers compared without level positions, which
/// differ between an account and a new account in its OU only by depth).
fn same_verdict(a: &Verdict, b: &Verdict) -> bool {
    let key = |v: &Verdict| {
        let mut items: Vec<(usize, Option<usize>, Option<usize>, BlockerKind)> = v
            .blockers
            .iter()
            .map(|b| (b.leg, b.policy, b.statement, b.kind))
            .collect();
        items.sort();
        items
    };
    a.status == b.status && a.conditions == b.conditions && a.reason == b.reason && key(a) == key(b)
}
