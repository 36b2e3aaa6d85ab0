//! `--what-if` from a Terraform plan (`terraform show -json PLAN`, contract §7): the planned
//! `aws_organizations_policy`, `aws_organizations_policy_attachment`,
//! `aws_organizations_organizational_unit` and `aws_organizations_account` changes, turned into
//! the change list [`super::apply`] takes.
//!
//! Ids known only after apply (a policy the plan creates, then attaches) are resolved through
//! the plan's `configuration` references: an attachment whose `policy_id` refers to a created
//! policy becomes a target of that policy's `create`. Whatever cannot be mapped (a new or moved
//! OU or account, a reference to a resource with several instances, content known only at
//! apply) is an input error naming the resource address: a what-if that silently skipped part of
//! a change could pass a change that breaks CRIS.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::Change;
use crate::error::InputError;
use crate::snapshot::{PolicyContent, Snapshot};

const POLICY: &str = "aws_organizations_policy";
const ATTACHMENT: &str = "aws_organizations_policy_attachment";
const OU: &str = "aws_organizations_organizational_unit";
const ACCOUNT: &str = "aws_organizations_account";

/// Whether a JSON object looks like a Terraform plan rather than a change list.
pub(super) fn is_plan(value: &Value) -> bool {
    value.get("terraform_version").is_some() || value.get("resource_changes").is_some()
}

#[derive(Deserialize)]
struct Plan {
    #[serde(default)]
    resource_changes: Vec<ResourceChange>,
    #[serde(default)]
    configuration: Option<Configuration>,
}

#[derive(Deserialize)]
struct ResourceChange {
    address: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    change: PlannedChange,
}

#[derive(Deserialize)]
struct PlannedChange {
    actions: Vec<String>,
    #[serde(default)]
    before: Option<Value>,
    #[serde(default)]
    after: Option<Value>,
    #[serde(default)]
    after_unknown: Option<Value>,
}

#[derive(Deserialize)]
struct Configuration {
    root_module: Module,
}

#[derive(Deserialize, Default)]
struct Module {
    #[serde(default)]
    resources: Vec<ConfigResource>,
    #[serde(default)]
    module_calls: BTreeMap<String, ModuleCall>,
}

#[derive(Deserialize)]
struct ModuleCall {
    #[serde(default)]
    module: Module,
}

#[derive(Deserialize)]
struct ConfigResource {
    address: String,
    #[serde(default)]
    expressions: BTreeMap<String, Value>,
}

/// What the plan does to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Create,
    Update,
    Delete,
    Replace,
}

fn action(actions: &[String]) -> Option<Action> {
    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
    Some(match actions.as_slice() {
        ["no-op"] | ["read"] => Action::Keep,
        ["create"] => Action::Create,
        ["update"] => Action::Update,
        ["delete"] | ["forget"] => Action::Delete,
        ["delete", "create"] | ["create", "delete"] => Action::Replace,
        _ => return None,
    })
}

impl PlannedChange {
    fn known(&self, key: &str) -> Option<&str> {
        let unknown = self
            .after_unknown
            .as_ref()
            .and_then(|u| u.get(key))
            .is_some_and(|u| u == &Value::Bool(true));
        if unknown {
            return None;
        }
        self.after.as_ref()?.get(key)?.as_str()
    }

    fn before(&self, key: &str) -> Option<&str> {
        self.before.as_ref()?.get(key)?.as_str()
    }
}

/// A policy resource of the plan.
enum PlannedPolicy {
    /// Kept or updated in place: its id.
    Existing(String),
    /// Created (or the new half of a replacement): index into `creates`.
    Created(usize),
    /// Not an SCP (tag, backup, AI opt-out policy): nothing to evaluate.
    Other,
}

/// `module.a.aws_x.y["k"]` → `module.a.aws_x.y` (the configuration's address).
fn config_address(address: &str) -> &str {
    match address.rfind('[') {
        Some(at) if address.ends_with(']') => &address[..at],
        _ => address,
    }
}

/// Every configured resource by full address (module prefix included), with the module prefix
/// its references are relative to.
fn configured(plan: &Plan) -> BTreeMap<String, (String, &ConfigResource)> {
    fn walk<'p>(
        module: &'p Module,
        prefix: &str,
        out: &mut BTreeMap<String, (String, &'p ConfigResource)>,
    ) {
        for resource in &module.resources {
            out.insert(
                format!("{prefix}{}", resource.address),
                (prefix.to_string(), resource),
            );
        }
        for (name, call) in &module.module_calls {
            walk(&call.module, &format!("{prefix}module.{name}."), out);
        }
    }
    let mut out = BTreeMap::new();
    if let Some(configuration) = &plan.configuration {
        walk(&configuration.root_module, "", &mut out);
    }
    out
}

/// Maps a Terraform plan to what-if changes against `snapshot`.
pub(super) fn changes(
    source: &str,
    plan: Value,
    snapshot: &Snapshot,
) -> Result<Vec<Change>, InputError> {
    let plan: Plan = serde_path_to_error::deserialize(plan).map_err(|err| {
        InputError::new(
            source,
            format!("$.{}", err.path()),
            format!(
                "not a Terraform plan (`terraform show -json`): {}",
                err.inner()
            ),
        )
    })?;
    let config = configured(&plan);
    let err = |address: &str, message: String| {
        InputError::new(source, format!("resource {address}"), message)
    };
    let managed = |rc: &&ResourceChange| rc.mode.as_deref().is_none_or(|m| m == "managed");

    let mut updates = Vec::new();
    let mut detaches: BTreeSet<(String, String)> = BTreeSet::new();
    let mut creates: Vec<(String, PolicyContent, Vec<String>)> = Vec::new();
    let mut attaches: BTreeSet<(String, String)> = BTreeSet::new();
    let mut policies: BTreeMap<&str, PlannedPolicy> = BTreeMap::new();
    let mut containers: BTreeMap<&str, Option<String>> = BTreeMap::new();
    // Ids of planned policies that are not SCPs: their attachments do not matter here.
    let mut other_ids: BTreeSet<String> = BTreeSet::new();

    let attached_to = |id: &str| -> Vec<String> {
        snapshot
            .policies
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.targets.clone())
            .unwrap_or_default()
    };

    for rc in plan.resource_changes.iter().filter(managed) {
        let Some(action) = action(&rc.change.actions) else {
            return Err(err(
                &rc.address,
                format!("unexpected actions {:?}", rc.change.actions),
            ));
        };
        match rc.kind.as_str() {
            POLICY => {
                let side = if action == Action::Delete {
                    rc.change.before.as_ref()
                } else {
                    rc.change.after.as_ref()
                };
                let policy_type = side
                    .and_then(|s| s.get("type"))
                    .and_then(Value::as_str)
                    .unwrap_or("SERVICE_CONTROL_POLICY");
                if policy_type != "SERVICE_CONTROL_POLICY" {
                    other_ids.extend(rc.change.before("id").map(str::to_string));
                    policies.insert(&rc.address, PlannedPolicy::Other);
                    continue;
                }
                let old_id = rc.change.before("id").map(str::to_string);
                let new_content = || -> Result<(String, PolicyContent), InputError> {
                    let content = rc.change.known("content").ok_or_else(|| {
                        err(
                            &rc.address,
                            "its `content` is known only after apply (write the policy document in the configuration, e.g. with jsonencode of literals or a file)".into(),
                        )
                    })?;
                    let name = rc.change.known("name").unwrap_or("terraform-policy");
                    Ok((name.to_string(), PolicyContent::Text(content.to_string())))
                };
                let need_old = || {
                    old_id
                        .clone()
                        .ok_or_else(|| err(&rc.address, "its prior `id` is not in the plan".into()))
                };
                match action {
                    Action::Keep => {
                        policies.insert(&rc.address, PlannedPolicy::Existing(need_old()?));
                    }
                    Action::Update => {
                        let id = need_old()?;
                        let (name, content) = new_content()?;
                        updates.push(Change::Update {
                            policy_id: id.clone(),
                            content,
                            name: Some(name),
                        });
                        policies.insert(&rc.address, PlannedPolicy::Existing(id));
                    }
                    Action::Create | Action::Replace => {
                        if action == Action::Replace {
                            let id = need_old()?;
                            for target in attached_to(&id) {
                                detaches.insert((id.clone(), target));
                            }
                        }
                        let (name, content) = new_content()?;
                        creates.push((name, content, Vec::new()));
                        policies.insert(&rc.address, PlannedPolicy::Created(creates.len() - 1));
                    }
                    Action::Delete => {
                        let id = need_old()?;
                        if !snapshot.policies.iter().any(|p| p.id == id) {
                            return Err(err(
                                &rc.address,
                                format!("deletes policy `{id}`, which is not in the snapshot"),
                            ));
                        }
                        for target in attached_to(&id) {
                            detaches.insert((id.clone(), target));
                        }
                    }
                }
            }
            OU | ACCOUNT => {
                let moved = rc.kind == ACCOUNT
                    && action == Action::Update
                    && rc.change.before("parent_id") != rc.change.known("parent_id");
                match action {
                    Action::Keep | Action::Update if !moved => {
                        containers.insert(&rc.address, rc.change.before("id").map(str::to_string));
                    }
                    _ => {
                        let what = if rc.kind == OU { "OU" } else { "account" };
                        return Err(err(
                            &rc.address,
                            format!(
                                "creates, deletes or moves an {what}; the what-if can only change policies and attachments (evaluate the plan after that part is applied)"
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    for rc in plan.resource_changes.iter().filter(managed) {
        if rc.kind != ATTACHMENT {
            continue;
        }
        let action = action(&rc.change.actions).unwrap_or(Action::Keep);
        if matches!(action, Action::Delete | Action::Replace) {
            match (rc.change.before("policy_id"), rc.change.before("target_id")) {
                (Some(policy), Some(target)) => {
                    detaches.insert((policy.to_string(), target.to_string()));
                }
                _ => {
                    return Err(err(
                        &rc.address,
                        "its prior `policy_id` and `target_id` are not in the plan".into(),
                    ));
                }
            }
        }
        if !matches!(action, Action::Create | Action::Replace) {
            continue;
        }
        let reference = |key: &str, kinds: &[&str]| -> Result<Option<String>, InputError> {
            let Some((prefix, resource)) = config.get(config_address(&rc.address)) else {
                return Ok(None);
            };
            let refs = resource
                .expressions
                .get(key)
                .and_then(|e| e.get("references"))
                .and_then(Value::as_array);
            for r in refs.into_iter().flatten().filter_map(Value::as_str) {
                // `aws_organizations_policy.x.id`, `aws_organizations_policy.x[0].id`, ...
                let mut parts = r.splitn(3, '.');
                let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
                    continue;
                };
                if kinds.contains(&kind) {
                    return Ok(Some(format!("{prefix}{kind}.{name}")));
                }
            }
            Ok(None)
        };
        enum PolicyRef {
            Id(String),
            Created(usize),
            Other,
        }
        let policy = match rc.change.known("policy_id") {
            Some(id) => PolicyRef::Id(id.to_string()),
            None => {
                let address = reference("policy_id", &[POLICY])?.ok_or_else(|| {
                    err(
                        &rc.address,
                        "its `policy_id` is known only after apply and refers to no `aws_organizations_policy` of the plan".into(),
                    )
                })?;
                match policies.get(address.as_str()) {
                    Some(PlannedPolicy::Existing(id)) => PolicyRef::Id(id.clone()),
                    Some(PlannedPolicy::Created(index)) => PolicyRef::Created(*index),
                    Some(PlannedPolicy::Other) => PolicyRef::Other,
                    None => {
                        return Err(err(
                            &rc.address,
                            format!(
                                "its `policy_id` refers to `{address}`, which is not one resource of the plan (several instances, or not planned)"
                            ),
                        ));
                    }
                }
            }
        };
        let target = match rc.change.known("target_id") {
            Some(id) => id.to_string(),
            None => {
                let address = reference("target_id", &[OU, ACCOUNT])?;
                match address.as_deref().and_then(|a| containers.get(a)) {
                    Some(Some(id)) => id.clone(),
                    _ => {
                        return Err(err(
                            &rc.address,
                            "its `target_id` is known only after apply and refers to no existing OU or account of the plan".into(),
                        ));
                    }
                }
            }
        };
        match policy {
            PolicyRef::Id(id) if other_ids.contains(&id) => {}
            PolicyRef::Id(id) => {
                if !snapshot.policies.iter().any(|p| p.id == id) {
                    return Err(err(
                        &rc.address,
                        format!(
                            "attaches policy `{id}`, which is not in the snapshot (take a fresh snapshot)"
                        ),
                    ));
                }
                attaches.insert((id, target));
            }
            PolicyRef::Created(index) => {
                if let Some((_, _, targets)) = creates.get_mut(index) {
                    targets.push(target);
                }
            }
            PolicyRef::Other => {}
        }
    }

    let attached = |policy: &str, target: &str| {
        snapshot
            .policies
            .iter()
            .any(|p| p.id == policy && p.targets.iter().any(|t| t == target))
    };
    // A pair detached and attached again (an attachment replaced in place) stays attached.
    let both: BTreeSet<(String, String)> = detaches.intersection(&attaches).cloned().collect();
    let mut out = updates;
    out.extend(
        detaches
            .iter()
            .filter(|pair| !both.contains(*pair) && attached(&pair.0, &pair.1))
            .map(|(policy_id, target_id)| Change::Detach {
                policy_id: policy_id.clone(),
                target_id: target_id.clone(),
            }),
    );
    out.extend(
        creates
            .into_iter()
            .map(|(name, content, targets)| Change::Create {
                policy_id: None,
                name,
                content,
                targets,
            }),
    );
    out.extend(
        attaches
            .iter()
            // An attachment the snapshot already has (state older than the org) changes nothing.
            .filter(|pair| !both.contains(*pair) && !attached(&pair.0, &pair.1))
            .map(|(policy_id, target_id)| Change::Attach {
                policy_id: policy_id.clone(),
                target_id: target_id.clone(),
            }),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    use crate::what_if::tests::blog;

    fn rc(address: &str, kind: &str, actions: &[&str], before: Value, after: Value) -> Value {
        json!({"address": address, "mode": "managed", "type": kind,
               "change": {"actions": actions, "before": before, "after": after,
                          "after_unknown": {"id": true, "policy_id": after.get("policy_id").is_none()}}})
    }

    fn plan(resource_changes: Vec<Value>, configuration: Value) -> Value {
        json!({"format_version": "1.2", "terraform_version": "1.9.8",
               "resource_changes": resource_changes, "configuration": configuration})
    }

    #[test]
    fn references_inside_a_module_resolve_to_the_module_s_policy() {
        let content = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let p = plan(
            vec![
                rc(
                    "module.org.aws_organizations_policy.x",
                    POLICY,
                    &["create"],
                    Value::Null,
                    json!({"name": "x", "content": content}),
                ),
                rc(
                    "module.org.aws_organizations_policy_attachment.a[\"ou\"]",
                    ATTACHMENT,
                    &["create"],
                    Value::Null,
                    json!({"target_id": "ou-ab12-11111111"}),
                ),
            ],
            json!({"root_module": {"module_calls": {"org": {"module": {"resources": [
                {"address": "aws_organizations_policy_attachment.a",
                 "expressions": {"policy_id": {"references": ["aws_organizations_policy.x.id", "aws_organizations_policy.x"]}}}
            ]}}}}}),
        );
        let changes = changes("plan.json", p, &blog()).unwrap();
        assert_eq!(
            changes,
            vec![Change::Create {
                policy_id: None,
                name: "x".into(),
                content: PolicyContent::Text(content.into()),
                targets: vec!["ou-ab12-11111111".into()],
            }]
        );
    }

    #[test]
    fn a_deleted_policy_is_detached_from_every_target_once() {
        let p = plan(
            vec![
                rc(
                    "aws_organizations_policy.deny",
                    POLICY,
                    &["delete"],
                    json!({"id": "p-abcd1234", "type": "SERVICE_CONTROL_POLICY"}),
                    Value::Null,
                ),
                rc(
                    "aws_organizations_policy_attachment.sandbox",
                    ATTACHMENT,
                    &["delete"],
                    json!({"policy_id": "p-abcd1234", "target_id": "ou-ab12-11111111"}),
                    Value::Null,
                ),
            ],
            json!({"root_module": {}}),
        );
        let changes = changes("plan.json", p, &blog()).unwrap();
        let detached: Vec<&str> = changes
            .iter()
            .map(|c| match c {
                Change::Detach { target_id, .. } => target_id.as_str(),
                _ => "other",
            })
            .collect();
        assert_eq!(detached, ["ou-ab12-11111111", "ou-ab12-22222222"]);
    }

    #[test]
    fn an_attachment_replaced_in_place_changes_nothing() {
        let pair = json!({"policy_id": "p-abcd1234", "target_id": "ou-ab12-11111111"});
        let p = plan(
            vec![rc(
                "aws_organizations_policy_attachment.a",
                ATTACHMENT,
                &["delete", "create"],
                pair.clone(),
                pair,
            )],
            json!({"root_module": {}}),
        );
        assert_eq!(changes("plan.json", p, &blog()).unwrap(), vec![]);
    }

    #[test]
    fn a_moved_account_is_refused_with_its_address() {
        let p = plan(
            vec![rc(
                "aws_organizations_account.dev",
                ACCOUNT,
                &["update"],
                json!({"id": "222222222222", "parent_id": "ou-ab12-11111111"}),
                json!({"id": "222222222222", "parent_id": "ou-ab12-22222222"}),
            )],
            json!({"root_module": {}}),
        );
        let err = changes("plan.json", p, &blog()).unwrap_err().to_string();
        assert!(
            err.contains("resource aws_organizations_account.dev"),
            "{err}"
        );
    }
}
