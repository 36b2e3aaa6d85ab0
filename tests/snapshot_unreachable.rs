//! `cris-guard snapshot` against endpoints that never answer or refuse the connection: it fails
//! with exit 4 in bounded time (the SDK timeouts and the retry budget), says what to check, and
//! shows a heartbeat on stderr while it waits (issue 18: it used to hang silently).
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: only a guard against hanging. The measured times are in the report of issue 18.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A port that accepts connections and never answers (the streams are kept open).
fn black_hole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A port nothing listens on (bound, then released): connections are refused.
fn refused() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `snapshot` against `http://127.0.0.1:port` with fake credentials, killing it (and
/// failing) after [`HANG_GUARD`].
fn snapshot(port: u16, extra: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cris-guard"))
        .args(["snapshot", "--profile-regions", "us-east-1"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL_ORGANIZATIONS")
        .env_remove("AWS_ENDPOINT_URL_BEDROCK")
        .env_remove("CRIS_GUARD_CONNECT_TIMEOUT")
        .env_remove("CRIS_GUARD_ATTEMPT_TIMEOUT")
        .env_remove("CRIS_GUARD_OPERATION_TIMEOUT")
        .env_remove("CRIS_GUARD_MAX_ATTEMPTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cris-guard snapshot still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        code: status.code(),
        stdout,
        stderr,
    }
}

fn assert_failed_with_advice(run: &Run) {
    assert_eq!(run.code, Some(4), "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    for mention in [
        "DescribeOrganization",
        "credentials",
        "Region",
        "127.0.0.1",
        "organizations:ListRoots",
        "bedrock:ListInferenceProfiles",
    ] {
        assert!(
            run.stderr.contains(mention),
            "stderr should mention {mention:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_silent_endpoint_fails_with_exit_4_after_the_attempt_timeouts() {
    let run = snapshot(
        black_hole(),
        &[
            "--connect-timeout",
            "1",
            "--attempt-timeout",
            "1",
            "--region",
            "us-east-1",
        ],
    );
    assert_failed_with_advice(&run);
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
}

#[test]
fn a_refused_connection_fails_with_exit_4_without_long_retries() {
    let run = snapshot(refused(), &[]);
    assert_failed_with_advice(&run);
}

#[test]
fn a_silent_wait_prints_a_heartbeat_when_stderr_is_not_a_terminal() {
    // One attempt of 11 s: the heartbeat (every 10 s) fires once before it fails.
    let run = snapshot(
        black_hole(),
        &["--attempt-timeout", "11", "--max-attempts", "1"],
    );
    assert_eq!(run.code, Some(4), "stderr: {}", run.stderr);
    assert!(
        run.stderr
            .contains("reading the organization: 0 calls in 10 s"),
        "{}",
        run.stderr
    );
}

#[test]
fn timeout_and_region_values_are_checked_as_input() {
    for (args, mention) in [
        (&["--attempt-timeout", "0"][..], "--attempt-timeout"),
        (&["--connect-timeout=-1"][..], "--connect-timeout"),
        (&["--region", "not a region"][..], "--region"),
    ] {
        let run = snapshot(refused(), args);
        assert_eq!(run.code, Some(3), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(mention), "{args:?}: {}", run.stderr);
    }
}
