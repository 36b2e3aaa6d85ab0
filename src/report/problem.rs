//! Shared phrasing of problems (§3.1) for the Markdown, HTML and SARIF renderings: their
//! order, a one-line title per cause and the words for what they affect.
//!
//! Like [`super::layout`], the functions take `code` (identifiers) and `text` (names)
//! formatters so each output format does its own escaping.

use std::fmt::Write as _;

use crate::findings::{Cause, CauseKind, LegName, Problem, Report};
use crate::findings::{ExpectationResult, Expected};

/// The report's problems worst first: status, then how many findings each is behind, then id
/// (so the order is the same whatever order the report lists them in).
pub(crate) fn ordered(report: &Report) -> Vec<&Problem> {
    let mut problems: Vec<&Problem> = report.problems.iter().collect();
    problems.sort_by(|a, b| {
        b.status
            .severity()
            .cmp(&a.status.severity())
            .then_with(|| b.affected.findings.cmp(&a.affected.findings))
            .then_with(|| a.id.cmp(&b.id))
    });
    problems
}

/// Words for a cause kind, as a heading reads them.
pub(crate) fn kind_words(kind: CauseKind) -> &'static str {
    match kind {
        CauseKind::ExplicitDeny => "explicit deny",
        CauseKind::NoAllow => "no SCP allows",
        CauseKind::AccountNotActive => "account not ACTIVE",
        CauseKind::Gap => "not read",
        CauseKind::Unknown => "cannot decide",
    }
}

/// The request of a check a leg names.
pub(crate) fn leg_words(leg: LegName) -> &'static str {
    match leg {
        LegName::Profile => "the inference profile in the source Region",
        LegName::SourceModel => "the model in the source Region",
        LegName::DestinationModel => "the model in a destination Region",
        LegName::GlobalModel => "the Region-less model of a global profile",
        LegName::GuardrailProfile => "the guardrail profile of a guardrailed call",
        LegName::Marketplace => "the Marketplace subscription of a model's first use",
    }
}

/// The policy a cause names: `name (id)`, either alone, or nothing.
fn policy(cause: &Cause, code: &dyn Fn(&str) -> String, text: &dyn Fn(&str) -> String) -> String {
    match (&cause.policy_name, &cause.policy_id) {
        (Some(name), Some(id)) => format!("{} ({})", text(name), code(id)),
        (Some(name), None) => text(name),
        (None, Some(id)) => code(id),
        (None, None) => String::new(),
    }
}

/// One line naming the cause: which statement, level, account or scope, and where.
///
/// `Sid GRREGIONDENY #0 of aws-guardrails-AbCdEf (p-abcd1234) denies us-east-2 (the model in a
/// destination Region), attached to ou-1, ou-2`.
pub(crate) fn title(
    problem: &Problem,
    code: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> String {
    let cause = &problem.cause;
    let list = |items: &[String]| items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ");
    let mut line = match cause.kind {
        CauseKind::ExplicitDeny => {
            let mut statement = String::new();
            if let Some(sid) = &cause.sid {
                let _ = write!(statement, "Sid {} ", code(sid));
            }
            if let Some(index) = cause.statement_index {
                let word = if cause.sid.is_none() {
                    "statement "
                } else {
                    ""
                };
                let _ = write!(statement, "{word}#{index} ");
            }
            let policy = policy(cause, code, text);
            let mut line = if policy.is_empty() {
                format!("{statement}of an SCP denies")
            } else {
                format!("{statement}of {policy} denies")
            };
            if !cause.regions.is_empty() {
                let _ = write!(line, " {}", list(&cause.regions));
            }
            if let Some(leg) = cause.leg {
                let _ = write!(line, " ({})", leg_words(leg));
            }
            line
        }
        CauseKind::NoAllow => {
            let mut line = String::from("no SCP allows the request");
            if !cause.level_policy_ids.is_empty() {
                let _ = write!(
                    line,
                    " (the level has only {})",
                    list(&cause.level_policy_ids)
                );
            }
            line
        }
        CauseKind::AccountNotActive => String::from("the account is not ACTIVE"),
        CauseKind::Gap | CauseKind::Unknown => match &cause.reason {
            Some(reason) => text(reason),
            None => String::from("a fact the answer needs is missing"),
        },
    };
    if !cause.attached_to.is_empty() {
        let at = match cause.kind {
            CauseKind::ExplicitDeny => "attached to",
            CauseKind::NoAllow => "at",
            CauseKind::AccountNotActive => "for",
            CauseKind::Gap | CauseKind::Unknown => "in",
        };
        let _ = write!(line, ", {at} {}", list(&cause.attached_to));
    }
    line
}

/// `4 findings in 2 targets; 1 profile from 2 source Regions`.
pub(crate) fn affected_words(problem: &Problem) -> String {
    let a = &problem.affected;
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "{} in {}; {} from {}",
        plural(a.findings, "finding", "findings"),
        plural(a.targets, "target", "targets"),
        plural(a.profiles.len(), "profile", "profiles"),
        plural(a.source_regions.len(), "source Region", "source Regions"),
    )
}

/// The first line of every format for a what-if report, else `None`.
pub(crate) fn what_if_line(report: &Report) -> Option<String> {
    report.what_if.as_ref().map(|w| {
        format!(
            "What-if: this report shows the snapshot with {} change{} from {} applied ({} fixed, {} broken against the snapshot as it is).",
            w.changes,
            if w.changes == 1 { "" } else { "s" },
            w.source,
            w.fixed,
            w.broken
        )
    })
}

/// Where an expectation (§6) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    Violated,
    Undecided,
    Holds,
}

impl Standing {
    pub(crate) fn of(result: &ExpectationResult) -> Standing {
        if !result.violations.is_empty() {
            Standing::Violated
        } else if !result.unknown_findings.is_empty() {
            Standing::Undecided
        } else {
            Standing::Holds
        }
    }

    pub(crate) fn words(self) -> &'static str {
        match self {
            Standing::Violated => "violated",
            Standing::Undecided => "undecided",
            Standing::Holds => "holds",
        }
    }
}

/// The expectations violated first, then undecided, then held (file order within each), each
/// with one line: `` `name` (expects reachable): 2 findings break it, behind pb-8cddea36 ``.
pub(crate) fn expectation_lines(
    report: &Report,
    code: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> Vec<(Standing, String)> {
    let mut lines: Vec<(Standing, String)> = report
        .expectations
        .iter()
        .map(|r| {
            let standing = Standing::of(r);
            let expect = match r.expect {
                Expected::Reachable => "reachable",
                Expected::Blocked => "blocked",
            };
            let count = |n: usize| {
                if n == 1 {
                    "1 finding".to_string()
                } else {
                    format!("{n} findings")
                }
            };
            let mut line = format!("{} (expects {expect}): ", text(&r.name));
            match standing {
                Standing::Violated => {
                    let _ = write!(line, "{} break it", count(r.violations.len()));
                    if !r.problem_ids.is_empty() {
                        let ids: Vec<String> = r.problem_ids.iter().map(|i| code(i)).collect();
                        let _ = write!(line, ", behind {}", ids.join(", "));
                    }
                    if !r.unknown_findings.is_empty() {
                        let _ = write!(line, "; {} undecided", count(r.unknown_findings.len()));
                    }
                }
                Standing::Undecided => {
                    let _ = write!(
                        line,
                        "{} cannot be decided (unknown)",
                        count(r.unknown_findings.len())
                    );
                }
                Standing::Holds => {
                    let _ = write!(line, "holds for all {} checks it covers", r.checked);
                }
            }
            (standing, line)
        })
        .collect();
    lines.sort_by_key(|(standing, _)| *standing as u8);
    lines
}
