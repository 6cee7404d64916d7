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

/// `lsps1.create_order` with [`order_params`] from `from`.
fn create_order(service: &Harness, state: &ServiceState, from: &NodeId) -> (Value, Vec<Effect>) {
    call(
        service,
        state,
        from,
        req("lsps1.create_order", order_params()),
    )
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
    let (_, mut effects) = create_order(&service, &state, &peer(1));
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

mod lsps1;
mod lsps2;
