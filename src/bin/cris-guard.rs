//! The `cris-guard` CLI: reads files, calls the pure core, prints, and exits with a code that
//! carries the decision (contract §1). All output is built before anything is printed, so an
//! error never leaves half a report on stdout.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use cris_guard::error::{Error, InputError, IoError};
use cris_guard::findings::Report;
use cris_guard::{check, reachability, remediation, report, snapshot, what_if};

#[cfg(feature = "aws")]
#[path = "cris-guard/live.rs"]
mod live;

#[derive(Parser, Debug)]
#[command(
    name = "cris-guard",
    version,
    about = "Is Amazon Bedrock cross-Region inference reachable under your SCPs? Which SCP blocks it, and what is the smallest proven fix?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decide reachability for every OU/account × inference profile × source Region.
    Evaluate(EvaluateArgs),
    /// Evaluate, then propose the smallest verified SCP / Control Tower change per problem.
    Propose(ProposeArgs),
    /// Answer one concrete request under the SCPs that apply to a target.
    Check(CheckArgs),
    /// Read the live organization and Bedrock inference profiles into a snapshot (needs AWS credentials).
    Snapshot(SnapshotArgs),
    /// Write a deterministic synthetic organization snapshot (for benchmarks and tests).
    Generate(GenerateArgs),
    /// Check a CRIS caller's identity policies (JSON, or a CloudFormation/SAM template) for every request a call makes.
    LintIam(LintIamArgs),
}

#[derive(clap::Args, Debug)]
struct LintIamArgs {
    /// Identity policy JSON files, or CloudFormation/SAM templates (YAML or JSON).
    #[arg(long = "policy", required = true, num_args = 1..)]
    policies: Vec<PathBuf>,
    /// Take the profiles and their routing from this snapshot (default: the documented routing tables).
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Only these inference profile ids (default: those the policies grant at least one request of).
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// Only these source Regions.
    #[arg(long = "source-region")]
    source_regions: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: LintFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum LintFormat {
    Text,
    Json,
    Sarif,
}

#[derive(clap::Args, Debug)]
struct SelectionArgs {
    /// The snapshot file (contract §2); `-` reads standard input.
    #[arg(long)]
    snapshot: PathBuf,
    /// Only these inference profile ids.
    #[arg(long = "profile")]
    profiles: Vec<String>,
    /// Only these source Regions.
    #[arg(long = "source-region")]
    source_regions: Vec<String>,
    /// Only these OUs (and what is below them).
    #[arg(long = "ou")]
    ous: Vec<String>,
    /// Drop reachable findings.
    #[arg(long)]
    only_problems: bool,
    /// Apply these policy changes to the snapshot first.
    #[arg(long)]
    what_if: Option<PathBuf>,
    /// More administration principals (ARN patterns) not counted as "every principal".
    #[arg(long = "admin-principal")]
    admin_principals: Vec<String>,
    /// List every account, not only those whose result differs from their OU's.
    #[arg(long)]
    all_accounts: bool,
    /// Actions in the check set (default: bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream).
    #[arg(long = "action")]
    actions: Vec<String>,
    /// Only these kinds of checks: inference, guardrailProfile, marketplaceFirstUse (default:
    /// inference, plus each other kind whose facts the snapshot holds).
    #[arg(long = "check-kind")]
    check_kinds: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct EvaluateArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    /// What the organization intends (contract §6): the exit code then reflects only these
    /// expectations, and findings they do not cover are informational.
    #[arg(long)]
    expect: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(clap::Args, Debug)]
struct ProposeArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    #[arg(long, value_enum, default_value = "text")]
    format: ProposeFormat,
    /// Profiles a fix may open (default: the ones found blocked or conditional).
    #[arg(long = "approved-profile")]
    approved_profiles: Vec<String>,
    /// Write the files the `apply` commands name (policy documents, CfCT manifest) here, one
    /// directory per proposal, and point the commands at them.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The snapshot file (contract §2); `-` reads standard input.
    #[arg(long)]
    snapshot: PathBuf,
    /// An account, OU (read as a new account in it) or root id.
    #[arg(long)]
    target: String,
    /// REQUEST.json: principal, action, resource, context.
    #[arg(long)]
    request: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    format: ProposeFormat,
}

#[derive(clap::Args, Debug)]
struct SnapshotArgs {
    /// Source Regions to list inference profiles in (comma-separated; default: every Region with cross-Region profiles).
    #[arg(long, value_delimiter = ',')]
    profile_regions: Option<Vec<String>>,
    /// Write the snapshot here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Also read the guardrail profiles of each Region (ListGuardrails; destinations from the documented routing tables), for guardrailProfile checks.
    #[arg(long)]
    guardrail_profiles: bool,
    /// Also read which models the profiles invoke are sold through AWS Marketplace (ListFoundationModelAgreementOffers, one call per model and Region), for marketplaceFirstUse checks.
    #[arg(long)]
    marketplace_models: bool,
    /// The last snapshot: bring it up to date after `--event`, re-reading only what the event touched.
    #[arg(long, value_name = "OLD.json", requires = "event")]
    update: Option<PathBuf>,
    /// The EventBridge event (a CloudTrail record in `detail`) that `--update` applies.
    #[arg(long, value_name = "EVENT.json", requires = "update")]
    event: Option<PathBuf>,
    /// The AWS CLI profile (shared config and credentials files) to read with (default: the SDK's chain, `AWS_PROFILE`).
    #[arg(long, value_name = "NAME")]
    aws_profile: Option<String>,
    /// The Region of the Organizations client (default: the SDK's chain, `AWS_REGION`, else us-east-1).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Seconds to wait for a connection to an AWS endpoint.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "CRIS_GUARD_CONNECT_TIMEOUT",
        default_value_t = 5.0
    )]
    connect_timeout: f64,
    /// Seconds to wait for one HTTP attempt (request sent to response read).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "CRIS_GUARD_ATTEMPT_TIMEOUT",
        default_value_t = 15.0
    )]
    attempt_timeout: f64,
    /// Seconds one API call may take, retries and backoff included.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "CRIS_GUARD_OPERATION_TIMEOUT",
        default_value_t = 120.0
    )]
    operation_timeout: f64,
    /// Attempts in a row an endpoint may fail for a reason other than throttling (timeouts, refused connections, server errors) before the read gives up; throttling keeps its own backoff.
    #[arg(long, value_name = "N", env = "CRIS_GUARD_MAX_ATTEMPTS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    max_attempts: u32,
}

#[derive(clap::Args, Debug)]
struct GenerateArgs {
    /// Number of accounts, the management account included (1 to 1,000,000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    accounts: u64,
    /// Seed of the pseudo-random stream: the same seed gives the same snapshot.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the snapshot here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Markdown,
    Html,
    Sarif,
    /// The SNS message(s) the guard would publish against empty alert state (contract §5).
    Sns,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ProposeFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 3 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Evaluate(args) => evaluate(args),
        Command::Propose(args) => propose(args),
        Command::Check(args) => run_check(args),
        Command::Snapshot(args) => snapshot_command(args),
        Command::Generate(args) => generate_command(&args),
        Command::LintIam(args) => lint_iam(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    if path.as_os_str() == "-" {
        return read_stdin();
    }
    let metadata = std::fs::metadata(path).map_err(|source| file_error(path, source))?;
    if metadata.len() > snapshot::MAX_SNAPSHOT_BYTES as u64 {
        return Err(too_large(&path.display().to_string(), metadata.len()));
    }
    std::fs::read(path).map_err(|source| file_error(path, source))
}

/// `-`: standard input, read up to one byte past the limit so an oversized stream is refused
/// without being held whole.
fn read_stdin() -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let limit = snapshot::MAX_SNAPSHOT_BYTES as u64;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| file_error(Path::new("<stdin>"), source))?;
    if bytes.len() as u64 > limit {
        return Err(too_large("<stdin>", bytes.len() as u64));
    }
    Ok(bytes)
}

fn too_large(name: &str, len: u64) -> Error {
    Error::Input(InputError::new(
        name,
        "$",
        format!(
            "{len} bytes is over the {} byte input limit",
            snapshot::MAX_SNAPSHOT_BYTES
        ),
    ))
}

/// The name of an input in messages: `<stdin>` for `-`.
fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

fn file_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io(IoError::File {
        path: path.display().to_string(),
        source,
    })
}

/// The snapshot as read, and with `--what-if` the snapshot with the changes applied and the
/// what-if input: each file is read once (so `--snapshot -` works with `--what-if`).
#[allow(
    clippy::type_complexity,
    reason = "a private pair, named where it is destructured"
)]
fn load_with_what_if(
    selection: &SelectionArgs,
) -> Result<
    (
        snapshot::ValidSnapshot,
        Option<(snapshot::ValidSnapshot, what_if::WhatIfInput)>,
    ),
    Error,
> {
    let name = input_name(&selection.snapshot);
    let base = snapshot::load(&name, &read(&selection.snapshot)?)?;
    let Some(path) = &selection.what_if else {
        return Ok((base, None));
    };
    let input = read_what_if(path, &base.snapshot)?;
    let applied = what_if::apply(&path.display().to_string(), &base.snapshot, &input.changes)?;
    Ok((base, Some((applied, input))))
}

/// The `--what-if` changes; a CfCT manifest's policy files are read next to it.
fn read_what_if(path: &Path, base: &snapshot::Snapshot) -> Result<what_if::WhatIfInput, Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let read_file = |name: &str| std::fs::read(dir.join(name)).map_err(|e| e.to_string());
    Ok(what_if::read(
        &path.display().to_string(),
        &read(path)?,
        base,
        &read_file,
    )?)
}

/// The `.tf` files of a module of a Terraform plan, looked up next to the plan (`terraform show
/// -json` is usually run in the root module): the module's directory as joined to the plan's,
/// and `(file name, text)` sorted by name.
fn module_tf_files(plan_dir: &Path, module_dir: &str) -> (PathBuf, Vec<(String, String)>) {
    let dir = plan_dir.join(module_dir);
    // `plan.json` has the parent "": list the working directory, keep paths as given.
    let listed = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir.as_path()
    };
    let mut files: Vec<(String, String)> = std::fs::read_dir(listed)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            Path::new(&entry.file_name())
                .extension()
                .is_some_and(|e| e == "tf")
        })
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            Some((entry.file_name().to_string_lossy().into_owned(), text))
        })
        .collect();
    files.sort();
    (dir, files)
}

/// Where a plan's policy is written: its module's directory and `.tf` files, and the source
/// [`what_if::locate`] found there.
struct Located {
    module_dir: String,
    files: Vec<(String, String)>,
    source: Option<what_if::PolicySource>,
}

/// `None` for a module from outside this checkout.
fn locate_policy(plan_dir: &Path, policy: &what_if::TerraformPolicy) -> Option<Located> {
    let module_dir = policy.module_dir.as_ref()?;
    let (_, files) = module_tf_files(plan_dir, module_dir);
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    let source = what_if::locate(&policy.resource_name, &borrowed);
    Some(Located {
        module_dir: module_dir.clone(),
        files,
        source,
    })
}

/// Where the policies of a Terraform plan are written ([`module_tf_files`]), for SARIF. A
/// policy whose source is not found keeps pointing at the snapshot, and stderr says so.
fn terraform_sources(
    plan_dir: &Path,
    policies: &[what_if::TerraformPolicy],
) -> Vec<(String, String, String, usize)> {
    let mut out = Vec::new();
    for policy in policies {
        let address = &policy.address;
        let Some(Located {
            module_dir,
            files,
            source,
        }) = locate_policy(plan_dir, policy)
        else {
            eprintln!(
                "note: {address} comes from a module outside this checkout; its SARIF results point at the snapshot"
            );
            continue;
        };
        let dir = plan_dir.join(&module_dir);
        match source {
            Some(what_if::PolicySource::File(file)) => {
                let at = dir.join(&file);
                match std::fs::read_to_string(&at) {
                    Ok(text) => {
                        out.push((
                            policy.policy_name.clone(),
                            at.display().to_string(),
                            text,
                            0,
                        ));
                    }
                    Err(e) => eprintln!(
                        "note: {address} reads {}, which cannot be read ({e}); its SARIF results point at the snapshot",
                        at.display()
                    ),
                }
            }
            Some(what_if::PolicySource::Inline { file, offset }) => {
                if let Some((name, text)) = files.get(file) {
                    out.push((
                        policy.policy_name.clone(),
                        dir.join(name).display().to_string(),
                        text.clone(),
                        offset,
                    ));
                }
            }
            None => eprintln!(
                "note: {address} is not in the .tf files of {}; its SARIF results point at the snapshot",
                if module_dir.is_empty() {
                    plan_dir.join(".")
                } else {
                    dir
                }
                .display()
            ),
        }
    }
    out
}

/// The policies of a Terraform plan for `propose`, paths relative to the root module (the
/// plan's directory), so the proposals edit them instead of calling `aws organizations`; one
/// not in `base` (matched by name, unique in an organization) is created by the plan.
fn terraform_managed(
    plan_dir: &Path,
    policies: &[what_if::TerraformPolicy],
    base: &snapshot::Snapshot,
) -> Vec<remediation::ManagedPolicy> {
    let relative = |module_dir: &str, name: &str| {
        Path::new(module_dir)
            .join(name)
            .to_string_lossy()
            .into_owned()
    };
    policies
        .iter()
        .map(|policy| {
            let source = match locate_policy(plan_dir, policy) {
                Some(Located {
                    module_dir,
                    source: Some(what_if::PolicySource::File(file)),
                    ..
                }) => remediation::ManagedSource::File(relative(&module_dir, &file)),
                Some(Located {
                    module_dir,
                    mut files,
                    source: Some(what_if::PolicySource::Inline { file, offset }),
                }) if file < files.len() => {
                    let (name, text) = files.swap_remove(file);
                    remediation::ManagedSource::Inline {
                        path: relative(&module_dir, &name),
                        text,
                        offset,
                    }
                }
                _ => remediation::ManagedSource::Elsewhere,
            };
            remediation::ManagedPolicy {
                policy_name: policy.policy_name.clone(),
                address: policy.address.clone(),
                source,
                created: !base.policies.iter().any(|p| p.name == policy.policy_name),
            }
        })
        .collect()
}

fn options(selection: &SelectionArgs) -> Result<reachability::Options, Error> {
    for (i, region) in selection.source_regions.iter().enumerate() {
        if !cris_guard::ids::is_region(region) {
            return Err(Error::Input(InputError::new(
                "--source-region",
                format!("[{i}]"),
                format!("`{region}` is not an AWS Region name"),
            )));
        }
    }
    for (i, ou) in selection.ous.iter().enumerate() {
        if !cris_guard::ids::is_ou_id(ou) {
            return Err(Error::Input(InputError::new(
                "--ou",
                format!("[{i}]"),
                format!("`{ou}` is not an OU id (ou-…)"),
            )));
        }
    }
    let mut check_kinds = Vec::new();
    for (i, name) in selection.check_kinds.iter().enumerate() {
        let Some(kind) = cris_guard::findings::CheckKind::parse(name) else {
            let names: Vec<&str> = cris_guard::findings::CheckKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect();
            return Err(Error::Input(InputError::new(
                "--check-kind",
                format!("[{i}]"),
                format!(
                    "`{name}` is no check kind; expected one of {}",
                    names.join(", ")
                ),
            )));
        };
        check_kinds.push(kind);
    }
    Ok(reachability::Options {
        check_kinds,
        actions: selection.actions.clone(),
        profiles: selection.profiles.clone(),
        source_regions: selection.source_regions.clone(),
        ous: selection.ous.clone(),
        only_problems: selection.only_problems,
        admin_principals: selection.admin_principals.clone(),
        all_accounts: selection.all_accounts,
    })
}

/// Every `--profile`, `--source-region` and `--action` value must match something: a typo
/// would otherwise give an empty or all-`unknown` report instead of an answer.
fn check_filters_match(
    selection: &SelectionArgs,
    loaded: &snapshot::ValidSnapshot,
) -> Result<(), Error> {
    let snapshot = &loaded.snapshot;
    let profiles = &snapshot.inference_profiles;
    // Guardrail profiles and Marketplace models are what their checks name as the profile.
    let profile_ids: BTreeSet<&str> = profiles
        .values()
        .flatten()
        .map(|p| p.inference_profile_id.as_str())
        .chain(
            snapshot
                .guardrail_profiles
                .values()
                .flatten()
                .map(|p| p.guardrail_profile_id.as_str()),
        )
        .chain(
            snapshot
                .marketplace_models
                .values()
                .flatten()
                .map(String::as_str),
        )
        .collect();
    let regions: BTreeSet<&str> = profiles
        .keys()
        .chain(snapshot.guardrail_profiles.keys())
        .map(String::as_str)
        .collect();
    let actions: BTreeSet<&str> = reachability::DEFAULT_ACTIONS.iter().copied().collect();
    for (flag, values, known, what, case_insensitive) in [
        (
            "--profile",
            &selection.profiles,
            &profile_ids,
            "inference profile in the snapshot",
            false,
        ),
        (
            "--source-region",
            &selection.source_regions,
            &regions,
            "source Region with inference profiles in the snapshot",
            false,
        ),
        // IAM action names are case-insensitive.
        (
            "--action",
            &selection.actions,
            &actions,
            "action cris-guard checks",
            true,
        ),
    ] {
        for (i, value) in values.iter().enumerate() {
            let found = if case_insensitive {
                known.iter().any(|k| k.eq_ignore_ascii_case(value))
            } else {
                known.contains(value.as_str())
            };
            if !found {
                return Err(Error::Input(InputError::new(
                    flag,
                    format!("[{i}]"),
                    format!("`{value}` is no {what}; {}", nearest(value, known)),
                )));
            }
        }
    }
    Ok(())
}

/// "did you mean" with the (up to three) known values closest to `value`.
fn nearest(value: &str, known: &BTreeSet<&str>) -> String {
    if known.is_empty() {
        return "the snapshot has none".into();
    }
    let lowered = value.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = known
        .iter()
        .map(|k| (strsim::jaro_winkler(&lowered, &k.to_ascii_lowercase()), *k))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let names: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(_, k)| format!("`{k}`"))
        .collect();
    format!("nearest known: {}", names.join(", "))
}

fn check_ous_exist(
    selection: &SelectionArgs,
    loaded: &snapshot::ValidSnapshot,
) -> Result<(), Error> {
    check_filters_match(selection, loaded)?;
    for (i, ou) in selection.ous.iter().enumerate() {
        if !loaded
            .snapshot
            .organizational_units
            .iter()
            .any(|o| &o.id == ou)
        {
            return Err(Error::Input(InputError::new(
                "--ou",
                format!("[{i}]"),
                format!("OU `{ou}` is not in the snapshot"),
            )));
        }
    }
    Ok(())
}

fn evaluate(args: EvaluateArgs) -> Result<u8, Error> {
    let options = options(&args.selection)?;
    let (base, what_if) = load_with_what_if(&args.selection)?;
    let loaded = what_if.as_ref().map_or(&base, |(applied, _)| applied);
    check_ous_exist(&args.selection, loaded)?;
    let org = cris_guard::org::Org::new(loaded);
    let mut decisions = reachability::decide(&org, &options);
    // Policy files of infrastructure code the what-if wrote (for SARIF locations).
    let mut policy_files: Vec<(String, String, String, usize)> = Vec::new();
    if let (Some(path), Some((_, input))) = (&args.selection.what_if, &what_if) {
        // Counted against the same snapshot without the changes.
        let name = path.display().to_string();
        let changes = input.changes.len();
        if args.format == Format::Sarif {
            let dir = path.parent().unwrap_or(Path::new("."));
            for (policy_name, file) in &input.policy_files {
                let at = dir.join(file);
                let text = String::from_utf8_lossy(&read(&at)?).into_owned();
                policy_files.push((policy_name.clone(), at.display().to_string(), text, 0));
            }
            policy_files.extend(terraform_sources(dir, &input.terraform_policies));
        }
        let base_org = cris_guard::org::Org::new(&base);
        let base_decisions = reachability::decide(&base_org, &options);
        decisions.set_what_if(name, changes, &base_decisions);
    }
    let expected = match &args.expect {
        Some(path) => {
            let name = path.display().to_string();
            let file = cris_guard::expectations::parse(&name, &read(path)?)?;
            Some(decisions.set_expectations(&name, &file)?)
        }
        None => None,
    };
    if args.format == Format::Json {
        // The JSON report is written while its findings are built: a large organization's
        // report (hundreds of MB) never sits in memory.
        emit_json(&decisions.report())?;
        return Ok(expected.unwrap_or_else(|| decisions.summary().exit_code()));
    }
    // The alert (sns) shows blockers per changed check; the other renderings show them once
    // per problem.
    let report = if args.format == Format::Sns {
        decisions.to_report()
    } else {
        decisions.to_compact_report()
    };
    // SARIF results point at each policy's line in the snapshot file (not for stdin).
    let snapshot_text = match args.format {
        Format::Sarif if args.selection.snapshot.as_os_str() != "-" => {
            Some(String::from_utf8_lossy(&read(&args.selection.snapshot)?).into_owned())
        }
        _ => None,
    };
    let snapshot_path = args.selection.snapshot.display().to_string();
    let snapshot = snapshot_text
        .as_deref()
        .map(|text| report::sarif::SnapshotFile {
            path: &snapshot_path,
            text,
        });
    let policy_files: Vec<report::sarif::PolicyFile<'_>> = policy_files
        .iter()
        .map(
            |(policy_name, path, text, from)| report::sarif::PolicyFile {
                policy_name,
                path,
                text,
                from: *from,
            },
        )
        .collect();
    let sarif = report::sarif::RenderOptions {
        snapshot,
        policy_files: &policy_files,
    };
    let output = render(loaded, &report, options.clone(), args.format, &sarif);
    if args.format == Format::Text {
        emit_styled(&output)?;
    } else {
        emit(&output)?;
    }
    Ok(expected.unwrap_or_else(|| report.exit_code()))
}

/// `--format sns`: what the guard publishes for this snapshot against empty alert state (the
/// scheduled sweep of a fresh table: every problem is new), built by the guard's own
/// [`cris_guard::notify::alert_messages`]. One JSON object per part; nothing when every check is
/// reachable (the guard publishes nothing then).
fn sns_preview(
    loaded: &snapshot::ValidSnapshot,
    report: &Report,
    options: reachability::Options,
) -> String {
    let changes = cris_guard::alert::diff(&cris_guard::alert::StateView::new(), report);
    let remediation_options = remediation::Options {
        approved_profiles: Vec::new(),
        evaluation: options,
    };
    let messages = cris_guard::notify::alert_messages(
        loaded,
        report,
        &changes,
        &cris_guard::alert::Trigger::schedule(),
        &remediation_options,
        // The preview has no time budget: it shows every proposal the guard could carry.
        &|| false,
    );
    if messages.is_empty() {
        eprintln!(
            "cris-guard: no finding to alert (every check is reachable): the guard publishes nothing"
        );
    }
    messages.iter().map(|m| json(&m.preview())).collect()
}

/// Writes `value` as pretty JSON (what [`json`] makes) to stdout, as it is serialized.
fn emit_json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut stdout, value)
        .map_err(std::io::Error::from)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    stdout_written(written)
}

fn render(
    loaded: &snapshot::ValidSnapshot,
    report: &Report,
    options: reachability::Options,
    format: Format,
    sarif: &report::sarif::RenderOptions<'_>,
) -> String {
    match format {
        Format::Json => json(report),
        Format::Text => report::text::render(report, &text_options()),
        Format::Markdown => report::markdown::render(report),
        Format::Html => report::html::render(report),
        Format::Sarif => report::sarif::render(report, sarif),
        Format::Sns => sns_preview(loaded, report, options),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(err) => format!("{{\"error\":\"{err}\"}}\n"),
    }
}

fn emit(output: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout_written(
        stdout
            .write_all(output.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// Writes text with `anstyle` styles to stdout through `anstream`, which keeps them on a
/// terminal or with `CLICOLOR_FORCE` and strips them for `NO_COLOR`, a pipe or a file.
fn emit_styled(output: &str) -> Result<(), Error> {
    let mut stdout = anstream::stdout().lock();
    stdout_written(
        stdout
            .write_all(output.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// The text format's width: `COLUMNS` when set, else the terminal's, else
/// [`report::text::DEFAULT_WIDTH`] (a pipe or a file).
fn text_options() -> report::text::RenderOptions {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(terminal_size::Width(w), _)| usize::from(w))
        })
        .unwrap_or(report::text::DEFAULT_WIDTH);
    report::text::RenderOptions { width }
}

/// The outcome of writing to stdout.
fn stdout_written(result: std::io::Result<()>) -> Result<(), Error> {
    match result {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Error::Io(IoError::Stdout(err))),
    }
}

/// Writes to `path` (atomically) or, without one, to stdout.
fn write_output(path: Option<&Path>, text: &str) -> Result<(), Error> {
    match path {
        None => emit(text),
        Some(path) => {
            write_file_atomically(path, text.as_bytes()).map_err(|source| file_error(path, source))
        }
    }
}

/// Writes `--output FILE` without ever leaving half a file: a temporary file in the same
/// directory, synced, then renamed over `path` (removed again on any error).
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn propose(args: ProposeArgs) -> Result<u8, Error> {
    let options = options(&args.selection)?;
    let (base, what_if) = load_with_what_if(&args.selection)?;
    let loaded = what_if.as_ref().map_or(&base, |(applied, _)| applied);
    check_ous_exist(&args.selection, loaded)?;
    let mut report = reachability::evaluate(loaded, &options);
    let proposal_options = remediation::Options {
        approved_profiles: args.approved_profiles,
        evaluation: options,
    };
    let (mut proposals, unresolved) =
        remediation::propose_with_rejections(loaded, &report, &proposal_options);
    if let (Some(path), Some((_, input))) = (&args.selection.what_if, &what_if)
        && !input.terraform_policies.is_empty()
    {
        let dir = path.parent().unwrap_or(Path::new("."));
        let managed = terraform_managed(dir, &input.terraform_policies, &base.snapshot);
        remediation::through_terraform(&mut proposals, loaded, &managed);
    }
    if let Some(dir) = &args.output_dir {
        write_proposal_files(dir, &mut proposals)?;
    }
    report.proposals = proposals;
    report.unresolved = unresolved;
    remediation::link_problems(&mut report);
    // Problems denied by design are reported, not counted as missing fixes.
    let unfixed = report.unresolved.iter().filter(|u| !u.by_design).count();
    if unfixed > 0 {
        eprintln!(
            "cris-guard: {unfixed} problem(s) have no verified fix for some findings; see `unresolved` in the output"
        );
    }
    let output = match args.format {
        ProposeFormat::Json => json(&report),
        ProposeFormat::Text => report::text::render(&report, &text_options()),
    };
    emit_styled(&output)?;
    Ok(report.exit_code())
}

/// `propose --output-dir`: every proposal's files, staged in a temporary directory inside
/// `dir` and moved into place only once all are written (nothing half-written), then the
/// proposals' commands pointed at them. A `dir` that is a file is invalid input (exit 3); one
/// that cannot be created or written is an IO failure (exit 4).
fn write_proposal_files(
    dir: &Path,
    proposals: &mut [cris_guard::findings::Proposal],
) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Input(InputError::new(
            "--output-dir",
            "",
            format!("{} exists and is not a directory", dir.display()),
        )));
    }
    std::fs::create_dir_all(dir).map_err(|source| file_error(dir, source))?;
    let dir = dir
        .canonicalize()
        .map_err(|source| file_error(dir, source))?;
    let staging = tempfile::Builder::new()
        .prefix(".cris-guard-staging-")
        .tempdir_in(&dir)
        .map_err(|source| file_error(&dir, source))?;
    let mut written: Vec<&str> = Vec::new();
    for proposal in proposals.iter() {
        for file in remediation::files(proposal) {
            let path = staging.path().join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| file_error(parent, source))?;
            }
            std::fs::write(&path, file.content).map_err(|source| file_error(&path, source))?;
        }
        written.push(&proposal.id);
    }
    for id in written {
        let (from, to) = (staging.path().join(id), dir.join(id));
        if !from.exists() {
            continue;
        }
        if to.is_dir() {
            std::fs::remove_dir_all(&to).map_err(|source| file_error(&to, source))?;
        }
        std::fs::rename(&from, &to).map_err(|source| file_error(&to, source))?;
    }
    let shown = dir.display().to_string();
    for proposal in proposals {
        remediation::point_apply_into(proposal, &shown);
    }
    Ok(())
}

fn run_check(args: CheckArgs) -> Result<u8, Error> {
    let name = input_name(&args.snapshot);
    let loaded = snapshot::load(&name, &read(&args.snapshot)?)?;
    let request_name = args.request.display().to_string();
    let spec = check::parse_request(&request_name, &read(&args.request)?)?;
    let result = check::check(&loaded, &args.target, &spec)?;
    let output = match args.format {
        ProposeFormat::Json => json(&result),
        ProposeFormat::Text => report::check::render(&result),
    };
    emit(&output)?;
    Ok(match result.decision.as_str() {
        "allowed" => 0,
        "unknown" => 2,
        _ => 1,
    })
}

fn lint_iam(args: &LintIamArgs) -> Result<u8, Error> {
    use cris_guard::lint_iam;
    let mut inputs = Vec::new();
    for path in &args.policies {
        let name = input_name(path);
        let text = String::from_utf8(read(path)?)
            .map_err(|_| InputError::new(&name, "$", "not UTF-8 text"))?;
        inputs.push(lint_iam::InputFile { name, text });
    }
    let (profiles, routing) = match &args.snapshot {
        Some(path) => {
            let name = input_name(path);
            let loaded = snapshot::load(&name, &read(path)?)?;
            (
                loaded.snapshot.inference_profiles,
                format!("snapshot {name}"),
            )
        }
        None => (
            lint_iam::documented_profiles(),
            lint_iam::DOCUMENTED_ROUTING.to_string(),
        ),
    };
    let options = lint_iam::LintOptions {
        profiles: args.profiles.clone(),
        source_regions: args.source_regions.clone(),
    };
    let result = lint_iam::lint(&inputs, &profiles, &routing, &options)?;
    let output = match args.format {
        LintFormat::Text => lint_iam::render::text(&result),
        LintFormat::Json => lint_iam::render::json(&result),
        LintFormat::Sarif => lint_iam::render::sarif(&result),
    };
    emit(&output)?;
    Ok(result.exit_code())
}

fn generate_command(args: &GenerateArgs) -> Result<u8, Error> {
    let options = cris_guard::generate::GenerateOptions {
        accounts: usize::try_from(args.accounts).unwrap_or(usize::MAX),
        seed: args.seed,
        ..cris_guard::generate::GenerateOptions::default()
    };
    let generated = cris_guard::generate::organization(&options);
    let mut text = serde_json::to_string(&generated).map_err(|source| IoError::Serialize {
        what: "serializing the snapshot",
        source,
    })?;
    text.push('\n');
    write_output(args.output.as_deref(), &text)?;
    Ok(0)
}

#[cfg(feature = "aws")]
fn snapshot_command(args: SnapshotArgs) -> Result<u8, Error> {
    let regions_given = args.profile_regions.is_some();
    let regions = match live::profile_regions(args.profile_regions) {
        Ok(regions) => regions,
        Err(bad) => {
            eprintln!(
                "error: --profile-regions: `{bad}` is not an AWS Region name (e.g. us-east-1)"
            );
            return Ok(3);
        }
    };
    if let Some(region) = args
        .region
        .as_deref()
        .filter(|r| !cris_guard::ids::is_region(r))
    {
        return Err(Error::Input(InputError::new(
            "--region",
            "",
            format!("`{region}` is not an AWS Region name (e.g. us-east-1)"),
        )));
    }
    let environment = cris_guard::aws::reader::Environment {
        profile: args.aws_profile,
        region: args.region,
        guardrail_profiles: args.guardrail_profiles,
        marketplace_models: args.marketplace_models,
        patience: cris_guard::aws::patience::Patience {
            connect: seconds("--connect-timeout", args.connect_timeout)?,
            attempt: seconds("--attempt-timeout", args.attempt_timeout)?,
            operation: seconds("--operation-timeout", args.operation_timeout)?,
            attempts: args.max_attempts,
        },
    };
    let update = match (&args.update, &args.event) {
        (Some(old), Some(event)) => Some(read_update(old, event)?),
        _ => None,
    };
    // An update reads the Regions the old snapshot read, unless told otherwise.
    let regions = match (&update, regions_given) {
        (Some((old, _)), false) => old.inference_profiles.keys().cloned().collect(),
        _ => regions,
    };
    let json = live::read(
        &environment,
        regions,
        update.as_ref().map(|(old, event)| (old, event)),
    )?;
    write_output(args.output.as_deref(), &json)?;
    Ok(0)
}

/// `--update OLD.json` (a valid snapshot) and `--event EVENT.json` (an EventBridge event: an
/// object with a `detail-type`).
#[cfg(feature = "aws")]
fn read_update(old: &Path, event: &Path) -> Result<(snapshot::Snapshot, serde_json::Value), Error> {
    let old = snapshot::load(&input_name(old), &read(old)?)?.snapshot;
    let name = input_name(event);
    let event: serde_json::Value =
        cris_guard::json_input::read(&name, "EventBridge event", &read(event)?)?;
    if event
        .get("detail-type")
        .and_then(serde_json::Value::as_str)
        .is_none()
    {
        return Err(Error::Input(InputError::new(
            name,
            "$.detail-type",
            "expected an EventBridge event: an object with a string `detail-type`",
        )));
    }
    Ok((old, event))
}

/// A timeout flag's value: a positive number of seconds.
#[cfg(feature = "aws")]
fn seconds(flag: &str, value: f64) -> Result<std::time::Duration, Error> {
    match std::time::Duration::try_from_secs_f64(value) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(Error::Input(InputError::new(
            flag,
            "",
            format!("`{value}` is not a positive number of seconds"),
        ))),
    }
}

#[cfg(not(feature = "aws"))]
fn snapshot_command(_args: SnapshotArgs) -> Result<u8, Error> {
    Err(Error::Aws(cris_guard::error::AwsError::NotBuilt))
}
