//! Plans: candidate fixes before they are proven — the policy documents and what-if changes
//! they make, the commands that apply them. The search that combines customer-SCP fixes with
//! the Control Tower options is `Ctx::plans` in the module root.

use std::collections::BTreeSet;

use crate::findings::ProposalKind;
use crate::policy::json::Json;
use crate::snapshot::{PolicyContent, PolicyRecord, ValidSnapshot};
use crate::what_if::Change;

use super::document;
use super::probe_answers::Probe;

/// One policy document a plan touches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    /// `<name>.json`, the file `apply` refers to.
    pub file: String,
    pub before: Option<Json>,
    pub after: Json,
}

/// A candidate fix, before it is proven.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub kind: ProposalKind,
    /// The existing policy the plan changes or works around.
    pub policy_id: Option<String>,
    pub changes: Vec<Change>,
    pub documents: Vec<Doc>,
    pub apply: Vec<String>,
    pub targets: BTreeSet<String>,
    /// What the change does, in sentences (verification is appended later).
    pub summary: Vec<String>,
    /// Extra artifact fields (Control Tower parameters, CfCT manifest).
    pub artifact: Vec<(String, serde_json::Value)>,
    /// Regions the plan starts governing (probed as well).
    pub new_regions: BTreeSet<String>,
    /// Probe requests beyond the standard set, for what the plan exempts (other check kinds).
    pub probes: Vec<Probe>,
}

impl Plan {
    /// A new SCP, minified as AWS stores it, attached to `targets`.
    pub(crate) fn create_policy(
        &mut self,
        id: String,
        name: &str,
        policy: &Json,
        targets: Vec<String>,
    ) {
        self.changes.push(Change::Create {
            policy_id: Some(id),
            name: name.to_string(),
            content: PolicyContent::Text(document::minified(policy)),
            targets,
        });
    }

    pub(crate) fn new(kind: ProposalKind) -> Plan {
        Plan {
            kind,
            policy_id: None,
            changes: Vec::new(),
            documents: Vec::new(),
            apply: Vec::new(),
            targets: BTreeSet::new(),
            summary: Vec::new(),
            artifact: Vec::new(),
            new_regions: BTreeSet::new(),
            probes: Vec::new(),
        }
    }

    /// A `patchScp` plan that updates `record` in place to `after`, on its targets.
    pub(crate) fn patch_in_place(record: &PolicyRecord, before: Json, after: Json) -> Plan {
        let mut plan = Plan::new(ProposalKind::PatchScp);
        plan.policy_id = Some(record.id.clone());
        plan.apply.push(format!(
            "aws organizations update-policy --policy-id {} --content file://{}",
            record.id,
            file_name(&record.name, &record.id)
        ));
        plan.update_policy(record, before, after);
        plan.targets.extend(record.targets.iter().cloned());
        plan
    }

    /// Replaces `record`'s content by `after`, keeping `before` for the diff.
    pub(crate) fn update_policy(&mut self, record: &PolicyRecord, before: Json, after: Json) {
        self.changes.push(Change::Update {
            policy_id: record.id.clone(),
            content: PolicyContent::Text(document::minified(&after)),
            name: None,
        });
        self.documents.push(Doc {
            file: file_name(&record.name, &record.id),
            before: Some(before),
            after,
        });
    }

    /// Adds `other`'s changes after this plan's own.
    pub(crate) fn absorb(&mut self, other: &Plan) {
        self.changes.extend(other.changes.iter().cloned());
        self.documents.extend(other.documents.iter().cloned());
        self.apply.extend(other.apply.iter().cloned());
        self.targets.extend(other.targets.iter().cloned());
        self.summary.extend(other.summary.iter().cloned());
        self.artifact.extend(other.artifact.iter().cloned());
        self.new_regions.extend(other.new_regions.iter().cloned());
        self.probes.extend(other.probes.iter().cloned());
        if self.policy_id.is_none() {
            self.policy_id.clone_from(&other.policy_id);
        }
    }
}

/// A file name for a policy: its name when it is file-safe, else its id.
pub(crate) fn file_name(name: &str, id: &str) -> String {
    let safe = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    format!("{}.json", if safe { name } else { id })
}

/// Hypothetical ids for policies a plan creates (`p-whatif01`, …), never colliding with the
/// snapshot's or each other.
#[derive(Clone)]
pub(crate) struct IdAllocator {
    used: BTreeSet<String>,
}

impl IdAllocator {
    pub(crate) fn new(snapshot: &ValidSnapshot) -> IdAllocator {
        IdAllocator {
            used: snapshot
                .snapshot
                .policies
                .iter()
                .map(|p| p.id.clone())
                .collect(),
        }
    }

    pub(crate) fn next(&mut self) -> String {
        let id = (1..)
            .map(|n| format!("p-whatif{n:02}"))
            .find(|id| !self.used.contains(id))
            .unwrap_or_else(|| "p-whatif00".to_string());
        self.used.insert(id.clone());
        id
    }
}
