//! What the guard's tests run on: the blog scenario (examples/blog/snapshot.json), the same
//! organization after the fix, the EventBridge payloads of events/ and the function's
//! configuration.
#![allow(
    dead_code,
    reason = "shared by several test crates, each using part of it"
)]

use std::path::{Path, PathBuf};

use cris_guard::lambda::Config;
use cris_guard::snapshot::Snapshot;
use serde_json::Value;

pub const ORG: &str = "o-exampleorgid";
pub const SANDBOX: &str = "ou-ab12-11111111";
pub const SECURITY: &str = "ou-ab12-22222222";
pub const REGION_DENY: &str = "p-abcd1234";
/// The principal of events/organizations-attach-policy.json.
pub const ALICE: &str = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com";

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn read_json(relative: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(relative)).unwrap()).unwrap()
}

/// The blog scenario: the Region deny on Sandbox blocks the cross-Region profiles.
pub fn blog() -> Snapshot {
    serde_json::from_value(read_json("examples/blog/snapshot.json")).unwrap()
}

/// The blog scenario read a day later, after the Region deny was detached from Sandbox
/// (Sandbox is reachable then).
pub fn fixed() -> Snapshot {
    let mut s = blog();
    s.captured_at = "2026-11-30T00:00:00Z".into();
    for p in &mut s.policies {
        if p.id == REGION_DENY {
            p.targets.retain(|t| t != SANDBOX);
        }
    }
    s
}

/// One payload of events/.
pub fn event(name: &str) -> Value {
    read_json(&format!("events/{name}"))
}

/// Every payload of events/, sorted.
pub fn event_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The function's configuration: a topic, a table, two source Regions.
pub fn config() -> Config {
    Config::from_lookup(|name| {
        match name {
            "CRIS_GUARD_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:111111111111:cris-guard-alerts"),
            "CRIS_GUARD_TABLE_NAME" => Some("cris-guard-state"),
            "CRIS_GUARD_SOURCE_REGIONS" => Some("us-east-1,us-west-2"),
            _ => None,
        }
        .map(String::from)
    })
    .unwrap()
}
