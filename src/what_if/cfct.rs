//! `--what-if` from a Customizations for Control Tower `manifest.yaml` (version 2021-03-15,
//! contract §7): each `deploy_method: scp` resource is the SCP named after it, with the
//! document in its `resource_file` (relative to the manifest) attached to exactly the OUs its
//! `deployment_targets` name, as CfCT's pipeline would leave it.
//!
//! OUs are names resolved against the snapshot: `Sandbox` (a top-level OU, or the one OU of that
//! name) or a nested path without Root, `Workloads:Prod` (CfCT's separator is a colon). An OU
//! that is not in the snapshot, an ambiguous name, a resource file on S3 and accounts as SCP
//! targets are input errors naming the resource.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Change;
use crate::error::InputError;
use crate::snapshot::{PolicyContent, Snapshot};

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    name: String,
    #[serde(default)]
    resource_file: Option<String>,
    #[serde(default)]
    deploy_method: Option<String>,
    #[serde(default)]
    deployment_targets: Option<Targets>,
}

#[derive(Deserialize, Default)]
struct Targets {
    #[serde(default)]
    organizational_units: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

/// Whether the text looks like a CfCT manifest (YAML with a `resources` section).
pub(super) fn is_manifest(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("resources:") || l.starts_with("version:"))
}

/// Resolves a CfCT OU name or `A:B:C` path (without Root) to an OU id of the snapshot.
fn ou_id(snapshot: &Snapshot, name: &str) -> Result<String, String> {
    let roots: BTreeSet<&str> = snapshot.roots.iter().map(|r| r.id.as_str()).collect();
    let children = |parent: Option<&str>, name: &str| -> Vec<&str> {
        snapshot
            .organizational_units
            .iter()
            .filter(|ou| ou.name == name)
            .filter(|ou| match parent {
                Some(p) => ou.parent_id == p,
                None => roots.contains(ou.parent_id.as_str()),
            })
            .map(|ou| ou.id.as_str())
            .collect()
    };
    let mut parts = name.split(':');
    let first = parts.next().unwrap_or_default();
    let mut current: Vec<&str> = children(None, first);
    let nested = name.contains(':');
    if current.is_empty() && !nested {
        // A plain name of an OU deeper down: accepted when it is the only one of that name.
        current = snapshot
            .organizational_units
            .iter()
            .filter(|ou| ou.name == first)
            .map(|ou| ou.id.as_str())
            .collect();
    }
    for part in parts {
        current = current
            .iter()
            .flat_map(|p| children(Some(p), part))
            .collect();
    }
    match current.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => Err(format!("OU `{name}` is not in the snapshot")),
        _ => Err(format!(
            "OU name `{name}` is ambiguous in the snapshot; write its path without Root, e.g. `Parent:{name}`"
        )),
    }
}

/// Maps a CfCT manifest to what-if changes against `snapshot`. `read_file` reads a
/// `resource_file` path as written in the manifest (the caller resolves it against the
/// manifest's folder).
pub(super) fn changes(
    source: &str,
    text: &str,
    snapshot: &Snapshot,
    read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<super::WhatIfInput, InputError> {
    let manifest: Manifest = serde_saphyr::from_str(text).map_err(|err| {
        InputError::new(
            source,
            "",
            format!(
                "not a CfCT manifest.yaml: {}",
                err.to_string().lines().next().unwrap_or_default()
            ),
        )
    })?;
    let mut out = Vec::new();
    let mut policy_files = Vec::new();
    for (index, resource) in manifest.resources.iter().enumerate() {
        if resource.deploy_method.as_deref() != Some("scp") {
            continue;
        }
        let at = format!("resources[{index}] ({})", resource.name);
        let err = |message: String| InputError::new(source, at.clone(), message);
        let targets = resource.deployment_targets.as_ref();
        if targets.is_some_and(|t| !t.accounts.is_empty()) {
            return Err(err(
                "lists accounts as SCP targets; CfCT deploys SCPs to OUs only".into(),
            ));
        }
        let mut ou_ids = Vec::new();
        for name in targets
            .map(|t| t.organizational_units.as_slice())
            .unwrap_or_default()
        {
            ou_ids.push(ou_id(snapshot, name).map_err(err)?);
        }
        let file = resource
            .resource_file
            .as_deref()
            .ok_or_else(|| err("has no `resource_file`".into()))?;
        if file.starts_with("s3://") || file.starts_with("https://") {
            return Err(err(format!(
                "its resource_file `{file}` is on S3; download it next to the manifest and point resource_file at it"
            )));
        }
        let bytes = read_file(file).map_err(|e| err(format!("resource_file `{file}`: {e}")))?;
        let content = String::from_utf8(bytes)
            .map_err(|_| err(format!("resource_file `{file}` is not UTF-8 text")))?;
        let content = PolicyContent::Text(content);
        policy_files.push((resource.name.clone(), file.to_string()));
        match snapshot.policies.iter().find(|p| p.name == resource.name) {
            Some(policy) => {
                out.push(Change::Update {
                    policy_id: policy.id.clone(),
                    content,
                    name: None,
                });
                // CfCT attaches the SCP to exactly the listed OUs and detaches it elsewhere.
                for target in policy.targets.iter().filter(|t| !ou_ids.contains(t)) {
                    out.push(Change::Detach {
                        policy_id: policy.id.clone(),
                        target_id: target.clone(),
                    });
                }
                for target in ou_ids.iter().filter(|t| !policy.targets.contains(t)) {
                    out.push(Change::Attach {
                        policy_id: policy.id.clone(),
                        target_id: target.clone(),
                    });
                }
            }
            None => out.push(Change::Create {
                policy_id: None,
                name: resource.name.clone(),
                content,
                targets: ou_ids,
            }),
        }
    }
    Ok(super::WhatIfInput {
        changes: out,
        policy_files,
        terraform_policies: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    use crate::what_if::tests::blog;

    fn files(_: &str) -> Result<Vec<u8>, String> {
        Ok(br#"{"Version":"2012-10-17","Statement":[]}"#.to_vec())
    }

    #[test]
    fn an_existing_scp_is_updated_and_attached_to_exactly_the_listed_ous() {
        let manifest = "region: us-east-1\nversion: 2021-03-15\nresources:\n  - name: aws-guardrails-AbCdEf\n    resource_file: policies/deny.json\n    deploy_method: scp\n    deployment_targets:\n      organizational_units:\n        - Sandbox\n";
        let read = changes("manifest.yaml", manifest, &blog(), &files).unwrap();
        assert_eq!(
            read.policy_files,
            [(
                "aws-guardrails-AbCdEf".to_string(),
                "policies/deny.json".to_string()
            )]
        );
        let changes = read.changes;
        assert!(
            matches!(&changes[0], Change::Update { policy_id, .. } if policy_id == "p-abcd1234")
        );
        assert_eq!(
            changes[1..],
            [Change::Detach {
                policy_id: "p-abcd1234".into(),
                target_id: "ou-ab12-22222222".into()
            }]
        );
    }

    #[test]
    fn stack_sets_are_not_policies_and_unknown_ous_are_named() {
        let manifest = "resources:\n  - name: logging\n    resource_file: templates/x.yaml\n    deploy_method: stack_set\n  - name: new-scp\n    resource_file: p.json\n    deploy_method: scp\n    deployment_targets:\n      organizational_units: [Workloads:Prod]\n";
        let err = changes("manifest.yaml", manifest, &blog(), &files)
            .unwrap_err()
            .to_string();
        assert!(err.contains("resources[1] (new-scp)"), "{err}");
        assert!(
            err.contains("`Workloads:Prod` is not in the snapshot"),
            "{err}"
        );
    }
}
