//! The JIT-receiving wallet (`receive::JitWallet`) on real nodes over loopback BOLT8, all on
//! one in-memory dev chain: it buys from lightning-liquidity's LSPS2 service (testkit) through
//! its own node's PeerManager (one identity), its invoice follows bLIP-52, and its channel
//! policy refuses a stranger's zero-conf channel.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use lightning::events::Event;
use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lsps_client::BuyLimits;
use lsps_client::receive::invoice::check_jit_invoice;
use lsps_client::receive::{JitWallet, StrangerChannels, WalletConfig};
use lsps_core::types::Msat;
use lsps_node::OpenChannel;
use lsps_node::chain::DevChain;
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};
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
