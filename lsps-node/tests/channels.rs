//! Two kit nodes on one dev chain: a channel opened by one, funded by its wallet, confirms and
//! becomes usable on both sides; with zero-conf it is usable before any block.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bitcoin::Amount;
use lightning::events::Event;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lsps_node::chain::DevChain;
use lsps_node::{Node, NodeConfig, OpenChannel};
use tokio::sync::{mpsc, watch};

type TestNode = Node<IgnoringMessageHandler>;

struct Running {
    node: Arc<TestNode>,
    pending: mpsc::UnboundedReceiver<()>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn start(chain: &Arc<DevChain>, config: impl FnOnce(&mut NodeConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut node_config = NodeConfig::new(dir.path());
    config(&mut node_config);
    let node = Node::start(
        node_config,
        chain.clone(),
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let (pending_tx, pending) = mpsc::unbounded_channel();
    tokio::spawn(node.clone().run_events(stop_rx, move |event| {
        if matches!(event, Event::ChannelPending { .. }) {
            let _ = pending_tx.send(());
        }
        Ok(())
    }));
    Running {
        node,
        pending,
        _stop: stop,
        _dir: dir,
    }
}

/// A node on `chain` with its data in `data_dir`, its event loop not started.
async fn open_node(data_dir: &std::path::Path, chain: &Arc<DevChain>) -> Arc<TestNode> {
    Node::start(
        NodeConfig::new(data_dir),
        chain.clone(),
        Arc::new(IgnoringMessageHandler {}),
    )
    .await
    .unwrap()
}

async fn connect(from: &TestNode, to: &TestNode) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(lsps_node::net::accept_inbound(
        listener,
        to.peer_manager.clone(),
    ));
    from.connect(to.node_id(), addr, Duration::from_secs(10))
        .await
        .unwrap();
}

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_funded_channel_confirms_on_both_sides() {
    let chain = Arc::new(DevChain::in_memory());
    let mut a = start(&chain, |_| {}).await;
    let b = start(&chain, |_| {}).await;
    let funding_address = a.node.wallet.new_address().unwrap();
    chain.mine(101, &funding_address.script_pubkey()).unwrap();
    let before = a.node.wallet.balance().total();
    assert!(a.node.wallet.balance().confirmed > Amount::from_sat(250_000));
    connect(&a.node, &b.node).await;

    let open = OpenChannel {
        peer: b.node.node_id(),
        amount_sat: 250_000,
        push_msat: 10_000_000,
        zero_conf: false,
        announce: false,
        ..OpenChannel::new(b.node.node_id(), 0)
    };
    a.node.open_channel(&open).unwrap();
    tokio::time::timeout(WAIT, a.pending.recv())
        .await
        .expect("ChannelPending on the opener")
        .unwrap();
    // The funding transaction is in the mempool (queued by LDK's broadcast); six blocks confirm
    // it.
    let miner = bitcoin::ScriptBuf::new_op_return([0u8; 4]);
    chain.mine(6, &miner).unwrap();
    for node in [&a.node, &b.node] {
        tokio::time::timeout(
            WAIT,
            node.wait_for_channels(|cs| cs.len() == 1 && cs[0].is_usable),
        )
        .await
        .expect("channel usable");
        let channel = &node.channel_manager.list_channels()[0];
        assert_eq!(channel.channel_value_satoshis, 250_000);
        assert!(channel.confirmations.unwrap_or(0) >= 6);
    }
    // The six blocks paid elsewhere: the wallet lost the channel value and the fee.
    let after = a.node.wallet.balance().total();
    assert!(
        after < before - Amount::from_sat(250_000),
        "{after} vs {before}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_conf_channel_is_usable_before_any_block() {
    let chain = Arc::new(DevChain::in_memory());
    let mut a = start(&chain, |_| {}).await;
    let a_id = a.node.node_id();
    let b = start(&chain, |c| c.zero_conf_peers = vec![a_id]).await;
    chain
        .mine(101, &a.node.wallet.new_address().unwrap().script_pubkey())
        .unwrap();
    connect(&a.node, &b.node).await;
    let height = chain.best_block().height;
    a.node
        .open_channel(&OpenChannel {
            peer: b.node.node_id(),
            amount_sat: 100_000,
            push_msat: 0,
            zero_conf: true,
            announce: false,
            ..OpenChannel::new(b.node.node_id(), 0)
        })
        .unwrap();
    tokio::time::timeout(WAIT, a.pending.recv())
        .await
        .unwrap()
        .unwrap();
    for node in [&a.node, &b.node] {
        tokio::time::timeout(
            WAIT,
            node.wait_for_channels(|cs| cs.len() == 1 && cs[0].is_usable),
        )
        .await
        .expect("zero-conf channel usable");
    }
    assert_eq!(chain.best_block().height, height, "no block was mined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_without_funds_is_refused_before_ldk_sees_it() {
    let chain = Arc::new(DevChain::in_memory());
    let a = start(&chain, |_| {}).await;
    let b = start(&chain, |_| {}).await;
    connect(&a.node, &b.node).await;
    let refused = a.node.open_channel(&OpenChannel {
        peer: b.node.node_id(),
        amount_sat: 100_000,
        push_msat: 0,
        zero_conf: false,
        announce: false,
        ..OpenChannel::new(b.node.node_id(), 0)
    });
    assert!(matches!(
        refused,
        Err(lsps_node::NodeError::InsufficientFunds {
            available: 0,
            needed: 100_000
        })
    ));
    assert!(a.node.channel_manager.list_channels().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_resumes_its_chain_and_wallet() {
    let chain = Arc::new(DevChain::in_memory());
    let dir = tempfile::tempdir().unwrap();
    let (first_address, spend_txid, balance) = {
        let node = open_node(dir.path(), &chain).await;
        let address = node.wallet.new_address().unwrap();
        chain.mine(101, &address.script_pubkey()).unwrap();
        let other = bitcoin::ScriptBuf::new_op_return([1u8; 4]);
        let tx = node
            .wallet
            .pay_to_script(other, Amount::from_sat(10_000), 1000)
            .unwrap();
        (address, tx.compute_txid(), node.wallet.balance())
    };
    // Blocks mined while the node is down reach it on restart.
    chain
        .mine(3, &bitcoin::ScriptBuf::new_op_return([2u8; 4]))
        .unwrap();
    let node = open_node(dir.path(), &chain).await;
    assert_eq!(
        node.channel_manager.current_best_block(),
        chain.best_block()
    );
    assert_eq!(node.wallet.best_block().unwrap(), chain.best_block());
    assert_ne!(node.wallet.new_address().unwrap(), first_address);
    // The unconfirmed spend is remembered: same balance (3 blocks paid elsewhere, but
    // coinbases maturing move immature to confirmed).
    assert_eq!(
        node.wallet.balance().total(),
        balance.total(),
        "spend {spend_txid} forgotten"
    );
}

/// A node created before the SQLite store kept its LDK state in LDK's `FilesystemStore`
/// directory `ldk/`: the next start migrates it, channel included, and keeps the directory
/// aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filesystem_store_node_is_migrated_with_its_channel() {
    use lightning::util::persist::{KVStoreSync, MigratableKVStore};
    use lsps_node::SqliteStore;
    use lsps_node::node::{ldk_store_path, legacy_ldk_dir};

    let chain = Arc::new(DevChain::in_memory());
    let dir = tempfile::tempdir().unwrap();
    let b = start(&chain, |_| {}).await;
    let channel_id = {
        let a = open_node(dir.path(), &chain).await;
        let (stop, stop_rx) = watch::channel(false);
        let (pending_tx, mut pending) = mpsc::unbounded_channel();
        let events = tokio::spawn(a.clone().run_events(stop_rx, move |event| {
            if matches!(event, Event::ChannelPending { .. }) {
                let _ = pending_tx.send(());
            }
            Ok(())
        }));
        chain
            .mine(101, &a.wallet.new_address().unwrap().script_pubkey())
            .unwrap();
        connect(&a, &b.node).await;
        a.open_channel(&OpenChannel {
            announce: false,
            ..OpenChannel::new(b.node.node_id(), 100_000)
        })
        .unwrap();
        tokio::time::timeout(WAIT, pending.recv())
            .await
            .unwrap()
            .unwrap();
        chain
            .mine(6, &bitcoin::ScriptBuf::new_op_return([3u8; 4]))
            .unwrap();
        tokio::time::timeout(
            WAIT,
            a.wait_for_channels(|cs| cs.len() == 1 && cs[0].is_usable),
        )
        .await
        .expect("channel usable");
        let channel_id = a.channel_manager.list_channels()[0].channel_id;
        a.peer_manager.disconnect_all_peers();
        stop.send(true).unwrap();
        events.await.unwrap();
        channel_id
    };

    // The state as the FilesystemStore kept it, and no SQLite store.
    let sqlite = SqliteStore::open(&ldk_store_path(dir.path())).unwrap();
    let legacy = lsps_node::kv::legacy_store(dir.path());
    for (primary, secondary, key) in sqlite.list_all_keys().unwrap() {
        let value = sqlite.read(&primary, &secondary, &key).unwrap();
        legacy.write(&primary, &secondary, &key, value).unwrap();
    }
    drop(sqlite);
    for suffix in ["", "-wal", "-shm"] {
        let mut path = ldk_store_path(dir.path()).into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }

    let a = open_node(dir.path(), &chain).await;
    let channels = a.channel_manager.list_channels();
    assert_eq!(channels.len(), 1, "the channel came through the migration");
    assert_eq!(channels[0].channel_id, channel_id);
    assert!(!legacy_ldk_dir(dir.path()).exists());
    assert!(lsps_node::kv::migrated_dir(&legacy_ldk_dir(dir.path())).is_dir());
}
