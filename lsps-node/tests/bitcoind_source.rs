//! A node following a dev chain over Bitcoin Core's RPC (the `bitcoind` chain source): it
//! syncs, resumes after a restart, sees blocks mined by the chain's process, and its
//! broadcasts reach the chain; a reorganisation is followed. Prints the sync time of a fresh node over 1 000 blocks (not
//! asserted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::{Amount, Network};
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lsps_node::chain::bitcoind::BitcoindChain;
use lsps_node::chain::dev_service::{DevChainService, DevChainServiceConfig};
use lsps_node::chain::rpc_client::RpcClient;
use lsps_node::{Node, NodeConfig};
use serde_json::json;

async fn chain_service(dir: &std::path::Path) -> DevChainService {
    DevChainService::start(DevChainServiceConfig {
        dir: dir.to_owned(),
        rpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        block_interval: None,
        user_password: None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_syncs_over_rpc_resumes_and_broadcasts() {
    let chain_dir = tempfile::tempdir().unwrap();
    let service = chain_service(chain_dir.path()).await;
    let rpc = RpcClient::with_cookie(&service.rpc_url(), service.cookie_file()).unwrap();
    let faucet = rpc.call("getnewaddress", json!([])).await.unwrap();
    rpc.call("generatetoaddress", json!([1000, faucet]))
        .await
        .unwrap();

    let node_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let source = BitcoindChain::connect(rpc.clone(), Network::Regtest)
        .await
        .unwrap();
    let node = Node::start(
        NodeConfig::new(node_dir.path()),
        source,
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap();
    eprintln!(
        "fresh node synced 1101 blocks over RPC in {:?}",
        started.elapsed()
    );
    assert_eq!(node.wallet.best_block().unwrap().height, 1101);

    // The chain's process pays the node and mines; the node sees it confirmed.
    let address = node.wallet.new_address().unwrap();
    let txid = rpc
        .call("sendtoaddress", json!([address.to_string(), 1.0]))
        .await
        .unwrap();
    rpc.call("generatetoaddress", json!([1, faucet]))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), node.wait_for_height(1102))
        .await
        .unwrap();
    assert_eq!(
        node.wallet.balance().confirmed,
        Amount::from_btc(1.0).unwrap()
    );

    // The node's own spend reaches the chain's mempool.
    let back = bitcoin::Address::from_str_regtest(faucet.as_str().unwrap());
    let tx = node
        .wallet
        .pay_to_script(back, Amount::from_sat(50_000), 1000)
        .unwrap();
    node.chain.broadcast(&tx);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mempool = rpc.call("getrawmempool", json!([])).await.unwrap();
        if mempool == json!([tx.compute_txid().to_string()]) {
            break;
        }
        assert!(Instant::now() < deadline, "broadcast never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = txid;
    drop(node);

    // A restart resumes from the persisted best blocks and catches up what it missed.
    rpc.call("generatetoaddress", json!([5, faucet]))
        .await
        .unwrap();
    let node = Node::start(
        NodeConfig::new(node_dir.path()),
        BitcoindChain::connect(rpc.clone(), Network::Regtest)
            .await
            .unwrap(),
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap();
    assert_eq!(node.channel_manager.current_best_block().height, 1107);
    assert_eq!(node.wallet.best_block().unwrap().height, 1107);
    service.shutdown().await;
}

trait RegtestAddress {
    fn from_str_regtest(text: &str) -> bitcoin::ScriptBuf;
}

impl RegtestAddress for bitcoin::Address {
    fn from_str_regtest(text: &str) -> bitcoin::ScriptBuf {
        text.parse::<bitcoin::Address<bitcoin::address::NetworkUnchecked>>()
            .unwrap()
            .require_network(Network::Regtest)
            .unwrap()
            .script_pubkey()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_rpc_chain_confirm_a_channel() {
    use lightning::events::Event;
    use lsps_node::OpenChannel;
    let chain_dir = tempfile::tempdir().unwrap();
    let service = chain_service(chain_dir.path()).await;
    let rpc = RpcClient::with_cookie(&service.rpc_url(), service.cookie_file()).unwrap();
    let faucet = rpc.call("getnewaddress", json!([])).await.unwrap();
    let mut nodes = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let source = BitcoindChain::connect(rpc.clone(), Network::Regtest)
            .await
            .unwrap();
        nodes.push(
            Node::start(
                NodeConfig::new(dir.path()),
                source,
                Arc::new(IgnoringMessageHandler {}),
            )
            .await
            .unwrap(),
        );
        dirs.push(dir);
    }
    let (a, b) = (nodes[0].clone(), nodes[1].clone());
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let (pending_tx, mut pending) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(a.clone().run_events(stop_rx.clone(), move |e| {
        if matches!(e, Event::ChannelPending { .. }) {
            let _ = pending_tx.send(());
        }
        Ok(())
    }));
    tokio::spawn(b.clone().run_events(stop_rx, |_| Ok(())));

    // Both follow the same tip; the chain's faucet funds A.
    let address = a.wallet.new_address().unwrap();
    rpc.call("sendtoaddress", json!([address.to_string(), 2.0]))
        .await
        .unwrap();
    let hashes = rpc
        .call("generatetoaddress", json!([1, faucet]))
        .await
        .unwrap();
    let tip_height = service.chain.best_block().height;
    for node in [&a, &b] {
        tokio::time::timeout(Duration::from_secs(20), node.wait_for_height(tip_height))
            .await
            .unwrap();
        assert_eq!(
            node.channel_manager
                .current_best_block()
                .block_hash
                .to_string(),
            hashes[0].as_str().unwrap()
        );
    }
    assert_eq!(a.wallet.balance().confirmed, Amount::from_btc(2.0).unwrap());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(lsps_node::net::accept_inbound(
        listener,
        b.peer_manager.clone(),
    ));
    a.connect(b.node_id(), addr, Duration::from_secs(10))
        .await
        .unwrap();
    a.open_channel(&OpenChannel {
        peer: b.node_id(),
        amount_sat: 500_000,
        push_msat: 0,
        zero_conf: false,
        announce: false,
        ..OpenChannel::new(b.node_id(), 0)
    })
    .unwrap();
    tokio::time::timeout(Duration::from_secs(20), pending.recv())
        .await
        .unwrap()
        .unwrap();
    // A's broadcast goes over RPC; wait until the chain has it, then confirm it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while service.chain.mempool_txids().is_empty() {
        assert!(Instant::now() < deadline, "funding never reached the chain");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rpc.call("generatetoaddress", json!([6, faucet]))
        .await
        .unwrap();
    for node in [&a, &b] {
        tokio::time::timeout(
            Duration::from_secs(30),
            node.wait_for_channels(|cs| cs.len() == 1 && cs[0].is_usable),
        )
        .await
        .expect("channel confirmed on both nodes");
    }
    service.shutdown().await;
}

/// A loopback TCP relay to whichever RPC server is current; switching drops the open relays
/// (lightning-block-sync reconnects), so the source suddenly sees another chain.
struct SwitchingRelay {
    addr: SocketAddr,
    backend: Arc<std::sync::Mutex<SocketAddr>>,
    relays: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl SwitchingRelay {
    async fn start(backend: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let backend = Arc::new(std::sync::Mutex::new(backend));
        let relays = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (to, tasks) = (backend.clone(), relays.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = *to.lock().unwrap();
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(relay);
            }
        });
        Self {
            addr,
            backend,
            relays,
        }
    }

    fn switch_to(&self, backend: SocketAddr) {
        *self.backend.lock().unwrap() = backend;
        for relay in self.relays.lock().unwrap().drain(..) {
            relay.abort();
        }
    }
}

/// What a listener was told, in order.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl lightning::chain::Listen for Recorder {
    fn filtered_block_connected(
        &self,
        header: &bitcoin::block::Header,
        _txdata: &lightning::chain::transaction::TransactionData,
        height: u32,
    ) {
        self.0
            .lock()
            .unwrap()
            .push(format!("connected {height} {}", header.block_hash()));
    }

    fn blocks_disconnected(&self, fork_point: lightning::chain::BestBlock) {
        self.0
            .lock()
            .unwrap()
            .push(format!("disconnected to {}", fork_point.height));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorganisation_disconnects_to_the_fork_point_and_follows_the_new_branch() {
    use lsps_node::chain::ChainSource;
    let credentials = ("reorg".to_owned(), "test-password".to_owned());
    let mut services = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        services.push(
            DevChainService::start(DevChainServiceConfig {
                dir: dir.path().to_owned(),
                rpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                block_interval: None,
                user_password: Some(credentials.clone()),
            })
            .await
            .unwrap(),
        );
        dirs.push(dir);
    }
    let (a, b) = (&services[0], &services[1]);
    // Two branches from genesis (each service mined its own faucet's start-up blocks): B gets
    // three more blocks than A, so more work.
    a.chain
        .mine(5, &bitcoin::ScriptBuf::new_op_return([0xa; 4]))
        .unwrap();
    b.chain
        .mine(8, &bitcoin::ScriptBuf::new_op_return([0xb; 4]))
        .unwrap();
    let a_height = a.chain.best_block().height as usize;
    let b_height = b.chain.best_block().height;
    assert_eq!(b_height as usize, a_height + 3);
    assert_ne!(
        a.chain.block_at(1),
        b.chain.block_at(1),
        "the branches fork at genesis"
    );
    let addr_of = |s: &DevChainService| -> SocketAddr {
        s.rpc_url().trim_start_matches("http://").parse().unwrap()
    };
    let relay = SwitchingRelay::start(addr_of(a)).await;
    let rpc = RpcClient::new(&format!("http://{}", relay.addr), "reorg:test-password").unwrap();
    let source = BitcoindChain::connect(rpc, Network::Regtest).await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let genesis = lightning::chain::BestBlock::from_network(Network::Regtest);
    source.subscribe(genesis, recorder.clone()).await.unwrap();
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        a_height,
        "synced to A's tip"
    );

    relay.switch_to(addr_of(b));
    let b_tip = b.chain.best_block();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = recorder.0.lock().unwrap().clone();
        if seen
            .last()
            .is_some_and(|l| l == &format!("connected {b_height} {}", b_tip.block_hash))
        {
            // Every A block went away (back to genesis), then B's eight came, in order.
            let after: Vec<_> = seen[a_height..].to_vec();
            assert_eq!(after[0], "disconnected to 0", "{seen:#?}");
            for (i, line) in after[1..].iter().enumerate() {
                let height = i as u32 + 1;
                let hash = b.chain.block_at(height).unwrap().block_hash();
                assert_eq!(line, &format!("connected {height} {hash}"));
            }
            assert_eq!(after.len(), b_height as usize + 1, "{seen:#?}");
            break;
        }
        assert!(Instant::now() < deadline, "never followed B: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(source.tip().await.unwrap(), b_tip);
}
