//! Condition blocks: every IAM operator family, `...IfExists`, `ForAnyValue:`/`ForAllValues:`,
//! policy variables in values, and three-valued evaluation for unknown context keys
//! ([`operator`] parses a block into [`ConditionClause`]s; this module evaluates them).
//!
//! Rules (IAM User Guide, condition operators): different operators and keys are ANDed, values
//! of one key are ORed, negated operators are NOR; a missing key makes a positive operator
//! false and a negated operator true; `IfExists` makes a missing key true; `Null` tests
//! presence; `ForAllValues` is true on a missing or empty key, `ForAnyValue` false.

use std::net::IpAddr;

use super::arn_index::{ArnIndex, six_parts};
use super::wildcard::{Token, Wildcard};
use crate::request::{Lookup, NEW_ACCOUNT, Request};

pub mod operator;

use operator::parse_date;

/// Three-valued logic for partial evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

impl From<bool> for Tri {
    fn from(value: bool) -> Tri {
        if value { Tri::True } else { Tri::False }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Ordering),
    Date(Ordering),
    Bool,
    BinaryEquals,
    IpAddress,
    /// ArnEquals and ArnLike behave the same: part-wise, case-sensitive, wildcards allowed.
    ArnLike,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ordering {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

/// One operator + key + values entry of a Condition block.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionClause {
    /// As written, e.g. `ForAnyValue:StringNotLikeIfExists`.
    pub operator: String,
    /// As written, e.g. `aws:PrincipalARN`.
    pub key: String,
    pub values: Vec<String>,
    key_lowercase: String,
    base: Base,
    negated: bool,
    if_exists: bool,
    set: Option<SetQualifier>,
    compiled: Vec<Value>,
    /// For a long `ArnLike` list: its values by literal resource part.
    index: Option<ArnIndex>,
}

/// The [`ArnIndex`] of an `ArnLike` clause's values, when it has many.
fn arn_index(base: Base, compiled: &[Value]) -> Option<ArnIndex> {
    if base != Base::ArnLike {
        return None;
    }
    ArnIndex::of(compiled.iter().map(|value| match value {
        Value::Text { arn_parts, .. } if arn_parts.len() == 6 => arn_parts[5].literal(),
        _ => None,
    }))
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text {
        literal: String,
        pattern: Wildcard,
        /// For `ArnLike`/`ArnEquals`: the pattern's six ARN parts, split once.
        arn_parts: Vec<Wildcard>,
    },
    Template(Vec<Piece>),
    Number(f64),
    Date(f64),
    Bool(bool),
    Network {
        address: IpAddr,
        prefix: u8,
    },
}

/// A piece of a value holding policy variables.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Variable {
        key: String,
        default: Option<String>,
    },
}

fn in_network(candidate: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (candidate, network) {
        (IpAddr::V4(c), IpAddr::V4(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            (u32::from(c) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(c), IpAddr::V6(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            (u128::from(c) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

/// ARN matching for ArnLike/ArnEquals: the six parts one by one, wildcards inside each. Works
/// on the compiled pattern, so a literal `*` from `${*}` is not turned back into a wildcard.
fn arn_like(pattern: &Wildcard, value: &str) -> Tri {
    arn_like_split(pattern, None, value)
}

/// [`arn_like`] with the pattern's ARN parts when they are already split (`None`: split here).
fn arn_like_split(pattern: &Wildcard, parts: Option<&[Wildcard]>, value: &str) -> Tri {
    if pattern.is_any() {
        return Tri::True;
    }
    // Parts that each match make the whole match, so a pattern that fails whole fails part by
    // part too (unless a part is a new account's id): most values are rejected without splitting.
    let whole = pattern.matches(value);
    if !whole && !holds_new_account(value) {
        return Tri::False;
    }
    let split;
    let pattern_parts = match parts {
        Some(parts) => parts,
        None => {
            split = pattern.split_colons(6);
            &split[..]
        }
    };
    let (Some(value_parts), 6) = (six_parts(value), pattern_parts.len()) else {
        // A short pattern ending in `*` spans the rest; otherwise compare as a whole.
        return Tri::from(whole);
    };
    let mut result = Tri::True;
    for (p, v) in pattern_parts.iter().zip(value_parts) {
        result = result.and(match_new_account(p, v));
        if result == Tri::False {
            return Tri::False;
        }
    }
    result
}

/// Whether `value` holds [`NEW_ACCOUNT`]; a byte scan for its `{` first, as most values have none.
fn holds_new_account(value: &str) -> bool {
    value.as_bytes().contains(&b'{') && value.contains(NEW_ACCOUNT)
}

/// Matches one value (or ARN part) that may be [`NEW_ACCOUNT`], the id of an account not yet
/// created. Its id is random and differs from every id a policy names, so only a pattern
/// that matches it whole (wildcards, or `${aws:PrincipalAccount}` resolved to it) matches it;
/// a pattern mixing digits and wildcards (`1234*`) may or may not: `Unknown`.
pub(crate) fn match_new_account(pattern: &Wildcard, value: &str) -> Tri {
    if pattern.matches(value) {
        Tri::True
    } else if value == NEW_ACCOUNT && pattern.literal().is_none() {
        Tri::Unknown
    } else {
        Tri::False
    }
}

/// A value after policy-variable substitution.
pub(crate) enum Resolved {
    Value {
        literal: String,
        pattern: Wildcard,
    },
    NeverMatches,
    /// A variable's value is unknown. `relaxed` has `*` in place of each unknown variable: what
    /// it cannot match, no value of the variable makes the pattern match.
    Unknown {
        relaxed: Wildcard,
    },
}

/// Substitutes variables from the request context; an absent key without default matches
/// nothing (iam-simulate's reading of "might make the statement invalid").
pub(crate) fn resolve(pieces: &[Piece], request: &Request) -> Resolved {
    let mut literal = String::new();
    let mut tokens = Vec::new();
    let mut unknown = false;
    for piece in pieces {
        match piece {
            Piece::Text(text) => {
                literal.push_str(text);
                tokens.extend(Wildcard::new(text).tokens().iter().cloned());
            }
            Piece::Variable { key, default } => {
                let value = match key.as_str() {
                    "*" | "?" | "$" => key.clone(),
                    _ => match request.context.get(key) {
                        Lookup::Present([value]) => value.clone(),
                        Lookup::Present(_) => return Resolved::NeverMatches,
                        Lookup::Absent => match default {
                            Some(default) => default.clone(),
                            None => return Resolved::NeverMatches,
                        },
                        Lookup::Unknown => {
                            unknown = true;
                            tokens.push(Token::Star);
                            continue;
                        }
                    },
                };
                literal.push_str(&value);
                tokens.push(Token::Literal(value));
            }
        }
    }
    let pattern = Wildcard::from_tokens(tokens);
    if unknown {
        Resolved::Unknown { relaxed: pattern }
    } else {
        Resolved::Value { literal, pattern }
    }
}

impl ConditionClause {
    /// Evaluates the clause; `Unknown` when the key (or a variable in a value) is unknown.
    pub fn evaluate(&self, request: &Request) -> Tri {
        let lookup = request.context.get(&self.key_lowercase);
        if self.base == Base::Null {
            // Values of one key are ORed: `["true", "false"]` holds whatever the request says.
            let absent = match lookup {
                Lookup::Unknown => return Tri::Unknown,
                Lookup::Absent => true,
                Lookup::Present(_) => false,
            };
            return Tri::from(
                self.compiled
                    .iter()
                    .any(|v| matches!(v, Value::Bool(want_absent) if *want_absent == absent)),
            );
        }
        let values = match lookup {
            Lookup::Unknown => return Tri::Unknown,
            Lookup::Absent => {
                // The set qualifier decides what absence means; `IfExists` does not turn
                // `ForAnyValue` true (domain.md §11).
                return Tri::from(match self.set {
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    None if self.if_exists => true,
                    None => self.negated,
                });
            }
            Lookup::Present(values) => values,
        };
        match self.set {
            Some(SetQualifier::ForAllValues) => {
                let mut result = Tri::True;
                for value in values {
                    result = result.and(self.one(value, request));
                }
                result
            }
            Some(SetQualifier::ForAnyValue) => {
                let mut result = Tri::False;
                for value in values {
                    result = result.or(self.one(value, request));
                }
                result
            }
            None => {
                // A single-valued operator on several values: true if any value satisfies a
                // positive operator, and for a negated one if no value matches (NOR).
                let mut any = Tri::False;
                for value in values {
                    any = any.or(self.base_match(value, request));
                }
                if self.negated { !any } else { any }
            }
        }
    }

    /// One request value against the policy values, negation included.
    fn one(&self, value: &str, request: &Request) -> Tri {
        let matched = self.base_match(value, request);
        if self.negated { !matched } else { matched }
    }

    /// Whether one request value matches any policy value under the base operator.
    fn base_match(&self, value: &str, request: &Request) -> Tri {
        match &self.index {
            Some(index) => self.match_any(
                index.candidates(value).filter_map(|i| self.compiled.get(i)),
                value,
                request,
            ),
            None => self.match_any(self.compiled.iter(), value, request),
        }
    }

    /// Whether one request value matches any of `values` (of this clause's).
    fn match_any<'a>(
        &self,
        values: impl Iterator<Item = &'a Value>,
        value: &str,
        request: &Request,
    ) -> Tri {
        let mut result = Tri::False;
        for compiled in values {
            let matched = match compiled {
                Value::Template(pieces) => match resolve(pieces, request) {
                    Resolved::Value { literal, pattern } => {
                        self.text_match(&literal, &pattern, value)
                    }
                    Resolved::NeverMatches => Tri::False,
                    Resolved::Unknown { relaxed } => {
                        if self.could_match(&relaxed, value) {
                            Tri::Unknown
                        } else {
                            Tri::False
                        }
                    }
                },
                literal => self.literal_match(literal, value),
            };
            result = result.or(matched);
            if result == Tri::True {
                return Tri::True;
            }
        }
        result
    }

    /// One policy value without variables against one request value, under the base operator.
    fn literal_match(&self, compiled: &Value, value: &str) -> Tri {
        match compiled {
            Value::Text {
                literal,
                pattern,
                arn_parts,
            } if self.base == Base::ArnLike => arn_like_split(pattern, Some(arn_parts), value),
            Value::Text {
                literal, pattern, ..
            } => self.text_match(literal, pattern, value),
            Value::Number(expected) => Tri::from(
                value
                    .trim()
                    .parse::<f64>()
                    .is_ok_and(|actual| compare(self.base, actual, *expected)),
            ),
            Value::Date(expected) => Tri::from(
                parse_date(value).is_some_and(|actual| compare(self.base, actual, *expected)),
            ),
            Value::Bool(expected) => {
                Tri::from(value.eq_ignore_ascii_case(if *expected { "true" } else { "false" }))
            }
            Value::Network { address, prefix } => Tri::from(
                value
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| in_network(ip, *address, *prefix)),
            ),
            // Callers resolve variables first.
            Value::Template(_) => Tri::Unknown,
        }
    }

    /// Appends to `class` how each policy value matches `value` (one character per value):
    /// for a key whose only request value is `value`, two values with the same characters get
    /// the same answer from this clause, whatever its operator, set qualifier or negation.
    /// `false` (nothing appended) when a value holds a policy variable, which can read more.
    pub(crate) fn match_class(&self, value: &str, class: &mut String) -> bool {
        if self
            .compiled
            .iter()
            .any(|v| matches!(v, Value::Template(_)))
        {
            return false;
        }
        class.extend(self.compiled.iter().map(
            |compiled| match self.literal_match(compiled, value) {
                Tri::True => '1',
                Tri::False => '0',
                Tri::Unknown => '?',
            },
        ));
        true
    }

    fn text_match(&self, literal: &str, pattern: &Wildcard, value: &str) -> Tri {
        match self.base {
            Base::StringEquals | Base::BinaryEquals => Tri::from(literal == value),
            Base::StringEqualsIgnoreCase => Tri::from(literal.eq_ignore_ascii_case(value)),
            Base::StringLike if value == NEW_ACCOUNT => match_new_account(pattern, value),
            Base::StringLike => Tri::from(pattern.matches(value)),
            Base::ArnLike => arn_like(pattern, value),
            _ => Tri::False,
        }
    }

    /// Whether a value may match a pattern whose unknown variables are `*` (an
    /// over-approximation: `false` means no value of the variables makes it match).
    fn could_match(&self, relaxed: &Wildcard, value: &str) -> bool {
        match self.base {
            Base::StringEqualsIgnoreCase => relaxed.matches_ignore_case(value),
            Base::ArnLike => arn_like(relaxed, value) != Tri::False,
            _ => relaxed.matches(value),
        }
    }

    /// The condition key, lowercased.
    pub fn key_lowercase(&self) -> &str {
        &self.key_lowercase
    }

    /// True for `...IfExists`, `ForAllValues:`/`ForAnyValue:` or a negated operator: used by
    /// remediation to read a clause's shape.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    pub fn set_qualifier(&self) -> Option<SetQualifier> {
        self.set
    }

    pub fn if_exists(&self) -> bool {
        self.if_exists
    }

    /// Whether the clause can depend on which account or OU the caller is in (beyond the
    /// policies in its chain).
    pub fn account_sensitive(&self) -> bool {
        matches!(
            self.key_lowercase.as_str(),
            "aws:principalaccount" | "aws:resourceaccount" | "aws:principalorgpaths"
        ) || self
            .compiled
            .iter()
            .any(|v| matches!(v, Value::Template(_)))
            // ARN-valued keys (`bedrock:InferenceProfileArn`, `aws:PrincipalArn`, …) carry the
            // caller's account: a value that pins the account part tells accounts apart.
            || (self.key_lowercase.ends_with("arn")
                && self.values.iter().any(|v| {
                    super::split_arn_pattern(v)
                        .get(4)
                        .is_some_and(|account| *account != "*")
                }))
    }

    /// The operator and values that hold exactly when this clause does not (for reporting
    /// "reachable only if").
    pub fn negation(&self) -> (String, Vec<String>) {
        let values = self.values.clone();
        if self.set.is_some() || self.if_exists {
            return (format!("Not:{}", self.operator), values);
        }
        let flipped = match self.operator.as_str() {
            "StringEquals" => "StringNotEquals",
            "StringNotEquals" => "StringEquals",
            "StringEqualsIgnoreCase" => "StringNotEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase" => "StringEqualsIgnoreCase",
            "StringLike" => "StringNotLike",
            "StringNotLike" => "StringLike",
            "NumericEquals" => "NumericNotEquals",
            "NumericNotEquals" => "NumericEquals",
            "NumericLessThan" => "NumericGreaterThanEquals",
            "NumericLessThanEquals" => "NumericGreaterThan",
            "NumericGreaterThan" => "NumericLessThanEquals",
            "NumericGreaterThanEquals" => "NumericLessThan",
            "DateEquals" => "DateNotEquals",
            "DateNotEquals" => "DateEquals",
            "DateLessThan" => "DateGreaterThanEquals",
            "DateLessThanEquals" => "DateGreaterThan",
            "DateGreaterThan" => "DateLessThanEquals",
            "DateGreaterThanEquals" => "DateLessThan",
            "IpAddress" => "NotIpAddress",
            "NotIpAddress" => "IpAddress",
            "ArnEquals" => "ArnNotEquals",
            "ArnNotEquals" => "ArnEquals",
            "ArnLike" => "ArnNotLike",
            "ArnNotLike" => "ArnLike",
            // `Null` values are ORed: the negation holds the values not listed (none, when
            // both are: such a clause is always true and nothing escapes it).
            "Null" => {
                let listed = |want: &str| values.iter().any(|v| v.eq_ignore_ascii_case(want));
                let remaining = ["true", "false"]
                    .into_iter()
                    .filter(|v| !listed(v))
                    .map(str::to_string)
                    .collect();
                return (self.operator.clone(), remaining);
            }
            "Bool" => {
                let flipped_values = values
                    .iter()
                    .map(|v| {
                        if v.eq_ignore_ascii_case("true") {
                            "false".to_string()
                        } else {
                            "true".to_string()
                        }
                    })
                    .collect();
                return (self.operator.clone(), flipped_values);
            }
            other => return (format!("Not:{other}"), values),
        };
        (flipped.to_string(), values)
    }
}

fn compare(base: Base, actual: f64, expected: f64) -> bool {
    let ordering = match base {
        Base::Numeric(o) | Base::Date(o) => o,
        _ => return false,
    };
    match ordering {
        Ordering::Equals => actual == expected,
        Ordering::LessThan => actual < expected,
        Ordering::LessThanEquals => actual <= expected,
        Ordering::GreaterThan => actual > expected,
        Ordering::GreaterThanEquals => actual >= expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::arn_index::INDEXED_MIN;
    use crate::policy::arn_index::tests::{pattern, value};
    use crate::policy::json::Json;
    use crate::request::{Context, MissingKeys};
    use proptest::prelude::*;

    proptest! {
        /// The resource-part index of a long `ArnLike` list gives what walking every value
        /// gives, for positive, negated and set operators alike.
        #[test]
        fn indexed_arn_like_agrees_with_the_walk(
            literal in proptest::collection::vec(pattern(true), INDEXED_MIN..14),
            wild in proptest::collection::vec(pattern(false), 0..4),
            values in proptest::collection::vec(value(), 1..3),
            operator in prop::sample::select(vec![
                "ArnLike", "ArnNotLike", "ArnEquals", "ForAnyValue:ArnLike",
                "ForAllValues:ArnNotLike",
            ]),
        ) {
            let listed: Vec<Json> = literal
                .iter()
                .chain(&wild)
                .map(|v| Json::String(v.clone()))
                .collect();
            let block = Json::Object(vec![(
                operator.to_string(),
                Json::Object(vec![("aws:PrincipalArn".to_string(), Json::Array(listed))]),
            )]);
            let clauses = operator::parse_block(&block, "Condition").expect("parses");
            let indexed = &clauses[0];
            let mut walked = indexed.clone();
            walked.index = None;
            let mut context = Context::new(MissingKeys::Absent);
            context.set("aws:PrincipalArn", values.clone());
            let request = Request::new("s3:GetObject", "*", context);
            prop_assert_eq!(indexed.evaluate(&request), walked.evaluate(&request));
        }
    }

    /// A long list of exact ARNs is indexed (the property above compares it with the walk).
    #[test]
    fn a_long_arn_like_list_is_indexed() {
        let listed = (0..INDEXED_MIN)
            .map(|i| Json::String(format!("arn:aws:iam::*:role/r{i}")))
            .collect();
        let block = Json::Object(vec![(
            "ArnNotLike".to_string(),
            Json::Object(vec![("aws:PrincipalArn".to_string(), Json::Array(listed))]),
        )]);
        let clauses = operator::parse_block(&block, "Condition").expect("parses");
        assert!(clauses[0].index.is_some());
    }

    #[test]
    fn arn_parts() {
        let p = "arn:aws:iam::*:role/AWSControlTowerExecution";
        assert_eq!(
            arn_like(
                &Wildcard::new(p),
                "arn:aws:iam::123456789012:role/AWSControlTowerExecution"
            ),
            Tri::True
        );
        assert_eq!(
            arn_like(
                &Wildcard::new(p),
                "arn:aws:iam::123456789012:role/awscontroltowerexecution"
            ),
            Tri::False
        );
    }

    /// The whole-value pre-check rejects early, but never where part-by-part matching says
    /// otherwise: `*` spanning a colon does not match one part, and a partly wildcarded
    /// account may or may not be a new account's id.
    #[test]
    fn arn_like_pre_check_keeps_part_by_part_answers() {
        let across = Wildcard::new("arn:aws:iam::*:role/x");
        assert_eq!(arn_like(&across, "arn:aws:iam::1:2:role/x"), Tri::False);
        let partial = Wildcard::new("arn:aws:bedrock:*:1234*:inference-profile/*");
        assert_eq!(
            arn_like(
                &partial,
                &format!("arn:aws:bedrock:us-east-1:{NEW_ACCOUNT}:inference-profile/p")
            ),
            Tri::Unknown
        );
        assert_eq!(
            arn_like(
                &partial,
                "arn:aws:bedrock:us-east-1:5555:inference-profile/p"
            ),
            Tri::False
        );
    }
}
