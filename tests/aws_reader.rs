//! The live snapshot reader against mocked SDK clients (aws-smithy-mocks): paging, throttling,
//! gaps instead of aborts, Bedrock per Region, and the number of calls a read costs.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_bedrock::operation::get_inference_profile::GetInferenceProfileOutput;
use aws_sdk_bedrock::operation::list_foundation_model_agreement_offers::ListFoundationModelAgreementOffersOutput;
use aws_sdk_bedrock::operation::list_guardrails::ListGuardrailsOutput;
use aws_sdk_bedrock::operation::list_inference_profiles::ListInferenceProfilesOutput;
use aws_sdk_bedrock::primitives::DateTime;
use aws_sdk_bedrock::types::{
    GuardrailCrossRegionDetails, GuardrailStatus, GuardrailSummary, InferenceProfileModel,
    InferenceProfileStatus, InferenceProfileSummary, InferenceProfileType, Offer,
};
use aws_sdk_organizations::Client as OrgClient;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::describe_policy::DescribePolicyOutput;
use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
use aws_sdk_organizations::operation::list_policies::ListPoliciesOutput;
use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
use aws_sdk_organizations::operation::list_targets_for_policy::ListTargetsForPolicyOutput;
use aws_sdk_organizations::types as ot;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use cris_guard::aws::bedrock::BedrockClients;
use cris_guard::aws::reader::{NoProgress, ReadOutcome, ReaderOptions, SnapshotReader};
use cris_guard::error::AwsError;
use cris_guard::snapshot::{Gap, PolicyContent};

#[path = "support/pages.rs"]
mod pages;
use pages::page;

const FULL_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const REGION_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"GRREGIONDENY","Effect":"Deny","NotAction":["iam:*","organizations:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}"#;

/// An organization the mocks answer from; every list is cut into pages of `page_size`.
#[derive(Debug, Clone)]
struct FakeOrg {
    roots: Vec<String>,
    /// (id, name, parent)
    ous: Vec<(String, String, String)>,
    /// (id, name, parent)
    accounts: Vec<(String, String, String)>,
    /// (id, name, aws managed, content, targets)
    policies: Vec<(String, String, bool, String, Vec<String>)>,
    page_size: usize,
}

impl FakeOrg {
    /// Root r-ab12; OUs Sandbox, Prod, Workloads under the root and Team under Prod; the
    /// management account in the root, two accounts in Sandbox, one in Prod, one in Team;
    /// FullAWSAccess on everything, a Region deny on Sandbox.
    fn small(page_size: usize) -> Self {
        let s = |v: &str| v.to_string();
        let ous = vec![
            (s("ou-ab12-11111111"), s("Sandbox"), s("r-ab12")),
            (s("ou-ab12-22222222"), s("Prod"), s("r-ab12")),
            (s("ou-ab12-33333333"), s("Workloads"), s("r-ab12")),
            (s("ou-ab12-44444444"), s("Team"), s("ou-ab12-22222222")),
        ];
        let accounts = vec![
            (s("111111111111"), s("management"), s("r-ab12")),
            (s("222222222222"), s("sandbox-dev"), s("ou-ab12-11111111")),
            (s("222222222223"), s("sandbox-test"), s("ou-ab12-11111111")),
            (s("333333333333"), s("prod"), s("ou-ab12-22222222")),
            (s("444444444444"), s("team"), s("ou-ab12-44444444")),
        ];
        let mut everything: Vec<String> = vec![s("r-ab12")];
        everything.extend(ous.iter().map(|o| o.0.clone()));
        everything.extend(accounts.iter().map(|a| a.0.clone()));
        let policies = vec![
            (
                s("p-FullAWSAccess"),
                s("FullAWSAccess"),
                true,
                s(FULL_ACCESS),
                everything,
            ),
            (
                s("p-abcd1234"),
                s("aws-guardrails-AbCdEf"),
                false,
                s(REGION_DENY),
                vec![s("ou-ab12-11111111")],
            ),
        ];
        FakeOrg {
            roots: vec![s("r-ab12")],
            ous,
            accounts,
            policies,
            page_size,
        }
    }

    fn containers(&self) -> Vec<String> {
        self.roots
            .iter()
            .cloned()
            .chain(self.ous.iter().map(|o| o.0.clone()))
            .collect()
    }
}

fn pages_of(n: usize, size: usize) -> u64 {
    n.div_ceil(size).max(1) as u64
}

/// Rules answering every read operation from `fake` (they never run out).
fn org_rules(fake: &FakeOrg) -> Vec<Rule> {
    let fake = Arc::new(fake.clone());
    let f = fake.clone();
    let describe_org = mock!(OrgClient::describe_organization).then_output(move || {
        DescribeOrganizationOutput::builder()
            .organization(
                ot::Organization::builder()
                    .id("o-exampleorgid")
                    .master_account_id("111111111111")
                    .feature_set(ot::OrganizationFeatureSet::All)
                    .build(),
            )
            .build()
    });
    let roots = mock!(OrgClient::list_roots).then_output(move || {
        let roots = f
            .roots
            .iter()
            .map(|id| {
                ot::Root::builder()
                    .id(id)
                    .name("Root")
                    .policy_types(
                        ot::PolicyTypeSummary::builder()
                            .r#type(ot::PolicyType::ServiceControlPolicy)
                            .status(ot::PolicyTypeStatus::Enabled)
                            .build(),
                    )
                    .build()
            })
            .collect();
        ListRootsOutput::builder().set_roots(Some(roots)).build()
    });
    let f = fake.clone();
    let ous =
        mock!(OrgClient::list_organizational_units_for_parent).then_compute_output(move |input| {
            let parent = input.parent_id().unwrap();
            let children: Vec<ot::OrganizationalUnit> = f
                .ous
                .iter()
                .filter(|o| o.2 == parent)
                .map(|o| {
                    ot::OrganizationalUnit::builder()
                        .id(&o.0)
                        .name(&o.1)
                        .build()
                })
                .collect();
            let (items, next) = page(&children, input.next_token(), f.page_size);
            ListOrganizationalUnitsForParentOutput::builder()
                .set_organizational_units(Some(items))
                .set_next_token(next)
                .build()
        });
    let f = fake.clone();
    let accounts = mock!(OrgClient::list_accounts_for_parent).then_compute_output(move |input| {
        let parent = input.parent_id().unwrap();
        let children: Vec<ot::Account> = f
            .accounts
            .iter()
            .filter(|a| a.2 == parent)
            .map(|a| {
                ot::Account::builder()
                    .id(&a.0)
                    .name(&a.1)
                    .status(ot::AccountStatus::Active)
                    .state(ot::AccountState::Active)
                    .build()
            })
            .collect();
        let (items, next) = page(&children, input.next_token(), f.page_size);
        ListAccountsForParentOutput::builder()
            .set_accounts(Some(items))
            .set_next_token(next)
            .build()
    });
    let f = fake.clone();
    let policies = mock!(OrgClient::list_policies).then_compute_output(move |input| {
        assert_eq!(input.filter(), Some(&ot::PolicyType::ServiceControlPolicy));
        let all: Vec<ot::PolicySummary> = f
            .policies
            .iter()
            .map(|p| summary(&p.0, &p.1, p.2))
            .collect();
        let (items, next) = page(&all, input.next_token(), f.page_size);
        ListPoliciesOutput::builder()
            .set_policies(Some(items))
            .set_next_token(next)
            .build()
    });
    let f = fake.clone();
    let describe = mock!(OrgClient::describe_policy).then_compute_output(move |input| {
        let p = f
            .policies
            .iter()
            .find(|p| Some(p.0.as_str()) == input.policy_id())
            .unwrap();
        DescribePolicyOutput::builder()
            .policy(
                ot::Policy::builder()
                    .policy_summary(summary(&p.0, &p.1, p.2))
                    .content(&p.3)
                    .build(),
            )
            .build()
    });
    let f = fake;
    let targets = mock!(OrgClient::list_targets_for_policy).then_compute_output(move |input| {
        let p = f
            .policies
            .iter()
            .find(|p| Some(p.0.as_str()) == input.policy_id())
            .unwrap();
        let all: Vec<ot::PolicyTargetSummary> =
            p.4.iter()
                .map(|t| ot::PolicyTargetSummary::builder().target_id(t).build())
                .collect();
        let (items, next) = page(&all, input.next_token(), f.page_size);
        ListTargetsForPolicyOutput::builder()
            .set_targets(Some(items))
            .set_next_token(next)
            .build()
    });
    vec![
        describe_org,
        roots,
        ous,
        accounts,
        policies,
        describe,
        targets,
    ]
}

fn summary(id: &str, name: &str, aws_managed: bool) -> ot::PolicySummary {
    ot::PolicySummary::builder()
        .id(id)
        .name(name)
        .aws_managed(aws_managed)
        .r#type(ot::PolicyType::ServiceControlPolicy)
        .build()
}

/// An awsJson 1.1 error body as Organizations sends it.
fn json_error(code: &str, message: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{code}","Message":"{message}"}}"#))
}

fn options() -> ReaderOptions {
    let mut options = ReaderOptions::new("2026-11-29T00:00:00Z");
    // The production mode (adaptive), with tiny backoffs so the tests are fast. Adaptive mode
    // needs a clock that moves: the mocked clients get the system clock, not the static test one.
    options.retry_config = RetryConfig::adaptive()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    options
}

/// `special` rules are tried first (so they override the fake for the requests they match).
async fn read_with(
    special: Vec<Rule>,
    fake: &FakeOrg,
    bedrock: BedrockClients,
) -> Result<ReadOutcome, AwsError> {
    read_with_options(special, fake, bedrock, options()).await
}

/// [`read_with`] with other reader options.
async fn read_with_options(
    special: Vec<Rule>,
    fake: &FakeOrg,
    bedrock: BedrockClients,
    options: ReaderOptions,
) -> Result<ReadOutcome, AwsError> {
    let mut rules = special;
    rules.extend(org_rules(fake));
    let org = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &rules, |c| c
        .time_source(SystemTimeSource::new()));
    SnapshotReader::from_clients(org, bedrock, options)
        .read(&NoProgress)
        .await
}

fn gap_scopes(outcome: &ReadOutcome) -> Vec<&str> {
    outcome
        .snapshot
        .gaps
        .iter()
        .map(|g| g.scope.as_str())
        .collect()
}

fn validate(outcome: &ReadOutcome) {
    if let Err(err) =
        cris_guard::snapshot::validate("mocked organization", outcome.snapshot.clone())
    {
        panic!("the reader produced an invalid snapshot: {err}");
    }
}

#[tokio::test]
async fn reads_every_page_of_a_small_org() {
    let fake = FakeOrg::small(2);
    let outcome = read_with(vec![], &fake, BedrockClients::default())
        .await
        .unwrap();
    let snap = &outcome.snapshot;
    validate(&outcome);
    assert_eq!(snap.gaps, vec![]);
    assert_eq!(snap.captured_at, "2026-11-29T00:00:00Z");
    assert_eq!(snap.organization.id, "o-exampleorgid");
    assert_eq!(snap.organization.management_account_id, "111111111111");
    assert_eq!(snap.roots.len(), 1);
    assert_eq!(snap.roots[0].id, "r-ab12");
    assert_eq!(snap.roots[0].scp_enabled, Some(true));
    // Three OUs under the root come in two pages of ListOrganizationalUnitsForParent.
    let ous: Vec<(&str, &str, &str)> = snap
        .organizational_units
        .iter()
        .map(|o| (o.id.as_str(), o.name.as_str(), o.parent_id.as_str()))
        .collect();
    assert_eq!(
        ous,
        vec![
            ("ou-ab12-11111111", "Sandbox", "r-ab12"),
            ("ou-ab12-22222222", "Prod", "r-ab12"),
            ("ou-ab12-33333333", "Workloads", "r-ab12"),
            ("ou-ab12-44444444", "Team", "ou-ab12-22222222"),
        ]
    );
    let accounts: Vec<(&str, &str, &str)> = snap
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.parent_id.as_str(), a.status.as_str()))
        .collect();
    assert_eq!(
        accounts,
        vec![
            ("111111111111", "r-ab12", "ACTIVE"),
            ("222222222222", "ou-ab12-11111111", "ACTIVE"),
            ("222222222223", "ou-ab12-11111111", "ACTIVE"),
            ("333333333333", "ou-ab12-22222222", "ACTIVE"),
            ("444444444444", "ou-ab12-44444444", "ACTIVE"),
        ]
    );
    assert_eq!(snap.policies.len(), 2);
    let full = &snap.policies[0];
    assert_eq!(
        (full.id.as_str(), full.name.as_str(), full.aws_managed),
        ("p-FullAWSAccess", "FullAWSAccess", true)
    );
    assert_eq!(full.policy_type, "SERVICE_CONTROL_POLICY");
    assert_eq!(full.content, PolicyContent::Text(FULL_ACCESS.to_string()));
    // Ten targets in five pages of ListTargetsForPolicy, none lost.
    assert_eq!(full.targets.len(), 10);
    assert!(full.targets.contains(&"444444444444".to_string()));
    assert!(full.targets.contains(&"r-ab12".to_string()));
    let deny = &snap.policies[1];
    assert_eq!(deny.id, "p-abcd1234");
    assert_eq!(deny.content, PolicyContent::Text(REGION_DENY.to_string()));
    assert_eq!(deny.targets, vec!["ou-ab12-11111111".to_string()]);
    assert!(snap.inference_profiles.is_empty());

    let stats = &outcome.stats;
    assert_eq!(stats.calls("DescribeOrganization"), 1);
    assert_eq!(stats.calls("ListRoots"), 1);
    // Containers: root (3 OUs → 2 pages), Prod (1 OU), the others none → 1 page each.
    assert_eq!(
        stats.calls("ListOrganizationalUnitsForParent"),
        2 + 1 + 1 + 1 + 1
    );
    // Root 1 account, Sandbox 2, Prod 1, Workloads 0, Team 1: one page each.
    assert_eq!(stats.calls("ListAccountsForParent"), 5);
    assert_eq!(stats.calls("ListPolicies"), 1);
    assert_eq!(stats.calls("DescribePolicy"), 2);
    assert_eq!(stats.calls("ListTargetsForPolicy"), 5 + 1);
    assert_eq!(stats.total_retries(), 0);
}

#[tokio::test]
async fn throttling_is_retried_and_counted() {
    let fake = FakeOrg::small(20);
    let throttled = mock!(OrgClient::list_roots)
        .sequence()
        .http_status(
            400,
            json_error(
                "TooManyRequestsException",
                "You have sent too many requests in too short a period of time. Try again later.",
            ),
        )
        .output(|| {
            ListRootsOutput::builder()
                .roots(ot::Root::builder().id("r-ab12").name("Root").build())
                .build()
        })
        .build();
    let outcome = read_with(vec![throttled], &fake, BedrockClients::default())
        .await
        .unwrap();
    validate(&outcome);
    assert_eq!(outcome.snapshot.gaps, vec![]);
    assert_eq!(outcome.snapshot.roots[0].id, "r-ab12");
    // No SCP policy type on the root in this answer: SCPs are read as disabled there.
    assert_eq!(outcome.snapshot.roots[0].scp_enabled, Some(false));
    assert_eq!(outcome.stats.calls("ListRoots"), 1);
    assert_eq!(outcome.stats.retries("ListRoots"), 1);
    assert_eq!(outcome.stats.total_retries(), 1);
    assert_eq!(outcome.snapshot.accounts.len(), 5);
}

#[tokio::test]
async fn throttling_that_never_stops_becomes_a_gap_for_that_policy() {
    let fake = FakeOrg::small(20);
    let throttled = mock!(OrgClient::describe_policy)
        .match_requests(|input| input.policy_id() == Some("p-abcd1234"))
        .sequence()
        .http_status(400, json_error("TooManyRequestsException", "Rate exceeded"))
        .repeatedly()
        .build();
    let outcome = read_with(vec![throttled], &fake, BedrockClients::default())
        .await
        .unwrap();
    validate(&outcome);
    let ids: Vec<&str> = outcome
        .snapshot
        .policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, vec!["p-FullAWSAccess"]);
    // The policy itself and its one known target.
    assert_eq!(gap_scopes(&outcome), vec!["ou-ab12-11111111", "p-abcd1234"]);
    let gap = &outcome.snapshot.gaps[1];
    assert_eq!(
        gap.reason,
        "DescribePolicy failed: TooManyRequestsException: Rate exceeded"
    );
    assert!(
        outcome.snapshot.gaps[0]
            .reason
            .contains("SCP p-abcd1234 (aws-guardrails-AbCdEf) is attached here")
    );
    // Three attempts (the test's max) for that one call.
    assert_eq!(outcome.stats.calls("DescribePolicy"), 2);
    assert_eq!(outcome.stats.retries("DescribePolicy"), 2);
}

/// A body AWS stored but cris-guard cannot interpret (an unknown condition operator) is kept,
/// so that only the targets under it become unknown; a malformed body (here an `Effect` AWS
/// would never store) is still dropped and becomes gaps.
#[tokio::test]
async fn an_uninterpretable_policy_is_kept_and_a_malformed_one_is_a_gap() {
    let mut fake = FakeOrg::small(20);
    let odd = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringMatchesRegex":{"aws:RequestedRegion":"^eu-"}}}]}"#;
    let broken =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}"#;
    fake.policies.push((
        "p-regex00001".into(),
        "deny-by-regex".into(),
        false,
        odd.into(),
        vec!["ou-ab12-22222222".into()],
    ));
    fake.policies.push((
        "p-broken0001".into(),
        "broken".into(),
        false,
        broken.into(),
        vec!["ou-ab12-33333333".into()],
    ));
    let outcome = read_with(vec![], &fake, BedrockClients::default())
        .await
        .unwrap();
    let ids: Vec<&str> = outcome
        .snapshot
        .policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, vec!["p-FullAWSAccess", "p-abcd1234", "p-regex00001"]);
    assert_eq!(
        outcome.snapshot.policies[2].content,
        PolicyContent::Text(odd.to_string())
    );
    assert_eq!(
        gap_scopes(&outcome),
        vec!["ou-ab12-33333333", "p-broken0001"]
    );
    assert!(
        outcome.snapshot.gaps[1]
            .reason
            .contains("neither `Allow` nor `Deny`"),
        "{:?}",
        outcome.snapshot.gaps
    );
    let loaded = cris_guard::snapshot::validate("mocked organization", outcome.snapshot.clone())
        .expect("the reader produced an invalid snapshot");
    let odd_ones: Vec<&str> = loaded
        .uninterpretable
        .iter()
        .map(|u| u.error.policy_id.as_str())
        .collect();
    assert_eq!(odd_ones, vec!["p-regex00001"]);
}

#[tokio::test]
async fn access_denied_on_one_ous_accounts_is_a_gap_and_the_rest_is_intact() {
    let fake = FakeOrg::small(20);
    let denied = mock!(OrgClient::list_accounts_for_parent)
        .match_requests(|input| input.parent_id() == Some("ou-ab12-11111111"))
        .sequence()
        .http_status(
            400,
            json_error(
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            ),
        )
        .repeatedly()
        .build();
    let outcome = read_with(vec![denied], &fake, BedrockClients::default())
        .await
        .unwrap();
    validate(&outcome);
    let snap = &outcome.snapshot;
    assert_eq!(
        snap.gaps[0],
        Gap {
            scope: "222222222222".into(),
            reason: "SCP p-FullAWSAccess (FullAWSAccess) is attached to 222222222222, which was not found while listing the organization".into(),
        }
    );
    assert_eq!(
        gap_scopes(&outcome),
        vec!["222222222222", "222222222223", "ou-ab12-11111111"]
    );
    assert_eq!(
        snap.gaps[2].reason,
        "ListAccountsForParent ou-ab12-11111111 failed: AccessDeniedException: You don't have permissions to access this resource."
    );
    // Sandbox itself, its policies and everything else are still there.
    assert_eq!(snap.organizational_units.len(), 4);
    let accounts: Vec<&str> = snap.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        accounts,
        vec!["111111111111", "333333333333", "444444444444"]
    );
    assert_eq!(snap.policies.len(), 2);
    assert_eq!(snap.policies[0].targets.len(), 8);
    assert_eq!(
        snap.policies[1].targets,
        vec!["ou-ab12-11111111".to_string()]
    );
    // AccessDenied is not retried.
    assert_eq!(outcome.stats.total_retries(), 0);
}

#[tokio::test]
async fn a_paginator_failing_midway_is_a_gap_not_a_silently_short_list() {
    let mut fake = FakeOrg::small(2);
    // Five accounts directly in the root: pages t0, t2, t4; the second page fails.
    for i in 0..4 {
        fake.accounts.push((
            format!("55555555555{i}"),
            format!("extra-{i}"),
            "r-ab12".into(),
        ));
        fake.policies[0].4.push(format!("55555555555{i}"));
    }
    let broken = mock!(OrgClient::list_accounts_for_parent)
        .match_requests(|input| {
            input.parent_id() == Some("r-ab12") && input.next_token() == Some("t2")
        })
        .sequence()
        .http_status(
            400,
            json_error(
                "InvalidInputException",
                "You provided a token that isn't valid.",
            ),
        )
        .repeatedly()
        .build();
    let outcome = read_with(vec![broken], &fake, BedrockClients::default())
        .await
        .unwrap();
    validate(&outcome);
    let root_gap = outcome
        .snapshot
        .gaps
        .iter()
        .find(|g| g.scope == "r-ab12")
        .unwrap();
    assert_eq!(
        root_gap.reason,
        "ListAccountsForParent r-ab12 failed after 1 page (2 accounts read and kept): InvalidInputException: You provided a token that isn't valid."
    );
    let in_root: Vec<&str> = outcome
        .snapshot
        .accounts
        .iter()
        .filter(|a| a.parent_id == "r-ab12")
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(in_root, vec!["111111111111", "555555555550"]);
    // The three accounts on unread pages are targets of FullAWSAccess: each is a gap too.
    for missing in ["555555555551", "555555555552", "555555555553"] {
        assert!(
            gap_scopes(&outcome).contains(&missing),
            "no gap for {missing}"
        );
    }
    assert_eq!(outcome.snapshot.gaps.len(), 4);
}

#[tokio::test]
async fn targets_failing_midway_drop_the_policy_and_make_the_organization_a_gap() {
    let fake = FakeOrg::small(2);
    let broken = mock!(OrgClient::list_targets_for_policy)
        .match_requests(|input| {
            input.policy_id() == Some("p-FullAWSAccess") && input.next_token() == Some("t4")
        })
        .sequence()
        .http_status(400, json_error("AccessDeniedException", "denied"))
        .repeatedly()
        .build();
    let outcome = read_with(vec![broken], &fake, BedrockClients::default())
        .await
        .unwrap();
    validate(&outcome);
    let ids: Vec<&str> = outcome
        .snapshot
        .policies
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, vec!["p-abcd1234"]);
    assert_eq!(
        gap_scopes(&outcome),
        vec!["organization", "p-FullAWSAccess"]
    );
    assert_eq!(
        outcome.snapshot.gaps[1].reason,
        "ListTargetsForPolicy failed after 2 pages: AccessDeniedException: denied"
    );
    assert!(
        outcome.snapshot.gaps[0]
            .reason
            .starts_with("the targets of SCP p-FullAWSAccess (FullAWSAccess) are unknown")
    );
    // The tree is complete.
    assert_eq!(outcome.snapshot.accounts.len(), 5);
}

#[tokio::test]
async fn list_roots_failing_is_an_error() {
    let fake = FakeOrg::small(20);
    let denied = mock!(OrgClient::list_roots)
        .sequence()
        .http_status(
            400,
            json_error("AccessDeniedException", "not the management account"),
        )
        .repeatedly()
        .build();
    let err = read_with(vec![denied], &fake, BedrockClients::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AwsError::Organizations {
            operation: "ListRoots",
            message: "AccessDeniedException: not the management account".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "reading the organization failed: ListRoots: AccessDeniedException: not the management account"
    );
}

#[tokio::test]
async fn describe_organization_failing_is_an_error() {
    let fake = FakeOrg::small(20);
    let not_in_org = mock!(OrgClient::describe_organization)
        .sequence()
        .http_status(
            400,
            json_error(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            ),
        )
        .repeatedly()
        .build();
    let err = read_with(vec![not_in_org], &fake, BedrockClients::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AwsError::Organizations {
                operation: "DescribeOrganization",
                ..
            }
        ),
        "{err}"
    );
}

fn profile(
    region: &str,
    id: &str,
    kind: InferenceProfileType,
    models: &[&str],
) -> InferenceProfileSummary {
    let arn = if kind == InferenceProfileType::SystemDefined {
        format!("arn:aws:bedrock:{region}:222222222222:inference-profile/{id}")
    } else {
        format!("arn:aws:bedrock:{region}:222222222222:application-inference-profile/{id}")
    };
    InferenceProfileSummary::builder()
        .inference_profile_id(id)
        .inference_profile_name(format!("profile {id}"))
        .inference_profile_arn(arn)
        .status(InferenceProfileStatus::Active)
        .r#type(kind)
        .set_models(Some(
            models
                .iter()
                .map(|m| InferenceProfileModel::builder().model_arn(*m).build())
                .collect(),
        ))
        .build()
        .unwrap()
}

const SONNET_E1: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0";
const SONNET_E2: &str =
    "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0";
const SONNET_W2: &str =
    "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0";

fn bedrock_ok(region: &'static str) -> aws_sdk_bedrock::Client {
    let rules = bedrock_rules(region);
    mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, &rules)
}

/// The inference-profile rules of [`bedrock_ok`].
fn bedrock_rules(region: &'static str) -> Vec<Rule> {
    let system = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
        .match_requests(|input| input.type_equals() == Some(&InferenceProfileType::SystemDefined))
        .then_output(move || {
            ListInferenceProfilesOutput::builder()
                .inference_profile_summaries(profile(
                    region,
                    "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
                    InferenceProfileType::SystemDefined,
                    &[SONNET_E1, SONNET_E2, SONNET_W2],
                ))
                .build()
        });
    // An application profile whose summary has no models: the reader asks GetInferenceProfile.
    let application = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
        .match_requests(|input| input.type_equals() == Some(&InferenceProfileType::Application))
        .then_output(move || {
            ListInferenceProfilesOutput::builder()
                .inference_profile_summaries(profile(
                    region,
                    "abcdef123456",
                    InferenceProfileType::Application,
                    &[],
                ))
                .build()
        });
    let get = mock!(aws_sdk_bedrock::Client::get_inference_profile)
        .match_requests(|input| input.inference_profile_identifier() == Some("abcdef123456"))
        .then_output(move || {
            GetInferenceProfileOutput::builder()
                .inference_profile_id("abcdef123456")
                .inference_profile_name("profile abcdef123456")
                .inference_profile_arn(format!("arn:aws:bedrock:{region}:222222222222:application-inference-profile/abcdef123456"))
                .status(InferenceProfileStatus::Active)
                .r#type(InferenceProfileType::Application)
                .models(InferenceProfileModel::builder().model_arn(SONNET_E1).build())
                .models(InferenceProfileModel::builder().model_arn(SONNET_W2).build())
                .build()
                .unwrap()
        });
    vec![system, application, get]
}

fn bedrock_denied() -> aws_sdk_bedrock::Client {
    let denied = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
        .sequence()
        .http_status(
            403,
            Some(
                r#"{"__type":"AccessDeniedException","message":"bedrock is not allowed here"}"#
                    .to_string(),
            ),
        )
        .repeatedly()
        .build();
    mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, &[&denied], |c| c
        .time_source(SystemTimeSource::new()))
}

#[tokio::test]
async fn bedrock_profiles_are_keyed_by_source_region() {
    let fake = FakeOrg::small(20);
    let bedrock = BedrockClients::from_clients(BTreeMap::from([
        ("us-east-1".to_string(), bedrock_ok("us-east-1")),
        ("us-east-2".to_string(), bedrock_ok("us-east-2")),
    ]));
    let outcome = read_with(vec![], &fake, bedrock).await.unwrap();
    validate(&outcome);
    assert_eq!(outcome.snapshot.gaps, vec![]);
    let profiles = &outcome.snapshot.inference_profiles;
    assert_eq!(
        profiles.keys().collect::<Vec<_>>(),
        vec!["us-east-1", "us-east-2"]
    );
    let east2 = &profiles["us-east-2"];
    assert_eq!(east2.len(), 2);
    assert_eq!(east2[0].inference_profile_id, "abcdef123456");
    assert_eq!(east2[0].profile_type, "APPLICATION");
    assert_eq!(
        east2[0]
            .models
            .iter()
            .map(|m| m.model_arn.as_str())
            .collect::<Vec<_>>(),
        vec![SONNET_E1, SONNET_W2]
    );
    assert_eq!(
        east2[1].inference_profile_id,
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    );
    assert_eq!(
        east2[1].inference_profile_arn,
        "arn:aws:bedrock:us-east-2:222222222222:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    );
    assert_eq!(east2[1].profile_type, "SYSTEM_DEFINED");
    assert_eq!(east2[1].status, "ACTIVE");
    assert_eq!(east2[1].models.len(), 3);
    assert_eq!(
        east2[1].inference_profile_name.as_deref(),
        Some("profile us.anthropic.claude-3-5-sonnet-20241022-v2:0")
    );
    // Two types per Region, and one GetInferenceProfile per Region for the model-less summary.
    assert_eq!(outcome.stats.calls("ListInferenceProfiles"), 4);
    assert_eq!(outcome.stats.calls("GetInferenceProfile"), 2);
}

#[tokio::test]
async fn bedrock_failing_in_one_region_is_a_gap_for_that_region() {
    let fake = FakeOrg::small(20);
    let bedrock = BedrockClients::from_clients(BTreeMap::from([
        ("us-east-1".to_string(), bedrock_ok("us-east-1")),
        ("eu-west-1".to_string(), bedrock_denied()),
    ]));
    let outcome = read_with(vec![], &fake, bedrock).await.unwrap();
    validate(&outcome);
    let profiles = &outcome.snapshot.inference_profiles;
    assert_eq!(profiles.keys().collect::<Vec<_>>(), vec!["us-east-1"]);
    assert_eq!(profiles["us-east-1"].len(), 2);
    assert_eq!(
        gap_scopes(&outcome),
        vec!["inferenceProfiles:eu-west-1", "inferenceProfiles:eu-west-1"]
    );
    assert_eq!(
        outcome.snapshot.gaps[0].reason,
        "ListInferenceProfiles (type APPLICATION) failed: AccessDeniedException: bedrock is not allowed here"
    );
    assert_eq!(
        outcome.snapshot.gaps[1].reason,
        "ListInferenceProfiles (type SYSTEM_DEFINED) failed: AccessDeniedException: bedrock is not allowed here"
    );
    // The organization is complete.
    assert_eq!(outcome.snapshot.policies.len(), 2);
}

/// A bigger org: 1 root, 3 top OUs with 4 child OUs each (15 OUs), 45 accounts spread over
/// them and the root, 7 policies with up to 30 targets, pages of 20 like the real service.
fn bigger_org() -> FakeOrg {
    let mut ous = Vec::new();
    for top in 0..3 {
        let top_id = format!("ou-ab12-t{top:07}");
        ous.push((top_id.clone(), format!("Top{top}"), "r-ab12".to_string()));
        for child in 0..4 {
            ous.push((
                format!("ou-ab12-c{top}{child:06}"),
                format!("Child{top}{child}"),
                top_id.clone(),
            ));
        }
    }
    // 23 accounts in the root, so its listing needs two pages.
    let mut accounts = Vec::new();
    for i in 0..45u64 {
        let parent = if i < 23 {
            "r-ab12".to_string()
        } else {
            ous[(i as usize) % ous.len()].0.clone()
        };
        accounts.push((
            format!("{:012}", 100_000_000_000 + i),
            format!("acct-{i}"),
            parent,
        ));
    }
    let mut policies = Vec::new();
    for p in 0..7usize {
        let targets: Vec<String> = accounts
            .iter()
            .skip(p)
            .step_by(p + 1)
            .take(30)
            .map(|a| a.0.clone())
            .collect();
        policies.push((
            format!("p-pol{p:05}"),
            format!("policy-{p}"),
            false,
            FULL_ACCESS.to_string(),
            targets,
        ));
    }
    FakeOrg {
        roots: vec!["r-ab12".into()],
        ous,
        accounts,
        policies,
        page_size: 20,
    }
}

#[tokio::test]
async fn calls_stay_within_ten_percent_of_the_lower_bound() {
    let fake = bigger_org();
    let outcome = read_with(vec![], &fake, BedrockClients::default())
        .await
        .unwrap();
    validate(&outcome);
    assert_eq!(outcome.snapshot.gaps, vec![]);
    assert_eq!(outcome.snapshot.organizational_units.len(), 15);
    assert_eq!(outcome.snapshot.accounts.len(), 45);
    assert_eq!(outcome.snapshot.policies.len(), 7);

    let size = fake.page_size;
    let mut bound = 1 + 1; // DescribeOrganization + ListRoots
    for container in fake.containers() {
        let ous = fake.ous.iter().filter(|o| o.2 == container).count();
        let accounts = fake.accounts.iter().filter(|a| a.2 == container).count();
        bound += pages_of(ous, size) + pages_of(accounts, size);
    }
    bound += pages_of(fake.policies.len(), size);
    for policy in &fake.policies {
        bound += 1 + pages_of(policy.4.len(), size);
    }
    let made = outcome.stats.total_calls();
    eprintln!("calls made {made}, lower bound {bound}: {}", outcome.stats);
    assert!(
        made >= bound,
        "fewer calls ({made}) than the lower bound ({bound})?"
    );
    assert!(
        made as f64 <= 1.1 * bound as f64,
        "{made} calls for a lower bound of {bound}"
    );
}

/// A guardrail of `region`, using the guardrail profile `profile` when given.
fn guardrail(region: &str, id: &str, profile: Option<&str>) -> GuardrailSummary {
    let mut builder = GuardrailSummary::builder()
        .id(id)
        .arn(format!(
            "arn:aws:bedrock:{region}:222222222222:guardrail/{id}"
        ))
        .status(GuardrailStatus::Ready)
        .name(id)
        .version("DRAFT")
        .created_at(DateTime::from_secs(0))
        .updated_at(DateTime::from_secs(0));
    if let Some(profile) = profile {
        builder = builder.cross_region_details(
            GuardrailCrossRegionDetails::builder()
                .guardrail_profile_id(profile)
                .guardrail_profile_arn(format!(
                    "arn:aws:bedrock:{region}:222222222222:guardrail-profile/{profile}"
                ))
                .build(),
        );
    }
    builder.build().unwrap()
}

fn bedrock_with_guardrails(
    region: &'static str,
    guardrails: Option<Vec<GuardrailSummary>>,
) -> aws_sdk_bedrock::Client {
    let mut rules = bedrock_rules(region);
    rules.push(match guardrails {
        Some(guardrails) => {
            mock!(aws_sdk_bedrock::Client::list_guardrails).then_output(move || {
                ListGuardrailsOutput::builder()
                    .set_guardrails(Some(guardrails.clone()))
                    .build()
                    .unwrap()
            })
        }
        None => mock!(aws_sdk_bedrock::Client::list_guardrails)
            .sequence()
            .http_status(
                403,
                Some(
                    r#"{"__type":"AccessDeniedException","message":"no guardrails for you"}"#
                        .to_string(),
                ),
            )
            .repeatedly()
            .build(),
    });
    mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, &rules, |c| c
        .time_source(SystemTimeSource::new()))
}

#[tokio::test]
async fn guardrail_profiles_come_from_the_routing_tables_and_the_guardrails_that_use_them() {
    let fake = FakeOrg::small(20);
    let bedrock = BedrockClients::from_clients(BTreeMap::from([
        (
            "us-east-1".to_string(),
            bedrock_with_guardrails(
                "us-east-1",
                Some(vec![
                    guardrail("us-east-1", "g1", Some("us.guardrail.v1:0")),
                    guardrail("us-east-1", "local", None),
                ]),
            ),
        ),
        (
            "eu-south-2".to_string(),
            bedrock_with_guardrails(
                "eu-south-2",
                Some(vec![guardrail(
                    "eu-south-2",
                    "g2",
                    Some("eu.guardrail.v1:0"),
                )]),
            ),
        ),
        (
            "us-west-2".to_string(),
            bedrock_with_guardrails("us-west-2", None),
        ),
    ]));
    let mut options = options();
    options.guardrail_profiles = true;
    let outcome = read_with_options(vec![], &fake, bedrock, options)
        .await
        .unwrap();
    validate(&outcome);
    let read = &outcome.snapshot.guardrail_profiles;
    // us-west-2 could not be listed: not read (a gap), so its checks are unknown.
    assert_eq!(read.keys().collect::<Vec<_>>(), ["eu-south-2", "us-east-1"]);
    assert_eq!(gap_scopes(&outcome), ["guardrailProfiles:us-west-2"]);
    let us = &read["us-east-1"];
    assert_eq!(us.len(), 1);
    assert_eq!(us[0].guardrail_profile_id, "us.guardrail.v1:0");
    assert_eq!(
        us[0].destination_regions,
        ["us-east-1", "us-east-2", "us-west-2"]
    );
    assert_eq!(
        us[0].guardrail_arns,
        ["arn:aws:bedrock:us-east-1:222222222222:guardrail/g1"]
    );
    assert!(us[0].routing_source.is_some());
    // The EU table lacks the eu-south-2 row: listed, without destinations.
    let eu = &read["eu-south-2"];
    assert_eq!(eu.len(), 1);
    assert_eq!(eu[0].guardrail_profile_id, "eu.guardrail.v1:0");
    assert!(eu[0].destination_regions.is_empty());
    assert_eq!(outcome.stats.calls("ListGuardrails"), 3);
}

#[tokio::test]
async fn guardrails_are_not_read_unless_asked() {
    let fake = FakeOrg::small(20);
    let bedrock = BedrockClients::from_clients(BTreeMap::from([(
        "us-east-1".to_string(),
        bedrock_ok("us-east-1"),
    )]));
    let outcome = read_with(vec![], &fake, bedrock).await.unwrap();
    assert!(outcome.snapshot.guardrail_profiles.is_empty());
    assert_eq!(outcome.stats.calls("ListGuardrails"), 0);
}

/// The profiles of [`bedrock_ok`], and agreement offers for their model: `Some(n)` offers, or
/// `None` for a denied call.
fn bedrock_with_offers(region: &'static str, offers: Option<usize>) -> aws_sdk_bedrock::Client {
    let mut rules = bedrock_rules(region);
    rules.push(match offers {
        Some(n) => mock!(aws_sdk_bedrock::Client::list_foundation_model_agreement_offers)
            .then_output(move || {
                let offers = (0..n)
                    .map(|i| {
                        Offer::builder()
                            .offer_token(format!("token-{i}"))
                            .build()
                            .unwrap()
                    })
                    .collect();
                ListFoundationModelAgreementOffersOutput::builder()
                    .model_id("anthropic.claude-3-5-sonnet-20241022-v2:0")
                    .set_offers(Some(offers))
                    .build()
                    .unwrap()
            }),
        None => mock!(aws_sdk_bedrock::Client::list_foundation_model_agreement_offers)
            .sequence()
            .http_status(
                403,
                Some(r#"{"__type":"AccessDeniedException","message":"no offers"}"#.to_string()),
            )
            .repeatedly()
            .build(),
    });
    mock_client!(aws_sdk_bedrock, RuleMode::MatchAny, &rules, |c| c
        .time_source(SystemTimeSource::new()))
}

#[tokio::test]
async fn marketplace_models_are_the_invoked_models_with_agreement_offers() {
    let fake = FakeOrg::small(20);
    let bedrock = BedrockClients::from_clients(BTreeMap::from([
        (
            "us-east-1".to_string(),
            bedrock_with_offers("us-east-1", Some(1)),
        ),
        (
            "us-east-2".to_string(),
            bedrock_with_offers("us-east-2", Some(0)),
        ),
        (
            "us-west-2".to_string(),
            bedrock_with_offers("us-west-2", None),
        ),
    ]));
    let mut options = options();
    options.marketplace_models = true;
    let outcome = read_with_options(vec![], &fake, bedrock, options)
        .await
        .unwrap();
    validate(&outcome);
    let sold = &outcome.snapshot.marketplace_models;
    assert_eq!(
        sold.iter()
            .map(|(r, m)| (r.as_str(), m.clone()))
            .collect::<Vec<_>>(),
        [
            (
                "us-east-1",
                vec!["anthropic.claude-3-5-sonnet-20241022-v2:0".to_string()]
            ),
            ("us-east-2", vec![]),
        ]
    );
    assert_eq!(gap_scopes(&outcome), ["marketplaceModels:us-west-2"]);
    // One distinct model per Region (both profiles invoke the same one).
    assert_eq!(outcome.stats.calls("ListFoundationModelAgreementOffers"), 3);
}
