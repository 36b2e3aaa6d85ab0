//! The guard: read the organization afresh, evaluate, diff against the stored alert state, and
//! publish one alert (maybe in parts) per run that changed something. Async, but free of SDK
//! types and of any runtime: it reaches AWS only through its three ports, each with a real
//! adapter in `aws` and fakes in the tests.
//!
//! - [`SnapshotSource`]: where the organization comes from (`aws::source::ReaderSource`).
//! - [`StateStore`]: alert state per finding (`aws::state::DynamoStateStore`).
//! - [`AlertSink`]: where alerts go (`aws::sns::SnsSink`).
//! - [`SnapshotStore`]: the last snapshot between runs (`aws::stored::S3Objects`), so
//!   that a CloudTrail event re-reads only what it names ([`SnapshotSource::update`]); the
//!   scheduled sweep always reads everything. The snapshot is stored *after* alerting: a store
//!   that fails is logged and costs the next event a full read, never an alert.
//!
//! With expectations (contract §6, [`Guard::with_expectations`]) only violated expectations
//! alert: the findings the guard diffs are the ones an expectation names as violated.
//!
//! Triggers are hints. Whatever caused a run (one CloudTrail event, a batch of 50 from SQS,
//! the scheduled sweep) the guard reads the organization once through [`SnapshotSource`],
//! evaluates it with [`crate::reachability::evaluate`] and alerts only on findings whose
//! fingerprint changed ([`crate::alert::diff`]), with proposals for the changed problems
//! ([`crate::notify::alert_messages`], which `cris-guard evaluate --format sns` shares). Re-evaluating is idempotent, so retrying a run is safe.
//! `lambda` decodes the invocation into a [`Trigger`] and maps [`GuardError`] to the runtime.
//!
//! # Alert state and exactly-once-ish alerts
//!
//! One state item per finding: `pk = "<organizationId>#<findingKey>"` with the finding's
//! `fingerprint`, `status`, `snapshotCapturedAt` (and `updatedAt` for people). Per invocation:
//!
//! 1. **Load** the organization's items and [`crate::alert::diff`] the fresh report against
//!    them. Items from a newer snapshot than this evaluation are skipped by the diff.
//! 2. **Claim** every change with a conditional write of its new state *before* publishing:
//!    `attribute_not_exists(pk)` when nothing was stored, else
//!    `fingerprint = :expected AND snapshotCapturedAt <= :captured` (compare-and-swap on what
//!    the diff saw; RFC 3339 UTC strings of one format compare like times). Of two invocations
//!    racing on the same change, one wins the condition; the loser skips that change. An
//!    out-of-order older snapshot loses too, so it never overwrites newer state.
//!    A claim is written *pending* with a lease (`pendingUntil`, longer than any invocation
//!    can run) and the state it replaces.
//! 3. **Publish** the claimed changes (one message, or "part i of n").
//! 4. **Commit** the claims (drop the lease) once every part went out.
//! 5. If publishing fails, **roll back** each claim with a conditional revert (only while the
//!    item still holds our claim: same fingerprint and `snapshotCapturedAt`) and fail the
//!    invocation, so SQS (finally its DLQ) or the async retry runs it again and the alert is
//!    sent then. If a claim itself fails with an error, the claims already made are rolled back
//!    the same way. A revert that fails is logged at error level with the finding keys.
//!
//! An invocation that dies between claiming and publishing (the Lambda timeout, a crash) or
//! whose revert fails leaves pending claims behind. Within the lease they count as taken (the
//! claimer may still be publishing: no duplicate); once the lease is over, `load` shows the
//! state before the claim, so the next invocation (the retry, or the next sweep) finds the
//! change again, claims it over the expired lease and alerts it.
//!
//! Delivery is therefore at least once for each part: a retry after a partial publish resends
//! the parts that did go out; an alert is never dropped silently.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use crate::alert::{
    self, FindingChange, FindingState, SnsMessage, StateView, Trigger, TriggerKind,
};
use crate::error::InputError;
use crate::expectations::ExpectationsFile;
use crate::findings::Report;
use crate::org::Org;
use crate::snapshot::{self, Snapshot};
use crate::{notify, reachability, remediation};

/// Claims written to the state store at once.
const CLAIM_CONCURRENCY: usize = 16;

/// Where the organization comes from (live: `aws::source::ReaderSource`).
pub trait SnapshotSource {
    /// A fresh, unvalidated snapshot; `capturedAt` is the time of this read.
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, SourceError>>;

    /// `old` brought up to date after `event` (an EventBridge event as the Lambda receives
    /// it). `old` keeps its `capturedAt` (its last full read, which decides when it is too
    /// old to update); `as_of` is when this read saw the organization. A source that cannot
    /// update reads everything (the default).
    fn update(
        &self,
        old: Option<&Snapshot>,
        event: &serde_json::Value,
    ) -> impl Future<Output = Result<Updated, SourceError>> {
        let _ = (old, event);
        async {
            let snapshot = self.snapshot().await?;
            Ok(Updated {
                as_of: snapshot.captured_at.clone(),
                snapshot,
            })
        }
    }
}

/// A snapshot brought up to date by [`SnapshotSource::update`].
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    pub snapshot: Snapshot,
    /// When the organization was seen as `snapshot` shows it (the evaluation's time).
    pub as_of: String,
}

/// The last snapshot, kept between runs (live: `aws::stored::S3Objects`).
pub trait SnapshotStore {
    /// The stored snapshot; `None` when there is none yet.
    fn load(&self) -> impl Future<Output = Result<Option<Snapshot>, StoreError>>;
    fn save(&self, snapshot: &Snapshot) -> impl Future<Output = Result<(), StoreError>>;
}

/// No stored snapshot: every run reads everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl SnapshotStore for NoStore {
    async fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        Ok(None)
    }

    async fn save(&self, _: &Snapshot) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Loading or saving the stored snapshot failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub message: String,
}

/// Where alerts go (live: `aws::sns::SnsSink`).
pub trait AlertSink {
    fn publish(&self, message: &SnsMessage) -> impl Future<Output = Result<(), PublishError>>;
}

/// Alert state per finding (live: `aws::state::DynamoStateStore`). See the module docs for the
/// conditional-write scheme every implementation must follow.
pub trait StateStore {
    /// Every stored finding state of the organization.
    fn load(&self, organization_id: &str) -> impl Future<Output = Result<StateView, StateError>>;

    /// Writes `claim.next` if the item still holds `claim.expected` (absent when `None`) and is
    /// not from a newer snapshot. [`ClaimOutcome::Lost`] when the condition fails.
    fn claim(&self, claim: &Claim) -> impl Future<Output = Result<ClaimOutcome, StateError>>;

    /// Undoes a successful claim: restores `claim.expected` (deletes the item when `None`), but
    /// only while the item still holds `claim.next`. Someone else's newer state is left alone.
    fn release(&self, claim: &Claim) -> impl Future<Output = Result<(), StateError>>;

    /// Marks a successful claim as alerted (its change was published). A store whose claims
    /// carry a lease (`aws::state::DynamoStateStore`) drops it here, so `load` keeps
    /// showing the claimed state after the lease; until then, and if this is never called (the
    /// invocation died), an expired claim shows the state before it and is alerted again.
    /// The default (a store without leases) does nothing.
    fn commit(&self, claim: &Claim) -> impl Future<Output = Result<(), StateError>> {
        let _ = claim;
        std::future::ready(Ok(()))
    }
}

/// One conditional state transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub organization_id: String,
    pub finding_key: String,
    pub expected: Option<FindingState>,
    pub next: FindingState,
}

impl Claim {
    pub fn of(organization_id: &str, change: &FindingChange) -> Claim {
        Claim {
            organization_id: organization_id.to_string(),
            finding_key: change.key(),
            expected: change.previous.clone(),
            next: change.next.clone(),
        }
    }

    /// The state item's partition key.
    pub fn pk(&self) -> String {
        state_pk(&self.organization_id, &self.finding_key)
    }
}

/// `<organizationId>#<findingKey>`.
pub fn state_pk(organization_id: &str, finding_key: &str) -> String {
    format!("{organization_id}#{finding_key}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed,
    /// The condition failed: another invocation claimed it, or the stored state is newer.
    Lost,
}

/// Reading the organization failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    pub message: String,
}

/// Publishing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PublishError {
    pub message: String,
}

/// The state store failed (not a lost condition, which is [`ClaimOutcome::Lost`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StateError {
    pub message: String,
}

/// A port is usable by reference, so a caller can keep its adapter while a guard runs over it.
impl<S: SnapshotSource + ?Sized> SnapshotSource for &S {
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, SourceError>> {
        (**self).snapshot()
    }

    fn update(
        &self,
        old: Option<&Snapshot>,
        event: &serde_json::Value,
    ) -> impl Future<Output = Result<Updated, SourceError>> {
        (**self).update(old, event)
    }
}

/// `None`: no stored snapshot (the deployment keeps none).
impl<K: SnapshotStore> SnapshotStore for Option<K> {
    async fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        match self {
            Some(store) => store.load().await,
            None => Ok(None),
        }
    }

    async fn save(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        match self {
            Some(store) => store.save(snapshot).await,
            None => Ok(()),
        }
    }
}

impl<K: SnapshotStore + ?Sized> SnapshotStore for &K {
    fn load(&self) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> {
        (**self).load()
    }

    fn save(&self, snapshot: &Snapshot) -> impl Future<Output = Result<(), StoreError>> {
        (**self).save(snapshot)
    }
}

impl<A: AlertSink + ?Sized> AlertSink for &A {
    fn publish(&self, message: &SnsMessage) -> impl Future<Output = Result<(), PublishError>> {
        (**self).publish(message)
    }
}

impl<T: StateStore + ?Sized> StateStore for &T {
    fn load(&self, organization_id: &str) -> impl Future<Output = Result<StateView, StateError>> {
        (**self).load(organization_id)
    }

    fn claim(&self, claim: &Claim) -> impl Future<Output = Result<ClaimOutcome, StateError>> {
        (**self).claim(claim)
    }

    fn release(&self, claim: &Claim) -> impl Future<Output = Result<(), StateError>> {
        (**self).release(claim)
    }

    fn commit(&self, claim: &Claim) -> impl Future<Output = Result<(), StateError>> {
        (**self).commit(claim)
    }
}

/// Why a run failed. Every variant fails the run (the Lambda invocation), so it is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("reading the organization failed: {0}")]
    Source(SourceError),
    #[error("the organization as read is not a valid snapshot: {0}")]
    InvalidSnapshot(InputError),
    #[error("alert state: {0}")]
    State(StateError),
    /// The expectations do not fit the organization (one matches nothing): never a silent pass.
    #[error("the expectations cannot be judged: {0}")]
    InvalidExpectations(InputError),
    #[error(
        "publishing the alert failed ({rolled_back} claims rolled back, {not_rolled_back} not): {error}"
    )]
    Publish {
        error: PublishError,
        rolled_back: usize,
        not_rolled_back: usize,
    },
}

impl GuardError {
    /// A stable code for logs and the Lambda error type.
    pub fn code(&self) -> &'static str {
        match self {
            GuardError::Source(_) => "SourceFailed",
            GuardError::InvalidSnapshot(_) => "InvalidSnapshot",
            GuardError::State(_) => "StateFailed",
            GuardError::InvalidExpectations(_) => "InvalidExpectations",
            GuardError::Publish { .. } => "PublishFailed",
        }
    }

    /// Whether a retry can succeed: AWS faults can; a snapshot that does not validate is a
    /// bug or an organization the model cannot represent.
    pub fn retryable(&self) -> bool {
        !matches!(
            self,
            GuardError::InvalidSnapshot(_) | GuardError::InvalidExpectations(_)
        )
    }
}

/// What one run of the guard did (logged; `lambda` adds what the invocation carried).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub findings: usize,
    pub changes: usize,
    pub claimed: usize,
    pub lost: usize,
    pub messages_published: usize,
    /// Claims whose commit failed after publishing: alerted again after their lease (a
    /// duplicate, never a loss).
    pub uncommitted: usize,
    /// How the snapshot was had: `full` or `updated` (from the stored one, per event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<&'static str>,
    /// The snapshot could not be stored after the run (logged; the next event reads everything).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub store_failed: bool,
    /// Wall time per phase in milliseconds (`read`, `evaluate`, `diff`, `claim`, `messages`
    /// for the proposals and renderings, `publish`, `commit`, `store`), for sizing the
    /// function (README, "Sizing MemorySize and Timeout").
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub phases_ms: BTreeMap<&'static str, u64>,
}

impl RunSummary {
    /// Adds the time since `*since` to `phase` and restarts the clock.
    fn lap(&mut self, phase: &'static str, since: &mut Instant) {
        let now = Instant::now();
        let ms = u64::try_from(now.duration_since(*since).as_millis()).unwrap_or(u64::MAX);
        *self.phases_ms.entry(phase).or_insert(0) += ms;
        *since = now;
    }
}

/// The guard: the ports, and what to evaluate and may propose.
#[derive(Debug, Clone)]
pub struct Guard<S, T, A, K = NoStore> {
    pub source: S,
    pub state: T,
    pub sink: A,
    pub snapshots: K,
    pub evaluation: reachability::Options,
    pub remediation: remediation::Options,
    /// Where the expectations came from (for messages) and the file; `None`: every finding.
    pub expectations: Option<(String, ExpectationsFile)>,
    /// How long the proofs behind an alert's proposals may run before the alert is published
    /// with the rest left out (counted in it): a first sweep of a large organization must not
    /// run into the function's timeout and lose its alert.
    pub proposal_budget: std::time::Duration,
}

/// [`Guard::proposal_budget`] by default: well inside the template's 300 s `Timeout`, leaving
/// the read, the state writes and the publishing their time.
pub const PROPOSAL_BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

impl<S: SnapshotSource, T: StateStore, A: AlertSink> Guard<S, T, A> {
    pub fn new(
        source: S,
        state: T,
        sink: A,
        evaluation: reachability::Options,
        remediation: remediation::Options,
    ) -> Self {
        Guard {
            source,
            state,
            sink,
            snapshots: NoStore,
            evaluation,
            remediation,
            expectations: None,
            proposal_budget: PROPOSAL_BUDGET,
        }
    }
}

impl<S: SnapshotSource, T: StateStore, A: AlertSink, K: SnapshotStore> Guard<S, T, A, K> {
    /// The same guard keeping its last snapshot in `snapshots`.
    pub fn with_snapshots<K2: SnapshotStore>(self, snapshots: K2) -> Guard<S, T, A, K2> {
        Guard {
            source: self.source,
            state: self.state,
            sink: self.sink,
            snapshots,
            evaluation: self.evaluation,
            remediation: self.remediation,
            expectations: self.expectations,
            proposal_budget: self.proposal_budget,
        }
    }

    /// The same guard alerting only on violations of `file` (read from `source`).
    pub fn with_expectations(mut self, source: String, file: ExpectationsFile) -> Self {
        self.expectations = Some((source, file));
        self
    }

    /// Reads, evaluates and alerts the changes since the stored state, for `trigger`: a full
    /// read (as for the scheduled sweep).
    pub async fn run(&self, trigger: &Trigger) -> Result<RunSummary, GuardError> {
        self.run_events(trigger, &[]).await
    }

    /// [`Guard::run`], updating the stored snapshot with `events` (the EventBridge events of
    /// an `Event` trigger) instead of reading everything.
    pub async fn run_events(
        &self,
        trigger: &Trigger,
        events: &[serde_json::Value],
    ) -> Result<RunSummary, GuardError> {
        let mut summary = RunSummary::default();
        let mut clock = Instant::now();
        let (mut snapshot, as_of, read) = self.read(trigger, events).await?;
        summary.read = Some(read);
        summary.lap("read", &mut clock);
        // Evaluated as of this read; stored with the time of its last full read.
        let full_read_at = std::mem::replace(&mut snapshot.captured_at, as_of);
        let valid = snapshot::validate("the organization as read", snapshot)
            .map_err(GuardError::InvalidSnapshot)?;
        let report = self.report(&valid)?;
        summary.findings = report.findings.len();
        summary.lap("evaluate", &mut clock);
        self.alert(trigger, &valid, &report, &mut summary).await?;
        let mut clock = Instant::now();
        let mut stored = valid.snapshot;
        stored.captured_at = full_read_at;
        if let Err(error) = self.snapshots.save(&stored).await {
            tracing::error!(error = %error, "storing the snapshot failed; the next event reads everything");
            summary.store_failed = true;
        }
        summary.lap("store", &mut clock);
        Ok(summary)
    }

    /// The organization now: from the stored snapshot and the events, or read in full (the
    /// sweep, a trigger without events). Returns the snapshot, when it was seen, and how.
    async fn read(
        &self,
        trigger: &Trigger,
        events: &[serde_json::Value],
    ) -> Result<(Snapshot, String, &'static str), GuardError> {
        if trigger.kind == TriggerKind::Schedule || events.is_empty() {
            let snapshot = self.source.snapshot().await.map_err(GuardError::Source)?;
            let as_of = snapshot.captured_at.clone();
            return Ok((snapshot, as_of, "full"));
        }
        let stored = self.snapshots.load().await.unwrap_or_else(|error| {
            tracing::warn!(error = %error, "loading the stored snapshot failed; reading everything");
            None
        });
        // Nothing stored: one full read covers every event of the batch.
        let Some(mut current) = stored else {
            let snapshot = self.source.snapshot().await.map_err(GuardError::Source)?;
            let as_of = snapshot.captured_at.clone();
            return Ok((snapshot, as_of, "full"));
        };
        let mut as_of = current.captured_at.clone();
        for event in events {
            let updated = self
                .source
                .update(Some(&current), event)
                .await
                .map_err(GuardError::Source)?;
            current = updated.snapshot;
            as_of = updated.as_of;
        }
        Ok((current, as_of, "updated"))
    }

    /// The report the alerts are diffed from: every finding, or with expectations only the
    /// findings an expectation names as violated.
    fn report(&self, valid: &snapshot::ValidSnapshot) -> Result<Report, GuardError> {
        let Some((source, file)) = &self.expectations else {
            return Ok(reachability::evaluate(valid, &self.evaluation));
        };
        let org = Org::new(valid);
        let mut decisions = reachability::decide(&org, &self.evaluation);
        decisions
            .set_expectations(source, file)
            .map_err(GuardError::InvalidExpectations)?;
        let mut report = decisions.to_report();
        let violated: std::collections::HashSet<&str> = report
            .expectations
            .iter()
            .flat_map(|e| e.violations.iter().map(String::as_str))
            .collect();
        report
            .findings
            .retain(|f| violated.contains(f.key().as_str()));
        Ok(report)
    }

    /// Diffs `report` against the alert state, claims, publishes and commits (module docs).
    async fn alert(
        &self,
        trigger: &Trigger,
        valid: &snapshot::ValidSnapshot,
        report: &Report,
        summary: &mut RunSummary,
    ) -> Result<(), GuardError> {
        let organization_id = report.organization_id.clone();
        let mut clock = Instant::now();
        let stored = self
            .state
            .load(&organization_id)
            .await
            .map_err(GuardError::State)?;
        let changes = alert::diff(&stored, report);
        summary.changes = changes.len();
        summary.lap("diff", &mut clock);
        if changes.is_empty() {
            tracing::info!(
                organization_id = %organization_id,
                findings = summary.findings,
                trigger = trigger.kind.as_str(),
                "no change"
            );
            return Ok(());
        }

        let claimed = self.claim_all(&organization_id, changes).await?;
        summary.lap("claim", &mut clock);
        summary.lost = summary.changes - claimed.len();
        summary.claimed = claimed.len();
        if claimed.is_empty() {
            tracing::info!(
                organization_id = %organization_id,
                lost = summary.lost,
                "every change was claimed by another invocation"
            );
            return Ok(());
        }

        // Proposals only once something is to be said, for the changed problems this alert
        // carries (bounded: `notify::MAX_PROPOSED`).
        // Split, not cloned: at 10,000 accounts a first sweep claims tens of thousands of changes.
        let (claimed_changes, claims): (Vec<FindingChange>, Vec<Claim>) =
            claimed.into_iter().unzip();
        let started = Instant::now();
        let over_budget = || started.elapsed() >= self.proposal_budget;
        let messages = notify::alert_messages(
            valid,
            report,
            &claimed_changes,
            trigger,
            &self.remediation,
            &over_budget,
        );
        summary.lap("messages", &mut clock);
        for message in &messages {
            if let Err(error) = self.sink.publish(message).await {
                tracing::error!(
                    organization_id = %organization_id,
                    part = message.part,
                    parts = message.parts,
                    error = %error,
                    "publishing failed; rolling the claims back"
                );
                let (rolled_back, not_rolled_back) = self.release_all(&claims).await;
                return Err(GuardError::Publish {
                    error,
                    rolled_back,
                    not_rolled_back,
                });
            }
            summary.messages_published += 1;
        }
        summary.lap("publish", &mut clock);
        summary.uncommitted = self.commit_all(&claims).await;
        summary.lap("commit", &mut clock);
        tracing::info!(
            organization_id = %organization_id,
            changes = summary.changes,
            claimed = summary.claimed,
            lost = summary.lost,
            messages = summary.messages_published,
            trigger = trigger.kind.as_str(),
            changed_by = trigger.changed_by().unwrap_or("-"),
            "alert published"
        );
        Ok(())
    }

    /// Claims every change; returns the won ones. On a store error, rolls back what was won.
    async fn claim_all<'r>(
        &self,
        organization_id: &str,
        changes: Vec<FindingChange<'r>>,
    ) -> Result<Vec<(FindingChange<'r>, Claim)>, GuardError> {
        let results: Vec<(FindingChange<'r>, Claim, Result<ClaimOutcome, StateError>)> =
            futures_util::stream::iter(changes)
                .map(|change| async move {
                    let claim = Claim::of(organization_id, &change);
                    let outcome = self.state.claim(&claim).await;
                    (change, claim, outcome)
                })
                .buffer_unordered(CLAIM_CONCURRENCY)
                .collect()
                .await;
        let mut won = Vec::new();
        let mut failure = None;
        for (change, claim, outcome) in results {
            match outcome {
                Ok(ClaimOutcome::Claimed) => won.push((change, claim)),
                Ok(ClaimOutcome::Lost) => {
                    tracing::info!(finding_key = %claim.finding_key, "change already claimed; skipping it");
                }
                Err(error) => failure = Some(error),
            }
        }
        if let Some(error) = failure {
            let claims: Vec<Claim> = won.into_iter().map(|(_, c)| c).collect();
            self.release_all(&claims).await;
            return Err(GuardError::State(error));
        }
        // The message lists changes worst first, as the diff ordered them.
        won.sort_by(|a, b| {
            b.0.finding
                .status
                .severity()
                .cmp(&a.0.finding.status.severity())
                .then(a.0.kind.cmp(&b.0.kind))
                .then_with(|| a.1.finding_key.cmp(&b.1.finding_key))
        });
        Ok(won)
    }

    /// Commits published claims; returns how many failed (logged: they are alerted again once
    /// their lease expires).
    async fn commit_all(&self, claims: &[Claim]) -> usize {
        let failures = settle(claims, |claim| self.state.commit(claim)).await;
        for (claim, error) in &failures {
            tracing::warn!(
                finding_key = %claim.finding_key,
                error = %error,
                "committing a published alert claim failed: it will be alerted again once its lease expires"
            );
        }
        failures.len()
    }

    /// Rolls claims back; returns (rolled back, failed to roll back).
    async fn release_all(&self, claims: &[Claim]) -> (usize, usize) {
        let failures = settle(claims, |claim| self.state.release(claim)).await;
        for (claim, error) in &failures {
            tracing::error!(
                finding_key = %claim.finding_key,
                error = %error,
                "rolling back an alert claim failed: this change is alerted again once the claim's lease expires"
            );
        }
        (claims.len() - failures.len(), failures.len())
    }
}

/// Runs `operation` on every claim, `CLAIM_CONCURRENCY` at a time; the claims it failed for.
async fn settle<'c, F, Fut>(claims: &'c [Claim], operation: F) -> Vec<(&'c Claim, StateError)>
where
    F: Fn(&'c Claim) -> Fut,
    Fut: Future<Output = Result<(), StateError>>,
{
    futures_util::stream::iter(claims)
        .map(|claim| {
            let done = operation(claim);
            async move { (claim, done.await) }
        })
        .buffer_unordered(CLAIM_CONCURRENCY)
        .filter_map(|(claim, result)| async move { result.err().map(|error| (claim, error)) })
        .collect()
        .await
}
