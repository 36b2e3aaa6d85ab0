//! Fakes of the guard's ports with fault switches: a source that returns a set snapshot (or
//! fails, or hangs), a sink that records what it publishes (or fails on a part, or hangs), the
//! alert-state table and the stored snapshot in memory. Shared by the tests and `benches/guard.rs`.
#![allow(
    dead_code,
    reason = "shared by several test crates, each using part of it"
)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cris_guard::alert::{FindingState, SnsMessage, StateView};
use cris_guard::guard::{
    AlertSink, Claim, ClaimOutcome, PublishError, SnapshotSource, SnapshotStore, SourceError,
    StateError, StateStore, StoreError, Updated,
};
use cris_guard::snapshot::Snapshot;
use tokio::sync::Notify;

/// A set snapshot, or a set failure; `hang` makes the read never finish (a Lambda timing out
/// while reading) after notifying `entered`. `calls` counts the full reads; `updates` records
/// the `capturedAt` of every snapshot it was asked to update (an update answers with the set
/// organization, keeping the old snapshot's `capturedAt` as [`SnapshotSource::update`] does).
pub struct FakeSource {
    snapshot: Mutex<Result<Snapshot, SourceError>>,
    pub calls: AtomicUsize,
    pub updates: Mutex<Vec<String>>,
    pub hang: AtomicBool,
    pub entered: Notify,
}

impl FakeSource {
    pub fn new(snapshot: Snapshot) -> Self {
        FakeSource {
            snapshot: Mutex::new(Ok(snapshot)),
            calls: AtomicUsize::new(0),
            updates: Mutex::new(Vec::new()),
            hang: AtomicBool::new(false),
            entered: Notify::new(),
        }
    }

    /// The organization as the next reads see it.
    pub fn set(&self, snapshot: Snapshot) {
        *self.snapshot.lock().unwrap() = Ok(snapshot);
    }

    /// The next reads fail with `error`.
    pub fn fail(&self, error: SourceError) {
        *self.snapshot.lock().unwrap() = Err(error);
    }
}

impl SnapshotSource for FakeSource {
    async fn snapshot(&self) -> Result<Snapshot, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.hang.load(Ordering::SeqCst) {
            self.entered.notify_one();
            std::future::pending::<()>().await;
        }
        self.snapshot.lock().unwrap().clone()
    }

    async fn update(
        &self,
        old: Option<&Snapshot>,
        _event: &serde_json::Value,
    ) -> Result<Updated, SourceError> {
        let Some(old) = old else {
            let snapshot = self.snapshot().await?;
            let as_of = snapshot.captured_at.clone();
            return Ok(Updated { snapshot, as_of });
        };
        self.updates.lock().unwrap().push(old.captured_at.clone());
        let mut snapshot = self.snapshot.lock().unwrap().clone()?;
        let as_of = std::mem::replace(&mut snapshot.captured_at, old.captured_at.clone());
        Ok(Updated { snapshot, as_of })
    }
}

/// Records what was published; `fail_part` fails the publish of that part (1-based; 0: none);
/// `hang` makes publishing never finish (a Lambda timing out while publishing) after notifying
/// `entered`.
#[derive(Default)]
pub struct RecordingSink {
    messages: Mutex<Vec<SnsMessage>>,
    pub fail_part: AtomicUsize,
    pub hang: AtomicBool,
    pub entered: Notify,
}

impl RecordingSink {
    /// What was published since the last call.
    pub fn take(&self) -> Vec<SnsMessage> {
        std::mem::take(&mut *self.messages.lock().unwrap())
    }
}

impl AlertSink for RecordingSink {
    async fn publish(&self, message: &SnsMessage) -> Result<(), PublishError> {
        if self.hang.load(Ordering::SeqCst) {
            self.entered.notify_one();
            std::future::pending::<()>().await;
        }
        if self.fail_part.load(Ordering::SeqCst) == message.part {
            return Err(PublishError {
                message: "SNS Publish: InternalErrorException: service unavailable".into(),
            });
        }
        self.messages.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// DynamoDB semantics in memory: `claim` and `release` apply the same conditions as
/// `DynamoStateStore`. `stale_load` makes `load` return nothing, as if this invocation had read
/// the state before another one claimed (the race).
#[derive(Default)]
pub struct MemoryStore {
    pub items: Mutex<BTreeMap<String, FindingState>>,
    pub stale_load: AtomicBool,
    pub claims: AtomicUsize,
    pub commits: AtomicUsize,
}

impl MemoryStore {
    pub fn items(&self) -> BTreeMap<String, FindingState> {
        self.items.lock().unwrap().clone()
    }
}

impl StateStore for MemoryStore {
    async fn load(&self, organization_id: &str) -> Result<StateView, StateError> {
        if self.stale_load.load(Ordering::SeqCst) {
            return Ok(StateView::new());
        }
        let prefix = format!("{organization_id}#");
        Ok(self
            .items
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(pk, s)| Some((pk.strip_prefix(&prefix)?.to_string(), s.clone())))
            .collect())
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StateError> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        let mut items = self.items.lock().unwrap();
        let current = items.get(&claim.pk());
        let ok = match (&claim.expected, current) {
            (None, None) => true,
            (None, Some(_)) | (Some(_), None) => false,
            (Some(expected), Some(current)) => {
                current.fingerprint == expected.fingerprint
                    && current.snapshot_captured_at <= claim.next.snapshot_captured_at
            }
        };
        if !ok {
            return Ok(ClaimOutcome::Lost);
        }
        items.insert(claim.pk(), claim.next.clone());
        Ok(ClaimOutcome::Claimed)
    }

    async fn release(&self, claim: &Claim) -> Result<(), StateError> {
        let mut items = self.items.lock().unwrap();
        if items.get(&claim.pk()) == Some(&claim.next) {
            match &claim.expected {
                None => items.remove(&claim.pk()),
                Some(expected) => items.insert(claim.pk(), expected.clone()),
            };
        }
        Ok(())
    }

    async fn commit(&self, _claim: &Claim) -> Result<(), StateError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The stored snapshot in memory; `fail_save` makes storing fail (S3 down, access denied).
#[derive(Default)]
pub struct MemorySnapshots {
    pub stored: Mutex<Option<Snapshot>>,
    pub fail_save: AtomicBool,
}

impl MemorySnapshots {
    pub fn holding(snapshot: Snapshot) -> Self {
        MemorySnapshots {
            stored: Mutex::new(Some(snapshot)),
            ..MemorySnapshots::default()
        }
    }

    pub fn stored(&self) -> Option<Snapshot> {
        self.stored.lock().unwrap().clone()
    }
}

impl SnapshotStore for MemorySnapshots {
    async fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.stored())
    }

    async fn save(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        if self.fail_save.load(Ordering::SeqCst) {
            return Err(StoreError {
                message: "S3 PutObject: AccessDenied".into(),
            });
        }
        *self.stored.lock().unwrap() = Some(snapshot.clone());
        Ok(())
    }
}
