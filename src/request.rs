//! A request to authorize: action, resource and context, where context keys may be unknown.
//!
//! `check` builds fully specified requests (a key not given is absent). Reachability builds
//! requests whose principal is "anyone in the target": keys that depend on the caller are
//! `Unknown`, and the evaluator answers with the residual condition instead of guessing
//! ([`leg`] builds them from a caller).

pub mod leg;

/// What the request context says about one condition key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    Present(&'a [String]),
    Absent,
    Unknown,
}

/// How keys that are not set explicitly are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKeys {
    /// The request is fully specified: a key not set is absent.
    Absent,
    /// The caller is unknown: `aws:` and `bedrock:` keys not set are unknown, except those a
    /// direct Bedrock invocation never carries (tags, source ARN/account); other services' keys
    /// are absent.
    UnknownCaller,
}

/// Condition-key values. Keys are stored lowercased (key names are case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Option<Vec<String>>)>,
    missing: MissingKeys,
}

/// `aws:` keys that a direct, identity-based Bedrock invocation never carries.
const ABSENT_FOR_DIRECT_CALLS: &[&str] = &[
    "aws:resourcetag/",
    "aws:requesttag/",
    "aws:tagkeys",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourceowner",
];

impl Context {
    pub fn new(missing: MissingKeys) -> Context {
        Context {
            // Room for the keys a leg's request sets, so building one never regrows.
            entries: Vec::with_capacity(8),
            missing,
        }
    }

    /// Sets a key to one or more values.
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        self.put(key, Some(values));
    }

    /// Marks a key as absent from the request.
    pub fn set_absent(&mut self, key: &str) {
        self.put(key, None);
    }

    fn put(&mut self, key: &str, value: Option<Vec<String>>) {
        let key = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Looks a key up; `lowercase_key` must already be lowercase.
    pub fn get(&self, lowercase_key: &str) -> Lookup<'_> {
        for (key, value) in &self.entries {
            if key == lowercase_key {
                return match value {
                    Some(values) => Lookup::Present(values),
                    None => Lookup::Absent,
                };
            }
        }
        match self.missing {
            MissingKeys::Absent => Lookup::Absent,
            MissingKeys::UnknownCaller => {
                let is_global_or_bedrock =
                    lowercase_key.starts_with("aws:") || lowercase_key.starts_with("bedrock:");
                if !is_global_or_bedrock
                    || ABSENT_FOR_DIRECT_CALLS
                        .iter()
                        .any(|p| lowercase_key.starts_with(p))
                {
                    Lookup::Absent
                } else {
                    Lookup::Unknown
                }
            }
        }
    }

    /// Reads keys not set explicitly as `missing` says from now on.
    pub fn set_missing(&mut self, missing: MissingKeys) {
        self.missing = missing;
    }

    pub fn missing(&self) -> MissingKeys {
        self.missing
    }

    /// The explicitly set entries (lowercased keys), for display.
    pub fn entries(&self) -> &[(String, Option<Vec<String>>)] {
        &self.entries
    }
}

/// The id of an account not yet created (an OU is read as a new account in it): in
/// `aws:PrincipalAccount` and in the account part of ARNs. It matches no account id a policy
/// names, only patterns that cover it whole (see `policy::condition::match_new_account`). The
/// braces keep it apart from every real (12-digit) id; input files may not contain it.
pub const NEW_ACCOUNT: &str = "{account}";

/// One authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// As written (for display), e.g. `bedrock:InvokeModel`.
    pub action: String,
    /// Lowercased, for matching (actions are case-insensitive).
    pub action_lowercase: String,
    /// The resource ARN; its account part may be [`NEW_ACCOUNT`].
    pub resource: String,
    pub context: Context,
}

impl Request {
    pub fn new(action: &str, resource: &str, context: Context) -> Request {
        Request {
            action: action.to_string(),
            action_lowercase: action.to_ascii_lowercase(),
            resource: resource.to_string(),
            context,
        }
    }

    /// `aws:RequestedRegion` when present.
    pub fn requested_region(&self) -> Option<&str> {
        match self.context.get("aws:requestedregion") {
            Lookup::Present([region, ..]) => Some(region),
            _ => None,
        }
    }
}
