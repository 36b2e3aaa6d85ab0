//! The live reader against a real moto server (Organizations) and the Bedrock stub
//! (tests/stubs/bedrock_stub.py), both started by scripts/test, which exports MOTO_ENDPOINT and
//! BEDROCK_STUB_ENDPOINT. Without MOTO_ENDPOINT the test passes with a note, unless
//! CRIS_GUARD_REQUIRE_MOTO=1 (then it fails).
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use cris_guard::aws::bedrock::BedrockClients;
use cris_guard::aws::reader::{NoProgress, ReaderOptions, SnapshotReader};
use cris_guard::snapshot::PolicyContent;

#[path = "support/moto.rs"]
mod moto;
use moto::{moto, moto_reset};

/// A Control Tower-like Region deny, kept byte for byte (odd spacing included) by the reader.
const REGION_DENY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "GRREGIONDENY", "Effect": "Deny", "NotAction": ["iam:*", "organizations:*", "sts:*"], "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}, "ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/AWSControlTowerExecution"]}}}]}"#;

#[tokio::test]
async fn reads_a_moto_organization() {
    let Some(conf) = moto().await else {
        return;
    };
    let endpoint = conf.endpoint_url().unwrap().to_string();
    moto_reset(&endpoint);
    let org = aws_sdk_organizations::Client::new(&conf);

    // Seed: an organization with SCPs enabled, OU Sandbox with two accounts, a Region deny on it.
    let created = org
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let org_id = created
        .organization()
        .and_then(|o| o.id())
        .unwrap()
        .to_string();
    let roots = org.list_roots().send().await.unwrap();
    let root_id = roots.roots()[0].id().unwrap().to_string();
    org.enable_policy_type()
        .root_id(&root_id)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let ou = org
        .create_organizational_unit()
        .parent_id(&root_id)
        .name("Sandbox")
        .send()
        .await
        .unwrap();
    let ou_id = ou
        .organizational_unit()
        .and_then(|o| o.id())
        .unwrap()
        .to_string();
    let mut account_ids = Vec::new();
    for name in ["sandbox-dev", "sandbox-test"] {
        let created = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let request = created
            .create_account_status()
            .and_then(|s| s.id())
            .unwrap()
            .to_string();
        let status = org
            .describe_create_account_status()
            .create_account_request_id(request)
            .send()
            .await
            .unwrap();
        let account_id = status
            .create_account_status()
            .and_then(|s| s.account_id())
            .unwrap()
            .to_string();
        org.move_account()
            .account_id(&account_id)
            .source_parent_id(&root_id)
            .destination_parent_id(&ou_id)
            .send()
            .await
            .unwrap();
        account_ids.push(account_id);
    }
    account_ids.sort();
    let policy = org
        .create_policy()
        .name("aws-guardrails-AbCdEf")
        .description("Region deny")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(REGION_DENY)
        .send()
        .await
        .unwrap();
    let policy_id = policy
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .unwrap()
        .to_string();
    org.attach_policy()
        .policy_id(&policy_id)
        .target_id(&ou_id)
        .send()
        .await
        .unwrap();

    // Bedrock: the stub when it runs, otherwise no Region (moto has no inference profiles).
    let stub = std::env::var("BEDROCK_STUB_ENDPOINT")
        .ok()
        .filter(|s| !s.is_empty());
    let bedrock = match &stub {
        Some(stub) => {
            let client = aws_sdk_bedrock::Client::from_conf(
                aws_sdk_bedrock::config::Builder::from(&conf)
                    .endpoint_url(stub)
                    .build(),
            );
            BedrockClients::from_clients(BTreeMap::from([("us-east-1".to_string(), client)]))
        }
        None => {
            eprintln!("BEDROCK_STUB_ENDPOINT not set: reading no inference profiles");
            BedrockClients::default()
        }
    };
    let mut options = ReaderOptions::new("2026-11-29T00:00:00Z");
    options.retry_config = RetryConfig::adaptive()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(10));
    let reader = SnapshotReader::from_clients(org.clone(), bedrock, options);
    let outcome = reader.read(&NoProgress).await.unwrap();
    let snap = &outcome.snapshot;
    eprintln!("moto read: {}", outcome.stats);

    assert_eq!(snap.gaps, vec![], "gaps: {:#?}", snap.gaps);
    assert_eq!(snap.organization.id, org_id);
    assert_eq!(snap.organization.management_account_id, "123456789012");
    assert_eq!(snap.roots.len(), 1);
    assert_eq!(snap.roots[0].id, root_id);
    assert_eq!(snap.roots[0].scp_enabled, Some(true));
    assert_eq!(snap.organizational_units.len(), 1);
    assert_eq!(snap.organizational_units[0].id, ou_id);
    assert_eq!(snap.organizational_units[0].name, "Sandbox");
    assert_eq!(snap.organizational_units[0].parent_id, root_id);
    let in_ou: Vec<&str> = snap
        .accounts
        .iter()
        .filter(|a| a.parent_id == ou_id)
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(
        in_ou,
        account_ids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(snap.accounts.iter().all(|a| a.status == "ACTIVE"));
    let management = snap
        .accounts
        .iter()
        .find(|a| a.id == "123456789012")
        .expect("management account");
    assert_eq!(management.parent_id, root_id);

    let full = snap
        .policies
        .iter()
        .find(|p| p.name == "FullAWSAccess")
        .expect("FullAWSAccess");
    assert!(full.aws_managed);
    for target in [
        &root_id,
        &ou_id,
        &account_ids[0],
        &account_ids[1],
        &"123456789012".to_string(),
    ] {
        assert!(
            full.targets.contains(target),
            "FullAWSAccess is not on {target}: {:?}",
            full.targets
        );
    }
    let deny = snap
        .policies
        .iter()
        .find(|p| p.id == policy_id)
        .expect("the custom SCP");
    assert_eq!(deny.name, "aws-guardrails-AbCdEf");
    assert!(!deny.aws_managed);
    assert_eq!(deny.content, PolicyContent::Text(REGION_DENY.to_string()));
    assert_eq!(deny.targets, vec![ou_id.clone()]);

    // Call counts: 1 + 1 + (root, Sandbox) × 2 list calls + ListPolicies + 2 × (describe + targets).
    assert_eq!(outcome.stats.calls("ListOrganizationalUnitsForParent"), 2);
    assert_eq!(outcome.stats.calls("ListAccountsForParent"), 2);
    assert_eq!(outcome.stats.calls("DescribePolicy"), 2);
    assert_eq!(outcome.stats.calls("ListTargetsForPolicy"), 2);
    assert_eq!(outcome.stats.total_retries(), 0);

    if stub.is_some() {
        let profiles = &snap.inference_profiles["us-east-1"];
        let ids: Vec<&str> = profiles
            .iter()
            .map(|p| p.inference_profile_id.as_str())
            .collect();
        assert_eq!(
            ids,
            vec![
                "stubapp12345",
                "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
            ]
        );
        assert_eq!(profiles[1].profile_type, "SYSTEM_DEFINED");
        assert_eq!(profiles[1].models.len(), 3);
        assert_eq!(
            profiles[1].models[1].model_arn,
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0"
        );
        assert_eq!(profiles[0].profile_type, "APPLICATION");
        assert_eq!(outcome.stats.calls("ListInferenceProfiles"), 2);
    } else {
        assert!(snap.inference_profiles.is_empty());
    }

    let valid = cris_guard::snapshot::validate("moto organization", snap.clone());
    assert!(
        valid.is_ok(),
        "the snapshot from moto is invalid: {:?}",
        valid.err()
    );
    // And it survives the JSON round trip through the file loader.
    let json = serde_json::to_vec_pretty(snap).unwrap();
    let loaded = cris_guard::snapshot::load("moto.json", &json).expect("reload");
    assert_eq!(&loaded.snapshot, snap);
}
