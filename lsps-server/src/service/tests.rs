#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lsps_core::jsonrpc::code;
use serde_json::{Value, json};

use super::*;
use crate::config::{Limits, Lsps1Config, Lsps2Config};
use crate::dispatch::{PendingWrites, perform_node_work};
use crate::store::{StoredRow, state_from_rows, to_stored};
use crate::testing::FakeNode;

/// A service with the fake node its writes' node work goes to.
struct Harness {
    service: Service,
    node: FakeNode,
}

impl std::ops::Deref for Harness {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

/// What the dispatcher does for one request, without persistence: plan, node work, complete.
fn handle(
    harness: &Harness,
    state: &ServiceState,
    from: &NodeId,
    request: Request,
    ctx: Ctx,
) -> Outcome {
    match harness.service.plan(state, from, request, ctx) {
        Planned::Reply(response) => Outcome {
            response,
            effects: Vec::new(),
        },
        Planned::Write(plan) => {
            let mut pending = PendingWrites::default();
            let resources = perform_node_work(&harness.node, &plan.needs, state, &mut pending);
            harness.service.complete(&plan, &resources, ctx.entropy)
        }
    }
}

fn key(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[byte; 32]).unwrap(),
    )
}

fn peer(byte: u8) -> NodeId {
    NodeId(key(byte))
}

fn address(network: bitcoin::Network) -> String {
    let pk = bitcoin::CompressedPublicKey(key(9));
    bitcoin::Address::p2wpkh(&pk, network).to_string()
}

fn regtest_address() -> String {
    address(bitcoin::Network::Regtest)
}

const NOW: u64 = 1_800_000_000_000;

fn service_with(
    lsps1: Lsps1Config,
    lsps2: Lsps2Config,
    limits: Limits,
    inbound_msat: u64,
) -> Harness {
    let mut node = FakeNode::new(1 << 40);
    node.inbound_msat = inbound_msat;
    let service = Service::new(&lsps1, &lsps2, &limits, [7; 32], FaultSet::NONE).unwrap();
    Harness { service, node }
}

fn service() -> Harness {
    service_with(
        Lsps1Config::default(),
        Lsps2Config::default(),
        Limits::default(),
        0,
    )
}

fn ctx(now_ms: u64) -> Ctx {
    Ctx::new(now_ms, [now_ms as u8; 16])
}

/// Decode and handle one request given as JSON; returns the reply as JSON and the effects.
fn call_at(
    service: &Harness,
    state: &ServiceState,
    from: &NodeId,
    request: Value,
    now_ms: u64,
) -> (Value, Vec<Effect>) {
    let bytes = serde_json::to_vec(&request).unwrap();
    match service.decode(&bytes) {
        Ok(request) => {
            let outcome = handle(service, state, from, request, ctx(now_ms));
            (
                serde_json::from_slice(&service.encode(&outcome.response)).unwrap(),
                outcome.effects,
            )
        }
        Err(reply) => (
            serde_json::from_slice(&service.encode(&reply.unwrap())).unwrap(),
            Vec::new(),
        ),
    }
}

fn call(
    service: &Harness,
    state: &ServiceState,
    from: &NodeId,
    request: Value,
) -> (Value, Vec<Effect>) {
    call_at(service, state, from, request, NOW)
}

fn req(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "method": method, "params": params})
}

fn error_code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {reply}"))
}

fn order_params() -> Value {
    json!({
        "lsp_balance_sat": "1000000",
        "client_balance_sat": "20000",
        "required_channel_confirmations": 0,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144,
        "announce_channel": false
    })
}

#[test]
fn list_protocols_lists_enabled_protocols_only() {
    let state = ServiceState::default();
    let (reply, effects) = call(
        &service(),
        &state,
        &peer(1),
        req("lsps0.list_protocols", json!({})),
    );
    assert_eq!(reply["result"], json!({"protocols": [1, 2]}));
    assert!(effects.is_empty());

    let lsps1 = Lsps1Config {
        enabled: false,
        ..Default::default()
    };
    let only2 = service_with(lsps1, Lsps2Config::default(), Limits::default(), 0);
    let (reply, _) = call(
        &only2,
        &state,
        &peer(1),
        req("lsps0.list_protocols", json!({})),
    );
    assert_eq!(reply["result"], json!({"protocols": [2]}));
    // A method of a protocol that is not offered is an unknown method.
    let (reply, _) = call(&only2, &state, &peer(1), req("lsps1.get_info", json!({})));
    assert_eq!(error_code(&reply), i64::from(code::METHOD_NOT_FOUND));
    assert_eq!(reply["id"], "a1b2c3d4e5f60718293a4b5c6d7e8f90");
}

#[test]
fn fixed_results_are_written_byte_for_byte_as_typed_ones() {
    let service = service();
    let state = ServiceState::default();
    for method in ["lsps0.list_protocols", "lsps1.get_info", "lsps2.get_info"] {
        let bytes = serde_json::to_vec(&req(method, json!({}))).unwrap();
        let outcome = handle(
            &service,
            &state,
            &peer(1),
            service.decode(&bytes).unwrap(),
            ctx(NOW),
        );
        assert_eq!(
            service.encode(&outcome.response),
            outcome.response.to_bytes(),
            "{method}"
        );
    }
}

#[test]
fn bad_input_gets_the_core_classification() {
    let service = service();
    let state = ServiceState::default();
    let reply = service.decode(b"{} {}").unwrap_err().unwrap();
    assert_eq!(reply.id, None);
    assert_eq!(reply.body.unwrap_err().code, code::PARSE_ERROR);
    let (reply, _) = call(
        &service,
        &state,
        &peer(1),
        req("lsps0.list_protocols", json!({"zz": 1})),
    );
    assert_eq!(error_code(&reply), i64::from(code::INVALID_PARAMS));
    assert_eq!(reply["error"]["data"]["unrecognized"], json!(["zz"]));
}

#[test]
fn lsps1_get_info_is_the_configured_options() {
    let (reply, _) = call(
        &service(),
        &ServiceState::default(),
        &peer(1),
        req("lsps1.get_info", json!({})),
    );
    let r = &reply["result"];
    assert_eq!(r["min_funding_confirms_within_blocks"], 6);
    assert_eq!(r["max_initial_lsp_balance_sat"], "100000000");
    assert_eq!(r["min_channel_balance_sat"], "50000");
}

#[test]
fn create_order_prices_mirrors_and_persists() {
    let service = service();
    let mut state = ServiceState::default();
    let (reply, effects) = call(
        &service,
        &state,
        &peer(1),
        req("lsps1.create_order", order_params()),
    );
    let r = &reply["result"];
    assert_eq!(r["token"], "", "absent token is mirrored as \"\"");
    assert_eq!(r["lsp_balance_sat"], "1000000");
    assert_eq!(r["order_state"], "CREATED");
    assert_eq!(r["channel"], Value::Null);
    assert_eq!(r["created_at"], "2027-01-15T08:00:00.000Z");
    // fee = 1000 + ceil(1_020_000 × 5000 / 10^6) = 1000 + 5100
    let bolt11 = &r["payment"]["bolt11"];
    assert_eq!(bolt11["fee_total_sat"], "6100");
    assert_eq!(bolt11["order_total_sat"], "26100");
    let invoice = bolt11["invoice"].as_str().unwrap();
    assert!(invoice.starts_with("lnbcrt26100000"), "{invoice}");
    assert_eq!(bolt11["state"], "EXPECT_PAYMENT");
    assert!(
        r["payment"].get("onchain").is_none(),
        "no refund address: no on-chain option"
    );
    let order_id = r["order_id"].as_str().unwrap().to_owned();
    assert_eq!(order_id.len(), 36);
    assert_eq!(&order_id[14..15], "4", "UUIDv4");
    let [Effect::InsertOrder { record, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(record.peer, peer(1));

    // get_order only after the effect is applied; another peer sees 101.
    let get = req("lsps1.get_order", json!({"order_id": order_id}));
    assert_eq!(
        error_code(&call(&service, &state, &peer(1), get.clone()).0),
        101
    );
    for e in &effects {
        state.apply(e);
    }
    let (again, _) = call(&service, &state, &peer(1), get.clone());
    assert_eq!(again["result"], reply["result"]);
    let (other, _) = call(&service, &state, &peer(2), get);
    assert_eq!(error_code(&other), 101);
    assert_eq!(other["error"]["data"], json!({}));
}

#[test]
fn create_order_with_refund_address_offers_onchain() {
    let mut params = order_params();
    params["refund_onchain_address"] = regtest_address().into();
    params["token"] = "".into();
    let (reply, _) = call(
        &service(),
        &ServiceState::default(),
        &peer(1),
        req("lsps1.create_order", params),
    );
    let onchain = &reply["result"]["payment"]["onchain"];
    assert_eq!(onchain["refund_onchain_address"], regtest_address());
    assert_eq!(onchain["order_total_sat"], "26100");
    assert!(onchain.get("min_fee_for_0conf").is_none());
    assert_eq!(reply["result"]["token"], "");
}

#[test]
fn create_order_errors() {
    let lsps1 = Lsps1Config {
        accepted_tokens: vec!["coupon".into()],
        rejected_peers: vec![peer(3).to_string()],
        ..Default::default()
    };
    let service = service_with(lsps1, Lsps2Config::default(), Limits::default(), 0);
    let state = ServiceState::default();
    let order = |patch: Value| {
        let mut p = order_params();
        for (k, v) in patch.as_object().unwrap() {
            p[k] = v.clone();
        }
        req("lsps1.create_order", p)
    };
    // 100 with the violated get_info property.
    for (patch, property) in [
        (
            json!({"lsp_balance_sat": "100000001"}),
            "max_initial_lsp_balance_sat",
        ),
        (
            json!({"lsp_balance_sat": "9999"}),
            "min_initial_lsp_balance_sat",
        ),
        (
            json!({"client_balance_sat": "10000001"}),
            "max_initial_client_balance_sat",
        ),
        (
            json!({"funding_confirms_within_blocks": 5}),
            "min_funding_confirms_within_blocks",
        ),
        (
            json!({"channel_expiry_blocks": 20161}),
            "max_channel_expiry_blocks",
        ),
        (
            json!({"lsp_balance_sat": "10000", "client_balance_sat": "0"}),
            "min_channel_balance_sat",
        ),
    ] {
        let (reply, effects) = call(&service, &state, &peer(1), order(patch.clone()));
        assert_eq!(error_code(&reply), 100, "{patch}");
        assert_eq!(reply["error"]["data"]["property"], property, "{patch}");
        assert!(reply["error"]["data"]["message"].is_string());
        assert!(effects.is_empty());
    }
    // -32602 with {property, message} for a bad value.
    let (reply, _) = call(
        &service,
        &state,
        &peer(1),
        order(json!({"lsp_balance_sat": 5})),
    );
    assert_eq!(error_code(&reply), i64::from(code::INVALID_PARAMS));
    assert_eq!(reply["error"]["data"]["property"], "lsp_balance_sat");
    let (reply, _) = call(
        &service,
        &state,
        &peer(1),
        order(json!({"refund_onchain_address": address(bitcoin::Network::Bitcoin)})),
    );
    assert_eq!(error_code(&reply), i64::from(code::INVALID_PARAMS));
    assert_eq!(reply["error"]["data"]["property"], "refund_onchain_address");
    // 102 for an unknown token; the accepted one works and is mirrored.
    let (reply, _) = call(&service, &state, &peer(1), order(json!({"token": "nope"})));
    assert_eq!(error_code(&reply), 102);
    assert_eq!(reply["error"]["data"], json!({}));
    let (reply, _) = call(
        &service,
        &state,
        &peer(1),
        order(json!({"token": "coupon"})),
    );
    assert_eq!(reply["result"]["token"], "coupon");
    // 1 for a rejected peer.
    let (reply, _) = call(&service, &state, &peer(3), order(json!({})));
    assert_eq!(error_code(&reply), 1);
    assert!(reply["error"]["data"]["message"].is_string());
}

#[test]
fn order_limit_answers_client_rejected() {
    let limits = Limits {
        max_orders_per_peer: 1,
        ..Default::default()
    };
    let service = service_with(Lsps1Config::default(), Lsps2Config::default(), limits, 0);
    let mut state = ServiceState::default();
    let (_, effects) = call(
        &service,
        &state,
        &peer(1),
        req("lsps1.create_order", order_params()),
    );
    effects.iter().for_each(|e| state.apply(e));
    let (reply, _) = call(
        &service,
        &state,
        &peer(1),
        req("lsps1.create_order", order_params()),
    );
    assert_eq!(error_code(&reply), 1);
    let (reply, _) = call(
        &service,
        &state,
        &peer(2),
        req("lsps1.create_order", order_params()),
    );
    assert!(reply.get("result").is_some());
}

fn menu_for(service: &Harness, from: &NodeId, now_ms: u64) -> Vec<Value> {
    let (reply, _) = call_at(
        service,
        &ServiceState::default(),
        from,
        req("lsps2.get_info", json!({})),
        now_ms,
    );
    reply["result"]["opening_fee_params_menu"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn lsps2_get_info_menu_is_ordered_fresh_and_bound_to_the_peer() {
    let service = service();
    let menu = menu_for(&service, &peer(1), NOW);
    assert_eq!(menu.len(), 2);
    let typed: Vec<OpeningFeeParams> = menu
        .iter()
        .map(|m| serde_json::from_value(m.clone()).unwrap())
        .collect();
    lsps_core::lsps2::validate_menu(&typed).unwrap();
    for entry in &typed {
        assert!(entry.valid_until.unix_millis() >= NOW + 10 * 60 * 1000);
        assert!(entry.promise.len() <= 512);
        assert_eq!(entry.promise.len(), 64);
    }
    assert_eq!(menu[0].as_object().unwrap().len(), 8);
    let Some(s) = &service.lsps2 else { panic!() };
    assert!(s.promise_key.for_client(&peer(1)).verify(&typed[0]));
    assert!(!s.promise_key.for_client(&peer(2)).verify(&typed[0]));
    // Unknown token: 200.
    let (reply, _) = call(
        &service,
        &ServiceState::default(),
        &peer(1),
        req("lsps2.get_info", json!({"token": "x"})),
    );
    assert_eq!(error_code(&reply), 200);
}

fn buy(
    service: &Harness,
    state: &ServiceState,
    from: &NodeId,
    params: Value,
    size: Option<u64>,
    now_ms: u64,
) -> (Value, Vec<Effect>) {
    let mut p = json!({"opening_fee_params": params});
    if let Some(size) = size {
        p["payment_size_msat"] = size.to_string().into();
    }
    call_at(service, state, from, req("lsps2.buy", p), now_ms)
}

#[test]
fn lsps2_buy_accepts_a_valid_promise_and_persists() {
    let service = service();
    let state = ServiceState::default();
    let menu = menu_for(&service, &peer(1), NOW);
    let (reply, effects) = buy(
        &service,
        &state,
        &peer(1),
        menu[0].clone(),
        Some(50_000_000),
        NOW + 1,
    );
    assert_eq!(reply["result"]["lsp_cltv_expiry_delta"], 144);
    assert_eq!(reply["result"]["client_trusts_lsp"], false);
    let scid: lsps_core::types::Scid = reply["result"]["jit_channel_scid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(scid.0, 1 << 40);
    let [Effect::InsertBuy(record)] = effects.as_slice() else {
        panic!()
    };
    assert_eq!(record.jit_channel_scid, scid);
    assert_eq!(record.payment_size_msat, Some(Msat(50_000_000)));
    assert_eq!(record.state, JitState::Bought);
    // No size: no-MPP+var-invoice mode is accepted too.
    let (reply, _) = buy(&service, &state, &peer(1), menu[1].clone(), None, NOW + 1);
    assert!(reply.get("result").is_some(), "{reply}");
}

#[test]
fn lsps2_buy_errors() {
    let service = service();
    let state = ServiceState::default();
    let menu = menu_for(&service, &peer(1), NOW);
    let entry = menu[0].clone();
    let expect = |reply: (Value, Vec<Effect>), want: i64, what: &str| {
        assert_eq!(error_code(&reply.0), want, "{what}: {}", reply.0);
        assert!(reply.1.is_empty(), "{what}");
        if let Some(data) = reply.0["error"].get("data") {
            assert!(data.is_object(), "{what}");
        }
    };
    // 201: every field is covered by the promise.
    for (field, value) in [
        ("min_fee_msat", json!("545999")),
        ("proportional", json!(1199)),
        ("min_lifetime", json!(1007)),
        ("max_client_to_self_delay", json!(2017)),
        ("min_payment_size_msat", json!("1")),
        ("max_payment_size_msat", json!("4000000001")),
        ("promise", json!("00".repeat(32))),
    ] {
        let mut tampered = entry.clone();
        tampered[field] = value;
        expect(
            buy(&service, &state, &peer(1), tampered, Some(50_000_000), NOW),
            201,
            field,
        );
    }
    // 201: another peer's promise, and an expired valid_until.
    expect(
        buy(
            &service,
            &state,
            &peer(2),
            entry.clone(),
            Some(50_000_000),
            NOW,
        ),
        201,
        "other peer",
    );
    let valid_until: lsps_core::types::Datetime =
        entry["valid_until"].as_str().unwrap().parse().unwrap();
    expect(
        buy(
            &service,
            &state,
            &peer(1),
            entry.clone(),
            Some(50_000_000),
            valid_until.unix_millis() + 1,
        ),
        201,
        "expired",
    );
    let at_deadline = buy(
        &service,
        &state,
        &peer(1),
        entry.clone(),
        Some(50_000_000),
        valid_until.unix_millis(),
    );
    assert!(
        at_deadline.0.get("result").is_some(),
        "valid_until itself is not past"
    );
    // Size outside [min, max]: 202 below, 203 above.
    expect(
        buy(
            &service,
            &state,
            &peer(1),
            entry.clone(),
            Some(999_999),
            NOW,
        ),
        202,
        "below min",
    );
    expect(
        buy(
            &service,
            &state,
            &peer(1),
            entry.clone(),
            Some(4_000_000_001),
            NOW,
        ),
        203,
        "above max",
    );
    // 202 when fee ≥ size: min_fee 546000 at proportional 1200 → the fee is 546000 up to
    // 455_000_000 msat; a 546_000 msat payment would pay only the fee.
    let cheap = Lsps2Config {
        menu: vec![MenuEntryConfig {
            min_fee_msat: 546_000,
            proportional: 1_200,
            valid_for_secs: 3_600,
            min_lifetime: 144,
            max_client_to_self_delay: 2_016,
            min_payment_size_msat: 1_000,
            max_payment_size_msat: u64::MAX,
        }],
        ..Default::default()
    };
    let cheap = service_with(Lsps1Config::default(), cheap, Limits::default(), 0);
    let entry = menu_for(&cheap, &peer(1), NOW)[0].clone();
    expect(
        buy(&cheap, &state, &peer(1), entry.clone(), Some(546_000), NOW),
        202,
        "fee == size",
    );
    assert!(
        buy(&cheap, &state, &peer(1), entry.clone(), Some(546_001), NOW)
            .0
            .get("result")
            .is_some()
    );
    // 203 on fee overflow (spec vector: 18446744073710 × 10^6 overflows the multiply... here
    // u64::MAX × 1200).
    expect(
        buy(&cheap, &state, &peer(1), entry, Some(u64::MAX), NOW),
        203,
        "overflow",
    );
}

#[test]
fn lsps2_inbound_liquidity_check_is_configurable() {
    let checking = Lsps2Config {
        check_inbound_liquidity: true,
        ..Default::default()
    };
    let poor = service_with(
        Lsps1Config::default(),
        checking.clone(),
        Limits::default(),
        10_000_000,
    );
    let entry = menu_for(&poor, &peer(1), NOW)[0].clone();
    let (reply, _) = buy(
        &poor,
        &ServiceState::default(),
        &peer(1),
        entry.clone(),
        Some(50_000_000),
        NOW,
    );
    assert_eq!(error_code(&reply), 203);
    let (reply, _) = buy(
        &poor,
        &ServiceState::default(),
        &peer(1),
        entry,
        Some(5_000_000),
        NOW,
    );
    assert!(reply.get("result").is_some());
    // The dev default does not check: any size within the menu succeeds with no channels.
    let dev = service();
    let entry = menu_for(&dev, &peer(1), NOW)[0].clone();
    let (reply, _) = buy(
        &dev,
        &ServiceState::default(),
        &peer(1),
        entry,
        Some(4_000_000_000),
        NOW,
    );
    assert!(reply.get("result").is_some());
}

#[test]
fn lsps2_rejected_peers_and_buy_limit_answer_code_1() {
    let lsps2 = Lsps2Config {
        rejected_peers: vec![peer(3).to_string()],
        ..Default::default()
    };
    let limits = Limits {
        max_buys_per_peer: 1,
        ..Default::default()
    };
    let service = service_with(Lsps1Config::default(), lsps2, limits, 0);
    let mut state = ServiceState::default();
    let entry = menu_for(&service, &peer(3), NOW)[0].clone();
    assert_eq!(
        error_code(&buy(&service, &state, &peer(3), entry, None, NOW).0),
        1
    );
    let entry = menu_for(&service, &peer(1), NOW)[0].clone();
    let (_, effects) = buy(&service, &state, &peer(1), entry.clone(), None, NOW);
    effects.iter().for_each(|e| state.apply(e));
    assert_eq!(state.buy_count(), 1);
    let (reply, _) = buy(&service, &state, &peer(1), entry.clone(), None, NOW);
    assert_eq!(error_code(&reply), 1);
    assert!(
        reply["error"]["data"]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
    // An unused buy stops counting at its valid_until: a fresh offer can be bought after it.
    let valid_until: Datetime = serde_json::from_value(entry["valid_until"].clone()).unwrap();
    let later = valid_until.unix_millis() + 1;
    assert_eq!(state.live_buys_of(&QuotaOwner::Node(peer(1)), later), 0);
    let fresh = menu_for(&service, &peer(1), later)[0].clone();
    let (reply, effects) = buy(&service, &state, &peer(1), fresh, None, later);
    assert!(reply.get("result").is_some(), "{reply}");
    assert_eq!(effects.len(), 1);
}

#[test]
fn pending_writes_count_against_the_quotas() {
    let limits = Limits {
        max_orders_per_peer: 2,
        max_buys_per_peer: 2,
        ..Default::default()
    };
    let service = service_with(Lsps1Config::default(), Lsps2Config::default(), limits, 0);
    let state = ServiceState::default();
    let bytes = serde_json::to_vec(&req("lsps1.create_order", order_params())).unwrap();
    let plan = |pending_writes| {
        let request = service.decode(&bytes).unwrap();
        let ctx = Ctx {
            pending_writes,
            ..ctx(NOW)
        };
        service.plan(&state, &peer(1), request, ctx)
    };
    assert!(matches!(plan(1), Planned::Write(_)));
    let Planned::Reply(refused) = plan(2) else {
        panic!("two pending orders fill a quota of two")
    };
    assert_eq!(refused.body.unwrap_err().code, code::CLIENT_REJECTED);
}

#[test]
fn a_retried_completion_reuses_the_invoice_and_address() {
    let service = service();
    let state = ServiceState::default();
    let mut params = order_params();
    params["refund_onchain_address"] = regtest_address().into();
    let bytes = serde_json::to_vec(&req("lsps1.create_order", params)).unwrap();
    let Planned::Write(plan) =
        service.plan(&state, &peer(1), service.decode(&bytes).unwrap(), ctx(NOW))
    else {
        panic!("not a write")
    };
    let mut pending = PendingWrites::default();
    let resources = perform_node_work(&service.node, &plan.needs, &state, &mut pending);
    let first = service.complete(&plan, &resources, [1; 16]);
    let again = service.complete(&plan, &resources, [2; 16]);
    let order = |o: &Outcome| match &o.response.body {
        Ok(ResponseResult::Lsps1CreateOrder(order)) => order.clone(),
        other => panic!("{other:?}"),
    };
    let (first, again) = (order(&first), order(&again));
    assert_ne!(first.order_id, again.order_id, "fresh entropy, fresh id");
    assert_eq!(first.payment.bolt11, again.payment.bolt11, "same invoice");
    assert_eq!(first.payment.onchain, again.payment.onchain, "same address");
    assert_eq!(service.node.invoice_calls.load(Ordering::Relaxed), 1);
    assert_eq!(service.node.address_calls.load(Ordering::Relaxed), 1);
}

#[test]
fn state_round_trips_through_store_rows() {
    let service = service();
    let mut state = ServiceState::default();
    let (_, mut effects) = call(
        &service,
        &state,
        &peer(1),
        req("lsps1.create_order", order_params()),
    );
    let entry = menu_for(&service, &peer(1), NOW)[0].clone();
    effects.extend(buy(&service, &state, &peer(1), entry, None, NOW).1);
    let mut orders = Vec::new();
    let mut buys = Vec::new();
    for effect in &effects {
        state.apply(effect);
        match to_stored(effect).unwrap() {
            StoredRow::Order(o) => orders.push(o),
            StoredRow::Buy(b) => buys.push(b),
            StoredRow::OrderFlow { .. } => panic!("no flow update in {effects:?}"),
            StoredRow::BuyUpdate { .. } => panic!("no buy is updated here"),
        }
    }
    let reloaded = state_from_rows(&orders, &buys).unwrap();
    assert_eq!(reloaded.order_count(), 1);
    assert_eq!(reloaded.buy_count(), 1);
    // The buy comes back with the flow `buy` started, in its own column.
    let Some(Effect::InsertBuy(bought)) = effects.get(1) else {
        panic!("a buy effect")
    };
    let flow = bought.flow.as_ref().expect("buy starts a flow");
    assert_eq!(flow.state(), lsps_core::lsps2::JitState::Bought);
    assert_eq!(
        reloaded
            .buy(bought.jit_channel_scid.0)
            .and_then(|b| b.flow.as_ref()),
        Some(flow)
    );
    let Effect::InsertOrder {
        order_id, record, ..
    } = &effects[0]
    else {
        panic!()
    };
    assert_eq!(reloaded.order(order_id), Some(&**record));
}

/// `get_order` answers the flow's states; a flow update is its own row write and survives a
/// reload (the creation body stays as answered).
#[test]
fn get_order_answers_the_flow_and_flow_updates_reload() {
    use lsps_core::lsps1::flow::LightningOption;
    use lsps_core::lsps1::{OrderFlowAction, OrderFlowEvent};

    let service = service();
    let mut state = ServiceState::default();
    let (_, effects) = call(
        &service,
        &state,
        &peer(1),
        req("lsps1.create_order", order_params()),
    );
    let [
        Effect::InsertOrder {
            order_id, record, ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    let mut flow = record.flow.clone().expect("a new order has its flow");
    let actions = flow
        .handle(
            OrderFlowEvent::HtlcsHeld {
                option: LightningOption::Bolt11,
                amount_msat: 26_100_000,
                claim_deadline: Some(500),
            },
            Datetime::from_unix_millis(NOW + 1_000).unwrap(),
        )
        .unwrap();
    assert_eq!(actions[0], OrderFlowAction::Persist);
    let update = Effect::UpdateOrderFlow {
        order_id: order_id.clone(),
        flow: Box::new(flow.clone()),
    };
    let mut row = match to_stored(&effects[0]).unwrap() {
        StoredRow::Order(o) => o,
        other => panic!("{other:?}"),
    };
    let StoredRow::OrderFlow {
        order_id: key,
        flow: json,
    } = to_stored(&update).unwrap()
    else {
        panic!("a flow update writes the flow column")
    };
    assert_eq!(key, order_id.as_str());
    let body_before = row.body.clone();
    row.flow = Some(json);
    for effect in effects.iter().chain([&update]) {
        state.apply(effect);
    }
    let get = req("lsps1.get_order", json!({"order_id": order_id.as_str()}));
    let (reply, _) = call(&service, &state, &peer(1), get.clone());
    assert_eq!(reply["result"]["order_state"], "CREATED");
    assert_eq!(reply["result"]["payment"]["bolt11"]["state"], "HOLD");
    let reloaded = state_from_rows(&[row.clone()], &[]).unwrap();
    assert_eq!(reloaded.order(order_id).unwrap().flow.as_ref(), Some(&flow));
    let (again, _) = call(&service, &reloaded, &peer(1), get);
    assert_eq!(again, reply);
    assert_eq!(row.body, body_before);
}

#[test]
fn bad_menu_config_is_refused() {
    let mut lsps2 = Lsps2Config::default();
    lsps2.menu.reverse();
    let err = Service::new(
        &Lsps1Config::default(),
        &lsps2,
        &Limits::default(),
        [0; 32],
        FaultSet::NONE,
    );
    assert!(matches!(err, Err(ConfigError::Lsps2Menu(_))));
}

/// Never sell what the wallet cannot fund: an MPP buy whose channel (size − fee + reserve +
/// headroom) exceeds what the wallet can fund gets 203; a no-MPP buy is refused with
/// `client_rejected` when not even the smallest payment's channel is fundable; a buy that fits
/// is sold, and the check leaves no state behind.
#[test]
fn lsps2_buy_never_sells_an_unfundable_channel() {
    let mut harness = service();
    // The default menu: 1.2 ‰, ≥ 546 sat fee. A 50 000 sat payment needs about
    // 50 000 − 546 + 1 000 reserve + 10 000 headroom ≈ 60 454 sat; 20 000 sat minimum.
    harness.node.fundable_sat = 60_000;
    let entry = menu_for(&harness, &peer(1), NOW)[0].clone();
    let (reply, effects) = buy(
        &harness,
        &ServiceState::default(),
        &peer(1),
        entry.clone(),
        Some(50_000_000),
        NOW,
    );
    assert_eq!(error_code(&reply), 203, "{reply}");
    assert!(effects.is_empty());
    let (reply, effects) = buy(
        &harness,
        &ServiceState::default(),
        &peer(1),
        entry.clone(),
        Some(40_000_000),
        NOW,
    );
    assert!(reply.get("result").is_some(), "{reply}");
    assert_eq!(effects.len(), 1);

    // No-MPP: the smallest payment (1 000 sat) needs the 20 000 sat minimum channel.
    harness.node.fundable_sat = 19_999;
    let (reply, effects) = buy(
        &harness,
        &ServiceState::default(),
        &peer(1),
        entry.clone(),
        None,
        NOW,
    );
    assert_eq!(error_code(&reply), 1, "{reply}");
    assert!(effects.is_empty());
    harness.node.fundable_sat = 20_000;
    let (reply, _) = buy(
        &harness,
        &ServiceState::default(),
        &peer(1),
        entry,
        None,
        NOW,
    );
    assert!(reply.get("result").is_some(), "{reply}");
}
