#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lsps_core::jsonrpc::code;
use serde_json::{Value, json};

use super::*;
use crate::config::{Limits, Lsps1Config, Lsps2Config};

struct FakeNode {
    next_scid: AtomicU64,
    inbound_msat: u64,
}

impl NodeOps for FakeNode {
    fn intercept_scid(&self) -> u64 {
        self.next_scid.fetch_add(1, Ordering::Relaxed)
    }
    fn bolt11_invoice(&self, amount_msat: u64, _d: &str, _e: u32) -> Result<String, String> {
        Ok(format!("lnbcrt-fake-{amount_msat}"))
    }
    fn onchain_address(&self) -> Option<String> {
        Some(regtest_address())
    }
    fn inbound_liquidity_msat(&self) -> u64 {
        self.inbound_msat
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
) -> Service {
    let node = Arc::new(FakeNode {
        next_scid: AtomicU64::new(1 << 40),
        inbound_msat,
    });
    Service::new(&lsps1, &lsps2, &limits, [7; 32], node, FaultSet::NONE).unwrap()
}

fn service() -> Service {
    service_with(
        Lsps1Config::default(),
        Lsps2Config::default(),
        Limits::default(),
        0,
    )
}

fn ctx(now_ms: u64) -> Ctx {
    Ctx {
        now_ms,
        entropy: [now_ms as u8; 16],
    }
}

/// Decode and handle one request given as JSON; returns the reply as JSON and the effects.
fn call_at(
    service: &Service,
    state: &ServiceState,
    from: &NodeId,
    request: Value,
    now_ms: u64,
) -> (Value, Vec<Effect>) {
    let bytes = serde_json::to_vec(&request).unwrap();
    match service.decode(&bytes) {
        Ok(request) => {
            let outcome = service.handle(state, from, request, ctx(now_ms));
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
    service: &Service,
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
        let outcome = service.handle(&state, &peer(1), service.decode(&bytes).unwrap(), ctx(NOW));
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
    assert_eq!(bolt11["invoice"], "lnbcrt-fake-26100000");
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

fn menu_for(service: &Service, from: &NodeId, now_ms: u64) -> Vec<Value> {
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
    service: &Service,
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
    assert_eq!(record.state, "BOUGHT");
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
    let (reply, _) = buy(&service, &state, &peer(1), entry, None, NOW);
    assert_eq!(error_code(&reply), 1);
    assert!(
        reply["error"]["data"]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
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
        match effect.to_stored().unwrap() {
            StoredRow::Order(o) => orders.push(o),
            StoredRow::Buy(b) => buys.push(b),
        }
    }
    let reloaded = ServiceState::from_rows(&orders, &buys).unwrap();
    assert_eq!(reloaded.order_count(), 1);
    assert_eq!(reloaded.buy_count(), 1);
    let Effect::InsertOrder {
        order_id, record, ..
    } = &effects[0]
    else {
        panic!()
    };
    assert_eq!(reloaded.order(order_id), Some(&**record));
}

#[test]
fn bad_menu_config_is_refused() {
    let mut lsps2 = Lsps2Config::default();
    lsps2.menu.reverse();
    let node = Arc::new(FakeNode {
        next_scid: AtomicU64::new(1),
        inbound_msat: 0,
    });
    let err = Service::new(
        &Lsps1Config::default(),
        &lsps2,
        &Limits::default(),
        [0; 32],
        node,
        FaultSet::NONE,
    );
    assert!(matches!(err, Err(ConfigError::Lsps2Menu(_))));
}

// --- Intercept SCID uniqueness among live buys -------------------------------------------------

/// A node whose `intercept_scid` replays a script, then repeats `fallback` forever, the way
/// LDK's fake SCIDs can repeat on a short dev chain.
struct RepeatingScids {
    script: std::sync::Mutex<std::collections::VecDeque<u64>>,
    fallback: u64,
    draws: AtomicU64,
}

impl RepeatingScids {
    fn new(script: &[u64], fallback: u64) -> Arc<Self> {
        Arc::new(Self {
            script: std::sync::Mutex::new(script.iter().copied().collect()),
            fallback,
            draws: AtomicU64::new(0),
        })
    }
}

impl NodeOps for RepeatingScids {
    fn intercept_scid(&self) -> u64 {
        self.draws.fetch_add(1, Ordering::Relaxed);
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(self.fallback)
    }
    fn bolt11_invoice(&self, _a: u64, _d: &str, _e: u32) -> Result<String, String> {
        Err("no invoices here".into())
    }
    fn onchain_address(&self) -> Option<String> {
        None
    }
    fn inbound_liquidity_msat(&self) -> u64 {
        0
    }
}

fn service_on(node: Arc<dyn NodeOps>) -> Service {
    Service::new(
        &Lsps1Config::default(),
        &Lsps2Config::default(),
        &Limits::default(),
        [7; 32],
        node,
        FaultSet::NONE,
    )
    .unwrap()
}

/// Handle one `lsps2.buy` and keep the whole outcome (with its SCID reservation).
fn buy_outcome(service: &Service, state: &ServiceState, from: &NodeId, params: &Value) -> Outcome {
    let bytes = serde_json::to_vec(&req(
        "lsps2.buy",
        json!({"opening_fee_params": params, "payment_size_msat": "50000000"}),
    ))
    .unwrap();
    let request = service.decode(&bytes).unwrap();
    service.handle(state, from, request, ctx(NOW + 1))
}

fn bought_scid(outcome: &Outcome) -> u64 {
    match &outcome.response.body {
        Ok(ResponseResult::Lsps2Buy(result)) => result.jit_channel_scid.0,
        other => panic!("not a buy result: {other:?}"),
    }
}

#[test]
fn lsps2_buy_redraws_a_scid_held_by_a_pending_or_accepted_buy() {
    const A: u64 = 1_099_544_592_389;
    const B: u64 = A + 1;
    const C: u64 = A + 2;
    let node = RepeatingScids::new(&[A, A, A, B, A, B, C], 0);
    let service = service_on(node.clone());
    let mut state = ServiceState::default();
    let menu = menu_for(&service, &peer(1), NOW);

    let first = buy_outcome(&service, &state, &peer(1), &menu[0]);
    assert_eq!(bought_scid(&first), A);
    // `first` is not durable yet (not in the state) but its SCID is taken.
    let second = buy_outcome(&service, &state, &peer(1), &menu[1]);
    assert_eq!(bought_scid(&second), B, "A is reserved by the pending buy");
    for effect in &first.effects {
        state.apply(effect);
    }
    drop(first);
    // A is now held by an accepted buy, B by a pending one.
    let third = buy_outcome(&service, &state, &peer(1), &menu[0]);
    assert_eq!(bought_scid(&third), C);
    assert_eq!(node.draws.load(Ordering::Relaxed), 7);
    let [Effect::InsertBuy(record)] = third.effects.as_slice() else {
        panic!("{:?}", third.effects)
    };
    assert_eq!(record.jit_channel_scid.0, C);
}

#[test]
fn lsps2_buy_gives_up_with_a_clear_error_when_every_draw_repeats() {
    const A: u64 = 42 << 40;
    let node = RepeatingScids::new(&[], A);
    let service = service_on(node.clone());
    let mut state = ServiceState::default();
    let menu = menu_for(&service, &peer(1), NOW);
    let first = buy_outcome(&service, &state, &peer(1), &menu[0]);
    for effect in &first.effects {
        state.apply(effect);
    }
    drop(first);
    let second = buy_outcome(&service, &state, &peer(1), &menu[1]);
    let Err(error) = &second.response.body else {
        panic!("{:?}", second.response)
    };
    assert_eq!(error.code, code::INTERNAL_ERROR);
    assert!(
        error.message.contains("intercept SCID"),
        "{}",
        error.message
    );
    assert!(second.effects.is_empty() && second.scid_reservation.is_none());
    assert_eq!(
        node.draws.load(Ordering::Relaxed),
        1 + super::lsps2::MAX_SCID_DRAWS as u64,
        "bounded retries"
    );
    assert_eq!(state.buy(A).unwrap().peer, peer(1), "the first buy is kept");
}

mod dispatcher {
    use super::*;
    use crate::dispatch::{Clock, Dispatcher};
    use crate::store::{MemoryStore, Store, StoredBuy};
    use crate::transport::Dispatch;

    struct FixedClock(AtomicU64);

    impl Clock for FixedClock {
        fn now_ms(&self) -> u64 {
            NOW + 1
        }
        fn entropy(&self) -> [u8; 16] {
            (self.0.fetch_add(1, Ordering::Relaxed) as u128).to_le_bytes()
        }
    }

    fn dispatcher(node: Arc<dyn NodeOps>, store: Arc<MemoryStore>) -> Dispatcher {
        let limits = Limits {
            peer_requests_per_sec: 1_000_000,
            peer_burst: 1_000_000,
            max_pending_per_peer: 1_000,
            max_pending_total: 10_000,
            ..Limits::default()
        };
        let service = Service::new(
            &Lsps1Config::default(),
            &Lsps2Config::default(),
            &limits,
            [7; 32],
            node,
            FaultSet::NONE,
        )
        .unwrap();
        Dispatcher::new(
            service,
            ServiceState::default(),
            store,
            Arc::new(FixedClock(AtomicU64::new(0))),
        )
    }

    fn buy_bytes(n: usize, params: &Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "jsonrpc": "2.0",
            "id": format!("{n:032x}"),
            "method": "lsps2.buy",
            "params": {"opening_fee_params": params, "payment_size_msat": "50000000"},
        }))
        .unwrap()
    }

    fn scid_of(reply: &Value) -> u64 {
        reply["result"]["jit_channel_scid"]
            .as_str()
            .unwrap_or_else(|| panic!("no result: {reply}"))
            .parse::<Scid>()
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn concurrent_buys_with_repeating_scids_all_succeed_with_distinct_scids() {
        // Every SCID comes twice in a row: without the reservation the second of each pair of
        // concurrent buys collides with the first in the store (-32603).
        let script: Vec<u64> = (0..200u64).flat_map(|i| [1000 + i, 1000 + i]).collect();
        let node = RepeatingScids::new(&script, 0);
        let store = Arc::new(MemoryStore::new());
        let dispatcher = dispatcher(node.clone(), store.clone());
        let menus: Vec<Vec<Value>> = (1..=5)
            .map(|p| menu_for(dispatcher.service(), &peer(p), NOW))
            .collect();
        // All handled (SCIDs drawn) before any is durable.
        let pending: Vec<_> = (0..50)
            .map(|n| dispatcher.dispatch(key(1 + (n % 5) as u8), &buy_bytes(n, &menus[n % 5][0])))
            .collect();
        let mut scids = std::collections::BTreeSet::new();
        for answer in pending {
            let bytes = answer.resolve().await.unwrap();
            let reply: Value = serde_json::from_slice(&bytes).unwrap();
            assert!(
                scids.insert(scid_of(&reply)),
                "SCID handed out twice: {reply}"
            );
        }
        assert_eq!(scids.len(), 50);
        assert_eq!(store.load_buys().await.unwrap().len(), 50);
        assert_eq!(dispatcher.with_state(|s| s.buy_count()), Some(50));
    }

    #[tokio::test]
    async fn a_scid_the_store_already_holds_is_drawn_again_not_lost() {
        // The store holds a buy the state does not know (state and store diverged): the
        // uniqueness violation makes the dispatcher handle the buy again with a fresh SCID.
        const TAKEN: u64 = 7 << 40;
        let store = Arc::new(MemoryStore::new());
        let existing = StoredBuy {
            jit_channel_scid: TAKEN,
            peer_node_id: peer(9).to_string(),
            created_at_ms: NOW,
            body: "{}".into(),
        };
        store.insert_buy(existing.clone()).await.unwrap();
        let node = RepeatingScids::new(&[TAKEN, TAKEN + 1], TAKEN);
        let dispatcher = dispatcher(node, store.clone());
        let menu = menu_for(dispatcher.service(), &peer(1), NOW);
        let bytes = dispatcher
            .dispatch(key(1), &buy_bytes(1, &menu[0]))
            .resolve()
            .await
            .unwrap();
        let reply: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(scid_of(&reply), TAKEN + 1);
        assert_eq!(store.get_buy(TAKEN).await.unwrap(), Some(existing.clone()));
        assert!(store.get_buy(TAKEN + 1).await.unwrap().is_some());

        // Only TAKEN from now on: the store refuses it, the redraws (while the refused SCID
        // stays reserved) find nothing else, and the answer is -32603 that says why.
        let bytes = dispatcher
            .dispatch(key(1), &buy_bytes(2, &menu[1]))
            .resolve()
            .await
            .unwrap();
        let reply: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(error_code(&reply), -32603, "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains("no unused intercept SCID"), "{message}");
        assert_eq!(store.get_buy(TAKEN).await.unwrap(), Some(existing));
        assert_eq!(store.load_buys().await.unwrap().len(), 2);
    }
}
