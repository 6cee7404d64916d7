#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `lsps` binary over BOLT8: against the testkit LDK LSP, and against a scripted LSP that
//! records every request (so the tests see that it asks for the LSP's terms before it orders
//! or buys: LSPS1-R2, LSPS2-R1).

use std::process::Output;

use serde_json::{Value, json};
use testkit::ldk_lsp::{LdkLsp, LdkLspConfig};
use testkit::scripted_lsp::{Reply, ScriptedLsp, ScriptedRequest};

/// The data directory every `lsps` of this test process uses (its node key lives there), so
/// the tests never touch the user's own.
fn data_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lsps-cli-test-{}", std::process::id()))
}

fn command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lsps"));
    command.env("LSPS_DATA_DIR", data_dir());
    command
}

// std's Command on a blocking thread: the LSP fixture keeps running on the runtime meanwhile.
async fn lsps(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || command().args(args).output().unwrap())
        .await
        .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs `lsps` with `list` and asserts it exits 0 (showing its stderr if not).
async fn lsps_ok(list: &[&str]) -> Output {
    let out = lsps(args(list)).await;
    assert!(
        out.status.success(),
        "lsps {list:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_protocols_get_info_buy_and_raw_against_ldk() {
    let lsp = LdkLsp::start(LdkLspConfig::default()).await.unwrap();
    let target = lsp.connection_string();

    let out = lsps_ok(&["--target", &target, "list-protocols", "--json"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["protocols"], json!([2]));

    let out = lsps_ok(&["--target", &target, "--json", "lsps2", "get-info"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["opening_fee_params_menu"].as_array().unwrap().len(), 2);

    let out = lsps_ok(&[
        "--target",
        &target,
        "lsps2",
        "buy",
        "--menu-index",
        "0",
        "--payment-size-msat",
        "50000000",
        "--json",
    ])
    .await;
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

/// An order echoing the `create_order` params `p`.
fn order(p: &Value) -> Value {
    json!({
        "order_id": "b3b8d3a1-cli",
        "lsp_balance_sat": p["lsp_balance_sat"],
        "client_balance_sat": p["client_balance_sat"],
        "required_channel_confirmations": p["required_channel_confirmations"],
        "funding_confirms_within_blocks": p["funding_confirms_within_blocks"],
        "channel_expiry_blocks": p["channel_expiry_blocks"],
        "token": "",
        "created_at": "2026-11-26T18:00:00.000Z",
        "announce_channel": p["announce_channel"],
        "order_state": "CREATED",
        "payment": {"bolt11": {
            "state": "EXPECT_PAYMENT",
            "expires_at": "2099-01-01T00:00:00.000Z",
            "fee_total_sat": "1000",
            "order_total_sat": "1000",
            "invoice": "lnbcrt10u1fake"
        }},
        "channel": null
    })
}

/// A scripted LSP (testkit::scripted_lsp, which records every request): LSPS1 get_info options,
/// create_order echoing the order, get_order; an LSPS2 menu of one entry and a buy.
async fn scripted_lsp() -> ScriptedLsp {
    ScriptedLsp::start(|req: &ScriptedRequest| {
        let reply = match req.method() {
            Some("lsps1.get_info") => req.result(json!({
                "min_required_channel_confirmations": 0,
                "min_funding_confirms_within_blocks": 6,
                "supports_zero_channel_reserve": false,
                "max_channel_expiry_blocks": 4032,
                "min_initial_client_balance_sat": "0",
                "max_initial_client_balance_sat": "0",
                "min_initial_lsp_balance_sat": "100000",
                "max_initial_lsp_balance_sat": "5000000",
                "min_channel_balance_sat": "100000",
                "max_channel_balance_sat": "5000000"
            })),
            Some("lsps1.create_order") => req.result(order(&req.params())),
            Some("lsps1.get_order") => req.result(order(&json!({
                "lsp_balance_sat": "200000",
                "client_balance_sat": "0",
                "required_channel_confirmations": 0,
                "funding_confirms_within_blocks": 6,
                "channel_expiry_blocks": 4032,
                "announce_channel": false
            }))),
            Some("lsps2.get_info") => req.result(json!({"opening_fee_params_menu": [{
                "min_fee_msat": "546000",
                "proportional": 1000,
                "valid_until": "2099-01-01T00:00:00.000Z",
                "min_lifetime": 1008,
                "max_client_to_self_delay": 2016,
                "min_payment_size_msat": "1000",
                "max_payment_size_msat": "1000000000",
                "promise": "scripted-promise"
            }]})),
            Some("lsps2.buy") => req.result(json!({
                "jit_channel_scid": "29451x4815x1",
                "lsp_cltv_expiry_delta": 144,
                "client_trusts_lsp": false
            })),
            _ => req.error(-32601, "Method not found", None),
        };
        vec![Reply::now(reply)]
    })
    .await
    .unwrap()
}

fn methods(lsp: &ScriptedLsp) -> Vec<String> {
    lsp.received()
        .iter()
        .filter_map(|r| r.method().map(str::to_string))
        .collect()
}

fn assert_asked_before(methods: &[String], first: &str, then: &str) {
    let at = |m: &str| methods.iter().position(|x| x == m);
    let (Some(a), Some(b)) = (at(first), at(then)) else {
        panic!("expected {first} and {then}, got {methods:?}");
    };
    assert!(a < b, "{first} not before {then}: {methods:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lsps1_get_info_create_order_and_get_order() {
    let lsp = scripted_lsp().await;
    let target = lsp.connection_string();

    let out = lsps_ok(&["--target", &target, "lsps1", "get-info"]).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("max_channel_expiry_blocks:          4032")
    );

    let out = lsps_ok(&[
        "--target",
        &target,
        "--json",
        "lsps1",
        "create-order",
        "--lsp-balance-sat",
        "200000",
    ])
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["order_id"], "b3b8d3a1-cli");
    assert_eq!(v["payment"]["bolt11"]["order_total_sat"], "1000");
    // Defaults came from get_info: the LSP's fastest funding target and longest lease.
    let sent = lsp
        .received()
        .into_iter()
        .find(|r| r.method() == Some("lsps1.create_order"))
        .unwrap()
        .params();
    assert_eq!(sent["funding_confirms_within_blocks"], 6);
    assert_eq!(sent["channel_expiry_blocks"], 4032);

    // Outside the LSP's options: refused before anything is sent.
    let before = lsp.received().len();
    let out = lsps(args(&[
        "--target",
        &target,
        "lsps1",
        "create-order",
        "--lsp-balance-sat",
        "10",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("min_initial_lsp_balance_sat"));
    // Only the get_info of that run reached the LSP.
    assert_eq!(lsp.received().len(), before + 1);

    let out = lsps_ok(&["--target", &target, "lsps1", "get-order", "b3b8d3a1-cli"]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("order_state: CREATED"));
    // The invoice alone on the line after its option's line.
    assert!(
        text.contains(
            "\nbolt11: EXPECT_PAYMENT, pay 1000 sat (fee 1000 sat) before 2099-01-01T00:00:00.000Z:\nlnbcrt10u1fake"
        ),
        "{text}"
    );
    // The node key persists in the data directory: get-order asked as the node that ordered
    // (LSPS1 orders belong to the peer that created them), and the output names it.
    let peers: Vec<String> = lsp
        .received()
        .iter()
        .filter(|r| matches!(r.method(), Some("lsps1.create_order" | "lsps1.get_order")))
        .map(|r| r.peer.to_string())
        .collect();
    assert!(
        peers.len() >= 2 && peers.iter().all(|p| *p == peers[0]),
        "{peers:?}"
    );
    assert!(
        text.contains(&format!("our node id: {}", peers[0])),
        "{text}"
    );
}

/// `lsps … | head`: a closed stdout ends the output quietly, without a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_ends_quietly() {
    let lsp = scripted_lsp().await;
    let target = lsp.connection_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = command()
            .args(["--target", &target, "lsps1", "get-info"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

/// LSPS1-R2: `lsps lsps1 create-order` calls `lsps1.get_info` before `lsps1.create_order`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_order_asks_get_info_first() {
    let lsp = scripted_lsp().await;
    let target = lsp.connection_string();
    lsps_ok(&[
        "--target",
        &target,
        "--json",
        "lsps1",
        "create-order",
        "--lsp-balance-sat",
        "200000",
    ])
    .await;
    assert_asked_before(&methods(&lsp), "lsps1.get_info", "lsps1.create_order");
}

/// LSPS2-R1: `lsps lsps2 buy` calls `lsps2.get_info` before `lsps2.buy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buy_asks_get_info_first() {
    let lsp = scripted_lsp().await;
    let target = lsp.connection_string();
    lsps_ok(&[
        "--target",
        &target,
        "lsps2",
        "buy",
        "--menu-index",
        "0",
        "--payment-size-msat",
        "50000000",
        "--json",
    ])
    .await;
    assert_asked_before(&methods(&lsp), "lsps2.get_info", "lsps2.buy");
}

/// The order of `get_order` poll `n`: the states a watcher would see when `end` is the order's
/// final state (`None`: it never ends).
fn polled_order(n: usize, end: Option<&str>) -> Value {
    let mut o = order(&json!({
        "lsp_balance_sat": "200000",
        "client_balance_sat": "0",
        "required_channel_confirmations": 0,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 4032,
        "announce_channel": false
    }));
    let (order_state, bolt11) = match (n, end) {
        (0, _) | (_, None) => ("CREATED", "EXPECT_PAYMENT"),
        // A repeat of the previous poll prints nothing.
        (1 | 2, _) => ("CREATED", "HOLD"),
        (_, Some("COMPLETED")) => ("COMPLETED", "PAID"),
        (_, Some(_)) => ("FAILED", "REFUNDED"),
    };
    o["order_state"] = order_state.into();
    o["payment"]["bolt11"]["state"] = bolt11.into();
    if order_state == "COMPLETED" {
        o["channel"] = json!({
            "funded_at": "2026-11-26T18:01:00.000Z",
            "funding_outpoint": format!("{}:0", "ab".repeat(32)),
            "expires_at": "2026-12-24T18:01:00.000Z"
        });
    }
    o
}

async fn watching_lsp(end: Option<&'static str>) -> ScriptedLsp {
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    ScriptedLsp::start(move |req: &ScriptedRequest| {
        let reply = match req.method() {
            Some("lsps1.get_order") => {
                let n = polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                req.result(polled_order(n, end))
            }
            _ => req.error(-32601, "Method not found", None),
        };
        vec![Reply::now(reply)]
    })
    .await
    .unwrap()
}

/// `get-order --watch`: a line per state change, exit 0 at COMPLETED, 1 at FAILED, 1 when
/// the wait runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lsps1_get_order_watch_follows_the_order_to_its_end() {
    let watch = |target: String, wait: &'static str| {
        args(&[
            "--target",
            &target,
            "lsps1",
            "get-order",
            "b3b8d3a1-cli",
            "--watch",
            "--poll-ms",
            "10",
            "--wait-secs",
            wait,
        ])
    };

    let lsp = watching_lsp(Some("COMPLETED")).await;
    let out = lsps(watch(lsp.connection_string(), "30")).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].ends_with("order_state=CREATED bolt11=EXPECT_PAYMENT"));
    assert!(lines[1].ends_with("order_state=CREATED bolt11=HOLD"));
    assert!(lines[2].contains("order_state=COMPLETED bolt11=PAID channel=abab"));

    let lsp = watching_lsp(Some("FAILED")).await;
    let out = lsps(watch(lsp.connection_string(), "30")).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .ends_with("order_state=FAILED bolt11=REFUNDED")
    );

    let lsp = watching_lsp(None).await;
    let out = lsps(watch(lsp.connection_string(), "1")).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not final"));
}
