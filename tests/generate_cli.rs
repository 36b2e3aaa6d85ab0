//! `cris-guard generate`: a deterministic synthetic snapshot that `cris-guard evaluate
//! --snapshot` accepts, written to a file or to stdout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run cris-guard")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

#[test]
fn generated_snapshot_is_deterministic_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org.json");
    let file_arg = file.display().to_string();
    let out = run(&[
        "generate",
        "--accounts",
        "120",
        "--seed",
        "7",
        "--output",
        &file_arg,
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "--output writes nothing to stdout");
    let written = std::fs::read_to_string(&file).unwrap();

    // Same seed, same snapshot (on stdout this time); another seed, another organization.
    let again = run(&["generate", "--accounts", "120", "--seed", "7"]);
    assert_eq!(code(&again), 0);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), written);
    let other = run(&["generate", "--accounts", "120", "--seed", "8"]);
    assert_ne!(String::from_utf8(other.stdout).unwrap(), written);

    let snapshot: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(snapshot["accounts"].as_array().unwrap().len(), 120);
    assert!(
        snapshot["inferenceProfiles"]["us-east-1"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );

    let evaluated = run(&[
        "evaluate",
        "--snapshot",
        &file_arg,
        "--format",
        "json",
        "--source-region",
        "us-east-2",
    ]);
    // Control Tower's Region deny blocks some profiles: exit 1 (contract §1), a full report.
    assert_eq!(
        code(&evaluated),
        1,
        "{}",
        String::from_utf8_lossy(&evaluated.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&evaluated.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let ous = snapshot["organizationalUnits"].as_array().unwrap().len();
    let profiles = snapshot["inferenceProfiles"]["us-east-2"]
        .as_array()
        .unwrap()
        .len();
    assert!(findings.len() >= ous * profiles);
    assert!(findings.iter().any(|f| f["status"] == "blocked"));
    assert!(findings.iter().any(|f| f["status"] == "reachable"));
}

#[test]
fn bad_account_counts_are_invalid_input() {
    for accounts in ["0", "1000001", "many"] {
        let out = run(&["generate", "--accounts", accounts]);
        assert_eq!(code(&out), 3, "--accounts {accounts}");
        assert!(out.stdout.is_empty());
    }
    let out = run(&["generate"]);
    assert_eq!(code(&out), 3, "--accounts is required");
}

#[test]
fn unwritable_output_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing-dir").join("org.json");
    let out = run(&[
        "generate",
        "--accounts",
        "3",
        "--output",
        &file.display().to_string(),
    ]);
    assert_eq!(code(&out), 4, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!file.exists());
}
