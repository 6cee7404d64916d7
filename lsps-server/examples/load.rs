//! Load figures, this server against lightning-liquidity's LSPS service (testkit's in-process
//! LDK LSP), in one run on loopback BOLT8 with the same client code:
//!
//! 1. memory per idle connected peer: process RSS before and after `PEERS` peers connect and
//!    stay idle (the client side of those connections lives in this process too and is the
//!    same for both servers, so compare the two figures, not each alone);
//! 2. a well-behaved peer's write latency (p50/p99 of `SAMPLES` sequential requests) idle and
//!    while `PEERS` other peers flood `lsps2.get_info` (one request in flight each) — the write
//!    is `lsps1.create_order` on ours (LDK 0.2.7 builds no LSPS1 service) and `lsps2.buy` on
//!    both.
//!
//! Bounded: `PEERS` peers, `SAMPLES` samples per figure, every reply awaited at most 10 s.
//! `cargo run -p lsps-server --example load [ours|ldk]` (dev profile: our crates unoptimised, dependencies
//! at opt-level 2, so the ratios lean against ours; `--release` for fair absolute numbers).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

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
const SAMPLES: usize = 200;
/// lightning-liquidity keeps a buy pending until its SCID is used and refuses a peer's 11th
/// (`MAX_PENDING_REQUESTS_PER_PEER` = 10), so the buy figures change to a fresh peer (connected
/// and given its menu outside the timed part) every 8 buys.
const BUY_SAMPLES: usize = 96;
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

/// Sequential writes (`SAMPLES` orders or `BUY_SAMPLES` buys); the sorted latencies in
/// microseconds. Orders come from `conn`; buys from fresh peers, `BUYS_PER_PEER` each.
async fn write_latencies(target: &str, conn: &Bolt8Connection, write: Write) -> Vec<u64> {
    let mut out = Vec::new();
    match write {
        Write::CreateOrder => {
            for _ in 0..SAMPLES {
                let start = Instant::now();
                let reply = call(conn, "lsps1.create_order", order_params()).await;
                out.push(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
                assert!(reply.get("result").is_some(), "write refused: {reply}");
            }
        }
        Write::Buy => {
            for _ in 0..BUY_SAMPLES / BUYS_PER_PEER {
                let buyer = connect(target).await;
                let menu = call(&buyer, "lsps2.get_info", json!({})).await;
                let entry = menu["result"]["opening_fee_params_menu"][0].clone();
                for _ in 0..BUYS_PER_PEER {
                    let params =
                        json!({"opening_fee_params": entry, "payment_size_msat": "50000000"});
                    let start = Instant::now();
                    let reply = call(&buyer, "lsps2.buy", params).await;
                    out.push(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
                    assert!(reply.get("result").is_some(), "write refused: {reply}");
                }
            }
        }
    }
    out.sort_unstable();
    out
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Figures {
    rss_per_peer_kib: f64,
    idle: Vec<(&'static str, Vec<u64>)>,
    flood: Vec<(&'static str, Vec<u64>)>,
    flood_requests: u64,
    flood_secs: f64,
}

async fn measure(target: &str, writes: &[(&'static str, Write)]) -> Figures {
    let before = rss_kib();
    let mut idle_peers = Vec::with_capacity(PEERS);
    for _ in 0..PEERS {
        idle_peers.push(connect(target).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_per_peer_kib = (rss_kib().saturating_sub(before)) as f64 / PEERS as f64;
    let mut idle = Vec::new();
    for (name, write) in writes {
        let writer = connect(target).await;
        idle.push((*name, write_latencies(target, &writer, *write).await));
    }
    let flood_writers = {
        let mut w = Vec::new();
        for _ in writes {
            w.push(connect(target).await);
        }
        w
    };
    // The flood: every idle peer asks lsps2.get_info in a loop, one request in flight.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for peer in idle_peers {
        let (stop, count) = (stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                call(&peer, "lsps2.get_info", json!({})).await;
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut flood = Vec::new();
    for ((name, write), writer) in writes.iter().zip(&flood_writers) {
        flood.push((*name, write_latencies(target, writer, *write).await));
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    Figures {
        rss_per_peer_kib,
        idle,
        flood,
        flood_requests: count.load(Ordering::Relaxed),
        flood_secs: started.elapsed().as_secs_f64(),
    }
}

fn print(name: &str, f: &Figures) {
    println!("{name}: RSS per idle peer {:.1} KiB", f.rss_per_peer_kib);
    for ((write, idle), (_, flood)) in f.idle.iter().zip(&f.flood) {
        println!(
            "{name}: {write} idle p50 {} µs p99 {} µs; under a {PEERS}-peer get_info flood p50 {} µs p99 {} µs ({:.1}× idle p99)",
            pct(idle, 0.5),
            pct(idle, 0.99),
            pct(flood, 0.5),
            pct(flood, 0.99),
            pct(flood, 0.99) as f64 / pct(idle, 0.99).max(1) as f64
        );
    }
    println!(
        "{name}: flood served {} get_info in {:.1} s ({:.0}/s)",
        f.flood_requests,
        f.flood_secs,
        f.flood_requests as f64 / f.flood_secs
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::ephemeral(dir.path());
    config.http_listen = None;
    // Writes of one peer must not hit the per-peer quotas or the rate limit within the run;
    // the flood peers keep the default per-peer rate limit.
    config.limits = Limits {
        max_orders_per_peer: SAMPLES * 4,
        max_buys_per_peer: SAMPLES * 4,
        ..Limits::default()
    };
    // `ours` or `ldk` measures one server alone (RSS figures are only clean in a fresh
    // process: memory freed by the first server's peers is reused by the second's); no
    // argument measures both in this process, ours first.
    let which = std::env::args().nth(1).unwrap_or_default();
    if which != "ldk" {
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
    }
    if which != "ours" {
        let ldk = LdkLsp::start(Default::default()).await.unwrap();
        let figures = measure(&ldk.connection_string(), &[("lsps2.buy", Write::Buy)]).await;
        print("lightning-liquidity", &figures);
        ldk.shutdown();
    }
}
