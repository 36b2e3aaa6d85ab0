//! Golden outputs of the bundled examples in every format: the README's first command and the
//! blog's two fixes, as a reader sees them. Review a changed `.snap` like a code change.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::process::Command;

fn run(args: &[&str]) -> (String, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        // The fallback width of a pipe, whatever the terminal running the tests says.
        .env_remove("COLUMNS")
        .output()
        .expect("run cris-guard");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        output.status.code().unwrap_or(-1),
    )
}

#[test]
fn blog_example_in_every_format() {
    for format in ["text", "json", "markdown", "html", "sarif"] {
        let (stdout, code) = run(&[
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--format",
            format,
        ]);
        assert_eq!(code, 1, "{format}: the blog's scenario is blocked");
        let stdout = stdout.replace(env!("CARGO_PKG_VERSION"), "[crate version]");
        insta::assert_snapshot!(format!("blog_{format}"), stdout);
    }
}

#[test]
fn blog_fixes_in_text_and_json() {
    for option in ["option1", "option2"] {
        let what_if = format!("examples/blog/{option}-what-if.json");
        for format in ["text", "json"] {
            let (stdout, _) = run(&[
                "evaluate",
                "--snapshot",
                "examples/blog/snapshot.json",
                "--what-if",
                &what_if,
                "--format",
                format,
            ]);
            insta::assert_snapshot!(format!("blog_{option}_{format}"), stdout);
        }
    }
}

#[test]
fn blog_example_as_the_guard_publishes_it() {
    let (stdout, code) = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--format",
        "sns",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("blog_sns", stdout);
    // The two protocol keys people read, decoded, so a change to them reads like a diff.
    let published: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let notification: serde_json::Value =
        serde_json::from_str(published["message"]["https"].as_str().unwrap()).unwrap();
    insta::assert_json_snapshot!("blog_sns_https", notification);
    insta::assert_snapshot!(
        "blog_sns_email",
        published["message"]["email"].as_str().unwrap()
    );
}

/// `propose` on the blog: both options, each naming the one problem it fixes (`fixesProblems`),
/// and the problem naming both (`proposalIds`).
#[test]
fn blog_propose_json() {
    let (stdout, code) = run(&[
        "propose",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("blog_propose_json", stdout);
}
