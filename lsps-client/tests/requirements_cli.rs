#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `lsps` binary asks for the LSP's terms before it orders or buys (LSPS1-R2, LSPS2-R1),
//! against the scripted BOLT8 LSP (testkit::scripted_lsp), which records every request.

use std::process::Output;

use serde_json::{Value, json};
use testkit::scripted_lsp::{Reply, ScriptedLsp, ScriptedRequest};

// std's Command on a blocking thread: the LSP fixture keeps running on the runtime meanwhile.
async fn lsps(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_lsps"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn order(p: &Value) -> Value {
    json!({
        "order_id": "req-cli-order",
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

async fn lsp() -> ScriptedLsp {
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

/// LSPS1-R2: `lsps lsps1 create-order` calls `lsps1.get_info` before `lsps1.create_order`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_order_asks_get_info_first() {
    let lsp = lsp().await;
    let target = lsp.connection_string();
    let out = lsps(&[
        "--target",
        &target,
        "--json",
        "lsps1",
        "create-order",
        "--lsp-balance-sat",
        "200000",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_asked_before(&methods(&lsp), "lsps1.get_info", "lsps1.create_order");
}

/// LSPS2-R1: `lsps lsps2 buy` calls `lsps2.get_info` before `lsps2.buy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buy_asks_get_info_first() {
    let lsp = lsp().await;
    let target = lsp.connection_string();
    let out = lsps(&[
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_asked_before(&methods(&lsp), "lsps2.get_info", "lsps2.buy");
}
