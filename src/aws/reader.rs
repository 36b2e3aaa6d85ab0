//! The live snapshot reader: reads the organization (Organizations) and the inference profiles
//! (Bedrock, one client per source Region) into a [`Snapshot`], with bounded concurrency,
//! adaptive retries, call counting and gaps instead of aborts; and what `cris-guard snapshot`
//! reads and writes (the CLI prints and chooses the exit code).

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::aws::bedrock::{self, BedrockClients};
use crate::aws::calls::{CallCounter, CallStats, OperationStats};
use crate::aws::organizations::{self, Header, Policies, Tree};
use crate::aws::paging::ReadContext;
use crate::aws::patience::Patience;
use crate::aws::time;
use crate::error::{AwsError, Error, IoError};
use crate::snapshot::incremental::{self, Plan, Reread};
use crate::snapshot::{Gap, Snapshot};

pub use crate::aws::paging::{NoProgress, Progress};

/// Every Region that offers cross-Region inference profiles as a source (domain.md §3.2).
pub const DEFAULT_PROFILE_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-east-2",
    "me-central-1",
    "sa-east-1",
    "af-south-1",
];

/// Organizations throttles hard and documents no limits: two requests in flight.
pub const DEFAULT_MAX_CONCURRENCY: usize = 2;

/// Bedrock Regions are independent endpoints: a few at once.
pub const DEFAULT_BEDROCK_MAX_CONCURRENCY: usize = 4;

/// The Region used when none is configured (Organizations lives in us-east-1).
pub const FALLBACK_REGION: &str = "us-east-1";

/// How to read.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Source Regions whose inference profiles are read (used by [`SnapshotReader::new`]).
    pub profile_regions: Vec<String>,
    /// Organizations requests in flight at once (at least 1).
    pub max_concurrency: usize,
    /// Bedrock requests in flight at once (at least 1).
    pub bedrock_max_concurrency: usize,
    /// RFC 3339 UTC time stored as `capturedAt`; the caller owns the clock.
    pub captured_at: String,
    /// Applied to every client; throttling (`TooManyRequestsException`) is retried by it.
    pub retry_config: RetryConfig,
    /// Timeouts, and how many failures other than throttling end a call.
    pub patience: Patience,
    /// Also read the guardrail profiles per source Region (`ListGuardrails`, and the documented
    /// routing of each profile), for `guardrailProfile` checks.
    pub guardrail_profiles: bool,
    /// Also read which models the profiles invoke are sold through AWS Marketplace, for
    /// `marketplaceFirstUse` checks (one call per model and Region).
    pub marketplace_models: bool,
}

impl ReaderOptions {
    /// Defaults: every profile Region, 2 Organizations requests in flight, adaptive retries.
    pub fn new(captured_at: impl Into<String>) -> Self {
        ReaderOptions {
            profile_regions: DEFAULT_PROFILE_REGIONS
                .iter()
                .map(|r| r.to_string())
                .collect(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            bedrock_max_concurrency: DEFAULT_BEDROCK_MAX_CONCURRENCY,
            captured_at: captured_at.into(),
            retry_config: default_retry_config(),
            patience: Patience::DEFAULT,
            guardrail_profiles: false,
            marketplace_models: false,
        }
    }
}

/// Adaptive mode (client-side rate limiting after throttling), 8 attempts, jittered
/// exponential backoff from 0.5 s up to 20 s.
pub fn default_retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(500))
        .with_max_backoff(Duration::from_secs(20))
}

/// A snapshot and what it cost.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    /// Unvalidated; parts that could not be read are in `snapshot.gaps`.
    pub snapshot: Snapshot,
    pub stats: CallStats,
}

/// Reads a live organization and the inference profiles of some Regions.
#[derive(Debug, Clone)]
pub struct SnapshotReader {
    org: aws_sdk_organizations::Client,
    bedrock: BedrockClients,
    options: ReaderOptions,
    counter: CallCounter,
}

impl SnapshotReader {
    /// Clients from the shared SDK configuration (its credentials, Region and endpoint
    /// overrides such as `AWS_ENDPOINT_URL_ORGANIZATIONS`), one Bedrock client per
    /// `options.profile_regions`.
    pub fn new(conf: &SdkConfig, options: ReaderOptions) -> Self {
        let org = aws_sdk_organizations::Client::new(conf);
        let bedrock = BedrockClients::from_config(conf, &options.profile_regions);
        Self::from_clients(org, bedrock, options)
    }

    /// Ready-made clients (tests, stubs). The Bedrock Regions read are the keys of `bedrock`;
    /// each client gets `options.retry_config`, the timeouts and retry classifier of
    /// `options.patience`, and the call counter.
    pub fn from_clients(
        org: aws_sdk_organizations::Client,
        bedrock: BedrockClients,
        options: ReaderOptions,
    ) -> Self {
        let counter = CallCounter::new();
        let org = aws_sdk_organizations::Client::from_conf(
            org.config()
                .to_builder()
                .retry_config(options.retry_config.clone())
                .timeout_config(options.patience.timeout_config())
                .retry_classifier(options.patience.classifier())
                .interceptor(counter.clone())
                .build(),
        );
        let retry = options.retry_config.clone();
        let patience = options.patience;
        let bedrock_counter = counter.clone();
        let bedrock = bedrock.map_configs(move |b| {
            b.retry_config(retry.clone())
                .timeout_config(patience.timeout_config())
                .retry_classifier(patience.classifier())
                .interceptor(bedrock_counter.clone())
        });
        SnapshotReader {
            org,
            bedrock,
            options,
            counter,
        }
    }

    pub fn options(&self) -> &ReaderOptions {
        &self.options
    }

    /// Reads everything. `Err` only when the organization itself (DescribeOrganization,
    /// ListRoots) cannot be read; every other failure is a gap in the snapshot.
    pub async fn read(&self, progress: &dyn Progress) -> Result<ReadOutcome, AwsError> {
        let before = self.counter.snapshot();
        let done = AtomicUsize::new(0);
        let org_ctx = ReadContext::new(self.options.max_concurrency, progress, &done);
        let bedrock_ctx = ReadContext::new(self.options.bedrock_max_concurrency, progress, &done);
        let org_part = async {
            let header = organizations::read_header(&self.org, &org_ctx).await?;
            let root_ids: Vec<String> = header.roots.iter().map(|r| r.id.clone()).collect();
            let (tree, policies) = tokio::join!(
                organizations::read_tree(&self.org, &org_ctx, &root_ids),
                organizations::read_policies(&self.org, &org_ctx),
            );
            Ok::<_, AwsError>((header, tree, policies))
        };
        let bedrock_part = async {
            let mut profiles = bedrock::read_profiles(&self.bedrock, &bedrock_ctx).await;
            if self.options.guardrail_profiles {
                let (uses, gaps) = bedrock::read_guardrail_uses(&self.bedrock, &bedrock_ctx).await;
                profiles.guardrail_uses = Some(uses);
                profiles.gaps.extend(gaps);
            }
            if self.options.marketplace_models {
                let (sold, gaps) = bedrock::read_marketplace_models(
                    &self.bedrock,
                    &bedrock_ctx,
                    &profiles.by_region,
                )
                .await;
                profiles.marketplace_models = sold;
                profiles.gaps.extend(gaps);
            }
            Ok(profiles)
        };
        let ((header, tree, policies), profiles) = tokio::try_join!(org_part, bedrock_part)?;
        let snapshot = assemble(&self.options.captured_at, header, tree, policies, profiles);
        let stats = stats_since(&self.counter.snapshot(), &before);
        tracing::info!(
            calls = stats.total_calls(),
            retries = stats.total_retries(),
            gaps = snapshot.gaps.len(),
            "read the organization: {stats}"
        );
        Ok(ReadOutcome { snapshot, stats })
    }
}

/// How [`SnapshotReader::update`] brought a snapshot up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The event changed nothing the snapshot holds: the old snapshot, no call made.
    Unchanged { why: String },
    /// Only the part the event names was read again.
    Partial(Reread),
    /// Everything was read again, for this reason.
    Full { why: String },
}

impl fmt::Display for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Update::Unchanged { why } => write!(f, "unchanged: {why}"),
            Update::Partial(part) => write!(f, "re-read only {part}"),
            Update::Full { why } => write!(f, "full read: {why}"),
        }
    }
}

impl SnapshotReader {
    /// `old` brought up to date after `event` (an EventBridge event as the Lambda receives
    /// it): only the part the event names is re-read ([`crate::snapshot::incremental`]),
    /// anything else is a full [`SnapshotReader::read`]. `old` keeps its `capturedAt` (the
    /// time of its last full read, which decides when it is too old to update). `old: None`
    /// (no stored snapshot) is a full read.
    pub async fn update(
        &self,
        old: Option<&Snapshot>,
        event: &serde_json::Value,
        progress: &dyn Progress,
    ) -> Result<(ReadOutcome, Update), AwsError> {
        let Some(old) = old else {
            let why = "there is no old snapshot".to_string();
            return Ok((self.read(progress).await?, Update::Full { why }));
        };
        let part = match incremental::plan(old, event, &self.options.captured_at) {
            Plan::Nothing { why } => {
                let outcome = ReadOutcome {
                    snapshot: old.clone(),
                    stats: CallStats::default(),
                };
                return Ok((outcome, Update::Unchanged { why }));
            }
            Plan::FullRead { why } => {
                return Ok((self.read(progress).await?, Update::Full { why }));
            }
            Plan::Reread(part) => part,
        };
        let before = self.counter.snapshot();
        let done = AtomicUsize::new(0);
        let ctx = ReadContext::new(self.options.max_concurrency, progress, &done);
        let updated = crate::aws::incremental::reread(&self.org, &self.bedrock, &ctx, &part)
            .await
            .and_then(|facts| incremental::apply(old, facts));
        match updated {
            Ok(snapshot) => {
                let stats = stats_since(&self.counter.snapshot(), &before);
                Ok((ReadOutcome { snapshot, stats }, Update::Partial(part)))
            }
            Err(why) => {
                let why = format!("re-reading {part} was not enough: {why}");
                let mut outcome = self.read(progress).await?;
                // The failed partial read counts too.
                outcome.stats = stats_since(&self.counter.snapshot(), &before);
                Ok((outcome, Update::Full { why }))
            }
        }
    }
}

fn stats_since(now: &CallStats, before: &CallStats) -> CallStats {
    let mut out = now.clone();
    for (name, stats) in &mut out.operations {
        let earlier = before.operations.get(name).copied().unwrap_or_default();
        *stats = OperationStats {
            calls: stats.calls.saturating_sub(earlier.calls),
            attempts: stats.attempts.saturating_sub(earlier.attempts),
        };
    }
    out.operations.retain(|_, s| s.calls > 0 || s.attempts > 0);
    out
}

/// Puts the parts together: sorted by id, policy targets that are not in the tree turned into
/// gaps (the loader rejects unknown targets), gaps deduplicated.
fn assemble(
    captured_at: &str,
    header: Header,
    tree: Tree,
    policies: Policies,
    profiles: bedrock::Profiles,
) -> Snapshot {
    let mut gaps = tree.gaps;
    gaps.extend(policies.gaps);
    gaps.extend(profiles.gaps);

    let mut organizational_units = tree.organizational_units;
    organizational_units.sort_by(|a, b| a.id.cmp(&b.id));
    let mut accounts = tree.accounts;
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    let known: HashSet<&str> = header
        .roots
        .iter()
        .map(|r| r.id.as_str())
        .chain(organizational_units.iter().map(|ou| ou.id.as_str()))
        .chain(accounts.iter().map(|a| a.id.as_str()))
        .collect();

    let mut records = policies.policies;
    records.sort_by(|a, b| a.id.cmp(&b.id));
    records.dedup_by(|a, b| a.id == b.id);
    for record in &mut records {
        let targets: BTreeSet<String> = std::mem::take(&mut record.targets).into_iter().collect();
        for target in targets {
            if known.contains(target.as_str()) {
                record.targets.push(target);
            } else {
                gaps.push(Gap {
                    reason: format!(
                        "SCP {} ({}) is attached to {target}, which was not found while listing the organization",
                        record.id, record.name
                    ),
                    scope: target,
                });
            }
        }
    }

    let mut seen = HashSet::new();
    gaps.retain(|gap| seen.insert((gap.scope.clone(), gap.reason.clone())));
    gaps.sort_by(|a, b| (&a.scope, &a.reason).cmp(&(&b.scope, &b.reason)));

    let guardrail_profiles = profiles
        .guardrail_uses
        .iter()
        .flatten()
        .map(|(region, uses)| {
            let account = &header.organization.management_account_id;
            let profiles = crate::guardrail_routing::profiles_in(region, account, uses);
            (region.clone(), profiles)
        })
        .collect();
    let mut roots = header.roots;
    roots.sort_by(|a, b| a.id.cmp(&b.id));
    Snapshot {
        format_version: 1,
        captured_at: captured_at.to_string(),
        organization: header.organization,
        roots,
        organizational_units,
        accounts,
        policies: records,
        inference_profiles: profiles.by_region,
        guardrail_profiles,
        marketplace_models: profiles.marketplace_models,
        gaps,
    }
}

/// Reads the organization the environment's credentials belong to, now: the SDK configuration
/// of the environment (credentials, endpoint overrides such as `AWS_ENDPOINT_URL_ORGANIZATIONS`)
/// in its Region, else [`FALLBACK_REGION`]; the inference profiles of `profile_regions`.
pub async fn read_environment(
    environment: &Environment,
    profile_regions: Vec<String>,
    progress: &dyn Progress,
) -> Result<ReadOutcome, AwsError> {
    environment_reader(environment, profile_regions)
        .await
        .read(progress)
        .await
}

/// The reader [`read_environment`] reads with (its `capturedAt` is now).
pub async fn environment_reader(
    environment: &Environment,
    profile_regions: Vec<String>,
) -> SnapshotReader {
    let region = match &environment.region {
        Some(region) => aws_config::meta::region::RegionProviderChain::first_try(
            aws_config::Region::new(region.clone()),
        ),
        None => aws_config::meta::region::RegionProviderChain::default_provider(),
    }
    .or_else(FALLBACK_REGION);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .timeout_config(environment.patience.timeout_config());
    if let Some(profile) = &environment.profile {
        loader = loader.profile_name(profile);
    }
    let conf = loader.load().await;
    let mut options = ReaderOptions::new(time::now_rfc3339());
    options.profile_regions = profile_regions;
    options.patience = environment.patience;
    options.guardrail_profiles = environment.guardrail_profiles;
    options.marketplace_models = environment.marketplace_models;
    SnapshotReader::new(&conf, options)
}

/// Where and how `cris-guard snapshot` reads: the named profile and Region (the SDK's chain
/// when absent) and its timeouts.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// A profile of the shared AWS config and credentials files (`--aws-profile`).
    pub profile: Option<String>,
    /// The Region of the Organizations client (`--region`).
    pub region: Option<String>,
    pub patience: Patience,
    /// Also read guardrail profiles (`--guardrail-profiles`).
    pub guardrail_profiles: bool,
    /// Also read which models are sold through Marketplace (`--marketplace-models`).
    pub marketplace_models: bool,
}

/// A snapshot as read, written as the pretty JSON `cris-guard snapshot` outputs, once it is
/// known to validate (a snapshot that does not is a bug in this reader).
pub fn snapshot_json(snapshot: Snapshot) -> Result<String, Error> {
    let json = serde_json::to_string_pretty(&snapshot).map_err(|source| IoError::Serialize {
        what: "cannot serialize the snapshot",
        source,
    })? + "\n";
    crate::snapshot::validate("live organization", snapshot).map_err(AwsError::InvalidSnapshot)?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_regions_are_region_names_without_duplicates() {
        let set: BTreeSet<&str> = DEFAULT_PROFILE_REGIONS.iter().copied().collect();
        assert_eq!(set.len(), DEFAULT_PROFILE_REGIONS.len());
        assert_eq!(set.len(), 30);
        assert!(
            DEFAULT_PROFILE_REGIONS
                .iter()
                .all(|r| crate::ids::is_region(r))
        );
    }
}
