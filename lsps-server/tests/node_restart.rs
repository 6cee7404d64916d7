//! The server's node across restarts: the on-chain wallet is persisted, so a restarted server
//! never hands out an address it handed out before, and LDK and the wallet resume on the same
//! dev chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use lsps_server::service::NodeOps;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_server_hands_out_a_new_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
            .await
            .unwrap();
        for _ in 0..3 {
            let address = server.node().onchain_address().unwrap();
            assert!(!seen.contains(&address), "{address} handed out twice");
            seen.push(address);
        }
        let chain = server.dev_chain().unwrap().best_block();
        assert_eq!(server.node().wallet.best_block().unwrap(), chain);
        assert_eq!(server.node().channel_manager.current_best_block(), chain);
        server.shutdown().await;
    }
    assert_eq!(seen.len(), 6);
}
