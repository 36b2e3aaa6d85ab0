//! `Resource`/`NotResource` patterns: compiled ARN parts, policy variables resolved per
//! request, and the account part of a new account's ARNs (`NEW_ACCOUNT`).

use super::condition::{self, Tri};
use super::wildcard::Wildcard;
use crate::request::Request;

/// One `Resource`/`NotResource` entry, compiled.
#[derive(Debug, Clone)]
pub struct ResourcePattern {
    pub text: String,
    kind: ResourceKind,
}

#[derive(Debug, Clone)]
enum ResourceKind {
    Any,
    /// Six ARN parts (or fewer, when the last part ends with `*` and spans the rest).
    Arn(Vec<PatternPart>),
    /// Not an ARN pattern: matched against the whole resource string.
    Whole(PatternPart),
}

/// A pattern part, possibly holding policy variables resolved at evaluation time.
#[derive(Debug, Clone)]
enum PatternPart {
    Fixed(Wildcard),
    WithVariables(Vec<condition::Piece>),
}

impl ResourcePattern {
    /// `"*"`: every resource.
    pub(super) fn any() -> ResourcePattern {
        ResourcePattern {
            text: "*".to_string(),
            kind: ResourceKind::Any,
        }
    }

    pub(super) fn compile(text: &str) -> Result<ResourcePattern, String> {
        if text == "*" {
            return Ok(ResourcePattern {
                text: text.to_string(),
                kind: ResourceKind::Any,
            });
        }
        let kind = if text.starts_with("arn:") {
            let parts = split_arn_pattern(text);
            if parts.len() < 6 && !text.ends_with('*') {
                return Err(format!(
                    "`{text}` is not a valid ARN pattern (fewer than six parts)"
                ));
            }
            let compiled: Result<Vec<PatternPart>, String> =
                parts.iter().map(|p| PatternPart::compile(p)).collect();
            ResourceKind::Arn(compiled?)
        } else {
            ResourceKind::Whole(PatternPart::compile(text)?)
        };
        Ok(ResourcePattern {
            text: text.to_string(),
            kind,
        })
    }

    /// The resource part (the sixth) when it has no wildcard or variable, for [`ArnIndex`].
    ///
    /// [`ArnIndex`]: super::arn_index::ArnIndex
    pub(super) fn literal_resource(&self) -> Option<&str> {
        match &self.kind {
            ResourceKind::Arn(parts) if parts.len() == 6 => match &parts[5] {
                PatternPart::Fixed(wildcard) => wildcard.literal(),
                PatternPart::WithVariables(_) => None,
            },
            _ => None,
        }
    }

    /// Whether the account segment can make a difference (not a pure wildcard).
    pub(crate) fn account_sensitive(&self) -> bool {
        match &self.kind {
            ResourceKind::Any => false,
            ResourceKind::Arn(parts) => {
                parts
                    .iter()
                    .any(|p| matches!(p, PatternPart::WithVariables(_)))
                    || match parts.get(4) {
                        Some(PatternPart::Fixed(w)) => !w.is_any(),
                        Some(PatternPart::WithVariables(_)) => true,
                        None => false,
                    }
            }
            ResourceKind::Whole(_) => true,
        }
    }

    /// Whether the pattern holds a policy variable: the only way it answers differently for
    /// two callers when the resource does not carry the caller's account.
    pub(super) fn has_variables(&self) -> bool {
        match &self.kind {
            ResourceKind::Any => false,
            ResourceKind::Arn(parts) => parts
                .iter()
                .any(|p| matches!(p, PatternPart::WithVariables(_))),
            ResourceKind::Whole(part) => matches!(part, PatternPart::WithVariables(_)),
        }
    }

    /// Tri-state match: `Unknown` when a policy variable's value is unknown.
    pub(super) fn matches(&self, resource: &str, request: &Request) -> Tri {
        match &self.kind {
            ResourceKind::Any => Tri::True,
            ResourceKind::Whole(part) => part.matches(resource, request),
            ResourceKind::Arn(parts) => {
                // Walks the resource's parts in place (no allocation: the verifier asks this
                // millions of times). `rest` is the resource from part `i` on.
                let mut rest = Some(resource);
                let mut result = Tri::True;
                for (i, part) in parts.iter().enumerate() {
                    let Some(remaining) = rest else {
                        return Tri::False;
                    };
                    // The last pattern part takes the rest, colons included: the sixth part
                    // always does, and a short pattern's final `*` spans the remaining parts.
                    let text = if i + 1 == parts.len() {
                        remaining
                    } else {
                        match remaining.split_once(':') {
                            Some((head, tail)) => {
                                rest = Some(tail);
                                head
                            }
                            None => {
                                rest = None;
                                remaining
                            }
                        }
                    };
                    result = result.and(part.matches(text, request));
                    if result == Tri::False {
                        return Tri::False;
                    }
                }
                result
            }
        }
    }
}

/// Splits an ARN pattern into at most six parts at the colons that are not inside a policy
/// variable: `${aws:PrincipalAccount}` is one piece of the account part, not two parts.
pub(crate) fn split_arn_pattern(text: &str) -> Vec<&str> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    let mut in_variable = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        match b {
            b'$' if bytes.get(i + 1) == Some(&b'{') => in_variable = true,
            b'}' if in_variable => in_variable = false,
            b':' if !in_variable => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

impl PatternPart {
    fn compile(text: &str) -> Result<PatternPart, String> {
        if !text.contains("${") {
            return Ok(PatternPart::Fixed(Wildcard::new(text)));
        }
        Ok(PatternPart::WithVariables(
            condition::operator::parse_template(text)?,
        ))
    }

    fn matches(&self, text: &str, request: &Request) -> Tri {
        match self {
            PatternPart::Fixed(wildcard) => condition::match_new_account(wildcard, text),
            PatternPart::WithVariables(pieces) => match condition::resolve(pieces, request) {
                condition::Resolved::Value { pattern, .. } => {
                    condition::match_new_account(&pattern, text)
                }
                condition::Resolved::NeverMatches => Tri::False,
                condition::Resolved::Unknown { relaxed } => {
                    if condition::match_new_account(&relaxed, text) == Tri::False {
                        Tri::False
                    } else {
                        Tri::Unknown
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Context, MissingKeys};

    /// The in-place walk over a resource's ARN parts: a short pattern's final `*` spans the
    /// rest (colons included), the sixth part takes the rest, too few parts never match.
    #[test]
    fn arn_parts_are_walked_in_place() {
        let cases = [
            ("arn:aws:*", "arn:aws:s3:::bucket/key", Tri::True),
            ("arn:aws:*", "arn:aws", Tri::False),
            ("arn:aws:*", "arn:aws:", Tri::True),
            ("arn:aws:s3:*", "arn:aws:s3:us-east-1:1:x:y", Tri::True),
            ("arn:aws:s3:*", "arn:aws:iam::1:role/x", Tri::False),
            // Only the rest as a whole matches: `b` lies past the next colon.
            ("arn:aws:s3:a*b*", "arn:aws:s3:a:b", Tri::True),
            ("arn:aws:s3:a*b*", "arn:aws:s3:a:c", Tri::False),
            (
                "arn:aws:s3:::b/*",
                "arn:aws:s3:::b/k:with:colons",
                Tri::True,
            ),
            ("arn:aws:s3:::b/*", "arn:aws:s3::", Tri::False),
            ("arn:aws:s3:::*", "arn:aws:s3", Tri::False),
            (
                "arn:aws:bedrock:*:*:inference-profile/us.*",
                "arn:aws:bedrock:us-east-1:1:inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
                Tri::True,
            ),
            (
                "arn:aws:bedrock:*:*:inference-profile/us.*",
                "arn:aws:bedrock:us-east-1:1:foundation-model/us.x",
                Tri::False,
            ),
        ];
        for (pattern, resource, expected) in cases {
            let compiled = ResourcePattern::compile(pattern).unwrap_or_else(|e| panic!("{e}"));
            let request = Request::new("s3:GetObject", resource, Context::new(MissingKeys::Absent));
            assert_eq!(
                compiled.matches(resource, &request),
                expected,
                "{pattern} against {resource}"
            );
        }
    }
}
