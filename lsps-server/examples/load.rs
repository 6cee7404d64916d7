//! Load figures, this server against lightning-liquidity's LSPS service (testkit's in-process
//! LDK LSP), in one run on loopback BOLT8 with the same client code:
//!
//! 1. memory per idle connected peer: the server process's RSS before and after `PEERS` peers
//!    connect and stay idle (the peers live in a child process, so the figure is the server
//!    side alone);
//! 2. a well-behaved peer's write latency (p50/p99 of sequential requests) idle and while
//!    `PEERS` other peers flood `lsps2.get_info` (one request in flight each) — the write is
//!    `lsps1.create_order` on ours (LDK 0.2.7 builds no LSPS1 service) and `lsps2.buy` on both.
//!
//! Who runs where, so that the figure is the server's and not the load generator's:
//! - the server under test: this process, on a 2-worker runtime (what `lsps-server` uses on
//!   this 2-core machine: one worker per CPU unless `--worker-threads` says otherwise);
//! - the flood's `PEERS` clients: a child process (this binary re-run as `load flood <target>`),
//!   so their BOLT8 work does not queue in the server's runtime;
//! - the well-behaved peer: its own single-thread runtime on its own thread in this process, as
//!   if it were another machine. All three still share the machine's two cores.
//!
//! Two corrections take the rest of the load generator out of the server's figures, as if
//! the clients were on other machines; neither needs privilege:
//! - the flood's process runs under Linux's `SCHED_IDLE` (see [`FloodPriority`]);
//!   `LOAD_FLOOD_SCHED=normal` (or `LOAD_FLOOD_NICE=n`, under `nice -n n`) runs it at normal
//!   priority instead, as in the figures before session 8;
//! - each write is reported twice: as the peer saw it, and less the time the peer's own thread
//!   spent waiting for a core within it (its run-queue wait from `/proc/thread-self/schedstat`;
//!   see [`Sample`]), which a peer on its own machine would not wait.
//!
//! Idle and flooded phases alternate `ROUNDS` times (so other work on the machine weighs on
//! both alike); the percentiles are over all rounds. `LOAD_SAMPLES=n` sets the `create_order`
//! samples per phase. `LOAD_PEER_SCHED=fifo` runs the
//! well-behaved peer's thread under `SCHED_FIFO` (root only; see [`peer_thread_priority`]);
//! `LOAD_SERVER_WORKERS=k` gives the server under test `k` runtime
//! workers instead of the default. `LOAD_DATA_PARENT=dir` puts our server's data directory (its
//! SQLite store) under `dir` instead of the system's temporary directory: on a tmpfs such as
//! `/dev/shm` a commit's `fsync` costs nothing, which takes the disk (and whatever else writes
//! to it) out of both figures and leaves what the flood can change, the CPU path.
//!
//! Bounded: `PEERS` peers, a fixed number of samples per figure, every reply awaited at most
//! 10 s. `cargo run -p lsps-server --all-features --example load` runs `ours` then `ldk`, each
//! in a fresh process (RSS is only clean in a fresh process), and prints the ratios;
//! `load ours` or `load ldk` runs one. Dev profile: our crates unoptimised, dependencies at
//! opt-level 2, so the ratios lean against ours; `--release` for fair absolute numbers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lsps_client::transport::bolt8::{Bolt8Connection, Bolt8Connector, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_server::ReferenceServer;
use lsps_server::config::{Limits, ServerConfig};
use serde_json::{Value, json};
use testkit::ldk_lsp::LdkLsp;

const PEERS: usize = 100;
/// Idle and flooded phases alternate this many times, so that whatever else the machine does
/// during the run weighs on both figures alike.
const ROUNDS: usize = 8;
/// `lsps1.create_order` samples per phase (`ROUNDS` × this idle, as many flooded), unless
/// `LOAD_SAMPLES` says otherwise: 3 200 per figure, so that its p99 rests on 32 samples, not
/// on the 8 of session 7's 100 per phase.
const SAMPLES: usize = 400;

fn samples() -> usize {
    std::env::var("LOAD_SAMPLES").map_or(SAMPLES, |n| n.parse().expect("LOAD_SAMPLES=<count>"))
}
/// lightning-liquidity keeps a buy pending until its SCID is used and refuses a peer's 11th
/// (`MAX_PENDING_REQUESTS_PER_PEER` = 10), so the buy figures change to a fresh peer (connected
/// and given its menu outside the timed part) every 8 buys. It also refuses beyond 1 000 pending
/// requests in all, which bounds the buys per run (`BUY_SAMPLES` × `ROUNDS` × 2 = 512).
const BUY_SAMPLES: usize = 32;
const BUYS_PER_PEER: usize = 8;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

async fn connect(target: &str) -> Bolt8Connection {
    Bolt8Connector::new(target.parse().unwrap(), NodeKey::random())
        .connect()
        .await
        .unwrap()
}

/// One timed write of the well-behaved peer.
#[derive(Clone, Copy)]
struct Sample {
    /// From just before the request is sent to the reply in hand, in microseconds.
    wall_us: u64,
    /// How long, within that, the peer's own thread was ready to run but waiting for a core
    /// (its run-queue wait, from `/proc/thread-self/schedstat`), in microseconds.
    own_wait_us: u64,
}

impl Sample {
    /// The write's latency less the peer's own wait for a core. The peer runs beside the
    /// server on two shared cores; on a real network its thread has its own machine and that
    /// wait is not there, while everything the server does (its threads' waits included) is.
    fn server_side_us(self) -> u64 {
        self.wall_us.saturating_sub(self.own_wait_us)
    }
}

/// The calling thread's total run-queue wait so far, in nanoseconds (the second field of
/// `/proc/thread-self/schedstat`, which Linux keeps whenever it keeps scheduler statistics).
/// Where the file is missing this is 0 throughout: nothing is subtracted, and the server's view
/// is the peer's, which only errs against the server.
fn own_run_queue_wait_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Time one write: `write` is the request and its awaited reply.
async fn timed<F: std::future::Future<Output = Value>>(write: F) -> (Sample, Value) {
    let waited_before = own_run_queue_wait_ns();
    let start = Instant::now();
    let reply = write.await;
    let wall = start.elapsed();
    let waited = own_run_queue_wait_ns().saturating_sub(waited_before);
    let sample = Sample {
        wall_us: u64::try_from(wall.as_micros()).unwrap_or(u64::MAX),
        own_wait_us: waited / 1_000,
    };
    (sample, reply)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One request, its reply (the connection has one request in flight).
async fn call(conn: &Bolt8Connection, method: &str, params: Value) -> Value {
    let id = format!("{:032x}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    conn.send(request.to_string().into_bytes()).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.recv())
            .await
            .expect("a reply within 10 s")
        {
            Some(TransportEvent::Message(bytes)) => {
                let reply: Value = serde_json::from_slice(&bytes).unwrap();
                if reply["id"] == id {
                    return reply;
                }
            }
            Some(_) => {}
            None => panic!("connection closed"),
        }
    }
}

fn order_params() -> Value {
    json!({
        "lsp_balance_sat": "1000000",
        "client_balance_sat": "0",
        "required_channel_confirmations": 1,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144,
        "announce_channel": false
    })
}

#[derive(Clone, Copy)]
enum Write {
    CreateOrder,
    Buy,
}

/// The well-behaved peer: sequential writes (`SAMPLES` orders from one peer, or `BUY_SAMPLES`
/// buys from fresh peers, `BUYS_PER_PEER` each) on its own single-thread runtime and thread;
/// the latencies in microseconds.
fn write_latencies(target: &str, write: Write) -> Vec<Sample> {
    let target = target.to_owned();
    std::thread::spawn(move || {
        peer_thread_priority();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut out = Vec::new();
            match write {
                Write::CreateOrder => {
                    let conn = connect(&target).await;
                    for _ in 0..samples() {
                        let (sample, reply) =
                            timed(call(&conn, "lsps1.create_order", order_params())).await;
                        out.push(sample);
                        assert!(reply.get("result").is_some(), "write refused: {reply}");
                    }
                }
                Write::Buy => {
                    for _ in 0..BUY_SAMPLES / BUYS_PER_PEER {
                        let buyer = connect(&target).await;
                        let menu = call(&buyer, "lsps2.get_info", json!({})).await;
                        let entry = menu["result"]["opening_fee_params_menu"][0].clone();
                        for _ in 0..BUYS_PER_PEER {
                            let params = json!({
                                "opening_fee_params": entry,
                                "payment_size_msat": "50000000"
                            });
                            let (sample, reply) = timed(call(&buyer, "lsps2.buy", params)).await;
                            out.push(sample);
                            assert!(reply.get("result").is_some(), "write refused: {reply}");
                        }
                    }
                }
            }
            out
        })
    })
    .join()
    .unwrap()
}

/// `LOAD_PEER_SCHED=fifo` puts the calling thread (the well-behaved peer's) under
/// `SCHED_FIFO` (`chrt --fifo`, which needs root or `CAP_SYS_NICE`). On a real network that
/// peer's thread runs on its own machine; here, when it wakes for a reply it can wait for one
/// of our two cores behind the server's own threads, up to a scheduler tick, and the tool
/// would count that wait as the server's latency (a timing probe measured it: p99 1.6–2.5 ms
/// of reply-to-wake-up under the flood). A real-time thread preempts them at once.
fn peer_thread_priority() {
    if std::env::var("LOAD_PEER_SCHED").is_err() {
        return;
    }
    assert_eq!(
        std::env::var("LOAD_PEER_SCHED").as_deref(),
        Ok("fifo"),
        "LOAD_PEER_SCHED: only `fifo` is known"
    );
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    let tid = link.file_name().unwrap().to_owned();
    let status = Command::new("chrt")
        .args(["--fifo", "--pid", "1"])
        .arg(tid)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "LOAD_PEER_SCHED=fifo: chrt failed (it needs root or CAP_SYS_NICE)"
    );
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The flood's clients, in a child process (this binary, `load flood <target>`). It connects
/// `PEERS` peers and says `ready`; on `go` every peer asks `lsps2.get_info` in a loop, one
/// request in flight, until `pause`; on `stop` (or end of input) it prints how many were
/// answered in how many seconds of flooding and exits.
struct FloodProcess {
    child: Child,
    to_child: ChildStdin,
    from_child: BufReader<ChildStdout>,
}

/// At what CPU priority the flood's clients run. On a real network they run on other machines
/// and cost the server's nothing; here they share its two cores.
enum FloodPriority {
    /// The default: Linux's `SCHED_IDLE` (`chrt --idle 0`, no privilege needed). The flood's
    /// threads run only on a core nothing else wants, and a woken thread of the server or of
    /// the well-behaved peer preempts them at once, so the flood costs the server only the
    /// work of answering it, as remote clients would. (A nice-19 thread keeps its core until
    /// its time slice ends, up to a scheduler tick: lowering the niceness alone does not
    /// emulate that; BENCHMARKS.md, session 7.)
    Idle,
    /// `LOAD_FLOOD_SCHED=normal`, or `LOAD_FLOOD_NICE=n` (`nice -n n`): the flood competes
    /// with the server for the cores, as in the figures before session 8.
    Normal { nice: Option<String> },
}

impl FloodPriority {
    fn from_env() -> Self {
        let nice = std::env::var("LOAD_FLOOD_NICE").ok();
        match std::env::var("LOAD_FLOOD_SCHED").as_deref() {
            Ok("idle") => Self::Idle,
            Ok("normal") => Self::Normal { nice },
            Ok(other) => panic!("LOAD_FLOOD_SCHED={other}: `idle` or `normal`"),
            Err(_) if nice.is_some() => Self::Normal { nice },
            Err(_) => Self::Idle,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Idle => "SCHED_IDLE".to_owned(),
            Self::Normal { nice: None } => "normal priority".to_owned(),
            Self::Normal { nice: Some(n) } => format!("normal priority, nice {n}"),
        }
    }
}

impl FloodProcess {
    fn spawn(target: &str) -> Self {
        let exe = std::env::current_exe().unwrap();
        let mut command = match FloodPriority::from_env() {
            FloodPriority::Idle => {
                let mut c = Command::new("chrt");
                c.args(["--idle", "0"]).arg(exe);
                c
            }
            FloodPriority::Normal { nice: Some(n) } => {
                let mut c = Command::new("nice");
                c.args(["-n", &n]).arg(exe);
                c
            }
            FloodPriority::Normal { nice: None } => Command::new(exe),
        };
        let mut child = command
            .args(["flood", target])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let to_child = child.stdin.take().unwrap();
        let from_child = BufReader::new(child.stdout.take().unwrap());
        let mut flood = Self {
            child,
            to_child,
            from_child,
        };
        assert_eq!(flood.line(), "ready");
        flood
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.from_child.read_line(&mut line).unwrap();
        line.trim().to_owned()
    }

    fn tell(&mut self, word: &str) {
        writeln!(self.to_child, "{word}").unwrap();
        self.to_child.flush().unwrap();
    }

    /// Stop the flood: (requests answered, seconds flooded).
    fn stop(mut self) -> (u64, f64) {
        self.tell("stop");
        let line = self.line();
        let mut words = line.split_whitespace();
        let count = words.next().and_then(|w| w.parse().ok()).unwrap();
        let secs = words.next().and_then(|w| w.parse().ok()).unwrap();
        self.child.wait().unwrap();
        (count, secs)
    }
}

/// What `lsps-server` runs on this 2-core machine; the flood's child process gets the same.
fn two_worker_runtime() -> tokio::runtime::Runtime {
    runtime_with_workers(2)
}

fn runtime_with_workers(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// The child's side of [`FloodProcess`].
fn flood_child(target: &str) {
    let runtime = two_worker_runtime();
    runtime.block_on(async {
        let mut peers = Vec::with_capacity(PEERS);
        for _ in 0..PEERS {
            peers.push(connect(target).await);
        }
        let (flooding, _) = tokio::sync::watch::channel(false);
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for peer in peers {
            let (stop, count) = (stop.clone(), count.clone());
            let mut on = flooding.subscribe();
            tasks.push(tokio::spawn(async move {
                while on.wait_for(|on| *on).await.is_ok() && !stop.load(Ordering::Relaxed) {
                    call(&peer, "lsps2.get_info", json!({})).await;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        println!("ready");
        let mut flooded = Duration::ZERO;
        let mut since = None;
        let mut stdin = BufReader::new(std::io::stdin());
        loop {
            let (line, back) = tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                let _ = stdin.read_line(&mut line);
                (line, stdin)
            })
            .await
            .unwrap();
            stdin = back;
            match line.trim() {
                "go" => {
                    since = Some(Instant::now());
                    flooding.send_replace(true);
                }
                "pause" => {
                    flooding.send_replace(false);
                    flooded += since.take().map_or(Duration::ZERO, |t| t.elapsed());
                }
                _ => break,
            }
        }
        flooded += since.take().map_or(Duration::ZERO, |t| t.elapsed());
        stop.store(true, Ordering::Relaxed);
        // Paused peers wake to see the stop.
        flooding.send_replace(true);
        for task in tasks {
            let _ = task.await;
        }
        println!(
            "{} {}",
            count.load(Ordering::Relaxed),
            flooded.as_secs_f64()
        );
    });
}

struct Figures {
    rss_per_peer_kib: f64,
    idle: Vec<(&'static str, Vec<Sample>)>,
    flood: Vec<(&'static str, Vec<Sample>)>,
    flood_requests: u64,
    flood_secs: f64,
}

async fn measure(target: &str, writes: &[(&'static str, Write)]) -> Figures {
    let before = rss_kib();
    let target_owned = target.to_owned();
    let mut flood = tokio::task::spawn_blocking(move || FloodProcess::spawn(&target_owned))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_per_peer_kib = (rss_kib().saturating_sub(before)) as f64 / PEERS as f64;
    let mut idle: Vec<_> = writes.iter().map(|(name, _)| (*name, Vec::new())).collect();
    let mut flooded = idle.clone();
    let phase = |figures: &mut Vec<(&'static str, Vec<Sample>)>| {
        for ((_, latencies), (_, write)) in figures.iter_mut().zip(writes) {
            latencies.extend(write_latencies(target, *write));
        }
    };
    for _ in 0..ROUNDS {
        tokio::task::block_in_place(|| {
            phase(&mut idle);
            flood.tell("go");
            // Let the flood reach its pace before sampling.
            std::thread::sleep(Duration::from_millis(300));
            phase(&mut flooded);
            flood.tell("pause");
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (flood_requests, flood_secs) = tokio::task::block_in_place(|| flood.stop());
    Figures {
        rss_per_peer_kib,
        idle,
        flood: flooded,
        flood_requests,
        flood_secs,
    }
}

fn print(name: &str, f: &Figures) {
    println!("{name}: RSS per idle peer {:.1} KiB", f.rss_per_peer_kib);
    let flood_priority = FloodPriority::from_env().describe();
    println!("{name}: the flood's clients at {flood_priority}");
    let mut summary = json!({
        "server": name,
        "flood_priority": flood_priority,
        "rss_per_peer_kib": f.rss_per_peer_kib,
        "flood_per_sec": f.flood_requests as f64 / f.flood_secs,
    });
    for ((write, idle), (_, flood)) in f.idle.iter().zip(&f.flood) {
        // As the peer saw it, and less its own thread's waits for a core (`Sample`).
        for server_side in [false, true] {
            let (view, key_suffix) = if server_side {
                (" less the peer's own run-queue wait", SERVER_SIDE)
            } else {
                ("", "")
            };
            let latency = |s: &Sample| {
                if server_side {
                    s.server_side_us()
                } else {
                    s.wall_us
                }
            };
            let sorted = |samples: &[Sample]| {
                let mut v: Vec<u64> = samples.iter().map(latency).collect();
                v.sort_unstable();
                v
            };
            let (idle, flood) = (sorted(idle), sorted(flood));
            println!(
                "{name}: {write}{view} idle p50 {} µs p99 {} µs; under a {PEERS}-peer get_info flood p50 {} µs p99 {} µs ({:.2}× idle p99)",
                pct(&idle, 0.5),
                pct(&idle, 0.99),
                pct(&flood, 0.5),
                pct(&flood, 0.99),
                pct(&flood, 0.99) as f64 / pct(&idle, 0.99).max(1) as f64
            );
            summary[format!("{write}{key_suffix}")] = json!({
                "idle_p50_us": pct(&idle, 0.5),
                "idle_p99_us": pct(&idle, 0.99),
                "flood_p50_us": pct(&flood, 0.5),
                "flood_p99_us": pct(&flood, 0.99),
            });
        }
    }
    println!(
        "{name}: flood served {} get_info in {:.1} s ({:.0}/s)",
        f.flood_requests,
        f.flood_secs,
        f.flood_requests as f64 / f.flood_secs
    );
    println!("{SUMMARY}{summary}");
}

/// Prefix of the one line per server that the parent run reads back for the ratios.
const SUMMARY: &str = "summary ";
/// Suffix of a write's key in that line for its figures less the peer's run-queue wait.
const SERVER_SIDE: &str = " server side";

/// Ours against lightning-liquidity, from the two children's summary lines.
fn print_ratios(ours: &Value, ldk: &Value) {
    let ratio = |a: &Value, b: &Value| a.as_f64().unwrap_or(0.0) / b.as_f64().unwrap_or(1.0);
    println!("ours / lightning-liquidity, same run:");
    println!(
        "  RSS per idle peer: {:.2}",
        ratio(&ours["rss_per_peer_kib"], &ldk["rss_per_peer_kib"])
    );
    for figure in ["idle_p99_us", "flood_p99_us"] {
        println!(
            "  lsps2.buy {figure}: {:.2}",
            ratio(&ours["lsps2.buy"][figure], &ldk["lsps2.buy"][figure])
        );
    }
    println!(
        "  get_info served during the flood: {:.2}",
        ratio(&ours["flood_per_sec"], &ldk["flood_per_sec"])
    );
    for (who, figures) in [("ours", ours), ("lightning-liquidity", ldk)] {
        for write in ["lsps1.create_order", "lsps2.buy"] {
            for key in [write.to_owned(), format!("{write}{SERVER_SIDE}")] {
                if figures.get(&key).is_some() {
                    println!(
                        "  {who} {key} p99 under the flood / idle: {:.2}",
                        ratio(
                            &figures[&key]["flood_p99_us"],
                            &figures[&key]["idle_p99_us"]
                        )
                    );
                }
            }
        }
    }
}

/// Measure one server (`ours` or `ldk`) in this process.
fn measure_one(which: &str) {
    let runtime = match std::env::var("LOAD_SERVER_WORKERS") {
        Ok(n) => runtime_with_workers(n.parse().expect("LOAD_SERVER_WORKERS=<count>")),
        Err(_) => two_worker_runtime(),
    };
    runtime.block_on(async {
        if which == "ours" {
            // `LOAD_DATA_PARENT=/dev/shm` keeps the store off the disk (module doc).
            let dir = match std::env::var_os("LOAD_DATA_PARENT") {
                Some(parent) => tempfile::tempdir_in(parent).unwrap(),
                None => tempfile::tempdir().unwrap(),
            };
            let mut config = ServerConfig::ephemeral(dir.path());
            config.http_listen = None;
            // Writes of one peer must not hit the per-peer quotas within the run; the flood
            // peers keep the default per-peer limits.
            config.limits = Limits {
                max_orders_per_peer: samples() * ROUNDS * 4,
                max_buys_per_peer: samples() * ROUNDS * 4,
                ..Limits::default()
            };
            let ours = ReferenceServer::start(config).await.unwrap();
            let figures = measure(
                &ours.connection_string(),
                &[
                    ("lsps1.create_order", Write::CreateOrder),
                    ("lsps2.buy", Write::Buy),
                ],
            )
            .await;
            print("lsps-server", &figures);
            ours.shutdown().await;
        } else {
            let ldk = LdkLsp::start(Default::default()).await.unwrap();
            let figures = measure(&ldk.connection_string(), &[("lsps2.buy", Write::Buy)]).await;
            print("lightning-liquidity", &figures);
            ldk.shutdown();
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("flood") => flood_child(args.get(1).expect("load flood <target>")),
        Some(which @ ("ours" | "ldk")) => measure_one(which),
        Some(other) => panic!("unknown argument {other}: load [ours|ldk]"),
        None => {
            // Both servers in one run, each in a fresh process; their output is passed on.
            let mut summaries = Vec::new();
            for which in ["ours", "ldk"] {
                let output = Command::new(std::env::current_exe().unwrap())
                    .arg(which)
                    .stderr(Stdio::inherit())
                    .output()
                    .unwrap();
                assert!(output.status.success(), "load {which} failed");
                let text = String::from_utf8_lossy(&output.stdout);
                print!("{text}");
                let summary = text
                    .lines()
                    .find_map(|l| l.strip_prefix(SUMMARY))
                    .expect("a summary line");
                summaries.push(serde_json::from_str::<Value>(summary).unwrap());
            }
            print_ratios(&summaries[0], &summaries[1]);
        }
    }
}
