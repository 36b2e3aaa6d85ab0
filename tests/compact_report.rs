//! The human renderings read blockers and explanations from problems, not findings, so the
//! compact report (`Decisions::to_compact_report`, which drops them from findings that name a
//! problem, to keep 10,000-account reports small in memory) renders byte for byte the same.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use cris_guard::generate::{self, GenerateOptions};
use cris_guard::org::Org;
use cris_guard::reachability::{self, Options};
use cris_guard::report;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn the_compact_report_renders_the_same(seed in 0u64..1_000, accounts in 3usize..60) {
        let snapshot = generate::organization(&GenerateOptions {
            accounts,
            seed,
            ..GenerateOptions::default()
        });
        let valid = cris_guard::snapshot::validate("gen", snapshot).unwrap();
        let options = Options::default();
        let org = Org::new(&valid);
        let decisions = reachability::decide(&org, &options);
        let (full, compact) = (decisions.to_report(), decisions.to_compact_report());
        prop_assert!(compact.findings.iter().any(|f| f.blockers.is_empty() && f.status != cris_guard::findings::Status::Reachable)
            || full.findings.iter().all(|f| f.problem_ids.is_empty()));
        let text = report::text::RenderOptions { width: 100 };
        prop_assert_eq!(report::text::render(&full, &text), report::text::render(&compact, &text));
        prop_assert_eq!(report::markdown::render(&full), report::markdown::render(&compact));
        prop_assert_eq!(report::html::render(&full), report::html::render(&compact));
        let sarif = report::sarif::RenderOptions::default();
        prop_assert_eq!(report::sarif::render(&full, &sarif), report::sarif::render(&compact, &sarif));
    }
}
