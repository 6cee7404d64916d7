//! The payer: it funds itself, opens a confirmed channel to another node, pays that node's
//! invoice and reports the preimage; a payment that cannot succeed is reported as failed with
//! the path failures LDK saw; a restarted payer reuses its channel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use lightning::events::Event;
use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lsps_node::chain::DevChain;
use lsps_node::payer::Payer;
use lsps_node::payments::PaymentOutcome;
use lsps_node::{Node, NodeConfig};
use tokio::sync::watch;

type TestNode = Node<IgnoringMessageHandler>;

/// A node that claims every payment it receives, listening on loopback.
async fn payee(
    chain: &Arc<DevChain>,
    dir: &std::path::Path,
) -> (Arc<TestNode>, std::net::SocketAddr, watch::Sender<bool>) {
    let node = Node::start(
        NodeConfig::new(dir),
        chain.clone(),
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(lsps_node::net::accept_inbound(
        listener,
        node.peer_manager.clone(),
    ));
    let (stop, stop_rx) = watch::channel(false);
    let manager = node.channel_manager.clone();
    tokio::spawn(node.clone().run_events(stop_rx, move |event| {
        if let Event::PaymentClaimable { purpose, .. } = event
            && let Some(preimage) = purpose.preimage()
        {
            manager.claim_funds(preimage);
        }
        Ok(())
    }));
    (node, addr, stop)
}

fn invoice(node: &TestNode, amount_msat: u64) -> lightning::bolt11_invoice::Bolt11Invoice {
    node.channel_manager
        .create_bolt11_invoice(Bolt11InvoiceParameters {
            amount_msats: Some(amount_msat),
            ..Default::default()
        })
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payer_opens_a_confirmed_channel_and_pays() {
    let chain = Arc::new(DevChain::in_memory());
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (lsp, lsp_addr, _stop) = payee(&chain, dirs[0].path()).await;
    let payer = Payer::start(dirs[1].path(), chain.clone()).await.unwrap();
    payer
        .ensure_channel(
            lsp.node_id(),
            lsp_addr,
            500_000,
            100_000_000,
            chain.as_ref(),
        )
        .await
        .unwrap();
    let channels = payer.usable_channels_to(&lsp.node_id());
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].channel_value_satoshis, 500_000);
    assert!(channels[0].confirmations.unwrap() >= 6);

    let invoice = invoice(&lsp, 21_000_000);
    let outcome = payer.pay(&invoice, None, WAIT).await.unwrap();
    let PaymentOutcome::Paid {
        payment_hash,
        preimage,
        fee_paid_msat,
        ..
    } = outcome
    else {
        panic!("not paid: {outcome:?}");
    };
    use bitcoin::hashes::Hash;
    assert_eq!(payment_hash.0, invoice.payment_hash().to_byte_array());
    let hashed = lightning::types::payment::PaymentHash::from(preimage);
    assert_eq!(hashed, payment_hash);
    assert_eq!(fee_paid_msat, Some(0), "a direct channel charges no fee");

    // Asking again does not open a second channel.
    payer
        .ensure_channel(lsp.node_id(), lsp_addr, 500_000, 1_000_000, chain.as_ref())
        .await
        .unwrap();
    assert_eq!(payer.node().channel_manager.list_channels().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_beyond_the_channel_fails_with_an_outcome() {
    let chain = Arc::new(DevChain::in_memory());
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (lsp, lsp_addr, _stop) = payee(&chain, dirs[0].path()).await;
    let payer = Payer::start(dirs[1].path(), chain.clone()).await.unwrap();
    payer
        .ensure_channel(lsp.node_id(), lsp_addr, 200_000, 1_000_000, chain.as_ref())
        .await
        .unwrap();
    // More than the channel can carry: LDK finds no route and says so at once.
    let invoice = invoice(&lsp, 300_000_000);
    match payer.pay(&invoice, None, WAIT).await {
        Err(lsps_node::NodeError::PaymentNotStarted(_)) | Ok(PaymentOutcome::Failed { .. }) => {}
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_payer_reuses_its_channel() {
    let chain = Arc::new(DevChain::in_memory());
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (lsp, lsp_addr, _stop) = payee(&chain, dirs[0].path()).await;
    {
        let payer = Payer::start(dirs[1].path(), chain.clone()).await.unwrap();
        payer
            .ensure_channel(lsp.node_id(), lsp_addr, 300_000, 1_000_000, chain.as_ref())
            .await
            .unwrap();
        payer.shutdown().await;
    }
    let height = chain.best_block().height;
    let payer = Payer::start(dirs[1].path(), chain.clone()).await.unwrap();
    payer
        .ensure_channel(lsp.node_id(), lsp_addr, 300_000, 1_000_000, chain.as_ref())
        .await
        .unwrap();
    assert_eq!(chain.best_block().height, height, "nothing was mined again");
    assert_eq!(payer.node().channel_manager.list_channels().len(), 1);
    let outcome = payer
        .pay(&invoice(&lsp, 5_000_000), None, WAIT)
        .await
        .unwrap();
    assert!(
        matches!(outcome, PaymentOutcome::Paid { .. }),
        "{outcome:?}"
    );
}
