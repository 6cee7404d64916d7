//! The admin listener (issue 16): token auth, Prometheus metrics after real traffic, and the
//! JSON API over orders and buys, found through `<data_dir>/admin.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_client::transport::bolt8::NodeKey;
use lsps_client::transport::http::HttpTransport;
use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::jsonrpc::{TIMEOUT, call, order_params};

/// `GET path` with an optional bearer token: (status, body).
async fn get(url: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tokio::time::timeout(TIMEOUT, tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Undo chunked transfer encoding (axum chunks bodies of unknown length).
fn dechunk(body: &str) -> String {
    if !body.contains("\r\n") {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listener_serves_metrics_and_orders_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    let file: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("admin.json")).unwrap()).unwrap();
    let url = file["url"].as_str().unwrap().to_owned();
    let token = file["token"].as_str().unwrap().to_owned();
    assert_eq!(Some(url.clone()), server.admin_url());

    assert_eq!(get(&url, "/metrics", None).await.0, 401);
    assert_eq!(get(&url, "/metrics", Some("wrong-token")).await.0, 401);

    let client = HttpTransport::new(
        &server.http_url().unwrap(),
        Some(NodeKey::random().node_id().to_string()),
    )
    .unwrap();
    call(&client, "lsps0.list_protocols", json!({})).await;
    let order = call(&client, "lsps1.create_order", order_params()).await;
    let order_id = order["result"]["order_id"].as_str().unwrap().to_owned();
    call(&client, "lsps1.get_order", json!({"order_id": "nope"})).await;

    let (status, body) = get(&url, "/metrics", Some(&token)).await;
    let metrics = dechunk(&body);
    assert_eq!(status, 200, "{metrics}");
    for line in [
        r#"lsps_requests_total{method="lsps0.list_protocols",result="ok"} 1"#,
        r#"lsps_requests_total{method="lsps1.create_order",result="ok"} 1"#,
        r#"lsps_requests_total{method="lsps1.get_order",result="101"} 1"#,
        r#"lsps_orders{state="CREATED"} 1"#,
        r#"lsps_store_commit_seconds_count{op="insert_order"} 1"#,
        "lsps_bolt8_peers 0",
        "lsps_tracked_callers 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in:\n{metrics}");
    }
    assert!(
        metrics.contains("lsps_jit_step_seconds"),
        "registered before use"
    );

    let (status, body) = get(&url, "/admin/orders", Some(&token)).await;
    assert_eq!(status, 200);
    let orders: Value = serde_json::from_str(&dechunk(&body)).unwrap();
    assert_eq!(orders[0]["order_id"], order_id.as_str());
    assert_eq!(orders[0]["state"], "CREATED");
    let (status, body) = get(&url, &format!("/admin/orders/{order_id}"), Some(&token)).await;
    assert_eq!(status, 200);
    let one: Value = serde_json::from_str(&dechunk(&body)).unwrap();
    assert_eq!(one["body"]["order"]["order_id"], order_id.as_str());
    assert_eq!(get(&url, "/admin/orders/nope", Some(&token)).await.0, 404);
    let (status, body) = get(&url, "/admin/buys", Some(&token)).await;
    assert_eq!((status, dechunk(&body).as_str()), (200, "[]"));
    server.shutdown().await;
}
