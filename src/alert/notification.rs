//! The `https` rendering of a part: an Amazon Q Developer in chat applications (AWS Chatbot)
//! custom notification (contract §5, `domain.md` §11). The chat service subscribes to the topic
//! over HTTPS and drops anything that is neither an AWS event nor this schema, so every field
//! stays within the documented limits however large the alert ("…and N more").

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::context::Context;
use super::phrase::{
    cause, change_label, first_blocker_phrase, headline, part_suffix, problem_cause,
    problem_change, proposal_kind, summary_line, target_name, truncate_chars,
};
use super::state::{FindingChange, fnv1a64};

/// Documented limits of a custom notification (characters).
pub const MAX_TITLE_CHARS: usize = 250;
pub const MAX_DESCRIPTION_CHARS: usize = 8_000;
pub const MAX_NEXT_STEP_CHARS: usize = 350;
pub const MAX_KEYWORD_CHARS: usize = 75;

/// How many entries the lists carry (the documentation sets no count; a chat message stays
/// readable).
const MAX_NEXT_STEPS: usize = 5;
const MAX_KEYWORDS: usize = 8;
const MAX_RELATED_RESOURCES: usize = 20;
/// One line of the description (a problem or a change) at most.
const MAX_LINE_CHARS: usize = 600;
/// `metadata.summary`, shown in notification previews.
const MAX_SUMMARY_CHARS: usize = 500;

pub(super) fn notification(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
) -> Value {
    let r = ctx.report;
    let title = truncate_chars(
        &format!(
            "cris-guard: {} in {}{}",
            headline(ctx),
            r.organization_id,
            part_suffix(part, parts)
        ),
        MAX_TITLE_CHARS,
    );
    let mut id_source = format!("{}\u{1f}{}", r.organization_id, r.snapshot_captured_at);
    for change in chunk {
        id_source.push('\u{1f}');
        id_source.push_str(&change.key());
    }
    let id = format!(
        "cris-guard-{:016x}-{part}-of-{parts}",
        fnv1a64(id_source.as_bytes())
    );
    json!({
        "version": "1.0",
        "source": "custom",
        "id": id,
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": description(ctx, chunk, part, parts),
            "nextSteps": next_steps(ctx, chunk),
            "keywords": keywords(ctx, chunk),
        },
        "metadata": {
            "threadId": r.organization_id,
            "summary": truncate_chars(
                &format!("{}: {}", headline(ctx), cause(ctx.trigger)),
                MAX_SUMMARY_CHARS,
            ),
            "eventType": "cris-guard.alert",
            "relatedResources": related_resources(ctx, chunk),
            "additionalContext": additional_context(ctx, chunk, part, parts),
        },
    })
}

/// Markdown: one line per changed problem (per changed finding without problems), then the
/// organization's counts; cut with "…and N more" to fit.
fn description(ctx: &Context<'_>, chunk: &[&FindingChange], part: usize, parts: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let problems = ctx.problems_in(chunk);
    for changed in &problems {
        let p = changed.problem;
        let fixes: Vec<&str> = ctx
            .proposals_for_problem(changed)
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        let fix = if fixes.is_empty() {
            String::new()
        } else {
            format!(" Fix: {}.", fixes.join(", "))
        };
        lines.push(truncate_chars(
            &format!(
                "- *{}* {} `{}`: {}.{fix}",
                p.status.as_str(),
                problem_cause(p),
                p.id,
                problem_change(changed)
            ),
            MAX_LINE_CHARS,
        ));
    }
    let rest: Vec<&&FindingChange> = chunk.iter().filter(|c| !ctx.in_a_problem(c)).collect();
    for change in &rest {
        let f = change.finding;
        let detail = first_blocker_phrase(f)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        lines.push(truncate_chars(
            &format!(
                "- *{}* {} from {} for {} `{}`{detail}",
                change_label(change.kind).to_lowercase(),
                f.profile_id,
                f.source_region,
                target_name(f),
                f.target_id
            ),
            MAX_LINE_CHARS,
        ));
    }
    let what = if problems.is_empty() {
        "changes"
    } else {
        "entries"
    };
    let mut tail = vec![format!(
        "Organization: {}. Snapshot captured at {}; {}.",
        summary_line(&ctx.report.summary),
        ctx.report.snapshot_captured_at,
        cause(ctx.trigger)
    )];
    if parts > 1 {
        tail.push(format!(
            "Part {part} of {parts}: this part lists {} of the {} changed checks.",
            chunk.len(),
            ctx.total
        ));
    }
    if ctx.unproposed > 0 {
        tail.push(unproposed_line(ctx));
    }
    bounded_lines(&lines, &tail, MAX_DESCRIPTION_CHARS, what)
}

/// "Proposals for 3 more changed problems were not computed in this alert: …".
pub(super) fn unproposed_line(ctx: &Context<'_>) -> String {
    let what = if ctx.by_problem() {
        "changed problems"
    } else {
        "changed checks"
    };
    format!(
        "Proposals for {} more {what} were not computed in this alert: run `cris-guard propose --snapshot <file>` for them.",
        ctx.unproposed
    )
}

/// `lines` joined, as many as fit in `max` characters with `tail` after them, the rest counted
/// as "…and N more <what>".
fn bounded_lines(lines: &[String], tail: &[String], max: usize, what: &str) -> String {
    let tail_text = tail.join("\n");
    let mut out = String::new();
    let mut used = tail_text.chars().count() + 2;
    for (i, line) in lines.iter().enumerate() {
        let more = format!("\u{2026}and {} more {what}\n", lines.len() - i);
        let cost = line.chars().count() + 1;
        let reserve = if i + 1 < lines.len() {
            more.chars().count()
        } else {
            0
        };
        if used + cost + reserve > max {
            out.push_str(&more);
            break;
        }
        out.push_str(line);
        out.push('\n');
        used += cost;
    }
    out.push('\n');
    out.push_str(&tail_text);
    truncate_chars(&out, max)
}

fn next_steps(ctx: &Context<'_>, chunk: &[&FindingChange]) -> Vec<String> {
    let proposals = ctx.proposals_in(chunk);
    let mut steps: Vec<String> = proposals
        .iter()
        .take(MAX_NEXT_STEPS - 1)
        .map(|p| {
            let summary = if p.summary.is_empty() {
                String::new()
            } else {
                format!(": {}", p.summary)
            };
            truncate_chars(
                &format!("{} ({}){summary}", p.id, proposal_kind(p)),
                MAX_NEXT_STEP_CHARS,
            )
        })
        .collect();
    let more = proposals.len().saturating_sub(MAX_NEXT_STEPS - 1);
    let where_ = "the e-mail or SQS subscription of this topic carries the apply commands";
    steps.push(truncate_chars(
        &if more > 0 {
            format!("\u{2026}and {more} more proposals: {where_}.")
        } else if proposals.is_empty() {
            "Run `cris-guard propose --snapshot <file>` for verified fixes.".to_string()
        } else {
            format!("Apply: {where_}.")
        },
        MAX_NEXT_STEP_CHARS,
    ));
    steps
}

fn keywords(ctx: &Context<'_>, chunk: &[&FindingChange]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |k: &str| {
        let k = truncate_chars(k, MAX_KEYWORD_CHARS);
        if !k.is_empty() && !out.contains(&k) && out.len() < MAX_KEYWORDS {
            out.push(k);
        }
    };
    push("cris-guard");
    for change in chunk {
        push(change.finding.status.as_str());
    }
    push(ctx.trigger.kind.as_str());
    for changed in ctx.problems_in(chunk) {
        if let Some(name) = &changed.problem.cause.policy_name {
            push(name);
        }
    }
    for change in chunk {
        if let Some(name) = change
            .finding
            .blockers
            .first()
            .and_then(|b| b.policy_name.as_ref())
        {
            push(name);
        }
    }
    out
}

/// The ARNs of the policies behind the part's problems or blockers (needs the management
/// account for customer policies; AWS-managed ones such as `p-FullAWSAccess` have their own).
fn related_resources(ctx: &Context<'_>, chunk: &[&FindingChange]) -> Vec<String> {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    for changed in ctx.problems_in(chunk) {
        ids.extend(changed.problem.cause.policy_id.as_deref());
    }
    for change in chunk {
        ids.extend(
            change
                .finding
                .blockers
                .iter()
                .filter_map(|b| b.policy_id.as_deref()),
        );
    }
    ids.into_iter()
        .filter_map(|id| policy_arn(ctx, id))
        .take(MAX_RELATED_RESOURCES)
        .collect()
}

fn policy_arn(ctx: &Context<'_>, policy_id: &str) -> Option<String> {
    // AWS-managed policy ids are not lowercase hex (p-FullAWSAccess).
    if policy_id.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "arn:aws:organizations::aws:policy/service_control_policy/{policy_id}"
        ));
    }
    ctx.management_account_id.map(|account| {
        format!(
            "arn:aws:organizations::{account}:policy/{}/service_control_policy/{policy_id}",
            ctx.report.organization_id
        )
    })
}

fn additional_context(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_string(), Value::String(v));
    };
    put("organizationId", ctx.report.organization_id.clone());
    put(
        "snapshotCapturedAt",
        ctx.report.snapshot_captured_at.clone(),
    );
    put("trigger", ctx.trigger.kind.as_str().to_string());
    if let Some(who) = ctx.trigger.changed_by() {
        put("changedBy", who.to_string());
    }
    put("part", format!("{part} of {parts}"));
    put("changedChecks", chunk.len().to_string());
    let ids: Vec<&str> = ctx
        .problems_in(chunk)
        .iter()
        .map(|p| p.problem.id.as_str())
        .collect();
    if !ids.is_empty() {
        put("problemIds", truncate_chars(&ids.join(","), 1_000));
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::Value;

    use crate::alert::MAX_PUBLISH_BYTES;
    use crate::alert::context::Alert;
    use crate::alert::fixtures::{blocker, finding, problem, proposal, report};
    use crate::alert::message::{SnsMessage, messages};
    use crate::alert::state::{FindingChange, StateView, diff};
    use crate::alert::trigger::Trigger;
    use crate::findings::{Finding, Proposal, Report, Status, TargetKind};

    /// The schema written from the documentation (tests/schemas).
    fn schema_errors(notification: &Value) -> Vec<String> {
        let schema: Value = serde_json::from_str(include_str!(
            "../../tests/schemas/chatbot-custom-notification.schema.json"
        ))
        .unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        validator
            .iter_errors(notification)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    fn notification_of(m: &SnsMessage) -> Value {
        let body: Value = serde_json::from_str(&m.body()).unwrap();
        serde_json::from_str(body["https"].as_str().unwrap()).unwrap()
    }

    /// Three OUs and two profiles newly blocked by one Region deny, plus one account.
    pub(in crate::alert) fn problem_report() -> Report {
        let mut findings: Vec<Finding> = Vec::new();
        for ou in ["ou-ab12-11111111", "ou-ab12-22222222", "ou-ab12-33333333"] {
            for profile in [
                "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
                "us.amazon.nova-pro-v1:0",
            ] {
                let mut f = finding(
                    ou,
                    Status::Blocked,
                    vec![blocker("us-east-2", "bedrock:InvokeModel")],
                );
                f.profile_id = profile.into();
                findings.push(f);
            }
        }
        let mut account = finding(
            "222222222222",
            Status::Blocked,
            vec![blocker("us-east-2", "bedrock:InvokeModel")],
        );
        account.target_kind = TargetKind::Account;
        account.target_path = "Root/Sandbox/dev".into();
        findings.push(account);
        let pb = problem("pb-1c9e04d2", &mut findings);
        let mut r = report("2026-11-29T00:00:00Z", findings);
        r.problems = vec![pb];
        r
    }

    /// `problems` changed problems of `per_problem` blocked findings each, names and
    /// explanations `name_len` characters long (multi-byte), and `proposals` proposals with long
    /// summaries.
    fn huge_report(
        problems: usize,
        per_problem: usize,
        name_len: usize,
        proposals: usize,
    ) -> (Report, Vec<Proposal>) {
        let mut findings = Vec::new();
        let mut all = Vec::new();
        for p in 0..problems {
            let mut group: Vec<Finding> = (0..per_problem)
                .map(|i| {
                    let mut f = finding(
                        &format!("ou-ab12-{p:04}{i:04}"),
                        Status::Blocked,
                        vec![blocker("us-east-2", "bedrock:InvokeModel")],
                    );
                    f.explanation = "\u{e9}".repeat(name_len);
                    f
                })
                .collect();
            let mut pb = problem(&format!("pb-{p:08x}"), &mut group);
            pb.cause.policy_name = Some(format!("{}{p}", "\u{f1}".repeat(name_len)));
            pb.cause.sid = Some("S".repeat(name_len));
            all.push(pb);
            findings.extend(group);
        }
        let mut r = report("2026-11-29T00:00:00Z", findings);
        r.problems = all;
        let props: Vec<_> = (0..proposals)
            .map(|i| {
                let mut p = proposal(&format!("prop-{i}"), Vec::new(), &format!("pb-{i:08x}"));
                p.summary = "\u{15b}".repeat(name_len * 2);
                p
            })
            .collect();
        (r, props)
    }

    #[test]
    fn a_long_alert_is_cut_to_the_documented_limits_and_says_what_it_left_out() {
        let (mut r, props) = huge_report(20, 1, 300, 6);
        // Long statement ids make long description lines; the rest stays short, so the
        // problems fit one part and the description itself has to cut.
        for f in &mut r.findings {
            f.explanation = "x".into();
        }
        for p in &mut r.problems {
            p.cause.policy_name = Some("ñ".repeat(80));
            p.explanation = "x".into();
        }
        let changes = diff(&StateView::new(), &r);
        let trigger = Trigger::schedule();
        let mut alert = Alert::new(&changes, &r, &trigger, &props);
        alert.unproposed = 5;
        let msgs = messages(&alert);
        assert_eq!(msgs.len(), 1, "one part, so the description must cut");
        let n = notification_of(&msgs[0]);
        assert_eq!(schema_errors(&n), Vec::<String>::new());
        let description = n["content"]["description"].as_str().unwrap();
        let chars = description.chars().count();
        assert!((7_000..=8_000).contains(&chars), "{chars}");
        assert!(
            regex::Regex::new(r"\u{2026}and \d+ more entries")
                .unwrap()
                .is_match(description),
            "{description}"
        );
        assert!(description.contains("Proposals for 5 more changed problems were not computed"));
        let steps: Vec<&str> = n["content"]["nextSteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(steps.len(), 5);
        assert!(steps[0].ends_with('\u{2026}') && steps[0].chars().count() == 350);
        assert!(
            steps[4].starts_with("\u{2026}and 2 more proposals"),
            "{}",
            steps[4]
        );
        let keywords = n["content"]["keywords"].as_array().unwrap();
        assert!(
            keywords
                .iter()
                .any(|k| k.as_str().unwrap().chars().count() == 75)
        );
    }

    /// [`problem_report`] and one proposal fixing all its changes against empty state.
    pub(in crate::alert) fn problem_alert() -> (Report, Vec<Proposal>) {
        let r = problem_report();
        let keys: Vec<String> = diff(&StateView::new(), &r)
            .iter()
            .map(FindingChange::key)
            .collect();
        let proposals = vec![proposal("prop-1", keys, "pb-1c9e04d2")];
        (r, proposals)
    }

    #[test]
    fn the_https_key_is_a_custom_notification_that_matches_the_documented_schema() {
        let (r, proposals) = problem_alert();
        let changes = diff(&StateView::new(), &r);
        let trigger = Trigger::schedule();
        let mut alert = Alert::new(&changes, &r, &trigger, &proposals);
        alert.management_account_id = Some("111111111111");
        let msgs = messages(&alert);
        assert_eq!(msgs.len(), 1);
        let n = notification_of(&msgs[0]);
        assert_eq!(schema_errors(&n), Vec::<String>::new(), "{n:#}");
        assert_eq!(n["version"], "1.0");
        assert_eq!(n["source"], "custom");
        assert_eq!(n["content"]["textType"], "client-markdown");
        assert_eq!(n["metadata"]["threadId"], "o-exampleorgid");
        assert_eq!(n["metadata"]["eventType"], "cris-guard.alert");
        assert_eq!(
            n["metadata"]["relatedResources"][0],
            "arn:aws:organizations::111111111111:policy/o-exampleorgid/service_control_policy/p-abcd1234"
        );
        let description = n["content"]["description"].as_str().unwrap();
        assert!(
            description.contains(
                "GRREGIONDENY of aws-guardrails-AbCdEf (p-abcd1234) `pb-1c9e04d2`: newly blocks 2 profiles across 3 OUs and 1 account from us-east-1. Fix: prop-1."
            ),
            "{description}"
        );
        assert_eq!(
            n["content"]["title"],
            "cris-guard: 1 new problem in o-exampleorgid"
        );
        assert!(
            n["content"]["nextSteps"][0]
                .as_str()
                .unwrap()
                .starts_with("prop-1 (patch an SCP): Exempt")
        );
        // The sqs and lambda keys keep the full JSON alert, now with the problem.
        let full: Value = serde_json::from_str(&msgs[0].json).unwrap();
        assert_eq!(full["problems"][0]["problem"]["id"], "pb-1c9e04d2");
        assert_eq!(full["problems"][0]["changedFindings"], 7);
        assert_eq!(full["problems"][0]["proposalIds"][0], "prop-1");
        // The embedded problem names this alert's proposals, not the report's (none here).
        assert_eq!(
            full["problems"][0]["problem"]["proposalIds"],
            serde_json::json!(["prop-1"])
        );
        assert_eq!(full["changes"].as_array().unwrap().len(), 7);
        insta::assert_snapshot!("problem_notification", format!("{n:#}"));
    }

    #[test]
    fn a_report_without_problems_still_sends_a_valid_notification_per_finding() {
        let r = report(
            "2026-11-29T00:00:00Z",
            vec![finding(
                "ou-ab12-11111111",
                Status::Blocked,
                vec![blocker("us-east-2", "bedrock:InvokeModel")],
            )],
        );
        let changes = diff(&StateView::new(), &r);
        let trigger = Trigger::schedule();
        let msgs = messages(&Alert::new(&changes, &r, &trigger, &[]));
        let n = notification_of(&msgs[0]);
        assert_eq!(schema_errors(&n), Vec::<String>::new(), "{n:#}");
        let description = n["content"]["description"].as_str().unwrap();
        assert!(
            description.contains("- *newly blocked* us.anthropic.claude-3-5-sonnet-20241022-v2:0 from us-east-1 for ou-ab12-11111111 `ou-ab12-11111111` (us-east-2 denied by aws-guardrails-AbCdEf/GRREGIONDENY)"),
            "{description}"
        );
        // No management account: customer policy ARNs cannot be formed, none is made up.
        assert_eq!(n["metadata"]["relatedResources"], serde_json::json!([]));
    }

    #[test]
    fn the_schema_rejects_what_the_chat_service_drops() {
        // The schema can fail: an over-long title, a missing source, a number in the context.
        let mut n = serde_json::json!({
            "version": "1.0", "source": "custom",
            "content": { "textType": "client-markdown", "title": "t", "description": "d" },
            "metadata": { "additionalContext": { "a": "b" } }
        });
        assert!(schema_errors(&n).is_empty());
        n["content"]["title"] = Value::String("x".repeat(251));
        n["metadata"]["additionalContext"]["n"] = serde_json::json!(1);
        n.as_object_mut().unwrap().remove("source");
        assert_eq!(schema_errors(&n).len(), 3, "{:?}", schema_errors(&n));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 8, ..ProptestConfig::default() })]
            /// However many problems, findings, proposals and however long their names, every
            /// part's notification stays within the documented limits, and what does not fit
            /// is counted, not silently cut.
            #[test]
            fn huge_alerts_still_produce_valid_notifications(
                problems in 1usize..150,
                per_problem in 1usize..20,
                name_len in 1usize..600,
                proposals in 0usize..30,
            ) {
                let (r, props) = huge_report(problems, per_problem, name_len, proposals);
                let changes = diff(&StateView::new(), &r);
                let trigger = Trigger::schedule();
                let mut alert = Alert::new(&changes, &r, &trigger, &props);
                alert.management_account_id = Some("111111111111");
                alert.unproposed = problems.saturating_sub(20);
                let msgs = messages(&alert);
                for m in &msgs {
                    prop_assert!(m.publish_bytes() <= MAX_PUBLISH_BYTES);
                    let n = notification_of(m);
                    let errors = schema_errors(&n);
                    prop_assert!(errors.is_empty(), "{:?}", errors);
                    let description = n["content"]["description"].as_str().unwrap();
                    let lines = description.lines().filter(|l| l.starts_with("- *")).count();
                    let listed = ctx_problems(m);
                    if lines < listed {
                        let more = format!("\u{2026}and {} more entries", listed - lines);
                        prop_assert!(description.contains(&more), "{}", description);
                    }
                }
            }
        }

        /// The problems a part's JSON document carries.
        fn ctx_problems(m: &SnsMessage) -> usize {
            let full: Value = serde_json::from_str(&m.json).unwrap();
            full["problems"].as_array().map_or(0, Vec::len)
        }
    }
}
