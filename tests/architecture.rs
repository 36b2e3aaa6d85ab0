//! Tidy checks that keep the architecture honest: every file says what it is for, the core does
//! no IO and knows no SDK types, no test is ignored or expected to panic, and modules use only
//! the layers below them (a table of allowed dependencies, no import cycles).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "fuzz/fuzz_targets"] {
        rust_files(&root.join(dir), &mut files);
    }
    files
}

/// The edge: modules allowed to do IO or to know AWS SDK types.
fn is_edge(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.contains("/src/aws") || text.contains("/src/lambda") || text.contains("/src/bin/")
}

#[test]
fn every_file_opens_with_a_purpose_line() {
    let missing: Vec<String> = all_files()
        .into_iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap_or_default()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` line: {missing:?}"
    );
}

#[test]
fn the_core_does_no_io_and_knows_no_sdk() {
    let forbidden = [
        "aws_sdk_",
        "aws_config",
        "aws_smithy",
        "tokio",
        "lambda_runtime",
        "std::fs",
        "std::env",
        "SystemTime",
        "std::net::TcpStream",
        "println!",
    ];
    let mut offences = Vec::new();
    for file in all_files() {
        let path = file.to_string_lossy().to_string();
        if !path.contains("/src/") || is_edge(&file) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Unit tests inside a core file may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for word in forbidden {
            if code.contains(word) {
                offences.push(format!("{path} mentions {word}"));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn no_ignored_or_should_panic_tests() {
    let attributes = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    let mut offences = Vec::new();
    for file in all_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for attribute in attributes {
            if text.contains(attribute) {
                offences.push(format!("{} has {attribute}]", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:?}");
}

// ------------------------------------------------------------------------------------------
// Layering: gather → decide → act, read from the `crate::` and `super::` paths of src/.

/// Which top-level modules each module of the library may use (`crate::X` paths). A new edge
/// fails here: add it only if it keeps the layering (and no cycle).
const ALLOWED: &[(&str, &[&str])] = &[
    // Vocabulary and leaves: depend on nothing of ours, or on each other below them.
    ("arn", &[]),
    ("error", &[]),
    ("ids", &[]),
    ("findings", &[]),
    // The problem layer's pure shapes (ids, compression, sentences).
    ("problems", &["findings"]),
    ("request", &["arn"]),
    ("policy", &["request"]),
    ("json_input", &["error", "policy"]),
    // Gather (pure): the snapshot and what-if changes to it.
    ("snapshot", &["arn", "error", "ids", "json_input", "policy"]),
    ("what_if", &["error", "ids", "json_input", "snapshot"]),
    // Intents (`--expect`): parsed and judged from statuses the decide layer supplies.
    ("expectations", &["error", "findings", "json_input"]),
    ("generate", &["snapshot"]),
    // The documented guardrail-profile routing, as snapshot entries.
    ("guardrail_routing", &["snapshot"]),
    // Decide.
    ("evaluation", &["policy", "request"]),
    ("org", &["ids", "policy", "request", "snapshot"]),
    (
        "check",
        &[
            "arn",
            "error",
            "evaluation",
            "json_input",
            "org",
            "policy",
            "request",
            "snapshot",
        ],
    ),
    (
        "reachability",
        &[
            "arn",
            "error",
            "evaluation",
            "expectations",
            "findings",
            "org",
            "policy",
            "problems",
            "request",
            "snapshot",
        ],
    ),
    (
        "remediation",
        &[
            "arn",
            "error",
            // Probe answers per level content (`probe_answers`) fold the evaluator's outcomes.
            "evaluation",
            "findings",
            "org",
            "policy",
            "reachability",
            // The requests of the guardrail and Marketplace probes (`other_kinds`).
            "request",
            "snapshot",
            "what_if",
        ],
    ),
    // The caller's own identity policies, through the same engine and check expansion.
    (
        "lint_iam",
        &[
            "arn",
            "error",
            "evaluation",
            "generate",
            "policy",
            "reachability",
            "request",
            "snapshot",
        ],
    ),
    // Act.
    ("report", &["check", "findings"]),
    ("alert", &["findings"]),
    ("notify", &["alert", "findings", "remediation", "snapshot"]),
    (
        "guard",
        // expectations, findings, org: judging the Lambda's expectations (contract §6).
        &[
            "alert",
            "error",
            "expectations",
            "findings",
            "notify",
            "org",
            "reachability",
            "remediation",
            "snapshot",
        ],
    ),
    // The edge: SDK adapters and the Lambda's decoding and configuration.
    (
        "aws",
        &[
            "alert",
            "arn",
            "error",
            "findings",
            "guard",
            "guardrail_routing",
            "ids",
            "snapshot",
        ],
    ),
    (
        "lambda",
        &[
            "alert",
            "arn",
            "guard",
            "ids",
            "reachability",
            "remediation",
        ],
    ),
];

/// The module path of a source file: `src/aws/paging.rs` → `["aws", "paging"]`,
/// `src/reachability/mod.rs` → `["reachability"]`, `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).ok()?;
    if relative.starts_with("bin") {
        return None;
    }
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?.to_string();
    if stem != "mod" && stem != "lib" {
        parts.push(stem);
    }
    Some(parts)
}

/// Paths a file names: `crate::a::b` and `super::a`, with `use` groups expanded one level
/// (`use crate::{a, b::c}`), resolved against the file's own module. Comments are skipped.
fn named_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let code = code.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for (anchor, base) in [
        ("crate::", Vec::new()),
        ("super::", {
            let mut parent = module.to_vec();
            parent.pop();
            parent
        }),
    ] {
        let mut rest = code;
        while let Some(at) = rest.find(anchor) {
            let before = rest[..at].chars().last();
            rest = &rest[at + anchor.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let mut path = base.clone();
                    path.extend(ident_path(item.trim()));
                    out.push(path);
                }
            } else {
                let mut path = base.clone();
                path.extend(ident_path(rest));
                out.push(path);
            }
        }
    }
    out
}

/// The leading `a::b::c` identifiers of `text`.
fn ident_path(text: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        path.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    path
}

/// Top-level module → the top-level modules it names.
fn top_level_edges() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = Graph::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let Some(top) = module.first() else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let entry = edges.entry(top.clone()).or_default();
        for path in named_paths(&module, &text) {
            if let Some(target) = path.first()
                && target != top
            {
                entry.insert(target.clone());
            }
        }
    }
    edges
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let edges = top_level_edges();
    let allowed: std::collections::BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut offences = Vec::new();
    for (module, targets) in &edges {
        let Some(ok) = allowed.get(module.as_str()) else {
            offences.push(format!("{module} is not in ALLOWED"));
            continue;
        };
        for target in targets {
            if !ok.contains(&target.as_str()) {
                offences.push(format!("{module} -> {target} is a new dependency"));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}\nedges now: {edges:#?}");
}

type Graph = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// A cycle of `edges`, if there is one (depth-first search for a back edge).
fn find_cycle(edges: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &Graph,
        stack: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = Default::default();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycles_between_modules() {
    let cycle = find_cycle(&top_level_edges());
    assert!(cycle.is_none(), "import cycle: {cycle:?}");
}

/// No cycle between the files of one module either (`aws/reader` ↔ `aws/bedrock` was one): each
/// file's named paths resolved to the deepest module that exists; a module and its own
/// submodules may name each other (`super::`, re-exports).
#[test]
fn no_import_cycles_between_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: Vec<(Vec<String>, String)> = files
        .iter()
        .filter_map(|f| Some((module_of(&src, f)?, std::fs::read_to_string(f).ok()?)))
        .collect();
    let known: std::collections::BTreeSet<Vec<String>> =
        modules.iter().map(|(m, _)| m.clone()).collect();
    let mut edges = Graph::new();
    for (module, text) in &modules {
        let from = module.join("::");
        let entry = edges.entry(from.clone()).or_default();
        for path in named_paths(module, text) {
            let Some(target) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| known.contains(prefix))
            else {
                continue;
            };
            let related = target.starts_with(module) || module.starts_with(&target);
            if !related {
                entry.insert(target.join("::"));
            }
        }
    }
    let cycle = find_cycle(&edges);
    assert!(cycle.is_none(), "import cycle between files: {cycle:?}");
}
