//! The guard's live [`SnapshotSource`]: the organization read afresh, or a stored snapshot
//! brought up to date after an event, through [`SnapshotReader`].

use aws_config::SdkConfig;

use crate::aws::reader::{NoProgress, ReaderOptions, SnapshotReader};
use crate::aws::time;
use crate::guard::{SnapshotSource, SourceError, Updated};
use crate::snapshot::Snapshot;

/// Reads the organization and the inference profiles of the configured Regions, stamping each
/// read with the current time as `capturedAt`.
#[derive(Debug, Clone)]
pub struct ReaderSource {
    conf: SdkConfig,
    /// Source Regions whose profiles are read; empty: the reader's default list.
    profile_regions: Vec<String>,
    /// Also read guardrail profiles / Marketplace models (`snapshot --guardrail-profiles`,
    /// `--marketplace-models`).
    guardrail_profiles: bool,
    marketplace_models: bool,
}

impl ReaderSource {
    pub fn new(conf: &SdkConfig, profile_regions: Vec<String>) -> Self {
        ReaderSource {
            conf: conf.clone(),
            profile_regions,
            guardrail_profiles: false,
            marketplace_models: false,
        }
    }

    /// Also reads the facts of the other check kinds: guardrail profiles, Marketplace models.
    pub fn with_other_kinds(mut self, guardrail_profiles: bool, marketplace_models: bool) -> Self {
        self.guardrail_profiles = guardrail_profiles;
        self.marketplace_models = marketplace_models;
        self
    }

    /// A reader stamping its reads with the current time. Clients are cheap to make from the
    /// shared configuration; the options carry this read's timestamp.
    fn reader(&self) -> SnapshotReader {
        let mut options = ReaderOptions::new(time::now_rfc3339());
        if !self.profile_regions.is_empty() {
            options.profile_regions = self.profile_regions.clone();
        }
        options.guardrail_profiles = self.guardrail_profiles;
        options.marketplace_models = self.marketplace_models;
        SnapshotReader::new(&self.conf, options)
    }
}

impl SnapshotSource for ReaderSource {
    async fn update(
        &self,
        old: Option<&Snapshot>,
        event: &serde_json::Value,
    ) -> Result<Updated, SourceError> {
        let reader = self.reader();
        let as_of = reader.options().captured_at.clone();
        let (outcome, how) = reader
            .update(old, event, &NoProgress)
            .await
            .map_err(|err| SourceError {
                message: err.to_string(),
            })?;
        tracing::info!(
            update = %how,
            calls = outcome.stats.total_calls(),
            retries = outcome.stats.total_retries(),
            "brought the stored snapshot up to date"
        );
        Ok(Updated {
            snapshot: outcome.snapshot,
            as_of,
        })
    }

    async fn snapshot(&self) -> Result<Snapshot, SourceError> {
        let outcome = self
            .reader()
            .read(&NoProgress)
            .await
            .map_err(|err| SourceError {
                message: err.to_string(),
            })?;
        tracing::info!(
            organization_id = %outcome.snapshot.organization.id,
            captured_at = %outcome.snapshot.captured_at,
            calls = outcome.stats.total_calls(),
            retries = outcome.stats.total_retries(),
            gaps = outcome.snapshot.gaps.len(),
            "read the organization"
        );
        for gap in &outcome.snapshot.gaps {
            tracing::warn!(scope = %gap.scope, reason = %gap.reason, "part of the organization could not be read");
        }
        Ok(outcome.snapshot)
    }
}
