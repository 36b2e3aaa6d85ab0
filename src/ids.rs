//! Shapes of AWS Organizations ids and Region names, as the Organizations API documents them.

fn all(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `o-` followed by 10 to 32 lowercase letters or digits.
pub fn is_organization_id(s: &str) -> bool {
    s.strip_prefix("o-")
        .is_some_and(|rest| (10..=32).contains(&rest.len()) && all(rest, lower_alnum))
}

/// `r-` followed by 4 to 32 lowercase letters or digits.
pub fn is_root_id(s: &str) -> bool {
    s.strip_prefix("r-")
        .is_some_and(|rest| (4..=32).contains(&rest.len()) && all(rest, lower_alnum))
}

/// `ou-` + 4–32 lowercase letters or digits (the root part) + `-` + 8–32 more.
pub fn is_ou_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("ou-") else {
        return false;
    };
    let Some((root, unit)) = rest.split_once('-') else {
        return false;
    };
    (4..=32).contains(&root.len())
        && all(root, lower_alnum)
        && (8..=32).contains(&unit.len())
        && all(unit, lower_alnum)
}

/// Exactly 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && all(s, |b| b.is_ascii_digit())
}

/// `p-` followed by 8 to 128 letters, digits or underscores (`p-FullAWSAccess` included).
pub fn is_policy_id(s: &str) -> bool {
    s.strip_prefix("p-").is_some_and(|rest| {
        (8..=128).contains(&rest.len()) && all(rest, |b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// A Region name such as `us-east-1`, `us-gov-west-1` or `ap-southeast-7`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| all(p, |b| b.is_ascii_lowercase()))
        && parts.last().is_some_and(|p| all(p, |b| b.is_ascii_digit()))
}

/// A target of an SCP: a root, an OU or an account.
pub fn is_target_id(s: &str) -> bool {
    is_root_id(s) || is_ou_id(s) || is_account_id(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_organization_id("o-exampleorgid"));
        assert!(!is_organization_id("o-short"));
        assert!(is_root_id("r-ab12"));
        assert!(is_ou_id("ou-ab12-11111111"));
        assert!(!is_ou_id("ou-ab12-111"));
        assert!(is_account_id("222222222222"));
        assert!(!is_account_id("22222222222a"));
        assert!(is_policy_id("p-FullAWSAccess"));
        assert!(is_policy_id("p-abcd1234"));
        assert!(!is_policy_id("p-abc"));
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("useast1"));
        assert!(!is_region("US-EAST-1"));
    }
}
