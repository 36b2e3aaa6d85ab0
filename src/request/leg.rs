//! A leg: one request Bedrock authorizes for a call through an inference profile, and the
//! concrete [`Request`] it makes for a caller (an account, or a new account in an OU).

use super::{Context, MissingKeys, NEW_ACCOUNT, Request};

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

/// Which of the requests of a call a leg is (contract §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegKind {
    Profile,
    SourceModel,
    DestinationModel,
    GlobalModel,
    /// `bedrock:ApplyGuardrail` on a guardrail profile in one of its Regions (contract §8).
    GuardrailProfile,
    /// An AWS Marketplace request Bedrock makes for the caller on a model's first use.
    Marketplace,
}

/// Who is asking: fixes the account- and path-dependent parts of the request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` for an OU read as a new account: its id is [`NEW_ACCOUNT`], which matches no
    /// existing account.
    pub account_id: Option<String>,
    pub organization_id: String,
    /// `aws:PrincipalOrgPaths` value, `o-…/r-…/ou-…/`.
    pub org_path: String,
}

impl Caller {
    /// The caller's account id as requests carry it.
    pub fn account(&self) -> &str {
        self.account_id.as_deref().unwrap_or(NEW_ACCOUNT)
    }
}

/// The service principal Bedrock's calls on a caller's behalf carry in `aws:CalledVia`.
pub const BEDROCK_SERVICE: &str = "bedrock.amazonaws.com";

/// The requests of a model's first use through AWS Marketplace (domain.md §11).
pub const MARKETPLACE_ACTIONS: &[&str] = &[
    "aws-marketplace:Subscribe",
    "aws-marketplace:ViewSubscriptions",
];

/// Builds the request of one leg for a caller; the principal stays unknown.
pub fn request_for(leg: &Leg, caller: &Caller) -> Request {
    let mut context = Context::new(MissingKeys::UnknownCaller);
    context.set("aws:RequestedRegion", vec![leg.region.clone()]);
    context.set("aws:PrincipalOrgID", vec![caller.organization_id.clone()]);
    context.set("aws:PrincipalOrgPaths", vec![caller.org_path.clone()]);
    context.set("aws:PrincipalAccount", vec![caller.account().to_string()]);
    // A system profile's ARN carries the caller's own account (domain.md §11).
    let profile_arn = leg
        .inference_profile_arn
        .as_ref()
        .map(|arn| (arn, with_account(arn, caller.account())));
    match &profile_arn {
        Some((_, arn)) => context.set("bedrock:InferenceProfileArn", vec![arn.clone()]),
        None => context.set_absent("bedrock:InferenceProfileArn"),
    }
    if leg.kind == LegKind::Marketplace {
        // Bedrock subscribes on the caller's behalf (domain.md §11), as lint-iam reads it.
        context.set("aws:CalledVia", vec![BEDROCK_SERVICE.to_string()]);
        context.set("aws:CalledViaLast", vec![BEDROCK_SERVICE.to_string()]);
    } else if is_marketplace(&leg.action) {
        // Any other Marketplace request (remediation's probes) is the caller's own: the keys
        // are present only when a service calls on the caller's behalf.
        context.set_absent("aws:CalledVia");
        context.set_absent("aws:CalledViaLast");
    }
    let names_profile = matches!(leg.kind, LegKind::Profile | LegKind::GuardrailProfile);
    let resource = match profile_arn {
        // A profile leg's resource is usually the profile ARN just rewritten.
        Some((arn, rewritten)) if names_profile && *arn == leg.resource => rewritten,
        _ if names_profile => with_account(&leg.resource, caller.account()),
        _ => leg.resource.clone(),
    };
    Request::new(&leg.action, &resource, context)
}

fn is_marketplace(action: &str) -> bool {
    action
        .get(..MARKETPLACE_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(MARKETPLACE_PREFIX))
}

const MARKETPLACE_PREFIX: &str = "aws-marketplace:";

/// The profile ARN as seen from the caller's account (profiles are per-account resources).
pub(crate) fn with_account(arn: &str, account: &str) -> String {
    match crate::arn::parts(arn) {
        Some([partition, service, region, old, resource]) if !old.is_empty() => {
            // Spliced rather than formatted: this runs for every request the engine builds.
            let mut out = String::with_capacity(arn.len() + account.len());
            for part in ["arn", partition, service, region, account] {
                out.push_str(part);
                out.push(':');
            }
            out.push_str(resource);
            out
        }
        _ => arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Lookup;

    fn leg(kind: LegKind, inference_profile_arn: Option<&str>) -> Leg {
        Leg {
            action: "bedrock:InvokeModel".to_string(),
            resource: "arn:aws:bedrock:eu-west-1:111111111111:inference-profile/eu.m".to_string(),
            region: "eu-west-1".to_string(),
            inference_profile_arn: inference_profile_arn.map(str::to_string),
            kind,
        }
    }

    fn caller(account_id: Option<&str>) -> Caller {
        Caller {
            account_id: account_id.map(str::to_string),
            organization_id: "o-1".to_string(),
            org_path: "o-1/r-1/ou-1/".to_string(),
        }
    }

    #[test]
    fn the_profile_leg_names_the_callers_own_profile() {
        let request = request_for(&leg(LegKind::Profile, None), &caller(Some("222222222222")));
        assert_eq!(
            request.resource,
            "arn:aws:bedrock:eu-west-1:222222222222:inference-profile/eu.m"
        );
        assert_eq!(
            request.context.get("bedrock:inferenceprofilearn"),
            Lookup::Absent
        );
        assert_eq!(request.requested_region(), Some("eu-west-1"));
    }

    #[test]
    fn only_the_first_use_leg_is_a_marketplace_call_made_via_bedrock() {
        let mut first_use = leg(LegKind::Marketplace, None);
        first_use.action = "aws-marketplace:Subscribe".to_string();
        first_use.resource = "*".to_string();
        let via = request_for(&first_use, &caller(None));
        let bedrock = [BEDROCK_SERVICE.to_string()];
        assert_eq!(
            via.context.get("aws:calledvialast"),
            Lookup::Present(&bedrock)
        );
        let mut direct = first_use.clone();
        direct.kind = LegKind::DestinationModel;
        let direct = request_for(&direct, &caller(None));
        assert_eq!(direct.context.get("aws:calledvialast"), Lookup::Absent);
        assert_eq!(direct.context.get("aws:calledvia"), Lookup::Absent);
    }

    #[test]
    fn a_model_leg_carries_the_profile_arn_of_a_new_account() {
        let arn = "arn:aws:bedrock:eu-west-1:111111111111:inference-profile/eu.m";
        let mut model = leg(LegKind::SourceModel, Some(arn));
        model.resource = "arn:aws:bedrock:eu-west-1::foundation-model/m".to_string();
        let request = request_for(&model, &caller(None));
        assert_eq!(request.resource, model.resource);
        let expected = [format!(
            "arn:aws:bedrock:eu-west-1:{NEW_ACCOUNT}:inference-profile/eu.m"
        )];
        assert_eq!(
            request.context.get("bedrock:inferenceprofilearn"),
            Lookup::Present(&expected)
        );
        assert_eq!(
            request.context.get("aws:principalaccount"),
            Lookup::Present(&[NEW_ACCOUNT.to_string()])
        );
    }
}
