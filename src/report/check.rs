//! The text of one `check` result: the decision, each level's matched statements and the
//! policy sizes.

use crate::check::CheckResult;

/// A short human-readable rendering of a check result.
pub fn render(result: &CheckResult) -> String {
    let mut out = format!("decision: {}\n", result.decision);
    for level in &result.levels {
        out.push_str(&format!("  {} {}\n", level.target_id, level.decision));
        for m in &level.matched_statements {
            out.push_str(&format!(
                "    {} {} ({}) {}\n",
                m.effect,
                m.policy_name,
                m.policy_id,
                m.sid
                    .as_ref()
                    .map(|s| format!("Sid {s}"))
                    .unwrap_or_else(|| format!("statement {}", m.statement_index))
            ));
        }
    }
    for p in &result.policies {
        out.push_str(&format!(
            "  size {}: {} characters ({} minified) of 5120\n",
            p.policy_id, p.size_chars, p.minified_chars
        ));
    }
    out.push_str(&result.explanation);
    out.push('\n');
    out
}
