//! Alert state and the diff: what was stored per finding when it last changed, how a finding is
//! reduced to what an alert is about (its fingerprint), and which findings changed since.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::findings::{Blocker, Finding, Report, Status};

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
}

/// One finding whose fingerprint differs from the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingChange<'a> {
    pub kind: ChangeKind,
    /// The changed finding, borrowed from the diffed [`Report`].
    pub finding: &'a Finding,
    /// The stored state, `None` when the finding was never stored.
    pub previous: Option<FindingState>,
    /// The state to store once the change is alerted.
    pub next: FindingState,
}

impl FindingChange<'_> {
    /// [`Finding::key`] of the changed finding.
    pub fn key(&self) -> String {
        self.finding.key()
    }
}

/// A stable digest of what an alert is about: the status, the set of blockers as
/// (kind, policy, Sid, Region, action) and the conditions. Written `"<status>:<16 hex digits>"`.
pub fn fingerprint(finding: &Finding) -> String {
    // Sorted and deduplicated like a set, then hashed piece by piece: the bytes hashed are
    // those of the canonical string the stored fingerprints were made from (a test pins them),
    // without building it (this runs for every finding of every run).
    let mut blockers: Vec<String> = finding.blockers.iter().map(blocker_identity).collect();
    blockers.sort_unstable();
    blockers.dedup();
    let mut conditions: Vec<String> = finding
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
    conditions.sort_unstable();
    conditions.dedup();
    let mut hash = Fnv1a64::default();
    hash.write(finding.status.as_str().as_bytes());
    for (tag, pieces) in [("\u{1d}b", &blockers), ("\u{1d}c", &conditions)] {
        for piece in pieces {
            hash.write(tag.as_bytes());
            hash.write(piece.as_bytes());
        }
    }
    format!("{}:{:016x}", finding.status.as_str(), hash.0)
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
pub(super) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash = Fnv1a64::default();
    hash.write(bytes);
    hash.0
}

/// [`fnv1a64`] fed in pieces: the hash of their concatenation.
struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a64 {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
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
pub fn diff<'a>(previous: &StateView, report: &'a Report) -> Vec<FindingChange<'a>> {
    let mut changes = Vec::new();
    for finding in &report.findings {
        let fingerprint = fingerprint(finding);
        let stored = previous.get(&finding.key());
        let kind = match stored {
            None => newly(finding.status),
            Some(stored) if stored.snapshot_captured_at > report.snapshot_captured_at => None,
            Some(stored) if stored.fingerprint == fingerprint => None,
            Some(stored) => match (stored.status, finding.status) {
                (Status::Reachable, Status::Reachable) => None,
                (_, Status::Reachable) => Some(ChangeKind::Fixed),
                (before, after) if before == after => Some(ChangeKind::BlockersChanged),
                (_, after) => newly(after),
            },
        };
        if let Some(kind) = kind {
            changes.push(FindingChange {
                kind,
                finding,
                previous: stored.cloned(),
                next: FindingState {
                    fingerprint,
                    status: finding.status,
                    snapshot_captured_at: report.snapshot_captured_at.clone(),
                },
            });
        }
    }
    // Each key built once, not per comparison (33,000 changes on a first sweep at 10,000
    // accounts).
    changes.sort_by_cached_key(|c| {
        (
            std::cmp::Reverse(c.finding.status.severity()),
            c.kind,
            c.key(),
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::fixtures::{blocker, finding, report};
    use crate::findings::Condition;

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

    /// Stored alert state keeps fingerprints across releases: the same finding must hash to
    /// the same value (pinned from the first implementation), or every finding would be
    /// reported as changed after an upgrade.
    #[test]
    fn fingerprints_stay_the_same_across_releases() {
        let mut f = finding(
            "ou-a",
            Status::Conditional,
            vec![
                blocker("us-west-2", "bedrock:InvokeModel"),
                blocker("us-east-2", "bedrock:InvokeModel"),
                blocker("us-east-2", "bedrock:InvokeModel"),
            ],
        );
        f.conditions.push(Condition {
            key: "aws:PrincipalARN".into(),
            operator: "ArnLike".into(),
            values: vec![
                "arn:aws:iam::*:role/Y".into(),
                "arn:aws:iam::*:role/X".into(),
            ],
            effect: "reachableOnlyIf".into(),
            group: Some(2),
            from: None,
        });
        assert_eq!(fingerprint(&f), "conditional:9ad072af2e323d4c");
        assert_eq!(
            fingerprint(&finding("ou-b", Status::Blocked, vec![])),
            "blocked:7efbf1594f60e733"
        );
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
}
