//! Tidy checks that keep the architecture honest: every file says what it is for, the core does
//! no IO and knows no SDK types, and no test is ignored or expected to panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "fuzz/fuzz_targets"] {
        rust_files(&root.join(dir), &mut files);
    }
    files
}

/// The edge: modules allowed to do IO or to know AWS SDK types.
fn is_edge(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.contains("/src/aws") || text.contains("/src/lambda") || text.contains("/src/bin/")
}

#[test]
fn every_file_opens_with_a_purpose_line() {
    let missing: Vec<String> = all_files()
        .into_iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap_or_default()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` line: {missing:?}"
    );
}

#[test]
fn the_core_does_no_io_and_knows_no_sdk() {
    let forbidden = [
        "aws_sdk_",
        "aws_config",
        "aws_smithy",
        "tokio",
        "lambda_runtime",
        "std::fs",
        "std::env",
        "SystemTime",
        "std::net::TcpStream",
        "println!",
    ];
    let mut offences = Vec::new();
    for file in all_files() {
        let path = file.to_string_lossy().to_string();
        if !path.contains("/src/") || is_edge(&file) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Unit tests inside a core file may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for word in forbidden {
            if code.contains(word) {
                offences.push(format!("{path} mentions {word}"));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn no_ignored_or_should_panic_tests() {
    let attributes = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    let mut offences = Vec::new();
    for file in all_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for attribute in attributes {
            if text.contains(attribute) {
                offences.push(format!("{} has {attribute}]", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:?}");
}
