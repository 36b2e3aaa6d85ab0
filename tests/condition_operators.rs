//! Every condition operator family against the IAM documentation's truth table, as data.
//!
//! Two tables drive [`truth_table`]:
//! - [`FAMILIES`]: each operator family (String*, StringLike, *IgnoreCase, Numeric*, Date*,
//!   Bool, BinaryEquals, IpAddress/NotIpAddress, Arn*), its positive and negated operator, a
//!   condition key, two policy values and request values that match the first / the second
//!   policy value or neither;
//! - [`CASES`]: the truth table every family is checked against (key absent, single-valued key
//!   matching or not, several policy values, multivalued key with all / some / no value
//!   matching and the empty set, `IfExists`, `ForAllValues:` / `ForAnyValue:` with and without
//!   `IfExists` and with negated operators), each row citing its rule.
//!
//! [`ROWS`] adds the rows that belong to one family only (`Null`, literal `*`, value and key
//! case, ARN parts, IPv6, date formats, policy variables, `MissingKeys::UnknownCaller`).
//!
//! A row is evaluated through the public API only: a one-statement `Deny` policy with the row's
//! condition is parsed with `policy::parse`; `Statement::applies` must say `Yes` (condition
//! true), `No` (false) or `Residual` (depends on an unknown key), and `evaluation::evaluate`
//! under FullAWSAccess must agree (`explicitlyDenied` / `allowed` / `conditional`).
//!
//! Rule citations: `§3 [tag]` is `../shared/reference/evaluation-rules.md` §3 and the tag of its
//! test row; `§11` is `../shared/reference/domain.md` §11. Rows marked *informational* pin what
//! the engine does where AWS documents nothing (a single-valued operator on a multivalued key):
//! a change there must be deliberate, so they are asserted too.
//!
//! All mismatches are reported together, one line per row.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeSet;

use cris_guard::evaluation::{self, Outcome};
use cris_guard::policy::{self, Applies, Policy};
use cris_guard::request::{Context, MissingKeys, Request};
use serde_json::{Value, json};

/// What a condition evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    True,
    False,
    /// Depends on a key whose value is unknown (`MissingKeys::UnknownCaller`).
    Residual,
}
use Expect::{False, Residual, True};

/// One operator family.
struct Family {
    name: &'static str,
    positive: &'static str,
    /// `None` where IAM has no negated form (`Bool`, `BinaryEquals`, ordering operators).
    negated: Option<&'static str>,
    key: &'static str,
    /// The two policy values (ORed by the positive operator, NORed by the negated one).
    values: [&'static str; 2],
    /// Request values matching the first and the second policy value.
    matching: [&'static str; 2],
    /// Request values matching neither.
    other: [&'static str; 2],
}

const FAMILIES: &[Family] = &[
    Family {
        name: "StringEquals",
        positive: "StringEquals",
        negated: Some("StringNotEquals"),
        key: "aws:PrincipalTag/team",
        values: ["ml", "data"],
        matching: ["ml", "data"],
        other: ["web", "ML"],
    },
    Family {
        name: "StringEqualsIgnoreCase",
        positive: "StringEqualsIgnoreCase",
        negated: Some("StringNotEqualsIgnoreCase"),
        key: "aws:PrincipalTag/team",
        values: ["Ml", "data"],
        matching: ["mL", "DATA"],
        other: ["web", "ml2"],
    },
    Family {
        name: "StringLike",
        positive: "StringLike",
        negated: Some("StringNotLike"),
        key: "aws:PrincipalTag/project",
        values: ["us-*", "eu-west-?"],
        matching: ["us-east-2", "eu-west-1"],
        other: ["ap-south-1", "eu-west-10"],
    },
    Family {
        name: "NumericEquals",
        positive: "NumericEquals",
        negated: Some("NumericNotEquals"),
        key: "aws:MultiFactorAuthAge",
        values: ["1", "10"],
        matching: ["1.0", "10"],
        other: ["5", "-1"],
    },
    Family {
        name: "NumericLessThan",
        positive: "NumericLessThan",
        negated: None,
        key: "aws:MultiFactorAuthAge",
        values: ["5", "10"],
        matching: ["4", "9"],
        other: ["10", "12"],
    },
    Family {
        name: "NumericLessThanEquals",
        positive: "NumericLessThanEquals",
        negated: None,
        key: "aws:MultiFactorAuthAge",
        values: ["5", "10"],
        matching: ["5", "10"],
        other: ["10.5", "11"],
    },
    Family {
        name: "NumericGreaterThan",
        positive: "NumericGreaterThan",
        negated: None,
        key: "aws:MultiFactorAuthAge",
        values: ["10", "5"],
        matching: ["11", "6"],
        other: ["5", "-3"],
    },
    Family {
        name: "NumericGreaterThanEquals",
        positive: "NumericGreaterThanEquals",
        negated: None,
        key: "aws:MultiFactorAuthAge",
        values: ["10", "5"],
        matching: ["10", "5"],
        other: ["4.9", "0"],
    },
    Family {
        name: "DateEquals",
        positive: "DateEquals",
        negated: Some("DateNotEquals"),
        key: "aws:CurrentTime",
        values: ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"],
        // The same instants written with an offset and as epoch seconds.
        matching: ["2026-01-01T01:00:00+01:00", "1780272000"],
        other: ["2026-03-01T00:00:00Z", "2025-12-31T23:59:59Z"],
    },
    Family {
        name: "DateLessThan",
        positive: "DateLessThan",
        negated: None,
        key: "aws:CurrentTime",
        values: ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"],
        matching: ["2025-12-31T00:00:00Z", "2026-03-01T00:00:00Z"],
        other: ["2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"],
    },
    Family {
        name: "DateLessThanEquals",
        positive: "DateLessThanEquals",
        negated: None,
        key: "aws:CurrentTime",
        values: ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"],
        matching: ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"],
        other: ["2026-06-01T00:00:01Z", "2027-01-01T00:00:00Z"],
    },
    Family {
        name: "DateGreaterThan",
        positive: "DateGreaterThan",
        negated: None,
        key: "aws:CurrentTime",
        values: ["2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z"],
        matching: ["2026-07-01T00:00:00Z", "2026-03-01T00:00:00Z"],
        other: ["2026-01-01T00:00:00Z", "2025-01-01T00:00:00Z"],
    },
    Family {
        name: "DateGreaterThanEquals",
        positive: "DateGreaterThanEquals",
        negated: None,
        key: "aws:CurrentTime",
        values: ["2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z"],
        matching: ["2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z"],
        other: ["2025-12-31T23:59:59Z", "2025-01-01T00:00:00Z"],
    },
    Family {
        name: "Bool",
        positive: "Bool",
        negated: None,
        key: "aws:SecureTransport",
        // One meaningful value: both "policy values" are `true` (two `true`s are still ORed).
        values: ["true", "true"],
        matching: ["true", "true"],
        other: ["false", "false"],
    },
    Family {
        name: "BinaryEquals",
        positive: "BinaryEquals",
        negated: None,
        key: "aws:PrincipalTag/blob",
        values: ["QmluYXJ5VmFsdWU=", "b3RoZXI="],
        matching: ["QmluYXJ5VmFsdWU=", "b3RoZXI="],
        other: ["Zm9v", "qmluyxj5vmfsdwu="],
    },
    Family {
        name: "IpAddress",
        positive: "IpAddress",
        negated: Some("NotIpAddress"),
        key: "aws:SourceIp",
        values: ["10.0.0.0/8", "192.168.1.1"],
        matching: ["10.20.30.40", "192.168.1.1"],
        other: ["11.0.0.1", "192.168.1.2"],
    },
    Family {
        name: "ArnEquals",
        positive: "ArnEquals",
        negated: Some("ArnNotEquals"),
        key: "aws:PrincipalArn",
        values: [
            "arn:aws:iam::*:role/Admin*",
            "arn:aws:iam::111122223333:user/bob",
        ],
        matching: [
            "arn:aws:iam::999999999999:role/AdminOps",
            "arn:aws:iam::111122223333:user/bob",
        ],
        other: [
            "arn:aws:iam::111122223333:role/app",
            "arn:aws:iam::111122223333:user/Bob",
        ],
    },
    Family {
        name: "ArnLike",
        positive: "ArnLike",
        negated: Some("ArnNotLike"),
        key: "aws:PrincipalArn",
        values: [
            "arn:aws:iam::*:role/Admin*",
            "arn:aws:iam::1111????3333:user/*",
        ],
        matching: [
            "arn:aws:iam::999999999999:role/AdminOps",
            "arn:aws:iam::111122223333:user/bob",
        ],
        other: [
            "arn:aws:iam::111122223333:role/admin",
            "arn:aws:sts::111122223333:user/bob",
        ],
    },
];

/// Which operator of the family a case uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Positive,
    Negated,
}

/// A request value, by role in the family.
#[derive(Debug, Clone, Copy)]
enum V {
    /// Matches the first policy value.
    M1,
    /// Matches the second policy value.
    M2,
    /// Matches neither.
    O1,
    O2,
}

/// What the request context says about the key.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// Not in the request (`MissingKeys::Absent`).
    Absent,
    /// Present with these values (one: single-valued; several or none: multivalued).
    Values(&'static [V]),
    /// Not fixed: the caller is unknown (`MissingKeys::UnknownCaller`).
    Unknown,
}

/// One row of the truth table every family is checked against.
struct Case {
    rule: &'static str,
    set: Option<&'static str>,
    op: Op,
    if_exists: bool,
    key: Key,
    expect: Expect,
    /// Only rows documented by AWS are normative; informational rows pin today's behaviour.
    informational: bool,
}

const fn case(
    rule: &'static str,
    set: Option<&'static str>,
    op: Op,
    if_exists: bool,
    key: Key,
    expect: Expect,
) -> Case {
    Case {
        rule,
        set,
        op,
        if_exists,
        key,
        expect,
        informational: false,
    }
}

const ALL: Option<&str> = Some("ForAllValues:");
const ANY: Option<&str> = Some("ForAnyValue:");
use Key::{Absent, Unknown, Values};
use Op::{Negated, Positive};
use V::{M1, M2, O1, O2};

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Key absent.
    case("§3 [pos-op-missing-key] positive operator, key absent: false", None, Positive, false, Absent, False),
    case("§3 [neg-op-missing-key] negated operator, key absent: true", None, Negated, false, Absent, True),
    case("§3 [ifexists-missing-key] ...IfExists, key absent: true", None, Positive, true, Absent, True),
    case("§3 [notifexists-missing-key] negated ...IfExists, key absent: true", None, Negated, true, Absent, True),
    // Single-valued key, several policy values (OR; NOR when negated).
    case("§3 [multi-value-or] value equal to the first policy value: true", None, Positive, false, Values(&[M1]), True),
    case("§3 [multi-value-or] values are ORed: the second policy value matches: true", None, Positive, false, Values(&[M2]), True),
    case("§3 [multi-value-or] no policy value matches: false", None, Positive, false, Values(&[O1]), False),
    case("§3 [multi-value-or] no policy value matches (other value): false", None, Positive, false, Values(&[O2]), False),
    case("§3 [negated-multi-value-nor] negated, value equals the first policy value: false", None, Negated, false, Values(&[M1]), False),
    case("§3 [negated-multi-value-nor] negated, value equals the second policy value: false", None, Negated, false, Values(&[M2]), False),
    case("§3 [negated-multi-value-nor] negated, value matches neither: true", None, Negated, false, Values(&[O1]), True),
    // IfExists with the key present: evaluated normally.
    case("§3 [ifexists-present-nomatch] ...IfExists, present, no match: false", None, Positive, true, Values(&[O1]), False),
    case("§3 [ifexists-present-nomatch] ...IfExists, present, match: true", None, Positive, true, Values(&[M2]), True),
    case("§3 [ifexists-present-nomatch] negated ...IfExists, present, match: false", None, Negated, true, Values(&[M1]), False),
    case("§3 [ifexists-present-nomatch] negated ...IfExists, present, no match: true", None, Negated, true, Values(&[O2]), True),
    // ForAllValues: every request value matches some policy value; true when absent or empty.
    case("§3 [forall-missing-key] ForAllValues, key absent: true", ALL, Positive, false, Absent, True),
    case("§3 [forall-empty-set] ForAllValues, empty set: true", ALL, Positive, false, Values(&[]), True),
    case("§3 [forall-subset] ForAllValues, every value matches: true", ALL, Positive, false, Values(&[M1, M2]), True),
    case("§3 [forall-subset] ForAllValues, one value that matches: true", ALL, Positive, false, Values(&[M2]), True),
    case("§3 [forall-not-subset] ForAllValues, one value outside: false", ALL, Positive, false, Values(&[M1, O1]), False),
    case("§3 [forall-not-subset] ForAllValues, no value matches: false", ALL, Positive, false, Values(&[O1, O2]), False),
    // ForAnyValue: at least one request value matches; false when absent or empty.
    case("§3 [forany-missing-key] ForAnyValue, key absent: false", ANY, Positive, false, Absent, False),
    case("§3 [forany-empty-set] ForAnyValue, empty set: false", ANY, Positive, false, Values(&[]), False),
    case("§3 [forany-match] ForAnyValue, one of several values matches: true", ANY, Positive, false, Values(&[O1, M2]), True),
    case("§3 [forany-match] ForAnyValue, every value matches: true", ANY, Positive, false, Values(&[M1, M2]), True),
    case("§3 [forany-nomatch] ForAnyValue, no value matches: false", ANY, Positive, false, Values(&[O1, O2]), False),
    // Negated operators under set qualifiers.
    case("§3 [forall-notequals] ForAllValues negated = no request value in the list: none is: true", ALL, Negated, false, Values(&[O1, O2]), True),
    case("§3 [forall-notequals] ForAllValues negated = no request value in the list: one is: false", ALL, Negated, false, Values(&[O1, M2]), False),
    case("§3 [forall-notequals] ForAllValues negated, key absent: true", ALL, Negated, false, Absent, True),
    case("§3 [forall-notequals] ForAllValues negated, empty set: true", ALL, Negated, false, Values(&[]), True),
    case("§3 [forany-notequals] ForAnyValue negated = some request value outside the list: one is: true", ANY, Negated, false, Values(&[M1, O1]), True),
    case("§3 [forany-notequals] ForAnyValue negated = some request value outside the list: none is: false", ANY, Negated, false, Values(&[M1, M2]), False),
    case("§3 [forany-notequals] ForAnyValue negated, key absent: false", ANY, Negated, false, Absent, False),
    case("§3 [forany-notequals] ForAnyValue negated, empty set: false", ANY, Negated, false, Values(&[]), False),
    // Set qualifiers with IfExists: the qualifier decides what absence means.
    case("§3 [forallvalues-ifexists-missing-key] ForAllValues ...IfExists, key absent: true", ALL, Positive, true, Absent, True),
    case("§3 [forall-ifexists-present-not-subset] ForAllValues ...IfExists, present, one value outside: false", ALL, Positive, true, Values(&[M1, O2]), False),
    case("§3 [forall-ifexists-present-not-subset] ForAllValues ...IfExists, present, subset: true", ALL, Positive, true, Values(&[M2, M1]), True),
    case("§3 [forall-notequals] ForAllValues negated ...IfExists, key absent: true", ALL, Negated, true, Absent, True),
    case("§11 ForAnyValue ...IfExists on an absent key is false (IfExists does not make it true)", ANY, Positive, true, Absent, False),
    case("§11 ForAnyValue negated ...IfExists on an absent key is false", ANY, Negated, true, Absent, False),
    case("§11 ForAnyValue ...IfExists, present, one value matches: true", ANY, Positive, true, Values(&[O2, M1]), True),
    case("§11 ForAnyValue ...IfExists, present, no value matches: false", ANY, Positive, true, Values(&[O1]), False),
    // Unknown keys (the caller is "anyone in the target"): the clause is the residual.
    case("UnknownCaller: positive operator on an unknown key: residual", None, Positive, false, Unknown, Residual),
    case("UnknownCaller: negated operator on an unknown key: residual", None, Negated, false, Unknown, Residual),
    case("UnknownCaller: ...IfExists on an unknown key (absent or not is unknown): residual", None, Positive, true, Unknown, Residual),
    case("UnknownCaller: ForAllValues on an unknown key: residual", ALL, Positive, false, Unknown, Residual),
    case("UnknownCaller: ForAnyValue negated ...IfExists on an unknown key: residual", ANY, Negated, true, Unknown, Residual),
    // Undocumented: a single-valued operator on a multivalued key (iam-simulate: false, iam-rs:
    // true). The engine: positive = some value matches; negated = no value matches.
    Case { informational: true, ..case("§3 [single-op-on-multivalued] informational: positive, one of two values matches: true (engine)", None, Positive, false, Values(&[O1, M1]), True) },
    Case { informational: true, ..case("§3 [single-op-on-multivalued] informational: positive, no value matches: false (engine)", None, Positive, false, Values(&[O1, O2]), False) },
    Case { informational: true, ..case("§3 [single-op-on-multivalued] informational: negated, one of two values listed: false (engine, NOR over values)", None, Negated, false, Values(&[O1, M1]), False) },
    Case { informational: true, ..case("§3 [single-op-on-multivalued] informational: negated, no value listed: true (engine)", None, Negated, false, Values(&[O1, O2]), True) },
    Case { informational: true, ..case("§3 [single-op-on-multivalued] informational: positive, empty set: false (engine)", None, Positive, false, Values(&[]), False) },
    Case { informational: true, ..case("§3 [single-op-on-multivalued] informational: negated, empty set: true (engine)", None, Negated, false, Values(&[]), True) },
];

/// How the request carries the key in a family-specific row.
#[derive(Debug, Clone, Copy)]
enum Ctx {
    /// `MissingKeys::Absent` with these keys set.
    Set(&'static [(&'static str, &'static [&'static str])]),
    /// `MissingKeys::UnknownCaller` with these keys set.
    Caller(&'static [(&'static str, &'static [&'static str])]),
}

/// A family-specific row: the condition block as JSON text, the context, the expectation.
struct Row {
    rule: &'static str,
    condition: &'static str,
    context: Ctx,
    expect: Expect,
}

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Null: presence test, values ORed (§11).
    Row { rule: "§3 [null-true-missing] Null true, key absent: true", condition: r#"{"Null": {"aws:PrincipalTag/team": "true"}}"#, context: Ctx::Set(&[]), expect: True },
    Row { rule: "§3 [null-true-present] Null true, key present: false", condition: r#"{"Null": {"aws:PrincipalTag/team": "true"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: False },
    Row { rule: "§3 [null-false-present] Null false, key present: true", condition: r#"{"Null": {"aws:PrincipalTag/team": "false"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: True },
    Row { rule: "§3 [null-false-missing] Null false, key absent: false", condition: r#"{"Null": {"aws:PrincipalTag/team": "false"}}"#, context: Ctx::Set(&[]), expect: False },
    Row { rule: "§3 [null-*] Null with a JSON boolean value, key absent: true", condition: r#"{"Null": {"aws:PrincipalTag/team": true}}"#, context: Ctx::Set(&[]), expect: True },
    Row { rule: "§11 Null values are ORed: [true, false] holds when the key is absent", condition: r#"{"Null": {"aws:PrincipalTag/team": ["true", "false"]}}"#, context: Ctx::Set(&[]), expect: True },
    Row { rule: "§11 Null values are ORed: [true, false] holds when the key is present", condition: r#"{"Null": {"aws:PrincipalTag/team": ["false", "true"]}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: True },
    Row { rule: "§11 Null values are ORed: [true, false] holds whatever an unknown key is", condition: r#"{"Null": {"aws:PrincipalTag/team": ["true", "false"]}}"#, context: Ctx::Caller(&[]), expect: Residual },
    Row { rule: "UnknownCaller: Null on an unknown key: residual", condition: r#"{"Null": {"aws:PrincipalTag/team": "true"}}"#, context: Ctx::Caller(&[]), expect: Residual },
    // String specifics.
    Row { rule: "§3 [stringequals-star-literal] StringEquals treats * literally: other value false", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "*"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: False },
    Row { rule: "§3 [stringequals-star-literal] StringEquals treats * literally: `*` itself true", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "*"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["*"])]), expect: True },
    Row { rule: "§3 [stringlike-*] StringLike ? needs exactly one character", condition: r#"{"StringLike": {"aws:PrincipalTag/team": "m?"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["m"])]), expect: False },
    Row { rule: "§3 [stringlike-*] StringLike * matches the empty string", condition: r#"{"StringLike": {"aws:PrincipalTag/team": "ml*"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: True },
    Row { rule: "§3 [cond-value-case] values are case-sensitive (StringEquals)", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "ML"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: False },
    Row { rule: "§3 [cond-value-case] values are case-sensitive (StringLike)", condition: r#"{"StringLike": {"aws:PrincipalTag/team": "M*"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: False },
    Row { rule: "§3 [cond-value-ignorecase] StringNotEqualsIgnoreCase: same value in another case is listed: false", condition: r#"{"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "ML"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: False },
    Row { rule: "§3 [cond-key-case] condition key names are case-insensitive", condition: r#"{"StringEquals": {"AWS:PRINCIPALTAG/TEAM": "ml"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: True },
    Row { rule: "§3 [multi-key-and] two keys under one operator are ANDed: one fails: false", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "ml", "aws:RequestedRegion": "us-east-1"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"]), ("aws:RequestedRegion", &["us-east-2"])]), expect: False },
    Row { rule: "§3 [multi-key-and] two operators are ANDed: both hold: true", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "ml"}, "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"]), ("aws:RequestedRegion", &["us-east-2"])]), expect: True },
    // ARN specifics.
    Row { rule: "§3 [arnlike-case] ArnLike is case-sensitive", condition: r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/AWSControlTowerExecution"}}"#, context: Ctx::Set(&[("aws:PrincipalArn", &["arn:aws:iam::111122223333:role/awscontroltowerexecution"])]), expect: False },
    Row { rule: "§3 [arnlike-path] ArnLike: * in the resource part spans the path", condition: r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}}"#, context: Ctx::Set(&[("aws:PrincipalArn", &["arn:aws:iam::111122223333:role/team/app"])]), expect: True },
    Row { rule: "§3 [arnequals-wildcard] ArnEquals accepts wildcards like ArnLike", condition: r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::1111*:role/app"}}"#, context: Ctx::Set(&[("aws:PrincipalArn", &["arn:aws:iam::111122223333:role/app"])]), expect: True },
    Row { rule: "§3 [arnlike-*] ArnLike parts are matched one by one: the account wildcard does not reach the next part", condition: r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}}"#, context: Ctx::Set(&[("aws:PrincipalArn", &["arn:aws:iam::111122223333:user/x:role/app"])]), expect: False },
    Row { rule: "§3 [arnlike-*] ArnNotLike on the partition wildcard: aws-us-gov matches arn:*", condition: r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:*:iam::*:role/AWSControlTowerExecution"}}"#, context: Ctx::Set(&[("aws:PrincipalArn", &["arn:aws-us-gov:iam::111122223333:role/AWSControlTowerExecution"])]), expect: False },
    // IP specifics.
    Row { rule: "§3 IpAddress with an IPv6 CIDR block", condition: r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#, context: Ctx::Set(&[("aws:SourceIp", &["2001:db8:1::5"])]), expect: True },
    Row { rule: "§3 IpAddress: an IPv4 address is not in an IPv6 block", condition: r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#, context: Ctx::Set(&[("aws:SourceIp", &["10.0.0.1"])]), expect: False },
    Row { rule: "§3 NotIpAddress, address outside every block: true", condition: r#"{"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}"#, context: Ctx::Set(&[("aws:SourceIp", &["2001:db9::1"])]), expect: True },
    // Numeric / date / bool specifics.
    Row { rule: "§3 Numeric values from JSON numbers", condition: r#"{"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}"#, context: Ctx::Set(&[("aws:MultiFactorAuthAge", &["120"])]), expect: True },
    Row { rule: "§3 [date-epoch-and-offset] a date with an offset equals the same instant in UTC", condition: r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2026-11-29T01:00:00+01:00"}}"#, context: Ctx::Set(&[("aws:CurrentTime", &["2026-11-29T00:00:00Z"])]), expect: True },
    Row { rule: "§3 [bool-missing] Bool on a missing key: false", condition: r#"{"Bool": {"aws:SecureTransport": "false"}}"#, context: Ctx::Set(&[]), expect: False },
    Row { rule: "§3 [boolifexists-missing] BoolIfExists on a missing key: true", condition: r#"{"BoolIfExists": {"aws:SecureTransport": "false"}}"#, context: Ctx::Set(&[]), expect: True },
    Row { rule: "§3 [bool-json-boolean-value] Bool with a JSON boolean policy value", condition: r#"{"Bool": {"aws:SecureTransport": false}}"#, context: Ctx::Set(&[("aws:SecureTransport", &["false"])]), expect: True },
    // Policy variables.
    Row { rule: "§3 [policy-variable] ${aws:PrincipalAccount} resolves from the request", condition: r#"{"ArnLike": {"bedrock:InferenceProfileArn": "arn:aws:bedrock:*:${aws:PrincipalAccount}:inference-profile/*"}}"#, context: Ctx::Set(&[("aws:PrincipalAccount", &["111122223333"]), ("bedrock:InferenceProfileArn", &["arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.x"])]), expect: True },
    Row { rule: "§3 [policy-variable] ${aws:PrincipalAccount} of another account does not match", condition: r#"{"ArnLike": {"bedrock:InferenceProfileArn": "arn:aws:bedrock:*:${aws:PrincipalAccount}:inference-profile/*"}}"#, context: Ctx::Set(&[("aws:PrincipalAccount", &["444455556666"]), ("bedrock:InferenceProfileArn", &["arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.x"])]), expect: False },
    Row { rule: "§3 [policy-variable] a default applies when the variable's key is absent", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/default-team, 'ml'}"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: True },
    Row { rule: "§3 [policy-variable-unresolved] informational: an absent variable without default matches nothing", condition: r#"{"StringEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/other}"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["ml"])]), expect: False },
    Row { rule: "§3 [policy-variable] escapes ${*} ${?} ${$} are literal characters", condition: r#"{"StringLike": {"aws:PrincipalTag/team": "a${*}b${?}${$}"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["a*b?$"])]), expect: True },
    Row { rule: "§3 [policy-variable] an escaped ${*} does not act as a wildcard", condition: r#"{"StringLike": {"aws:PrincipalTag/team": "a${*}"}}"#, context: Ctx::Set(&[("aws:PrincipalTag/team", &["abc"])]), expect: False },
    Row { rule: "UnknownCaller: a variable whose key is unknown makes the clause residual", condition: r#"{"StringEquals": {"aws:RequestedRegion": "${aws:PrincipalTag/home-region}"}}"#, context: Ctx::Caller(&[("aws:RequestedRegion", &["us-east-1"])]), expect: Residual },
    // MissingKeys::UnknownCaller specifics.
    Row { rule: "UnknownCaller: a key set explicitly is evaluated (match)", condition: r#"{"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}"#, context: Ctx::Caller(&[("aws:RequestedRegion", &["us-east-2"])]), expect: True },
    Row { rule: "UnknownCaller: a key set explicitly is evaluated (no match)", condition: r#"{"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}"#, context: Ctx::Caller(&[("aws:RequestedRegion", &["us-west-2"])]), expect: False },
    Row { rule: "UnknownCaller: only the unknown clause remains; a false clause decides", condition: r#"{"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}"#, context: Ctx::Caller(&[("aws:RequestedRegion", &["us-west-2"])]), expect: False },
    Row { rule: "UnknownCaller: a direct Bedrock call carries no request tags: absent, positive false", condition: r#"{"StringEquals": {"aws:RequestTag/team": "ml"}}"#, context: Ctx::Caller(&[]), expect: False },
    Row { rule: "UnknownCaller: a direct Bedrock call carries no source ARN: absent, negated true", condition: r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:bedrock:*:*:agent/*"}}"#, context: Ctx::Caller(&[]), expect: True },
    Row { rule: "UnknownCaller: another service's key is absent from a Bedrock call", condition: r#"{"StringLike": {"s3:prefix": "home/*"}}"#, context: Ctx::Caller(&[]), expect: False },
    Row { rule: "UnknownCaller: bedrock:InferenceProfileArn not set is unknown", condition: r#"{"ArnLike": {"bedrock:InferenceProfileArn": "arn:aws:bedrock:*:*:inference-profile/us.*"}}"#, context: Ctx::Caller(&[]), expect: Residual },
];

fn full_aws_access() -> Policy {
    policy::parse(
        "p-FullAWSAccess",
        "FullAWSAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .unwrap()
}

/// Evaluates a condition block in a one-statement Deny through both public entry points;
/// `Err` when they disagree or the policy does not parse.
fn evaluate(condition: &Value, request: &Request) -> Result<Expect, String> {
    let text = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}]})
    .to_string();
    let deny = policy::parse("p-conditiondeny", "condition-deny", &text)
        .map_err(|e| format!("does not parse: {e}"))?;
    let statement = deny.statements.first().ok_or("no statement")?;
    let by_statement = match statement.applies(request) {
        Applies::Yes => True,
        Applies::No => False,
        Applies::Residual(_) => Residual,
        Applies::Indeterminate => return Err("Indeterminate".into()),
    };
    let policies = vec![full_aws_access(), deny];
    let outcome = evaluation::evaluate(&[vec![0, 1]], &policies, request).outcome;
    let by_chain = match outcome {
        Outcome::ExplicitlyDenied => True,
        Outcome::Allowed => False,
        Outcome::Conditional => Residual,
        other => return Err(format!("chain outcome {other:?}")),
    };
    if by_statement != by_chain {
        return Err(format!(
            "Statement::applies says {by_statement:?}, evaluation::evaluate says {outcome:?}"
        ));
    }
    Ok(by_statement)
}

fn request(missing: MissingKeys, keys: &[(&str, Vec<String>)]) -> Request {
    let mut context = Context::new(missing);
    for (key, values) in keys {
        context.set(key, values.clone());
    }
    Request::new(
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
        context,
    )
}

fn operator(family: &Family, case: &Case) -> Option<String> {
    let name = match case.op {
        Op::Positive => family.positive,
        Op::Negated => family.negated?,
    };
    Some(format!(
        "{}{name}{}",
        case.set.unwrap_or(""),
        if case.if_exists { "IfExists" } else { "" }
    ))
}

fn value(family: &Family, v: V) -> String {
    match v {
        V::M1 => family.matching[0],
        V::M2 => family.matching[1],
        V::O1 => family.other[0],
        V::O2 => family.other[1],
    }
    .to_string()
}

#[test]
fn truth_table() {
    let mut failures = Vec::new();
    let mut checked = 0usize;
    let mut informational = 0usize;
    let mut families_seen = BTreeSet::new();
    for family in FAMILIES {
        for case in CASES {
            let Some(op) = operator(family, case) else {
                continue;
            };
            let (missing, keys) = match case.key {
                Key::Absent => (MissingKeys::Absent, Vec::new()),
                Key::Unknown => (MissingKeys::UnknownCaller, Vec::new()),
                Key::Values(vs) => (
                    MissingKeys::Absent,
                    vec![(family.key, vs.iter().map(|v| value(family, *v)).collect())],
                ),
            };
            let request = request(missing, &keys);
            let condition = json!({ op.clone(): { family.key: family.values } });
            let got = evaluate(&condition, &request);
            checked += 1;
            informational += usize::from(case.informational);
            families_seen.insert(family.name);
            if got.as_ref() != Ok(&case.expect) {
                failures.push(format!(
                    "{} | {op} {:?} with {:?}: expected {:?}, got {:?}  [{}]",
                    family.name, family.values, keys, case.expect, got, case.rule
                ));
            }
        }
    }
    for row in ROWS {
        let (missing, keys) = match row.context {
            Ctx::Set(keys) => (MissingKeys::Absent, keys),
            Ctx::Caller(keys) => (MissingKeys::UnknownCaller, keys),
        };
        let keys: Vec<(&str, Vec<String>)> = keys
            .iter()
            .map(|(k, vs)| (*k, vs.iter().map(|v| (*v).to_string()).collect()))
            .collect();
        let request = request(missing, &keys);
        let condition: Value = serde_json::from_str(row.condition).unwrap();
        let got = evaluate(&condition, &request);
        checked += 1;
        if got.as_ref() != Ok(&row.expect) {
            failures.push(format!(
                "{} with {missing:?} {keys:?}: expected {:?}, got {got:?}  [{}]",
                row.condition, row.expect, row.rule
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} rows disagree with the IAM truth table:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Not vacuous: every family went through the table, negated forms included.
    assert_eq!(families_seen.len(), FAMILIES.len());
    let with_negation = FAMILIES.iter().filter(|f| f.negated.is_some()).count();
    let rows_with_negation = CASES.iter().filter(|c| c.op == Op::Negated).count();
    assert_eq!(
        checked,
        FAMILIES.len() * (CASES.len() - rows_with_negation)
            + with_negation * rows_with_negation
            + ROWS.len()
    );
    assert!(informational > 0);
}

/// Each family's sample values really are what the table says they are: a request value that
/// "matches" matches its policy value alone, and an "other" value matches neither (so a row
/// cannot pass because the samples were mislabelled).
#[test]
fn family_samples_are_labelled_right() {
    let mut failures = Vec::new();
    for family in FAMILIES {
        for (i, policy_value) in family.values.iter().enumerate() {
            let condition = json!({ family.positive: { family.key: policy_value } });
            for (label, sample, want) in [
                ("matching", family.matching[i], True),
                ("other[0]", family.other[0], False),
                ("other[1]", family.other[1], False),
            ] {
                let request = request(
                    MissingKeys::Absent,
                    &[(family.key, vec![sample.to_string()])],
                );
                let got = evaluate(&condition, &request);
                if got != Ok(want) {
                    failures.push(format!(
                        "{}: {label} {sample:?} against {policy_value:?}: expected {want:?}, got {got:?}",
                        family.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `Null` takes neither `IfExists` nor a set qualifier; every other family takes both.
#[test]
fn qualifiers_parse_where_iam_allows_them() {
    for bad in ["NullIfExists", "ForAllValues:Null", "ForAnyValue:Null"] {
        let text = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "*", "Resource": "*",
            "Condition": {bad: {"aws:PrincipalTag/team": "true"}}}]})
        .to_string();
        assert!(
            policy::parse("p-conditiondeny", "x", &text).is_err(),
            "{bad}"
        );
    }
    for family in FAMILIES {
        for name in std::iter::once(family.positive).chain(family.negated) {
            for set in ["", "ForAllValues:", "ForAnyValue:"] {
                for suffix in ["", "IfExists"] {
                    let op = format!("{set}{name}{suffix}");
                    let text = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                        "Action": "*", "Resource": "*",
                        "Condition": {op.clone(): {family.key: family.values}}}]})
                    .to_string();
                    assert!(
                        policy::parse("p-conditiondeny", "x", &text).is_ok(),
                        "{op} should parse"
                    );
                }
            }
        }
    }
}
