//! The problem layer's pure parts (contract §3.1): stable problem ids from cause keys, the
//! compression of affected targets to subtree roots, the one-sentence explanation and the
//! worst-first order. `reachability` finds the causes; this module only shapes them.

use crate::findings::{Cause, CauseKind, LegName, Problem};

/// FNV-1a (32 bit): small, dependency-free and fixed forever, so ids survive releases.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// `pb-` and 8 hex digits of the cause key's hash.
pub fn problem_id(key: &str) -> String {
    format!("pb-{:08x}", fnv1a32(key.as_bytes()))
}

fn leg_word(leg: Option<LegName>) -> &'static str {
    leg.map_or("", LegName::as_str)
}

/// The text a cause's id hashes: what identifies the cause, nothing that depends on how many
/// targets it affects (so the same cause has the same id in organizations of any size).
pub fn cause_key(cause: &Cause) -> String {
    match cause.kind {
        CauseKind::ExplicitDeny => format!(
            "explicitDeny|{}|{}|{}|{}",
            cause.policy_id.as_deref().unwrap_or_default(),
            cause
                .statement_index
                .map(|i| i.to_string())
                .unwrap_or_default(),
            cause.sid.as_deref().unwrap_or_default(),
            leg_word(cause.leg)
        ),
        CauseKind::NoAllow => {
            let mut ids = cause.level_policy_ids.clone();
            ids.sort();
            format!("noAllow|{}", ids.join(","))
        }
        CauseKind::AccountNotActive => {
            format!("accountNotActive|{}", cause.attached_to.join(","))
        }
        CauseKind::Gap => format!("gap|{}", cause.reason.as_deref().unwrap_or_default()),
        CauseKind::Unknown => format!("unknown|{}", cause.reason.as_deref().unwrap_or_default()),
    }
}

/// The highest nodes whose whole subtree is affected, plus affected nodes whose subtree is
/// not (they stand for themselves alone, as single accounts do). `parents[i]` is node `i`'s
/// parent and comes before it (`parents[i] < i`, as in tree order); the answer is in node
/// order and expands to exactly the affected nodes.
pub fn compress(parents: &[Option<usize>], affected: &[bool]) -> Vec<usize> {
    let is_affected = |i: usize| affected.get(i).copied().unwrap_or(false);
    let mut full: Vec<bool> = (0..parents.len()).map(is_affected).collect();
    for node in (0..parents.len()).rev() {
        let node_full = full.get(node).copied().unwrap_or(false);
        if let Some(Some(parent)) = parents.get(node)
            && !node_full
            && let Some(slot) = full.get_mut(*parent)
        {
            *slot = false;
        }
    }
    (0..parents.len())
        .filter(|&node| {
            is_affected(node)
                && parents
                    .get(node)
                    .copied()
                    .flatten()
                    .is_none_or(|p| !full.get(p).copied().unwrap_or(false))
        })
        .collect()
}

/// `A`, `A and B`, `A, B and C`, `A, B and 478 more`.
pub fn name_list(names: &[String]) -> String {
    match names {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [first, second] => format!("{first} and {second}"),
        [first, second, third] => format!("{first}, {second} and {third}"),
        [first, second, rest @ ..] => format!("{first}, {second} and {} more", rest.len()),
    }
}

/// The sentence a person reads first. `attached` names [`Cause::attached_to`];
/// `region_deny` says the statement tests `aws:RequestedRegion`.
pub fn explanation(cause: &Cause, attached: &[String], region_deny: bool) -> String {
    let regions = name_list(&cause.regions);
    let policy = cause
        .policy_name
        .clone()
        .or_else(|| cause.policy_id.clone())
        .unwrap_or_default();
    match cause.kind {
        CauseKind::ExplicitDeny => {
            let calls = match cause.leg {
                Some(LegName::DestinationModel) => format!("Calls routed to {regions}"),
                Some(LegName::GlobalModel) => {
                    "Calls through global profiles (aws:RequestedRegion = unspecified)".to_string()
                }
                Some(LegName::Profile) => format!("Calls to the profile in {regions}"),
                Some(LegName::GuardrailProfile) => {
                    format!(
                        "Guardrailed calls (ApplyGuardrail on the guardrail profile) in {regions}"
                    )
                }
                Some(LegName::Marketplace) => format!(
                    "First calls to Marketplace models from {regions} (aws-marketplace:Subscribe, ViewSubscriptions)"
                ),
                Some(LegName::SourceModel) | None => {
                    format!("Calls to the model in the source Region {regions}")
                }
            };
            let statement = match (&cause.sid, cause.statement_index) {
                (Some(sid), _) => sid.clone(),
                (None, Some(index)) => format!("statement {index}"),
                (None, None) => String::new(),
            };
            let deny = if region_deny { "Region deny" } else { "deny" };
            format!(
                "{calls} are rejected by the {deny} {statement} of {policy}, attached to {}.",
                name_list(attached)
            )
        }
        CauseKind::NoAllow => format!(
            "No SCP attached to {} allows the calls (attached there: {}).",
            name_list(attached),
            if cause.level_policy_ids.is_empty() {
                "none".to_string()
            } else {
                cause.level_policy_ids.join(", ")
            }
        ),
        CauseKind::AccountNotActive => format!(
            "Account {} is not ACTIVE: no principal in it can call Bedrock.",
            name_list(attached)
        ),
        CauseKind::Gap | CauseKind::Unknown => format!(
            "Cannot decide: {}.",
            cause
                .reason
                .as_deref()
                .unwrap_or("a fact the answer needs is missing")
        ),
    }
}

/// The problems' order: worst status first, then the most affected findings, then id.
pub fn worst_first(a: &Problem, b: &Problem) -> std::cmp::Ordering {
    b.status
        .severity()
        .cmp(&a.status.severity())
        .then(b.affected.findings.cmp(&a.affected.findings))
        .then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn under(parents: &[Option<usize>], node: usize, ancestor: usize) -> bool {
        let mut current = Some(node);
        while let Some(c) = current {
            if c == ancestor {
                return true;
            }
            current = parents[c];
        }
        false
    }

    /// Every node of `roots`, with all its descendants when they are all affected.
    fn expand(parents: &[Option<usize>], affected: &[bool], roots: &[usize]) -> Vec<bool> {
        let n = parents.len();
        let whole = |r: usize| (0..n).all(|d| !under(parents, d, r) || affected[d]);
        (0..n)
            .map(|node| {
                roots.contains(&node) || roots.iter().any(|&r| whole(r) && under(parents, node, r))
            })
            .collect()
    }

    fn tree() -> impl Strategy<Value = (Vec<Option<usize>>, Vec<bool>)> {
        (1usize..40).prop_flat_map(|n| {
            let parents: Vec<BoxedStrategy<Option<usize>>> = (0..n)
                .map(|i| {
                    if i == 0 {
                        Just(None).boxed()
                    } else {
                        prop_oneof![Just(None), (0..i).prop_map(Some)].boxed()
                    }
                })
                .collect();
            (parents, proptest::collection::vec(any::<bool>(), n))
        })
    }

    proptest! {
        #[test]
        fn compressed_targets_expand_to_exactly_the_affected_set((parents, affected) in tree()) {
            let roots = compress(&parents, &affected);
            prop_assert_eq!(expand(&parents, &affected, &roots), affected.clone());
            // The highest: nothing lies under a root whose whole subtree is listed.
            for &root in &roots {
                let mut current = parents[root];
                while let Some(c) = current {
                    prop_assert!(!roots.contains(&c) || !(0..parents.len())
                        .all(|d| !under(&parents, d, c) || affected[d]));
                    current = parents[c];
                }
            }
        }
    }

    #[test]
    fn a_fully_affected_subtree_is_one_id_and_a_partial_one_lists_its_parts() {
        // 0 ─ 1 ─ 2, 3; 0 ─ 4
        let parents = [None, Some(0), Some(1), Some(1), Some(0)];
        assert_eq!(compress(&parents, &[false, true, true, true, true]), [1, 4]);
        assert_eq!(compress(&parents, &[true; 5]), [0]);
        assert_eq!(
            compress(&parents, &[false, false, true, false, true]),
            [2, 4]
        );
    }

    /// Alerts and suppressions refer to ids: the blog example's GRREGIONDENY must keep its id.
    #[test]
    fn the_blog_region_deny_keeps_its_id() {
        let cause = Cause {
            kind: CauseKind::ExplicitDeny,
            policy_id: Some("p-abcd1234".to_string()),
            policy_name: Some("aws-guardrails-AbCdEf".to_string()),
            sid: Some("GRREGIONDENY".to_string()),
            statement_index: Some(0),
            attached_to: vec!["ou-ab12-11111111".to_string()],
            leg: Some(LegName::DestinationModel),
            regions: vec!["us-east-2".to_string()],
            actions: Vec::new(),
            level_policy_ids: Vec::new(),
            reason: None,
        };
        assert_eq!(problem_id(&cause_key(&cause)), "pb-8cddea36");
    }

    #[test]
    fn ids_are_fnv1a_of_the_key() {
        // FNV-1a 32 of "" is the offset basis; of "a" the published 0xe40c292c.
        assert_eq!(problem_id(""), "pb-811c9dc5");
        assert_eq!(problem_id("a"), "pb-e40c292c");
    }
}
