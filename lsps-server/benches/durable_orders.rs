//! Durable `lsps1.create_order` commits per second through the dispatcher and the SQLite store
//! (WAL, synchronous=FULL, group commit): one at a time, and 64 concurrent clients.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lsps_server::store::{SqliteStore, SqliteStoreOptions};
use lsps_server::testing::FakeNode;
use lsps_server::transport::Dispatch;
use serde_json::json;

mod common;

/// `n` distinct peers, made before any timing (a secp256k1 context costs far more than a
/// store commit).
fn peers(n: usize) -> Vec<PublicKey> {
    let secp = Secp256k1::signing_only();
    (1..=n)
        .map(|i| {
            let mut secret = [0u8; 32];
            secret[24..].copy_from_slice(&(i as u64).to_be_bytes());
            PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&secret).unwrap())
        })
        .collect()
}

fn durable_orders(c: &mut Criterion) {
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(SqliteStore::open(SqliteStoreOptions::new(
            dir.path().join("bench.sqlite"),
        )))
        .unwrap();
    let dispatcher = common::dispatcher(Arc::new(FakeNode::new(1)), Arc::new(store));
    let payload = json!({"jsonrpc": "2.0", "id": "0123456789abcdef0123456789abcdef", "method": "lsps1.create_order",
        "params": {"lsp_balance_sat": "1000000", "client_balance_sat": "0", "required_channel_confirmations": 0,
                   "funding_confirms_within_blocks": 6, "channel_expiry_blocks": 144, "announce_channel": false}})
    .to_string()
    .into_bytes();

    let peers = peers(64);
    let mut group = c.benchmark_group("lsps1.create_order durable");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for concurrency in [1usize, 64] {
        group.bench_function(format!("{concurrency} in flight"), |b| {
            b.iter_custom(|iters| {
                let dispatcher = dispatcher.clone();
                let payload = payload.clone();
                let peers = &peers;
                rt.block_on(async move {
                    let start = Instant::now();
                    let per_task = iters.div_ceil(concurrency as u64);
                    let mut tasks = Vec::new();
                    for &peer in &peers[..concurrency] {
                        let dispatcher = dispatcher.clone();
                        let payload = payload.clone();
                        tasks.push(tokio::spawn(async move {
                            for _ in 0..per_task {
                                let reply = dispatcher.dispatch(peer, &payload).resolve().await.unwrap();
                                assert!(reply.starts_with(br#"{"jsonrpc":"2.0","id":"0123456789abcdef0123456789abcdef","result""#));
                            }
                        }));
                    }
                    for task in tasks {
                        task.await.unwrap();
                    }
                    let elapsed = start.elapsed();
                    // Report time per order over the orders actually committed.
                    elapsed.mul_f64(iters as f64 / (per_task * concurrency as u64) as f64)
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, durable_orders);
criterion_main!(benches);
