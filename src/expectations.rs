//! Expectations (contract §6): what the organization intends per targets × profiles × source
//! Regions, checked against the decisions so that a deny by design is not a problem and a break
//! of intent fails CI.
//!
//! Pure: parsed from bytes, resolved against the snapshot (a pattern that matches nothing is an
//! input error: a typo must not pass silently), judged from statuses the caller supplies.

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::findings::Status;
pub use crate::findings::{ExpectationResult, Expected};

/// The `--expect` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectationsFile {
    pub expectations: Vec<Expectation>,
}

/// One intent: every matched target × profile × source Region is `expect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectation {
    pub name: String,
    /// OU/account ids, or name paths from `Root` with `*` (one level) and `**` (any depth).
    pub targets: Vec<String>,
    /// Profile id globs; absent: every profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    /// Source Region globs; absent: every source Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_regions: Option<Vec<String>>,
    pub expect: Expected,
}

/// Whether a decided status honours the intent; `None` when it cannot be told (unknown).
/// `conditional` is reachable for some callers only: neither intent holds.
fn holds(expected: Expected, status: Status) -> Option<bool> {
    match (expected, status) {
        (_, Status::Unknown) => None,
        (Expected::Reachable, Status::Reachable) | (Expected::Blocked, Status::Blocked) => {
            Some(true)
        }
        _ => Some(false),
    }
}

/// What a target looks like to a pattern.
pub struct TargetName<'a> {
    pub id: &'a str,
    /// `Root/Sandbox/dev-account`.
    pub path: &'a str,
}

/// An expectation compiled and resolved against one snapshot: which targets (by index into
/// the caller's target list) and which checks (by index) it covers.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub targets: Vec<usize>,
    pub checks: Vec<usize>,
}

/// Parses an expectations file (strict JSON, errors name `source` and the JSON path).
pub fn parse(source: &str, bytes: &[u8]) -> Result<ExpectationsFile, InputError> {
    let file: ExpectationsFile = crate::json_input::read(source, "expectations file", bytes)?;
    if file.expectations.is_empty() {
        return Err(InputError::new(
            source,
            "$.expectations",
            "no expectations: list at least one",
        ));
    }
    for (index, expectation) in file.expectations.iter().enumerate() {
        if expectation.targets.is_empty() {
            return Err(InputError::new(
                source,
                format!("$.expectations[{index}].targets"),
                "no targets: list OU/account ids or name paths such as `Root/Workloads/**`",
            ));
        }
    }
    Ok(file)
}

fn glob(pattern: &str, separator: bool) -> Result<GlobMatcher, String> {
    let glob = if separator {
        GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(false)
            .build()
    } else {
        Glob::new(pattern)
    };
    glob.map(|g| g.compile_matcher())
        .map_err(|err| format!("`{pattern}` is not a valid pattern: {err}"))
}

/// A target pattern: an id (exact) or a name path glob. A path ending in `/**` also matches
/// the OU it names, so `Root/Workloads/**` is Workloads and everything below it.
struct TargetPattern {
    text: String,
    path: GlobMatcher,
    prefix: Option<String>,
}

impl TargetPattern {
    fn new(text: &str) -> Result<TargetPattern, String> {
        Ok(TargetPattern {
            text: text.to_string(),
            path: glob(text, true)?,
            prefix: text.strip_suffix("/**").map(str::to_string),
        })
    }

    fn matches(&self, target: &TargetName<'_>) -> bool {
        self.text == target.id
            || self.path.is_match(target.path)
            || self.prefix.as_deref() == Some(target.path)
    }
}

/// Resolves every expectation against the snapshot's targets and checks
/// (`(profile id, source Region)` by check index). A target, profile or Region pattern that
/// matches nothing is an input error naming it.
pub fn resolve(
    source: &str,
    file: &ExpectationsFile,
    targets: &[TargetName<'_>],
    checks: &[(&str, &str)],
) -> Result<Vec<Resolved>, InputError> {
    let mut out = Vec::with_capacity(file.expectations.len());
    for (index, expectation) in file.expectations.iter().enumerate() {
        let at =
            |field: &str, position: usize| format!("$.expectations[{index}].{field}[{position}]");
        let mut matched_targets = vec![false; targets.len()];
        for (position, text) in expectation.targets.iter().enumerate() {
            let pattern = TargetPattern::new(text)
                .map_err(|message| InputError::new(source, at("targets", position), message))?;
            let mut any = false;
            for (t, target) in targets.iter().enumerate() {
                if pattern.matches(target) {
                    any = true;
                    if let Some(slot) = matched_targets.get_mut(t) {
                        *slot = true;
                    }
                }
            }
            if !any {
                return Err(InputError::new(
                    source,
                    at("targets", position),
                    format!(
                        "`{text}` matches no OU or account in the snapshot (ids, or name paths from `Root` such as `Root/Workloads/**`)"
                    ),
                ));
            }
        }
        let profiles = compile_all(source, index, "profiles", expectation.profiles.as_deref())?;
        let regions = compile_all(
            source,
            index,
            "sourceRegions",
            expectation.source_regions.as_deref(),
        )?;
        for (position, pattern) in profiles.iter().enumerate() {
            if !checks.iter().any(|(profile, _)| pattern.is_match(profile)) {
                return Err(InputError::new(
                    source,
                    at("profiles", position),
                    format!(
                        "`{}` matches no inference profile in the snapshot",
                        pattern.glob()
                    ),
                ));
            }
        }
        for (position, pattern) in regions.iter().enumerate() {
            if !checks.iter().any(|(_, region)| pattern.is_match(region)) {
                return Err(InputError::new(
                    source,
                    at("sourceRegions", position),
                    format!(
                        "`{}` matches no source Region in the snapshot",
                        pattern.glob()
                    ),
                ));
            }
        }
        let matches_any = |patterns: &[GlobMatcher], value: &str| {
            patterns.is_empty() || patterns.iter().any(|p| p.is_match(value))
        };
        let checks: Vec<usize> = checks
            .iter()
            .enumerate()
            .filter(|(_, (profile, region))| {
                matches_any(&profiles, profile) && matches_any(&regions, region)
            })
            .map(|(c, _)| c)
            .collect();
        if checks.is_empty() {
            return Err(InputError::new(
                source,
                format!("$.expectations[{index}]"),
                "its profiles and source Regions match no check together in the snapshot",
            ));
        }
        out.push(Resolved {
            targets: matched_targets
                .iter()
                .enumerate()
                .filter(|(_, m)| **m)
                .map(|(t, _)| t)
                .collect(),
            checks,
        });
    }
    Ok(out)
}

fn compile_all(
    source: &str,
    index: usize,
    field: &str,
    patterns: Option<&[String]>,
) -> Result<Vec<GlobMatcher>, InputError> {
    patterns
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(position, text)| {
            glob(text, false).map_err(|message| {
                InputError::new(
                    source,
                    format!("$.expectations[{index}].{field}[{position}]"),
                    message,
                )
            })
        })
        .collect()
}

/// One decided cell an expectation covers.
pub struct Cell<'a> {
    pub key: String,
    pub status: Status,
    pub problem_ids: &'a [String],
}

/// Judges one expectation from the cells it covers.
pub fn judge<'a>(
    expectation: &Expectation,
    cells: impl IntoIterator<Item = Cell<'a>>,
) -> ExpectationResult {
    let mut result = ExpectationResult {
        name: expectation.name.clone(),
        expect: expectation.expect,
        holds: true,
        violations: Vec::new(),
        unknown_findings: Vec::new(),
        checked: 0,
        problem_ids: Vec::new(),
    };
    for cell in cells {
        result.checked += 1;
        match holds(expectation.expect, cell.status) {
            Some(true) => {}
            Some(false) => {
                result.violations.push(cell.key);
                result.problem_ids.extend(cell.problem_ids.iter().cloned());
            }
            None => result.unknown_findings.push(cell.key),
        }
    }
    // Accounts folded into their OU share its finding key.
    for keys in [
        &mut result.violations,
        &mut result.unknown_findings,
        &mut result.problem_ids,
    ] {
        keys.sort_unstable();
        keys.dedup();
    }
    result.holds = result.violations.is_empty() && result.unknown_findings.is_empty();
    result
}

/// The exit code expectations give (§6): 1 when one is violated, else 2 when one cannot be
/// decided, else 0.
pub fn exit_code(results: &[ExpectationResult]) -> u8 {
    if results.iter().any(|r| !r.violations.is_empty()) {
        1
    } else if results.iter().any(|r| !r.unknown_findings.is_empty()) {
        2
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn names() -> Vec<TargetName<'static>> {
        vec![
            TargetName {
                id: "ou-w",
                path: "Root/Workloads",
            },
            TargetName {
                id: "ou-p",
                path: "Root/Workloads/Prod",
            },
            TargetName {
                id: "111111111111",
                path: "Root/Workloads/Prod/app",
            },
            TargetName {
                id: "ou-s",
                path: "Root/Sandbox",
            },
        ]
    }

    fn file(targets: &[&str], profiles: Option<&[&str]>) -> ExpectationsFile {
        ExpectationsFile {
            expectations: vec![Expectation {
                name: "n".into(),
                targets: targets.iter().map(|t| (*t).to_string()).collect(),
                profiles: profiles.map(|p| p.iter().map(|x| (*x).to_string()).collect()),
                source_regions: None,
                expect: Expected::Reachable,
            }],
        }
    }

    const CHECKS: &[(&str, &str)] = &[
        ("us.anthropic.claude", "us-east-1"),
        ("global.anthropic.claude", "us-east-1"),
        ("eu.amazon.nova", "eu-west-1"),
    ];

    #[test]
    fn double_star_covers_the_ou_and_everything_below_it() {
        let r = resolve("f", &file(&["Root/Workloads/**"], None), &names(), CHECKS).unwrap();
        assert_eq!(r[0].targets, vec![0, 1, 2]);
    }

    #[test]
    fn single_star_is_one_level() {
        let r = resolve("f", &file(&["Root/*"], None), &names(), CHECKS).unwrap();
        assert_eq!(r[0].targets, vec![0, 3]);
    }

    #[test]
    fn ids_match_exactly() {
        let r = resolve("f", &file(&["111111111111"], None), &names(), CHECKS).unwrap();
        assert_eq!(r[0].targets, vec![2]);
    }

    #[test]
    fn profile_globs_select_checks() {
        let f = file(&["ou-s"], Some(&["us.anthropic.*", "global.*"]));
        let r = resolve("f", &f, &names(), CHECKS).unwrap();
        assert_eq!(r[0].checks, vec![0, 1]);
    }

    #[test]
    fn a_typo_is_an_input_error_naming_the_pattern() {
        let err = resolve("f", &file(&["Root/Workload/**"], None), &names(), CHECKS).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("$.expectations[0].targets[0]"), "{text}");
        assert!(text.contains("Root/Workload/**"), "{text}");
        let err = resolve(
            "f",
            &file(&["ou-s"], Some(&["us.antropic.*"])),
            &names(),
            CHECKS,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("$.expectations[0].profiles[0]"),
            "{err}"
        );
    }

    #[test]
    fn conditional_breaks_both_intents_and_unknown_is_undecided() {
        let cell = |status| Cell {
            key: "k".into(),
            status,
            problem_ids: &[],
        };
        let mut e = file(&["ou-s"], None).expectations.remove(0);
        assert!(!judge(&e, [cell(Status::Conditional)]).holds);
        e.expect = Expected::Blocked;
        assert!(!judge(&e, [cell(Status::Conditional)]).holds);
        let r = judge(&e, [cell(Status::Unknown), cell(Status::Blocked)]);
        assert_eq!(
            (r.violations.len(), r.unknown_findings.len(), r.checked),
            (0, 1, 2)
        );
        assert_eq!(exit_code(&[r]), 2);
    }
}
