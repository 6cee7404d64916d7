//! How a JIT flow moves: each event applied to the parts and the channel (`apply`), and
//! what the flow decides next (`decide`: which payment, open, forward, fail back, release).

use super::*;

impl JitFlow {
    pub(super) fn apply(
        &mut self,
        event: JitEvent,
        now: Datetime,
        actions: &mut Vec<JitAction>,
    ) -> Result<(), UnexpectedEvent> {
        match event {
            JitEvent::HtlcArrived(part) => self.on_part(part, now, actions),
            JitEvent::Timer => {}
            JitEvent::ClientConnected => {
                self.client_connected = true;
                self.forwarding_paused = false;
            }
            JitEvent::ClientDisconnected => self.client_connected = false,
            JitEvent::DisconnectedBeforeFunding { attempt } => match &self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    self.client_connected = false;
                    self.abandon_open(HtlcFailure::TemporaryChannelFailure, actions);
                }
                _ if attempt > 0 && attempt <= self.open_attempts => {}
                _ => return Err(self.unexpected("no such open attempt in flight")),
            },
            JitEvent::ClientRejectedChannel { attempt } | JitEvent::OpenFailed { attempt } => {
                match &self.channel {
                    Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                        self.channel = None;
                        self.paying = None;
                        self.end_failed(actions);
                    }
                    // An attempt already over (a repeat, or a rejection racing a disconnect).
                    _ if attempt <= self.open_attempts && attempt > 0 => {}
                    _ => return Err(self.unexpected("no such open attempt in flight")),
                }
            }
            JitEvent::FundingSigned {
                attempt,
                channel_id,
            } => match &mut self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    c.channel_id = Some(channel_id);
                    self.funded = true;
                }
                Some(c) if c.attempt == attempt && c.channel_id == Some(channel_id) => {}
                _ => return Err(self.unexpected("funding_signed for no open in flight")),
            },
            JitEvent::FundingBroadcastSafe { channel_id } => {
                self.own_channel(channel_id)?;
                if let Some(c) = &mut self.channel {
                    c.broadcast_safe = true;
                }
            }
            JitEvent::ChannelReady { channel_id } => {
                self.own_channel(channel_id)?;
                if let Some(c) = &mut self.channel {
                    c.ready = true;
                }
                self.forwarding_paused = false;
            }
            JitEvent::ForwardRefused { id } => {
                let Some(i) = self.find(&id) else {
                    return Err(self.unexpected("unknown part"));
                };
                if let PartStatus::Forwarded { .. } = self.parts[i].status {
                    self.parts[i].status = PartStatus::Held;
                    self.forwarding_paused = true;
                }
            }
            JitEvent::PartFailed { id } => {
                let Some(i) = self.find(&id) else {
                    return Err(self.unexpected("unknown part"));
                };
                match self.parts[i].status {
                    PartStatus::Held => self.parts[i].status = PartStatus::DroppedByNode,
                    PartStatus::Forwarded { .. } => self.forward_failed(i),
                    // Repeats, and the node echoing a failure this flow asked for.
                    _ => {}
                }
            }
            JitEvent::ForwardsFailed { channel_id } => {
                self.own_channel(channel_id)?;
                for i in 0..self.parts.len() {
                    if let PartStatus::Forwarded { .. } = self.parts[i].status {
                        self.forward_failed(i);
                    }
                }
            }
            JitEvent::ClientClaimed { channel_id } => {
                self.own_channel(channel_id)?;
                if self.outstanding_forwards() == 0 && !self.client_claimed {
                    return Err(self.unexpected("claim with nothing forwarded"));
                }
                self.client_claimed = true;
                self.paying = None;
            }
        }
        Ok(())
    }

    /// Part `i`, forwarded, failed at the client.
    fn forward_failed(&mut self, i: usize) {
        if let PartStatus::Forwarded {
            amount_msat,
            extra_fee_msat,
        } = self.parts[i].status
        {
            self.parts[i].status = PartStatus::ForwardFailed {
                amount_msat,
                extra_fee_msat,
            };
        }
        if !self.client_claimed && self.outstanding_forwards() == 0 {
            // The payment failed at the client: wait for a new one over the same channel,
            // charged what is still due.
            self.paying = None;
        }
    }

    fn own_channel(&self, channel_id: ChannelId) -> Result<(), UnexpectedEvent> {
        if self.channel_id() == Some(channel_id) {
            Ok(())
        } else {
            Err(self.unexpected("not this flow's channel"))
        }
    }

    fn on_part(&mut self, part: HtlcPart, now: Datetime, actions: &mut Vec<JitAction>) {
        if self.find(&part.id).is_some() {
            return; // at-least-once delivery
        }
        if self.parts.len() >= usize::from(self.config.max_parts) {
            // Not recorded: the table is full. A repeat of this event is failed again, which
            // the node refuses as an unknown intercept id.
            actions.push(JitAction::FailParts {
                parts: vec![part.id],
                failure: HtlcFailure::UnknownNextPeer,
            });
            return;
        }
        let id = part.id;
        let refuse = part.expected_outbound_msat > part.inbound_msat
            || part.expected_outbound_msat < self.config.htlc_minimum_msat
            || matches!(self.state, JitState::Expired | JitState::Failed)
            || now >= self.valid_until();
        self.parts.push(PartRecord {
            part,
            arrived_at: now,
            status: PartStatus::Held,
        });
        if refuse {
            self.fail(vec![id], HtlcFailure::UnknownNextPeer, actions);
            return;
        }
        // no-MPP: one HTLC at a time; others may retry later.
        let busy = !self.mpp()
            && !self.client_claimed
            && (self.paying.is_some()
                || self
                    .parts
                    .iter()
                    .any(|r| r.status == PartStatus::Held && r.part.id != id));
        if busy {
            self.fail(vec![id], HtlcFailure::TemporaryChannelFailure, actions);
        }
    }

    /// Ends an open attempt before `funding_signed`: the group is failed with `failure`.
    fn abandon_open(&mut self, failure: HtlcFailure, actions: &mut Vec<JitAction>) {
        self.channel = None;
        if let Some(p) = self.paying.take() {
            let ids = self.held_of(&p.payment_hash).map(|r| r.part.id).collect();
            self.fail(ids, failure, actions);
        }
    }

    /// Final failure: every held part gets `unknown_next_peer`.
    fn end_failed(&mut self, actions: &mut Vec<JitAction>) {
        let ids = self
            .parts
            .iter()
            .filter(|r| r.status == PartStatus::Held)
            .map(|r| r.part.id)
            .collect();
        self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
        self.state = JitState::Failed;
    }

    /// Everything that follows from the data and the time: timeouts, the open, forwards.
    pub(super) fn decide(&mut self, now: Datetime, actions: &mut Vec<JitAction>) {
        let past_valid_until = now >= self.valid_until();
        let final_state = self.is_final() || self.client_claimed;
        let open_in_flight = self.channel.as_ref().is_some_and(|c| !c.ready);

        // valid_until: every held part not committed to an open or a forward is refused.
        if past_valid_until {
            let committed = if open_in_flight || self.channel_ready_id().is_some() {
                self.paying.as_ref().map(|p| p.payment_hash)
            } else {
                None
            };
            let ids: Vec<InterceptId> = self
                .parts
                .iter()
                .filter(|r| r.status == PartStatus::Held && Some(r.part.payment_hash) != committed)
                .map(|r| r.part.id)
                .collect();
            self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
            if committed.is_none() {
                self.paying = None;
            }
            if !final_state
                && self.paying.is_none()
                && !open_in_flight
                && self.outstanding_forwards() == 0
            {
                self.state = JitState::Expired;
            }
        }

        // Hold timeout, per group, except the group an open or forward is for.
        for hash in self.held_hashes() {
            if self.is_paying(&hash) {
                continue;
            }
            if let Some(deadline) = self.hold_deadline(&hash)
                && now >= deadline
            {
                let ids = self.held_of(&hash).map(|r| r.part.id).collect();
                self.fail(ids, HtlcFailure::TemporaryChannelFailure, actions);
            }
        }

        if self.is_final() && self.state != JitState::Done && !self.client_claimed {
            self.release_scid_if_due(now, actions);
            return;
        }

        if self.client_claimed {
            self.forward_as_alias(now, actions);
            self.broadcast_if_due(actions);
            self.release_scid_if_due(now, actions);
            return;
        }

        if self.paying.is_none() && self.client_connected && !past_valid_until {
            self.choose_payment(actions);
        }
        if self.paying.is_some() {
            if self.channel.is_none() {
                self.open(actions);
            } else {
                self.forward_payment(actions);
            }
        }
    }

    /// Picks the first group that can pay (MPP: sum ≥ `payment_size_msat`; no-MPP: the held
    /// HTLC), failing with `unknown_next_peer` the groups that cannot pay the fee.
    fn choose_payment(&mut self, actions: &mut Vec<JitAction>) {
        let params = self.terms.opening_fee_params.clone();
        let htlc_min = self.config.htlc_minimum_msat;
        for hash in self.held_hashes() {
            let group: Vec<(InterceptId, Msat)> = self
                .held_of(&hash)
                .map(|r| (r.part.id, r.part.expected_outbound_msat))
                .collect();
            let total = group
                .iter()
                .fold(0u64, |s, (_, a)| s.saturating_add(a.get()));
            let fee: Result<Msat, FeeOverflow> = match self.terms.payment_size_msat {
                Some(size) => {
                    if total < size.get() {
                        continue; // still collecting
                    }
                    params.opening_fee(size)
                }
                None => {
                    let amount = Msat(total);
                    if !params.accepts_payment_size(amount) {
                        let ids = group.iter().map(|(id, _)| *id).collect();
                        self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
                        continue;
                    }
                    params.opening_fee(amount)
                }
            };
            let Ok(fee) = fee else {
                let ids = group.iter().map(|(id, _)| *id).collect();
                self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
                continue;
            };
            let due = Msat(fee.get().saturating_sub(self.deducted_outstanding()));
            if spread_fee(&group, due, htlc_min).is_none() {
                let ids = group.iter().map(|(id, _)| *id).collect();
                self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
                continue;
            }
            self.paying = Some(Paying {
                payment_hash: hash,
                opening_fee_msat: fee,
            });
            return;
        }
    }

    fn open(&mut self, actions: &mut Vec<JitAction>) {
        let Some(p) = self.paying.clone() else {
            return;
        };
        if self.funded {
            return; // never a second channel
        }
        let total = self.held_of(&p.payment_hash).fold(0u64, |s, r| {
            s.saturating_add(r.part.expected_outbound_msat.get())
        });
        let size = self
            .terms
            .payment_size_msat
            .map_or(total, |s| s.get().max(total));
        let forward_msat = size.saturating_sub(p.opening_fee_msat.get());
        let Some(capacity_sat) = capacity_for(forward_msat, &self.config) else {
            let ids = self.held_of(&p.payment_hash).map(|r| r.part.id).collect();
            self.paying = None;
            self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
            return;
        };
        self.open_attempts = self.open_attempts.saturating_add(1);
        self.channel = Some(ChannelProgress {
            attempt: self.open_attempts,
            channel_id: None,
            ready: false,
            broadcast_safe: false,
            broadcast_requested: false,
        });
        let params = &self.terms.opening_fee_params;
        actions.push(JitAction::OpenChannel(OpenChannel {
            client: self.terms.client,
            attempt: self.open_attempts,
            capacity_sat: Sat(capacity_sat),
            forward_msat: Msat(forward_msat),
            zero_conf: true,
            announce: false,
            scid_alias: true,
            min_lifetime: params.min_lifetime,
            max_client_to_self_delay: params.max_client_to_self_delay,
            client_trusts_lsp: self.terms.client_trusts_lsp,
        }));
    }

    /// Forwards the paying group's held parts with what is still due of the fee deducted.
    fn forward_payment(&mut self, actions: &mut Vec<JitAction>) {
        let (Some(p), Some(channel_id)) = (self.paying.clone(), self.channel_ready_id()) else {
            return;
        };
        if !self.client_connected || self.forwarding_paused {
            return;
        }
        let group: Vec<(InterceptId, Msat)> = self
            .held_of(&p.payment_hash)
            .map(|r| (r.part.id, r.part.expected_outbound_msat))
            .collect();
        if group.is_empty() {
            return;
        }
        // Still enough for the payment? Parts may have been lost while the channel opened.
        let forwarded: u64 = self
            .parts
            .iter()
            .filter(|r| r.part.payment_hash == p.payment_hash)
            .map(|r| match r.status {
                PartStatus::Forwarded {
                    amount_msat,
                    extra_fee_msat,
                } => amount_msat.get().saturating_add(extra_fee_msat.get()),
                _ => 0,
            })
            .fold(0, u64::saturating_add);
        let held: u64 = group.iter().fold(0, |s, (_, a)| s.saturating_add(a.get()));
        let enough = match self.terms.payment_size_msat {
            Some(size) => forwarded.saturating_add(held) >= size.get(),
            None => true,
        };
        let due = Msat(
            p.opening_fee_msat
                .get()
                .saturating_sub(self.deducted_outstanding()),
        );
        let spread = if enough {
            spread_fee(&group, due, self.config.htlc_minimum_msat)
        } else {
            None
        };
        let Some(forwards) = spread else {
            if self.outstanding_forwards() == 0 {
                // Wait for a new payment over this channel; the hold timeout applies again.
                self.paying = None;
            }
            return;
        };
        self.record_forwards(channel_id, forwards, actions);
    }

    fn record_forwards(
        &mut self,
        channel_id: ChannelId,
        forwards: Vec<Forward>,
        actions: &mut Vec<JitAction>,
    ) {
        if forwards.is_empty() {
            return;
        }
        for f in &forwards {
            if let Some(i) = self.find(&f.id) {
                self.parts[i].status = PartStatus::Forwarded {
                    amount_msat: f.amount_msat,
                    extra_fee_msat: f.extra_fee_msat,
                };
            }
        }
        actions.push(JitAction::ForwardParts {
            channel_id,
            parts: forwards,
        });
    }

    /// After the claim: held parts go through whole while the SCID is an alias.
    fn forward_as_alias(&mut self, now: Datetime, actions: &mut Vec<JitAction>) {
        let Some(channel_id) = self.channel_ready_id() else {
            return;
        };
        if !self.client_connected || self.forwarding_paused || now >= self.valid_until() {
            return;
        }
        let forwards: Vec<Forward> = self
            .parts
            .iter()
            .filter(|r| r.status == PartStatus::Held)
            .map(|r| Forward {
                id: r.part.id,
                amount_msat: r.part.expected_outbound_msat,
                extra_fee_msat: Msat(0),
            })
            .collect();
        self.record_forwards(channel_id, forwards, actions);
    }

    fn broadcast_if_due(&mut self, actions: &mut Vec<JitAction>) {
        if !self.terms.client_trusts_lsp || !self.client_claimed {
            return;
        }
        if let Some(c) = &mut self.channel
            && c.broadcast_safe
            && !c.broadcast_requested
            && let Some(channel_id) = c.channel_id
        {
            c.broadcast_requested = true;
            actions.push(JitAction::BroadcastFunding { channel_id });
        }
    }

    fn release_scid_if_due(&mut self, now: Datetime, actions: &mut Vec<JitAction>) {
        if !self.scid_released && now >= self.valid_until() {
            self.scid_released = true;
            actions.push(JitAction::ReleaseScid);
        }
    }

    pub(super) fn derive_state(&self) -> JitState {
        if self.client_claimed {
            return JitState::Done;
        }
        if matches!(self.state, JitState::Expired | JitState::Failed) {
            return self.state;
        }
        let held = self.parts.iter().any(|r| r.status == PartStatus::Held);
        match &self.channel {
            Some(c) if !c.ready => JitState::Opening,
            Some(_) if self.outstanding_forwards() > 0 || self.paying.is_some() => {
                JitState::Forwarding
            }
            _ if held => JitState::Collecting,
            _ => JitState::Bought,
        }
    }
}
