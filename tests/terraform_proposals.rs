//! `propose --what-if PLAN` on a Terraform plan (contract §4, §7): an SCP the plan manages is
//! changed in its `aws_organizations_policy` resource and applied with Terraform, never with
//! `aws organizations` commands on the placeholder id a plan-created policy has in the what-if
//! (regression: `update-policy --policy-id p-whatif01`).

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

const CORPUS: &str = "tests/corpus/what-if-terraform";
const PLAN: &str = "fix-sandbox-and-deny-us-east-2-for-security.plan.json";

/// A copy of the corpus' root module (plan, `main.tf`, `policies/`), as after `terraform show
/// -json`; `main_tf` replaces `main.tf` when given.
fn module(main_tf: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let corpus = root().join(CORPUS);
    std::fs::copy(corpus.join(PLAN), dir.path().join(PLAN)).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::copy(
        corpus.join("policies/region-deny.json"),
        dir.path().join("policies/region-deny.json"),
    )
    .unwrap();
    let main = std::fs::read_to_string(corpus.join("main.tf")).unwrap();
    std::fs::write(dir.path().join("main.tf"), main_tf.unwrap_or(&main)).unwrap();
    dir
}

fn propose(module: &Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(["propose", "--snapshot"])
        .arg(root().join("examples/blog/snapshot.json"))
        .args(["--what-if", PLAN, "--format", "json"])
        .args(extra)
        .current_dir(module)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The proposal that patches the plan's `deny-bedrock-us-east-2`, and its Terraform resource.
fn no_east2(report: &Value) -> (&Value, &Value) {
    let proposals = report["proposals"].as_array().unwrap();
    for proposal in proposals {
        let apply = proposal["apply"].as_str().unwrap();
        assert!(!apply.contains("p-whatif"), "{apply}");
    }
    proposals
        .iter()
        .find_map(|p| {
            let resources = p["artifact"]["terraform"]["resources"].as_array()?;
            let r = resources
                .iter()
                .find(|r| r["address"] == "aws_organizations_policy.no_east2")?;
            Some((p, r))
        })
        .unwrap_or_else(|| panic!("no Terraform artifact for no_east2: {proposals:#?}"))
}

/// `jsonencode(…)` in `main.tf`: the artifact is the edited resource block, `apply` copies the
/// edited `main.tf` into the module and plans and applies it.
#[test]
fn a_policy_written_inline_is_edited_in_its_tf_file_and_applied_with_terraform() {
    let dir = module(None);
    let report = propose(dir.path(), &[]);
    let (proposal, resource) = no_east2(&report);
    assert_eq!(resource["tfFile"], "main.tf");
    let block = resource["block"].as_str().unwrap();
    assert!(
        block.starts_with("resource \"aws_organizations_policy\" \"no_east2\" {"),
        "{block}"
    );
    assert!(block.contains("bedrock:InferenceProfileArn"), "{block}");
    let apply = proposal["apply"].as_str().unwrap();
    assert!(
        !apply.contains("aws organizations update-policy"),
        "{apply}"
    );
    assert!(apply.contains("cp terraform/main.tf main.tf"), "{apply}");
    assert!(
        apply.ends_with("terraform apply cris-guard.tfplan"),
        "{apply}"
    );
    // The plan creates the policy: the summary names its resource, not a placeholder id.
    let summary = proposal["summary"].as_str().unwrap();
    assert!(!summary.contains("p-whatif"), "{summary}");
    assert!(
        summary.contains("(aws_organizations_policy.no_east2, created by the plan, attached to"),
        "{summary}"
    );
    // The edited main.tf keeps everything else, and the block is where it was.
    let edited = proposal["artifact"]["files"]["terraform/main.tf"]
        .as_str()
        .unwrap();
    assert!(edited.contains(block), "{edited}");
    for kept in [
        "aws_organizations_policy_attachment\" \"no_east2_security",
        "TAG_POLICY",
    ] {
        assert!(edited.contains(kept), "{kept}");
    }
}

/// `file("…")`: the artifact is the new JSON document and the path it replaces.
#[test]
fn a_policy_written_in_a_file_gets_that_file_s_new_content() {
    let main = std::fs::read_to_string(root().join(CORPUS).join("main.tf")).unwrap();
    let inline_start = main.find("  content = jsonencode({\n    Version").unwrap();
    let inline_end = inline_start + main[inline_start..].find("  })\n").unwrap() + 5;
    let main = format!(
        "{}  content = file(\"${{path.module}}/policies/no-east2.json\")\n{}",
        &main[..inline_start],
        &main[inline_end..]
    );
    let dir = module(Some(&main));
    let report = propose(dir.path(), &[]);
    let (proposal, resource) = no_east2(&report);
    assert_eq!(resource["contentFile"], "policies/no-east2.json");
    let document: Value = serde_json::from_str(resource["content"].as_str().unwrap()).unwrap();
    assert_eq!(document["Statement"][0]["Sid"], "NoBedrockInUsEast2");
    let apply = proposal["apply"].as_str().unwrap();
    assert!(
        apply.contains("cp terraform/policies/no-east2.json policies/no-east2.json"),
        "{apply}"
    );
    assert!(!apply.contains("main.tf"), "{apply}");
}

/// With `--output-dir`, every file `apply` copies exists, and the commands run as printed (a
/// stand-in `terraform` records its calls): the module then holds the verified document.
#[test]
fn output_dir_holds_every_file_the_terraform_route_copies() {
    let dir = module(None);
    let out_dir = dir.path().join("fixes");
    let report = propose(dir.path(), &["--output-dir", out_dir.to_str().unwrap()]);
    let (proposal, resource) = no_east2(&report);
    let apply = proposal["apply"].as_str().unwrap();
    let copies: Vec<&str> = apply.lines().filter(|l| l.starts_with("cp ")).collect();
    assert!(!copies.is_empty(), "{apply}");
    for line in &copies {
        let source = line.split(' ').nth(1).unwrap();
        assert!(Path::new(source).is_file(), "{line}");
        assert!(
            Path::new(source).starts_with(out_dir.canonicalize().unwrap()),
            "{line}"
        );
    }
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls");
    let stand_in = bin.path().join("terraform");
    std::fs::write(
        &stand_in,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &stand_in,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let status = Command::new("bash")
        .args(["-euc", apply])
        .current_dir(dir.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.path().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .status()
        .unwrap();
    assert!(status.success());
    let main = std::fs::read_to_string(dir.path().join("main.tf")).unwrap();
    assert!(main.contains(resource["block"].as_str().unwrap()), "{main}");
    assert_eq!(
        std::fs::read_to_string(log).unwrap(),
        "fmt\nplan -out=cris-guard.tfplan\napply cris-guard.tfplan\n"
    );
}
