//! Check expansion: each inference profile × source Region becomes a [`Check`], the requests
//! ([`Leg`]s) Bedrock authorizes for one call through it, per action (contract §3).

use std::collections::{BTreeMap, HashSet};

use crate::arn::Arn;
use crate::findings::CheckKind;
use crate::request::leg::{Leg, LegKind};
use crate::snapshot::{Gap, InferenceProfile};

/// The actions checked when none are given.
pub const DEFAULT_ACTIONS: &[&str] = &[
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
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
    /// The kinds of checks (contract §8); empty means `inference` plus every other kind whose
    /// facts the snapshot holds.
    pub check_kinds: Vec<CheckKind>,
}

impl Options {
    /// The kinds checked against `snapshot`.
    pub fn kinds(&self, snapshot: &crate::snapshot::Snapshot) -> Vec<CheckKind> {
        if !self.check_kinds.is_empty() {
            return self.check_kinds.clone();
        }
        let mut kinds = vec![CheckKind::Inference];
        if !snapshot.guardrail_profiles.is_empty() {
            kinds.push(CheckKind::GuardrailProfile);
        }
        if !snapshot.marketplace_models.is_empty() {
            kinds.push(CheckKind::MarketplaceFirstUse);
        }
        kinds
    }
}

/// One (profile, source Region) to check: an inference profile, a guardrail profile, or a model
/// sold through Marketplace, as `kind` says.
#[derive(Debug, Clone)]
pub struct Check {
    pub kind: CheckKind,
    pub profile_id: String,
    pub source_region: String,
    /// The profile ARN as the snapshot lists it.
    pub profile_arn: String,
    pub legs: Vec<Leg>,
    /// Why the check cannot be decided, when the snapshot lacks a fact.
    pub missing: Option<String>,
}

/// Builds the checks of profiles keyed by source Region (with the reader's gaps), filtered by
/// the options.
pub fn checks_of(
    inference_profiles: &BTreeMap<String, Vec<InferenceProfile>>,
    gaps: &[Gap],
    options: &Options,
) -> Vec<Check> {
    let actions: Vec<String> = if options.actions.is_empty() {
        DEFAULT_ACTIONS.iter().map(|a| (*a).to_string()).collect()
    } else {
        options.actions.clone()
    };
    let mut checks = Vec::new();
    let mut seen_profiles = HashSet::new();
    let regions: Vec<&String> = if options.source_regions.is_empty() {
        inference_profiles.keys().collect()
    } else {
        options.source_regions.iter().collect()
    };
    for region in regions {
        let gap = gaps
            .iter()
            .find(|g| g.scope == format!("inferenceProfiles:{region}"));
        let Some(profiles) = inference_profiles.get(region.as_str()) else {
            let why = match gap {
                Some(gap) => format!(
                    "inference profiles in {region} could not be read: {}",
                    gap.reason
                ),
                None => {
                    format!("the snapshot has no inference profiles for source Region {region}")
                }
            };
            checks.push(unknown_check(CheckKind::Inference, "*", region, why));
            continue;
        };
        if let Some(gap) = gap {
            checks.push(unknown_check(
                CheckKind::Inference,
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
                CheckKind::Inference,
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

pub(super) fn unknown_check(kind: CheckKind, profile: &str, region: &str, why: String) -> Check {
    Check {
        kind,
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
        kind: CheckKind::Inference,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::InferenceProfileModel;

    fn profile(id: &str, model_arns: &[&str]) -> InferenceProfile {
        InferenceProfile {
            inference_profile_id: id.to_string(),
            inference_profile_arn: format!(
                "arn:aws:bedrock:eu-central-1:111111111111:inference-profile/{id}"
            ),
            profile_type: "SYSTEM_DEFINED".to_string(),
            status: "ACTIVE".to_string(),
            models: model_arns
                .iter()
                .map(|arn| InferenceProfileModel {
                    model_arn: (*arn).to_string(),
                })
                .collect(),
            inference_profile_name: None,
        }
    }

    fn summary(check: &Check) -> Vec<(LegKind, &str, &str, bool)> {
        check
            .legs
            .iter()
            .map(|leg| {
                (
                    leg.kind,
                    leg.region.as_str(),
                    leg.resource.as_str(),
                    leg.inference_profile_arn.is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn a_geographic_profile_has_a_profile_leg_a_source_model_leg_and_one_leg_per_other_destination()
    {
        let eu = profile(
            "eu.m",
            &[
                "arn:aws:bedrock:eu-west-1::foundation-model/m",
                "arn:aws:bedrock:eu-central-1::foundation-model/m",
                "arn:aws:bedrock:eu-west-1::foundation-model/m",
            ],
        );
        let check = check_for(&eu, "eu-central-1", &["bedrock:InvokeModel".to_string()]);
        assert_eq!(check.missing, None);
        assert_eq!(
            summary(&check),
            [
                (
                    LegKind::Profile,
                    "eu-central-1",
                    "arn:aws:bedrock:eu-central-1:111111111111:inference-profile/eu.m",
                    false
                ),
                (
                    LegKind::SourceModel,
                    "eu-central-1",
                    "arn:aws:bedrock:eu-central-1::foundation-model/m",
                    true
                ),
                (
                    LegKind::DestinationModel,
                    "eu-west-1",
                    "arn:aws:bedrock:eu-west-1::foundation-model/m",
                    true
                ),
            ]
        );
    }

    #[test]
    fn a_global_profile_checks_the_region_less_model_with_region_unspecified_per_action() {
        let global = profile(
            "global.m",
            &[
                "arn:aws:bedrock:eu-central-1::foundation-model/m",
                "arn:aws:bedrock:::foundation-model/m",
            ],
        );
        let actions: Vec<String> = DEFAULT_ACTIONS.iter().map(|a| (*a).to_string()).collect();
        let check = check_for(&global, "eu-central-1", &actions);
        let kinds: Vec<(LegKind, &str, &str)> = check
            .legs
            .iter()
            .map(|leg| (leg.kind, leg.action.as_str(), leg.region.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (LegKind::Profile, "bedrock:InvokeModel", "eu-central-1"),
                (LegKind::SourceModel, "bedrock:InvokeModel", "eu-central-1"),
                (LegKind::GlobalModel, "bedrock:InvokeModel", "unspecified"),
                (
                    LegKind::Profile,
                    "bedrock:InvokeModelWithResponseStream",
                    "eu-central-1"
                ),
                (
                    LegKind::SourceModel,
                    "bedrock:InvokeModelWithResponseStream",
                    "eu-central-1"
                ),
                (
                    LegKind::GlobalModel,
                    "bedrock:InvokeModelWithResponseStream",
                    "unspecified"
                ),
            ]
        );
        assert_eq!(
            check.legs.get(2).map(|leg| leg.resource.as_str()),
            Some("arn:aws:bedrock:::foundation-model/m")
        );
    }

    #[test]
    fn a_profile_without_models_or_not_active_cannot_be_checked() {
        let empty = check_for(&profile("eu.m", &[]), "eu-central-1", &[]);
        assert!(empty.legs.is_empty());
        assert!(empty.missing.is_some_and(|why| why.contains("no models")));
        let mut retiring = profile("eu.m", &["arn:aws:bedrock:eu-west-1::foundation-model/m"]);
        retiring.status = "LEGACY".to_string();
        let check = check_for(&retiring, "eu-central-1", &[]);
        assert_eq!(
            check.missing.as_deref(),
            Some("profile eu.m is LEGACY in eu-central-1")
        );
    }
}
