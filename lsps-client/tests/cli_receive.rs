//! `lsps lsps2 receive` as a user runs it: the binary's wallet node follows a dev chain over
//! its RPC (found in the chain dir, as a dev server writes it), buys from lightning-liquidity's
//! LSPS2 service (testkit, on the same chain), prints the invoice alone on its first line; the
//! shared payer pays it; the last line reports what arrived. Also the exit codes.
#![cfg(feature = "node")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lightning::bolt11_invoice::Bolt11Invoice;
use lsps_node::chain::dev_service::{DevChainService, DevChainServiceConfig};
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};
use testkit::payer::{Payer, PaymentOutcome};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

mod common;

const WAIT: Duration = Duration::from_secs(60);

struct DevSetup {
    service: DevChainService,
    lsp: LdkLsp,
    chain_dir: tempfile::TempDir,
}

async fn dev_setup() -> DevSetup {
    let chain_dir = tempfile::tempdir().unwrap();
    let service = DevChainService::start(DevChainServiceConfig {
        dir: chain_dir.path().to_owned(),
        rpc_listen: "127.0.0.1:0".parse().unwrap(),
        block_interval: None,
        user_password: None,
    })
    .await
    .unwrap();
    let chain = service.chain.clone();
    let lsp = LdkLsp::start_on(chain.clone(), LdkLspConfig::default())
        .await
        .unwrap();
    chain
        .mine(1, &lsp.node().wallet.new_address().unwrap().script_pubkey())
        .unwrap();
    chain
        .mine(100, &bitcoin::ScriptBuf::new_op_return([0x6au8; 4]))
        .unwrap();
    DevSetup {
        service,
        lsp,
        chain_dir,
    }
}

fn receive_command(setup: &DevSetup, data_dir: &std::path::Path, extra: &[&str]) -> Command {
    common::wallet_command(
        &setup.lsp.connection_string(),
        data_dir,
        &["lsps2", "receive"],
        setup.chain_dir.path(),
        extra,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_prints_the_invoice_then_what_arrived() {
    let setup = dev_setup().await;
    let payer_dir = tempfile::tempdir().unwrap();
    let payer = Payer::start(payer_dir.path(), setup.service.chain.clone())
        .await
        .unwrap();
    payer
        .ensure_channel(
            setup.lsp.node_id(),
            setup.lsp.addr(),
            2_000_000,
            200_000_000,
            setup.service.chain.as_ref(),
        )
        .await
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = receive_command(
        &setup,
        data_dir.path(),
        &["--amount-msat", "50000000", "--wait-secs", "60"],
    )
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the invoice line")
        .unwrap()
        .expect("a first line");
    let invoice: Bolt11Invoice = first.parse().expect("the first line is the invoice alone");
    assert_eq!(invoice.amount_milli_satoshis(), Some(50_000_000));
    assert_eq!(
        invoice.route_hints()[0].0[0].src_node_id,
        setup.lsp.node_id()
    );

    let stderr = child.stderr.take().unwrap();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("lsps: {line}");
        }
    });
    let paid = payer.pay(&invoice, None, WAIT).await.unwrap();
    assert!(matches!(paid, PaymentOutcome::Paid { .. }), "{paid:?}");
    let last = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the receipt line")
        .unwrap()
        .expect("a last line");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    // The transcript, for a reader of the test log.
    eprintln!("stdout line 1: {first}\nstdout last:   {last}\nexit: {status}");
    assert_eq!(status.code(), Some(0), "{last}");
    let fields: Vec<&str> = last.split(' ').collect();
    assert_eq!(fields[0], "received_msat=49900000", "{last}");
    assert_eq!(fields[1], "opening_fee_msat=100000", "{last}");
    let channel_id = fields[2].strip_prefix("channel_id=").expect(&last);
    assert_eq!(channel_id.len(), 64, "{last}");
    assert!(lines.next_line().await.unwrap().is_none());
    let _ = &setup.service;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_exits_1_when_nothing_arrives_in_time() {
    let setup = dev_setup().await;
    let data_dir = tempfile::tempdir().unwrap();
    let output = receive_command(&setup, data_dir.path(), &["--wait-secs", "1", "--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    // Variable mode: an invoice without an amount, then the failure as JSON.
    let invoice: Bolt11Invoice = lines.next().unwrap().parse().unwrap();
    assert_eq!(invoice.amount_milli_satoshis(), None);
    let error: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(error["error"]["kind"], "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_exits_2_without_a_chain_or_with_an_http_target() {
    let setup = dev_setup().await;
    let data_dir = tempfile::tempdir().unwrap();
    let missing_chain = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lsps"))
        .arg("--target")
        .arg(setup.lsp.connection_string())
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["lsps2", "receive", "--chain-dir"])
        .arg(missing_chain.path())
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("rpc.url"),
        "{output:?}"
    );
    assert!(output.stdout.is_empty());

    let output = Command::new(env!("CARGO_BIN_EXE_lsps"))
        .args(["--target", "http://127.0.0.1:9/", "--data-dir"])
        .arg(data_dir.path())
        .args(["lsps2", "receive"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("BOLT8"),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_exits_1_when_the_fee_is_above_the_limit() {
    let setup = dev_setup().await;
    let data_dir = tempfile::tempdir().unwrap();
    // The cheapest entry's minimum fee is 5 000 msat.
    let output = receive_command(&setup, data_dir.path(), &["--max-fee-msat", "4999"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no invoice: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("above the limit"),
        "{output:?}"
    );
}
