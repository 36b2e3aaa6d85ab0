//! DynamoDB alert state: one item per finding, written with the conditional scheme documented
//! in [`crate::guard`] (claim before publishing, conditional revert on failure, never
//! overwrite newer state, a lease so a claim whose invocation died is alerted again).
//!
//! Item: `pk` (S, `<organizationId>#<findingKey>`), `organizationId`, `findingKey`,
//! `fingerprint`, `status`, `snapshotCapturedAt`, `updatedAt` (all S). While a claim is not yet
//! committed (published) the item also holds `pendingUntil` (the lease end, RFC 3339 UTC) and,
//! when there was a previous state, `previousFingerprint`, `previousStatus` and
//! `previousSnapshotCapturedAt`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::alert::{FindingState, StateView};
use crate::findings::Status;
use crate::guard::{Claim, ClaimOutcome, StateError, StateStore};

/// How long a claim stays pending before another invocation may take it over: longer than any
/// Lambda invocation can run (900 s at most), shorter than the queue's visibility timeout
/// (1,800 s in template.yaml), so the retry of an invocation that timed out between claiming
/// and publishing finds the lease expired and publishes the alert.
pub const DEFAULT_CLAIM_LEASE: Duration = Duration::from_secs(16 * 60);

/// The wall clock of a store (tests inject their own to expire leases).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(SystemTime::now))
    }

    pub fn new(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// The state table (partition key `pk`, string; no sort key).
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
    lease: Duration,
    clock: Clock,
}

impl DynamoStateStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStateStore {
            client,
            table: table.into(),
            lease: DEFAULT_CLAIM_LEASE,
            clock: Clock::system(),
        }
    }

    /// Another lease length (see [`DEFAULT_CLAIM_LEASE`]).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Another clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> String {
        crate::aws::time::rfc3339(self.clock.now())
    }

    /// The committed item of `state`.
    fn item(&self, claim: &Claim, state: &FindingState) -> HashMap<String, AttributeValue> {
        let s = |v: &str| AttributeValue::S(v.to_string());
        HashMap::from([
            ("pk".to_string(), s(&claim.pk())),
            ("organizationId".to_string(), s(&claim.organization_id)),
            ("findingKey".to_string(), s(&claim.finding_key)),
            ("fingerprint".to_string(), s(&state.fingerprint)),
            ("status".to_string(), s(state.status.as_str())),
            (
                "snapshotCapturedAt".to_string(),
                s(&state.snapshot_captured_at),
            ),
            ("updatedAt".to_string(), s(&self.now())),
        ])
    }

    /// The pending item of a claim: `claim.next` with the lease and the state it replaces.
    fn pending_item(&self, claim: &Claim) -> HashMap<String, AttributeValue> {
        let s = |v: &str| AttributeValue::S(v.to_string());
        let mut item = self.item(claim, &claim.next);
        let until = crate::aws::time::rfc3339(self.clock.now() + self.lease);
        item.insert("pendingUntil".to_string(), s(&until));
        if let Some(previous) = &claim.expected {
            item.insert("previousFingerprint".to_string(), s(&previous.fingerprint));
            item.insert("previousStatus".to_string(), s(previous.status.as_str()));
            item.insert(
                "previousSnapshotCapturedAt".to_string(),
                s(&previous.snapshot_captured_at),
            );
        }
        item
    }
}

/// What [`StateStore::load`] shows for one item: the item's own state, or, while its claim is
/// pending past the lease (the claiming invocation died before publishing), the state before
/// that claim (`None`: there was none), so the change is found and alerted again.
fn visible_state(
    item: &HashMap<String, AttributeValue>,
    now: &str,
) -> Option<Option<FindingState>> {
    let current = || {
        Some(FindingState {
            fingerprint: string(item, "fingerprint")?,
            status: parse_status(&string(item, "status")?)?,
            snapshot_captured_at: string(item, "snapshotCapturedAt")?,
        })
    };
    match string(item, "pendingUntil") {
        Some(until) if until.as_str() < now => match string(item, "previousFingerprint") {
            None => Some(None),
            Some(fingerprint) => Some(Some(FindingState {
                fingerprint,
                status: parse_status(&string(item, "previousStatus")?)?,
                snapshot_captured_at: string(item, "previousSnapshotCapturedAt")?,
            })),
        },
        _ => current().map(Some),
    }
}

fn error(what: &str, err: impl std::error::Error) -> StateError {
    StateError {
        message: format!("{what}: {}", DisplayErrorContext(err)),
    }
}

fn string(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(ToString::to_string)
}

fn parse_status(text: &str) -> Option<Status> {
    match text {
        "reachable" => Some(Status::Reachable),
        "blocked" => Some(Status::Blocked),
        "conditional" => Some(Status::Conditional),
        "unknown" => Some(Status::Unknown),
        _ => None,
    }
}

impl StateStore for DynamoStateStore {
    async fn load(&self, organization_id: &str) -> Result<StateView, StateError> {
        let prefix = format!("{organization_id}#");
        let now = self.now();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .filter_expression("begins_with(pk, :prefix)")
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()))
            .into_paginator()
            .send();
        let mut view = StateView::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error("reading the alert state (Scan)", e))?;
            for item in page.items() {
                let parsed = (|| {
                    let pk = string(item, "pk")?;
                    let key = pk.strip_prefix(&prefix)?.to_string();
                    Some((key, visible_state(item, &now)?))
                })();
                match parsed {
                    Some((key, Some(state))) => view.insert(key, state),
                    // An expired claim on a finding that had no state: absent.
                    Some((_, None)) => {}
                    // Not written by this code. Treated as absent, so a claim on it fails its
                    // `attribute_not_exists` condition and that finding is not alerted until
                    // the item is deleted: hence a warning naming it.
                    None => tracing::warn!(
                        pk = string(item, "pk").unwrap_or_default(),
                        "ignoring a malformed alert state item"
                    ),
                }
            }
        }
        Ok(view)
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StateError> {
        // The condition holds exactly when the item still shows `claim.expected` to `load`:
        // either as its own state (committed, or pending within the lease) or, once the lease
        // is over, as the state before the abandoned claim. Never over newer state.
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.pending_item(claim)))
            .expression_attribute_values(":now", AttributeValue::S(self.now()))
            .expression_attribute_values(
                ":captured",
                AttributeValue::S(claim.next.snapshot_captured_at.clone()),
            );
        request = match &claim.expected {
            None => request.condition_expression(
                "attribute_not_exists(pk) OR (pendingUntil < :now \
                 AND attribute_not_exists(previousFingerprint) AND snapshotCapturedAt <= :captured)",
            ),
            Some(expected) => request
                .condition_expression(
                    "snapshotCapturedAt <= :captured AND ((fingerprint = :expected \
                     AND (attribute_not_exists(pendingUntil) OR pendingUntil >= :now)) \
                     OR (pendingUntil < :now AND previousFingerprint = :expected))",
                )
                .expression_attribute_values(
                    ":expected",
                    AttributeValue::S(expected.fingerprint.clone()),
                ),
        };
        match request.send().await {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(ClaimOutcome::Lost)
            }
            Err(err) => Err(error("claiming an alert (PutItem)", err)),
        }
    }

    async fn commit(&self, claim: &Claim) -> Result<(), StateError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(claim.pk()))
            .update_expression(
                "REMOVE pendingUntil, previousFingerprint, previousStatus, previousSnapshotCapturedAt",
            )
            .condition_expression(
                "fingerprint = :claimed AND snapshotCapturedAt = :claimedAt AND attribute_exists(pendingUntil)",
            )
            .expression_attribute_values(
                ":claimed",
                AttributeValue::S(claim.next.fingerprint.clone()),
            )
            .expression_attribute_values(
                ":claimedAt",
                AttributeValue::S(claim.next.snapshot_captured_at.clone()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Superseded by a newer claim (which alerts its own change): nothing to commit.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                tracing::info!(finding_key = %claim.finding_key, "claim already superseded; nothing to commit");
                Ok(())
            }
            Err(err) => Err(error("committing an alert claim (UpdateItem)", err)),
        }
    }

    async fn release(&self, claim: &Claim) -> Result<(), StateError> {
        let condition = "fingerprint = :claimed AND snapshotCapturedAt = :claimedAt";
        let claimed = AttributeValue::S(claim.next.fingerprint.clone());
        let claimed_at = AttributeValue::S(claim.next.snapshot_captured_at.clone());
        let result = match &claim.expected {
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(claim.pk()))
                .condition_expression(condition)
                .expression_attribute_values(":claimed", claimed)
                .expression_attribute_values(":claimedAt", claimed_at)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| {
                    let lost = err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception());
                    (lost, error("rolling back an alert claim (DeleteItem)", err))
                }),
            Some(expected) => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(self.item(claim, expected)))
                .condition_expression(condition)
                .expression_attribute_values(":claimed", claimed)
                .expression_attribute_values(":claimedAt", claimed_at)
                .send()
                .await
                .map(|_| ())
                .map_err(|err| {
                    let lost = err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception());
                    (lost, error("rolling back an alert claim (PutItem)", err))
                }),
        };
        match result {
            Ok(()) => Ok(()),
            // The item moved on since our claim (a newer state): nothing of ours to undo.
            Err((true, _)) => {
                tracing::info!(finding_key = %claim.finding_key, "claim already superseded; nothing to roll back");
                Ok(())
            }
            Err((false, err)) => Err(err),
        }
    }
}
