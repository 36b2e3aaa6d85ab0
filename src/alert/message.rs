//! One SNS `Publish` per part: the message with its `default`, `email`, chat notification and
//! JSON renderings and its attributes, and the split of an alert into parts that each fit SNS's
//! limit without dropping a change.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::PUBLISH_BUDGET_BYTES;
use super::context::{Alert, Context, Detail};
use super::document::json_document;
use super::email::email_text;
use super::notification::notification;
use super::split;
use super::state::FindingChange;
use super::text::{default_text, subject};
use crate::findings::Status;

/// One SNS `Publish` with `MessageStructure: json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    /// Printable ASCII, at most [`MAX_SUBJECT_CHARS`](super::MAX_SUBJECT_CHARS) (used by email
    /// subscriptions).
    pub subject: String,
    /// The short text (`default`).
    pub default: String,
    /// The readable report (`email`).
    pub email: String,
    /// The full JSON document (`sqs`, `lambda`).
    pub json: String,
    /// The Amazon Q Developer in chat applications (AWS Chatbot) custom notification (`https`).
    pub notification: String,
    /// Message attributes, all of SNS data type `String`: `status`, `organizationId`, `trigger`,
    /// and `changedBy` when known.
    pub attributes: BTreeMap<String, String>,
    /// 1-based part number and the number of parts of this alert.
    pub part: usize,
    pub parts: usize,
}

impl SnsMessage {
    /// The `Message` parameter: the JSON object SNS expands per protocol.
    pub fn body(&self) -> String {
        let mut body = Map::new();
        body.insert("default".into(), Value::String(self.default.clone()));
        body.insert("email".into(), Value::String(self.email.clone()));
        body.insert("https".into(), Value::String(self.notification.clone()));
        for protocol in ["sqs", "lambda"] {
            body.insert(protocol.into(), Value::String(self.json.clone()));
        }
        Value::Object(body).to_string()
    }

    /// What `cris-guard evaluate --format sns` prints (contract §5): the subject, the message
    /// as the object SNS expands per protocol, and the attributes as `Publish` takes them.
    pub fn preview(&self) -> Value {
        let mut message = Map::new();
        message.insert("default".into(), Value::String(self.default.clone()));
        message.insert("email".into(), Value::String(self.email.clone()));
        message.insert("https".into(), Value::String(self.notification.clone()));
        for protocol in ["sqs", "lambda"] {
            message.insert(protocol.into(), Value::String(self.json.clone()));
        }
        let attributes: Map<String, Value> = self
            .attributes
            .iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    serde_json::json!({ "DataType": "String", "StringValue": value }),
                )
            })
            .collect();
        serde_json::json!({
            "subject": self.subject,
            "message": message,
            "messageAttributes": attributes,
        })
    }

    /// What SNS counts against [`MAX_PUBLISH_BYTES`](super::MAX_PUBLISH_BYTES): the message, the subject and the
    /// attributes (names, type and values).
    pub fn publish_bytes(&self) -> usize {
        self.body().len()
            + self.subject.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| name.len() + "String".len() + value.len())
                .sum::<usize>()
    }
}

/// Renders `changes` as one message with every change and its finding; past
/// [`PUBLISH_BUDGET_BYTES`], with the changes a problem covers summarized in that problem's
/// `changedChecks`, and only if that is still too large as several ("part i of n"). Every
/// change is in exactly one part; none is dropped. A single
/// change too large on its own loses the bulky parts of its proposals (before/after/diff), then
/// blockers beyond the first few (counted in `blockersOmitted`). No changes, no messages.
/// With problems in the report, the changes are ordered by problem, so a problem's changes
/// stay together across parts, in one part when they fit one (`split` packs the parts).
pub fn messages(alert: &Alert<'_>) -> Vec<SnsMessage> {
    if alert.changes.is_empty() {
        return Vec::new();
    }
    let ctx = Context::new(alert);
    let ordered = split::order(&ctx, alert.changes);
    let all = &ordered.changes;
    // Full detail lists every change with its key and explanation, twice (`sqs`, `lambda`):
    // past the budget on those alone, it is not rendered (at 10,000 accounts a first sweep's
    // full rendering held 500 MB only to be thrown away).
    let listed: usize = all
        .iter()
        .map(|c| {
            let f = c.finding;
            f.target_id.len() + f.profile_id.len() + f.source_region.len() + f.explanation.len()
        })
        .sum();
    if 2 * listed <= PUBLISH_BUDGET_BYTES {
        let whole = render(&ctx, all, 1, 1, Detail::Full, &BTreeSet::new());
        if whole.publish_bytes() <= PUBLISH_BUDGET_BYTES {
            return vec![whole];
        }
    }
    // Changes summarized per problem: a first sweep of a large organization in a part or two.
    // Not rendered whole when the problems alone cannot fit one part.
    if split::bare_problems_bytes(&ctx) <= PUBLISH_BUDGET_BYTES {
        let grouped = render(&ctx, all, 1, 1, Detail::Grouped, &BTreeSet::new());
        if grouped.publish_bytes() <= PUBLISH_BUDGET_BYTES {
            return vec![grouped];
        }
    }
    let chunks = planned_parts(&ctx, &ordered);
    render_parts(&ctx, chunks)
}

/// The parts `split` packs, given what an empty part takes as rendered here.
pub(super) fn planned_parts<'a>(
    ctx: &Context<'_>,
    ordered: &split::Ordered<'a>,
) -> Vec<Vec<&'a FindingChange<'a>>> {
    let empty = render(
        ctx,
        &[],
        split::PROBE_PART,
        split::PROBE_PART,
        Detail::Grouped,
        &BTreeSet::new(),
    );
    let frame = split::EmptyPart {
        publish_bytes: empty.publish_bytes(),
        notification: &empty.notification,
    };
    split::plan(ctx, ordered, &frame)
}

/// Renders `chunks` as parts, halving any of several changes that does not fit (and then
/// rendering all again, as the number of parts changed), until every part fits or is a single
/// change, which loses detail (Compact, then Minimal) until it fits.
fn render_parts(ctx: &Context<'_>, mut chunks: Vec<Vec<&FindingChange>>) -> Vec<SnsMessage> {
    loop {
        let parts = chunks.len();
        let earlier = given_before(ctx, &chunks);
        let rendered: Vec<SnsMessage> = chunks
            .iter()
            .zip(&earlier)
            .enumerate()
            .map(|(i, (chunk, earlier))| render(ctx, chunk, i + 1, parts, Detail::Grouped, earlier))
            .collect();
        let over = |m: &SnsMessage, chunk: &[&FindingChange]| {
            m.publish_bytes() > PUBLISH_BUDGET_BYTES && chunk.len() > 1
        };
        if !rendered
            .iter()
            .zip(&chunks)
            .any(|(m, chunk)| over(m, chunk))
        {
            return rendered
                .into_iter()
                .zip(chunks.iter().zip(&earlier))
                .map(|(mut m, (chunk, earlier))| {
                    for detail in [Detail::Compact, Detail::Minimal] {
                        if m.publish_bytes() <= PUBLISH_BUDGET_BYTES {
                            break;
                        }
                        m = render(ctx, chunk, m.part, parts, detail, earlier);
                    }
                    m
                })
                .collect();
        }
        chunks = rendered
            .iter()
            .zip(chunks)
            .flat_map(|(m, mut chunk)| {
                if over(m, &chunk) {
                    let second = chunk.split_off(chunk.len() / 2);
                    vec![chunk, second]
                } else {
                    vec![chunk]
                }
            })
            .collect();
    }
}

/// For each part, the proposals (indices) the parts before it carry: each proposal is given in
/// full once, in the first part that needs it.
pub(super) fn given_before(
    ctx: &Context<'_>,
    chunks: &[Vec<&FindingChange>],
) -> Vec<BTreeSet<usize>> {
    let mut given = BTreeSet::new();
    chunks
        .iter()
        .map(|chunk| {
            let before = given.clone();
            given.extend(ctx.proposal_indices_in(chunk));
            before
        })
        .collect()
}

/// One part: `chunk` in every rendering, with the attributes of its worst status.
/// `earlier`: the proposals (indices) an earlier part of the alert gave in full, which this
/// part only names.
pub(super) fn render(
    ctx: &Context<'_>,
    chunk: &[&FindingChange],
    part: usize,
    parts: usize,
    detail: Detail,
    earlier: &BTreeSet<usize>,
) -> SnsMessage {
    let worst = chunk
        .iter()
        .map(|c| c.finding.status)
        .max_by_key(|s| s.severity())
        .unwrap_or(Status::Reachable);
    let mut attributes = BTreeMap::new();
    attributes.insert("status".to_string(), worst.as_str().to_string());
    attributes.insert(
        "organizationId".to_string(),
        ctx.report.organization_id.clone(),
    );
    attributes.insert("trigger".to_string(), ctx.trigger.kind.as_str().to_string());
    if let Some(principal) = ctx.trigger.changed_by().filter(|p| !p.is_empty()) {
        attributes.insert("changedBy".to_string(), principal.to_string());
    }
    SnsMessage {
        subject: subject(ctx, part, parts),
        default: default_text(ctx, chunk, part, parts),
        email: email_text(ctx, chunk, part, parts, detail, earlier),
        json: json_document(ctx, chunk, part, parts, detail, earlier).to_string(),
        notification: notification(ctx, chunk, part, parts).to_string(),
        attributes,
        part,
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::MAX_PUBLISH_BYTES;
    use crate::alert::context::MINIMAL_BLOCKERS;
    use crate::alert::fixtures::{blocker, finding, keys_in, report};
    use crate::alert::state::{StateView, diff};
    use crate::alert::text::{MAX_DEFAULT_CHARS, MAX_SUBJECT_CHARS};
    use crate::alert::trigger::{ChangeEvent, Trigger, TriggerKind};
    use crate::findings::{Blocker, Finding, Proposal, Verification};

    fn trigger() -> Trigger {
        Trigger {
            kind: TriggerKind::Event,
            events: vec![ChangeEvent {
                id: "e-1".into(),
                source: "aws.organizations".into(),
                event_name: "AttachPolicy".into(),
                event_time: "2026-11-30T09:14:03Z".into(),
                changed_by: Some(
                    "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com".into(),
                ),
                request_parameters: BTreeMap::from([
                    ("policyId".to_string(), "p-abcd1234".to_string()),
                    ("targetId".to_string(), "ou-ab12-11111111".to_string()),
                ]),
            }],
        }
    }

    #[test]
    fn message_names_the_change_and_the_principal() {
        let r = report(
            "2026-11-29T00:00:00Z",
            vec![finding(
                "Sandbox",
                Status::Blocked,
                vec![blocker("us-east-2", "bedrock:InvokeModel")],
            )],
        );
        let changes = diff(&StateView::new(), &r);
        let proposal = Proposal {
            id: "prop-1".into(),
            fixes: vec![changes[0].key()],
            kind: crate::findings::ProposalKind::ControlTowerParameters,
            policy_id: None,
            target_ids: vec!["Sandbox".into()],
            before: Some("{}".into()),
            after: Some("{}".into()),
            diff: None,
            size_chars: None,
            verification: Verification::default(),
            apply: "aws controltower update-enabled-control ...".into(),
            fixes_problems: Vec::new(),
            summary: "Allow us-east-2 for Bedrock through approved profiles.".into(),
            artifact: None,
        };
        let trigger = trigger();
        let msgs = messages(&Alert::new(
            &changes,
            &r,
            &trigger,
            std::slice::from_ref(&proposal),
        ));
        assert_eq!(msgs.len(), 1);
        let m = &msgs[0];
        assert!(
            m.default.contains("1 new problem in o-exampleorgid"),
            "{}",
            m.default
        );
        assert!(
            m.default.contains(
                "blocked for Sandbox (us-east-2 denied by aws-guardrails-AbCdEf/GRREGIONDENY)"
            ),
            "{}",
            m.default
        );
        assert!(
            m.default
                .contains("changed by alice@example.com (AttachPolicy)"),
            "{}",
            m.default
        );
        assert!(m.email.contains("Apply:\naws controltower"), "{}", m.email);
        assert!(m.email.contains("Fixed by:      prop-1"), "{}", m.email);
        assert_eq!(
            m.attributes.get("status").map(String::as_str),
            Some("blocked")
        );
        assert_eq!(
            m.attributes.get("trigger").map(String::as_str),
            Some("event")
        );
        assert!(
            m.attributes
                .get("changedBy")
                .is_some_and(|p| p.ends_with("alice@example.com"))
        );
        let body: Value = serde_json::from_str(&m.body()).unwrap();
        assert!(body.get("default").is_some());
        let full: Value = serde_json::from_str(body["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(full["changes"][0]["change"], "newlyBlocked");
        assert_eq!(full["proposals"][0]["id"], "prop-1");
        assert!(m.subject.len() <= MAX_SUBJECT_CHARS && m.subject.is_ascii());
    }

    #[test]
    fn a_huge_change_list_is_split_never_dropped() {
        let findings: Vec<Finding> = (0..4_000)
            .map(|i| {
                let mut f = finding(
                    &format!("ou-{i:06}"),
                    Status::Blocked,
                    vec![
                        blocker("us-east-2", "bedrock:InvokeModel"),
                        blocker("us-west-2", "bedrock:InvokeModelWithResponseStream"),
                    ],
                );
                f.explanation = "x".repeat(200);
                f
            })
            .collect();
        let r = report("2026-11-29T00:00:00Z", findings);
        let changes = diff(&StateView::new(), &r);
        let trigger = trigger();
        let msgs = messages(&Alert::new(&changes, &r, &trigger, &[]));
        assert!(msgs.len() > 1);
        let mut seen = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            assert!(
                m.publish_bytes() <= MAX_PUBLISH_BYTES,
                "part {} is {} bytes",
                i + 1,
                m.publish_bytes()
            );
            assert_eq!((m.part, m.parts), (i + 1, msgs.len()));
            assert!(m.default.chars().count() <= MAX_DEFAULT_CHARS);
            assert!(
                m.default
                    .contains(&format!("part {} of {}", i + 1, msgs.len()))
            );
            let full: Value = serde_json::from_str(&m.json).unwrap();
            seen.extend(keys_in(&full));
        }
        let mut expected: Vec<String> = changes.iter().map(FindingChange::key).collect();
        expected.sort();
        seen.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_part_the_estimate_got_wrong_is_halved_until_it_fits() {
        // The packer's estimate decides only how fast: handed every change as one part, the
        // rendering still ends with parts that fit and hold each change once.
        let findings: Vec<Finding> = (0..1_500)
            .map(|i| {
                let mut f = finding(&format!("ou-{i:06}"), Status::Blocked, vec![]);
                f.explanation = "x".repeat(300);
                f
            })
            .collect();
        let r = report("2026-11-29T00:00:00Z", findings);
        let changes = diff(&StateView::new(), &r);
        let trigger = trigger();
        let alert = Alert::new(&changes, &r, &trigger, &[]);
        let ctx = Context::new(&alert);
        let msgs = render_parts(&ctx, vec![changes.iter().collect()]);
        assert!(msgs.len() > 1);
        let mut seen = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            assert!(m.publish_bytes() <= PUBLISH_BUDGET_BYTES);
            assert_eq!((m.part, m.parts), (i + 1, msgs.len()));
            seen.extend(keys_in(&serde_json::from_str(&m.json).unwrap()));
        }
        let mut expected: Vec<String> = changes.iter().map(FindingChange::key).collect();
        expected.sort();
        seen.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn one_oversized_change_is_compacted_not_dropped() {
        let blockers: Vec<Blocker> = (0..3_000)
            .map(|i| blocker(&format!("xx-region-{i}"), "bedrock:InvokeModel"))
            .collect();
        let r = report(
            "2026-11-29T00:00:00Z",
            vec![finding("ou-a", Status::Blocked, blockers)],
        );
        let changes = diff(&StateView::new(), &r);
        let trigger = trigger();
        let msgs = messages(&Alert::new(&changes, &r, &trigger, &[]));
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].publish_bytes() <= MAX_PUBLISH_BYTES);
        let full: Value = serde_json::from_str(&msgs[0].json).unwrap();
        assert_eq!(
            full["changes"][0]["blockersOmitted"],
            3_000 - MINIMAL_BLOCKERS
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::alert::MAX_PUBLISH_BYTES;
    use crate::alert::fixtures::keys_in;
    use crate::alert::state::{StateView, diff};
    use crate::alert::trigger::Trigger;
    use crate::findings::{
        Blocker, BlockerKind, Finding, Proposal, Report, Summary, TargetKind, Verification,
    };
    use proptest::prelude::*;

    fn arb_finding() -> impl Strategy<Value = Finding> {
        (
            "[a-z0-9]{8}",
            prop::sample::select(vec![Status::Blocked, Status::Conditional, Status::Unknown]),
            0usize..40,
            0usize..2_500,
        )
            .prop_map(|(id, status, blockers, explanation)| Finding {
                target_id: format!("ou-ab12-{id}"),
                target_kind: TargetKind::OrganizationalUnit,
                target_path: format!("Root/{id}"),
                profile_id: "us.anthropic.claude-3-5-sonnet-20241022-v2:0".into(),
                source_region: "us-east-1".into(),
                check_kind: Default::default(),
                status,
                blockers: (0..blockers)
                    .map(|i| Blocker {
                        region: format!("us-east-{i}"),
                        action: "bedrock:InvokeModel".into(),
                        resource: "arn:aws:bedrock:us-east-2::foundation-model/m".into(),
                        policy_id: Some("p-abcd1234".into()),
                        policy_name: Some("deny \"quoted\" \u{e9}".into()),
                        sid: None,
                        statement_index: Some(i),
                        attached_to: None,
                        kind: BlockerKind::ExplicitDeny,
                    })
                    .collect(),
                conditions: Vec::new(),
                explanation: "\u{2014}".repeat(explanation),
                problem_ids: Vec::new(),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 16, ..ProptestConfig::default() })]
        #[test]
        fn every_change_lands_in_exactly_one_part_within_the_limit(
            findings in prop::collection::vec(arb_finding(), 1..250),
            document_chars in 0usize..300_000,
        ) {
            let mut findings = findings;
            // Keys must be unique for the set comparison.
            for (i, f) in findings.iter_mut().enumerate() {
                f.target_id = format!("{}-{i}", f.target_id);
            }
            let report = Report {
                format_version: 1,
                organization_id: "o-exampleorgid".into(),
                snapshot_captured_at: "2026-11-29T00:00:00Z".into(),
                summary: Summary::of(&findings),
                expectations: Vec::new(),
                problems: Vec::new(),
                findings,
                proposals: Vec::new(),
                what_if: None,
                unresolved: Vec::new(),
            };
            let changes = diff(&StateView::new(), &report);
            let trigger = Trigger::schedule();
            // One proposal fixing every change, as a Control Tower change fixes a whole OU's.
            let proposal = Proposal {
                id: "prop-1".into(),
                fixes: changes.iter().map(FindingChange::key).collect(),
                kind: crate::findings::ProposalKind::PatchScp,
                policy_id: Some("p-abcd1234".into()),
                target_ids: vec!["r-ab12".into()],
                before: Some("{}".into()),
                after: Some("x".repeat(document_chars)),
                diff: None,
                size_chars: Some(document_chars),
                verification: Verification::default(),
                apply: "aws organizations update-policy --policy-id p-abcd1234".into(),
                fixes_problems: Vec::new(),
                summary: "Exempt the approved profiles.".into(),
                artifact: None,
            };
            let proposals = [proposal];
            let msgs = messages(&Alert::new(&changes, &report, &trigger, &proposals));
            let mut seen = Vec::new();
            for m in &msgs {
                prop_assert!(m.publish_bytes() <= MAX_PUBLISH_BYTES);
                prop_assert_eq!(m.parts, msgs.len());
                let full: Value = serde_json::from_str(&m.json).unwrap();
                let keys = keys_in(&full);
                // A part's proposal names only that part's changes among those it fixes.
                for fixed in full["proposals"].as_array().into_iter().flatten()
                    .flat_map(|p| p["fixes"].as_array().into_iter().flatten())
                {
                    prop_assert!(keys.iter().any(|k| Some(k.as_str()) == fixed.as_str()));
                }
                seen.extend(keys);
            }
            let mut expected: Vec<String> = changes.iter().map(FindingChange::key).collect();
            expected.sort();
            seen.sort();
            prop_assert_eq!(seen, expected);
        }
    }
}
