//! Option 1 (`controlTowerParameters`): govern the missing Regions in the landing zone, enable
//! or update CT.MULTISERVICE.PV.1 on the affected OUs with the checked Bedrock actions exempted
//! (plain on the other OUs the newly governed Region would open), and a customer SCP that keeps
//! the exempted actions limited to calls through approved profiles.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::findings::ProposalKind;
use crate::policy::json::Json;

use crate::remediation::context::Ctx;
use crate::remediation::document as doc;
use crate::remediation::plan::{Doc, IdAllocator, Plan, file_name};
use crate::remediation::problems::CTMULTISERVICEPV1;
use crate::remediation::proposal::join_list;

use super::{
    Control, Needs, PRINCIPAL_KEY, PV1, PV1_ROLES, REGION_KEY, RegionDeny, control_arn,
    disable_region_deny, edit_control, existing_pv1, govern, governed, labels,
    landing_zone_principals, ou_arn, params, placements, pv1_parameters, quoted,
};

pub(super) fn option1(ctx: &Ctx, needs: &Needs, ids: &mut IdAllocator) -> Plan {
    let mut plan = needs.plan(ProposalKind::ControlTowerParameters);
    plan.apply.push(
        ": \"${HOME_REGION:?set HOME_REGION to your Control Tower home Region}\"".to_string(),
    );
    if needs.replace {
        disable_region_deny(needs, &mut plan);
    } else {
        govern(needs, &mut plan);
    }
    let actions = needs.exempted.clone();
    let previously = governed(needs);
    let mut guards: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut exempt_ous = BTreeSet::new();
    let mut plain_ous = BTreeSet::new();
    let mut artifact_controls = Vec::new();
    let mut updated: BTreeSet<String> = BTreeSet::new();
    let mut step = 2;
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
    for (ou, exempt) in placements(ctx, &needs.points(), &needs.affected) {
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
                plan.create_policy(id.clone(), &name, &policy, vec![ou.clone()]);
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
        // Named for what it limits: inference (the blog's) or, alone, guardrail profiles.
        let base = if needs.inference.is_empty() {
            "deny-apply-guardrail-outside-approved-guardrail-profiles"
        } else {
            "deny-bedrock-invoke-outside-approved-cris"
        };
        let description = if needs.inference.is_empty() {
            "ApplyGuardrail outside the allowed Regions only on approved guardrail profiles"
        } else {
            "Bedrock inference outside the allowed Regions only through approved cross-Region inference profiles"
        };
        let name = if n == 0 {
            base.to_string()
        } else {
            format!("{base}-{}", n + 1)
        };
        let policy = RegionDeny {
            sid: "DenyBedrockInvokeOutsideAllowedRegionsExceptApprovedCRIS",
            action: (!needs.inference.is_empty()).then(|| doc::strings(&needs.inference)),
            operator: "StringNotEquals",
            regions: allowed,
            profiles: Some(&needs.patterns),
            profile_resources: needs
                .profile_resources(|source| !allowed.iter().any(|r| r == source)),
            principals: &principals,
            guardrail_profiles: &needs.guardrail_patterns,
            list: doc::strings,
        }
        .policy();
        let id = ids.next();
        let file = file_name(&name, &id);
        plan.create_policy(id, &name, &policy, targets.iter().cloned().collect());
        plan.apply.push(format!(
            "# {step}. Keep the exempted actions limited to approved profiles outside {}\nGUARD_POLICY_ID=$(aws organizations create-policy --name {name} --type SERVICE_CONTROL_POLICY --description \"{description} (cris-guard)\" --content file://{file} --query Policy.PolicySummary.Id --output text)",
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
            "governRegions": if needs.replace { Vec::new() } else { needs.govern.iter().collect::<Vec<_>>() },
            "disableLandingZoneRegionDeny": needs.replace,
            "controls": artifact_controls,
            "homeRegion": "set HOME_REGION: the snapshot does not record the Control Tower home Region",
        }),
    ));
    let mut summary =
        String::from("Option 1 of the AWS blog, without editing any Control Tower SCP: ");
    if needs.replace {
        summary.push_str(
            "a global profile's model request carries `aws:RequestedRegion = unspecified`, which the landing zone cannot govern, so the landing zone's Region deny (GRREGIONDENY) is turned off in the console (Control Tower has no API for it) and replaced, OU by OU, by ",
        );
    } else if !needs.govern.is_empty() {
        summary.push_str(&format!(
            "govern {} in the landing zone (Control Tower re-writes GRREGIONDENY itself), then ",
            join_list(&needs.govern.iter().cloned().collect::<Vec<_>>())
        ));
    }
    let why = match (
        needs.inference.is_empty(),
        needs.guardrail_patterns.is_empty(),
    ) {
        (false, true) => {
            " — exactly the actions of the check set, not the blog's `bedrock:Invoke*`, which also exempts other Invoke* actions such as InvokeAgent —"
        }
        (false, false) => {
            " — exactly the actions of the check set, not the blog's `bedrock:Invoke*`, which also exempts other Invoke* actions such as InvokeAgent, and `bedrock:ApplyGuardrail` for the guardrail profiles —"
        }
        _ => " — `bedrock:ApplyGuardrail` for the guardrail profiles —",
    };
    summary.push_str(&format!(
        "enable (or update) CT.MULTISERVICE.PV.1 on {} with AllowedRegions {} and ExemptedActions {}{why} and no exempted principals",
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
    summary.push('.');
    if !needs.inference.is_empty() {
        summary.push_str(&format!(
            " Exempted actions alone would let any principal there call any model directly in the newly opened Regions, so the customer SCP {} keeps {} outside the allowed Regions limited to calls routed through {}.",
            join_list(&guard_names),
            quoted(&needs.inference),
            quoted(&needs.patterns)
        ));
    }
    if !needs.guardrail_patterns.is_empty() {
        summary.push_str(&format!(
            " Exempting `bedrock:ApplyGuardrail` alone would let any principal there apply any guardrail in the newly opened Regions, so the customer SCP {} denies it outside the allowed Regions except on the guardrail profiles {} (`NotResource`): applying a guardrail itself there stays denied.",
            join_list(&guard_names),
            quoted(&needs.guardrail_patterns)
        ));
    }
    if needs.replace {
        summary.push_str(" Trade-offs: the Region deny becomes per OU, so an OU registered later has none until CT.MULTISERVICE.PV.1 is enabled on it; Control Tower's drift detection no longer watches a landing-zone Region deny; no Control Tower SCP is edited, so there is no drift.");
    }
    plan.summary.push(summary);
    plan
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
