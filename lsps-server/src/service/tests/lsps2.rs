//! LSPS2 through the service: the fee menu, buy (promise, errors, liquidity, quotas), the
//! menu configuration.

use super::*;

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
    // Each buy is judged against an empty state: the checks leave nothing behind.
    let state = ServiceState::default();
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
        &state,
        &peer(1),
        entry.clone(),
        Some(50_000_000),
        NOW,
    );
    assert_eq!(error_code(&reply), 203);
    let (reply, _) = buy(&poor, &state, &peer(1), entry, Some(5_000_000), NOW);
    assert!(reply.get("result").is_some());
    // The dev default does not check: any size within the menu succeeds with no channels.
    let dev = service();
    let entry = menu_for(&dev, &peer(1), NOW)[0].clone();
    let (reply, _) = buy(&dev, &state, &peer(1), entry, Some(4_000_000_000), NOW);
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
    // Each buy is judged against an empty state: the checks leave nothing behind.
    let state = ServiceState::default();
    let mut harness = service();
    // The default menu: 1.2 ‰, ≥ 546 sat fee. A 50 000 sat payment needs about
    // 50 000 − 546 + 1 000 reserve + 10 000 headroom ≈ 60 454 sat; 20 000 sat minimum.
    harness.node.fundable_sat = 60_000;
    let entry = menu_for(&harness, &peer(1), NOW)[0].clone();
    let (reply, effects) = buy(
        &harness,
        &state,
        &peer(1),
        entry.clone(),
        Some(50_000_000),
        NOW,
    );
    assert_eq!(error_code(&reply), 203, "{reply}");
    assert!(effects.is_empty());
    let (reply, effects) = buy(
        &harness,
        &state,
        &peer(1),
        entry.clone(),
        Some(40_000_000),
        NOW,
    );
    assert!(reply.get("result").is_some(), "{reply}");
    assert_eq!(effects.len(), 1);

    // No-MPP: the smallest payment (1 000 sat) needs the 20 000 sat minimum channel.
    harness.node.fundable_sat = 19_999;
    let (reply, effects) = buy(&harness, &state, &peer(1), entry.clone(), None, NOW);
    assert_eq!(error_code(&reply), 1, "{reply}");
    assert!(effects.is_empty());
    harness.node.fundable_sat = 20_000;
    let (reply, _) = buy(&harness, &state, &peer(1), entry, None, NOW);
    assert!(reply.get("result").is_some(), "{reply}");
}
