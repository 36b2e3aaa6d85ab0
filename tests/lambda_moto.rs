//! The guard with the real SNS and DynamoDB clients against moto: the alert arrives in an SQS
//! queue subscribed to the topic with its JSON body and message attributes, a second run
//! publishes nothing, and the conditional write refuses a second claim.
//!
//! Needs `MOTO_ENDPOINT` (scripts/test starts moto); without it the test prints a note and
//! passes, unless `CRIS_GUARD_REQUIRE_MOTO=1`. It never resets moto (other tests share the
//! server): every run creates its own topic, queue and table.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use cris_guard::alert::FindingState;
use cris_guard::aws::{sns::SnsSink, state::DynamoStateStore};
use cris_guard::findings::Status;
use cris_guard::guard::{Claim, ClaimOutcome, StateStore};
use cris_guard::lambda::{Config, handle};
use serde_json::Value;

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/ports.rs"]
mod ports;
#[path = "support/state_table.rs"]
mod state_table;
use fixtures::{ALICE, blog, event};
use moto::{moto, unique};
use ports::FakeSource;

async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let out = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let mut bodies = Vec::new();
    for m in out.messages() {
        bodies.push(serde_json::from_str(m.body().unwrap()).unwrap());
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    bodies
}

#[tokio::test]
async fn alerts_through_real_sns_and_dynamodb() {
    let Some(conf) = moto().await else {
        return;
    };
    let sns = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let ddb = aws_sdk_dynamodb::Client::new(&conf);

    let topic_arn = sns
        .create_topic()
        .name(unique("cris-guard-alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(unique("cris-guard-alerts"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();
    let table = unique("cris-guard-state");
    state_table::create_state_table(&ddb, &table).await;

    let config = Config::from_lookup(|name| match name {
        "CRIS_GUARD_TOPIC_ARN" => Some(topic_arn.clone()),
        "CRIS_GUARD_TABLE_NAME" => Some(table.clone()),
        "CRIS_GUARD_SOURCE_REGIONS" => Some("us-east-1,us-west-2".into()),
        _ => None,
    })
    .unwrap();
    let guard = config.guard(
        FakeSource::new(blog()),
        DynamoStateStore::new(ddb.clone(), &config.table_name),
        SnsSink::new(sns.clone(), &config.topic_arn),
    );
    let event = event("organizations-attach-policy.json");

    // First run: one alert, delivered to the queue as an SNS envelope.
    let summary = handle(&guard, &event).await.unwrap();
    assert_eq!(summary.run.messages_published, 1, "{summary:?}");
    assert!(summary.run.changes >= 2);
    let delivered = receive(&sqs, &queue_url).await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let envelope = &delivered[0];
    let attributes = &envelope["MessageAttributes"];
    assert_eq!(attributes["status"]["Value"], "blocked");
    assert_eq!(attributes["status"]["Type"], "String");
    assert_eq!(attributes["organizationId"]["Value"], "o-exampleorgid");
    assert_eq!(attributes["trigger"]["Value"], "event");
    assert_eq!(attributes["changedBy"]["Value"], ALICE);
    let body: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "crisGuardAlert");
    assert_eq!(body["organizationId"], "o-exampleorgid");
    assert_eq!(body["trigger"]["changedBy"], ALICE);
    let changes = body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), summary.run.changes);
    assert!(changes.iter().all(|c| c["change"] == "newlyBlocked"));
    assert!(
        changes
            .iter()
            .any(|c| c["finding"]["targetPath"] == "Root/Sandbox"
                && c["finding"]["blockers"][0]["sid"] == "GRREGIONDENY")
    );

    // Second run: state is in DynamoDB, nothing new.
    let again = handle(&guard, &event).await.unwrap();
    assert_eq!((again.run.changes, again.run.messages_published), (0, 0));
    assert!(receive(&sqs, &queue_url).await.is_empty());

    // The stored state, and the conditional write refusing a second claim.
    let store = DynamoStateStore::new(ddb.clone(), &table);
    let view = store.load("o-exampleorgid").await.unwrap();
    assert_eq!(view.len(), summary.run.changes);
    let key = "ou-ab12-11111111|us.anthropic.claude-3-5-sonnet-20241022-v2:0|us-east-1";
    let stored = view.get(key).unwrap().clone();
    assert_eq!(stored.status, Status::Blocked);
    assert_eq!(stored.snapshot_captured_at, "2026-11-29T00:00:00Z");
    let racing = Claim {
        organization_id: "o-exampleorgid".into(),
        finding_key: key.into(),
        expected: None,
        next: stored.clone(),
    };
    assert_eq!(store.claim(&racing).await.unwrap(), ClaimOutcome::Lost);
    let newer = FindingState {
        fingerprint: "reachable:0000000000000000".into(),
        status: Status::Reachable,
        snapshot_captured_at: "2026-11-30T00:00:00Z".into(),
    };
    let stale = Claim {
        expected: Some(FindingState {
            fingerprint: "blocked:ffffffffffffffff".into(),
            ..stored.clone()
        }),
        next: newer.clone(),
        ..racing.clone()
    };
    assert_eq!(store.claim(&stale).await.unwrap(), ClaimOutcome::Lost);
    let older = Claim {
        expected: Some(stored.clone()),
        next: FindingState {
            snapshot_captured_at: "2026-11-28T00:00:00Z".into(),
            ..newer.clone()
        },
        ..racing.clone()
    };
    assert_eq!(store.claim(&older).await.unwrap(), ClaimOutcome::Lost);

    // A winning claim, then its rollback restores the previous item.
    let winning = Claim {
        expected: Some(stored.clone()),
        next: newer,
        ..racing
    };
    assert_eq!(store.claim(&winning).await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.claim(&winning).await.unwrap(), ClaimOutcome::Lost);
    store.release(&winning).await.unwrap();
    let view = store.load("o-exampleorgid").await.unwrap();
    assert_eq!(view.get(key), Some(&stored));

    // Leave moto tidy (best effort; names are unique anyway).
    let _ = sns.delete_topic().topic_arn(&topic_arn).send().await;
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
    let _ = ddb.delete_table().table_name(&table).send().await;
}
