//! What every step of remediation shares: the snapshot, the report, the one [`Org`] (names,
//! subtrees, CfCT paths), the engine's checks, the check set and the approved profiles.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use crate::arn::Arn;
use crate::findings::{Finding, Problem, Report, Status};
use crate::org::{Org, TargetRef};
use crate::reachability;
use crate::snapshot::{PolicyRecord, ValidSnapshot};

use super::Options;
use super::legs;
use super::probe_answers::BeforeProbes;

/// Everything the planners share.
pub(crate) struct Ctx<'a> {
    pub snapshot: &'a ValidSnapshot,
    pub report: &'a Report,
    pub options: &'a Options,
    /// The check set (`bedrock:InvokeModel`, `bedrock:InvokeModelWithResponseStream` by default).
    pub actions: Vec<String>,
    /// The approved profiles: a proposal may open any CRIS check through one of them, at any
    /// target (contract §4: only other services and calls not made through an approved
    /// profile count as newly allowed), not only the checks it claims.
    pub approved: BTreeSet<String>,
    /// The report's findings a plan could newly allow (by index): blocked or conditional, and
    /// outside the approved profiles. Found once for every proof (none by default, as every
    /// blocked profile is approved).
    openable: Vec<usize>,
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
        let openable = report
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                matches!(f.status, Status::Blocked | Status::Conditional)
                    && !approved.contains(&f.profile_id)
            })
            .map(|(index, _)| index)
            .collect();
        Ctx {
            snapshot,
            report,
            options,
            actions,
            approved,
            openable,
            org: Org::new(snapshot),
            checks: legs::Checks::new(snapshot, &options.evaluation),
            problems: report.problems.iter().map(|p| (p.id.as_str(), p)).collect(),
            before_probes: RefCell::default(),
        }
    }

    /// The reported findings a plan could newly allow (see `openable`), in report order.
    pub(crate) fn openable(&self) -> impl Iterator<Item = &'a Finding> + '_ {
        let findings = &self.report.findings;
        self.openable
            .iter()
            .filter_map(|&index| findings.get(index))
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

    /// `patterns` ([`Ctx::exemption_patterns`] or profile ARN patterns) with profile ids that
    /// share a prefix folded into one wildcard (`…/us.anthropic.*`), each prefix the shortest
    /// at a `.` or `-` boundary that no known profile outside `profiles` starts with (the
    /// snapshot's, and the probe set's profile that is never approved). Only for documents the
    /// exact list does not fit: a wildcard also matches profiles AWS adds later.
    pub(crate) fn folded_patterns(
        &self,
        patterns: &[String],
        profiles: &BTreeSet<String>,
    ) -> Vec<String> {
        let other = super::probe_answers::OTHER_PROFILE
            .rsplit_once('/')
            .map(|(_, id)| id.to_string());
        let outside: BTreeSet<String> = self
            .snapshot
            .snapshot
            .inference_profiles
            .values()
            .flatten()
            .map(|p| p.inference_profile_id.clone())
            .chain(other)
            .filter(|id| !profiles.contains(id))
            .collect();
        let mut folded = BTreeSet::new();
        for pattern in patterns {
            let Some((head, id)) = pattern.rsplit_once('/') else {
                folded.insert(pattern.clone());
                continue;
            };
            let prefix = id
                .char_indices()
                .filter(|&(_, c)| c == '.' || c == '-')
                .map(|(i, c)| id.get(..i + c.len_utf8()).unwrap_or(id))
                .find(|prefix| !outside.iter().any(|o| o.starts_with(prefix)));
            folded.insert(match prefix {
                Some(prefix) => format!("{head}/{prefix}*"),
                None => pattern.clone(),
            });
        }
        folded.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenerateOptions, organization};

    /// Profiles sharing a prefix fold into one wildcard only where no profile that is not
    /// approved starts with it; the rest stay exact.
    #[test]
    fn folded_patterns_never_cover_a_profile_that_is_not_approved()
    -> Result<(), Box<dyn std::error::Error>> {
        let valid = crate::snapshot::validate(
            "test",
            organization(&GenerateOptions {
                accounts: 5,
                ..GenerateOptions::default()
            }),
        )?;
        let report = reachability::evaluate(&valid, &reachability::Options::default());
        let options = Options::default();
        let ctx = Ctx::new(&valid, &report, &options);
        let ids: BTreeSet<String> = valid
            .snapshot
            .inference_profiles
            .values()
            .flatten()
            .map(|p| p.inference_profile_id.clone())
            .collect();
        let anthropic: BTreeSet<String> = ids
            .iter()
            .filter(|id| id.starts_with("us.anthropic."))
            .cloned()
            .collect();
        assert!(anthropic.len() > 2, "too few profiles: {anthropic:?}");
        let all = ctx.folded_patterns(&ctx.exemption_patterns(&anthropic), &anthropic);
        assert_eq!(
            all,
            ["arn:aws:bedrock:*:*:inference-profile/us.anthropic.*"]
        );

        // One left out: no wildcard may match it, and every approved one is still matched.
        let left_out = anthropic.iter().next().cloned().ok_or("none")?;
        let mut approved = anthropic.clone();
        approved.remove(&left_out);
        let folded = ctx.folded_patterns(&ctx.exemption_patterns(&approved), &approved);
        let matches = |id: &str| {
            folded.iter().any(|p| {
                crate::policy::wildcard::Wildcard::new(p).matches(&format!(
                    "arn:aws:bedrock:us-east-1:1:inference-profile/{id}"
                ))
            })
        };
        assert!(!matches(&left_out), "{left_out} matched by {folded:?}");
        assert!(approved.iter().all(|id| matches(id)), "{folded:?}");
        assert!(folded.len() < approved.len(), "nothing folded: {folded:?}");
        Ok(())
    }
}
