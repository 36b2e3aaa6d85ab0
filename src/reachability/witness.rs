//! Witness principals: a `conditional` verdict must name conditions that some real, non-admin
//! principal of the target can meet for every request of the check at once.
//!
//! Residual conditions are collected per deny and per level, so each one alone may be
//! satisfiable while no principal satisfies all of them (PV.1 exempting role A at the root, a
//! child OU's deny exempting only role B: nobody escapes both). This searches for a concrete
//! assignment of the unknown request keys (principal ARN, tags, ...) built from the values
//! the conditions name, and checks it against every residual clause of every leg.

use crate::evaluation::LevelResult;
use crate::policy::condition::ConditionClause;
use crate::policy::wildcard::Wildcard;
use crate::policy::{Applies, Effect};
use crate::request::{Lookup, MissingKeys, Request};

use super::{Caller, Check, request_for};

/// Assignments tried at most before giving up (the conditions of one check name a handful of
/// keys and values; this is far above what real SCPs produce).
const MAX_ASSIGNMENTS: usize = 20_000;

/// Keys a principal of the account cannot arrange when it calls Bedrock itself: it is not an
/// AWS service principal.
const NOT_A_SERVICE: &[&str] = &[
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:principalservicenameslist",
];

const PRINCIPAL_ARN: &str = "aws:principalarn";

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witness {
    /// Some assignment of the unknown keys allows every request.
    Found,
    /// No principal outside the admin roles meets every condition: blocked.
    Nobody,
    /// The search space was too large to decide.
    Undecided,
}

/// The residual clauses of one leg: denies that must be escaped, and levels where one of the
/// listed conditional allows must hold.
struct LegResiduals<'r> {
    leg: usize,
    denies: Vec<&'r [ConditionClause]>,
    allow_levels: Vec<Vec<&'r [ConditionClause]>>,
}

/// Searches for a principal of `caller`'s account, outside `admins`, for which every leg of
/// `check` is allowed, given each leg's level results. Statements that cannot be decided
/// (indeterminate) are left out: a deny as if it never applied, an allow as if it did.
pub fn find(
    check: &Check,
    legs: &[Vec<&LevelResult>],
    caller: &Caller,
    admins: &[Wildcard],
) -> Witness {
    let residuals: Vec<LegResiduals<'_>> = legs
        .iter()
        .enumerate()
        .map(|(leg, levels)| LegResiduals {
            leg,
            denies: levels
                .iter()
                .flat_map(|level| &level.matched)
                .filter_map(|m| match (&m.applies, m.effect) {
                    (Applies::Residual(clauses), Effect::Deny) => Some(clauses.as_slice()),
                    _ => None,
                })
                .collect(),
            allow_levels: levels
                .iter()
                // Levels that surely allow need nothing; an allow that cannot be decided is
                // taken to allow (so `Nobody` is only said when it holds whatever it decides).
                .filter(|level| {
                    level.outcome == crate::evaluation::Outcome::Conditional
                        && !level.matched.iter().any(|m| {
                            m.effect == Effect::Allow
                                && matches!(m.applies, Applies::Yes | Applies::Indeterminate)
                        })
                })
                .map(|level| {
                    level
                        .matched
                        .iter()
                        .filter_map(|m| match (&m.applies, m.effect) {
                            (Applies::Residual(clauses), Effect::Allow) => Some(clauses.as_slice()),
                            _ => None,
                        })
                        .collect()
                })
                .collect(),
        })
        .filter(|r| !r.denies.is_empty() || !r.allow_levels.is_empty())
        .collect();
    let requests: Vec<Request> = residuals
        .iter()
        .filter_map(|r| check.legs.get(r.leg).map(|leg| request_for(leg, caller)))
        .collect();
    let clauses = || {
        residuals.iter().flat_map(|r| {
            r.denies
                .iter()
                .chain(r.allow_levels.iter().flatten())
                .flat_map(|c| c.iter())
        })
    };
    // The unknown keys the conditions test, each with the values worth trying.
    let mut keys: Vec<(String, Vec<Option<String>>)> = Vec::new();
    for clause in clauses() {
        let key = clause.key_lowercase();
        let unknown = requests
            .iter()
            .any(|request| request.context.get(key) == Lookup::Unknown);
        if !unknown {
            continue;
        }
        let index = match keys.iter().position(|(k, _)| k == key) {
            Some(index) => index,
            None => {
                keys.push((key.to_string(), seed_values(key, caller)));
                keys.len() - 1
            }
        };
        if let Some((_, values)) = keys.get_mut(index) {
            for value in &clause.values {
                let candidate = Some(instantiate(key, value, caller));
                if !values.contains(&candidate) {
                    values.push(candidate);
                }
            }
        }
    }
    for (key, values) in &mut keys {
        if key == PRINCIPAL_ARN {
            // A real principal of this account, and not one of the admin roles.
            values.retain(|v| {
                v.as_deref().is_some_and(|arn| {
                    account_of(arn) == Some(caller.account())
                        && !admins.iter().any(|a| a.matches(arn))
                })
            });
        }
    }
    let mut assignment: Vec<Option<String>> = Vec::with_capacity(keys.len());
    let mut tried = 0usize;
    let found = search(&keys, &mut assignment, &mut |values: &[Option<
        String,
    >]| {
        tried += 1;
        if tried > MAX_ASSIGNMENTS {
            return Step::Stop;
        }
        let all_allowed = residuals.iter().zip(&requests).all(|(r, request)| {
            let mut request = request.clone();
            request.context.set_missing(MissingKeys::Absent);
            for ((key, _), value) in keys.iter().zip(values) {
                match value {
                    Some(value) => request.context.set(key, vec![value.clone()]),
                    None => request.context.set_absent(key),
                }
            }
            for key in NOT_A_SERVICE {
                if !keys.iter().any(|(k, _)| k == key) {
                    request.context.set_absent(key);
                }
            }
            let holds = |clauses: &[ConditionClause]| {
                clauses
                    .iter()
                    .all(|c| c.evaluate(&request) == crate::policy::condition::Tri::True)
            };
            r.denies.iter().all(|clauses| !holds(clauses))
                && r.allow_levels
                    .iter()
                    .all(|allows| allows.iter().any(|clauses| holds(clauses)))
        });
        if all_allowed { Step::Found } else { Step::Next }
    });
    match found {
        Step::Found => Witness::Found,
        Step::Next if tried <= MAX_ASSIGNMENTS => Witness::Nobody,
        Step::Next | Step::Stop => Witness::Undecided,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Found,
    Next,
    Stop,
}

/// Depth-first over the keys' candidate values; `assignment` holds the winning values when
/// the result is [`Step::Found`].
fn search(
    keys: &[(String, Vec<Option<String>>)],
    assignment: &mut Vec<Option<String>>,
    test: &mut impl FnMut(&[Option<String>]) -> Step,
) -> Step {
    let Some((_, values)) = keys.get(assignment.len()) else {
        return test(assignment);
    };
    for value in values {
        assignment.push(value.clone());
        match search(keys, assignment, test) {
            Step::Next => {}
            other => return other,
        }
        assignment.pop();
    }
    Step::Next
}

/// Values worth trying for a key before those the conditions name.
fn seed_values(key: &str, caller: &Caller) -> Vec<Option<String>> {
    if key == PRINCIPAL_ARN {
        // Every principal has an ARN; an ordinary role of the account.
        return vec![Some(format!(
            "arn:aws:iam::{}:role/cris-guard-witness",
            caller.account()
        ))];
    }
    if NOT_A_SERVICE.contains(&key) {
        return vec![None];
    }
    vec![None, Some("cris-guard-witness".to_string())]
}

/// A concrete value from a policy value: wildcards filled in, and for a principal ARN the
/// caller's account (a principal can only be in its own account).
fn instantiate(key: &str, value: &str, caller: &Caller) -> String {
    let account = caller.account();
    let lower = value.to_ascii_lowercase();
    let value = match lower.find("${aws:principalaccount}") {
        Some(at) => format!(
            "{}{account}{}",
            &value[..at],
            &value[at + "${aws:principalaccount}".len()..]
        ),
        None => value.to_string(),
    };
    let fill = |part: &str, with: &str| part.replace(['*', '?'], with);
    if key == PRINCIPAL_ARN || value.starts_with("arn:") {
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        if let [_, partition, service, region, owner, resource] = parts.as_slice() {
            let owner = if key == PRINCIPAL_ARN || owner.contains(['*', '?']) {
                account.to_string()
            } else {
                (*owner).to_string()
            };
            let partition = if partition.contains(['*', '?']) {
                "aws".to_string()
            } else {
                (*partition).to_string()
            };
            let service = if service.contains(['*', '?']) {
                "iam".to_string()
            } else {
                (*service).to_string()
            };
            return format!(
                "arn:{partition}:{service}:{}:{owner}:{}",
                fill(region, ""),
                fill(resource, "x")
            );
        }
    }
    fill(&value, "x")
}

/// The account part of an ARN.
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(account: Option<&str>) -> Caller {
        Caller {
            account_id: account.map(str::to_string),
            organization_id: "o-example".into(),
            org_path: "o-example/r-ab12/".into(),
        }
    }

    #[test]
    fn principal_arns_are_instantiated_in_the_callers_account() {
        let c = caller(Some("222222222222"));
        assert_eq!(
            instantiate(PRINCIPAL_ARN, "arn:aws:iam::*:role/ml-*", &c),
            "arn:aws:iam::222222222222:role/ml-x"
        );
        assert_eq!(
            instantiate(
                PRINCIPAL_ARN,
                "arn:*:iam::${aws:PrincipalAccount}:role/app",
                &c
            ),
            "arn:aws:iam::222222222222:role/app"
        );
        // A pattern pinned to another account still names a principal of this account,
        // which the pattern then does not match.
        assert_eq!(
            instantiate(PRINCIPAL_ARN, "arn:aws:iam::333333333333:role/app", &c),
            "arn:aws:iam::222222222222:role/app"
        );
        assert_eq!(instantiate("aws:principaltag/team", "ml*", &c), "mlx");
    }
}
