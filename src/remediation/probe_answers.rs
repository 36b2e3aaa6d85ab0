//! Probe answers shared across proofs: the unchanged organization's answers (computed once and
//! shared by every plan's proof), and each probe's result per distinct level content (the SCPs
//! attached at one level), so a chain's answer is a fold over its levels instead of a policy
//! evaluation per chain. Kept apart from `verify` (with the probes themselves) so the shared
//! context can hold them without a cycle.

use std::collections::HashMap;

use crate::evaluation::{self, Outcome};
use crate::findings::Status;
use crate::policy::wildcard::Wildcard;
use crate::policy::{Applies, Effect, Policy, ResourceMatch};
use crate::reachability::{self, Caller, Leg, request_for};

/// A profile no proposal approves, used as the "other profile" probe.
pub(crate) const OTHER_PROFILE: &str =
    "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.meta.llama3-3-70b-instruct-v1:0";

/// One probe request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Probe {
    pub leg: Leg,
    pub label: String,
}

/// The answers of the organization before any change, shared by every verification.
#[derive(Default)]
pub(crate) struct BeforeProbes {
    pub(super) ids: HashMap<String, usize>,
    pub(super) cache: ProbeCache,
    /// Level answers of unchanged level contents (keyed by policy contents), by global probe id.
    pub(super) levels: LevelAnswers,
    /// An id per distinct compiled policy content, across every organization verified.
    contents: HashMap<String, usize>,
}

impl BeforeProbes {
    /// A name per policy (by index) that only policies with the same compiled statements
    /// share: identical documents attached in many OUs (Control Tower's) answer probes once.
    pub(super) fn content_names(&mut self, policies: &[Policy]) -> Vec<String> {
        policies
            .iter()
            .map(|policy| {
                let next = self.contents.len();
                let id = *self
                    .contents
                    .entry(format!("{:?}", policy.statements))
                    .or_insert(next);
                format!("#{id}")
            })
            .collect()
    }

    pub(super) fn id_of(&mut self, label: &str) -> usize {
        let next = self.ids.len();
        *self.ids.entry(label.to_string()).or_insert(next)
    }
}

/// Probe answers of one organization per chain × probe where the chain cannot tell callers
/// apart for that probe, and which chain × probe pairs can.
#[derive(Default)]
pub(super) struct ProbeCache {
    pub(super) status: HashMap<(usize, usize), Status>,
    pub(super) sensitive: HashMap<(usize, usize), bool>,
}

/// A level's answer to one probe, as flags that OR across a chain's levels the way
/// [`evaluation::combine`] folds them.
pub(super) const DENY: u8 = 1;
pub(super) const NO_ALLOW: u8 = 2;
/// Indeterminate or conditional: only the full verdict (witness search) can tell.
pub(super) const UNDECIDED: u8 = 4;
/// The answer can depend on the caller's account or OU path: decided per target.
pub(super) const SENSITIVE: u8 = 8;
const UNKNOWN: u8 = 0x80;

/// Each level content's answer per probe. A content is named by its policies' contents
/// ([`BeforeProbes::content_names`]) and, where it can tell callers apart, the caller class.
#[derive(Default)]
pub(super) struct LevelAnswers {
    ids: HashMap<Vec<String>, usize>,
    answers: Vec<Vec<u8>>,
}

impl LevelAnswers {
    /// The id of a level content.
    pub(super) fn level_id(&mut self, key: Vec<String>) -> usize {
        let next = self.answers.len();
        let id = *self.ids.entry(key).or_insert(next);
        if id == next {
            self.answers.push(Vec::new());
        }
        id
    }

    /// The level's answer to a probe (`slot` is where it is kept), computed on first use.
    pub(super) fn answer(&mut self, level: usize, slot: usize, question: &Question<'_>) -> u8 {
        let Some(row) = self.answers.get_mut(level) else {
            return SENSITIVE;
        };
        if row.len() <= slot {
            row.resize(slot + 1, UNKNOWN);
        }
        match row.get_mut(slot) {
            Some(known) if *known != UNKNOWN => *known,
            Some(cell) => {
                *cell = question.ask();
                *cell
            }
            None => SENSITIVE,
        }
    }
}

/// One probe asked of one level content.
pub(super) struct Question<'a> {
    pub content: &'a [usize],
    pub policies: &'a [Policy],
    pub probe: &'a Probe,
    pub caller: &'a Caller,
    pub admins: &'a [Wildcard],
    /// The level's content is keyed by the caller's [`caller_class`]: answer for this caller.
    pub per_caller: bool,
}

impl Question<'_> {
    fn ask(&self) -> u8 {
        let action = self.probe.leg.action.to_ascii_lowercase();
        // As in the per-chain answers: a probe's resource never carries the caller's account, so
        // only conditions and variables can tell callers apart.
        let sensitive = self
            .content
            .iter()
            .filter_map(|&p| self.policies.get(p))
            .filter(|policy| policy.account_sensitive)
            .flat_map(|policy| &policy.statements)
            .any(|statement| {
                statement.caller_sensitive_for_fixed_resource()
                    && reachability::statement_sensitivity(statement, std::slice::from_ref(&action))
                        != reachability::Sensitivity::None
            });
        if sensitive && !self.per_caller {
            return SENSITIVE;
        }
        let request = request_for(&self.probe.leg, self.caller);
        let result = evaluation::evaluate_level(0, self.content, self.policies, &request);
        let mut flags = match result.outcome {
            Outcome::ExplicitlyDenied => DENY,
            Outcome::ImplicitlyDenied => NO_ALLOW,
            Outcome::Conditional | Outcome::Indeterminate => UNDECIDED,
            Outcome::Allowed => 0,
        };
        for m in result.matched.iter().filter(|m| m.effect == Effect::Deny) {
            match &m.applies {
                // A Deny only admin roles escape blocks the verdict whatever else holds.
                Applies::Residual(clauses)
                    if reachability::deny_binds_non_admins(clauses, self.admins) =>
                {
                    flags |= DENY;
                }
                Applies::Residual(_) | Applies::Indeterminate => flags |= UNDECIDED,
                Applies::Yes | Applies::No => {}
            }
        }
        flags
    }
}

/// A chain's status for a probe from its levels' folded flags, when the flags decide it
/// (`None`: decide with the full verdict). The same as the verdict of one leg: a Deny or a level
/// without Allow blocks; no level in doubt allows.
pub(super) fn folded_status(flags: u8) -> Option<Status> {
    if flags & SENSITIVE != 0 {
        None
    } else if flags & (DENY | NO_ALLOW) != 0 {
        Some(Status::Blocked)
    } else if flags & UNDECIDED != 0 {
        None
    } else {
        Some(Status::Reachable)
    }
}

/// What a level's caller-dependent statements can tell of a caller: callers of the same class
/// answer every probe the same at this level (`None`: nothing there depends on the caller). So
/// 10,000 accounts behind `aws:PrincipalAccount` lists or an `aws:PrincipalOrgPaths` guard fall
/// into a few classes (each listed account, and everyone else; inside and outside the guarded
/// paths), not one evaluation each.
pub(super) fn caller_class(
    content: &[usize],
    policies: &[Policy],
    caller: &Caller,
) -> Option<String> {
    let account = caller.account();
    let exact = || format!("account {account} at {}", caller.org_path);
    let mut class = String::new();
    let mut any = false;
    let statements = content
        .iter()
        .filter_map(|&p| policies.get(p))
        .filter(|policy| policy.account_sensitive)
        .flat_map(|policy| &policy.statements)
        .filter(|statement| statement.caller_sensitive_for_fixed_resource());
    for statement in statements {
        any = true;
        // Variables, ARN patterns that pin accounts, other operators: per caller.
        if !crate::reachability::caller_class(statement, caller, &mut class) {
            return Some(exact());
        }
        let (ResourceMatch::Resource(patterns) | ResourceMatch::NotResource(patterns)) =
            &statement.resource;
        if patterns.iter().any(|p| p.text.contains("${")) {
            // A resource variable: per caller.
            return Some(exact());
        }
    }
    // A new account (an OU's row) is never one of the listed ones, and its id is not fixed.
    any.then(|| {
        format!(
            "{}{class}",
            if caller.account_id.is_none() {
                "new "
            } else {
                ""
            }
        )
    })
}
