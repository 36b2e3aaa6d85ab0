//! Fuzz target: `what_if::parse` + `what_if::apply` on the bundled blog snapshot (loaded once);
//! a change list that applies cleanly is evaluated for reachability.
#![no_main]

use std::sync::LazyLock;

use cris_guard::{reachability, snapshot, what_if};
use libfuzzer_sys::fuzz_target;

static BLOG: LazyLock<Option<snapshot::ValidSnapshot>> = LazyLock::new(|| {
    snapshot::load(
        "examples/blog/snapshot.json",
        include_bytes!("../../examples/blog/snapshot.json"),
    )
    .ok()
});

fuzz_target!(|data: &[u8]| {
    let Some(blog) = BLOG.as_ref() else {
        std::process::abort();
    };
    let changes = match what_if::parse("what-if.json", data) {
        Ok(changes) => changes,
        Err(err) => {
            assert!(err.path.starts_with('$'), "error path {:?}", err.path);
            return;
        }
    };
    match what_if::apply("what-if.json", &blog.snapshot, &changes) {
        Ok(next) => {
            let report = reachability::evaluate(&next, &reachability::Options::default());
            let _ = report.exit_code();
        }
        Err(err) => {
            assert_eq!(err.source_name, "what-if.json");
            assert!(err.path.starts_with('$'), "error path {:?}", err.path);
        }
    }
});
