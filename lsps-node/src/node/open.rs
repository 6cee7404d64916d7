//! Opening a node: every persisted part (monitors, ChannelManager, wallet) read and caught up
//! from its own best block to the chain's tip, then fed live by [`NodeChainListener`].

use super::*;

struct NodeChainListener {
    /// Cleared when the node's event loop ends: a chain source keeps its listeners (a polling
    /// task holds this one), and a node stopped in a process that goes on (a server restarted
    /// in-process on the same data dir) must not write its wallet or monitors any more.
    active: Arc<std::sync::atomic::AtomicBool>,
    chain_monitor: Arc<ChainMonitor>,
    channel_manager: Arc<ChannelManager>,
    wallet: Arc<OnchainWallet>,
    changes: watch::Sender<u64>,
}

impl Listen for NodeChainListener {
    fn filtered_block_connected(
        &self,
        header: &bitcoin::block::Header,
        txdata: &TransactionData,
        height: u32,
    ) {
        if !self.active.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        self.chain_monitor
            .filtered_block_connected(header, txdata, height);
        self.channel_manager
            .filtered_block_connected(header, txdata, height);
        self.wallet.filtered_block_connected(header, txdata, height);
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn block_connected(&self, block: &Block, height: u32) {
        if !self.active.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        // ChainMonitor first, as LDK's own tests do.
        self.chain_monitor.block_connected(block, height);
        self.channel_manager.block_connected(block, height);
        self.wallet.block_connected(block, height);
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn blocks_disconnected(&self, fork_point: BestBlock) {
        if !self.active.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        self.chain_monitor.blocks_disconnected(fork_point);
        self.channel_manager.blocks_disconnected(fork_point);
        self.wallet.blocks_disconnected(fork_point);
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl NodeCore {
    /// Open (or create) the node in `config.data_dir` on `chain`: every persisted part is
    /// caught up from its own best block to the chain's tip, then fed live.
    pub async fn open(config: NodeConfig, chain: Arc<dyn ChainSource>) -> Result<Self, NodeError> {
        let data_dir = config.data_dir.as_path();
        std::fs::create_dir_all(data_dir).map_err(|source| NodeError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let seed = load_or_create_seed(&data_dir.join("seed"))?;
        let network = chain.network();
        let now = since_epoch();
        let keys = Arc::new(KeysManager::new(
            &seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let logger = Arc::new(LdkLogger);
        let kv_store = Arc::new(
            SqliteStore::open_migrating(&ldk_store_path(data_dir), &legacy_ldk_dir(data_dir))
                .map_err(NodeError::LdkStore)?,
        );
        let broadcaster = Arc::new(ChainBroadcaster(chain.clone()));
        let fee_estimator = Arc::new(ChainFeeEstimator(chain.clone()));
        let wallet = Arc::new(OnchainWallet::open(
            &data_dir.join("wallet.log"),
            &seed,
            network,
        )?);
        let mut user_config = config.user_config.clone();
        user_config.manually_accept_inbound_channels = true;

        // Monitors reach the disk only after a ChannelManager that knows of their updates.
        let manager_store = Arc::new(ManagerStore::new(kv_store.clone()));
        let monitor_persister = Arc::new(MonitorPersister::new(
            kv_store.clone(),
            manager_store.clone(),
        ));
        let chain_monitor: Arc<ChainMonitor> = Arc::new(chainmonitor::ChainMonitor::new(
            None,
            broadcaster.clone(),
            logger.clone(),
            fee_estimator.clone(),
            monitor_persister.clone(),
            keys.clone(),
            keys.get_peer_storage_key(),
        ));
        let graph = Arc::new(NetworkGraph::new(network, logger.clone()));
        let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
            ProbabilisticScoringDecayParameters::default(),
            graph.clone(),
            logger.clone(),
        )));
        let router: Arc<Router> = Arc::new(DefaultRouter::new(
            graph.clone(),
            logger.clone(),
            keys.clone(),
            scorer,
            ProbabilisticScoringFeeParameters::default(),
        ));
        let message_router = Arc::new(DefaultMessageRouter::new(graph.clone(), keys.clone()));

        let monitors = read_channel_monitors(kv_store.clone(), keys.clone(), keys.clone())
            .map_err(NodeError::LdkStore)?;
        let manager_bytes = match kv_store.read(
            CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_KEY,
        ) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => None,
            Err(e) => return Err(NodeError::LdkStore(e)),
        };
        let channel_manager: Arc<ChannelManager> = match manager_bytes {
            Some(bytes) => {
                let args = ChannelManagerReadArgs::new(
                    keys.clone(),
                    keys.clone(),
                    keys.clone(),
                    fee_estimator.clone(),
                    chain_monitor.clone(),
                    broadcaster.clone(),
                    router.clone(),
                    message_router.clone(),
                    logger.clone(),
                    user_config.clone(),
                    monitors.iter().map(|(_, m)| m).collect(),
                );
                let (_hash, manager) = <(BlockHash, ChannelManager)>::read(
                    &mut lightning::io::Cursor::new(bytes),
                    args,
                )
                .map_err(NodeError::DecodeManager)?;
                Arc::new(manager)
            }
            None => {
                if !monitors.is_empty() {
                    return Err(NodeError::ManagerMissing);
                }
                let tip = chain.tip().await?;
                Arc::new(ChannelManager::new(
                    fee_estimator.clone(),
                    chain_monitor.clone(),
                    broadcaster.clone(),
                    router.clone(),
                    message_router.clone(),
                    logger.clone(),
                    keys.clone(),
                    keys.clone(),
                    keys.clone(),
                    user_config.clone(),
                    ChainParameters {
                        network,
                        best_block: tip,
                    },
                    now.as_secs() as u32,
                ))
            }
        };

        // Each part resumes from its own best block (monitors are persisted on their own
        // schedule, the wallet on every block, the manager by the event loop).
        let monitor_listeners: Vec<MonitorListener> = monitors
            .into_iter()
            .map(|(_, monitor)| {
                (
                    monitor,
                    broadcaster.clone(),
                    fee_estimator.clone(),
                    logger.clone(),
                )
            })
            .collect();
        let mut catch_up: Vec<(BestBlock, &(dyn Listen + Send + Sync))> = monitor_listeners
            .iter()
            .map(|l| (l.0.current_best_block(), l as &(dyn Listen + Send + Sync)))
            .collect();
        catch_up.push((channel_manager.current_best_block(), &*channel_manager));
        catch_up.push((wallet.best_block()?, &*wallet));
        let tip = chain.catch_up(&catch_up).await?;
        drop(catch_up);
        let mut loaded = Vec::with_capacity(monitor_listeners.len());
        for (monitor, ..) in monitor_listeners {
            let channel_id = monitor.channel_id();
            loaded.push((channel_id, monitor.get_latest_update_id()));
            chain_monitor
                .load_existing_monitor(channel_id, monitor)
                .map_err(|()| NodeError::LoadMonitor(channel_id))?;
        }
        // Every monitor just read is on disk, so each one's writes are complete. LDK cannot know
        // that for a channel's *first* monitor: the monitor writer stores the ChannelManager
        // before the monitor (crate::persist), and a ChannelManager written while the first
        // monitor was being stored marks the channel as waiting for it without recording an
        // update to replay. Saying so again resumes such a channel (its funding broadcast and
        // `channel_ready`); for every other channel LDK ignores it.
        for (channel_id, update_id) in loaded {
            if let Err(e) = chain_monitor.channel_monitor_updated(channel_id, update_id) {
                tracing::warn!("re-signalling monitor {channel_id}: {e:?}");
            }
        }
        let (changes, _) = watch::channel(0u64);
        let chain_feed = Arc::new(std::sync::atomic::AtomicBool::new(true));
        chain
            .subscribe(
                tip,
                Arc::new(NodeChainListener {
                    active: chain_feed.clone(),
                    chain_monitor: chain_monitor.clone(),
                    channel_manager: channel_manager.clone(),
                    wallet: wallet.clone(),
                    changes: changes.clone(),
                }),
            )
            .await?;

        let core = Self {
            keys,
            channel_manager,
            chain_monitor,
            chain,
            wallet,
            fee_estimator,
            network,
            user_config,
            zero_conf_peers: config.zero_conf_peers,
            inbound_policy: config.inbound_policy,
            kv_store,
            seed,
            changes,
            payments: PaymentTracker::default(),
            manual_broadcast: std::sync::Mutex::new(std::collections::HashSet::new()),
            manager_store: manager_store.clone(),
            chain_feed,
        };
        core.persist_channel_manager()?;
        monitor_persister
            .start_writer(
                Arc::downgrade(&core.channel_manager),
                Arc::downgrade(&core.chain_monitor),
            )
            .map_err(|source| NodeError::DataDir {
                path: data_dir.to_owned(),
                source,
            })?;
        Ok(core)
    }
}
