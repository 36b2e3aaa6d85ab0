//! `lint-iam` (contract §9): the corpus of caller policies (one per pitfall of domain.md §11,
//! plus AWS's correct patterns), the proposed statements proven by re-linting, the project's
//! own template, SARIF against the schema, and the CLI's exit codes.
//!
//! Corpus format: `tests/corpus/lint-iam/<name>.json|yaml` is the input, `<name>.expect.json`
//! names the profiles and source Regions checked, the exit code, and findings: each expected
//! finding (rule, optional line, requests as `ACTION RESOURCE`) must be found, and every error
//! or unknown finding must have a rule the file expects.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cris_guard::lint_iam::{
    self, Finding, InputFile, LintOptions, LintReport, Severity, documented_profiles, lint,
};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/lint-iam")
}

struct Case {
    name: String,
    input: PathBuf,
    expect: Value,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(name) = file.strip_suffix(".expect.json") else {
            continue;
        };
        let input = ["json", "yaml"]
            .iter()
            .map(|ext| corpus_dir().join(format!("{name}.{ext}")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{name}: no input next to the expectations"));
        let expect = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        out.push(Case {
            name: name.to_string(),
            input,
            expect,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn run(name: &str, text: &str, expect: &Value) -> LintReport {
    let options = LintOptions {
        profiles: strings(&expect["profiles"]),
        source_regions: strings(&expect["sourceRegions"]),
    };
    let input = InputFile {
        name: name.to_string(),
        text: text.to_string(),
    };
    lint(&[input], &documented_profiles(), "documented", &options).unwrap()
}

fn requests_of(finding: &Finding) -> Vec<String> {
    finding
        .requests
        .iter()
        .map(|r| format!("{} {}", r.action, r.resource))
        .collect()
}

fn failures_of(case: &Case, report: &LintReport) -> Vec<String> {
    let mut failures = Vec::new();
    let name = &case.name;
    let expected_code = case.expect["exitCode"].as_u64().unwrap();
    if u64::from(report.exit_code()) != expected_code {
        failures.push(format!(
            "{name}: exit code {} instead of {expected_code}",
            report.exit_code()
        ));
    }
    let expected = case.expect["findings"].as_array().unwrap();
    for want in expected {
        let rule = want["rule"].as_str().unwrap();
        let line = want["line"].as_u64();
        let requests = strings(&want["requests"]);
        let found = report.findings.iter().any(|f| {
            f.rule == rule
                && line.is_none_or(|l| f.line as u64 == l)
                && requests.iter().all(|r| requests_of(f).contains(r))
                && (!requests.is_empty() || f.requests.is_empty())
        });
        if !found {
            failures.push(format!("{name}: no finding {want}"));
        }
    }
    for finding in &report.findings {
        let expected_rule = expected.iter().any(|w| w["rule"] == finding.rule.as_str());
        if finding.severity != Severity::Warning && !expected_rule {
            failures.push(format!(
                "{name}: unexpected {} at line {}: {:?} ({})",
                finding.rule,
                finding.line,
                requests_of(finding),
                finding.why
            ));
        }
    }
    failures
}

#[test]
fn corpus_names_the_pitfall_and_the_missing_requests() {
    let cases = cases();
    assert!(cases.len() >= 14, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(&case.input).unwrap();
        let report = run(&case.name, &text, &case.expect);
        failures.extend(failures_of(case, &report));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_pitfall_of_domain_md_has_a_rule_and_a_corpus_case() {
    let cases = cases();
    for rule in &lint_iam::RULES[..10] {
        assert!(!rule.fix.is_empty(), "{} has no fix text", rule.id);
        assert!(
            cases.iter().any(|c| c.expect["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == rule.id)),
            "no corpus case for {}",
            rule.id
        );
    }
}

/// The statements a finding proposes, added to the policy, leave no request of the check
/// denied: the fix is what the linter says it is.
#[test]
fn adding_the_proposed_statements_clears_every_error() {
    let mut failures = Vec::new();
    for case in cases()
        .iter()
        .filter(|c| c.input.extension().is_some_and(|e| e == "json"))
    {
        let text = std::fs::read_to_string(&case.input).unwrap();
        let report = run(&case.name, &text, &case.expect);
        let mut document: Value = serde_json::from_str(&text).unwrap();
        let errors = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error);
        for (added, finding) in errors.enumerate() {
            if finding.rule == "explicit-deny" {
                // An Allow cannot beat a Deny: nothing is proposed, and the Deny stays.
                assert!(finding.statements_to_add.is_empty(), "{}", case.name);
                continue;
            }
            assert!(
                !finding.statements_to_add.is_empty(),
                "{}: {} proposes nothing",
                case.name,
                finding.rule
            );
            for (i, statement) in finding.statements_to_add.iter().enumerate() {
                let mut statement = statement.clone();
                statement["Sid"] = Value::String(format!("Added{added}x{i}"));
                document["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .push(statement);
            }
        }
        let fixed = run(&case.name, &document.to_string(), &case.expect);
        let left: Vec<&Finding> = fixed
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.rule != "explicit-deny")
            .collect();
        if !left.is_empty() {
            failures.push(format!("{}: still {left:#?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The project's own template: the guard's role reads inference profiles but never invokes a
/// model, so no profile is in scope by default, and checked against one explicitly, every
/// request is `invoke-not-granted` (nothing else: no Deny, no pitfall).
#[test]
fn the_projects_template_grants_no_inference_and_says_so() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let input = InputFile {
        name: "template.yaml".to_string(),
        text,
    };
    let profiles = documented_profiles();
    let all = lint(
        std::slice::from_ref(&input),
        &profiles,
        "documented",
        &LintOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = all
        .principals
        .iter()
        .map(|p| p.principal.as_str())
        .collect();
    assert_eq!(names, ["GuardFunctionRole"]);
    assert_eq!(all.principals[0].checks, 0);
    assert_eq!(all.exit_code(), 0);
    assert!(all.findings.is_empty(), "{:#?}", all.findings);

    let one = lint(
        &[input],
        &profiles,
        "documented",
        &LintOptions {
            profiles: vec!["eu.amazon.nova-pro-v1:0".to_string()],
            source_regions: vec!["eu-central-1".to_string()],
        },
    )
    .unwrap();
    let rules: Vec<&str> = one.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["invoke-not-granted"]);
    // 2 actions × (profile, source model, 3 other destinations).
    assert_eq!(one.findings[0].requests.len(), 10);
    assert_eq!(one.exit_code(), 1);
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .arg("lint-iam")
        .args(args)
        .current_dir(corpus_dir())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn sarif_points_at_the_statement_and_validates_against_the_schema() {
    let (code, out, err) = cli(&[
        "--policy",
        "pinned-model-region.json",
        "template-sub-pinned-to-stack-region.yaml",
        "--profile",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "--source-region",
        "us-east-1",
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1, "{err}");
    let log: Value = serde_json::from_str(&out).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("schemas/sarif-2.1.0.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    let located: Vec<(String, u64)> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "model-arn-pinned-to-region")
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            ("pinned-model-region.json".to_string(), 4),
            ("template-sub-pinned-to-stack-region.yaml".to_string(), 22)
        ]
    );
}

#[test]
fn cli_exit_codes_follow_evaluate() {
    let clean = cli(&[
        "--policy",
        "deadline-cloud-pattern.json",
        "--profile",
        "us.amazon.nova-pro-v1:0",
        "--source-region",
        "us-east-1",
    ]);
    assert_eq!(clean.0, 0, "{}{}", clean.1, clean.2);
    let (code, out, _) = cli(&[
        "--policy",
        "streaming-action-missing.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["principals"][0]["checks"].as_u64().unwrap() > 0);
    let (code, out, err) = cli(&["--policy", "../lint-iam/missing-file.json"]);
    assert_eq!(code, 4, "{err}");
    assert!(out.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock", "Resource": "*"}]}"#,
    )
    .unwrap();
    let (code, out, err) = cli(&["--policy", bad.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("bad.json") && err.contains("$.Statement[0].Action"),
        "{err}"
    );
}

/// With `--snapshot`, the profiles and their routing are the snapshot's; the profile request
/// still names the caller's account, not the one the snapshot was read in.
#[test]
fn a_snapshot_supplies_the_profiles_and_their_routing() {
    let (code, out, err) = cli(&[
        "--policy",
        "streaming-action-missing.json",
        "--snapshot",
        "../../../examples/blog/snapshot.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(
        report["routingSource"]
            .as_str()
            .unwrap()
            .contains("snapshot")
    );
    let checked: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["profile"].as_str().unwrap(),
                f["sourceRegion"].as_str().unwrap(),
            )
        })
        .collect();
    let profile = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
    assert_eq!(
        checked,
        [
            ("streaming-action-missing", profile, "us-east-1"),
            ("streaming-action-missing", profile, "us-west-2")
        ]
    );
    assert_eq!(
        report["findings"][0]["requests"][0]["resource"],
        format!("arn:aws:bedrock:us-east-1:111122223333:inference-profile/{profile}")
    );
}
