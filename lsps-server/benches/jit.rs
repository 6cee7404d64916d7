//! One JIT payment, end to end on three nodes over loopback BOLT8: the payer sends to a
//! bLIP-52 invoice, the LSP intercepts the HTLC on the JIT SCID, opens a zero-conf channel to
//! the wallet and forwards with the opening fee skimmed; the timed span ends when the wallet
//! has its `PaymentClaimable` checked against the promise (`JitWallet::wait_for_payment`).
//! The span includes one ordinary hop (payer → LSP) that is the same for both LSPs.
//!
//! The same payer and the same wallet code buy from this server and from lightning-liquidity's
//! LSPS2 service (testkit's `LdkLsp`), on one in-memory dev chain, in one process and run. The
//! buy and the invoice are made outside the timed span; every iteration opens a fresh channel.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::hashes::Hash as _;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use lightning::types::payment::PaymentHash;
use lsps_client::BuyLimits;
use lsps_client::receive::{JitWallet, PaymentOutcome, StrangerChannels, WalletConfig};
use lsps_node::chain::DevChain;
use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};
use testkit::payer::Payer;

mod common;

const WAIT: Duration = Duration::from_secs(30);
/// Small enough that one payer channel carries every payment of a run.
const PAYMENT_MSAT: u64 = 5_000_000;

/// Buys, makes the invoice, then times payer send → wallet's checked `PaymentClaimable`.
async fn one_jit_payment(wallet: &JitWallet, payer: &Payer, chain: &DevChain) -> Duration {
    // Untimed: a block confirms the last funding's change, so both LSPs fund from confirmed
    // coins (lightning-liquidity's fixture spends confirmed coins only).
    chain.mine(1, &burn()).unwrap();
    let purchase = wallet
        .buy(None, 0, None, &BuyLimits::default())
        .await
        .unwrap();
    let invoice = wallet
        .invoice(&purchase, "bench", Duration::from_secs(600))
        .unwrap();
    let hash = PaymentHash(invoice.payment_hash().to_byte_array());
    let start = Instant::now();
    let (received, _paid) = tokio::join!(
        async {
            let outcome = wallet.wait_for_payment(hash, WAIT).await;
            (outcome, start.elapsed())
        },
        payer.pay(&invoice, Some(PAYMENT_MSAT), WAIT),
    );
    let (outcome, elapsed) = received;
    assert!(
        matches!(outcome, PaymentOutcome::Received(_)),
        "not received: {outcome:?}"
    );
    elapsed
}

fn burn() -> bitcoin::ScriptBuf {
    bitcoin::ScriptBuf::new_op_return([0x6au8; 4])
}

/// Rounds of the paired comparison (`JIT_PAIRED_ROUNDS` overrides; 0 skips it).
const PAIRED_ROUNDS: usize = 15;

/// Criterion times each LSP in its own block of minutes, and on a shared 2-core machine the
/// load moves between those blocks by up to 2× (BENCHMARKS.md). Here each round pays once
/// through each LSP, back to back and in alternating order, so both see the same load; the
/// median of the per-round ratios is the figure the goal is checked against.
fn paired_rounds(
    rt: &tokio::runtime::Runtime,
    wallets: &[(&str, JitWallet)],
    payer: &Payer,
    chain: &DevChain,
) {
    let rounds = std::env::var("JIT_PAIRED_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(PAIRED_ROUNDS);
    if rounds == 0 {
        return;
    }
    let [(ours_name, ours), (ldk_name, ldk)] = wallets else {
        panic!("two LSPs expected");
    };
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (ours_time, ldk_time) = rt.block_on(async {
            if round % 2 == 0 {
                let o = one_jit_payment(ours, payer, chain).await;
                (o, one_jit_payment(ldk, payer, chain).await)
            } else {
                let l = one_jit_payment(ldk, payer, chain).await;
                (one_jit_payment(ours, payer, chain).await, l)
            }
        });
        samples.push((ours_time, ldk_time));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // `JIT_PAIRED_CSV=<file>`: every round's pair, to see how each LSP's time grows with the
    // channels it holds (each round opens one per LSP).
    if let Ok(path) = std::env::var("JIT_PAIRED_CSV") {
        let mut csv = format!("round,{ours_name}_ms,{ldk_name}_ms\n");
        for (round, (o, l)) in samples.iter().enumerate() {
            csv.push_str(&format!("{round},{:.2},{:.2}\n", ms(*o), ms(*l)));
        }
        if let Err(e) = std::fs::write(&path, csv) {
            eprintln!("JIT_PAIRED_CSV {path}: {e}");
        }
    }
    let ours_ms = median(samples.iter().map(|s| ms(s.0)).collect());
    let ldk_ms = median(samples.iter().map(|s| ms(s.1)).collect());
    let ratio = median(samples.iter().map(|s| ms(s.0) / ms(s.1)).collect());
    println!(
        "paired, {rounds} rounds: {ours_name} median {ours_ms:.1} ms, {ldk_name} median {ldk_ms:.1} ms, median of per-round ratios {ratio:.2}"
    );
}

fn jit(c: &mut Criterion) {
    // A timeline of each payment, for finding where the time goes: `JIT_BENCH_LOG=info,ldk=debug`
    // (with a criterion filter that matches nothing and `JIT_PAIRED_ROUNDS=1`, one payment each).
    if let Ok(filter) = std::env::var("JIT_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = common::runtime();
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::ephemeral(server_dir.path());
    config.http_listen = None;
    config.limits = common::unlimited();
    let ours = rt.block_on(ReferenceServer::start(config)).unwrap();
    let chain: Arc<DevChain> = ours.dev_chain().unwrap().clone();
    let ldk = rt
        .block_on(LdkLsp::start_on(chain.clone(), LdkLspConfig::default()))
        .unwrap();

    // lightning-liquidity's fixture has no coins of its own: ten mature coinbases.
    let ldk_address = ldk.node().wallet.new_address().unwrap().script_pubkey();
    chain.mine(10, &ldk_address).unwrap();
    chain.mine(100, &burn()).unwrap();

    let payer_dir = tempfile::tempdir().unwrap();
    let payer = rt
        .block_on(Payer::start(payer_dir.path(), chain.clone()))
        .unwrap();
    let wallet_dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let lsps = [
        ("lsps-server", ours.node_id(), ours.bolt8_addr()),
        ("lightning-liquidity", ldk.node_id(), ldk.addr()),
    ];
    let mut wallets = Vec::new();
    for ((name, node_id, addr), dir) in lsps.iter().zip(&wallet_dirs) {
        rt.block_on(payer.ensure_channel(
            *node_id,
            *addr,
            5_000_000,
            1_000_000_000,
            chain.as_ref(),
        ))
        .unwrap();
        let wallet = rt
            .block_on(JitWallet::start(WalletConfig {
                data_dir: dir.path().to_owned(),
                lsp: format!("{node_id}@{addr}").parse().unwrap(),
                chain: chain.clone(),
                connect_timeout: Duration::from_secs(10),
                request_timeout: Duration::from_secs(10),
                strangers: StrangerChannels::Reject,
            }))
            .unwrap();
        wallets.push((*name, wallet));
    }

    let mut group = c.benchmark_group("jit payment: payer send -> wallet PaymentClaimable");
    // Each iteration opens a channel: few, equal-sized samples.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(5));
    // Payments (so channels) through each LSP so far: criterion picks each group's iteration
    // count from its own speed, and a payment's time grows with the channels its LSP holds.
    let mut payments = [0usize; 2];
    for ((name, wallet), count) in wallets.iter().zip(&mut payments) {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += one_jit_payment(wallet, &payer, &chain).await;
                        *count += 1;
                    }
                    total
                })
            })
        });
    }
    group.finish();
    // The paired rounds start with both LSPs holding as many channels: catch the one behind up.
    let behind = usize::from(payments[1] < payments[0]);
    let missing = payments[1 - behind].abs_diff(payments[behind]);
    rt.block_on(async {
        for _ in 0..missing {
            one_jit_payment(&wallets[behind].1, &payer, &chain).await;
        }
    });
    if missing > 0 {
        println!(
            "criterion paid {} / {} times through {} / {}; {missing} unmeasured payments through {} before the paired rounds",
            payments[0], payments[1], wallets[0].0, wallets[1].0, wallets[behind].0
        );
    }
    paired_rounds(&rt, &wallets, &payer, &chain);
    for (_, wallet) in wallets {
        rt.block_on(wallet.stop());
    }
    rt.block_on(payer.shutdown());
    ldk.shutdown();
    rt.block_on(ours.shutdown());
}

criterion_group!(benches, jit);
criterion_main!(benches);
