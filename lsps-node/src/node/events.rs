//! The node's event loop: LDK events through the kit's own handling (funding, channel
//! acceptance, sweeps) to the application, ChannelManager persistence, and LDK's timers.

use super::*;

impl NodeCore {
    fn close_unfunded(&self, temporary_channel_id: &ChannelId, counterparty: &PublicKey) {
        if let Err(e) = self.channel_manager.force_close_broadcasting_latest_txn(
            temporary_channel_id,
            counterparty,
            "funding failed".to_owned(),
        ) {
            tracing::warn!("closing the unfunded channel: {e:?}");
        }
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The kit's part of event handling: funding, channel acceptance, sweeps. Every event is
    /// then offered to the application.
    fn handle_event(
        &self,
        event: Event,
        app: &(dyn Fn(&Event) -> Result<(), ReplayEvent> + Send + Sync),
    ) -> Result<(), ReplayEvent> {
        match &event {
            Event::FundingGenerationReady {
                temporary_channel_id,
                counterparty_node_id,
                channel_value_satoshis,
                output_script,
                user_channel_id,
                ..
            } => {
                let rate = self
                    .fee_estimator
                    .get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee);
                let funded = self.wallet.pay_to_script(
                    output_script.clone(),
                    Amount::from_sat(*channel_value_satoshis),
                    rate,
                );
                let manual = self
                    .manual_broadcast
                    .lock()
                    .map(|mut m| m.remove(user_channel_id))
                    .unwrap_or(false);
                match funded {
                    Ok(tx) if manual => {
                        // Kept before LDK learns of it, so that whatever LDK signs can be
                        // broadcast after a restart too.
                        let stored = self.kv_store.write(
                            MANUAL_FUNDING_NAMESPACE,
                            "",
                            &tx.compute_txid().to_string(),
                            bitcoin::consensus::serialize(&tx),
                        );
                        let generated = match stored {
                            Ok(()) => self
                                .channel_manager
                                .funding_transaction_generated_manual_broadcast(
                                    *temporary_channel_id,
                                    *counterparty_node_id,
                                    tx,
                                )
                                .map_err(|e| format!("{e:?}")),
                            Err(e) => Err(format!("keeping the funding transaction: {e}")),
                        };
                        if let Err(e) = generated {
                            tracing::error!(%temporary_channel_id, "funding refused: {e}");
                            self.close_unfunded(temporary_channel_id, counterparty_node_id);
                        }
                    }
                    Ok(tx) => {
                        if let Err(e) = self.channel_manager.funding_transaction_generated(
                            *temporary_channel_id,
                            *counterparty_node_id,
                            tx,
                        ) {
                            tracing::error!(%temporary_channel_id, "funding refused: {e:?}");
                        }
                    }
                    Err(e) => {
                        tracing::error!(%temporary_channel_id, "cannot fund channel: {e}");
                        if let Err(e) = self.channel_manager.force_close_broadcasting_latest_txn(
                            temporary_channel_id,
                            counterparty_node_id,
                            "funding failed".to_owned(),
                        ) {
                            tracing::warn!("closing the unfunded channel: {e:?}");
                        }
                    }
                }
            }
            Event::OpenChannelRequest {
                temporary_channel_id,
                counterparty_node_id,
                funding_satoshis,
                channel_type,
                is_announced,
                params,
                ..
            } => {
                let decision = match &self.inbound_policy {
                    Some(policy) => policy.decide(&InboundChannelRequest {
                        counterparty: *counterparty_node_id,
                        funding_sat: *funding_satoshis,
                        channel_type,
                        is_announced: *is_announced,
                        params,
                    }),
                    None => InboundDecision::Accept {
                        zero_conf: self.zero_conf_peers.contains(counterparty_node_id),
                        overrides: None,
                    },
                };
                let user_channel_id: u128 = rand::random();
                let outcome = match decision {
                    InboundDecision::Accept {
                        zero_conf: true,
                        overrides,
                    } => self
                        .channel_manager
                        .accept_inbound_channel_from_trusted_peer_0conf(
                            temporary_channel_id,
                            counterparty_node_id,
                            user_channel_id,
                            overrides,
                        ),
                    InboundDecision::Accept {
                        zero_conf: false,
                        overrides,
                    } => self.channel_manager.accept_inbound_channel(
                        temporary_channel_id,
                        counterparty_node_id,
                        user_channel_id,
                        overrides,
                    ),
                    InboundDecision::Reject { reason } => {
                        tracing::info!(%temporary_channel_id, %counterparty_node_id, "refusing inbound channel: {reason}");
                        // LDK's way to refuse an unaccepted request: it answers with an error.
                        self.channel_manager.force_close_broadcasting_latest_txn(
                            temporary_channel_id,
                            counterparty_node_id,
                            reason,
                        )
                    }
                };
                if let Err(e) = outcome {
                    tracing::warn!(%temporary_channel_id, "answering the channel request: {e:?}");
                }
            }
            Event::SpendableOutputs { outputs, .. } => {
                // Swept into the wallet at once (ldk's OutputSweeper would also re-broadcast;
                // the dev chain and Core keep the transaction in their mempool).
                let descriptors: Vec<_> = outputs.iter().collect();
                let rate = self
                    .fee_estimator
                    .get_est_sat_per_1000_weight(ConfirmationTarget::OutputSpendingFee);
                match self.wallet.new_address() {
                    Ok(address) => match self.keys.spend_spendable_outputs(
                        &descriptors,
                        Vec::new(),
                        address.script_pubkey(),
                        rate,
                        None,
                        &Secp256k1::new(),
                    ) {
                        Ok(tx) => self.chain.broadcast(&tx),
                        Err(()) => tracing::error!("cannot sweep spendable outputs"),
                    },
                    Err(e) => tracing::error!("cannot sweep spendable outputs: {e}"),
                }
            }
            Event::ChannelPending { .. }
            | Event::ChannelReady { .. }
            | Event::ChannelClosed { .. } => self.bump(),
            _ => {
                if self.payments.observe(&event) {
                    self.bump();
                }
            }
        }
        let result = app(&event);
        if !matches!(
            event,
            Event::FundingGenerationReady { .. } | Event::OpenChannelRequest { .. }
        ) {
            tracing::debug!("LDK event: {event:?}");
        }
        result
    }
}

impl<H: CustomMessageHandler + Send + Sync + 'static> Node<H> {
    /// Process LDK events and persistence until `shutdown` flips; woken by LDK's futures (and a
    /// timer for LDK's periodic ticks), never by polling. Every event passes through the kit
    /// (funding, acceptance, sweeps) and then `app`.
    pub async fn run_events<F>(self: Arc<Self>, mut shutdown: watch::Receiver<bool>, app: F)
    where
        F: Fn(&Event) -> Result<(), ReplayEvent> + Send + Sync + 'static,
    {
        // The ChannelManager is also written by a task of its own, off the runtime's workers
        // (a write waits for an fsync), so a slow event handler (an app waiting for its store)
        // never holds it back: peers keep updating channels meanwhile. The monitor writer puts
        // a ChannelManager snapshot on disk before every monitor update (crate::persist), so
        // this task is not what keeps the stored manager as new as the monitors; it writes
        // what changed outside them (a forward, a handled event) between the event loop's
        // turns. It looks every PERSIST_CHECK rather than waiting on the
        // ChannelManager's future: that future wakes one waiter's worth of notifications, and
        // sharing it would leave this loop asleep until its next tick.
        let persister = {
            let node = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let mut checks = tokio::time::interval(PERSIST_CHECK);
                checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = checks.tick() => {}
                        _ = stop.changed() => break,
                    }
                    let node = node.clone();
                    let written = tokio::task::spawn_blocking(move || {
                        node.persist_channel_manager_if_changed()
                    })
                    .await;
                    match written {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::error!("{e}"),
                        Err(e) => tracing::error!("ChannelManager write task: {e}"),
                    }
                }
            })
        };
        let mut ticks = tokio::time::interval(Duration::from_secs(10));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick_count: u64 = 0;
        loop {
            // Messages first: what LDK released since the last turn (most often the
            // `commitment_signed`/`revoke_and_ack` a completed monitor write held back) goes to
            // the peer at once. Sending needs no write of its own: the monitors it depends on
            // are on disk, and a ChannelManager that misses the sending only has LDK resend at
            // reconnection.
            self.peer_manager.process_events();
            // The state that raised an event is on disk before the event is handled. The
            // monitor writer keeps the stored ChannelManager at least as new as every stored
            // monitor, but not everything lives in a monitor: an intercepted HTLC waits in the
            // ChannelManager alone, and an app that acted on its event (opened a channel for
            // it) and crashed before the next write would restart with the HTLC stuck in the
            // inbound channel until it expires. The write happens at the turn's first event,
            // not every turn: most turns have none, and a ChannelManager grows by ~3 KB per
            // channel (300 KB at a hundred, ~7 ms to serialize in a dev build). LDK hands
            // events over without holding its locks, so writing from the handler is safe, and
            // skipped when the monitor writer's snapshot holds everything (`write_if_changed`).
            let written_this_turn = std::sync::atomic::AtomicBool::new(false);
            let handle = |event| {
                if !written_this_turn.swap(true, std::sync::atomic::Ordering::Relaxed)
                    && let Err(e) = self.persist_channel_manager_if_changed()
                {
                    tracing::error!("{e}");
                }
                self.core.handle_event(event, &app)
            };
            self.channel_manager.process_pending_events(&handle);
            self.chain_monitor.process_pending_events(&handle);
            // Received and forwarded HTLCs wait here until processed. LDK's background
            // processor adds a random delay for privacy; the kit processes them at once, which
            // is what a JIT open racing an HTLC's timeout wants.
            if self.channel_manager.needs_pending_htlc_processing() {
                self.channel_manager.process_pending_htlc_forwards();
            }
            self.peer_manager.process_events();
            tokio::select! {
                _ = self.channel_manager.get_event_or_persistence_needed_future() => {}
                _ = self.chain_monitor.get_update_future() => {}
                _ = ticks.tick() => {
                    tick_count += 1;
                    self.peer_manager.timer_tick_occurred();
                    if tick_count.is_multiple_of(6) {
                        self.channel_manager.timer_tick_occurred();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        let _ = persister.await;
        self.peer_manager.disconnect_all_peers();
        // The node stops here: blocks no longer reach its monitors or wallet, so nothing of it
        // writes to the data dir after this final ChannelManager write.
        self.chain_feed
            .store(false, std::sync::atomic::Ordering::Release);
        if let Err(e) = self.persist_channel_manager() {
            tracing::error!("{e}");
        }
    }
}

/// How often the event loop's companion task checks whether the ChannelManager needs writing.
const PERSIST_CHECK: Duration = Duration::from_millis(50);
