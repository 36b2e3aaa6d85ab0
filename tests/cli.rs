//! The `cris-guard` binary end to end: exit codes (contract §1), nothing on stdout on invalid
//! input, and the blog's scenario with its two fixes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run cris-guard")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn write_temp(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn blog_snapshot() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/blog/snapshot.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn blog_scenario_is_blocked_by_us_east_2_with_exit_1() {
    let out = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sandbox = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["targetId"] == "ou-ab12-11111111" && f["sourceRegion"] == "us-east-1")
        .expect("Sandbox finding");
    assert_eq!(sandbox["status"], "blocked");
    assert_eq!(sandbox["blockers"][0]["region"], "us-east-2");
    assert_eq!(sandbox["blockers"][0]["sid"], "GRREGIONDENY");
    assert_eq!(
        sandbox["blockers"][0]["policyName"],
        "aws-guardrails-AbCdEf"
    );
    assert_eq!(sandbox["blockers"][0]["attachedTo"], "ou-ab12-11111111");
}

#[test]
fn blog_option_2_what_if_makes_everything_reachable_with_exit_0() {
    let out = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--what-if",
        "examples/blog/option2-what-if.json",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["blocked"], 0);
    assert!(report["summary"]["reachable"].as_u64().unwrap() >= 4);
}

#[test]
fn blog_option_1_opens_sandbox_and_keeps_security_closed() {
    let out = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--what-if",
        "examples/blog/option1-what-if.json",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for finding in report["findings"].as_array().unwrap() {
        let expected = match finding["targetId"].as_str().unwrap() {
            "ou-ab12-11111111" | "111111111111" => "reachable",
            "ou-ab12-22222222" => "blocked",
            other => panic!("unexpected target {other}"),
        };
        assert_eq!(finding["status"], expected, "{finding}");
    }
    assert_eq!(code(&out), 1);
}

#[test]
fn only_unknown_findings_exit_2() {
    let mut snapshot = blog_snapshot();
    snapshot["inferenceProfiles"]["us-east-1"][0]["models"] = serde_json::json!([]);
    snapshot["policies"][1]["targets"] = serde_json::json!([]);
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    let out = run(&[
        "evaluate",
        "--snapshot",
        &file,
        "--format",
        "json",
        "--source-region",
        "us-east-1",
    ]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stdout));
}

fn assert_invalid(out: &Output, mentions: &[&str]) {
    assert_eq!(
        code(out),
        3,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "stdout must be empty on invalid input"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for m in mentions {
        assert!(stderr.contains(m), "stderr {stderr:?} should mention {m:?}");
    }
}

#[test]
fn malformed_json_exits_3_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "broken.json", "{\"formatVersion\": 1,");
    assert_invalid(&run(&["evaluate", "--snapshot", &file]), &["broken.json"]);
}

#[test]
fn unknown_field_exits_3_with_its_path() {
    let mut snapshot = blog_snapshot();
    snapshot["accounts"][1]["colour"] = serde_json::json!("blue");
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    assert_invalid(
        &run(&["evaluate", "--snapshot", &file]),
        &["accounts[1]", "colour"],
    );
}

#[test]
fn wrong_type_exits_3_with_its_path() {
    let mut snapshot = blog_snapshot();
    snapshot["roots"][0]["name"] = serde_json::json!(7);
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    assert_invalid(&run(&["evaluate", "--snapshot", &file]), &["roots[0].name"]);
}

#[test]
fn dangling_parent_and_unknown_target_exit_3() {
    let mut snapshot = blog_snapshot();
    snapshot["accounts"][1]["parentId"] = serde_json::json!("ou-ab12-99999999");
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    assert_invalid(
        &run(&["evaluate", "--snapshot", &file]),
        &["accounts[1].parentId", "ou-ab12-99999999"],
    );

    let mut snapshot = blog_snapshot();
    snapshot["policies"][1]["targets"] = serde_json::json!(["ou-ab12-99999999"]);
    let file = write_temp(dir.path(), "t.json", &snapshot.to_string());
    assert_invalid(
        &run(&["evaluate", "--snapshot", &file]),
        &["policies[1].targets[0]"],
    );
}

#[test]
fn ou_cycle_exits_3() {
    let mut snapshot = blog_snapshot();
    snapshot["organizationalUnits"][0]["parentId"] = serde_json::json!("ou-ab12-22222222");
    snapshot["organizationalUnits"][1]["parentId"] = serde_json::json!("ou-ab12-11111111");
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    assert_invalid(&run(&["evaluate", "--snapshot", &file]), &["cycle"]);
}

#[test]
fn malformed_policy_exits_3_naming_policy_and_statement_path() {
    let mut snapshot = blog_snapshot();
    snapshot["policies"][1]["content"] = serde_json::json!(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:RequestedRegion\":{\"us\":\"x\"}}}}]}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    assert_invalid(
        &run(&["evaluate", "--snapshot", &file]),
        &[
            "p-abcd1234",
            "$.policies[1].content.Statement[0].Condition.StringEquals.aws:RequestedRegion",
            "found an object",
        ],
    );
}

/// A well-formed SCP with a condition operator cris-guard does not know (AWS accepted it, so
/// the parser is behind AWS): the snapshot loads, the targets under the policy (both OUs of
/// the blog) are unknown and say why, the management account is still decided: exit 2.
#[test]
fn uninterpretable_policy_makes_only_its_targets_unknown_with_exit_2() {
    let mut snapshot = blog_snapshot();
    snapshot["policies"][1]["content"] = serde_json::json!(
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEqualz\":{\"aws:RequestedRegion\":\"x\"}}}]}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    let out = run(&["evaluate", "--snapshot", &file, "--format", "json"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for finding in report["findings"].as_array().unwrap() {
        let explanation = finding["explanation"].as_str().unwrap();
        if finding["targetId"] == "111111111111" {
            assert_eq!(finding["status"], "reachable", "{finding}");
            continue;
        }
        assert_eq!(finding["status"], "unknown", "{finding}");
        for needle in [
            "p-abcd1234",
            "$.Statement[0].Condition.StringEqualz",
            "unknown condition operator",
        ] {
            assert!(explanation.contains(needle), "{explanation}");
        }
    }
}

#[test]
fn policy_over_5120_characters_exits_3() {
    let mut snapshot = blog_snapshot();
    let padding = " ".repeat(5_200);
    snapshot["policies"][0]["content"] = serde_json::json!(format!(
        "{{\"Version\":\"2012-10-17\",{padding}\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}]}}"
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    assert_invalid(
        &run(&["evaluate", "--snapshot", &file]),
        &["5120", "p-FullAWSAccess"],
    );
}

#[test]
fn non_utf8_input_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.json");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    assert_invalid(
        &run(&["evaluate", "--snapshot", path.to_str().unwrap()]),
        &["UTF-8"],
    );
}

#[test]
fn missing_file_exits_4() {
    let out = run(&["evaluate", "--snapshot", "does/not/exist.json"]);
    assert_eq!(code(&out), 4);
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_what_if_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(
        dir.path(),
        "w.json",
        r#"[{"op":"attach","policyId":"p-nothere1","targetId":"ou-ab12-11111111"}]"#,
    );
    assert_invalid(
        &run(&[
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--what-if",
            &file,
        ]),
        &["w.json", "$[0]", "p-nothere1"],
    );
}

#[test]
fn unknown_ou_filter_exits_3() {
    assert_invalid(
        &run(&[
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--ou",
            "ou-ab12-99999999",
        ]),
        &["ou-ab12-99999999"],
    );
}

#[test]
fn check_exit_codes_follow_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let denied = write_temp(
        dir.path(),
        "denied.json",
        r#"{"principal":"arn:aws:iam::222222222222:role/app","action":"bedrock:InvokeModel","resource":"arn:aws:bedrock:us-east-2::foundation-model/M","context":{"aws:RequestedRegion":"us-east-2"}}"#,
    );
    let out = run(&[
        "check",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--target",
        "222222222222",
        "--request",
        &denied,
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1);
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["decision"], "explicitlyDenied");
    assert_eq!(result["levels"][1]["targetId"], "ou-ab12-11111111");
    assert_eq!(result["levels"][1]["decision"], "explicitlyDenied");
    let sids: Vec<&str> = result["levels"][1]["matchedStatements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["sid"].as_str())
        .collect();
    assert_eq!(sids, ["GRREGIONDENY"]);

    let admin = write_temp(
        dir.path(),
        "admin.json",
        r#"{"principal":"arn:aws:iam::222222222222:role/AWSControlTowerExecution","action":"bedrock:InvokeModel","resource":"arn:aws:bedrock:us-east-2::foundation-model/M","context":{"aws:RequestedRegion":"us-east-2"}}"#,
    );
    let out = run(&[
        "check",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--target",
        "ou-ab12-11111111",
        "--request",
        &admin,
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));

    let out = run(&[
        "check",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--target",
        "111111111111",
        "--request",
        &denied,
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "the management account is never restricted");

    let bad = write_temp(
        dir.path(),
        "bad.json",
        r#"{"action":"bedrock:InvokeModel","resource":"x","extra":1}"#,
    );
    assert_invalid(
        &run(&[
            "check",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--target",
            "222222222222",
            "--request",
            &bad,
        ]),
        &["bad.json", "extra"],
    );
    assert_invalid(
        &run(&[
            "check",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--target",
            "999999999999",
            "--request",
            &denied,
        ]),
        &["999999999999"],
    );
}

#[test]
fn usage_errors_exit_3() {
    assert_eq!(code(&run(&["evaluate"])), 3);
    assert_eq!(
        code(&run(&[
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--format",
            "pdf"
        ])),
        3
    );
}

/// Intent first: the blog's blocked findings all concern profiles outside
/// `--approved-profile`, so they are named per problem as denied by design, not as missing fixes.
#[test]
fn propose_names_denies_of_unapproved_profiles_as_by_design_instead_of_dropping_them() {
    let out = run(&[
        "propose",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--approved-profile",
        "us.amazon.nova-pro-v1:0",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["proposals"].as_array().map(Vec::len), Some(0));
    let unresolved = report["unresolved"].as_array().expect("unresolved");
    let keys: usize = unresolved
        .iter()
        .map(|u| u["fixes"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(keys, 4, "every blocked finding is named: {unresolved:#?}");
    assert!(
        unresolved[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not an approved profile")
    );
    assert_eq!(
        unresolved.len(),
        1,
        "one entry per problem: {unresolved:#?}"
    );
    assert_eq!(unresolved[0]["problemId"], "pb-8cddea36");
    assert_eq!(unresolved[0]["byDesign"], true);
    assert_eq!(report["problems"][0]["proposalIds"], serde_json::json!([]));
    assert!(
        report["problems"][0]["unresolvedReason"]
            .as_str()
            .is_some_and(|r| r.contains("not an approved profile"))
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("no verified fix"), "{stderr}");
}

/// In text, denies by design have their own heading and are not counted as missing fixes.
#[test]
fn propose_text_puts_denies_by_design_under_their_own_heading() {
    let out = run(&[
        "propose",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--approved-profile",
        "us.amazon.nova-pro-v1:0",
        "--format",
        "text",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Denied by design (1 problem, 4 findings)"),
        "{text}"
    );
    assert!(!text.contains("No verified fix"), "{text}");
}

/// Every `file://` an `apply` command names exists under `--output-dir` with the proposal's
/// document, so the printed commands run as they are; a CfCT proposal also gets its manifest.
#[test]
fn propose_output_dir_writes_every_file_the_commands_name() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("fixes");
    let out = run(&[
        "propose",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--format",
        "json",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let proposals = report["proposals"].as_array().unwrap();
    assert_eq!(proposals.len(), 2);
    let file_arg = regex::Regex::new(r"file://(\S+)").unwrap();
    let mut named = 0;
    for proposal in proposals {
        let apply = proposal["apply"].as_str().unwrap();
        let files = proposal["artifact"]["files"].as_object().unwrap();
        for found in file_arg.captures_iter(apply) {
            let path = Path::new(&found[1]);
            assert!(path.starts_with(out_dir.canonicalize().unwrap()), "{apply}");
            let name = path.file_name().unwrap().to_str().unwrap();
            let written = std::fs::read_to_string(path).unwrap();
            assert_eq!(written.trim_end(), files[name].as_str().unwrap());
            named += 1;
        }
        if let Some(manifest) = proposal["artifact"]["cfct"]["manifest"].as_str() {
            let id = proposal["id"].as_str().unwrap();
            let written = std::fs::read_to_string(out_dir.join(id).join("manifest.yaml")).unwrap();
            assert_eq!(written, manifest);
            for policy in proposal["artifact"]["cfct"]["policies"]
                .as_object()
                .unwrap()
                .keys()
            {
                assert!(out_dir.join(id).join(policy).is_file(), "{policy}");
            }
        }
    }
    assert!(named >= 2, "the commands name policy files: {proposals:#?}");
    // Nothing is left behind but the proposals' directories.
    let mut entries: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["prop-1", "prop-2"]);
}

#[test]
fn propose_output_dir_that_is_a_file_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "taken", "x");
    let out = run(&[
        "propose",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--output-dir",
        &file,
    ]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output-dir"));
    // Below a file nothing can be created: an IO failure, and still nothing printed.
    let below = format!("{file}/fixes");
    let out = run(&[
        "propose",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--output-dir",
        &below,
    ]);
    assert_eq!(code(&out), 4, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
}

/// IAM global condition keys reference (domain.md §11): for a role session `aws:PrincipalArn` is
/// the role's ARN, so the Control Tower role's session escapes GRREGIONDENY, which exempts
/// `arn:*:iam::*:role/AWSControlTowerExecution`; an explicit `aws:PrincipalArn` still wins.
#[test]
fn check_reads_an_assumed_role_session_as_its_role() {
    let dir = tempfile::tempdir().unwrap();
    let session = write_temp(
        dir.path(),
        "session.json",
        r#"{"principal":"arn:aws:sts::222222222222:assumed-role/AWSControlTowerExecution/ct-session","action":"bedrock:InvokeModel","resource":"arn:aws:bedrock:us-east-2::foundation-model/M","context":{"aws:RequestedRegion":"us-east-2"}}"#,
    );
    for target in ["222222222222", "ou-ab12-11111111"] {
        let out = run(&[
            "check",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--target",
            target,
            "--request",
            &session,
            "--format",
            "json",
        ]);
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["decision"], "allowed");
    }

    let pathed = write_temp(
        dir.path(),
        "pathed.json",
        r#"{"principal":"arn:aws:sts::222222222222:assumed-role/AWSControlTowerExecution/ct-session","action":"bedrock:InvokeModel","resource":"arn:aws:bedrock:us-east-2::foundation-model/M","context":{"aws:RequestedRegion":"us-east-2","aws:PrincipalArn":"arn:aws:iam::222222222222:role/team/AWSControlTowerExecution"}}"#,
    );
    let out = run(&[
        "check",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--target",
        "222222222222",
        "--request",
        &pathed,
        "--format",
        "json",
    ]);
    assert_eq!(
        code(&out),
        1,
        "a role under a path is not the exempt role: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `check` against a target whose SCP chain holds a policy cris-guard cannot interpret: a deny
/// from a policy it can read is final (exit 1); anything else cannot be decided: decision
/// `unknown`, exit 2, and the explanation names the policy and the parse error.
#[test]
fn check_under_an_uninterpretable_policy_is_unknown_unless_denied() {
    let mut snapshot = blog_snapshot();
    snapshot["policies"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "p-regex00001", "name": "deny-by-regex", "type": "SERVICE_CONTROL_POLICY",
            "content": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"StringMatchesRegex": {"aws:RequestedRegion": "^us-west-.*"}}}]},
            "targets": ["ou-ab12-11111111"]
        }));
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "s.json", &snapshot.to_string());
    let request = |name: &str, region: &str| {
        write_temp(
            dir.path(),
            name,
            &format!(
                r#"{{"principal":"arn:aws:iam::222222222222:role/app","action":"bedrock:InvokeModel","resource":"arn:aws:bedrock:{region}::foundation-model/M","context":{{"aws:RequestedRegion":"{region}"}}}}"#
            ),
        )
    };
    let check = |target: &str, request: &str| {
        run(&[
            "check",
            "--snapshot",
            &file,
            "--target",
            target,
            "--request",
            request,
            "--format",
            "json",
        ])
    };
    let west = request("west.json", "us-west-2");
    for target in ["ou-ab12-11111111", "222222222222"] {
        let out = check(target, &west);
        assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stdout));
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["decision"], "unknown");
        let explanation = result["explanation"].as_str().unwrap();
        for needle in [
            "p-regex00001",
            "StringMatchesRegex",
            "unknown condition operator",
        ] {
            assert!(explanation.contains(needle), "{explanation}");
        }
    }
    let out = check("ou-ab12-11111111", &request("east2.json", "us-east-2"));
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["decision"], "explicitlyDenied");
    // Security does not hold the policy: decided as before.
    let out = check("ou-ab12-22222222", &west);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
}

/// Runs cris-guard with `stdin` as its standard input.
fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn snapshot_dash_reads_standard_input() {
    let snapshot = std::fs::read(root().join("examples/blog/snapshot.json")).unwrap();
    let from_file = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--format",
        "json",
    ]);
    let from_stdin = run_with_stdin(
        &["evaluate", "--snapshot", "-", "--format", "json"],
        &snapshot,
    );
    assert_eq!(
        code(&from_stdin),
        1,
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let request = write_temp(
        &tempfile::tempdir().unwrap().keep(),
        "request.json",
        &std::fs::read_to_string(root().join("examples/check-request.json")).unwrap(),
    );
    let check = run_with_stdin(
        &[
            "check",
            "--snapshot",
            "-",
            "--target",
            "ou-ab12-11111111",
            "--request",
            &request,
        ],
        &snapshot,
    );
    assert!(
        matches!(code(&check), 0 | 1),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn an_empty_standard_input_is_an_empty_file() {
    let out = run_with_stdin(&["evaluate", "--snapshot", "-"], b"");
    assert_invalid(&out, &["<stdin>", "empty file"]);
}

#[test]
fn the_sample_check_request_runs_against_the_blog_snapshot() {
    // The request the README shows: Sandbox calling us-east-2 through the profile is denied.
    let out = run(&[
        "check",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--target",
        "ou-ab12-11111111",
        "--request",
        "examples/check-request.json",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["decision"], "explicitlyDenied");
}

/// The blog's text report with these environment variables, and none of the caller's colour
/// or width settings.
fn blog_text(env: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(["evaluate", "--snapshot", "examples/blog/snapshot.json"])
        .current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .output()
        .expect("run cris-guard");
    assert_eq!(
        code(&output),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn text_colour_follows_no_color_and_clicolor_force() {
    // stdout is a pipe here: plain unless forced, and NO_COLOR wins over forcing.
    assert!(!blog_text(&[]).contains('\x1b'));
    let forced = blog_text(&[("CLICOLOR_FORCE", "1")]);
    assert!(forced.contains("\x1b[31m"), "red for blocked: {forced}");
    assert!(forced.contains("\x1b[32m"), "green for reachable: {forced}");
    let both = blog_text(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!both.contains('\x1b'), "{both}");
    assert_eq!(both, blog_text(&[]), "the same text without styles");
}

#[test]
fn text_fits_the_width_in_columns() {
    for (columns, limit) in [(None, 100), (Some("60"), 60), (Some("150"), 150)] {
        let env: Vec<(&str, &str)> = columns.map(|c| ("COLUMNS", c)).into_iter().collect();
        let out = blog_text(&env);
        let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= limit, "{columns:?}: {widest} columns\n{out}");
        assert!(out.contains("pb-8cddea36"), "{out}");
    }
    // Narrower than the matrix with its headers: the columns are numbered instead.
    let narrow = blog_text(&[("COLUMNS", "60")]);
    assert!(narrow.contains("Key: ✓ reachable"), "{narrow}");
    assert!(blog_text(&[]).contains("us.claude-3-5-sonnet  us.claude-3-5-sonnet"));
}

#[test]
fn evaluate_format_sns_prints_exactly_what_the_guard_publishes() {
    let out = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--format",
        "sns",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let published: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let object = published.as_object().unwrap();
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["subject", "message", "messageAttributes"]
    );
    let message = published["message"].as_object().unwrap();
    assert_eq!(
        message.keys().collect::<Vec<_>>(),
        ["default", "email", "https", "sqs", "lambda"]
    );
    assert!(message["default"].as_str().unwrap().chars().count() <= 1_000);
    assert_eq!(message["sqs"], message["lambda"]);
    let full: serde_json::Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(full["type"], "crisGuardAlert");
    assert!(
        !full["proposals"].as_array().unwrap().is_empty(),
        "{full:#}"
    );

    let notification: serde_json::Value =
        serde_json::from_str(message["https"].as_str().unwrap()).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            root().join("tests/schemas/chatbot-custom-notification.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&notification)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{notification:#}");
    assert_eq!(notification["metadata"]["threadId"], "o-exampleorgid");
    // The blog's management account makes the Control Tower Region deny's ARN.
    assert!(
        notification["metadata"]["relatedResources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|arn| arn
                .as_str()
                .unwrap()
                .ends_with("/service_control_policy/p-abcd1234")),
        "{notification:#}"
    );
    let email = message["email"].as_str().unwrap();
    assert!(email.contains("Apply:"), "{email}");

    let attributes = &published["messageAttributes"];
    assert_eq!(
        attributes["status"],
        serde_json::json!({"DataType": "String", "StringValue": "blocked"})
    );
    assert_eq!(attributes["trigger"]["StringValue"], "schedule");
    assert_eq!(
        attributes["organizationId"]["StringValue"],
        "o-exampleorgid"
    );
    assert!(published["subject"].as_str().unwrap().len() <= 100);
}

#[test]
fn evaluate_format_sns_prints_nothing_when_nothing_is_blocked() {
    let out = run(&[
        "evaluate",
        "--snapshot",
        "examples/blog/snapshot.json",
        "--what-if",
        "examples/blog/option2-what-if.json",
        "--format",
        "sns",
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("publishes nothing"));
}

/// Regression: a what-if read the snapshot a second time for its baseline, so
/// `cris-guard snapshot | cris-guard evaluate --snapshot - --what-if …` found stdin empty.
#[test]
fn snapshot_dash_with_a_what_if_reads_standard_input_once() {
    let snapshot = std::fs::read(root().join("examples/blog/snapshot.json")).unwrap();
    let args = |source: &'static str| {
        [
            "evaluate",
            "--snapshot",
            source,
            "--what-if",
            "examples/blog/option2-what-if.json",
            "--format",
            "json",
        ]
    };
    let from_file = run(&args("examples/blog/snapshot.json"));
    let from_stdin = run_with_stdin(&args("-"), &snapshot);
    assert_eq!(
        code(&from_stdin),
        0,
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    let whatif = |out: &Output| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["whatIf"].clone()
    };
    assert_eq!(whatif(&from_stdin), whatif(&from_file));
    assert!(whatif(&from_stdin)["fixed"].as_u64() > Some(0));
}

const GUARDRAIL_SNAPSHOT: &str =
    "tests/corpus/expectations/guardrail-intent-broken-where-the-model-is-reachable/snapshot.json";

#[test]
fn unknown_check_kind_exits_3_naming_the_kinds() {
    let out = run(&[
        "evaluate",
        "--snapshot",
        GUARDRAIL_SNAPSHOT,
        "--check-kind",
        "guardrail",
    ]);
    assert_invalid(
        &out,
        &["--check-kind", "guardrailProfile", "marketplaceFirstUse"],
    );
}

#[test]
fn a_snapshot_without_guardrail_profiles_gets_guardrail_checks_only_when_asked_and_they_are_unknown()
 {
    let kinds = |extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "--snapshot",
            "examples/blog/snapshot.json",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = run(&args);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let kinds: std::collections::BTreeSet<(String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["checkKind"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (code(&out), kinds)
    };
    let (_, default) = kinds(&[]);
    assert!(
        default.iter().all(|(kind, _)| kind == "inference"),
        "{default:?}"
    );
    let (exit, asked) = kinds(&["--check-kind", "guardrailProfile"]);
    assert_eq!(exit, 2);
    assert_eq!(
        asked,
        [("guardrailProfile".to_string(), "unknown".to_string())].into()
    );
}

#[test]
fn propose_lists_a_guardrail_profile_problem_as_unresolved_with_its_reason() {
    let out = run(&[
        "propose",
        "--snapshot",
        GUARDRAIL_SNAPSHOT,
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["cause"]["leg"] == "guardrailProfile")
        .expect("the guardrail problem");
    assert_eq!(problem["proposalIds"], serde_json::json!([]));
    let reason = problem["unresolvedReason"].as_str().unwrap();
    assert!(reason.contains("bedrock:ApplyGuardrail"), "{reason}");
    assert!(reason.contains("InferenceProfileArn"), "{reason}");
}
