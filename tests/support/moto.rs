//! The moto server scripts/test starts (`MOTO_ENDPOINT`), for the tests that run the real SDK
//! clients against it. Without the endpoint a test prints a note and passes, unless
//! `CRIS_GUARD_REQUIRE_MOTO=1` (then it fails).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The SDK configuration of the moto server in us-east-1, or `None` (with a note) without one.
pub async fn moto() -> Option<SdkConfig> {
    let endpoint = match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => {
            assert!(
                std::env::var("CRIS_GUARD_REQUIRE_MOTO").as_deref() != Ok("1"),
                "CRIS_GUARD_REQUIRE_MOTO=1 but MOTO_ENDPOINT is not set: start a moto server (scripts/test does) and export MOTO_ENDPOINT=http://127.0.0.1:PORT"
            );
            eprintln!("note: MOTO_ENDPOINT is not set; skipping the moto test (run scripts/test)");
            return None;
        }
    };
    Some(
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .load()
            .await,
    )
}

/// A name no other run shares (`<prefix>-<pid>-<nanos>`), so tests never reset the shared server.
#[allow(
    dead_code,
    reason = "tests/aws_moto.rs resets moto (one organization per server) instead"
)]
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}
