//! ARN parsing into its six colon-separated parts (the resource part may itself hold colons).

/// `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    /// Parses an ARN; `None` when it does not have the `arn:` prefix and six parts.
    pub fn parse(text: &str) -> Option<Arn> {
        let [partition, service, region, account, resource] = parts(text)?;
        Some(Arn {
            partition: partition.to_string(),
            service: service.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource: resource.to_string(),
        })
    }
}

/// The parts of an ARN as [`Arn::parse`] reads them, borrowed: `[partition, service, region,
/// account, resource]`.
pub fn parts(text: &str) -> Option<[&str; 5]> {
    let mut parts = text.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let partition = parts.next()?;
    let service = parts.next()?;
    let region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    if partition.is_empty() || service.is_empty() || resource.is_empty() {
        return None;
    }
    Some([partition, service, region, account, resource])
}

/// The model id of a foundation-model ARN (`anthropic.claude-…`), `None` for any other ARN.
pub fn foundation_model_id(arn: &str) -> Option<String> {
    Arn::parse(arn)?
        .resource
        .strip_prefix("foundation-model/")
        .map(str::to_string)
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profile_and_global_model_arns() {
        let arn =
            Arn::parse("arn:aws:bedrock:us-east-1:222222222222:inference-profile/us.a.b-v2:0")
                .unwrap();
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.resource, "inference-profile/us.a.b-v2:0");
        let global = Arn::parse("arn:aws:bedrock:::foundation-model/m").unwrap();
        assert_eq!(global.region, "");
        assert_eq!(global.account, "");
        assert!(Arn::parse("nope").is_none());
        assert_eq!(global.to_string(), "arn:aws:bedrock:::foundation-model/m");
    }
}
