//! The words every alert rendering shares: counts and plurals, truncation, targets and
//! principals, blockers, triggers and proposal kinds. The short text, the email and the JSON
//! document phrase these things only through here.

use std::collections::BTreeMap;

use super::context::Context;
use super::problems::ChangedProblem;
use super::state::ChangeKind;
use super::trigger::{Trigger, TriggerKind};
use crate::findings::{
    Blocker, BlockerKind, CauseKind, Finding, Problem, Proposal, ProposalKind, Summary,
};

/// "1 change", "2 changes".
pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` cut to at most `max` characters, the last one an ellipsis when it was cut.
pub(super) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('\u{2026}');
    out
}

/// " (part 2 of 3)" when the alert has several parts.
pub(super) fn part_suffix(part: usize, parts: usize) -> String {
    if parts > 1 {
        format!(" (part {part} of {parts})")
    } else {
        String::new()
    }
}

/// "2 new problems, 1 fixed" over the whole alert: problems when the report has them, else
/// changed findings.
pub(super) fn headline(ctx: &Context<'_>) -> String {
    let fixed = ctx.count(ChangeKind::Fixed);
    let (new, changed, fixed) = if ctx.by_problem() {
        let new = ctx
            .problems
            .iter()
            .filter(|p| p.kind() != ChangeKind::BlockersChanged)
            .count();
        let fixed = format!("{} fixed", plural(fixed, "check", "checks"));
        (new, ctx.problems.len() - new, fixed)
    } else {
        let new = [
            ChangeKind::NewlyBlocked,
            ChangeKind::NewlyConditional,
            ChangeKind::NewlyUnknown,
        ]
        .iter()
        .map(|k| ctx.count(*k))
        .sum();
        (
            new,
            ctx.count(ChangeKind::BlockersChanged),
            format!("{fixed} fixed"),
        )
    };
    let mut parts = Vec::new();
    if new > 0 {
        parts.push(plural(new, "new problem", "new problems"));
    }
    if changed > 0 {
        parts.push(plural(changed, "changed problem", "changed problems"));
    }
    if ctx.count(ChangeKind::Fixed) > 0 {
        parts.push(fixed);
    }
    if parts.is_empty() && !ctx.by_problem() {
        parts.push(plural(ctx.total, "change", "changes"));
    }
    parts.join(", ")
}

/// "NEWLY BLOCKED", the heading of a change in the email.
pub(super) fn change_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::NewlyBlocked => "NEWLY BLOCKED",
        ChangeKind::NewlyConditional => "NEWLY CONDITIONAL",
        ChangeKind::NewlyUnknown => "NEWLY UNKNOWN",
        ChangeKind::BlockersChanged => "BLOCKERS CHANGED",
        ChangeKind::Fixed => "FIXED",
    }
}

/// "GRREGIONDENY of aws-guardrails-AbCdEf (p-abcd1234)": what a person fixes.
pub(super) fn problem_cause(p: &Problem) -> String {
    let c = &p.cause;
    let policy = match (&c.policy_name, &c.policy_id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (Some(name), None) => name.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => String::new(),
    };
    let at = c.attached_to.join(", ");
    match c.kind {
        CauseKind::ExplicitDeny => {
            let statement = match (&c.sid, c.statement_index) {
                (Some(sid), _) => sid.clone(),
                (None, Some(i)) => format!("statement {i}"),
                (None, None) => "a statement".to_string(),
            };
            format!("{statement} of {policy}")
        }
        CauseKind::NoAllow => format!("no SCP allows it at {at}"),
        CauseKind::AccountNotActive => format!("account {at} is not active"),
        CauseKind::Gap | CauseKind::Unknown => c
            .reason
            .clone()
            .unwrap_or_else(|| format!("what could not be read at {at}")),
    }
}

/// "newly blocks 3 profiles across 480 OUs and 2 accounts from us-east-1, us-west-2": what
/// this alert's changes amount to for one problem.
pub(super) fn problem_change(changed: &ChangedProblem<'_>) -> String {
    let verb = match changed.kind() {
        ChangeKind::NewlyBlocked => "newly blocks",
        ChangeKind::NewlyConditional => "newly puts conditions on",
        ChangeKind::NewlyUnknown => "newly leaves undecided",
        ChangeKind::BlockersChanged => "now blocks",
        ChangeKind::Fixed => "no longer blocks",
    };
    let (ous, accounts) = changed.targets();
    let mut targets = Vec::new();
    if ous > 0 {
        targets.push(plural(ous, "OU", "OUs"));
    }
    if accounts > 0 {
        targets.push(plural(accounts, "account", "accounts"));
    }
    let regions: Vec<&str> = changed.source_regions().into_iter().collect();
    format!(
        "{verb} {} across {} from {}",
        plural(changed.profiles().len(), "profile", "profiles"),
        targets.join(" and "),
        list_some(&regions, 4)
    )
}

/// "a, b, c and 2 more".
pub(super) fn list_some(items: &[&str], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

/// The last name of a target path (`Root/Sandbox` → `Sandbox`).
pub(super) fn target_name(finding: &Finding) -> &str {
    finding
        .target_path
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(&finding.target_id)
}

/// A principal ARN shortened for people: the session or user name.
fn short_principal(principal: &str) -> String {
    if let Some(rest) = principal.split_once(":assumed-role/").map(|(_, r)| r) {
        return rest.rsplit('/').next().unwrap_or(rest).to_string();
    }
    if let Some(rest) = principal.split_once(":user/").map(|(_, r)| r) {
        return rest.rsplit('/').next().unwrap_or(rest).to_string();
    }
    if principal.ends_with(":root") {
        return "the root user".to_string();
    }
    principal.to_string()
}

/// "us-east-2 denied by aws-guardrails-AbCdEf/GRREGIONDENY" for the first blocker.
pub(super) fn first_blocker_phrase(finding: &Finding) -> Option<String> {
    let b = finding.blockers.first()?;
    let by = match (&b.policy_name, &b.sid) {
        (Some(name), Some(sid)) => format!("{name}/{sid}"),
        (Some(name), None) => name.clone(),
        (None, _) => b
            .policy_id
            .clone()
            .unwrap_or_else(|| "no allowing SCP".into()),
    };
    Some(match b.kind {
        BlockerKind::NoAllow => format!(
            "{} not allowed at {}",
            b.region,
            b.attached_to.as_deref().unwrap_or("a level")
        ),
        BlockerKind::AccountNotActive => "account not active".to_string(),
        BlockerKind::ExplicitDeny => format!("{} denied by {by}", b.region),
    })
}

/// "us-east-2 bedrock:InvokeModel on arn:…: denied by Name (p-…) Sid X, attached to ou-…".
pub(super) fn blocker_line(b: &Blocker) -> String {
    let statement = match (&b.sid, b.statement_index) {
        (Some(sid), _) => format!(" Sid {sid}"),
        (None, Some(i)) => format!(" statement {i}"),
        (None, None) => String::new(),
    };
    let policy = match (&b.policy_name, &b.policy_id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (Some(name), None) => name.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => "no SCP".to_string(),
    };
    let at = b
        .attached_to
        .as_deref()
        .map(|t| format!(", attached to {t}"))
        .unwrap_or_default();
    let what = match b.kind {
        BlockerKind::ExplicitDeny => format!("denied by {policy}{statement}{at}"),
        BlockerKind::NoAllow => format!("no SCP allows it{at}"),
        BlockerKind::AccountNotActive => "the account is not active".to_string(),
    };
    format!("{} {} on {}: {what}", b.region, b.action, b.resource)
}

/// "changed by alice (AttachPolicy)", "after AttachPolicy" or "found by the scheduled sweep".
pub(super) fn cause(trigger: &Trigger) -> String {
    match trigger.latest_attributed() {
        Some(event) => {
            let who = event
                .changed_by
                .as_deref()
                .map(short_principal)
                .unwrap_or_default();
            format!("changed by {who} ({})", event.event_name)
        }
        None => match (trigger.kind, trigger.events.first()) {
            (TriggerKind::Event, Some(event)) => format!("after {}", event.event_name),
            _ => "found by the scheduled sweep".to_string(),
        },
    }
}

/// "scheduled sweep" or "2 events (events are hints; the organization was read again)".
pub(super) fn trigger_line(trigger: &Trigger) -> String {
    match trigger.kind {
        TriggerKind::Schedule => "scheduled sweep".to_string(),
        TriggerKind::Event => format!(
            "{} (events are hints; the organization was read again)",
            plural(trigger.events.len(), "event", "events")
        ),
    }
}

/// ": policyId=p-…, targetId=ou-…" for an event's request parameters (empty without any).
pub(super) fn params_line(params: &BTreeMap<String, String>) -> String {
    if params.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(": {}", pairs.join(", "))
}

/// "12 checks: 9 reachable, 2 blocked, 1 conditional, 0 unknown".
pub(super) fn summary_line(s: &Summary) -> String {
    format!(
        "{} checks: {} reachable, {} blocked, {} conditional, {} unknown",
        s.checks, s.reachable, s.blocked, s.conditional, s.unknown
    )
}

/// "patch an SCP", "new SCP", ….
pub(super) fn proposal_kind(p: &Proposal) -> &'static str {
    match p.kind {
        ProposalKind::PatchScp => "patch an SCP",
        ProposalKind::NewScp => "new SCP",
        ProposalKind::ControlTowerParameters => "Control Tower control parameters",
        ProposalKind::CfctManifest => "Customizations for Control Tower manifest",
    }
}
