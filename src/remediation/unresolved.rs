//! Unresolved per problem (§3.1): the findings no verified proposal covers, folded into one
//! entry per problem with its reasons, so 411 targets behind one global-profile deny are one
//! entry, not 411.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::findings::{Report, Unresolved};

/// At most this many distinct reasons are spelled out in one entry.
const MAX_REASONS: usize = 3;

/// One finding without a fix: the problems it is attributed to, its key and why.
pub(crate) struct Rejected {
    pub problems: Vec<String>,
    pub finding: String,
    /// Shared by every finding of a group rejected for one reason: a failed proof's reason is
    /// kilobytes, and a group can hold tens of thousands of findings (150 MB of copies at
    /// 10,000 accounts).
    pub reason: Arc<str>,
    /// Denied by design (a profile outside `--approved-profile`), kept apart from missing fixes.
    pub by_design: bool,
}

/// One entry per problem, in the order problems are first met; a finding attributed to
/// several problems is listed under each. A problem's findings denied by design get their own
/// entry beside the one for findings it has no fix for.
pub(crate) fn per_problem(rejected: Vec<Rejected>) -> Vec<Unresolved> {
    struct Entry {
        problem: Option<String>,
        by_design: bool,
        fixes: Vec<String>,
        /// `fixes` as a set: a problem can have thousands of findings.
        listed: HashSet<String>,
        reasons: Vec<Arc<str>>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<(Option<String>, bool), usize> = HashMap::new();
    for item in rejected {
        let problems: Vec<Option<String>> = if item.problems.is_empty() {
            vec![None]
        } else {
            item.problems.into_iter().map(Some).collect()
        };
        for problem in problems {
            let slot = *index
                .entry((problem.clone(), item.by_design))
                .or_insert_with(|| {
                    entries.push(Entry {
                        problem,
                        by_design: item.by_design,
                        fixes: Vec::new(),
                        listed: HashSet::new(),
                        reasons: Vec::new(),
                    });
                    entries.len() - 1
                });
            if let Some(entry) = entries.get_mut(slot) {
                if entry.listed.insert(item.finding.clone()) {
                    entry.fixes.push(item.finding.clone());
                }
                if !entry.reasons.contains(&item.reason) {
                    entry.reasons.push(item.reason.clone());
                }
            }
        }
    }
    entries
        .into_iter()
        .map(|entry| Unresolved {
            reason: reason(&entry.reasons),
            fixes: entry.fixes,
            problem_id: entry.problem,
            by_design: entry.by_design,
        })
        .collect()
}

/// The distinct reasons, the first few spelled out.
fn reason(reasons: &[Arc<str>]) -> String {
    let shown: Vec<&str> = reasons.iter().take(MAX_REASONS).map(|r| &**r).collect();
    let mut text = shown.join("; ");
    if reasons.len() > MAX_REASONS {
        text.push_str(&format!(
            "; and {} more reasons like these",
            reasons.len() - MAX_REASONS
        ));
    }
    text
}

/// Fills each problem's `proposalIds` (the proposals naming it in `fixesProblems`) and, for a
/// problem no proposal fixes, its `unresolvedReason` (§3.1): its own entry's reason, or, when
/// its findings were filed under another problem that blocks them too, a pointer to that one.
pub fn link_problems(report: &mut Report) {
    let mut fixed_by: HashMap<&str, Vec<String>> = HashMap::new();
    for proposal in &report.proposals {
        for problem in &proposal.fixes_problems {
            fixed_by
                .entry(problem.as_str())
                .or_default()
                .push(proposal.id.clone());
        }
    }
    let mut reasons: HashMap<&str, String> = HashMap::new();
    let mut filed_under: HashMap<&str, &str> = HashMap::new();
    for entry in &report.unresolved {
        let Some(problem) = entry.problem_id.as_deref() else {
            continue;
        };
        if entry.by_design {
            // A missing fix says more than a by-design deny of the same problem.
            reasons
                .entry(problem)
                .or_insert_with(|| entry.reason.clone());
            continue;
        }
        reasons.insert(problem, entry.reason.clone());
        for finding in &entry.fixes {
            filed_under.entry(finding.as_str()).or_insert(problem);
        }
    }
    for finding in &report.findings {
        let Some(&other) = filed_under.get(finding.key().as_str()) else {
            continue;
        };
        for problem in &finding.problem_ids {
            reasons.entry(problem.as_str()).or_insert_with(|| {
                format!("its findings are also blocked by {other}, which has no verified fix")
            });
        }
    }
    for problem in &mut report.problems {
        problem.proposal_ids = fixed_by.remove(problem.id.as_str()).unwrap_or_default();
        problem.unresolved_reason = if problem.proposal_ids.is_empty() {
            reasons.get(problem.id.as_str()).cloned()
        } else {
            None
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(problems: &[&str], finding: &str, reason: &str) -> Rejected {
        Rejected {
            problems: problems.iter().map(|p| (*p).to_string()).collect(),
            finding: finding.to_string(),
            reason: reason.into(),
            by_design: false,
        }
    }

    #[test]
    fn one_entry_per_problem_with_its_distinct_reasons() {
        let out = per_problem(vec![
            rejected(&["pb-1"], "a|p|r", "global leg"),
            rejected(&["pb-1"], "b|p|r", "global leg"),
            rejected(&["pb-2", "pb-1"], "c|p|r", "inactive"),
            rejected(&[], "d|p|r", "nothing to change"),
        ]);
        let got: Vec<(Option<&str>, usize, &str)> = out
            .iter()
            .map(|u| (u.problem_id.as_deref(), u.fixes.len(), u.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("pb-1"), 3, "global leg; inactive"),
                (Some("pb-2"), 1, "inactive"),
                (None, 1, "nothing to change"),
            ]
        );
    }

    #[test]
    fn many_reasons_are_summarized() {
        let items = (0..5)
            .map(|i| rejected(&["pb-1"], &format!("{i}|p|r"), &format!("r{i}")))
            .collect();
        let out = per_problem(items);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].reason, "r0; r1; r2; and 2 more reasons like these");
    }
}
