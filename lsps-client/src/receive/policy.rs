//! Which inbound channels a JIT-receiving wallet takes (bLIP-52 §channel open): zero-conf only
//! from the LSP of a live purchase; that channel unannounced, with `option_scid_alias`, and our
//! `to_self_delay` (imposed on the LSP) within the bought `max_client_to_self_delay`; the
//! channel accepts underpaying HTLCs (the LSP skims the opening fee) — and no other does.
//!
//! The same policy takes the channel of an LSPS1 order (bLIP-51) from the LSP it was bought
//! from: announced or not as ordered, usable after the ordered `required_channel_confirmations`
//! (zero-conf when the order asked for 0).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::util::config::{
    ChannelConfigOverrides, ChannelConfigUpdate, ChannelHandshakeConfigUpdate,
};

use lsps_core::types::Scid;

use super::JitPurchase;

/// LDK's smallest accepted `to_self_delay` (`BREAKDOWN_TIMEOUT`, one day of blocks): a
/// `max_client_to_self_delay` below it cannot be honoured by an LDK wallet.
pub const LDK_MIN_TO_SELF_DELAY: u16 = 144;

/// What to do with channels from peers that are not the LSP of a live purchase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StrangerChannels {
    /// Refuse them (a receive-only wallet wants no other channel).
    #[default]
    Reject,
    /// Accept them after the usual confirmations, never zero-conf.
    AcceptConfirmed,
}

/// The facts of an `open_channel` the policy decides on.
#[derive(Clone, Copy, Debug)]
pub struct ChannelRequest {
    /// Who opens.
    pub counterparty: PublicKey,
    /// Whether the channel would be announced.
    pub is_announced: bool,
    /// Whether the channel type has `option_scid_alias` (LDK: `scid_privacy`).
    pub scid_alias: bool,
}

/// Why a channel is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelRefusal {
    /// Not the LSP of a live purchase, and strangers are refused.
    #[error("no JIT purchase from this peer; channels from other peers are refused")]
    Stranger,
    /// bLIP-52: the JIT channel MUST be unannounced.
    #[error("a JIT channel must not be announced")]
    Announced,
    /// bLIP-52: both sides MUST negotiate `option_scid_alias`.
    #[error("a JIT channel must negotiate option_scid_alias")]
    NoScidAlias,
    /// The bought `max_client_to_self_delay` is below what LDK lets us use.
    #[error("max_client_to_self_delay {0} is below the smallest to_self_delay LDK allows (144)")]
    ToSelfDelayTooSmall(u32),
    /// The LSP opens the channel of an LSPS1 order announced when the order said not, or the
    /// other way round.
    #[error("the order asked for announce_channel={ordered}; the LSP opens it announced={offered}")]
    NotAsOrdered {
        /// The order's `announce_channel`.
        ordered: bool,
        /// What the `open_channel` says.
        offered: bool,
    },
    /// The wallet's owner asked to refuse every channel for now (bLIP-52 lets a client reject
    /// an open with `error`; the conformance runner uses it to watch the LSP fail the payment).
    #[error("the wallet refuses channels for now")]
    RefusedOnDemand,
}

/// The decision for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelDecision {
    /// The JIT channel: accept with zero confirmations, our `to_self_delay` as given, and
    /// underpaying HTLCs allowed on it.
    AcceptJit {
        /// Our `to_self_delay` (what we impose on the LSP): ≤ `max_client_to_self_delay`.
        to_self_delay: u16,
    },
    /// The channel of an LSPS1 order, usable after `minimum_depth` confirmations (0: zero-conf,
    /// which the order asked for).
    AcceptOrder {
        /// The order's `required_channel_confirmations`.
        minimum_depth: u16,
    },
    /// A stranger's channel, accepted after confirmations (never zero-conf).
    AcceptConfirmed,
    /// Refused.
    Reject(ChannelRefusal),
}

impl ChannelDecision {
    /// LDK's per-channel overrides for an accept (`None` for a refusal or a plain accept).
    pub fn ldk_overrides(&self) -> Option<ChannelConfigOverrides> {
        match self {
            ChannelDecision::AcceptJit { to_self_delay } => Some(ChannelConfigOverrides {
                handshake_overrides: Some(ChannelHandshakeConfigUpdate {
                    to_self_delay: Some(*to_self_delay),
                    ..Default::default()
                }),
                update_overrides: Some(ChannelConfigUpdate {
                    accept_underpaying_htlcs: Some(true),
                    ..ChannelConfigUpdate::default()
                }),
            }),
            // bLIP-51: the channel is ready after the ordered confirmations, not after LDK's
            // default (6). Zero is LDK's trusted zero-conf accept, which sets its own depth.
            ChannelDecision::AcceptOrder { minimum_depth } if *minimum_depth > 0 => {
                Some(ChannelConfigOverrides {
                    handshake_overrides: Some(ChannelHandshakeConfigUpdate {
                        minimum_depth: Some(u32::from(*minimum_depth)),
                        ..Default::default()
                    }),
                    update_overrides: None,
                })
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
struct ExpectedOrder {
    lsp: PublicKey,
    required_channel_confirmations: u16,
    announce_channel: bool,
}

#[derive(Clone, Debug)]
struct Expected {
    lsp: PublicKey,
    /// The purchase's `jit_channel_scid`, which names it.
    scid: Scid,
    max_client_to_self_delay: u32,
    /// Unix milliseconds after which the LSP can no longer open this purchase's channel.
    open_deadline_ms: u64,
}

/// How long after `valid_until` a purchase's channel is still expected. The LSP opens it once
/// the payment's parts have arrived, which must be before `valid_until`; the open follows
/// within the LSP's hold time (bLIP-52 suggests 90 s) plus the funding handshake.
pub const OPEN_AFTER_VALID_UNTIL: Duration = Duration::from_secs(600);

/// Called with the opener's node id instead of answering its `open_channel` (see
/// [`JitChannelPolicy::intercept_opens`]).
pub type OpenInterceptor = Box<dyn Fn(&PublicKey) + Send + Sync>;

/// The interceptor slot; `Debug` shows only whether one is set.
#[derive(Default)]
struct InterceptorSlot(Mutex<Option<OpenInterceptor>>);

impl std::fmt::Debug for InterceptorSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.0.lock().map(|s| s.is_some()).unwrap_or(false);
        f.debug_tuple("InterceptorSlot").field(&set).finish()
    }
}

/// The channel-acceptance policy of a JIT-receiving wallet. Register each purchase with
/// [`JitChannelPolicy::expect`] before showing its invoice.
#[derive(Debug)]
pub struct JitChannelPolicy {
    expected: Mutex<Vec<Expected>>,
    orders: Mutex<Vec<ExpectedOrder>>,
    strangers: StrangerChannels,
    preferred_to_self_delay: u16,
    refusing: std::sync::atomic::AtomicBool,
    interceptor: InterceptorSlot,
}

/// At most this many purchases are expected at once (the list is bounded).
pub const MAX_EXPECTED: usize = 64;

impl JitChannelPolicy {
    /// A policy with no purchase yet; `preferred_to_self_delay` is what we impose on the LSP
    /// when the purchase allows it (LDK's default is 144).
    pub fn new(strangers: StrangerChannels, preferred_to_self_delay: u16) -> Self {
        Self {
            expected: Mutex::new(Vec::new()),
            orders: Mutex::new(Vec::new()),
            strangers,
            preferred_to_self_delay,
            refusing: std::sync::atomic::AtomicBool::new(false),
            interceptor: InterceptorSlot::default(),
        }
    }

    /// While set, every `open_channel` goes to `interceptor` (with the opener's node id)
    /// instead of being answered, and is then refused. The conformance runner's interceptor
    /// disconnects the opener, so the LSP sees its client leave before `funding_signed` (bLIP-52
    /// says what the LSP must do then) and never receives the refusal. `None` clears it.
    pub fn intercept_opens(&self, interceptor: Option<OpenInterceptor>) {
        if let Ok(mut slot) = self.interceptor.0.lock() {
            *slot = interceptor;
        }
    }

    /// Expect the channel of `purchase` until it is [settled](JitChannelPolicy::settled),
    /// [forgotten](JitChannelPolicy::forget) or [`OPEN_AFTER_VALID_UNTIL`] past its
    /// `valid_until`. Expecting a purchase again replaces it; the oldest expectation is dropped
    /// beyond [`MAX_EXPECTED`].
    pub fn expect(&self, purchase: &JitPurchase) {
        let scid = purchase.buy.jit_channel_scid;
        let open_deadline_ms = purchase
            .params
            .valid_until
            .unix_millis()
            .saturating_add(OPEN_AFTER_VALID_UNTIL.as_millis() as u64);
        if let Ok(mut expected) = self.expected.lock() {
            let now = unix_millis_now();
            expected.retain(|e| e.scid != scid && e.open_deadline_ms >= now);
            if expected.len() >= MAX_EXPECTED {
                expected.remove(0);
            }
            expected.push(Expected {
                lsp: purchase.lsp,
                scid,
                max_client_to_self_delay: purchase.params.max_client_to_self_delay,
                open_deadline_ms,
            });
        }
    }

    /// The purchase named by `jit_channel_scid` is over (its payment received or failed back):
    /// its channel is no longer expected.
    pub fn settled(&self, jit_channel_scid: Scid) {
        if let Ok(mut expected) = self.expected.lock() {
            expected.retain(|e| e.scid != jit_channel_scid);
        }
    }

    /// How many purchases' channels are expected now.
    pub fn expected_purchases(&self) -> usize {
        let now = unix_millis_now();
        self.expected.lock().map_or(0, |e| {
            e.iter().filter(|e| e.open_deadline_ms >= now).count()
        })
    }

    /// Refuse every inbound channel (with a BOLT `error`) while `refusing` is true.
    pub fn set_refusing(&self, refusing: bool) {
        self.refusing
            .store(refusing, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stop expecting channels from `lsp`.
    pub fn forget(&self, lsp: &PublicKey) {
        if let Ok(mut expected) = self.expected.lock() {
            expected.retain(|e| &e.lsp != lsp);
        }
    }

    /// Expect the channel of an LSPS1 order bought from `lsp` (until
    /// [`JitChannelPolicy::forget_order`]). The oldest expectation is dropped beyond
    /// [`MAX_EXPECTED`].
    pub fn expect_order(
        &self,
        lsp: PublicKey,
        required_channel_confirmations: u16,
        announce_channel: bool,
    ) {
        if let Ok(mut orders) = self.orders.lock() {
            if orders.len() >= MAX_EXPECTED {
                orders.remove(0);
            }
            orders.push(ExpectedOrder {
                lsp,
                required_channel_confirmations,
                announce_channel,
            });
        }
    }

    /// Stop expecting one order's channel from `lsp` (the oldest such expectation).
    pub fn forget_order(&self, lsp: &PublicKey) {
        if let Ok(mut orders) = self.orders.lock()
            && let Some(at) = orders.iter().position(|o| &o.lsp == lsp)
        {
            orders.remove(at);
        }
    }

    /// The decision for an LSPS1 order's channel from `request.counterparty`, if one is
    /// expected: the expectation with the same `announce_channel` (the strictest depth among
    /// several), else a refusal naming the mismatch.
    fn decide_order(&self, request: &ChannelRequest) -> Option<ChannelDecision> {
        let orders = self.orders.lock().ok()?;
        let mut from_lsp = orders
            .iter()
            .filter(|o| o.lsp == request.counterparty)
            .peekable();
        let ordered = from_lsp.peek()?.announce_channel;
        let depth = from_lsp
            .filter(|o| o.announce_channel == request.is_announced)
            .map(|o| o.required_channel_confirmations)
            .max();
        Some(match depth {
            Some(minimum_depth) => ChannelDecision::AcceptOrder { minimum_depth },
            None => ChannelDecision::Reject(ChannelRefusal::NotAsOrdered {
                ordered,
                offered: request.is_announced,
            }),
        })
    }

    /// The decision for `request`.
    pub fn decide(&self, request: &ChannelRequest) -> ChannelDecision {
        if self.refusing.load(std::sync::atomic::Ordering::SeqCst) {
            return ChannelDecision::Reject(ChannelRefusal::RefusedOnDemand);
        }
        let now = unix_millis_now();
        let expected = self.expected.lock().ok().and_then(|mut expected| {
            expected.retain(|e| e.open_deadline_ms >= now);
            // Several purchases from one LSP: the tightest delay bound applies.
            expected
                .iter()
                .filter(|e| e.lsp == request.counterparty)
                .map(|e| e.max_client_to_self_delay)
                .min()
        });
        let Some(max_delay) = expected else {
            if let Some(decision) = self.decide_order(request) {
                return decision;
            }
            return match self.strangers {
                StrangerChannels::Reject => ChannelDecision::Reject(ChannelRefusal::Stranger),
                StrangerChannels::AcceptConfirmed => ChannelDecision::AcceptConfirmed,
            };
        };
        // Not a JIT channel's shape: the channel of an order from the same LSP, if one is
        // expected (a wallet that bought both keeps its JIT purchases expected after they
        // settle), else refused for what it lacks.
        let jit_refusal = if request.is_announced {
            Some(ChannelRefusal::Announced)
        } else if !request.scid_alias {
            Some(ChannelRefusal::NoScidAlias)
        } else {
            None
        };
        if let Some(refusal) = jit_refusal {
            return match self.decide_order(request) {
                Some(order @ ChannelDecision::AcceptOrder { .. }) => order,
                _ => ChannelDecision::Reject(refusal),
            };
        }
        let bound = u16::try_from(max_delay).unwrap_or(u16::MAX);
        if bound < LDK_MIN_TO_SELF_DELAY {
            return ChannelDecision::Reject(ChannelRefusal::ToSelfDelayTooSmall(max_delay));
        }
        ChannelDecision::AcceptJit {
            to_self_delay: self
                .preferred_to_self_delay
                .clamp(LDK_MIN_TO_SELF_DELAY, bound),
        }
    }
}

fn unix_millis_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(feature = "node")]
impl lsps_node::InboundChannelPolicy for JitChannelPolicy {
    fn decide(&self, request: &lsps_node::InboundChannelRequest<'_>) -> lsps_node::InboundDecision {
        if let Ok(slot) = self.interceptor.0.lock()
            && let Some(intercept) = slot.as_ref()
        {
            intercept(&request.counterparty);
            return lsps_node::InboundDecision::Reject {
                reason: "intercepted: the wallet does not answer this open".into(),
            };
        }
        let decision = JitChannelPolicy::decide(
            self,
            &ChannelRequest {
                counterparty: request.counterparty,
                is_announced: request.is_announced,
                scid_alias: request.channel_type.supports_scid_privacy(),
            },
        );
        match decision {
            ChannelDecision::AcceptJit { .. } => lsps_node::InboundDecision::Accept {
                zero_conf: true,
                overrides: decision.ldk_overrides(),
            },
            ChannelDecision::AcceptOrder { minimum_depth } => lsps_node::InboundDecision::Accept {
                zero_conf: minimum_depth == 0,
                overrides: decision.ldk_overrides(),
            },
            ChannelDecision::AcceptConfirmed => lsps_node::InboundDecision::Accept {
                zero_conf: false,
                overrides: None,
            },
            ChannelDecision::Reject(refusal) => lsps_node::InboundDecision::Reject {
                reason: refusal.to_string(),
            },
        }
    }
}
