//! How an order's flow moves: each event applied to the state (`apply`), the payment
//! and refund bookkeeping, and what the flow decides to do next (`decide`, `progress`).

use super::*;

impl OrderFlow {
    pub(super) fn apply(
        &mut self,
        event: OrderFlowEvent,
        now: Datetime,
        actions: &mut Vec<OrderFlowAction>,
    ) -> Result<(), UnexpectedEvent> {
        match event {
            OrderFlowEvent::HtlcsHeld {
                option,
                amount_msat,
                claim_deadline,
            } => self.on_htlcs(option, amount_msat, claim_deadline, now, actions)?,
            OrderFlowEvent::HtlcsFailedByNode { option } => {
                let Some(l) = self.lightning_mut(option) else {
                    return Err(self.unexpected("option not offered"));
                };
                if l.state == PaymentState::Hold {
                    self.move_lightning(option, PaymentEvent::HtlcFailedBack)?;
                    if self
                        .secured
                        .is_some_and(|(s, _)| s == Securer::Lightning(option))
                        && self.order_state == OrderState::Created
                    {
                        self.fail_order(actions)?;
                    }
                }
            }
            OrderFlowEvent::OnchainOutput {
                outpoint,
                amount_sat,
                confirmations,
                fee_rate,
            } => {
                let Some(o) = &mut self.onchain else {
                    return Err(self.unexpected("no on-chain option"));
                };
                if let Some(seen) = o.outputs.iter_mut().find(|s| s.outpoint == outpoint) {
                    // The same output again. Confirmations only grow here: bLIP-51 has no
                    // state for a payment a reorg took back, so PAID is not undone.
                    seen.confirmations = seen.confirmations.max(confirmations);
                    seen.fee_rate = fee_rate.or(seen.fee_rate);
                } else if o.outputs.len() < MAX_ONCHAIN_OUTPUTS {
                    o.outputs.push(SeenOutput {
                        outpoint,
                        amount_sat,
                        confirmations,
                        fee_rate,
                    });
                }
            }
            OrderFlowEvent::BestBlock { height } => {
                self.best_height = Some(self.best_height.map_or(height, |h| h.max(height)));
            }
            OrderFlowEvent::Timer => {}
            OrderFlowEvent::ClientConnected => self.client_connected = true,
            OrderFlowEvent::ClientDisconnected => self.client_connected = false,
            OrderFlowEvent::DisconnectedBeforeFunding { attempt } => match &self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    self.client_connected = false;
                    self.channel = None; // the attempt is over; retried on reconnect
                }
                _ if attempt > 0 && attempt <= self.open_attempts => {}
                _ => return Err(self.unexpected("no such open attempt in flight")),
            },
            OrderFlowEvent::ClientRejectedChannel { attempt }
            | OrderFlowEvent::OpenFailed { attempt } => match &self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    self.channel = None;
                    if self.order_state == OrderState::Created {
                        self.fail_order(actions)?;
                    }
                }
                _ if attempt > 0 && attempt <= self.open_attempts => {}
                _ => return Err(self.unexpected("no such open attempt in flight")),
            },
            OrderFlowEvent::FundingPublished {
                attempt,
                channel_id,
                funding_outpoint,
            } => match &mut self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    c.channel_id = Some(channel_id);
                    c.funding_outpoint = Some(funding_outpoint);
                    c.funded_at = Some(now);
                }
                Some(c) if c.attempt == attempt && c.channel_id == Some(channel_id) => {}
                _ => return Err(self.unexpected("funding for no open in flight")),
            },
            OrderFlowEvent::ChannelReady { channel_id } => {
                self.own_channel(channel_id)?;
                if let Some(c) = &mut self.channel {
                    c.ready = true;
                }
            }
            OrderFlowEvent::ChannelClosed { channel_id } => {
                self.own_channel(channel_id)?;
                let ready = self.channel.as_ref().is_some_and(|c| c.ready);
                if !ready && self.order_state == OrderState::Created {
                    self.fail_order(actions)?;
                }
            }
            OrderFlowEvent::RefundSent { txid } => {
                let Some(o) = &mut self.onchain else {
                    return Err(self.unexpected("no on-chain option"));
                };
                let first = match &o.refund {
                    Refund::Requested { amount_sat } => Some(*amount_sat),
                    Refund::Sent { amount_sat, .. } => {
                        // A fee bump replaced it: follow the new transaction.
                        o.refund = Refund::Sent {
                            txid,
                            sent_at: now,
                            amount_sat: *amount_sat,
                        };
                        None
                    }
                    Refund::Confirmed { .. } => None,
                    Refund::None => return Err(self.unexpected("no refund requested")),
                };
                if let Some(amount_sat) = first {
                    let state = o.state;
                    o.refund = Refund::Sent {
                        txid,
                        sent_at: now,
                        amount_sat,
                    };
                    // The option is REFUNDED when its payment goes back; an under-payment
                    // (still EXPECT_PAYMENT: bLIP-51 has no move for it) or an over-payment's
                    // excess (the order keeps the payment) leaves the state as it is.
                    if state == PaymentState::Paid && !self.keeps_onchain() {
                        self.move_onchain(PaymentEvent::RefundSent)?;
                    }
                }
            }
            OrderFlowEvent::RefundConfirmed { txid } => {
                let Some(o) = &mut self.onchain else {
                    return Err(self.unexpected("no on-chain option"));
                };
                match &o.refund {
                    Refund::Sent { amount_sat, .. } => {
                        o.refund = Refund::Confirmed {
                            txid,
                            amount_sat: *amount_sat,
                        };
                    }
                    Refund::Confirmed { .. } => {}
                    _ => return Err(self.unexpected("no refund sent")),
                }
            }
        }
        Ok(())
    }

    fn own_channel(&self, channel_id: ChannelId) -> Result<(), UnexpectedEvent> {
        match &self.channel {
            Some(c) if c.channel_id == Some(channel_id) => Ok(()),
            _ => Err(self.unexpected("not this order's channel")),
        }
    }

    fn on_htlcs(
        &mut self,
        option: LightningOption,
        amount_msat: u64,
        claim_deadline: Option<u32>,
        now: Datetime,
        actions: &mut Vec<OrderFlowAction>,
    ) -> Result<(), UnexpectedEvent> {
        let Some(terms) = self.lightning_terms(option).cloned() else {
            return Err(self.unexpected("option not offered"));
        };
        let Some(l) = self.lightning_mut(option) else {
            return Err(self.unexpected("option not offered"));
        };
        match l.state {
            PaymentState::Hold => return Ok(()), // repeat
            PaymentState::ExpectPayment => {}
            // A payment to a finished option: nothing is held for it.
            PaymentState::Paid | PaymentState::Refunded => {
                actions.push(OrderFlowAction::FailPaymentBack { option });
                return Ok(());
            }
        }
        let enough = terms
            .order_total_sat
            .to_msat()
            .is_some_and(|total| amount_msat >= total.get());
        if !enough {
            // Under-paid (the node should not even report it): fail back, nothing held.
            actions.push(OrderFlowAction::FailPaymentBack { option });
            return Ok(());
        }
        l.held_msat = amount_msat;
        l.claim_deadline = claim_deadline;
        self.move_lightning(option, PaymentEvent::HtlcHeld)?;
        let takes_it = self.secured.is_none()
            && self.order_state == OrderState::Created
            && now < terms.expires_at;
        if takes_it {
            self.secured = Some((Securer::Lightning(option), now));
        } else {
            self.move_lightning(option, PaymentEvent::HtlcFailedBack)?;
            actions.push(OrderFlowAction::FailPaymentBack { option });
        }
        Ok(())
    }

    /// The order completed on its on-chain payment (keeps it, refunds only an excess).
    pub(super) fn keeps_onchain(&self) -> bool {
        self.order_state == OrderState::Completed
            && self.secured.is_some_and(|(s, _)| s == Securer::Onchain)
    }

    /// The on-chain value that counts under the confirmation rules.
    pub(super) fn counted_sat(&self) -> u64 {
        let (Some(o), Some(t)) = (&self.onchain, &self.terms.onchain) else {
            return 0;
        };
        let required = u32::from(t.min_onchain_payment_confirmations).min(ALWAYS_CONFIRMED_AFTER);
        o.outputs
            .iter()
            .filter(|s| {
                if required == 0 {
                    s.confirmations >= 1
                        || match t.min_fee_for_0conf {
                            None => true,
                            Some(min) => s.fee_rate.is_some_and(|r| r >= min),
                        }
                } else {
                    s.confirmations >= required
                }
            })
            .fold(0u64, |sum, s| sum.saturating_add(s.amount_sat.get()))
    }

    /// Fails the order: the securing payment is failed back or refunded.
    fn fail_order(&mut self, actions: &mut Vec<OrderFlowAction>) -> Result<(), UnexpectedEvent> {
        self.move_order(OrderMove::OrderFailed)?;
        if let Some((Securer::Lightning(option), _)) = self.secured
            && self
                .lightning_mut(option)
                .is_some_and(|l| l.state == PaymentState::Hold)
        {
            self.move_lightning(option, PaymentEvent::HtlcFailedBack)?;
            actions.push(OrderFlowAction::FailPaymentBack { option });
        }
        Ok(())
    }

    pub(super) fn decide(
        &mut self,
        now: Datetime,
        actions: &mut Vec<OrderFlowAction>,
    ) -> Result<(), UnexpectedEvent> {
        // On-chain payment confirmed (also after expiry or for a finished order: the money is
        // there and is then refunded).
        let total = self.terms.onchain.as_ref().map(|t| t.order_total_sat.get());
        if let (Some(total), Some(o)) = (total, &self.onchain)
            && o.state == PaymentState::ExpectPayment
            && self.counted_sat() >= total
        {
            self.move_onchain(PaymentEvent::OnchainConfirmed)?;
            let in_time = self
                .terms
                .onchain
                .as_ref()
                .is_some_and(|t| now < t.expires_at);
            if self.secured.is_none() && self.order_state == OrderState::Created && in_time {
                self.secured = Some((Securer::Onchain, now));
            }
        }

        if self.order_state == OrderState::Created {
            match self.secured {
                None => {
                    if self.last_expiry().is_some_and(|t| now >= t) {
                        self.move_order(OrderMove::OrderFailed)?;
                    }
                }
                Some((by, at)) => {
                    let waited_too_long = self.channel.is_none()
                        && (now >= add_ms(at, self.config.client_offline_limit_ms)
                            || now >= self.expiry_of(by));
                    let attempts_spent = self.channel.is_none()
                        && self.open_attempts >= self.config.max_open_attempts;
                    let deadline_near = match by {
                        Securer::Lightning(option) => {
                            let deadline = match option {
                                LightningOption::Bolt11 => self.bolt11.as_ref(),
                                LightningOption::Bolt12 => self.bolt12.as_ref(),
                            }
                            .and_then(|l| l.claim_deadline);
                            let ready = self.channel.as_ref().is_some_and(|c| c.ready);
                            match (deadline, self.best_height) {
                                (Some(d), Some(h)) => {
                                    !ready && h.saturating_add(self.config.claim_margin_blocks) >= d
                                }
                                _ => false,
                            }
                        }
                        Securer::Onchain => false,
                    };
                    if waited_too_long || attempts_spent || deadline_near {
                        self.fail_order(actions)?;
                    } else {
                        self.progress(by, actions)?;
                    }
                }
            }
        }

        // On-chain money the order does not keep is refunded, once (D32, D34): a payment the
        // order did not take, an under-payment once its option expired, an over-payment's
        // excess once the order completed on it.
        let keeps_onchain = self.keeps_onchain();
        let order_settled = self.order_state != OrderState::Created
            || self.secured.is_some_and(|(s, _)| s != Securer::Onchain);
        let counted = self.counted_sat();
        let refund = match (&self.onchain, &self.terms.onchain) {
            (Some(o), Some(t)) if o.refund == Refund::None => match o.state {
                PaymentState::Paid if keeps_onchain => {
                    let excess = counted.saturating_sub(t.order_total_sat.get());
                    (excess >= MIN_REFUND_SAT).then_some(excess)
                }
                PaymentState::Paid if order_settled => Some(counted),
                PaymentState::ExpectPayment if now >= t.expires_at && counted >= MIN_REFUND_SAT => {
                    Some(counted)
                }
                _ => None,
            }
            .map(|amount| (t.refund_onchain_address.clone(), Sat(amount))),
            _ => None,
        };
        if let (Some((address, amount_sat)), Some(o)) = (refund, &mut self.onchain) {
            o.refund = Refund::Requested { amount_sat };
            actions.push(OrderFlowAction::RefundOnchain {
                address,
                amount_sat,
            });
        }

        // Fee-bump a refund unconfirmed for 6 hours.
        if let Some(OnchainProgress {
            refund: Refund::Sent { txid, sent_at, .. },
            ..
        }) = &mut self.onchain
            && now >= add_ms(*sent_at, self.config.refund_bump_after_ms)
        {
            actions.push(OrderFlowAction::BumpRefund { txid: *txid });
            // The next bump is due 6 hours after this one unless a replacement is reported.
            *sent_at = now;
        }
        Ok(())
    }

    /// With the payment secured: open when the client is there; claim when ready.
    fn progress(
        &mut self,
        by: Securer,
        actions: &mut Vec<OrderFlowAction>,
    ) -> Result<(), UnexpectedEvent> {
        match &self.channel {
            None => {
                if self.client_connected && self.open_attempts < self.config.max_open_attempts {
                    self.open_attempts += 1;
                    self.channel = Some(ChannelProgress {
                        attempt: self.open_attempts,
                        channel_id: None,
                        funding_outpoint: None,
                        funded_at: None,
                        ready: false,
                    });
                    let t = &self.terms;
                    actions.push(OrderFlowAction::OpenChannel(OpenChannel {
                        client: t.client,
                        attempt: self.open_attempts,
                        capacity_sat: Sat(t
                            .lsp_balance_sat
                            .get()
                            .saturating_add(t.client_balance_sat.get())),
                        push_sat: t.client_balance_sat,
                        announce: t.announce_channel,
                        required_confirmations: t.required_channel_confirmations,
                        funding_confirms_within_blocks: t.funding_confirms_within_blocks,
                        channel_expiry_blocks: t.channel_expiry_blocks,
                    }));
                }
            }
            Some(c) if c.ready => {
                let (Some(funded_at), Some(funding_outpoint)) = (c.funded_at, c.funding_outpoint)
                else {
                    return Err(self.unexpected("channel ready before its funding was published"));
                };
                let lease_ms =
                    u64::from(self.terms.channel_expiry_blocks).saturating_mul(BLOCK_INTERVAL_MS);
                self.channel_info = Some(ChannelInfo {
                    funded_at,
                    funding_outpoint,
                    expires_at: add_ms(funded_at, lease_ms),
                });
                if let Securer::Lightning(option) = by {
                    self.move_lightning(option, PaymentEvent::PreimageReleased)?;
                    actions.push(OrderFlowAction::ClaimPayment { option });
                }
                self.move_order(OrderMove::ChannelOpened)?;
            }
            Some(_) => {}
        }
        Ok(())
    }
}
