//! The findings contract (§3, §4): the report, its findings with their blockers and
//! conditions, statuses and summary, and the proposals that fix them. Decided by
//! `reachability` and `remediation`, rendered by `report`; the JSON shape is the contract.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub format_version: u32,
    pub organization_id: String,
    pub snapshot_captured_at: String,
    pub summary: Summary,
    /// With `--expect` (§6): each expectation held or violated, first because with it the exit
    /// code reflects only these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<ExpectationResult>,
    /// One entry per cause (§3.1), worst first; every non-reachable finding names its problems
    /// in [`Finding::problem_ids`]. Always written, before `findings`.
    #[serde(default)]
    pub problems: Vec<Problem>,
    pub findings: Vec<Finding>,
    pub proposals: Vec<Proposal>,
    /// Present when the report shows a what-if (§3.1): counts against the same snapshot
    /// without the changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_if: Option<WhatIf>,
    /// Blocked or conditional findings `propose` found no verified fix for (an addition to the
    /// contract's report; absent when empty and from `evaluate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<Unresolved>,
}

/// A problem with no verified fix for some of its findings, and why: one entry per problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unresolved {
    /// Finding keys ([`Finding::key`]) this is about.
    pub fixes: Vec<String>,
    pub reason: String,
    /// The findings are denied by design: they concern profiles outside the approved ones
    /// (`--approved-profile`), so nothing is proposed and nothing is missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_design: bool,
    /// The [`Problem::id`] this entry is about (absent for findings that name no problem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub checks: usize,
    pub reachable: usize,
    pub blocked: usize,
    pub conditional: usize,
    pub unknown: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Reachable,
    Conditional,
    Unknown,
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reachable => "reachable",
            Status::Blocked => "blocked",
            Status::Conditional => "conditional",
            Status::Unknown => "unknown",
        }
    }

    /// Severity order used for "worst status": blocked > conditional > unknown > reachable.
    pub fn severity(self) -> u8 {
        match self {
            Status::Reachable => 0,
            Status::Unknown => 1,
            Status::Conditional => 2,
            Status::Blocked => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    Root,
    OrganizationalUnit,
    Account,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub target_id: String,
    pub target_kind: TargetKind,
    /// Names from the root down, `/`-separated (`Root/Sandbox`).
    pub target_path: String,
    pub profile_id: String,
    pub source_region: String,
    /// What was checked (contract §8); `inference` when absent from older reports.
    #[serde(default)]
    pub check_kind: CheckKind,
    pub status: Status,
    pub blockers: Vec<Blocker>,
    pub conditions: Vec<Condition>,
    pub explanation: String,
    /// The [`Problem::id`]s behind a non-reachable finding (empty for a reachable one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problem_ids: Vec<String>,
}

impl Finding {
    /// The stable key proposals use in `fixes`: `target|profile|sourceRegion`.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.target_id, self.profile_id, self.source_region
        )
    }
}

/// What a finding checks (contract §8).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum CheckKind {
    /// The requests of an inference call through a profile (§3, domain.md §1.3).
    #[default]
    Inference,
    /// `bedrock:ApplyGuardrail` on a guardrail profile in its source and destination Regions.
    GuardrailProfile,
    /// The AWS Marketplace requests of the first call to a model sold through Marketplace.
    MarketplaceFirstUse,
}

impl CheckKind {
    pub const ALL: [CheckKind; 3] = [
        CheckKind::Inference,
        CheckKind::GuardrailProfile,
        CheckKind::MarketplaceFirstUse,
    ];

    /// The contract's name (`inference`, `guardrailProfile`, `marketplaceFirstUse`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Inference => "inference",
            CheckKind::GuardrailProfile => "guardrailProfile",
            CheckKind::MarketplaceFirstUse => "marketplaceFirstUse",
        }
    }

    /// The kind named `name` (the contract's spelling).
    pub fn parse(name: &str) -> Option<CheckKind> {
        CheckKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BlockerKind {
    ExplicitDeny,
    NoAllow,
    AccountNotActive,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// `aws:RequestedRegion` of the denied request (`unspecified` for the global leg).
    pub region: String,
    pub action: String,
    pub resource: String,
    pub policy_id: Option<String>,
    pub policy_name: Option<String>,
    pub sid: Option<String>,
    pub statement_index: Option<usize>,
    pub attached_to: Option<String>,
    pub kind: BlockerKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
    /// `reachableOnlyIf`: every such condition must hold. `reachableIfAnyOf`: at least one
    /// condition of the same `group` must hold.
    pub effect: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    /// The statement the condition comes from, as `policyId/Sid-or-index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProposalKind {
    PatchScp,
    NewScp,
    ControlTowerParameters,
    CfctManifest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub id: String,
    pub fixes: Vec<String>,
    pub kind: ProposalKind,
    pub policy_id: Option<String>,
    pub target_ids: Vec<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub diff: Option<String>,
    pub size_chars: Option<usize>,
    pub verification: Verification,
    pub apply: String,
    /// The [`Problem::id`]s this proposal fixes (§4), beside the finding keys of `fixes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes_problems: Vec<String>,
    /// One paragraph a platform engineer reads first.
    #[serde(default)]
    pub summary: String,
    /// Extra artefacts such as Control Tower parameters or a CfCT manifest entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<serde_json::Value>,
}

/// One cause a person fixes in one place (§3.1), with everything it affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// `pb-` and 8 hex digits, stable across runs for the same cause.
    pub id: String,
    /// The worst status among the findings it affects.
    pub status: Status,
    pub cause: Cause,
    pub affected: Affected,
    /// One sentence a person reads first.
    pub explanation: String,
    /// Proposals (`propose`, alerts) that fix it; empty from `evaluate`.
    #[serde(default)]
    pub proposal_ids: Vec<String>,
    /// Why no SCP or Control Tower change can fix it (`propose`), else null.
    #[serde(default)]
    pub unresolved_reason: Option<String>,
}

/// What a [`Problem`] is: one statement of one policy for one leg kind, one level whose SCPs
/// allow nothing, one non-`ACTIVE` account, or one part of the organization not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// `explicitDeny` | `noAllow` | `accountNotActive` | `gap` (and `unknown` for any other
    /// missing fact, such as a policy cris-guard cannot interpret).
    pub kind: CauseKind,
    #[serde(default)]
    pub policy_id: Option<String>,
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub statement_index: Option<usize>,
    /// Where the cause sits: the targets the statement's policy is attached to where it blocks,
    /// the level without an allow, the account, or the unread scope.
    pub attached_to: Vec<String>,
    /// `profile` | `sourceModel` | `destinationModel` | `globalModel`, for a statement.
    #[serde(default)]
    pub leg: Option<LegName>,
    /// `aws:RequestedRegion` values it denies (`unspecified` for the global leg).
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    /// For `noAllow`: the policy ids attached at that level (the problem's key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level_policy_ids: Vec<String>,
    /// For `gap`/`unknown`: what could not be read or interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CauseKind {
    ExplicitDeny,
    NoAllow,
    AccountNotActive,
    Gap,
    Unknown,
}

/// The request of a check a statement blocks (contract names for [`crate::request::leg::LegKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LegName {
    Profile,
    SourceModel,
    DestinationModel,
    GlobalModel,
    /// `bedrock:ApplyGuardrail` on a guardrail profile (`guardrailProfile` checks).
    GuardrailProfile,
    /// An AWS Marketplace request of a model's first use (`marketplaceFirstUse` checks).
    Marketplace,
}

impl LegName {
    /// The contract's name (`profile`, `sourceModel`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LegName::Profile => "profile",
            LegName::SourceModel => "sourceModel",
            LegName::DestinationModel => "destinationModel",
            LegName::GlobalModel => "globalModel",
            LegName::GuardrailProfile => "guardrailProfile",
            LegName::Marketplace => "marketplace",
        }
    }
}

/// What a [`Problem`] affects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    /// Non-reachable findings it is behind.
    pub findings: usize,
    /// Every affected target (the full count).
    pub targets: usize,
    /// Compressed: the highest targets whose whole subtree is affected, plus single accounts.
    pub target_ids: Vec<String>,
    pub profiles: Vec<String>,
    pub source_regions: Vec<String>,
}

/// A what-if run (§3.1): where the changes came from and what they do against the same
/// snapshot without them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatIf {
    pub source: String,
    pub changes: usize,
    /// Findings not reachable without the changes and reachable with them.
    pub fixed: usize,
    /// Findings reachable without the changes and not reachable with them.
    pub broken: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub fixed_findings: usize,
    pub still_blocked: usize,
    pub newly_allowed_outside_profiles: Vec<String>,
    /// The organization's own statements (`policyId/Sid`, untouched by the proposal) that
    /// still limit who may call: claimed findings they leave `conditional` count as fixed,
    /// reachable for the principals those statements allow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_for_allowed_principals: Vec<String>,
}

impl Report {
    /// The worst status over all findings (`reachable` for an empty report).
    pub fn worst_status(&self) -> Status {
        self.findings
            .iter()
            .map(|f| f.status)
            .max_by_key(|s| s.severity())
            .unwrap_or(Status::Reachable)
    }

    /// Exit code per contract §1: 0 all reachable, 1 blocked/conditional, 2 unknown only.
    pub fn exit_code(&self) -> u8 {
        self.summary.exit_code()
    }
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut summary = Summary {
            checks: findings.len(),
            ..Summary::default()
        };
        for finding in findings {
            summary.count(finding.status);
        }
        summary
    }

    /// Adds one finding's status to its count (not to `checks`).
    pub fn count(&mut self, status: Status) {
        match status {
            Status::Reachable => self.reachable += 1,
            Status::Blocked => self.blocked += 1,
            Status::Conditional => self.conditional += 1,
            Status::Unknown => self.unknown += 1,
        }
    }

    /// Exit code per contract §1: 0 all reachable, 1 blocked/conditional, 2 unknown only.
    pub fn exit_code(&self) -> u8 {
        if self.blocked > 0 || self.conditional > 0 {
            1
        } else if self.unknown > 0 {
            2
        } else {
            0
        }
    }
}

/// An intent of an `--expect` file (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Expected {
    Reachable,
    Blocked,
}

/// The outcome of one expectation (the report's `expectations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectationResult {
    pub name: String,
    pub expect: Expected,
    pub holds: bool,
    /// Finding keys (`target|profile|sourceRegion`) whose status breaks the intent.
    pub violations: Vec<String>,
    /// Finding keys that cannot be decided.
    pub unknown_findings: Vec<String>,
    /// How many target × profile × source Region cells the expectation covers.
    pub checked: usize,
    /// The problems (§3.1) behind the violations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problem_ids: Vec<String>,
}
