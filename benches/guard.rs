//! Guard benchmark (issue 19): the Lambda handler on a generated organization with the ports
//! in memory, so the figures exclude API latency. Per source-Region set it prints, for the
//! first sweep (empty alert state) and for one CloudTrail event on the stored snapshot (an
//! `AttachPolicy` of a customer SCP to one more OU): wall time, peak RSS, findings, changes, alert-state
//! writes (claims and commits) and items, SNS messages and bytes.
//!
//! Then the sweep's full read through the live reader over mocked SDK clients answering from
//! the same organization, each call taking `GUARD_CALL_MS` (the reader keeps 2 Organizations
//! calls in flight): does it fit the Lambda's 300 s timeout?
//!
//! Run: `cargo bench --bench guard`. Knobs: `GUARD_ACCOUNTS=10000`,
//! `GUARD_REGIONS="us-east-1,us-west-2;us-east-1,us-east-2,us-west-2,eu-west-1,ap-northeast-1"`
//! (`;` separates the sets; the second is the template's default), `GUARD_SEED=42`,
//! `GUARD_CALL_MS=100` (0 skips the read), `GUARD_DUMP_DIR` (writes each phase's first SNS
//! message there, to see what fills it), `GUARD_PROPOSALS=0` (no time for proofs: alerts
//! without proposals, to see what they cost). Each set runs in its own process so peak RSS is its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails loudly"
)]

use std::collections::BTreeMap;
use std::error::Error;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_mocks::{RuleMode, mock_client};
use cris_guard::aws::bedrock::BedrockClients;
use cris_guard::aws::reader::{NoProgress, ReaderOptions, SnapshotReader};

use cris_guard::generate::{self, GenerateOptions};
use cris_guard::guard::Guard;
use cris_guard::lambda::{self, Config};
use cris_guard::snapshot::Snapshot;

#[path = "support/latency.rs"]
mod latency;
#[path = "../tests/support/pages.rs"]
mod pages;
#[path = "../tests/support/ports.rs"]
mod ports;
#[path = "../tests/support/truth.rs"]
mod truth;
use latency::{InFlight, slow_mock_http_client};
use ports::{FakeSource, MemorySnapshots, MemoryStore, RecordingSink};
use truth::{Truth, bedrock_rules, org_rules};

// The Lambda binary's allocator and purge delay (src/bin/cris-guard-lambda.rs, template.yaml),
// so the figures are those of the deployed handler.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
const PURGE_DELAY: (&str, &str) = ("MIMALLOC_PURGE_DELAY", "3");

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const TEMPLATE_REGIONS: &str = "us-east-1,us-east-2,us-west-2,eu-west-1,ap-northeast-1";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let regions = args.get(pos + 1).ok_or("--child REGIONS")?;
        return child(regions);
    }
    let sets = std::env::var("GUARD_REGIONS")
        .unwrap_or_else(|_| format!("us-east-1,us-west-2;{TEMPLATE_REGIONS}"));
    for regions in sets.split(';').filter(|s| !s.trim().is_empty()) {
        let mut child = Command::new(std::env::current_exe()?);
        if std::env::var_os(PURGE_DELAY.0).is_none() {
            child.env(PURGE_DELAY.0, PURGE_DELAY.1);
        }
        let status = child.args(["--child", regions.trim()]).status()?;
        if !status.success() {
            return Err(format!("the run for {regions} failed: {status}").into());
        }
    }
    let call_ms = env_usize("GUARD_CALL_MS", 100);
    if call_ms > 0 {
        full_read(Duration::from_millis(call_ms as u64))?;
    }
    Ok(())
}

fn organization() -> Snapshot {
    let options = GenerateOptions {
        accounts: env_usize("GUARD_ACCOUNTS", 10_000),
        seed: env_usize("GUARD_SEED", 42) as u64,
        ..GenerateOptions::default()
    };
    generate::organization(&options)
}

/// The live reader's full read of the generated organization (two source Regions) through
/// mocked clients taking `delay` per call.
fn full_read(delay: Duration) -> Result<()> {
    let mut org = organization();
    org.inference_profiles
        .retain(|region, _| ["us-east-1", "us-west-2"].contains(&region.as_str()));
    let truth = Truth::new(org);
    let organizations = Arc::new(InFlight::default());
    let bedrock = Arc::new(InFlight::default());
    let client = mock_client!(
        aws_sdk_organizations,
        RuleMode::MatchAny,
        &org_rules(&truth, 20),
        |c| c
            .time_source(SystemTimeSource::new())
            .http_client(slow_mock_http_client(delay, organizations.clone()))
    );
    let mut clients = BTreeMap::new();
    for region in truth.get().inference_profiles.keys() {
        let client = mock_client!(
            aws_sdk_bedrock,
            RuleMode::MatchAny,
            &bedrock_rules(&truth, region),
            |c| c
                .time_source(SystemTimeSource::new())
                .http_client(slow_mock_http_client(delay, bedrock.clone()))
        );
        clients.insert(region.clone(), client);
    }
    let reader = SnapshotReader::from_clients(
        client,
        BedrockClients::from_clients(clients),
        ReaderOptions::new("2026-12-01T00:00:00Z"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let outcome = runtime.block_on(reader.read(&NoProgress))?;
    println!();
    println!(
        "full read at {} ms per call: {:.1} s; Organizations: {} calls, at most {} in flight; \
         Bedrock: {} calls; gaps {}; {}",
        delay.as_millis(),
        start.elapsed().as_secs_f64(),
        organizations.calls.load(Ordering::SeqCst),
        organizations.max.load(Ordering::SeqCst),
        bedrock.calls.load(Ordering::SeqCst),
        outcome.snapshot.gaps.len(),
        outcome.stats,
    );
    Ok(())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process so far, in MB (`VmHWM`).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets `VmHWM` to the current RSS (Linux `clear_refs` 5), so the next phase's peak is its own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn child(regions: &str) -> Result<()> {
    let mut before = organization();
    // The live source reads only the configured source Regions.
    let wanted: Vec<&str> = regions.split(',').collect();
    before
        .inference_profiles
        .retain(|region, _| wanted.contains(&region.as_str()));
    before.captured_at = "2026-12-01T00:00:00Z".into();
    let after = attach_one_target(&before)?;

    let config = Config::from_lookup(|name| {
        match name {
            "CRIS_GUARD_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:111111111111:cris-guard-alerts"),
            "CRIS_GUARD_TABLE_NAME" => Some("cris-guard-state"),
            "CRIS_GUARD_SOURCE_REGIONS" => Some(regions),
            _ => None,
        }
        .map(String::from)
    })?;
    let mut guard = config
        .guard(
            FakeSource::new(before.clone()),
            MemoryStore::default(),
            RecordingSink::default(),
        )
        .with_snapshots(MemorySnapshots::default());
    if env_usize("GUARD_PROPOSALS", 1) == 0 {
        // No time for proofs: the alerts carry no proposal, to see what they cost.
        guard.proposal_budget = Duration::ZERO;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!();
    println!(
        "== {} accounts, {} OUs, source Regions {regions} (peak RSS after generating: {:.0} MB) ==",
        before.accounts.len(),
        before.organizational_units.len(),
        peak_rss_mb()
    );
    let sweep = read_json("events/scheduled-sweep.json")?;
    phase(&runtime, &guard, "first sweep (empty state)", &sweep)?;

    guard.source.set(after);
    let event = read_json("events/organizations-attach-policy.json")?;
    phase(&runtime, &guard, "one AttachPolicy event", &event)?;
    Ok(())
}

type BenchGuard = Guard<FakeSource, MemoryStore, RecordingSink, MemorySnapshots>;

fn phase(
    runtime: &tokio::runtime::Runtime,
    guard: &BenchGuard,
    name: &str,
    payload: &serde_json::Value,
) -> Result<()> {
    let reset = reset_peak_rss();
    let claims = guard.state.claims.load(Ordering::SeqCst);
    let commits = guard.state.commits.load(Ordering::SeqCst);
    let start = Instant::now();
    let summary = runtime.block_on(lambda::handle(guard, payload))?;
    let wall = start.elapsed().as_secs_f64();
    let messages = guard.sink.take();
    let bytes: usize = messages.iter().map(|m| m.body().len()).sum();
    if let (Ok(dir), Some(first)) = (std::env::var("GUARD_DUMP_DIR"), messages.first()) {
        std::fs::write(
            format!("{dir}/{}.json", name.replace(' ', "-")),
            first.body(),
        )?;
    }
    println!(
        "{name}: {wall:.2} s, peak RSS {:.0} MB{}; read {:?}; {} findings, {} changes; \
         state writes: {} claims + {} commits, {} items after; {} SNS messages, {:.1} KB",
        peak_rss_mb(),
        if reset { "" } else { " (process peak)" },
        summary.run.read,
        summary.run.findings,
        summary.run.changes,
        guard.state.claims.load(Ordering::SeqCst) - claims,
        guard.state.commits.load(Ordering::SeqCst) - commits,
        guard.state.items().len(),
        messages.len(),
        bytes as f64 / 1024.0,
    );
    let phases: Vec<String> = summary
        .run
        .phases_ms
        .iter()
        .map(|(phase, ms)| format!("{phase} {ms}"))
        .collect();
    println!("  phases (ms): {}", phases.join(", "));
    Ok(())
}

fn read_json(path: &str) -> Result<serde_json::Value> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    Ok(serde_json::from_str(&std::fs::read_to_string(file)?)?)
}

/// The organization after attaching the customer SCP with the most targets to one more OU (the
/// first OU it is not attached to), as an `AttachPolicy` would.
fn attach_one_target(before: &Snapshot) -> Result<Snapshot> {
    let mut after = before.clone();
    after.captured_at = "2026-12-01T06:00:00Z".into();
    let ous: Vec<String> = after
        .organizational_units
        .iter()
        .map(|ou| ou.id.clone())
        .collect();
    let policy = after
        .policies
        .iter_mut()
        .filter(|p| !p.aws_managed)
        .max_by_key(|p| p.targets.len())
        .ok_or("no customer SCP")?;
    let target = ous
        .into_iter()
        .find(|ou| !policy.targets.contains(ou))
        .ok_or("the SCP is attached to every OU")?;
    println!("the event attaches {} to {target}", policy.id);
    policy.targets.push(target);
    Ok(after)
}
