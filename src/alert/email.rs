//! The `email` rendering of a part: a readable report of each change, its blockers and
//! conditions, and the verified proposals that fix it.

use std::collections::BTreeSet;

use super::context::{Context, Detail, MINIMAL_EXPLANATION_CHARS};
use super::phrase::{
    blocker_line, change_label, headline, params_line, part_suffix, proposal_kind, summary_line,
    trigger_line, truncate_chars,
};
use super::state::FindingChange;
use crate::findings::Proposal;

/// Trigger events listed in the email (the rest are counted).
const LISTED_EVENTS: usize = 10;
/// Blockers listed per change (the rest are counted).
const LISTED_BLOCKERS: usize = 10;

pub(super) fn email_text(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
    detail: Detail,
) -> String {
    let r = ctx.report;
    let mut out = String::new();
    out.push_str(&format!(
        "cris-guard: {} in organization {}{}.\n",
        headline(ctx),
        r.organization_id,
        part_suffix(part, parts)
    ));
    if parts > 1 {
        out.push_str(&format!(
            "This part lists {} of the {} changes.\n",
            chunk.len(),
            ctx.total
        ));
    }
    out.push_str(&format!(
        "Snapshot captured at {}.\n",
        r.snapshot_captured_at
    ));
    out.push_str(&format!("Organization: {}.\n", summary_line(&r.summary)));
    out.push_str(&format!("Trigger: {}.\n", trigger_line(ctx.trigger)));
    for event in ctx.trigger.events.iter().take(LISTED_EVENTS) {
        out.push_str(&format!(
            "  - {} {} ({}){}{}\n",
            event.event_time,
            event.event_name,
            event.source,
            event
                .changed_by
                .as_deref()
                .map(|p| format!(" by {p}"))
                .unwrap_or_default(),
            params_line(&event.request_parameters)
        ));
    }
    if ctx.trigger.events.len() > LISTED_EVENTS {
        out.push_str(&format!(
            "  - and {} more events\n",
            ctx.trigger.events.len() - LISTED_EVENTS
        ));
    }
    for (i, change) in chunk.iter().enumerate() {
        let f = &change.finding;
        out.push('\n');
        out.push_str(&format!(
            "{}. {}: {} ({})\n",
            i + 1,
            change_label(change.kind),
            f.target_path,
            f.target_id
        ));
        out.push_str(&format!("   Profile:       {}\n", f.profile_id));
        out.push_str(&format!("   Source Region: {}\n", f.source_region));
        let was = change.previous.as_ref().map_or_else(
            || "not seen before".to_string(),
            |p| format!("was {}", p.status.as_str()),
        );
        out.push_str(&format!(
            "   Status:        {} ({was})\n",
            f.status.as_str()
        ));
        let explanation = if detail == Detail::Minimal {
            truncate_chars(&f.explanation, MINIMAL_EXPLANATION_CHARS)
        } else {
            f.explanation.clone()
        };
        out.push_str(&format!("   Why:           {explanation}\n"));
        if !f.blockers.is_empty() {
            out.push_str("   Blockers:\n");
            for b in f.blockers.iter().take(LISTED_BLOCKERS) {
                out.push_str(&format!("     - {}\n", blocker_line(b)));
            }
            if f.blockers.len() > LISTED_BLOCKERS {
                out.push_str(&format!(
                    "     - and {} more\n",
                    f.blockers.len() - LISTED_BLOCKERS
                ));
            }
        }
        if !f.conditions.is_empty() {
            out.push_str("   Reachable only when:\n");
            for c in &f.conditions {
                out.push_str(&format!(
                    "     - {} {} {}\n",
                    c.key,
                    c.operator,
                    c.values.join(", ")
                ));
            }
        }
        let ids: Vec<&str> = ctx
            .proposals_for(&change.key())
            .into_iter()
            .map(|p| p.id.as_str())
            .collect();
        if !ids.is_empty() {
            out.push_str(&format!("   Fixed by:      {} (below)\n", ids.join(", ")));
        }
    }
    let keys: BTreeSet<String> = chunk.iter().map(|c| c.key()).collect();
    let proposals: Vec<&Proposal> = ctx
        .proposals
        .iter()
        .filter(|p| p.fixes.iter().any(|k| keys.contains(k)))
        .collect();
    if !proposals.is_empty() {
        out.push_str(
            "\nProposed fixes (each verified by re-evaluating the organization with it applied):\n",
        );
    }
    for p in proposals {
        out.push_str(&format!("\n{} ({}):", p.id, proposal_kind(p)));
        if p.summary.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!(" {}\n", p.summary));
        }
        out.push_str(&format!("Apply:\n{}\n", p.apply));
    }
    out
}
