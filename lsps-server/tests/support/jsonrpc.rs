//! The in-process reference server for black-box tests: start it, connect over BOLT8, send
//! JSON-RPC requests and read the replies.

use std::path::Path;
use std::time::Duration;

use lsps_client::transport::bolt8::{Bolt8Connection, Bolt8Connector, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_server::config::ServerConfig;
use lsps_server::{ReferenceServer, ServerHandle};
use serde_json::{Value, json};

/// How long a test waits for one reply.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A server on loopback with the ephemeral configuration of `dir`, changed by `tweak`.
pub async fn start(dir: &Path, tweak: impl FnOnce(&mut ServerConfig)) -> ServerHandle {
    let mut config = ServerConfig::ephemeral(dir);
    tweak(&mut config);
    ReferenceServer::start(config).await.unwrap()
}

/// A BOLT8 connection to `server` as the node `key`.
pub async fn connect(server: &ServerHandle, key: NodeKey) -> Bolt8Connection {
    let target = server.connection_string().parse().unwrap();
    Bolt8Connector::new(target, key).connect().await.unwrap()
}

/// Send one raw payload and wait for the next message.
pub async fn exchange(t: &dyn Transport, payload: &[u8]) -> Value {
    t.send(payload.to_vec()).await.unwrap();
    match tokio::time::timeout(TIMEOUT, t.recv())
        .await
        .expect("no reply in time")
    {
        Some(TransportEvent::Message(bytes)) => {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "reply is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// A JSON-RPC 2.0 request's bytes.
pub fn req(id: &str, method: &str, params: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .unwrap()
}

/// Call `method` with a fresh id; the reply, checked to answer that id (one call in flight per
/// connection: replies over BOLT8 may come in any order).
pub async fn call(t: &dyn Transport, method: &str, params: Value) -> Value {
    let id = format!("{:032x}", rand::random::<u128>());
    let reply = exchange(t, &req(&id, method, params)).await;
    assert_eq!(reply["id"], id.as_str(), "{reply}");
    assert_eq!(reply["jsonrpc"], "2.0");
    reply
}

/// `lsps1.create_order` params the default configuration accepts.
pub fn order_params() -> Value {
    json!({
        "lsp_balance_sat": "1000000",
        "client_balance_sat": "0",
        "required_channel_confirmations": 0,
        "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144,
        "announce_channel": false
    })
}
