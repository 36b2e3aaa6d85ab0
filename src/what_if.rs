//! `--what-if`: applies attach/detach/update/create changes to a snapshot before evaluating, so
//! a policy change can be checked before it is made (contract §1).
//!
//! File shape: a JSON array of changes:
//! `{"op": "attach"|"detach", "policyId": "p-…", "targetId": "ou-…"}`,
//! `{"op": "update", "policyId": "p-…", "content": <string or object>, "name"?: "…"}`,
//! `{"op": "create", "policyId"?: "p-…", "name": "…", "content": …, "targets"?: ["ou-…"]}`.

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::snapshot::{PolicyContent, PolicyRecord, Snapshot, ValidSnapshot};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum Change {
    #[serde(rename_all = "camelCase")]
    Attach {
        policy_id: String,
        target_id: String,
    },
    #[serde(rename_all = "camelCase")]
    Detach {
        policy_id: String,
        target_id: String,
    },
    #[serde(rename_all = "camelCase")]
    Update {
        policy_id: String,
        content: PolicyContent,
        #[serde(default)]
        name: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Create {
        #[serde(default)]
        policy_id: Option<String>,
        name: String,
        content: PolicyContent,
        #[serde(default)]
        targets: Vec<String>,
    },
}

mod cfct;
mod terraform;

/// `--what-if` input mapped to changes, with where the policies it writes come from.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfInput {
    pub changes: Vec<Change>,
    /// `(policy name, file as the manifest names it)` for policies written from files of
    /// infrastructure code (a CfCT manifest's `resource_file`), so SARIF can point there.
    pub policy_files: Vec<(String, String)>,
    /// The `aws_organizations_policy` resources of a Terraform plan, so SARIF can point at
    /// their source ([`terraform::locate`]) and `propose` can edit it; the plan JSON itself
    /// carries no file positions.
    pub terraform_policies: Vec<TerraformPolicy>,
}

pub use terraform::{
    PolicySource, TerraformPolicy, jsonencode, locate, resource_block, with_content,
};

/// Reads `--what-if` input, detected by shape (contract §7): a change list (JSON array), a
/// Terraform plan (`terraform show -json`) or a CfCT `manifest.yaml`, mapped to changes against
/// `snapshot`. `read_file` reads a file a manifest names (relative to the manifest).
pub fn read(
    source: &str,
    bytes: &[u8],
    snapshot: &Snapshot,
    read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<WhatIfInput, InputError> {
    let changes_only = |changes| WhatIfInput {
        changes,
        policy_files: Vec::new(),
        terraform_policies: Vec::new(),
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        Some(b'{') => {
            let value: serde_json::Value = crate::json_input::read(source, "what-if file", bytes)?;
            if terraform::is_plan(&value) {
                return terraform::changes(source, value, snapshot);
            }
            Err(InputError::new(
                source,
                "$",
                "expected a change list (a JSON array), a Terraform plan (`terraform show -json PLAN`, with `terraform_version` and `resource_changes`) or a CfCT manifest.yaml",
            ))
        }
        Some(b'[') | None => parse(source, bytes).map(changes_only),
        Some(_) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| InputError::new(source, "", "not UTF-8 text"))?;
            if bytes.len() > crate::json_input::MAX_INPUT_BYTES || !cfct::is_manifest(text) {
                return parse(source, bytes).map(changes_only);
            }
            cfct::changes(source, text, snapshot, read_file)
        }
    }
}

/// Parses a change list; `source` names the file in errors. Reading is strict
/// ([`crate::json_input`]): each change must be an object, keys must not repeat.
pub fn parse(source: &str, bytes: &[u8]) -> Result<Vec<Change>, InputError> {
    crate::json_input::read(source, "what-if file", bytes)
}

/// Applies changes to a copy of the snapshot and validates the result.
///
/// Errors point into the what-if file (`$[2].content.Statement[0].Effect`, `$[0].targetId`):
/// each change is checked for what validating the changed snapshot would refuse (a policy
/// document, a policy id, a target) before it is applied, so a problem a change brings in is
/// reported at that change, never at the place it would land in the snapshot.
pub fn apply(
    source: &str,
    snapshot: &Snapshot,
    changes: &[Change],
) -> Result<ValidSnapshot, InputError> {
    let mut next = snapshot.clone();
    for (i, change) in changes.iter().enumerate() {
        check_change(source, &format!("$[{i}]"), &next, change)?;
        apply_one(&mut next, change)
            .map_err(|message| InputError::new(source, format!("$[{i}]"), message))?;
    }
    crate::snapshot::validate(source, next)
}

/// What snapshot validation would refuse in one change, reported at the change (`at`).
fn check_change(
    source: &str,
    at: &str,
    snapshot: &Snapshot,
    change: &Change,
) -> Result<(), InputError> {
    let target = |path: String, id: &str| {
        if crate::snapshot::is_target(snapshot, id) {
            Ok(())
        } else {
            Err(InputError::new(
                source,
                path,
                format!("target `{id}` is not a root, OU or account in the snapshot"),
            ))
        }
    };
    match change {
        Change::Attach { target_id, .. } => target(format!("{at}.targetId"), target_id),
        Change::Detach { .. } => Ok(()),
        Change::Update {
            policy_id,
            content,
            name,
        } => {
            let name = name
                .as_deref()
                .or_else(|| {
                    snapshot
                        .policies
                        .iter()
                        .find(|p| &p.id == policy_id)
                        .map(|p| p.name.as_str())
                })
                .unwrap_or_default();
            // An uninterpretable document is applied like any other (its targets become
            // `unknown`); a malformed one is refused here.
            crate::snapshot::load_policy(policy_id, name, content)
                .map_err(|e| e.at(source, &format!("{at}.content")))?;
            Ok(())
        }
        Change::Create {
            policy_id,
            name,
            content,
            targets,
        } => {
            if let Some(id) = policy_id
                && !crate::ids::is_policy_id(id)
            {
                return Err(InputError::new(
                    source,
                    format!("{at}.policyId"),
                    format!("`{id}` is not a policy id (p-…)"),
                ));
            }
            let id = policy_id
                .clone()
                .unwrap_or_else(|| next_policy_id(snapshot));
            crate::snapshot::load_policy(&id, name, content)
                .map_err(|e| e.at(source, &format!("{at}.content")))?;
            for (t, id) in targets.iter().enumerate() {
                target(format!("{at}.targets[{t}]"), id)?;
            }
            Ok(())
        }
    }
}

/// Applies one change in place; the message says what is wrong.
pub fn apply_one(snapshot: &mut Snapshot, change: &Change) -> Result<(), String> {
    let find = |snapshot: &mut Snapshot, id: &str| -> Result<usize, String> {
        snapshot
            .policies
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| format!("policy `{id}` is not in the snapshot"))
    };
    match change {
        Change::Attach {
            policy_id,
            target_id,
        } => {
            let index = find(snapshot, policy_id)?;
            let policy = &mut snapshot.policies[index];
            if policy.targets.contains(target_id) {
                return Err(format!(
                    "policy `{policy_id}` is already attached to `{target_id}`"
                ));
            }
            policy.targets.push(target_id.clone());
        }
        Change::Detach {
            policy_id,
            target_id,
        } => {
            let index = find(snapshot, policy_id)?;
            let policy = &mut snapshot.policies[index];
            let before = policy.targets.len();
            policy.targets.retain(|t| t != target_id);
            if policy.targets.len() == before {
                return Err(format!(
                    "policy `{policy_id}` is not attached to `{target_id}`"
                ));
            }
        }
        Change::Update {
            policy_id,
            content,
            name,
        } => {
            let index = find(snapshot, policy_id)?;
            let policy = &mut snapshot.policies[index];
            policy.content = content.clone();
            if let Some(name) = name {
                policy.name = name.clone();
            }
        }
        Change::Create {
            policy_id,
            name,
            content,
            targets,
        } => {
            let id = match policy_id {
                Some(id) => id.clone(),
                None => next_policy_id(snapshot),
            };
            if snapshot.policies.iter().any(|p| p.id == id) {
                return Err(format!("policy `{id}` already exists"));
            }
            snapshot.policies.push(PolicyRecord {
                id,
                name: name.clone(),
                aws_managed: false,
                policy_type: "SERVICE_CONTROL_POLICY".to_string(),
                content: content.clone(),
                targets: targets.clone(),
            });
        }
    }
    Ok(())
}

/// A policy id not yet used in the snapshot (`p-whatif01`, `p-whatif02`, …).
pub fn next_policy_id(snapshot: &Snapshot) -> String {
    (1..)
        .map(|n| format!("p-whatif{n:02}"))
        .find(|id| !snapshot.policies.iter().any(|p| &p.id == id))
        .unwrap_or_else(|| "p-whatif00".to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use crate::snapshot::Snapshot;

    /// The blog scenario the what-if readers' tests map changes against.
    pub(crate) fn blog() -> Snapshot {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/blog/snapshot.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }
}
