//! The LSPS2 JIT money flow end to end, over loopback BOLT8, three nodes in-process on the
//! reference server's dev chain: a payer with a confirmed channel to the LSP
//! (`testkit::payer::Payer`), the reference LSP, and lightning-liquidity's LSPS2 *client* as
//! the receiving wallet (`testkit::ldk_client`: it buys, makes the bLIP-52 invoice, accepts
//! zero-conf from the LSP only, checks the skim against the promised fee and claims). This is
//! also the interop pair "lightning-liquidity's LSPS2 client buys from our server and
//! receives".
//!
//! Requirements checked here (LSP side): LSPS2-R24 (the client counts as connected while its
//! BOLT8 session exists: the flow sees it leave), LSPS2-R32 (no-MPP: an amount below the
//! minimum is failed back, not forwarded), LSPS2-R38 (MPP: parts grouped by payment hash and
//! gathered until they reach payment_size_msat; the 90 s default hold is shortened here),
//! LSPS2-R39 and LSPS2-R51 (hold timeout / client gone before funding_signed: the flow fails the
//! parts with temporary_channel_failure and waits again — on the wire LDK 0.2.7 can only send
//! unknown_next_peer, spec/README D35), LSPS2-R45 (the channel opens only before valid_until,
//! with the parts complete and the client connected), LSPS2-R46 (no-MPP fee from the HTLC; a
//! payment that cannot pay it is failed back), LSPS2-R47 (the channel carries payment − fee),
//! LSPS2-R48 (unannounced, scid-alias channel the client accepts), LSPS2-R50 (a client that
//! rejects the open: failed back for good), LSPS2-R55 (client_trusts_lsp: the funding is
//! broadcast only after the claim), LSPS2-R61 and LSPS2-R62 (the client receives exactly
//! payment − fee, the deduction announced as LDK's skimmed fee, i.e. the extra_fee TLV).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::ln::channelmanager::RecipientOnionFields;
use lightning::routing::router::{Path, Route, RouteHop};
use lightning::types::features::{ChannelFeatures, NodeFeatures};
use lightning::types::payment::PaymentHash;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;
use lsps_core::lsps2::JitState;
use lsps_node::chain::{ChainSource, DevChain};
use lsps_server::config::ServerConfig;
use lsps_server::service::BuyRecord;
use lsps_server::{ReferenceServer, ServerHandle};
use testkit::ldk_client::{BuyOutcome, ChannelPolicy, LdkClient};
use testkit::payer::{Payer, PaymentOutcome};

const WAIT: Duration = Duration::from_secs(30);
/// The payer's channel to the LSP.
const PAYER_CHANNEL_SAT: u64 = 2_000_000;

struct Net {
    server: ServerHandle,
    payer: Payer,
    client: LdkClient,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// LSP (configured by `configure`), payer with a usable channel to it, receiving client.
async fn net(configure: impl FnOnce(&mut ServerConfig)) -> Net {
    // The JIT steps at info level, shown for a failing test.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_test_writer()
        .try_init();
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::ephemeral(server_dir.path());
    configure(&mut config);
    let server = ReferenceServer::start(config).await.unwrap();
    let chain: Arc<DevChain> = server.dev_chain().unwrap().clone();
    let payer_dir = tempfile::tempdir().unwrap();
    let payer = Payer::start(payer_dir.path(), chain.clone()).await.unwrap();
    payer
        .ensure_channel(
            server.node_id(),
            server.bolt8_addr(),
            PAYER_CHANNEL_SAT,
            500_000_000,
            chain.as_ref(),
        )
        .await
        .unwrap();
    let client = LdkClient::connect_receiver(
        server.node_id(),
        server.bolt8_addr(),
        chain.clone() as Arc<dyn ChainSource>,
    )
    .await
    .unwrap();
    Net {
        server,
        payer,
        client,
        _dirs: (server_dir, payer_dir),
    }
}

impl Net {
    async fn buy(&self, size: Option<u64>) -> (LSPS2OpeningFeeParams, BuyOutcome) {
        let menu = self.client.lsps2_get_info(None).await.unwrap();
        let params = menu[0].clone();
        let bought = self.client.lsps2_buy(params.clone(), size).await.unwrap();
        (params, bought)
    }

    fn record(&self, scid: u64) -> BuyRecord {
        self.server
            .dispatcher()
            .with_state(|s| s.buy(scid).cloned())
            .unwrap()
            .expect("the buy is held")
    }

    /// Wait until the buy's flow satisfies `done` (the LSP learns of the claim a moment after
    /// the payer does).
    async fn wait_flow(&self, scid: u64, what: &str, done: impl Fn(&BuyRecord) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let record = self.record(scid);
            if done(&record) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: flow is {:?}",
                record.flow
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Channels between the LSP and the client.
    fn jit_channels(&self) -> usize {
        self.server
            .node()
            .channel_manager
            .list_channels_with_counterparty(&self.client.node_id())
            .len()
    }

    async fn shutdown(self) {
        self.client.shutdown();
        self.payer.shutdown().await;
        self.server.shutdown().await;
    }
}

fn fee(params: &LSPS2OpeningFeeParams, size: u64) -> u64 {
    lsps_core::lsps2::opening_fee(
        lsps_core::types::Msat(size),
        lsps_core::types::Msat(params.min_fee_msat),
        lsps_core::types::Ppm(params.proportional),
    )
    .unwrap()
    .get()
}

fn hash_of(invoice: &Bolt11Invoice) -> [u8; 32] {
    *invoice.payment_hash().as_ref()
}

/// Checks of a paid JIT flow: the payer paid, the client received the payment minus exactly
/// the promised fee (skimmed, within the promise, claimed), the LSP's flow is DONE with that
/// fee taken once, and there is exactly one channel to the client.
async fn assert_paid(
    net: &Net,
    outcome: PaymentOutcome,
    invoice: &Bolt11Invoice,
    scid: u64,
    sent_msat: u64,
    promised: u64,
) {
    assert!(
        matches!(outcome, PaymentOutcome::Paid { .. }),
        "payer: {outcome:?}"
    );
    let received = net
        .client
        .wait_received(hash_of(invoice), WAIT)
        .await
        .unwrap();
    assert!(received.claimed, "{received:?}");
    assert_eq!(received.skimmed_fee_msat, promised);
    assert_eq!(received.promised_fee_msat, promised);
    assert_eq!(received.amount_msat, sent_msat - promised);
    net.wait_flow(scid, "flow done", |r| r.state == JitState::Done)
        .await;
    let flow = net.record(scid).flow.unwrap();
    assert_eq!(flow.fee_taken_msat().get(), promised);
    assert!(flow.channel_id().is_some());
    assert_eq!(net.jit_channels(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mpp_var_invoice_opens_skims_and_forwards() {
    let net = net(|_| {}).await;
    let (params, bought) = net.buy(None).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    let amount = 50_000_000;
    let outcome = net.payer.pay(&invoice, Some(amount), WAIT).await.unwrap();
    assert_paid(
        &net,
        outcome,
        &invoice,
        bought.intercept_scid,
        amount,
        fee(&params, amount),
    )
    .await;
    // The admin view shows the flow: state, parts, channel, fee taken.
    let record = net.record(bought.intercept_scid);
    let parts = record.flow.as_ref().unwrap().parts().len();
    assert_eq!(parts, 1);
    net.shutdown().await;
}

/// A two-part payment along explicit routes (payer → LSP → JIT SCID), same hash and secret,
/// together worth `payment_size_msat`.
async fn pay_in_two_parts(
    net: &Net,
    invoice: &Bolt11Invoice,
    scid: u64,
    parts: [u64; 2],
) -> PaymentOutcome {
    let lsp = net.server.node_id();
    let first = net.payer.usable_channels_to(&lsp);
    let first_scid = first[0].get_outbound_payment_scid().unwrap();
    let mut final_features = NodeFeatures::empty();
    final_features.set_basic_mpp_optional();
    final_features.set_payment_secret_required();
    final_features.set_variable_length_onion_required();
    let path = |amount: u64| Path {
        hops: vec![
            RouteHop {
                pubkey: lsp,
                node_features: NodeFeatures::empty(),
                short_channel_id: first_scid,
                channel_features: ChannelFeatures::empty(),
                fee_msat: 0,
                cltv_expiry_delta: 144,
                maybe_announced_channel: false,
            },
            RouteHop {
                pubkey: net.client.node_id(),
                node_features: final_features.clone(),
                short_channel_id: scid,
                channel_features: ChannelFeatures::empty(),
                fee_msat: amount,
                cltv_expiry_delta: u32::from(MIN_FINAL_CLTV_EXPIRY_DELTA) + 2,
                maybe_announced_channel: false,
            },
        ],
        blinded_tail: None,
    };
    let route = Route {
        paths: vec![path(parts[0]), path(parts[1])],
        route_params: None,
    };
    net.payer
        .node()
        .pay_route(
            route,
            PaymentHash(hash_of(invoice)),
            RecipientOnionFields::secret_only(*invoice.payment_secret()),
            WAIT,
        )
        .await
        .unwrap()
}

async fn mpp_fixed_invoice(client_trusts_lsp: bool) {
    let net = net(|c| c.lsps2.client_trusts_lsp = client_trusts_lsp).await;
    let size = 60_000_000;
    let (params, bought) = net.buy(Some(size)).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, Some(size), Some(size))
        .unwrap();
    let outcome = pay_in_two_parts(
        &net,
        &invoice,
        bought.intercept_scid,
        [25_000_000, 35_000_000],
    )
    .await;
    assert_paid(
        &net,
        outcome,
        &invoice,
        bought.intercept_scid,
        size,
        fee(&params, size),
    )
    .await;
    let flow = net.record(bought.intercept_scid).flow.unwrap();
    assert_eq!(flow.parts().len(), 2);
    let channel = net
        .server
        .node()
        .channel_manager
        .list_channels_with_counterparty(&net.client.node_id())
        .remove(0);
    assert!(!channel.is_announced, "a JIT channel is unannounced");
    if client_trusts_lsp {
        // The funding goes out only after the client claimed (LDK's manual broadcast).
        let txid = channel.funding_txo.unwrap().txid;
        let chain = net.server.dev_chain().unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        while chain.find_tx(&txid).is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "funding {txid} never broadcast"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpp_fixed_invoice_two_parts_client_trusts_lsp_false() {
    mpp_fixed_invoice(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpp_fixed_invoice_two_parts_client_trusts_lsp_true() {
    mpp_fixed_invoice(true).await;
}

/// Fail-back paths: the payer's payment fails and no channel is opened (or the one refused
/// stays refused); the flow records why.
async fn assert_failed_back(net: &Net, outcome: PaymentOutcome, scid: u64) {
    assert!(
        matches!(outcome, PaymentOutcome::Failed { .. }),
        "payer: {outcome:?}"
    );
    let record = net.record(scid);
    let flow = record.flow.unwrap();
    assert!(
        flow.parts()
            .iter()
            .all(|p| matches!(p.status, lsps_core::lsps2::flow::PartStatus::Failed { .. })),
        "{:?}",
        flow.parts()
    );
    assert_eq!(flow.fee_taken_msat().get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_that_cannot_pay_the_fee_is_failed_back() {
    let net = net(|_| {}).await;
    let (params, bought) = net.buy(None).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    // Below min_payment_size_msat (and below the 546 sat minimum fee).
    let outcome = net
        .payer
        .pay(&invoice, Some(500_000), Duration::from_secs(10))
        .await
        .unwrap();
    assert_failed_back(&net, outcome, bought.intercept_scid).await;
    assert_eq!(net.jit_channels(), 0);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_rejecting_the_channel_fails_the_payment_for_good() {
    let net = net(|_| {}).await;
    net.client.set_channel_policy(ChannelPolicy::Reject);
    let (params, bought) = net.buy(None).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    let outcome = net
        .payer
        .pay(&invoice, Some(50_000_000), Duration::from_secs(20))
        .await
        .unwrap();
    assert_failed_back(&net, outcome, bought.intercept_scid).await;
    net.wait_flow(bought.intercept_scid, "flow failed", |r| {
        r.state == JitState::Failed
    })
    .await;
    assert_eq!(net.jit_channels(), 0);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnecting_before_funding_fails_the_parts_and_waits_again() {
    let net = net(|c| c.lsps2.hold_timeout_ms = 1_000).await;
    net.client.set_channel_policy(ChannelPolicy::Disconnect);
    let (params, bought) = net.buy(None).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    let scid = bought.intercept_scid;
    // The payer retries while the client is away (each retry is held, then failed at the
    // hold timeout), so its outcome is not the point: the flow is.
    let (_, ()) = tokio::join!(
        net.payer
            .pay(&invoice, Some(50_000_000), Duration::from_secs(5)),
        net.wait_flow(scid, "parts failed, waiting again", |r| {
            let flow = r.flow.as_ref().unwrap();
            flow.parts().first().is_some_and(|p| {
                p.status
                    == lsps_core::lsps2::flow::PartStatus::Failed {
                        failure: lsps_core::lsps2::flow::HtlcFailure::TemporaryChannelFailure,
                    }
            }) && matches!(r.state, JitState::Bought | JitState::Collecting)
        }),
    );
    let record = net.record(scid);
    let flow = record.flow.unwrap();
    assert_eq!(flow.channel_id(), None);
    assert_eq!(flow.fee_taken_msat().get(), 0);
    assert_ne!(record.state, JitState::Failed);
    assert_eq!(net.jit_channels(), 0);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_payment_times_out_while_the_client_is_away() {
    let net = net(|c| c.lsps2.hold_timeout_ms = 1_000).await;
    let (params, bought) = net.buy(None).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    // The client goes away: the no-MPP HTLC waits for it, at most the hold timeout.
    net.client
        .node()
        .peer_manager
        .disconnect_by_node_id(net.server.node_id());
    net.wait_flow(bought.intercept_scid, "flow sees the client leave", |r| {
        r.flow
            .as_ref()
            .is_some_and(|f| serde_json::to_value(f).unwrap()["client_connected"] == false)
    })
    .await;
    let outcome = net
        .payer
        .pay(&invoice, Some(50_000_000), Duration::from_secs(20))
        .await
        .unwrap();
    assert_failed_back(&net, outcome, bought.intercept_scid).await;
    assert_eq!(net.jit_channels(), 0);
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_after_valid_until_is_failed_back() {
    // A menu entry valid for 1 s.
    let net = net(|c| {
        for entry in &mut c.lsps2.menu {
            entry.valid_for_secs = 2;
        }
    })
    .await;
    let (params, bought) = net.buy(None).await;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    net.wait_flow(bought.intercept_scid, "flow expires", |r| {
        r.state == JitState::Expired
    })
    .await;
    let outcome = net
        .payer
        .pay(&invoice, Some(50_000_000), Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        matches!(outcome, PaymentOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert_eq!(net.jit_channels(), 0);
    net.shutdown().await;
}

/// `GET path` on the admin listener with its token (from `<data_dir>/admin.json`).
async fn admin_get(data_dir: &std::path::Path, path: &str) -> serde_json::Value {
    testkit::admin::get(data_dir, path)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// A paid flow survives a restart of the LSP on the same data dir: it loads back DONE with
/// the fee taken once, recovery opens nothing and forwards nothing again, and the operator
/// view (`/admin/buys/{scid}`) shows state, SCID, parts, channel and fee before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_flow_survives_a_restart_and_shows_in_the_admin_view() {
    let net = net(|_| {}).await;
    let (params, bought) = net.buy(None).await;
    let scid = bought.intercept_scid;
    let invoice = net
        .client
        .lsps2_invoice(&bought, &params, None, None)
        .unwrap();
    let amount = 30_000_000;
    let outcome = net.payer.pay(&invoice, Some(amount), WAIT).await.unwrap();
    let promised = fee(&params, amount);
    assert_paid(&net, outcome, &invoice, scid, amount, promised).await;
    let before = net.record(scid).flow.unwrap();

    let Net {
        server,
        payer,
        client,
        _dirs,
    } = net;
    let view = admin_get(_dirs.0.path(), &format!("/admin/buys/{scid}")).await;
    assert_eq!(view["state"], "DONE");
    assert_eq!(view["jit"]["state"], "DONE");
    assert_eq!(view["jit"]["fee_taken_msat"], promised);
    assert_eq!(view["jit"]["parts"].as_array().unwrap().len(), 1);
    assert_eq!(
        view["jit"]["channel_id"],
        before.channel_id().unwrap().to_string()
    );
    assert_eq!(view["scid"], lsps_core::types::Scid(scid).to_string());
    let channels_before = server.node().channel_manager.list_channels().len();
    server.shutdown().await;

    let server = ReferenceServer::start(ServerConfig::ephemeral(_dirs.0.path()))
        .await
        .unwrap();
    let net = Net {
        server,
        payer,
        client,
        _dirs,
    };
    let after = net.record(scid).flow.unwrap();
    assert_eq!(after.state(), JitState::Done);
    assert_eq!(after.fee_taken_msat().get(), promised);
    assert_eq!(after.parts(), before.parts());
    assert_eq!(after.channel_id(), before.channel_id());
    assert_eq!(
        net.server.node().channel_manager.list_channels().len(),
        channels_before
    );
    let view = admin_get(net._dirs.0.path(), "/admin/buys").await;
    let listed = view
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["jit_channel_scid"] == scid)
        .unwrap()
        .clone();
    assert_eq!(listed["jit"]["fee_taken_msat"], promised);
    net.shutdown().await;
}
