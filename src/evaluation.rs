//! Evaluates one request against an SCP hierarchy (root → OUs → account) and explains why.
//!
//! AWS's rules (Organizations UG, SCP evaluation): a matching `Deny` in any SCP at any level
//! wins; otherwise every level must have an SCP with a matching `Allow`; the management
//! account is not restricted at all. With unknown context keys the answer may be
//! `Conditional`: the residual clauses say which facts would flip it.

use crate::policy::condition::ConditionClause;
use crate::policy::{Applies, Effect, Policy};
use crate::request::Request;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allowed,
    ExplicitlyDenied,
    ImplicitlyDenied,
    /// Allowed or denied depending on unknown context keys (see the residuals).
    Conditional,
    /// Depends on a fact the request does not fix and no condition can express.
    Indeterminate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::ExplicitlyDenied => "explicitlyDenied",
            Outcome::ImplicitlyDenied => "implicitlyDenied",
            Outcome::Conditional => "conditional",
            Outcome::Indeterminate => "indeterminate",
        }
    }
}

/// A statement that matched (or may match) the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub policy: usize,
    pub statement: usize,
    pub effect: Effect,
    pub applies: Applies,
}

/// The verdict of one level.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelResult {
    pub level: usize,
    pub outcome: Outcome,
    /// Allow and Deny statements that apply (definitely, conditionally or indeterminately).
    pub matched: Vec<Matched>,
}

/// The decision with its reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    /// Empty for the management account (exempt from SCPs).
    pub levels: Vec<LevelResult>,
}

impl Decision {
    /// Deny statements that definitely apply, with their level index.
    pub fn explicit_denies(&self) -> impl Iterator<Item = (usize, &Matched)> {
        self.matched_where(|m| m.effect == Effect::Deny && m.applies == Applies::Yes)
    }

    /// Deny statements that apply when their residual clauses hold.
    pub fn conditional_denies(
        &self,
    ) -> impl Iterator<Item = (usize, &Matched, &[ConditionClause])> {
        self.levels.iter().flat_map(|level| {
            level
                .matched
                .iter()
                .filter_map(move |m| match (&m.applies, m.effect) {
                    (Applies::Residual(clauses), Effect::Deny) => {
                        Some((level.level, m, clauses.as_slice()))
                    }
                    _ => None,
                })
        })
    }

    /// Levels with no Allow at all.
    pub fn levels_without_allow(&self) -> impl Iterator<Item = &LevelResult> {
        self.levels
            .iter()
            .filter(|l| l.outcome == Outcome::ImplicitlyDenied)
    }

    fn matched_where(
        &self,
        pick: impl Fn(&Matched) -> bool,
    ) -> impl Iterator<Item = (usize, &Matched)> {
        self.levels
            .iter()
            .flat_map(move |level| level.matched.iter().map(move |m| (level.level, m)))
            .filter(move |(_, m)| pick(m))
    }
}

/// Evaluates `request` against the chain `levels` (root first; each level lists the indices
/// into `policies` of the SCPs attached there). An empty chain is the management account:
/// allowed, since SCPs never apply to it.
pub fn evaluate(levels: &[Vec<usize>], policies: &[Policy], request: &Request) -> Decision {
    let results: Vec<LevelResult> = levels
        .iter()
        .enumerate()
        .map(|(index, level)| evaluate_level(index, level, policies, request))
        .collect();
    Decision {
        outcome: combine(results.iter()),
        levels: results,
    }
}

/// The overall outcome of a chain from its levels' results: any Deny wins, then a level
/// without Allow, then an indeterminate Allow or Deny, then a conditional Allow or Deny.
pub fn combine<'r>(levels: impl Iterator<Item = &'r LevelResult>) -> Outcome {
    let mut any_deny = false;
    let mut any_no_allow = false;
    let mut any_indeterminate = false;
    let mut any_conditional = false;
    for level in levels {
        match level.outcome {
            Outcome::ExplicitlyDenied => any_deny = true,
            Outcome::ImplicitlyDenied => any_no_allow = true,
            Outcome::Indeterminate => any_indeterminate = true,
            Outcome::Conditional => any_conditional = true,
            Outcome::Allowed => {}
        }
        for m in level.matched.iter().filter(|m| m.effect == Effect::Deny) {
            match m.applies {
                Applies::Residual(_) => any_conditional = true,
                Applies::Indeterminate => any_indeterminate = true,
                Applies::Yes | Applies::No => {}
            }
        }
    }
    if any_deny {
        Outcome::ExplicitlyDenied
    } else if any_no_allow {
        Outcome::ImplicitlyDenied
    } else if any_indeterminate {
        Outcome::Indeterminate
    } else if any_conditional {
        Outcome::Conditional
    } else {
        Outcome::Allowed
    }
}

/// Evaluates `request` against the SCPs of one level (indices into `policies`). The result
/// depends only on the policies and the request, so callers may memoize it per level content
/// and combine the levels of a chain with [`combine`].
pub fn evaluate_level(
    index: usize,
    level: &[usize],
    policies: &[Policy],
    request: &Request,
) -> LevelResult {
    let mut matched = Vec::new();
    let mut allow_yes = false;
    let mut allow_residual = false;
    let mut allow_indeterminate = false;
    let mut level_deny = false;
    for &policy_index in level {
        let Some(policy) = policies.get(policy_index) else {
            continue;
        };
        for statement in &policy.statements {
            // Once this level is known to allow, further Allows add nothing but cost; Denies
            // must still be looked at.
            if statement.effect == Effect::Allow && allow_yes {
                continue;
            }
            let applies = statement.applies(request);
            match (&applies, statement.effect) {
                (Applies::No, _) => continue,
                (Applies::Yes, Effect::Allow) => allow_yes = true,
                (Applies::Residual(_), Effect::Allow) => allow_residual = true,
                (Applies::Indeterminate, Effect::Allow) => allow_indeterminate = true,
                (Applies::Yes, Effect::Deny) => level_deny = true,
                (Applies::Residual(_) | Applies::Indeterminate, Effect::Deny) => {}
            }
            matched.push(Matched {
                policy: policy_index,
                statement: statement.index,
                effect: statement.effect,
                applies,
            });
        }
    }
    if allow_yes {
        // Conditional Allows are moot once an unconditional one applies at this level.
        matched.retain(|m| m.effect == Effect::Deny || m.applies == Applies::Yes);
    }
    let mut result = LevelResult {
        level: index,
        outcome: Outcome::ImplicitlyDenied,
        matched,
    };
    result.outcome = if level_deny {
        Outcome::ExplicitlyDenied
    } else if allow_yes {
        Outcome::Allowed
    } else if allow_residual {
        Outcome::Conditional
    } else if allow_indeterminate {
        Outcome::Indeterminate
    } else {
        Outcome::ImplicitlyDenied
    };
    result
}
