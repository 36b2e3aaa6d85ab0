//! Fault injection and concurrency through the guard's seams (issue 9): throttling storms,
//! AccessDenied on part of the organization, paginators failing midway, SNS and DynamoDB
//! errors, a Lambda killed midway through a sweep, two invocations racing on one change and an
//! out-of-order older evaluation. Each test states the outcome it proves: retried and correct,
//! `unknown` with a reason, or a failed (retryable) invocation whose retry alerts; never a wrong
//! `reachable`, never a lost alert.
//!
//! The organization faults run the real reader ([`SnapshotReader`]) over SDK clients mocked
//! with aws-smithy-mocks, answering from the blog scenario (examples/blog/snapshot.json). The
//! alert-state faults use an in-memory store with the same conditional scheme and lease as
//! `DynamoStateStore`; the tests at the end run the real DynamoDB and SNS clients against moto
//! (`MOTO_ENDPOINT`, started by scripts/test; without it they print a note and pass, unless
//! `CRIS_GUARD_REQUIRE_MOTO=1`).
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_config::retry::RetryConfig;
use aws_sdk_bedrock::operation::list_inference_profiles::ListInferenceProfilesOutput;
use aws_sdk_bedrock::types::InferenceProfileType;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_organizations::Client as OrgClient;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use cris_guard::alert::{FindingState, SnsMessage, StateView};
use cris_guard::aws::bedrock::BedrockClients;
use cris_guard::aws::reader::{NoProgress, ReadOutcome, ReaderOptions, SnapshotReader};
use cris_guard::aws::sns::SnsSink;
use cris_guard::aws::state::{Clock, DEFAULT_CLAIM_LEASE, DynamoStateStore};
use cris_guard::error::AwsError;
use cris_guard::findings::{Report, Status};
use cris_guard::guard::{
    AlertSink, Claim, ClaimOutcome, Guard, GuardError, SnapshotSource, SourceError, StateError,
    StateStore,
};
use cris_guard::lambda::{InvocationSummary, handle};
use cris_guard::reachability;
use cris_guard::snapshot::{self, Snapshot};
use serde_json::Value;
use tokio::sync::{Barrier, Notify};

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/pages.rs"]
mod pages;
#[path = "support/ports.rs"]
mod ports;
#[path = "support/state_table.rs"]
mod state_table;
#[path = "support/truth.rs"]
mod truth;
use fixtures::{ORG, REGION_DENY, SANDBOX, SECURITY, blog, config, event, fixed};
use moto::{moto, unique};
use ports::{FakeSource, RecordingSink};
use truth::{
    Truth, accounts_output, bedrock_rules, child_accounts, child_ous, describe_org_output,
    describe_policy_output, org_rules, ous_output, policies_output, roots_output,
    system_profiles_output, targets_output,
};

/// Items per page of every mocked list: one, so every list of two or more items has pages.
const PAGE: usize = 1;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn evaluate(snapshot: Snapshot) -> Report {
    let valid = snapshot::validate("test snapshot", snapshot).unwrap();
    reachability::evaluate(&valid, &config().evaluation())
}

/// Status per finding key.
fn statuses(report: &Report) -> BTreeMap<String, Status> {
    report
        .findings
        .iter()
        .map(|f| (f.key(), f.status))
        .collect()
}

/// The soundness every fault must keep: a finding of the faulty read has the status the
/// fault-free read gives it, or is `unknown` with an explanation naming `reason`. Never
/// `reachable` where the truth is not. Returns the keys that became unknown.
fn assert_sound(faulty: &Report, truth: &Report, reason: &str) -> BTreeSet<String> {
    let truth = statuses(truth);
    let mut unknown = BTreeSet::new();
    for finding in &faulty.findings {
        let key = finding.key();
        let expected = truth.get(&key).copied();
        if finding.status == Status::Unknown && expected != Some(Status::Unknown) {
            assert!(
                finding.explanation.contains(reason),
                "{key}: unknown without the reason `{reason}`: {}",
                finding.explanation
            );
            unknown.insert(key);
            continue;
        }
        assert_eq!(
            Some(finding.status),
            expected,
            "{key}: the faulty read says {:?}: {}",
            finding.status,
            finding.explanation
        );
    }
    unknown
}

fn keys_of(target: &str) -> BTreeSet<String> {
    ["us-east-1", "us-west-2"]
        .iter()
        .map(|r| format!("{target}|us.anthropic.claude-3-5-sonnet-20241022-v2:0|{r}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Mocked AWS answering from a snapshot

/// An awsJson error body as Organizations and Bedrock send it.
fn json_error(code: &str, message: &str) -> Option<String> {
    Some(format!(
        r#"{{"__type":"{code}","Message":"{message}","message":"{message}"}}"#
    ))
}

fn throttled() -> Option<String> {
    json_error(
        "TooManyRequestsException",
        "You have sent too many requests in too short a period of time. Try again later.",
    )
}

fn denied() -> Option<String> {
    json_error(
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

/// Page tokens of a list of `n` items in pages of `size`: `None` (the first page), `t<size>`, ….
fn tokens(n: usize, size: usize) -> Vec<Option<String>> {
    let mut out = vec![None];
    let mut at = size;
    while at < n {
        out.push(Some(format!("t{at}")));
        at += size;
    }
    out
}

/// Fault rules, tried before the rules answering from the truth.
#[derive(Default)]
struct Faults {
    org: Vec<Rule>,
    /// Per source Region.
    bedrock: BTreeMap<&'static str, Vec<Rule>>,
}

/// Production retry mode (adaptive) and 8 attempts like [`cris_guard::aws::reader::default_retry_config`],
/// with millisecond backoffs so the tests are quick.
fn options(captured_at: &str) -> ReaderOptions {
    let mut options = ReaderOptions::new(captured_at);
    options.retry_config = RetryConfig::adaptive()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    options
}

/// The live source over mocked AWS: a fresh read of `truth` per invocation through the real
/// reader, with the fault rules `faults()` makes (changeable between invocations).
struct MockedAws {
    truth: Truth,
    page_size: usize,
    faults: Mutex<fn() -> Faults>,
    reads: AtomicUsize,
}

impl MockedAws {
    fn new(truth: Snapshot, faults: fn() -> Faults) -> Self {
        MockedAws {
            truth: Truth::new(truth),
            page_size: PAGE,
            faults: Mutex::new(faults),
            reads: AtomicUsize::new(0),
        }
    }

    fn set_faults(&self, faults: fn() -> Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    async fn read(&self) -> Result<ReadOutcome, AwsError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let faults = (*self.faults.lock().unwrap())();
        let mut rules = faults.org;
        rules.extend(org_rules(&self.truth, self.page_size));
        let org = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &rules, |c| c
            .time_source(SystemTimeSource::new()));
        let mut clients = BTreeMap::new();
        let mut bedrock_faults = faults.bedrock;
        let truth = self.truth.get();
        for region in truth.inference_profiles.keys() {
            let mut rules = bedrock_faults.remove(region.as_str()).unwrap_or_default();
            rules.extend(bedrock_rules(&self.truth, region));
            let client = mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, &rules, |c| c
                .time_source(SystemTimeSource::new()));
            clients.insert(region.clone(), client);
        }
        SnapshotReader::from_clients(
            org,
            BedrockClients::from_clients(clients),
            options(&truth.captured_at),
        )
        .read(&NoProgress)
        .await
    }
}

impl SnapshotSource for MockedAws {
    async fn snapshot(&self) -> Result<Snapshot, SourceError> {
        self.read()
            .await
            .map(|outcome| outcome.snapshot)
            .map_err(|err| SourceError {
                message: err.to_string(),
            })
    }
}

/// Reads with `faults`, checks the snapshot validates, and evaluates it.
async fn read_and_evaluate(faults: fn() -> Faults) -> (ReadOutcome, Report) {
    let outcome = MockedAws::new(blog(), faults).read().await.unwrap();
    let report = evaluate(outcome.snapshot.clone());
    (outcome, report)
}

// ---------------------------------------------------------------------------------------------
// In-memory seams with fault switches

#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    state: FindingState,
    /// Lease end (seconds on the store's clock) while the claim is not committed.
    pending_until: Option<u64>,
    previous: Option<FindingState>,
}

/// `DynamoStateStore`'s scheme in memory, clock included, with fault switches:
/// `fail_load`, `claims_before_error` (claims that succeed before every further claim errors),
/// `fail_release`, `fail_commit`, and `load_barrier` (every invocation waits there after
/// loading: two invocations both read the state before either claims).
struct LeaseStore {
    items: Mutex<BTreeMap<String, Item>>,
    now: AtomicU64,
    lease: u64,
    fail_load: AtomicBool,
    claims_before_error: AtomicUsize,
    fail_release: AtomicBool,
    fail_commit: AtomicBool,
    load_barrier: Option<Barrier>,
}

impl LeaseStore {
    fn new() -> Self {
        LeaseStore {
            items: Mutex::new(BTreeMap::new()),
            now: AtomicU64::new(1_000_000),
            lease: DEFAULT_CLAIM_LEASE.as_secs(),
            fail_load: AtomicBool::new(false),
            claims_before_error: AtomicUsize::new(usize::MAX),
            fail_release: AtomicBool::new(false),
            fail_commit: AtomicBool::new(false),
            load_barrier: None,
        }
    }

    fn with_barrier(parties: usize) -> Self {
        LeaseStore {
            load_barrier: Some(Barrier::new(parties)),
            ..LeaseStore::new()
        }
    }

    fn now(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    /// Moves the clock past every lease taken so far.
    fn expire_leases(&self) {
        self.now.fetch_add(self.lease + 1, Ordering::SeqCst);
    }

    fn items(&self) -> BTreeMap<String, Item> {
        self.items.lock().unwrap().clone()
    }

    fn pending(&self) -> usize {
        self.items()
            .values()
            .filter(|i| i.pending_until.is_some())
            .count()
    }

    /// What `load` shows for an item: `None` outer when absent.
    fn visible(item: &Item, now: u64) -> Option<FindingState> {
        match item.pending_until {
            Some(until) if until < now => item.previous.clone(),
            _ => Some(item.state.clone()),
        }
    }
}

impl StateStore for LeaseStore {
    async fn load(&self, organization_id: &str) -> Result<StateView, StateError> {
        if self.fail_load.load(Ordering::SeqCst) {
            return Err(StateError {
                message: "reading the alert state (Scan): ProvisionedThroughputExceededException"
                    .into(),
            });
        }
        let prefix = format!("{organization_id}#");
        let now = self.now();
        let view = self
            .items
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(pk, item)| {
                Some((
                    pk.strip_prefix(&prefix)?.to_string(),
                    LeaseStore::visible(item, now)?,
                ))
            })
            .collect();
        if let Some(barrier) = &self.load_barrier {
            barrier.wait().await;
        }
        Ok(view)
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StateError> {
        let left = self.claims_before_error.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StateError {
                message: "claiming an alert (PutItem): InternalServerError".into(),
            });
        }
        if left != usize::MAX {
            self.claims_before_error.store(left - 1, Ordering::SeqCst);
        }
        let now = self.now();
        let mut items = self.items.lock().unwrap();
        let ok = match items.get(&claim.pk()) {
            None => claim.expected.is_none(),
            // What `load` shows must still be what the claim expects (by fingerprint), and the
            // item must not be from a newer snapshot: DynamoStateStore's condition.
            Some(item) => {
                LeaseStore::visible(item, now).map(|v| v.fingerprint)
                    == claim.expected.as_ref().map(|e| e.fingerprint.clone())
                    && item.state.snapshot_captured_at <= claim.next.snapshot_captured_at
            }
        };
        if !ok {
            return Ok(ClaimOutcome::Lost);
        }
        items.insert(
            claim.pk(),
            Item {
                state: claim.next.clone(),
                pending_until: Some(now + self.lease),
                previous: claim.expected.clone(),
            },
        );
        Ok(ClaimOutcome::Claimed)
    }

    async fn release(&self, claim: &Claim) -> Result<(), StateError> {
        if self.fail_release.load(Ordering::SeqCst) {
            return Err(StateError {
                message: "rolling back an alert claim (PutItem): InternalServerError".into(),
            });
        }
        let mut items = self.items.lock().unwrap();
        if items.get(&claim.pk()).map(|i| &i.state) == Some(&claim.next) {
            match &claim.expected {
                None => items.remove(&claim.pk()),
                Some(expected) => items.insert(
                    claim.pk(),
                    Item {
                        state: expected.clone(),
                        pending_until: None,
                        previous: None,
                    },
                ),
            };
        }
        Ok(())
    }

    async fn commit(&self, claim: &Claim) -> Result<(), StateError> {
        if self.fail_commit.load(Ordering::SeqCst) {
            return Err(StateError {
                message: "committing an alert claim (UpdateItem): InternalServerError".into(),
            });
        }
        let mut items = self.items.lock().unwrap();
        if let Some(item) = items.get_mut(&claim.pk())
            && item.state == claim.next
        {
            item.pending_until = None;
            item.previous = None;
        }
        Ok(())
    }
}

/// The finding keys of the changes in published messages, with how often each was published.
fn published_changes(messages: &[SnsMessage]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in messages {
        let full: Value = serde_json::from_str(&m.json).unwrap();
        for change in full["changes"].as_array().unwrap() {
            let f = &change["finding"];
            let key = format!(
                "{}|{}|{}",
                f["targetId"].as_str().unwrap(),
                f["profileId"].as_str().unwrap(),
                f["sourceRegion"].as_str().unwrap()
            );
            *out.entry(key).or_default() += 1;
        }
    }
    out
}

fn change_kinds(messages: &[SnsMessage]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for m in messages {
        let full: Value = serde_json::from_str(&m.json).unwrap();
        for change in full["changes"].as_array().unwrap() {
            let f = &change["finding"];
            out.insert(
                format!(
                    "{}|{}|{}",
                    f["targetId"].as_str().unwrap(),
                    f["profileId"].as_str().unwrap(),
                    f["sourceRegion"].as_str().unwrap()
                ),
                change["change"].as_str().unwrap().to_string(),
            );
        }
    }
    out
}

/// Every change of a first evaluation of `snapshot`, by finding key (not reachable findings).
fn first_run_keys(snapshot: Snapshot) -> BTreeSet<String> {
    evaluate(snapshot)
        .findings
        .iter()
        .filter(|f| f.status != Status::Reachable)
        .map(|f| f.key())
        .collect()
}

fn once_each(keys: &BTreeSet<String>) -> BTreeMap<String, usize> {
    keys.iter().map(|k| (k.clone(), 1)).collect()
}

// ---------------------------------------------------------------------------------------------
// Throttling storms

/// A throttling storm: every request the reader makes (each page of each list, each policy,
/// each Region and profile type) is throttled `k` times before it is answered. A retry stays on
/// the rule its request matched, so each request gets its own rule: `k` throttles, then the
/// answer from the blog scenario (pages of [`PAGE`]).
fn storm(k: usize) -> Faults {
    let t = Arc::new(blog());
    let throttle = |status| {
        if status == 429 {
            json_error(
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            )
        } else {
            throttled()
        }
    };
    let mut org = Vec::new();
    let out = describe_org_output(&t);
    org.push(
        mock!(OrgClient::describe_organization)
            .sequence()
            .http_status(400, throttle(400))
            .times(k)
            .output(move || out.clone())
            .build(),
    );
    let out = roots_output(&t);
    org.push(
        mock!(OrgClient::list_roots)
            .sequence()
            .http_status(400, throttle(400))
            .times(k)
            .output(move || out.clone())
            .build(),
    );
    let containers: Vec<String> = t
        .roots
        .iter()
        .map(|r| r.id.clone())
        .chain(t.organizational_units.iter().map(|o| o.id.clone()))
        .collect();
    for parent in containers {
        for token in tokens(child_ous(&t, &parent).len(), PAGE) {
            let out = ous_output(&t, &parent, token.as_deref(), PAGE);
            let (p, tk) = (parent.clone(), token.clone());
            org.push(
                mock!(OrgClient::list_organizational_units_for_parent)
                    .match_requests(move |i| {
                        i.parent_id() == Some(p.as_str()) && i.next_token() == tk.as_deref()
                    })
                    .sequence()
                    .http_status(400, throttle(400))
                    .times(k)
                    .output(move || out.clone())
                    .build(),
            );
        }
        for token in tokens(child_accounts(&t, &parent).len(), PAGE) {
            let out = accounts_output(&t, &parent, token.as_deref(), PAGE);
            let (p, tk) = (parent.clone(), token.clone());
            org.push(
                mock!(OrgClient::list_accounts_for_parent)
                    .match_requests(move |i| {
                        i.parent_id() == Some(p.as_str()) && i.next_token() == tk.as_deref()
                    })
                    .sequence()
                    .http_status(400, throttle(400))
                    .times(k)
                    .output(move || out.clone())
                    .build(),
            );
        }
    }
    for token in tokens(t.policies.len(), PAGE) {
        let out = policies_output(&t, token.as_deref(), PAGE);
        org.push(
            mock!(OrgClient::list_policies)
                .match_requests(move |i| i.next_token() == token.as_deref())
                .sequence()
                .http_status(400, throttle(400))
                .times(k)
                .output(move || out.clone())
                .build(),
        );
    }
    for p in &t.policies {
        let out = describe_policy_output(&t, Some(&p.id));
        let id = p.id.clone();
        org.push(
            mock!(OrgClient::describe_policy)
                .match_requests(move |i| i.policy_id() == Some(id.as_str()))
                .sequence()
                .http_status(400, throttle(400))
                .times(k)
                .output(move || out.clone())
                .build(),
        );
        for token in tokens(p.targets.len(), PAGE) {
            let out = targets_output(&t, Some(&p.id), token.as_deref(), PAGE);
            let id = p.id.clone();
            org.push(
                mock!(OrgClient::list_targets_for_policy)
                    .match_requests(move |i| {
                        i.policy_id() == Some(id.as_str()) && i.next_token() == token.as_deref()
                    })
                    .sequence()
                    .http_status(400, throttle(400))
                    .times(k)
                    .output(move || out.clone())
                    .build(),
            );
        }
    }
    let mut bedrock = BTreeMap::new();
    for region in ["us-east-1", "us-west-2"] {
        let out = system_profiles_output(&t, region);
        let system = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
            .match_requests(|i| i.type_equals() == Some(&InferenceProfileType::SystemDefined))
            .sequence()
            .http_status(429, throttle(429))
            .times(k)
            .output(move || out.clone())
            .build();
        let application = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
            .match_requests(|i| i.type_equals() == Some(&InferenceProfileType::Application))
            .sequence()
            .http_status(429, throttle(429))
            .times(k)
            .output(|| ListInferenceProfilesOutput::builder().build())
            .build();
        bedrock.insert(region, vec![system, application]);
    }
    Faults { org, bedrock }
}

#[tokio::test]
async fn the_mocked_organization_reads_back_as_the_blog_snapshot() {
    // The baseline every fault is compared with: no fault, no gap, the same findings.
    let (outcome, report) = read_and_evaluate(Faults::default).await;
    assert_eq!(outcome.snapshot.gaps, vec![]);
    assert_eq!(statuses(&report), statuses(&evaluate(blog())));
    assert_eq!(outcome.stats.total_retries(), 0);
    // Pages of one: every list was followed to its end.
    assert_eq!(outcome.stats.calls("ListTargetsForPolicy"), 8 + 2);
}

#[tokio::test]
async fn a_throttling_storm_on_every_operation_is_retried_and_the_result_is_correct() {
    // Every request is throttled before it is answered. Once each: the adaptive retry mode's
    // client-side rate limiter slows the whole read down after each throttle (by design), so
    // more throttles per request only make this test slower, not different (see
    // `throttling_beyond_the_retries_...` for a call that never gets through).
    let (outcome, report) = read_and_evaluate(|| storm(1)).await;
    assert_eq!(
        outcome.snapshot.gaps,
        vec![],
        "a storm within the retries leaves no gap"
    );
    assert_eq!(statuses(&report), statuses(&evaluate(blog())));
    let stats = &outcome.stats;
    for op in [
        "DescribeOrganization",
        "ListRoots",
        "ListOrganizationalUnitsForParent",
        "ListAccountsForParent",
        "ListPolicies",
        "DescribePolicy",
        "ListTargetsForPolicy",
        "ListInferenceProfiles",
    ] {
        assert!(stats.calls(op) > 0, "{op}: {stats}");
        assert_eq!(stats.retries(op), stats.calls(op), "{op}: {stats}");
    }
}

#[tokio::test]
async fn throttling_beyond_the_retries_on_the_region_deny_makes_its_targets_unknown_not_reachable()
{
    // DescribePolicy of the Region deny never succeeds. Leaving the policy out silently would
    // make Sandbox and Security reachable; instead both are unknown, naming the throttling.
    let (outcome, report) = read_and_evaluate(|| Faults {
        org: vec![
            mock!(OrgClient::describe_policy)
                .match_requests(|i| i.policy_id() == Some(REGION_DENY))
                .sequence()
                .http_status(400, throttled())
                .repeatedly()
                .build(),
        ],
        ..Faults::default()
    })
    .await;
    assert_eq!(
        outcome.stats.retries("DescribePolicy"),
        7,
        "{}",
        outcome.stats
    );
    // An SCP that could not be read is not in the snapshot, so where it is attached is
    // unknown: every target SCPs apply to is unknown (Org::gap_for). SCPs never apply to the
    // management account, so an unread one cannot change its findings.
    let unknown = assert_sound(&report, &evaluate(blog()), "TooManyRequestsException");
    assert!(unknown.is_superset(&keys_of(SANDBOX)) && unknown.is_superset(&keys_of(SECURITY)));
    let management = &outcome.snapshot.organization.management_account_id;
    for finding in &report.findings {
        let want = if &finding.target_id == management {
            Status::Reachable
        } else {
            Status::Unknown
        };
        assert_eq!(finding.status, want, "{finding:#?}");
    }
}

#[tokio::test]
async fn a_storm_on_describe_organization_fails_the_invocation_and_the_retry_alerts() {
    let aws = MockedAws::new(blog(), || Faults {
        org: vec![
            mock!(OrgClient::describe_organization)
                .sequence()
                .http_status(400, throttled())
                .repeatedly()
                .build(),
        ],
        ..Faults::default()
    });
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&aws, &store, &sink);
    let err = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::Source(_)), "{err}");
    assert!(
        err.to_string().contains("TooManyRequestsException"),
        "{err}"
    );
    assert!(err.retryable());
    assert!(sink.take().is_empty());
    assert!(store.items().is_empty());

    // The retry, once the storm is over, alerts every problem of the organization.
    aws.set_faults(Faults::default);
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        published_changes(&sink.take()),
        once_each(&first_run_keys(blog()))
    );
}

// ---------------------------------------------------------------------------------------------
// AccessDenied on part of the organization

#[tokio::test]
async fn access_denied_on_sandbox_makes_sandbox_unknown_and_the_rest_correct() {
    let faults = || Faults {
        org: vec![
            mock!(OrgClient::list_accounts_for_parent)
                .match_requests(|i| i.parent_id() == Some(SANDBOX))
                .sequence()
                .http_status(400, denied())
                .repeatedly()
                .build(),
        ],
        ..Faults::default()
    };
    let (outcome, report) = read_and_evaluate(faults).await;
    assert_eq!(
        outcome.stats.total_retries(),
        0,
        "AccessDenied is not retried"
    );
    let unknown = assert_sound(&report, &evaluate(blog()), "AccessDeniedException");
    assert_eq!(unknown, keys_of(SANDBOX));
    // Security is still decided (blocked by the Region deny in us-west-2, as without the fault).
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.target_id == SECURITY && f.status == Status::Blocked)
    );

    // Through the guard: the alert says Sandbox is unknown and why.
    let aws = MockedAws::new(blog(), faults);
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&aws, &store, &sink);
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    let messages = sink.take();
    let kinds = change_kinds(&messages);
    for key in keys_of(SANDBOX) {
        assert_eq!(
            kinds.get(&key).map(String::as_str),
            Some("newlyUnknown"),
            "{kinds:?}"
        );
    }
    assert!(messages[0].json.contains("AccessDeniedException"));
}

#[tokio::test]
async fn access_denied_on_bedrock_in_one_region_makes_that_region_unknown() {
    let (outcome, report) = read_and_evaluate(|| Faults {
        bedrock: BTreeMap::from([(
            "us-west-2",
            vec![
                mock!(aws_sdk_bedrock::Client::list_inference_profiles)
                    .sequence()
                    .http_status(403, denied())
                    .repeatedly()
                    .build(),
            ],
        )]),
        ..Faults::default()
    })
    .await;
    assert!(!outcome.snapshot.gaps.is_empty());
    let truth = evaluate(blog());
    let truth_west: Vec<_> = truth
        .findings
        .iter()
        .filter(|f| f.source_region == "us-west-2")
        .collect();
    assert!(!truth_west.is_empty());
    for f in report
        .findings
        .iter()
        .filter(|f| f.source_region == "us-west-2")
    {
        assert_eq!(f.status, Status::Unknown, "{}: {}", f.key(), f.explanation);
        assert!(
            f.explanation.contains("AccessDeniedException"),
            "{}",
            f.explanation
        );
    }
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.source_region == "us-west-2" && f.status == Status::Unknown)
    );
    // us-east-1 is decided as without the fault.
    let east = |r: &Report| -> BTreeMap<String, Status> {
        statuses(r)
            .into_iter()
            .filter(|(k, _)| k.ends_with("|us-east-1"))
            .collect()
    };
    assert_eq!(east(&report), east(&truth));
}

// ---------------------------------------------------------------------------------------------
// Paginators failing midway

#[tokio::test]
async fn the_targets_of_the_region_deny_failing_on_page_two_make_everything_unknown() {
    // Pages of one target: p-abcd1234 targets Sandbox (page 1) and Security (page 2). Which
    // targets are missing is unknown, so the whole organization is.
    let (_, report) = read_and_evaluate(|| Faults {
        org: vec![
            mock!(OrgClient::list_targets_for_policy)
                .match_requests(|i| {
                    i.policy_id() == Some(REGION_DENY) && i.next_token() == Some("t1")
                })
                .sequence()
                .http_status(400, denied())
                .repeatedly()
                .build(),
        ],
        ..Faults::default()
    })
    .await;
    let unknown = assert_sound(
        &report,
        &evaluate(blog()),
        "ListTargetsForPolicy failed after 1 page",
    );
    assert!(!unknown.is_empty());
    assert!(report.findings.iter().all(|f| f.status == Status::Unknown));
}

#[tokio::test]
async fn list_policies_failing_on_page_two_makes_everything_unknown() {
    let (outcome, report) = read_and_evaluate(|| Faults {
        org: vec![
            mock!(OrgClient::list_policies)
                .match_requests(|i| i.next_token() == Some("t1"))
                .sequence()
                .http_status(400, throttled())
                .repeatedly()
                .build(),
        ],
        ..Faults::default()
    })
    .await;
    assert_eq!(outcome.snapshot.policies.len(), 1, "the first page is kept");
    assert_sound(
        &report,
        &evaluate(blog()),
        "ListPolicies organization failed after 1 page",
    );
    assert!(report.findings.iter().all(|f| f.status == Status::Unknown));
}

#[tokio::test]
async fn the_accounts_of_security_failing_on_page_two_make_security_unknown() {
    // Security holds two accounts, one per page; the second page fails.
    let (outcome, report) = read_and_evaluate(|| Faults {
        org: vec![
            mock!(OrgClient::list_accounts_for_parent)
                .match_requests(|i| i.parent_id() == Some(SECURITY) && i.next_token() == Some("t1"))
                .sequence()
                .http_status(
                    400,
                    json_error(
                        "InvalidInputException",
                        "You provided a token that isn't valid.",
                    ),
                )
                .repeatedly()
                .build(),
        ],
        ..Faults::default()
    })
    .await;
    let security_accounts = outcome
        .snapshot
        .accounts
        .iter()
        .filter(|a| a.parent_id == SECURITY)
        .count();
    assert_eq!(security_accounts, 1, "the account of page one is kept");
    let unknown = assert_sound(&report, &evaluate(blog()), "failed after 1 page");
    assert_eq!(unknown, keys_of(SECURITY));
}

// ---------------------------------------------------------------------------------------------
// SNS errors

// A publish failing on part 1 (the whole alert) is tests/lambda_handler.rs
// `a_publish_failure_rolls_back_so_the_retry_alerts`; against real SNS (a missing topic) it is
// `moto_sns_and_dynamodb_errors_fail_the_invocation_and_the_retry_alerts` below.

// ---------------------------------------------------------------------------------------------
// DynamoDB errors

#[tokio::test]
async fn dynamodb_failing_to_load_fails_the_invocation_and_publishes_nothing() {
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    store.fail_load.store(true, Ordering::SeqCst);
    let err = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::State(_)), "{err}");
    assert!(err.retryable());
    assert!(sink.take().is_empty());

    store.fail_load.store(false, Ordering::SeqCst);
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        published_changes(&sink.take()),
        once_each(&first_run_keys(blog()))
    );
}

#[tokio::test]
async fn dynamodb_failing_midway_through_the_claims_rolls_back_and_the_retry_alerts() {
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    store.claims_before_error.store(1, Ordering::SeqCst);
    let err = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::State(_)), "{err}");
    assert!(
        sink.take().is_empty(),
        "nothing published on a failed claim"
    );
    assert!(
        store.items().is_empty(),
        "the claim that succeeded was rolled back"
    );

    store
        .claims_before_error
        .store(usize::MAX, Ordering::SeqCst);
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        published_changes(&sink.take()),
        once_each(&first_run_keys(blog()))
    );
}

#[tokio::test]
async fn a_failed_rollback_after_an_sns_error_is_alerted_once_the_lease_expires() {
    // SNS fails, then DynamoDB fails the rollback: the claims stay behind. Before leases this
    // alert was lost for good (the next run saw the claimed state and found no change).
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    sink.fail_part.store(1, Ordering::SeqCst);
    store.fail_release.store(true, Ordering::SeqCst);
    let err = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap_err();
    let expected = first_run_keys(blog());
    assert!(
        matches!(err, GuardError::Publish { rolled_back: 0, not_rolled_back, .. } if not_rolled_back == expected.len()),
        "{err}"
    );
    sink.fail_part.store(0, Ordering::SeqCst);
    store.fail_release.store(false, Ordering::SeqCst);

    // A retry within the lease cannot tell a dead claimer from a slow one: it waits.
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(summary.run.messages_published, 0);
    // After the lease, the next run alerts.
    store.expire_leases();
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(published_changes(&sink.take()), once_each(&expected));
    assert_eq!(store.pending(), 0);
}

#[tokio::test]
async fn a_failed_commit_after_publishing_repeats_the_alert_after_the_lease_never_loses_it() {
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    store.fail_commit.store(true, Ordering::SeqCst);
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    let expected = first_run_keys(blog());
    assert_eq!(summary.run.uncommitted, expected.len());
    assert_eq!(published_changes(&sink.take()), once_each(&expected));
    store.fail_commit.store(false, Ordering::SeqCst);
    store.expire_leases();
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        published_changes(&sink.take()),
        once_each(&expected),
        "at least once: repeated, not lost"
    );
    store.expire_leases();
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert!(sink.take().is_empty(), "committed now");
}

// ---------------------------------------------------------------------------------------------
// A Lambda timeout midway through a sweep

/// Runs `handle` until `entered` fires (the invocation is stuck in a seam), then drops it: what
/// the Lambda runtime does to an invocation that reaches its timeout.
async fn kill_when_stuck<S, T, A>(guard: &Guard<S, T, A>, entered: &Notify, payload: &Value)
where
    S: SnapshotSource,
    T: StateStore,
    A: AlertSink,
{
    tokio::select! {
        biased;
        () = entered.notified() => {}
        result = handle(guard, payload) => panic!("the invocation was meant to hang: {result:?}"),
    }
}

#[tokio::test]
async fn a_timeout_while_reading_changes_nothing_and_the_retry_alerts() {
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    source.hang.store(true, Ordering::SeqCst);
    kill_when_stuck(&guard, &source.entered, &event("scheduled-sweep.json")).await;
    assert!(store.items().is_empty());
    assert!(sink.take().is_empty());

    source.hang.store(false, Ordering::SeqCst);
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        published_changes(&sink.take()),
        once_each(&first_run_keys(blog()))
    );
}

#[tokio::test]
async fn a_timeout_between_claiming_and_publishing_is_alerted_by_the_next_run_after_the_lease() {
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    let expected = first_run_keys(blog());
    sink.hang.store(true, Ordering::SeqCst);
    kill_when_stuck(&guard, &sink.entered, &event("scheduled-sweep.json")).await;
    assert!(sink.take().is_empty(), "killed before anything went out");
    assert_eq!(
        store.pending(),
        expected.len(),
        "the claims stay behind, pending"
    );

    // Within the lease (the claimer might still be publishing): no duplicate.
    sink.hang.store(false, Ordering::SeqCst);
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        (summary.run.changes, summary.run.messages_published),
        (0, 0)
    );

    // After it (the SQS retry comes after the 30-minute visibility timeout; the next sweep in
    // any case): the alert goes out, once.
    store.expire_leases();
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(summary.run.claimed, expected.len());
    assert_eq!(published_changes(&sink.take()), once_each(&expected));
    assert_eq!(store.pending(), 0);
    store.expire_leases();
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert!(sink.take().is_empty());
}

#[tokio::test]
async fn a_timeout_while_publishing_a_fix_is_alerted_as_the_fix_after_the_lease() {
    // The stored state is "blocked"; the fix's claims are left pending by a killed invocation.
    // After the lease the state shows "blocked" again, so the fix is found and alerted.
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    sink.take();
    source.set(fixed());
    sink.hang.store(true, Ordering::SeqCst);
    kill_when_stuck(
        &guard,
        &sink.entered,
        &event("organizations-detach-policy.json"),
    )
    .await;
    sink.hang.store(false, Ordering::SeqCst);
    store.expire_leases();
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    let kinds = change_kinds(&sink.take());
    for key in keys_of(SANDBOX) {
        assert_eq!(
            kinds.get(&key).map(String::as_str),
            Some("fixed"),
            "{kinds:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test]
async fn two_invocations_racing_on_the_same_change_publish_each_change_once() {
    // Both read the organization and the state before either claims (a barrier after load).
    let first = FakeSource::new(blog());
    let second = FakeSource::new(blog());
    let store = LeaseStore::with_barrier(2);
    let sink = RecordingSink::default();
    let a = config().guard(&first, &store, &sink);
    let b = config().guard(&second, &store, &sink);
    let payload = event("organizations-attach-policy.json");
    let (ra, rb) = tokio::join!(handle(&a, &payload), handle(&b, &payload));
    let (ra, rb): (InvocationSummary, InvocationSummary) = (ra.unwrap(), rb.unwrap());
    let expected = first_run_keys(blog());
    assert_eq!(ra.run.changes, expected.len(), "both saw every change");
    assert_eq!(rb.run.changes, expected.len());
    assert_eq!(ra.run.claimed + rb.run.claimed, expected.len());
    assert_eq!(ra.run.lost + rb.run.lost, expected.len());
    assert_eq!(published_changes(&sink.take()), once_each(&expected));
}

#[tokio::test]
async fn an_older_evaluation_arriving_late_never_overwrites_newer_state() {
    let source = FakeSource::new(blog());
    let store = LeaseStore::new();
    let sink = RecordingSink::default();
    let guard = config().guard(&source, &store, &sink);
    handle(&guard, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    source.set(fixed());
    handle(&guard, &event("organizations-detach-policy.json"))
        .await
        .unwrap();
    sink.take();
    let newer = store.items();

    // The slow invocation of the attach event evaluates its (older) read now.
    source.set(blog());
    let summary = handle(&guard, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(summary.run.claimed, 0);
    assert!(sink.take().is_empty());
    assert_eq!(store.items(), newer);
}

// ---------------------------------------------------------------------------------------------
// The real DynamoDB and SNS clients against moto

async fn create_table(ddb: &aws_sdk_dynamodb::Client) -> String {
    let table = unique("cris-guard-faults");
    state_table::create_state_table(ddb, &table).await;
    table
}

/// A clock the test moves: a fixed start plus `offset` seconds.
fn manual_clock() -> (Clock, Arc<AtomicU64>) {
    let offset = Arc::new(AtomicU64::new(0));
    let o = offset.clone();
    let start = UNIX_EPOCH + Duration::from_secs(1_795_910_400);
    (
        Clock::new(move || start + Duration::from_secs(o.load(Ordering::SeqCst))),
        offset,
    )
}

/// A store that waits at a barrier after each load (so two invocations both load first).
struct Gated<'a> {
    inner: &'a DynamoStateStore,
    barrier: &'a Barrier,
}

impl StateStore for Gated<'_> {
    async fn load(&self, organization_id: &str) -> Result<StateView, StateError> {
        let view = self.inner.load(organization_id).await;
        self.barrier.wait().await;
        view
    }
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StateError> {
        self.inner.claim(claim).await
    }
    async fn release(&self, claim: &Claim) -> Result<(), StateError> {
        self.inner.release(claim).await
    }
    async fn commit(&self, claim: &Claim) -> Result<(), StateError> {
        self.inner.commit(claim).await
    }
}

#[tokio::test]
async fn moto_a_timeout_between_claiming_and_publishing_is_alerted_after_the_lease() {
    let Some(conf) = moto().await else {
        return;
    };
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let table = create_table(&ddb).await;
    let (clock, offset) = manual_clock();
    let store = DynamoStateStore::new(ddb.clone(), &table).with_clock(clock);
    let source = FakeSource::new(blog());
    let sink = RecordingSink::default();
    let guard = config().guard(&source, store.clone(), &sink);
    let expected = first_run_keys(blog());

    sink.hang.store(true, Ordering::SeqCst);
    kill_when_stuck(&guard, &sink.entered, &event("scheduled-sweep.json")).await;
    sink.hang.store(false, Ordering::SeqCst);
    let pk = format!("{ORG}#{}", expected.iter().next().unwrap());
    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(pk.clone()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(
        item["pendingUntil"],
        AttributeValue::S("2026-11-29T00:16:00Z".into()),
        "claimed with a 16-minute lease"
    );
    assert!(
        !item.contains_key("previousFingerprint"),
        "nothing stored before"
    );

    // Within the lease: the claim counts as taken.
    offset.store(DEFAULT_CLAIM_LEASE.as_secs(), Ordering::SeqCst);
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        (summary.run.changes, summary.run.messages_published),
        (0, 0)
    );
    assert!(store.load(ORG).await.unwrap().len() == expected.len());

    // After it: alerted once, committed (the lease attributes removed).
    offset.store(DEFAULT_CLAIM_LEASE.as_secs() + 1, Ordering::SeqCst);
    assert!(
        store.load(ORG).await.unwrap().is_empty(),
        "expired claims show the state before"
    );
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(summary.run.claimed, expected.len());
    assert_eq!(summary.run.uncommitted, 0);
    assert_eq!(published_changes(&sink.take()), once_each(&expected));
    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(!item.item().unwrap().contains_key("pendingUntil"));
    offset.store(10 * DEFAULT_CLAIM_LEASE.as_secs(), Ordering::SeqCst);
    let summary = handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    assert_eq!(
        (summary.run.changes, summary.run.messages_published),
        (0, 0)
    );

    // A fix killed while publishing: after the lease the previous (blocked) state shows, and
    // the fix is alerted.
    source.set(fixed());
    sink.hang.store(true, Ordering::SeqCst);
    kill_when_stuck(
        &guard,
        &sink.entered,
        &event("organizations-detach-policy.json"),
    )
    .await;
    sink.hang.store(false, Ordering::SeqCst);
    let view = store.load(ORG).await.unwrap();
    let sandbox = keys_of(SANDBOX).into_iter().next().unwrap();
    assert_eq!(
        view.get(&sandbox).unwrap().status,
        Status::Reachable,
        "pending fix"
    );
    offset.fetch_add(DEFAULT_CLAIM_LEASE.as_secs() + 1, Ordering::SeqCst);
    let view = store.load(ORG).await.unwrap();
    assert_eq!(
        view.get(&sandbox).unwrap().status,
        Status::Blocked,
        "expired: the state before"
    );
    handle(&guard, &event("scheduled-sweep.json"))
        .await
        .unwrap();
    let kinds = change_kinds(&sink.take());
    assert_eq!(
        kinds.get(&sandbox).map(String::as_str),
        Some("fixed"),
        "{kinds:?}"
    );

    let _ = ddb.delete_table().table_name(&table).send().await;
}

#[tokio::test]
async fn moto_two_invocations_racing_publish_each_change_once_and_older_state_never_wins() {
    let Some(conf) = moto().await else {
        return;
    };
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let table = create_table(&ddb).await;
    let store = DynamoStateStore::new(ddb.clone(), &table);
    let barrier = Barrier::new(2);
    let first = FakeSource::new(blog());
    let second = FakeSource::new(blog());
    let sink = RecordingSink::default();
    let gate = || Gated {
        inner: &store,
        barrier: &barrier,
    };
    let a = config().guard(&first, gate(), &sink);
    let b = config().guard(&second, gate(), &sink);
    let payload = event("organizations-attach-policy.json");
    let (ra, rb) = tokio::join!(handle(&a, &payload), handle(&b, &payload));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let expected = first_run_keys(blog());
    assert_eq!(
        (ra.run.changes, rb.run.changes),
        (expected.len(), expected.len())
    );
    assert_eq!(
        ra.run.claimed + rb.run.claimed,
        expected.len(),
        "{ra:?} {rb:?}"
    );
    assert_eq!(published_changes(&sink.take()), once_each(&expected));

    // A newer read (the fix), then the older read arriving late: it changes nothing.
    let guard = config().guard(&first, store.clone(), &sink);
    first.set(fixed());
    handle(&guard, &event("organizations-detach-policy.json"))
        .await
        .unwrap();
    sink.take();
    let newer = store.load(ORG).await.unwrap();
    first.set(blog());
    let summary = handle(&guard, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(
        (summary.run.claimed, summary.run.messages_published),
        (0, 0)
    );
    assert!(sink.take().is_empty());
    assert_eq!(store.load(ORG).await.unwrap(), newer);

    let _ = ddb.delete_table().table_name(&table).send().await;
}

#[tokio::test]
async fn moto_sns_and_dynamodb_errors_fail_the_invocation_and_the_retry_alerts() {
    let Some(conf) = moto().await else {
        return;
    };
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let sns = aws_sdk_sns::Client::new(&conf);
    let source = FakeSource::new(blog());
    let payload = event("scheduled-sweep.json");

    // DynamoDB: the table does not exist (ResourceNotFoundException). Nothing is published.
    let recorder = RecordingSink::default();
    let missing = DynamoStateStore::new(ddb.clone(), unique("no-such-table"));
    let guard = config().guard(&source, missing, &recorder);
    let err = handle(&guard, &payload).await.unwrap_err();
    assert!(matches!(err, GuardError::State(_)), "{err}");
    assert!(err.to_string().contains("ResourceNotFound"), "{err}");
    assert!(err.retryable());
    assert!(recorder.take().is_empty());

    // SNS: the topic does not exist. The real claims in DynamoDB are rolled back.
    let table = create_table(&ddb).await;
    let store = DynamoStateStore::new(ddb.clone(), &table);
    let no_topic = SnsSink::new(
        sns.clone(),
        format!(
            "arn:aws:sns:us-east-1:123456789012:{}",
            unique("no-such-topic")
        ),
    );
    let guard = config().guard(&source, store.clone(), no_topic);
    let err = handle(&guard, &payload).await.unwrap_err();
    assert!(
        matches!(err, GuardError::Publish { rolled_back, not_rolled_back: 0, .. } if rolled_back > 0),
        "{err}"
    );
    assert!(err.retryable());
    assert!(
        store.load(ORG).await.unwrap().is_empty(),
        "claims rolled back"
    );

    // The retry (SNS back) alerts every change once.
    let topic_arn = sns
        .create_topic()
        .name(unique("cris-guard-faults"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let guard = config().guard(
        &source,
        store.clone(),
        SnsSink::new(sns.clone(), &topic_arn),
    );
    let summary = handle(&guard, &payload).await.unwrap();
    assert_eq!(summary.run.messages_published, 1);
    assert_eq!(summary.run.claimed, first_run_keys(blog()).len());
    assert_eq!(store.load(ORG).await.unwrap().len(), summary.run.claimed);

    let _ = sns.delete_topic().topic_arn(&topic_arn).send().await;
    let _ = ddb.delete_table().table_name(&table).send().await;
}
