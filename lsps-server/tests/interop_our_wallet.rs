//! Interop pair "our client ⇄ our server": lsps-client's JIT-receiving wallet
//! (`lsps_client::receive::JitWallet`, what `lsps lsps2 receive` runs) buys from the reference
//! LSP over its own node's BOLT8 session and receives through the JIT channel the server opens;
//! the shared payer pays. All in-process on the server's dev chain, loopback only.
//!
//! LSPS2-R64: having received payment − fee, the wallet claims (the payer sees it paid).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::Hash as _;
use lightning::types::payment::PaymentHash;
use lsps_client::BuyLimits;
use lsps_client::receive::{JitWallet, PaymentOutcome, StrangerChannels, WalletConfig};
use lsps_core::types::Msat;
use lsps_node::chain::DevChain;
use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use testkit::payer::Payer;

const WAIT: Duration = Duration::from_secs(30);

async fn receive_through_our_server(size: Option<u64>, pay_msat: u64) {
    let server_dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(server_dir.path()))
        .await
        .unwrap();
    let chain: Arc<DevChain> = server.dev_chain().unwrap().clone();
    let payer_dir = tempfile::tempdir().unwrap();
    let payer = Payer::start(payer_dir.path(), chain.clone()).await.unwrap();
    payer
        .ensure_channel(
            server.node_id(),
            server.bolt8_addr(),
            2_000_000,
            500_000_000,
            chain.as_ref(),
        )
        .await
        .unwrap();
    let wallet_dir = tempfile::tempdir().unwrap();
    let wallet = JitWallet::start(WalletConfig {
        data_dir: wallet_dir.path().to_owned(),
        lsp: format!("{}@{}", server.node_id(), server.bolt8_addr())
            .parse()
            .unwrap(),
        chain: chain.clone(),
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        strangers: StrangerChannels::Reject,
    })
    .await
    .unwrap();

    let purchase = wallet
        .buy(None, 0, size.map(Msat), &BuyLimits::default())
        .await
        .unwrap();
    let invoice = wallet
        .invoice(&purchase, "our server", Duration::from_secs(600))
        .unwrap();
    let hash = PaymentHash(invoice.payment_hash().to_byte_array());
    let amount = size.is_none().then_some(pay_msat);
    let (received, paid) = tokio::join!(
        wallet.wait_for_payment(hash, WAIT),
        payer.pay(&invoice, amount, WAIT),
    );
    let PaymentOutcome::Received(received) = received else {
        panic!("not received: {received:?}");
    };
    let promised = purchase.params.opening_fee(Msat(pay_msat)).unwrap();
    assert_eq!(received.skimmed_fee_msat, promised);
    assert_eq!(received.received_msat, Msat(pay_msat - promised.get()));
    assert!(
        matches!(paid.unwrap(), testkit::payer::PaymentOutcome::Paid { .. }),
        "the payer sees the payment succeed"
    );
    assert!(wallet.wait_settled(hash, WAIT).await);
    let channels = wallet.node().channel_manager.list_channels();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].counterparty.node_id, server.node_id());
    wallet.stop().await;
    payer.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_wallet_receives_a_fixed_amount_through_our_server() {
    receive_through_our_server(Some(50_000_000), 50_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_wallet_receives_a_variable_amount_through_our_server() {
    receive_through_our_server(None, 20_000_000).await;
}
