//! Soundness of reachability against concrete evaluation, on random organizations whose SCPs
//! mix Region denies with principal, account and profile exemptions, allow-lists and tag
//! conditions (issue 14):
//!
//! (a) **New-account equivalence**: the finding of every OU equals the finding of an account
//!     created in that OU with only FullAWSAccess and a fresh id.
//! (b) **Witnesses**: every principal the policies can tell apart (each role and tag they
//!     name, in the target's own account, plus an ordinary role) is tried with `check` on every
//!     request of the check: `reachable` means all of them are allowed everywhere; `blocked`
//!     means every non-admin one is denied somewhere; `conditional` means at least one
//!     non-admin principal is allowed everywhere.
//!
//! The engine decides with the principal unknown (partial evaluation, a witness search);
//! `check` decides one fully specified request. They share only the statement matcher.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeSet;

use cris_guard::check::{self, ContextValue, RequestSpec};
use cris_guard::findings::{Finding, Status};
use cris_guard::reachability::{self, LegKind, Options};
use cris_guard::snapshot::{self, ValidSnapshot};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

const ORG: &str = "o-exampleorgid";
const ROOT: &str = "r-ab12";
const OUS: &[&str] = &["ou-ab12-11111111", "ou-ab12-22222222", "ou-ab12-33333333"];
/// Two accounts per OU; the management account sits at the root.
const ACCOUNTS: &[(&str, &str)] = &[
    ("222222222222", "ou-ab12-11111111"),
    ("333333333333", "ou-ab12-11111111"),
    ("444444444444", "ou-ab12-22222222"),
    ("555555555555", "ou-ab12-33333333"),
];
const MANAGEMENT: &str = "111111111111";
/// The id of the account placed in an OU for (a); named by no policy.
const FRESH: &str = "999999999999";
const PROFILE: &str = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
const MODEL: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const ROLES: &[&str] = &["ml-a", "ml-b", "app", "AWSControlTowerExecution"];
const ADMIN_ROLE: &str = "AWSControlTowerExecution";
const TEAMS: &[&str] = &["ml", "web"];

/// Targets a policy can be attached to.
fn target() -> impl Strategy<Value = String> {
    let mut all: Vec<String> = vec![ROOT.to_string()];
    all.extend(OUS.iter().map(|s| s.to_string()));
    all.extend(ACCOUNTS.iter().map(|(id, _)| id.to_string()));
    select(all)
}

fn region_list() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(vec!["us-east-1", "us-east-2", "us-west-2"], 1..=2)
}

fn account_id() -> impl Strategy<Value = &'static str> {
    select(vec!["222222222222", "333333333333", "444444444444", "*"])
}

/// One way out of a deny (a clause that, when false, lets the caller through).
fn exemption() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        (
            prop::sample::subsequence(ROLES.to_vec(), 1..=2),
            account_id()
        )
            .prop_map(|(roles, account)| {
                let arns: Vec<String> = roles
                    .iter()
                    .map(|r| format!("arn:aws:iam::{account}:role/{r}"))
                    .collect();
                ("ArnNotLike".to_string(), json!({"aws:PrincipalARN": arns}))
            }),
        prop::sample::subsequence(vec!["222222222222", "444444444444"], 1..=2).prop_map(|a| (
            "StringNotEquals".to_string(),
            json!({"aws:PrincipalAccount": a})
        )),
        select(vec![
            "arn:aws:bedrock:*:*:inference-profile/us.*",
            "arn:aws:bedrock:*:222222222222:inference-profile/us.*",
            "arn:aws:bedrock:*:${aws:PrincipalAccount}:inference-profile/us.*",
            "arn:aws:bedrock:*:*:inference-profile/eu.*",
        ])
        .prop_map(|p| (
            "ArnNotLike".to_string(),
            json!({"bedrock:InferenceProfileArn": p})
        )),
        select(TEAMS.to_vec()).prop_map(|t| (
            "StringNotEquals".to_string(),
            json!({"aws:PrincipalTag/team": t})
        )),
        select(TEAMS.to_vec()).prop_map(|t| (
            "StringNotEqualsIfExists".to_string(),
            json!({"aws:PrincipalTag/team": t})
        )),
        Just((
            "Null".to_string(),
            json!({"aws:PrincipalTag/team": ["true", "false"]})
        )),
        Just((
            "ForAnyValue:StringEqualsIfExists".to_string(),
            json!({"aws:PrincipalTag/team": ["web"]})
        )),
    ]
}

/// A Region deny with up to two ways out, or an allow-list whose Allow carries a condition.
fn policy() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (region_list(), prop::collection::vec(exemption(), 0..=2)).prop_map(|(regions, exemptions)| {
            let mut condition = serde_json::Map::new();
            condition.insert("StringNotEquals".into(), json!({"aws:RequestedRegion": regions}));
            for (operator, clause) in exemptions {
                // One key per operator: merge, later keys win.
                let entry = condition.entry(operator).or_insert_with(|| json!({}));
                if let (Some(entry), Some(clause)) = (entry.as_object_mut(), clause.as_object()) {
                    for (k, v) in clause {
                        entry.insert(k.clone(), v.clone());
                    }
                }
            }
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "RegionDeny", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                 "Condition": condition}
            ]})
        }),
        1 => exemption().prop_map(|(operator, clause)| {
            // Allow-list: the Allow holds only where the exemption's positive form holds.
            let positive = operator.replacen("Not", "", 1);
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "AllowOthers", "Effect": "Allow", "NotAction": "bedrock:*", "Resource": "*"},
                {"Sid": "AllowBedrockIf", "Effect": "Allow", "Action": "bedrock:*", "Resource": "*",
                 "Condition": {positive: clause}}
            ]})
        }),
    ]
}

fn organization() -> impl Strategy<Value = Vec<(Value, Vec<String>)>> {
    prop::collection::vec((policy(), prop::collection::vec(target(), 1..=2)), 1..=3)
}

fn profile_json() -> Value {
    let models: Vec<Value> = ["us-east-1", "us-east-2", "us-west-2"]
        .iter()
        .map(|r| json!({"modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{MODEL}")}))
        .collect();
    json!({
        "us-east-1": [{
            "inferenceProfileId": PROFILE,
            "inferenceProfileArn": format!("arn:aws:bedrock:us-east-1:{MANAGEMENT}:inference-profile/{PROFILE}"),
            "type": "SYSTEM_DEFINED",
            "status": "ACTIVE",
            "models": models
        }]
    })
}

/// The snapshot, with an extra account `FRESH` in `fresh_in` when given.
fn snapshot(policies: &[(Value, Vec<String>)], fresh_in: Option<&str>) -> ValidSnapshot {
    let mut accounts: Vec<(&str, &str)> = vec![(MANAGEMENT, ROOT)];
    accounts.extend(ACCOUNTS.iter().copied());
    if let Some(ou) = fresh_in {
        accounts.push((FRESH, ou));
    }
    let mut full_targets: Vec<String> = vec![ROOT.to_string()];
    full_targets.extend(OUS.iter().map(|s| s.to_string()));
    full_targets.extend(accounts.iter().map(|(id, _)| id.to_string()));
    let mut policy_records = vec![json!({
        "id": "p-FullAWSAccess", "name": "FullAWSAccess", "awsManaged": true,
        "type": "SERVICE_CONTROL_POLICY",
        "content": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        "targets": full_targets
    })];
    for (i, (content, targets)) in policies.iter().enumerate() {
        let mut targets = targets.clone();
        targets.sort();
        targets.dedup();
        policy_records.push(json!({
            "id": format!("p-generated{i}"), "name": format!("generated-{i}"), "awsManaged": false,
            "type": "SERVICE_CONTROL_POLICY", "content": content, "targets": targets
        }));
    }
    let account_records: Vec<Value> = accounts
        .iter()
        .map(|(id, parent)| {
            json!({"id": id, "name": format!("acct-{id}"), "parentId": parent, "status": "ACTIVE"})
        })
        .collect();
    let value = json!({
        "formatVersion": 1,
        "capturedAt": "2026-12-06T00:00:00Z",
        "organization": {"id": ORG, "managementAccountId": MANAGEMENT},
        "roots": [{"id": ROOT, "name": "Root"}],
        "organizationalUnits": [
            {"id": OUS[0], "name": "Sandbox", "parentId": ROOT},
            {"id": OUS[1], "name": "Workloads", "parentId": ROOT},
            {"id": OUS[2], "name": "Nested", "parentId": OUS[1]}
        ],
        "accounts": account_records,
        "policies": policy_records,
        "inferenceProfiles": profile_json()
    });
    snapshot::load("generated", &serde_json::to_vec(&value).unwrap()).unwrap()
}

fn options() -> Options {
    Options {
        all_accounts: true,
        ..Options::default()
    }
}

/// What a finding says, without where the target's own level is attached.
fn gist(f: &Finding) -> (Status, BTreeSet<String>, BTreeSet<String>) {
    let blockers = f
        .blockers
        .iter()
        .map(|b| {
            format!(
                "{} {} {:?} {:?} {:?}",
                b.region, b.action, b.policy_id, b.sid, b.kind
            )
        })
        .collect();
    let conditions = f
        .conditions
        .iter()
        .map(|c| format!("{} {} {:?} {}", c.key, c.operator, c.values, c.effect))
        .collect();
    (f.status, blockers, conditions)
}

/// The principals worth trying: each role the generator names, with and without a team tag.
fn principals(account: &str) -> Vec<(String, Option<&'static str>)> {
    let mut out = Vec::new();
    for role in ROLES.iter().chain(["someone-else"].iter()) {
        for team in [None, Some("ml"), Some("web")] {
            out.push((format!("arn:aws:iam::{account}:role/{role}"), team));
        }
    }
    out
}

/// Whether `principal` may make every request of the check from `account` (whose chain is
/// `target`'s), by `check` on each request.
fn allowed_everywhere(
    valid: &ValidSnapshot,
    target: &str,
    account: &str,
    principal: &(String, Option<&str>),
) -> bool {
    let checks = reachability::checks(valid, &options());
    let check = checks.first().expect("one check");
    check.legs.iter().all(|leg| {
        let with_account = |arn: &str| {
            let mut parts: Vec<String> = arn.splitn(6, ':').map(str::to_string).collect();
            if parts.len() == 6 && !parts[4].is_empty() {
                parts[4] = account.to_string();
            }
            parts.join(":")
        };
        let mut context = std::collections::BTreeMap::new();
        context.insert(
            "aws:RequestedRegion".to_string(),
            ContextValue::One(leg.region.clone()),
        );
        if let Some(arn) = &leg.inference_profile_arn {
            context.insert(
                "bedrock:InferenceProfileArn".to_string(),
                ContextValue::One(with_account(arn)),
            );
        }
        if let Some(team) = principal.1 {
            context.insert(
                "aws:PrincipalTag/team".to_string(),
                ContextValue::One(team.to_string()),
            );
        }
        let spec = RequestSpec {
            principal: Some(principal.0.clone()),
            action: leg.action.clone(),
            resource: if leg.kind == LegKind::Profile {
                with_account(&leg.resource)
            } else {
                leg.resource.clone()
            },
            context,
        };
        check::check(valid, target, &spec).unwrap().decision == "allowed"
    })
}

/// Checks one finding's status against concrete evaluation of every principal.
fn witnessed(valid: &ValidSnapshot, finding: &Finding, account: &str) -> Result<(), TestCaseError> {
    let tried: Vec<(String, Option<&str>, bool)> = principals(account)
        .into_iter()
        .map(|p| {
            let ok = allowed_everywhere(valid, account, account, &p);
            (p.0, p.1, ok)
        })
        .collect();
    let is_admin = |arn: &str| arn.ends_with(&format!("role/{ADMIN_ROLE}"));
    let summary = || {
        tried
            .iter()
            .map(|(p, t, ok)| format!("{p} team={t:?} allowed={ok}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match finding.status {
        Status::Reachable => prop_assert!(
            tried.iter().all(|(_, _, ok)| *ok),
            "{} reachable, but some principal is denied:\n{}\n{}",
            finding.target_id,
            summary(),
            finding.explanation
        ),
        Status::Blocked => prop_assert!(
            tried.iter().all(|(p, _, ok)| !*ok || is_admin(p)),
            "{} blocked, but a non-admin principal is allowed:\n{}\n{}",
            finding.target_id,
            summary(),
            finding.explanation
        ),
        // Not also "someone is denied": a deny whose clauses contradict each other is
        // conditional (no principal meets it, but proving that in general needs values of
        // every type; erring this way never says reachable wrongly).
        Status::Conditional => prop_assert!(
            tried.iter().any(|(p, _, ok)| *ok && !is_admin(p)),
            "{} conditional, but no non-admin principal is allowed:\n{}\n{}",
            finding.target_id,
            summary(),
            finding.explanation
        ),
        Status::Unknown => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn an_ou_reads_as_a_new_account_in_it(policies in organization()) {
        for ou in OUS {
            let placed = snapshot(&policies, Some(ou));
            let report = reachability::evaluate(&placed, &options());
            let of = |id: &str| report.findings.iter().find(|f| f.target_id == id).unwrap();
            prop_assert_eq!(
                gist(of(ou)), gist(of(FRESH)),
                "OU {} vs a new account in it\nOU: {}\nnew account: {}",
                ou, of(ou).explanation, of(FRESH).explanation
            );
        }
    }

    #[test]
    fn every_status_is_witnessed_by_concrete_principals(policies in organization()) {
        let plain = snapshot(&policies, None);
        let report = reachability::evaluate(&plain, &options());
        for finding in report.findings.iter().filter(|f| f.target_id != MANAGEMENT) {
            if finding.target_id.starts_with("ou-") {
                // An OU's principals live in a new account: check them there.
                let placed = snapshot(&policies, Some(&finding.target_id));
                witnessed(&placed, finding, FRESH)?;
            } else {
                witnessed(&plain, finding, &finding.target_id.clone())?;
            }
        }
    }
}
