//! The guard: read the organization afresh, evaluate, diff against the stored alert state, and
//! publish one alert (maybe in parts) per run that changed something. Async, but free of SDK
//! types and of any runtime: it reaches AWS only through its three ports, each with a real
//! adapter in `aws` and fakes in the tests.
//!
//! - [`SnapshotSource`]: where the organization comes from (`aws::source::ReaderSource`).
//! - [`StateStore`]: alert state per finding (`aws::state::DynamoStateStore`).
//! - [`AlertSink`]: where alerts go (`aws::sns::SnsSink`).
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

use std::future::Future;

use futures_util::StreamExt;
use serde::Serialize;

use crate::alert::{self, FindingChange, FindingState, SnsMessage, StateView, Trigger};
use crate::error::InputError;
use crate::snapshot::{self, Snapshot};
use crate::{notify, reachability, remediation};

/// Claims written to the state store at once.
const CLAIM_CONCURRENCY: usize = 16;

/// Where the organization comes from (live: `aws::source::ReaderSource`).
pub trait SnapshotSource {
    /// A fresh, unvalidated snapshot; `capturedAt` is the time of this read.
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, SourceError>>;
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
            GuardError::Publish { .. } => "PublishFailed",
        }
    }

    /// Whether a retry can succeed: AWS faults can; a snapshot that does not validate is a
    /// bug or an organization the model cannot represent.
    pub fn retryable(&self) -> bool {
        !matches!(self, GuardError::InvalidSnapshot(_))
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
}

/// The guard: the ports, and what to evaluate and may propose.
#[derive(Debug, Clone)]
pub struct Guard<S, T, A> {
    pub source: S,
    pub state: T,
    pub sink: A,
    pub evaluation: reachability::Options,
    pub remediation: remediation::Options,
}

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
            evaluation,
            remediation,
        }
    }

    /// Reads, evaluates and alerts the changes since the stored state, for `trigger`.
    pub async fn run(&self, trigger: &Trigger) -> Result<RunSummary, GuardError> {
        let mut summary = RunSummary::default();
        let snapshot = self.source.snapshot().await.map_err(GuardError::Source)?;
        let valid = snapshot::validate("the organization as read", snapshot)
            .map_err(GuardError::InvalidSnapshot)?;
        let report = reachability::evaluate(&valid, &self.evaluation);
        summary.findings = report.findings.len();
        let organization_id = report.organization_id.clone();

        let stored = self
            .state
            .load(&organization_id)
            .await
            .map_err(GuardError::State)?;
        let changes = alert::diff(&stored, &report);
        summary.changes = changes.len();
        if changes.is_empty() {
            tracing::info!(
                organization_id = %organization_id,
                findings = summary.findings,
                trigger = trigger.kind.as_str(),
                "no change"
            );
            return Ok(summary);
        }

        let claimed = self.claim_all(&organization_id, changes).await?;
        summary.lost = summary.changes - claimed.len();
        summary.claimed = claimed.len();
        if claimed.is_empty() {
            tracing::info!(
                organization_id = %organization_id,
                lost = summary.lost,
                "every change was claimed by another invocation"
            );
            return Ok(summary);
        }

        // Proposals only once something is to be said, for the changed problems this alert
        // carries (bounded: `notify::MAX_PROPOSED`).
        let claimed_changes: Vec<FindingChange> = claimed.iter().map(|(c, _)| c.clone()).collect();
        let messages = notify::alert_messages(
            &valid,
            &report,
            &claimed_changes,
            trigger,
            &self.remediation,
        );
        for message in &messages {
            if let Err(error) = self.sink.publish(message).await {
                tracing::error!(
                    organization_id = %organization_id,
                    part = message.part,
                    parts = message.parts,
                    error = %error,
                    "publishing failed; rolling the claims back"
                );
                let claims: Vec<Claim> = claimed.into_iter().map(|(_, c)| c).collect();
                let (rolled_back, not_rolled_back) = self.release_all(&claims).await;
                return Err(GuardError::Publish {
                    error,
                    rolled_back,
                    not_rolled_back,
                });
            }
            summary.messages_published += 1;
        }
        let claims: Vec<Claim> = claimed.into_iter().map(|(_, c)| c).collect();
        summary.uncommitted = self.commit_all(&claims).await;
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
        Ok(summary)
    }

    /// Claims every change; returns the won ones. On a store error, rolls back what was won.
    async fn claim_all(
        &self,
        organization_id: &str,
        changes: Vec<FindingChange>,
    ) -> Result<Vec<(FindingChange, Claim)>, GuardError> {
        let results: Vec<(FindingChange, Claim, Result<ClaimOutcome, StateError>)> =
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
