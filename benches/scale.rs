//! Scale benchmark: generated organizations of 1,000 / 10,000 / 50,000 accounts with every
//! system inference profile; prints load, decision, report-building, one-change
//! re-evaluation and `propose` (one source Region) times, the number of distinct SCP chains, and peak RSS measured in separate
//! processes (child `lambda`: the whole report in memory with the template's two source Regions,
//! as the guard's Lambda keeps it).
//!
//! Run: `cargo bench --no-default-features --bench scale`. Environment knobs:
//! `SCALE_SIZES=1000,10000` (account counts), `SCALE_REPEATS=3`, `SCALE_ALL_ACCOUNTS_MAX=10000`
//! (largest size also decided with `all_accounts`, which lists accounts × checks), `SCALE_SEED=42`.

use std::collections::HashSet;
use std::error::Error;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cris_guard::generate::{self, GenerateOptions};
use cris_guard::org::Org;
use cris_guard::reachability::{self, Options};
use cris_guard::remediation;
use cris_guard::snapshot::{self, PolicyContent, Snapshot, ValidSnapshot};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Runs `f` `repeats` times; returns (min, median) and the last result.
fn timed<T>(repeats: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, f64, T)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let value = f()?;
        times.push(ms(start.elapsed()));
        // Drop the previous result outside the timed region.
        drop(last.replace(value));
    }
    times.sort_by(f64::total_cmp);
    let min = times.first().copied().unwrap_or(0.0);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    let value = last.ok_or("no run")?;
    Ok((min, median, value))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let mode = args.get(pos + 1).ok_or("--child MODE FILE")?;
        let file = args.get(pos + 2).ok_or("--child MODE FILE")?;
        return child(mode, Path::new(file));
    }
    let sizes: Vec<usize> = std::env::var("SCALE_SIZES")
        .unwrap_or_else(|_| "1000,10000,50000".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let repeats = env_usize("SCALE_REPEATS", 3);
    let all_accounts_max = env_usize("SCALE_ALL_ACCOUNTS_MAX", 10_000);
    let seed = env_usize("SCALE_SEED", 42) as u64;
    let dir = tempfile::tempdir()?;
    println!("scale bench: sizes {sizes:?}, repeats {repeats}, seed {seed}");
    println!("times are min / median over the repeats, in ms; load average before each size");
    for accounts in sizes {
        size(
            accounts,
            seed,
            repeats,
            accounts <= all_accounts_max,
            dir.path(),
        )?;
    }
    Ok(())
}

fn size(accounts: usize, seed: u64, repeats: usize, all: bool, dir: &Path) -> Result<()> {
    println!();
    println!("== {accounts} accounts (load {}) ==", load_average());
    let options = GenerateOptions {
        accounts,
        seed,
        ..GenerateOptions::default()
    };
    let (gen_min, _, generated) = timed(1, || Ok(generate::organization(&options)))?;
    let bytes = serde_json::to_vec(&generated)?;
    let file = dir.join(format!("org-{accounts}.json"));
    std::fs::write(&file, &bytes)?;
    println!(
        "generate: {gen_min:.1} ms; snapshot {:.1} MB, {} OUs, {} policies, {} source Regions",
        bytes.len() as f64 / 1e6,
        generated.organizational_units.len(),
        generated.policies.len(),
        generated.inference_profiles.len(),
    );

    let (load_min, load_med, valid) = timed(repeats, || Ok(snapshot::load("scale", &bytes)?))?;
    println!("load (parse + validate): {load_min:.1} / {load_med:.1}");

    let default = Options::default();
    let checks = reachability::checks(&valid, &default);
    let profiles: HashSet<&str> = checks.iter().map(|c| c.profile_id.as_str()).collect();
    let legs: usize = checks.iter().map(|c| c.legs.len()).sum();
    let (org_min, org_med, chains) = timed(repeats, || Ok(distinct_chains(&valid)))?;
    println!(
        "checks: {} ({} profiles, {} legs); distinct chains used by targets: {} (of which sensitive: {}); Org::new {org_min:.1} / {org_med:.1}",
        checks.len(),
        profiles.len(),
        legs,
        chains.0,
        chains.1,
    );

    // The stages of `evaluate --format json`: decide every check, build each finding's text,
    // serialize; then the in-memory `Report` the other formats and `propose` use.
    let org = Org::new(&valid);
    let (decide_min, decide_med, decisions) =
        timed(repeats, || Ok(reachability::decide(&org, &default)))?;
    println!(
        "decide (every check, default listing): {decide_min:.1} / {decide_med:.1}; summary {:?}",
        decisions.summary()
    );
    let (build_min, build_med, built) = timed(repeats, || {
        Ok(decisions
            .findings()
            .map(|f| f.blockers.len())
            .sum::<usize>())
    })?;
    println!(
        "build each finding (after decide): {build_min:.1} / {build_med:.1}; {built} blockers"
    );
    let (stream_min, stream_med, bytes) = timed(repeats, || {
        let mut counter = CountingSink(0);
        serde_json::to_writer_pretty(&mut counter, &decisions.report())?;
        Ok(counter.0)
    })?;
    println!(
        "build + serialize the JSON report (after decide): {stream_min:.1} / {stream_med:.1}; {:.1} MB",
        bytes as f64 / 1e6
    );
    drop(decisions);
    let (eval_min, eval_med, report) = timed(repeats.min(2), || {
        Ok(reachability::evaluate(&valid, &default))
    })?;
    println!(
        "evaluate into an in-memory Report: {eval_min:.1} / {eval_med:.1}; findings {}",
        report.findings.len(),
    );
    drop(report);
    if all {
        let all_options = Options {
            all_accounts: true,
            ..Options::default()
        };
        let (all_min, all_med, decisions) = timed(repeats.min(2), || {
            Ok(reachability::decide(&org, &all_options))
        })?;
        println!(
            "decide (all_accounts): {all_min:.1} / {all_med:.1}; summary {:?}",
            decisions.summary()
        );
    } else {
        println!("decide (all_accounts): skipped (SCALE_ALL_ACCOUNTS_MAX)");
    }

    one_change(&valid, repeats)?;
    propose(&valid, repeats.min(2))?;
    peak_rss(&file, all)?;
    Ok(())
}

/// Counts the bytes written to it and drops them.
struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Distinct chain ids the targets use, and how many of them are account-sensitive.
fn distinct_chains(valid: &ValidSnapshot) -> (usize, usize) {
    let org = Org::new(valid);
    let mut ids: HashSet<usize> = HashSet::new();
    for ou in &valid.snapshot.organizational_units {
        ids.insert(org.new_account_chain(&ou.id));
    }
    for account in &valid.snapshot.accounts {
        ids.insert(org.account_chain(&account.id));
    }
    let sensitive = ids.iter().filter(|&&c| org.chain_is_sensitive(c)).count();
    (ids.len(), sensitive)
}

/// Updates the content of one SCP attached to a nested OU, then validates and re-evaluates.
fn one_change(valid: &ValidSnapshot, repeats: usize) -> Result<()> {
    let snapshot = &valid.snapshot;
    let top: HashSet<&str> = snapshot
        .organizational_units
        .iter()
        .filter(|o| snapshot.roots.iter().any(|r| r.id == o.parent_id))
        .map(|o| o.id.as_str())
        .collect();
    let Some(index) = snapshot.policies.iter().position(|p| {
        !p.aws_managed
            && p.content.text().contains("\"ap-southeast-2\"")
            && p.targets
                .iter()
                .any(|t| t.starts_with("ou-") && !top.contains(t.as_str()))
    }) else {
        println!("one change: no region-list SCP on a nested OU in this org; skipped");
        return Ok(());
    };
    let name = snapshot
        .policies
        .get(index)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let (clone_min, _, _) = timed(repeats, || Ok(snapshot.clone()))?;
    let change = |mut changed: Snapshot| -> Snapshot {
        if let Some(policy) = changed.policies.get_mut(index) {
            let text = policy
                .content
                .text()
                .replace("\"ap-southeast-2\",", "\"ap-southeast-2\",\"us-east-2\",");
            policy.content = PolicyContent::Text(text);
        }
        changed
    };
    // Only the subtrees under the changed policy's targets can change: what an incremental
    // sweep re-evaluates (`Options::ous`) and merges into the previous report.
    let affected: Vec<String> = snapshot
        .policies
        .get(index)
        .map(|p| {
            p.targets
                .iter()
                .filter(|t| t.starts_with("ou-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let default = Options::default();
    let scoped = Options {
        ous: affected.clone(),
        ..Options::default()
    };
    let mut validate_times = Vec::new();
    let mut evaluate_times = Vec::new();
    let mut scoped_times = Vec::new();
    let mut scoped_findings = 0;
    for _ in 0..repeats.max(1) {
        let changed = change(snapshot.clone());
        let start = Instant::now();
        let revalidated = snapshot::validate("scale", changed)?;
        let validated = start.elapsed();
        let org = Org::new(&revalidated);
        let decisions = reachability::decide(&org, &default);
        let total = start.elapsed();
        validate_times.push(ms(validated));
        evaluate_times.push(ms(total - validated));
        drop(decisions);
        let start = Instant::now();
        let org = Org::new(&revalidated);
        let decisions = reachability::decide(&org, &scoped);
        scoped_times.push(ms(start.elapsed()));
        scoped_findings = decisions.summary().checks;
    }
    scoped_times.sort_by(f64::total_cmp);
    let s = scoped_times.first().copied().unwrap_or(0.0);
    validate_times.sort_by(f64::total_cmp);
    evaluate_times.sort_by(f64::total_cmp);
    let v = validate_times.first().copied().unwrap_or(0.0);
    let e = evaluate_times.first().copied().unwrap_or(0.0);
    println!(
        "one change ({name}): validate {v:.1} + decide {e:.1} = {:.1} ms (min), {} the 50 ms target; snapshot clone {clone_min:.1} ms",
        v + e,
        if v + e < 50.0 { "under" } else { "over" }
    );
    println!(
        "one change, affected subtrees only ({} OUs, {scoped_findings} decisions): validate {v:.1} + decide {s:.1} = {:.1} ms (min), {} the 50 ms target",
        affected.len(),
        v + s,
        if v + s < 50.0 { "under" } else { "over" }
    );
    Ok(())
}

/// `propose` for one source Region (what `cris-guard propose --source-region us-east-1` does
/// after loading): evaluate, then plan and verify a fix per problem.
fn propose(valid: &ValidSnapshot, repeats: usize) -> Result<()> {
    let evaluation = Options {
        source_regions: vec![PROPOSE_REGION.to_string()],
        ..Options::default()
    };
    let options = remediation::Options {
        approved_profiles: Vec::new(),
        evaluation: evaluation.clone(),
    };
    let (min, med, (proposals, unresolved)) = timed(repeats, || {
        let report = reachability::evaluate(valid, &evaluation);
        Ok(remediation::propose_with_rejections(
            valid, &report, &options,
        ))
    })?;
    println!(
        "propose --source-region {PROPOSE_REGION} (evaluate + plan + verify): {min:.1} / {med:.1}; {} proposals, {} unresolved",
        proposals.len(),
        unresolved.len()
    );
    Ok(())
}

/// The source Regions of the Lambda-style measurement (the template's default).
const LAMBDA_REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

/// The source Region the propose measurements use.
const PROPOSE_REGION: &str = "us-east-1";

/// Peak RSS of separate processes: this binary in child mode (VmHWM), and the release CLI
/// under `/usr/bin/time -v` when available.
fn peak_rss(file: &Path, all: bool) -> Result<()> {
    let me = std::env::current_exe()?;
    let mut modes = vec!["load", "decide", "stream", "evaluate", "lambda"];
    if all {
        modes.push("decide-all");
    }
    for mode in modes {
        let output = Command::new(&me)
            .arg("--child")
            .arg(mode)
            .arg(file)
            .output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        println!("peak RSS, child `{mode}`: {}", text.trim());
    }
    let cli = env!("CARGO_BIN_EXE_cris-guard");
    if !Path::new("/usr/bin/time").exists() {
        println!("peak RSS, CLI: /usr/bin/time missing (apt-get install time)");
        return Ok(());
    }
    let mut runs = vec![("evaluate", vec!["--format", "json"])];
    if all {
        runs.push(("evaluate", vec!["--format", "json", "--all-accounts"]));
    }
    runs.push((
        "propose",
        vec!["--source-region", PROPOSE_REGION, "--format", "json"],
    ));
    for (command, extra) in runs {
        let output = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(cli)
            .arg(command)
            .arg("--snapshot")
            .arg(file)
            .args(&extra)
            .stdout(std::process::Stdio::null())
            .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let field = |label: &str| {
            stderr
                .lines()
                .find_map(|l| l.trim().strip_prefix(label).map(str::trim))
                .unwrap_or("?")
                .to_string()
        };
        println!(
            "peak RSS, CLI `{command} {}`: {} kB max RSS, {} wall, exit {:?}",
            extra.join(" "),
            field("Maximum resident set size (kbytes):"),
            field("Elapsed (wall clock) time (h:mm:ss or m:ss):"),
            output.status.code()
        );
    }
    Ok(())
}

/// Child mode: load (and evaluate) one snapshot file, print the peak RSS (VmHWM) and timing.
fn child(mode: &str, file: &Path) -> Result<()> {
    let start = Instant::now();
    let bytes = std::fs::read(file)?;
    let valid = snapshot::load("scale", &bytes)?;
    drop(bytes);
    let org = Org::new(&valid);
    let default = Options::default();
    let all_accounts = Options {
        all_accounts: true,
        ..Options::default()
    };
    let findings = match mode {
        "load" => 0,
        "decide" => reachability::decide(&org, &default).summary().checks,
        "stream" => {
            let decisions = reachability::decide(&org, &default);
            serde_json::to_writer_pretty(CountingSink(0), &decisions.report())?;
            decisions.summary().checks
        }
        "evaluate" => reachability::evaluate(&valid, &default).findings.len(),
        "decide-all" => reachability::decide(&org, &all_accounts).summary().checks,
        // What the guard's Lambda keeps in memory with its default source Regions: the whole
        // report (every finding with its blockers and explanation).
        "lambda" => {
            let lambda = Options {
                source_regions: LAMBDA_REGIONS.iter().map(|r| r.to_string()).collect(),
                ..Options::default()
            };
            reachability::decide(&org, &lambda)
                .to_report()
                .findings
                .len()
        }
        other => return Err(format!("unknown child mode {other}").into()),
    };
    let elapsed = start.elapsed();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(str::trim)
        .unwrap_or("?");
    println!(
        "VmHWM {hwm}, {:.1} ms (read + load{}), findings {findings}",
        ms(elapsed),
        if mode == "load" {
            ""
        } else {
            " + the mode's work"
        }
    );
    Ok(())
}
