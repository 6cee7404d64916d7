//! The LSPS1 money flow on the LSP's node: each order's
//! [`OrderFlow`](lsps_core::lsps1::OrderFlow) is fed what the node sees, and its actions are
//! performed on the node — each step stored first ([`Dispatcher::commit_effect`]).
//!
//! # What feeds a flow
//!
//! | node | flow event |
//! |---|---|
//! | `Event::PaymentClaimable` for the order's invoice (not claimed: LDK holds the HTLCs) | `HtlcsHeld` |
//! | `Event::HTLCHandlingFailed` of type `Receive` for its payment hash | `HtlcsFailedByNode` |
//! | outputs to the order's address in the wallet ([`received_at`](lsps_node::wallet::OnchainWallet::received_at)) | `OnchainOutput` |
//! | the best block; the client's BOLT8 connection | `BestBlock`; `ClientConnected` / `ClientDisconnected` |
//! | the channel of the open attempt (by its `user_channel_id`, see [`user_channel_id`]) in `list_channels`: funded; ready with the confirmations the order asked for; gone | `FundingPublished`; `ChannelReady`; `ChannelClosed` / `DisconnectedBeforeFunding` |
//! | `Event::ChannelClosed` before funding: peer disconnected / the client's error / anything else | `DisconnectedBeforeFunding` / `ClientRejectedChannel` / `OpenFailed` |
//! | the refund transaction confirming ([`sent_to`](lsps_node::wallet::OnchainWallet::sent_to)) | `RefundConfirmed` |
//!
//! LDK events wake the order at once; everything else is read on a tick
//! ([`ORDER_TICK`]) from the node's own state, so a restart needs no event replay: the first
//! tick reconciles every live order with the channels and outputs the node has.
//!
//! # Actions
//!
//! `OpenChannel` → [`NodeCore::open_channel`](lsps_node::NodeCore::open_channel) with the
//! order's capacity, `client_balance_sat` pushed, `announce_channel`, zero-conf when
//! `required_channel_confirmations` is 0, and a `user_channel_id` derived from the order id
//! and attempt (so a restarted server finds the channel and never opens a second one);
//! `ClaimPayment` → `claim_funds` with the preimage LDK derives for the invoice;
//! `FailPaymentBack` → `fail_htlc_backwards`; `RefundOnchain` → the wallet pays the refund
//! address what was received minus the refund's fee (a refund already in the wallet for that
//! address is found instead of paid twice); `BumpRefund` → the wallet replaces the refund
//! (RBF) at twice the node's fee estimate.
//!
//! BOLT12 is not offered: an offer is paid through onion messages, which the node kit's
//! PeerManager drops (no `OnionMessenger`); see `lsps-server/README.md`.
//!
//! # Recovery
//!
//! The named crash points ([`crate::crash::LSPS1`], test builds) sit around each action: open,
//! claim, fail-back, refund. After a crash the flow in the store is the truth: an open it asked for is found by its
//! `user_channel_id`; a claim or a fail-back it decided is performed again (LDK ignores a
//! repeated one); a refund it requested is found in the wallet by its address. A
//! `PaymentClaimable` handled by LDK but not yet stored when the process died is not seen
//! again (LDK does not replay it): those HTLCs stay held until LDK fails them back at their
//! claim deadline — the payer gets its money back, the order expires.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::{Hash, sha256};
use lightning::events::{ClosureReason, Event, HTLCHandlingFailureType, ReplayEvent};
use lightning::ln::channel_state::ChannelDetails;
use lightning_invoice::Bolt11Invoice;
use lsps_core::ids::ChannelId;
use lsps_core::lsps1::flow::{LightningOption, RefundStatus};
use lsps_core::lsps1::{OrderFlow, OrderFlowEvent, OrderId, OrderState};
use lsps_core::types::{Datetime, NodeId, Outpoint, Sat, Txid};
use tokio::sync::{mpsc, watch};

use crate::dispatch::{Clock, Dispatcher};
use crate::node::Node;

mod actions;

/// How often every live order is reconciled with the node (blocks, connections, channels,
/// outputs, timers).
pub const ORDER_TICK: Duration = Duration::from_millis(250);

/// LDK events waiting for the order task; beyond this LDK is asked to replay them later.
const INBOX_DEPTH: usize = 1024;

/// Events one order may chain in one wake-up (each action's follow-up is one event).
const MAX_STEPS: usize = 16;

/// How long after an on-chain option expired a finished order's address is still watched
/// for a late payment (which is refunded, D32).
const LATE_PAYMENT_WATCH_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// The operator's settings for the money flow.
#[derive(Clone, Debug, Default)]
pub struct OrdersSettings {
    /// Close an order's channel cooperatively once its funding has `channel_expiry_blocks`
    /// confirmations (the LSP keeps it open at least that long either way).
    pub close_expired_channels: bool,
}

/// The `user_channel_id` of an order's open attempt: derived, so the channel is found again
/// after a restart (the first 16 bytes of SHA-256 over a tag, the order id and the attempt).
pub fn user_channel_id(order_id: &OrderId, attempt: u32) -> u128 {
    let mut data = b"lsps1-order-channel/v1:".to_vec();
    data.extend_from_slice(order_id.as_str().as_bytes());
    data.extend_from_slice(&attempt.to_be_bytes());
    let hash = sha256::Hash::hash(&data).to_byte_array();
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash[..16]);
    u128::from_be_bytes(first)
}

/// An LDK event that concerns the orders, reduced to what the order task needs.
#[derive(Debug)]
enum Input {
    Claimable {
        payment_hash: [u8; 32],
        amount_msat: u64,
        claim_deadline: Option<u32>,
    },
    ReceiveFailed {
        payment_hash: [u8; 32],
    },
    /// A channel event of an order's open: re-read the node's channels for it.
    Channel {
        user_channel_id: u128,
        closed_before_funding: Option<ClosedBeforeFunding>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClosedBeforeFunding {
    Disconnected,
    ClientRejected,
    OpenFailed,
}

/// What the order task needs of one order besides its flow.
#[derive(Clone)]
struct OrderView {
    peer: NodeId,
    flow: OrderFlow,
    invoice: Option<String>,
    address: Option<bitcoin::ScriptBuf>,
}

/// The LSPS1 money flow of a running server. Cheap to clone.
#[derive(Clone)]
pub struct Orders {
    inner: Arc<Inner>,
}

struct Inner {
    node: Arc<Node>,
    dispatcher: Dispatcher,
    clock: Arc<dyn Clock>,
    settings: OrdersSettings,
    inbox: mpsc::Sender<Input>,
    inbox_rx: std::sync::Mutex<Option<mpsc::Receiver<Input>>>,
    /// One order step at a time (see [`Orders::drive`]).
    steps: tokio::sync::Mutex<()>,
}

impl Orders {
    /// The money flow over `dispatcher`'s orders on `node`.
    pub fn new(
        node: Arc<Node>,
        dispatcher: Dispatcher,
        clock: Arc<dyn Clock>,
        settings: OrdersSettings,
    ) -> Self {
        let (inbox, rx) = mpsc::channel(INBOX_DEPTH);
        Self {
            inner: Arc::new(Inner {
                node,
                dispatcher,
                clock,
                settings,
                inbox,
                inbox_rx: std::sync::Mutex::new(Some(rx)),
                steps: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Route an LDK event (called by the node's event loop for every event). Nothing is
    /// claimed here: `PaymentClaimable` leaves the HTLCs held. A full inbox asks LDK to replay
    /// the event later.
    pub fn on_event(&self, event: &Event) -> Result<(), ReplayEvent> {
        let input = match event {
            Event::PaymentClaimable {
                payment_hash,
                amount_msat,
                claim_deadline,
                ..
            } => Input::Claimable {
                payment_hash: payment_hash.0,
                amount_msat: *amount_msat,
                claim_deadline: *claim_deadline,
            },
            Event::HTLCHandlingFailed {
                failure_type: HTLCHandlingFailureType::Receive { payment_hash },
                ..
            } => Input::ReceiveFailed {
                payment_hash: payment_hash.0,
            },
            Event::ChannelPending {
                user_channel_id, ..
            }
            | Event::ChannelReady {
                user_channel_id, ..
            } => Input::Channel {
                user_channel_id: *user_channel_id,
                closed_before_funding: None,
            },
            Event::ChannelClosed {
                user_channel_id,
                reason,
                channel_funding_txo,
                ..
            } => Input::Channel {
                user_channel_id: *user_channel_id,
                closed_before_funding: channel_funding_txo.is_none().then_some(match reason {
                    ClosureReason::DisconnectedPeer => ClosedBeforeFunding::Disconnected,
                    ClosureReason::CounterpartyForceClosed { .. }
                    | ClosureReason::ProcessingError { .. }
                    | ClosureReason::CounterpartyCoopClosedUnfundedChannel => {
                        ClosedBeforeFunding::ClientRejected
                    }
                    _ => ClosedBeforeFunding::OpenFailed,
                }),
            },
            _ => return Ok(()),
        };
        // A held payment is stored before LDK is told the event is handled: LDK does not
        // replay a handled `PaymentClaimable`, so a crash in between would leave the HTLCs
        // held with the order still EXPECT_PAYMENT. Needs the multi-thread runtime (the
        // server's); elsewhere the order task handles it.
        if matches!(input, Input::Claimable { .. })
            && let Ok(handle) = tokio::runtime::Handle::try_current()
            && handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        {
            let this = self.clone();
            let stored = tokio::task::block_in_place(|| handle.block_on(this.on_input(input)));
            return if stored {
                Ok(())
            } else {
                tracing::error!("lsps1: held payment not stored; LDK replays the event");
                Err(ReplayEvent())
            };
        }
        match self.inner.inbox.try_send(input) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("lsps1: order inbox full; LDK replays the event");
                Err(ReplayEvent())
            }
            // The order task is gone (shutting down): LDK keeps the event, persists it with
            // the ChannelManager and hands it over again after the restart.
            Err(mpsc::error::TrySendError::Closed(_)) => Err(ReplayEvent()),
        }
    }

    /// Drive the orders until `shutdown` flips: recover what the store says was decided,
    /// then handle LDK events as they come and reconcile every live order each tick.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let Some(mut inbox) = self.inner.inbox_rx.lock().ok().and_then(|mut rx| rx.take()) else {
            tracing::error!("lsps1: order task started twice");
            return;
        };
        self.recover();
        let mut ticks = tokio::time::interval(ORDER_TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                input = inbox.recv() => match input {
                    Some(input) => {
                        let _ = self.on_input(input).await;
                    }
                    None => break,
                },
                _ = ticks.tick() => self.tick().await,
                _ = shutdown.changed() => break,
            }
        }
        // Events LDK handed over are handled before the task ends (LDK does not replay an
        // event it was told is handled); from here on `on_event` asks LDK to keep them, and
        // the node persists them with its ChannelManager for the next start.
        inbox.close();
        while let Some(input) = inbox.recv().await {
            let _ = self.on_input(input).await;
        }
    }

    /// Orders with an open in flight (payment held or paid, channel asked for and not ready)
    /// and the client connected: a graceful shutdown waits for them to complete.
    pub fn in_motion(&self) -> usize {
        let peer_manager = &self.inner.node.peer_manager;
        self.orders_where(|peer, flow| {
            flow.order_state() == OrderState::Created
                && flow.channel_attempt().is_some()
                && peer_manager.peer_by_node_id(&peer.0).is_some()
        })
        .len()
    }

    /// The orders whose stored flow, with the order's client, satisfies `wanted`.
    fn orders_where(&self, wanted: impl Fn(&NodeId, &OrderFlow) -> bool) -> Vec<OrderId> {
        self.inner
            .dispatcher
            .with_state(|state| {
                state
                    .orders()
                    .filter(|(_, record)| {
                        record
                            .flow
                            .as_ref()
                            .is_some_and(|flow| wanted(&record.peer, flow))
                    })
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn now(&self) -> Datetime {
        Datetime::from_unix_millis(self.inner.clock.now_ms()).unwrap_or(Datetime::MAX)
    }

    fn view(&self, order_id: &OrderId) -> Option<OrderView> {
        self.inner
            .dispatcher
            .with_state(|state| {
                let record = state.order(order_id)?;
                Some(OrderView {
                    peer: record.peer,
                    flow: record.flow.clone()?,
                    invoice: record
                        .order
                        .payment
                        .bolt11
                        .as_ref()
                        .map(|b| b.invoice.clone()),
                    address: record
                        .order
                        .payment
                        .onchain
                        .as_ref()
                        .and_then(|o| self.script_of(&o.address)),
                })
            })
            .flatten()
    }

    /// The orders the task keeps feeding: live flows, and finished ones whose address may
    /// still receive a late payment.
    fn live_orders(&self, now: Datetime) -> Vec<OrderId> {
        self.orders_where(|_, flow| {
            flow.is_live()
                || (flow.watches_late_onchain()
                    && flow.terms().onchain.as_ref().is_some_and(|o| {
                        now.unix_millis()
                            < o.expires_at
                                .unix_millis()
                                .saturating_add(LATE_PAYMENT_WATCH_MS)
                    }))
        })
    }

    fn order_by_payment_hash(&self, payment_hash: &[u8; 32]) -> Option<OrderId> {
        self.inner
            .dispatcher
            .with_state(|state| {
                state
                    .orders()
                    .find(|(_, record)| {
                        record
                            .order
                            .payment
                            .bolt11
                            .as_ref()
                            .and_then(|b| Bolt11Invoice::from_str(&b.invoice).ok())
                            .is_some_and(|i| i.payment_hash().to_byte_array() == *payment_hash)
                    })
                    .map(|(id, _)| id.clone())
            })
            .flatten()
    }

    fn order_by_user_channel_id(&self, user_channel_id: u128) -> Option<(OrderId, u32)> {
        self.inner
            .dispatcher
            .with_state(|state| {
                state.orders().find_map(|(id, record)| {
                    let attempts = record.flow.as_ref()?.open_attempts();
                    (1..=attempts)
                        .find(|a| user_channel_id_of(id, *a) == user_channel_id)
                        .map(|a| (id.clone(), a))
                })
            })
            .flatten()
    }

    /// Handle one input; `false` when a step could not be stored.
    async fn on_input(&self, input: Input) -> bool {
        match input {
            Input::Claimable {
                payment_hash,
                amount_msat,
                claim_deadline,
            } => {
                let Some(order_id) = self.order_by_payment_hash(&payment_hash) else {
                    tracing::debug!(
                        payment_hash = hex::encode(payment_hash),
                        "payment claimable for no order: left to LDK"
                    );
                    return true;
                };
                let event = OrderFlowEvent::HtlcsHeld {
                    option: LightningOption::Bolt11,
                    amount_msat,
                    claim_deadline,
                };
                let best = self.best_height();
                self.drive(
                    &order_id,
                    [OrderFlowEvent::BestBlock { height: best }, event],
                )
                .await
            }
            Input::ReceiveFailed { payment_hash } => {
                let Some(order_id) = self.order_by_payment_hash(&payment_hash) else {
                    return true;
                };
                let event = OrderFlowEvent::HtlcsFailedByNode {
                    option: LightningOption::Bolt11,
                };
                self.drive(&order_id, [event]).await
            }
            Input::Channel {
                user_channel_id,
                closed_before_funding,
            } => {
                let Some((order_id, attempt)) = self.order_by_user_channel_id(user_channel_id)
                else {
                    return true;
                };
                let mut events: Vec<OrderFlowEvent> = closed_before_funding
                    .map(|why| match why {
                        ClosedBeforeFunding::Disconnected => {
                            OrderFlowEvent::DisconnectedBeforeFunding { attempt }
                        }
                        ClosedBeforeFunding::ClientRejected => {
                            OrderFlowEvent::ClientRejectedChannel { attempt }
                        }
                        ClosedBeforeFunding::OpenFailed => OrderFlowEvent::OpenFailed { attempt },
                    })
                    .into_iter()
                    .collect();
                if let Some(view) = self.view(&order_id) {
                    events.extend(self.channel_events(&order_id, &view.flow, false));
                }
                self.drive(&order_id, events).await
            }
        }
    }

    /// The script of an address of the node's network (create_order checked the network).
    fn script_of(&self, address: &lsps_core::types::OnchainAddress) -> Option<bitcoin::ScriptBuf> {
        address
            .require_network(self.inner.node.network())
            .ok()
            .map(|a| a.script_pubkey())
    }

    fn best_height(&self) -> u32 {
        self.inner.node.channel_manager.current_best_block().height
    }

    /// Every live order, reconciled with the node.
    async fn tick(&self) {
        let now = self.now();
        let height = self.best_height();
        for order_id in self.live_orders(now) {
            let Some(view) = self.view(&order_id) else {
                continue;
            };
            let mut events = vec![OrderFlowEvent::BestBlock { height }];
            events.push(
                if self
                    .inner
                    .node
                    .peer_manager
                    .peer_by_node_id(&view.peer.0)
                    .is_some()
                {
                    OrderFlowEvent::ClientConnected
                } else {
                    OrderFlowEvent::ClientDisconnected
                },
            );
            if let Some(script) = &view.address {
                match self.inner.node.wallet.received_at(script) {
                    Ok(outputs) => {
                        events.extend(outputs.into_iter().filter_map(|o| {
                            Some(OrderFlowEvent::OnchainOutput {
                                outpoint: outpoint_of(o.outpoint)?,
                                amount_sat: Sat(o.amount.to_sat()),
                                confirmations: o.confirmations,
                                fee_rate: None,
                            })
                        }));
                    }
                    Err(e) => tracing::warn!(%order_id, "reading the order's address: {e}"),
                }
            }
            events.extend(self.channel_events(&order_id, &view.flow, true));
            events.extend(self.refund_events(&view));
            events.push(OrderFlowEvent::Timer);
            self.drive(&order_id, events).await;
            // A refund the flow asked for but that is not out yet (a crash, a wallet error):
            // found in the wallet or sent now.
            if let Some(view) = self.view(&order_id)
                && let Some(RefundStatus::Requested { amount_sat }) = view.flow.refund()
                && let Some(address) = view
                    .flow
                    .terms()
                    .onchain
                    .as_ref()
                    .map(|o| o.refund_onchain_address.clone())
            {
                let follow = self.refund(&order_id, &address, amount_sat);
                self.drive(&order_id, follow).await;
            }
        }
        if self.inner.settings.close_expired_channels {
            self.close_expired_channels();
        }
    }

    /// What the node's channel list says about the order's open attempt. `reconcile`: also
    /// report an attempt whose channel the node no longer has (after a restart, or when the
    /// close event raced).
    fn channel_events(
        &self,
        order_id: &OrderId,
        flow: &OrderFlow,
        reconcile: bool,
    ) -> Vec<OrderFlowEvent> {
        let Some(attempt) = flow.channel_attempt() else {
            return Vec::new();
        };
        if flow.order_state() != OrderState::Created {
            return Vec::new();
        }
        let uid = user_channel_id(order_id, attempt.attempt);
        let channels = self.inner.node.channel_manager.list_channels();
        let channel = channels.iter().find(|c| c.user_channel_id == uid);
        let mut events = Vec::new();
        match (channel, attempt.channel_id) {
            (Some(c), None) => {
                // The channel carries its final id once the funding is signed.
                let signed = c.funding_txo.filter(|txo| {
                    c.channel_id == lightning::ln::types::ChannelId::v1_from_funding_outpoint(*txo)
                });
                if let Some(funding_outpoint) =
                    signed.and_then(|txo| outpoint_of(txo.into_bitcoin_outpoint()))
                {
                    events.push(OrderFlowEvent::FundingPublished {
                        attempt: attempt.attempt,
                        channel_id: ChannelId(c.channel_id.0),
                        funding_outpoint,
                    });
                    events.extend(self.ready_event(c, flow));
                }
            }
            (Some(c), Some(_)) => events.extend(self.ready_event(c, flow)),
            (None, None) if reconcile => {
                events.push(OrderFlowEvent::DisconnectedBeforeFunding {
                    attempt: attempt.attempt,
                });
            }
            (None, Some(channel_id)) if reconcile => {
                events.push(OrderFlowEvent::ChannelClosed { channel_id });
            }
            (None, _) => {}
        }
        events
    }

    /// `ChannelReady` once LDK has exchanged `channel_ready` and the funding has the
    /// confirmations the order asked for (the client may have asked for fewer).
    fn ready_event(&self, channel: &ChannelDetails, flow: &OrderFlow) -> Option<OrderFlowEvent> {
        let required = u32::from(flow.terms().required_channel_confirmations);
        let confirmations = channel.confirmations.unwrap_or(0);
        (channel.is_channel_ready && confirmations >= required).then_some(
            OrderFlowEvent::ChannelReady {
                channel_id: ChannelId(channel.channel_id.0),
            },
        )
    }

    fn refund_events(&self, view: &OrderView) -> Vec<OrderFlowEvent> {
        let Some(RefundStatus::Sent { .. }) = view.flow.refund() else {
            return Vec::new();
        };
        let Some(script) = view
            .flow
            .terms()
            .onchain
            .as_ref()
            .and_then(|o| self.script_of(&o.refund_onchain_address))
        else {
            return Vec::new();
        };
        match self.inner.node.wallet.sent_to(&script) {
            // The refund or a replacement of it, whichever the chain took.
            Ok(sent) => sent
                .into_iter()
                .filter(|s| s.confirmations >= 1)
                .map(|s| OrderFlowEvent::RefundConfirmed { txid: Txid(s.txid) })
                .take(1)
                .collect(),
            Err(e) => {
                tracing::warn!("reading refunds: {e}");
                Vec::new()
            }
        }
    }

    /// Close (cooperatively) every completed order's channel whose funding has
    /// `channel_expiry_blocks` confirmations.
    fn close_expired_channels(&self) {
        let expiring: HashMap<u128, (OrderId, u32)> = self
            .inner
            .dispatcher
            .with_state(|state| {
                state
                    .orders()
                    .filter_map(|(id, r)| {
                        let flow = r.flow.as_ref()?;
                        (flow.order_state() == OrderState::Completed).then(|| {
                            let attempt = flow.channel_attempt()?.attempt;
                            Some((
                                user_channel_id(id, attempt),
                                (id.clone(), flow.terms().channel_expiry_blocks),
                            ))
                        })?
                    })
                    .collect()
            })
            .unwrap_or_default();
        if expiring.is_empty() {
            return;
        }
        let node = &self.inner.node;
        for channel in node.channel_manager.list_channels() {
            let Some((order_id, expiry_blocks)) = expiring.get(&channel.user_channel_id) else {
                continue;
            };
            let old_enough = channel.confirmations.unwrap_or(0) >= *expiry_blocks;
            if old_enough && channel.channel_shutdown_state.is_none() {
                tracing::info!(%order_id, channel_id = %channel.channel_id, "closing the order's channel: channel_expiry_blocks passed");
                if let Err(e) = node
                    .channel_manager
                    .close_channel(&channel.channel_id, &channel.counterparty.node_id)
                {
                    tracing::warn!(%order_id, "closing the expired channel: {e:?}");
                }
            }
        }
    }
}

fn user_channel_id_of(order_id: &OrderId, attempt: u32) -> u128 {
    user_channel_id(order_id, attempt)
}

fn outpoint_of(outpoint: bitcoin::OutPoint) -> Option<Outpoint> {
    Some(Outpoint {
        txid: Txid(outpoint.txid),
        vout: u16::try_from(outpoint.vout).ok()?,
    })
}
