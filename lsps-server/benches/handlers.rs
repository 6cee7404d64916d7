//! In-process handler cost per request: this server's dispatcher vs lightning-liquidity 0.2.7's
//! `LiquidityManager` (`handle_custom_message` + the application's event answer +
//! `get_and_clear_pending_msg`) on the same payloads, in the same benchmark group.
//!
//! Both sides use a real LDK ChannelManager for intercept SCIDs and in-memory persistence;
//! our `buy` includes the in-memory store write (LDK's includes its own state update).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::ser::{LSPSDateTime, RawLSPSMessage};
use lightning_liquidity::lsps2::event::LSPS2ServiceEvent;
use lightning_liquidity::lsps2::msgs::LSPS2RawOpeningFeeParams;
use lightning_liquidity::{LiquidityServiceConfig, lsps2::service::LSPS2ServiceConfig};
use lsps_server::config::Lsps2Config;
use lsps_server::dispatch::Dispatcher;
use lsps_server::service::NodeOps;
use lsps_server::store::MemoryStore;
use lsps_server::transport::{Dispatch, Dispatched};
use serde_json::{Value, json};
use testkit::ldk_node::{LdkNode, build_node};

mod common;

struct LdkOps(Arc<LdkNode>);

impl NodeOps for LdkOps {
    fn intercept_scid(&self) -> u64 {
        self.0.channel_manager.get_intercept_scid()
    }
    fn bolt11_invoice(
        &self,
        _request: &lsps_server::service::InvoiceRequest,
    ) -> Result<String, lsps_server::service::NodeError> {
        Err(lsps_server::service::NodeError::Invoice(
            "not benchmarked".into(),
        ))
    }
    fn onchain_address(&self) -> Result<String, lsps_server::service::NodeError> {
        Err(lsps_server::service::NodeError::NoWallet)
    }
    fn inbound_liquidity_msat(&self) -> u64 {
        0
    }
    fn fundable_channel_sat(&self) -> u64 {
        u64::MAX
    }
}

fn peer() -> PublicKey {
    // Computed once: building a secp256k1 context costs far more than any handler.
    static PEER: std::sync::OnceLock<PublicKey> = std::sync::OnceLock::new();
    *PEER.get_or_init(|| {
        PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[42; 32]).unwrap(),
        )
    })
}

/// A fresh request id per iteration (LDK tracks ids of pending requests). The payloads are
/// made in criterion's untimed setup (`iter_batched`), so neither side's figure includes
/// building them.
fn with_fresh_id(payload: &str, counter: &mut u64) -> String {
    *counter += 1;
    payload.replacen(ID_PLACEHOLDER, &format!("{counter:032x}"), 1)
}

const ID_PLACEHOLDER: &str = "00000000000000000000000000000000";

fn request(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": ID_PLACEHOLDER, "method": method, "params": params}).to_string()
}

fn ldk_menu() -> Vec<LSPS2RawOpeningFeeParams> {
    let valid_until = LSPSDateTime::new_from_duration_since_epoch(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            + std::time::Duration::from_secs(3600),
    );
    Lsps2Config::default()
        .menu
        .iter()
        .map(|e| LSPS2RawOpeningFeeParams {
            min_fee_msat: e.min_fee_msat,
            proportional: e.proportional,
            valid_until,
            min_lifetime: e.min_lifetime,
            max_client_to_self_delay: e.max_client_to_self_delay,
            min_payment_size_msat: e.min_payment_size_msat,
            max_payment_size_msat: e.max_payment_size_msat,
        })
        .collect()
}

/// One LDK exchange: feed the payload, answer the event as an application does, take the reply.
fn ldk_exchange(rt: &tokio::runtime::Runtime, node: &LdkNode, payload: String) -> String {
    ldk_exchange_from(rt, node, peer(), payload)
}

fn ldk_exchange_from(
    rt: &tokio::runtime::Runtime,
    node: &LdkNode,
    peer: PublicKey,
    payload: String,
) -> String {
    // The payload is moved in: LDK's message type owns its text, as it would coming off the wire.
    node.liquidity
        .handle_custom_message(RawLSPSMessage { payload }, peer)
        .unwrap_or_else(|e| panic!("LDK refused a request: {e:?}"));
    while let Some(event) = node.liquidity.next_event() {
        let handler = node.liquidity.lsps2_service_handler().unwrap();
        match event {
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::GetInfo {
                request_id,
                counterparty_node_id,
                ..
            }) => {
                handler
                    .opening_fee_params_generated(&counterparty_node_id, request_id, ldk_menu())
                    .unwrap();
            }
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::BuyRequest {
                request_id,
                counterparty_node_id,
                ..
            }) => {
                let scid = node.channel_manager.get_intercept_scid();
                rt.block_on(handler.invoice_parameters_generated(
                    &counterparty_node_id,
                    request_id,
                    scid,
                    144,
                    false,
                    rand::random(),
                ))
                .unwrap();
            }
            _ => {}
        }
    }
    let mut replies = node.liquidity.get_and_clear_pending_msg();
    assert_eq!(replies.len(), 1, "one reply per request");
    replies.pop().unwrap().1.payload
}

fn ours_exchange(rt: &tokio::runtime::Runtime, dispatcher: &Dispatcher, payload: &str) -> Vec<u8> {
    match dispatcher.dispatch(peer(), payload.as_bytes()) {
        Dispatched::Reply(bytes) => bytes,
        Dispatched::Pending(fut) => rt.block_on(fut).unwrap(),
        Dispatched::NoReply => panic!("no reply"),
    }
}

fn handlers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ldk = Arc::new(
        rt.block_on(build_node(
            ldk_user_config(),
            Some(ldk_service_config()),
            None,
        ))
        .unwrap(),
    );

    let dispatcher =
        common::dispatcher(Arc::new(LdkOps(ldk.clone())), Arc::new(MemoryStore::new()));

    // Valid buy payloads for each side (promises are bound to the peer and to the secret).
    let ldk_menu: Value = serde_json::from_str(&ldk_exchange(
        &rt,
        &ldk,
        request("lsps2.get_info", json!({})),
    ))
    .unwrap();
    let our_menu: Value = serde_json::from_slice(&ours_exchange(
        &rt,
        &dispatcher,
        &request("lsps2.get_info", json!({})),
    ))
    .unwrap();
    let buy = |menu: &Value| {
        request(
            "lsps2.buy",
            json!({"opening_fee_params": menu["result"]["opening_fee_params_menu"][0], "payment_size_msat": "50000000"}),
        )
    };
    let ldk_buy = buy(&ldk_menu);
    let our_buy = buy(&our_menu);
    let check: Value = serde_json::from_str(&ldk_exchange(&rt, &ldk, ldk_buy.clone())).unwrap();
    assert!(check.get("result").is_some(), "LDK buy: {check}");
    let check: Value = serde_json::from_slice(&ours_exchange(&rt, &dispatcher, &our_buy)).unwrap();
    assert!(check.get("result").is_some(), "our buy: {check}");

    let list = request("lsps0.list_protocols", json!({}));
    let get_info = request("lsps2.get_info", json!({}));
    let _ = ldk_buy;
    for (name, ldk_payload, our_payload) in [
        ("lsps0.list_protocols", &list, &list),
        ("lsps2.get_info", &get_info, &get_info),
    ] {
        let mut group = c.benchmark_group(name);
        let mut n = 0u64;
        // The pure path alone (decode, handle, encode), without the dispatcher's limits.
        group.bench_function("lsps-server handler only", |b| {
            let service = dispatcher.service();
            b.iter_batched(
                || with_fresh_id(our_payload, &mut n),
                |payload| {
                    let request = service.decode(payload.as_bytes()).unwrap();
                    let ctx = lsps_server::service::Ctx::new(1_800_000_000_000, [1; 16]);
                    let planned = dispatcher
                        .with_state(|state| {
                            service.plan(state, &lsps_core::types::NodeId(peer()), request, ctx)
                        })
                        .unwrap();
                    // Reads only: a plan is always a reply here.
                    match planned {
                        lsps_server::service::Planned::Reply(response) => service.encode(&response),
                        lsps_server::service::Planned::Write(_) => unreachable!("a read"),
                    }
                },
                BatchSize::SmallInput,
            )
        });
        let mut n = 0u64;
        group.bench_function("lsps-server", |b| {
            b.iter_batched(
                || with_fresh_id(our_payload, &mut n),
                |payload| ours_exchange(&rt, &dispatcher, &payload),
                BatchSize::SmallInput,
            )
        });
        let mut n = 0u64;
        group.bench_function("lightning-liquidity", |b| {
            b.iter_batched(
                || with_fresh_id(ldk_payload, &mut n),
                |payload| ldk_exchange(&rt, &ldk, payload),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
    bench_buy(c, &rt, &dispatcher, &our_buy);
}

/// LDK keeps every bought SCID pending per peer (at most 10 per peer), so its side of the buy
/// benchmark spreads the buys over fresh peers on a fresh node per sample; the setup (node,
/// keys, one get_info per peer for a promise bound to it) is outside the timed region.
fn bench_buy(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    dispatcher: &Dispatcher,
    our_buy: &str,
) {
    let mut group = c.benchmark_group("lsps2.buy");
    group.sample_size(20);
    let mut n = 0u64;
    group.bench_function("lsps-server", |b| {
        b.iter_batched(
            || with_fresh_id(our_buy, &mut n),
            |payload| ours_exchange(rt, dispatcher, &payload),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("lightning-liquidity", |b| {
        b.iter_custom(|iters| {
            let node = rt.block_on(build_node(ldk_user_config(), Some(ldk_service_config()), None)).unwrap();
            let secp = Secp256k1::new();
            let mut work = Vec::with_capacity(iters as usize);
            let mut id = 0u64;
            for p in 0..iters.div_ceil(9) {
                let mut secret = [0u8; 32];
                secret[24..].copy_from_slice(&(p + 1).to_be_bytes());
                let peer = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&secret).unwrap());
                let menu: Value = serde_json::from_str(&ldk_exchange_from(
                    rt,
                    &node,
                    peer,
                    with_fresh_id(&request("lsps2.get_info", json!({})), &mut id),
                ))
                .unwrap();
                let payload = request(
                    "lsps2.buy",
                    json!({"opening_fee_params": menu["result"]["opening_fee_params_menu"][0], "payment_size_msat": "50000000"}),
                );
                for _ in 0..9 {
                    if (work.len() as u64) < iters {
                        work.push((peer, with_fresh_id(&payload, &mut id)));
                    }
                }
            }
            let start = std::time::Instant::now();
            for (peer, payload) in work {
                std::hint::black_box(ldk_exchange_from(rt, &node, peer, payload));
            }
            start.elapsed()
        })
    });
    group.finish();
}

fn ldk_service_config() -> LiquidityServiceConfig {
    LiquidityServiceConfig {
        lsps2_service_config: Some(LSPS2ServiceConfig {
            promise_secret: [7; 32],
        }),
        lsps5_service_config: None,
        advertise_service: true,
    }
}

fn ldk_user_config() -> lightning::util::config::UserConfig {
    lightning::util::config::UserConfig {
        accept_intercept_htlcs: true,
        ..Default::default()
    }
}

criterion_group!(benches, handlers);
criterion_main!(benches);
