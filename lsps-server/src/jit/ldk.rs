//! LDK 0.2.7's events as JIT flow events (the table in `lsps_core::lsps2::flow`'s docs).

use lightning::events::{ClosureReason, Event, HTLCHandlingFailureType};
use lsps_core::ids::{ChannelId, InterceptId, PaymentHash};
use lsps_core::lsps2::flow::{HtlcPart, JitEvent};
use lsps_core::types::Msat;

use super::JitEngine;

/// Marks a `user_channel_id` as a JIT channel's ("JIT2"); the rest carries SCID and attempt.
const JIT_TAG: u32 = 0x4a49_5432;

/// The `user_channel_id` of open `attempt` for buy `scid`: SCID in the high 64 bits, the
/// attempt in the next 32, a tag in the low 32, so every channel event names its flow.
pub fn user_channel_id(scid: u64, attempt: u32) -> u128 {
    (u128::from(scid) << 64) | (u128::from(attempt) << 32) | u128::from(JIT_TAG)
}

/// SCID and attempt of a JIT channel's `user_channel_id`; `None` for other channels.
pub fn decode_user_channel_id(id: u128) -> Option<(u64, u32)> {
    // Truncations are the point: each field has its own bits.
    #[allow(clippy::cast_possible_truncation)]
    let (tag, attempt, scid) = (id as u32, (id >> 32) as u32, (id >> 64) as u64);
    (tag == JIT_TAG && attempt > 0).then_some((scid, attempt))
}

/// Where an LDK event goes.
pub(super) enum Routed {
    /// To the flow of buy `scid`, in order.
    Flow { scid: u64, events: Vec<JitEvent> },
    /// An HTLC intercepted for an SCID no buy holds.
    NotJit(InterceptId),
}

impl JitEngine {
    /// The flow event `event` is for, if any.
    pub(super) fn route(&self, event: &Event) -> Option<Routed> {
        match event {
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                payment_hash,
                inbound_amount_msat,
                expected_outbound_amount_msat,
            } => {
                let id = InterceptId(intercept_id.0);
                if self.buy(*requested_next_hop_scid).is_none() {
                    return Some(Routed::NotJit(id));
                }
                Some(Routed::Flow {
                    scid: *requested_next_hop_scid,
                    events: vec![JitEvent::HtlcArrived(HtlcPart {
                        id,
                        payment_hash: PaymentHash(payment_hash.0),
                        inbound_msat: Msat(*inbound_amount_msat),
                        expected_outbound_msat: Msat(*expected_outbound_amount_msat),
                        cltv_expiry: None,
                    })],
                })
            }
            Event::ChannelPending {
                channel_id,
                user_channel_id,
                ..
            } => {
                let (scid, attempt) = decode_user_channel_id(*user_channel_id)?;
                Some(Routed::Flow {
                    scid,
                    events: vec![JitEvent::FundingSigned {
                        attempt,
                        channel_id: ChannelId(channel_id.0),
                    }],
                })
            }
            Event::ChannelReady {
                channel_id,
                user_channel_id,
                ..
            } => {
                let (scid, _) = decode_user_channel_id(*user_channel_id)?;
                Some(Routed::Flow {
                    scid,
                    events: vec![JitEvent::ChannelReady {
                        channel_id: ChannelId(channel_id.0),
                    }],
                })
            }
            Event::FundingTxBroadcastSafe {
                channel_id,
                user_channel_id,
                ..
            } => {
                let (scid, attempt) = decode_user_channel_id(*user_channel_id)?;
                let channel_id = ChannelId(channel_id.0);
                // LDK queues this before `ChannelPending` (both follow `funding_signed`): tell
                // the flow of the signature first (a repeat of it changes nothing).
                Some(Routed::Flow {
                    scid,
                    events: vec![
                        JitEvent::FundingSigned {
                            attempt,
                            channel_id,
                        },
                        JitEvent::FundingBroadcastSafe { channel_id },
                    ],
                })
            }
            Event::ChannelClosed {
                channel_id,
                user_channel_id,
                reason,
                ..
            } => {
                let (scid, attempt) = decode_user_channel_id(*user_channel_id)?;
                let funded = self
                    .buy(scid)
                    .and_then(|b| b.flow.and_then(|f| f.channel_id()))
                    .is_some_and(|c| c.0 == channel_id.0);
                if funded {
                    // After funding_signed the flow keeps its channel; a close is the
                    // operator's and the node's business from here.
                    tracing::warn!(scid, %channel_id, %reason, "JIT channel closed");
                    return None;
                }
                let event = match reason {
                    ClosureReason::DisconnectedPeer => {
                        JitEvent::DisconnectedBeforeFunding { attempt }
                    }
                    ClosureReason::CounterpartyForceClosed { .. } => {
                        JitEvent::ClientRejectedChannel { attempt }
                    }
                    _ => JitEvent::OpenFailed { attempt },
                };
                tracing::info!(scid, attempt, %reason, "JIT open ended before funding_signed");
                Some(Routed::Flow {
                    scid,
                    events: vec![event],
                })
            }
            Event::PaymentForwarded {
                next_channel_id: Some(next),
                next_user_channel_id,
                ..
            } => {
                let channel_id = ChannelId(next.0);
                let scid = match next_user_channel_id.and_then(decode_user_channel_id) {
                    Some((scid, _)) => scid,
                    None => self.buy_of_channel(&channel_id)?,
                };
                Some(Routed::Flow {
                    scid,
                    events: vec![JitEvent::ClientClaimed { channel_id }],
                })
            }
            Event::HTLCHandlingFailed {
                failure_type: HTLCHandlingFailureType::Forward { channel_id, .. },
                ..
            } => {
                let channel_id = ChannelId(channel_id.0);
                let scid = self.buy_of_channel(&channel_id)?;
                Some(Routed::Flow {
                    scid,
                    events: vec![JitEvent::ForwardsFailed { channel_id }],
                })
            }
            _ => None,
        }
    }
}
