//! Loopback BOLT8 `lsps0.list_protocols` round trips: this server vs lightning-liquidity's
//! service (testkit's in-process LDK LSP), same client (lsps-client's BOLT8 transport, TCP_NODELAY
//! on both ends), same process, sequential and pipelined (64 in flight).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsps_client::transport::bolt8::{Bolt8Connection, Bolt8Connector, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use testkit::ldk_lsp::LdkLsp;

mod common;

const WINDOW: u64 = 64;

fn payload(i: u64) -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","id":"{i:032x}","method":"lsps0.list_protocols","params":{{}}}}"#)
        .into_bytes()
}

async fn recv_one(conn: &Bolt8Connection) {
    match tokio::time::timeout(Duration::from_secs(10), conn.recv())
        .await
        .unwrap()
    {
        Some(TransportEvent::Message(bytes)) => assert!(bytes.windows(8).any(|w| w == b"protocol")),
        other => panic!("{other:?}"),
    }
}

async fn run(conn: &Bolt8Connection, iters: u64, window: u64, next_id: &mut u64) -> Duration {
    let start = Instant::now();
    let mut sent = 0;
    let mut received = 0;
    while received < iters {
        while sent < iters && sent - received < window {
            *next_id += 1;
            conn.send(payload(*next_id)).await.unwrap();
            sent += 1;
        }
        recv_one(conn).await;
        received += 1;
    }
    start.elapsed()
}

fn bolt8(c: &mut Criterion) {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::ephemeral(dir.path());
    config.http_listen = None;
    config.limits = common::unlimited();
    let ours = rt.block_on(ReferenceServer::start(config)).unwrap();
    let ldk = rt.block_on(LdkLsp::start(Default::default())).unwrap();
    let connect = |target: String| {
        rt.block_on(async {
            Bolt8Connector::new(target.parse().unwrap(), NodeKey::random())
                .connect()
                .await
                .unwrap()
        })
    };
    let targets = [
        ("lsps-server", connect(ours.connection_string())),
        ("lightning-liquidity", connect(ldk.connection_string())),
    ];
    for (mode, window) in [("sequential", 1), ("pipelined 64", WINDOW)] {
        let mut group = c.benchmark_group(format!("bolt8 list_protocols {mode}"));
        group.throughput(Throughput::Elements(1));
        for (name, conn) in &targets {
            let mut next_id = 0;
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| rt.block_on(run(conn, iters, window, &mut next_id)))
            });
        }
        group.finish();
    }
    drop(targets);
    rt.block_on(ours.shutdown());
    ldk.shutdown();
}

criterion_group!(benches, bolt8);
criterion_main!(benches);
