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

fn render(case: &str, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .current_dir(root())
        .env("NO_COLOR", "1")
        .args([
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--format",
            format,
        ])
        .arg("--expect")
        .arg(format!(
            "tests/corpus/expectations/{case}/expectations.json"
        ))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

const BROKEN: &str = "sandbox-intent-broken-by-the-region-deny-fails";
const BY_DESIGN: &str = "deny-by-design-holds";

#[test]
fn text_markdown_and_html_show_the_expectations_before_the_problems() {
    let md = render(BROKEN, "markdown");
    let (at, problems) = (
        md.find("### Expectations").unwrap(),
        md.find("### Problems").unwrap(),
    );
    assert!(at < problems, "{md}");
    assert!(
        md.contains("❌ **violated**: sandbox calls Claude from the US (expects reachable): 2 findings break it, behind `pb-8cddea36`"),
        "{md}"
    );
    let text = render(BROKEN, "text");
    let at = text.find("Expectations").unwrap();
    assert!(at < text.find("Problems").unwrap(), "{text}");
    assert!(
        text.contains("✗ violated  sandbox calls Claude from the US (expects reachable)"),
        "{text}"
    );
    let html = render(BY_DESIGN, "html");
    let at = html.find("<h2 id=\"expectations\">").unwrap();
    assert!(
        at < html.find("id=\"problems\"").unwrap_or(usize::MAX),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"badge reachable\">holds</span> security never calls models")
    );
}

/// Code scanning gates on `error`: a deny by design must not fail the pull request.
#[test]
fn sarif_results_behind_no_violated_expectation_are_notes() {
    let levels = |case: &str| -> Vec<String> {
        let log: serde_json::Value = serde_json::from_str(&render(case, "sarif")).unwrap();
        assert!(log["runs"][0]["properties"]["expectations"].is_array());
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["level"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(levels(BY_DESIGN), ["note"]);
    assert_eq!(levels(BROKEN), ["error"]);
}

/// The first SARIF result of the blog snapshot with `what_if` applied: the file it points at
/// must be `file`, and the line it points at must contain `statement`.
fn assert_first_result_points_at(what_if: &str, file: &str, statement: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .current_dir(root())
        .args([
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--format",
            "sarif",
        ])
        .args(["--what-if", what_if])
        .output()
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let location = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], file, "{log}");
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let line = location["region"]["startLine"].as_u64().unwrap() as usize;
    assert!(
        text.lines().nth(line - 1).unwrap().contains(statement),
        "{location}"
    );
}

/// A what-if from a CfCT manifest: code scanning annotates the policy file of the pull request,
/// on the statement that breaks CRIS, not the snapshot.
#[test]
fn sarif_from_a_cfct_manifest_points_at_the_statement_in_its_policy_file() {
    assert_first_result_points_at(
        "tests/corpus/what-if-cfct/manifest.yaml",
        "tests/corpus/what-if-cfct/policies/deny-bedrock-us-east-2.json",
        "\"Sid\": \"NoBedrockInUsEast2\"",
    );
}

/// A what-if from a Terraform plan: the plan JSON has no file positions, so the policy's
/// resource is found in the `.tf` files next to the plan and code scanning annotates the
/// statement written inline there (regression: results pointed at the snapshot).
#[test]
fn sarif_from_a_terraform_plan_points_at_the_statement_in_its_tf_file() {
    assert_first_result_points_at(
        "tests/corpus/what-if-terraform/fix-sandbox-and-deny-us-east-2-for-security.plan.json",
        "tests/corpus/what-if-terraform/main.tf",
        "Sid       = \"NoBedrockInUsEast2\"",
    );
}
