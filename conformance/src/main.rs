//! The `lsps-conformance` command.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use lsps_conformance::baseline::Baseline;
use lsps_conformance::render::{Format, terminal};
use lsps_conformance::runner::{self, LevelFilter, Progress, RunConfig};
use lsps_conformance::{catalog, target::Target};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// LSPS0/1/2 conformance runner: point it at an LSP and get a report.
#[derive(Parser)]
#[command(name = "lsps-conformance", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LevelArg {
    Must,
    Should,
    All,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite against a target.
    Run(RunArgs),
    /// List every case: id, level, requirements.
    List,
    /// Explain one case: what it sends, what passes, which requirements.
    Explain {
        /// The case id.
        case_id: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// `pubkey@host:port` (BOLT8) or `http(s)://…` (this project's HTTP binding).
    #[arg(long, required_unless_present = "spawn_reference")]
    target: Option<String>,
    /// Start the reference LSP in-process on loopback (temporary data dir) and test it.
    #[arg(long, conflicts_with = "target")]
    spawn_reference: bool,
    /// Output format; repeatable. Default: terminal.
    #[arg(long = "format", value_enum)]
    formats: Vec<Format>,
    /// Output file (`-` = stdout) for the `--format` given just before it; repeatable. A format
    /// without its own `--output` goes to stdout.
    #[arg(long = "output")]
    outputs: Vec<String>,
    /// Per format in `formats`: its `--output`, paired by position on the command line.
    #[arg(skip)]
    format_outputs: Vec<Option<String>>,
    /// Which levels to run.
    #[arg(long, value_enum, default_value = "all")]
    level: LevelArg,
    /// WARN (a SHOULD violated) fails the run.
    #[arg(long)]
    strict: bool,
    /// Baseline of known deviations (YAML: case id → verdict + reason).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Write a baseline of this run's failures to FILE (edit the reasons before committing).
    #[arg(long)]
    write_baseline: Option<PathBuf>,
    /// Run only cases matching this glob; repeatable.
    #[arg(long = "run")]
    run: Vec<String>,
    /// Skip cases matching this glob; repeatable.
    #[arg(long = "skip")]
    skip: Vec<String>,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Cases running at the same time.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Mask volatile values (times, node ids, request ids, promises) so runs diff cleanly.
    #[arg(long)]
    normalize: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let (Command::Run(args), Some(("run", run_matches))) =
        (&mut cli.command, matches.subcommand())
    {
        match pair_outputs_with_formats(run_matches) {
            Ok(pairs) => args.format_outputs = pairs,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        }
    }
    // Logs of the spawned reference server (and LDK) on stderr, only when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    match cli.command {
        Command::List => {
            for case in catalog::all() {
                println!(
                    "{:<58} {:<6} {}",
                    case.id,
                    case.level.as_str(),
                    case.requirements.join(",")
                );
            }
            println!("{} cases", catalog::all().len());
            ExitCode::SUCCESS
        }
        Command::Explain { case_id } => explain(&case_id),
        Command::Run(args) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            runtime.block_on(run(args))
        }
    }
}

fn explain(case_id: &str) -> ExitCode {
    let Some(case) = catalog::find(case_id) else {
        eprintln!("error: no case {case_id:?} (see `lsps-conformance list`)");
        return ExitCode::from(2);
    };
    println!("{}\n  {}\n", case.id, case.summary);
    println!("level:        {}", case.level);
    println!(
        "applies to:   {}",
        if case.applies_to == 0 {
            "every LSP".to_owned()
        } else {
            format!("LSPs advertising LSPS{}", case.applies_to)
        }
    );
    println!("sends:        {}", case.sends);
    println!("passes when:  {}", case.passes_when);
    println!("requirements:");
    let statements = requirement_statements();
    for r in case.requirements {
        match statements.iter().find(|(id, _)| id == r) {
            Some((_, text)) => println!("  {r}: {text}"),
            None => println!("  {r}"),
        }
    }
    ExitCode::SUCCESS
}

/// Requirement statements from `spec/requirements/*.yaml`, embedded at build time.
fn requirement_statements() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for text in [
        include_str!("../../spec/requirements/lsps0.yaml"),
        include_str!("../../spec/requirements/lsps1.yaml"),
        include_str!("../../spec/requirements/lsps2.yaml"),
    ] {
        let Ok(value) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) else {
            continue;
        };
        let entries = value
            .get("requirements")
            .and_then(|v| v.as_sequence())
            .cloned()
            .or_else(|| value.as_sequence().cloned())
            .unwrap_or_default();
        for entry in entries {
            let id = entry.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            let level = entry
                .get("level")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let statement = entry
                .get("statement")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            out.push((id.to_owned(), format!("[{level}] {}", statement.trim())));
        }
    }
    out
}

async fn run(args: RunArgs) -> ExitCode {
    let baseline = match &args.baseline {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match Baseline::parse(&text, &catalog::all_case_ids()) {
                Ok(b) => Some((path.display().to_string(), b)),
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            },
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let config = RunConfig {
        level: match args.level {
            LevelArg::Must => LevelFilter::Must,
            LevelArg::Should => LevelFilter::Should,
            LevelArg::All => LevelFilter::All,
        },
        strict: args.strict,
        run: args.run.clone(),
        skip: args.skip.clone(),
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
        concurrency: args.concurrency,
        baseline,
    };

    // Keep whatever the target needs alive (a spawned reference server) until the end.
    let (target, stop): (Arc<dyn Target>, Option<lsps_conformance::transport::Guard>) =
        if args.spawn_reference {
            match lsps_conformance::transport::spawn_reference().await {
                Ok((target, stop)) => (target, Some(stop)),
                Err(e) => {
                    eprintln!("error: cannot start the reference server: {e}");
                    return ExitCode::from(2);
                }
            }
        } else {
            let spec = args.target.clone().unwrap_or_default();
            match lsps_conformance::transport::open(&spec) {
                Ok(t) => (t, None),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        };

    let code = run_against(&args, target, &config).await;
    if let Some(stop) = stop {
        stop.await;
    }
    code
}

/// Runs the suite against `target` and writes the reports.
async fn run_against(args: &RunArgs, target: Arc<dyn Target>, config: &RunConfig) -> ExitCode {
    let done = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    let quiet = args.quiet;
    let progress = |event: Progress<'_>| {
        if quiet {
            return;
        }
        match event {
            Progress::Probed {
                protocols,
                total: n,
            } => {
                total.store(n, Ordering::Relaxed);
                let listed = match protocols {
                    Some(p) => format!("{p:?}"),
                    None => "unknown (lsps0.list_protocols failed)".to_owned(),
                };
                eprintln!("probe: advertised protocols {listed}; {n} cases");
            }
            Progress::CaseDone(case) => {
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "{}",
                    terminal::progress_line(d, total.load(Ordering::Relaxed), case)
                );
            }
        }
    };
    let mut report = match runner::run(target, config, &progress).await {
        Ok(r) => r,
        Err(runner::RunError::Unreachable(m)) => {
            eprintln!("error: target unreachable: {m}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &args.write_baseline {
        let label = report
            .target
            .node_id
            .clone()
            .or(report.target.url.clone())
            .unwrap_or_default();
        let text = Baseline::from_report(&label, &report.cases).to_yaml();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if args.normalize {
        report.normalize();
    }
    let formats = if args.formats.is_empty() {
        vec![Format::Terminal]
    } else {
        args.formats.clone()
    };
    for (i, format) in formats.iter().enumerate() {
        let text = format.render(&report);
        match args.format_outputs.get(i).and_then(Option::as_deref) {
            None | Some("-") => print!("{text}"),
            Some(path) => {
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!("error: cannot write {path}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    ExitCode::from(exit_code(&report))
}

/// Pairs every `--output` with the `--format` that precedes it on the command line, so
/// `--format terminal --format json --output r.json` prints the terminal report and writes the
/// JSON one (pairing by count would write the terminal text into `r.json`).
fn pair_outputs_with_formats(matches: &clap::ArgMatches) -> Result<Vec<Option<String>>, String> {
    let format_positions: Vec<usize> = matches
        .indices_of("formats")
        .map(|it| it.collect())
        .unwrap_or_default();
    let mut pairs: Vec<Option<String>> = vec![None; format_positions.len().max(1)];
    let outputs = matches
        .get_many::<String>("outputs")
        .map(|it| it.cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let output_positions: Vec<usize> = matches
        .indices_of("outputs")
        .map(|it| it.collect())
        .unwrap_or_default();
    for (output, position) in outputs.into_iter().zip(output_positions) {
        // With no --format at all, one --output belongs to the default terminal format.
        let slot = if format_positions.is_empty() {
            0
        } else {
            match format_positions.iter().rposition(|&f| f < position) {
                Some(slot) => slot,
                None => return Err(format!("--output {output} comes before any --format")),
            }
        };
        if pairs[slot].is_some() {
            return Err(format!(
                "two --output values for the same --format ({output})"
            ));
        }
        pairs[slot] = Some(output);
    }
    Ok(pairs)
}

/// 0 conformant, 1 failures or XPASS, 2 harness errors only, 3 nothing ran.
fn exit_code(report: &lsps_conformance::report::Report) -> u8 {
    if !report.anything_ran() {
        return 3;
    }
    if report.failed() > 0 {
        return 1;
    }
    if report
        .summary
        .get(lsps_conformance::verdict::Verdict::Error)
        > 0
    {
        return 2;
    }
    0
}
