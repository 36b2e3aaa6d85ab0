//! Long lists of ARN patterns (`ArnLike` values, `Resource`/`NotResource` entries) looked up
//! by their resource part instead of walked.

use std::collections::HashMap;

/// The positions of a list's ARN patterns by their resource part (the sixth, after the fifth
/// colon) where it has no wildcard or variable. Such a pattern matches only a value whose
/// resource part is the same (ARNs are compared part by part, and five literal colons match no
/// value with fewer), so a fix's list of hundreds of approved profiles is looked up by the
/// value's part, and only the other patterns are walked.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ArnIndex {
    by_resource: HashMap<String, Vec<usize>>,
    /// The other patterns' positions (a wildcard or variable in the resource part, fewer parts).
    rest: Vec<usize>,
}

/// Below this many patterns with a literal resource part, a list is walked.
pub(crate) const INDEXED_MIN: usize = 8;

impl ArnIndex {
    /// The index of a list given each pattern's literal resource part (`None`: may match other
    /// parts); `None` when too few are literal to be worth it.
    pub(crate) fn of<'a>(resources: impl Iterator<Item = Option<&'a str>>) -> Option<ArnIndex> {
        let mut index = ArnIndex::default();
        let mut indexed = 0;
        for (i, resource) in resources.enumerate() {
            match resource {
                Some(resource) => {
                    indexed += 1;
                    index
                        .by_resource
                        .entry(resource.to_string())
                        .or_default()
                        .push(i);
                }
                None => index.rest.push(i),
            }
        }
        (indexed >= INDEXED_MIN).then_some(index)
    }

    /// The positions of the patterns `value` may match, in no particular order (matches are
    /// ORed): every other pattern does not match it.
    pub(crate) fn candidates<'a>(&'a self, value: &str) -> impl Iterator<Item = usize> + 'a {
        let indexed = six_parts(value)
            .and_then(|parts| self.by_resource.get(parts[5]))
            .map_or(&[][..], Vec::as_slice);
        indexed.iter().chain(&self.rest).copied()
    }
}

/// `value` split at its first five colons (the last part keeps the rest), as ARN parts are;
/// `None` with fewer than five.
pub(crate) fn six_parts(value: &str) -> Option<[&str; 6]> {
    let mut parts = [""; 6];
    let mut rest = value;
    for part in parts.iter_mut().take(5) {
        let (head, tail) = rest.split_once(':')?;
        *part = head;
        rest = tail;
    }
    parts[5] = rest;
    Some(parts)
}

#[cfg(test)]
pub(crate) mod tests {
    //! ARN-ish patterns and request values from few characters, so that their parts collide:
    //! the differential tests of the indexed lists (`policy::condition`, `policy`) use them.

    use crate::request::NEW_ACCOUNT;
    use proptest::prelude::*;

    /// Resource parts that patterns and values share often.
    const RESOURCES: &[&str] = &["", "a", "b", "a:b", "ab", "b/a"];

    /// An ARN-ish pattern: wildcards in any of the first five parts, a literal resource part
    /// (indexed) or one with wildcards, sometimes too few colons.
    pub(crate) fn pattern(literal_resource: bool) -> impl Strategy<Value = String> {
        let resource = if literal_resource {
            prop::sample::select(RESOURCES)
                .prop_map(str::to_string)
                .boxed()
        } else {
            "[ab*?:]{0,3}".boxed()
        };
        prop_oneof![
            6 => (proptest::collection::vec("[a*]{0,2}", 5), resource)
                .prop_map(|(parts, resource)| format!("{}:{resource}", parts.join(":"))),
            1 => "[ab:*]{0,6}",
        ]
    }

    /// A request value: six parts (the account sometimes a new account's id) or too few.
    pub(crate) fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (
                proptest::collection::vec("a{0,1}", 5),
                prop::sample::select(RESOURCES),
                prop::bool::weighted(0.2),
            )
                .prop_map(|(mut parts, resource, new_account)| {
                    if new_account {
                        parts[4] = NEW_ACCOUNT.to_string();
                    }
                    format!("{}:{resource}", parts.join(":"))
                }),
            1 => "[ab:]{0,5}",
        ]
    }
}
