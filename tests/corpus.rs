//! Behaviour corpus for the policy engine: one JSON file per behaviour.
//!
//! * `tests/corpus/evaluation/*.json`: policies, an SCP chain (root first) and one request; the
//!   expected decision and the statements that decide it. Checked by [`evaluation_corpus`].
//! * `tests/corpus/parse/*.json`: one policy text that must parse, or must be rejected with a
//!   given JSON path and message. Checked by [`parse_corpus`].
//!
//! Every file is checked; all failures are reported together, each with its file name and
//! expected vs actual, so one run shows the whole picture. `CORPUS_FILTER=<substring>` limits a
//! run to the files whose name contains the substring.
//!
//! # Evaluation file format
//!
//! ```json
//! {
//!   "description": "what AWS does and why (cite the rule / table row)",
//!   "informational": "optional: AWS leaves this undocumented; a mismatch is printed, not failed",
//!   "policies": [{"id": "p-…", "name": "…", "content": <policy object, or its text as a string>}],
//!   "levels": [["p-FullAWSAccess"], ["p-FullAWSAccess", "p-ctguard01"], ["p-FullAWSAccess"]],
//!   "request": {"action": "…", "resource": "…",
//!               "context": {"aws:RequestedRegion": "us-east-2", "aws:TagKeys": ["a"]}},
//!   "expect": {"decision": "allowed" | "explicitlyDenied" | "implicitlyDenied",
//!              "statements": [{"policyId": "p-…", "sid": "GRREGIONDENY" | null,
//!                              "statementIndex": 0, "level": 1, "effect": "Deny"}],
//!              "levelsWithoutAllow": [1]}
//! }
//! ```
//!
//! * `levels: []` is the management account (SCPs do not apply).
//! * A context key not listed is absent (`MissingKeys::Absent`); a string is one value, an array
//!   is a multivalued key (`[]` = present but empty); `null` marks the key absent explicitly.
//! * `expect.statements` is always compared, as a set, with the Deny statements that definitely
//!   apply (`Applies::Yes`), whatever the decision: for `explicitlyDenied` it lists every
//!   applying Deny (at every level); for `allowed` and `implicitlyDenied` it must be `[]`, which
//!   asserts that no Deny applies. Allow statements are not listed (the evaluator stops looking
//!   at Allows once a level is allowed, so which Allow is recorded is an implementation detail).
//! * `expect.levelsWithoutAllow` (required for `implicitlyDenied`, optional otherwise) is the
//!   set of level indices that have no applicable Allow and no applicable Deny.
//!
//! # Parse file format
//!
//! `{"description": "…", "content": "<policy text>", "expectOk": true}` or
//! `{"description": "…", "content": "…", "expectError": {"path": "$.Statement[0].Condition.X",
//! "messageContains": "unknown condition operator", "class": "uninterpretable"}}`. `content` is
//! a string so that documents JSON cannot hold as a value (duplicate keys, trailing garbage,
//! invalid JSON) can be written. `class` says what a snapshot holding the document is:
//! `malformed` (it breaks the closed IAM grammar AWS validates: invalid input, exit 3) or
//! `uninterpretable` (AWS accepts it and the parser does not understand it: only the targets
//! under it are `unknown`); see `snapshot::load_policy`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use cris_guard::evaluation::{self, Decision};
use cris_guard::policy::{self, Policy};
use cris_guard::request::{Context, MissingKeys, Request};
use cris_guard::snapshot::{self, PolicyContent};
use serde_json::{Map, Value};

const EVALUATION_DIR: &str = "tests/corpus/evaluation";
const PARSE_DIR: &str = "tests/corpus/parse";

/// The `.json` files of a corpus directory, sorted, filtered by `CORPUS_FILTER`.
fn corpus_files(dir: &str) -> Result<Vec<PathBuf>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let filter = std::env::var("CORPUS_FILTER").unwrap_or_default();
    let mut files = Vec::new();
    for entry in fs::read_dir(&root).map_err(|e| format!("cannot read {}: {e}", root.display()))? {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", root.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") && file_name(&path).contains(&filter) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_json(path: &Path) -> Result<Map<String, Value>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    match serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))? {
        Value::Object(map) => Ok(map),
        _ => Err("the file is not a JSON object".into()),
    }
}

/// Rejects keys outside `allowed`, so a typo in a corpus file cannot silently skip a check.
fn check_keys(map: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "unknown key `{key}` in {what} (allowed: {allowed:?})"
            ));
        }
    }
    Ok(())
}

fn str_field<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a str, String> {
    map.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what}.{key} must be a string"))
}

/// Policy text from `content`: a string is used as is, an object is serialized.
fn content_text(value: Option<&Value>) -> Result<String, String> {
    match value {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(value @ Value::Object(_)) => Ok(value.to_string()),
        _ => Err("content must be a policy object or a string".into()),
    }
}

// ------------------------------------------------------------------------------------------
// Evaluation corpus

/// One deciding statement, as written in `expect.statements`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct StatementRef {
    level: u64,
    policy_id: String,
    statement_index: u64,
    sid: Option<String>,
    effect: String,
}

impl std::fmt::Display for StatementRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{level {}, {} #{} sid {}, {}}}",
            self.level,
            self.policy_id,
            self.statement_index,
            self.sid.as_deref().unwrap_or("null"),
            self.effect
        )
    }
}

fn show(set: &BTreeSet<StatementRef>) -> String {
    let items: Vec<String> = set.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn parse_statement_ref(value: &Value) -> Result<StatementRef, String> {
    let map = value
        .as_object()
        .ok_or("expect.statements items must be objects")?;
    check_keys(
        map,
        &["policyId", "sid", "statementIndex", "level", "effect"],
        "expect.statements[]",
    )?;
    let number = |key: &str| {
        map.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("expect.statements[].{key} must be a non-negative integer"))
    };
    let sid = match map.get("sid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("expect.statements[].sid must be a string or null".into()),
    };
    Ok(StatementRef {
        level: number("level")?,
        policy_id: str_field(map, "policyId", "expect.statements[]")?.to_string(),
        statement_index: number("statementIndex")?,
        sid,
        effect: str_field(map, "effect", "expect.statements[]")?.to_string(),
    })
}

struct EvaluationCase {
    informational: Option<String>,
    policies: Vec<Policy>,
    levels: Vec<Vec<usize>>,
    request: Request,
    decision: String,
    statements: BTreeSet<StatementRef>,
    levels_without_allow: Option<BTreeSet<u64>>,
}

fn load_evaluation_case(path: &Path) -> Result<EvaluationCase, String> {
    let map = read_json(path)?;
    check_keys(
        &map,
        &[
            "description",
            "informational",
            "policies",
            "levels",
            "request",
            "expect",
        ],
        "the case",
    )?;
    str_field(&map, "description", "case")?;
    let informational = map
        .get("informational")
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or("informational must be a string")
        })
        .transpose()?;

    let mut policies = Vec::new();
    for item in map
        .get("policies")
        .and_then(Value::as_array)
        .ok_or("policies must be an array")?
    {
        let p = item.as_object().ok_or("policies[] must be objects")?;
        check_keys(p, &["id", "name", "content"], "policies[]")?;
        let id = str_field(p, "id", "policies[]")?;
        let name = str_field(p, "name", "policies[]")?;
        let text = content_text(p.get("content"))?;
        if policies.iter().any(|q: &Policy| q.id == id) {
            return Err(format!("policy id `{id}` listed twice"));
        }
        let policy = policy::parse(id, name, &text)
            .map_err(|e| format!("policy `{id}` does not parse: {e}"))?;
        policies.push(policy);
    }

    let mut levels = Vec::new();
    for level in map
        .get("levels")
        .and_then(Value::as_array)
        .ok_or("levels must be an array of arrays")?
    {
        let mut indices = Vec::new();
        for id in level.as_array().ok_or("levels[] must be arrays")? {
            let id = id.as_str().ok_or("levels[][] must be policy ids")?;
            let index = policies
                .iter()
                .position(|p| p.id == id)
                .ok_or_else(|| format!("level names unknown policy `{id}`"))?;
            indices.push(index);
        }
        levels.push(indices);
    }

    let request = map
        .get("request")
        .and_then(Value::as_object)
        .ok_or("request must be an object")?;
    check_keys(request, &["action", "resource", "context"], "request")?;
    let mut context = Context::new(MissingKeys::Absent);
    if let Some(entries) = request.get("context") {
        for (key, value) in entries
            .as_object()
            .ok_or("request.context must be an object")?
        {
            match value {
                Value::String(s) => context.set(key, vec![s.clone()]),
                Value::Array(items) => {
                    let values = items
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| format!("context `{key}`: values must be strings"))?;
                    context.set(key, values);
                }
                Value::Null => context.set_absent(key),
                _ => return Err(format!("context `{key}`: a string, an array or null")),
            }
        }
    }
    let request = Request::new(
        str_field(request, "action", "request")?,
        str_field(request, "resource", "request")?,
        context,
    );

    let expect = map
        .get("expect")
        .and_then(Value::as_object)
        .ok_or("expect must be an object")?;
    check_keys(
        expect,
        &["decision", "statements", "levelsWithoutAllow"],
        "expect",
    )?;
    let decision = str_field(expect, "decision", "expect")?.to_string();
    if !["allowed", "explicitlyDenied", "implicitlyDenied"].contains(&decision.as_str()) {
        return Err(format!("expect.decision `{decision}` is not a decision"));
    }
    let statements = expect
        .get("statements")
        .and_then(Value::as_array)
        .ok_or("expect.statements must be an array")?
        .iter()
        .map(parse_statement_ref)
        .collect::<Result<BTreeSet<_>, _>>()?;
    let levels_without_allow = expect
        .get("levelsWithoutAllow")
        .map(|v| {
            v.as_array()
                .and_then(|items| items.iter().map(Value::as_u64).collect::<Option<_>>())
                .ok_or("expect.levelsWithoutAllow must be an array of level indices")
        })
        .transpose()?;
    if decision == "explicitlyDenied" && statements.is_empty() {
        return Err("an explicitlyDenied case must list its deciding statements".into());
    }
    if decision == "implicitlyDenied" && levels_without_allow.is_none() {
        return Err("an implicitlyDenied case must list levelsWithoutAllow".into());
    }
    Ok(EvaluationCase {
        informational,
        policies,
        levels,
        request,
        decision,
        statements,
        levels_without_allow,
    })
}

/// The Deny statements that definitely apply, in the corpus's terms.
fn actual_denies(decision: &Decision, policies: &[Policy]) -> BTreeSet<StatementRef> {
    decision
        .explicit_denies()
        .map(|(level, m)| {
            let policy = &policies[m.policy];
            StatementRef {
                level: level as u64,
                policy_id: policy.id.clone(),
                statement_index: m.statement as u64,
                sid: policy
                    .statements
                    .iter()
                    .find(|s| s.index == m.statement)
                    .and_then(|s| s.sid.clone()),
                effect: m.effect.as_str().to_string(),
            }
        })
        .collect()
}

/// Checks one case; `Err` lists every mismatch.
fn check_evaluation_case(case: &EvaluationCase) -> Result<(), String> {
    let decision = evaluation::evaluate(&case.levels, &case.policies, &case.request);
    let mut problems = Vec::new();
    let actual = decision.outcome.as_str();
    if actual != case.decision {
        problems.push(format!(
            "decision: expected {}, got {actual}",
            case.decision
        ));
    }
    let denies = actual_denies(&decision, &case.policies);
    if denies != case.statements {
        problems.push(format!(
            "deciding Deny statements: expected {}, got {}",
            show(&case.statements),
            show(&denies)
        ));
    }
    if let Some(expected) = &case.levels_without_allow {
        let actual: BTreeSet<u64> = decision
            .levels_without_allow()
            .map(|l| l.level as u64)
            .collect();
        if &actual != expected {
            problems.push(format!(
                "levelsWithoutAllow: expected {expected:?}, got {actual:?}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn evaluation_corpus() {
    let files = corpus_files(EVALUATION_DIR).unwrap();
    assert!(
        !files.is_empty() || std::env::var("CORPUS_FILTER").is_ok(),
        "no evaluation corpus files found"
    );
    let mut failures = Vec::new();
    let mut divergences = Vec::new();
    for path in &files {
        let name = file_name(path);
        match load_evaluation_case(path) {
            Err(problem) => failures.push(format!("{name}: invalid case: {problem}")),
            Ok(case) => match (check_evaluation_case(&case), &case.informational) {
                (Ok(()), _) => {}
                (Err(problem), Some(note)) => {
                    divergences.push(format!("{name} ({note}): {problem}"));
                }
                (Err(problem), None) => failures.push(format!("{name}: {problem}")),
            },
        }
    }
    for divergence in &divergences {
        eprintln!("informational divergence: {divergence}");
    }
    println!(
        "evaluation corpus: {} files, {} failing, {} informational divergences",
        files.len(),
        failures.len(),
        divergences.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} evaluation corpus files fail:\n  {}",
        failures.len(),
        files.len(),
        failures.join("\n  ")
    );
}

// ------------------------------------------------------------------------------------------
// Parse corpus

fn check_parse_case(path: &Path) -> Result<(), String> {
    let map = read_json(path)?;
    check_keys(
        &map,
        &["description", "content", "expectOk", "expectError"],
        "the case",
    )?;
    str_field(&map, "description", "case")?;
    let text = content_text(map.get("content"))?;
    let result = policy::parse("p-corpus", "corpus", &text);
    match (map.get("expectOk"), map.get("expectError")) {
        (Some(Value::Bool(true)), None) => match result {
            Ok(_) => Ok(()),
            Err(err) => Err(format!(
                "expected the policy to parse, got error at {}: {}",
                err.path, err.message
            )),
        },
        (None, Some(Value::Object(expected))) => {
            check_keys(
                expected,
                &["path", "messageContains", "class"],
                "expectError",
            )?;
            let want_path = str_field(expected, "path", "expectError")?;
            let want_message = str_field(expected, "messageContains", "expectError")?;
            let class = str_field(expected, "class", "expectError")?;
            match result {
                Ok(_) => Err(format!(
                    "expected an error at {want_path} containing `{want_message}`, but the policy parsed"
                )),
                Err(err) if err.path == want_path && err.message.contains(want_message) => {
                    check_class(&text, class, &err)
                }
                Err(err) => Err(format!(
                    "expected an error at {want_path} containing `{want_message}`, got at {}: {}",
                    err.path, err.message
                )),
            }
        }
        _ => Err("exactly one of expectOk: true or expectError: {…} is required".into()),
    }
}

/// What loading a snapshot makes of a document the parser refuses: `malformed` is invalid
/// input (exit 3), `uninterpretable` loads and makes the targets under it `unknown`, with the
/// parser's path and message (`snapshot::load_policy`).
fn check_class(text: &str, class: &str, err: &policy::ParseError) -> Result<(), String> {
    let loaded = snapshot::load_policy("p-corpus01", "corpus", &PolicyContent::Text(text.into()));
    match (class, loaded) {
        ("malformed", Err(_)) => Ok(()),
        ("malformed", Ok(_)) => Err("class malformed, but it loads as uninterpretable".into()),
        ("uninterpretable", Ok(loaded)) => match loaded.uninterpretable {
            Some(e) if format!("${}", e.path) == err.path && e.message == err.message => Ok(()),
            other => Err(format!(
                "class uninterpretable: expected the parser's error, got {other:?}"
            )),
        },
        ("uninterpretable", Err(e)) => Err(format!(
            "class uninterpretable, but it is refused as malformed at ${}: {}",
            e.path, e.message
        )),
        (other, _) => Err(format!(
            "class `{other}` is neither `malformed` nor `uninterpretable`"
        )),
    }
}

#[test]
fn parse_corpus() {
    let files = corpus_files(PARSE_DIR).unwrap();
    assert!(
        !files.is_empty() || std::env::var("CORPUS_FILTER").is_ok(),
        "no parse corpus files found"
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            check_parse_case(path)
                .err()
                .map(|problem| format!("{}: {problem}", file_name(path)))
        })
        .collect();
    println!(
        "parse corpus: {} files, {} failing",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} parse corpus files fail:\n  {}",
        failures.len(),
        files.len(),
        failures.join("\n  ")
    );
}
