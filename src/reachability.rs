//! Reachability: expands each inference profile into the requests Bedrock authorizes and decides,
//! per OU/account × profile × source Region, reachable / blocked / conditional / unknown.
//!
//! Speed comes from sharing: every target's SCP chain is interned (the list of policy sets from
//! the root down), and the abstract result of one chain × check is computed once and reused by
//! every OU and account with the same chain. Only policies that can depend on the account or
//! OU path (see [`crate::policy::Policy::account_sensitive`]) make results per target.

use std::collections::{HashMap, HashSet};

use crate::arn::Arn;
use crate::evaluation::{self, Decision, Outcome};
use crate::org::{Org, TargetRef};
use crate::policy::condition::ConditionClause;
use crate::policy::wildcard::Wildcard;
use crate::policy::{Applies, Effect, Policy};
use crate::report::{
    Blocker, BlockerKind, Condition, Finding, Report, Status, Summary, TargetKind,
};
use crate::request::{Context, MissingKeys, Request, UNKNOWN_ACCOUNT};
use crate::snapshot::{InferenceProfile, ValidSnapshot};

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
    let engine = Engine::new(snapshot, &org, options);
    let findings = engine.findings();
    let findings: Vec<Finding> = if options.only_problems {
        findings
            .into_iter()
            .filter(|f| f.status != Status::Reachable)
            .collect()
    } else {
        findings
    };
    Report {
        format_version: 1,
        organization_id: snapshot.snapshot.organization.id.clone(),
        snapshot_captured_at: snapshot.snapshot.captured_at.clone(),
        summary: Summary::of(&findings),
        findings,
        proposals: Vec::new(),
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

/// One request Bedrock authorizes for a call through a profile (contract §3, domain.md §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub action: String,
    pub resource: String,
    /// `aws:RequestedRegion`.
    pub region: String,
    /// `bedrock:InferenceProfileArn`, absent on the profile leg.
    pub inference_profile_arn: Option<String>,
    pub kind: LegKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegKind {
    Profile,
    SourceModel,
    DestinationModel,
    GlobalModel,
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

/// Who is asking: fixes the account- and path-dependent parts of the request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` for an OU read as a new account (account id not fixed).
    pub account_id: Option<String>,
    pub organization_id: String,
    /// `aws:PrincipalOrgPaths` value, `o-…/r-…/ou-…/`.
    pub org_path: String,
}

/// Builds the request of one leg for a caller; the principal stays unknown.
pub fn request_for(leg: &Leg, caller: &Caller) -> Request {
    let mut context = Context::new(MissingKeys::UnknownCaller);
    context.set("aws:RequestedRegion", vec![leg.region.clone()]);
    context.set("aws:PrincipalOrgID", vec![caller.organization_id.clone()]);
    context.set("aws:PrincipalOrgPaths", vec![caller.org_path.clone()]);
    if let Some(account) = &caller.account_id {
        context.set("aws:PrincipalAccount", vec![account.clone()]);
    }
    let profile_arn = leg
        .inference_profile_arn
        .as_ref()
        .map(|arn| with_account(arn, caller));
    match &profile_arn {
        Some(arn) => context.set("bedrock:InferenceProfileArn", vec![arn.clone()]),
        None => context.set_absent("bedrock:InferenceProfileArn"),
    }
    let resource = if leg.kind == LegKind::Profile {
        match &caller.account_id {
            Some(_) => with_account(&leg.resource, caller),
            // A new account's id is not known yet.
            None => match Arn::parse(&leg.resource) {
                Some(mut arn) if !arn.account.is_empty() => {
                    arn.account = UNKNOWN_ACCOUNT.to_string();
                    arn.to_string()
                }
                _ => leg.resource.clone(),
            },
        }
    } else {
        leg.resource.clone()
    };
    Request::new(&leg.action, &resource, context)
}

/// The profile ARN as seen from the caller's account (profiles are per-account resources).
fn with_account(arn: &str, caller: &Caller) -> String {
    match (&caller.account_id, Arn::parse(arn)) {
        (Some(account), Some(mut parsed)) if !parsed.account.is_empty() => {
            parsed.account = account.clone();
            parsed.to_string()
        }
        _ => arn.to_string(),
    }
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
        return Verdict {
            status: Status::Unknown,
            blockers: Vec::new(),
            conditions: Vec::new(),
            reason: Some(reason.clone()),
            requests: 0,
        };
    }
    let mut blocked = Vec::new();
    let mut conditional_blockers = Vec::new();
    let mut conditions: Vec<Condition> = Vec::new();
    let mut indeterminate = None;
    let mut group = 0usize;
    for (leg_index, leg) in check.legs.iter().enumerate() {
        let request = request_for(leg, caller);
        let decision = evaluation::evaluate(chain, policies, &request);
        match decision.outcome {
            Outcome::Allowed => {}
            Outcome::ExplicitlyDenied => {
                for (level, m) in decision.explicit_denies() {
                    blocked.push(deny_blocker(leg_index, level, m.policy, m.statement));
                }
            }
            Outcome::ImplicitlyDenied => {
                for level in decision.levels_without_allow() {
                    blocked.push(no_allow_blocker(leg_index, level.level));
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
                    &decision,
                    leg_index,
                    policies,
                    admins,
                    &mut blocked,
                    &mut conditional_blockers,
                    &mut conditions,
                    &mut group,
                );
            }
        }
    }
    dedup(&mut blocked);
    dedup(&mut conditional_blockers);
    let mut seen = HashSet::new();
    conditions.retain(|c| {
        seen.insert((
            c.key.clone(),
            c.operator.clone(),
            c.values.clone(),
            c.effect.clone(),
        ))
    });
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
        return Verdict {
            status: Status::Conditional,
            blockers: conditional_blockers,
            conditions,
            reason: None,
            requests,
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

fn dedup(blockers: &mut Vec<AbstractBlocker>) {
    let mut seen = HashSet::new();
    blockers.retain(|b| seen.insert(b.clone()));
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

/// Splits a conditional decision into what blocks every non-admin principal (`blocked`) and
/// what only blocks principals that miss a condition (`conditional_blockers` + `conditions`).
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the accumulators are the verdict being built"
)]
fn classify_conditional(
    decision: &Decision,
    leg: usize,
    policies: &[Policy],
    admins: &[Wildcard],
    blocked: &mut Vec<AbstractBlocker>,
    conditional_blockers: &mut Vec<AbstractBlocker>,
    conditions: &mut Vec<Condition>,
    group: &mut usize,
) {
    for (level, m, clauses) in decision.conditional_denies() {
        let from = statement_label(policies, m.policy, m.statement);
        // The deny is escaped when any one clause fails. Escapes that only admin principals can
        // take do not count: for everyone else the deny applies.
        let escapes: Vec<&ConditionClause> = clauses
            .iter()
            .filter(|c| !escape_is_admin_only(c, admins))
            .collect();
        if escapes.is_empty() {
            blocked.push(deny_blocker(leg, level, m.policy, m.statement));
            continue;
        }
        conditional_blockers.push(deny_blocker(leg, level, m.policy, m.statement));
        let grouped = escapes.len() > 1;
        if grouped {
            *group += 1;
        }
        for clause in escapes {
            let (operator, values) = clause.negation();
            conditions.push(Condition {
                key: clause.key.clone(),
                operator,
                values,
                effect: if grouped {
                    "reachableIfAnyOf"
                } else {
                    "reachableOnlyIf"
                }
                .to_string(),
                group: grouped.then_some(*group),
                from: Some(from.clone()),
            });
        }
    }
    for level in &decision.levels {
        if level.outcome != Outcome::Conditional {
            continue;
        }
        let allows: Vec<(&crate::evaluation::Matched, &Vec<ConditionClause>)> = level
            .matched
            .iter()
            .filter_map(|m| match (&m.applies, m.effect) {
                (Applies::Residual(clauses), Effect::Allow) => Some((m, clauses)),
                _ => None,
            })
            .collect();
        // An Allow whose condition only admin principals meet allows nobody we count.
        let usable: Vec<_> = allows
            .into_iter()
            .filter(|(_, clauses)| !clauses.iter().any(|c| allow_is_admin_only(c, admins)))
            .collect();
        if usable.is_empty() {
            blocked.push(no_allow_blocker(leg, level.level));
            continue;
        }
        conditional_blockers.push(no_allow_blocker(leg, level.level));
        let grouped = usable.len() > 1;
        if grouped {
            *group += 1;
        }
        for (m, clauses) in usable {
            let from = statement_label(policies, m.policy, m.statement);
            for clause in clauses {
                conditions.push(Condition {
                    key: clause.key.clone(),
                    operator: clause.operator.clone(),
                    values: clause.values.clone(),
                    effect: if grouped {
                        "reachableIfAnyOf"
                    } else {
                        "reachableOnlyIf"
                    }
                    .to_string(),
                    group: grouped.then_some(*group),
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
fn escape_is_admin_only(clause: &ConditionClause, admins: &[Wildcard]) -> bool {
    PRINCIPAL_KEYS.contains(&clause.key_lowercase())
        && clause.is_negated()
        && clause.set_qualifier().is_none()
        && !clause.if_exists()
        && clause.values.iter().all(|v| is_admin_pattern(v, admins))
}

/// An allow clause like `ArnLike aws:PrincipalARN [AWSControlTowerExecution]`.
fn allow_is_admin_only(clause: &ConditionClause, admins: &[Wildcard]) -> bool {
    PRINCIPAL_KEYS.contains(&clause.key_lowercase())
        && !clause.is_negated()
        && clause.set_qualifier().is_none()
        && clause.values.iter().all(|v| is_admin_pattern(v, admins))
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
}

impl<'a> Engine<'a> {
    fn new(snapshot: &'a ValidSnapshot, org: &'a Org<'a>, options: &'a Options) -> Engine<'a> {
        Engine {
            org,
            options,
            checks: checks(snapshot, options),
            admins: admin_patterns(&options.admin_principals),
        }
    }

    fn findings(&self) -> Vec<Finding> {
        let mut cache: HashMap<(usize, usize, Option<usize>), Verdict> = HashMap::new();
        let mut findings = Vec::new();
        let targets = self.org.targets_in_order(&self.options.ous);
        for target in targets {
            match target {
                TargetRef::Root(_) => {}
                TargetRef::OrganizationalUnit(ou) => {
                    let chain = self.org.new_account_chain(ou);
                    for (c, check) in self.checks.iter().enumerate() {
                        let verdict = self.cached(&mut cache, chain, c, check, target);
                        findings.push(self.finding(target, check, &verdict));
                    }
                }
                TargetRef::Account(account) => {
                    let record = self.org.account(account);
                    let active = record.is_some_and(|a| a.status == "ACTIVE");
                    let chain = self.org.account_chain(account);
                    let baseline = self.org.parent_new_account_chain(account);
                    let same_chain = baseline == Some(chain)
                        && !self.org.chain_is_sensitive(chain)
                        && !self.org.is_management(account);
                    if !self.options.all_accounts
                        && active
                        && same_chain
                        && self.org.gap_for(target).is_none()
                    {
                        continue;
                    }
                    for (c, check) in self.checks.iter().enumerate() {
                        let verdict = if !active {
                            Verdict {
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
                            }
                        } else {
                            self.cached(&mut cache, chain, c, check, target)
                        };
                        if !self.options.all_accounts && active && !self.org.is_management(account)
                        {
                            // Listed only where the result differs from a new account's in the OU.
                            if let Some(base) = baseline {
                                let parent = self.org.parent_target(account);
                                let base_verdict = self.cached(&mut cache, base, c, check, parent);
                                if same_verdict(&base_verdict, &verdict) {
                                    continue;
                                }
                            }
                        }
                        findings.push(self.finding(target, check, &verdict));
                    }
                }
            }
        }
        findings
    }

    fn cached(
        &self,
        cache: &mut HashMap<(usize, usize, Option<usize>), Verdict>,
        chain: usize,
        check_index: usize,
        check: &Check,
        target: TargetRef<'a>,
    ) -> Verdict {
        if let Some(gap) = self.org.gap_for(target) {
            return Verdict {
                status: Status::Unknown,
                blockers: Vec::new(),
                conditions: Vec::new(),
                reason: Some(gap),
                requests: 0,
            };
        }
        let per_target = self
            .org
            .chain_is_sensitive(chain)
            .then(|| self.org.target_index(target));
        let key = (chain, check_index, per_target);
        if let Some(verdict) = cache.get(&key) {
            return verdict.clone();
        }
        let caller = self.org.caller(target);
        let verdict = verdict(
            check,
            self.org.chain_levels(chain),
            self.org.policies(),
            &caller,
            &self.admins,
        );
        cache.insert(key, verdict.clone());
        verdict
    }

    fn finding(&self, target: TargetRef<'a>, check: &Check, verdict: &Verdict) -> Finding {
        let levels = self.org.level_targets(target);
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
            target_path: self.org.path(target),
            profile_id: check.profile_id.clone(),
            source_region: check.source_region.clone(),
            status: verdict.status,
            blockers,
            conditions: verdict.conditions.clone(),
            explanation,
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
