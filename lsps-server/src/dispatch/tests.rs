//! Dispatcher tests: SCID reservation and redraws, atomic quotas, store retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lsps_core::types::Scid;
use serde_json::{Value, json};

use super::*;
use crate::config::{Limits, Lsps1Config, Lsps2Config};
use crate::faults::FaultSet;
use crate::store::{MemoryStore, StoredBuy};
use crate::testing::{FakeNode, FixedClock};

const NOW: u64 = 1_800_000_000_000;

fn key(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[byte; 32]).unwrap(),
    )
}

fn generous_limits() -> Limits {
    Limits {
        peer_requests_per_sec: 1_000_000,
        peer_burst: 1_000_000,
        max_pending_per_peer: 1_000,
        max_pending_total: 10_000,
        ..Limits::default()
    }
}

fn dispatcher_with(node: Arc<FakeNode>, store: Arc<MemoryStore>, limits: Limits) -> Dispatcher {
    let service = Service::new(
        &Lsps1Config::default(),
        &Lsps2Config::default(),
        &limits,
        [7; 32],
        FaultSet::NONE,
    )
    .unwrap();
    Dispatcher::new(
        service,
        node,
        ServiceState::default(),
        store,
        Arc::new(FixedClock::at(NOW + 1)),
    )
}

fn dispatcher(node: Arc<FakeNode>, store: Arc<MemoryStore>) -> Dispatcher {
    dispatcher_with(node, store, generous_limits())
}

async fn call(dispatcher: &Dispatcher, from: PublicKey, request: Value) -> Value {
    let bytes = serde_json::to_vec(&request).unwrap();
    let reply = dispatcher.dispatch(from, &bytes).resolve().await.unwrap();
    serde_json::from_slice(&reply).unwrap()
}

async fn menu(dispatcher: &Dispatcher, from: PublicKey) -> Vec<Value> {
    let reply = call(
        dispatcher,
        from,
        json!({"jsonrpc": "2.0", "id": "m", "method": "lsps2.get_info", "params": {}}),
    )
    .await;
    reply["result"]["opening_fee_params_menu"]
        .as_array()
        .unwrap()
        .clone()
}

fn buy_request(n: usize, params: &Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": format!("{n:032x}"),
        "method": "lsps2.buy",
        "params": {"opening_fee_params": params, "payment_size_msat": "50000000"},
    })
}

fn order_request(n: usize) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": format!("o{n}"),
        "method": "lsps1.create_order",
        "params": {
            "lsp_balance_sat": "1000000",
            "client_balance_sat": "0",
            "required_channel_confirmations": 1,
            "funding_confirms_within_blocks": 6,
            "channel_expiry_blocks": 144,
            "token": "",
            "announce_channel": false
        },
    })
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
    let node = Arc::new(FakeNode::with_scid_script(&script, 0));
    let store = Arc::new(MemoryStore::new());
    let dispatcher = dispatcher(node, store.clone());
    let mut menus = Vec::new();
    for p in 1..=5 {
        menus.push(menu(&dispatcher, key(p)).await);
    }
    // All planned (SCIDs drawn) before any is durable.
    let pending: Vec<_> = (0..50)
        .map(|n| {
            let bytes = serde_json::to_vec(&buy_request(n, &menus[n % 5][0])).unwrap();
            dispatcher.dispatch(key(1 + (n % 5) as u8), &bytes)
        })
        .collect();
    let mut scids = std::collections::BTreeSet::new();
    for answer in pending {
        let reply: Value = serde_json::from_slice(&answer.resolve().await.unwrap()).unwrap();
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
    // The store holds a buy the state does not know (another server sharing the database):
    // the uniqueness violation makes the dispatcher complete the buy with a fresh SCID.
    const TAKEN: u64 = 7 << 40;
    let store = Arc::new(MemoryStore::new());
    let existing = StoredBuy {
        jit_channel_scid: TAKEN,
        peer_node_id: key(9).to_string(),
        created_at_ms: NOW,
        body: "{}".into(),
        jit_flow: None,
    };
    store.insert_buy(existing.clone()).await.unwrap();
    let node = Arc::new(FakeNode::with_scid_script(&[TAKEN, TAKEN + 1], TAKEN));
    let dispatcher = dispatcher(node.clone(), store.clone());
    let offers = menu(&dispatcher, key(1)).await;
    let reply = call(&dispatcher, key(1), buy_request(1, &offers[0])).await;
    assert_eq!(scid_of(&reply), TAKEN + 1);
    assert_eq!(store.get_buy(TAKEN).await.unwrap(), Some(existing.clone()));
    assert!(store.get_buy(TAKEN + 1).await.unwrap().is_some());

    // Only TAKEN from now on: the store refuses it, the redraws find nothing else, and the
    // buy is refused with code 1 (a temporary condition, not a server fault), bounded.
    let draws_before = node.scid_calls.load(Ordering::Relaxed);
    let reply = call(&dispatcher, key(1), buy_request(2, &offers[1])).await;
    assert_eq!(reply["error"]["code"], 1, "{reply}");
    let message = reply["error"]["data"]["message"].as_str().unwrap();
    assert!(message.contains("SCID"), "{message}");
    let draws = node.scid_calls.load(Ordering::Relaxed) - draws_before;
    assert!(
        draws <= (MAX_DUPLICATE_RETRIES + 1) * MAX_SCID_DRAWS,
        "{draws} draws"
    );
    assert_eq!(store.get_buy(TAKEN).await.unwrap(), Some(existing));
    assert_eq!(store.load_buys().await.unwrap().len(), 2);
}

#[tokio::test]
async fn scid_exhaustion_is_answered_with_code_1_not_internal_error() {
    const A: u64 = 42 << 40;
    let node = Arc::new(FakeNode::with_scid_script(&[], A));
    let dispatcher = dispatcher(node.clone(), Arc::new(MemoryStore::new()));
    let offers = menu(&dispatcher, key(1)).await;
    assert_eq!(
        scid_of(&call(&dispatcher, key(1), buy_request(1, &offers[0])).await),
        A
    );
    let reply = call(
        &dispatcher,
        key(2),
        buy_request(2, &menu(&dispatcher, key(2)).await[0]),
    )
    .await;
    assert_eq!(reply["error"]["code"], 1, "{reply}");
    assert_eq!(
        node.scid_calls.load(Ordering::Relaxed),
        1 + MAX_SCID_DRAWS,
        "bounded draws"
    );
}

#[tokio::test]
async fn simultaneous_orders_cannot_pass_the_quota_together() {
    let limits = Limits {
        max_orders_per_peer: 5,
        ..generous_limits()
    };
    let store = Arc::new(MemoryStore::new());
    let dispatcher = dispatcher_with(Arc::new(FakeNode::new(1)), store.clone(), limits);
    // 30 at once, none durable before all are planned.
    let pending: Vec<_> = (0..30)
        .map(|n| dispatcher.dispatch(key(1), &serde_json::to_vec(&order_request(n)).unwrap()))
        .collect();
    let mut accepted = 0;
    let mut refused = 0;
    for answer in pending {
        let reply: Value = serde_json::from_slice(&answer.resolve().await.unwrap()).unwrap();
        if reply.get("result").is_some() {
            accepted += 1;
        } else {
            assert_eq!(reply["error"]["code"], 1, "{reply}");
            refused += 1;
        }
    }
    assert_eq!((accepted, refused), (5, 25));
    assert_eq!(store.load_orders().await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_store_retry_mints_no_second_invoice_or_address() {
    // The first order id the clock's entropy makes is already in the store.
    let store = Arc::new(MemoryStore::new());
    let node = Arc::new(FakeNode::new(1));
    let dispatcher = dispatcher(node.clone(), store.clone());
    let first = call(&dispatcher, key(1), order_request(1)).await;
    let taken = first["result"]["order_id"].as_str().unwrap().to_owned();
    assert_eq!(node.invoice_calls.load(Ordering::Relaxed), 1);
    // A second dispatcher over the same store and a clock that replays the same entropy.
    let replay = dispatcher_with(node.clone(), store.clone(), generous_limits());
    let mut request = order_request(2);
    request["params"]["refund_onchain_address"] = crate::testing::regtest_address().unwrap().into();
    let reply = call(&replay, key(1), request).await;
    let order_id = reply["result"]["order_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"));
    assert_ne!(order_id, taken, "completed again with a fresh id");
    assert_eq!(
        node.invoice_calls.load(Ordering::Relaxed),
        2,
        "one invoice per accepted request"
    );
    assert_eq!(
        node.address_calls.load(Ordering::Relaxed),
        1,
        "one address per accepted request"
    );
    assert_eq!(store.load_orders().await.unwrap().len(), 2);
}

async fn call_as(
    dispatcher: &Dispatcher,
    caller: crate::transport::Caller,
    request: Value,
) -> Value {
    let bytes = serde_json::to_vec(&request).unwrap();
    let reply = dispatcher
        .dispatch_from(caller, &bytes)
        .resolve()
        .await
        .unwrap();
    serde_json::from_slice(&reply).unwrap()
}

/// An HTTP caller proves only its source address: the orders and buys it makes while stating a
/// victim's node id are charged to that source, so they cannot fill the victim's quotas (the
/// victim, over BOLT8, still orders and buys), and the source's own quota still holds.
#[tokio::test]
async fn an_http_caller_stating_a_victims_id_cannot_fill_the_victims_quotas() {
    let node = Arc::new(FakeNode::with_scid_script(&(1..100).collect::<Vec<_>>(), 0));
    let store = Arc::new(MemoryStore::new());
    let limits = Limits {
        max_orders_per_peer: 2,
        max_buys_per_peer: 2,
        ..generous_limits()
    };
    let dispatcher = dispatcher_with(node.clone(), store.clone(), limits.clone());
    let victim = key(1);
    let attacker = crate::transport::Caller::Http {
        stated: victim,
        source: "192.0.2.7".parse().unwrap(),
    };
    let entry = menu(&dispatcher, victim).await[0].clone();
    for n in 0..3 {
        let order = call_as(&dispatcher, attacker, order_request(n)).await;
        let buy = call_as(&dispatcher, attacker, buy_request(n, &entry)).await;
        if n < 2 {
            assert!(order.get("result").is_some(), "{order}");
            assert!(buy.get("result").is_some(), "{buy}");
        } else {
            // The source's own quota is still enforced.
            assert_eq!(order["error"]["code"], 1, "{order}");
            assert_eq!(buy["error"]["code"], 1, "{buy}");
        }
    }
    let order = call(&dispatcher, victim, order_request(10)).await;
    assert!(order.get("result").is_some(), "victim refused: {order}");
    let buy = call(&dispatcher, victim, buy_request(10, &entry)).await;
    assert!(buy.get("result").is_some(), "victim refused: {buy}");
    // After a restart (state rebuilt from the stored rows) the charges are the same: the
    // victim has one slot of each left, the attacker's source none.
    let state = crate::store::state_from_rows(
        &store.load_orders().await.unwrap(),
        &store.load_buys().await.unwrap(),
    )
    .unwrap();
    let service = Service::new(
        &Lsps1Config::default(),
        &Lsps2Config::default(),
        &limits,
        [7; 32],
        FaultSet::NONE,
    )
    .unwrap();
    let restarted = Dispatcher::new(
        service,
        node,
        state,
        store,
        Arc::new(FixedClock::at(NOW + 1)),
    );
    let order = call_as(&restarted, attacker, order_request(20)).await;
    assert_eq!(order["error"]["code"], 1, "{order}");
    let order = call(&restarted, victim, order_request(21)).await;
    assert!(
        order.get("result").is_some(),
        "victim refused after restart: {order}"
    );
    let order = call(&restarted, victim, order_request(22)).await;
    assert_eq!(order["error"]["code"], 1, "{order}");
}
