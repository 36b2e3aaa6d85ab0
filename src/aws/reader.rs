//! The live snapshot reader: reads the organization (Organizations) and the inference profiles
//! (Bedrock, one client per source Region) into a [`Snapshot`], with bounded concurrency,
//! adaptive retries, call counting and gaps instead of aborts; plus `cris-guard snapshot`.

use std::collections::{BTreeSet, HashSet};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::aws::bedrock::{self, BedrockClients};
use crate::aws::calls::{CallCounter, CallStats, OperationStats};
use crate::aws::organizations::{self, Header, Policies, Tree};
use crate::snapshot::{Gap, Snapshot};

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

/// Nothing usable could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReaderError {
    #[error("reading the organization failed: {operation}: {message}")]
    Organizations {
        operation: &'static str,
        message: String,
    },
}

/// A snapshot and what it cost.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    /// Unvalidated; parts that could not be read are in `snapshot.gaps`.
    pub snapshot: Snapshot,
    pub stats: CallStats,
}

/// Told after every API call (pages included) how many calls are done and what the last was.
pub trait Progress: Send + Sync {
    fn update(&self, done: usize, what: &str);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _done: usize, _what: &str) {}
}

/// Progress on stderr: one updating line on a terminal, otherwise a line every
/// [`StderrProgress::LOG_EVERY`] calls.
#[derive(Debug)]
pub struct StderrProgress {
    tty: bool,
    state: Mutex<usize>,
}

impl StderrProgress {
    pub const LOG_EVERY: usize = 500;

    pub fn new() -> Self {
        StderrProgress {
            tty: std::io::stderr().is_terminal(),
            state: Mutex::new(0),
        }
    }

    /// Ends the updating line (on a terminal).
    pub fn finish(&self) {
        let shown = *self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.tty && shown > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for StderrProgress {
    fn update(&self, done: usize, what: &str) {
        let mut shown = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut err = std::io::stderr().lock();
        if self.tty {
            let mut line = format!("reading the organization: {done} calls, {what}");
            line.truncate(line.char_indices().nth(100).map_or(line.len(), |(i, _)| i));
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
            *shown = done;
        } else if done == 1 || done.is_multiple_of(Self::LOG_EVERY) {
            let _ = writeln!(
                err,
                "reading the organization: {done} calls so far ({what})"
            );
            *shown = done;
        }
    }
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
    /// each client gets `options.retry_config` and the call counter.
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
                .interceptor(counter.clone())
                .build(),
        );
        let retry = options.retry_config.clone();
        let bedrock_counter = counter.clone();
        let bedrock = bedrock.map_configs(move |b| {
            b.retry_config(retry.clone())
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
    pub async fn read(&self, progress: &dyn Progress) -> Result<ReadOutcome, ReaderError> {
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
            Ok::<_, ReaderError>((header, tree, policies))
        };
        let bedrock_part = async { Ok(bedrock::read_profiles(&self.bedrock, &bedrock_ctx).await) };
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
        gaps,
    }
}

/// Shared by the parts of one read: the concurrency limit and the progress counter.
pub(crate) struct ReadContext<'a> {
    limiter: Semaphore,
    progress: &'a dyn Progress,
    done: &'a AtomicUsize,
}

impl<'a> ReadContext<'a> {
    fn new(max_concurrency: usize, progress: &'a dyn Progress, done: &'a AtomicUsize) -> Self {
        ReadContext {
            limiter: Semaphore::new(max_concurrency.max(1)),
            progress,
            done,
        }
    }

    /// Waits for a slot; hold the permit for the duration of one request.
    pub(crate) async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed, so this is always a permit.
        self.limiter.acquire().await.ok()
    }

    /// One request finished.
    pub(crate) fn finished(&self, what: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.progress.update(done, what);
    }
}

/// One page of a list operation.
pub(crate) struct Page<T> {
    items: Vec<T>,
    next_token: Option<String>,
}

impl<T> Page<T> {
    pub(crate) fn new(items: Vec<T>, next_token: Option<&str>) -> Self {
        Page {
            items,
            next_token: next_token.filter(|t| !t.is_empty()).map(str::to_string),
        }
    }
}

/// All pages, or the pages before a failure with the reason.
pub(crate) enum Paged<T> {
    Complete(Vec<T>),
    Failed {
        items: Vec<T>,
        pages: usize,
        reason: String,
    },
}

impl<T> Paged<T> {
    /// The items, and a gap on `scope` when the listing stopped early (the items read before
    /// the failure are kept: they are facts, and the gap says the list is incomplete).
    pub(crate) fn split(self, scope: &str, operation: &str, noun: &str) -> (Vec<T>, Option<Gap>) {
        match self {
            Paged::Complete(items) => (items, None),
            Paged::Failed {
                items,
                pages,
                reason,
            } => {
                let kept = if items.is_empty() {
                    String::new()
                } else {
                    format!(" ({} {noun} read and kept)", items.len())
                };
                let reason = format!(
                    "{operation} {scope} failed{}{kept}: {reason}",
                    organizations::after_pages(pages)
                );
                (
                    items,
                    Some(Gap {
                        scope: scope.to_string(),
                        reason,
                    }),
                )
            }
        }
    }
}

/// Follows `nextToken` to the end, one permit per request. A repeated token ends the listing
/// as a failure rather than looping forever.
pub(crate) async fn collect_pages<T>(
    ctx: &ReadContext<'_>,
    what: &str,
    mut fetch: impl AsyncFnMut(Option<String>) -> Result<Page<T>, String>,
) -> Paged<T> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0usize;
    loop {
        let result = {
            let _permit = ctx.permit().await;
            fetch(token.clone()).await
        };
        ctx.finished(what);
        match result {
            Err(reason) => {
                return Paged::Failed {
                    items,
                    pages,
                    reason,
                };
            }
            Ok(page) => {
                pages += 1;
                items.extend(page.items);
                match page.next_token {
                    None => return Paged::Complete(items),
                    Some(next) if token.as_deref() == Some(next.as_str()) => {
                        return Paged::Failed {
                            items,
                            pages,
                            reason: format!(
                                "the service returned the same next token twice ({next})"
                            ),
                        };
                    }
                    Some(next) => token = Some(next),
                }
            }
        }
    }
}

/// `AccessDeniedException: You don't have permissions …`; for other failures (an unparsable
/// answer, a timeout, DNS) the HTTP status when there is one and the chain of error messages,
/// without the raw response.
pub(crate) fn error_detail<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => format!(
                    "HTTP {}: {}",
                    service.raw().status().as_u16(),
                    error_chain(inner)
                ),
            }
        }
        _ => error_chain(err),
    }
}

/// `outer: cause: root cause`, each message once.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// `SystemTime` as RFC 3339 UTC with second precision, e.g. `2026-11-29T00:00:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (H. Hinnant's algorithm), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// `cris-guard snapshot`: reads the live organization and returns the snapshot as pretty JSON
/// for the caller to write; errors are printed here and returned as the exit code (3 invalid
/// arguments, 4 AWS failure or nothing usable read).
pub fn run_snapshot_command(profile_regions: Option<Vec<String>>) -> Result<String, u8> {
    let regions = match profile_regions {
        Some(regions) => {
            let regions: Vec<String> = regions
                .iter()
                .flat_map(|r| r.split(','))
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if let Some(bad) = regions.iter().find(|r| !crate::ids::is_region(r)) {
                eprintln!(
                    "error: --profile-regions: `{bad}` is not an AWS Region name (e.g. us-east-1)"
                );
                return Err(3);
            }
            regions
        }
        None => DEFAULT_PROFILE_REGIONS
            .iter()
            .map(|r| r.to_string())
            .collect(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return Err(4);
        }
    };
    let progress = StderrProgress::new();
    let outcome = runtime.block_on(async {
        let region = aws_config::meta::region::RegionProviderChain::default_provider()
            .or_else(FALLBACK_REGION);
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .load()
            .await;
        let mut options = ReaderOptions::new(rfc3339(SystemTime::now()));
        options.profile_regions = regions;
        SnapshotReader::new(&conf, options).read(&progress).await
    });
    progress.finish();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("error: {err}");
            return Err(4);
        }
    };
    for gap in &outcome.snapshot.gaps {
        eprintln!("warning: could not read {}: {}", gap.scope, gap.reason);
    }
    eprintln!("{}", outcome.stats);
    let gap_count = outcome.snapshot.gaps.len();
    let snapshot = outcome.snapshot;
    let json = match serde_json::to_string_pretty(&snapshot) {
        Ok(json) => json + "\n",
        Err(err) => {
            eprintln!("error: cannot serialize the snapshot: {err}");
            return Err(4);
        }
    };
    if let Err(err) = crate::snapshot::validate("live organization", snapshot) {
        eprintln!(
            "error: the snapshot read from AWS is invalid (a bug in cris-guard's reader): {err}"
        );
        return Err(4);
    }
    if gap_count > 0 {
        eprintln!(
            "warning: {gap_count} part(s) of the organization could not be read: findings that depend on them will be `unknown`"
        );
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_234_567_890)),
            "2009-02-13T23:31:30Z"
        );
        // 2024-02-29T12:00:00Z (a leap day) and 2026-11-29T00:00:00Z.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_709_208_000)),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_910_400)),
            "2026-11-29T00:00:00Z"
        );
    }

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
