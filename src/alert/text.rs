//! The short renderings of a part: the `Subject` (email subscriptions) and the `default` text
//! (chat, SMS and every protocol without its own key).

use std::collections::BTreeSet;

use super::context::Context;
use super::phrase::{
    cause, first_blocker_phrase, headline, part_suffix, plural, problem_cause, problem_change,
    target_name, truncate_chars,
};
use super::state::{ChangeKind, FindingChange};
use crate::findings::Status;

/// SNS limits `Subject` to 100 printable ASCII characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// The `default` text stays under this many characters (AWS Chatbot custom notifications).
pub const MAX_DEFAULT_CHARS: usize = 1_000;

/// Changes named in the `default` text (the rest are counted).
const LISTED_CHANGES: usize = 3;

pub(super) fn subject(ctx: &Context<'_>, part: usize, parts: usize) -> String {
    let text = format!(
        "cris-guard: {} in {}{}",
        headline(ctx),
        ctx.report.organization_id,
        part_suffix(part, parts)
    );
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    truncate_chars(&ascii, MAX_SUBJECT_CHARS)
}

pub(super) fn default_text(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
) -> String {
    let mut text = format!(
        "cris-guard{}: {} in {}",
        part_suffix(part, parts),
        headline(ctx),
        ctx.report.organization_id
    );
    let (clauses, listed) = if ctx.by_problem() {
        let problems = ctx.problems_in(chunk);
        let mut clauses: Vec<String> = problems
            .iter()
            .map(|p| format!("{} {}", problem_cause(p.problem), problem_change(p)))
            .collect();
        let (fixed, others): (Vec<&&FindingChange>, Vec<&&FindingChange>) = chunk
            .iter()
            .filter(|c| !ctx.in_a_problem(c))
            .partition(|c| c.kind == ChangeKind::Fixed);
        if !fixed.is_empty() {
            clauses.push(format!(
                "{} reachable again",
                plural(fixed.len(), "check", "checks")
            ));
        }
        if !others.is_empty() {
            clauses.push(format!(
                "{} changed outside any problem",
                plural(others.len(), "check", "checks")
            ));
        }
        let n = clauses.len();
        (clauses, n)
    } else {
        let clauses: Vec<String> = chunk.iter().map(|c| change_clause(c)).collect();
        (clauses, chunk.len())
    };
    if !clauses.is_empty() {
        text.push_str(" \u{2014} ");
        let shown: Vec<&str> = clauses
            .iter()
            .take(LISTED_CHANGES)
            .map(String::as_str)
            .collect();
        text.push_str(&shown.join("; "));
    }
    if listed > LISTED_CHANGES {
        text.push_str(&format!("; and {} more", listed - LISTED_CHANGES));
    }
    text.push_str("; ");
    text.push_str(&cause(ctx.trigger));
    truncate_chars(&text, MAX_DEFAULT_CHARS)
}

/// "<profile> from <Region> blocked for Sandbox (us-east-2 denied by …)".
fn change_clause(change: &FindingChange) -> String {
    let f = change.finding;
    let head = format!("{} from {}", f.profile_id, f.source_region);
    let target = target_name(f);
    match change.kind {
        ChangeKind::Fixed => format!("{head} reachable again for {target}"),
        _ => {
            let detail = match f.status {
                Status::Conditional => {
                    let keys: BTreeSet<&str> =
                        f.conditions.iter().map(|c| c.key.as_str()).collect();
                    if keys.is_empty() {
                        None
                    } else {
                        Some(format!(
                            "only if {}",
                            keys.into_iter().collect::<Vec<_>>().join(", ")
                        ))
                    }
                }
                _ => first_blocker_phrase(f),
            };
            let verb = if change.kind == ChangeKind::BlockersChanged {
                format!("still {}", f.status.as_str())
            } else {
                f.status.as_str().to_string()
            };
            match detail {
                Some(d) => format!("{head} {verb} for {target} ({d})"),
                None => format!("{head} {verb} for {target}"),
            }
        }
    }
}
