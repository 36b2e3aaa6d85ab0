//! Renderer tests: concrete properties of each output format, plus snapshots of a small report.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use cris_guard::findings::{
    Affected, Blocker, BlockerKind, Cause, CauseKind, Condition, Finding, LegName, Problem,
    Proposal, ProposalKind, Report, Status, Summary, TargetKind, Verification, WhatIf,
};
use cris_guard::report::sarif::{RenderOptions as SarifOptions, SnapshotFile};
use cris_guard::report::text::RenderOptions;
use cris_guard::report::{html, markdown, sarif, text};

const PROFILE: &str = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
const GLOBAL: &str = "global.anthropic.claude-sonnet-4-20250514-v1:0";
const SANDBOX: &str = "ou-ab12-11111111";
const INJECTED: &str = "Data <script>alert(1)</script> | lake";

fn deny(action: &str, resource: &str) -> Blocker {
    Blocker {
        region: "us-east-2".to_string(),
        action: action.to_string(),
        resource: resource.to_string(),
        policy_id: Some("p-abcd1234".to_string()),
        policy_name: Some("aws-guardrails-AbCdEf".to_string()),
        sid: Some("GRREGIONDENY".to_string()),
        statement_index: Some(0),
        attached_to: Some(SANDBOX.to_string()),
        kind: BlockerKind::ExplicitDeny,
    }
}

fn finding(
    target_id: &str,
    target_kind: TargetKind,
    target_path: &str,
    profile_id: &str,
    status: Status,
    explanation: &str,
) -> Finding {
    Finding {
        target_id: target_id.to_string(),
        target_kind,
        target_path: target_path.to_string(),
        profile_id: profile_id.to_string(),
        source_region: "us-east-1".to_string(),
        check_kind: Default::default(),
        status,
        blockers: Vec::new(),
        conditions: Vec::new(),
        explanation: explanation.to_string(),
        problem_ids: Vec::new(),
    }
}

/// An OU blocked by an explicit deny in us-east-2, an account that is conditional, an OU whose
/// answer is unknown, and a reachable OU whose name tries to inject markup; one proposal.
fn sample() -> Report {
    let model =
        "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0";
    let mut blocked = finding(
        SANDBOX,
        TargetKind::OrganizationalUnit,
        "Root/Sandbox",
        PROFILE,
        Status::Blocked,
        "InvokeModel from us-east-1 is routed to us-east-2, which the Region deny in aws-guardrails-AbCdEf (Sid GRREGIONDENY, attached to Sandbox) rejects.",
    );
    blocked.blockers = vec![
        deny("bedrock:InvokeModel", model),
        deny("bedrock:InvokeModelWithResponseStream", model),
    ];

    let mut conditional = finding(
        "333333333333",
        TargetKind::Account,
        "Root/Workloads/prod-app",
        PROFILE,
        Status::Conditional,
        "Reachable only for principals whose ARN matches arn:aws:iam::*:role/Bedrock-Access-CRI.",
    );
    conditional.blockers = vec![Blocker {
        region: "us-east-1".to_string(),
        action: "bedrock:InvokeModel".to_string(),
        resource: format!("arn:aws:bedrock:us-east-1:333333333333:inference-profile/{PROFILE}"),
        policy_id: Some("p-bedrock01".to_string()),
        policy_name: Some("BedrockOnlyThroughRole".to_string()),
        sid: None,
        statement_index: Some(2),
        attached_to: Some("333333333333".to_string()),
        kind: BlockerKind::ExplicitDeny,
    }];
    conditional.conditions = vec![Condition {
        key: "aws:PrincipalARN".to_string(),
        operator: "ArnLike".to_string(),
        values: vec!["arn:aws:iam::*:role/Bedrock-Access-CRI".to_string()],
        effect: "reachableOnlyIf".to_string(),
        group: None,
        from: Some("p-bedrock01/2".to_string()),
    }];

    let unknown = finding(
        SANDBOX,
        TargetKind::OrganizationalUnit,
        "Root/Sandbox",
        GLOBAL,
        Status::Unknown,
        "Cannot decide global.anthropic.claude-sonnet-4-20250514-v1:0 from us-east-1: the snapshot has no inference profiles for us-east-1.",
    );

    let reachable = finding(
        "ou-ab12-22222222",
        TargetKind::OrganizationalUnit,
        &format!("Root/{INJECTED}"),
        PROFILE,
        Status::Reachable,
        "Every request is allowed.",
    );

    let workloads = finding(
        "ou-ab12-33333333",
        TargetKind::OrganizationalUnit,
        "Root/Workloads",
        PROFILE,
        Status::Reachable,
        "Every request is allowed.",
    );

    let findings = vec![blocked, unknown, reachable, workloads, conditional];
    let before = r#"{"AllowedRegions":["us-east-1"]}"#;
    let after = r#"{"AllowedRegions":["us-east-1","us-east-2","us-west-2"]}"#;
    Report {
        format_version: 1,
        organization_id: "o-exampleorgid".to_string(),
        snapshot_captured_at: "2026-11-29T00:00:00Z".to_string(),
        summary: Summary::of(&findings),
        expectations: Vec::new(),
        problems: Vec::new(),
        what_if: None,
        proposals: vec![Proposal {
            id: "prop-1".to_string(),
            fixes: vec![format!("{SANDBOX}|{PROFILE}|us-east-1")],
            kind: ProposalKind::ControlTowerParameters,
            policy_id: Some("p-abcd1234".to_string()),
            target_ids: vec![SANDBOX.to_string()],
            before: Some(before.to_string()),
            after: Some(after.to_string()),
            diff: Some(
                "--- before\n+++ after\n@@ -1,5 +1,7 @@\n {\n   \"AllowedRegions\": [\n-    \"us-east-1\"\n+    \"us-east-1\",\n+    \"us-east-2\",\n+    \"us-west-2\"\n   ]\n }\n"
                    .to_string(),
            ),
            size_chars: None,
            verification: Verification { fixed_findings: 1, still_blocked: 0, newly_allowed_outside_profiles: Vec::new(), fixed_for_allowed_principals: Vec::new() },
            apply: "aws controltower update-enabled-control --enabled-control-identifier arn:aws:controltower:us-east-1:111111111111:enabledcontrol/EXAMPLE --parameters file://parameters.json".to_string(),
            fixes_problems: Vec::new(),
            summary: "Add the destination Regions of the profile to the Region deny control (CT.MULTISERVICE.PV.1) instead of editing the Control Tower SCP.".to_string(),
            artifact: Some(serde_json::json!({ "AllowedRegions": ["us-east-1", "us-east-2", "us-west-2"] })),
        }],
        unresolved: Vec::new(),
        findings,
    }
}

const BLOCKER_LINE: &str = "us-east-2 bedrock:InvokeModel denied by aws-guardrails-AbCdEf (p-abcd1234) Sid GRREGIONDENY #0 attached to ou-ab12-11111111";

/// The text rendering as `NO_COLOR` shows it (the CLI strips the styles through anstream).
fn plain_text(report: &Report, width: usize) -> String {
    let out = text::render(report, &RenderOptions { width });
    anstream::adapter::strip_str(&out).to_string()
}

#[test]
fn text_leads_with_problems_then_the_matrix_and_proposals() {
    let out = plain_text(&with_problems(), 100);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.contains("5 checks") && first.contains("3 problems"),
        "counts first: {out}"
    );
    assert!(
        first.contains("2 reachable, 1 blocked, 1 conditional, 1 unknown"),
        "{out}"
    );
    assert!(out.contains("o-exampleorgid"));
    assert!(out.contains("2026-11-29T00:00:00Z"));
    assert!(out.contains("Problems (3), worst first"), "{out}");
    // Worst first: blocked, conditional, unknown; each with id, sentence, counts and targets.
    let order: Vec<usize> = [PROBLEM, CONDITIONAL_PROBLEM, UNKNOWN_PROBLEM]
        .iter()
        .map(|id| out.find(&format!("  {id}  ")).unwrap_or(usize::MAX))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{out}");
    assert!(
        out.contains("#1  ✗ blocked  pb-1c9e04d2  explicit deny"),
        "{out}"
    );
    assert!(
        out.contains("Calls routed to us-east-2 are rejected"),
        "{out}"
    );
    assert!(
        out.contains("Affects 1 finding in 1 target; 1 profile from 1 source Region."),
        "{out}"
    );
    assert!(
        out.contains("Targets: Root/Sandbox (ou-ab12-11111111)"),
        "{out}"
    );
    assert!(out.contains("Fixed by: prop-1"), "{out}");
    // A conditional problem names the conditions its findings carry.
    assert!(out.contains(
        "Condition: reachable only if aws:PrincipalARN ArnLike arn:aws:iam::*:role/Bedrock-Access-CRI"
    ), "{out}");
    let matrix = out.find("Matrix (").unwrap_or(0);
    assert!(order[2] < matrix, "problems before the matrix: {out}");
    // Cells name their problem instead of repeating its blockers.
    assert!(!out.contains(BLOCKER_LINE), "{out}");
    assert!(out.contains(&format!("✗ {PROBLEM}")), "{out}");
    assert!(
        out.contains("us.claude-3-5-sonnet = us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
        "legend: {out}"
    );
    assert!(out.contains("prop-1"));
    assert!(out.contains("+    \"us-east-2\","));
    assert!(out.contains("aws controltower update-enabled-control"));
    // Rows are indented by depth: the account sits under its OU.
    assert!(out.contains("\n  Workloads"), "{out}");
    assert!(out.contains("\n    prod-app (333333333333)"), "{out}");
    assert!(!out.contains("Every request is allowed."));
}

#[test]
fn text_styles_statuses_for_anstream_to_keep_or_strip() {
    let out = text::render(&with_problems(), &RenderOptions::default());
    assert!(out.contains("\x1b[31m"), "red for blocked");
    assert!(out.contains("\x1b[32m"), "green for reachable");
    assert!(out.contains("\x1b[33m"), "yellow for conditional");
    assert!(out.contains("\x1b[35m"), "magenta for unknown");
    assert!(!plain_text(&with_problems(), 100).contains('\x1b'));
}

#[test]
fn text_never_passes_escapes_from_data() {
    let mut report = with_problems();
    report.problems[0].explanation = "evil \x1b[2J explanation".to_string();
    report.findings[0].target_path = "Root/\x1b]0;title\x07".to_string();
    let out = plain_text(&report, 100);
    assert!(!out.contains('\x1b'), "{out}");
    assert!(out.contains("evil \u{fffd}[2J explanation"), "{out}");
}

#[test]
fn text_is_deterministic_whatever_the_finding_order() {
    let report = with_problems();
    let mut reversed = report.clone();
    reversed.findings.reverse();
    reversed.problems.reverse();
    let options = RenderOptions::default();
    assert_eq!(
        text::render(&report, &options),
        text::render(&reversed, &options)
    );
    let report = sample();
    let mut reversed = report.clone();
    reversed.findings.reverse();
    assert_eq!(markdown::render(&report), markdown::render(&reversed));
    assert_eq!(html::render(&report), html::render(&reversed));
    assert_eq!(
        sarif::render(&report, &SarifOptions::default()),
        sarif::render(&reversed, &SarifOptions::default())
    );
}

/// Three OUs × 4 profiles × 6 Regions; with `distinct`, every column has its own statuses.
fn wide_report(distinct: bool) -> Report {
    let mut report = sample();
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-northeast-1",
    ];
    let profiles = [
        PROFILE,
        GLOBAL,
        "us.meta.llama3-2-90b-instruct-v1:0",
        "us.amazon.nova-pro-v1:0",
    ];
    let statuses = [
        Status::Reachable,
        Status::Blocked,
        Status::Conditional,
        Status::Unknown,
    ];
    report.findings.clear();
    report.proposals.clear();
    for (p, profile) in profiles.iter().enumerate() {
        for (r, region) in regions.iter().enumerate() {
            let column = p * regions.len() + r;
            for (row, name) in ["Dev", "Prod", "Test"].iter().enumerate() {
                let status = if distinct {
                    statuses[(column / 4usize.pow(row as u32)) % 4]
                } else {
                    Status::Reachable
                };
                let mut f = finding(
                    &format!("ou-ab12-3333333{row}"),
                    TargetKind::OrganizationalUnit,
                    &format!("Root/{name}"),
                    profile,
                    status,
                    "",
                );
                f.source_region = region.to_string();
                report.findings.push(f);
            }
        }
    }
    report.summary = Summary::of(&report.findings);
    report
}

#[test]
fn text_numbers_columns_and_splits_them_when_they_do_not_fit() {
    let report = wide_report(true);
    for (width, panels) in [(100, 1), (60, 2)] {
        let out = plain_text(&report, width);
        assert!(out.contains("Key: ✓ reachable"), "{out}");
        assert!(out.contains(&format!("18  {PROFILE} @")), "{out}");
        let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest <= width, "{width}: {widest}\n{out}");
        // 24 columns of 1 + 2 characters next to the name fit 100 but not 60.
        assert_eq!(out.matches("\nTarget ").count(), panels, "{out}");
    }
}

#[test]
fn text_prints_columns_with_the_same_results_once() {
    let out = plain_text(&wide_report(false), 100);
    assert!(out.contains("\nTarget  1\n"), "one column: {out}");
    // The legend names the columns it stands for (wrapped lines joined here).
    let legend = out.replace("\n    ", " ");
    assert!(
        legend.contains(&format!(
            "1  {GLOBAL} @ ap-northeast-1, {GLOBAL} @ eu-central-1"
        )),
        "{out}"
    );
    assert!(legend.contains("and 16 more (the same results)"), "{out}");
    // Rows are grouped too: three OUs with the same cells are one row.
    assert!(
        out.contains("↳ and 2 more OUs like this: Prod, Test"),
        "{out}"
    );
}

#[test]
fn text_says_what_if_in_its_first_line() {
    let mut report = with_problems();
    report.what_if = Some(what_if());
    let out = plain_text(&report, 100);
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("What-if: "), "{out}");
    assert!(first.contains("2 changes from changes.json"), "{out}");
    assert!(out.contains("(1 fixed, 0 broken"), "{out}");
    assert!(!plain_text(&with_problems(), 100).contains("What-if"));
}

/// [`with_problems`] with 500 blocked accounts in Sandbox that all look the same.
fn with_500_accounts() -> Report {
    let mut report = with_problems();
    for i in 0..500 {
        let mut f = finding(
            &format!("4{i:011}"),
            TargetKind::Account,
            &format!("Root/Sandbox/acct-{i:03}"),
            PROFILE,
            Status::Blocked,
            "blocked",
        );
        f.problem_ids = vec![PROBLEM.to_string()];
        report.findings.push(f);
    }
    report.summary = Summary::of(&report.findings);
    report
}

#[test]
fn text_groups_identical_rows() {
    let out = plain_text(&with_500_accounts(), 100);
    assert!(
        out.contains("↳ and 499 more accounts like this: acct-001, acct-002, acct-003, …"),
        "{out}"
    );
    assert!(out.contains("acct-000 (400000000000)"), "{out}");
    assert!(!out.contains("acct-004"), "{out}");
    assert!(out.contains("Matrix (5 of 504 targets shown"), "{out}");
    let matrix = out.split("Matrix (").nth(1).unwrap_or_default();
    let rows = matrix.split("\n\n").nth(1).unwrap_or_default();
    assert_eq!(
        rows.lines().count(),
        2 + 6,
        "header, 5 rows, 1 group line: {rows}"
    );
}

#[test]
fn markdown_has_tables_problems_and_fences() {
    let out = markdown::render(&sample());
    assert!(out.contains("**Status: blocked**"), "{out}");
    assert!(out.contains("| Checks | Reachable | Blocked | Conditional | Unknown |"));
    assert!(out.contains("| 5 | 2 | 1 | 1 | 1 |"));
    assert!(out.contains("| Target | `global.claude-sonnet-4`<br>us-east-1 | `us.claude-3-5-sonnet`<br>us-east-1 |"), "{out}");
    // The `|` (and the markup) in a target name is escaped, so the row keeps its cells.
    assert!(
        out.contains(r"Data \<script\>alert(1)\</script\> \| lake"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.contains("alert(1)"))
        .unwrap_or_default();
    let columns = 2;
    assert_eq!(
        row.replace(r"\|", "").matches('|').count(),
        columns + 2,
        "{row}"
    );
    assert!(out.contains("### Problems (3)"));
    assert!(out.contains(
        "`us-east-2` `bedrock:InvokeModel` denied by aws-guardrails-AbCdEf (`p-abcd1234`) Sid `GRREGIONDENY` #0 attached to `ou-ab12-11111111`\n"
    ), "{out}");
    assert!(out.contains("```diff\n--- before\n"));
    assert!(out.contains("```sh\naws controltower update-enabled-control"));
    assert!(out.ends_with("```\n") && !out.ends_with("\n\n"));
}

#[test]
fn markdown_survives_backticks_in_data() {
    let mut report = sample();
    report.proposals[0].diff = Some("+ ```\n+ x".to_string());
    report.findings[0].target_path = "Root/a`b".to_string();
    let out = markdown::render(&report);
    assert!(out.contains("````diff\n+ ```\n+ x\n````"), "{out}");
    assert!(out.contains("``Root/a`b``"), "{out}");
}

#[test]
fn html_is_one_self_contained_escaped_page() {
    let out = html::render(&sample());
    assert!(out.starts_with("<!DOCTYPE html>"));
    assert_eq!(out.matches("<html").count(), 1);
    assert_eq!(out.matches("</html>").count(), 1);
    assert!(out.trim_end().ends_with("</html>"));
    assert!(
        !out.contains("http://") && !out.contains("https://"),
        "no external references"
    );
    assert!(!out.contains("<link") && !out.contains("<img") && !out.contains(" src="));
    // One inline script (the filters), which the Content-Security-Policy names by hash.
    assert_eq!(out.matches("<script").count(), 1);
    assert!(out.contains("Data &lt;script&gt;alert(1)&lt;/script&gt; | lake"));
    // Summary, a blocked cell linked to its finding's blockers, proposals.
    assert!(out.contains("<div class=\"tile blocked\"><b>1</b>"));
    assert!(out.contains(" blocked <a href=\"#f-1\">f-1</a></li>"));
    assert!(out.contains("<details class=\"problem blocked\" id=\"f-1\">"));
    assert!(out.contains("aws-guardrails-AbCdEf <code>p-abcd1234</code>"));
    assert!(out.contains("<code>GRREGIONDENY</code> #0"));
    assert!(out.contains("<code>ou-ab12-11111111</code>"));
    assert!(out.contains("<span class=\"add\">+    &quot;us-east-2&quot;,</span>"));
    assert!(out.contains("<h4>Apply</h4><pre>aws controltower"));
    // The account is nested under its OU.
    let workloads = out.find("title=\"Root/Workloads\"").unwrap_or(usize::MAX);
    let account = out.find("title=\"Root/Workloads/prod-app\"").unwrap_or(0);
    assert!(workloads < account);
    let toggle = out
        .find("<button type=\"button\" class=\"tog\" aria-expanded=\"true\">Workloads</button>")
        .unwrap_or(0);
    assert!(workloads < toggle, "Workloads opens a collapsible subtree");
    assert!(toggle < account);
    let row = out[..account].rfind("<tr ").unwrap_or(0);
    assert!(
        out[row..account].contains(" data-d=\"2\""),
        "the account is inside it, one level down"
    );
}

#[test]
fn sarif_is_valid_with_one_result_per_problem() {
    let out = sarif::render(&sample(), &SarifOptions::default());
    let log: serde_json::Value = match serde_json::from_str(&out) {
        Ok(value) => value,
        Err(err) => unreachable!("invalid JSON: {err}\n{out}"),
    };
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "cris-guard");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .map(|rules| rules.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(rules, ["CRIS001", "CRIS002", "CRIS003"]);
    let results = run["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 3);
    let mut ids: Vec<(&str, &str)> = results
        .iter()
        .filter_map(|r| Some((r["ruleId"].as_str()?, r["level"].as_str()?)))
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            ("CRIS001", "error"),
            ("CRIS002", "warning"),
            ("CRIS003", "note")
        ]
    );
    for result in &results {
        let rule_index = result["ruleIndex"].as_u64().unwrap_or(99) as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][rule_index]["id"],
            result["ruleId"]
        );
    }
    let blocked = results
        .iter()
        .find(|r| r["ruleId"] == "CRIS001")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        blocked["message"]["text"]
            .as_str()
            .map(|t| t.starts_with("InvokeModel from us-east-1")),
        Some(true)
    );
    let location = &blocked["locations"][0]["logicalLocations"][0];
    assert_eq!(location["fullyQualifiedName"], "Root/Sandbox");
    assert_eq!(location["kind"], "organizationalUnit");
    assert_eq!(
        blocked["partialFingerprints"]["crisFindingKey/v1"],
        format!("{SANDBOX}|{PROFILE}|us-east-1")
    );
    assert_eq!(blocked["properties"]["profileId"], PROFILE);
    assert_eq!(blocked["properties"]["sourceRegion"], "us-east-1");
    assert_eq!(blocked["properties"]["blockers"][0]["sid"], "GRREGIONDENY");
    let account = results
        .iter()
        .find(|r| r["ruleId"] == "CRIS002")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        account["locations"][0]["logicalLocations"][0]["kind"],
        "account"
    );
}

#[test]
fn every_format_handles_an_empty_report() {
    let mut report = sample();
    report.findings.clear();
    report.proposals.clear();
    report.summary = Summary::of(&report.findings);
    let out = text::render(&report, &RenderOptions::default());
    assert!(out.contains("No findings."));
    assert!(markdown::render(&report).contains("**Status: reachable**"));
    assert!(html::render(&report).contains("No findings."));
    let log: serde_json::Value =
        serde_json::from_str(&sarif::render(&report, &SarifOptions::default())).unwrap_or_default();
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));
}

#[test]
fn snapshot_text() {
    insta::assert_snapshot!(
        "text",
        plain_text(&with_problems(), RenderOptions::default().width)
    );
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!("markdown", markdown::render(&sample()));
}

#[test]
fn snapshot_html() {
    insta::assert_snapshot!("html", html::render(&sample()));
}

#[test]
fn snapshot_sarif() {
    let out = sarif::render(&sample(), &SarifOptions::default()).replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"[crate version]\"",
    );
    insta::assert_snapshot!("sarif", out);
}

const PROBLEM: &str = "pb-1c9e04d2";
const CONDITIONAL_PROBLEM: &str = "pb-00c0ffee";
const UNKNOWN_PROBLEM: &str = "pb-0000beef";

fn problem(id: &str, status: Status, cause: Cause, targets: &[&str], explanation: &str) -> Problem {
    Problem {
        id: id.to_string(),
        status,
        cause,
        affected: Affected {
            findings: targets.len(),
            targets: targets.len(),
            target_ids: targets.iter().map(|t| t.to_string()).collect(),
            profiles: vec![PROFILE.to_string()],
            source_regions: vec!["us-east-1".to_string()],
        },
        explanation: explanation.to_string(),
        proposal_ids: Vec::new(),
        unresolved_reason: None,
    }
}

fn cause(kind: CauseKind) -> Cause {
    Cause {
        kind,
        policy_id: None,
        policy_name: None,
        sid: None,
        statement_index: None,
        attached_to: Vec::new(),
        leg: None,
        regions: Vec::new(),
        actions: Vec::new(),
        level_policy_ids: Vec::new(),
        reason: None,
    }
}

/// [`sample`] with the problems the problem layer would find: the Region deny, the
/// principal-conditioned deny and the missing profiles.
fn with_problems() -> Report {
    let mut report = sample();
    let deny = Cause {
        policy_id: Some("p-abcd1234".to_string()),
        policy_name: Some("aws-guardrails-AbCdEf".to_string()),
        sid: Some("GRREGIONDENY".to_string()),
        statement_index: Some(0),
        attached_to: vec![SANDBOX.to_string()],
        leg: Some(LegName::DestinationModel),
        regions: vec!["us-east-2".to_string()],
        actions: vec![
            "bedrock:InvokeModel".to_string(),
            "bedrock:InvokeModelWithResponseStream".to_string(),
        ],
        ..cause(CauseKind::ExplicitDeny)
    };
    let conditional = Cause {
        policy_id: Some("p-bedrock01".to_string()),
        policy_name: Some("BedrockOnlyThroughRole".to_string()),
        statement_index: Some(2),
        attached_to: vec!["333333333333".to_string()],
        leg: Some(LegName::Profile),
        regions: vec!["us-east-1".to_string()],
        actions: vec!["bedrock:InvokeModel".to_string()],
        ..cause(CauseKind::ExplicitDeny)
    };
    let gap = Cause {
        attached_to: vec![SANDBOX.to_string()],
        reason: Some("the snapshot has no inference profiles for us-east-1".to_string()),
        ..cause(CauseKind::Gap)
    };
    report.problems = vec![
        problem(
            UNKNOWN_PROBLEM,
            Status::Unknown,
            gap,
            &[SANDBOX],
            "The snapshot has no inference profiles for us-east-1.",
        ),
        problem(
            PROBLEM,
            Status::Blocked,
            deny,
            &[SANDBOX],
            "Calls routed to us-east-2 are rejected by the Region deny GRREGIONDENY of aws-guardrails-AbCdEf, attached to Sandbox.",
        ),
        problem(
            CONDITIONAL_PROBLEM,
            Status::Conditional,
            conditional,
            &["333333333333"],
            "Only principals whose ARN matches arn:aws:iam::*:role/Bedrock-Access-CRI may call the profile.",
        ),
    ];
    report.problems[1].proposal_ids = vec!["prop-1".to_string()];
    for finding in &mut report.findings {
        finding.problem_ids = match finding.status {
            Status::Blocked => vec![PROBLEM.to_string()],
            Status::Conditional => vec![CONDITIONAL_PROBLEM.to_string()],
            Status::Unknown => vec![UNKNOWN_PROBLEM.to_string()],
            Status::Reachable => Vec::new(),
        };
    }
    report
}

fn what_if() -> WhatIf {
    WhatIf {
        source: "changes.json".to_string(),
        changes: 2,
        fixed: 1,
        broken: 0,
    }
}

#[test]
fn markdown_leads_with_every_problem_and_details() {
    let out = markdown::render(&with_problems());
    let problems = out.find("### Problems (3)").unwrap_or(usize::MAX);
    let matrix = out.find("### Matrix").unwrap_or(0);
    assert!(problems < matrix, "problems before the matrix: {out}");
    // Worst first: blocked, conditional, unknown.
    let order: Vec<usize> = [PROBLEM, CONDITIONAL_PROBLEM, UNKNOWN_PROBLEM]
        .iter()
        .map(|id| out.find(&format!("[`{id}`]")).unwrap_or(usize::MAX))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{out}");
    assert!(out.contains(
        "- **blocked** [`pb-1c9e04d2`](#problem-pb-1c9e04d2): Sid `GRREGIONDENY` #0 of aws-guardrails-AbCdEf (`p-abcd1234`) denies `us-east-2` (the model in a destination Region), attached to `ou-ab12-11111111` (1 finding in 1 target; 1 profile from 1 source Region)"
    ), "{out}");
    assert_eq!(out.matches("<details>").count(), 3, "{out}");
    assert!(out.contains("#### Problem pb-1c9e04d2\n\n<details><summary>blocked · explicit deny · 1 finding in 1 target; 1 profile from 1 source Region</summary>\n"), "{out}");
    assert!(out.contains("- Fixed by: `prop-1`"), "{out}");
    assert!(
        !out.contains("What-if"),
        "no what-if line without a what-if"
    );
    assert!(!out.contains("Shortened"), "{out}");
}

#[test]
fn markdown_says_what_if_in_its_first_line() {
    for mut report in [with_problems(), sample()] {
        report.what_if = Some(what_if());
        let out = markdown::render(&report);
        let first = out.lines().next().unwrap_or_default();
        assert!(first.starts_with("**What-if: "), "{first}");
        assert!(first.contains("2 changes from changes.json"), "{first}");
    }
}

#[test]
fn markdown_fits_a_comment_and_still_lists_every_problem() {
    let mut report = with_problems();
    let template = report.problems[1].clone();
    report.problems = (0..1_500)
        .map(|i| {
            let mut p = template.clone();
            p.id = format!("pb-{i:08x}");
            p.explanation = "x".repeat(300);
            p
        })
        .collect();
    let out = markdown::render(&report);
    assert!(out.chars().count() <= markdown::MAX_CHARS, "{}", out.len());
    for p in &report.problems {
        assert!(out.contains(&format!("`{}`", p.id)), "{} missing", p.id);
    }
    assert!(
        out.contains("*Shortened to fit a pull-request comment:"),
        "says so"
    );

    // A few problems with long details: the lines stay full, the details that fit stay.
    report.problems.truncate(150);
    let out = markdown::render(&report);
    assert!(out.chars().count() <= markdown::MAX_CHARS);
    assert!(out.contains("](#problem-pb-00000095): Sid"), "full lines");
    assert!(
        out.contains("#### Problem pb-00000000"),
        "first details kept"
    );
    assert!(
        out.contains("the details of"),
        "{}",
        &out[out.len() - 300..]
    );
}

#[test]
fn html_leads_with_problems_and_links_cells_to_them() {
    let out = html::render(&with_problems());
    let problems = out.find("<h2>Problems (3)</h2>").unwrap_or(usize::MAX);
    let tree = out.find("Organization tree</h2>").unwrap_or(0);
    assert!(problems < tree, "problems first");
    assert!(out.contains(&format!(
        "<section class=\"problem blocked\" id=\"{PROBLEM}\""
    )));
    // Cells point at problems instead of copying blockers: a blocked cell's kind says its
    // problem to a screen reader and its cell key entry links to it.
    assert!(out.contains(&format!(
        "{{--g:\"✗\" / \"blocked: problem {PROBLEM}\";--c:var(--bad)}}"
    )));
    assert!(out.contains(&format!(
        " blocked <a href=\"#{PROBLEM}\">{PROBLEM}</a></li>"
    )));
    assert!(
        !out.contains("<table class=\"blockers\">"),
        "no blocker tables in cells"
    );
    // One table with one header row; subtrees open and close.
    assert_eq!(out.matches("<table class=\"m\"").count(), 1);
    assert_eq!(out.matches("<thead>").count(), 1);
    assert!(out.contains("<caption>Status of each target"));
    assert!(out.contains("<th scope=\"col\" class=\"name\">Target</th>"));
    assert!(out.contains("<th scope=\"row\" class=\"name\""));
    assert!(out.contains("<button type=\"button\" class=\"tog\" aria-expanded=\"true\">"));
    // Filters, and nothing loaded from elsewhere.
    assert!(out.contains("<select name=\"status\">"));
    assert!(out.contains("<select name=\"profile\">"));
    assert!(out.contains("<select name=\"region\">"));
    assert!(!out.contains("http://") && !out.contains("https://") && !out.contains(" src="));
    assert!(!out.contains("What-if"));
}

#[test]
fn html_script_is_the_one_its_policy_allows() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let out = html::render(&with_problems());
    assert_eq!(out.matches("<script>").count(), 1);
    let script = out
        .split_once("<script>")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(script, _)| script)
        .unwrap_or_default();
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    assert!(
        out.contains(&format!("script-src 'sha256-{hash}'")),
        "CSP must name sha256-{hash}"
    );
}

#[test]
fn html_says_what_if_first() {
    let mut report = with_problems();
    report.what_if = Some(what_if());
    let out = html::render(&report);
    assert!(out.contains("<title>cris-guard: what-if: o-exampleorgid"));
    let body = out
        .split_once("<body>\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    assert!(
        body.starts_with("<p class=\"whatif\" role=\"note\">What-if: "),
        "{body}"
    );
}

#[test]
fn html_groups_identical_rows() {
    let out = html::render(&with_500_accounts());
    assert!(
        out.contains("500 accounts with the same results"),
        "one row for 500 accounts"
    );
    assert_eq!(
        out.matches("<tr data-s=").count(),
        5,
        "rows: {}",
        out.matches("<tr").count()
    );
    assert!(out.contains("acct-499"), "every name listed");
}

/// The vendored SARIF 2.1.0 schema (see tests/schemas/README.md).
fn sarif_errors(log: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("schemas/sarif-2.1.0.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    validator.iter_errors(log).map(|e| e.to_string()).collect()
}

#[test]
fn sarif_validates_against_the_schema() {
    let snapshot = "{\n  \"policies\": [\n    { \"id\": \"p-bedrock01\" },\n    {\n      \"id\": \"p-abcd1234\",\n      \"name\": \"x\"\n    }\n  ]\n}\n";
    let options = SarifOptions {
        snapshot: Some(SnapshotFile {
            path: "org snapshot.json",
            text: snapshot,
        }),
        policy_files: &[],
    };
    for report in [sample(), with_problems()] {
        let log: serde_json::Value =
            serde_json::from_str(&sarif::render(&report, &options)).expect("JSON");
        assert_eq!(sarif_errors(&log), Vec::<String>::new());
    }
    // The schema is strict enough to fail: a result without a message is invalid.
    let mut log: serde_json::Value =
        serde_json::from_str(&sarif::render(&with_problems(), &options)).expect("JSON");
    log["runs"][0]["results"][0]
        .as_object_mut()
        .expect("object")
        .remove("message");
    assert!(!sarif_errors(&log).is_empty());
}

#[test]
fn sarif_has_one_result_per_problem_at_its_policy_line() {
    let snapshot = "{\n  \"policies\": [\n    { \"id\": \"p-bedrock01\" },\n    {\n      \"name\": \"p-abcd1234\",\n      \"id\": \"p-abcd1234\"\n    }\n  ]\n}\n";
    let options = SarifOptions {
        snapshot: Some(SnapshotFile {
            path: "org snapshot.json",
            text: snapshot,
        }),
        policy_files: &[],
    };
    let log: serde_json::Value =
        serde_json::from_str(&sarif::render(&with_problems(), &options)).expect("JSON");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert!(
        driver["informationUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );
    for rule in driver["rules"].as_array().expect("rules") {
        assert!(rule["fullDescription"]["text"].is_string());
        assert!(rule["help"]["text"].is_string());
        assert!(
            rule["helpUri"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
        );
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    let blocked = &results[0];
    assert_eq!(blocked["ruleId"], "CRIS010");
    assert_eq!(blocked["level"], "error");
    assert_eq!(blocked["partialFingerprints"]["crisProblemId/v1"], PROBLEM);
    let physical = &blocked["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "org%20snapshot.json");
    // The `id` entry, not the name that happens to hold the same text.
    assert_eq!(physical["region"]["startLine"], 6);
    assert_eq!(physical["region"]["startColumn"], 13);
    let logical = &blocked["locations"][0]["logicalLocations"][0];
    assert_eq!(logical["fullyQualifiedName"], "Root/Sandbox");
    assert_eq!(logical["kind"], "organizationalUnit");
    assert_eq!(results[1]["level"], "warning");
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert_eq!(
        results[1]["locations"][0]["logicalLocations"][0]["kind"],
        "account"
    );
    // The gap names no policy: no physical location.
    assert_eq!(results[2]["ruleId"], "CRIS013");
    assert_eq!(results[2]["level"], "note");
    assert!(results[2]["locations"][0]["physicalLocation"].is_null());
}

#[test]
fn snapshot_markdown_with_problems() {
    insta::assert_snapshot!("markdown_problems", markdown::render(&with_problems()));
}

#[test]
fn snapshot_html_with_problems() {
    insta::assert_snapshot!("html_problems", html::render(&with_problems()));
}
