//! Parsing a `Condition` block: operator names (families, `IfExists`, set qualifiers) and
//! values compiled for their family (patterns, policy variables, numbers, dates, networks).

use std::net::IpAddr;

use super::{Base, ConditionClause, Ordering, Piece, SetQualifier, Value, arn_index};
use crate::policy::json::Json;
use crate::policy::wildcard::Wildcard;
use crate::policy::{ParseError, check_duplicates, string_list};

/// Parses a `Condition` element.
pub fn parse_block(value: &Json, path: &str) -> Result<Vec<ConditionClause>, ParseError> {
    let Json::Object(operators) = value else {
        return Err(error(
            path,
            format!("expected an object, found {}", value.kind()),
        ));
    };
    check_duplicates(operators, path)?;
    let mut clauses = Vec::new();
    for (operator, keys) in operators {
        let at = format!("{path}.{operator}");
        let (base, negated, if_exists, set) = parse_operator(operator)
            .ok_or_else(|| error(&at, format!("unknown condition operator `{operator}`")))?;
        let Json::Object(keys) = keys else {
            return Err(error(
                &at,
                format!(
                    "expected an object of condition keys, found {}",
                    keys.kind()
                ),
            ));
        };
        if keys.is_empty() {
            return Err(error(&at, "no condition keys"));
        }
        // Key names are case-insensitive, so `aws:RequestedRegion` twice in two spellings is
        // a duplicate too.
        let mut seen = std::collections::HashSet::new();
        for (key, values) in keys {
            let key_at = format!("{at}.{key}");
            if !seen.insert(key.to_ascii_lowercase()) {
                return Err(error(&key_at, format!("duplicate condition key `{key}`")));
            }
            if key.is_empty() {
                return Err(error(&key_at, "empty condition key"));
            }
            let values = condition_values(values, &key_at)?;
            let compiled = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    compile_value(base, v).map_err(|m| error(format!("{key_at}[{i}]"), m))
                })
                .collect::<Result<Vec<Value>, ParseError>>()?;
            clauses.push(ConditionClause {
                operator: operator.clone(),
                key: key.clone(),
                values,
                key_lowercase: key.to_ascii_lowercase(),
                base,
                negated,
                if_exists,
                set,
                index: arn_index(base, &compiled),
                compiled,
            });
        }
    }
    Ok(clauses)
}

fn error(path: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        path: path.into(),
        message: message.into(),
    }
}

/// Condition values may be strings, numbers or booleans, alone or in an array.
fn condition_values(value: &Json, path: &str) -> Result<Vec<String>, ParseError> {
    let scalar = |v: &Json, at: &str| match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.clone()),
        Json::Bool(b) => Ok(b.to_string()),
        other => Err(error(
            at,
            format!(
                "expected a string, number or boolean, found {}",
                other.kind()
            ),
        )),
    };
    match value {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| scalar(item, &format!("{path}[{i}]")))
            .collect(),
        Json::Object(_) | Json::Null => string_list(value, path),
        other => Ok(vec![scalar(other, path)?]),
    }
}

fn parse_operator(text: &str) -> Option<(Base, bool, bool, Option<SetQualifier>)> {
    let (set, rest) = if let Some(rest) = text.strip_prefix("ForAllValues:") {
        (Some(SetQualifier::ForAllValues), rest)
    } else if let Some(rest) = text.strip_prefix("ForAnyValue:") {
        (Some(SetQualifier::ForAnyValue), rest)
    } else {
        (None, text)
    };
    let (name, if_exists) = match rest.strip_suffix("IfExists") {
        Some(name) => (name, true),
        None => (rest, false),
    };
    let (base, negated) = match name {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "NumericEquals" => (Base::Numeric(Ordering::Equals), false),
        "NumericNotEquals" => (Base::Numeric(Ordering::Equals), true),
        "NumericLessThan" => (Base::Numeric(Ordering::LessThan), false),
        "NumericLessThanEquals" => (Base::Numeric(Ordering::LessThanEquals), false),
        "NumericGreaterThan" => (Base::Numeric(Ordering::GreaterThan), false),
        "NumericGreaterThanEquals" => (Base::Numeric(Ordering::GreaterThanEquals), false),
        "DateEquals" => (Base::Date(Ordering::Equals), false),
        "DateNotEquals" => (Base::Date(Ordering::Equals), true),
        "DateLessThan" => (Base::Date(Ordering::LessThan), false),
        "DateLessThanEquals" => (Base::Date(Ordering::LessThanEquals), false),
        "DateGreaterThan" => (Base::Date(Ordering::GreaterThan), false),
        "DateGreaterThanEquals" => (Base::Date(Ordering::GreaterThanEquals), false),
        "Bool" => (Base::Bool, false),
        "BinaryEquals" => (Base::BinaryEquals, false),
        "IpAddress" => (Base::IpAddress, false),
        "NotIpAddress" => (Base::IpAddress, true),
        "ArnEquals" | "ArnLike" => (Base::ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::ArnLike, true),
        "Null" => (Base::Null, false),
        _ => return None,
    };
    // `Null` takes no qualifiers.
    if base == Base::Null && (if_exists || set.is_some()) {
        return None;
    }
    Some((base, negated, if_exists, set))
}

fn compile_value(base: Base, text: &str) -> Result<Value, String> {
    match base {
        Base::StringEquals
        | Base::StringEqualsIgnoreCase
        | Base::StringLike
        | Base::ArnLike
        | Base::BinaryEquals => {
            if text.contains("${") {
                Ok(Value::Template(parse_template(text)?))
            } else {
                let pattern = Wildcard::new(text);
                let arn_parts = if base == Base::ArnLike {
                    pattern.split_colons(6)
                } else {
                    Vec::new()
                };
                Ok(Value::Text {
                    literal: text.to_string(),
                    pattern,
                    arn_parts,
                })
            }
        }
        Base::Numeric(_) => text
            .trim()
            .parse::<f64>()
            .map(Value::Number)
            .map_err(|_| format!("`{text}` is not a number")),
        Base::Date(_) => parse_date(text).map(Value::Date).ok_or_else(|| {
            format!("`{text}` is not a date (ISO 8601 like 2026-01-31T00:00:00Z, or epoch seconds)")
        }),
        Base::Bool | Base::Null => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not `true` or `false`")),
        },
        Base::IpAddress => parse_network(text)
            .ok_or_else(|| format!("`{text}` is not an IP address or CIDR block")),
    }
}

/// Parses `${...}` policy variables; `${*}`, `${?}` and `${$}` are escapes for literal characters.
pub(crate) fn parse_template(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated policy variable in `{text}`"))?;
        let inner = after[..end].trim();
        match inner {
            "*" | "?" | "$" => pieces.push(Piece::Variable {
                key: inner.to_string(),
                default: None,
            }),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((key, default)) => {
                        let d = default.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .ok_or_else(|| {
                                format!("policy variable default must be quoted in `{text}`")
                            })?;
                        (key.trim(), Some(d.to_string()))
                    }
                    None => (inner, None),
                };
                if key.is_empty() {
                    return Err(format!("empty policy variable in `{text}`"));
                }
                pieces.push(Piece::Variable {
                    key: key.to_ascii_lowercase(),
                    default,
                });
            }
        }
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

/// Seconds since the epoch from an ISO 8601 date or date-time (`2026-01-31`,
/// `2026-01-31T00:00`, `2026-01-31T00:00:00.5Z`, `…+01:00`; UTC when it names no offset),
/// parsed by `jiff`, or from a plain number of epoch seconds.
pub fn parse_date(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    let timestamp = match text.parse::<jiff::Timestamp>() {
        Ok(timestamp) => timestamp,
        Err(_) => {
            // No offset: a civil date-time, or a date at midnight, read as UTC.
            let civil = text
                .parse::<jiff::civil::DateTime>()
                .or_else(|_| {
                    text.parse::<jiff::civil::Date>()
                        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
                })
                .ok()?;
            jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()?
        }
    };
    Some(timestamp.as_second() as f64 + f64::from(timestamp.subsec_nanosecond()) / 1e9)
}

fn parse_network(text: &str) -> Option<Value> {
    let (address, prefix) = match text.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
        None => (text.parse::<IpAddr>().ok()?, None),
    };
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some(Value::Network { address, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_date("1970-01-02"), Some(86_400.0));
        assert_eq!(
            parse_date("2026-11-29T01:00:00+01:00"),
            parse_date("2026-11-29T00:00:00Z")
        );
        assert_eq!(parse_date("1700000000"), Some(1_700_000_000.0));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026-02-30"), None, "no such day");
        assert_eq!(parse_date("1970-01-01T00:01"), Some(60.0));
        assert_eq!(parse_date("1970-01-01T00:00:00.5Z"), Some(0.5));
        assert_eq!(parse_date("1970-01-01 00:00:10Z"), Some(10.0));
    }

    #[test]
    fn networks() {
        let Some(Value::Network { address, prefix }) = parse_network("10.0.0.0/8") else {
            panic!("parse")
        };
        assert!(crate::policy::condition::in_network(
            "10.1.2.3".parse().unwrap(),
            address,
            prefix
        ));
        assert!(!crate::policy::condition::in_network(
            "11.1.2.3".parse().unwrap(),
            address,
            prefix
        ));
        assert!(parse_network("10.0.0.0/33").is_none());
    }
}
