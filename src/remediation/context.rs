//! What every step of remediation shares: the snapshot, the report, the one [`Org`] (names,
//! subtrees, CfCT paths), the engine's checks, the check set and the approved profiles.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use crate::arn::Arn;
use crate::findings::{Problem, Report, Status};
use crate::org::{Org, TargetRef};
use crate::reachability;
use crate::snapshot::{PolicyRecord, ValidSnapshot};

use super::Options;
use super::legs;
use super::verify::BeforeProbes;

/// Everything the planners share.
pub(crate) struct Ctx<'a> {
    pub snapshot: &'a ValidSnapshot,
    pub report: &'a Report,
    pub options: &'a Options,
    /// The check set (`bedrock:InvokeModel`, `bedrock:InvokeModelWithResponseStream` by default).
    pub actions: Vec<String>,
    pub approved: BTreeSet<String>,
    pub org: Org<'a>,
    /// The checks behind the report's findings.
    pub checks: legs::Checks,
    /// The report's problems by id.
    pub problems: HashMap<&'a str, &'a Problem>,
    /// Probe answers of the unchanged organization, computed once for every plan's proof.
    pub before_probes: RefCell<BeforeProbes>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        snapshot: &'a ValidSnapshot,
        report: &'a Report,
        options: &'a Options,
    ) -> Ctx<'a> {
        let actions = if options.evaluation.actions.is_empty() {
            reachability::DEFAULT_ACTIONS
                .iter()
                .map(|a| (*a).to_string())
                .collect()
        } else {
            options.evaluation.actions.clone()
        };
        let approved: BTreeSet<String> = if options.approved_profiles.is_empty() {
            report
                .findings
                .iter()
                .filter(|f| matches!(f.status, Status::Blocked | Status::Conditional))
                .map(|f| f.profile_id.clone())
                .collect()
        } else {
            options.approved_profiles.iter().cloned().collect()
        };
        Ctx {
            snapshot,
            report,
            options,
            actions,
            approved,
            org: Org::new(snapshot),
            checks: legs::Checks::new(snapshot, &options.evaluation),
            problems: report.problems.iter().map(|p| (p.id.as_str(), p)).collect(),
            before_probes: RefCell::default(),
        }
    }

    /// `Sandbox (ou-…)`.
    pub(crate) fn label(&self, id: &str) -> String {
        format!("{} ({id})", self.org.name_of(id))
    }

    /// The OUs directly under a root or OU, in snapshot order.
    pub(crate) fn child_ous(&self, id: &str) -> Vec<&'a str> {
        let mut children = self.org.child_ous(id).to_vec();
        children.sort_by_key(|ou| self.org.target_index(TargetRef::OrganizationalUnit(ou)));
        children
    }

    /// The parents of an OU or account, nearest first, up to its root.
    fn ancestors(&self, id: &str) -> Vec<&'a str> {
        let mut ancestors = Vec::new();
        let mut current = self.org.parent_of(id);
        while let Some(parent) = current {
            ancestors.push(parent);
            current = self.org.parent_of(parent);
        }
        ancestors
    }

    /// Whether `id` or anything below it is in `set`.
    pub(crate) fn subtree_has(&self, id: &str, set: &BTreeSet<String>) -> bool {
        set.contains(id)
            || set
                .iter()
                .any(|member| self.ancestors(member).contains(&id))
    }

    /// The CfCT name of an OU: its path below the root, `:`-separated.
    pub(crate) fn cfct_path(&self, id: &str) -> String {
        let mut names: Vec<String> = self
            .ancestors(id)
            .into_iter()
            .filter(|ancestor| !self.org.is_root(ancestor))
            .map(|ancestor| self.org.name_of(ancestor))
            .collect();
        names.reverse();
        if !self.org.is_root(id) {
            names.push(self.org.name_of(id));
        }
        names.join(":")
    }

    /// How many SCPs are attached directly to a root, OU or account.
    pub(crate) fn attached(&self, target: &str) -> usize {
        self.snapshot
            .snapshot
            .policies
            .iter()
            .flat_map(|p| &p.targets)
            .filter(|t| *t == target)
            .count()
    }

    pub(crate) fn record(&self, policy_id: &str) -> Option<&'a PolicyRecord> {
        self.snapshot
            .snapshot
            .policies
            .iter()
            .find(|p| p.id == policy_id)
    }

    /// `arn:<partition>:bedrock:*:*:inference-profile/<id>` (or `application-inference-profile`)
    /// for each profile, the shape of the blog's exemption.
    pub(crate) fn exemption_patterns(&self, profiles: &BTreeSet<String>) -> Vec<String> {
        let mut patterns = BTreeSet::new();
        for profile in profiles {
            let arn = self
                .snapshot
                .snapshot
                .inference_profiles
                .values()
                .flatten()
                .find(|p| &p.inference_profile_id == profile)
                .and_then(|p| Arn::parse(&p.inference_profile_arn));
            let (partition, kind) = match &arn {
                Some(arn) => (
                    arn.partition.clone(),
                    arn.resource
                        .split_once('/')
                        .map(|(kind, _)| kind.to_string())
                        .unwrap_or_else(|| "inference-profile".to_string()),
                ),
                None => ("aws".to_string(), "inference-profile".to_string()),
            };
            patterns.insert(format!("arn:{partition}:bedrock:*:*:{kind}/{profile}"));
        }
        patterns.into_iter().collect()
    }
}
