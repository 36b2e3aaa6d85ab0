//! Proposals for SCPs a Terraform plan manages (`--what-if` from a plan, contract §7): the
//! `aws organizations` commands that would edit or create such an SCP behind Terraform's back
//! are replaced by the edited `aws_organizations_policy` resource (its `file(…)` document or its
//! `.tf` file), new SCPs become resources with their `aws_organizations_policy_attachment`s, and
//! `apply` copies those files into the root module and runs `terraform plan` / `terraform
//! apply`. Pure: the CLI reads the `.tf` files.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::findings::Proposal;
use crate::snapshot::ValidSnapshot;
use crate::what_if::{self, Change};

use super::document;

/// An SCP of the plan and where its document is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    pub policy_name: String,
    /// The resource address (`module.scp.aws_organizations_policy.deny`).
    pub address: String,
    pub source: ManagedSource,
    /// The plan creates it: its id in the what-if is a placeholder (`p-whatif01`), which the
    /// proposal's summary replaces by the address.
    pub created: bool,
}

/// Where a managed policy's document is written, paths relative to the root module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedSource {
    /// `content = file("…")`: the document's file.
    File(String),
    /// Inline (`jsonencode`, a heredoc): the `.tf` file, its text and the resource block's
    /// offset in it.
    Inline {
        path: String,
        text: String,
        offset: usize,
    },
    /// Not in this checkout (a module from a registry or repository, or not found).
    Elsewhere,
}

/// A managed policy written inline: its block's offset and its new document (pretty).
type Edit<'m> = (usize, String, &'m ManagedPolicy);

/// Where the output files of the Terraform route live in a proposal's directory.
const PREFIX: &str = "terraform/";
/// The saved plan `apply` reviews and applies.
const PLAN_FILE: &str = "cris-guard.tfplan";

/// Rewrites every proposal whose `apply` edits a policy of `managed` with `aws organizations
/// update-policy`, or creates one with `create-policy`, to go through Terraform instead. Other
/// commands (other policies, Control Tower steps) are kept as they are.
pub fn through_terraform(
    proposals: &mut [Proposal],
    snapshot: &ValidSnapshot,
    managed: &[ManagedPolicy],
) {
    for proposal in proposals {
        rewrite(proposal, snapshot, managed);
    }
}

fn rewrite(proposal: &mut Proposal, snapshot: &ValidSnapshot, managed: &[ManagedPolicy]) {
    let Some(artifact) = proposal.artifact.as_mut().and_then(Value::as_object_mut) else {
        return;
    };
    let changes: Vec<Change> = artifact
        .get("whatIf")
        .and_then(|w| serde_json::from_value(w.clone()).ok())
        .unwrap_or_default();
    let mut files = match artifact.remove("files") {
        Some(Value::Object(files)) => files,
        _ => Map::new(),
    };
    let mut apply: Vec<Option<String>> = proposal.apply.lines().map(|l| Some(l.into())).collect();
    let mut resources = Vec::new();
    let mut tf_edits: BTreeMap<&str, (&str, Vec<Edit>)> = BTreeMap::new();
    // Where each rewritten file is copied, at the first command it replaces.
    let mut copies: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut notes = Vec::new();
    // The resources each new SCP adds, by the command it replaces.
    let mut created: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for change in &changes {
        match change {
            Change::Update { policy_id, .. } => {
                let Some(policy) = snapshot
                    .snapshot
                    .policies
                    .iter()
                    .find(|p| &p.id == policy_id)
                else {
                    continue;
                };
                let Some(tf) = managed.iter().find(|m| m.policy_name == policy.name) else {
                    continue;
                };
                let command = format!("aws organizations update-policy --policy-id {policy_id} ");
                let Some(line) = find_line(&apply, |l| l.starts_with(&command)) else {
                    continue;
                };
                let Some(old) = apply[line].as_deref().and_then(file_argument) else {
                    continue;
                };
                let Some(pretty) = files.get(&old).and_then(Value::as_str).and_then(pretty) else {
                    continue;
                };
                notes.push(format!("{} ({})", policy.name, tf.address));
                if tf.created {
                    proposal.summary = proposal.summary.replace(
                        policy_id.as_str(),
                        &format!("{}, created by the plan", tf.address),
                    );
                }
                match &tf.source {
                    ManagedSource::File(path) => {
                        files.remove(&old);
                        let key = output_name(path);
                        resources.push(json!({"address": tf.address, "policyName": tf.policy_name,
                            "change": "update", "contentFile": path, "content": pretty, "file": key}));
                        files.insert(key.clone(), Value::String(pretty));
                        apply[line] = None;
                        copies.entry(line).or_default().push(copy(&key, path));
                    }
                    ManagedSource::Inline { path, text, offset } => {
                        files.remove(&old);
                        apply[line] = None;
                        let edits = &mut tf_edits.entry(path).or_insert((text, Vec::new())).1;
                        if edits.is_empty() {
                            copies
                                .entry(line)
                                .or_default()
                                .push(copy(&output_name(path), path));
                        }
                        edits.push((*offset, pretty, tf));
                    }
                    ManagedSource::Elsewhere => {
                        files.insert(old.clone(), Value::String(pretty));
                        resources.push(json!({"address": tf.address, "policyName": tf.policy_name,
                            "change": "update", "file": old}));
                        apply[line] = Some(format!(
                            "# {} is written in a module outside this checkout: set its content to the document in file://{old} there",
                            tf.address
                        ));
                    }
                }
            }
            Change::Create {
                name,
                content,
                targets,
                ..
            } => {
                let command =
                    format!("NEW_POLICY_ID=$(aws organizations create-policy --name {name} ");
                let Some(line) = find_line(&apply, |l| l.starts_with(&command)) else {
                    continue;
                };
                let Some(pretty) = pretty(&content.text()) else {
                    continue;
                };
                if let Some(old) = apply[line].as_deref().and_then(file_argument) {
                    files.remove(&old);
                }
                apply[line] = None;
                for next in apply.iter_mut().skip(line + 1) {
                    if !next.as_deref().is_some_and(|l| {
                        l.starts_with(
                            "aws organizations attach-policy --policy-id \"$NEW_POLICY_ID\"",
                        )
                    }) {
                        break;
                    }
                    *next = None;
                }
                let resource = identifier(name);
                let path = format!("{resource}.tf");
                let key = output_name(&path);
                let text = new_resources(&resource, name, &pretty, targets);
                resources.push(json!({"address": format!("aws_organizations_policy.{resource}"),
                    "policyName": name, "change": "create", "tfFile": path, "block": text, "file": key}));
                files.insert(key.clone(), Value::String(text));
                copies.entry(line).or_default().push(copy(&key, &path));
                let addresses = std::iter::once(format!("aws_organizations_policy.{resource}"))
                    .chain(targets.iter().map(|t| attachment_address(&resource, t)));
                created.entry(line).or_default().extend(addresses);
                notes.push(format!("{name} (aws_organizations_policy.{resource})"));
            }
            Change::Attach { .. } | Change::Detach { .. } => {}
        }
    }
    for (path, (text, mut edits)) in tf_edits {
        // From the end of the file, so the offsets of the blocks before stay valid.
        edits.sort_by_key(|(offset, ..)| std::cmp::Reverse(*offset));
        let mut edited = text.to_string();
        for (offset, pretty, tf) in edits {
            let Some(next) = what_if::with_content(&edited, offset, &pretty) else {
                continue;
            };
            edited = next;
            let block = what_if::resource_block(&edited, offset).unwrap_or_default();
            resources.push(json!({"address": tf.address, "policyName": tf.policy_name,
                "change": "update", "tfFile": path, "block": block, "file": output_name(path)}));
        }
        files.insert(output_name(path), Value::String(edited));
    }
    artifact.insert("files".into(), Value::Object(files));
    if resources.is_empty() {
        return;
    }
    artifact.insert("terraform".into(), json!({ "resources": resources }));
    let mut lines = Vec::new();
    let mut first = true;
    for (at, line) in apply.into_iter().enumerate() {
        if let Some(commands) = copies.remove(&at) {
            if first {
                lines.push(
                    "# In the Terraform root module (the directory of the plan): the edited configuration, then a reviewed plan".to_string(),
                );
                first = false;
            }
            lines.extend(commands);
            // A policy edited later may lose statements to the new SCP: the new SCP is in
            // place first, as with the commands it replaces (one plan has no such order).
            if let Some(addresses) = created.remove(&at)
                && !copies.is_empty()
            {
                lines.push(
                    "# First the new SCP and its attachments, so nothing opens in between"
                        .to_string(),
                );
                let targets: Vec<String> =
                    addresses.iter().map(|a| format!("-target={a}")).collect();
                lines.push(format!("terraform apply {}", targets.join(" ")));
            }
        }
        lines.extend(line);
    }
    // The edits are valid HCL but not in `terraform fmt`'s layout.
    lines.push("terraform fmt".to_string());
    lines.push(format!("terraform plan -out={PLAN_FILE}"));
    lines.push(format!("terraform apply {PLAN_FILE}"));
    proposal.apply = lines.join("\n");
    proposal.summary.push_str(&format!(
        " Terraform manages {}: the change is made in its configuration and applied with terraform apply, never with aws organizations behind its back.",
        super::proposal::join_list(&notes)
    ));
}

fn find_line(apply: &[Option<String>], found: impl Fn(&str) -> bool) -> Option<usize> {
    apply.iter().position(|l| l.as_deref().is_some_and(&found))
}

/// The `NAME` of a command's `file://NAME` argument.
fn file_argument(line: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix("file://"))
        .map(str::to_string)
}

fn pretty(minified: &str) -> Option<String> {
    document::parse(minified).ok().map(|d| document::pretty(&d))
}

fn copy(from: &str, to: &str) -> String {
    let quote = |s: &str| shlex::try_quote(s).map_or_else(|_| s.to_string(), |q| q.into_owned());
    format!("cp {} {}", quote(from), quote(to))
}

/// The proposal's file for a root-module path: under `terraform/`, never outside it (a path
/// with `..` or a root keeps only its file name).
fn output_name(path: &str) -> String {
    let inside = std::path::Path::new(path)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    let name = if inside {
        path
    } else {
        path.rsplit(['/', '\\']).next().unwrap_or(path)
    };
    format!("{PREFIX}{name}")
}

/// A Terraform resource name for a policy name (`allow-bedrock-cris` → `allow_bedrock_cris`).
fn identifier(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id
    } else {
        format!("scp_{id}")
    }
}

/// The address of a new SCP's attachment to `target`.
fn attachment_address(resource: &str, target: &str) -> String {
    format!(
        "aws_organizations_policy_attachment.{resource}_{}",
        identifier(target)
    )
}

/// A quoted HCL string (JSON's escapes, interpolation escaped).
fn hcl_string(text: &str) -> String {
    serde_json::to_string(text)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// A `.tf` file with a new SCP and its attachments.
fn new_resources(resource: &str, name: &str, pretty: &str, targets: &[String]) -> String {
    let mut out = format!(
        "resource \"aws_organizations_policy\" \"{resource}\" {{\n  name    = {}\n  type    = \"SERVICE_CONTROL_POLICY\"\n  content = {}\n}}\n",
        hcl_string(name),
        what_if::jsonencode(pretty, "  ")
    );
    for target in targets {
        let name = attachment_address(resource, target);
        let name = name.trim_start_matches("aws_organizations_policy_attachment.");
        out.push_str(&format!(
            "\nresource \"aws_organizations_policy_attachment\" \"{name}\" {{\n  policy_id = aws_organizations_policy.{resource}.id\n  target_id = \"{target}\"\n}}\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    /// `apply` and the artifact's files and what-if, rewritten for `managed` (blog snapshot).
    fn rewritten(
        apply: &[&str],
        files: Value,
        what_if: Value,
        managed: &[ManagedPolicy],
    ) -> Proposal {
        let mut proposals: Vec<Proposal> = vec![serde_json::from_value(json!({
            "id": "prop-1", "fixes": [], "kind": "patchScp", "policyId": null, "targetIds": [],
            "before": null, "after": null, "diff": null, "sizeChars": null,
            "verification": {"fixedFindings": 1, "stillBlocked": 0, "newlyAllowedOutsideProfiles": []},
            "apply": apply.join("\n"),
            "artifact": {"files": files, "whatIf": what_if}
        }))
        .unwrap()];
        let snapshot = crate::snapshot::validate("blog", crate::what_if::tests::blog()).unwrap();
        through_terraform(&mut proposals, &snapshot, managed);
        proposals.remove(0)
    }

    const UPDATE_REGION_DENY: &str = "aws organizations update-policy --policy-id p-abcd1234 --content file://aws-guardrails-AbCdEf.json";

    /// A new SCP in a Terraform-managed organization becomes a resource with one attachment
    /// per target; the commands on a policy the plan does not manage stay as they are.
    #[test]
    fn a_new_scp_becomes_a_resource_with_its_attachments() {
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#;
        let managed = [ManagedPolicy {
            policy_name: "other".into(),
            address: "aws_organizations_policy.other".into(),
            source: ManagedSource::Elsewhere,
            created: false,
        }];
        let proposal = rewritten(
            &[
                "NEW_POLICY_ID=$(aws organizations create-policy --name allow-bedrock-cris --type SERVICE_CONTROL_POLICY --content file://allow-bedrock-cris.json --query Policy.PolicySummary.Id --output text)",
                "aws organizations attach-policy --policy-id \"$NEW_POLICY_ID\" --target-id ou-ab12-11111111",
                UPDATE_REGION_DENY,
            ],
            json!({"allow-bedrock-cris.json": document, "aws-guardrails-AbCdEf.json": "{}"}),
            json!([
                {"op": "create", "policyId": "p-whatif01", "name": "allow-bedrock-cris",
                 "content": document, "targets": ["ou-ab12-11111111"]},
                {"op": "update", "policyId": "p-abcd1234", "content": "{}"}
            ]),
            &managed,
        );
        assert_eq!(
            proposal.apply.lines().collect::<Vec<_>>(),
            [
                "# In the Terraform root module (the directory of the plan): the edited configuration, then a reviewed plan",
                "cp terraform/allow_bedrock_cris.tf allow_bedrock_cris.tf",
                UPDATE_REGION_DENY,
                "terraform fmt",
                "terraform plan -out=cris-guard.tfplan",
                "terraform apply cris-guard.tfplan",
            ]
        );
        let artifact = proposal.artifact.as_ref().unwrap();
        let files = artifact["files"].as_object().unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [
                "aws-guardrails-AbCdEf.json",
                "terraform/allow_bedrock_cris.tf"
            ]
        );
        let tf = files["terraform/allow_bedrock_cris.tf"].as_str().unwrap();
        assert!(tf.starts_with("resource \"aws_organizations_policy\" \"allow_bedrock_cris\" {\n  name    = \"allow-bedrock-cris\"\n  type    = \"SERVICE_CONTROL_POLICY\"\n  content = jsonencode({\n    \"Version\": \"2012-10-17\","), "{tf}");
        assert!(tf.ends_with("resource \"aws_organizations_policy_attachment\" \"allow_bedrock_cris_ou_ab12_11111111\" {\n  policy_id = aws_organizations_policy.allow_bedrock_cris.id\n  target_id = \"ou-ab12-11111111\"\n}\n"), "{tf}");
        assert_eq!(
            artifact["terraform"]["resources"][0]["address"],
            "aws_organizations_policy.allow_bedrock_cris"
        );
    }

    /// A managed policy whose module is not in this checkout: `apply` says where to put the
    /// document instead of updating the policy behind Terraform's back.
    #[test]
    fn a_policy_of_a_module_elsewhere_gets_a_note_naming_its_address() {
        let managed = [ManagedPolicy {
            policy_name: "aws-guardrails-AbCdEf".into(),
            address: "module.ct.aws_organizations_policy.region_deny".into(),
            source: ManagedSource::Elsewhere,
            created: false,
        }];
        let proposal = rewritten(
            &[UPDATE_REGION_DENY],
            json!({"aws-guardrails-AbCdEf.json": r#"{"Version":"2012-10-17","Statement":[]}"#}),
            json!([{"op": "update", "policyId": "p-abcd1234", "content": "{}"}]),
            &managed,
        );
        assert_eq!(
            proposal.apply.lines().next(),
            Some(
                "# module.ct.aws_organizations_policy.region_deny is written in a module outside this checkout: set its content to the document in file://aws-guardrails-AbCdEf.json there"
            )
        );
        assert!(
            proposal
                .apply
                .ends_with("terraform apply cris-guard.tfplan")
        );
        let files = &proposal.artifact.as_ref().unwrap()["files"];
        assert_eq!(
            files["aws-guardrails-AbCdEf.json"],
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n"
        );
    }

    /// Statements moved to a new SCP (the split of a full policy): the new SCP and its
    /// attachments are applied before the policy that loses them is edited.
    #[test]
    fn a_new_scp_is_in_place_before_the_policy_it_takes_statements_from() {
        let document = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let main =
            "resource \"aws_organizations_policy\" \"rd\" {\n  content = jsonencode({})\n}\n";
        let managed = [ManagedPolicy {
            policy_name: "aws-guardrails-AbCdEf".into(),
            address: "aws_organizations_policy.rd".into(),
            source: ManagedSource::Inline {
                path: "main.tf".into(),
                text: main.into(),
                offset: 0,
            },
            created: false,
        }];
        let proposal = rewritten(
            &[
                "NEW_POLICY_ID=$(aws organizations create-policy --name rd-cris --content file://rd-cris.json)",
                "aws organizations attach-policy --policy-id \"$NEW_POLICY_ID\" --target-id ou-ab12-11111111",
                UPDATE_REGION_DENY,
            ],
            json!({"rd-cris.json": document, "aws-guardrails-AbCdEf.json": document}),
            json!([
                {"op": "create", "policyId": "p-whatif01", "name": "rd-cris",
                 "content": document, "targets": ["ou-ab12-11111111"]},
                {"op": "update", "policyId": "p-abcd1234", "content": document}
            ]),
            &managed,
        );
        assert_eq!(
            proposal.apply.lines().skip(1).collect::<Vec<_>>(),
            [
                "cp terraform/rd_cris.tf rd_cris.tf",
                "# First the new SCP and its attachments, so nothing opens in between",
                "terraform apply -target=aws_organizations_policy.rd_cris -target=aws_organizations_policy_attachment.rd_cris_ou_ab12_11111111",
                "cp terraform/main.tf main.tf",
                "terraform fmt",
                "terraform plan -out=cris-guard.tfplan",
                "terraform apply cris-guard.tfplan",
            ]
        );
        let files = &proposal.artifact.as_ref().unwrap()["files"];
        assert!(
            files["terraform/main.tf"]
                .as_str()
                .unwrap()
                .contains("\"Statement\": []"),
            "{files}"
        );
    }

    #[test]
    fn output_names_stay_inside_the_proposal_directory() {
        assert_eq!(output_name("policies/a.json"), "terraform/policies/a.json");
        assert_eq!(output_name("../shared/a.json"), "terraform/a.json");
        assert_eq!(output_name("/etc/a.json"), "terraform/a.json");
    }

    #[test]
    fn resource_names_are_identifiers() {
        assert_eq!(identifier("allow-bedrock-cris"), "allow_bedrock_cris");
        assert_eq!(identifier("1st"), "scp_1st");
    }
}
