//! Interop: lightning-liquidity 0.2.7's LSPS0/LSPS2 *client* (an in-process LDK node from
//! testkit) completes `list_protocols`, `get_info` and `buy` against this server over BOLT8.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use testkit::ldk_client::LdkClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightning_liquidity_client_buys_from_the_reference_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    let client = LdkClient::connect(server.node_id(), server.bolt8_addr())
        .await
        .unwrap();

    let protocols = client.list_protocols().await.unwrap();
    assert_eq!(protocols, vec![1, 2]);

    let menu = client.lsps2_get_info(None).await.unwrap();
    assert_eq!(menu.len(), 2);
    assert!(menu[0].min_fee_msat < menu[1].min_fee_msat);

    let bought = client
        .lsps2_buy(menu[0].clone(), Some(50_000_000))
        .await
        .unwrap();
    assert_eq!(bought.cltv_expiry_delta, 144);
    // The SCID LDK's client parsed is the one the server persisted for this peer.
    let record = server
        .dispatcher()
        .with_state(|s| s.buy(bought.intercept_scid).cloned())
        .unwrap()
        .expect("buy persisted under the SCID the client received");
    assert_eq!(record.peer.0, client.node_id());

    // An unknown token gets 200, which lightning-liquidity surfaces as an error.
    assert!(client.lsps2_get_info(Some("nope".into())).await.is_err());
    client.shutdown();
    server.shutdown().await;
}
