//! LSP-side LSPS0 requirements at the BOLT8 layer that no other test names, against the
//! running reference server over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lsps_client::transport::bolt8::{Bolt8Connector, NodeKey};
use lsps_client::transport::{Transport, TransportEvent};
use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use serde_json::Value;

/// LSPS0-R38 (the LSP may set bit 729 in `init`; the reference server does) and LSPS0-R19
/// (no 37913 message to a peer that has not sent one): after the handshake nothing arrives
/// until we send a request, which is then answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advertises_bit_729_and_sends_nothing_unsolicited() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    let conn = Bolt8Connector::new(
        server.connection_string().parse().unwrap(),
        NodeKey::random(),
    )
    .connect()
    .await
    .unwrap();
    assert!(conn.lsp_advertises_lsps());

    let unsolicited = tokio::time::timeout(Duration::from_millis(500), conn.recv()).await;
    assert!(unsolicited.is_err(), "unsolicited event: {unsolicited:?}");

    let request = br#"{"jsonrpc":"2.0","id":"00112233445566778899aabbccddeeff","method":"lsps0.list_protocols","params":{}}"#;
    conn.send(request.to_vec()).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(20), conn.recv())
        .await
        .unwrap();
    let Some(TransportEvent::Message(payload)) = reply else {
        panic!("expected a reply, got {reply:?}");
    };
    let reply: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(reply["id"], "00112233445566778899aabbccddeeff");
    assert!(reply["result"]["protocols"].is_array(), "{reply}");
    server.shutdown().await;
}
