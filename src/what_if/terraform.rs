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

use super::{Change, WhatIfInput};
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
    source: Option<String>,
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

/// The directory of every module whose source is local, relative to the root module's, by
/// address prefix (`""` for the root, `module.scp.` for a call); registry and git modules have
/// no directory here.
fn module_dirs(plan: &Plan) -> BTreeMap<String, String> {
    fn walk(module: &Module, prefix: &str, dir: &str, out: &mut BTreeMap<String, String>) {
        out.insert(prefix.to_string(), dir.to_string());
        for (name, call) in &module.module_calls {
            let Some(source) = call.source.as_deref() else {
                continue;
            };
            if !(source.starts_with("./") || source.starts_with("../")) {
                continue;
            }
            let joined = if dir.is_empty() {
                source.trim_start_matches("./").to_string()
            } else {
                format!("{dir}/{}", source.trim_start_matches("./"))
            };
            walk(
                &call.module,
                &format!("{prefix}module.{name}."),
                &joined,
                out,
            );
        }
    }
    let mut out = BTreeMap::new();
    if let Some(configuration) = &plan.configuration {
        walk(&configuration.root_module, "", "", &mut out);
    }
    out
}

/// A planned `aws_organizations_policy` (SCP) and where its configuration lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformPolicy {
    pub policy_name: String,
    /// The resource's address without an instance key (`module.scp.aws_organizations_policy.deny`).
    pub address: String,
    /// The resource's name (`region_deny` of `aws_organizations_policy.region_deny`).
    pub resource_name: String,
    /// The module's directory relative to the root module's (`""` for the root); `None` for a
    /// module from a registry or repository, whose files are not in this checkout.
    pub module_dir: Option<String>,
}

/// Where a policy's document is written in a module's `.tf` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// `content = file("…")` (or `templatefile`): the path as written, `${path.module}/`
    /// dropped, relative to the module's directory.
    File(String),
    /// Inline (`jsonencode`, a heredoc): the `.tf` file (an index into the files given) and the
    /// byte offset of the `resource` block, where a search for the statement's `Sid` starts.
    Inline { file: usize, offset: usize },
}

/// Finds `resource "aws_organizations_policy" "<resource_name>"` among a module's `.tf` files
/// (`(path, text)`) and says where its document is written.
pub fn locate(resource_name: &str, files: &[(&str, &str)]) -> Option<PolicySource> {
    let header = format!("\"{POLICY}\" \"{resource_name}\"");
    for (index, (_, text)) in files.iter().enumerate() {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("resource")
                && rest
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .starts_with(&header)
            {
                let block = block_text(text.get(offset..)?);
                return Some(match content_file(block) {
                    Some(path) => PolicySource::File(path),
                    None => PolicySource::Inline {
                        file: index,
                        offset,
                    },
                });
            }
            offset += line.len();
        }
    }
    None
}

/// The text of the block starting at `text` (to its closing brace, or the end); braces in
/// quoted strings do not count.
fn block_text(text: &str) -> &str {
    let mut depth = 0usize;
    for (at, c) in code_chars(text) {
        match c {
            '{' => depth += 1,
            '}' if depth <= 1 => return text.get(..=at).unwrap_or(text),
            '}' => depth -= 1,
            _ => {}
        }
    }
    text
}

/// The characters of HCL text outside quoted strings, with their offsets.
fn code_chars(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.char_indices().filter(move |&(_, c)| {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            return false;
        }
        in_string = c == '"';
        !in_string
    })
}

/// The `resource` block that starts at `offset` of a `.tf` file (as [`locate`] gives it).
pub fn resource_block(text: &str, offset: usize) -> Option<&str> {
    Some(block_text(text.get(offset..)?))
}

/// `text` with the `content` attribute of the resource block at `offset` replaced by
/// `jsonencode(<document>)` (`document` is pretty JSON, which HCL reads as an object
/// expression); every other attribute of the block is kept. `None` when the block has no
/// `content` attribute.
pub fn with_content(text: &str, offset: usize, document: &str) -> Option<String> {
    let block = resource_block(text, offset)?;
    let mut at = 0;
    let (start, indent) = block.split_inclusive('\n').find_map(|line| {
        let here = at;
        at += line.len();
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix("content")?.trim_start();
        (rest.starts_with('=') && !rest.starts_with("==")).then(|| {
            let indent = &line[..line.len() - trimmed.len()];
            (here + indent.len(), indent)
        })
    })?;
    let value_at = start + block.get(start..)?.find('=')? + 1;
    let end = value_at + expression_len(block.get(value_at..)?);
    let encoded = jsonencode(document, indent);
    let block_at = offset;
    Some(format!(
        "{}content = {encoded}{}",
        text.get(..block_at + start)?,
        text.get(block_at + end..)?
    ))
}

/// `jsonencode(…)` of a pretty JSON document, continued at `indent`; `${` and `%{` are
/// escaped, since HCL would read them as interpolation (IAM policy variables are `${…}`).
pub fn jsonencode(document: &str, indent: &str) -> String {
    let escaped = document
        .trim_end()
        .replace("${", "$${")
        .replace("%{", "%%{");
    let body = escaped.replace('\n', &format!("\n{indent}"));
    format!("jsonencode({body})")
}

/// The length of the HCL expression at the start of `text`: a heredoc to its closing marker,
/// else up to the first newline outside brackets and strings.
fn expression_len(text: &str) -> usize {
    let lead = text.len() - text.trim_start_matches([' ', '\t']).len();
    if let Some(heredoc) = text[lead..].strip_prefix("<<") {
        let marker: String = heredoc
            .trim_start_matches('-')
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut at = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            at += line.len();
            // The first line opens the heredoc; the marker alone on a line closes it.
            if i > 0 && line.trim() == marker {
                return at - if line.ends_with('\n') { 1 } else { 0 };
            }
        }
        return text.len();
    }
    let mut depth = 0usize;
    for (at, c) in code_chars(text) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '\n' if depth == 0 => return at,
            _ => {}
        }
    }
    text.len()
}

/// The literal path of `content = file("…")` / `templatefile("…", …)` in a resource block.
fn content_file(block: &str) -> Option<String> {
    let line = block.lines().find(|l| {
        let l = l.trim_start();
        l.strip_prefix("content")
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    })?;
    let call = line.split_once('=')?.1.trim_start();
    let args = call
        .strip_prefix("file(")
        .or_else(|| call.strip_prefix("templatefile("))?
        .trim_start();
    let path = args.strip_prefix('"')?.split('"').next()?;
    let path = path.strip_prefix("${path.module}/").unwrap_or(path);
    (!path.contains("${")).then(|| path.to_string())
}

/// Maps a Terraform plan to what-if changes against `snapshot`.
pub(super) fn changes(
    source: &str,
    plan: Value,
    snapshot: &Snapshot,
) -> Result<WhatIfInput, InputError> {
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
    let dirs = module_dirs(&plan);
    let mut terraform_policies = Vec::new();
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
                if action != Action::Delete {
                    let address = config_address(&rc.address);
                    let (prefix, resource_name) = address
                        .rsplit_once(&format!("{POLICY}."))
                        .unwrap_or(("", address));
                    let policy_name = rc.change.known("name").or(rc.change.before("name"));
                    if let Some(policy_name) = policy_name {
                        terraform_policies.push(TerraformPolicy {
                            policy_name: policy_name.to_string(),
                            address: address.to_string(),
                            resource_name: resource_name.to_string(),
                            module_dir: dirs.get(prefix).cloned(),
                        });
                    }
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
    Ok(WhatIfInput {
        changes: out,
        policy_files: Vec::new(),
        terraform_policies,
    })
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
        let changes = changes("plan.json", p, &blog()).unwrap().changes;
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
        let changes = changes("plan.json", p, &blog()).unwrap().changes;
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
        assert_eq!(changes("plan.json", p, &blog()).unwrap().changes, vec![]);
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

    #[test]
    fn locate_finds_a_policy_written_in_a_file_or_inline() {
        let main = r#"
resource "aws_organizations_policy_attachment" "deny" {
  policy_id = aws_organizations_policy.deny.id
}
resource  "aws_organizations_policy"   "deny" {
  name    = "deny"
  content = file("${path.module}/policies/deny.json")
}
"#;
        let inline = "resource \"aws_organizations_policy\" \"inline\" {\n  content = jsonencode({ Statement = [{ Sid = \"X\" }] })\n}\n";
        let files = [("a.tf", inline), ("main.tf", main)];
        assert_eq!(
            locate("deny", &files),
            Some(PolicySource::File("policies/deny.json".into()))
        );
        assert_eq!(
            locate("inline", &files),
            Some(PolicySource::Inline { file: 0, offset: 0 })
        );
        assert_eq!(locate("missing", &files), None);
        // A path built from variables cannot be followed: the block itself is the location.
        let templated = "resource \"aws_organizations_policy\" \"t\" {\n  content = file(\"${var.dir}/p.json\")\n}\n";
        assert_eq!(
            locate("t", &[("t.tf", templated)]),
            Some(PolicySource::Inline { file: 0, offset: 0 })
        );
    }

    #[test]
    fn with_content_replaces_only_the_content_expression() {
        let tf = "resource \"aws_organizations_policy\" \"h\" {\n  name    = \"h\"\n  content = <<-EOT\n    {\"Statement\": []}\n  EOT\n  tags = { team = \"platform\" }\n}\n";
        let document = "{\n  \"Resource\": \"arn:aws:s3:::${aws:PrincipalTag/team}\"\n}\n";
        assert_eq!(
            with_content(tf, 0, document).unwrap(),
            "resource \"aws_organizations_policy\" \"h\" {\n  name    = \"h\"\n  content = jsonencode({\n    \"Resource\": \"arn:aws:s3:::$${aws:PrincipalTag/team}\"\n  })\n  tags = { team = \"platform\" }\n}\n"
        );
        let inline = "resource \"aws_organizations_policy\" \"i\" {\n  content = jsonencode({ S = \"}\\\"\", T = [\n  1] })\n  type = \"SERVICE_CONTROL_POLICY\"\n}\n";
        assert_eq!(
            with_content(inline, 0, "{}").unwrap(),
            "resource \"aws_organizations_policy\" \"i\" {\n  content = jsonencode({})\n  type = \"SERVICE_CONTROL_POLICY\"\n}\n"
        );
        assert_eq!(with_content("resource \"x\" \"y\" {\n}\n", 0, "{}"), None);
    }

    #[test]
    fn policies_name_their_resource_and_local_module_directory() {
        let plan = plan(
            vec![
                rc(
                    "module.scp.aws_organizations_policy.deny",
                    POLICY,
                    &["create"],
                    Value::Null,
                    json!({"name": "deny", "type": "SERVICE_CONTROL_POLICY", "content": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}),
                ),
                rc(
                    "module.remote.aws_organizations_policy.other",
                    POLICY,
                    &["create"],
                    Value::Null,
                    json!({"name": "other", "type": "SERVICE_CONTROL_POLICY", "content": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}),
                ),
            ],
            json!({"root_module": {"module_calls": {
                "scp": {"source": "./modules/scp", "module": {"resources": [{"address": "aws_organizations_policy.deny"}]}},
                "remote": {"source": "git::https://example.com/scp.git", "module": {"resources": [{"address": "aws_organizations_policy.other"}]}}
            }}}),
        );
        let input = changes("plan.json", plan, &blog()).unwrap();
        assert_eq!(
            input.terraform_policies,
            [
                TerraformPolicy {
                    policy_name: "deny".into(),
                    address: "module.scp.aws_organizations_policy.deny".into(),
                    resource_name: "deny".into(),
                    module_dir: Some("modules/scp".into()),
                },
                TerraformPolicy {
                    policy_name: "other".into(),
                    address: "module.remote.aws_organizations_policy.other".into(),
                    resource_name: "other".into(),
                    module_dir: None,
                },
            ]
        );
    }
}
