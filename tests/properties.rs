//! Property tests of the policy engine.
//!
//! (a) `Wildcard` agrees with a regex oracle (`*` = `.*`, `?` = `.`, anchored, dot matches
//!     newline) over small alphabets with wildcards, separators and non-ASCII characters.
//! (b) Deny monotonicity: adding a Deny SCP at any level never turns a denied request into an
//!     allowed one (and never turns an explicit deny into anything else).
//! (c) `policy::parse` never panics, on arbitrary text, on truncated policies and on random
//!     JSON trees made of IAM-ish keys and values; whatever parses can be evaluated.
//! (d) Actions match case-insensitively, exactly and through a trailing wildcard.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use cris_guard::evaluation::{self, Outcome};
use cris_guard::policy::{self, Policy, wildcard::Wildcard};
use cris_guard::request::{Context, MissingKeys, Request};
use proptest::prelude::*;
use proptest::sample::select;
use regex::Regex;
use serde_json::{Value, json};

// ------------------------------------------------------------------------------------------
// (a) Wildcard vs regex

fn oracle(pattern: &str, ignore_case: bool) -> Result<Regex, TestCaseError> {
    let mut re = String::from(if ignore_case { "(?si)^" } else { "(?s)^" });
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| TestCaseError::fail(format!("oracle {re}: {e}")))
}

/// Strings over `alphabet`, up to `max` characters.
fn text_over(alphabet: &'static [char], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(alphabet), 0..=max).prop_map(|cs| cs.into_iter().collect())
}

const PATTERN_CHARS: &[char] = &['a', 'b', '*', '?', ':', '/', '.', 'é', '日', '🦀', '\n'];
const TEXT_CHARS: &[char] = &['a', 'b', ':', '/', '.', '*', '?', 'é', '日', '🦀', '\n'];
// Case-folding alphabets: ASCII letters in both cases; non-ASCII only in one case, so that
// Unicode folding (regex) and ASCII folding (engine) agree.
const FOLD_PATTERN_CHARS: &[char] = &['a', 'A', 'b', 'B', '*', '?', ':', 'é'];
const FOLD_TEXT_CHARS: &[char] = &['a', 'A', 'b', 'B', ':', 'é', '*'];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn wildcard_matches_like_regex(
        pattern in text_over(PATTERN_CHARS, 8),
        text in text_over(TEXT_CHARS, 10),
    ) {
        let expected = oracle(&pattern, false)?.is_match(&text);
        prop_assert_eq!(
            Wildcard::new(&pattern).matches(&text), expected,
            "pattern {:?} text {:?}", pattern, text
        );
    }

    #[test]
    fn wildcard_matches_its_own_literal_text(text in text_over(TEXT_CHARS, 10)) {
        // A pattern without wildcards matches exactly itself.
        let literal: String = text.chars().filter(|c| *c != '*' && *c != '?').collect();
        prop_assert!(Wildcard::new(&literal).matches(&literal));
        prop_assert!(Wildcard::new("*").matches(&text));
    }

    #[test]
    fn wildcard_ignore_case_like_regex(
        pattern in text_over(FOLD_PATTERN_CHARS, 8),
        text in text_over(FOLD_TEXT_CHARS, 10),
    ) {
        let expected = oracle(&pattern, true)?.is_match(&text);
        prop_assert_eq!(
            Wildcard::new(&pattern).matches_ignore_case(&text), expected,
            "pattern {:?} text {:?}", pattern, text
        );
        // `matches_lowercase` with both sides lowercased is the same relation.
        prop_assert_eq!(
            Wildcard::new(&pattern.to_ascii_lowercase())
                .matches_lowercase(&text.to_ascii_lowercase()),
            expected,
            "lowercase: pattern {:?} text {:?}", pattern, text
        );
    }
}

// ------------------------------------------------------------------------------------------
// (b) Deny monotonicity

const ACTIONS: &[&str] = &[
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:ListFoundationModels",
    "s3:ListBucket",
    "iam:CreateRole",
];
const ACTION_PATTERNS: &[&str] = &[
    "*",
    "bedrock:*",
    "bedrock:Invoke*",
    "bedrock:InvokeModel",
    "BEDROCK:invokemodel",
    "bedrock:*Stream",
    "s3:*",
    "iam:*",
    "*:List*",
];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "unspecified",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
    "arn:aws:bedrock:us-east-2::foundation-model/amazon.titan-text-express-v1",
    "arn:aws:bedrock:::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
    "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    "arn:aws:s3:::bucket",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:bedrock:*",
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:bedrock:us-east-?::foundation-model/*",
    "arn:aws:bedrock:*:*:inference-profile/us.*",
    "arn:aws:s3:::*",
];
const PRINCIPALS: &[&str] = &[
    "arn:aws:iam::111122223333:role/app",
    "arn:aws:iam::222222222222:role/AWSControlTowerExecution",
];

fn region_list() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(select(REGIONS), 1..=3)
}

/// One condition block entry `(operator, {key: values})`, from a pool of realistic shapes.
fn condition() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        region_list().prop_map(|r| (
            "StringNotEquals".to_string(),
            json!({"aws:RequestedRegion": r})
        )),
        region_list().prop_map(|r| (
            "StringEquals".to_string(),
            json!({"aws:RequestedRegion": r})
        )),
        Just((
            "ArnNotLike".to_string(),
            json!({"aws:PrincipalARN": "arn:aws:iam::*:role/AWSControlTowerExecution"})
        )),
        Just((
            "ArnNotLike".to_string(),
            json!({"bedrock:InferenceProfileArn": "arn:aws:bedrock:*:*:inference-profile/us.*"})
        )),
        Just((
            "StringNotEqualsIfExists".to_string(),
            json!({"aws:PrincipalTag/team": "ml"})
        )),
        Just(("Null".to_string(), json!({"aws:PrincipalTag/team": "true"}))),
        Just((
            "ForAllValues:StringEquals".to_string(),
            json!({"aws:TagKeys": ["a", "b"]})
        )),
        Just((
            "ForAnyValue:StringNotEquals".to_string(),
            json!({"aws:TagKeys": ["a"]})
        )),
    ]
}

/// A statement of the given effect drawn from the pools.
fn statement(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        prop::collection::vec(select(ACTION_PATTERNS), 1..=3),
        any::<bool>(),
        prop::collection::vec(select(RESOURCE_PATTERNS), 1..=2),
        prop::collection::vec(condition(), 0..=2),
    )
        .prop_map(
            move |(not_action, actions, not_resource, resources, conds)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    json!(actions),
                );
                s.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    json!(resources),
                );
                if !conds.is_empty() {
                    // Later entries of the same operator replace earlier ones (no duplicate keys).
                    let block: serde_json::Map<String, Value> = conds.into_iter().collect();
                    s.insert("Condition".into(), Value::Object(block));
                }
                Value::Object(s)
            },
        )
}

fn policy_of(id: &str, statements: Vec<Value>) -> Result<Policy, TestCaseError> {
    let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    policy::parse(id, id, &text)
        .map_err(|e| TestCaseError::fail(format!("generated policy {text}: {e}")))
}

fn full_aws_access() -> Result<Policy, TestCaseError> {
    policy_of(
        "p-FullAWSAccess",
        vec![json!({"Effect": "Allow", "Action": "*", "Resource": "*"})],
    )
}

fn request() -> impl Strategy<Value = Request> {
    (
        select(ACTIONS),
        select(RESOURCES),
        prop::option::of(select(REGIONS)),
        prop::option::of(select(PRINCIPALS)),
        prop::option::of(Just(
            "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.x",
        )),
        prop::option::of(select(&["ml", "data"][..])),
        prop::option::of(prop::collection::vec(select(&["a", "b", "c"][..]), 0..=2)),
    )
        .prop_map(
            |(action, resource, region, principal, profile, team, tags)| {
                let mut context = Context::new(MissingKeys::Absent);
                let mut put = |key: &str, value: Option<&str>| {
                    if let Some(v) = value {
                        context.set(key, vec![v.to_string()]);
                    }
                };
                put("aws:RequestedRegion", region);
                put("aws:PrincipalArn", principal);
                put("bedrock:InferenceProfileArn", profile);
                put("aws:PrincipalTag/team", team);
                if let Some(tags) = tags {
                    context.set("aws:TagKeys", tags.iter().map(|t| t.to_string()).collect());
                }
                Request::new(action, resource, context)
            },
        )
}

/// Per level: whether FullAWSAccess is attached, an optional Allow-only policy, Deny policies.
type LevelSpec = (bool, Option<Vec<Value>>, Vec<Vec<Value>>);

/// A random chain of 1 to 4 levels, as statements (compiled by [`build_chain`]).
fn chain() -> impl Strategy<Value = Vec<LevelSpec>> {
    let level = (
        prop::bool::weighted(0.8),
        prop::option::weighted(0.3, prop::collection::vec(statement("Allow"), 1..=2)),
        prop::collection::vec(prop::collection::vec(statement("Deny"), 1..=2), 0..=2),
    );
    prop::collection::vec(level, 1..=4)
}

/// A compiled chain: the policies (FullAWSAccess is policy 0) and, per level, indices into them.
type Chain = (Vec<Policy>, Vec<Vec<usize>>);

/// Compiles a chain spec.
fn build_chain(spec: Vec<LevelSpec>) -> Result<Chain, TestCaseError> {
    let mut policies = vec![full_aws_access()?];
    let mut levels = Vec::new();
    for (index, (full, allow, denies)) in spec.into_iter().enumerate() {
        let mut attached = Vec::new();
        if full {
            attached.push(0);
        }
        if let Some(statements) = allow {
            policies.push(policy_of(&format!("p-allow-{index}"), statements)?);
            attached.push(policies.len() - 1);
        }
        for (n, statements) in denies.into_iter().enumerate() {
            policies.push(policy_of(&format!("p-deny-{index}-{n}"), statements)?);
            attached.push(policies.len() - 1);
        }
        levels.push(attached);
    }
    Ok((policies, levels))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn adding_a_deny_never_allows(
        spec in chain(),
        request in request(),
        extra in prop::collection::vec(statement("Deny"), 1..=2),
        at in any::<prop::sample::Index>(),
        as_new_policy in any::<bool>(),
    ) {
        let (mut policies, mut levels) = build_chain(spec)?;
        let before = evaluation::evaluate(&levels, &policies, &request).outcome;
        let level = at.index(levels.len());
        if as_new_policy || levels[level].is_empty() {
            policies.push(policy_of("p-extra", extra)?);
            levels[level].push(policies.len() - 1);
        } else {
            // Append the statements to (a copy of) a policy already attached at that level, so
            // other levels sharing the original are unchanged.
            let mut merged = policies[levels[level][0]].clone();
            merged.id = format!("{}+extra", merged.id);
            let offset = merged.statements.len();
            for mut s in policy_of("p-extra", extra)?.statements {
                s.index += offset;
                merged.statements.push(s);
            }
            policies.push(merged);
            let slot = &mut levels[level][0];
            *slot = policies.len() - 1;
        }
        let after = evaluation::evaluate(&levels, &policies, &request).outcome;
        match before {
            Outcome::ExplicitlyDenied => prop_assert_eq!(after, Outcome::ExplicitlyDenied),
            Outcome::ImplicitlyDenied => prop_assert!(
                matches!(after, Outcome::ExplicitlyDenied | Outcome::ImplicitlyDenied),
                "implicit deny became {:?}", after
            ),
            _ => {}
        }
        prop_assert!(
            !matches!(after, Outcome::Conditional | Outcome::Indeterminate),
            "a fully specified request gave {:?}", after
        );
    }
}

// ------------------------------------------------------------------------------------------
// (c) parse never panics

const IAM_KEYS: &[&str] = &[
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLikeIfExists",
    "ForAllValues:StringEquals",
    "ForAnyValue:StringNotEqualsIfExists",
    "ArnLike",
    "ArnNotLike",
    "NumericLessThan",
    "DateGreaterThan",
    "Bool",
    "BoolIfExists",
    "IpAddress",
    "NotIpAddress",
    "Null",
    "aws:RequestedRegion",
    "aws:PrincipalARN",
    "aws:TagKeys",
    "aws:SourceIp",
    "aws:CurrentTime",
    "bedrock:InferenceProfileArn",
];
const IAM_STRINGS: &[&str] = &[
    "2012-10-17",
    "Allow",
    "Deny",
    "*",
    "?",
    "bedrock:*",
    "bedrock:Invoke*",
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:bedrock:",
    "arn:*",
    "arn:aws:iam::${aws:PrincipalAccount}:role/*",
    "${aws:PrincipalTag/team, 'none'}",
    "${",
    "${}",
    "${*}${?}${$}",
    "${aws:x, 'unterminated}",
    "10.0.0.0/8",
    "::1/129",
    "2026-01-01T00:00:00Z",
    "2026-02-30T25:61:61+99:99",
    "-1e309",
    "true",
    "",
    "é日🦀",
];

fn iam_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(IAM_STRINGS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn iam_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(IAM_KEYS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn json_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        iam_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((iam_key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A policy-shaped document whose statements are random trees, to get past the top level.
fn policy_shaped() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just(json!("2012-10-17")), json_tree()],
        prop::collection::vec(
            prop::collection::vec((iam_key(), json_tree()), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            0..4,
        ),
    )
        .prop_map(|(version, statements)| json!({"Version": version, "Statement": statements}))
}

/// Parses; if it parses, evaluates against a fixed request (evaluation must not panic either).
fn parse_and_evaluate(text: &str) {
    if let Ok(policy) = policy::parse("p-x", "x", text) {
        let mut context = Context::new(MissingKeys::Absent);
        context.set("aws:RequestedRegion", vec!["us-east-2".into()]);
        context.set("aws:PrincipalTag/team", vec!["ml".into()]);
        context.set("aws:TagKeys", vec!["a".into(), "b".into()]);
        context.set("aws:SourceIp", vec!["10.1.2.3".into()]);
        context.set("aws:CurrentTime", vec!["2026-03-01T00:00:00Z".into()]);
        let request = Request::new(
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-2::foundation-model/m",
            context,
        );
        let _ = evaluation::evaluate(&[vec![0]], &[policy], &request);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parse_never_panics_on_text(text in any::<String>()) {
        parse_and_evaluate(&text);
    }

    #[test]
    fn parse_never_panics_on_json_trees(value in json_tree()) {
        parse_and_evaluate(&value.to_string());
    }

    #[test]
    fn parse_never_panics_on_policy_shapes(value in policy_shaped(), cut in any::<prop::sample::Index>()) {
        let text = value.to_string();
        parse_and_evaluate(&text);
        // A truncated document (at a char boundary) must fail cleanly too.
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        if !boundaries.is_empty() {
            parse_and_evaluate(&text[..boundaries[cut.index(boundaries.len())]]);
        }
    }

    #[test]
    fn generated_statements_parse(s in statement("Deny")) {
        // The monotonicity pool itself must be valid policy language.
        let text = json!({"Version": "2012-10-17", "Statement": [s]}).to_string();
        prop_assert!(policy::parse("p", "p", &text).is_ok(), "{}", text);
    }
}

// ------------------------------------------------------------------------------------------
// (d) action case-insensitivity

/// `text` with the ASCII case of each character chosen by `mask`.
fn recase(text: &str, mask: &[bool]) -> String {
    text.chars()
        .zip(mask.iter().cycle())
        .map(|(c, upper)| {
            if *upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn action_name() -> impl Strategy<Value = (String, String)> {
    ("[a-z][a-z0-9-]{0,11}", "[A-Za-z][A-Za-z0-9]{0,23}")
}

fn decide(pattern: &str, effect: &str, action: &str) -> Result<Outcome, TestCaseError> {
    let statement = json!({"Effect": effect, "Action": pattern, "Resource": "*"});
    let mut policies = vec![policy_of("p-under-test", vec![statement])?];
    let mut level = vec![0];
    if effect == "Deny" {
        policies.push(full_aws_access()?);
        level.push(1);
    }
    let request = Request::new(action, "*", Context::new(MissingKeys::Absent));
    Ok(evaluation::evaluate(&[level], &policies, &request).outcome)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn actions_match_in_any_case(
        (service, name) in action_name(),
        policy_mask in prop::collection::vec(any::<bool>(), 1..8),
        request_mask in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let action = format!("{service}:{name}");
        let pattern = recase(&action, &policy_mask);
        let requested = recase(&action, &request_mask);
        prop_assert_eq!(decide(&pattern, "Allow", &requested)?, Outcome::Allowed,
            "Allow {} vs {}", pattern, requested);
        prop_assert_eq!(decide(&pattern, "Deny", &requested)?, Outcome::ExplicitlyDenied,
            "Deny {} vs {}", pattern, requested);
    }

    #[test]
    fn action_prefix_wildcards_match_in_any_case(
        (service, name) in action_name(),
        cut in any::<prop::sample::Index>(),
        policy_mask in prop::collection::vec(any::<bool>(), 1..8),
        request_mask in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let action = format!("{service}:{name}");
        let keep = service.len() + 1 + cut.index(name.len() + 1);
        let pattern = recase(&format!("{}*", &action[..keep]), &policy_mask);
        let requested = recase(&action, &request_mask);
        prop_assert_eq!(decide(&pattern, "Deny", &requested)?, Outcome::ExplicitlyDenied,
            "Deny {} vs {}", pattern, requested);
    }

    #[test]
    fn other_actions_do_not_match(
        (service, name) in action_name(),
        suffix in "[A-Za-z0-9]{1,4}",
    ) {
        // A pattern must match the whole name: X does not cover X + suffix.
        let action = format!("{service}:{name}");
        let longer = format!("{action}{suffix}");
        prop_assert_eq!(decide(&action, "Allow", &longer)?, Outcome::ImplicitlyDenied);
    }
}
