//! The memoized reachability engine (interned chains, per chain × check cache) agrees with a
//! plain computation: every finding's chain rebuilt from the snapshot by walking parents, and
//! its verdict computed afresh, on small generated organizations.
//!
//! The engine shares level results between chains and verdicts between targets unless a level
//! can depend on the caller's account or OU path for the check at hand; the organizations here
//! carry such levels (an `aws:PrincipalAccount` exception on accounts, an
//! `aws:PrincipalOrgPaths` guard on OUs) next to ones that are account-sensitive only through
//! statements that never match Bedrock (the Control Tower guardrail's S3 statement).
//!
//! A second property targets sharing specifically: small organizations whose accounts in one
//! OU carry the same chain (only FullAWSAccess at the account level) and differ only in what
//! account-pinned statements at the root or an OU say about them — an `aws:PrincipalAccount`
//! condition, an account in a resource ARN, in `bedrock:InferenceProfileArn` or in
//! `aws:PrincipalARN`, `${aws:PrincipalAccount}`, an OU path (`tests/support/orgs.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::{BTreeSet, HashMap};

use cris_guard::findings::{BlockerKind, Report, Status, TargetKind};
use cris_guard::generate::{self, GenerateOptions};
use cris_guard::reachability::{self, Caller, Options};
use cris_guard::snapshot::ValidSnapshot;
use proptest::prelude::*;

#[allow(dead_code, reason = "each test file uses part of the shared generator")]
#[path = "support/orgs.rs"]
mod orgs;

/// Source Regions the property draws from: geographic, global-only, GovCloud and Canadian ones.
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-south-2",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
    "us-gov-east-1",
];

/// Ids from the root down to `container` (inclusive).
fn container_path<'a>(parent_of: &HashMap<&'a str, &'a str>, container: &'a str) -> Vec<&'a str> {
    let mut path = vec![container];
    let mut current = container;
    while let Some(parent) = parent_of.get(current) {
        path.push(parent);
        current = parent;
    }
    path.reverse();
    path
}

/// Indices of the policies attached to `id`, in policy order.
fn attached(valid: &ValidSnapshot, id: &str) -> Vec<usize> {
    valid
        .snapshot
        .policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.targets.iter().any(|t| t == id))
        .map(|(i, _)| i)
        .collect()
}

/// Recomputes every finding of `report` without the engine and compares.
fn assert_matches_plain_computation(valid: &ValidSnapshot, options: &Options, report: &Report) {
    let s = &valid.snapshot;
    let parent_of: HashMap<&str, &str> = s
        .organizational_units
        .iter()
        .map(|o| (o.id.as_str(), o.parent_id.as_str()))
        .collect();
    let full_aws_access = s
        .policies
        .iter()
        .position(|p| p.name == "FullAWSAccess" && p.aws_managed)
        .expect("the generator attaches FullAWSAccess");
    let checks = reachability::checks(valid, options);
    let admins = reachability::admin_patterns(&options.admin_principals);

    // Every OU and every account, each once per check.
    let expected_targets = s.organizational_units.len() + s.accounts.len();
    assert_eq!(report.findings.len(), expected_targets * checks.len());
    let mut seen = BTreeSet::new();

    for finding in &report.findings {
        assert!(
            seen.insert((
                finding.target_id.clone(),
                finding.profile_id.clone(),
                finding.source_region.clone()
            )),
            "duplicate finding {} {} {}",
            finding.target_id,
            finding.profile_id,
            finding.source_region
        );
        let check = checks
            .iter()
            .find(|c| {
                c.profile_id == finding.profile_id && c.source_region == finding.source_region
            })
            .expect("finding of a known check");
        let (chain, caller, active) = match finding.target_kind {
            TargetKind::OrganizationalUnit => {
                let path = container_path(&parent_of, &finding.target_id);
                let mut chain: Vec<Vec<usize>> =
                    path.iter().map(|id| attached(valid, id)).collect();
                // A new account in the OU carries FullAWSAccess.
                chain.push(vec![full_aws_access]);
                let caller = Caller {
                    account_id: None,
                    organization_id: s.organization.id.clone(),
                    org_path: format!("{}/{}/", s.organization.id, path.join("/")),
                };
                (chain, caller, true)
            }
            TargetKind::Account => {
                let account = s
                    .accounts
                    .iter()
                    .find(|a| a.id == finding.target_id)
                    .expect("finding of a known account");
                let path = container_path(&parent_of, &account.parent_id);
                let chain: Vec<Vec<usize>> = if account.id == s.organization.management_account_id {
                    Vec::new()
                } else {
                    path.iter()
                        .map(|id| attached(valid, id))
                        .chain(std::iter::once(attached(valid, &account.id)))
                        .collect()
                };
                let caller = Caller {
                    account_id: Some(account.id.clone()),
                    organization_id: s.organization.id.clone(),
                    org_path: format!("{}/{}/", s.organization.id, path.join("/")),
                };
                (chain, caller, account.status == "ACTIVE")
            }
            TargetKind::Root => panic!("roots are not reported"),
        };
        if !active {
            assert_eq!(finding.status, Status::Blocked, "{}", finding.target_id);
            assert!(
                finding
                    .blockers
                    .iter()
                    .all(|b| b.kind == BlockerKind::AccountNotActive),
                "{}",
                finding.target_id
            );
            continue;
        }
        let verdict = reachability::verdict(check, &chain, &valid.policies, &caller, &admins);
        assert_eq!(
            verdict.status, finding.status,
            "{} {} {}: plain {:?}, engine {:?}",
            finding.target_id, finding.profile_id, finding.source_region, verdict, finding
        );
        assert_eq!(
            verdict.conditions, finding.conditions,
            "{}",
            finding.target_id
        );
        // Same blocking statements (by policy id and kind).
        let plain: BTreeSet<(Option<String>, Option<usize>, String)> = verdict
            .blockers
            .iter()
            .map(|b| {
                (
                    b.policy
                        .and_then(|p| valid.policies.get(p))
                        .map(|p| p.id.clone()),
                    b.statement,
                    format!("{:?}", b.kind),
                )
            })
            .collect();
        let engine: BTreeSet<(Option<String>, Option<usize>, String)> = finding
            .blockers
            .iter()
            .map(|b| {
                (
                    b.policy_id.clone(),
                    b.statement_index,
                    format!("{:?}", b.kind),
                )
            })
            .collect();
        assert_eq!(
            plain, engine,
            "{} {} {}",
            finding.target_id, finding.profile_id, finding.source_region
        );
    }

    let count = |status: Status| {
        report
            .findings
            .iter()
            .filter(|f| f.status == status)
            .count()
    };
    assert_eq!(report.summary.checks, report.findings.len());
    assert_eq!(report.summary.reachable, count(Status::Reachable));
    assert_eq!(report.summary.blocked, count(Status::Blocked));
    assert_eq!(report.summary.conditional, count(Status::Conditional));
    assert_eq!(report.summary.unknown, count(Status::Unknown));
}

fn generated(
    accounts: usize,
    seed: u64,
    max_depth: usize,
    accounts_per_ou: usize,
) -> ValidSnapshot {
    let snapshot = generate::organization(&GenerateOptions {
        accounts,
        seed,
        max_depth,
        accounts_per_ou,
    });
    cris_guard::snapshot::validate("generated", snapshot).expect("generated snapshots are valid")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn memoized_evaluation_equals_plain_computation(
        accounts in 1usize..60,
        seed in any::<u64>(),
        max_depth in 1usize..=5,
        accounts_per_ou in 1usize..8,
        regions in proptest::sample::subsequence(REGIONS, 1..=3),
    ) {
        let valid = generated(accounts, seed, max_depth, accounts_per_ou);
        let options = Options {
            all_accounts: true,
            source_regions: regions.iter().map(|r| (*r).to_string()).collect(),
            ..Options::default()
        };
        let report = reachability::evaluate(&valid, &options);
        assert_matches_plain_computation(&valid, &options, &report);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// `evaluate --format json` writes the report while building it from the decisions; what
    /// it writes is the report `evaluate` returns, byte for byte, listing options included.
    #[test]
    fn streamed_json_report_equals_the_report(
        accounts in 1usize..60,
        seed in any::<u64>(),
        max_depth in 1usize..=5,
        only_problems in any::<bool>(),
        all_accounts in any::<bool>(),
        regions in proptest::sample::subsequence(REGIONS, 1..=2),
    ) {
        let valid = generated(accounts, seed, max_depth, 3);
        let options = Options {
            only_problems,
            all_accounts,
            source_regions: regions.iter().map(|r| (*r).to_string()).collect(),
            ..Options::default()
        };
        let report = reachability::evaluate(&valid, &options);
        let org = cris_guard::org::Org::new(&valid);
        let decisions = reachability::decide(&org, &options);
        prop_assert_eq!(decisions.summary(), report.summary);
        let streamed = serde_json::to_string_pretty(&decisions.report()).unwrap();
        prop_assert_eq!(&streamed, &serde_json::to_string_pretty(&report).unwrap());
        let parsed: Report = serde_json::from_str(&streamed).unwrap();
        prop_assert_eq!(parsed, report);
    }
}

/// Targets with a policy named `name` attached to them.
fn attached_to(valid: &ValidSnapshot, name: &str) -> usize {
    valid
        .snapshot
        .policies
        .iter()
        .filter(|p| p.name == name)
        .map(|p| p.targets.len())
        .sum()
}

/// Whether the OU-path guard is attached both to an OU below "Workloads" (the path it allows)
/// and to one elsewhere, so that sharing its results between OUs would be wrong.
fn path_guard_inside_and_outside(valid: &ValidSnapshot) -> bool {
    let s = &valid.snapshot;
    let parent_of: HashMap<&str, &str> = s
        .organizational_units
        .iter()
        .map(|o| (o.id.as_str(), o.parent_id.as_str()))
        .collect();
    let Some(workloads) = s
        .organizational_units
        .iter()
        .find(|o| o.name == "Workloads")
    else {
        return false;
    };
    let targets: Vec<&String> = s
        .policies
        .iter()
        .filter(|p| p.name == "BedrockOnlyInWorkloads")
        .flat_map(|p| &p.targets)
        .collect();
    let inside = |t: &&String| container_path(&parent_of, t).contains(&workloads.id.as_str());
    targets.iter().any(inside) && !targets.iter().all(inside)
}

/// Every profile and source Region once, on an organization big enough to have every kind of
/// SCP, a suspended account and account- and path-sensitive SCPs where Bedrock meets them.
#[test]
fn memoized_evaluation_equals_plain_computation_for_every_check() {
    // The first seed whose organization has all of it (the generator is deterministic).
    let valid = (0..200)
        .map(|seed| generated(110, seed, 5, 3))
        .find(|valid| {
            valid.snapshot.accounts.iter().any(|a| a.status != "ACTIVE")
                && attached_to(valid, "BedrockOnlyInApprovedAccounts") > 0
                && path_guard_inside_and_outside(valid)
        })
        .expect("a seed with a suspended account and both sensitive SCPs attached");
    let options = Options {
        all_accounts: true,
        ..Options::default()
    };
    let report = reachability::evaluate(&valid, &options);
    let statuses: BTreeSet<Status> = report.findings.iter().map(|f| f.status).collect();
    assert!(statuses.contains(&Status::Blocked) && statuses.contains(&Status::Reachable));
    assert_matches_plain_computation(&valid, &options, &report);
}

/// An organization where accounts 0 and 1 sit in OU 0 with the same chain, and at least one
/// statement pinned to one of them (or to the caller's own account, or to an OU path) is
/// attached at the root or at OU 0, so a verdict shared along the chain would be wrong for one.
fn pinned_org() -> impl Strategy<Value = orgs::OrgSpec> {
    let statements = prop_oneof![
        3 => orgs::pinned_deny(),
        2 => orgs::plain_deny(),
        1 => orgs::any_allow(),
    ]
    .boxed();
    (
        orgs::org(statements, false),
        prop::collection::vec(orgs::pinned_deny(), 1..=2),
        prop_oneof![Just(orgs::Target::Root), Just(orgs::Target::Ou(0))],
        prop::bool::weighted(0.8),
    )
        .prop_map(|(mut org, pinned, at, full_access)| {
            // `1 % (ous + 1)` is OU 0; it mostly keeps FullAWSAccess, so that what tells its
            // accounts apart is the pinned statements rather than a missing Allow.
            org.account_parents[0] = 1;
            org.account_parents[1] = 1;
            org.ou_full_access[0] = full_access;
            org.policies.push(orgs::PolicySpec {
                statements: pinned,
                targets: vec![at],
            });
            org
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn memoized_equals_plain_when_accounts_differ_only_in_pinned_statements(org in pinned_org()) {
        let valid = orgs::build(&org)?;
        let options = Options {
            all_accounts: true,
            ..Options::default()
        };
        let report = reachability::evaluate(&valid, &options);
        assert_matches_plain_computation(&valid, &options, &report);
    }
}

/// The generator does make accounts of one OU differ: over a fixed sample, some organization
/// has two accounts of OU 0 with different statuses for the same check.
#[test]
fn pinned_organizations_tell_accounts_of_one_ou_apart() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let options = Options {
        all_accounts: true,
        ..Options::default()
    };
    let mut differing = 0;
    for _ in 0..64 {
        let org = pinned_org().new_tree(&mut runner).unwrap().current();
        let valid = orgs::build(&org).unwrap();
        let report = reachability::evaluate(&valid, &options);
        let status = |account: String| -> Vec<(String, String, Status)> {
            report
                .findings
                .iter()
                .filter(|f| f.target_id == account)
                .map(|f| (f.profile_id.clone(), f.source_region.clone(), f.status))
                .collect()
        };
        if status(orgs::account_id(0)) != status(orgs::account_id(1)) {
            differing += 1;
        }
    }
    assert!(
        differing >= 8,
        "only {differing} of 64 organizations tell accounts 0 and 1 apart"
    );
}

/// `decide_cells` (a proof's statuses) agrees with the full decisions on every cell, whatever
/// the order cells are named in and with cells the organization does not evaluate among them:
/// the same status, and the same finding but for its problem ids.
fn assert_cells_match_decisions(valid: &ValidSnapshot, options: &Options, rotate: usize) {
    let org = cris_guard::org::Org::new(valid);
    let decisions = reachability::decide(&org, options);
    let findings: Vec<_> = decisions.findings().collect();
    let mut cells: Vec<(&str, &str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f.target_id.as_str(),
                f.profile_id.as_str(),
                f.source_region.as_str(),
            )
        })
        .collect();
    cells.push(("111111111111", "us.no-such-profile", "us-east-1"));
    if !cells.is_empty() {
        let by = rotate % cells.len();
        cells.rotate_left(by);
    }
    let decided = reachability::decide_cells(&org, options, &cells);
    let by_cell: HashMap<(&str, &str, &str), &cris_guard::findings::Finding> = findings
        .iter()
        .map(|f| {
            (
                (
                    f.target_id.as_str(),
                    f.profile_id.as_str(),
                    f.source_region.as_str(),
                ),
                f,
            )
        })
        .collect();
    for (index, cell) in cells.iter().enumerate() {
        let Some(expected) = by_cell.get(cell) else {
            assert_eq!(decided.status(index), None, "{cell:?} is not evaluated");
            assert!(decided.findings_of(index).is_empty());
            continue;
        };
        assert_eq!(decided.status(index), Some(expected.status), "{cell:?}");
        let mut got = decided.findings_of(index);
        assert_eq!(got.len(), 1, "{cell:?}");
        let mut got = got.remove(0);
        got.problem_ids = expected.problem_ids.clone();
        assert_eq!(&got, *expected, "{cell:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn decided_cells_equal_the_full_decisions(
        accounts in 1usize..60,
        seed in any::<u64>(),
        max_depth in 1usize..=5,
        rotate in any::<usize>(),
        regions in proptest::sample::subsequence(REGIONS, 1..=2),
    ) {
        let valid = generated(accounts, seed, max_depth, 3);
        let options = Options {
            all_accounts: true,
            source_regions: regions.iter().map(|r| (*r).to_string()).collect(),
            ..Options::default()
        };
        assert_cells_match_decisions(&valid, &options, rotate);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn decided_cells_equal_the_full_decisions_when_accounts_differ(
        org in pinned_org(),
        rotate in any::<usize>(),
    ) {
        let valid = orgs::build(&org)?;
        let options = Options {
            all_accounts: true,
            ..Options::default()
        };
        assert_cells_match_decisions(&valid, &options, rotate);
    }
}
