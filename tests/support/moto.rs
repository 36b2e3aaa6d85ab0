//! The moto server scripts/test starts (`MOTO_ENDPOINT`), for the tests that run the real SDK
//! clients against it. Without the endpoint a test prints a note and passes, unless
//! `CRIS_GUARD_REQUIRE_MOTO=1` (then it fails).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// `POST /moto-api/reset` with a plain HTTP/1.1 request (no HTTP client dependency).
#[allow(
    dead_code,
    reason = "only the tests that own a whole organization reset the server"
)]
pub fn moto_reset(endpoint: &str) {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).expect("connect to moto");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST /moto-api/reset HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send reset");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read reset response");
    let status = response.lines().next().unwrap_or_default();
    assert!(status.contains(" 200"), "moto reset failed: {status}");
}
