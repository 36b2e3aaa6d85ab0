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

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::policy::json::Json;
use crate::report::{BlockerKind, ProposalKind};
use crate::snapshot::{PolicyContent, PolicyRecord};
use crate::what_if::Change;

use super::context::Ctx;
use super::document as doc;
use super::error::PlanError;
use super::plan::{Doc, IdAllocator, Plan, file_name};
use super::problems::{CTMULTISERVICEPV1, GRREGIONDENY, Group};
use super::proposal::join_list;

const PV1: &str = "CT.MULTISERVICE.PV.1";
const REGION_KEY: &str = "aws:RequestedRegion";
const PRINCIPAL_KEY: &str = "aws:PrincipalARN";
const IPA: &str = "bedrock:InferenceProfileArn";

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

fn prepend_actions(statement: &mut Json, actions: &[String]) {
    let existing = doc::get(statement, "NotAction")
        .map(doc::string_list)
        .unwrap_or_default();
    let mut list: Vec<String> = actions
        .iter()
        .filter(|a| !existing.contains(a))
        .cloned()
        .collect();
    list.extend(existing);
    doc::set(statement, "NotAction", doc::strings(&list));
}

/// Where the Region deny must be re-created after a Region is governed: `(ou, exempt)`.
/// Exempt OUs are affected (the approved profiles may open there); plain OUs keep a full deny.
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
        if affected.contains(node) && !root {
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
    patterns: Vec<String>,
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
    let needs = Needs {
        govern,
        landing_zone,
        pv1_blocking,
        pv1_all,
        affected: group.findings.iter().map(|f| f.target_id.clone()).collect(),
        patterns: ctx.exemption_patterns(profiles),
    };
    let option1 = option1(ctx, &needs, ids);
    let option2 = option2(ctx, &needs, ids);
    Ok(vec![option1, option2])
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
fn govern(ctx: &Ctx, needs: &Needs, plan: &mut Plan) {
    if needs.govern.is_empty() {
        return;
    }
    let regions: Vec<String> = needs.govern.iter().cloned().collect();
    let mut names = Vec::new();
    for control in &needs.landing_zone {
        allow_regions(plan, control, GRREGIONDENY, &regions);
        names.push(format!("{} ({})", control.record.name, control.record.id));
    }
    plan.new_regions.extend(needs.govern.iter().cloned());
    plan.apply.push(format!(
        "# 1. Govern {r} in the landing zone: Control Tower console > Landing zone settings > Modify settings > add {r} > Update landing zone (or `aws controltower update-landing-zone` with {r} added to governedRegions in your landing-zone manifest). It can take 60 minutes or more; then check that every account is Enrolled and nothing has drifted. Control Tower re-writes GRREGIONDENY in {n} itself: never edit it.",
        r = join_list(&regions),
        n = join_list(&names)
    ));
    let _ = ctx;
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

fn option1(ctx: &Ctx, needs: &Needs, ids: &mut IdAllocator) -> Plan {
    let mut plan = Plan::new(ProposalKind::ControlTowerParameters);
    plan.policy_id = needs
        .landing_zone
        .first()
        .map(|c| c.record.id.clone())
        .or_else(|| needs.pv1_blocking.first().map(|(c, _)| c.record.id.clone()));
    plan.apply.push(
        ": \"${HOME_REGION:?set HOME_REGION to your Control Tower home Region}\"".to_string(),
    );
    govern(ctx, needs, &mut plan);
    let actions = ctx.actions.clone();
    let previously = governed(needs);
    let mut guards: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut exempt_ous = BTreeSet::new();
    let mut plain_ous = BTreeSet::new();
    let mut artifact_controls = Vec::new();
    let mut updated: BTreeSet<String> = BTreeSet::new();
    let mut step = 2;
    let points: Vec<String> = if needs.govern.is_empty() {
        Vec::new()
    } else {
        let mut points = BTreeSet::new();
        for control in &needs.landing_zone {
            points.extend(control.record.targets.iter().cloned());
        }
        points.into_iter().collect()
    };
    let update_pv1 = |control: &Control,
                      ou: &str,
                      plan: &mut Plan,
                      artifact: &mut Vec<serde_json::Value>,
                      step: usize| {
        let after = edit_control(&control.json, CTMULTISERVICEPV1, &|s| {
            prepend_actions(s, &actions)
        });
        plan.update_policy(control.record, control.json.clone(), after);
        let (mut exempted, principals) = pv1_parameters(needs, control);
        for action in &actions {
            if !exempted.contains(action) {
                exempted.insert(0, action.clone());
            }
        }
        let parameters = params(&control.regions(), &exempted, &principals);
        plan.apply.push(format!(
            "# {step}. CT.MULTISERVICE.PV.1 is already enabled on {}: add the exempted actions\naws controltower update-enabled-control --enabled-control-identifier \"$(aws controltower list-enabled-controls --target-identifier {} --query \"enabledControls[?controlIdentifier=='{}'].arn\" --output text)\" --parameters '{}'",
            ctx.label(ou),
            ou_arn(ctx, ou),
            control_arn(),
            parameters
        ));
        artifact.push(json!({
            "operation": "update-enabled-control",
            "controlIdentifier": PV1,
            "targetIdentifier": ou_arn(ctx, ou),
            "organizationalUnit": ctx.cfct_path(ou),
            "parameters": parameters,
        }));
    };
    for (ou, exempt) in placements(ctx, &points, &needs.affected) {
        match existing_pv1(needs, &ou) {
            Some(control) if exempt => {
                if updated.insert(control.record.id.clone()) {
                    update_pv1(control, &ou, &mut plan, &mut artifact_controls, step);
                    step += 1;
                }
                guards
                    .entry(control.regions())
                    .or_default()
                    .insert(ou.clone());
                exempt_ous.insert(ou.clone());
                plan.targets.insert(ou);
            }
            Some(_) => {
                // Already carries an OU Region deny; its AllowedRegions decide (verified).
            }
            None => {
                let exempted: Vec<String> = if exempt { actions.clone() } else { Vec::new() };
                let mut not_action = exempted.clone();
                not_action.extend(
                    needs
                        .landing_zone
                        .first()
                        .map(Control::not_action)
                        .unwrap_or_default(),
                );
                let policy = doc::policy_of(vec![doc::object(vec![
                    ("Sid", Json::String(CTMULTISERVICEPV1.into())),
                    ("Effect", Json::String("Deny".into())),
                    ("NotAction", doc::strings(&not_action)),
                    ("Resource", Json::String("*".into())),
                    (
                        "Condition",
                        doc::object(vec![
                            (
                                "StringNotEquals",
                                doc::object(vec![(REGION_KEY, doc::strings(&previously))]),
                            ),
                            (
                                "ArnNotLike",
                                doc::object(vec![(
                                    PRINCIPAL_KEY,
                                    doc::strings(
                                        &PV1_ROLES
                                            .iter()
                                            .map(|r| (*r).to_string())
                                            .collect::<Vec<_>>(),
                                    ),
                                )]),
                            ),
                        ]),
                    ),
                ])]);
                let id = ids.next();
                let suffix: String = ou
                    .chars()
                    .rev()
                    .take(6)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let name = format!("aws-guardrails-{suffix}");
                plan.changes.push(Change::Create {
                    policy_id: Some(id.clone()),
                    name: name.clone(),
                    content: PolicyContent::Text(doc::minified(&policy)),
                    targets: vec![ou.clone()],
                });
                plan.documents.push(Doc {
                    file: file_name(&format!("{name}-pv1"), &id),
                    before: None,
                    after: policy,
                });
                let parameters = params(&previously, &exempted, &[]);
                plan.apply.push(format!(
                    "# {step}. Enable CT.MULTISERVICE.PV.1 on {}{}\naws controltower enable-control --target-identifier {} --control-identifier {} --parameters '{}'",
                    ctx.label(&ou),
                    if exempt {
                        " with the Bedrock inference actions exempted"
                    } else {
                        " without exemptions (governing the Region opens it for every registered OU)"
                    },
                    ou_arn(ctx, &ou),
                    control_arn(),
                    parameters
                ));
                step += 1;
                artifact_controls.push(json!({
                    "operation": "enable-control",
                    "controlIdentifier": PV1,
                    "targetIdentifier": ou_arn(ctx, &ou),
                    "organizationalUnit": ctx.cfct_path(&ou),
                    "parameters": parameters,
                }));
                if exempt {
                    guards
                        .entry(previously.clone())
                        .or_default()
                        .insert(ou.clone());
                    exempt_ous.insert(ou.clone());
                } else {
                    plain_ous.insert(ou.clone());
                }
                plan.targets.insert(ou);
            }
        }
    }
    for (control, _) in &needs.pv1_blocking {
        if !updated.insert(control.record.id.clone()) {
            continue;
        }
        for ou in &control.record.targets {
            update_pv1(control, ou, &mut plan, &mut artifact_controls, step);
            step += 1;
            guards
                .entry(control.regions())
                .or_default()
                .insert(ou.clone());
            exempt_ous.insert(ou.clone());
            plan.targets.insert(ou.clone());
        }
    }
    let principals = landing_zone_principals(needs);
    let mut guard_names = Vec::new();
    for (n, (allowed, targets)) in guards.iter().enumerate() {
        let name = if n == 0 {
            "deny-bedrock-invoke-outside-approved-cris".to_string()
        } else {
            format!("deny-bedrock-invoke-outside-approved-cris-{}", n + 1)
        };
        let mut arn_not_like = vec![(IPA, doc::strings(&needs.patterns))];
        if !principals.is_empty() {
            arn_not_like.push((PRINCIPAL_KEY, doc::strings(&principals)));
        }
        let policy = doc::policy_of(vec![doc::object(vec![
            (
                "Sid",
                Json::String("DenyBedrockInvokeOutsideAllowedRegionsExceptApprovedCRIS".into()),
            ),
            ("Effect", Json::String("Deny".into())),
            ("Action", doc::strings(&actions)),
            ("Resource", Json::String("*".into())),
            (
                "Condition",
                doc::object(vec![
                    (
                        "StringNotEquals",
                        doc::object(vec![(REGION_KEY, doc::strings(allowed))]),
                    ),
                    ("ArnNotLike", doc::object(arn_not_like)),
                ]),
            ),
        ])]);
        let id = ids.next();
        let file = file_name(&name, &id);
        plan.changes.push(Change::Create {
            policy_id: Some(id),
            name: name.clone(),
            content: PolicyContent::Text(doc::minified(&policy)),
            targets: targets.iter().cloned().collect(),
        });
        plan.apply.push(format!(
            "# {step}. Keep the exempted actions limited to approved profiles outside {}\nGUARD_POLICY_ID=$(aws organizations create-policy --name {name} --type SERVICE_CONTROL_POLICY --description \"Bedrock inference outside the allowed Regions only through approved cross-Region inference profiles (cris-guard)\" --content file://{file} --query Policy.PolicySummary.Id --output text)",
            join_list(allowed)
        ));
        step += 1;
        for target in targets {
            plan.apply.push(format!(
                "aws organizations attach-policy --policy-id \"$GUARD_POLICY_ID\" --target-id {target}"
            ));
        }
        plan.documents.push(Doc {
            file,
            before: None,
            after: policy,
        });
        guard_names.push(name);
    }
    plan.artifact.push((
        "controlTower".into(),
        json!({
            "governRegions": needs.govern.iter().collect::<Vec<_>>(),
            "controls": artifact_controls,
            "homeRegion": "set HOME_REGION: the snapshot does not record the Control Tower home Region",
        }),
    ));
    let mut summary =
        String::from("Option 1 of the AWS blog, without editing any Control Tower SCP: ");
    if !needs.govern.is_empty() {
        summary.push_str(&format!(
            "govern {} in the landing zone (Control Tower re-writes GRREGIONDENY itself), then ",
            join_list(&needs.govern.iter().cloned().collect::<Vec<_>>())
        ));
    }
    summary.push_str(&format!(
        "enable (or update) CT.MULTISERVICE.PV.1 on {} with AllowedRegions {} and ExemptedActions {} — exactly the actions of the check set, not the blog's `bedrock:Invoke*`, which also exempts other Invoke* actions such as InvokeAgent — and no exempted principals",
        labels(ctx, &exempt_ous),
        quoted(&previously),
        quoted(&actions)
    ));
    if !plain_ous.is_empty() {
        summary.push_str(&format!(
            ", and on {} without exemptions, because governing a Region opens it for every registered OU",
            labels(ctx, &plain_ous)
        ));
    }
    summary.push_str(&format!(
        ". Exempted actions alone would let any principal there call any model directly in the newly opened Regions, so the customer SCP {} keeps {} outside the allowed Regions limited to calls routed through {}.",
        join_list(&guard_names),
        quoted(&actions),
        quoted(&needs.patterns)
    ));
    plan.summary.push(summary);
    plan
}

fn option2(ctx: &Ctx, needs: &Needs, ids: &mut IdAllocator) -> Plan {
    let mut plan = Plan::new(ProposalKind::CfctManifest);
    plan.policy_id = needs
        .landing_zone
        .first()
        .map(|c| c.record.id.clone())
        .or_else(|| needs.pv1_blocking.first().map(|(c, _)| c.record.id.clone()));
    govern(ctx, needs, &mut plan);
    let mut exempt: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut plain: BTreeSet<String> = BTreeSet::new();
    let new_regions: Vec<String> = needs.govern.iter().cloned().collect();
    let points: Vec<String> = if needs.govern.is_empty() {
        Vec::new()
    } else {
        let mut points = BTreeSet::new();
        for control in &needs.landing_zone {
            points.extend(control.record.targets.iter().cloned());
        }
        points.into_iter().collect()
    };
    for (ou, is_exempt) in placements(ctx, &points, &needs.affected) {
        if is_exempt {
            exempt.entry(new_regions.clone()).or_default().insert(ou);
        } else {
            let already = existing_pv1(needs, &ou)
                .is_some_and(|c| !c.regions().iter().any(|r| needs.govern.contains(r)));
            if !already {
                plain.insert(ou);
            }
        }
    }
    let mut step = 2;
    for (control, regions) in &needs.pv1_blocking {
        let add: Vec<String> = regions.iter().cloned().collect();
        allow_regions(&mut plan, control, CTMULTISERVICEPV1, &add);
        let (actions, principals) = pv1_parameters(needs, control);
        let mut allowed = control.regions();
        allowed.extend(add.iter().cloned());
        for ou in &control.record.targets {
            plan.apply.push(format!(
                "# {step}. Add {} to AllowedRegions of CT.MULTISERVICE.PV.1 on {}\n: \"${{HOME_REGION:?set HOME_REGION to your Control Tower home Region}}\"\naws controltower update-enabled-control --enabled-control-identifier \"$(aws controltower list-enabled-controls --target-identifier {} --query \"enabledControls[?controlIdentifier=='{}'].arn\" --output text)\" --parameters '{}'",
                join_list(&add),
                ctx.label(ou),
                ou_arn(ctx, ou),
                control_arn(),
                params(&allowed, &actions, &principals)
            ));
            step += 1;
            exempt.entry(add.clone()).or_default().insert(ou.clone());
        }
    }
    let principals = landing_zone_principals(needs);
    let mut manifest = String::from(
        "---\nregion: <home-region>  # your Control Tower home Region\nversion: 2021-03-15\nresources:\n",
    );
    let mut policies = serde_json::Map::new();
    let mut names = Vec::new();
    let mut add_scp = |plan: &mut Plan,
                       name: String,
                       description: String,
                       policy: Json,
                       targets: &BTreeSet<String>,
                       step: &mut usize| {
        let id = ids.next();
        let file = file_name(&name, &id);
        plan.changes.push(Change::Create {
            policy_id: Some(id),
            name: name.clone(),
            content: PolicyContent::Text(doc::minified(&policy)),
            targets: targets.iter().cloned().collect(),
        });
        manifest.push_str(&format!(
            "  - name: {name}\n    description: {description}\n    resource_file: policies/{file}\n    deploy_method: scp\n    deployment_targets:\n      organizational_units:\n"
        ));
        for target in targets {
            manifest.push_str(&format!("        - {}\n", ctx.cfct_path(target)));
        }
        policies.insert(
            format!("policies/{file}"),
            serde_json::Value::String(doc::minified(&policy)),
        );
        let var = name.to_ascii_uppercase().replace('-', "_");
        plan.apply.push(format!(
            "# {step}. {description} (with CfCT: add policies/{file} and the manifest entry from the artifact; or directly:)\n{var}=$(aws organizations create-policy --name {name} --type SERVICE_CONTROL_POLICY --description \"{description}\" --content file://{file} --query Policy.PolicySummary.Id --output text)"
        ));
        *step += 1;
        for target in targets {
            plan.apply.push(format!(
                "aws organizations attach-policy --policy-id \"${var}\" --target-id {target}"
            ));
            plan.targets.insert(target.clone());
        }
        plan.documents.push(Doc {
            file,
            before: None,
            after: policy,
        });
        names.push(name);
    };
    let mut exempt_all = BTreeSet::new();
    for (regions, targets) in &exempt {
        let name = format!("deny-{}-allow-cris", regions.join("-"));
        let mut arn_not_like = vec![(IPA, doc::one_or_many(&needs.patterns))];
        if !principals.is_empty() {
            arn_not_like.push((PRINCIPAL_KEY, doc::one_or_many(&principals)));
        }
        let policy = doc::policy_of(vec![doc::object(vec![
            ("Sid", Json::String("DenySpecificRegionAllowCRI".into())),
            ("Effect", Json::String("Deny".into())),
            ("Action", Json::String("*".into())),
            ("Resource", Json::String("*".into())),
            (
                "Condition",
                doc::object(vec![
                    (
                        "StringEquals",
                        doc::object(vec![(REGION_KEY, doc::one_or_many(regions))]),
                    ),
                    ("ArnNotLike", doc::object(arn_not_like)),
                ]),
            ),
        ])]);
        add_scp(
            &mut plan,
            name,
            format!(
                "Deny {} except Bedrock inference through approved cross-Region inference profiles",
                regions.join(", ")
            ),
            policy,
            targets,
            &mut step,
        );
        exempt_all.extend(targets.iter().cloned());
    }
    if !plain.is_empty() && !new_regions.is_empty() {
        let name = format!("deny-{}", new_regions.join("-"));
        let mut condition = vec![(
            "StringEquals",
            doc::object(vec![(REGION_KEY, doc::one_or_many(&new_regions))]),
        )];
        if !principals.is_empty() {
            condition.push((
                "ArnNotLike",
                doc::object(vec![(PRINCIPAL_KEY, doc::one_or_many(&principals))]),
            ));
        }
        let policy = doc::policy_of(vec![doc::object(vec![
            ("Sid", Json::String("DenySpecificRegion".into())),
            ("Effect", Json::String("Deny".into())),
            ("Action", Json::String("*".into())),
            ("Resource", Json::String("*".into())),
            ("Condition", doc::object(condition)),
        ])]);
        add_scp(
            &mut plan,
            name,
            format!(
                "Deny {} (newly governed for Control Tower, still closed here)",
                new_regions.join(", ")
            ),
            policy,
            &plain,
            &mut step,
        );
    }
    plan.artifact.push((
        "cfct".into(),
        json!({ "manifest": manifest, "policies": policies }),
    ));
    let mut summary = String::from("Option 2 of the AWS blog: ");
    if !needs.govern.is_empty() {
        summary.push_str(&format!(
            "govern {} in the landing zone (Control Tower re-writes GRREGIONDENY itself), then ",
            join_list(&new_regions)
        ));
    }
    summary.push_str(&format!(
        "deploy with Customizations for Control Tower (manifest entry and policy files in the artifact) the customer SCP {} on {}: it denies every action in the opened Regions unless the request carries {} in `bedrock:InferenceProfileArn`",
        names.first().cloned().unwrap_or_default(),
        labels(ctx, &exempt_all),
        quoted(&needs.patterns)
    ));
    if !principals.is_empty() {
        summary.push_str(&format!(
            " (Control Tower's own {} stays exempt, as in GRREGIONDENY, so Control Tower can still manage the Region)",
            quoted(&principals)
        ));
    }
    if !plain.is_empty() && !new_regions.is_empty() {
        summary.push_str(&format!(
            ", and deny-{} on {}, which keeps the Region closed there, because governing a Region opens it for every registered OU",
            new_regions.join("-"),
            labels(ctx, &plain)
        ));
    }
    summary.push_str(". No Control Tower SCP is edited, so there is no drift. Like the blog's sample, these SCPs deny every action in the Region, including the global-service actions GRREGIONDENY lets through; calls that originate in the Region stay denied.");
    plan.summary.push(summary);
    plan
}
