//! Black-box tests of the running server over loopback BOLT8 (raw payloads through the
//! lsps-client BOLT8 transport) and HTTP/WebSocket: every method, every error code, every
//! bad-input class of LSPS0 followed by a check that the connection is still served, and
//! orders/buys surviving a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_client::transport::bolt8::NodeKey;
use lsps_client::transport::http::{HttpTransport, WsTransport};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_server::config::Limits;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::jsonrpc::{TIMEOUT, call, connect, exchange, order_params, req, start};

fn code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {reply}"))
}

/// Every error the server sends: integer code, string message, data absent or an object.
fn assert_error_shape(reply: &Value) {
    let error = &reply["error"];
    assert!(error["code"].is_i64(), "{reply}");
    assert!(error["message"].is_string(), "{reply}");
    if let Some(data) = error.get("data") {
        assert!(data.is_object(), "error.data must be an object: {reply}");
    }
    assert!(reply.get("result").is_none());
}

async fn assert_still_served(t: &dyn Transport, after: &str) {
    let reply = call(t, "lsps0.list_protocols", json!({})).await;
    assert_eq!(
        reply["result"]["protocols"],
        json!([1, 2]),
        "connection not served after {after}"
    );
}

/// The bad-input classes of LSPS0 (spec/requirements, LSPS0) and what must come back.
fn bad_inputs() -> Vec<(&'static str, Vec<u8>, Option<i64>)> {
    let parse = Some(-32700);
    vec![
        ("truncated json", b"{\"jsonrpc\":\"2.0\"".to_vec(), parse),
        ("array", b" [ ] ".to_vec(), parse),
        ("batch", br#"[{"jsonrpc":"2.0","id":"1","method":"lsps0.list_protocols","params":{}}]"#.to_vec(), parse),
        ("scalar", b"42".to_vec(), parse),
        ("string", b"\"x\"".to_vec(), parse),
        ("empty payload", Vec::new(), parse),
        ("two objects", br#"{"jsonrpc":"2.0","id":"1","method":"lsps0.list_protocols","params":{}} {}"#.to_vec(), parse),
        ("trailing garbage", br#"{"jsonrpc":"2.0","id":"1","method":"lsps0.list_protocols","params":{}}x"#.to_vec(), parse),
        ("nul byte", b"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"lsps0.list_protocols\",\"params\":{}}\0".to_vec(), parse),
        ("invalid utf-8", b"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\xfe\",\"method\":\"lsps0.list_protocols\",\"params\":{}}".to_vec(), parse),
        // Not requests: the exact code is the core's classification (-32700 or -32600).
        ("response object", br#"{"jsonrpc":"2.0","id":"x","result":{}}"#.to_vec(), None),
        ("numeric id", br#"{"jsonrpc":"2.0","id":16,"method":"lsps0.list_protocols","params":{}}"#.to_vec(), None),
        ("notification", br#"{"jsonrpc":"2.0","method":"lsps0.list_protocols","params":{}}"#.to_vec(), None),
        ("by-position params", br#"{"jsonrpc":"2.0","id":"p","method":"lsps0.list_protocols","params":[]}"#.to_vec(), None),
        ("unknown method", req("u1", "lsps99.frobnicate", json!({})), Some(-32601)),
        ("unknown lsps0 method", req("u2", "lsps0.zz_nope", json!({})), Some(-32601)),
        ("unknown param", req("u3", "lsps2.get_info", json!({"token": "x", "zz": 1})), Some(-32602)),
        ("wrong type", req("u4", "lsps2.get_info", json!({"token": 5})), Some(-32602)),
    ]
}

async fn check_bad_inputs(t: &dyn Transport) {
    for (what, payload, want) in bad_inputs() {
        let reply = exchange(t, &payload).await;
        assert_error_shape(&reply);
        if let Some(want) = want {
            assert_eq!(code(&reply), want, "{what}: {reply}");
        }
        if code(&reply) == -32700 {
            assert_eq!(reply["id"], Value::Null, "{what}: -32700 must have id null");
        }
        match what {
            "unknown method" => assert_eq!(reply["id"], "u1"),
            "unknown param" => assert_eq!(reply["error"]["data"]["unrecognized"], json!(["zz"])),
            "wrong type" => assert_eq!(reply["error"]["data"]["property"], "token"),
            _ => {}
        }
        assert_still_served(t, what).await;
    }
    // Surrounding whitespace is fine.
    let padded = [
        b" \t\r\n".as_slice(),
        &req("w", "lsps0.list_protocols", json!({})),
        b" \n",
    ]
    .concat();
    let reply = exchange(t, &padded).await;
    assert_eq!(reply["result"]["protocols"], json!([1, 2]));
}

/// Every method and error code over one transport, as `from`.
async fn check_methods(t: &dyn Transport, other: &dyn Transport) {
    assert_eq!(
        call(t, "lsps0.list_protocols", json!({})).await["result"]["protocols"],
        json!([1, 2])
    );

    // LSPS1
    let info = call(t, "lsps1.get_info", json!({})).await;
    assert_eq!(info["result"]["max_initial_lsp_balance_sat"], "100000000");
    let order = call(t, "lsps1.create_order", order_params()).await;
    let result = &order["result"];
    assert_eq!(result["token"], "");
    assert_eq!(result["order_state"], "CREATED");
    assert_eq!(result["channel"], Value::Null);
    let invoice = result["payment"]["bolt11"]["invoice"].as_str().unwrap();
    assert!(
        invoice.starts_with("lnbcrt") && invoice.len() <= 2048,
        "{invoice}"
    );
    let order_id = result["order_id"].as_str().unwrap();
    let got = call(t, "lsps1.get_order", json!({"order_id": order_id})).await;
    assert_eq!(
        got["result"], *result,
        "get_order returns the created order"
    );
    let foreign = call(other, "lsps1.get_order", json!({"order_id": order_id})).await;
    assert_eq!(code(&foreign), 101, "another peer's order is unknown");
    let unknown = call(
        t,
        "lsps1.get_order",
        json!({"order_id": "00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    assert_eq!(code(&unknown), 101);
    let mut too_big = order_params();
    too_big["lsp_balance_sat"] = "100000001".into();
    let mismatch = call(t, "lsps1.create_order", too_big).await;
    assert_eq!(code(&mismatch), 100);
    assert_eq!(
        mismatch["error"]["data"]["property"],
        "max_initial_lsp_balance_sat"
    );
    let mut with_token = order_params();
    with_token["token"] = "nope".into();
    assert_eq!(code(&call(t, "lsps1.create_order", with_token).await), 102);
    let mut bad_value = order_params();
    bad_value["announce_channel"] = "yes".into();
    let invalid = call(t, "lsps1.create_order", bad_value).await;
    assert_eq!(code(&invalid), -32602);
    assert_eq!(invalid["error"]["data"]["property"], "announce_channel");

    // LSPS2
    assert_eq!(
        code(&call(t, "lsps2.get_info", json!({"token": "nope"})).await),
        200
    );
    let menu =
        call(t, "lsps2.get_info", json!({})).await["result"]["opening_fee_params_menu"].clone();
    let entry = menu[0].clone();
    let bought = call(
        t,
        "lsps2.buy",
        json!({"opening_fee_params": entry, "payment_size_msat": "50000000"}),
    )
    .await;
    let scid = bought["result"]["jit_channel_scid"].as_str().unwrap();
    assert!(scid.split('x').count() == 3, "{scid}");
    assert_eq!(bought["result"]["lsp_cltv_expiry_delta"], 144);
    let mut tampered = entry.clone();
    tampered["min_fee_msat"] = "1".into();
    let r = call(
        t,
        "lsps2.buy",
        json!({"opening_fee_params": tampered, "payment_size_msat": "50000000"}),
    )
    .await;
    assert_eq!(code(&r), 201);
    let r = call(
        other,
        "lsps2.buy",
        json!({"opening_fee_params": entry, "payment_size_msat": "50000000"}),
    )
    .await;
    assert_eq!(code(&r), 201, "the promise is bound to the peer that asked");
    let r = call(
        t,
        "lsps2.buy",
        json!({"opening_fee_params": entry, "payment_size_msat": "999999"}),
    )
    .await;
    assert_eq!(code(&r), 202);
    let r = call(
        t,
        "lsps2.buy",
        json!({"opening_fee_params": entry, "payment_size_msat": "4000000001"}),
    )
    .await;
    assert_eq!(code(&r), 203);
    let r = call(t, "lsps2.buy", json!({"opening_fee_params": entry})).await;
    assert!(r.get("result").is_some(), "no-MPP buy: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bolt8_every_method_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |_| {}).await;
    let alice = connect(&server, NodeKey::random()).await;
    let bob = connect(&server, NodeKey::random()).await;
    check_methods(&alice, &bob).await;
    check_bad_inputs(&alice).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_websocket_every_method_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |_| {}).await;
    let url = server.http_url().unwrap();
    let alice = NodeKey::random().node_id().to_string();
    let bob = NodeKey::random().node_id().to_string();
    let a = HttpTransport::new(&url, Some(alice.clone())).unwrap();
    let b = HttpTransport::new(&url, Some(bob)).unwrap();
    check_methods(&a, &b).await;
    check_bad_inputs(&a).await;

    let ws = WsTransport::connect(
        &format!("{}/ws", url.replace("http://", "ws://")),
        Some(alice),
    )
    .await
    .unwrap();
    check_bad_inputs(&ws).await;

    // Without a node id the HTTP layer refuses with 400 and a JSON-RPC -32600 body.
    let addr = url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = req("n", "lsps0.list_protocols", json!({}));
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("-32600"), "{response}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_code_1_and_never_mute() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |c| {
        c.limits = Limits {
            peer_requests_per_sec: 1,
            peer_burst: 2,
            ..Limits::default()
        };
    })
    .await;
    let conn = connect(&server, NodeKey::random()).await;
    let mut rejected = 0;
    for _ in 0..5 {
        let reply = call(&conn, "lsps0.list_protocols", json!({})).await;
        if reply.get("error").is_some() {
            assert_eq!(code(&reply), 1, "{reply}");
            assert!(
                reply["error"]["data"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("rate limit")
            );
            rejected += 1;
        }
    }
    assert!(
        rejected >= 2,
        "a burst of 2 at 1/s cannot serve 5 back-to-back requests"
    );
    // Another peer is not affected.
    let other = connect(&server, NodeKey::random()).await;
    assert!(
        call(&other, "lsps0.list_protocols", json!({}))
            .await
            .get("result")
            .is_some()
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_buys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = NodeKey::random();
    let server = start(dir.path(), |_| {}).await;
    let node_id = server.node_id();
    let url = server.http_url().unwrap();
    let client = HttpTransport::new(&url, Some(key.node_id().to_string())).unwrap();
    let order = call(&client, "lsps1.create_order", order_params()).await["result"].clone();
    let menu =
        call(&client, "lsps2.get_info", json!({})).await["result"]["opening_fee_params_menu"]
            .clone();
    let bought = call(
        &client,
        "lsps2.buy",
        json!({"opening_fee_params": menu[0], "payment_size_msat": "50000000"}),
    )
    .await;
    let scid: lsps_core::types::Scid = bought["result"]["jit_channel_scid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    server.shutdown().await;

    let server = start(dir.path(), |_| {}).await;
    assert_eq!(server.node_id(), node_id, "the seed is persisted");
    let conn = connect(&server, key).await;
    let got = call(
        &conn,
        "lsps1.get_order",
        json!({"order_id": order["order_id"]}),
    )
    .await;
    assert_eq!(got["result"], order);
    let buy = server
        .dispatcher()
        .with_state(|s| s.buy(scid.0).cloned())
        .unwrap()
        .expect("buy reloaded");
    assert_eq!(buy.payment_size_msat.map(|m| m.get()), Some(50_000_000));
    // Promises issued before the restart still verify (the key is derived from the seed).
    let again = call(&conn, "lsps2.buy", json!({"opening_fee_params": menu[1]})).await;
    assert!(again.get("result").is_some(), "{again}");
    server.shutdown().await;
}

/// Many `lsps2.buy` in flight at once (several peers, each pipelining): every one is answered
/// with a result, and no intercept SCID is handed out twice (LDK's fake SCIDs can repeat).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_buys_all_get_distinct_scids() {
    const PEERS: usize = 4;
    const BUYS_PER_PEER: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |c| {
        c.limits = Limits {
            peer_requests_per_sec: 10_000,
            peer_burst: 10_000,
            max_pending_per_peer: BUYS_PER_PEER,
            ..Limits::default()
        };
    })
    .await;
    let mut tasks = Vec::new();
    for _ in 0..PEERS {
        let conn = connect(&server, NodeKey::random()).await;
        tasks.push(tokio::spawn(async move {
            let menu =
                call(&conn, "lsps2.get_info", json!({})).await["result"]["opening_fee_params_menu"]
                    .clone();
            for n in 0..BUYS_PER_PEER {
                let params =
                    json!({"opening_fee_params": menu[n % 2], "payment_size_msat": "50000000"});
                conn.send(req(&format!("{n:032x}"), "lsps2.buy", params))
                    .await
                    .unwrap();
            }
            let mut replies = Vec::new();
            while replies.len() < BUYS_PER_PEER {
                match tokio::time::timeout(TIMEOUT, conn.recv())
                    .await
                    .expect("no reply in time")
                {
                    Some(TransportEvent::Message(bytes)) => {
                        replies.push(serde_json::from_slice::<Value>(&bytes).unwrap());
                    }
                    other => panic!("expected a reply, got {other:?}"),
                }
            }
            replies
        }));
    }
    let mut scids = std::collections::BTreeSet::new();
    for task in tasks {
        for reply in task.await.unwrap() {
            let scid = reply["result"]["jit_channel_scid"]
                .as_str()
                .unwrap_or_else(|| panic!("buy not accepted: {reply}"))
                .to_owned();
            assert!(scids.insert(scid), "SCID handed out twice: {reply}");
        }
    }
    assert_eq!(scids.len(), PEERS * BUYS_PER_PEER);
    assert_eq!(
        server.dispatcher().with_state(|s| s.buy_count()),
        Some(PEERS * BUYS_PER_PEER)
    );
    server.shutdown().await;
}
