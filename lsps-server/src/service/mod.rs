//! Pure LSPS0/1/2 service handlers.
//!
//! No sockets, no clock, no randomness, no node calls: the time and the entropy for ids come in
//! a [`Ctx`]. A read is answered by [`Service::plan`] directly ([`Planned::Reply`]). A write
//! (`lsps1.create_order`, `lsps2.buy`) is three steps:
//!
//! 1. [`Service::plan`] (pure) checks every rule and returns a [`WritePlan`] naming the node
//!    work it needs ([`NodeWork`]: an invoice, an address, an intercept SCID, a liquidity
//!    figure);
//! 2. the dispatcher performs that work once and records it ([`NodeResources`]);
//! 3. [`Service::complete`] (pure) turns plan + resources into the response and the
//!    [`Effect`]s.
//!
//! The dispatcher persists the effects before it sends the response, then applies them to the
//! [`ServiceState`] with [`ServiceState::apply`]. A retry after a store conflict calls
//! `complete` again with fresh entropy and the same resources, so it mints no second invoice
//! and reveals no second address.

mod lsps1;
mod lsps2;
mod node_ops;
mod wire;

pub use node_ops::{InvoiceRequest, NodeError, NodeOps, NodeResources, NodeWork};

use std::collections::{BTreeSet, HashMap};

use lsps_core::jsonrpc::{
    EncodedResult, ErrorObject, Request, RequestId, RequestParams, Response, ResponseResult,
};
use lsps_core::lsps0::ListProtocolsResult;
use lsps_core::lsps1::{
    GetInfoResult as Lsps1Options, OrderFlow, OrderId, OrderResult, PaymentKind,
};
use lsps_core::lsps2::{
    JitFlow, JitState, JitTerms, OpeningFeeParams, PromiseKey, PromiseSecret, RawOpeningFeeParams,
};
use lsps_core::types::{Datetime, Msat, NodeId, Ppm, Sat, Scid};
use serde::{Deserialize, Serialize};

use crate::config::{Limits, Lsps1Config, Lsps2Config, MenuEntryConfig};
use crate::faults::{Fault, FaultSet};

/// Who a write's quota (stored orders, live buys) is charged to: what the caller proved, never
/// what it merely stated. Over HTTP the node id is only stated (`spec/bindings/http.md`), so
/// charging it would let any HTTP caller fill another node's quota by naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaOwner {
    /// A BOLT8 peer: the node id its handshake proved.
    Node(NodeId),
    /// An HTTP or WebSocket caller: its source address (IPv6 by /64, as the rate limits).
    HttpSource(std::net::IpAddr),
}

/// Per-request inputs that a pure handler may not produce itself.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Now, Unix milliseconds.
    pub now_ms: u64,
    /// Fresh random bytes for order ids; the dispatcher draws them only for
    /// `lsps1.create_order` (zeros otherwise).
    pub entropy: [u8; 16],
    /// Writes of this peer that were planned but are not yet in the [`ServiceState`]: the
    /// per-peer quotas count them, so simultaneous requests cannot pass a quota together.
    pub pending_writes: usize,
    /// Who the write's quota is charged to; `None`: the requesting peer's node id (a caller
    /// that proved it).
    pub quota_owner: Option<QuotaOwner>,
}

impl Ctx {
    /// A context at `now_ms` with `entropy`, no pending writes, and quotas charged to the
    /// requesting peer's node id.
    pub fn new(now_ms: u64, entropy: [u8; 16]) -> Self {
        Self {
            now_ms,
            entropy,
            pending_writes: 0,
            quota_owner: None,
        }
    }

    /// Who a write of `peer` in this context is charged to.
    pub fn quota_owner_of(&self, peer: &NodeId) -> QuotaOwner {
        self.quota_owner.unwrap_or(QuotaOwner::Node(*peer))
    }
}

/// An LSPS1 order as the server keeps and persists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The peer that created the order (orders are scoped to it).
    pub peer: NodeId,
    /// The order object as `create_order` answered it.
    pub order: OrderResult,
    /// Where the order's payment and channel stand; `get_order` answers its states. Kept in
    /// the row's own `flow` column (updated at every step), not in the creation body.
    #[serde(skip)]
    pub flow: Option<OrderFlow>,
    /// Who the order counts against ([`QuotaOwner`]); absent in rows stored before it was
    /// recorded: then the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_owner: Option<QuotaOwner>,
}

impl OrderRecord {
    /// The order object as it stands now: the creation answer with `order_state`, each
    /// option's `state` and `channel` read from the flow.
    pub fn current(&self) -> OrderResult {
        let mut order = self.order.clone();
        if let Some(flow) = &self.flow {
            order.order_state = flow.order_state();
            if let (Some(p), Some(state)) = (
                order.payment.bolt11.as_mut(),
                flow.payment_state(PaymentKind::Bolt11),
            ) {
                p.state = state;
            }
            if let (Some(p), Some(state)) = (
                order.payment.bolt12.as_mut(),
                flow.payment_state(PaymentKind::Bolt12),
            ) {
                p.state = state;
            }
            if let (Some(p), Some(state)) = (
                order.payment.onchain.as_mut(),
                flow.payment_state(PaymentKind::Onchain),
            ) {
                p.state = state;
            }
            order.channel = flow.channel().cloned();
        }
        order
    }
}

/// An LSPS2 buy as the server keeps and persists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyRecord {
    /// The buying peer.
    pub peer: NodeId,
    /// `jit_channel_scid` returned.
    pub jit_channel_scid: Scid,
    /// The chosen menu entry, as sent back by the client.
    pub opening_fee_params: OpeningFeeParams,
    /// `payment_size_msat`, if given (MPP+fixed-invoice mode).
    pub payment_size_msat: Option<Msat>,
    /// `lsp_cltv_expiry_delta` returned.
    pub lsp_cltv_expiry_delta: u32,
    /// `client_trusts_lsp` returned.
    pub client_trusts_lsp: bool,
    /// When the buy was accepted, Unix milliseconds.
    pub created_at_ms: u64,
    /// Where the JIT flow stands (`BOUGHT` when accepted); the projection of `flow` kept in
    /// the body for readers of the row (admin, metrics).
    pub state: JitState,
    /// Who the buy counts against ([`QuotaOwner`]); absent in rows stored before it was
    /// recorded: then the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_owner: Option<QuotaOwner>,
    /// The JIT flow (parts, channel, fee taken), stored in its own column (`jit_flow`), not in
    /// the body. `None` only between decoding a body and attaching its column
    /// ([`crate::store::state_from_rows`] always attaches one).
    #[serde(skip)]
    pub flow: Option<JitFlow>,
}

impl BuyRecord {
    /// What was bought, as the JIT flow takes it.
    pub fn terms(&self) -> JitTerms {
        JitTerms {
            jit_channel_scid: self.jit_channel_scid,
            client: self.peer,
            opening_fee_params: self.opening_fee_params.clone(),
            payment_size_msat: self.payment_size_msat,
            client_trusts_lsp: self.client_trusts_lsp,
        }
    }

    /// True while the buy holds its SCID and counts against the peer's live-buy quota: not
    /// final, and (while still waiting for a payment) `valid_until` not passed.
    pub fn is_live(&self, now_ms: u64) -> bool {
        match self.state {
            JitState::Bought => self.opening_fee_params.valid_until.unix_millis() >= now_ms,
            state => !state.is_final(),
        }
    }
}

/// A state change a handler asks for; persisted before the response is sent.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A new LSPS1 order.
    InsertOrder {
        /// The order id.
        order_id: OrderId,
        /// The record.
        record: Box<OrderRecord>,
        /// Creation time, Unix ms.
        created_at_ms: u64,
    },
    /// A new LSPS2 buy.
    InsertBuy(BuyRecord),
    /// An order's flow moved (the LSPS1 money flow, `crate::orders`).
    UpdateOrderFlow {
        /// The order id.
        order_id: OrderId,
        /// The flow as it now stands.
        flow: Box<OrderFlow>,
    },
    /// A step of a buy's JIT flow: the record replaces the stored one (same SCID).
    UpdateBuy(BuyRecord),
}

/// What the handlers read: accepted orders and buys, and per-peer counts for the limits.
#[derive(Debug, Default)]
pub struct ServiceState {
    orders: HashMap<OrderId, OrderRecord>,
    buys: HashMap<u64, BuyRecord>,
    /// Orders per quota owner.
    orders_per_owner: HashMap<QuotaOwner, usize>,
    /// Each quota owner's buys (SCIDs), to count the live ones for the quota.
    buys_by_owner: HashMap<QuotaOwner, Vec<u64>>,
}

impl ServiceState {
    /// Apply a persisted effect.
    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::InsertOrder {
                order_id, record, ..
            } => {
                if self
                    .orders
                    .insert(order_id.clone(), (**record).clone())
                    .is_none()
                {
                    let owner = record.quota_owner.unwrap_or(QuotaOwner::Node(record.peer));
                    *self.orders_per_owner.entry(owner).or_default() += 1;
                }
            }
            Effect::UpdateOrderFlow { order_id, flow } => {
                if let Some(record) = self.orders.get_mut(order_id) {
                    record.flow = Some((**flow).clone());
                }
            }
            Effect::InsertBuy(buy) => {
                if self
                    .buys
                    .insert(buy.jit_channel_scid.0, buy.clone())
                    .is_none()
                {
                    let owner = buy.quota_owner.unwrap_or(QuotaOwner::Node(buy.peer));
                    self.buys_by_owner
                        .entry(owner)
                        .or_default()
                        .push(buy.jit_channel_scid.0);
                }
            }
            Effect::UpdateBuy(buy) => {
                if let Some(held) = self.buys.get_mut(&buy.jit_channel_scid.0) {
                    *held = buy.clone();
                }
            }
        }
    }

    /// An order by id.
    pub fn order(&self, id: &OrderId) -> Option<&OrderRecord> {
        self.orders.get(id)
    }

    /// A buy by SCID.
    pub fn buy(&self, scid: u64) -> Option<&BuyRecord> {
        self.buys.get(&scid)
    }

    /// Orders `peer` has created.
    pub fn orders_of(&self, owner: &QuotaOwner) -> usize {
        self.orders_per_owner.get(owner).copied().unwrap_or(0)
    }

    /// Buys of `peer` that are live at `now_ms` ([`BuyRecord::is_live`]).
    pub fn live_buys_of(&self, owner: &QuotaOwner, now_ms: u64) -> usize {
        self.buys_by_owner.get(owner).map_or(0, |scids| {
            scids
                .iter()
                .filter_map(|scid| self.buys.get(scid))
                .filter(|buy| buy.is_live(now_ms))
                .count()
        })
    }

    /// Every order with its id (admin views, reloading).
    pub fn orders(&self) -> impl Iterator<Item = (&OrderId, &OrderRecord)> {
        self.orders.iter()
    }

    /// Every buy (admin views).
    pub fn buys(&self) -> impl Iterator<Item = &BuyRecord> {
        self.buys.values()
    }

    /// Number of orders held.
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// Number of buys held.
    pub fn buy_count(&self) -> usize {
        self.buys.len()
    }
}

/// The answer to one request.
#[derive(Debug)]
pub struct Outcome {
    /// The response to send (after the effects are durable).
    pub response: Response,
    /// State changes to persist first.
    pub effects: Vec<Effect>,
}

impl Outcome {
    fn reply(response: Response) -> Self {
        Self {
            response,
            effects: Vec::new(),
        }
    }
}

/// What [`Service::plan`] made of a request.
// Reply is the hot path (every read); boxing it would cost an allocation per request, and a
// plan lives only for the call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Planned {
    /// Answer now: a read, or a write refused by a rule. Nothing to persist.
    Reply(Response),
    /// A write that passed every rule and needs node work before it can be completed.
    Write(WritePlan),
}

/// A write that passed every rule: what it needs from the node, and what `complete` needs to
/// build the answer.
#[derive(Debug, Clone)]
pub struct WritePlan {
    /// The request id to answer.
    pub id: RequestId,
    /// The requesting peer.
    pub peer: NodeId,
    /// The time of the request.
    pub now_ms: u64,
    /// Who the write's quota is charged to.
    pub quota_owner: QuotaOwner,
    /// The node work to perform once.
    pub needs: NodeWork,
    kind: WriteKind,
}

#[derive(Debug, Clone)]
enum WriteKind {
    CreateOrder(Box<lsps1::OrderPlan>),
    Buy(Box<lsps2::BuyPlan>),
}

/// Why the service configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The LSPS1 options break a bLIP-51 rule.
    #[error("lsps1 options: {0}")]
    Lsps1Options(String),
    /// The LSPS2 menu breaks a bLIP-52 rule.
    #[error("lsps2 menu: {0}")]
    Lsps2Menu(String),
    /// A node id in a reject list does not parse.
    #[error("bad node id {0:?} in rejected_peers")]
    BadNodeId(String),
    /// The promise secret is not 32 bytes of hex.
    #[error("promise_secret_hex must be 64 hex characters")]
    BadPromiseSecret,
}

/// The LSPS service: configuration plus the injected node operations.
pub struct Service {
    lsps1: Option<Lsps1Service>,
    lsps2: Option<Lsps2Service>,
    limits: Limits,
    faults: FaultSet,
    /// What `list_protocols` answers, fixed by the configuration.
    protocols: Vec<u16>,
    /// The configuration-fixed results (`list_protocols`, `lsps1.get_info`), serialized once.
    fixed_results: Vec<EncodedResult>,
}

struct Lsps1Service {
    options: Lsps1Options,
    config: Lsps1Config,
    rejected: BTreeSet<NodeId>,
}

struct Lsps2Service {
    menu: Vec<MenuEntryConfig>,
    config: Lsps2Config,
    promise_key: PromiseKey,
    rejected: BTreeSet<NodeId>,
}

/// The code-1 refusals every write meets first: a peer on the protocol's `rejected_peers`, then
/// a peer whose quota owner already `holds` `limit` writes, counting those in flight.
fn admit_peer(
    rejected: &BTreeSet<NodeId>,
    peer: &NodeId,
    ctx: &Ctx,
    holds: impl FnOnce(&QuotaOwner) -> usize,
    limit: usize,
    limit_reached: impl FnOnce(usize) -> String,
) -> Result<(), ErrorObject> {
    if rejected.contains(peer) {
        return Err(ErrorObject::client_rejected("this node is not served"));
    }
    let held = holds(&ctx.quota_owner_of(peer)).saturating_add(ctx.pending_writes);
    if held >= limit {
        return Err(ErrorObject::client_rejected(limit_reached(limit)));
    }
    Ok(())
}

fn parse_peers(list: &[String]) -> Result<BTreeSet<NodeId>, ConfigError> {
    list.iter()
        .map(|s| {
            s.parse::<NodeId>()
                .map_err(|_| ConfigError::BadNodeId(s.clone()))
        })
        .collect()
}

impl Service {
    /// Build the service. `default_promise_secret` is used when the config names none (the
    /// server derives it from the node seed so promises survive restarts).
    pub fn new(
        lsps1: &Lsps1Config,
        lsps2: &Lsps2Config,
        limits: &Limits,
        default_promise_secret: [u8; 32],
        faults: FaultSet,
    ) -> Result<Self, ConfigError> {
        let lsps1 = if lsps1.enabled {
            let options = Lsps1Options {
                min_required_channel_confirmations: lsps1.min_required_channel_confirmations,
                min_funding_confirms_within_blocks: lsps1.min_funding_confirms_within_blocks,
                supports_zero_channel_reserve: lsps1.supports_zero_channel_reserve,
                max_channel_expiry_blocks: lsps1.max_channel_expiry_blocks,
                min_initial_client_balance_sat: Sat(lsps1.min_initial_client_balance_sat),
                max_initial_client_balance_sat: Sat(lsps1.max_initial_client_balance_sat),
                min_initial_lsp_balance_sat: Sat(lsps1.min_initial_lsp_balance_sat),
                max_initial_lsp_balance_sat: Sat(lsps1.max_initial_lsp_balance_sat),
                min_channel_balance_sat: Sat(lsps1.min_channel_balance_sat),
                max_channel_balance_sat: Sat(lsps1.max_channel_balance_sat),
            };
            options
                .validate()
                .map_err(|e| ConfigError::Lsps1Options(e.to_string()))?;
            Some(Lsps1Service {
                options,
                config: lsps1.clone(),
                rejected: parse_peers(&lsps1.rejected_peers)?,
            })
        } else {
            None
        };
        let lsps2 = if lsps2.enabled {
            let secret = match &lsps2.promise_secret_hex {
                Some(text) => {
                    let bytes = hex::decode(text).map_err(|_| ConfigError::BadPromiseSecret)?;
                    PromiseSecret(
                        bytes
                            .try_into()
                            .map_err(|_| ConfigError::BadPromiseSecret)?,
                    )
                }
                None => PromiseSecret(default_promise_secret),
            };
            // The order rule is about the fee pair only, so checking a sample menu (any
            // valid_until, any promise) checks the configured menu.
            let sample: Vec<OpeningFeeParams> = lsps2
                .menu
                .iter()
                .map(|e| raw_params(e, Datetime::UNIX_EPOCH).with_promise(String::new()))
                .collect();
            lsps_core::lsps2::validate_menu(&sample)
                .map_err(|e| ConfigError::Lsps2Menu(e.to_string()))?;
            for (i, e) in lsps2.menu.iter().enumerate() {
                if e.min_payment_size_msat > e.max_payment_size_msat {
                    return Err(ConfigError::Lsps2Menu(format!(
                        "entry {i}: min_payment_size_msat > max_payment_size_msat"
                    )));
                }
            }
            Some(Lsps2Service {
                menu: lsps2.menu.clone(),
                config: lsps2.clone(),
                promise_key: secret.key(),
                rejected: parse_peers(&lsps2.rejected_peers)?,
            })
        } else {
            None
        };
        let mut protocols = Vec::new();
        if faults.has(Fault::ListProtocolsIncludesZero) {
            protocols.push(0);
        }
        if lsps1.is_some() {
            protocols.push(1);
        }
        if lsps2.is_some() {
            protocols.push(2);
        }
        let mut fixed = vec![ResponseResult::Lsps0ListProtocols(ListProtocolsResult {
            protocols: protocols.clone(),
        })];
        if let Some(s) = &lsps1 {
            fixed.push(ResponseResult::Lsps1GetInfo(s.options.clone()));
        }
        // A result that does not serialize is simply not cached (`encode` then serializes it).
        let fixed_results = fixed
            .into_iter()
            .filter_map(|result| EncodedResult::new(result).ok())
            .collect();
        Ok(Self {
            protocols,
            fixed_results,
            lsps1,
            lsps2,
            limits: limits.clone(),
            faults,
        })
    }

    /// The faults switched on.
    pub fn faults(&self) -> FaultSet {
        self.faults
    }

    /// Protocols offered (as `list_protocols` lists them).
    pub fn protocols(&self) -> &[u16] {
        &self.protocols
    }

    /// Decode a raw payload: the typed request, or the reply LSPS0 prescribes for it (`None`:
    /// send nothing, only with the `no-reply-to-bad-json` fault).
    // Same shape as `lsps_core::jsonrpc::decode_request`, which this wraps.
    #[allow(clippy::result_large_err)]
    pub fn decode(&self, payload: &[u8]) -> Result<Request, Option<Response>> {
        match lsps_core::jsonrpc::decode_request(payload) {
            Ok(request) => Ok(request),
            Err(reply) => Err(wire::fault_decode_error(self.faults, reply)),
        }
    }

    /// Plan one decoded request from `peer` (pure): the answer of a read or a refused
    /// write, or the [`WritePlan`] of a write that passed every rule.
    pub fn plan(&self, state: &ServiceState, peer: &NodeId, request: Request, ctx: Ctx) -> Planned {
        let Request { id, params } = request;
        let planned = match params {
            RequestParams::Lsps0ListProtocols(_) => Ok(Planned::Reply(Response::result(
                id,
                ListProtocolsResult {
                    protocols: self.protocols.clone(),
                },
            ))),
            RequestParams::Lsps1GetInfo(_) => match &self.lsps1 {
                Some(s) => Ok(Planned::Reply(Response::result(id, s.options.clone()))),
                None => Err(id),
            },
            RequestParams::Lsps1CreateOrder(params) => match &self.lsps1 {
                Some(s) => Ok(self.write_or_reply(
                    id,
                    peer,
                    ctx,
                    lsps1::plan_create_order(self, s, state, peer, params, ctx),
                )),
                None => Err(id),
            },
            RequestParams::Lsps1GetOrder(params) => match &self.lsps1 {
                Some(_) => Ok(Planned::Reply(lsps1::get_order(
                    self, state, peer, id, params,
                ))),
                None => Err(id),
            },
            RequestParams::Lsps2GetInfo(params) => match &self.lsps2 {
                Some(s) => Ok(Planned::Reply(lsps2::get_info(
                    self, s, peer, id, params, ctx,
                ))),
                None => Err(id),
            },
            RequestParams::Lsps2Buy(params) => match &self.lsps2 {
                Some(s) => Ok(self.write_or_reply(
                    id,
                    peer,
                    ctx,
                    lsps2::plan_buy(self, s, state, peer, params, ctx),
                )),
                None => Err(id),
            },
        };
        // A method of a protocol that is not offered is an unknown method (LSPS0-R43).
        planned.unwrap_or_else(|id| {
            Planned::Reply(Response::error(
                Some(id),
                wire::method_not_found(self.faults),
            ))
        })
    }

    fn write_or_reply(
        &self,
        id: RequestId,
        peer: &NodeId,
        ctx: Ctx,
        planned: Result<(NodeWork, WriteKind), ErrorObject>,
    ) -> Planned {
        match planned {
            Ok((needs, kind)) => Planned::Write(WritePlan {
                id,
                peer: *peer,
                now_ms: ctx.now_ms,
                quota_owner: ctx.quota_owner_of(peer),
                needs,
                kind,
            }),
            Err(error) => Planned::Reply(Response::error(Some(id), error)),
        }
    }

    /// Complete a planned write with the node's `resources` (pure): the response and the
    /// effects to persist before it is sent. `entropy` makes the order id, so a retry after a
    /// store conflict passes fresh entropy and the same resources.
    pub fn complete(
        &self,
        plan: &WritePlan,
        resources: &NodeResources,
        entropy: [u8; 16],
    ) -> Outcome {
        let id = plan.id.clone();
        let completed = match (&plan.kind, &self.lsps1, &self.lsps2) {
            (WriteKind::CreateOrder(order), Some(s), _) => {
                lsps1::complete_create_order(self, s, plan, order, resources, entropy)
            }
            (WriteKind::Buy(buy), _, Some(s)) => lsps2::complete_buy(self, s, plan, buy, resources),
            // A plan is only made for an offered protocol.
            _ => Err(Completion::Internal(
                "plan for a protocol that is not offered".into(),
            )),
        };
        match completed {
            Ok((response, effects)) => Outcome { response, effects },
            Err(Completion::Refused(error)) => Outcome::reply(Response::error(Some(id), error)),
            Err(Completion::Internal(why)) => internal_error(id, &why),
        }
    }

    /// Encode a response for the wire (applying wire-level faults, if any are on).
    pub fn encode(&self, response: &Response) -> Vec<u8> {
        if !self.faults.is_empty() {
            return wire::encode_with_faults(self.faults, response);
        }
        let method = response.body.as_ref().ok().map(ResponseResult::method);
        match self
            .fixed_results
            .iter()
            .find(|cached| Some(cached.result().method()) == method)
        {
            Some(cached) => response.to_bytes_with(cached),
            None => response.to_bytes(),
        }
    }

    /// The limits the dispatcher enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

fn raw_params(entry: &MenuEntryConfig, valid_until: Datetime) -> RawOpeningFeeParams {
    RawOpeningFeeParams {
        min_fee_msat: Msat(entry.min_fee_msat),
        proportional: Ppm(entry.proportional),
        valid_until,
        min_lifetime: entry.min_lifetime,
        max_client_to_self_delay: entry.max_client_to_self_delay,
        min_payment_size_msat: Msat(entry.min_payment_size_msat),
        max_payment_size_msat: Msat(entry.max_payment_size_msat),
    }
}

fn datetime(ms: u64) -> Datetime {
    Datetime::from_unix_millis(ms).unwrap_or(Datetime::MAX)
}

/// The response for an order result (create or get).
fn order_response(id: RequestId, order: OrderResult, create: bool) -> Response {
    let result = if create {
        ResponseResult::Lsps1CreateOrder(order)
    } else {
        ResponseResult::Lsps1GetOrder(order)
    };
    Response {
        id: Some(id),
        body: Ok(result),
    }
}

/// Why `complete` could not produce the normal answer.
#[derive(Debug)]
enum Completion {
    /// A rule that needed the node's resources refused the request (e.g. 203 for liquidity).
    Refused(ErrorObject),
    /// Something that should not happen (an overflow after the checks, a missing resource).
    Internal(String),
}

fn internal_error(id: RequestId, why: &str) -> Outcome {
    tracing::error!("internal error: {why}");
    Outcome::reply(Response::error(Some(id), ErrorObject::internal_error()))
}

#[cfg(test)]
mod tests;
