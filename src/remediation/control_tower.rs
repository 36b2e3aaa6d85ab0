//! Control Tower: its SCPs (`aws-guardrails-*`, GRREGIONDENY, CT.MULTISERVICE.PV.1) are never
//! edited in place. The blog's two options instead, each modelled as what-if changes:
//!
//! - Option 1 (`controlTowerParameters`): govern the missing Regions in the landing zone (Control
//!   Tower re-writes GRREGIONDENY itself), enable CT.MULTISERVICE.PV.1 on the affected OUs with
//!   the previously governed Regions and the checked Bedrock actions exempted, and on every other
//!   OU carrying the Region deny without exemptions. Exempting actions opens them for every
//!   model, so a small customer SCP keeps them limited to calls through approved profiles.
//! - Option 2 (`cfctManifest`): govern the Regions, and deploy with CfCT a customer SCP like the
//!   blog's (deny the new Regions unless `bedrock:InferenceProfileArn` is approved) on the
//!   affected OUs and a plain Region deny on the others.
//!
//! Guardrail-profile findings of the same group take the same route: governing the Region is the
//! only way past GRREGIONDENY, `bedrock:ApplyGuardrail` joins PV.1's ExemptedActions, and each
//! customer SCP gets a statement that denies it in the Regions it guards except on the approved
//! guardrail profiles (`NotResource`), so a plain guardrail there stays denied.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::findings::{BlockerKind, CheckKind, ProposalKind};
use crate::policy::json::Json;
use crate::snapshot::{MAX_SCP_CHARS, PolicyRecord};

mod cfct;
mod parameters;

use super::context::Ctx;
use super::customer::any_region_and_account;
use super::document as doc;
use super::error::PlanError;
use super::other_kinds::extra_probes;
use super::plan::{IdAllocator, Plan};
use super::problems::{CTMULTISERVICEPV1, GRREGIONDENY, Group};
use super::proposal::join_list;

const PV1: &str = "CT.MULTISERVICE.PV.1";
const REGION_KEY: &str = "aws:RequestedRegion";
const PRINCIPAL_KEY: &str = "aws:PrincipalARN";
const IPA: &str = "bedrock:InferenceProfileArn";
const APPLY_GUARDRAIL: &str = "bedrock:ApplyGuardrail";
/// The customer SCPs' statement for guardrail profiles.
const GUARDRAIL_SID: &str = "DenyApplyGuardrailExceptApprovedGuardrailProfiles";
/// `aws:RequestedRegion` of a global profile's Region-less model request.
const UNSPECIFIED: &str = "unspecified";

/// The roles the CT.MULTISERVICE.PV.1 artifact always exempts (domain.md §4.2).
const PV1_ROLES: &[&str] = &[
    "arn:*:iam::*:role/AWSControlTowerExecution",
    "arn:*:iam::*:role/aws-controltower-ConfigRecorderRole",
    "arn:*:iam::*:role/aws-controltower-ForwardSnsNotificationRole",
    "arn:*:iam::*:role/AWSControlTower_VPCFlowLogsRole",
];

/// A CT policy and the statements of one control in it.
struct Control<'a> {
    record: &'a PolicyRecord,
    json: Json,
    /// The control's first statement (its parameters are read from it).
    statement: Json,
}

impl Control<'_> {
    fn regions(&self) -> Vec<String> {
        doc::condition_values(&self.statement, "StringNotEquals", REGION_KEY)
    }

    fn principals(&self) -> Vec<String> {
        doc::condition_values(&self.statement, "ArnNotLike", PRINCIPAL_KEY)
    }

    fn not_action(&self) -> Vec<String> {
        doc::get(&self.statement, "NotAction")
            .map(doc::string_list)
            .unwrap_or_default()
    }
}

fn controls<'a>(ctx: &Ctx<'a>, sid: &str) -> Vec<Control<'a>> {
    let mut out = Vec::new();
    for record in &ctx.snapshot.snapshot.policies {
        let Ok(json) = doc::parse(&record.content.text()) else {
            continue;
        };
        let statement = doc::statements(&json)
            .into_iter()
            .find(|s| doc::sid(s).as_deref() == Some(sid))
            .cloned();
        if let Some(statement) = statement {
            out.push(Control {
                record,
                json,
                statement,
            });
        }
    }
    out
}

/// Rewrites every statement with `sid` in a policy.
fn edit_control(policy: &Json, sid: &str, edit: &dyn Fn(&mut Json)) -> Json {
    let mut after = policy.clone();
    if let Some(list) = doc::statements_mut(&mut after) {
        for statement in list.iter_mut() {
            if doc::sid(statement).as_deref() == Some(sid) {
                edit(statement);
            }
        }
    }
    after
}

/// Where the Region deny must be re-created after a Region is governed: `(ou, exempt)`.
/// Exempt OUs hold affected targets (the approved profiles may open there); plain OUs keep a
/// full deny.
fn placements(ctx: &Ctx, points: &[String], affected: &BTreeSet<String>) -> Vec<(String, bool)> {
    fn below(ctx: &Ctx, node: &str, affected: &BTreeSet<String>, out: &mut Vec<(String, bool)>) {
        if !ctx.subtree_has(node, affected) && !ctx.org.is_root(node) {
            out.push((node.to_string(), false));
            return;
        }
        for child in ctx.child_ous(node) {
            below(ctx, child, affected, out);
        }
    }
    fn place(ctx: &Ctx, node: &str, affected: &BTreeSet<String>, out: &mut Vec<(String, bool)>) {
        let root = ctx.org.is_root(node);
        if !ctx.subtree_has(node, affected) && !root {
            out.push((node.to_string(), false));
            return;
        }
        // The topmost OU holding an affected target is exempt: PV.1 is enabled on OUs, and
        // there it reaches the accounts directly in it (and the OU itself, as a new account's),
        // which a PV.1 only on deeper OUs (or none, for an affected account directly in a
        // landing-zone OU) would leave with no Region deny at all.
        if !root {
            out.push((node.to_string(), true));
            for child in ctx.child_ous(node) {
                below(ctx, child, affected, out);
            }
            return;
        }
        for child in ctx.child_ous(node) {
            place(ctx, child, affected, out);
        }
    }
    let mut out = Vec::new();
    for point in points {
        place(ctx, point, affected, &mut out);
    }
    let mut seen = BTreeSet::new();
    out.retain(|(ou, _)| seen.insert(ou.clone()));
    out
}

/// What the group needs from Control Tower.
struct Needs<'a> {
    /// Regions GRREGIONDENY blocks (to govern).
    govern: BTreeSet<String>,
    /// Every policy holding GRREGIONDENY.
    landing_zone: Vec<Control<'a>>,
    /// PV.1 policies that block, with the Regions they block.
    pv1_blocking: Vec<(Control<'a>, BTreeSet<String>)>,
    /// Every PV.1 policy.
    pv1_all: Vec<Control<'a>>,
    affected: BTreeSet<String>,
    /// The source Regions of the group's findings.
    sources: BTreeSet<String>,
    patterns: Vec<String>,
    /// The actions CT.MULTISERVICE.PV.1 exempts: the check set for inference findings,
    /// `bedrock:ApplyGuardrail` for guardrail-profile findings.
    exempted: Vec<String>,
    /// The inference actions among them (what the guard's `bedrock:InferenceProfileArn`
    /// exemption is for).
    inference: Vec<String>,
    /// `arn:<partition>:bedrock:*:*:guardrail-profile/<id>` of the group's guardrail profiles.
    guardrail_patterns: Vec<String>,
    /// The landing zone's Region deny is turned off and replaced by CT.MULTISERVICE.PV.1 on
    /// its OUs (a global profile's `unspecified` leg cannot be governed).
    replace: bool,
}

impl Needs<'_> {
    /// The approved profiles' ARN patterns, for a Region deny's `NotResource` when it would
    /// cover a finding's source Region (`denied(source)`): the request on the profile itself
    /// carries no `bedrock:InferenceProfileArn`, so only its resource can exempt it.
    fn profile_resources(&self, denied: impl Fn(&str) -> bool) -> Option<&[String]> {
        self.sources
            .iter()
            .any(|source| denied(source))
            .then_some(self.patterns.as_slice())
    }

    /// An option's plan, about the landing zone's Region deny (else the first blocking PV.1).
    fn plan(&self, kind: ProposalKind) -> Plan {
        let mut plan = Plan::new(kind);
        plan.policy_id = self
            .landing_zone
            .first()
            .map(|c| c.record.id.clone())
            .or_else(|| self.pv1_blocking.first().map(|(c, _)| c.record.id.clone()));
        plan
    }

    /// Where the landing zone's Region deny is attached, when a Region is to be governed:
    /// where [`placements`] starts.
    fn points(&self) -> Vec<String> {
        if self.govern.is_empty() && !self.replace {
            return Vec::new();
        }
        let mut points = BTreeSet::new();
        for control in &self.landing_zone {
            points.extend(control.record.targets.iter().cloned());
        }
        points.into_iter().collect()
    }
}

/// A Region deny in the blog's shape: deny `action` where `aws:RequestedRegion` is
/// (`StringEquals`) or is outside (`StringNotEquals`) `regions`, unless the call goes through an
/// approved profile (`bedrock:InferenceProfileArn` in `profiles`, when given) or comes from one
/// of `principals`. With `guardrail_profiles`, `bedrock:ApplyGuardrail` is denied by a statement
/// of its own, except on those guardrail profiles (its requests carry no inference profile).
/// `list` writes each value list: option 1 always as an array, option 2 a single value as a
/// string, as the blog does.
struct RegionDeny<'a> {
    sid: &'a str,
    /// `None`: only the guardrail-profile statement.
    action: Option<Json>,
    operator: &'a str,
    regions: &'a [String],
    profiles: Option<&'a [String]>,
    /// `NotResource` in place of `Resource: *` for the action statement: the approved
    /// profiles' own requests, for a deny that covers a source Region.
    profile_resources: Option<&'a [String]>,
    principals: &'a [String],
    guardrail_profiles: &'a [String],
    list: fn(&[String]) -> Json,
}

impl RegionDeny<'_> {
    fn policy(&self) -> Json {
        let list = self.list;
        let principals =
            (!self.principals.is_empty()).then(|| (PRINCIPAL_KEY, list(self.principals)));
        let statement = |sid: &str,
                         action: (&str, Json),
                         resource: (&str, Json),
                         exemptions: Vec<(&str, Json)>| {
            let mut condition = vec![(
                self.operator,
                doc::object(vec![(REGION_KEY, list(self.regions))]),
            )];
            if !exemptions.is_empty() {
                condition.push(("ArnNotLike", doc::object(exemptions)));
            }
            doc::object(vec![
                ("Sid", Json::String(sid.into())),
                ("Effect", Json::String("Deny".into())),
                action,
                resource,
                ("Condition", doc::object(condition)),
            ])
        };
        let guarded = !self.guardrail_profiles.is_empty();
        let mut statements = Vec::new();
        if let Some(action) = &self.action {
            let mut exemptions = Vec::new();
            if let Some(profiles) = self.profiles.filter(|p| !p.is_empty()) {
                exemptions.push((IPA, list(profiles)));
            }
            exemptions.extend(principals.clone());
            // Everything but the guardrail profiles' requests, which the next statement takes.
            let action = if guarded && *action == Json::String("*".into()) {
                ("NotAction", list(&[APPLY_GUARDRAIL.to_string()]))
            } else {
                ("Action", action.clone())
            };
            let resource = match self.profile_resources.filter(|p| !p.is_empty()) {
                Some(profiles) => ("NotResource", list(profiles)),
                None => ("Resource", Json::String("*".into())),
            };
            statements.push(statement(self.sid, action, resource, exemptions));
        }
        if guarded {
            statements.push(statement(
                GUARDRAIL_SID,
                ("Action", Json::String(APPLY_GUARDRAIL.into())),
                ("NotResource", list(self.guardrail_profiles)),
                principals.into_iter().collect(),
            ));
        }
        doc::policy_of(statements)
    }
}

pub(crate) fn plans(
    ctx: &Ctx,
    group: &Group,
    profiles: &BTreeSet<String>,
    ids: &mut IdAllocator,
) -> Result<Vec<Plan>, PlanError> {
    let mut govern = BTreeSet::new();
    let mut pv1_regions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    {
        for blocker in group.blockers() {
            if blocker.kind != BlockerKind::ExplicitDeny {
                continue;
            }
            match blocker.sid.as_deref() {
                Some(GRREGIONDENY) => {
                    govern.insert(blocker.region.clone());
                }
                Some(CTMULTISERVICEPV1) => {
                    pv1_regions
                        .entry(blocker.policy_id.clone().unwrap_or_default())
                        .or_default()
                        .insert(blocker.region.clone());
                }
                _ => {}
            }
        }
    }
    let landing_zone = controls(ctx, GRREGIONDENY);
    if !govern.is_empty() && landing_zone.is_empty() {
        return Err(PlanError::NoLandingZonePolicy);
    }
    let pv1_all = controls(ctx, CTMULTISERVICEPV1);
    let pv1_blocking = controls(ctx, CTMULTISERVICEPV1)
        .into_iter()
        .filter_map(|c| {
            pv1_regions
                .get(&c.record.id)
                .map(|regions| (c, regions.clone()))
        })
        .collect();
    let mut inference = false;
    let mut guardrail_patterns = BTreeSet::new();
    for finding in group.all() {
        for blocker in &finding.blockers {
            if blocker.kind != BlockerKind::ExplicitDeny
                || !matches!(
                    blocker.sid.as_deref(),
                    Some(GRREGIONDENY | CTMULTISERVICEPV1)
                )
            {
                continue;
            }
            match finding.check_kind {
                CheckKind::Inference => inference = true,
                CheckKind::GuardrailProfile => {
                    guardrail_patterns.insert(any_region_and_account(&blocker.resource));
                }
                CheckKind::MarketplaceFirstUse => {
                    return Err(PlanError::ControlTowerMarketplace {
                        action: blocker.action.clone(),
                        profile_id: finding.profile_id.clone(),
                    });
                }
            }
        }
    }
    let inference: Vec<String> = if inference {
        ctx.actions.clone()
    } else {
        Vec::new()
    };
    let mut exempted = inference.clone();
    if !guardrail_patterns.is_empty() {
        exempted.push(APPLY_GUARDRAIL.to_string());
    }
    let global = govern.contains(UNSPECIFIED);
    let patterns = ctx.exemption_patterns(profiles);
    let folded = ctx.folded_patterns(&patterns, profiles);
    let mut needs = Needs {
        exempted,
        inference,
        guardrail_patterns: guardrail_patterns.into_iter().collect(),
        replace: global && !landing_zone.is_empty(),
        govern,
        landing_zone,
        pv1_blocking,
        pv1_all,
        affected: group.findings.iter().map(|f| f.target_id.clone()).collect(),
        sources: group
            .findings
            .iter()
            .map(|f| f.source_region.clone())
            .collect(),
        patterns,
    };
    let mut options = if needs.replace {
        // `unspecified` cannot be governed: replace the landing-zone Region deny, or edit it
        // through CfCT (drift-prone).
        let option1 = fitting(ctx, &mut needs, &folded, ids, parameters::option1);
        let edit = fitting(ctx, &mut needs, &folded, ids, cfct::edit_region_deny);
        vec![option1, edit]
    } else {
        let option1 = fitting(ctx, &mut needs, &folded, ids, parameters::option1);
        let option2 = fitting(ctx, &mut needs, &folded, ids, cfct::option2);
        vec![option1, option2]
    };
    if !needs.guardrail_patterns.is_empty() {
        // A guardrail in an opened Region must stay denied: the exemption is for its profile.
        let probes = extra_probes(ctx, true, false);
        for plan in &mut options {
            plan.probes.extend(probes.iter().cloned());
        }
    }
    Ok(options)
}

/// The option `build` writes with the approved profiles' exact patterns, or, when a document
/// of it would not fit an SCP (a guard that also exempts the profiles' own requests by
/// `NotResource` lists them twice), with them folded into prefix wildcards.
fn fitting(
    ctx: &Ctx,
    needs: &mut Needs,
    folded: &[String],
    ids: &mut IdAllocator,
    build: impl Fn(&Ctx, &Needs, &mut IdAllocator) -> Plan,
) -> Plan {
    let before = ids.clone();
    let plan = build(ctx, needs, ids);
    let oversized = plan
        .documents
        .iter()
        .any(|d| doc::minified(&d.after).chars().count() > MAX_SCP_CHARS);
    if !oversized || folded == needs.patterns.as_slice() {
        return plan;
    }
    *ids = before;
    let exact = std::mem::replace(&mut needs.patterns, folded.to_vec());
    let mut plan = build(ctx, needs, ids);
    needs.patterns = exact;
    plan.summary.push(
        "The approved profiles are named by prefix wildcards so the policies fit the 5,120-character SCP limit: no profile known today that is not approved matches one, but a profile AWS adds later under the same prefix would be exempted too.".to_string(),
    );
    plan
}

fn ou_arn(ctx: &Ctx, ou: &str) -> String {
    let org = &ctx.snapshot.snapshot.organization;
    format!(
        "arn:aws:organizations::{}:ou/{}/{ou}",
        org.management_account_id, org.id
    )
}

fn control_arn() -> String {
    format!("arn:aws:controltower:${{HOME_REGION}}::control/{PV1}")
}

fn params(allowed: &[String], actions: &[String], principals: &[String]) -> serde_json::Value {
    let mut list = vec![json!({"key": "AllowedRegions", "value": allowed})];
    if !actions.is_empty() {
        list.push(json!({"key": "ExemptedActions", "value": actions}));
    }
    if !principals.is_empty() {
        list.push(json!({"key": "ExemptedPrincipalArns", "value": principals}));
    }
    serde_json::Value::Array(list)
}

fn quoted(items: &[String]) -> String {
    join_list(&items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>())
}

fn labels(ctx: &Ctx, ids: &BTreeSet<String>) -> String {
    join_list(&ids.iter().map(|i| ctx.label(i)).collect::<Vec<_>>())
}

/// Adds `regions` to the Region list of the control's `sid` statement, as the control's own
/// update would (the plan's change and its before/after document).
fn allow_regions(plan: &mut Plan, control: &Control, sid: &str, regions: &[String]) {
    let after = edit_control(&control.json, sid, &|s| {
        doc::merge_condition(s, "StringNotEquals", REGION_KEY, regions)
    });
    plan.update_policy(control.record, control.json.clone(), after);
}

/// The landing-zone step shared by both options (updates of every GRREGIONDENY policy).
fn govern(needs: &Needs, plan: &mut Plan) {
    if needs.govern.is_empty() {
        return;
    }
    let regions: Vec<String> = needs.govern.iter().cloned().collect();
    let mut names = Vec::new();
    for control in &needs.landing_zone {
        allow_regions(plan, control, GRREGIONDENY, &regions);
        names.push(format!("{} ({})", control.record.name, control.record.id));
        // Every Region a removed deny governed is probed: CT.MULTISERVICE.PV.1 allows the first
        // landing-zone control's Regions, which another removed deny may not have allowed.
        plan.new_regions.extend(control.regions());
    }
    plan.new_regions.extend(needs.govern.iter().cloned());
    plan.apply.push(format!(
        "# 1. Govern {r} in the landing zone: Control Tower console > Landing zone settings > Modify settings > add {r} > Update landing zone (or `aws controltower update-landing-zone` with {r} added to governedRegions in your landing-zone manifest). It can take 60 minutes or more; then check that every account is Enrolled and nothing has drifted. Control Tower re-writes GRREGIONDENY in {n} itself: never edit it.",
        r = join_list(&regions),
        n = join_list(&names)
    ));
}

/// Turns the landing zone's Region deny off: its GRREGIONDENY statements leave the Control
/// Tower policies (the policy is detached where nothing else is left in it).
fn disable_region_deny(needs: &Needs, plan: &mut Plan) {
    let mut names = Vec::new();
    for control in &needs.landing_zone {
        let mut after = control.json.clone();
        if let Some(list) = doc::statements_mut(&mut after) {
            list.retain(|s| doc::sid(s).as_deref() != Some(GRREGIONDENY));
        }
        if doc::statements(&after).is_empty() {
            for target in &control.record.targets {
                plan.changes.push(crate::what_if::Change::Detach {
                    policy_id: control.record.id.clone(),
                    target_id: target.clone(),
                });
            }
            plan.documents.push(super::plan::Doc {
                file: super::plan::file_name(&control.record.name, &control.record.id),
                before: Some(control.json.clone()),
                after,
            });
        } else {
            plan.update_policy(control.record, control.json.clone(), after);
        }
        names.push(format!("{} ({})", control.record.name, control.record.id));
        // Every Region a removed deny governed is probed: CT.MULTISERVICE.PV.1 allows the first
        // landing-zone control's Regions, which another removed deny may not have allowed.
        plan.new_regions.extend(control.regions());
    }
    plan.new_regions.extend(needs.govern.iter().cloned());
    plan.apply.push(format!(
        "# 1. Turn the landing zone's Region deny off (do steps 2 and later first if the OUs must never be without a Region deny: CT.MULTISERVICE.PV.1 and the guard SCP can be in place before). Control Tower does not support the Region deny control through its APIs (UpdateLandingZone and the landing-zone manifest's governedRegions do not switch it); in the Control Tower console: Landing zone settings > Modify settings > Region deny setting: Not enabled > keep the governed Regions > Update landing zone. It can take 60 minutes or more; then check that every account is Enrolled and nothing has drifted. Control Tower removes GRREGIONDENY from {} itself: never edit it.",
        join_list(&names)
    ));
}

fn existing_pv1<'n, 'a>(needs: &'n Needs<'a>, ou: &str) -> Option<&'n Control<'a>> {
    needs
        .pv1_all
        .iter()
        .find(|c| c.record.targets.iter().any(|t| t == ou))
}

/// Exempted actions / principals of an enabled PV.1 (what is not template).
fn pv1_parameters(needs: &Needs, control: &Control) -> (Vec<String>, Vec<String>) {
    let template: BTreeSet<String> = needs
        .landing_zone
        .first()
        .map(|c| c.not_action().into_iter().collect())
        .unwrap_or_default();
    let actions = if template.is_empty() {
        Vec::new()
    } else {
        control
            .not_action()
            .into_iter()
            .filter(|a| !template.contains(a))
            .collect()
    };
    let principals = control
        .principals()
        .into_iter()
        .filter(|p| {
            !PV1_ROLES.contains(&p.as_str()) && !p.ends_with(":role/AWSControlTowerExecution")
        })
        .collect();
    (actions, principals)
}

fn governed(needs: &Needs) -> Vec<String> {
    needs
        .landing_zone
        .first()
        .map(Control::regions)
        .unwrap_or_default()
}

fn landing_zone_principals(needs: &Needs) -> Vec<String> {
    needs
        .landing_zone
        .first()
        .or_else(|| needs.pv1_blocking.first().map(|(c, _)| c))
        .map(Control::principals)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Status;
    use crate::remediation::Options;
    use crate::remediation::problems::groups;
    use crate::remediation::verify;
    use crate::snapshot::PolicyContent;
    use crate::what_if::Change;

    /// Option 1 for a guardrail profile under GRREGIONDENY proves only with its customer SCP's
    /// `NotResource` statement: without it, PV.1's exempted `bedrock:ApplyGuardrail` opens a
    /// plain guardrail in the newly governed Region, and the plan's own probes see it.
    #[test]
    fn option1_for_a_guardrail_profile_needs_its_notresource_statement()
    -> Result<(), Box<dyn std::error::Error>> {
        let case: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/corpus/remediation/guardrail-profile-under-control-tower-region-deny-gets-both-blog-options.json"
        ))?;
        let valid = crate::snapshot::load("test", &serde_json::to_vec(&case["snapshot"])?)?;
        let options = Options::default();
        let report = crate::reachability::evaluate(&valid, &options.evaluation);
        let ctx = Ctx::new(&valid, &report, &options);
        let mut problems = Vec::new();
        for finding in report
            .findings
            .iter()
            .filter(|f| f.status == Status::Blocked)
        {
            problems.push((finding, ctx.units_of(finding)?));
        }
        let group = groups(problems).into_iter().next().ok_or("no group")?;
        let option1 = ctx.plans(&group)?.into_iter().next().ok_or("no plan")?;
        assert_eq!(option1.kind, ProposalKind::ControlTowerParameters);
        assert!(
            ctx.prove(&group, option1.clone(), verify::Openings::Always)
                .is_ok()
        );

        let mut stripped = option1;
        let mut removed = 0;
        for change in &mut stripped.changes {
            if let Change::Create {
                content: PolicyContent::Text(text),
                ..
            } = change
            {
                let mut policy = doc::parse(text)?;
                if let Some(list) = doc::statements_mut(&mut policy) {
                    let before = list.len();
                    list.retain(|s| doc::sid(s).as_deref() != Some(GUARDRAIL_SID));
                    removed += before - list.len();
                }
                *text = doc::minified(&policy);
            }
        }
        assert_eq!(removed, 1);
        let failure = ctx
            .prove(&group, stripped, verify::Openings::Always)
            .err()
            .ok_or("proved without the guardrail statement")?;
        let error = failure.error.to_string();
        assert!(
            error.contains("bedrock:ApplyGuardrail on the guardrail arn:aws:bedrock:us-east-2:"),
            "{error}"
        );
        Ok(())
    }
}
