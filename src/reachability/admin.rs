//! Administration principals: the roles Control Tower and StackSets exempt from their own
//! guardrails, and how a condition that only they can meet is recognised.

use rustc_hash::FxHashMap as HashMap;

use crate::policy::condition::ConditionClause;
use crate::policy::wildcard::Wildcard;

/// Administration roles that Control Tower and StackSets exempt from their own guardrails;
/// "every principal" means every principal but these (contract §3).
pub const ADMIN_PRINCIPALS: &[&str] = &[
    "arn:*:iam::*:role/AWSControlTowerExecution",
    "arn:*:sts::*:assumed-role/AWSControlTowerExecution/*",
    "arn:*:iam::*:role/aws-controltower-*",
    "arn:*:sts::*:assumed-role/aws-controltower-*",
    "arn:*:iam::*:role/stacksets-exec-*",
    "arn:*:sts::*:assumed-role/stacksets-exec-*",
    "arn:*:iam::*:role/AWSControlTower_VPCFlowLogsRole",
];

const PRINCIPAL_KEYS: &[&str] = &["aws:principalarn"];

/// A deny clause like `ArnNotLike aws:PrincipalARN [AWSControlTowerExecution]` is escaped only
/// by principals matching its values; if they are all admin roles, nobody we count escapes.
pub(super) fn escape_is_admin_only(
    clause: &ConditionClause,
    admins: &[Wildcard],
    memo: &mut AdminMemo,
) -> bool {
    PRINCIPAL_KEYS.contains(&clause.key_lowercase())
        && clause.is_negated()
        && clause.set_qualifier().is_none()
        && !clause.if_exists()
        && clause.values.iter().all(|v| memo.is_admin(v, admins))
}

/// Whether a Deny that applies unless `clauses` hold binds every principal but the admin roles
/// (each escape is one only admin principals can take): for everyone else it is a definite
/// Deny, as [`super::verdict`] counts it.
pub fn deny_binds_non_admins(clauses: &[ConditionClause], admins: &[Wildcard]) -> bool {
    let mut memo = AdminMemo::default();
    clauses
        .iter()
        .all(|clause| escape_is_admin_only(clause, admins, &mut memo))
}

/// An allow clause like `ArnLike aws:PrincipalARN [AWSControlTowerExecution]`.
pub(super) fn allow_is_admin_only(
    clause: &ConditionClause,
    admins: &[Wildcard],
    memo: &mut AdminMemo,
) -> bool {
    PRINCIPAL_KEYS.contains(&clause.key_lowercase())
        && !clause.is_negated()
        && clause.set_qualifier().is_none()
        && clause.values.iter().all(|v| memo.is_admin(v, admins))
}

/// [`is_admin_pattern`] answers by pattern, remembered for one evaluation run (the same few
/// principal patterns come back for every chain and check).
#[derive(Debug, Default)]
pub(super) struct AdminMemo(HashMap<String, bool>);

impl AdminMemo {
    fn is_admin(&mut self, pattern: &str, admins: &[Wildcard]) -> bool {
        if let Some(&known) = self.0.get(pattern) {
            return known;
        }
        let answer = is_admin_pattern(pattern, admins);
        self.0.insert(pattern.to_string(), answer);
        answer
    }
}

/// Whether every principal a pattern matches is an admin principal, tested on an instance of
/// the pattern (wildcards filled in): `arn:aws:iam::*:role/AWSControlTowerExecution` is admin,
/// `arn:aws:iam::*:role/*` is not.
fn is_admin_pattern(pattern: &str, admins: &[Wildcard]) -> bool {
    let instance: String = pattern
        .chars()
        .map(|c| if c == '*' || c == '?' { 'x' } else { c })
        .collect();
    let broad: String = pattern
        .chars()
        .map(|c| if c == '*' || c == '?' { 'Q' } else { c })
        .collect();
    admins.iter().any(|a| a.matches(&instance)) && admins.iter().any(|a| a.matches(&broad))
}

/// Compiles the admin principal patterns (built-in plus the user's).
pub fn admin_patterns(extra: &[String]) -> Vec<Wildcard> {
    ADMIN_PRINCIPALS
        .iter()
        .map(|p| Wildcard::new(p))
        .chain(extra.iter().map(|p| Wildcard::new(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_admin_only_when_every_principal_it_matches_is_an_admin_role() {
        let admins = admin_patterns(&["arn:aws:iam::*:role/platform-*".to_string()]);
        let mut memo = AdminMemo::default();
        for (pattern, admin) in [
            ("arn:aws:iam::*:role/AWSControlTowerExecution", true),
            ("arn:*:sts::*:assumed-role/stacksets-exec-*", true),
            ("arn:aws:iam::*:role/platform-ops", true),
            ("arn:aws:iam::*:role/*", false),
            ("arn:aws:iam::*:role/AWSControlTower*", false),
            ("arn:aws:iam::111111111111:role/ml", false),
        ] {
            assert_eq!(memo.is_admin(pattern, &admins), admin, "{pattern}");
            assert_eq!(memo.is_admin(pattern, &admins), admin, "{pattern} again");
        }
    }
}
