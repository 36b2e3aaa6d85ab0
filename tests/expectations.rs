//! Expectations (`--expect`, contract §6) as data: each `tests/corpus/expectations/<case>/`
//! holds an `expectations.json` and a `case.json` naming the snapshot, the extra arguments, the
//! exit code and, per expectation, whether it holds, its violations and undecided findings.
//! Plus a differential property: how the report lists accounts (`--all-accounts`,
//! `--only-problems`) never changes what an expectation concludes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cris_guard::expectations::{Expectation, ExpectationsFile, Expected};
use cris_guard::generate::{self, GenerateOptions};
use cris_guard::org::Org;
use cris_guard::reachability::{self, Options};
use cris_guard::snapshot::ValidSnapshot;
use proptest::prelude::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    description: String,
    snapshot: String,
    args: Vec<String>,
    exit_code: i32,
    results: Vec<Want>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Want {
    name: String,
    holds: bool,
    violations: Vec<String>,
    unknown_findings: Vec<String>,
    #[serde(default)]
    problem_ids: Option<Vec<String>>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_case(dir: &Path) -> Vec<String> {
    let case: Case =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    assert!(!case.description.is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .current_dir(root())
        .args([
            "evaluate",
            "--format",
            "json",
            "--snapshot",
            &case.snapshot,
            "--expect",
        ])
        .arg(dir.join("expectations.json"))
        .args(&case.args)
        .output()
        .unwrap();
    let mut failures = Vec::new();
    if out.status.code() != Some(case.exit_code) {
        failures.push(format!(
            "exit {:?}, want {} ({})",
            out.status.code(),
            case.exit_code,
            String::from_utf8_lossy(&out.stderr)
        ));
        return failures;
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = report["expectations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if got.len() != case.results.len() {
        failures.push(format!(
            "{} results, want {}",
            got.len(),
            case.results.len()
        ));
    }
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (got, want) in got.iter().zip(&case.results) {
        let checks = [
            ("name", got["name"] == want.name.as_str()),
            ("holds", got["holds"] == want.holds),
            ("violations", strings(&got["violations"]) == want.violations),
            (
                "unknownFindings",
                strings(&got["unknownFindings"]) == want.unknown_findings,
            ),
            (
                "problemIds",
                want.problem_ids
                    .as_ref()
                    .is_none_or(|ids| strings(&got["problemIds"]) == *ids),
            ),
        ];
        for (field, ok) in checks {
            if !ok {
                failures.push(format!("{}: {field} differs: got {got}", want.name));
            }
        }
    }
    failures
}

#[test]
fn every_expectations_case_gives_its_exit_code_and_results() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/corpus/expectations"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "{dirs:?}");
    let failures: Vec<String> = dirs
        .iter()
        .flat_map(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            run_case(dir)
                .into_iter()
                .map(move |f| format!("{name}: {f}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

fn conclusions(
    snapshot: &ValidSnapshot,
    file: &ExpectationsFile,
    all_accounts: bool,
    only_problems: bool,
) -> Vec<(bool, usize, bool, bool, Vec<String>)> {
    let options = Options {
        all_accounts,
        only_problems,
        ..Options::default()
    };
    let org = Org::new(snapshot);
    let decisions = reachability::decide(&org, &options);
    decisions
        .judge_expectations("gen", file)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.holds,
                r.checked,
                r.violations.is_empty(),
                r.unknown_findings.is_empty(),
                r.problem_ids,
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Listing every account, or dropping reachable findings, changes the report, never what
    /// an expectation concludes (holds, cells covered, whether anything is violated or
    /// undecided).
    #[test]
    fn how_accounts_are_listed_never_changes_a_conclusion(seed in 0u64..1_000, accounts in 3usize..40) {
        let snapshot = generate::organization(&GenerateOptions {
            accounts,
            seed,
            ..GenerateOptions::default()
        });
        let valid = cris_guard::snapshot::validate("gen", snapshot).unwrap();
        let file = ExpectationsFile {
            expectations: [Expected::Reachable, Expected::Blocked]
                .into_iter()
                .map(|expect| Expectation {
                    name: format!("{expect:?}"),
                    targets: vec!["Root/**".into()],
                    profiles: None,
                    source_regions: None,
                    expect,
                })
                .collect(),
        };
        let listed = conclusions(&valid, &file, false, false);
        let all = conclusions(&valid, &file, true, false);
        let only = conclusions(&valid, &file, false, true);
        let strip = |v: &[(bool, usize, bool, bool, Vec<String>)]| {
            v.iter().map(|x| (x.0, x.1, x.2, x.3)).collect::<Vec<_>>()
        };
        prop_assert_eq!(strip(&listed), strip(&all));
        prop_assert_eq!(strip(&listed), strip(&only));
    }
}
