//! The documented routing of Bedrock's system guardrail profiles, kept as data because no
//! Bedrock API lists a guardrail profile's destination Regions (`GetGuardrail` names only the
//! profile, in `crossRegionDetails`).

use crate::snapshot::GuardrailProfile;

/// Where [`ROUTES`] comes from; written into each snapshot entry it fills.
pub const ROUTING_SOURCE: &str = "documented routing table: Amazon Bedrock User Guide, \"Supported Regions for cross-Region guardrail inference\" (guardrails-cross-region-support; EU rows from its zh_cn edition), as of late 2026; no Bedrock API lists guardrail profile destinations";

/// One row of the documented tables: a profile called from a source Region and where it routes.
struct Route {
    profile_id: &'static str,
    partition: &'static str,
    source: &'static str,
    destinations: &'static [&'static str],
}

const US: &[&str] = &["us-east-1", "us-east-2", "us-west-2"];
const US_WITH_WEST_1: &[&str] = &["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
const US_GOV: &[&str] = &["us-gov-east-1", "us-gov-west-1"];
const EU: &[&str] = &["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"];

/// The rows the project has verified. Of `eu.guardrail.v1:0`'s table only the eu-central-1 and
/// eu-west-1 rows are (read from the page's zh_cn edition; Region codes are not translated):
/// from another EU source Region a snapshot lists it (when a guardrail uses it) without
/// destinations, so its checks are `unknown`.
const ROUTES: &[Route] = &[
    route("us.guardrail.v1:0", "aws", "us-east-1", US),
    route("us.guardrail.v1:0", "aws", "us-east-2", US),
    route("us.guardrail.v1:0", "aws", "us-west-1", US_WITH_WEST_1),
    route("us.guardrail.v1:0", "aws", "us-west-2", US),
    route(
        "us-gov.guardrail.v1:0",
        "aws-us-gov",
        "us-gov-east-1",
        US_GOV,
    ),
    route(
        "us-gov.guardrail.v1:0",
        "aws-us-gov",
        "us-gov-west-1",
        US_GOV,
    ),
    route("eu.guardrail.v1:0", "aws", "eu-central-1", EU),
    route("eu.guardrail.v1:0", "aws", "eu-west-1", EU),
];

const fn route(
    profile_id: &'static str,
    partition: &'static str,
    source: &'static str,
    destinations: &'static [&'static str],
) -> Route {
    Route {
        profile_id,
        partition,
        source,
        destinations,
    }
}

/// The documented destinations of `profile_id` called from `source`, if the tables have them.
pub fn destinations(profile_id: &str, source: &str) -> Option<&'static [&'static str]> {
    ROUTES
        .iter()
        .find(|r| r.profile_id == profile_id && r.source == source)
        .map(|r| r.destinations)
}

/// The system guardrail profiles callers in `source` can apply, as `account` sees them, with
/// their documented routing.
pub fn documented(source: &str, account: &str) -> Vec<GuardrailProfile> {
    ROUTES
        .iter()
        .filter(|r| r.source == source)
        .map(|r| GuardrailProfile {
            guardrail_profile_id: r.profile_id.to_string(),
            guardrail_profile_arn: format!(
                "arn:{}:bedrock:{source}:{account}:guardrail-profile/{}",
                r.partition, r.profile_id
            ),
            destination_regions: r.destinations.iter().map(|d| (*d).to_string()).collect(),
            routing_source: Some(ROUTING_SOURCE.to_string()),
            guardrail_arns: Vec::new(),
        })
        .collect()
}

/// The guardrail profiles of `source` for the snapshot: the documented ones, plus any profile a
/// guardrail uses that the tables do not have (without destinations, so its checks are
/// `unknown`). `uses` are the (guardrail profile ARN, guardrail ARN) pairs read in `source`.
pub fn profiles_in(
    source: &str,
    account: &str,
    uses: &[(String, String)],
) -> Vec<GuardrailProfile> {
    let mut profiles = documented(source, account);
    for (profile_arn, guardrail_arn) in uses {
        let id = profile_arn
            .rsplit_once("guardrail-profile/")
            .map_or(profile_arn.as_str(), |(_, id)| id);
        let index = match profiles.iter().position(|p| p.guardrail_profile_id == id) {
            Some(index) => index,
            None => {
                profiles.push(GuardrailProfile {
                    guardrail_profile_id: id.to_string(),
                    guardrail_profile_arn: profile_arn.clone(),
                    destination_regions: Vec::new(),
                    routing_source: None,
                    guardrail_arns: Vec::new(),
                });
                profiles.len() - 1
            }
        };
        if let Some(profile) = profiles.get_mut(index)
            && !profile.guardrail_arns.contains(guardrail_arn)
        {
            profile.guardrail_arns.push(guardrail_arn.clone());
        }
    }
    profiles.sort_by(|a, b| a.guardrail_profile_id.cmp(&b.guardrail_profile_id));
    profiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_west_1_routes_to_itself_besides_the_three_us_regions() {
        assert_eq!(destinations("us.guardrail.v1:0", "us-east-1"), Some(US));
        assert_eq!(
            destinations("us.guardrail.v1:0", "us-west-1"),
            Some(US_WITH_WEST_1)
        );
        assert_eq!(destinations("eu.guardrail.v1:0", "eu-central-1"), Some(EU));
        assert_eq!(destinations("eu.guardrail.v1:0", "eu-south-2"), None);
    }

    /// A guardrail profile's table routes every listed source to itself too (the pages list
    /// the source among the destinations): a row that does not is mistyped.
    #[test]
    fn every_documented_source_is_among_its_destinations() {
        for route in ROUTES {
            assert!(
                route.destinations.contains(&route.source),
                "{} from {}",
                route.profile_id,
                route.source
            );
        }
    }

    #[test]
    fn documented_profiles_carry_the_partition_and_account_of_the_source() {
        let gov = documented("us-gov-west-1", "222222222222");
        assert_eq!(gov.len(), 1);
        assert_eq!(
            gov.first().map(|p| p.guardrail_profile_arn.as_str()),
            Some(
                "arn:aws-us-gov:bedrock:us-gov-west-1:222222222222:guardrail-profile/us-gov.guardrail.v1:0"
            )
        );
        assert!(documented("ap-south-1", "222222222222").is_empty());
    }

    #[test]
    fn a_profile_the_tables_lack_is_kept_from_the_guardrails_that_use_it_without_destinations() {
        let arn = |region: &str, id: &str| {
            format!("arn:aws:bedrock:{region}:222222222222:guardrail-profile/{id}")
        };
        let uses = [
            (
                arn("us-east-1", "us.guardrail.v1:0"),
                "arn:aws:bedrock:us-east-1:222222222222:guardrail/g1".to_string(),
            ),
            (
                arn("us-east-1", "us.guardrail.v1:0"),
                "arn:aws:bedrock:us-east-1:222222222222:guardrail/g2".to_string(),
            ),
        ];
        let us = profiles_in("us-east-1", "111111111111", &uses);
        assert_eq!(us.len(), 1);
        assert_eq!(us.first().map(|p| p.guardrail_arns.len()), Some(2));
        assert_eq!(us.first().map(|p| p.destination_regions.len()), Some(3));
        let eu_use = [(
            arn("eu-south-2", "eu.guardrail.v1:0"),
            "arn:aws:bedrock:eu-south-2:222222222222:guardrail/g3".to_string(),
        )];
        let eu = profiles_in("eu-south-2", "111111111111", &eu_use);
        assert_eq!(
            eu.iter()
                .map(|p| (p.guardrail_profile_id.as_str(), p.destination_regions.len()))
                .collect::<Vec<_>>(),
            [("eu.guardrail.v1:0", 0)]
        );
        assert!(profiles_in("ap-south-1", "111111111111", &[]).is_empty());
    }
}
