#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every client-side check, each triggered by a crafted reply from the scripted BOLT8 LSP
//! (testkit::scripted_lsp), plus timeouts, unknown ids and bad messages.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{bolt8_client, datetime_in, entry, with};
use lsps_client::transport::bolt8::{Bolt8Connector, Bolt8Transport, NodeKey};
use lsps_client::transport::{BoxFuture, ConnectionId, Transport, TransportError, TransportEvent};
use lsps_client::{BuyLimits, CheckFailure, ClientError, FeeOffer, IgnoreReason, LspsClient};
use lsps_core::jsonrpc::RequestParams;
use lsps_core::lsps1::{CreateOrderRequest, OrderError, OrderParams};
use lsps_core::lsps2::{FeeOverflow, MenuError, OpeningFeeParams, PromiseFormatError};
use lsps_core::types::{Msat, Sat};
use serde_json::{Value, json};
use testkit::scripted_lsp::{Reply, ScriptedLsp, ScriptedRequest};

const TIMEOUT: Duration = Duration::from_secs(5);

/// An LSP answering `lsps2.get_info` with `menu` and `lsps2.buy` with `buy_result`.
async fn lsps2_lsp(menu: Vec<Value>, buy_result: Value) -> ScriptedLsp {
    ScriptedLsp::start(move |req: &ScriptedRequest| match req.method() {
        Some("lsps2.get_info") => vec![Reply::now(
            req.result(json!({ "opening_fee_params_menu": menu.clone() })),
        )],
        Some("lsps2.buy") => vec![Reply::now(req.result(buy_result.clone()))],
        _ => vec![Reply::now(req.error(-32601, "Method not found", None))],
    })
    .await
    .unwrap()
}

fn good_buy() -> Value {
    json!({"jit_channel_scid": "1x2x3", "lsp_cltv_expiry_delta": 144, "client_trusts_lsp": false})
}

fn buys_sent(lsp: &ScriptedLsp) -> usize {
    lsp.received()
        .iter()
        .filter(|r| r.method() == Some("lsps2.buy"))
        .count()
}

fn params(v: Value) -> OpeningFeeParams {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn promise_over_512_bytes_aborts_get_info() {
    let long = with(entry(5000, 2000), "promise", json!("p".repeat(513)));
    let lsp = lsps2_lsp(vec![long], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let err = client.lsps2_get_info(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::Promise {
                index: 0,
                error: PromiseFormatError::TooLong(513)
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn promise_of_exactly_512_bytes_is_accepted() {
    let edge = with(entry(5000, 2000), "promise", json!("p".repeat(512)));
    let lsp = lsps2_lsp(vec![edge], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let info = client.lsps2_get_info(None).await.unwrap();
    assert_eq!(info.offers[0].params.promise.len(), 512);
}

#[tokio::test]
async fn unknown_field_in_opening_fee_params_aborts() {
    let extra = with(entry(5000, 2000), "surprise", json!(1));
    let lsp = lsps2_lsp(vec![entry(1000, 1000), extra], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    match client.lsps2_get_info(None).await.unwrap_err() {
        ClientError::Check(CheckFailure::UnknownFeeParamsField { property }) => {
            assert_eq!(property, "opening_fee_params_menu.1.surprise")
        }
        other => panic!("expected UnknownFeeParamsField, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_result_keys_outside_fee_params_are_ignored() {
    // LSPS0: clients MUST ignore unknown result keys (only opening_fee_params is closed).
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::now(req.result(
            json!({"opening_fee_params_menu": [entry(5000, 2000)], "future": {"x": 1}}),
        ))]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    assert_eq!(client.lsps2_get_info(None).await.unwrap().offers.len(), 1);
}

#[tokio::test]
async fn menu_out_of_order_aborts() {
    // Second entry is cheaper on min_fee with the same proportional.
    let lsp = lsps2_lsp(vec![entry(5000, 2000), entry(4000, 2000)], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let err = client.lsps2_get_info(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::MenuOrder(MenuError::NotIncreasing {
                index: 1,
                previous: 0
            }))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn expired_offer_is_refused_before_buy_is_sent() {
    let expired = with(entry(5000, 2000), "valid_until", json!(datetime_in(-60)));
    let lsp = lsps2_lsp(vec![expired.clone()], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let menu = client.lsps2_get_info(None).await.unwrap();
    let err = client
        .lsps2_buy(
            &menu.offers[0],
            Some(Msat(50_000_000)),
            &BuyLimits::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Check(CheckFailure::OfferExpired { .. })),
        "{err:?}"
    );
    assert_eq!(buys_sent(&lsp), 0);
}

#[tokio::test]
async fn fee_above_limit_is_refused_before_buy_is_sent() {
    let lsp = lsps2_lsp(vec![entry(5000, 2000)], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let menu = client.lsps2_get_info(None).await.unwrap();
    let offer = &menu.offers[0];
    // 50_000_000 msat at 2000 ppm = 100_000 msat fee.
    let limits = BuyLimits {
        max_fee_msat: Some(Msat(99_999)),
        ..BuyLimits::default()
    };
    let err = client
        .lsps2_buy(offer, Some(Msat(50_000_000)), &limits)
        .await
        .unwrap_err();
    match err {
        ClientError::Check(CheckFailure::FeeAboveLimit { fee, limit }) => {
            assert_eq!((fee, limit), (Msat(100_000), Msat(99_999)))
        }
        other => panic!("expected FeeAboveLimit, got {other:?}"),
    }
    // Without a size the fee is at least min_fee_msat.
    let limits = BuyLimits {
        max_fee_msat: Some(Msat(4_999)),
        ..BuyLimits::default()
    };
    assert!(matches!(
        client.lsps2_buy(offer, None, &limits).await.unwrap_err(),
        ClientError::Check(CheckFailure::FeeAboveLimit { .. })
    ));
    assert_eq!(buys_sent(&lsp), 0);

    // At the limit it goes through and reports the fee.
    let limits = BuyLimits {
        max_fee_msat: Some(Msat(100_000)),
        ..BuyLimits::default()
    };
    let outcome = client
        .lsps2_buy(offer, Some(Msat(50_000_000)), &limits)
        .await
        .unwrap();
    assert_eq!(outcome.opening_fee_msat, Some(Msat(100_000)));
    assert_eq!(outcome.result.jit_channel_scid.to_string(), "1x2x3");
    assert_eq!(buys_sent(&lsp), 1);
}

#[tokio::test]
async fn payment_size_outside_range_is_refused_before_buy_is_sent() {
    let lsp = lsps2_lsp(vec![entry(5000, 2000)], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let menu = client.lsps2_get_info(None).await.unwrap();
    let offer = &menu.offers[0];
    for size in [999_999, 1_000_000_001] {
        let err = client
            .lsps2_buy(offer, Some(Msat(size)), &BuyLimits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Check(CheckFailure::PaymentSizeOutOfRange { .. })
            ),
            "{size}: {err:?}"
        );
    }
    assert_eq!(buys_sent(&lsp), 0);
}

#[tokio::test]
async fn fee_overflow_is_refused() {
    // bLIP-52 fee edge vectors: 18446744073709 × 1000000 fits, + 999999 overflows.
    let offer = FeeOffer::from_params(params(with(
        with(
            with(
                entry(0, 1_000_000),
                "max_payment_size_msat",
                json!(u64::MAX.to_string()),
            ),
            "min_payment_size_msat",
            json!("0"),
        ),
        "min_fee_msat",
        json!("0"),
    )));
    let lsp = lsps2_lsp(vec![], good_buy()).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let err = client
        .lsps2_buy(
            &offer,
            Some(Msat(18_446_744_073_709)),
            &BuyLimits::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::FeeOverflow(FeeOverflow::Add))
        ),
        "{err:?}"
    );
    let err = client
        .lsps2_buy(&offer, Some(Msat(u64::MAX / 2)), &BuyLimits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::FeeOverflow(FeeOverflow::Multiply))
        ),
        "{err:?}"
    );
    assert_eq!(buys_sent(&lsp), 0);
}

#[tokio::test]
async fn client_trusts_lsp_needs_consent() {
    let trusting = json!({"jit_channel_scid": "1x2x3", "lsp_cltv_expiry_delta": 144, "client_trusts_lsp": true});
    let lsp = lsps2_lsp(vec![entry(5000, 2000)], trusting).await;
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let menu = client.lsps2_get_info(None).await.unwrap();
    let offer = &menu.offers[0];
    let err = client
        .lsps2_buy(offer, Some(Msat(50_000_000)), &BuyLimits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::ClientTrustsLspRefused)
        ),
        "{err:?}"
    );
    let consent = BuyLimits {
        accept_client_trusts_lsp: true,
        ..BuyLimits::default()
    };
    assert!(
        client
            .lsps2_buy(offer, Some(Msat(50_000_000)), &consent)
            .await
            .unwrap()
            .result
            .client_trusts_lsp
    );
}

fn order_reply(req: &ScriptedRequest, fee: u64, total: u64) -> Vec<u8> {
    let p = req.params();
    req.result(json!({
        "order_id": "order-1",
        "lsp_balance_sat": p["lsp_balance_sat"],
        "client_balance_sat": p["client_balance_sat"],
        "required_channel_confirmations": p["required_channel_confirmations"],
        "funding_confirms_within_blocks": p["funding_confirms_within_blocks"],
        "channel_expiry_blocks": p["channel_expiry_blocks"],
        "token": "",
        "created_at": datetime_in(0),
        "announce_channel": p["announce_channel"],
        "order_state": "CREATED",
        "payment": {
            "bolt11": {
                "state": "EXPECT_PAYMENT",
                "expires_at": datetime_in(3600),
                "fee_total_sat": fee.to_string(),
                "order_total_sat": total.to_string(),
                "invoice": "lnbcrt1fake"
            }
        },
        "channel": null
    }))
}

fn order_request() -> CreateOrderRequest {
    CreateOrderRequest {
        order: OrderParams {
            lsp_balance_sat: Sat(1_000_000),
            client_balance_sat: Sat(20_000),
            required_channel_confirmations: 0,
            funding_confirms_within_blocks: 6,
            channel_expiry_blocks: 4032,
            token: None,
            announce_channel: false,
        },
        refund_onchain_address: None,
    }
}

#[tokio::test]
async fn order_total_mismatch_is_refused() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        // fee 5000 + client balance 20000 should be 25000.
        vec![Reply::now(order_reply(req, 5_000, 25_001))]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let err = client
        .lsps1_create_order(order_request(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Check(CheckFailure::Order(OrderError::TotalMismatch {
                kind: "bolt11"
            }))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn consistent_order_is_accepted() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::now(order_reply(req, 5_000, 25_000))]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let order = client
        .lsps1_create_order(order_request(), None)
        .await
        .unwrap();
    assert_eq!(order.order_id.as_str(), "order-1");
}

#[tokio::test]
async fn reply_that_is_not_a_jsonrpc_response_fails_the_request_and_stops_sending() {
    // Right id, but `jsonrpc` missing: not a JSON-RPC 2.0 response.
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        let bad = json!({"id": req.id(), "result": {"protocols": [2]}});
        vec![Reply::now(bad.to_string())]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    let err = client.list_protocols().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Check(CheckFailure::BadReply { .. })),
        "{err:?}"
    );
    // LSPS0 SHOULD: no more 37913 messages on this connection.
    let err = client.list_protocols().await.unwrap_err();
    assert!(
        matches!(err, ClientError::StoppedAfterBadMessage(_)),
        "{err:?}"
    );
    assert_eq!(lsp.received().len(), 1);
}

#[tokio::test]
async fn result_of_wrong_shape_is_an_invalid_result() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::now(req.result(json!({"protocols": "two"})))]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    match client.list_protocols().await.unwrap_err() {
        ClientError::Check(CheckFailure::InvalidResult { property, .. }) => {
            assert_eq!(property, "protocols")
        }
        other => panic!("expected InvalidResult, got {other:?}"),
    }
}

#[tokio::test]
async fn replies_with_unknown_ids_and_notifications_are_ignored() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        let foreign = json!({"jsonrpc": "2.0", "id": "not-ours", "result": {"protocols": [9]}});
        let notification =
            json!({"jsonrpc": "2.0", "method": "lsps99.something_happened", "params": {}});
        vec![
            Reply::now(foreign.to_string()),
            Reply::now(notification.to_string()),
            Reply::now(req.result(json!({"protocols": [1, 2]}))),
        ]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![1, 2]);
    let ignored = client.ignored_messages();
    assert!(
        ignored.iter().any(|m| m.reason
            == IgnoreReason::UnknownId(lsps_core::jsonrpc::RequestId("not-ours".into())))
    );
    assert!(ignored.iter().any(|m| matches!(
        &m.reason,
        IgnoreReason::Notification(method) if method == "lsps99.something_happened"
    )));
}

#[tokio::test]
async fn no_reply_times_out_and_a_late_reply_is_ignored() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::after(
            Duration::from_millis(600),
            req.result(json!({"protocols": [2]})),
        )]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), Duration::from_millis(200)).await;
    let err = client.list_protocols().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    // The late reply arrives for a forgotten id: ignored, nothing breaks.
    let ignored = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let ignored = client.ignored_messages();
            if !ignored.is_empty() {
                return ignored;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(matches!(ignored[0].reason, IgnoreReason::UnknownId(_)));
}

#[tokio::test]
async fn lsp_error_messages_are_sanitised() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::now(req.error(
            1,
            "<b>no</b>\nthanks\u{0}",
            Some(json!({"message": "Client rejected"})),
        ))]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    match client.list_protocols().await.unwrap_err() {
        ClientError::Lsp { error, .. } => {
            assert_eq!(error.code, 1);
            assert_eq!(error.code_name(), "client_rejected");
            assert_eq!(error.message, "?b>no?/b>?thanks?");
        }
        other => panic!("expected Lsp error, got {other:?}"),
    }
}

#[tokio::test]
async fn request_ids_are_random_strings() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::now(req.result(json!({"protocols": [2]})))]
    })
    .await
    .unwrap();
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    client.list_protocols().await.unwrap();
    client
        .call(RequestParams::Lsps0ListProtocols(
            lsps_core::lsps0::ListProtocolsRequest {},
        ))
        .await
        .unwrap();
    let ids: Vec<Value> = lsp.received().iter().map(ScriptedRequest::id).collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let id = id.as_str().expect("string id");
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn concurrent_requests_are_matched_by_id_even_when_answered_out_of_order() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        // get_info answers late, list_protocols at once: replies cross.
        match req.method() {
            Some("lsps2.get_info") => vec![Reply::after(
                Duration::from_millis(100),
                req.result(json!({"opening_fee_params_menu": [entry(5000, 2000)]})),
            )],
            _ => vec![Reply::now(req.result(json!({"protocols": [2]})))],
        }
    })
    .await
    .unwrap();
    let client = Arc::new(bolt8_client(&lsp.connection_string(), TIMEOUT).await);
    let (info, protocols) = tokio::join!(client.lsps2_get_info(None), client.list_protocols());
    assert_eq!(info.unwrap().offers.len(), 1);
    assert_eq!(protocols.unwrap().protocols, vec![2]);
}

/// A BOLT8 transport that reports the LSP's `init` as lacking option_support_large_channel
/// (the scripted LSP's `ErroringMessageHandler` advertises it, like LDK).
struct WithoutLargeChannels(Bolt8Transport);

impl Transport for WithoutLargeChannels {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        self.0.send(payload)
    }
    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        self.0.recv()
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn peer_supports_large_channels(&self) -> Option<bool> {
        Some(false)
    }
}

#[tokio::test]
async fn large_channel_needs_the_lsps_large_channel_feature() {
    let lsp = ScriptedLsp::start(|req: &ScriptedRequest| {
        vec![Reply::now(order_reply(req, 5_000, 25_000))]
    })
    .await
    .unwrap();
    let large = || {
        let mut request = order_request();
        request.order.lsp_balance_sat = Sat(16_777_216 - 20_000);
        request
    };
    // The LSP advertises the feature: a large channel may be ordered.
    let client = bolt8_client(&lsp.connection_string(), TIMEOUT).await;
    client.lsps1_create_order(large(), None).await.unwrap();
    assert_eq!(lsp.received().len(), 1);

    let transport = Bolt8Transport::connect(Bolt8Connector::new(
        lsp.connection_string().parse().unwrap(),
        NodeKey::random(),
    ))
    .await
    .unwrap();
    let client = LspsClient::new(WithoutLargeChannels(transport)).with_timeout(TIMEOUT);
    match client.lsps1_create_order(large(), None).await.unwrap_err() {
        ClientError::Check(CheckFailure::LargeChannelNotSupported { channel_sat }) => {
            assert_eq!(channel_sat, 16_777_216)
        }
        other => panic!("expected LargeChannelNotSupported, got {other:?}"),
    }
    assert_eq!(lsp.received().len(), 1);
    // One sat less is an ordinary channel.
    let mut request = order_request();
    request.order.lsp_balance_sat = Sat(16_777_215 - 20_000);
    client.lsps1_create_order(request, None).await.unwrap();
}

#[tokio::test]
async fn disconnect_fails_pending_requests_and_the_next_call_reconnects() {
    // First request: no reply, then the LSP drops us. Second (new connection): answered.
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&answered);
    let scripted = Arc::new(
        ScriptedLsp::start(move |req: &ScriptedRequest| {
            if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                vec![]
            } else {
                vec![Reply::now(req.result(json!({"protocols": [2]})))]
            }
        })
        .await
        .unwrap(),
    );
    let client = Arc::new(bolt8_client(&scripted.connection_string(), TIMEOUT).await);
    let first = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.list_protocols().await })
    };
    // Wait until the LSP has the request, then cut the connection.
    tokio::time::timeout(TIMEOUT, async {
        while scripted.received().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    for peer in scripted.peers() {
        scripted.disconnect(peer);
    }
    let err = first.await.unwrap().unwrap_err();
    assert!(matches!(err, ClientError::Disconnected { .. }), "{err:?}");
    assert_eq!(client.list_protocols().await.unwrap().protocols, vec![2]);
}

#[tokio::test]
async fn init_features_of_the_lsp_are_visible() {
    // The scripted LSP does not set bit 729; LDK's does (see bolt8_ldk.rs).
    let lsp = ScriptedLsp::start(|_: &ScriptedRequest| vec![])
        .await
        .unwrap();
    let conn = Bolt8Connector::new(lsp.connection_string().parse().unwrap(), NodeKey::random())
        .connect()
        .await
        .unwrap();
    assert!(conn.lsp_init_features().is_some());
    assert!(!conn.lsp_advertises_lsps());
}
