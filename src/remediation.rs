//! Remediation: the smallest SCP change (or Control Tower parameters / CfCT entry) that restores
//! reachability, proven by re-evaluating the snapshot with the change applied.
//!
//! Flow: every blocked or conditional finding of an approved profile is split into the *units*
//! that block it (a customer SCP to patch, a level lacking an Allow, the Control Tower Region
//! deny). Findings sharing a unit form one group, so one proposal covers every finding a policy
//! change fixes. Each group gets a plan (customer SCPs: an `ArnNotLike` exemption on
//! `bedrock:InferenceProfileArn`; Control Tower: the blog's two options), the plan is applied to
//! a copy of the snapshot with [`crate::what_if`] and re-evaluated ([`verify`]), and only plans
//! that fix every claimed finding and open nothing in the probe set become proposals. The rest
//! are [`Unresolved`]s with a reason.
//!
//! Pure: no IO, clock or environment.

mod control_tower;
mod customer;
mod document;
mod error;
mod legs;
mod verify;

use std::collections::BTreeSet;

use crate::arn::Arn;
use crate::org::{Org, TargetRef};
use crate::policy::json::Json;
use crate::reachability::{self, LegKind};
use crate::report::{
    BlockerKind, Finding, Proposal, ProposalKind, Report, Status, Unresolved, Verification,
};
use crate::snapshot::{PolicyContent, PolicyRecord, ValidSnapshot};
use crate::what_if::Change;

use error::{BlockerError, Deny, PlanError, ProofError, Rejection};

/// AWS's limit on SCPs attached directly to one root, OU or account.
pub const MAX_SCPS_PER_TARGET: usize = 5;

/// What a fix may open.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Profiles a fix may open; empty means the ones found blocked or conditional.
    pub approved_profiles: Vec<String>,
    /// The options the report was evaluated with (re-used for verification).
    pub evaluation: reachability::Options,
}

/// Proposals for every blocked or conditional finding of `report`; only verified ones.
pub fn propose(snapshot: &ValidSnapshot, report: &Report, options: &Options) -> Vec<Proposal> {
    propose_with_rejections(snapshot, report, options).0
}

/// Verified proposals, and the problems that have none (with the reason), so a caller can say
/// "N problems have no verified fix" and why.
pub fn propose_with_rejections(
    snapshot: &ValidSnapshot,
    report: &Report,
    options: &Options,
) -> (Vec<Proposal>, Vec<Unresolved>) {
    propose_filtered(snapshot, report, options, None)
}

/// Proposals for the findings whose keys ([`Finding::key`]) are in `only`, verified against
/// the whole report like [`propose`]: the Lambda bounds its work to what it alerts.
pub fn propose_for(
    snapshot: &ValidSnapshot,
    report: &Report,
    options: &Options,
    only: &BTreeSet<String>,
) -> Vec<Proposal> {
    propose_filtered(snapshot, report, options, Some(only)).0
}

fn propose_filtered(
    snapshot: &ValidSnapshot,
    report: &Report,
    options: &Options,
    only: Option<&BTreeSet<String>>,
) -> (Vec<Proposal>, Vec<Unresolved>) {
    let ctx = Ctx::new(snapshot, report, options);
    let mut rejections = Vec::new();
    let mut problems: Vec<(&Finding, BTreeSet<Unit>)> = Vec::new();
    for finding in &report.findings {
        if !matches!(finding.status, Status::Blocked | Status::Conditional) {
            continue;
        }
        if only.is_some_and(|keys| !keys.contains(&finding.key())) {
            continue;
        }
        if !ctx.approved.contains(&finding.profile_id) {
            rejections.push(unresolved(
                vec![finding.key()],
                Rejection::NotApproved {
                    profile_id: finding.profile_id.clone(),
                },
            ));
            continue;
        }
        match ctx.units_of(finding) {
            Ok(units) if units.is_empty() => rejections.push(unresolved(
                vec![finding.key()],
                Rejection::NothingToChange {
                    finding: finding.key(),
                    status: finding.status.as_str(),
                },
            )),
            Ok(units) => problems.push((finding, units)),
            Err(error) => rejections.push(unresolved(vec![finding.key()], error.into())),
        }
    }
    let mut proposals = Vec::new();
    for mut group in groups(problems) {
        let fixes: Vec<String> = group.findings.iter().map(|f| f.key()).collect();
        // A blocker can hide another (a definite Deny is reported, an admin-only-escapable one
        // behind it is not): when a plan leaves claimed findings blocked, their new blockers
        // join the group and it is planned again.
        for round in 0..=MAX_REFINEMENTS {
            let plans = match ctx.plans(&group) {
                Ok(plans) => plans,
                Err(error) => {
                    rejections.push(unresolved(fixes.clone(), error.into()));
                    break;
                }
            };
            let results: Vec<Result<Proposal, Failure>> = plans
                .into_iter()
                .map(|plan| ctx.prove(&group, plan))
                .collect();
            let mut hidden: BTreeSet<Unit> = BTreeSet::new();
            let mut seen: Vec<Finding> = Vec::new();
            let mut unfixable: BTreeSet<String> = BTreeSet::new();
            for failure in results.iter().filter_map(|r| r.as_ref().err()) {
                for finding in &failure.still {
                    match ctx.units_of(finding) {
                        Ok(units) => {
                            hidden.extend(units.into_iter().filter(|u| !group.units.contains(u)));
                            seen.push(finding.clone());
                        }
                        Err(error) => {
                            unfixable.insert(error.to_string());
                        }
                    }
                }
            }
            if !hidden.is_empty() && round < MAX_REFINEMENTS {
                group.units.extend(hidden);
                group.hidden.extend(seen);
                continue;
            }
            for result in results {
                match result {
                    Ok(mut proposal) => {
                        proposal.id = format!("prop-{}", proposals.len() + 1);
                        proposals.push(proposal);
                    }
                    Err(failure) => rejections.push(unresolved(
                        fixes.clone(),
                        Rejection::Proof {
                            error: failure.error,
                            unfixable: unfixable.clone(),
                        },
                    )),
                }
            }
            break;
        }
    }
    (proposals, rejections)
}

fn unresolved(fixes: Vec<String>, rejection: Rejection) -> Unresolved {
    Unresolved {
        fixes,
        reason: rejection.to_string(),
    }
}

/// What blocks a finding, as something a proposal can change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    /// A customer-managed SCP whose Deny statements to patch.
    Patch(String),
    /// A level (root, OU or account id) where no SCP allows the request.
    Allow(String),
    /// The Control Tower Region deny (GRREGIONDENY and/or CT.MULTISERVICE.PV.1).
    ControlTower,
}

/// How many times a group is re-planned with blockers found behind the first ones.
const MAX_REFINEMENTS: usize = 3;

/// Findings that share units, fixed together.
pub(crate) struct Group<'a> {
    units: BTreeSet<Unit>,
    findings: Vec<&'a Finding>,
    /// The same findings as re-evaluated under an earlier plan, for the blockers that showed up
    /// once the first ones were out of the way.
    hidden: Vec<Finding>,
}

impl Group<'_> {
    /// Every known blocker of the group's findings.
    pub(crate) fn blockers(&self) -> impl Iterator<Item = &crate::report::Blocker> {
        self.findings
            .iter()
            .copied()
            .chain(self.hidden.iter())
            .flat_map(|f| f.blockers.iter())
    }
}

/// Why a plan did not become a proposal.
struct Failure {
    error: ProofError,
    /// Claimed findings still not reachable after the change, as re-evaluated.
    still: Vec<Finding>,
}

impl From<ProofError> for Failure {
    fn from(error: ProofError) -> Failure {
        Failure {
            error,
            still: Vec::new(),
        }
    }
}

fn groups<'a>(problems: Vec<(&'a Finding, BTreeSet<Unit>)>) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for (finding, units) in problems {
        let mut merged = Group {
            units,
            findings: vec![finding],
            hidden: Vec::new(),
        };
        let mut rest = Vec::new();
        for group in groups {
            if group.units.intersection(&merged.units).next().is_some() {
                merged.units.extend(group.units);
                let mut findings = group.findings;
                findings.append(&mut merged.findings);
                merged.findings = findings;
            } else {
                rest.push(group);
            }
        }
        rest.push(merged);
        groups = rest;
    }
    groups
}

/// One policy document a plan touches.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    /// `<name>.json`, the file `apply` refers to.
    pub file: String,
    pub before: Option<Json>,
    pub after: Json,
}

/// A candidate fix, before it is proven.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub kind: ProposalKind,
    /// The existing policy the plan changes or works around.
    pub policy_id: Option<String>,
    pub changes: Vec<Change>,
    pub documents: Vec<Doc>,
    pub apply: Vec<String>,
    pub targets: BTreeSet<String>,
    /// What the change does, in sentences (verification is appended later).
    pub summary: Vec<String>,
    /// Extra artifact fields (Control Tower parameters, CfCT manifest).
    pub artifact: Vec<(String, serde_json::Value)>,
    /// Regions the plan starts governing (probed as well).
    pub new_regions: BTreeSet<String>,
}

impl Plan {
    fn new(kind: ProposalKind) -> Plan {
        Plan {
            kind,
            policy_id: None,
            changes: Vec::new(),
            documents: Vec::new(),
            apply: Vec::new(),
            targets: BTreeSet::new(),
            summary: Vec::new(),
            artifact: Vec::new(),
            new_regions: BTreeSet::new(),
        }
    }

    /// Replaces `record`'s content by `after`, keeping `before` for the diff.
    fn update_policy(&mut self, record: &PolicyRecord, before: Json, after: Json) {
        self.changes.push(Change::Update {
            policy_id: record.id.clone(),
            content: PolicyContent::Text(document::minified(&after)),
            name: None,
        });
        self.documents.push(Doc {
            file: file_name(&record.name, &record.id),
            before: Some(before),
            after,
        });
    }

    /// Adds `other`'s changes after this plan's own.
    fn absorb(&mut self, other: &Plan) {
        self.changes.extend(other.changes.iter().cloned());
        self.documents.extend(other.documents.iter().cloned());
        self.apply.extend(other.apply.iter().cloned());
        self.targets.extend(other.targets.iter().cloned());
        self.summary.extend(other.summary.iter().cloned());
        self.artifact.extend(other.artifact.iter().cloned());
        self.new_regions.extend(other.new_regions.iter().cloned());
        if self.policy_id.is_none() {
            self.policy_id.clone_from(&other.policy_id);
        }
    }
}

/// Everything the planners share.
pub(crate) struct Ctx<'a> {
    pub snapshot: &'a ValidSnapshot,
    pub report: &'a Report,
    pub options: &'a Options,
    /// The check set (`bedrock:InvokeModel`, `bedrock:InvokeModelWithResponseStream` by default).
    pub actions: Vec<String>,
    pub approved: BTreeSet<String>,
    pub org: Org<'a>,
    /// The checks behind the report's findings.
    pub checks: legs::Checks,
}

impl<'a> Ctx<'a> {
    fn new(snapshot: &'a ValidSnapshot, report: &'a Report, options: &'a Options) -> Ctx<'a> {
        let actions = if options.evaluation.actions.is_empty() {
            reachability::DEFAULT_ACTIONS
                .iter()
                .map(|a| (*a).to_string())
                .collect()
        } else {
            options.evaluation.actions.clone()
        };
        let approved: BTreeSet<String> = if options.approved_profiles.is_empty() {
            report
                .findings
                .iter()
                .filter(|f| matches!(f.status, Status::Blocked | Status::Conditional))
                .map(|f| f.profile_id.clone())
                .collect()
        } else {
            options.approved_profiles.iter().cloned().collect()
        };
        Ctx {
            snapshot,
            report,
            options,
            actions,
            approved,
            org: Org::new(snapshot),
            checks: legs::Checks::new(snapshot, &options.evaluation),
        }
    }

    /// `Sandbox (ou-…)`.
    pub(crate) fn label(&self, id: &str) -> String {
        format!("{} ({id})", self.org.name_of(id))
    }

    /// The OUs directly under a root or OU, in snapshot order.
    pub(crate) fn child_ous(&self, id: &str) -> Vec<&'a str> {
        let mut children = self.org.child_ous(id).to_vec();
        children.sort_by_key(|ou| self.org.target_index(TargetRef::OrganizationalUnit(ou)));
        children
    }

    /// The parents of an OU or account, nearest first, up to its root.
    fn ancestors(&self, id: &str) -> Vec<&'a str> {
        let mut ancestors = Vec::new();
        let mut current = self.org.parent_of(id);
        while let Some(parent) = current {
            ancestors.push(parent);
            current = self.org.parent_of(parent);
        }
        ancestors
    }

    /// Whether `id` or anything below it is in `set`.
    pub(crate) fn subtree_has(&self, id: &str, set: &BTreeSet<String>) -> bool {
        set.contains(id)
            || set
                .iter()
                .any(|member| self.ancestors(member).contains(&id))
    }

    /// The CfCT name of an OU: its path below the root, `:`-separated.
    pub(crate) fn cfct_path(&self, id: &str) -> String {
        let mut names: Vec<String> = self
            .ancestors(id)
            .into_iter()
            .filter(|ancestor| !self.org.is_root(ancestor))
            .map(|ancestor| self.org.name_of(ancestor))
            .collect();
        names.reverse();
        if !self.org.is_root(id) {
            names.push(self.org.name_of(id));
        }
        names.join(":")
    }

    /// How many SCPs are attached directly to a root, OU or account.
    pub(crate) fn attached(&self, target: &str) -> usize {
        self.snapshot
            .snapshot
            .policies
            .iter()
            .flat_map(|p| &p.targets)
            .filter(|t| *t == target)
            .count()
    }

    pub(crate) fn record(&self, policy_id: &str) -> Option<&'a PolicyRecord> {
        self.snapshot
            .snapshot
            .policies
            .iter()
            .find(|p| p.id == policy_id)
    }

    fn units_of(&self, finding: &Finding) -> Result<BTreeSet<Unit>, BlockerError> {
        let mut units = BTreeSet::new();
        for blocker in &finding.blockers {
            match blocker.kind {
                BlockerKind::AccountNotActive => {
                    return Err(BlockerError::AccountNotActive {
                        account_id: finding.target_id.clone(),
                    });
                }
                BlockerKind::NoAllow => {
                    let level =
                        blocker
                            .attached_to
                            .clone()
                            .ok_or_else(|| BlockerError::UnnamedLevel {
                                finding: finding.key(),
                            })?;
                    units.insert(Unit::Allow(level));
                }
                BlockerKind::ExplicitDeny => {
                    let policy_id = blocker.policy_id.clone().unwrap_or_default();
                    let record =
                        self.record(&policy_id)
                            .ok_or_else(|| BlockerError::UnknownPolicy {
                                finding: finding.key(),
                                policy_id: policy_id.clone(),
                            })?;
                    let sid = blocker.sid.clone().unwrap_or_default();
                    let label = if sid.is_empty() {
                        format!("statement #{}", blocker.statement_index.unwrap_or(0))
                    } else {
                        format!("Sid {sid}")
                    };
                    let deny = || {
                        Box::new(Deny {
                            policy_name: record.name.clone(),
                            policy_id: record.id.clone(),
                            statement: label.clone(),
                            action: blocker.action.clone(),
                            region: blocker.region.clone(),
                        })
                    };
                    let leg = self.checks.leg_kind(finding, blocker).ok_or_else(|| {
                        BlockerError::UnknownLeg {
                            finding: finding.key(),
                            action: blocker.action.clone(),
                            resource: blocker.resource.clone(),
                            region: blocker.region.clone(),
                        }
                    })?;
                    if leg == LegKind::Profile {
                        return Err(BlockerError::SourceRegionDenied {
                            profile_id: finding.profile_id.clone(),
                            source_region: finding.source_region.clone(),
                            deny: deny(),
                        });
                    }
                    if is_control_tower(record, &sid) {
                        if sid != GRREGIONDENY && sid != CTMULTISERVICEPV1 {
                            return Err(BlockerError::ControlTowerControl { deny: deny() });
                        }
                        if leg == LegKind::GlobalModel {
                            return Err(BlockerError::GlobalLegUnderControlTower {
                                profile_id: finding.profile_id.clone(),
                                deny: deny(),
                            });
                        }
                        units.insert(Unit::ControlTower);
                    } else if record.aws_managed {
                        return Err(BlockerError::AwsManaged { deny: deny() });
                    } else {
                        units.insert(Unit::Patch(policy_id));
                    }
                }
            }
        }
        Ok(units)
    }

    /// The candidate plans of a group: one for customer SCPs, two (the blog's options) when
    /// the Control Tower Region deny is involved.
    fn plans(&self, group: &Group) -> Result<Vec<Plan>, PlanError> {
        let profiles = self.profiles_of(group);
        let mut ids = IdAllocator::new(self.snapshot);
        let mut base: Option<Plan> = None;
        for unit in &group.units {
            let plan = match unit {
                Unit::Patch(policy_id) => {
                    customer::patch_deny(self, group, policy_id, &profiles, &mut ids)?
                }
                Unit::Allow(level) => customer::add_allow(self, group, level, &profiles, &mut ids)?,
                Unit::ControlTower => continue,
            };
            match &mut base {
                Some(base) => base.absorb(&plan),
                None => base = Some(plan),
            }
        }
        if !group.units.contains(&Unit::ControlTower) {
            return Ok(base.into_iter().collect());
        }
        let options = control_tower::plans(self, group, &profiles, &mut ids)?;
        Ok(options
            .into_iter()
            .map(|mut plan| {
                if let Some(base) = &base {
                    plan.absorb(base);
                }
                plan
            })
            .collect())
    }

    /// The approved profiles the group's findings concern.
    fn profiles_of(&self, group: &Group) -> BTreeSet<String> {
        group
            .findings
            .iter()
            .map(|f| f.profile_id.clone())
            .filter(|p| self.approved.contains(p))
            .collect()
    }

    /// `arn:<partition>:bedrock:*:*:inference-profile/<id>` (or `application-inference-profile`)
    /// for each profile, the shape of the blog's exemption.
    pub(crate) fn exemption_patterns(&self, profiles: &BTreeSet<String>) -> Vec<String> {
        let mut patterns = BTreeSet::new();
        for profile in profiles {
            let arn = self
                .snapshot
                .snapshot
                .inference_profiles
                .values()
                .flatten()
                .find(|p| &p.inference_profile_id == profile)
                .and_then(|p| Arn::parse(&p.inference_profile_arn));
            let (partition, kind) = match &arn {
                Some(arn) => (
                    arn.partition.clone(),
                    arn.resource
                        .split_once('/')
                        .map(|(kind, _)| kind.to_string())
                        .unwrap_or_else(|| "inference-profile".to_string()),
                ),
                None => ("aws".to_string(), "inference-profile".to_string()),
            };
            patterns.insert(format!("arn:{partition}:bedrock:*:*:{kind}/{profile}"));
        }
        patterns.into_iter().collect()
    }

    /// Applies, re-evaluates and turns a plan into a proposal, or says why not.
    fn prove(&self, group: &Group, plan: Plan) -> Result<Proposal, Failure> {
        let fixes: BTreeSet<String> = group.findings.iter().map(|f| f.key()).collect();
        let what = kind_name(plan.kind);
        for doc in &plan.documents {
            let size = document::minified(&doc.after).chars().count();
            if size > crate::snapshot::MAX_SCP_CHARS {
                return Err(ProofError::DocumentTooLarge {
                    what,
                    file: doc.file.clone(),
                    chars: size,
                }
                .into());
            }
        }
        let outcome = verify::verify(
            self,
            &verify::Claim {
                changes: &plan.changes,
                fixes: &fixes,
                approved: &self.approved,
                new_regions: &plan.new_regions,
            },
        )
        .map_err(|error| Failure::from(ProofError::Invalid { what, error }))?;
        if !outcome.still_blocked.is_empty() || !outcome.newly_allowed.is_empty() {
            return Err(Failure {
                error: ProofError::DidNotVerify {
                    what,
                    still_blocked: outcome.still_blocked,
                    newly_allowed: outcome.newly_allowed,
                },
                still: outcome.still_findings,
            });
        }
        if outcome.fixed == 0 {
            return Err(ProofError::FixesNothing { what }.into());
        }
        Ok(self.proposal(group, plan, &fixes, &outcome))
    }

    fn proposal(
        &self,
        group: &Group,
        plan: Plan,
        fixes: &BTreeSet<String>,
        outcome: &verify::Outcome,
    ) -> Proposal {
        let primary = plan.documents.first();
        let before = primary
            .and_then(|d| d.before.as_ref())
            .map(document::minified);
        let after = primary.map(|d| document::minified(&d.after));
        let size = plan
            .documents
            .iter()
            .map(|d| document::minified(&d.after).chars().count())
            .max();
        let diff: String = plan
            .documents
            .iter()
            .map(|d| {
                let before = d.before.as_ref().map(document::pretty).unwrap_or_default();
                document::unified_diff(&d.file, &before, &document::pretty(&d.after))
            })
            .collect();
        let mut artifact = serde_json::Map::new();
        for (key, value) in &plan.artifact {
            artifact.insert(key.clone(), value.clone());
        }
        let files: serde_json::Map<String, serde_json::Value> = plan
            .documents
            .iter()
            .map(|d| {
                (
                    d.file.clone(),
                    serde_json::Value::String(document::minified(&d.after)),
                )
            })
            .collect();
        artifact.insert("files".into(), serde_json::Value::Object(files));
        artifact.insert(
            "whatIf".into(),
            serde_json::to_value(&plan.changes).unwrap_or(serde_json::Value::Null),
        );
        let mut summary = plan.summary.join(" ");
        let targets: BTreeSet<String> = group
            .findings
            .iter()
            .map(|f| f.target_path.clone())
            .collect();
        let profiles: BTreeSet<&str> = group
            .findings
            .iter()
            .map(|f| f.profile_id.as_str())
            .collect();
        summary.push_str(&format!(
            " Fixes {} finding{} ({} for {}). Verified by re-evaluating the organization with the change applied: every claimed finding becomes reachable, and none of {} probe requests (other services, direct model calls and calls through profiles that are not approved, in every Region the profiles use) changes from denied to allowed in any of the {} OUs and accounts.",
            fixes.len(),
            if fixes.len() == 1 { "" } else { "s" },
            join_list(&profiles.into_iter().map(str::to_string).collect::<Vec<_>>()),
            join_list(&targets.into_iter().collect::<Vec<_>>()),
            outcome.probes,
            outcome.targets
        ));
        Proposal {
            id: String::new(),
            fixes: fixes.iter().cloned().collect(),
            kind: plan.kind,
            policy_id: plan.policy_id,
            target_ids: plan.targets.into_iter().collect(),
            before,
            after,
            diff: Some(diff),
            size_chars: size,
            verification: Verification {
                fixed_findings: outcome.fixed,
                still_blocked: outcome.still_blocked.len(),
                newly_allowed_outside_profiles: outcome.newly_allowed.clone(),
            },
            apply: plan.apply.join("\n"),
            summary,
            artifact: Some(serde_json::Value::Object(artifact)),
        }
    }
}

fn kind_name(kind: ProposalKind) -> &'static str {
    match kind {
        ProposalKind::PatchScp => "the SCP patch",
        ProposalKind::NewScp => "the new SCP",
        ProposalKind::ControlTowerParameters => "option 1 (Control Tower parameters)",
        ProposalKind::CfctManifest => "option 2 (governed Region + CfCT SCP)",
    }
}

pub(crate) const GRREGIONDENY: &str = "GRREGIONDENY";
pub(crate) const CTMULTISERVICEPV1: &str = "CTMULTISERVICEPV1";

/// Control Tower-managed: named `aws-guardrails-*`, or a statement with a Control Tower Sid.
pub(crate) fn is_control_tower(record: &PolicyRecord, sid: &str) -> bool {
    record.name.starts_with("aws-guardrails-") || sid == GRREGIONDENY || sid == CTMULTISERVICEPV1
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A file name for a policy: its name when it is file-safe, else its id.
pub(crate) fn file_name(name: &str, id: &str) -> String {
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    format!("{}.json", if safe { name } else { id })
}

/// Hypothetical ids for policies a plan creates (`p-whatif01`, …), never colliding with the
/// snapshot's or each other.
pub(crate) struct IdAllocator {
    used: BTreeSet<String>,
}

impl IdAllocator {
    fn new(snapshot: &ValidSnapshot) -> IdAllocator {
        IdAllocator {
            used: snapshot
                .snapshot
                .policies
                .iter()
                .map(|p| p.id.clone())
                .collect(),
        }
    }

    pub(crate) fn next(&mut self) -> String {
        let id = (1..)
            .map(|n| format!("p-whatif{n:02}"))
            .find(|id| !self.used.contains(id))
            .unwrap_or_else(|| "p-whatif00".to_string());
        self.used.insert(id.clone());
        id
    }
}
