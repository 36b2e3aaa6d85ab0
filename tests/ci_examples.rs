//! The pipeline examples in `examples/ci/` run as written: the GitHub Actions gate step and the
//! GitLab job's script are executed with bash on the Terraform plan fixture, the committed
//! expectations and the blog snapshot, with `cris-guard` on PATH, and give the exit code, SARIF
//! and summary a pull request would get. (`actionlint` is not installable from the registries
//! this project can reach, so the workflow's syntax is not linted here.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(relative: &str) -> Value {
    let text = std::fs::read_to_string(root().join(relative)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

const PLAN: &str =
    "tests/corpus/what-if-terraform/fix-sandbox-and-deny-us-east-2-for-security.plan.json";

/// Runs `script` with bash in a fresh directory holding the plan and the Terraform root module
/// it came from (as after `terraform show -json`), with the job's variables.
fn run(script: &str, expect: &str, bash_flags: &str) -> (i32, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(PLAN), dir.path().join("plan.json")).unwrap();
    let module = root().join("tests/corpus/what-if-terraform");
    std::fs::copy(module.join("main.tf"), dir.path().join("main.tf")).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::copy(
        module.join("policies/region-deny.json"),
        dir.path().join("policies/region-deny.json"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_cris-guard"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("bash")
        .args([bash_flags, "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("SNAPSHOT", root().join("examples/blog/snapshot.json"))
        .env("EXPECT", root().join(expect))
        .env("PLAN", "plan.json")
        .env("GITHUB_OUTPUT", dir.path().join("github-output"))
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .status()
        .unwrap();
    (status.code().unwrap_or(-1), dir)
}

fn read(dir: &tempfile::TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).unwrap_or_default()
}

fn gate_step() -> String {
    let workflow = yaml("examples/ci/github-actions.yml");
    let steps = workflow["jobs"]["gate"]["steps"].as_array().unwrap();
    let gate = steps
        .iter()
        .find(|s| s["id"] == "gate")
        .expect("a step with id gate");
    gate["run"].as_str().unwrap().to_string()
}

#[test]
fn the_github_gate_step_reports_a_violated_expectation_and_writes_sarif_and_summary() {
    let (code, dir) = run(&gate_step(), "examples/ci/expectations.json", "-e");
    assert_eq!(
        code, 0,
        "the step itself records the exit code for the later steps"
    );
    assert_eq!(read(&dir, "github-output").trim(), "exit=1");
    let sarif: Value = serde_json::from_str(&read(&dir, "cris-guard.sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    // Annotations land on the pull request's Terraform, not on the snapshot.
    assert!(
        results
            .iter()
            .any(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "main.tf"),
        "{sarif}"
    );
    let summary = read(&dir, "summary.md");
    assert!(
        summary.contains("What-if") && summary.contains("violated"),
        "{summary}"
    );
}

#[test]
fn the_github_gate_passes_when_every_expectation_holds() {
    let expect = "tests/corpus/expectations/deny-by-design-holds/expectations.json";
    let (_, dir) = run(&gate_step(), expect, "-e");
    assert_eq!(read(&dir, "github-output").trim(), "exit=0");
}

#[test]
fn the_gitlab_job_fails_on_a_violated_expectation_and_keeps_its_artifacts() {
    let pipeline = yaml("examples/ci/gitlab-ci.yml");
    let script: Vec<&str> = pipeline["cris-guard"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let (code, dir) = run(&script.join("\n"), "examples/ci/expectations.json", "-e");
    assert_eq!(code, 1);
    for artifact in pipeline["cris-guard"]["artifacts"]["paths"]
        .as_array()
        .unwrap()
    {
        let name = artifact.as_str().unwrap();
        assert!(!read(&dir, name).is_empty(), "{name} was not written");
    }
}
