//! Monotonicity of reachability over random organizations (`tests/support/orgs.rs`):
//!
//! (a) adding a Deny — a new SCP attached to the root, an OU or an account, or a statement
//!     appended to an SCP already attached somewhere — never makes a finding more reachable:
//!     a `blocked` finding stays `blocked`, and a finding that was not `reachable` does not
//!     become `reachable`;
//! (b) adding an Allow the same ways never makes a finding less reachable: a `reachable`
//!     finding stays `reachable`, and a finding that was not `blocked` does not become
//!     `blocked`.
//!
//! The order behind both: `reachable` is the top and `blocked` the bottom; `conditional` and
//! `unknown` sit between (a Deny may turn either into `blocked`, an Allow either into
//! `reachable`). Findings are compared per (target, profile, source Region), every account
//! listed (`all_accounts`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

#[allow(dead_code, reason = "each test file uses part of the shared generator")]
#[path = "support/orgs.rs"]
mod orgs;

use std::collections::BTreeMap;

use cris_guard::findings::Status;
use cris_guard::policy::{self, Applies};
use cris_guard::reachability::{self, Options};
use cris_guard::request::{Context, MissingKeys, Request};
use orgs::{OrgSpec, PolicySpec, Stmt, Target};
use proptest::prelude::*;

type Key = (String, String, String);

fn statuses(org: &OrgSpec) -> Result<BTreeMap<Key, Status>, TestCaseError> {
    let snapshot = orgs::build(org)?;
    let options = Options {
        all_accounts: true,
        ..Options::default()
    };
    let report = reachability::evaluate(&snapshot, &options);
    Ok(report
        .findings
        .into_iter()
        .map(|f| ((f.target_id, f.profile_id, f.source_region), f.status))
        .collect())
}

/// Where the extra statement goes.
#[derive(Debug, Clone)]
enum Placement {
    /// A new SCP holding only the statement, attached to one target.
    NewPolicy(Target),
    /// Appended to one of the generated SCPs (wherever that one is attached).
    Append(usize),
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        orgs::target(true).prop_map(Placement::NewPolicy),
        any::<usize>().prop_map(Placement::Append),
    ]
}

/// The spec with `extra` added as `placement` says, and a description of the change.
fn with_statement(org: &OrgSpec, extra: &Stmt, placement: &Placement) -> (OrgSpec, String) {
    let mut after = org.clone();
    let rendered = extra.render(org);
    let what = match placement {
        Placement::NewPolicy(target) => {
            after.policies.push(PolicySpec {
                statements: vec![extra.clone()],
                targets: vec![*target],
            });
            format!("new SCP on {} with {rendered}", org.target_id(*target))
        }
        Placement::Append(index) => {
            let n = index % after.policies.len();
            after.policies[n].statements.push(extra.clone());
            let on: Vec<String> = after.policies[n]
                .targets
                .iter()
                .map(|t| org.target_id(*t))
                .collect();
            format!("appended to scp-{n} (on {on:?}): {rendered}")
        }
    };
    (after, what)
}

/// Findings whose status moved against the order, as readable lines.
fn violations(
    before: &BTreeMap<Key, Status>,
    after: &BTreeMap<Key, Status>,
    allowed: impl Fn(Status, Status) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, was) in before {
        match after.get(key) {
            Some(now) if allowed(*was, *now) => {}
            now => out.push(format!(
                "{} {} from {}: {was:?} -> {now:?}",
                key.0, key.1, key.2
            )),
        }
    }
    if before.len() != after.len() {
        out.push(format!(
            "{} findings before, {} after",
            before.len(),
            after.len()
        ));
    }
    out
}

/// (a): blocked stays blocked, not reachable stays not reachable.
fn deny_allows(was: Status, now: Status) -> bool {
    match was {
        Status::Blocked => now == Status::Blocked,
        Status::Reachable => true,
        Status::Conditional | Status::Unknown => now != Status::Reachable,
    }
}

/// (b): reachable stays reachable, not blocked stays not blocked.
fn allow_allows(was: Status, now: Status) -> bool {
    match was {
        Status::Reachable => now == Status::Reachable,
        Status::Blocked => true,
        Status::Conditional | Status::Unknown => now != Status::Blocked,
    }
}

proptest! {
    // Shrinking is bounded so that a failure is reported in seconds, not minutes.
    #![proptest_config(ProptestConfig {
        cases: 700,
        max_shrink_iters: 300,
        ..ProptestConfig::default()
    })]

    #[test]
    fn adding_a_deny_never_makes_anything_more_reachable(
        org in orgs::org(orgs::any_statement().boxed(), true),
        extra in orgs::any_deny(),
        placement in placement(),
    ) {
        let before = statuses(&org)?;
        let (changed, what) = with_statement(&org, &extra, &placement);
        let after = statuses(&changed)?;
        let wrong = violations(&before, &after, deny_allows);
        prop_assert!(
            wrong.is_empty(),
            "adding a Deny ({what}) made findings more reachable:\n{}\norganization: {}",
            wrong.join("\n"),
            orgs::snapshot_json(&org)
        );
    }

    #[test]
    fn adding_an_allow_never_makes_anything_less_reachable(
        org in orgs::org(orgs::any_statement().boxed(), true),
        extra in orgs::any_allow(),
        placement in placement(),
    ) {
        let before = statuses(&org)?;
        let (changed, what) = with_statement(&org, &extra, &placement);
        let after = statuses(&changed)?;
        let wrong = violations(&before, &after, allow_allows);
        prop_assert!(
            wrong.is_empty(),
            "adding an Allow ({what}) made findings less reachable:\n{}\norganization: {}",
            wrong.join("\n"),
            orgs::snapshot_json(&org)
        );
    }
}

/// The properties are not vacuous: a Region deny added at the root blocks a reachable
/// profile, an Allow added to an OU without FullAWSAccess unblocks it, and each change is
/// flagged when checked against the other order.
#[test]
fn the_orders_see_real_changes() {
    let org = OrgSpec {
        ou_parents: vec![0],
        ou_full_access: vec![false],
        account_parents: vec![1, 0],
        policies: vec![PolicySpec {
            statements: vec![Stmt::DenyAction { action: "s3:*" }],
            targets: vec![Target::Root],
        }],
        global: false,
        eu: false,
    };
    let before = statuses(&org).unwrap();
    let key = |target: String| {
        (
            target,
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0".to_string(),
            "us-east-1".to_string(),
        )
    };
    // OU0 has no Allow: blocked; the account at the root is reachable.
    assert_eq!(before[&key(orgs::ou_id(0))], Status::Blocked);
    assert_eq!(before[&key(orgs::account_id(1))], Status::Reachable);
    let deny = Stmt::RegionDeny {
        allowed: vec!["us-east-1", "us-west-2"],
        not_action: false,
        admin_exempt: false,
    };
    let (denied, _) = with_statement(&org, &deny, &Placement::NewPolicy(Target::Root));
    let after = statuses(&denied).unwrap();
    assert_eq!(after[&key(orgs::account_id(1))], Status::Blocked);
    // Checked with the other order, the change is flagged: the checks can fail.
    assert!(violations(&before, &after, deny_allows).is_empty());
    assert!(
        violations(&before, &after, allow_allows)
            .iter()
            .any(|v| v.contains("Reachable -> Some(Blocked)"))
    );
    let (allowed, _) = with_statement(&org, &Stmt::AllowAll, &Placement::NewPolicy(Target::Ou(0)));
    let after = statuses(&allowed).unwrap();
    assert_eq!(after[&key(orgs::ou_id(0))], Status::Reachable);
    assert!(
        violations(&before, &after, deny_allows)
            .iter()
            .any(|v| v.contains("Blocked -> Some(Reachable)"))
    );
}

fn us_east_1(target: String) -> Key {
    (
        target,
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0".to_string(),
        "us-east-1".to_string(),
    )
}

/// Regression (a): every inference profile is denied to everyone but the Control Tower role,
/// so every non-admin principal is denied on the profile leg: `blocked`. A second Deny whose
/// resource names profiles after a principal tag (it may or may not apply: indeterminate) adds
/// nothing for those principals, yet the indeterminate leg hides the admin-only Deny and the
/// finding becomes `unknown`.
#[test]
fn an_indeterminate_deny_does_not_hide_a_deny_only_admins_escape() {
    let org = OrgSpec {
        ou_parents: vec![0],
        ou_full_access: vec![true],
        account_parents: vec![0, 1],
        policies: vec![PolicySpec {
            statements: vec![Stmt::DenyProfilesUnlessAdmin],
            targets: vec![Target::Root],
        }],
        global: false,
        eu: false,
    };
    let before = statuses(&org).unwrap();
    for target in [orgs::account_id(0), orgs::account_id(1), orgs::ou_id(0)] {
        assert_eq!(before[&us_east_1(target)], Status::Blocked);
    }
    for at in [Target::Root, Target::Ou(0), Target::Account(1)] {
        let (changed, what) =
            with_statement(&org, &Stmt::DenyTaggedProfiles, &Placement::NewPolicy(at));
        let after = statuses(&changed).unwrap();
        let wrong = violations(&before, &after, deny_allows);
        assert!(wrong.is_empty(), "adding {what}:\n{}", wrong.join("\n"));
    }
}
/// Regression (a), its second cause: a resource pattern holding a policy variable is
/// indeterminate even where its literal text already rules the resource out (a pattern on
/// `inference-profile/…` can never match a foundation model), so the tagged-profile Deny
/// above also makes the model legs indeterminate.
#[test]
fn a_variable_resource_pattern_that_cannot_match_is_not_indeterminate() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:InvokeModel",
        "Resource":"arn:aws:bedrock:*:*:inference-profile/${aws:PrincipalTag/team}*"}]}"#;
    let deny = policy::parse("p-taggeddeny", "tagged", text).unwrap();
    let statement = &deny.statements[0];
    let mut context = Context::new(MissingKeys::UnknownCaller);
    context.set("aws:RequestedRegion", vec!["us-east-2".to_string()]);
    let model = Request::new(
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
        context.clone(),
    );
    assert_eq!(statement.applies(&model), Applies::No);
    // The profile itself does depend on the tag.
    let profile = Request::new(
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-1:200000000000:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        context,
    );
    assert_eq!(statement.applies(&profile), Applies::Indeterminate);
}

/// Regression (b): at an OU without FullAWSAccess, an Allow on profiles named after a
/// principal tag (indeterminate) is the only Allow for the profile leg: `unknown`, since a
/// suitably tagged non-admin principal is allowed. Adding at that OU an Allow that only the
/// Control Tower role meets adds nothing for anyone else, yet the conditional Allow wins over
/// the indeterminate one at the level, is classified admin-only, and the finding becomes
/// `blocked`.
#[test]
fn an_admin_only_allow_does_not_hide_an_indeterminate_allow() {
    let org = OrgSpec {
        ou_parents: vec![0],
        ou_full_access: vec![false],
        account_parents: vec![1, 1],
        policies: vec![PolicySpec {
            statements: vec![Stmt::AllowTaggedProfiles],
            targets: vec![Target::Ou(0)],
        }],
        global: false,
        eu: false,
    };
    let before = statuses(&org).unwrap();
    for target in [orgs::account_id(0), orgs::ou_id(0)] {
        assert_eq!(before[&us_east_1(target)], Status::Unknown);
    }
    let admin_only = Stmt::AllowForRole {
        role: "AWSControlTowerExecution",
    };
    for placement in [Placement::NewPolicy(Target::Ou(0)), Placement::Append(0)] {
        let (changed, what) = with_statement(&org, &admin_only, &placement);
        let after = statuses(&changed).unwrap();
        let wrong = violations(&before, &after, allow_allows);
        assert!(wrong.is_empty(), "adding {what}:\n{}", wrong.join("\n"));
    }
}
