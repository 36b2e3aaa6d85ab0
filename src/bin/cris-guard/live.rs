//! `cris-guard snapshot`: the `--profile-regions` argument, progress on stderr while the live
//! organization is read, the gaps and call counts after it, and the snapshot as JSON.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use cris_guard::aws::reader::{self, DEFAULT_PROFILE_REGIONS, Progress};
use cris_guard::error::{Error, IoError};

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

/// Reads the live organization with progress on stderr, warns about every gap, prints the call
/// counts, and returns the snapshot as pretty JSON.
pub fn read(profile_regions: Vec<String>) -> Result<String, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(IoError::Runtime)?;
    let progress = StderrProgress::new();
    let outcome = runtime.block_on(reader::read_environment(profile_regions, &progress));
    progress.finish();
    let outcome = outcome?;
    for gap in &outcome.snapshot.gaps {
        eprintln!("warning: could not read {}: {}", gap.scope, gap.reason);
    }
    eprintln!("{}", outcome.stats);
    let gap_count = outcome.snapshot.gaps.len();
    let json = reader::snapshot_json(outcome.snapshot)?;
    if gap_count > 0 {
        eprintln!(
            "warning: {gap_count} part(s) of the organization could not be read: findings that depend on them will be `unknown`"
        );
    }
    Ok(json)
}

/// Progress on stderr: one updating line on a terminal, otherwise a line every
/// [`StderrProgress::LOG_EVERY`] calls.
#[derive(Debug)]
struct StderrProgress {
    tty: bool,
    state: Mutex<usize>,
}

impl StderrProgress {
    const LOG_EVERY: usize = 500;

    fn new() -> Self {
        StderrProgress {
            tty: std::io::stderr().is_terminal(),
            state: Mutex::new(0),
        }
    }

    /// Ends the updating line (on a terminal).
    fn finish(&self) {
        let shown = *self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.tty && shown > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}

impl Progress for StderrProgress {
    fn update(&self, done: usize, what: &str) {
        let mut shown = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut err = std::io::stderr().lock();
        if self.tty {
            let mut line = format!("reading the organization: {done} calls, {what}");
            line.truncate(line.char_indices().nth(100).map_or(line.len(), |(i, _)| i));
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
            *shown = done;
        } else if done == 1 || done.is_multiple_of(Self::LOG_EVERY) {
            let _ = writeln!(
                err,
                "reading the organization: {done} calls so far ({what})"
            );
            *shown = done;
        }
    }
}
