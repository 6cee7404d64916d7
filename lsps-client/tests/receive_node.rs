//! The JIT-receiving wallet (`receive::JitWallet`) on real nodes over loopback BOLT8, all on
//! one in-memory dev chain: it buys from lightning-liquidity's LSPS2 service (testkit) through
//! its own node's PeerManager (one identity), its invoice follows bLIP-52, and its channel
//! policy refuses a stranger's zero-conf channel. Then the whole flow with the shared payer:
//! the payment reaches the LSP on the JIT SCID, lightning-liquidity has the channel opened
//! and forwards minus the fee, and the wallet checks the skim and claims (fixed and variable
//! amount) — or fails the payment back when the skim exceeds the promise.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash as _;
use lightning::events::Event;
use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::types::payment::PaymentHash;
use lsps_client::BuyLimits;
use lsps_client::receive::invoice::check_jit_invoice;
use lsps_client::receive::{JitWallet, PaymentOutcome, StrangerChannels, WalletConfig};
use lsps_core::types::Msat;
use lsps_node::OpenChannel;
use lsps_node::chain::DevChain;
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};
use testkit::payer::Payer;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

async fn wallet_for(lsp: &LdkLsp, chain: &Arc<DevChain>, dir: &std::path::Path) -> JitWallet {
    JitWallet::start(WalletConfig {
        data_dir: dir.to_owned(),
        lsp: lsp.connection_string().parse().unwrap(),
        chain: chain.clone(),
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        strangers: StrangerChannels::Reject,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buys_over_the_node_identity_and_makes_the_blip52_invoice() {
    let chain = Arc::new(DevChain::in_memory());
    let lsp = LdkLsp::start_on(chain.clone(), LdkLspConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wallet = wallet_for(&lsp, &chain, dir.path()).await;

    let purchase = wallet
        .buy(None, 0, Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap();
    // lightning-liquidity binds its promise to the buyer's node id and answered over the
    // session of the wallet's node: LSPS and channel share one identity.
    assert!(
        lsp.node()
            .peer_manager
            .peer_by_node_id(&wallet.node_id())
            .is_some()
    );
    assert_eq!(purchase.lsp, lsp.node_id());
    assert_eq!(purchase.buy.lsp_cltv_expiry_delta, 144);

    let invoice = wallet
        .invoice(&purchase, "test", Duration::from_secs(600))
        .unwrap();
    assert_eq!(
        check_jit_invoice(
            &invoice,
            &purchase,
            wallet.node_id(),
            MIN_FINAL_CLTV_EXPIRY_DELTA
        ),
        vec![]
    );
    // The purchase is on disk before the invoice is handed out.
    let records = std::fs::read_dir(dir.path().join("lsps2-receive"))
        .unwrap()
        .count();
    assert_eq!(records, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_conf_channel_from_a_stranger_is_refused() {
    let chain = Arc::new(DevChain::in_memory());
    let lsp = LdkLsp::start_on(chain.clone(), LdkLspConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wallet = wallet_for(&lsp, &chain, dir.path()).await;
    // A live purchase: the LSP's channel would be welcome; the stranger's is not.
    wallet
        .buy(None, 0, None, &BuyLimits::default())
        .await
        .unwrap();

    let stranger =
        testkit::ldk_node::build_node_on(chain.clone(), lsps_node::NodeConfig::new(""), None, None)
            .await
            .unwrap();
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let _events = stranger.spawn_events_with(move |event| {
        if let Event::ChannelClosed { reason, .. } = event {
            let _ = closed_tx.send(reason.to_string());
        }
        Ok(())
    });
    chain
        .mine(101, &stranger.wallet.new_address().unwrap().script_pubkey())
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(lsps_node::net::accept_inbound(
        listener,
        stranger.peer_manager.clone(),
    ));
    wallet
        .node()
        .connect(stranger.node_id, addr, Duration::from_secs(10))
        .await
        .unwrap();

    stranger
        .open_channel(&OpenChannel {
            peer: wallet.node_id(),
            amount_sat: 200_000,
            push_msat: 0,
            zero_conf: true,
            announce: false,
            ..OpenChannel::new(wallet.node_id(), 200_000)
        })
        .unwrap();
    let reason = tokio::time::timeout(WAIT, closed.recv())
        .await
        .expect("the stranger's channel is closed")
        .unwrap();
    assert!(reason.contains("no JIT purchase"), "{reason}");
    assert!(wallet.node().channel_manager.list_channels().is_empty());
    assert!(stranger.channel_manager.list_channels().is_empty());
}

/// An LSP on `chain` with coins to open channels, a wallet buying from it, and a payer with a
/// confirmed channel to it.
struct Flow {
    chain: Arc<DevChain>,
    lsp: LdkLsp,
    wallet: JitWallet,
    payer: Payer,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn flow() -> Flow {
    let chain = Arc::new(DevChain::in_memory());
    let lsp = LdkLsp::start_on(chain.clone(), LdkLspConfig::default())
        .await
        .unwrap();
    let burn = bitcoin::ScriptBuf::new_op_return([0x6au8; 4]);
    chain
        .mine(1, &lsp.node().wallet.new_address().unwrap().script_pubkey())
        .unwrap();
    chain.mine(100, &burn).unwrap();
    let wallet_dir = tempfile::tempdir().unwrap();
    let wallet = wallet_for(&lsp, &chain, wallet_dir.path()).await;
    let payer_dir = tempfile::tempdir().unwrap();
    let payer = Payer::start(payer_dir.path(), chain.clone()).await.unwrap();
    payer
        .ensure_channel(
            lsp.node_id(),
            lsp.addr(),
            2_000_000,
            200_000_000,
            chain.as_ref(),
        )
        .await
        .unwrap();
    // The LSP's wallet has seen every block (its coins are mature).
    tokio::time::timeout(WAIT, lsp.node().wait_for_height(chain.best_block().height))
        .await
        .unwrap();
    Flow {
        chain,
        lsp,
        wallet,
        payer,
        _dirs: (wallet_dir, payer_dir),
    }
}

fn hash_of(invoice: &lightning::bolt11_invoice::Bolt11Invoice) -> PaymentHash {
    PaymentHash(invoice.payment_hash().to_byte_array())
}

/// Pays `invoice` from the payer while the wallet waits; returns both outcomes.
async fn pay_and_receive(
    flow: &Flow,
    invoice: &lightning::bolt11_invoice::Bolt11Invoice,
    amount_msat: Option<u64>,
) -> (PaymentOutcome, lsps_node::payments::PaymentOutcome) {
    let (received, paid) = tokio::join!(
        flow.wallet.wait_for_payment(hash_of(invoice), WAIT),
        flow.payer.pay(invoice, amount_msat, WAIT),
    );
    (received, paid.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receives_through_lightning_liquiditys_jit_service_fixed_amount() {
    let flow = flow().await;
    let purchase = flow
        .wallet
        .buy(None, 0, Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap();
    let invoice = flow
        .wallet
        .invoice(&purchase, "fixed", Duration::from_secs(600))
        .unwrap();
    let (received, paid) = pay_and_receive(&flow, &invoice, None).await;

    // 2 000 ppm of 50 000 000 msat: the LSP took exactly the promised 100 000 msat.
    let PaymentOutcome::Received(received) = received else {
        panic!("not received: {received:?}");
    };
    assert_eq!(received.received_msat, Msat(49_900_000));
    assert_eq!(received.skimmed_fee_msat, Msat(100_000));
    assert_eq!(received.promised_opening_fee_msat, Msat(100_000));
    assert!(
        matches!(paid, lsps_node::payments::PaymentOutcome::Paid { .. }),
        "{paid:?}"
    );
    // The purchase is over: its channel is no longer expected.
    assert_eq!(flow.wallet.policy().expected_purchases(), 0);
    // The JIT channel: from the LSP, unannounced, scid alias, and the one the payment used.
    let channels = flow.wallet.node().channel_manager.list_channels();
    assert_eq!(channels.len(), 1);
    let channel = &channels[0];
    assert_eq!(channel.counterparty.node_id, flow.lsp.node_id());
    assert!(!channel.is_announced);
    assert!(
        channel
            .channel_type
            .as_ref()
            .is_some_and(|t| t.supports_scid_privacy())
    );
    assert_eq!(channel.channel_id.to_string(), received.channel_id);
    // Our balance is the payment minus the fee once the claim's commitment update is through;
    // what we can send is that minus our reserve.
    assert!(flow.wallet.wait_settled(hash_of(&invoice), WAIT).await);
    let channel = &flow.wallet.node().channel_manager.list_channels()[0];
    assert!(channel.outbound_capacity_msat > 40_000_000, "{channel:?}");
    let _ = &flow.chain;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receives_a_variable_amount_without_mpp() {
    let flow = flow().await;
    let purchase = flow
        .wallet
        .buy(None, 0, None, &BuyLimits::default())
        .await
        .unwrap();
    let invoice = flow
        .wallet
        .invoice(&purchase, "variable", Duration::from_secs(600))
        .unwrap();
    assert_eq!(invoice.amount_milli_satoshis(), None);
    let (received, paid) = pay_and_receive(&flow, &invoice, Some(10_000_000)).await;
    // max(5 000, 2 000 ppm of 10 000 000) = 20 000 msat.
    let PaymentOutcome::Received(received) = received else {
        panic!("not received: {received:?}");
    };
    assert_eq!(received.received_msat, Msat(9_980_000));
    assert_eq!(received.skimmed_fee_msat, Msat(20_000));
    assert!(
        matches!(paid, lsps_node::payments::PaymentOutcome::Paid { .. }),
        "{paid:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skim_above_the_promised_fee_is_failed_back() {
    let flow = flow().await;
    let mut purchase = flow
        .wallet
        .buy(None, 0, Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap();
    // The LSP will skim 2 000 ppm (100 000 msat); the wallet is told it was promised 1 000 ppm
    // (50 000 msat) — as if the LSP took more than it promised.
    purchase.params.proportional = lsps_core::types::Ppm(1_000);
    let invoice = flow
        .wallet
        .invoice(&purchase, "overcharged", Duration::from_secs(600))
        .unwrap();
    let (received, paid) = pay_and_receive(&flow, &invoice, None).await;
    let PaymentOutcome::FailedBack(why) = received else {
        panic!("not failed back: {received:?}");
    };
    assert!(why.contains("skimmed 100000"), "{why}");
    assert!(
        matches!(paid, lsps_node::payments::PaymentOutcome::Failed { .. }),
        "{paid:?}"
    );
    // Nothing was claimed: the wallet's channel holds no balance of ours.
    let channels = flow.wallet.node().channel_manager.list_channels();
    assert!(
        channels.iter().all(|c| c.outbound_capacity_msat == 0),
        "{channels:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_wallet_still_checks_and_claims() {
    let Flow {
        chain,
        lsp,
        wallet,
        payer,
        _dirs: dirs,
    } = flow().await;
    let purchase = wallet
        .buy(None, 0, Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap();
    let invoice = wallet
        .invoice(&purchase, "restart", Duration::from_secs(600))
        .unwrap();
    // The wallet stops after showing the invoice; the purchase it persisted is all the new
    // process knows about the payment (which channel to take, which fee to accept).
    wallet.stop().await;
    let wallet = wallet_for(&lsp, &chain, dirs.0.path()).await;
    let (received, paid) = tokio::join!(
        wallet.wait_for_payment(hash_of(&invoice), WAIT),
        payer.pay(&invoice, None, WAIT),
    );
    let PaymentOutcome::Received(received) = received else {
        panic!("not received: {received:?}");
    };
    assert_eq!(received.skimmed_fee_msat, Msat(100_000));
    assert_eq!(received.promised_opening_fee_msat, Msat(100_000));
    assert!(matches!(
        paid.unwrap(),
        lsps_node::payments::PaymentOutcome::Paid { .. }
    ),);
    // Settled: the record is gone, and so is the expectation of the purchase's channel (the
    // restarted wallet expected it from the record).
    let left = std::fs::read_dir(dirs.0.path().join("lsps2-receive"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
    assert_eq!(wallet.policy().expected_purchases(), 0);
}
