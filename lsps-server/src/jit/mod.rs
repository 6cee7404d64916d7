//! The LSPS2 JIT flow driven by the LDK node: this module turns LDK 0.2.7's events into
//! [`JitEvent`]s for the buy they concern, hands them to the buy's [`JitFlow`]
//! (`lsps_core::lsps2::flow`), and performs the returned [`JitAction`]s — strictly after the
//! flow value is durable ([`JitAction::Persist`] first).
//!
//! How events find their buy:
//! - `HTLCIntercepted`: by `requested_next_hop_scid` (the buy's `jit_channel_scid`);
//! - channel events (`ChannelPending`, `ChannelReady`, `ChannelClosed`,
//!   `FundingTxBroadcastSafe`, `PaymentForwarded`): by the `user_channel_id` this module gave
//!   the open ([`user_channel_id`]: SCID, attempt and a tag);
//! - `HTLCHandlingFailed` for a forward: by the JIT channel's id;
//! - the client connecting or disconnecting: by its node id (from the BOLT8 handler);
//! - time: [`JitFlow::next_timeout`], watched by [`JitEngine::run`].
//!
//! LDK events are acknowledged only after the step is durable: the node's (synchronous) event
//! handler waits for the store here, and returns `ReplayEvent` when the store fails, so LDK
//! delivers the event again. That needs tokio's multi-thread runtime (the server binary's);
//! on a current-thread runtime the step runs on a spawned task and the event is acknowledged
//! at once (logged).
//!
//! Crash recovery ([`JitEngine::recover`], before the node's events are processed): every
//! stored flow is reconciled with LDK's channels and its held HTLCs. See the crash points in
//! [`crate::crash`].

mod ldk;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lightning::events::{Event, ReplayEvent};
use lsps_core::ids::{ChannelId, InterceptId};
use lsps_core::lsps2::flow::{Forward, HtlcFailure, JitAction, JitEvent, OpenChannel};
use lsps_core::lsps2::{JitConfig, JitFlow, JitState};
use lsps_core::types::{Datetime, Msat};
use tokio::sync::{Notify, watch};

use crate::admin::Metrics;
use crate::crash;
use crate::dispatch::{Clock, Dispatcher};
use crate::faults::Fault;
use crate::node::Node;
use crate::service::{BuyRecord, Effect};

pub use ldk::{decode_user_channel_id, user_channel_id};

/// The longest the timer loop sleeps without looking again (new buys' `valid_until`).
const MAX_TIMER_SLEEP: Duration = Duration::from_secs(30);

/// How often forwards that recovery could not settle yet are tried again.
const RECOVERY_RETRY: Duration = Duration::from_millis(500);

/// The JIT flows of one server: shared by the node's event handler, the BOLT8 handler's peer
/// callbacks and the timer task. Cheap to clone.
#[derive(Clone)]
pub struct JitEngine {
    inner: Arc<Inner>,
}

struct Inner {
    node: Arc<Node>,
    dispatcher: Dispatcher,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    /// One flow step at a time: a step reads a record, persists it and acts.
    steps: tokio::sync::Mutex<()>,
    /// Wakes the timer loop (a flow changed, or peers connected or disconnected).
    wake: Notify,
    /// The latest connection state of peers not yet told to their flows. Bounded by the
    /// peers LDK lets connect between two wake-ups of the loop.
    peer_changes: Mutex<HashMap<PublicKey, bool>>,
    /// Forwards recovery found recorded but could not re-issue yet (channel not usable):
    /// tried again until LDK takes them or says it no longer holds them.
    unsettled: Mutex<HashSet<(u64, InterceptId)>>,
    runtime: tokio::runtime::Handle,
}

/// Why a step could not complete.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The flow value could not be stored: nothing of the step took effect.
    #[error("storing the JIT flow of {scid}: {source}")]
    Store {
        /// The buy.
        scid: u64,
        /// The store's complaint.
        #[source]
        source: crate::store::StoreError,
    },
}

fn now_of(clock: &dyn Clock) -> Datetime {
    Datetime::from_unix_millis(clock.now_ms()).unwrap_or(Datetime::MAX)
}

impl JitEngine {
    /// An engine over `node`, reading and writing buys through `dispatcher` (its store and
    /// state), timing flows with `clock`.
    pub fn new(
        node: Arc<Node>,
        dispatcher: Dispatcher,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                dispatcher,
                metrics,
                clock,
                steps: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
                peer_changes: Mutex::new(HashMap::new()),
                unsettled: Mutex::new(HashSet::new()),
                runtime,
            }),
        }
    }

    /// The node's event handler's part: route `event` to its flow and wait until the step is
    /// durable and performed. `Err(ReplayEvent)` when the store failed (LDK delivers the event
    /// again). Events that concern no JIT flow return `Ok` at once.
    pub fn on_ldk_event(&self, event: &Event) -> Result<(), ReplayEvent> {
        let Some(routed) = self.route(event) else {
            return Ok(());
        };
        let this = self.clone();
        let work = async move { this.deliver(routed).await };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(work)).map_err(|e| {
                    tracing::error!("JIT step not stored, LDK will replay the event: {e}");
                    ReplayEvent()
                })
            }
            _ => {
                tracing::warn!(
                    "JIT step runs after its LDK event is acknowledged (not a multi-thread runtime)"
                );
                self.inner.runtime.spawn(async move {
                    if let Err(e) = work.await {
                        tracing::error!("JIT step lost: {e}");
                    }
                });
                Ok(())
            }
        }
    }

    /// The BOLT8 handler's callback: `peer` connected (`true`) or disconnected.
    pub fn peer_changed(&self, peer: PublicKey, connected: bool) {
        if let Ok(mut changes) = self.inner.peer_changes.lock() {
            changes.insert(peer, connected);
        }
        self.inner.wake.notify_one();
    }

    /// Reconcile every stored flow with the node after a (re)start, before the node's events
    /// are processed: clients are not connected yet; an open that LDK no longer knows (an
    /// unfunded channel does not survive a restart) ended before `funding_signed`; parts the
    /// flow failed are failed again and parts it forwarded are forwarded again — LDK answers
    /// "not found" for any it already handled, so each HTLC is failed or forwarded once.
    pub async fn recover(&self) -> Result<(), StepError> {
        let buys = self.live_buys();
        let channels = self.inner.node.channel_manager.list_channels();
        for record in buys {
            let scid = record.jit_channel_scid.0;
            let Some(flow) = record.flow.as_ref() else {
                continue;
            };
            let connected = self
                .inner
                .node
                .peer_manager
                .peer_by_node_id(&record.peer.0)
                .is_some();
            let mut events = Vec::new();
            if !connected {
                events.push(JitEvent::ClientDisconnected);
            }
            if flow.state() == JitState::Opening
                && flow.channel_id().is_none()
                && let Some(attempt) = flow.channel_attempt()
            {
                let id = user_channel_id(scid, attempt);
                if !channels.iter().any(|c| c.user_channel_id == id) {
                    tracing::info!(
                        scid,
                        attempt,
                        "JIT recovery: the open did not survive the restart"
                    );
                    events.push(JitEvent::DisconnectedBeforeFunding { attempt });
                }
            }
            for event in events {
                self.step(scid, event).await?;
            }
            self.reissue(scid);
        }
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Deliver timers and peer changes until `shutdown` flips.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let new_buys = self.inner.dispatcher.buys_changed();
        loop {
            self.drain_peer_changes().await;
            self.retry_unsettled();
            let now = now_of(self.inner.clock.as_ref());
            let mut next: Option<Datetime> = None;
            for record in self.live_buys() {
                let Some(due) = record.flow.as_ref().and_then(JitFlow::next_timeout) else {
                    continue;
                };
                if due <= now {
                    if let Err(e) = self.step(record.jit_channel_scid.0, JitEvent::Timer).await {
                        tracing::error!("JIT timer: {e}");
                    }
                } else {
                    next = Some(next.map_or(due, |n| n.min(due)));
                }
            }
            let mut sleep = next.map_or(MAX_TIMER_SLEEP, |due| {
                Duration::from_millis(due.unix_millis().saturating_sub(now.unix_millis()))
                    .min(MAX_TIMER_SLEEP)
            });
            let retry = self
                .inner
                .unsettled
                .lock()
                .map(|u| !u.is_empty())
                .unwrap_or(false)
                || self
                    .inner
                    .peer_changes
                    .lock()
                    .map(|p| !p.is_empty())
                    .unwrap_or(false);
            if retry {
                sleep = sleep.min(RECOVERY_RETRY);
            }
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.inner.wake.notified() => {}
                _ = new_buys.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Flows with money in motion that a graceful shutdown waits for: an open in flight or
    /// forwards not yet claimed, with the client connected (so they can finish in moments).
    /// Flows only holding parts are not counted: they are stored, LDK keeps their HTLCs, and
    /// after the restart their hold timeout still applies.
    pub fn in_motion(&self) -> usize {
        let peer_manager = &self.inner.node.peer_manager;
        self.live_buys()
            .iter()
            .filter(|b| {
                b.flow
                    .as_ref()
                    .is_some_and(|f| matches!(f.state(), JitState::Opening | JitState::Forwarding))
            })
            .filter(|b| peer_manager.peer_by_node_id(&b.peer.0).is_some())
            .count()
    }

    /// Buys whose flow may still act: not final, or done with the SCID still an alias.
    fn live_buys(&self) -> Vec<BuyRecord> {
        self.inner
            .dispatcher
            .with_state(|state| {
                state
                    .buys()
                    .filter(|b| b.flow.as_ref().is_some_and(|f| f.next_timeout().is_some()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn buy(&self, scid: u64) -> Option<BuyRecord> {
        self.inner
            .dispatcher
            .with_state(|state| state.buy(scid).cloned())
            .flatten()
    }

    /// The buy whose flow owns channel `channel_id`.
    fn buy_of_channel(&self, channel_id: &ChannelId) -> Option<u64> {
        self.inner
            .dispatcher
            .with_state(|state| {
                state
                    .buys()
                    .find(|b| {
                        b.flow
                            .as_ref()
                            .and_then(JitFlow::channel_id)
                            .is_some_and(|c| c == *channel_id)
                    })
                    .map(|b| b.jit_channel_scid.0)
            })
            .flatten()
    }

    /// The ids of the node's channels that can forward now (`channel_reestablish` done).
    fn usable_channel_ids(&self) -> Vec<lightning::ln::types::ChannelId> {
        self.inner
            .node
            .channel_manager
            .list_usable_channels()
            .into_iter()
            .map(|c| c.channel_id)
            .collect()
    }

    async fn drain_peer_changes(&self) {
        let changes: Vec<(PublicKey, bool)> = match self.inner.peer_changes.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return,
        };
        let usable = self.usable_channel_ids();
        for (peer, connected) in changes {
            let buys: Vec<BuyRecord> = self
                .live_buys()
                .into_iter()
                .filter(|b| b.peer.0 == peer)
                .collect();
            // A reconnecting client's ready JIT channel is usable only after
            // `channel_reestablish`, a moment after `init`: tell its flow once it is, so held
            // forwards go out (LDK emits no event for that).
            let waiting = connected
                && buys.iter().any(|b| {
                    b.flow.as_ref().is_some_and(|f| {
                        f.channel_ready()
                            && f.channel_id()
                                .is_some_and(|c| !usable.iter().any(|u| u.0 == c.0))
                    })
                });
            let still_connected = self
                .inner
                .node
                .peer_manager
                .peer_by_node_id(&peer)
                .is_some();
            if waiting && still_connected {
                if let Ok(mut map) = self.inner.peer_changes.lock() {
                    map.entry(peer).or_insert(true);
                }
                continue;
            }
            for record in &buys {
                let scid = record.jit_channel_scid.0;
                let event = if connected {
                    JitEvent::ClientConnected
                } else {
                    JitEvent::ClientDisconnected
                };
                if let Err(e) = self.step(scid, event).await {
                    tracing::error!("JIT peer change: {e}");
                }
                if !connected && let Err(e) = self.abandon_unfunded_open(scid).await {
                    tracing::error!("JIT peer change: {e}");
                }
            }
        }
    }

    /// The client left while the open of buy `scid` waits for `funding_signed`. LDK keeps
    /// such a channel to resume the open on reconnect; bLIP-52 wants the parts failed and the
    /// flow back to waiting, so the unfunded channel is closed and the flow told.
    async fn abandon_unfunded_open(&self, scid: u64) -> Result<(), StepError> {
        let Some(flow) = self.buy(scid).and_then(|b| b.flow) else {
            return Ok(());
        };
        let (JitState::Opening, None, Some(attempt)) =
            (flow.state(), flow.channel_id(), flow.channel_attempt())
        else {
            return Ok(());
        };
        let id = user_channel_id(scid, attempt);
        let channel_manager = &self.inner.node.channel_manager;
        for channel in channel_manager.list_channels() {
            if channel.user_channel_id == id
                && let Err(e) = channel_manager.force_close_broadcasting_latest_txn(
                    &channel.channel_id,
                    &channel.counterparty.node_id,
                    "JIT client disconnected before funding_signed".to_owned(),
                )
            {
                tracing::warn!(scid, "closing the unfunded JIT channel: {e:?}");
            }
        }
        self.step(scid, JitEvent::DisconnectedBeforeFunding { attempt })
            .await
    }

    async fn deliver(&self, routed: ldk::Routed) -> Result<(), StepError> {
        match routed {
            ldk::Routed::Flow { scid, events } => {
                for event in events {
                    self.step(scid, event).await?;
                }
                Ok(())
            }
            ldk::Routed::NotJit(id) => {
                // Not one of our JIT SCIDs (never sold, or forgotten): nothing to open.
                if let Err(e) = self
                    .inner
                    .node
                    .channel_manager
                    .fail_intercepted_htlc(lightning::ln::channelmanager::InterceptId(id.0))
                {
                    tracing::debug!("failing an HTLC to an unknown SCID: {e:?}");
                }
                Ok(())
            }
        }
    }

    /// Feed `event` to the flow of buy `scid`, persist, perform; follow-up events the actions
    /// produce (an open or a forward the node refused) are fed in the same step.
    pub async fn step(&self, scid: u64, event: JitEvent) -> Result<(), StepError> {
        let _one_at_a_time = self.inner.steps.lock().await;
        let started = Instant::now();
        let step_name = event_name(&event);
        let mut queue = VecDeque::from([event]);
        while let Some(event) = queue.pop_front() {
            let Some(mut record) = self.buy(scid) else {
                return Ok(());
            };
            let mut flow = record
                .flow
                .take()
                .unwrap_or_else(|| JitFlow::new(record.terms(), JitConfig::default()));
            let before = flow.state();
            let name = event_name(&event);
            let actions = match flow.handle(event, now_of(self.inner.clock.as_ref())) {
                Ok(actions) => actions,
                Err(e) => {
                    tracing::debug!(scid, event = name, "JIT event ignored: {e}");
                    continue;
                }
            };
            if actions.is_empty() {
                continue;
            }
            tracing::info!(
                scid,
                event = name,
                from = before.name(),
                to = flow.state().name(),
                actions = %summarize(&actions),
                "JIT step"
            );
            for action in actions {
                match action {
                    JitAction::Persist => {
                        record.state = flow.state();
                        record.flow = Some(flow.clone());
                        self.inner
                            .dispatcher
                            .commit_effect(Effect::UpdateBuy(record.clone()))
                            .await
                            .map_err(|source| StepError::Store { scid, source })?;
                    }
                    JitAction::OpenChannel(open) => {
                        crash::point(crash::BEFORE_OPEN);
                        if let Some(follow) = self.open(&record, &open) {
                            queue.push_back(follow);
                        } else {
                            crash::point(crash::AFTER_OPEN);
                        }
                    }
                    JitAction::ForwardParts { channel_id, parts } => {
                        crash::point(crash::BEFORE_FORWARD);
                        queue.extend(self.forward(&record, channel_id, &parts));
                        crash::point(crash::AFTER_FORWARD);
                    }
                    JitAction::FailParts { parts, failure } => {
                        crash::point(crash::BEFORE_FAIL);
                        self.fail(scid, &parts, failure);
                    }
                    JitAction::BroadcastFunding { channel_id } => {
                        self.broadcast(scid, channel_id);
                    }
                    JitAction::ReleaseScid => {
                        tracing::info!(scid, "JIT SCID released (valid_until passed)");
                    }
                }
            }
            if flow.state() == JitState::Done && before != JitState::Done {
                tracing::info!(
                    scid,
                    fee_taken_msat = flow.fee_taken_msat().get(),
                    "JIT flow done: the client claimed, the opening fee is taken"
                );
                crash::point(crash::AFTER_CLAIM);
            }
        }
        self.inner
            .metrics
            .observe_jit_step(step_name, started.elapsed());
        self.inner.wake.notify_one();
        Ok(())
    }

    fn faults(&self) -> crate::faults::FaultSet {
        self.inner.dispatcher.service().faults()
    }

    /// Open the JIT channel; `Some(OpenFailed)` if the node could not.
    fn open(&self, record: &BuyRecord, open: &OpenChannel) -> Option<JitEvent> {
        let scid = record.jit_channel_scid.0;
        if self.faults().has(Fault::JitNoChannel) {
            tracing::warn!(scid, "fault jit-no-channel: not opening the JIT channel");
            return Some(JitEvent::OpenFailed {
                attempt: open.attempt,
            });
        }
        let request = lsps_node::OpenChannel {
            peer: open.client.0,
            amount_sat: open.capacity_sat.get(),
            push_msat: 0,
            zero_conf: open.zero_conf,
            announce: open.announce,
            scid_alias: open.scid_alias,
            max_peer_to_self_delay: Some(open.max_client_to_self_delay),
            user_channel_id: Some(user_channel_id(scid, open.attempt)),
            manual_broadcast: open.client_trusts_lsp,
        };
        match self.inner.node.open_channel(&request) {
            Ok((temporary_channel_id, _)) => {
                tracing::info!(
                    scid,
                    attempt = open.attempt,
                    capacity_sat = open.capacity_sat.get(),
                    forward_msat = open.forward_msat.get(),
                    %temporary_channel_id,
                    client_trusts_lsp = open.client_trusts_lsp,
                    "JIT channel open requested"
                );
                None
            }
            Err(e) => {
                tracing::warn!(scid, attempt = open.attempt, "JIT channel open failed: {e}");
                Some(JitEvent::OpenFailed {
                    attempt: open.attempt,
                })
            }
        }
    }

    /// Forward `parts` over the JIT channel; the events for parts the node refused or no
    /// longer holds.
    fn forward(
        &self,
        record: &BuyRecord,
        channel_id: ChannelId,
        parts: &[Forward],
    ) -> Vec<JitEvent> {
        let scid = record.jit_channel_scid.0;
        let mut follow = Vec::new();
        for part in parts {
            let mut amount = part.amount_msat;
            if self.faults().has(Fault::JitSkimAboveFee) {
                // LDK puts whatever is withheld in the extra_fee TLV: 1 000 msat over the fee.
                amount = Msat(amount.get().saturating_sub(1_000));
            }
            match self.forward_one(record.peer.0, channel_id, part.id, amount) {
                ForwardOutcome::Forwarded => tracing::info!(
                    scid,
                    part = %part.id,
                    amount_msat = part.amount_msat.get(),
                    extra_fee_msat = part.extra_fee_msat.get(),
                    "JIT part forwarded"
                ),
                ForwardOutcome::Refused(e) => {
                    tracing::warn!(scid, part = %part.id, "JIT forward refused: {e}");
                    follow.push(JitEvent::ForwardRefused { id: part.id });
                }
                ForwardOutcome::NotHeld(e) => {
                    tracing::warn!(scid, part = %part.id, "JIT part no longer held: {e}");
                    follow.push(JitEvent::PartFailed { id: part.id });
                }
            }
        }
        follow
    }

    fn forward_one(
        &self,
        client: PublicKey,
        channel_id: ChannelId,
        id: InterceptId,
        amount: Msat,
    ) -> ForwardOutcome {
        use lightning::util::errors::APIError;
        match self.inner.node.channel_manager.forward_intercepted_htlc(
            lightning::ln::channelmanager::InterceptId(id.0),
            &lightning::ln::types::ChannelId(channel_id.0),
            client,
            amount.get(),
        ) {
            Ok(()) => ForwardOutcome::Forwarded,
            Err(APIError::ChannelUnavailable { err }) => ForwardOutcome::Refused(err),
            Err(e) => ForwardOutcome::NotHeld(format!("{e:?}")),
        }
    }

    fn fail(&self, scid: u64, parts: &[InterceptId], failure: HtlcFailure) {
        for id in parts {
            let result = self
                .inner
                .node
                .channel_manager
                .fail_intercepted_htlc(lightning::ln::channelmanager::InterceptId(id.0));
            match failure {
                HtlcFailure::UnknownNextPeer => {
                    tracing::info!(scid, part = %id, "JIT part failed back: unknown_next_peer (0x400a)")
                }
                // spec/README D35: LDK 0.2.7 fails an intercepted HTLC only with
                // unknown_next_peer; the flow's choice is logged with what went out.
                HtlcFailure::TemporaryChannelFailure => tracing::info!(
                    scid,
                    part = %id,
                    wanted = "temporary_channel_failure (0x1007)",
                    sent = "unknown_next_peer (0x400a)",
                    "JIT part failed back (LDK 0.2.7 sends only unknown_next_peer for intercepted HTLCs; spec/README D35)"
                ),
            }
            if let Err(e) = result {
                // Already failed (a repeat after a restart) or failed by LDK near expiry.
                tracing::debug!(scid, part = %id, "fail_intercepted_htlc: {e:?}");
            }
        }
    }

    fn broadcast(&self, scid: u64, channel_id: ChannelId) {
        let channel = self
            .inner
            .node
            .channel_manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id.0 == channel_id.0);
        let Some(txo) = channel.and_then(|c| c.funding_txo) else {
            tracing::error!(scid, %channel_id, "JIT funding broadcast: channel not found");
            return;
        };
        match self.inner.node.broadcast_manual_funding(txo.txid) {
            Ok(true) => {
                tracing::info!(scid, txid = %txo.txid, "JIT funding broadcast after the claim")
            }
            Ok(false) => {
                tracing::error!(scid, txid = %txo.txid, "JIT funding transaction not kept")
            }
            Err(e) => tracing::error!(scid, "JIT funding broadcast: {e}"),
        }
    }

    /// Recovery: fail again what the flow failed, and queue what it forwarded for
    /// re-issuing (see [`Self::recover`]).
    fn reissue(&self, scid: u64) {
        let Some(record) = self.buy(scid) else {
            return;
        };
        let Some(flow) = record.flow.as_ref() else {
            return;
        };
        for part in flow.parts() {
            match part.status {
                lsps_core::lsps2::flow::PartStatus::Failed { .. } => {
                    let _ = self.inner.node.channel_manager.fail_intercepted_htlc(
                        lightning::ln::channelmanager::InterceptId(part.part.id.0),
                    );
                }
                // A claim proves the payment's forwards left; forwards recorded after it (the
                // SCID as an alias) are not re-issued.
                lsps_core::lsps2::flow::PartStatus::Forwarded { .. }
                    if flow.state() != JitState::Done =>
                {
                    if let Ok(mut unsettled) = self.inner.unsettled.lock() {
                        unsettled.insert((scid, part.part.id));
                    }
                }
                _ => {}
            }
        }
    }

    /// Re-issue recorded forwards LDK may still hold: forwarded now, or "not held" (it was
    /// forwarded before the restart, or failed since); kept while the channel is unusable.
    /// Only a usable channel (client connected, `channel_reestablish` done) is tried: LDK takes
    /// a forward over a channel whose peer is away and then fails it back, which would turn a
    /// payment recovery can still deliver into a failure.
    fn retry_unsettled(&self) {
        let pending: Vec<(u64, InterceptId)> = match self.inner.unsettled.lock() {
            Ok(set) => set.iter().copied().collect(),
            Err(_) => return,
        };
        if pending.is_empty() {
            return;
        }
        let usable = self.usable_channel_ids();
        for (scid, id) in pending {
            let settled = match self.buy(scid) {
                None => true,
                Some(record) => {
                    let flow = record.flow.as_ref();
                    let forward = flow.and_then(|f| {
                        f.parts()
                            .iter()
                            .find(|p| p.part.id == id)
                            .and_then(|p| match p.status {
                                lsps_core::lsps2::flow::PartStatus::Forwarded {
                                    amount_msat,
                                    ..
                                } => Some(amount_msat),
                                _ => None,
                            })
                    });
                    match (forward, flow.and_then(JitFlow::channel_id)) {
                        (Some(_), Some(channel_id))
                            if !usable.iter().any(|u| u.0 == channel_id.0) =>
                        {
                            false
                        }
                        (Some(amount), Some(channel_id)) => {
                            match self.forward_one(record.peer.0, channel_id, id, amount) {
                                ForwardOutcome::Forwarded => {
                                    tracing::info!(scid, part = %id, "JIT recovery: part forwarded (it was recorded but not sent before the restart)");
                                    true
                                }
                                ForwardOutcome::NotHeld(_) => true,
                                ForwardOutcome::Refused(_) => false,
                            }
                        }
                        _ => true,
                    }
                }
            };
            if settled && let Ok(mut set) = self.inner.unsettled.lock() {
                set.remove(&(scid, id));
            }
        }
    }
}

enum ForwardOutcome {
    Forwarded,
    /// The channel is not usable now (client offline, not ready): the HTLC is still held.
    Refused(String),
    /// The node does not hold this HTLC (any more).
    NotHeld(String),
}

fn event_name(event: &JitEvent) -> &'static str {
    match event {
        JitEvent::HtlcArrived(_) => "htlc_arrived",
        JitEvent::Timer => "timer",
        JitEvent::ClientConnected => "client_connected",
        JitEvent::ClientDisconnected => "client_disconnected",
        JitEvent::DisconnectedBeforeFunding { .. } => "disconnected_before_funding",
        JitEvent::ClientRejectedChannel { .. } => "client_rejected_channel",
        JitEvent::OpenFailed { .. } => "open_failed",
        JitEvent::FundingSigned { .. } => "funding_signed",
        JitEvent::FundingBroadcastSafe { .. } => "funding_broadcast_safe",
        JitEvent::ChannelReady { .. } => "channel_ready",
        JitEvent::ForwardRefused { .. } => "forward_refused",
        JitEvent::PartFailed { .. } => "part_failed",
        JitEvent::ForwardsFailed { .. } => "forwards_failed",
        JitEvent::ClientClaimed { .. } => "client_claimed",
    }
}

fn summarize(actions: &[JitAction]) -> String {
    actions
        .iter()
        .map(|a| match a {
            JitAction::Persist => "persist".to_owned(),
            JitAction::OpenChannel(o) => {
                format!("open(attempt {}, {} sat)", o.attempt, o.capacity_sat.get())
            }
            JitAction::ForwardParts { parts, .. } => format!("forward({} parts)", parts.len()),
            JitAction::FailParts { parts, failure } => {
                format!("fail({} parts, {:#06x})", parts.len(), failure.code())
            }
            JitAction::BroadcastFunding { .. } => "broadcast_funding".to_owned(),
            JitAction::ReleaseScid => "release_scid".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
