//! Two servers, each with its own data dir and node, sharing one PostgreSQL database (issue
//! 16): orders created on both at once get distinct ids, each server answers only its own
//! orders, and after a restart each loads only its own. Skipped with the reason where
//! PostgreSQL is absent; required when `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../src/store/test_postgres.rs"]
mod test_postgres;

use std::collections::BTreeSet;
use std::time::Duration;

use lsps_client::transport::bolt8::{Bolt8Connection, Bolt8Connector, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_server::config::ServerConfig;
use lsps_server::{ReferenceServer, ServerHandle};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn start(dir: &std::path::Path, url: &str) -> ServerHandle {
    let mut config = ServerConfig::ephemeral(dir);
    config.database_url = Some(url.to_owned());
    ReferenceServer::start(config).await.unwrap()
}

async fn call(t: &Bolt8Connection, method: &str, params: Value) -> Value {
    let id = format!("{:032x}", rand::random::<u128>());
    let payload = serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .unwrap();
    t.send(payload).await.unwrap();
    // Replies may come in any order over BOLT8; each connection here has one call in flight.
    match tokio::time::timeout(TIMEOUT, t.recv()).await.unwrap() {
        Some(TransportEvent::Message(bytes)) => serde_json::from_slice(&bytes).unwrap(),
        other => panic!("no reply: {other:?}"),
    }
}

fn order_params() -> Value {
    json!({
        "lsp_balance_sat": "1000000",
        "client_balance_sat": "0",
        "required_channel_confirmations": 0,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144,
        "announce_channel": false
    })
}

/// Create `n` orders on `server` from `n` clients at once; returns (client key, order id).
async fn create_orders(server: &ServerHandle, n: usize) -> Vec<(NodeKey, String)> {
    let target = server.connection_string();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move {
                let key = NodeKey::random();
                let conn = Bolt8Connector::new(target.parse().unwrap(), key.clone())
                    .connect()
                    .await
                    .unwrap();
                let reply = call(&conn, "lsps1.create_order", order_params()).await;
                let id = reply["result"]["order_id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{reply}"))
                    .to_owned();
                (key, id)
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

async fn get_order(server: &ServerHandle, key: &NodeKey, order_id: &str) -> Value {
    let conn = Bolt8Connector::new(server.connection_string().parse().unwrap(), key.clone())
        .connect()
        .await
        .unwrap();
    call(&conn, "lsps1.get_order", json!({ "order_id": order_id })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_database_and_each_serves_its_own_orders() {
    let Some(pg) = test_postgres::postgres_or_skip("two_servers_share_one_database").await else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = tokio::join!(start(dir_a.path(), &pg.url), start(dir_b.path(), &pg.url));
    assert_ne!(a.node_id(), b.node_id());
    let (on_a, on_b) = tokio::join!(create_orders(&a, 12), create_orders(&b, 12));
    let ids: BTreeSet<&String> = on_a.iter().chain(&on_b).map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 24, "order ids are unique across both servers");
    // Each server answers its own orders and not the other's (the same client asking).
    let (key, id) = &on_a[0];
    assert!(get_order(&a, key, id).await.get("result").is_some());
    let other = get_order(&b, key, id).await;
    assert_eq!(other["error"]["code"], 101, "{other}");
    a.shutdown().await;
    b.shutdown().await;
    // After a restart, each loads only its own rows.
    let (a, b) = tokio::join!(start(dir_a.path(), &pg.url), start(dir_b.path(), &pg.url));
    for (key, id) in &on_b {
        assert!(get_order(&b, key, id).await.get("result").is_some());
    }
    let (key, id) = &on_b[0];
    assert_eq!(get_order(&a, key, id).await["error"]["code"], 101);
    a.shutdown().await;
    b.shutdown().await;
}
