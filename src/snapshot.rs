//! The snapshot: every fact about an organization the evaluation needs (contract §2), as serde types.
//!
//! This is the wire format shared by the CLI (`--snapshot FILE`), `cris-guard snapshot` and the
//! Lambda. Unknown fields are rejected everywhere except inside policy `content`. Loading checks
//! ids, links and policy bodies, so the core can trust a [`Snapshot`] it is handed; a policy
//! body that is well-formed but that the engine cannot interpret is kept and marked
//! ([`ValidSnapshot::uninterpretable`], [`load_policy`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::policy::{Policy, PolicySize};

pub mod incremental;
mod wellformed;

/// The largest snapshot file the loader accepts; larger input is refused before parsing.
pub const MAX_SNAPSHOT_BYTES: usize = crate::json_input::MAX_INPUT_BYTES;

/// AWS's limit on an SCP document, counted in characters, whitespace included.
pub const MAX_SCP_CHARS: usize = 5_120;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Snapshot {
    pub format_version: u32,
    pub captured_at: String,
    pub organization: Organization,
    pub roots: Vec<Root>,
    #[serde(default)]
    pub organizational_units: Vec<OrganizationalUnit>,
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub policies: Vec<PolicyRecord>,
    /// Keyed by the source Region that was asked.
    #[serde(default)]
    pub inference_profiles: BTreeMap<String, Vec<InferenceProfile>>,
    /// Guardrail profiles callers in each source Region can apply (contract §8), keyed like
    /// `inferenceProfiles`. A source Region not listed was not read: its `guardrailProfile`
    /// checks are `unknown`. Absent from snapshots older than these checks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub guardrail_profiles: BTreeMap<String, Vec<GuardrailProfile>>,
    /// Ids of the foundation models sold through AWS Marketplace, per Region asked (contract
    /// §8). A source Region not listed was not read: its `marketplaceFirstUse` checks are
    /// `unknown`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub marketplace_models: BTreeMap<String, Vec<String>>,
    /// Parts of the organization that could not be read (an extension of contract §2): every
    /// finding that depends on one of them is `unknown`, never `reachable`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    pub management_account_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Root {
    pub id: String,
    pub name: String,
    /// Whether the SCP policy type is enabled on the root; absent means enabled (the
    /// conservative reading: SCPs are evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp_enabled: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationalUnit {
    pub id: String,
    pub name: String,
    pub parent_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub parent_id: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRecord {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aws_managed: bool,
    #[serde(rename = "type", default = "scp_type")]
    pub policy_type: String,
    /// The document as `DescribePolicy` returns it (a JSON string), or a JSON object in
    /// hand-written fixtures.
    pub content: PolicyContent,
    #[serde(default)]
    pub targets: Vec<String>,
}

fn scp_type() -> String {
    "SERVICE_CONTROL_POLICY".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PolicyContent {
    Text(String),
    Document(serde_json::Value),
}

impl PolicyContent {
    /// The document text whose length AWS limits (objects are serialized compactly).
    pub fn text(&self) -> String {
        match self {
            PolicyContent::Text(text) => text.clone(),
            PolicyContent::Document(value) => value.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceProfile {
    pub inference_profile_id: String,
    pub inference_profile_arn: String,
    #[serde(rename = "type")]
    pub profile_type: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default)]
    pub models: Vec<InferenceProfileModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_profile_name: Option<String>,
}

fn active() -> String {
    "ACTIVE".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceProfileModel {
    pub model_arn: String,
}

/// A system guardrail profile as seen from one source Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GuardrailProfile {
    /// `us.guardrail.v1:0`.
    pub guardrail_profile_id: String,
    /// `arn:aws:bedrock:<source>:<account>:guardrail-profile/<id>`.
    pub guardrail_profile_arn: String,
    /// The Regions the profile routes guardrail requests to from this source Region; empty when
    /// not known (its checks are then `unknown`). No Bedrock API lists them.
    #[serde(default)]
    pub destination_regions: Vec<String>,
    /// Where `destinationRegions` comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_source: Option<String>,
    /// Guardrails of the account the snapshot was read in that use this profile (`GetGuardrail`
    /// `crossRegionDetails`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardrail_arns: Vec<String>,
}

/// A part of the organization the reader could not read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gap {
    /// A root, OU, account or policy id, or `inferenceProfiles:<region>`.
    pub scope: String,
    pub reason: String,
}

/// A snapshot whose ids, links and policy documents have been checked, with each policy parsed.
#[derive(Debug, Clone)]
pub struct ValidSnapshot {
    pub snapshot: Snapshot,
    /// Parsed documents, index-aligned with `snapshot.policies`.
    pub policies: Vec<Policy>,
    pub policy_sizes: Vec<PolicySize>,
    /// Well-formed documents the engine cannot interpret, in policy order; each stands in
    /// `policies` as a document without statements.
    pub uninterpretable: Vec<Uninterpretable>,
}

/// A policy the engine cannot interpret: its index in `snapshot.policies` and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninterpretable {
    pub index: usize,
    pub error: ContentError,
}

/// A problem in one policy document: the JSON path below the document (`.Statement[0].Effect`,
/// empty for the document as a whole) and what is wrong, so that each caller can say where the
/// document sits in its own file (`$.policies[3].content` in a snapshot, `$[2].content` in a
/// what-if file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentError {
    pub policy_id: String,
    pub path: String,
    pub message: String,
}

impl ContentError {
    /// The error in `source`, with the document at JSON path `at`.
    pub fn at(self, source: &str, at: &str) -> InputError {
        InputError::new(
            source,
            format!("{at}{}", self.path),
            format!("policy `{}`: {}", self.policy_id, self.message),
        )
    }
}

/// One policy document as loading found it.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The parsed document; for an uninterpretable one, a stand-in without statements that
    /// nothing may be decided from (every target whose chain holds it is `unknown`).
    pub policy: Policy,
    pub size: PolicySize,
    /// Why the engine cannot interpret a well-formed document, when it cannot.
    pub uninterpretable: Option<ContentError>,
}

/// Checks one policy document and parses it.
///
/// A document that is malformed as input is an error (exit 3): over AWS's 5,120 characters, or
/// breaking the closed part of the IAM grammar that AWS validates (invalid JSON, nesting, a
/// repeated key, wrong JSON types, a missing or doubled element, an `Effect` other than
/// `Allow`/`Deny`, `Principal`; see [`wellformed`]). A well-formed document the parser still
/// refuses (an element or condition operator it does not know, a value it cannot read) was
/// accepted by AWS, so the parser is behind AWS: it loads as *uninterpretable*, with the
/// parser's path and message, and only the targets under its attachments become `unknown`.
pub fn load_policy(
    id: &str,
    name: &str,
    content: &PolicyContent,
) -> Result<LoadedPolicy, ContentError> {
    let text = content.text();
    let size = PolicySize::of(&text);
    let error = |path: String, message: String| ContentError {
        policy_id: id.to_string(),
        path,
        message,
    };
    if size.chars > MAX_SCP_CHARS {
        return Err(error(
            String::new(),
            format!(
                "the document is {} characters, over the {MAX_SCP_CHARS}-character SCP limit ({} minified)",
                size.chars, size.minified_chars
            ),
        ));
    }
    match crate::policy::parse(id, name, &text) {
        Ok(policy) => Ok(LoadedPolicy {
            policy,
            size,
            uninterpretable: None,
        }),
        Err(parse_error) => {
            if let Some((path, message)) = wellformed::malformation(&text) {
                return Err(error(path, message));
            }
            Ok(LoadedPolicy {
                policy: Policy {
                    id: id.to_string(),
                    name: name.to_string(),
                    statements: Vec::new(),
                    account_sensitive: false,
                },
                size,
                uninterpretable: Some(error(
                    parse_error.path.trim_start_matches('$').to_string(),
                    parse_error.message,
                )),
            })
        }
    }
}

/// Whether `id` is a root, OU or account of the snapshot (what a policy may be attached to).
pub fn is_target(snapshot: &Snapshot, id: &str) -> bool {
    snapshot.roots.iter().any(|r| r.id == id)
        || snapshot.organizational_units.iter().any(|o| o.id == id)
        || snapshot.accounts.iter().any(|a| a.id == id)
}

/// Parses and validates snapshot JSON. `source` names the input (a file path) in errors.
///
/// Reading is strict ([`crate::json_input`]): size and nesting limits, no duplicate keys, objects
/// where the contract says objects.
pub fn load(source: &str, bytes: &[u8]) -> Result<ValidSnapshot, InputError> {
    let snapshot: Snapshot = crate::json_input::read(source, "snapshot", bytes)?;
    validate(source, snapshot)
}

/// Checks ids, links, cycles and policy documents.
pub fn validate(source: &str, snapshot: Snapshot) -> Result<ValidSnapshot, InputError> {
    let err = |path: String, message: String| InputError::new(source, path, message);
    if snapshot.format_version != 1 {
        return Err(err(
            "$.formatVersion".into(),
            format!(
                "unsupported format version {}, expected 1",
                snapshot.format_version
            ),
        ));
    }
    if !crate::ids::is_organization_id(&snapshot.organization.id) {
        return Err(err(
            "$.organization.id".into(),
            format!(
                "`{}` is not an organization id (o-…)",
                snapshot.organization.id
            ),
        ));
    }
    if !crate::ids::is_account_id(&snapshot.organization.management_account_id) {
        return Err(err(
            "$.organization.managementAccountId".into(),
            format!(
                "`{}` is not a 12-digit account id",
                snapshot.organization.management_account_id
            ),
        ));
    }
    if snapshot.roots.is_empty() {
        return Err(err(
            "$.roots".into(),
            "at least one root is required".into(),
        ));
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut parent_of: HashMap<&str, &str> = HashMap::new();
    for (i, root) in snapshot.roots.iter().enumerate() {
        if !crate::ids::is_root_id(&root.id) {
            return Err(err(
                format!("$.roots[{i}].id"),
                format!("`{}` is not a root id (r-…)", root.id),
            ));
        }
        if !seen.insert(&root.id) {
            return Err(err(
                format!("$.roots[{i}].id"),
                format!("duplicate id `{}`", root.id),
            ));
        }
    }
    for (i, ou) in snapshot.organizational_units.iter().enumerate() {
        if !crate::ids::is_ou_id(&ou.id) {
            return Err(err(
                format!("$.organizationalUnits[{i}].id"),
                format!("`{}` is not an organizational unit id (ou-…)", ou.id),
            ));
        }
        if !seen.insert(&ou.id) {
            return Err(err(
                format!("$.organizationalUnits[{i}].id"),
                format!("duplicate id `{}`", ou.id),
            ));
        }
        parent_of.insert(&ou.id, &ou.parent_id);
    }
    for (i, account) in snapshot.accounts.iter().enumerate() {
        if !crate::ids::is_account_id(&account.id) {
            return Err(err(
                format!("$.accounts[{i}].id"),
                format!("`{}` is not a 12-digit account id", account.id),
            ));
        }
        if !seen.insert(&account.id) {
            return Err(err(
                format!("$.accounts[{i}].id"),
                format!("duplicate id `{}`", account.id),
            ));
        }
    }
    let is_container =
        |id: &str| snapshot.roots.iter().any(|r| r.id == id) || parent_of.contains_key(id);
    for (i, ou) in snapshot.organizational_units.iter().enumerate() {
        if !is_container(&ou.parent_id) {
            return Err(err(
                format!("$.organizationalUnits[{i}].parentId"),
                format!(
                    "parent `{}` is not a root or OU in the snapshot",
                    ou.parent_id
                ),
            ));
        }
    }
    for (i, account) in snapshot.accounts.iter().enumerate() {
        if !is_container(&account.parent_id) {
            return Err(err(
                format!("$.accounts[{i}].parentId"),
                format!(
                    "parent `{}` is not a root or OU in the snapshot",
                    account.parent_id
                ),
            ));
        }
    }
    // Every OU must reach a root: walking up more steps than there are OUs means a cycle.
    for (i, ou) in snapshot.organizational_units.iter().enumerate() {
        let mut current: &str = &ou.id;
        let mut steps = 0usize;
        while let Some(parent) = parent_of.get(current) {
            current = parent;
            steps += 1;
            if steps > snapshot.organizational_units.len() {
                return Err(err(
                    format!("$.organizationalUnits[{i}].parentId"),
                    format!("OU `{}` is part of a parent cycle", ou.id),
                ));
            }
        }
    }
    let mut policies = Vec::with_capacity(snapshot.policies.len());
    let mut policy_sizes = Vec::with_capacity(snapshot.policies.len());
    let mut policy_ids: HashSet<&str> = HashSet::new();
    let mut uninterpretable = Vec::new();
    for (i, record) in snapshot.policies.iter().enumerate() {
        if !crate::ids::is_policy_id(&record.id) {
            return Err(err(
                format!("$.policies[{i}].id"),
                format!("`{}` is not a policy id (p-…)", record.id),
            ));
        }
        if !policy_ids.insert(&record.id) {
            return Err(err(
                format!("$.policies[{i}].id"),
                format!("duplicate id `{}`", record.id),
            ));
        }
        if record.policy_type != "SERVICE_CONTROL_POLICY" {
            return Err(err(
                format!("$.policies[{i}].type"),
                format!(
                    "policy type `{}` is not supported, expected SERVICE_CONTROL_POLICY",
                    record.policy_type
                ),
            ));
        }
        for (t, target) in record.targets.iter().enumerate() {
            if !seen.contains(target.as_str()) {
                return Err(err(
                    format!("$.policies[{i}].targets[{t}]"),
                    format!("target `{target}` is not a root, OU or account in the snapshot"),
                ));
            }
        }
        let loaded = load_policy(&record.id, &record.name, &record.content)
            .map_err(|e| e.at(source, &format!("$.policies[{i}].content")))?;
        policies.push(loaded.policy);
        policy_sizes.push(loaded.size);
        if let Some(error) = loaded.uninterpretable {
            uninterpretable.push(Uninterpretable { index: i, error });
        }
    }
    for (region, profiles) in &snapshot.inference_profiles {
        if !crate::ids::is_region(region) {
            return Err(err(
                format!("$.inferenceProfiles.{region}"),
                format!("`{region}` is not an AWS Region name"),
            ));
        }
        for (i, profile) in profiles.iter().enumerate() {
            let at = format!("$.inferenceProfiles.{region}[{i}]");
            if !matches!(
                profile.profile_type.as_str(),
                "SYSTEM_DEFINED" | "APPLICATION"
            ) {
                return Err(err(
                    format!("{at}.type"),
                    format!(
                        "`{}` is not an inference profile type (SYSTEM_DEFINED or APPLICATION)",
                        profile.profile_type
                    ),
                ));
            }
            if crate::arn::Arn::parse(&profile.inference_profile_arn).is_none() {
                return Err(err(
                    format!("{at}.inferenceProfileArn"),
                    format!("`{}` is not an ARN", profile.inference_profile_arn),
                ));
            }
            for (m, model) in profile.models.iter().enumerate() {
                let parsed = crate::arn::Arn::parse(&model.model_arn);
                let ok = parsed.as_ref().is_some_and(|arn| {
                    arn.resource.starts_with("foundation-model/")
                        && (arn.region.is_empty() || crate::ids::is_region(&arn.region))
                });
                if !ok {
                    return Err(err(
                        format!("{at}.models[{m}].modelArn"),
                        format!("`{}` is not a foundation-model ARN", model.model_arn),
                    ));
                }
            }
        }
    }
    validate_guardrail_profiles(source, &snapshot.guardrail_profiles)?;
    for (region, models) in &snapshot.marketplace_models {
        if !crate::ids::is_region(region) {
            return Err(err(
                format!("$.marketplaceModels.{region}"),
                format!("`{region}` is not an AWS Region name"),
            ));
        }
        if let Some((m, model)) = models.iter().enumerate().find(|(_, m)| m.is_empty()) {
            return Err(err(
                format!("$.marketplaceModels.{region}[{m}]"),
                format!("`{model}` is not a foundation model id"),
            ));
        }
    }
    Ok(ValidSnapshot {
        snapshot,
        policies,
        policy_sizes,
        uninterpretable,
    })
}

fn validate_guardrail_profiles(
    source: &str,
    profiles: &BTreeMap<String, Vec<GuardrailProfile>>,
) -> Result<(), InputError> {
    let err = |path: String, message: String| InputError::new(source, path, message);
    for (region, profiles) in profiles {
        if !crate::ids::is_region(region) {
            return Err(err(
                format!("$.guardrailProfiles.{region}"),
                format!("`{region}` is not an AWS Region name"),
            ));
        }
        for (i, profile) in profiles.iter().enumerate() {
            let at = format!("$.guardrailProfiles.{region}[{i}]");
            let arn = crate::arn::Arn::parse(&profile.guardrail_profile_arn);
            if !arn
                .as_ref()
                .is_some_and(|a| a.resource.starts_with("guardrail-profile/"))
            {
                return Err(err(
                    format!("{at}.guardrailProfileArn"),
                    format!(
                        "`{}` is not a guardrail-profile ARN",
                        profile.guardrail_profile_arn
                    ),
                ));
            }
            for (d, destination) in profile.destination_regions.iter().enumerate() {
                if !crate::ids::is_region(destination) {
                    return Err(err(
                        format!("{at}.destinationRegions[{d}]"),
                        format!("`{destination}` is not an AWS Region name"),
                    ));
                }
            }
        }
    }
    Ok(())
}
