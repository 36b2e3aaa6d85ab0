//! Fuzz target: `check::parse_request` + `check::check` against the bundled blog snapshot
//! (loaded once). The first input byte picks the target (an account, an OU, the root, the
//! management account or an id not in the snapshot); the rest is REQUEST.json.
#![no_main]

use std::sync::LazyLock;

use cris_guard::{check, snapshot};
use libfuzzer_sys::fuzz_target;

static BLOG: LazyLock<Option<snapshot::ValidSnapshot>> = LazyLock::new(|| {
    snapshot::load(
        "examples/blog/snapshot.json",
        include_bytes!("../../examples/blog/snapshot.json"),
    )
    .ok()
});

const TARGETS: &[&str] = &[
    "222222222222",
    "111111111111",
    "444444444444",
    "ou-ab12-11111111",
    "ou-ab12-22222222",
    "r-ab12",
    "999999999999",
];

fuzz_target!(|data: &[u8]| {
    let Some(blog) = BLOG.as_ref() else {
        // The bundled example must load; a fuzz run over nothing would prove nothing.
        std::process::abort();
    };
    let Some((&selector, request)) = data.split_first() else {
        return;
    };
    let target = TARGETS[usize::from(selector) % TARGETS.len()];
    let spec = match check::parse_request("request.json", request) {
        Ok(spec) => spec,
        Err(err) => {
            assert!(err.path.starts_with('$'), "error path {:?}", err.path);
            return;
        }
    };
    match check::check(blog, target, &spec) {
        Ok(result) => {
            assert!(matches!(
                result.decision.as_str(),
                "allowed" | "explicitlyDenied" | "implicitlyDenied"
            ));
            let _ = cris_guard::report::check::render(&result);
            if target == "111111111111" {
                assert_eq!(
                    result.decision, "allowed",
                    "the management account is exempt"
                );
            }
        }
        Err(err) => assert_eq!(target, "999999999999", "unexpected error {err}"),
    }
});
