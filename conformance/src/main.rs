//! The `lsps-conformance` command.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use lsps_client::transport::bolt8::Bolt8Target;
use lsps_conformance::baseline::Baseline;
use lsps_conformance::flow::{FlowEnv, FlowSetup};
use lsps_conformance::render::{Format, terminal};
use lsps_conformance::runner::{self, LevelFilter, Progress, RunConfig};
use lsps_conformance::transport::Guard;
use lsps_conformance::{catalog, target::Target};
use lsps_node::chain::rpc_client::RpcClient;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Exit codes and target syntax, shown by `--help` (the same target syntax as `lsps`).
const AFTER_HELP: &str = "\
Targets (--target or LSPS_TARGET):
  <node_id>@<host>:<port>   BOLT8 (the LSPS0 transport)
  http(s)://host:port/      this project's HTTP binding (spec/bindings/http.md)
  ws(s)://host:port/ws      this project's WebSocket binding

Exit codes:
  0  conformant: no FAIL, TIMEOUT or XPASS (WARN only fails with --strict)
  1  a FAIL, TIMEOUT or XPASS (or a WARN with --strict)
  2  usage error, unreachable target, bad baseline, or harness errors only
  3  nothing ran (e.g. a --run glob that matches no case)
  4  incomplete: no failure, but the LSP refused the runner (code 1 client_rejected) so some
     cases could not run; allow-list the runner's node id (--node-key-file) or pass --token";

/// LSPS0/1/2 conformance runner: point it at an LSP and get a report.
#[derive(Parser)]
#[command(name = "lsps-conformance", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What kind of LSP the run judges.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Profile {
    /// What a wallet SDK needs from a third-party LSP: LSPS0 and LSPS2 (MUSTs fail; the menu's
    /// sanity and replies within --slow-ms are WARN).
    OpenLsp,
    /// An LSP selling channels: LSPS0 and LSPS1.
    Lsps1Seller,
    /// Every case.
    Full,
}

impl Profile {
    /// The `--run` globs the profile adds (none: every case).
    fn globs(self) -> &'static [&'static str] {
        match self {
            Profile::OpenLsp => &["lsps0.*", "lsps2.*"],
            Profile::Lsps1Seller => &["lsps0.*", "lsps1.*"],
            Profile::Full => &[],
        }
    }
}

/// Which tier runs.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TierArg {
    /// Everything checkable by exchanging messages (no chain needed).
    Message,
    /// What the LSP does with money: the runner's payer and wallet nodes pay through it
    /// (needs a regtest chain: --bitcoind-rpc, or --spawn-reference).
    Flow,
    /// Both.
    All,
}

impl TierArg {
    fn admits(self, case: &lsps_conformance::case::Case) -> bool {
        match self {
            TierArg::All => true,
            TierArg::Message => case.phase.tier() == "message",
            TierArg::Flow => case.phase.tier() == "flow",
        }
    }

    fn has_flow(self) -> bool {
        self != TierArg::Message
    }
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
    Run(Box<RunArgs>),
    /// List every case: id, level, requirements.
    List {
        /// A versioned JSON document: every case with id, tier, level, requirements and the
        /// spec basis (requirement, keyword, sentence, url) behind its verdict.
        #[arg(long)]
        json: bool,
    },
    /// Explain one case (what it sends, what passes, the bLIP sentences behind its verdict), or
    /// a requirement id (its statement and the cases that check it).
    Explain {
        /// A case id, or a requirement id such as LSPS2-R26.
        case_id: String,
    },
}

#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
struct RunArgs {
    /// `pubkey@host:port` (BOLT8), `http(s)://…` or `ws(s)://…` (this project's bindings).
    #[arg(
        long,
        short = 't',
        env = "LSPS_TARGET",
        required_unless_present = "spawn_reference"
    )]
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
    /// Which cases apply: `open-lsp` (LSPS0 + LSPS2, what a wallet SDK needs), `lsps1-seller`
    /// (LSPS0 + LSPS1) or `full`. Speed expectations are WARN in every profile.
    #[arg(long, value_enum, default_value = "full")]
    profile: Profile,
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
    /// Per-request timeout in milliseconds: no reply within it is TIMEOUT. bLIP-50 asks clients
    /// for timeouts "on the scale of minutes".
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// A reply slower than this many milliseconds is an interop WARN (wallets that give up
    /// earlier are named in the report).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    slow_ms: u64,
    /// Cases running at the same time (at least 1).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    concurrency: u64,
    /// The runner's node key (32 raw bytes or 64 hex characters, the format `lsps` uses), so an
    /// LSP can allow-list it; every connection then uses it, one at a time. Default: a fresh
    /// random key per connection.
    #[arg(long, env = "LSPS_NODE_KEY_FILE")]
    node_key_file: Option<PathBuf>,
    /// A token for LSPs that serve only clients with one: sent with `lsps1.create_order` and
    /// `lsps2.get_info` where a case needs the LSP to serve it.
    #[arg(long)]
    token: Option<String>,
    /// Which tier: `message` (default), `flow` (pay through the LSP; needs a regtest chain)
    /// or `all`.
    #[arg(long, value_enum, default_value = "message")]
    tier: TierArg,
    /// The flow tier's chain: Bitcoin Core's RPC (`http://IP:PORT`, regtest), which the LSP
    /// follows too. The runner mines with `generatetoaddress` to fund its payer.
    #[arg(long, value_name = "URL")]
    bitcoind_rpc: Option<String>,
    /// Bitcoin Core's cookie file for --bitcoind-rpc (`<datadir>/regtest/.cookie`).
    #[arg(long, value_name = "FILE", requires = "bitcoind_rpc")]
    bitcoind_cookie: Option<PathBuf>,
    /// `user:password` for --bitcoind-rpc (instead of a cookie).
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        requires = "bitcoind_rpc",
        conflicts_with = "bitcoind_cookie"
    )]
    bitcoind_auth: Option<String>,
    /// Keep the flow tier's payer node here (its channel to the LSP is reused by later runs).
    /// Default: a temporary dir (a new payer and channel every run).
    #[arg(long, value_name = "DIR")]
    payer_data_dir: Option<PathBuf>,
    /// Flow tier: wait for timeouts the LSP does not let the runner shorten (the hold timeout,
    /// `valid_until`), however long they are.
    #[arg(long)]
    long: bool,
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
        Command::List { json: true } => {
            match serde_json::to_string_pretty(&lsps_conformance::catalog::listing()) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::List { json: false } => {
            for case in catalog::all() {
                println!(
                    "{:<62} {:<7} {:<6} {}",
                    case.id,
                    case.phase.tier(),
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
            runtime.block_on(run(*args))
        }
    }
}

fn explain(case_id: &str) -> ExitCode {
    let Some(case) = catalog::find(case_id) else {
        return explain_requirement(case_id);
    };
    println!("{}\n  {}\n", case.id, case.summary);
    println!("tier:         {}", case.phase.tier());
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
    println!(
        "spec basis (bLIP text at lightning/blips {}):",
        lsps_conformance::basis::BLIPS_COMMIT
    );
    for b in lsps_conformance::basis::of(case.id) {
        let who = if b.requirement.is_empty() {
            "JSON-RPC 2.0"
        } else {
            b.requirement
        };
        println!("  [{}] {who}: \"{}\"", b.keyword.as_str(), b.sentence);
        if !b.note.is_empty() {
            println!("      note: {}", b.note);
        }
        println!("      {}", b.url());
    }
    ExitCode::SUCCESS
}

/// `explain LSPS2-R26`: the requirement's statement and the cases that check it.
fn explain_requirement(id: &str) -> ExitCode {
    let statements = requirement_statements();
    let Some((_, text)) = statements.iter().find(|(r, _)| r.eq_ignore_ascii_case(id)) else {
        eprintln!("error: no case or requirement {id:?} (see `lsps-conformance list`)");
        return ExitCode::from(2);
    };
    let id = id.to_ascii_uppercase();
    println!("{id}: {text}");
    let cases: Vec<&str> = catalog::all()
        .iter()
        .filter(|c| c.requirements.contains(&id.as_str()))
        .map(|c| c.id)
        .collect();
    if cases.is_empty() {
        println!("no case checks it (see spec/requirements for why)");
    } else {
        println!("checked by:");
        for c in cases {
            println!("  {c}");
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
    let mut args = args;
    if args.run.is_empty() {
        args.run = args
            .profile
            .globs()
            .iter()
            .map(|g| (*g).to_owned())
            .collect();
    }
    if let Some(hint) = unmatched_run_globs(&args.run) {
        eprintln!("error: {hint}");
        return ExitCode::from(3);
    }
    // Output files are checked before the run, not after minutes of it.
    for path in args.format_outputs.iter().flatten() {
        if path != "-"
            && let Err(e) = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
        {
            eprintln!("error: cannot write {path}: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.write_baseline
        && let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    let key = match &args.node_key_file {
        None => None,
        Some(path) => match lsps_client::transport::bolt8::NodeKey::from_file(path) {
            Ok(key) => {
                eprintln!("runner node id: {}", key.node_id());
                if args.tier.has_flow() {
                    let seed = FlowEnv::wallet_seed_for(&key.secret_bytes());
                    eprintln!(
                        "runner wallet node id (flow tier): {}",
                        FlowEnv::wallet_node_id_for(&seed)
                    );
                }
                Some(key)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
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
    let wallet_seed = key
        .as_ref()
        .map(|k| FlowEnv::wallet_seed_for(&k.secret_bytes()));
    let mut config = RunConfig {
        level: match args.level {
            LevelArg::Must => LevelFilter::Must,
            LevelArg::Should => LevelFilter::Should,
            LevelArg::All => LevelFilter::All,
        },
        strict: args.strict,
        run: args.run.clone(),
        skip: args.skip.clone(),
        timeout: Duration::from_millis(args.timeout_ms),
        slow: Duration::from_millis(args.slow_ms),
        concurrency: usize::try_from(args.concurrency).unwrap_or(usize::MAX),
        token: args.token.clone(),
        baseline,
        flow: None,
    };

    // Keep whatever the target needs alive (a spawned reference server) until the end.
    let (target, stop, flow_lsp): (Arc<dyn Target>, Option<Guard>, Option<FlowLsp>) =
        if args.spawn_reference {
            match lsps_conformance::transport::spawn_reference_for(args.tier.has_flow()).await {
                Ok(spawned) => {
                    let chain = spawned
                        .chain_rpc
                        .as_ref()
                        .and_then(|(url, cookie)| RpcClient::with_cookie(url, cookie).ok());
                    (
                        spawned.target,
                        Some(spawned.stop),
                        Some((spawned.bolt8, chain)),
                    )
                }
                Err(e) => {
                    eprintln!("error: cannot start the reference server: {e}");
                    return ExitCode::from(2);
                }
            }
        } else {
            let spec = args.target.clone().unwrap_or_default();
            let bolt8 = match spec.trim().parse::<lsps_client::Target>() {
                Ok(lsps_client::Target::Bolt8(t)) => Some((t, None)),
                _ => None,
            };
            match lsps_conformance::transport::open(&spec, key) {
                Ok(t) => (t, None, bolt8),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        };

    let mut flow_env = None;
    if args.tier.has_flow() {
        let rpc = match flow_rpc(&args) {
            Ok(rpc) => rpc,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let (lsp, spawned_chain) = match flow_lsp {
            Some(pair) => pair,
            None => {
                eprintln!(
                    "error: the flow tier needs a BOLT8 target (node_id@host:port): channels and payments go to that node"
                );
                return ExitCode::from(2);
            }
        };
        let Some(rpc) = rpc.or(spawned_chain) else {
            eprintln!(
                "error: the flow tier needs a regtest chain: --bitcoind-rpc URL with --bitcoind-cookie FILE (or --spawn-reference)"
            );
            return ExitCode::from(2);
        };
        if !args.quiet {
            eprintln!("flow: starting the payer and the wallet (mining to fund the payer)");
        }
        match FlowEnv::start(FlowSetup {
            lsp,
            rpc,
            payer_data_dir: args.payer_data_dir.clone(),
            wallet_seed,
            long: args.long,
            token: args.token.clone(),
            wait: Duration::from_millis(args.timeout_ms),
        })
        .await
        {
            Ok(env) => {
                eprintln!(
                    "flow: payer {} and wallet {} ready",
                    env.payer.node_id(),
                    env.wallet.node_id()
                );
                flow_env = Some(env);
            }
            Err(e) => {
                eprintln!("error: the flow tier's nodes: {e}");
                if let Some(stop) = stop {
                    stop.await;
                }
                return ExitCode::from(2);
            }
        }
    }
    config.flow = flow_env.clone();

    let code = run_against(&args, target, &config).await;
    drop(config);
    if let Some(env) = flow_env {
        env.stop().await;
    }
    if let Some(stop) = stop {
        stop.await;
    }
    code
}

/// The LSP the flow tier's nodes pay through, and the chain a spawned reference brings.
type FlowLsp = (Bolt8Target, Option<RpcClient>);

/// The flow tier's chain RPC from the flags (`None`: no `--bitcoind-rpc`).
fn flow_rpc(args: &RunArgs) -> Result<Option<RpcClient>, String> {
    let Some(url) = &args.bitcoind_rpc else {
        return Ok(None);
    };
    let client = match (&args.bitcoind_cookie, &args.bitcoind_auth) {
        (Some(cookie), _) => RpcClient::with_cookie(url, cookie)
            .map_err(|e| format!("--bitcoind-cookie {}: {e}", cookie.display()))?,
        (None, Some(auth)) => {
            RpcClient::new(url, auth).map_err(|e| format!("--bitcoind-rpc: {e}"))?
        }
        (None, None) => {
            return Err(
                "--bitcoind-rpc needs --bitcoind-cookie FILE or --bitcoind-auth USER:PASSWORD"
                    .into(),
            );
        }
    };
    Ok(Some(client))
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
    let cases: Vec<lsps_conformance::case::Case> = catalog::all()
        .iter()
        .filter(|c| args.tier.admits(c))
        .copied()
        .collect();
    let mut report = match runner::run_cases(target, &cases, config, &progress).await {
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

/// `--run` globs none of which matches a case: the message to print, with a hint.
fn unmatched_run_globs(patterns: &[String]) -> Option<String> {
    if patterns.is_empty() {
        return None;
    }
    let ids = catalog::all_case_ids();
    let mut unmatched = Vec::new();
    for p in patterns {
        let Ok(glob) = globset::Glob::new(p) else {
            return Some(format!("--run {p:?} is not a valid glob"));
        };
        let matcher = glob.compile_matcher();
        if !ids.iter().any(|id| matcher.is_match(id)) {
            unmatched.push(p.as_str());
        }
    }
    if unmatched.len() < patterns.len() {
        return None;
    }
    let hints: Vec<String> = unmatched
        .iter()
        .map(|p| {
            if p.contains('*') {
                format!("{p:?}")
            } else {
                format!("{p:?} (try '{p}.*')")
            }
        })
        .collect();
    Some(format!(
        "no case matches --run {}; see `lsps-conformance list`",
        hints.join(", ")
    ))
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

/// 0 conformant, 1 failures or XPASS, 2 harness errors only, 3 nothing ran, 4 incomplete (the
/// LSP refused the runner).
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
    if report.refused() > 0 {
        return 4;
    }
    0
}
