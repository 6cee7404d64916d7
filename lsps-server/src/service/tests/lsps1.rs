//! LSPS1 through the service: get_info, create_order (prices, errors, quota), get_order.

use super::*;

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
    let (reply, effects) = create_order(&service, &state, &peer(1));
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
    let (_, effects) = create_order(&service, &state, &peer(1));
    effects.iter().for_each(|e| state.apply(e));
    let (reply, _) = create_order(&service, &state, &peer(1));
    assert_eq!(error_code(&reply), 1);
    let (reply, _) = create_order(&service, &state, &peer(2));
    assert!(reply.get("result").is_some());
}

/// `get_order` answers the flow's states; a flow update is its own row write and survives a
/// reload (the creation body stays as answered).
#[test]
fn get_order_answers_the_flow_and_flow_updates_reload() {
    use lsps_core::lsps1::flow::LightningOption;
    use lsps_core::lsps1::{OrderFlowAction, OrderFlowEvent};

    let service = service();
    let mut state = ServiceState::default();
    let (_, effects) = create_order(&service, &state, &peer(1));
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
