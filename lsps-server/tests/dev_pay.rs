//! `lsps-server dev pay`: the dev server's payer pays an invoice through the LSP (the real
//! binary as a child process, finding the server through `admin.json`); a payment that cannot
//! be routed exits 1 with the reason; no dev server exits 2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use lightning::events::Event;
use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lsps_node::{Node, NodeConfig, OpenChannel};
use lsps_server::config::ServerConfig;
use lsps_server::{ReferenceServer, ServerHandle};
use tokio::sync::watch;

type Payee = Node<IgnoringMessageHandler>;

const WAIT: Duration = Duration::from_secs(60);

async fn dev_server(dir: &std::path::Path) -> ServerHandle {
    let mut config = ServerConfig::ephemeral(dir);
    config.dev_chain.payer = true;
    ReferenceServer::start(config).await.unwrap()
}

/// A node behind the LSP that claims what it receives: it opens a channel to the LSP and pushes
/// half of it, so the LSP can forward to it.
async fn payee_behind(
    server: &ServerHandle,
    dir: &std::path::Path,
) -> (Arc<Payee>, watch::Sender<bool>) {
    let chain = server.dev_chain().unwrap().clone();
    let payee = Node::start(
        NodeConfig::new(dir),
        chain.clone(),
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let manager = payee.channel_manager.clone();
    tokio::spawn(payee.clone().run_events(stop_rx, move |event| {
        if let Event::PaymentClaimable { purpose, .. } = event
            && let Some(preimage) = purpose.preimage()
        {
            manager.claim_funds(preimage);
        }
        Ok(())
    }));
    let coins = payee.wallet.new_address().unwrap().script_pubkey();
    chain.mine(1, &coins).unwrap();
    let burn = bitcoin::ScriptBuf::new_op_return([9u8; 4]);
    chain.mine(100, &burn).unwrap();
    payee.wait_for_height(chain.best_block().height).await;
    payee
        .connect(server.node_id(), server.bolt8_addr(), WAIT)
        .await
        .unwrap();
    payee
        .open_channel(&OpenChannel {
            peer: server.node_id(),
            amount_sat: 1_000_000,
            push_msat: 500_000_000,
            zero_conf: false,
            announce: false,
            ..OpenChannel::new(server.node_id(), 1_000_000)
        })
        .unwrap();
    let lsp = server.node_id();
    // Mine until the funding is in a block, then to the LSP's required depth.
    for _ in 0..20 {
        chain.mine(1, &burn).unwrap();
        let confirmed = tokio::time::timeout(
            Duration::from_secs(2),
            payee.wait_for_channels(|cs| cs.iter().any(|c| c.confirmations.unwrap_or(0) > 0)),
        )
        .await;
        if confirmed.is_ok() {
            break;
        }
    }
    chain.mine(6, &burn).unwrap();
    // Usable, and the LSP's channel_update arrived: the invoice's route hint is built from it
    // (LDK leaves a channel without one out of the hints, and the payer finds no route). No
    // LDK event announces a channel_update, so this waits by looking.
    let deadline = std::time::Instant::now() + WAIT;
    while !payee.channel_manager.list_channels().iter().any(|c| {
        c.counterparty.node_id == lsp && c.is_usable && c.counterparty.forwarding_info.is_some()
    }) {
        assert!(std::time::Instant::now() < deadline, "payee channel usable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (payee, stop)
}

fn dev_pay(data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lsps-server"))
        .args(["dev", "pay", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn field<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_pay_pays_through_the_lsp_and_reports_the_preimage() {
    let dir = tempfile::tempdir().unwrap();
    let payee_dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path()).await;
    let (payee, _stop) = payee_behind(&server, payee_dir.path()).await;
    server
        .dev_payer()
        .unwrap()
        .ready(WAIT)
        .await
        .expect("dev payer ready");
    let invoice = payee
        .channel_manager
        .create_bolt11_invoice(Bolt11InvoiceParameters {
            amount_msats: Some(12_345_000),
            ..Default::default()
        })
        .unwrap();
    let data_dir = dir.path().to_owned();
    let invoice_text = invoice.to_string();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || dev_pay(&data_dir, &[&invoice_text]))
            .await
            .unwrap();
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(field(&stdout, "status"), "paid");
    assert_eq!(
        field(&stdout, "payment_hash"),
        invoice.payment_hash().to_string()
    );
    let preimage = hex::decode(field(&stdout, "preimage")).unwrap();
    let hashed = lightning::types::payment::PaymentHash::from(
        lightning::types::payment::PaymentPreimage(preimage.try_into().unwrap()),
    );
    assert_eq!(hashed.to_string(), invoice.payment_hash().to_string());
    let fee: u64 = field(&stdout, "fee_paid_msat").parse().unwrap();
    assert!(fee > 0, "the LSP charged its forwarding fee: {stdout}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_invoice_exits_1_and_no_server_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path()).await;
    server.dev_payer().unwrap().ready(WAIT).await.unwrap();
    // An invoice of a node nobody has a channel to.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = Node::start(
        NodeConfig::new(stranger_dir.path()),
        server.dev_chain().unwrap().clone(),
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap();
    let invoice = stranger
        .channel_manager
        .create_bolt11_invoice(Bolt11InvoiceParameters {
            amount_msats: Some(1_000_000),
            ..Default::default()
        })
        .unwrap()
        .to_string();
    let data_dir = dir.path().to_owned();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        dev_pay(&data_dir, &["--timeout-secs", "10", &invoice])
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(field(&stdout, "status"), "failed");
    assert!(!field(&stdout, "reason").is_empty());

    let empty = tempfile::tempdir().unwrap();
    let (code, _, stderr) = dev_pay(empty.path(), &["lnbcrt1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no dev server"), "{stderr}");
    server.shutdown().await;
}
