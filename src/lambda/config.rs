//! The Lambda's configuration from environment variables, validated once at cold start.

use crate::guard::{AlertSink, Guard, SnapshotSource, StateStore};
use crate::{reachability, remediation};

pub const TOPIC_ARN: &str = "CRIS_GUARD_TOPIC_ARN";
pub const TABLE_NAME: &str = "CRIS_GUARD_TABLE_NAME";
pub const SOURCE_REGIONS: &str = "CRIS_GUARD_SOURCE_REGIONS";
pub const APPROVED_PROFILES: &str = "CRIS_GUARD_APPROVED_PROFILES";
pub const ADMIN_PRINCIPALS: &str = "CRIS_GUARD_ADMIN_PRINCIPALS";
pub const BUCKET: &str = "CRIS_GUARD_BUCKET";
pub const EXPECTATIONS_KEY: &str = "CRIS_GUARD_EXPECTATIONS_KEY";
pub const GUARDRAIL_PROFILES: &str = "CRIS_GUARD_GUARDRAIL_PROFILES";
pub const MARKETPLACE_MODELS: &str = "CRIS_GUARD_MARKETPLACE_MODELS";

/// A configuration variable that is missing or malformed; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable `{variable}`: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Everything the function needs besides the AWS clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The SNS topic alerts go to.
    pub topic_arn: String,
    /// The DynamoDB table of alert state (partition key `pk`, string).
    pub table_name: String,
    /// Source Regions checked (and read from Bedrock); empty: every Region in the snapshot.
    pub source_regions: Vec<String>,
    /// Profiles a proposed fix may open; empty: the ones found blocked or conditional.
    pub approved_profiles: Vec<String>,
    /// ARN patterns of administration principals, added to the built-in list.
    pub admin_principals: Vec<String>,
    /// The bucket of the stored snapshot and the expectations; `None`: every run reads the
    /// whole organization.
    pub bucket: Option<String>,
    /// The expectations object in `bucket` (contract §6); `None`: every finding alerts.
    pub expectations_key: Option<String>,
    /// Read the guardrail profiles of each source Region (`guardrailProfile` checks).
    pub guardrail_profiles: bool,
    /// Read which models are sold through AWS Marketplace (`marketplaceFirstUse` checks).
    pub marketplace_models: bool,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |variable: &'static str| -> Result<String, ConfigError> {
            match lookup(variable).map(|v| v.trim().to_string()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(ConfigError {
                    variable,
                    problem: "is not set (or empty)".into(),
                }),
            }
        };
        let list = |variable: &'static str| -> Vec<String> {
            lookup(variable)
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let topic_arn = required(TOPIC_ARN)?;
        if !is_sns_topic_arn(&topic_arn) {
            return Err(ConfigError {
                variable: TOPIC_ARN,
                problem: format!(
                    "`{topic_arn}` is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                ),
            });
        }
        let table_name = required(TABLE_NAME)?;
        let source_regions = list(SOURCE_REGIONS);
        if let Some(bad) = source_regions.iter().find(|r| !crate::ids::is_region(r)) {
            return Err(ConfigError {
                variable: SOURCE_REGIONS,
                problem: format!("`{bad}` is not a Region name such as us-east-1"),
            });
        }
        let admin_principals = list(ADMIN_PRINCIPALS);
        if let Some(bad) = admin_principals.iter().find(|p| !p.starts_with("arn:")) {
            return Err(ConfigError {
                variable: ADMIN_PRINCIPALS,
                problem: format!("`{bad}` is not an ARN pattern (arn:...)"),
            });
        }
        let optional = |variable: &'static str| {
            lookup(variable)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bucket = optional(BUCKET);
        let expectations_key = optional(EXPECTATIONS_KEY);
        if expectations_key.is_some() && bucket.is_none() {
            return Err(ConfigError {
                variable: BUCKET,
                problem: format!("is not set, but `{EXPECTATIONS_KEY}` names an object in it"),
            });
        }
        let flag = |variable: &'static str| -> Result<bool, ConfigError> {
            match optional(variable).as_deref() {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(other) => Err(ConfigError {
                    variable,
                    problem: format!("`{other}` is not `true` or `false`"),
                }),
            }
        };
        Ok(Config {
            guardrail_profiles: flag(GUARDRAIL_PROFILES)?,
            marketplace_models: flag(MARKETPLACE_MODELS)?,
            topic_arn,
            table_name,
            source_regions,
            approved_profiles: list(APPROVED_PROFILES),
            admin_principals,
            bucket,
            expectations_key,
        })
    }

    /// The evaluation options: configured Regions and admin principals, OUs plus the accounts
    /// that differ from their OU (never every account), reachable findings kept (they are
    /// needed to notice a fix).
    pub fn evaluation(&self) -> reachability::Options {
        reachability::Options {
            source_regions: self.source_regions.clone(),
            admin_principals: self.admin_principals.clone(),
            all_accounts: false,
            only_problems: false,
            ..reachability::Options::default()
        }
    }

    pub fn remediation(&self) -> remediation::Options {
        remediation::Options {
            approved_profiles: self.approved_profiles.clone(),
            evaluation: self.evaluation(),
        }
    }

    /// The guard over these ports, evaluating and proposing as configured.
    pub fn guard<S: SnapshotSource, T: StateStore, A: AlertSink>(
        &self,
        source: S,
        state: T,
        sink: A,
    ) -> Guard<S, T, A> {
        Guard::new(source, state, sink, self.evaluation(), self.remediation())
    }
}

/// `arn:<partition>:sns:<region>:<12 digits>:<topic name>`.
fn is_sns_topic_arn(text: &str) -> bool {
    let Some(arn) = crate::arn::Arn::parse(text) else {
        return false;
    };
    arn.partition.starts_with("aws")
        && arn.service == "sns"
        && crate::ids::is_region(&arn.region)
        && crate::ids::is_account_id(&arn.account)
        && !arn.resource.contains(':')
        && arn
            .resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn valid_and_invalid() {
        let ok = from(&[
            (
                TOPIC_ARN,
                "arn:aws:sns:us-east-1:111111111111:cris-guard-alerts",
            ),
            (TABLE_NAME, "cris-guard-state"),
            (SOURCE_REGIONS, "us-east-1, us-west-2"),
            (APPROVED_PROFILES, ""),
        ])
        .unwrap();
        assert_eq!(ok.source_regions, vec!["us-east-1", "us-west-2"]);
        assert!(ok.approved_profiles.is_empty());
        assert!(!ok.guardrail_profiles && !ok.marketplace_models);
        let err = from(&[
            (TOPIC_ARN, "arn:aws:sqs:us-east-1:111111111111:q"),
            (TABLE_NAME, "t"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, TOPIC_ARN);
        let err = from(&[(TOPIC_ARN, "arn:aws:sns:us-east-1:111111111111:t")]).unwrap_err();
        assert_eq!(err.variable, TABLE_NAME);
        let err = from(&[
            (TOPIC_ARN, "arn:aws:sns:us-east-1:111111111111:t"),
            (TABLE_NAME, "t"),
            (SOURCE_REGIONS, "us-east-1,useast2"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, SOURCE_REGIONS);
        assert!(err.to_string().contains("CRIS_GUARD_SOURCE_REGIONS"));
    }

    #[test]
    fn expectations_need_the_bucket_they_are_in() {
        let base = [
            (TOPIC_ARN, "arn:aws:sns:us-east-1:111111111111:t"),
            (TABLE_NAME, "t"),
        ];
        let ok = from(&base).unwrap();
        assert_eq!((ok.bucket, ok.expectations_key), (None, None));
        let err = from(&[base[0], base[1], (EXPECTATIONS_KEY, "expectations.json")]).unwrap_err();
        assert_eq!(err.variable, BUCKET);
        let ok = from(&[
            base[0],
            base[1],
            (BUCKET, "b"),
            (EXPECTATIONS_KEY, " expectations.json "),
        ])
        .unwrap();
        assert_eq!(ok.bucket.as_deref(), Some("b"));
        assert_eq!(ok.expectations_key.as_deref(), Some("expectations.json"));
    }

    #[test]
    fn the_reader_flags_are_true_or_false_and_name_their_variable_otherwise() {
        let base = [
            (TOPIC_ARN, "arn:aws:sns:us-east-1:111111111111:t"),
            (TABLE_NAME, "t"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            from(&vars)
        };
        let on = with(&[(GUARDRAIL_PROFILES, "true"), (MARKETPLACE_MODELS, "false")]).unwrap();
        assert!(on.guardrail_profiles && !on.marketplace_models);
        let err = with(&[(MARKETPLACE_MODELS, "yes")]).unwrap_err();
        assert_eq!(err.variable, MARKETPLACE_MODELS);
        assert!(err.to_string().contains("`yes`"), "{err}");
    }
}
