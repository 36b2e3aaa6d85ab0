//! Checks beyond the inference call (contract §8): `guardrailProfile` (`bedrock:ApplyGuardrail`
//! on a guardrail profile in its source and every destination Region) and `marketplaceFirstUse`
//! (the AWS Marketplace requests of a model's first call in an account not yet subscribed).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::arn::{Arn, foundation_model_id};
use crate::findings::CheckKind;
use crate::request::leg::{Leg, LegKind, MARKETPLACE_ACTIONS};
use crate::snapshot::{GuardrailProfile, Snapshot};

use super::profiles::{Check, Options, unknown_check};

/// The ids checks of the other kinds carry: guardrail profile ids and Marketplace model ids.
pub(super) fn ids(snapshot: &Snapshot) -> HashSet<&str> {
    let guardrails = snapshot
        .guardrail_profiles
        .values()
        .flatten()
        .map(|p| p.guardrail_profile_id.as_str());
    let models = snapshot
        .marketplace_models
        .values()
        .flatten()
        .map(String::as_str);
    guardrails.chain(models).collect()
}

/// The source Regions checked: those asked for, else every Region the snapshot read profiles of.
fn source_regions<'s>(snapshot: &'s Snapshot, options: &'s Options) -> BTreeSet<&'s str> {
    if options.source_regions.is_empty() {
        snapshot
            .inference_profiles
            .keys()
            .chain(snapshot.guardrail_profiles.keys())
            .map(String::as_str)
            .collect()
    } else {
        options.source_regions.iter().map(String::as_str).collect()
    }
}

/// The facts `facts` holds for `region`, or why they are missing: a reader gap (`scope:region`),
/// or the Region was not read.
fn read_in<'s, T>(
    snapshot: &Snapshot,
    facts: &'s BTreeMap<String, Vec<T>>,
    scope: &str,
    region: &str,
    what: &str,
) -> Result<&'s [T], String> {
    let gap_scope = format!("{scope}:{region}");
    if let Some(gap) = snapshot.gaps.iter().find(|g| g.scope == gap_scope) {
        return Err(format!(
            "{what} in {region} could not be read: {}",
            gap.reason
        ));
    }
    facts
        .get(region)
        .map(Vec::as_slice)
        .ok_or_else(|| format!("the snapshot does not list {what} for source Region {region}"))
}

/// Whether `--profile` names ids and none of them is one `known` knows: the kind then makes no
/// checks at all.
fn filtered_out(options: &Options, known: impl Fn(&str) -> bool) -> bool {
    !options.profiles.is_empty() && !options.profiles.iter().any(|p| known(p))
}

/// One check per guardrail profile × source Region; a Region the snapshot did not read is one
/// `unknown` check. With `--profile`, only the guardrail profiles named (none: no checks).
pub(super) fn guardrail_checks(snapshot: &Snapshot, options: &Options) -> Vec<Check> {
    let wanted = |id: &str| options.profiles.is_empty() || options.profiles.iter().any(|p| p == id);
    let profiles = &snapshot.guardrail_profiles;
    if filtered_out(options, |id| {
        profiles
            .values()
            .flatten()
            .any(|p| p.guardrail_profile_id == id)
    }) {
        return Vec::new();
    }
    let mut checks = Vec::new();
    for region in source_regions(snapshot, options) {
        match read_in(
            snapshot,
            profiles,
            "guardrailProfiles",
            region,
            "guardrail profiles",
        ) {
            Ok(profiles) => checks.extend(
                profiles
                    .iter()
                    .filter(|p| wanted(&p.guardrail_profile_id))
                    .map(|p| guardrail_check(p, region)),
            ),
            Err(why) => checks.push(unknown_check(CheckKind::GuardrailProfile, "*", region, why)),
        }
    }
    checks
}

fn guardrail_check(profile: &GuardrailProfile, source: &str) -> Check {
    let id = &profile.guardrail_profile_id;
    let mut check = Check {
        kind: CheckKind::GuardrailProfile,
        profile_id: id.clone(),
        source_region: source.to_string(),
        profile_arn: profile.guardrail_profile_arn.clone(),
        legs: Vec::new(),
        missing: None,
    };
    let Some(arn) = Arn::parse(&profile.guardrail_profile_arn) else {
        check.missing = Some(format!("the ARN of guardrail profile {id} cannot be read"));
        return check;
    };
    if profile.destination_regions.is_empty() {
        check.missing = Some(format!(
            "the destination Regions of guardrail profile {id} from {source} are unknown (no Bedrock API lists them and the documented routing tables do not have this one)"
        ));
        return check;
    }
    let mut regions: Vec<&str> = profile
        .destination_regions
        .iter()
        .map(String::as_str)
        .filter(|r| *r != source)
        .collect();
    regions.sort_unstable();
    regions.dedup();
    // The source Region first: a guardrailed call is checked there before it is routed.
    for region in std::iter::once(source).chain(regions) {
        let mut in_region = arn.clone();
        in_region.region = region.to_string();
        check.legs.push(Leg {
            action: "bedrock:ApplyGuardrail".to_string(),
            resource: in_region.to_string(),
            region: region.to_string(),
            inference_profile_arn: None,
            kind: LegKind::GuardrailProfile,
        });
    }
    check
}

/// One check per model sold through Marketplace that a profile of the source Region invokes;
/// a Region whose Marketplace models the snapshot does not list is one `unknown` check. With
/// `--profile`, only the models named (none: no checks).
pub(super) fn marketplace_checks(snapshot: &Snapshot, options: &Options) -> Vec<Check> {
    let models = &snapshot.marketplace_models;
    if filtered_out(options, |id| models.values().flatten().any(|m| m == id)) {
        return Vec::new();
    }
    let what = "the models sold through AWS Marketplace";
    let mut checks = Vec::new();
    for region in source_regions(snapshot, options) {
        let sold = match read_in(snapshot, models, "marketplaceModels", region, what) {
            Ok(sold) => sold,
            Err(why) => {
                checks.push(unknown_check(
                    CheckKind::MarketplaceFirstUse,
                    "*",
                    region,
                    why,
                ));
                continue;
            }
        };
        let invoked: BTreeSet<String> = snapshot
            .inference_profiles
            .get(region)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.models
                    .first()
                    .and_then(|m| foundation_model_id(&m.model_arn))
            })
            .filter(|m| sold.contains(m))
            .filter(|m| options.profiles.is_empty() || options.profiles.contains(m))
            .collect();
        checks.extend(invoked.into_iter().map(|model| {
            Check {
                kind: CheckKind::MarketplaceFirstUse,
                legs: MARKETPLACE_ACTIONS
                    .iter()
                    .map(|action| Leg {
                        action: (*action).to_string(),
                        resource: "*".to_string(),
                        region: region.to_string(),
                        inference_profile_arn: None,
                        kind: LegKind::Marketplace,
                    })
                    .collect(),
                profile_id: model,
                source_region: region.to_string(),
                profile_arn: String::new(),
                missing: None,
            }
        }));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{InferenceProfile, InferenceProfileModel};

    fn snapshot() -> Snapshot {
        let text = r#"{"formatVersion": 1, "capturedAt": "2026-11-29T00:00:00Z",
            "organization": {"id": "o-exampleorgid", "managementAccountId": "111111111111"},
            "roots": [{"id": "r-ab12", "name": "Root"}]}"#;
        let mut snapshot: Snapshot = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        let model = |region: &str| InferenceProfileModel {
            model_arn: format!("arn:aws:bedrock:{region}::foundation-model/anthropic.m-v1:0"),
        };
        snapshot.inference_profiles.insert(
            "us-west-1".to_string(),
            vec![InferenceProfile {
                inference_profile_id: "us.anthropic.m-v1:0".to_string(),
                inference_profile_arn:
                    "arn:aws:bedrock:us-west-1:111111111111:inference-profile/us.anthropic.m-v1:0"
                        .to_string(),
                profile_type: "SYSTEM_DEFINED".to_string(),
                status: "ACTIVE".to_string(),
                models: vec![model("us-west-1"), model("us-east-1")],
                inference_profile_name: None,
            }],
        );
        snapshot.guardrail_profiles.insert(
            "us-west-1".to_string(),
            crate::guardrail_routing::documented("us-west-1", "111111111111"),
        );
        snapshot.marketplace_models.insert(
            "us-west-1".to_string(),
            vec!["anthropic.m-v1:0".to_string()],
        );
        snapshot
    }

    #[test]
    fn a_guardrail_profile_is_checked_in_its_source_region_first_then_each_destination() {
        let checks = guardrail_checks(&snapshot(), &Options::default());
        let legs: Vec<(String, String)> = checks
            .iter()
            .flat_map(|c| &c.legs)
            .map(|l| (l.region.clone(), l.resource.clone()))
            .collect();
        let expected: Vec<(String, String)> = ["us-west-1", "us-east-1", "us-east-2", "us-west-2"]
            .iter()
            .map(|r| {
                let arn =
                    format!("arn:aws:bedrock:{r}:111111111111:guardrail-profile/us.guardrail.v1:0");
                ((*r).to_string(), arn)
            })
            .collect();
        assert_eq!(legs, expected);
        assert!(
            checks
                .iter()
                .flat_map(|c| &c.legs)
                .all(|l| l.action == "bedrock:ApplyGuardrail"
                    && l.kind == LegKind::GuardrailProfile
                    && l.inference_profile_arn.is_none())
        );
    }

    #[test]
    fn profile_filters_keep_each_kind_to_the_ids_it_knows() {
        let snapshot = snapshot();
        let only = |ids: &[&str]| Options {
            profiles: ids.iter().map(|id| (*id).to_string()).collect(),
            ..Options::default()
        };
        let count = |options: &Options| {
            (
                guardrail_checks(&snapshot, options).len(),
                marketplace_checks(&snapshot, options).len(),
            )
        };
        assert_eq!(count(&Options::default()), (1, 1));
        assert_eq!(count(&only(&["us.anthropic.m-v1:0"])), (0, 0));
        assert_eq!(count(&only(&["us.guardrail.v1:0"])), (1, 0));
        assert_eq!(count(&only(&["anthropic.m-v1:0"])), (0, 1));
        let first_use = marketplace_checks(&snapshot, &Options::default());
        let requests: Vec<(&str, &str)> = first_use
            .iter()
            .flat_map(|c| &c.legs)
            .map(|l| (l.action.as_str(), l.resource.as_str()))
            .collect();
        assert_eq!(
            requests,
            [
                ("aws-marketplace:Subscribe", "*"),
                ("aws-marketplace:ViewSubscriptions", "*")
            ]
        );
    }
}
