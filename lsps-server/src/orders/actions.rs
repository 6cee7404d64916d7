//! Performing a flow's actions on the node: each step stored first, then the open, claim,
//! fail-back, refund or fee bump it asks for, with the crash points around each; and, at
//! start-up, the claims and fail-backs stored flows decided performed again.

use std::collections::VecDeque;
use std::str::FromStr;

use bitcoin::hashes::Hash;
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning_invoice::Bolt11Invoice;
use lsps_core::lsps1::flow::{LightningOption, RefundStatus};
use lsps_core::lsps1::{OrderFlowAction, OrderFlowEvent, OrderId, PaymentKind, PaymentState};
use lsps_core::types::{Sat, Txid};

use super::{MAX_STEPS, OrderView, Orders, user_channel_id};
use crate::crash;
use crate::service::Effect;

impl Orders {
    /// Feed `events` to the order in turn; store each step that changed the flow, then
    /// perform its actions; an action's outcome (an open that failed at once, a refund sent)
    /// is the next event.
    ///
    /// `false` when a step could not be stored (nothing of it was performed).
    pub(super) async fn drive(
        &self,
        order_id: &OrderId,
        events: impl IntoIterator<Item = OrderFlowEvent>,
    ) -> bool {
        // One order step at a time: the order task and the node's event handler (a held
        // payment) both drive flows.
        let _one_at_a_time = self.inner.steps.lock().await;
        let mut queue: VecDeque<OrderFlowEvent> = events.into_iter().collect();
        let mut steps = 0;
        while let Some(event) = queue.pop_front() {
            steps += 1;
            if steps > MAX_STEPS * 4 {
                tracing::warn!(%order_id, "order step budget spent; the rest waits for the next tick");
                return true;
            }
            let Some(view) = self.view(order_id) else {
                return true;
            };
            let mut flow = view.flow.clone();
            let before = flow.order_state();
            let actions = match flow.handle(event.clone(), self.now()) {
                Ok(actions) => actions,
                Err(e) => {
                    tracing::debug!(%order_id, ?event, "not for this order now: {e}");
                    continue;
                }
            };
            if actions.first() == Some(&OrderFlowAction::Persist) {
                let effect = Effect::UpdateOrderFlow {
                    order_id: order_id.clone(),
                    flow: Box::new(flow.clone()),
                };
                if let Err(e) = self.inner.dispatcher.commit_effect(effect).await {
                    // Not stored: nothing is performed; the next tick tries again.
                    tracing::error!(%order_id, "storing the order's flow: {e}");
                    return false;
                }
            }
            if flow.order_state() != before {
                tracing::info!(%order_id, from = before.name(), to = flow.order_state().name(), "order state");
            }
            for action in actions {
                if action == OrderFlowAction::Persist {
                    continue;
                }
                queue.extend(self.perform(order_id, &view, action));
            }
        }
        true
    }

    /// Perform one action; returns the events it leads to.
    pub(super) fn perform(
        &self,
        order_id: &OrderId,
        view: &OrderView,
        action: OrderFlowAction,
    ) -> Vec<OrderFlowEvent> {
        let node = &self.inner.node;
        match action {
            OrderFlowAction::Persist => Vec::new(),
            OrderFlowAction::OpenChannel(open) => {
                let attempt = open.attempt;
                if self
                    .inner
                    .dispatcher
                    .service()
                    .faults()
                    .has(crate::faults::Fault::Lsps1ClaimedWithoutChannel)
                    // `view` is the flow before the event that asked for the open: the
                    // payment that secured the order is in the stored flow.
                    && let Some(now) = self.view(order_id)
                    && let Some(option) = now.flow.secured_by_lightning()
                {
                    tracing::warn!(%order_id, attempt, "fault lsps1-claimed-without-channel: claiming the held payment, opening no channel");
                    if let Some(preimage) = self.preimage(&now, option) {
                        node.channel_manager.claim_funds(preimage);
                    }
                    return vec![OrderFlowEvent::OpenFailed { attempt }];
                }
                let uid = user_channel_id(order_id, attempt);
                if node
                    .channel_manager
                    .list_channels()
                    .iter()
                    .any(|c| c.user_channel_id == uid)
                {
                    // Opened before a restart: its events and the ticks follow it.
                    return Vec::new();
                }
                if node.peer_manager.peer_by_node_id(&open.client.0).is_none() {
                    return vec![OrderFlowEvent::DisconnectedBeforeFunding { attempt }];
                }
                let push_msat = open.push_sat.get().saturating_mul(1000);
                crash::point(crash::LSPS1_BEFORE_OPEN);
                match node.open_channel(&lsps_node::OpenChannel {
                    peer: open.client.0,
                    amount_sat: open.capacity_sat.get(),
                    push_msat,
                    zero_conf: open.required_confirmations == 0,
                    announce: open.announce,
                    user_channel_id: Some(uid),
                    ..lsps_node::OpenChannel::new(open.client.0, open.capacity_sat.get())
                }) {
                    Ok((temporary_channel_id, _)) => {
                        tracing::info!(%order_id, attempt, %temporary_channel_id, capacity_sat = open.capacity_sat.get(), push_sat = open.push_sat.get(), "order channel opening");
                        crash::point(crash::LSPS1_AFTER_OPEN);
                        Vec::new()
                    }
                    Err(e) => {
                        tracing::warn!(%order_id, attempt, "order channel open failed: {e}");
                        vec![OrderFlowEvent::OpenFailed { attempt }]
                    }
                }
            }
            OrderFlowAction::ClaimPayment { option } => {
                match self.preimage(view, option) {
                    Some(preimage) => {
                        crash::point(crash::LSPS1_BEFORE_CLAIM);
                        tracing::info!(%order_id, "order payment claimed");
                        node.channel_manager.claim_funds(preimage);
                        // The claim updated the payer's channel's monitor: the ChannelManager
                        // follows it to disk now, or a crash before the event loop's next write
                        // would force-close that channel at the restart.
                        if let Err(e) = node.persist_channel_manager() {
                            tracing::error!(%order_id, "persisting after the claim: {e}");
                        }
                        crash::point(crash::LSPS1_AFTER_CLAIM);
                    }
                    None => tracing::error!(%order_id, ?option, "no preimage to claim with"),
                }
                Vec::new()
            }
            OrderFlowAction::FailPaymentBack { option } => {
                match self.payment_hash(view, option) {
                    Some(hash) => {
                        crash::point(crash::LSPS1_BEFORE_FAIL_BACK);
                        tracing::info!(%order_id, "order payment failed back");
                        node.channel_manager.fail_htlc_backwards(&hash);
                        crash::point(crash::LSPS1_AFTER_FAIL_BACK);
                    }
                    None => tracing::error!(%order_id, ?option, "no payment hash to fail back"),
                }
                Vec::new()
            }
            OrderFlowAction::RefundOnchain {
                address,
                amount_sat,
            } => self.refund(order_id, &address, amount_sat),
            OrderFlowAction::BumpRefund { txid } => {
                let rate = node
                    .fee_estimator
                    .get_est_sat_per_1000_weight(ConfirmationTarget::UrgentOnChainSweep)
                    .saturating_mul(2);
                match node.wallet.bump_fee(txid.0, rate) {
                    Ok(tx) => {
                        node.chain.broadcast(&tx);
                        vec![OrderFlowEvent::RefundSent {
                            txid: Txid(tx.compute_txid()),
                        }]
                    }
                    Err(e) => {
                        tracing::warn!(%order_id, %txid, "refund fee bump: {e}");
                        Vec::new()
                    }
                }
            }
        }
    }

    /// Send the refund, unless the wallet already holds one to this address that no other
    /// order claims (sent before a crash).
    pub(super) fn refund(
        &self,
        order_id: &OrderId,
        address: &lsps_core::types::OnchainAddress,
        amount_sat: Sat,
    ) -> Vec<OrderFlowEvent> {
        let node = &self.inner.node;
        let Some(script) = self.script_of(address) else {
            tracing::error!(%order_id, "refund address {} is not for this node's network", address.as_str());
            return Vec::new();
        };
        let claimed = self.refund_txids_claimed();
        match node.wallet.sent_to(&script) {
            Ok(sent) => {
                if let Some(earlier) = sent.iter().find(|s| !claimed.contains(&s.txid)) {
                    tracing::info!(%order_id, txid = %earlier.txid, "refund found in the wallet");
                    // A crash may have come between the wallet storing it and the broadcast
                    // reaching the chain: sent again while unconfirmed (a repeat is harmless).
                    if earlier.confirmations == 0 {
                        match node.wallet.transaction(earlier.txid) {
                            Ok(Some(tx)) => node.chain.broadcast(&tx),
                            Ok(None) => {}
                            Err(e) => tracing::warn!(%order_id, "reading the refund: {e}"),
                        }
                    }
                    return vec![OrderFlowEvent::RefundSent {
                        txid: Txid(earlier.txid),
                    }];
                }
            }
            Err(e) => {
                tracing::warn!(%order_id, "reading the wallet: {e}");
                return Vec::new();
            }
        }
        crash::point(crash::LSPS1_BEFORE_REFUND);
        let rate = node
            .fee_estimator
            .get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee);
        match node.wallet.pay_to_script_fee_deducted(
            script,
            bitcoin::Amount::from_sat(amount_sat.get()),
            rate,
        ) {
            Ok(tx) => {
                node.chain.broadcast(&tx);
                let txid = tx.compute_txid();
                tracing::info!(%order_id, %txid, amount_sat = amount_sat.get(), "refund sent");
                crash::point(crash::LSPS1_AFTER_REFUND);
                vec![OrderFlowEvent::RefundSent { txid: Txid(txid) }]
            }
            Err(e) => {
                tracing::warn!(%order_id, "refund not sent (retried next tick): {e}");
                Vec::new()
            }
        }
    }

    /// Refund transactions already recorded by some order's flow.
    fn refund_txids_claimed(&self) -> Vec<bitcoin::Txid> {
        self.inner
            .dispatcher
            .with_state(|state| {
                state
                    .orders()
                    .filter_map(|(_, r)| match r.flow.as_ref()?.refund()? {
                        RefundStatus::Sent { txid, .. } | RefundStatus::Confirmed { txid, .. } => {
                            Some(txid.0)
                        }
                        RefundStatus::Requested { .. } => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn invoice(view: &OrderView, option: LightningOption) -> Option<Bolt11Invoice> {
        match option {
            LightningOption::Bolt11 => view
                .invoice
                .as_deref()
                .and_then(|i| Bolt11Invoice::from_str(i).ok()),
            LightningOption::Bolt12 => None,
        }
    }

    fn payment_hash(
        &self,
        view: &OrderView,
        option: LightningOption,
    ) -> Option<lightning_types::payment::PaymentHash> {
        Self::invoice(view, option)
            .map(|i| lightning_types::payment::PaymentHash(i.payment_hash().to_byte_array()))
    }

    /// The preimage LDK derives for its own invoice (nothing secret is stored with the order).
    fn preimage(
        &self,
        view: &OrderView,
        option: LightningOption,
    ) -> Option<lightning_types::payment::PaymentPreimage> {
        let invoice = Self::invoice(view, option)?;
        let hash = lightning_types::payment::PaymentHash(invoice.payment_hash().to_byte_array());
        let secret = lightning_types::payment::PaymentSecret(invoice.payment_secret().0);
        self.inner
            .node
            .channel_manager
            .get_payment_preimage(hash, secret)
            .ok()
    }

    /// Claims and fail-backs the stored flows decided are performed again at start-up: the
    /// process may have died between storing the step and performing it (LDK ignores a
    /// repeated one).
    pub(super) fn recover(&self) {
        let orders: Vec<(OrderId, OrderView)> = self
            .inner
            .dispatcher
            .with_state(|state| state.orders().map(|(id, _)| id.clone()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|id| self.view(&id).map(|v| (id, v)))
            .collect();
        for (order_id, view) in orders {
            let state = view.flow.payment_state(PaymentKind::Bolt11);
            match state {
                Some(PaymentState::Paid) if view.flow.secured_by_lightning().is_some() => {
                    self.perform(
                        &order_id,
                        &view,
                        OrderFlowAction::ClaimPayment {
                            option: LightningOption::Bolt11,
                        },
                    );
                }
                Some(PaymentState::Refunded) => {
                    self.perform(
                        &order_id,
                        &view,
                        OrderFlowAction::FailPaymentBack {
                            option: LightningOption::Bolt11,
                        },
                    );
                }
                _ => {}
            }
        }
    }
}
