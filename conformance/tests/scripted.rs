//! Cases the reference server cannot exercise, run against a scripted LSP in memory that
//! behaves well or badly on demand: the BOLT12 offer of an LSPS1 order (the reference offers
//! none) and a buy whose fee computation overflows (sold or refused).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lightning::offers::offer::OfferBuilder;
use lsps_conformance::report::Report;
use lsps_conformance::runner::{RunConfig, run};
use lsps_conformance::transport::memory::MemoryTarget;
use lsps_conformance::verdict::Verdict;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// How the scripted LSP misbehaves (or not).
#[derive(Clone, Default)]
struct Script {
    /// The `payment.bolt12.offer` it puts in every order.
    offer: String,
    /// Sell a JIT channel even when the fee computation overflows.
    sells_on_overflow: bool,
    /// Answer with values the schemas' writer form rejects but no bLIP MUST does: an amount
    /// with leading zeros and payment state CANCELLED.
    odd_but_legal: bool,
    /// Write `fee_total_sat` as a JSON number (bLIP-50: amounts MUST be strings).
    fee_as_number: bool,
}

fn offer_for_msat(amount_msats: u64) -> String {
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let key = bitcoin::secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
    OfferBuilder::new(key.public_key(&secp))
        .amount_msats(amount_msats)
        .build()
        .unwrap()
        .to_string()
}

const FEE_SAT: u64 = 1_000;

fn answer(script: &Script, payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    let request: Value = serde_json::from_slice(payload).ok()?;
    let id = request.get("id")?.clone();
    let params = request.get("params").cloned().unwrap_or(json!({}));
    let result = match request.get("method")?.as_str()? {
        "lsps0.list_protocols" => json!({"protocols": [1, 2]}),
        "lsps1.get_info" if script.odd_but_legal => json!({
            "min_required_channel_confirmations": 0,
            "min_funding_confirms_within_blocks": 6,
            "supports_zero_channel_reserve": false,
            "max_channel_expiry_blocks": 20000,
            "min_initial_client_balance_sat": "0000",
            "max_initial_client_balance_sat": "100000000",
            "min_initial_lsp_balance_sat": "0",
            "max_initial_lsp_balance_sat": "100000000",
            "min_channel_balance_sat": "50000",
            "max_channel_balance_sat": "100000000"
        }),
        "lsps1.get_info" => json!({
            "min_required_channel_confirmations": 0,
            "min_funding_confirms_within_blocks": 6,
            "supports_zero_channel_reserve": false,
            "max_channel_expiry_blocks": 20000,
            "min_initial_client_balance_sat": "0",
            "max_initial_client_balance_sat": "100000000",
            "min_initial_lsp_balance_sat": "0",
            "max_initial_lsp_balance_sat": "100000000",
            "min_channel_balance_sat": "50000",
            "max_channel_balance_sat": "100000000"
        }),
        "lsps1.create_order" => {
            let client: u64 = params["client_balance_sat"].as_str()?.parse().ok()?;
            let mut order = params.clone();
            order["order_id"] = json!("bb4b5d0a-8334-49d8-9463-90a6d413af7c");
            order["token"] = json!("");
            order["created_at"] = json!("2030-01-01T00:00:00.000Z");
            order["order_state"] = json!("CREATED");
            order["channel"] = Value::Null;
            order["payment"] = json!({"bolt12": {
                "state": if script.odd_but_legal { "CANCELLED" } else { "EXPECT_PAYMENT" },
                "expires_at": "2030-01-01T01:00:00.000Z",
                "fee_total_sat": if script.fee_as_number { json!(FEE_SAT) } else { json!(FEE_SAT.to_string()) },
                "order_total_sat": (FEE_SAT + client).to_string(),
                "offer": script.offer,
            }});
            order
        }
        "lsps2.get_info" => json!({"opening_fee_params_menu": [{
            "min_fee_msat": "546000",
            "proportional": 4800,
            "valid_until": "2030-01-01T00:00:00.000Z",
            "min_lifetime": 1008,
            "max_client_to_self_delay": 2016,
            "min_payment_size_msat": "1000000",
            "max_payment_size_msat": u64::MAX.to_string(),
            "promise": "abcdef"
        }]}),
        "lsps2.buy" if script.sells_on_overflow => json!({
            "jit_channel_scid": "1x2x3",
            "lsp_cltv_expiry_delta": 144,
            "client_trusts_lsp": false
        }),
        "lsps2.buy" => {
            let error = json!({"code": 203, "message": "payment_size_too_large"});
            return Some(vec![
                json!({"jsonrpc": "2.0", "id": id, "error": error})
                    .to_string()
                    .into_bytes(),
            ]);
        }
        _ => {
            let error = json!({"code": -32601, "message": "Method not found"});
            return Some(vec![
                json!({"jsonrpc": "2.0", "id": id, "error": error})
                    .to_string()
                    .into_bytes(),
            ]);
        }
    };
    Some(vec![
        json!({"jsonrpc": "2.0", "id": id, "result": result})
            .to_string()
            .into_bytes(),
    ])
}

async fn run_cases(script: Script, cases: &[&str]) -> Report {
    let config = RunConfig {
        timeout: Duration::from_millis(1000),
        run: cases.iter().map(|c| (*c).to_owned()).collect(),
        ..RunConfig::default()
    };
    let target = MemoryTarget::new(move |_, payload| answer(&script, payload));
    run(Arc::new(target), &config, &|_| {}).await.unwrap()
}

fn verdict_of(report: &Report, case: &str) -> (Verdict, String) {
    let found = report.cases.iter().find(|c| c.id == case).unwrap();
    (found.verdict, found.message.clone())
}

async fn run_case(script: Script, case: &str) -> (Verdict, String) {
    verdict_of(&run_cases(script, &[case]).await, case)
}

const BOLT12: &str = "lsps1.create-order.bolt12-offer-valid";
const OVERFLOW: &str = "lsps2.buy.fee-overflow.gets-203";

#[tokio::test]
async fn an_offer_for_the_order_total_passes() {
    // The runner orders the smallest channel: client_balance_sat 0, so the total is the fee.
    let script = Script {
        offer: offer_for_msat(FEE_SAT * 1000),
        ..Script::default()
    };
    let (verdict, message) = run_case(script, BOLT12).await;
    assert_eq!(verdict, Verdict::Pass, "{message}");
}

#[tokio::test]
async fn an_offer_for_another_amount_fails() {
    let script = Script {
        offer: offer_for_msat(FEE_SAT * 1000 + 1),
        ..Script::default()
    };
    let (verdict, message) = run_case(script, BOLT12).await;
    assert_eq!(verdict, Verdict::Fail, "{message}");
    assert!(message.contains("order_total_sat"), "{message}");
}

#[tokio::test]
async fn an_offer_that_does_not_decode_or_is_too_long_fails() {
    for offer in ["lno1notanoffer".to_owned(), "x".repeat(2049)] {
        let script = Script {
            offer,
            ..Script::default()
        };
        let (verdict, message) = run_case(script, BOLT12).await;
        assert_eq!(verdict, Verdict::Fail, "{message}");
    }
}

#[tokio::test]
async fn selling_at_an_overflowing_fee_fails_and_203_passes() {
    let honest = Script {
        offer: offer_for_msat(FEE_SAT * 1000),
        ..Script::default()
    };
    let (verdict, message) = run_case(honest.clone(), OVERFLOW).await;
    assert_eq!(verdict, Verdict::Pass, "{message}");
    let seller = Script {
        sells_on_overflow: true,
        ..honest
    };
    let (verdict, message) = run_case(seller, OVERFLOW).await;
    assert_eq!(verdict, Verdict::Fail, "{message}");
}

/// Schema constraints that are our reading, not a bLIP MUST (spec/schema-audit.md): an amount
/// with leading zeros is WARN in its own case, not FAIL in
/// `lsps0.wire.schema-valid`; payment state CANCELLED (which bLIP-51's LSP sections still
/// require) passes. The same answers in their strict form give no warning.
#[tokio::test]
async fn schema_constraints_that_are_our_reading_warn_and_cancelled_passes() {
    let cases = [
        BOLT12,
        "lsps0.wire.schema-valid",
        "lsps0.wire.schema-project-reading",
    ];
    let odd = Script {
        offer: offer_for_msat(FEE_SAT * 1000),
        odd_but_legal: true,
        ..Script::default()
    };
    let report = run_cases(odd.clone(), &cases).await;
    let (verdict, message) = verdict_of(&report, "lsps0.wire.schema-valid");
    assert_eq!(verdict, Verdict::Pass, "{message}");
    let (verdict, message) = verdict_of(&report, "lsps0.wire.schema-project-reading");
    assert_eq!(verdict, Verdict::Warn, "{message}");
    assert!(
        message.contains("min_initial_client_balance_sat"),
        "{message}"
    );
    let strict = Script {
        odd_but_legal: false,
        ..odd
    };
    let report = run_cases(strict, &cases).await;
    let (verdict, message) = verdict_of(&report, "lsps0.wire.schema-project-reading");
    assert_eq!(verdict, Verdict::Pass, "{message}");
}

/// A hard schema violation (an amount as a JSON number) is still FAIL.
#[tokio::test]
async fn an_amount_as_a_number_still_fails_the_schema_case() {
    let broken = Script {
        offer: offer_for_msat(FEE_SAT * 1000),
        fee_as_number: true,
        ..Script::default()
    };
    let report = run_cases(broken, &[BOLT12, "lsps0.wire.schema-valid"]).await;
    let (verdict, message) = verdict_of(&report, "lsps0.wire.schema-valid");
    assert_eq!(verdict, Verdict::Fail, "{message}");
}
