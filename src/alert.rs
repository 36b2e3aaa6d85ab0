//! Alerts: what changed between the stored state and a fresh report, and the SNS message
//! (contract §5) that says so.
//!
//! Pure: the caller hands in the previous state ([`StateView`]), the report, the trigger and the
//! proposals; this module returns values. Storing state and publishing happen in `lambda`/`aws`.
//!
//! - [`fingerprint`] reduces a finding to what an alert is about (status, blockers, conditions),
//!   so a re-worded explanation or a reordered blocker list is not a change.
//! - [`diff`] compares fingerprints per finding key and classifies each change.
//! - [`messages`] renders one SNS `Publish` (or several, split to fit 256 KB, never dropping a
//!   change) whose `MessageStructure: json` carries a short `default` text, an `email` report and
//!   the full JSON for `sqs`/`lambda`/`https`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::report::{Blocker, Finding, Proposal, Report, Status, Summary};

/// SNS's limit for one `Publish` (message, subject and attributes together).
pub const MAX_PUBLISH_BYTES: usize = 256 * 1024;

/// What a message may use of [`MAX_PUBLISH_BYTES`]: the rest is headroom for the request
/// encoding SNS does not count exactly as we do.
pub const PUBLISH_BUDGET_BYTES: usize = MAX_PUBLISH_BYTES - 6 * 1024;

/// The `default` text stays under this many characters (AWS Chatbot custom notifications).
pub const MAX_DEFAULT_CHARS: usize = 1_000;

/// SNS limits `Subject` to 100 printable ASCII characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// At most this many trigger events are listed in a message (the rest are counted).
pub const MAX_LISTED_EVENTS: usize = 20;

/// What was stored for one finding when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingState {
    pub fingerprint: String,
    pub status: Status,
    /// `capturedAt` of the snapshot the state was computed from (RFC 3339, UTC).
    pub snapshot_captured_at: String,
}

/// The stored state of one organization's findings, keyed by [`Finding::key`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateView {
    findings: BTreeMap<String, FindingState>,
}

impl StateView {
    pub fn new() -> Self {
        StateView::default()
    }

    pub fn insert(&mut self, finding_key: impl Into<String>, state: FindingState) {
        self.findings.insert(finding_key.into(), state);
    }

    pub fn get(&self, finding_key: &str) -> Option<&FindingState> {
        self.findings.get(finding_key)
    }

    pub fn len(&self) -> usize {
        self.findings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &FindingState)> {
        self.findings.iter()
    }
}

impl FromIterator<(String, FindingState)> for StateView {
    fn from_iter<I: IntoIterator<Item = (String, FindingState)>>(iter: I) -> Self {
        StateView {
            findings: iter.into_iter().collect(),
        }
    }
}

/// How a finding changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    NewlyBlocked,
    NewlyConditional,
    NewlyUnknown,
    /// Still not reachable, same status, but blocked by something else.
    BlockersChanged,
    /// Reachable after being blocked, conditional or unknown.
    Fixed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::NewlyBlocked => "newlyBlocked",
            ChangeKind::NewlyConditional => "newlyConditional",
            ChangeKind::NewlyUnknown => "newlyUnknown",
            ChangeKind::BlockersChanged => "blockersChanged",
            ChangeKind::Fixed => "fixed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ChangeKind::NewlyBlocked => "NEWLY BLOCKED",
            ChangeKind::NewlyConditional => "NEWLY CONDITIONAL",
            ChangeKind::NewlyUnknown => "NEWLY UNKNOWN",
            ChangeKind::BlockersChanged => "BLOCKERS CHANGED",
            ChangeKind::Fixed => "FIXED",
        }
    }
}

/// One finding whose fingerprint differs from the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    pub finding: Finding,
    /// The stored state, `None` when the finding was never stored.
    pub previous: Option<FindingState>,
    /// The state to store once the change is alerted.
    pub next: FindingState,
}

impl Change {
    /// [`Finding::key`] of the changed finding.
    pub fn key(&self) -> String {
        self.finding.key()
    }
}

/// A stable digest of what an alert is about: the status, the set of blockers as
/// (kind, policy, Sid, Region, action) and the conditions. Written `"<status>:<16 hex digits>"`.
pub fn fingerprint(finding: &Finding) -> String {
    let blockers: BTreeSet<String> = finding.blockers.iter().map(blocker_identity).collect();
    let conditions: BTreeSet<String> = finding
        .conditions
        .iter()
        .map(|c| {
            let mut values = c.values.clone();
            values.sort();
            format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                c.key,
                c.operator,
                values.join("\u{1e}"),
                c.effect,
                c.group.map_or_else(String::new, |g| g.to_string())
            )
        })
        .collect();
    let mut canonical = String::from(finding.status.as_str());
    for blocker in &blockers {
        canonical.push('\u{1d}');
        canonical.push('b');
        canonical.push_str(blocker);
    }
    for condition in &conditions {
        canonical.push('\u{1d}');
        canonical.push('c');
        canonical.push_str(condition);
    }
    format!(
        "{}:{:016x}",
        finding.status.as_str(),
        fnv1a64(canonical.as_bytes())
    )
}

fn blocker_identity(b: &Blocker) -> String {
    format!(
        "{:?}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
        b.kind,
        b.policy_id.as_deref().unwrap_or(""),
        b.sid.as_deref().unwrap_or(""),
        b.region,
        b.action
    )
}

/// FNV-1a, 64 bits: deterministic across builds and platforms (unlike `DefaultHasher`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The changes of `report` against `previous`, worst first.
///
/// - A finding without stored state is a change when it is not reachable (a first run reports
///   every problem); a reachable one is silent and is not stored.
/// - A stored finding changes when its fingerprint differs: to reachable is [`ChangeKind::Fixed`];
///   to another non-reachable status is `Newly<status>`; same status, other blockers or
///   conditions, is [`ChangeKind::BlockersChanged`].
/// - State from a newer snapshot than the report's wins: such findings are skipped, so an
///   out-of-order (older) evaluation never reports or stores anything for them.
/// - Stored findings missing from the report (a deleted OU, a Region no longer checked) are
///   left alone.
pub fn diff(previous: &StateView, report: &Report) -> Vec<Change> {
    let mut changes = Vec::new();
    for finding in &report.findings {
        let next = FindingState {
            fingerprint: fingerprint(finding),
            status: finding.status,
            snapshot_captured_at: report.snapshot_captured_at.clone(),
        };
        let stored = previous.get(&finding.key());
        let kind = match stored {
            None => newly(finding.status),
            Some(stored) if stored.snapshot_captured_at > report.snapshot_captured_at => None,
            Some(stored) if stored.fingerprint == next.fingerprint => None,
            Some(stored) => match (stored.status, finding.status) {
                (Status::Reachable, Status::Reachable) => None,
                (_, Status::Reachable) => Some(ChangeKind::Fixed),
                (before, after) if before == after => Some(ChangeKind::BlockersChanged),
                (_, after) => newly(after),
            },
        };
        if let Some(kind) = kind {
            changes.push(Change {
                kind,
                finding: finding.clone(),
                previous: stored.cloned(),
                next,
            });
        }
    }
    changes.sort_by(|a, b| {
        b.finding
            .status
            .severity()
            .cmp(&a.finding.status.severity())
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.key().cmp(&b.key()))
    });
    changes
}

fn newly(status: Status) -> Option<ChangeKind> {
    match status {
        Status::Reachable => None,
        Status::Blocked => Some(ChangeKind::NewlyBlocked),
        Status::Conditional => Some(ChangeKind::NewlyConditional),
        Status::Unknown => Some(ChangeKind::NewlyUnknown),
    }
}

/// Why the guard ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TriggerKind {
    /// One or more CloudTrail events (through EventBridge, maybe batched by SQS).
    Event,
    /// The scheduled sweep.
    Schedule,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Event => "event",
            TriggerKind::Schedule => "schedule",
        }
    }
}

/// The events that made the guard run: hints only, the guard always re-reads the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub kind: TriggerKind,
    pub events: Vec<ChangeEvent>,
}

impl Trigger {
    pub fn schedule() -> Self {
        Trigger {
            kind: TriggerKind::Schedule,
            events: Vec::new(),
        }
    }

    /// The principal of the most recent event that names one.
    pub fn changed_by(&self) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.changed_by.is_some())
            .max_by(|a, b| a.event_time.cmp(&b.event_time))
            .and_then(|e| e.changed_by.as_deref())
    }

    /// The event whose principal [`Trigger::changed_by`] names.
    fn latest_attributed(&self) -> Option<&ChangeEvent> {
        self.events
            .iter()
            .filter(|e| e.changed_by.is_some())
            .max_by(|a, b| a.event_time.cmp(&b.event_time))
    }
}

/// One CloudTrail event (API call or service event) that may have changed reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// The EventBridge event id.
    pub id: String,
    /// The EventBridge source, e.g. `aws.organizations`.
    pub source: String,
    pub event_name: String,
    pub event_time: String,
    /// The CloudTrail principal: `userIdentity.arn`, else `principalId`, else `invokedBy`.
    pub changed_by: Option<String>,
    /// Scalar request parameters (ids, names), without policy content.
    pub request_parameters: BTreeMap<String, String>,
}

/// One SNS `Publish` with `MessageStructure: json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    /// Printable ASCII, at most [`MAX_SUBJECT_CHARS`] (used by email subscriptions).
    pub subject: String,
    /// The short text (`default`).
    pub default: String,
    /// The readable report (`email`).
    pub email: String,
    /// The full JSON document (`sqs`, `lambda`, `https`).
    pub json: String,
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
        for protocol in ["sqs", "lambda", "https"] {
            body.insert(protocol.into(), Value::String(self.json.clone()));
        }
        Value::Object(body).to_string()
    }

    /// What SNS counts against [`MAX_PUBLISH_BYTES`]: the message, the subject and the
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

/// Renders all `changes` as a single message (part 1 of 1), whatever its size; see
/// [`messages`] for the split that respects the SNS limit.
pub fn message(
    changes: &[Change],
    report: &Report,
    trigger: &Trigger,
    proposals: &[Proposal],
) -> SnsMessage {
    let all: Vec<&Change> = changes.iter().collect();
    let ctx = Context::new(changes, report, trigger, proposals);
    render(&ctx, &all, 1, 1, Detail::Full)
}

/// Renders `changes` as one message, or as several ("part i of n") when one would exceed
/// [`PUBLISH_BUDGET_BYTES`]. Every change is in exactly one part; none is dropped. A single
/// change too large on its own loses the bulky parts of its proposals (before/after/diff), then
/// blockers beyond the first few (counted in `blockersOmitted`). No changes, no messages.
pub fn messages(
    changes: &[Change],
    report: &Report,
    trigger: &Trigger,
    proposals: &[Proposal],
) -> Vec<SnsMessage> {
    if changes.is_empty() {
        return Vec::new();
    }
    let ctx = Context::new(changes, report, trigger, proposals);
    let all: Vec<&Change> = changes.iter().collect();
    let whole = render(&ctx, &all, 1, 1, Detail::Full);
    if whole.publish_bytes() <= PUBLISH_BUDGET_BYTES {
        return vec![whole];
    }
    let mut chunks: Vec<Vec<&Change>> = Vec::new();
    partition(&ctx, all, &mut chunks);
    let parts = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut rendered = render(&ctx, chunk, i + 1, parts, Detail::Full);
            for detail in [Detail::Compact, Detail::Minimal] {
                if rendered.publish_bytes() <= PUBLISH_BUDGET_BYTES {
                    break;
                }
                rendered = render(&ctx, chunk, i + 1, parts, detail);
            }
            rendered
        })
        .collect()
}

/// Splits `chunk` in halves until each half fits (or is a single change).
fn partition<'a>(ctx: &Context<'_>, chunk: Vec<&'a Change>, out: &mut Vec<Vec<&'a Change>>) {
    // The largest part numbers any alert will have, so the final numbering cannot push a
    // part over the budget.
    let probe = render(ctx, &chunk, 99_999, 99_999, Detail::Full);
    if chunk.len() <= 1 || probe.publish_bytes() <= PUBLISH_BUDGET_BYTES {
        out.push(chunk);
        return;
    }
    let mut first = chunk;
    let second = first.split_off(first.len() / 2);
    partition(ctx, first, out);
    partition(ctx, second, out);
}

/// How much of each change and proposal a part carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Full,
    /// Proposals without before/after/diff.
    Compact,
    /// Also at most [`MINIMAL_BLOCKERS`] blockers per finding and a bounded explanation.
    Minimal,
}

const MINIMAL_BLOCKERS: usize = 10;
const MINIMAL_EXPLANATION_CHARS: usize = 2_000;

/// What every part shares.
struct Context<'a> {
    report: &'a Report,
    trigger: &'a Trigger,
    proposals: &'a [Proposal],
    counts: BTreeMap<ChangeKind, usize>,
    total: usize,
}

impl<'a> Context<'a> {
    fn new(
        changes: &[Change],
        report: &'a Report,
        trigger: &'a Trigger,
        proposals: &'a [Proposal],
    ) -> Self {
        let mut counts = BTreeMap::new();
        for change in changes {
            *counts.entry(change.kind).or_insert(0) += 1;
        }
        Context {
            report,
            trigger,
            proposals,
            counts,
            total: changes.len(),
        }
    }

    fn proposals_for(&self, key: &str) -> Vec<&'a Proposal> {
        self.proposals
            .iter()
            .filter(|p| p.fixes.iter().any(|k| k == key))
            .collect()
    }
}

fn render(
    ctx: &Context<'_>,
    chunk: &[&Change],
    part: usize,
    parts: usize,
    detail: Detail,
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
        email: email_text(ctx, chunk, part, parts, detail),
        json: json_document(ctx, chunk, part, parts, detail).to_string(),
        attributes,
        part,
        parts,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "2 new problems, 1 fixed" over the whole alert.
fn headline_counts(ctx: &Context<'_>) -> String {
    let count = |kinds: &[ChangeKind]| -> usize {
        kinds
            .iter()
            .map(|k| ctx.counts.get(k).copied().unwrap_or(0))
            .sum()
    };
    let new = count(&[
        ChangeKind::NewlyBlocked,
        ChangeKind::NewlyConditional,
        ChangeKind::NewlyUnknown,
    ]);
    let changed = count(&[ChangeKind::BlockersChanged]);
    let fixed = count(&[ChangeKind::Fixed]);
    let mut parts = Vec::new();
    if new > 0 {
        parts.push(plural(new, "new problem", "new problems"));
    }
    if changed > 0 {
        parts.push(plural(changed, "changed problem", "changed problems"));
    }
    if fixed > 0 {
        parts.push(format!("{fixed} fixed"));
    }
    if parts.is_empty() {
        parts.push(plural(ctx.total, "change", "changes"));
    }
    parts.join(", ")
}

fn part_suffix(part: usize, parts: usize) -> String {
    if parts > 1 {
        format!(" (part {part} of {parts})")
    } else {
        String::new()
    }
}

fn subject(ctx: &Context<'_>, part: usize, parts: usize) -> String {
    let text = format!(
        "cris-guard: {} in {}{}",
        headline_counts(ctx),
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

/// The last name of a target path (`Root/Sandbox` → `Sandbox`).
fn target_name(finding: &Finding) -> &str {
    finding
        .target_path
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(&finding.target_id)
}

/// A principal ARN shortened for people: the session or user name.
pub fn short_principal(principal: &str) -> String {
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
fn first_blocker_phrase(finding: &Finding) -> Option<String> {
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
        crate::report::BlockerKind::NoAllow => format!(
            "{} not allowed at {}",
            b.region,
            b.attached_to.as_deref().unwrap_or("a level")
        ),
        crate::report::BlockerKind::AccountNotActive => "account not active".to_string(),
        crate::report::BlockerKind::ExplicitDeny => format!("{} denied by {by}", b.region),
    })
}

fn change_clause(change: &Change) -> String {
    let f = &change.finding;
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

fn cause_phrase(trigger: &Trigger) -> String {
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

fn default_text(ctx: &Context<'_>, chunk: &[&Change], part: usize, parts: usize) -> String {
    const LISTED: usize = 3;
    let mut text = format!(
        "cris-guard{}: {} in {}",
        part_suffix(part, parts),
        headline_counts(ctx),
        ctx.report.organization_id
    );
    let clauses: Vec<String> = chunk
        .iter()
        .take(LISTED)
        .map(|c| change_clause(c))
        .collect();
    if !clauses.is_empty() {
        text.push_str(" \u{2014} ");
        text.push_str(&clauses.join("; "));
    }
    if chunk.len() > LISTED {
        text.push_str(&format!("; and {} more", chunk.len() - LISTED));
    }
    text.push_str("; ");
    text.push_str(&cause_phrase(ctx.trigger));
    truncate_chars(&text, MAX_DEFAULT_CHARS)
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('\u{2026}');
    out
}

fn email_text(
    ctx: &Context<'_>,
    chunk: &[&Change],
    part: usize,
    parts: usize,
    detail: Detail,
) -> String {
    const LISTED_BLOCKERS: usize = 10;
    let r = ctx.report;
    let mut out = String::new();
    out.push_str(&format!(
        "cris-guard: {} in organization {}{}.\n",
        headline_counts(ctx),
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
    for event in ctx.trigger.events.iter().take(10) {
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
    if ctx.trigger.events.len() > 10 {
        out.push_str(&format!(
            "  - and {} more events\n",
            ctx.trigger.events.len() - 10
        ));
    }
    for (i, change) in chunk.iter().enumerate() {
        let f = &change.finding;
        out.push('\n');
        out.push_str(&format!(
            "{}. {}: {} ({})\n",
            i + 1,
            change.kind.label(),
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

fn proposal_kind(p: &Proposal) -> &'static str {
    match p.kind {
        crate::report::ProposalKind::PatchScp => "patch an SCP",
        crate::report::ProposalKind::NewScp => "new SCP",
        crate::report::ProposalKind::ControlTowerParameters => "Control Tower control parameters",
        crate::report::ProposalKind::CfctManifest => "Customizations for Control Tower manifest",
    }
}

fn summary_line(s: &Summary) -> String {
    format!(
        "{} checks: {} reachable, {} blocked, {} conditional, {} unknown",
        s.checks, s.reachable, s.blocked, s.conditional, s.unknown
    )
}

fn trigger_line(trigger: &Trigger) -> String {
    match trigger.kind {
        TriggerKind::Schedule => "scheduled sweep".to_string(),
        TriggerKind::Event => format!(
            "{} (events are hints; the organization was read again)",
            plural(trigger.events.len(), "event", "events")
        ),
    }
}

fn params_line(params: &BTreeMap<String, String>) -> String {
    if params.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(": {}", pairs.join(", "))
}

fn blocker_line(b: &Blocker) -> String {
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
        crate::report::BlockerKind::ExplicitDeny => format!("denied by {policy}{statement}{at}"),
        crate::report::BlockerKind::NoAllow => format!("no SCP allows it{at}"),
        crate::report::BlockerKind::AccountNotActive => "the account is not active".to_string(),
    };
    format!("{} {} on {}: {what}", b.region, b.action, b.resource)
}

fn json_document(
    ctx: &Context<'_>,
    chunk: &[&Change],
    part: usize,
    parts: usize,
    detail: Detail,
) -> Value {
    let r = ctx.report;
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let changes: Vec<Value> = chunk
        .iter()
        .map(|change| {
            let key = change.key();
            let proposal_ids: Vec<&str> = ctx
                .proposals_for(&key)
                .into_iter()
                .map(|p| p.id.as_str())
                .collect();
            wanted.extend(proposal_ids.iter().copied());
            let mut finding = change.finding.clone();
            let mut omitted = 0;
            if detail == Detail::Minimal {
                omitted = finding.blockers.len().saturating_sub(MINIMAL_BLOCKERS);
                finding.blockers.truncate(MINIMAL_BLOCKERS);
                finding.explanation =
                    truncate_chars(&finding.explanation, MINIMAL_EXPLANATION_CHARS);
            }
            let mut value = json!({
                "change": change.kind.as_str(),
                "findingKey": key,
                "previousStatus": change.previous.as_ref().map(|p| p.status.as_str()),
                "fingerprint": change.next.fingerprint,
                "finding": finding,
                "proposalIds": proposal_ids,
            });
            if omitted > 0
                && let Some(object) = value.as_object_mut()
            {
                object.insert("blockersOmitted".into(), json!(omitted));
            }
            value
        })
        .collect();
    let proposals: Vec<Value> = ctx
        .proposals
        .iter()
        .filter(|p| wanted.contains(p.id.as_str()))
        .map(|p| {
            let mut p = p.clone();
            if detail != Detail::Full {
                p.before = None;
                p.after = None;
                p.diff = None;
                p.artifact = None;
            }
            serde_json::to_value(p).unwrap_or(Value::Null)
        })
        .collect();
    let listed: Vec<&ChangeEvent> = ctx.trigger.events.iter().take(MAX_LISTED_EVENTS).collect();
    let change_summary: Map<String, Value> =
        std::iter::once(("changes".to_string(), json!(ctx.total)))
            .chain(
                [
                    ChangeKind::NewlyBlocked,
                    ChangeKind::NewlyConditional,
                    ChangeKind::NewlyUnknown,
                    ChangeKind::BlockersChanged,
                    ChangeKind::Fixed,
                ]
                .into_iter()
                .map(|k| {
                    (
                        k.as_str().to_string(),
                        json!(ctx.counts.get(&k).copied().unwrap_or(0)),
                    )
                }),
            )
            .collect();
    json!({
        "formatVersion": 1,
        "type": "crisGuardAlert",
        "organizationId": r.organization_id,
        "snapshotCapturedAt": r.snapshot_captured_at,
        "part": part,
        "parts": parts,
        "detail": match detail {
            Detail::Full => "full",
            Detail::Compact => "compact",
            Detail::Minimal => "minimal",
        },
        "trigger": {
            "kind": ctx.trigger.kind.as_str(),
            "changedBy": ctx.trigger.changed_by(),
            "events": listed,
            "eventsOmitted": ctx.trigger.events.len().saturating_sub(MAX_LISTED_EVENTS),
        },
        "summary": r.summary,
        "changeSummary": change_summary,
        "changes": changes,
        "proposals": proposals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{BlockerKind, Condition, TargetKind, Verification};

    fn blocker(region: &str, action: &str) -> Blocker {
        Blocker {
            region: region.into(),
            action: action.into(),
            resource: format!("arn:aws:bedrock:{region}::foundation-model/m"),
            policy_id: Some("p-abcd1234".into()),
            policy_name: Some("aws-guardrails-AbCdEf".into()),
            sid: Some("GRREGIONDENY".into()),
            statement_index: Some(0),
            attached_to: Some("ou-ab12-11111111".into()),
            kind: BlockerKind::ExplicitDeny,
        }
    }

    fn finding(target: &str, status: Status, blockers: Vec<Blocker>) -> Finding {
        Finding {
            target_id: target.into(),
            target_kind: TargetKind::OrganizationalUnit,
            target_path: format!("Root/{target}"),
            profile_id: "us.anthropic.claude-3-5-sonnet-20241022-v2:0".into(),
            source_region: "us-east-1".into(),
            status,
            blockers,
            conditions: Vec::new(),
            explanation: "routed to us-east-2, which the Region deny rejects".into(),
        }
    }

    fn report(captured: &str, findings: Vec<Finding>) -> Report {
        Report {
            format_version: 1,
            organization_id: "o-exampleorgid".into(),
            snapshot_captured_at: captured.into(),
            summary: Summary::of(&findings),
            findings,
            proposals: Vec::new(),
            unresolved: Vec::new(),
        }
    }

    fn state_of(r: &Report) -> StateView {
        r.findings
            .iter()
            .filter(|f| f.status != Status::Reachable)
            .map(|f| {
                (
                    f.key(),
                    FindingState {
                        fingerprint: fingerprint(f),
                        status: f.status,
                        snapshot_captured_at: r.snapshot_captured_at.clone(),
                    },
                )
            })
            .collect()
    }

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
    fn fingerprint_ignores_order_and_wording_but_not_blockers() {
        let a = finding(
            "ou-a",
            Status::Blocked,
            vec![
                blocker("us-east-2", "bedrock:InvokeModel"),
                blocker("us-west-2", "bedrock:InvokeModel"),
            ],
        );
        let mut b = a.clone();
        b.blockers.reverse();
        b.explanation = "other words".into();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let mut c = a.clone();
        c.blockers.pop();
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let mut d = a.clone();
        d.status = Status::Conditional;
        assert_ne!(fingerprint(&a), fingerprint(&d));
        let mut e = a.clone();
        e.conditions.push(Condition {
            key: "aws:PrincipalARN".into(),
            operator: "ArnLike".into(),
            values: vec!["arn:aws:iam::*:role/X".into()],
            effect: "reachableOnlyIf".into(),
            group: None,
            from: None,
        });
        assert_ne!(fingerprint(&a), fingerprint(&e));
        assert!(fingerprint(&a).starts_with("blocked:"));
    }

    #[test]
    fn first_run_reports_problems_only() {
        let r = report(
            "2026-11-29T00:00:00Z",
            vec![
                finding(
                    "ou-a",
                    Status::Blocked,
                    vec![blocker("us-east-2", "bedrock:InvokeModel")],
                ),
                finding("ou-b", Status::Reachable, vec![]),
                finding("ou-c", Status::Unknown, vec![]),
            ],
        );
        let changes = diff(&StateView::new(), &r);
        let kinds: Vec<ChangeKind> = changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![ChangeKind::NewlyBlocked, ChangeKind::NewlyUnknown]
        );
        assert!(changes.iter().all(|c| c.previous.is_none()));
    }

    #[test]
    fn same_report_is_no_change_and_transitions_are_classified() {
        let before = report(
            "2026-11-29T00:00:00Z",
            vec![
                finding(
                    "ou-a",
                    Status::Blocked,
                    vec![blocker("us-east-2", "bedrock:InvokeModel")],
                ),
                finding(
                    "ou-b",
                    Status::Blocked,
                    vec![blocker("us-east-2", "bedrock:InvokeModel")],
                ),
                finding("ou-c", Status::Conditional, vec![]),
            ],
        );
        let state = state_of(&before);
        assert!(diff(&state, &before).is_empty());
        let after = report(
            "2026-11-30T00:00:00Z",
            vec![
                finding("ou-a", Status::Reachable, vec![]),
                finding(
                    "ou-b",
                    Status::Blocked,
                    vec![blocker("us-west-2", "bedrock:InvokeModel")],
                ),
                finding(
                    "ou-c",
                    Status::Blocked,
                    vec![blocker("us-east-2", "bedrock:InvokeModel")],
                ),
            ],
        );
        let changes = diff(&state, &after);
        let by_target: BTreeMap<&str, ChangeKind> = changes
            .iter()
            .map(|c| (c.finding.target_id.as_str(), c.kind))
            .collect();
        assert_eq!(by_target.get("ou-a"), Some(&ChangeKind::Fixed));
        assert_eq!(by_target.get("ou-b"), Some(&ChangeKind::BlockersChanged));
        assert_eq!(by_target.get("ou-c"), Some(&ChangeKind::NewlyBlocked));
    }

    #[test]
    fn an_older_report_never_changes_newer_state() {
        let newer = report(
            "2026-11-30T00:00:00Z",
            vec![finding("ou-a", Status::Reachable, vec![])],
        );
        let mut state = StateView::new();
        state.insert(
            newer.findings[0].key(),
            FindingState {
                fingerprint: fingerprint(&newer.findings[0]),
                status: Status::Reachable,
                snapshot_captured_at: newer.snapshot_captured_at.clone(),
            },
        );
        let older = report(
            "2026-11-29T00:00:00Z",
            vec![finding(
                "ou-a",
                Status::Blocked,
                vec![blocker("us-east-2", "bedrock:InvokeModel")],
            )],
        );
        assert!(diff(&state, &older).is_empty());
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
            kind: crate::report::ProposalKind::ControlTowerParameters,
            policy_id: None,
            target_ids: vec!["Sandbox".into()],
            before: Some("{}".into()),
            after: Some("{}".into()),
            diff: None,
            size_chars: None,
            verification: Verification::default(),
            apply: "aws controltower update-enabled-control ...".into(),
            summary: "Allow us-east-2 for Bedrock through approved profiles.".into(),
            artifact: None,
        };
        let msgs = messages(&changes, &r, &trigger(), std::slice::from_ref(&proposal));
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
        let msgs = messages(&changes, &r, &trigger(), &[]);
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
            for c in full["changes"].as_array().unwrap() {
                seen.push(c["findingKey"].as_str().unwrap().to_string());
            }
        }
        let mut expected: Vec<String> = changes.iter().map(Change::key).collect();
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
        let msgs = messages(&changes, &r, &trigger(), &[]);
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
    use crate::report::{BlockerKind, TargetKind};
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
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 16, ..ProptestConfig::default() })]
        #[test]
        fn every_change_lands_in_exactly_one_part_within_the_limit(
            findings in prop::collection::vec(arb_finding(), 1..250)
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
                findings,
                proposals: Vec::new(),
                unresolved: Vec::new(),
            };
            let changes = diff(&StateView::new(), &report);
            let msgs = messages(&changes, &report, &Trigger::schedule(), &[]);
            let mut seen = Vec::new();
            for m in &msgs {
                prop_assert!(m.publish_bytes() <= MAX_PUBLISH_BYTES);
                prop_assert_eq!(m.parts, msgs.len());
                let full: Value = serde_json::from_str(&m.json).unwrap();
                for c in full["changes"].as_array().unwrap() {
                    seen.push(c["findingKey"].as_str().unwrap().to_string());
                }
            }
            let mut expected: Vec<String> = changes.iter().map(Change::key).collect();
            expected.sort();
            seen.sort();
            prop_assert_eq!(seen, expected);
        }
    }
}
