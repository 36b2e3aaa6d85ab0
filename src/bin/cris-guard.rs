//! The `cris-guard` CLI: reads files, calls the pure core, prints, and exits with a code that
//! carries the decision (contract §1). All output is built before anything is printed, so an
//! error never leaves half a report on stdout.

use std::io::{IsTerminal, Write};
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
}

#[derive(clap::Args, Debug)]
struct SelectionArgs {
    /// The snapshot file (contract §2).
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
}

#[derive(clap::Args, Debug)]
struct EvaluateArgs {
    #[command(flatten)]
    selection: SelectionArgs,
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
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
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
    let metadata = std::fs::metadata(path).map_err(|source| file_error(path, source))?;
    if metadata.len() > snapshot::MAX_SNAPSHOT_BYTES as u64 {
        return Err(Error::Input(InputError::new(
            path.display().to_string(),
            "$",
            format!(
                "{} bytes is over the {} byte input limit",
                metadata.len(),
                snapshot::MAX_SNAPSHOT_BYTES
            ),
        )));
    }
    std::fs::read(path).map_err(|source| file_error(path, source))
}

fn file_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io(IoError::File {
        path: path.display().to_string(),
        source,
    })
}

fn load(selection: &SelectionArgs) -> Result<snapshot::ValidSnapshot, Error> {
    let name = selection.snapshot.display().to_string();
    let loaded = snapshot::load(&name, &read(&selection.snapshot)?)?;
    match &selection.what_if {
        None => Ok(loaded),
        Some(path) => {
            let what_if_name = path.display().to_string();
            let changes = what_if::parse(&what_if_name, &read(path)?)?;
            Ok(what_if::apply(&what_if_name, &loaded.snapshot, &changes)?)
        }
    }
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
    Ok(reachability::Options {
        actions: selection.actions.clone(),
        profiles: selection.profiles.clone(),
        source_regions: selection.source_regions.clone(),
        ous: selection.ous.clone(),
        only_problems: selection.only_problems,
        admin_principals: selection.admin_principals.clone(),
        all_accounts: selection.all_accounts,
    })
}

fn check_ous_exist(
    selection: &SelectionArgs,
    loaded: &snapshot::ValidSnapshot,
) -> Result<(), Error> {
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
    let loaded = load(&args.selection)?;
    check_ous_exist(&args.selection, &loaded)?;
    if args.format == Format::Json {
        // The JSON report is written while its findings are built: a large organization's
        // report (hundreds of MB) never sits in memory.
        let org = cris_guard::org::Org::new(&loaded);
        let decisions = reachability::decide(&org, &options);
        emit_json(&decisions.report())?;
        return Ok(decisions.summary().exit_code());
    }
    let report = reachability::evaluate(&loaded, &options);
    let output = render(&report, args.format);
    emit(&output)?;
    Ok(report.exit_code())
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

fn render(report: &Report, format: Format) -> String {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    match format {
        Format::Json => json(report),
        Format::Text => report::text::render(report, &report::text::RenderOptions { color }),
        Format::Markdown => report::markdown::render(report),
        Format::Html => report::html::render(report),
        Format::Sarif => report::sarif::render(report),
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
    let loaded = load(&args.selection)?;
    check_ous_exist(&args.selection, &loaded)?;
    let mut report = reachability::evaluate(&loaded, &options);
    let proposal_options = remediation::Options {
        approved_profiles: args.approved_profiles,
        evaluation: options,
    };
    let (proposals, unresolved) =
        remediation::propose_with_rejections(&loaded, &report, &proposal_options);
    report.proposals = proposals;
    report.unresolved = unresolved;
    let unfixed: usize = report
        .unresolved
        .iter()
        .filter(|u| !u.by_design)
        .map(|u| u.fixes.len())
        .sum();
    if unfixed > 0 {
        eprintln!(
            "cris-guard: {unfixed} problem(s) have no verified fix; see `unresolved` in the output"
        );
    }
    let output = match args.format {
        ProposeFormat::Json => json(&report),
        ProposeFormat::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::text::render(&report, &report::text::RenderOptions { color })
        }
    };
    emit(&output)?;
    Ok(report.exit_code())
}

fn run_check(args: CheckArgs) -> Result<u8, Error> {
    let name = args.snapshot.display().to_string();
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
    let regions = match live::profile_regions(args.profile_regions) {
        Ok(regions) => regions,
        Err(bad) => {
            eprintln!(
                "error: --profile-regions: `{bad}` is not an AWS Region name (e.g. us-east-1)"
            );
            return Ok(3);
        }
    };
    let json = live::read(regions)?;
    write_output(args.output.as_deref(), &json)?;
    Ok(0)
}

#[cfg(not(feature = "aws"))]
fn snapshot_command(_args: SnapshotArgs) -> Result<u8, Error> {
    Err(Error::Aws(cris_guard::error::AwsError::NotBuilt))
}
