//! Rough loopback figures for the BOLT8 transport against the testkit LDK LSP: fresh
//! connection + first request, and sequential `lsps0.list_protocols` round trips.
//! Not a benchmark harness; run with `cargo run --release -p lsps-client --example
//! loopback_figures` for meaningful numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use lsps_client::LspsClient;
use lsps_client::transport::bolt8::{Bolt8Connector, KeyPolicy, NodeKey};
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let connector =
        Bolt8Connector::new(lsp.connection_string().parse().unwrap(), NodeKey::random())
            .with_key_policy(KeyPolicy::EphemeralPerConnection);

    let fresh = 50;
    let mut per_conn = Vec::with_capacity(fresh);
    for _ in 0..fresh {
        let start = Instant::now();
        let conn = connector.connect().await.unwrap();
        let client = LspsClient::new(conn).with_timeout(Duration::from_secs(10));
        client.list_protocols().await.unwrap();
        per_conn.push(start.elapsed());
    }
    per_conn.sort();
    println!(
        "fresh connection + handshake + list_protocols: p50 {:?}, max {:?} ({fresh} runs)",
        per_conn[fresh / 2],
        per_conn[fresh - 1]
    );

    let client = LspsClient::new(connector.connect().await.unwrap());
    let n = 5_000;
    let mut rtts = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        client.list_protocols().await.unwrap();
        rtts.push(t.elapsed());
    }
    let total = start.elapsed();
    rtts.sort();
    println!(
        "sequential list_protocols: {:.0} req/s, p50 {:?}, p99 {:?} ({n} requests)",
        n as f64 / total.as_secs_f64(),
        rtts[n / 2],
        rtts[n * 99 / 100]
    );
}
