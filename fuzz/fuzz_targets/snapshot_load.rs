//! Fuzz target: `snapshot::load` on arbitrary bytes; a snapshot it accepts is evaluated for
//! reachability, so everything the loader lets through must be safe for the core to use.
#![no_main]

use cris_guard::{reachability, snapshot};
use libfuzzer_sys::fuzz_target;

/// Snapshots larger than this are loaded but not evaluated (keeps executions fast).
const EVALUATE_UP_TO: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    match snapshot::load("fuzz.json", data) {
        Ok(loaded) => {
            assert_eq!(loaded.policies.len(), loaded.snapshot.policies.len());
            if data.len() <= EVALUATE_UP_TO {
                let report = reachability::evaluate(&loaded, &reachability::Options::default());
                let _ = report.exit_code();
            }
        }
        Err(err) => {
            // Invalid input always names the source and a JSON path (contract §1).
            assert_eq!(err.source_name, "fuzz.json");
            assert!(err.path.starts_with('$'), "error path {:?}", err.path);
            assert!(!err.message.is_empty());
        }
    }
});
