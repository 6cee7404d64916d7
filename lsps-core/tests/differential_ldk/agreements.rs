//! Behaviour where lsps-core and lightning-liquidity 0.2.7 happen to agree and a change would
//! matter.

use super::*;

/// Both read an absent `client_trusts_lsp` as `false`.
#[test]
fn client_trusts_lsp_defaults_to_false() {
    let json = r#"{"jit_channel_scid":"29451x4815x1","lsp_cltv_expiry_delta":144}"#;
    let ldk: LSPS2BuyResponse = serde_json::from_str(json).unwrap();
    let ours: lsps2::BuyResult = serde_json::from_str(json).unwrap();
    assert!(!ldk.client_trusts_lsp);
    assert_eq!(ours, common::buy_result());
}

/// Both reject an amount written as a JSON number.
#[test]
fn amounts_must_be_strings() {
    let json = r#"{"opening_fee_params_menu":[{"min_fee_msat":546000,"proportional":1200,"valid_until":"2026-01-01T00:00:00.000Z","min_lifetime":1008,"max_client_to_self_delay":2016,"min_payment_size_msat":"1000","max_payment_size_msat":"1000000","promise":"p"}]}"#;
    assert!(serde_json::from_str::<LSPS2GetInfoResponse>(json).is_err());
    assert!(serde_json::from_str::<lsps2::GetInfoResult>(json).is_err());
}

/// Both ignore unknown keys in results (outside `opening_fee_params`).
#[test]
fn unknown_result_keys_are_ignored() {
    let json = r#"{"protocols":[1,3],"example-undefined-key-that-clients-should-ignore":true}"#;
    let ldk: LSPS0ListProtocolsResponse = serde_json::from_str(json).unwrap();
    let ours: lsps0::ListProtocolsResult = serde_json::from_str(json).unwrap();
    assert_eq!(lsps0::ListProtocolsResult::from(ldk), ours);
}

/// Both produce the same `BxTxO` text for every SCID.
#[test]
fn scid_text_matches() {
    for raw in [0, 1, 0x083a_8400_034d_0001, u64::MAX] {
        let ldk = serde_json::to_value(LSPS2InterceptScid::from(raw)).unwrap();
        let ours = serde_json::to_value(Scid(raw)).unwrap();
        assert_eq!(ldk, ours);
    }
}

/// An LSPS1 `OrderParams` converts field for field.
#[test]
fn lsps1_order_params_fields() {
    let ldk = LSPS1OrderParams::from(common::order_params(Some("t")));
    assert_eq!(
        lsps1::OrderParams::from(ldk),
        common::order_params(Some("t"))
    );
}
