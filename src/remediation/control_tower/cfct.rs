//! Option 2 (`cfctManifest`): govern the missing Regions in the landing zone and deploy with
//! Customizations for Control Tower a customer SCP that denies them except through approved
//! profiles on the affected OUs, and a plain Region deny on the OUs the Region would open.

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
    GRREGIONDENY, Needs, REGION_KEY, RegionDeny, allow_regions, control_arn, edit_control,
    existing_pv1, govern, labels, landing_zone_principals, ou_arn, params, placements,
    pv1_parameters, quoted,
};

pub(super) fn option2(ctx: &Ctx, needs: &Needs, ids: &mut IdAllocator) -> Plan {
    let mut plan = needs.plan(ProposalKind::CfctManifest);
    govern(needs, &mut plan);
    let mut exempt: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut plain: BTreeSet<String> = BTreeSet::new();
    let new_regions: Vec<String> = needs.govern.iter().cloned().collect();
    for (ou, is_exempt) in placements(ctx, &needs.points(), &needs.affected) {
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
        plan.create_policy(id, &name, &policy, targets.iter().cloned().collect());
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
        let policy = RegionDeny {
            sid: "DenySpecificRegionAllowCRI",
            action: Some(Json::String("*".into())),
            operator: "StringEquals",
            regions,
            profiles: Some(&needs.patterns),
            profile_resources: needs
                .profile_resources(|source| regions.iter().any(|r| r == source)),
            principals: &principals,
            guardrail_profiles: &needs.guardrail_patterns,
            list: doc::one_or_many,
        }
        .policy();
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
        let policy = RegionDeny {
            sid: "DenySpecificRegion",
            action: Some(Json::String("*".into())),
            operator: "StringEquals",
            regions: &new_regions,
            profiles: None,
            profile_resources: None,
            principals: &principals,
            guardrail_profiles: &[],
            list: doc::one_or_many,
        }
        .policy();
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
        "deploy with Customizations for Control Tower (manifest entry and policy files in the artifact) the customer SCP {} on {}: it denies every action in the opened Regions",
        names.first().cloned().unwrap_or_default(),
        labels(ctx, &exempt_all),
    ));
    if !needs.patterns.is_empty() {
        summary.push_str(&format!(
            " unless the request carries {} in `bedrock:InferenceProfileArn`",
            quoted(&needs.patterns)
        ));
    }
    if !needs.guardrail_patterns.is_empty() {
        summary.push_str(&format!(
            ", and `bedrock:ApplyGuardrail` there except on the guardrail profiles {} (`NotResource`; a guardrail itself stays denied)",
            quoted(&needs.guardrail_patterns)
        ));
    }
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

/// The CfCT route of AWS's "Securing CRIS" blog for global profiles: GRREGIONDENY re-deployed
/// through CfCT with `unspecified` (and any other Region the profiles need) added, plus a
/// customer SCP that keeps those Regions closed except through approved profiles. Drift-prone.
pub(super) fn edit_region_deny(ctx: &Ctx, needs: &Needs, ids: &mut IdAllocator) -> Plan {
    let mut plan = needs.plan(ProposalKind::CfctManifest);
    let regions: Vec<String> = needs.govern.iter().cloned().collect();
    let mut manifest = String::from(
        "---\nregion: <home-region>  # your Control Tower home Region\nversion: 2021-03-15\nresources:\n",
    );
    let mut policies = serde_json::Map::new();
    let entry = |manifest: &mut String,
                 name: &str,
                 description: &str,
                 file: &str,
                 targets: &[String]| {
        manifest.push_str(&format!(
            "  - name: {name}\n    description: {description}\n    resource_file: policies/{file}\n    deploy_method: scp\n    deployment_targets:\n      organizational_units:\n"
        ));
        for target in targets {
            manifest.push_str(&format!("        - {}\n", ctx.cfct_path(target)));
        }
    };
    let mut step = 1;
    let mut names = Vec::new();
    for control in &needs.landing_zone {
        let after = edit_control(&control.json, GRREGIONDENY, &|s| {
            doc::merge_condition(s, "StringNotEquals", REGION_KEY, &regions)
        });
        let file = file_name(&control.record.name, &control.record.id);
        entry(
            &mut manifest,
            &control.record.name,
            "Control Tower landing-zone SCP with GRREGIONDENY extended for Bedrock cross-Region inference (drift: re-apply after every landing-zone update)",
            &file,
            &control.record.targets,
        );
        policies.insert(
            format!("policies/{file}"),
            serde_json::Value::String(doc::minified(&after)),
        );
        plan.apply.push(format!(
            "# {step}. Re-deploy {} ({}) with {} added to GRREGIONDENY's aws:RequestedRegion list: with CfCT, add policies/{file} and its manifest entry from the artifact (same name, so CfCT updates the policy), or directly:\naws organizations update-policy --policy-id {} --content file://{file}",
            control.record.name,
            control.record.id,
            quoted(&regions),
            control.record.id
        ));
        step += 1;
        plan.update_policy(control.record, control.json.clone(), after);
        plan.targets.extend(control.record.targets.iter().cloned());
        names.push(format!("{} ({})", control.record.name, control.record.id));
    }
    let principals = landing_zone_principals(needs);
    let policy = RegionDeny {
        sid: "DenyOpenedRegionsExceptApprovedCRIS",
        action: Some(Json::String("*".into())),
        operator: "StringEquals",
        regions: &regions,
        profiles: Some(&needs.patterns),
        profile_resources: needs.profile_resources(|source| regions.iter().any(|r| r == source)),
        principals: &principals,
        guardrail_profiles: &needs.guardrail_patterns,
        list: doc::one_or_many,
    }
    .policy();
    let targets = needs.points();
    let name = "deny-unspecified-allow-approved-cris".to_string();
    let id = ids.next();
    let file = file_name(&name, &id);
    let description = "Deny the Regions added to GRREGIONDENY except Bedrock inference through approved cross-Region inference profiles";
    entry(&mut manifest, &name, description, &file, &targets);
    policies.insert(
        format!("policies/{file}"),
        serde_json::Value::String(doc::minified(&policy)),
    );
    plan.create_policy(id, &name, &policy, targets.clone());
    plan.apply.insert(
        0,
        format!(
            "# {step}. First (so nothing opens in between): {description}\nGUARD_POLICY_ID=$(aws organizations create-policy --name {name} --type SERVICE_CONTROL_POLICY --description \"{description} (cris-guard)\" --content file://{file} --query Policy.PolicySummary.Id --output text)\n{}",
            targets
                .iter()
                .map(|t| format!(
                    "aws organizations attach-policy --policy-id \"$GUARD_POLICY_ID\" --target-id {t}"
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
    plan.documents.push(Doc {
        file,
        before: None,
        after: policy,
    });
    plan.targets.extend(targets.iter().cloned());
    plan.new_regions.extend(needs.govern.iter().cloned());
    plan.artifact.push((
        "cfct".into(),
        json!({ "manifest": manifest, "policies": policies, "driftProne": true }),
    ));
    plan.summary.push(format!(
        "The CfCT route of AWS's \"Securing Amazon Bedrock cross-Region inference\" blog: {} is re-deployed through Customizations for Control Tower with {} added to GRREGIONDENY's Region list, and the customer SCP {name} on {} denies every action there unless the request carries {} in `bedrock:InferenceProfileArn`, so only the approved profiles' model requests pass. DRIFT-PRONE: this edits a Control Tower-managed SCP. Control Tower reports ServiceControlPolicyUpdated drift, and the next landing-zone update, repair or reset (and any governed-Region change) re-writes GRREGIONDENY without {}, which blocks the approved global profiles again until the CfCT pipeline re-deploys the policy; re-run the pipeline after every landing-zone operation. The option that replaces the landing-zone Region deny with CT.MULTISERVICE.PV.1 has no drift.",
        join_list(&names),
        quoted(&regions),
        labels(ctx, &targets.iter().cloned().collect()),
        quoted(&needs.patterns),
        quoted(&regions),
    ));
    if !needs.guardrail_patterns.is_empty() {
        plan.summary.push(format!(
            "The customer SCP also denies `bedrock:ApplyGuardrail` there except on the guardrail profiles {} (`NotResource`), so a guardrail itself stays denied.",
            quoted(&needs.guardrail_patterns)
        ));
    }
    plan
}
