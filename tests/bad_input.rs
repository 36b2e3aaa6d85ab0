//! Bad input end to end: every case of `tests/corpus/bad-input/<behaviour>/` (input files plus
//! an `expect.json`) run through the built `cris-guard` binary, plus the cases too large to
//! commit (generated at test time) and the regression tests of crashes found by `scripts/fuzz`.
//!
//! Contract §1: invalid input exits 3, prints nothing on stdout, and the message names the file
//! (or the option), the JSON path and the problem. All failing cases are collected and reported
//! together.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

/// `expect.json` of one case. `{dir}` in `args` is replaced by the case directory.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    description: String,
    args: Vec<String>,
    exit_code: i32,
    #[serde(default)]
    stderr_contains: Vec<String>,
    #[serde(default = "yes")]
    stdout_empty: bool,
}

fn yes() -> bool {
    true
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("run cris-guard")
}

/// What is wrong with one run, or nothing.
fn problems(out: &Output, exit_code: i32, stdout_empty: bool, mentions: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(code) if code == exit_code => {}
        other => found.push(format!("exit code {other:?}, want {exit_code}")),
    }
    if stdout_empty && !out.stdout.is_empty() {
        found.push(format!(
            "stdout should be empty, got {} bytes starting {:?}",
            out.stdout.len(),
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(120)])
        ));
    }
    for mention in mentions {
        if !stderr.contains(mention.as_str()) {
            found.push(format!("stderr should mention {mention:?}"));
        }
    }
    if !found.is_empty() {
        let shown: String = stderr.chars().take(600).collect();
        found.push(format!("stderr was: {shown:?}"));
    }
    found
}

fn case_dirs() -> Vec<PathBuf> {
    let dir = root().join("tests/corpus/bad-input");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus/bad-input")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_bad_input_case_exits_3_with_file_path_and_problem() {
    let dirs = case_dirs();
    assert!(
        dirs.len() >= 30,
        "expected the bad-input corpus, found {dirs:?}"
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let expect_path = dir.join("expect.json");
        let expect: Expect = match std::fs::read_to_string(&expect_path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(expect) => expect,
            Err(err) => {
                failures.push(format!("{name}: bad expect.json: {err}"));
                continue;
            }
        };
        assert!(!expect.description.is_empty(), "{name}: describe the case");
        let relative = format!("tests/corpus/bad-input/{name}");
        let args: Vec<String> = expect
            .args
            .iter()
            .map(|a| a.replace("{dir}", &relative))
            .collect();
        let out = run(&args);
        let found = problems(
            &out,
            expect.exit_code,
            expect.stdout_empty,
            &expect.stderr_contains,
        );
        if !found.is_empty() {
            failures.push(format!(
                "{name} ({}): cris-guard {}\n    {}",
                expect.description,
                args.join(" "),
                found.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

fn blog_snapshot() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/blog/snapshot.json")).expect("blog"),
    )
    .expect("blog snapshot JSON")
}

fn assert_case(out: &Output, mentions: &[&str]) {
    let mentions: Vec<String> = mentions.iter().map(|m| m.to_string()).collect();
    let found = problems(out, 3, true, &mentions);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// 10,000 statements (over 300,000 characters): the 5,120-character check must fire before
/// the parser walks the statements, with a message that says so.
#[test]
fn policy_with_10000_statements_is_refused_by_the_size_check_first() {
    let statements: Vec<serde_json::Value> = (0..10_000)
        .map(|i| serde_json::json!({ "Sid": format!("S{i}"), "Effect": "Allow", "Action": "*" }))
        .collect();
    let document = serde_json::json!({ "Version": "2012-10-17", "Statement": statements });
    let mut snapshot = blog_snapshot();
    snapshot["policies"][0]["content"] = serde_json::json!(document.to_string());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ten-thousand.json");
    std::fs::write(&path, snapshot.to_string()).expect("write");
    let out = run(&["evaluate".as_ref(), "--snapshot".as_ref(), path.as_os_str()]);
    assert_case(
        &out,
        &[
            "ten-thousand.json",
            "$.policies[0].content",
            "p-FullAWSAccess",
            "5120-character SCP limit",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Statement["),
        "the size check must fire before statement parsing: {stderr}"
    );
}

/// The same 10,000 statements as a hand-written policy object (not a string): the strict reader
/// and the size check handle it without walking the statements, quickly.
#[test]
fn policy_object_with_10000_statements_is_refused_quickly_by_the_size_check() {
    let statements: Vec<serde_json::Value> = (0..10_000)
        .map(|i| serde_json::json!({ "Sid": format!("S{i}"), "Effect": "Allow", "Action": "*" }))
        .collect();
    let mut snapshot = blog_snapshot();
    snapshot["policies"][0]["content"] =
        serde_json::json!({ "Version": "2012-10-17", "Statement": statements });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ten-thousand-object.json");
    std::fs::write(&path, snapshot.to_string()).expect("write");
    let started = std::time::Instant::now();
    let out = run(&["evaluate".as_ref(), "--snapshot".as_ref(), path.as_os_str()]);
    let elapsed = started.elapsed();
    assert_case(
        &out,
        &[
            "ten-thousand-object.json",
            "$.policies[0].content",
            "p-FullAWSAccess",
            "5120-character SCP limit",
        ],
    );
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "refusing a 10,000-statement policy took {elapsed:?}"
    );
}

/// Creates a sparse file one byte over the 256 MiB limit (no disk blocks are written).
fn sparse_over_limit(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(cris_guard::snapshot::MAX_SNAPSHOT_BYTES as u64 + 1)
        .expect("set_len");
    path
}

/// Over 256 MiB: refused from the file's size, before it is read. The CLI's pre-read check
/// says "input limit"; `snapshot::load`'s in-memory check (reached only after reading the
/// whole file) says "byte limit", so the wording proves which one fired.
#[test]
fn oversized_snapshot_what_if_and_request_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = sparse_over_limit(dir.path(), "huge-snapshot.json");
    let limit = cris_guard::snapshot::MAX_SNAPSHOT_BYTES.to_string();
    let over = (cris_guard::snapshot::MAX_SNAPSHOT_BYTES + 1).to_string();
    let out = run(&["evaluate".as_ref(), "--snapshot".as_ref(), big.as_os_str()]);
    assert_case(
        &out,
        &["huge-snapshot.json", "at $", &over, &limit, "input limit"],
    );

    let what_if = sparse_over_limit(dir.path(), "huge-what-if.json");
    let out = run(&[
        "evaluate".as_ref(),
        "--snapshot".as_ref(),
        root().join("examples/blog/snapshot.json").as_os_str(),
        "--what-if".as_ref(),
        what_if.as_os_str(),
    ]);
    assert_case(&out, &["huge-what-if.json", "at $", "input limit"]);

    let request = sparse_over_limit(dir.path(), "huge-request.json");
    let out = run(&[
        "check".as_ref(),
        "--snapshot".as_ref(),
        root().join("examples/blog/snapshot.json").as_os_str(),
        "--target".as_ref(),
        "222222222222".as_ref(),
        "--request".as_ref(),
        request.as_os_str(),
    ]);
    assert_case(&out, &["huge-request.json", "at $", "input limit"]);
}

/// The library entry point refuses oversized input on its own, before any parsing (the Lambda
/// and other callers do not go through the CLI's file-size check).
#[test]
fn snapshot_load_refuses_oversized_bytes_before_parsing() {
    let bytes = vec![b' '; cris_guard::snapshot::MAX_SNAPSHOT_BYTES + 1];
    let err = cris_guard::snapshot::load("big.json", &bytes).expect_err("over the limit");
    assert_eq!(err.path, "$");
    assert!(err.message.contains("byte limit"), "{err}");
}

/// "Nothing half-written": `--output FILE` goes through a temporary file in the same directory
/// and a rename, so a failed write (here: the target is a directory) leaves nothing behind, and
/// a successful one leaves exactly the file.
#[test]
fn output_files_are_never_left_half_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocked = dir.path().join("snapshot.json");
    std::fs::create_dir(&blocked).expect("mkdir");
    let out = run(&[
        "generate".as_ref(),
        "--accounts".as_ref(),
        "5".as_ref(),
        "--output".as_ref(),
        blocked.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let entries = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(entries(dir.path()), vec!["snapshot.json".to_string()]);
    assert!(entries(&blocked).is_empty());

    let written = dir.path().join("org.json");
    let out = run(&[
        "generate".as_ref(),
        "--accounts".as_ref(),
        "5".as_ref(),
        "--output".as_ref(),
        written.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        entries(dir.path()),
        vec!["org.json".to_string(), "snapshot.json".to_string()]
    );
    let bytes = std::fs::read(&written).expect("read");
    cris_guard::snapshot::load("org.json", &bytes).expect("a complete, valid snapshot");

    // A write that fails half-way (the file-size limit, with SIGXFSZ ignored so the write
    // returns EFBIG): the previous file is untouched and no temporary file is left. A plain
    // `std::fs::write` would leave a truncated, partial org.json here.
    std::fs::write(&written, "previous\n").expect("write");
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 8 && trap '' XFSZ && exec \"$0\" generate --accounts 200 --output \"$1\"")
        .arg(env!("CARGO_BIN_EXE_cris-guard"))
        .arg(&written)
        .output()
        .expect("run sh");
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&written).expect("read"),
        "previous\n",
        "the previous file must survive a failed write"
    );
    assert_eq!(
        entries(dir.path()),
        vec!["org.json".to_string(), "snapshot.json".to_string()]
    );
}
