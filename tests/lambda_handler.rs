//! The Lambda guard end to end through its seams: every `events/*.json` payload through
//! `lambda::handle` with a fixed snapshot (the blog scenario), an in-memory state store that
//! follows the DynamoDB conditional scheme, and a recording sink.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::sync::atomic::Ordering;

use cris_guard::alert::SnsMessage;
use cris_guard::guard::{Guard, GuardError, SourceError, state_pk};
use cris_guard::lambda::handle;
use cris_guard::snapshot::Snapshot;
use serde_json::Value;

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/ports.rs"]
mod ports;
use fixtures::{ALICE, SANDBOX, SECURITY, blog, config, event, event_files, fixed};
use ports::{FakeSource, MemorySnapshots, MemoryStore, RecordingSink};

type TestGuard = Guard<FakeSource, MemoryStore, RecordingSink>;

fn guard(snapshot: Snapshot) -> TestGuard {
    config().guard(
        FakeSource::new(snapshot),
        MemoryStore::default(),
        RecordingSink::default(),
    )
}

fn full_json(message: &SnsMessage) -> Value {
    let body: Value = serde_json::from_str(&message.body()).unwrap();
    assert!(body.get("default").is_some(), "SNS needs a default key");
    serde_json::from_str(body["sqs"].as_str().unwrap()).unwrap()
}

fn change_kinds(message: &SnsMessage) -> Vec<String> {
    full_json(message)["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_event_file_goes_through_the_handler() {
    let files = event_files();
    assert!(files.len() >= 20, "events/ has {} files", files.len());
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let payload: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let g = guard(blog());
        let summary = handle(&g, &payload)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let messages = g.sink.take();
        if name.contains("failed") {
            assert!(!summary.evaluated, "{name}: a failed call is not a change");
            assert_eq!(g.source.calls.load(Ordering::SeqCst), 0, "{name}");
            assert!(messages.is_empty(), "{name}");
            continue;
        }
        assert!(summary.evaluated, "{name}");
        assert_eq!(
            g.source.calls.load(Ordering::SeqCst),
            1,
            "{name}: one read per invocation"
        );
        assert_eq!(messages.len(), 1, "{name}: first run alerts once");
        let m = &messages[0];
        assert_eq!(m.attributes["organizationId"], "o-exampleorgid", "{name}");
        assert_eq!(m.attributes["status"], "blocked", "{name}");
        if name.starts_with("scheduled") {
            assert_eq!(m.attributes["trigger"], "schedule");
            assert!(!m.attributes.contains_key("changedBy"));
            assert!(m.default.contains("scheduled sweep"), "{}", m.default);
        } else {
            assert_eq!(m.attributes["trigger"], "event", "{name}");
            assert!(m.attributes.contains_key("changedBy"), "{name}");
        }
        if summary.from_sqs {
            assert_eq!(
                summary.response(),
                serde_json::json!({ "batchItemFailures": [] })
            );
        }
        // The same payload again: nothing new.
        handle(&g, &payload).await.unwrap();
        assert!(g.sink.take().is_empty(), "{name}: duplicate published");
    }
}

#[tokio::test]
async fn first_event_names_the_principal_and_a_duplicate_publishes_nothing() {
    let g = guard(blog());
    let summary = handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    let messages = g.sink.take();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.attributes["changedBy"], ALICE);
    assert!(
        m.default
            .contains("changed by alice@example.com (AttachPolicy)"),
        "{}",
        m.default
    );
    // One changed problem, not one line per finding.
    assert!(
        m.default.contains(
            "GRREGIONDENY of aws-guardrails-AbCdEf (p-abcd1234) newly blocks 1 profile across 2 OUs"
        ),
        "{}",
        m.default
    );
    assert!(m.default.chars().count() <= 1_000);
    assert!(m.email.contains("Root/Sandbox"), "{}", m.email);
    let full = full_json(m);
    assert_eq!(full["trigger"]["changedBy"], ALICE);
    assert_eq!(
        full["trigger"]["events"][0]["requestParameters"]["policyId"],
        "p-abcd1234"
    );
    assert!(change_kinds(m).iter().all(|k| k == "newlyBlocked"));
    assert_eq!(summary.run.claimed, summary.run.changes);
    assert!(
        summary.run.changes >= 2,
        "Sandbox and Security from two source Regions"
    );
    // Every phase of a run that published is timed, for sizing the function.
    let phases: Vec<&str> = summary.run.phases_ms.keys().copied().collect();
    assert_eq!(
        phases,
        [
            "claim", "commit", "diff", "evaluate", "messages", "publish", "read", "store"
        ]
    );
    assert!(summary.response()["phasesMs"]["evaluate"].is_u64());

    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert!(g.sink.take().is_empty());
}

#[tokio::test]
async fn one_change_reported_by_two_events_alerts_once() {
    // Both events in one SQS batch: one read, one message.
    let g = guard(blog());
    let summary = handle(&g, &event("sqs-batch-two-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!((summary.records, summary.events), (2, 2));
    assert_eq!(g.source.calls.load(Ordering::SeqCst), 1);
    assert_eq!(g.sink.take().len(), 1);

    // The same two events as two invocations: the second finds nothing new.
    let g = guard(blog());
    let batch = event("sqs-batch-two-attach-policy.json");
    for record in batch["Records"].as_array().unwrap() {
        let single: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
        handle(&g, &single).await.unwrap();
    }
    assert_eq!(g.sink.take().len(), 1);
}

#[tokio::test]
async fn a_failed_call_is_not_evaluated() {
    let g = guard(blog());
    let summary = handle(&g, &event("organizations-attach-policy-failed.json"))
        .await
        .unwrap();
    assert_eq!(summary.failed_calls, 1);
    assert!(!summary.evaluated);
    assert_eq!(g.source.calls.load(Ordering::SeqCst), 0);
    assert!(g.sink.take().is_empty());
    assert!(g.state.items().is_empty());
}

#[tokio::test]
async fn a_sweep_without_change_publishes_nothing() {
    let g = guard(blog());
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(g.sink.take().len(), 1);
    let summary = handle(&g, &event("scheduled-sweep.json")).await.unwrap();
    assert!(summary.evaluated);
    assert_eq!(summary.run.changes, 0);
    assert!(g.sink.take().is_empty());
}

#[tokio::test]
async fn a_fix_is_reported_once() {
    let g = guard(blog());
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    g.sink.take();
    g.source.set(fixed());
    handle(&g, &event("organizations-detach-policy.json"))
        .await
        .unwrap();
    let messages = g.sink.take();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(
        change_kinds(m).iter().all(|k| k == "fixed"),
        "{:?}",
        change_kinds(m)
    );
    assert_eq!(m.attributes["status"], "reachable");
    assert!(
        m.default.contains("reachable again for Sandbox"),
        "{}",
        m.default
    );
    assert!(m.default.contains("(DetachPolicy)"), "{}", m.default);
    handle(&g, &event("scheduled-sweep.json")).await.unwrap();
    assert!(g.sink.take().is_empty());
}

#[tokio::test]
async fn a_publish_failure_rolls_back_so_the_retry_alerts() {
    let g = guard(blog());
    g.sink.fail_part.store(1, Ordering::SeqCst);
    let err = handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GuardError::Publish {
                not_rolled_back: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.retryable());
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Retryable.PublishFailed");
    assert!(g.state.items().is_empty(), "claims rolled back");

    g.sink.fail_part.store(0, Ordering::SeqCst);
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(g.sink.take().len(), 1);
}

#[tokio::test]
async fn a_publish_failure_after_a_fix_restores_the_previous_state() {
    let g = guard(blog());
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    g.sink.take();
    let before = g.state.items();
    g.source.set(fixed());
    g.sink.fail_part.store(1, Ordering::SeqCst);
    assert!(
        handle(&g, &event("organizations-detach-policy.json"))
            .await
            .is_err()
    );
    assert_eq!(g.state.items(), before);
    g.sink.fail_part.store(0, Ordering::SeqCst);
    handle(&g, &event("organizations-detach-policy.json"))
        .await
        .unwrap();
    assert_eq!(g.sink.take().len(), 1);
}

#[tokio::test]
async fn a_lost_race_publishes_nothing() {
    let g = guard(blog());
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(g.sink.take().len(), 1);
    // A second invocation that read the state before the first one claimed.
    g.state.stale_load.store(true, Ordering::SeqCst);
    let summary = handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert!(summary.run.changes > 0);
    assert_eq!(summary.run.claimed, 0);
    assert_eq!(summary.run.lost, summary.run.changes);
    assert!(g.sink.take().is_empty());
}

#[tokio::test]
async fn an_older_snapshot_never_overwrites_newer_state() {
    let g = guard(blog());
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    g.source.set(fixed());
    handle(&g, &event("organizations-detach-policy.json"))
        .await
        .unwrap();
    g.sink.take();
    let newer = g.state.items();
    let sandbox_key = state_pk(
        "o-exampleorgid",
        "ou-ab12-11111111|us.anthropic.claude-3-5-sonnet-20241022-v2:0|us-east-1",
    );
    assert_eq!(
        newer[&sandbox_key].snapshot_captured_at,
        "2026-11-30T00:00:00Z"
    );

    // A slow invocation evaluates the older (blocked) snapshot afterwards.
    g.source.set(blog());
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert!(g.sink.take().is_empty());
    assert_eq!(g.state.items(), newer);

    // Even when it read the state before the newer one was written, its claims lose.
    g.state.stale_load.store(true, Ordering::SeqCst);
    handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert!(g.sink.take().is_empty());
    assert_eq!(g.state.items(), newer);
}

#[tokio::test]
async fn a_source_failure_fails_the_invocation() {
    let g = guard(blog());
    g.source.fail(SourceError {
        message: "DescribeOrganization: TooManyRequestsException".into(),
    });
    let err = handle(&g, &event("scheduled-sweep.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::Source(_)));
    assert!(err.retryable());
    assert!(g.sink.take().is_empty());
    assert!(g.state.items().is_empty());
    assert_eq!(g.state.claims.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn undecodable_records_are_skipped_not_failed() {
    let g = guard(blog());
    let mut batch = event("sqs-batch-two-attach-policy.json");
    batch["Records"][1]["body"] = Value::String("{\"not\": \"an event\"}".into());
    let summary = handle(&g, &batch).await.unwrap();
    assert_eq!(summary.undecodable, 1);
    assert!(summary.evaluated);
    assert_eq!(g.sink.take().len(), 1);
    assert_eq!(
        summary.response(),
        serde_json::json!({ "batchItemFailures": [] })
    );
}

#[tokio::test]
async fn an_alert_about_new_problems_carries_their_verified_proposals() {
    let g = guard(blog());
    handle(&g, &event("scheduled-sweep.json")).await.unwrap();
    let messages = g.sink.take();
    assert_eq!(messages.len(), 1);
    let full = full_json(&messages[0]);
    let proposals = full["proposals"].as_array().expect("proposals");
    assert!(!proposals.is_empty(), "the blog's problems have fixes");
    let fixes: Vec<&str> = proposals
        .iter()
        .flat_map(|p| p["fixes"].as_array().unwrap().iter())
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        fixes.iter().any(|k| k.starts_with("ou-ab12-11111111|")),
        "Sandbox's problem is among the fixes: {fixes:?}"
    );
    assert!(proposals.iter().all(|p| {
        p["verification"]["stillBlocked"] == 0
            && p["verification"]["newlyAllowedOutsideProfiles"]
                .as_array()
                .is_some_and(Vec::is_empty)
    }));
}

/// The organization is `now`; the store holds `stored` (its last full read).
fn stored_guard(
    now: Snapshot,
    stored: MemorySnapshots,
) -> Guard<FakeSource, MemoryStore, RecordingSink, MemorySnapshots> {
    guard(now).with_snapshots(stored)
}

#[tokio::test]
async fn an_event_updates_the_stored_snapshot_instead_of_reading_everything() {
    // Stored: the fixed organization of a full read at T0; the event re-attaches the deny.
    let mut before = fixed();
    before.captured_at = "2026-11-30T00:00:00Z".into();
    let mut now = blog();
    now.captured_at = "2026-11-30T06:00:00Z".into();
    let g = stored_guard(now.clone(), MemorySnapshots::holding(before));
    let summary = handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(summary.run.read, Some("updated"));
    assert_eq!(g.source.calls.load(Ordering::SeqCst), 0, "no full read");
    assert_eq!(
        *g.source.updates.lock().unwrap(),
        vec!["2026-11-30T00:00:00Z".to_string()],
        "the stored snapshot is what was updated"
    );
    assert_eq!(g.sink.take().len(), 1, "the re-attached deny alerts");
    // Alert state carries the time of this read; the stored snapshot keeps its full read's.
    assert!(
        g.state
            .items()
            .values()
            .all(|s| s.snapshot_captured_at == "2026-11-30T06:00:00Z")
    );
    let stored = g.snapshots.stored().unwrap();
    assert_eq!(stored.captured_at, "2026-11-30T00:00:00Z");
    assert_eq!(
        Snapshot {
            captured_at: now.captured_at.clone(),
            ..stored
        },
        now
    );
}

#[tokio::test]
async fn the_sweep_reads_everything_and_stores_it() {
    let g = stored_guard(blog(), MemorySnapshots::holding(fixed()));
    let summary = handle(&g, &event("scheduled-sweep.json")).await.unwrap();
    assert_eq!(summary.run.read, Some("full"));
    assert_eq!(g.source.calls.load(Ordering::SeqCst), 1);
    assert!(g.source.updates.lock().unwrap().is_empty());
    assert_eq!(g.snapshots.stored(), Some(blog()));
}

#[tokio::test]
async fn an_event_without_a_stored_snapshot_reads_everything_once_and_stores_it() {
    let g = stored_guard(blog(), MemorySnapshots::default());
    let summary = handle(&g, &event("sqs-batch-two-attach-policy.json"))
        .await
        .unwrap();
    assert_eq!(summary.run.read, Some("full"));
    assert_eq!(g.source.calls.load(Ordering::SeqCst), 1);
    assert_eq!(g.snapshots.stored(), Some(blog()));
}

#[tokio::test]
async fn a_failed_store_of_the_snapshot_still_alerts() {
    let store = MemorySnapshots::default();
    store.fail_save.store(true, Ordering::SeqCst);
    let g = stored_guard(blog(), store);
    let summary = handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert!(summary.run.store_failed);
    assert_eq!(g.sink.take().len(), 1, "the alert went out");
    assert!(!g.state.items().is_empty());
    assert_eq!(g.snapshots.stored(), None);
}

fn expecting(file: Value) -> TestGuard {
    let file =
        cris_guard::expectations::parse("expectations.json", file.to_string().as_bytes()).unwrap();
    guard(blog()).with_expectations("expectations.json".into(), file)
}

#[tokio::test]
async fn with_expectations_only_violations_alert() {
    // Sandbox blocked is intended; Security blocked is not.
    let g = expecting(serde_json::json!({ "expectations": [
        { "name": "sandbox stays blocked", "targets": [SANDBOX], "expect": "blocked" },
        { "name": "security reaches Claude", "targets": [SECURITY], "expect": "reachable" },
    ]}));
    let summary = handle(&g, &event("organizations-attach-policy.json"))
        .await
        .unwrap();
    assert!(summary.run.changes > 0);
    let messages = g.sink.take();
    assert_eq!(messages.len(), 1);
    let keys: Vec<String> = g.state.items().into_keys().collect();
    assert!(
        keys.iter().all(|k| k.contains(SECURITY)),
        "only the violated expectation's findings alert: {keys:?}"
    );
    assert!(
        !messages[0].email.contains("Root/Sandbox"),
        "{}",
        messages[0].email
    );

    // Every intent holds: nothing alerts although Sandbox is blocked.
    let g = expecting(serde_json::json!({ "expectations": [
        { "name": "sandbox stays blocked", "targets": [SANDBOX], "expect": "blocked" },
    ]}));
    let summary = handle(&g, &event("scheduled-sweep.json")).await.unwrap();
    assert_eq!((summary.run.changes, summary.run.findings), (0, 0));
    assert!(g.sink.take().is_empty());
}

#[tokio::test]
async fn expectations_that_match_nothing_fail_the_invocation() {
    let g = expecting(serde_json::json!({ "expectations": [
        { "name": "typo", "targets": ["Root/Sandbx"], "expect": "blocked" },
    ]}));
    let err = handle(&g, &event("scheduled-sweep.json"))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::InvalidExpectations(_)), "{err}");
    assert!(!err.retryable());
    assert!(err.to_string().contains("Sandbx"), "{err}");
    assert!(g.sink.take().is_empty());
}

/// A first sweep of a large organization must not run into the function's timeout proving
/// fixes and lose its alert: past the budget the alert goes out without the rest, and says so.
#[tokio::test]
async fn past_the_proposal_budget_the_alert_goes_out_and_counts_what_it_left_out() {
    let mut g = guard(blog());
    g.proposal_budget = std::time::Duration::ZERO;
    handle(&g, &event("scheduled-sweep.json")).await.unwrap();
    let messages = g.sink.take();
    assert_eq!(messages.len(), 1, "the alert is published");
    let full = full_json(&messages[0]);
    assert_eq!(full["proposals"].as_array().map(Vec::len), Some(0));
    assert_eq!(full["proposalsOmitted"], 1, "{full:#}");
    assert!(
        messages[0].email.contains("were not computed"),
        "{}",
        messages[0].email
    );
}
