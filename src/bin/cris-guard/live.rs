//! `cris-guard snapshot`: the `--profile-regions` argument, progress with elapsed time and a
//! heartbeat on stderr while the live organization is read, the gaps and call counts after it
//! (or what to check when it fails), and the snapshot as JSON.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cris_guard::aws::reader::{self, DEFAULT_PROFILE_REGIONS, Environment, Progress};
use cris_guard::error::{Error, IoError};
use cris_guard::snapshot::Snapshot;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// The Regions of `--profile-regions` (comma-separated, repeatable), sorted and deduplicated;
/// every Region with cross-Region profiles without it. `Err` names the first value that is not
/// a Region name.
pub fn profile_regions(argument: Option<Vec<String>>) -> Result<Vec<String>, String> {
    let Some(values) = argument else {
        return Ok(DEFAULT_PROFILE_REGIONS
            .iter()
            .map(|r| r.to_string())
            .collect());
    };
    let regions: Vec<String> = values
        .iter()
        .flat_map(|r| r.split(','))
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    match regions.iter().find(|r| !cris_guard::ids::is_region(r)) {
        Some(bad) => Err(bad.clone()),
        None => Ok(regions),
    }
}

/// What `snapshot` needs to be allowed to call (README "IAM permissions"; template.yaml grants
/// the same to the Lambda).
pub const PERMISSIONS: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
    // `--update` only: the parent, name and state of the one account or OU an event names.
    "organizations:ListPoliciesForTarget",
    "organizations:ListParents",
    "organizations:DescribeAccount",
    "organizations:DescribeOrganizationalUnit",
    "bedrock:ListInferenceProfiles",
    "bedrock:GetInferenceProfile",
];

/// Reads the live organization with progress on stderr, warns about every gap, prints the call
/// counts, and returns the snapshot as pretty JSON. With `update` (`--update OLD --event
/// EVENT`), reads only what the event touched when it can, and says on stderr what it did and
/// why. When the organization cannot be read, says what to check before returning the error.
pub fn read(
    environment: &Environment,
    profile_regions: Vec<String>,
    update: Option<(&Snapshot, &Value)>,
) -> Result<String, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(IoError::Runtime)?;
    let progress = StderrProgress::new();
    let outcome = runtime.block_on(async {
        let heartbeat = tokio::spawn(heartbeat(progress.clone()));
        let reader = reader::environment_reader(environment, profile_regions).await;
        let outcome = match update {
            None => reader.read(&progress).await.map(|outcome| (outcome, None)),
            Some((old, event)) => reader
                .update(Some(old), event, &progress)
                .await
                .map(|(outcome, how)| (outcome, Some(how))),
        };
        heartbeat.abort();
        outcome
    });
    progress.finish();
    let outcome = match outcome {
        Ok((outcome, how)) => {
            if let Some(how) = how {
                eprintln!("update: {how}");
            }
            outcome
        }
        Err(err) => {
            eprintln!("{}", what_to_check(environment, &progress));
            return Err(err.into());
        }
    };
    for gap in &outcome.snapshot.gaps {
        eprintln!("warning: could not read {}: {}", gap.scope, gap.reason);
    }
    eprintln!(
        "read in {:.1} s: {}",
        progress.started.elapsed().as_secs_f64(),
        outcome.stats
    );
    let gap_count = outcome.snapshot.gaps.len();
    let json = reader::snapshot_json(outcome.snapshot)?;
    if gap_count > 0 {
        eprintln!(
            "warning: {gap_count} part(s) of the organization could not be read: findings that depend on them will be `unknown`"
        );
    }
    Ok(json)
}

/// The hint printed when the organization could not be read.
fn what_to_check(environment: &Environment, progress: &StderrProgress) -> String {
    let patience = &environment.patience;
    let endpoint = ["AWS_ENDPOINT_URL_ORGANIZATIONS", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| format!("{name}={value}"))
        })
        .unwrap_or_else(|| "the AWS default endpoint".into());
    format!(
        "cris-guard: gave up after {:.1} s (timeouts: connect {} s, attempt {} s, call {} s; \
         {} failed attempt(s) in a row per endpoint). Check:\n\
         - credentials: `aws sts get-caller-identity{}` must work (profile: {});\n\
         - Region: {} (Organizations answers in us-east-1);\n\
         - endpoint: {endpoint} must be reachable;\n\
         - permissions, in the management account or a delegated administrator: {}.",
        progress.started.elapsed().as_secs_f64(),
        patience.connect.as_secs_f64(),
        patience.attempt.as_secs_f64(),
        patience.operation.as_secs_f64(),
        patience.attempts,
        environment
            .profile
            .as_deref()
            .map(|p| format!(" --profile {p}"))
            .unwrap_or_default(),
        environment.profile.as_deref().map_or_else(
            || "the SDK's chain (AWS_PROFILE, environment, instance role)".into(),
            |p| format!("`{p}`")
        ),
        environment.region.as_deref().map_or_else(
            || "the SDK's chain (AWS_REGION), else us-east-1".into(),
            |r| format!("`{r}`")
        ),
        PERMISSIONS.join(", "),
    )
}

/// Keeps stderr alive while a call is outstanding: a spinner tick on a terminal, a plain line
/// every [`StderrProgress::LOG_EVERY`] otherwise.
async fn heartbeat(progress: StderrProgress) {
    let mut interval = tokio::time::interval(StderrProgress::LOG_EVERY);
    interval.tick().await;
    loop {
        interval.tick().await;
        progress.heartbeat();
    }
}

/// Progress on stderr: an indicatif spinner with the elapsed time on a terminal (indicatif hides
/// it when stderr is not one); otherwise a plain line at most every
/// [`StderrProgress::LOG_EVERY`], so logs show the read is alive without flooding.
#[derive(Debug, Clone)]
struct StderrProgress {
    bar: ProgressBar,
    tty: bool,
    started: Instant,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    done: usize,
    last: String,
    logged: Instant,
}

impl StderrProgress {
    const LOG_EVERY: Duration = Duration::from_secs(10);

    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed}] reading the organization: {pos} calls, {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message("starting");
        bar.enable_steady_tick(Duration::from_millis(120));
        let now = Instant::now();
        StderrProgress {
            bar,
            tty: std::io::stderr().is_terminal(),
            started: now,
            state: Arc::new(Mutex::new(State {
                done: 0,
                last: "starting".into(),
                logged: now,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A plain line (not on a terminal), when the last was long enough ago.
    fn log(&self, state: &mut State, force: bool) {
        if self.tty || !(force || state.logged.elapsed() >= Self::LOG_EVERY) {
            return;
        }
        state.logged = Instant::now();
        let _ = writeln!(
            std::io::stderr().lock(),
            "reading the organization: {} calls in {:.0} s (last: {})",
            state.done,
            self.started.elapsed().as_secs_f64(),
            state.last
        );
    }

    /// Called every [`Self::LOG_EVERY`] whether or not a call finished.
    fn heartbeat(&self) {
        let mut state = self.lock();
        self.log(&mut state, false);
    }

    /// Clears the spinner (on a terminal).
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for StderrProgress {
    fn update(&self, done: usize, what: &str) {
        self.bar.set_position(done as u64);
        self.bar.set_message(what.to_string());
        let mut state = self.lock();
        state.done = done;
        state.last = what.to_string();
        self.log(&mut state, done == 1);
    }
}
