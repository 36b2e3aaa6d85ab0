//! Scenario corpus for reachability: each file in `tests/corpus/reachability/` is a snapshot,
//! options and the findings it must produce (status, blockers with policy/Sid/attachment,
//! conditions, and `explanationContains`: strings the explanation must mention). Every file is
//! checked; all failures are reported together by file name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeSet;
use std::path::Path;

use cris_guard::findings::{CheckKind, Finding, Report};
use cris_guard::reachability::{self, Options};
use cris_guard::snapshot;
use serde_json::Value;

fn options(value: Option<&Value>) -> Options {
    let list = |key: &str| -> Vec<String> {
        value
            .and_then(|v| v.get(key))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let flag = |key: &str| {
        value
            .and_then(|v| v.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    Options {
        actions: list("actions"),
        profiles: list("profiles"),
        source_regions: list("sourceRegions"),
        ous: list("ous"),
        only_problems: flag("onlyProblems"),
        admin_principals: list("adminPrincipals"),
        all_accounts: flag("allAccounts"),
        check_kinds: list("checkKinds")
            .iter()
            .map(|k| CheckKind::parse(k).unwrap_or_else(|| panic!("unknown check kind {k}")))
            .collect(),
    }
}

fn blocker_set(blockers: &[Value], with_action: bool) -> BTreeSet<String> {
    blockers
        .iter()
        .map(|b| {
            let field = |k: &str| {
                b.get(k)
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "null".into())
            };
            let mut key = format!(
                "{} {} {} {} {}",
                field("region"),
                field("policyId"),
                field("sid"),
                field("kind"),
                field("attachedTo")
            );
            if with_action {
                key.push(' ');
                key.push_str(&field("action"));
            }
            key
        })
        .collect()
}

fn condition_set(conditions: &[Value]) -> BTreeSet<String> {
    conditions
        .iter()
        .map(|c| {
            let field = |k: &str| c.get(k).map(|v| v.to_string()).unwrap_or_default();
            format!(
                "{} {} {} {}",
                field("key"),
                field("operator"),
                field("values"),
                field("effect")
            )
        })
        .collect()
}

fn check_case(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let snapshot_bytes = serde_json::to_vec(&case["snapshot"]).map_err(|e| e.to_string())?;
    let loaded =
        snapshot::load(&path.display().to_string(), &snapshot_bytes).map_err(|e| e.to_string())?;
    let report: Report = reachability::evaluate(&loaded, &options(case.get("options")));
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect();
    let mut problems = Vec::new();
    for expected in case["expect"].as_array().into_iter().flatten() {
        let matches: Vec<&Value> = findings
            .iter()
            .filter(|f| {
                f["targetId"] == expected["targetId"]
                    && f["profileId"] == expected["profileId"]
                    && f["sourceRegion"] == expected["sourceRegion"]
                    && f["checkKind"]
                        == expected
                            .get("checkKind")
                            .cloned()
                            .unwrap_or_else(|| "inference".into())
            })
            .collect();
        let [actual] = matches.as_slice() else {
            problems.push(format!(
                "expected one finding for {expected}, found {}",
                matches.len()
            ));
            continue;
        };
        if actual["status"] != expected["status"] {
            problems.push(format!(
                "{} {}: status {} expected {} ({})",
                expected["targetId"],
                expected["sourceRegion"],
                actual["status"],
                expected["status"],
                actual["explanation"]
            ));
        }
        if let Some(want) = expected.get("blockers").and_then(Value::as_array) {
            let with_action = want.iter().any(|b| b.get("action").is_some());
            let got = blocker_set(
                actual["blockers"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                with_action,
            );
            let want = blocker_set(want, with_action);
            if got != want {
                problems.push(format!(
                    "{}: blockers {got:?} expected {want:?}",
                    expected["targetId"]
                ));
            }
        }
        if let Some(want) = expected.get("conditions").and_then(Value::as_array) {
            let got = condition_set(
                actual["conditions"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            );
            let want = condition_set(want);
            if got != want {
                problems.push(format!(
                    "{}: conditions {got:?} expected {want:?}",
                    expected["targetId"]
                ));
            }
        }
        if actual["explanation"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{}: empty explanation", expected["targetId"]));
        }
        for needle in expected
            .get("explanationContains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !actual["explanation"]
                .as_str()
                .is_some_and(|e| e.contains(needle))
            {
                problems.push(format!(
                    "{}: explanation {} should mention {needle:?}",
                    expected["targetId"], actual["explanation"]
                ));
            }
        }
    }
    for absent in case
        .get("expectAbsent")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if report
            .findings
            .iter()
            .any(|f: &Finding| Some(f.target_id.as_str()) == absent.as_str())
        {
            problems.push(format!("{absent} should not be listed"));
        }
    }
    let summed = report.summary.reachable
        + report.summary.blocked
        + report.summary.conditional
        + report.summary.unknown;
    if summed != report.findings.len() || report.summary.checks != report.findings.len() {
        problems.push("summary does not add up to the findings".into());
    }
    problems.extend(problem_invariants(&report));
    for expected in case
        .get("expectProblems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        problems.extend(expect_problem(&report, expected));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

/// What every report's problems must satisfy: every non-reachable finding names at least one
/// problem, every named problem exists, and each problem's counts are those of its findings.
fn problem_invariants(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let ids: BTreeSet<&str> = report.problems.iter().map(|p| p.id.as_str()).collect();
    if ids.len() != report.problems.len() {
        out.push("problem ids repeat".to_string());
    }
    for finding in &report.findings {
        let non_reachable = finding.status != cris_guard::findings::Status::Reachable;
        if non_reachable && finding.problem_ids.is_empty() {
            out.push(format!("{} has no problem id", finding.key()));
        }
        if !non_reachable && !finding.problem_ids.is_empty() {
            out.push(format!("reachable {} names problems", finding.key()));
        }
        for id in &finding.problem_ids {
            if !ids.contains(id.as_str()) {
                out.push(format!("{} names unknown problem {id}", finding.key()));
            }
        }
    }
    for problem in &report.problems {
        let behind: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.problem_ids.contains(&problem.id))
            .collect();
        let targets: BTreeSet<&str> = behind.iter().map(|f| f.target_id.as_str()).collect();
        let profiles: BTreeSet<&str> = behind.iter().map(|f| f.profile_id.as_str()).collect();
        let regions: BTreeSet<&str> = behind.iter().map(|f| f.source_region.as_str()).collect();
        let affected = &problem.affected;
        if affected.findings != behind.len()
            || affected.targets != targets.len()
            || affected
                .profiles
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                != profiles
            || affected
                .source_regions
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                != regions
        {
            out.push(format!(
                "{}: affected {affected:?} does not match its findings",
                problem.id
            ));
        }
        if !problem.id.starts_with("pb-") || problem.id.len() != 11 {
            out.push(format!("{}: not pb- and 8 hex digits", problem.id));
        }
    }
    out
}

/// `expectProblems`: a problem with this cause (kind, policyId, sid, leg) exists, with these
/// compressed `targetIds` when given.
fn expect_problem(report: &Report, expected: &Value) -> Option<String> {
    let found = report.problems.iter().find(|p| {
        let cause = serde_json::to_value(&p.cause).unwrap();
        ["kind", "policyId", "sid", "leg"].iter().all(|k| {
            expected
                .get(*k)
                .is_none_or(|want| cause.get(*k) == Some(want))
        })
    });
    let Some(problem) = found else {
        return Some(format!("no problem like {expected}"));
    };
    let want: Option<Vec<String>> = expected
        .get("targetIds")
        .map(|v| serde_json::from_value(v.clone()).unwrap());
    match want {
        Some(want) if want != problem.affected.target_ids => Some(format!(
            "{}: targetIds {:?} expected {want:?}",
            problem.id, problem.affected.target_ids
        )),
        _ => None,
    }
}

#[test]
fn reachability_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/reachability");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            check_case(f)
                .err()
                .map(|e| format!("{}:\n    {e}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
