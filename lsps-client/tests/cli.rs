#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `lsps` binary against the testkit LDK LSP over BOLT8.

use std::process::Output;

use serde_json::Value;
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};

// std's Command on a blocking thread: the LSP fixture keeps running on the runtime meanwhile.
async fn lsps(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_lsps"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_protocols_get_info_buy_and_raw_against_ldk() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let target = lsp.connection_string();

    let out = lsps(args(&["--target", &target, "list-protocols", "--json"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["protocols"], serde_json::json!([2]));

    let out = lsps(args(&["--target", &target, "--json", "lsps2", "get-info"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["opening_fee_params_menu"].as_array().unwrap().len(), 2);

    let out = lsps(args(&[
        "--target",
        &target,
        "lsps2",
        "buy",
        "--menu-index",
        "0",
        "--payment-size-msat",
        "50000000",
        "--json",
    ]))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"]["lsp_cltv_expiry_delta"], 144);
    assert_eq!(v["opening_fee_msat"], "100000");

    // A client-side check refuses before buying: exit code 1, message on stderr.
    let out = lsps(args(&[
        "--target",
        &target,
        "lsps2",
        "buy",
        "--menu-index",
        "0",
        "--payment-size-msat",
        "50000000",
        "--max-fee-msat",
        "10",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("above the limit"));

    let out = lsps(args(&[
        "--target",
        &target,
        "raw",
        r#"{"jsonrpc":"2.0","id":"r1","method":"lsps0.list_protocols","params":{}}"#,
    ]))
    .await;
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"jsonrpc":"2.0","id":"r1","result":{"protocols":[2]}}"#
    );
}

#[tokio::test]
async fn unreachable_target_and_bad_target_exit_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let key = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    let out = lsps(args(&[
        "--target",
        &format!("{key}@{addr}"),
        "--connect-timeout-ms",
        "2000",
        "list-protocols",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));

    let out = lsps(args(&["--target", "not-a-target", "list-protocols"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid target"));
}
