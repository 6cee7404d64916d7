//! The LSPS1 money flow end to end, in-process on one dev chain over loopback BOLT8: the
//! reference server, a client node (the node kit with lightning-liquidity's LSPS1 client) that
//! accepts the order's channel, and the kit's payer with a channel to the LSP.
//!
//! - bolt11 paid → HOLD → channel → claimed → COMPLETED, and a payment succeeds over the new
//!   channel;
//! - the client refuses the channel → payment failed back (REFUNDED), order FAILED;
//! - an unpaid order expires (FAILED, options untouched);
//! - on-chain paid with the confirmations the order asked for → COMPLETED;
//! - an on-chain under-payment is refunded to the refund address when its option expires.
//!
//! Waits are bounded; timings are printed, never asserted.
//!
//! Requirements checked here: LSPS1-R35 and LSPS1-R39 (the invoice is held: HOLD, not claimed,
//! until the channel is open), LSPS1-R40 and LSPS1-R64 (claimed → PAID, COMPLETED with
//! `channel`), LSPS1-R58 (the channel object names the funding outpoint), LSPS1-R59 and
//! LSPS1-R67 (the open follows HOLD or on-chain PAID at once), LSPS1-R62 (COMPLETED only after
//! the ordered confirmations), LSPS1-R41 and LSPS1-R65 (a failed open fails the HTLCs back:
//! REFUNDED, FAILED), LSPS1-R50, LSPS1-R51, LSPS1-R53 and LSPS1-R55 (on-chain payment watched,
//! PAID after the ordered confirmations, not before).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lightning::events::Event;
use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning::util::config::UserConfig;
use lightning_invoice::Bolt11Invoice;
use lightning_liquidity::LiquidityClientConfig;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps1::client::LSPS1ClientConfig;
use lightning_liquidity::lsps1::event::LSPS1ClientEvent;
use lightning_liquidity::lsps1::msgs::{LSPS1OrderParams, LSPS1PaymentState};
use lsps_core::lsps1::{OrderId, OrderResult, OrderState, PaymentState};
use lsps_node::NodeConfig;
use lsps_node::chain::{ChainSource, DevChain};
use lsps_server::config::ServerConfig;
use lsps_server::transport::Dispatch;
use lsps_server::{ReferenceServer, ServerHandle};
use serde_json::{Value, json};
use testkit::ldk_node::{LdkNode, build_node_on, message_pump};
use testkit::payer::{Payer, PaymentOutcome};
use tokio::sync::watch;

/// The longest any one step may take before the test fails.
const STEP: Duration = Duration::from_secs(60);

struct Harness {
    server: ServerHandle,
    chain: Arc<DevChain>,
    client: Arc<LdkNode>,
    stop_client: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(
        lsps1: impl FnOnce(&mut lsps_server::config::Lsps1Config),
        client_config: impl FnOnce(&mut UserConfig),
    ) -> Self {
        // `RUST_LOG=info` shows the flow's steps.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::ephemeral(dir.path().join("lsp"));
        lsps1(&mut config.lsps1);
        let server = ReferenceServer::start(config).await.unwrap();
        let chain = server.dev_chain().unwrap().clone();
        let mut user_config = UserConfig::default();
        client_config(&mut user_config);
        let client = Arc::new(
            build_node_on(
                chain.clone() as Arc<dyn ChainSource>,
                NodeConfig {
                    user_config,
                    // The LSP's channel is accepted at once when the order wants no
                    // confirmations.
                    zero_conf_peers: vec![server.node_id()],
                    ..NodeConfig::new("")
                },
                None,
                Some(LiquidityClientConfig {
                    lsps1_client_config: Some(LSPS1ClientConfig {
                        max_channel_fees_msat: None,
                    }),
                    lsps2_client_config: None,
                    lsps5_client_config: None,
                }),
            )
            .await
            .unwrap(),
        );
        // The client claims what it is paid (the payment over its new channel).
        let (stop_client, stop_rx) = watch::channel(false);
        let manager = client.node.channel_manager.clone();
        tokio::spawn(client.node.clone().run_events(stop_rx, move |event| {
            if let Event::PaymentClaimable { purpose, .. } = event
                && let Some(preimage) = purpose.preimage()
            {
                manager.claim_funds(preimage);
            }
            Ok(())
        }));
        tokio::spawn(message_pump(client.clone()));
        client
            .node
            .connect(server.node_id(), server.bolt8_addr(), STEP)
            .await
            .unwrap();
        Self {
            server,
            chain,
            client,
            stop_client,
            _dir: dir,
        }
    }

    fn lsp(&self) -> PublicKey {
        self.server.node_id()
    }

    fn mine(&self, blocks: u32) {
        let script = self
            .client
            .node
            .wallet
            .new_address()
            .unwrap()
            .script_pubkey();
        self.chain.mine(blocks, &script).unwrap();
    }

    /// `lsps1.create_order` as the client's BOLT8 peer would send it, through the server's
    /// dispatcher (the one every transport uses).
    async fn create_order(&self, params: Value) -> OrderResult {
        let request =
            json!({"jsonrpc": "2.0", "id": "1", "method": "lsps1.create_order", "params": params});
        let reply = self
            .server
            .dispatcher()
            .dispatch(self.client.node_id, request.to_string().as_bytes())
            .resolve()
            .await
            .unwrap();
        let reply: Value = serde_json::from_slice(&reply).unwrap();
        serde_json::from_value(reply["result"].clone()).unwrap_or_else(|e| panic!("{e}: {reply}"))
    }

    /// The order as `get_order` answers it now.
    fn order(&self, id: &OrderId) -> OrderResult {
        self.server
            .dispatcher()
            .with_state(|s| s.order(id).map(|r| r.current()))
            .unwrap()
            .unwrap()
    }

    async fn wait_order(&self, id: &OrderId, what: &str, done: impl Fn(&OrderResult) -> bool) {
        let deadline = Instant::now() + STEP;
        loop {
            let order = self.order(id);
            if done(&order) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "order never {what}: {}",
                serde_json::to_string(&order).unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn payer(&self, capacity_sat: u64, min_outbound_msat: u64) -> Payer {
        let payer = Payer::start(
            &self._dir.path().join("payer"),
            self.chain.clone() as Arc<dyn ChainSource>,
        )
        .await
        .unwrap();
        payer
            .ensure_channel(
                self.lsp(),
                self.server.bolt8_addr(),
                capacity_sat,
                min_outbound_msat,
                &*self.chain,
            )
            .await
            .unwrap();
        payer
    }

    async fn shutdown(self) {
        let _ = self.stop_client.send(true);
        self.client.node.peer_manager.disconnect_all_peers();
        self.server.shutdown().await;
    }
}

fn order_params(lsp_balance: u64, client_balance: u64, confirmations: u16) -> Value {
    json!({
        "lsp_balance_sat": lsp_balance.to_string(),
        "client_balance_sat": client_balance.to_string(),
        "required_channel_confirmations": confirmations,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144,
        "announce_channel": false,
    })
}

fn invoice_of(order: &OrderResult) -> Bolt11Invoice {
    Bolt11Invoice::from_str(&order.payment.bolt11.as_ref().unwrap().invoice).unwrap()
}

fn bolt11_state(order: &OrderResult) -> PaymentState {
    order.payment.bolt11.as_ref().unwrap().state
}

fn onchain_state(order: &OrderResult) -> PaymentState {
    order.payment.onchain.as_ref().unwrap().state
}

/// bolt11: the payment is held (not claimed) while the channel opens, claimed once it is
/// ready; the order completes with its channel object, lightning-liquidity's client reads the
/// same, and a payment from the payer reaches the client over the new channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bolt11_paid_order_becomes_a_usable_channel() {
    let h = Harness::start(|_| {}, |_| {}).await;
    let payer = h.payer(1_000_000, 200_000_000).await;

    // The order is created by lightning-liquidity's LSPS1 client over BOLT8 (interop).
    let handler = h.client.liquidity.lsps1_client_handler().unwrap();
    handler.create_order(
        &h.lsp(),
        LSPS1OrderParams {
            lsp_balance_sat: 500_000,
            client_balance_sat: 20_000,
            required_channel_confirmations: 0,
            funding_confirms_within_blocks: 6,
            channel_expiry_blocks: 144,
            token: None,
            announce_channel: false,
        },
        None,
    );
    let (order_id, invoice) = loop {
        let event = tokio::time::timeout(STEP, h.client.liquidity.next_event_async())
            .await
            .expect("OrderCreated");
        match event {
            LiquidityEvent::LSPS1Client(LSPS1ClientEvent::OrderCreated {
                order_id,
                payment,
                ..
            }) => break (order_id, payment.bolt11.unwrap().invoice),
            LiquidityEvent::LSPS1Client(other) => panic!("{other:?}"),
            _ => {}
        }
    };
    let id = OrderId::new(order_id.0.clone()).unwrap();
    let order = h.order(&id);
    assert_eq!(order.order_state, OrderState::Created);
    assert_eq!(invoice_of(&order), invoice);
    let total_msat = invoice.amount_milli_satoshis().unwrap();

    let paid_at = Instant::now();
    let pay = {
        let node = payer.node().clone();
        let invoice = invoice.clone();
        tokio::spawn(async move { node.pay_bolt11(&invoice, None, STEP).await })
    };
    h.wait_order(&id, "held or further", |o| {
        bolt11_state(o) != PaymentState::ExpectPayment
    })
    .await;
    h.wait_order(&id, "COMPLETED", |o| o.order_state == OrderState::Completed)
        .await;
    let to_channel = paid_at.elapsed();
    let order = h.order(&id);
    assert_eq!(bolt11_state(&order), PaymentState::Paid);
    let channel_info = order
        .channel
        .clone()
        .expect("a COMPLETED order has its channel");
    let outcome = tokio::time::timeout(STEP, pay)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(outcome, PaymentOutcome::Paid { amount_msat: Some(a), .. } if a == total_msat),
        "{outcome:?}"
    );
    eprintln!("bolt11 order: payment sent → order COMPLETED in {to_channel:?}");

    // The channel: LSP balance as ordered, the client's balance pushed, at the funding
    // outpoint the order names.
    let channels = h.server.node().channel_manager.list_channels();
    let channel = channels
        .iter()
        .find(|c| c.counterparty.node_id == h.client.node_id)
        .expect("the order's channel");
    assert_eq!(channel.channel_value_satoshis, 520_000);
    assert_eq!(
        channel.funding_txo.unwrap().txid,
        channel_info.funding_outpoint.txid.0
    );
    assert!(!channel.is_announced);
    let client_side = h.client.node.channel_manager.list_channels();
    assert_eq!(client_side.len(), 1);
    // The client's balance is what was pushed (minus nothing: it has not paid yet).
    assert!(client_side[0].outbound_capacity_msat <= 20_000_000);
    assert!(client_side[0].inbound_capacity_msat > 400_000_000);

    // lightning-liquidity's client reads the same order.
    handler.check_order_status(&h.lsp(), order_id.clone());
    loop {
        let event = tokio::time::timeout(STEP, h.client.liquidity.next_event_async())
            .await
            .expect("OrderStatus");
        if let LiquidityEvent::LSPS1Client(LSPS1ClientEvent::OrderStatus {
            payment, channel, ..
        }) = event
        {
            assert_eq!(payment.bolt11.unwrap().state, LSPS1PaymentState::Paid);
            assert!(channel.is_some());
            break;
        }
    }

    // A payment over the new channel: payer → LSP → client.
    let client_invoice = h
        .client
        .node
        .channel_manager
        .create_bolt11_invoice(Bolt11InvoiceParameters {
            amount_msats: Some(50_000_000),
            ..Default::default()
        })
        .unwrap();
    let over = payer
        .node()
        .pay_bolt11(&client_invoice, None, STEP)
        .await
        .unwrap();
    assert!(
        matches!(over, PaymentOutcome::Paid { .. }),
        "payment over the order's channel: {over:?}"
    );
    payer.shutdown().await;
    h.shutdown().await;
}

/// The client refuses the channel (it is larger than it accepts): the held payment is failed
/// back and the order fails; the payer gets its money back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_open_fails_the_payment_back_and_the_order() {
    let h = Harness::start(
        |_| {},
        |c| c.channel_handshake_limits.max_funding_satoshis = 100_000,
    )
    .await;
    let payer = h.payer(1_000_000, 200_000_000).await;
    let order = h.create_order(order_params(500_000, 0, 0)).await;
    let invoice = invoice_of(&order);
    let outcome = payer.node().pay_bolt11(&invoice, None, STEP).await.unwrap();
    assert!(
        matches!(outcome, PaymentOutcome::Failed { .. }),
        "{outcome:?}"
    );
    h.wait_order(&order.order_id, "FAILED", |o| {
        o.order_state == OrderState::Failed
    })
    .await;
    let order = h.order(&order.order_id);
    assert_eq!(bolt11_state(&order), PaymentState::Refunded);
    assert!(order.channel.is_none());
    assert!(
        h.server
            .node()
            .channel_manager
            .list_channels_with_counterparty(&h.client.node_id)
            .is_empty()
    );
    payer.shutdown().await;
    h.shutdown().await;
}

/// An order nobody pays fails when its options expire; the options keep EXPECT_PAYMENT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaid_order_expires() {
    let h = Harness::start(|c| c.payment_expiry_secs = 1, |_| {}).await;
    let order = h.create_order(order_params(500_000, 0, 0)).await;
    assert_eq!(order.order_state, OrderState::Created);
    h.wait_order(&order.order_id, "FAILED", |o| {
        o.order_state == OrderState::Failed
    })
    .await;
    let order = h.order(&order.order_id);
    assert_eq!(bolt11_state(&order), PaymentState::ExpectPayment);
    assert!(order.channel.is_none());
    h.shutdown().await;
}

/// Pays `sat` to `address` from the client's wallet (coins mined to it first).
fn pay_onchain(h: &Harness, address: &str, sat: u64) -> bitcoin::Txid {
    let wallet = &h.client.node.wallet;
    if wallet.balance().confirmed.to_sat() < sat + 10_000 {
        let script = wallet.new_address().unwrap().script_pubkey();
        h.chain.mine(101, &script).unwrap();
    }
    let address = bitcoin::Address::from_str(address)
        .unwrap()
        .assume_checked();
    let tx = wallet
        .pay_to_script(
            address.script_pubkey(),
            bitcoin::Amount::from_sat(sat),
            1_000,
        )
        .unwrap();
    h.chain.submit(tx.clone()).unwrap();
    tx.compute_txid()
}

async fn wait_wallet_height(h: &Harness) {
    let height = h.chain.best_block().height;
    tokio::time::timeout(STEP, h.server.node().wait_for_height(height))
        .await
        .unwrap();
}

/// On-chain: the payment counts after the confirmations the order asked for; the channel
/// opens and, after `required_channel_confirmations`, the order completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onchain_paid_with_confirmations_completes() {
    let h = Harness::start(|c| c.min_onchain_payment_confirmations = 2, |_| {}).await;
    let refund = h.client.node.wallet.new_address().unwrap().to_string();
    let mut params = order_params(300_000, 0, 1);
    params["refund_onchain_address"] = refund.into();
    let order = h.create_order(params).await;
    let onchain = order.payment.onchain.clone().expect("on-chain offered");
    pay_onchain(&h, onchain.address.as_str(), onchain.order_total_sat.get());
    h.mine(1);
    wait_wallet_height(&h).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // One confirmation of two: not yet.
    assert_eq!(
        onchain_state(&h.order(&order.order_id)),
        PaymentState::ExpectPayment
    );
    let paid_at = Instant::now();
    h.mine(1);
    h.wait_order(&order.order_id, "PAID", |o| {
        onchain_state(o) == PaymentState::Paid
    })
    .await;
    // The channel's funding needs its one confirmation: mine until the LSP sees it confirmed
    // (the funding is broadcast at funding_signed, a moment after the open).
    let deadline = Instant::now() + STEP;
    loop {
        let confirmed = h
            .server
            .node()
            .channel_manager
            .list_channels_with_counterparty(&h.client.node_id)
            .iter()
            .any(|c| c.confirmations.unwrap_or(0) >= 1);
        if confirmed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the order's funding never confirmed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.mine(1);
    }
    h.wait_order(&order.order_id, "COMPLETED", |o| {
        o.order_state == OrderState::Completed
    })
    .await;
    eprintln!(
        "on-chain order: payment confirmed → order COMPLETED in {:?} (one block mined between)",
        paid_at.elapsed()
    );
    let order = h.order(&order.order_id);
    assert_eq!(onchain_state(&order), PaymentState::Paid);
    assert!(order.channel.is_some());
    h.shutdown().await;
}

/// On-chain under-payment: nothing opens; when the option expires everything received goes
/// back to the refund address, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onchain_underpayment_is_refunded_after_expiry() {
    let h = Harness::start(
        |c| {
            c.payment_expiry_secs = 3;
            c.min_onchain_payment_confirmations = 1;
        },
        |_| {},
    )
    .await;
    let refund = h.client.node.wallet.new_address().unwrap();
    let mut params = order_params(300_000, 100_000, 0);
    params["refund_onchain_address"] = refund.to_string().into();
    let order = h.create_order(params).await;
    let onchain = order.payment.onchain.clone().expect("on-chain offered");
    let paid = onchain.order_total_sat.get() / 2;
    pay_onchain(&h, onchain.address.as_str(), paid);
    h.mine(1);
    h.wait_order(&order.order_id, "FAILED", |o| {
        o.order_state == OrderState::Failed
    })
    .await;
    // The refund is in the mempool; mine it and find it at the refund address.
    let deadline = Instant::now() + STEP;
    loop {
        let received = h
            .client
            .node
            .wallet
            .received_at(&refund.script_pubkey())
            .unwrap();
        if let Some(output) = received.first() {
            assert!(output.amount.to_sat() < paid && output.amount.to_sat() + 5_000 > paid);
            assert_eq!(received.len(), 1, "refunded once");
            break;
        }
        assert!(Instant::now() < deadline, "no refund arrived");
        // Broadcasts reach the dev chain's block template, not its mempool list.
        tokio::time::sleep(Duration::from_millis(250)).await;
        h.mine(1);
    }
    let order = h.order(&order.order_id);
    assert_eq!(onchain_state(&order), PaymentState::ExpectPayment);
    h.shutdown().await;
}

/// A refund stuck on a congested chain (the miner leaves transactions below a fee floor) is
/// fee-bumped once it has waited `refund_bump_after_secs`: the replacement pays more, evicts
/// the stuck refund from the mempool and is mined; the refund address is paid once (LSPS1-R56).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_refund_is_fee_bumped_and_the_replacement_confirms() {
    let h = Harness::start(
        |c| {
            c.payment_expiry_secs = 3;
            c.min_onchain_payment_confirmations = 1;
            c.refund_bump_after_secs = 2;
        },
        |_| {},
    )
    .await;
    let refund = h.client.node.wallet.new_address().unwrap();
    let mut params = order_params(300_000, 100_000, 0);
    params["refund_onchain_address"] = refund.to_string().into();
    let order = h.create_order(params).await;
    let onchain = order.payment.onchain.clone().expect("on-chain offered");
    let paid = onchain.order_total_sat.get() / 2;
    let payment = pay_onchain(&h, onchain.address.as_str(), paid);
    h.mine(1);
    assert!(h.chain.find_tx(&payment).unwrap().block.is_some());
    // From now on the chain is congested: the refund (sent at the dev chain's 1000 sat/kWU)
    // stays behind; the bump pays twice the urgent estimate.
    h.chain.set_mining_min_fee_rate(1_500);
    h.wait_order(&order.order_id, "FAILED", |o| {
        o.order_state == OrderState::Failed
    })
    .await;
    let pays_refund = |txid: &bitcoin::Txid| {
        h.chain.find_tx(txid).is_some_and(|f| {
            f.tx.output
                .iter()
                .any(|o| o.script_pubkey == refund.script_pubkey())
        })
    };
    let deadline = Instant::now() + STEP;
    let stuck = loop {
        if let Some(txid) = h.chain.mempool_txids().into_iter().find(|t| pays_refund(t)) {
            break txid;
        }
        assert!(Instant::now() < deadline, "no refund was broadcast");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    h.mine(2);
    assert!(
        h.chain.in_mempool(&stuck),
        "the refund is stuck below the floor"
    );
    // After refund_bump_after_secs the LSP replaces it with a higher fee.
    let bumped = loop {
        if let Some(txid) = h
            .chain
            .mempool_txids()
            .into_iter()
            .find(|t| *t != stuck && pays_refund(t))
        {
            break txid;
        }
        assert!(
            Instant::now() < deadline,
            "the stuck refund was never fee-bumped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!h.chain.in_mempool(&stuck), "the replacement evicted it");
    h.mine(1);
    assert!(h.chain.find_tx(&bumped).unwrap().block.is_some());
    assert!(h.chain.find_tx(&stuck).is_none());
    wait_wallet_height(&h).await;
    let received = h
        .client
        .node
        .wallet
        .received_at(&refund.script_pubkey())
        .unwrap();
    assert_eq!(received.len(), 1, "refunded once: {received:?}");
    assert!(received[0].amount.to_sat() < paid);
    h.shutdown().await;
}

/// The client stays away after paying: nothing opens, and as the held HTLCs near their claim
/// deadline (blocks mined) they are failed back — REFUNDED, FAILED, the payer repaid
/// (LSPS1-R41).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_payment_is_failed_back_before_its_deadline() {
    let h = Harness::start(|_| {}, |_| {}).await;
    let payer = h.payer(1_000_000, 200_000_000).await;
    let order = h.create_order(order_params(500_000, 0, 0)).await;
    h.client.node.peer_manager.disconnect_by_node_id(h.lsp());
    let pay = {
        let node = payer.node().clone();
        let invoice = invoice_of(&order);
        tokio::spawn(async move { node.pay_bolt11(&invoice, None, STEP).await })
    };
    h.wait_order(&order.order_id, "HOLD", |o| {
        bolt11_state(o) == PaymentState::Hold
    })
    .await;
    // The hold invoice's CLTV leaves room for an open; without a client, blocks run it down.
    let deadline = Instant::now() + STEP;
    while h.order(&order.order_id).order_state == OrderState::Created {
        assert!(Instant::now() < deadline, "held payment never failed back");
        h.mine(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let order = h.order(&order.order_id);
    assert_eq!(order.order_state, OrderState::Failed);
    assert_eq!(bolt11_state(&order), PaymentState::Refunded);
    let outcome = tokio::time::timeout(STEP, pay)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        matches!(outcome, PaymentOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert!(
        h.server
            .node()
            .channel_manager
            .list_channels_with_counterparty(&h.client.node_id)
            .is_empty()
    );
    payer.shutdown().await;
    h.shutdown().await;
}
