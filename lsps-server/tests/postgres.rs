//! Two servers, each with its own data dir and node, sharing one PostgreSQL database (issue
//! 16): orders created on both at once get distinct ids, each server answers only its own
//! orders, and after a restart each loads only its own. Skipped with the reason where
//! PostgreSQL is absent; required when `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../src/store/test_postgres.rs"]
mod test_postgres;

use std::collections::BTreeSet;

use lsps_client::transport::bolt8::{Bolt8Connector, NodeKey};
use lsps_server::ServerHandle;
use serde_json::{Value, json};

mod support;
use support::jsonrpc::{call, order_params, start};

/// A server whose store is the PostgreSQL database at `url`.
async fn start_on(dir: &std::path::Path, url: &str) -> ServerHandle {
    start(dir, |config| config.database_url = Some(url.to_owned())).await
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
    let (a, b) = tokio::join!(
        start_on(dir_a.path(), &pg.url),
        start_on(dir_b.path(), &pg.url)
    );
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
    let (a, b) = tokio::join!(
        start_on(dir_a.path(), &pg.url),
        start_on(dir_b.path(), &pg.url)
    );
    for (key, id) in &on_b {
        assert!(get_order(&b, key, id).await.get("result").is_some());
    }
    let (key, id) = &on_b[0];
    assert_eq!(get_order(&a, key, id).await["error"]["code"], 101);
    a.shutdown().await;
    b.shutdown().await;
}
