//! The dev chain outside the server process: the embedded chain's Bitcoin Core RPC (URL and
//! cookie in the data dir), and the standalone `lsps-server dev chain` driven by
//! `lsps-server dev mine` and `dev send`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use lsps_node::chain::rpc_client::RpcClient;
use lsps_server::ReferenceServer;
use lsps_server::config::ServerConfig;
use serde_json::{Value, json};

mod support;
use support::{DevChainProcess, Kill, wait_for_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_chain_serves_core_rpc_from_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReferenceServer::start(ServerConfig::ephemeral(dir.path()))
        .await
        .unwrap();
    let chain_dir = dir.path().join("devchain");
    let url = std::fs::read_to_string(chain_dir.join("rpc.url")).unwrap();
    assert_eq!(Some(url.clone()), server.dev_chain_rpc().map(|(u, _)| u));
    let rpc = RpcClient::with_cookie(&url, &chain_dir.join(".cookie")).unwrap();
    assert_eq!(rpc.call("getblockcount", json!([])).await.unwrap(), 101);
    // A block mined over RPC reaches the server's node.
    let address = rpc.call("getnewaddress", json!([])).await.unwrap();
    let hashes = rpc
        .call("generatetoaddress", json!([2, address]))
        .await
        .unwrap();
    let tip = server.node().channel_manager.current_best_block();
    assert_eq!(tip.height, 103);
    assert_eq!(tip.block_hash.to_string(), hashes[1].as_str().unwrap());
    server.shutdown().await;
}

fn lsps_server(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_lsps-server"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Value::String(String::from_utf8(out.stdout).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_chain_mines_and_sends_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let chain = DevChainProcess::start(&dir.path().join("chain"), &dir.path().join("ready.json"));
    let chain_dir = &chain.dir;
    let url = chain.rpc_url.as_str();
    let rpc = RpcClient::with_cookie(url, &chain.cookie_file).unwrap();
    assert_eq!(rpc.call("getblockcount", json!([])).await.unwrap(), 101);

    let chain_dir_arg = chain_dir.to_str().unwrap();
    let mined = lsps_server(&["dev", "mine", "2", "--chain-dir", chain_dir_arg]);
    assert_eq!(mined.as_str().unwrap().lines().count(), 2);
    assert_eq!(rpc.call("getblockcount", json!([])).await.unwrap(), 103);

    let to = rpc.call("getnewaddress", json!([])).await.unwrap();
    let sent = lsps_server(&[
        "dev",
        "send",
        to.as_str().unwrap(),
        "25000",
        "--chain-dir",
        chain_dir_arg,
    ]);
    let txid = sent.as_str().unwrap().trim().to_owned();
    assert_eq!(
        rpc.call("getrawmempool", json!([])).await.unwrap(),
        json!([txid])
    );
    lsps_server(&[
        "dev",
        "mine",
        "1",
        "--rpc",
        url,
        "--cookie",
        chain.cookie_file.to_str().unwrap(),
    ]);
    let tx = rpc
        .call("getrawtransaction", json!([txid, true]))
        .await
        .unwrap();
    assert_eq!(tx["confirmations"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_follows_a_standalone_chain_process_over_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let chain = DevChainProcess::start(&dir.path().join("chain"), &dir.path().join("ready.json"));
    let url = chain.rpc_url.clone();
    let cookie = chain.cookie_file.clone();
    let rpc = RpcClient::with_cookie(&url, &cookie).unwrap();
    let mut config = ServerConfig::ephemeral(dir.path().join("lsp"));
    config.bitcoind = Some(lsps_server::config::BitcoindConfig {
        rpc_url: url,
        cookie_file: Some(cookie),
        user: None,
        password: None,
        network: "regtest".into(),
    });
    let server = ReferenceServer::start(config).await.unwrap();
    assert!(server.dev_chain_rpc().is_none(), "no embedded chain");
    let tip = server.node().channel_manager.current_best_block();
    assert_eq!(
        tip.block_hash.to_string(),
        rpc.call("getbestblockhash", json!([])).await.unwrap()
    );
    // A payment from the chain's faucet, mined in the chain's process, reaches the LSP's wallet.
    let address = server.node().wallet.new_address().unwrap();
    rpc.call("sendtoaddress", json!([address.to_string(), 0.25]))
        .await
        .unwrap();
    let faucet = rpc.call("getnewaddress", json!([])).await.unwrap();
    rpc.call("generatetoaddress", json!([1, faucet]))
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        server.node().wait_for_height(tip.height + 1),
    )
    .await
    .unwrap();
    assert_eq!(
        server.node().wallet.balance().confirmed,
        bitcoin::Amount::from_sat(25_000_000)
    );
    server.shutdown().await;
}

/// Three processes on one chain, as with Bitcoin Core: the chain alone, the LSP following it
/// over RPC (`--chain bitcoind`), and a payer node in this process also over RPC. The payer
/// funds itself by mining through the chain's RPC, opens a channel, its funding is mined in the
/// chain's process, and the LSP's process sees it confirmed (the channel becomes usable only
/// when both sides have sent `channel_ready`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lsp_process_and_a_payer_confirm_a_channel_on_a_chain_process() {
    use lsps_node::chain::bitcoind::BitcoindChain;
    use lsps_node::payer::{Payer, RpcMiner};
    let dir = tempfile::tempdir().unwrap();
    let chain = DevChainProcess::start(&dir.path().join("chain"), &dir.path().join("chain.json"));
    let url = chain.rpc_url.clone();
    let cookie = chain.cookie_file.to_str().unwrap().to_owned();
    let lsp_ready = dir.path().join("lsp.json");
    let _lsp = Kill(
        Command::new(env!("CARGO_BIN_EXE_lsps-server"))
            .arg("--data-dir")
            .arg(dir.path().join("lsp"))
            .args(["--listen", "127.0.0.1:0", "--no-http", "--no-admin"])
            .args(["--chain", "bitcoind", "--bitcoind-rpc", &url])
            .args(["--bitcoind-cookie", &cookie, "--network", "regtest"])
            .arg("--ready-file")
            .arg(&lsp_ready)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let lsp: Value =
        serde_json::from_str(&wait_for_file(&lsp_ready, Duration::from_secs(60))).unwrap();
    let lsp_id: bitcoin::secp256k1::PublicKey = lsp["node_id"].as_str().unwrap().parse().unwrap();
    let lsp_addr: std::net::SocketAddr = lsp["bolt8"].as_str().unwrap().parse().unwrap();

    let rpc = RpcClient::with_cookie(&url, Path::new(&cookie)).unwrap();
    let source = BitcoindChain::connect(rpc.clone(), bitcoin::Network::Regtest)
        .await
        .unwrap();
    let payer_dir = tempfile::tempdir().unwrap();
    let payer = Payer::start(payer_dir.path(), source).await.unwrap();
    let miner = RpcMiner {
        rpc,
        network: bitcoin::Network::Regtest,
    };
    tokio::time::timeout(
        Duration::from_secs(120),
        payer.ensure_channel(lsp_id, lsp_addr, 400_000, 1_000_000, &miner),
    )
    .await
    .expect("set-up in time")
    .expect("channel confirmed by both processes");
    let channels = payer.usable_channels_to(&lsp_id);
    assert_eq!(channels.len(), 1);
    assert!(channels[0].confirmations.unwrap_or(0) >= 6);
    payer.shutdown().await;
}
