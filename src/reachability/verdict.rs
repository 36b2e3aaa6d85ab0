//! Verdict assembly: the level results of a check's legs become reachable, blocked,
//! conditional or unknown, with blockers named by position and the conditions a principal
//! must meet (admin-only escapes do not count; a witness principal must exist).

use crate::evaluation::{self, Decision, LevelResult, Matched, Outcome};
use crate::findings::{BlockerKind, Condition, Status};
use crate::policy::condition::ConditionClause;
use crate::policy::wildcard::Wildcard;
use crate::policy::{Applies, Effect, Policy};
use crate::request::leg::{Caller, request_for};

use super::admin::{AdminMemo, allow_is_admin_only, escape_is_admin_only};
use super::profiles::Check;
use super::witness;

/// The result of one chain × check, independent of which target owns the chain: blockers
/// name levels by position, resolved to target ids per target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub blockers: Vec<AbstractBlocker>,
    pub conditions: Vec<Condition>,
    /// For `unknown`: what is missing.
    pub reason: Option<String>,
    /// Number of requests evaluated (for the reachable explanation).
    pub requests: usize,
}

/// A blocker of a [`Verdict`]: the leg it stops and, by position, the level, policy and
/// statement that stop it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AbstractBlocker {
    pub leg: usize,
    pub level: Option<usize>,
    pub policy: Option<usize>,
    pub statement: Option<usize>,
    pub kind: BlockerKind,
}

/// Decides one check for one chain.
pub fn verdict(
    check: &Check,
    chain: &[Vec<usize>],
    policies: &[Policy],
    caller: &Caller,
    admins: &[Wildcard],
) -> Verdict {
    if let Some(reason) = &check.missing {
        return unknown_verdict(reason.clone());
    }
    let decisions: Vec<Decision> = check
        .legs
        .iter()
        .map(|leg| evaluation::evaluate(chain, policies, &request_for(leg, caller)))
        .collect();
    let legs: Vec<Vec<&LevelResult>> = decisions
        .iter()
        .map(|d| d.levels.iter().collect())
        .collect();
    assemble(
        check,
        &legs,
        policies,
        admins,
        caller,
        &mut AdminMemo::default(),
    )
}

pub(super) fn unknown_verdict(reason: String) -> Verdict {
    Verdict {
        status: Status::Unknown,
        blockers: Vec::new(),
        conditions: Vec::new(),
        reason: Some(reason),
        requests: 0,
    }
}

/// Builds the verdict of a check from the level results of each of its legs (`legs[leg]`
/// lists the chain's levels, root first; a level's position is its index, whatever its
/// `level` field says, so that memoized level results can be shared between chains).
pub(super) fn assemble(
    check: &Check,
    legs: &[Vec<&LevelResult>],
    policies: &[Policy],
    admins: &[Wildcard],
    caller: &Caller,
    memo: &mut AdminMemo,
) -> Verdict {
    let mut blocked = Vec::new();
    let mut conditional_blockers = Vec::new();
    let mut conditions: Vec<Condition> = Vec::new();
    let mut indeterminate = None;
    let mut group = 0usize;
    for (leg_index, (leg, levels)) in check.legs.iter().zip(legs).enumerate() {
        match evaluation::combine(levels.iter().copied()) {
            Outcome::Allowed => {}
            Outcome::ExplicitlyDenied => {
                for (position, level) in levels.iter().enumerate() {
                    for m in &level.matched {
                        if m.effect == Effect::Deny && m.applies == Applies::Yes {
                            blocked.push(deny_blocker(leg_index, position, m.policy, m.statement));
                        }
                    }
                }
            }
            Outcome::ImplicitlyDenied => {
                for (position, level) in levels.iter().enumerate() {
                    if level.outcome == Outcome::ImplicitlyDenied {
                        blocked.push(no_allow_blocker(leg_index, position));
                    }
                }
            }
            // What blocks every non-admin principal wins over what cannot be decided, which
            // wins over conditions: so the denies and allows only admin roles escape or meet
            // are looked at here too, not only on conditional legs.
            Outcome::Indeterminate | Outcome::Conditional => {
                let blocked_before = blocked.len();
                let undecided = classify_conditional(
                    levels,
                    leg_index,
                    policies,
                    admins,
                    memo,
                    &mut Accumulators {
                        blocked: &mut blocked,
                        conditional_blockers: &mut conditional_blockers,
                        conditions: &mut conditions,
                        group: &mut group,
                    },
                );
                let indeterminate_leg = undecided
                    || evaluation::combine(levels.iter().copied()) == Outcome::Indeterminate;
                if indeterminate_leg && blocked.len() == blocked_before {
                    indeterminate.get_or_insert_with(|| {
                        format!(
                            "whether {} on {} is allowed depends on a fact the snapshot cannot fix (the id of a new account, or a policy variable)",
                            leg.action, leg.resource
                        )
                    });
                }
            }
        }
    }
    dedup(&mut blocked);
    dedup(&mut conditional_blockers);
    // Keeps the first of equal conditions (a handful per verdict: a scan beats hashing).
    let mut kept: Vec<Condition> = Vec::with_capacity(conditions.len());
    for condition in conditions {
        let same = |c: &Condition| {
            c.key == condition.key
                && c.operator == condition.operator
                && c.values == condition.values
                && c.effect == condition.effect
        };
        if !kept.iter().any(same) {
            kept.push(condition);
        }
    }
    let mut conditions = kept;
    // Verdicts are kept for the whole run (one per chain × check): no spare capacity.
    blocked.shrink_to_fit();
    conditional_blockers.shrink_to_fit();
    conditions.shrink_to_fit();
    let requests = check.legs.len();
    if !blocked.is_empty() {
        return Verdict {
            status: Status::Blocked,
            blockers: blocked,
            conditions: Vec::new(),
            reason: None,
            requests,
        };
    }
    if let Some(reason) = indeterminate {
        // Undecided statements count in the principal's favour in the witness search: when
        // even then nobody meets the conditions, nobody can call.
        if !conditions.is_empty()
            && witness::find(check, legs, caller, admins) == witness::Witness::Nobody
        {
            return Verdict {
                status: Status::Blocked,
                blockers: conditional_blockers,
                conditions: Vec::new(),
                reason: None,
                requests,
            };
        }
        return Verdict {
            status: Status::Unknown,
            blockers: Vec::new(),
            conditions: Vec::new(),
            reason: Some(reason),
            requests,
        };
    }
    if !conditions.is_empty() {
        // Each condition alone may be met while no principal meets them all.
        return match witness::find(check, legs, caller, admins) {
            witness::Witness::Found => Verdict {
                status: Status::Conditional,
                blockers: conditional_blockers,
                conditions,
                reason: None,
                requests,
            },
            witness::Witness::Nobody => Verdict {
                status: Status::Blocked,
                blockers: conditional_blockers,
                conditions: Vec::new(),
                reason: None,
                requests,
            },
            witness::Witness::Undecided => Verdict {
                status: Status::Unknown,
                blockers: Vec::new(),
                conditions: Vec::new(),
                reason: Some(
                    "the conditions of the denies and allows in the way are too many to decide whether any principal meets them all"
                        .to_string(),
                ),
                requests,
            },
        };
    }
    Verdict {
        status: Status::Reachable,
        blockers: Vec::new(),
        conditions: Vec::new(),
        reason: None,
        requests,
    }
}

/// Drops repeated blockers, keeping the first (a few dozen at most: a scan beats hashing).
fn dedup(blockers: &mut Vec<AbstractBlocker>) {
    let mut index = 0;
    while index < blockers.len() {
        let repeated = blockers
            .get(..index)
            .zip(blockers.get(index))
            .is_some_and(|(before, b)| before.contains(b));
        if repeated {
            blockers.remove(index);
        } else {
            index += 1;
        }
    }
}

fn deny_blocker(leg: usize, level: usize, policy: usize, statement: usize) -> AbstractBlocker {
    AbstractBlocker {
        leg,
        level: Some(level),
        policy: Some(policy),
        statement: Some(statement),
        kind: BlockerKind::ExplicitDeny,
    }
}

fn no_allow_blocker(leg: usize, level: usize) -> AbstractBlocker {
    AbstractBlocker {
        leg,
        level: Some(level),
        policy: None,
        statement: None,
        kind: BlockerKind::NoAllow,
    }
}

/// The verdict being built by [`assemble`].
struct Accumulators<'a> {
    /// What blocks every non-admin principal.
    blocked: &'a mut Vec<AbstractBlocker>,
    /// What only blocks principals that miss a condition.
    conditional_blockers: &'a mut Vec<AbstractBlocker>,
    conditions: &'a mut Vec<Condition>,
    group: &'a mut usize,
}

/// Splits a conditional or indeterminate decision (the level results of one leg) into what
/// blocks every non-admin principal and what only blocks principals that miss a condition.
/// True when a level's only allows that count are indeterminate: the leg cannot be decided.
fn classify_conditional(
    levels: &[&LevelResult],
    leg: usize,
    policies: &[Policy],
    admins: &[Wildcard],
    memo: &mut AdminMemo,
    out: &mut Accumulators<'_>,
) -> bool {
    let mut undecided = false;
    for (position, level) in levels.iter().enumerate() {
        for m in &level.matched {
            let (Applies::Residual(clauses), Effect::Deny) = (&m.applies, m.effect) else {
                continue;
            };
            // The deny is escaped when any one clause fails. Escapes that only admin principals
            // can take do not count: for everyone else the deny applies.
            let escapes: Vec<&ConditionClause> = clauses
                .iter()
                .filter(|c| !escape_is_admin_only(c, admins, memo))
                .collect();
            if escapes.is_empty() {
                out.blocked
                    .push(deny_blocker(leg, position, m.policy, m.statement));
                continue;
            }
            out.conditional_blockers
                .push(deny_blocker(leg, position, m.policy, m.statement));
            let from = statement_label(policies, m.policy, m.statement);
            let grouped = escapes.len() > 1;
            if grouped {
                *out.group += 1;
            }
            for clause in escapes {
                let (operator, values) = clause.negation();
                out.conditions.push(Condition {
                    key: clause.key.clone(),
                    operator,
                    values,
                    effect: if grouped {
                        "reachableIfAnyOf"
                    } else {
                        "reachableOnlyIf"
                    }
                    .to_string(),
                    group: grouped.then_some(*out.group),
                    from: Some(from.clone()),
                });
            }
        }
    }
    for (position, level) in levels.iter().enumerate() {
        if level.outcome != Outcome::Conditional {
            continue;
        }
        // An Allow whose condition only admin principals meet allows nobody we count.
        let usable: Vec<(&Matched, &Vec<ConditionClause>)> = level
            .matched
            .iter()
            .filter_map(|m| match (&m.applies, m.effect) {
                (Applies::Residual(clauses), Effect::Allow) => Some((m, clauses)),
                _ => None,
            })
            .filter(|(_, clauses)| !clauses.iter().any(|c| allow_is_admin_only(c, admins, memo)))
            .collect();
        if usable.is_empty() {
            let indeterminate_allow = level
                .matched
                .iter()
                .any(|m| m.effect == Effect::Allow && m.applies == Applies::Indeterminate);
            if indeterminate_allow {
                undecided = true;
            } else {
                out.blocked.push(no_allow_blocker(leg, position));
            }
            continue;
        }
        out.conditional_blockers
            .push(no_allow_blocker(leg, position));
        let grouped = usable.len() > 1;
        if grouped {
            *out.group += 1;
        }
        for (m, clauses) in usable {
            let from = statement_label(policies, m.policy, m.statement);
            for clause in clauses {
                out.conditions.push(Condition {
                    key: clause.key.clone(),
                    operator: clause.operator.clone(),
                    values: clause.values.clone(),
                    effect: if grouped {
                        "reachableIfAnyOf"
                    } else {
                        "reachableOnlyIf"
                    }
                    .to_string(),
                    group: grouped.then_some(*out.group),
                    from: Some(from.clone()),
                });
            }
        }
    }
    undecided
}

fn statement_label(policies: &[Policy], policy: usize, statement: usize) -> String {
    match policies.get(policy) {
        Some(p) => match p.statements.get(statement) {
            Some(s) => format!("{}/{}", p.id, s.label()),
            None => p.id.clone(),
        },
        None => String::new(),
    }
}

/// Two verdicts say the same to a reader (blockers compared without level positions, which
/// differ between an account and a new account in its OU only by depth).
pub(super) fn same_verdict(a: &Verdict, b: &Verdict) -> bool {
    let key = |v: &Verdict| {
        let mut items: Vec<(usize, Option<usize>, Option<usize>, BlockerKind)> = v
            .blockers
            .iter()
            .map(|b| (b.leg, b.policy, b.statement, b.kind))
            .collect();
        items.sort();
        items
    };
    a.status == b.status && a.conditions == b.conditions && a.reason == b.reason && key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reachability::{Leg, LegKind, admin_patterns};

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    /// A check of one model leg routed from eu-central-1 to eu-west-1.
    fn routed() -> Check {
        Check {
            kind: crate::findings::CheckKind::Inference,
            profile_id: "eu.m".to_string(),
            source_region: "eu-central-1".to_string(),
            profile_arn: "arn:aws:bedrock:eu-central-1:111111111111:inference-profile/eu.m"
                .to_string(),
            legs: vec![Leg {
                action: "bedrock:InvokeModel".to_string(),
                resource: "arn:aws:bedrock:eu-west-1::foundation-model/m".to_string(),
                region: "eu-west-1".to_string(),
                inference_profile_arn: Some(
                    "arn:aws:bedrock:eu-central-1:111111111111:inference-profile/eu.m".to_string(),
                ),
                kind: LegKind::DestinationModel,
            }],
            missing: None,
        }
    }

    fn caller() -> Caller {
        Caller {
            account_id: Some("222222222222".to_string()),
            organization_id: "o-1".to_string(),
            org_path: "o-1/r-1/ou-1/".to_string(),
        }
    }

    /// The verdict of [`routed`] under the root's FullAWSAccess and an OU policy `deny`.
    fn under(deny: &str) -> Verdict {
        let policies = [
            crate::policy::parse("p-full", "FullAWSAccess", ALLOW_ALL),
            crate::policy::parse("p-ou", "RegionGuard", deny),
        ]
        .into_iter()
        .collect::<Result<Vec<Policy>, _>>()
        .expect("the test policies parse");
        let chain = [vec![0], vec![0, 1]];
        verdict(
            &routed(),
            &chain,
            &policies,
            &caller(),
            &admin_patterns(&[]),
        )
    }

    #[test]
    fn a_region_deny_at_the_ou_blocks_the_routed_leg_naming_its_level_and_statement() {
        let verdict = under(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
                "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-central-1"]}}}]}"#,
        );
        assert_eq!(verdict.status, Status::Blocked);
        assert_eq!(
            verdict.blockers,
            [AbstractBlocker {
                leg: 0,
                level: Some(1),
                policy: Some(1),
                statement: Some(0),
                kind: BlockerKind::ExplicitDeny,
            }]
        );
        assert_eq!(verdict.requests, 1);
    }

    #[test]
    fn a_deny_that_spares_the_region_leaves_the_leg_reachable() {
        let verdict = under(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
                "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-central-1","eu-west-1"]}}}]}"#,
        );
        assert_eq!(verdict.status, Status::Reachable);
        assert!(verdict.blockers.is_empty() && verdict.conditions.is_empty());
    }

    #[test]
    fn a_deny_only_admin_roles_escape_blocks_and_one_a_team_role_escapes_is_conditional() {
        let admin_only = under(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:*","Resource":"*",
                "Condition":{"ArnNotLike":{"aws:PrincipalARN":["arn:*:iam::*:role/AWSControlTowerExecution"]}}}]}"#,
        );
        assert_eq!(admin_only.status, Status::Blocked);
        let team = under(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyMl","Effect":"Deny","Action":"bedrock:*","Resource":"*",
                "Condition":{"ArnNotLike":{"aws:PrincipalARN":["arn:aws:iam::*:role/ml-*"]}}}]}"#,
        );
        assert_eq!(team.status, Status::Conditional);
        assert_eq!(
            team.conditions,
            [Condition {
                key: "aws:PrincipalARN".to_string(),
                operator: "ArnLike".to_string(),
                values: vec!["arn:aws:iam::*:role/ml-*".to_string()],
                effect: "reachableOnlyIf".to_string(),
                group: None,
                from: Some("p-ou/OnlyMl".to_string()),
            }]
        );
    }

    #[test]
    fn a_check_the_snapshot_cannot_expand_is_unknown_with_its_reason() {
        let mut check = routed();
        check.missing = Some("profile eu.m is LEGACY in eu-central-1".to_string());
        let verdict = verdict(&check, &[], &[], &caller(), &[]);
        assert_eq!(verdict.status, Status::Unknown);
        assert_eq!(
            verdict.reason.as_deref(),
            Some("profile eu.m is LEGACY in eu-central-1")
        );
    }
}
