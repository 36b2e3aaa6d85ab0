//! Reading Amazon Bedrock inference profiles (SYSTEM_DEFINED and APPLICATION) per source Region
//! into snapshot parts. A Region that cannot be read becomes a `inferenceProfiles:<region>` gap.
//! On request, also the guardrails per Region and the guardrail profiles they use
//! (`ListGuardrails` summaries carry `crossRegionDetails`, as `GetGuardrail` does); a Region
//! whose guardrails cannot be listed becomes a `guardrailProfiles:<region>` gap. And on request,
//! which models the profiles invoke are sold through AWS Marketplace: those with agreement
//! offers (`ListFoundationModelAgreementOffers`, one call per model and Region); a Region where
//! one model cannot be asked becomes a `marketplaceModels:<region>` gap.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::{InferenceProfileModel, InferenceProfileType};
use futures_util::future::join_all;

use crate::aws::paging::{Page, Paged, ReadContext, after_pages, collect_pages, error_detail};
use crate::snapshot::{Gap, InferenceProfile, InferenceProfileModel as SnapshotModel};

/// `ListInferenceProfiles` accepts up to 1,000 per page.
const PAGE_SIZE: i32 = 1000;

/// `ListGuardrails` accepts up to 1,000 per page.
const GUARDRAIL_PAGE_SIZE: i32 = 1000;

/// One Bedrock client per source Region, keyed by Region name.
#[derive(Debug, Clone, Default)]
pub struct BedrockClients {
    clients: BTreeMap<String, Client>,
}

impl BedrockClients {
    /// A client per Region from the shared configuration (credentials, retry, endpoint overrides
    /// such as `AWS_ENDPOINT_URL_BEDROCK` all come from `conf`).
    pub fn from_config(conf: &SdkConfig, regions: &[String]) -> Self {
        let clients = regions
            .iter()
            .map(|region| {
                let config = aws_sdk_bedrock::config::Builder::from(conf)
                    .region(aws_sdk_bedrock::config::Region::new(region.clone()))
                    .build();
                (region.clone(), Client::from_conf(config))
            })
            .collect();
        BedrockClients { clients }
    }

    /// Ready-made clients (tests, custom endpoints); the map's keys are the Regions read.
    pub fn from_clients(clients: BTreeMap<String, Client>) -> Self {
        BedrockClients { clients }
    }

    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The client of one Region alone (none when it is not among them).
    pub(crate) fn only(&self, region: &str) -> Self {
        let clients = self
            .clients
            .get_key_value(region)
            .map(|(r, c)| (r.clone(), c.clone()))
            .into_iter()
            .collect();
        BedrockClients { clients }
    }

    /// The same Regions with each client's configuration rebuilt by `f`.
    pub(crate) fn map_configs(
        self,
        f: impl Fn(aws_sdk_bedrock::config::Builder) -> aws_sdk_bedrock::config::Builder,
    ) -> Self {
        let clients = self
            .clients
            .into_iter()
            .map(|(region, client)| {
                (
                    region,
                    Client::from_conf(f(client.config().to_builder()).build()),
                )
            })
            .collect();
        BedrockClients { clients }
    }
}

/// Profiles per Region (a Region is absent when nothing could be read there) and gaps.
#[derive(Debug, Default)]
pub(crate) struct Profiles {
    pub by_region: BTreeMap<String, Vec<InferenceProfile>>,
    /// When guardrails were read: per Region whose guardrails could be listed, the (guardrail
    /// profile ARN, guardrail ARN) of each guardrail that uses cross-Region inference.
    pub guardrail_uses: Option<BTreeMap<String, Vec<(String, String)>>>,
    /// When asked: per Region, the ids of the models sold through Marketplace.
    pub marketplace_models: BTreeMap<String, Vec<String>>,
    pub gaps: Vec<Gap>,
}

/// The guardrails of every Region that use a guardrail profile, concurrently (bounded by `ctx`).
pub(crate) async fn read_guardrail_uses(
    clients: &BedrockClients,
    ctx: &ReadContext<'_>,
) -> (BTreeMap<String, Vec<(String, String)>>, Vec<Gap>) {
    let regions = join_all(clients.clients.iter().map(async |(region, client)| {
        let listed = collect_pages(ctx, &format!("ListGuardrails {region}"), async |token| {
            client
                .list_guardrails()
                .max_results(GUARDRAIL_PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map(|page| Page::new(page.guardrails().to_vec(), page.next_token()))
                .map_err(|err| error_detail(&err))
        })
        .await;
        (region.clone(), listed)
    }))
    .await;
    let mut uses = BTreeMap::new();
    let mut gaps = Vec::new();
    for (region, listed) in regions {
        match listed {
            Paged::Complete(guardrails) => {
                let used: Vec<(String, String)> = guardrails
                    .iter()
                    .filter_map(|g| {
                        let profile = g.cross_region_details()?.guardrail_profile_arn()?;
                        Some((profile.to_string(), g.arn().to_string()))
                    })
                    .collect();
                uses.insert(region, used);
            }
            // A partial list could miss the one guardrail that uses a profile: not read.
            Paged::Failed { pages, reason, .. } => gaps.push(Gap {
                scope: format!("guardrailProfiles:{region}"),
                reason: format!("ListGuardrails failed{}: {reason}", after_pages(pages)),
            }),
        }
    }
    (uses, gaps)
}

/// The models sold through AWS Marketplace among those the profiles of each Region invoke, for
/// every Region with profiles, concurrently (bounded by `ctx`).
pub(crate) async fn read_marketplace_models(
    clients: &BedrockClients,
    ctx: &ReadContext<'_>,
    profiles: &BTreeMap<String, Vec<InferenceProfile>>,
) -> (BTreeMap<String, Vec<String>>, Vec<Gap>) {
    let asked = clients.clients.iter().filter_map(|(region, client)| {
        let models: std::collections::BTreeSet<String> = profiles
            .get(region)?
            .iter()
            .flat_map(|p| &p.models)
            .filter_map(|m| crate::arn::foundation_model_id(&m.model_arn))
            .collect();
        Some(async move {
            let answers = join_all(models.into_iter().map(async |model| {
                let got = {
                    let _permit = ctx.permit().await;
                    client
                        .list_foundation_model_agreement_offers()
                        .model_id(&model)
                        .send()
                        .await
                };
                ctx.finished(&format!(
                    "ListFoundationModelAgreementOffers {region} {model}"
                ));
                (model, got.map(|out| !out.offers().is_empty()))
            }))
            .await;
            (region.clone(), answers)
        })
    });
    let mut sold_by_region = BTreeMap::new();
    let mut gaps = Vec::new();
    for (region, answers) in join_all(asked).await {
        let mut sold = Vec::new();
        let mut failed = false;
        for (model, answer) in answers {
            match answer {
                Ok(true) => sold.push(model),
                Ok(false) => {}
                // One model not known makes the Region's list incomplete: not read.
                Err(err) => {
                    failed = true;
                    gaps.push(Gap {
                        scope: format!("marketplaceModels:{region}"),
                        reason: format!(
                            "ListFoundationModelAgreementOffers for {model} failed: {}",
                            error_detail(&err)
                        ),
                    });
                }
            }
        }
        if !failed {
            sold_by_region.insert(region, sold);
        }
    }
    (sold_by_region, gaps)
}

/// Every Region concurrently (bounded by `ctx`).
pub(crate) async fn read_profiles(clients: &BedrockClients, ctx: &ReadContext<'_>) -> Profiles {
    let regions = join_all(
        clients
            .clients
            .iter()
            .map(|(region, client)| read_region(region, client, ctx)),
    )
    .await;
    let mut out = Profiles::default();
    for (region, profiles, gaps) in regions {
        if let Some(profiles) = profiles {
            out.by_region.insert(region, profiles);
        }
        out.gaps.extend(gaps);
    }
    out
}

pub(crate) fn region_scope(region: &str) -> String {
    format!("inferenceProfiles:{region}")
}

async fn read_region(
    region: &str,
    client: &Client,
    ctx: &ReadContext<'_>,
) -> (String, Option<Vec<InferenceProfile>>, Vec<Gap>) {
    let scope = region_scope(region);
    let mut gaps = Vec::new();
    let mut profiles: Vec<InferenceProfile> = Vec::new();
    let mut any_read = false;
    for kind in [
        InferenceProfileType::SystemDefined,
        InferenceProfileType::Application,
    ] {
        let listed = collect_pages(
            ctx,
            &format!("ListInferenceProfiles {region} {}", kind.as_str()),
            async |token| {
                client
                    .list_inference_profiles()
                    .type_equals(kind.clone())
                    .max_results(PAGE_SIZE)
                    .set_next_token(token)
                    .send()
                    .await
                    .map(|page| {
                        Page::new(
                            page.inference_profile_summaries().to_vec(),
                            page.next_token(),
                        )
                    })
                    .map_err(|err| error_detail(&err))
            },
        )
        .await;
        let summaries = match listed {
            Paged::Complete(items) => {
                any_read = true;
                items
            }
            Paged::Failed {
                items,
                pages,
                reason,
            } => {
                any_read |= !items.is_empty();
                let kept = if items.is_empty() {
                    String::new()
                } else {
                    format!(" ({} profiles read and kept)", items.len())
                };
                gaps.push(Gap {
                    scope: scope.clone(),
                    reason: format!(
                        "ListInferenceProfiles (type {}) failed{}{kept}: {reason}",
                        kind.as_str(),
                        after_pages(pages),
                    ),
                });
                items
            }
        };
        for summary in summaries {
            let id = summary.inference_profile_id().to_string();
            let mut models = model_arns(summary.models());
            if models.is_empty() {
                // The list left the models out: ask for this one profile.
                let got = {
                    let _permit = ctx.permit().await;
                    client
                        .get_inference_profile()
                        .inference_profile_identifier(&id)
                        .send()
                        .await
                };
                ctx.finished(&format!("GetInferenceProfile {region} {id}"));
                match got {
                    Ok(out) => models = model_arns(out.models()),
                    Err(err) => {
                        gaps.push(Gap {
                            scope: scope.clone(),
                            reason: format!(
                                "the models of inference profile {id} are unknown: GetInferenceProfile failed: {}",
                                error_detail(&err)
                            ),
                        });
                        continue;
                    }
                }
            }
            let profile = InferenceProfile {
                inference_profile_id: id,
                inference_profile_arn: summary.inference_profile_arn().to_string(),
                profile_type: summary.r#type().as_str().to_string(),
                status: summary.status().as_str().to_string(),
                models,
                inference_profile_name: Some(summary.inference_profile_name().to_string())
                    .filter(|name| !name.is_empty()),
            };
            match check_profile(&profile) {
                Ok(()) => profiles.push(profile),
                Err(reason) => gaps.push(Gap {
                    scope: scope.clone(),
                    reason: format!(
                        "inference profile {} left out: {reason}",
                        profile.inference_profile_id
                    ),
                }),
            }
        }
    }
    profiles.sort_by(|a, b| a.inference_profile_id.cmp(&b.inference_profile_id));
    profiles.dedup_by(|a, b| a.inference_profile_id == b.inference_profile_id);
    (region.to_string(), any_read.then_some(profiles), gaps)
}

fn model_arns(models: &[InferenceProfileModel]) -> Vec<SnapshotModel> {
    models
        .iter()
        .filter_map(InferenceProfileModel::model_arn)
        .map(|arn| SnapshotModel {
            model_arn: arn.to_string(),
        })
        .collect()
}

/// The checks the snapshot loader makes on a profile, so one odd profile becomes a gap instead
/// of making the whole live snapshot invalid.
fn check_profile(profile: &InferenceProfile) -> Result<(), String> {
    if !matches!(
        profile.profile_type.as_str(),
        "SYSTEM_DEFINED" | "APPLICATION"
    ) {
        return Err(format!("unknown type `{}`", profile.profile_type));
    }
    if crate::arn::Arn::parse(&profile.inference_profile_arn).is_none() {
        return Err(format!("`{}` is not an ARN", profile.inference_profile_arn));
    }
    if profile.models.is_empty() {
        return Err("it lists no models, so its destination Regions are unknown".into());
    }
    for model in &profile.models {
        let ok = crate::arn::Arn::parse(&model.model_arn).is_some_and(|arn| {
            arn.resource.starts_with("foundation-model/")
                && (arn.region.is_empty() || crate::ids::is_region(&arn.region))
        });
        if !ok {
            return Err(format!(
                "`{}` is not a foundation-model ARN",
                model.model_arn
            ));
        }
    }
    Ok(())
}
