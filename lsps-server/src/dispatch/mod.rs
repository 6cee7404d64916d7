//! The one dispatcher behind every transport: decode, limit, handle, persist, answer.
//!
//! - Every payload gets the spec's answer; a peer is never muted (except by the
//!   `mute-after-error` fault).
//! - Over a limit (per-caller token bucket, per-caller and global in-flight requests) the request
//!   is answered with code 1 `client_rejected` and a message naming the limit.
//! - Limits are accounted per [`Caller`]: a BOLT8 peer by its proven node id, an HTTP caller by
//!   its source address (IPv6 by /64), never by the node id it merely states, so an HTTP caller
//!   cannot spend a BOLT8 peer's rate (`spec/bindings/http.md`). The stored-order and live-buy
//!   quotas are charged the same way ([`QuotaOwner`], recorded in each row), so an HTTP caller
//!   naming a victim's node id fills its own quota, not the victim's. The table of callers is bounded
//!   (`max_tracked_callers`): when full, idle entries go; if none is idle the newcomer gets code 1.
//! - Requests without effects are answered inline; requests with effects (orders, buys) are
//!   answered after the store has made them durable, then applied to the in-memory state.
//! - A write runs as plan (pure) → node work (here, once per accepted request) → complete
//!   (pure); see [`crate::service`]. Planning and the per-peer pending count are one atomic
//!   step, so simultaneous writes of one peer cannot pass its quota together.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use lsps_core::jsonrpc::{ErrorObject, Method, Request, RequestId, Response, code};
use lsps_core::types::NodeId;

use crate::faults::Fault;
use crate::service::{
    Ctx, Effect, NodeOps, NodeResources, NodeWork, Outcome, Planned, QuotaOwner, Service,
    ServiceState, WritePlan,
};
use crate::store::{Store, StoreError, StoredRow, to_stored};
use crate::transport::{Caller, Dispatch, Dispatched};

/// Time and randomness for the handlers; injected so tests can pin them.
pub trait Clock: Send + Sync + 'static {
    /// Now, Unix milliseconds.
    fn now_ms(&self) -> u64;
    /// 16 fresh random bytes.
    fn entropy(&self) -> [u8; 16];
}

/// The system clock and the OS RNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn entropy(&self) -> [u8; 16] {
        rand::random()
    }
}

#[derive(Debug)]
struct PeerGate {
    in_flight: usize,
    tokens: f64,
    refilled_at_ms: u64,
    muted: bool,
}

/// A caller as the limit table keys it. BOLT8 peers by the compressed node id (`PublicKey`'s
/// own `Hash` and `Eq` serialize the point on every call, which made the table lookups cost more
/// than answering `list_protocols`; the bytes are made once per request). HTTP callers by source
/// address, IPv6 by its /64 (one host usually holds a whole /64), so stating many node ids buys
/// an HTTP caller nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PeerKey {
    /// A BOLT8 peer's node id, proven by the handshake.
    Node([u8; 33]),
    HttpSource(IpAddr),
}

impl PeerKey {
    fn of(caller: &Caller) -> Self {
        match caller {
            Caller::Bolt8(id) => PeerKey::Node(id.serialize()),
            Caller::Http { source, .. } => PeerKey::HttpSource(match source {
                IpAddr::V4(v4) => IpAddr::V4(*v4),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => IpAddr::V4(v4),
                    None => IpAddr::V6(std::net::Ipv6Addr::from_bits(
                        v6.to_bits() & !u128::from(u64::MAX),
                    )),
                },
            }),
        }
    }
}

struct Inner {
    service: Service,
    node: Arc<dyn NodeOps>,
    state: RwLock<ServiceState>,
    /// Planned writes not yet in `state`: per peer (quotas) and the SCIDs they hold. Locked
    /// across planning, so check-and-reserve is one step.
    pending: Mutex<PendingWrites>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    peers: Mutex<HashMap<PeerKey, PeerGate, foldhash::fast::RandomState>>,
    in_flight_total: AtomicUsize,
    /// Notified when a buy is added (the JIT flows' timer learns of its `valid_until`).
    buys_changed: Arc<tokio::sync::Notify>,
}

/// Decrements the in-flight counters when a request that writes is answered (or dropped).
struct InFlight {
    inner: Arc<Inner>,
    peer: PeerKey,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner.in_flight_total.fetch_sub(1, Ordering::AcqRel);
        if let Ok(mut peers) = self.inner.peers.lock()
            && let Some(gate) = peers.get_mut(&self.peer)
        {
            gate.in_flight = gate.in_flight.saturating_sub(1);
        }
    }
}

/// The dispatcher; cheap to clone (shared inside).
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

impl Dispatcher {
    /// A dispatcher over `service`, starting from `state`, persisting to `store`.
    pub fn new(
        service: Service,
        node: Arc<dyn NodeOps>,
        state: ServiceState,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                node,
                state: RwLock::new(state),
                pending: Mutex::new(PendingWrites::default()),
                store,
                clock,
                peers: Mutex::new(HashMap::default()),
                in_flight_total: AtomicUsize::new(0),
                buys_changed: Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    /// The service.
    pub fn service(&self) -> &Service {
        &self.inner.service
    }

    /// How many callers the limit table holds (bounded by `max_tracked_callers`).
    pub fn tracked_callers(&self) -> usize {
        self.inner.peers.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Notified whenever a buy is added to the state.
    pub fn buys_changed(&self) -> Arc<tokio::sync::Notify> {
        self.inner.buys_changed.clone()
    }

    /// Make one effect durable, then apply it to the state: how the money flows
    /// (`crate::orders`) store each step before they act on it.
    pub async fn commit_effect(&self, effect: Effect) -> Result<(), StoreError> {
        let row =
            to_stored(&effect).map_err(|e| StoreError::Unencodable(format!("{effect:?}: {e}")))?;
        persist(self.inner.store.as_ref(), row).await?;
        let mut state = self
            .inner
            .state
            .write()
            .map_err(|_| StoreError::Poisoned("service state"))?;
        state.apply(&effect);
        Ok(())
    }

    /// Run `f` over the current state (tests, admin).
    pub fn with_state<T>(&self, f: impl FnOnce(&ServiceState) -> T) -> Option<T> {
        self.inner.state.read().ok().map(|s| f(&s))
    }

    fn is_muted(&self, peer: &PeerKey) -> bool {
        self.inner.service.faults().has(Fault::MuteAfterError)
            && self
                .inner
                .peers
                .lock()
                .map(|p| p.get(peer).is_some_and(|g| g.muted))
                .unwrap_or(false)
    }

    fn mute(&self, peer: PeerKey) {
        if self.inner.service.faults().has(Fault::MuteAfterError)
            && let Ok(mut peers) = self.inner.peers.lock()
        {
            peers.entry(peer).or_insert_with(|| self.fresh_gate()).muted = true;
        }
    }

    fn fresh_gate(&self) -> PeerGate {
        PeerGate {
            in_flight: 0,
            tokens: f64::from(self.inner.service.limits().peer_burst),
            refilled_at_ms: self.inner.clock.now_ms(),
            muted: false,
        }
    }

    /// Admit one request of `peer`, or say which limit it hits. A request that `writes` stays
    /// pending until its row is durable and is counted in flight until then (the returned
    /// guard); any other request is answered before `dispatch` returns, so it only spends a
    /// token.
    fn admit(&self, peer: PeerKey, now_ms: u64, writes: bool) -> Result<Option<InFlight>, String> {
        let limits = self.inner.service.limits();
        let mut peers = self
            .inner
            .peers
            .lock()
            .map_err(|_| "server busy".to_owned())?;
        if !peers.contains_key(&peer) && peers.len() >= limits.max_tracked_callers {
            // Full: forget every caller with nothing in flight (its bucket restarts full, which
            // costs a newcomer a handshake or an address). Entries in flight are bounded by
            // `max_pending_total`, so this frees room unless that is configured above the cap;
            // then the sweep runs once per ~cap newcomers, not per request.
            peers.retain(|_, gate| gate.in_flight > 0 || gate.muted);
            if peers.len() >= limits.max_tracked_callers {
                return Err(format!(
                    "server busy: {} callers being served",
                    limits.max_tracked_callers
                ));
            }
        }
        let gate = peers.entry(peer).or_insert_with(|| self.fresh_gate());
        let elapsed_ms = now_ms.saturating_sub(gate.refilled_at_ms);
        gate.tokens = (gate.tokens
            + elapsed_ms as f64 * f64::from(limits.peer_requests_per_sec) / 1000.0)
            .min(f64::from(limits.peer_burst));
        gate.refilled_at_ms = now_ms;
        if gate.tokens < 1.0 {
            return Err(format!(
                "rate limit: more than {} requests per second from this peer",
                limits.peer_requests_per_sec
            ));
        }
        if gate.in_flight >= limits.max_pending_per_peer {
            return Err(format!(
                "too many pending requests from this peer (limit {})",
                limits.max_pending_per_peer
            ));
        }
        if writes {
            let total = self.inner.in_flight_total.fetch_add(1, Ordering::AcqRel);
            if total >= limits.max_pending_total {
                self.inner.in_flight_total.fetch_sub(1, Ordering::AcqRel);
                return Err(format!(
                    "server busy: {} requests pending",
                    limits.max_pending_total
                ));
            }
            gate.in_flight += 1;
        }
        gate.tokens -= 1.0;
        Ok(writes.then(|| InFlight {
            inner: self.inner.clone(),
            peer,
        }))
    }
}

/// How often a write whose new row hits an existing key (order id, intercept SCID) in the
/// store is completed again with a fresh id before it is answered -32603.
const MAX_DUPLICATE_RETRIES: usize = 3;

/// How many intercept SCIDs the node work draws before it gives up on finding one that no live
/// or pending buy holds. LDK's fake SCIDs come from a small space on a short dev chain, so a
/// repeat is possible; several in a row mean the node is out of fresh SCIDs for now.
pub const MAX_SCID_DRAWS: usize = 16;

/// Writes that were planned but are not yet applied to the state.
#[derive(Debug, Default)]
pub struct PendingWrites {
    per_peer: HashMap<PeerKey, usize, foldhash::fast::RandomState>,
    scids: HashSet<u64>,
}

/// Holds one planned write's place in [`PendingWrites`] (its quota slot and its SCID, if any)
/// until the write is applied to the state or abandoned.
struct PendingSlot {
    inner: Arc<Inner>,
    peer: PeerKey,
    scid: Option<u64>,
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.inner.pending.lock() {
            if let Some(count) = pending.per_peer.get_mut(&self.peer) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    pending.per_peer.remove(&self.peer);
                }
            }
            if let Some(scid) = self.scid {
                pending.scids.remove(&scid);
            }
        }
    }
}

/// Performs a plan's node work, each item once: the invoice, the address, an intercept SCID
/// that no buy in `state` and no pending buy holds (reserved in `pending` on success), and the
/// liquidity figure. A node that fails to mint an invoice fails the request (-32603 from
/// `complete`); a missing address only drops the on-chain option.
pub fn perform_node_work(
    node: &dyn NodeOps,
    needs: &NodeWork,
    state: &ServiceState,
    pending: &mut PendingWrites,
) -> NodeResources {
    let mut resources = NodeResources::default();
    if let Some(invoice) = &needs.invoice {
        match node.bolt11_invoice(invoice) {
            Ok(text) => resources.invoice = Some(text),
            Err(e) => tracing::error!("node work: {e}"),
        }
    }
    if needs.onchain_address {
        match node.onchain_address() {
            Ok(address) => resources.onchain_address = Some(address),
            Err(e) => tracing::warn!("node work: no on-chain option: {e}"),
        }
    }
    if needs.intercept_scid {
        resources.intercept_scid = draw_scid(node, state, pending);
    }
    if needs.inbound_liquidity {
        resources.inbound_liquidity_msat = Some(node.inbound_liquidity_msat());
    }
    if needs.fundable_channel {
        resources.fundable_channel_sat = Some(node.fundable_channel_sat());
    }
    resources
}

fn draw_scid(
    node: &dyn NodeOps,
    state: &ServiceState,
    pending: &mut PendingWrites,
) -> Option<lsps_core::types::Scid> {
    let found = (0..MAX_SCID_DRAWS).find_map(|_| {
        let drawn = node.intercept_scid();
        (state.buy(drawn).is_none() && pending.scids.insert(drawn)).then_some(drawn)
    });
    if found.is_none() {
        tracing::warn!("lsps2.buy: no unused intercept SCID after {MAX_SCID_DRAWS} draws");
    }
    found.map(lsps_core::types::Scid)
}

async fn persist(store: &dyn Store, row: StoredRow) -> Result<(), StoreError> {
    match row {
        StoredRow::Order(order) => store.insert_order(order).await,
        StoredRow::Buy(buy) => store.insert_buy(buy).await,
        StoredRow::OrderFlow { order_id, flow } => store.update_order_flow(&order_id, flow).await,
        StoredRow::BuyUpdate {
            jit_channel_scid,
            body,
            jit_flow,
        } => store.update_buy(jit_channel_scid, body, jit_flow).await,
    }
}

/// A planned write after its node work: what `commit` needs to complete it (again).
struct PreparedWrite {
    plan: WritePlan,
    resources: NodeResources,
    slot: PendingSlot,
}

impl Dispatcher {
    /// Plan `request`; for a write, reserve its pending slot and perform its node work, all
    /// under the pending lock (so the quota check and the reservation are one step). Gives the
    /// request id back if a lock is poisoned.
    fn plan(
        &self,
        peer_key: PeerKey,
        quota_owner: QuotaOwner,
        peer: &NodeId,
        request: Request,
        now_ms: u64,
        entropy: [u8; 16],
    ) -> Result<Result<Response, PreparedWrite>, RequestId> {
        let inner = &self.inner;
        let id = request.id.clone();
        let Ok(state) = inner.state.read() else {
            return Err(id);
        };
        let Ok(mut pending) = inner.pending.lock() else {
            return Err(id);
        };
        let ctx = Ctx {
            now_ms,
            entropy,
            pending_writes: pending.per_peer.get(&peer_key).copied().unwrap_or(0),
            quota_owner: Some(quota_owner),
        };
        let plan = match inner.service.plan(&state, peer, request, ctx) {
            Planned::Reply(response) => return Ok(Ok(response)),
            Planned::Write(plan) => plan,
        };
        let resources = perform_node_work(inner.node.as_ref(), &plan.needs, &state, &mut pending);
        *pending.per_peer.entry(peer_key).or_default() += 1;
        let slot = PendingSlot {
            inner: inner.clone(),
            peer: peer_key,
            scid: resources.intercept_scid.map(|s| s.0),
        };
        Ok(Err(PreparedWrite {
            plan,
            resources,
            slot,
        }))
    }

    /// Complete a prepared write, make its effects durable, apply them and return the response
    /// to send. A row whose key the store already holds is never dropped silently: the write
    /// is completed again with a fresh order id (same invoice and address) or a fresh SCID a
    /// few times, then answered -32603 with the reason.
    async fn commit(&self, mut write: PreparedWrite, mut entropy: [u8; 16]) -> Response {
        let request_id = Some(write.plan.id.clone());
        let internal = |message: String| {
            Response::error(
                request_id.clone(),
                ErrorObject::new(code::INTERNAL_ERROR, message, None),
            )
        };
        let mut retries = 0;
        let outcome: Outcome = 'attempt: loop {
            let outcome = self
                .inner
                .service
                .complete(&write.plan, &write.resources, entropy);
            for effect in &outcome.effects {
                let row = match to_stored(effect) {
                    Ok(row) => row,
                    Err(e) => {
                        tracing::error!("encoding {effect:?}: {e}");
                        return Response::error(request_id, ErrorObject::internal_error());
                    }
                };
                match persist(self.inner.store.as_ref(), row).await {
                    Ok(()) => {}
                    Err(StoreError::Duplicate(key)) if retries < MAX_DUPLICATE_RETRIES => {
                        // Effects are single rows today, so nothing of this attempt is durable.
                        retries += 1;
                        tracing::warn!(
                            "store: duplicate key {key}; completing the write again ({retries}/{MAX_DUPLICATE_RETRIES})"
                        );
                        entropy = self.inner.clock.entropy();
                        if write.plan.needs.intercept_scid && !self.redraw_scid(&mut write) {
                            return internal("Internal error: state unavailable".into());
                        }
                        continue 'attempt;
                    }
                    Err(StoreError::Duplicate(key)) => {
                        tracing::error!("store: duplicate key {key} after {retries} retries");
                        return internal(format!(
                            "Internal error: could not store a unique row (key {key} taken {} times)",
                            retries + 1
                        ));
                    }
                    Err(e) => {
                        // Nothing is promised to the client unless it is durable.
                        tracing::error!("store: {e}");
                        return Response::error(request_id, ErrorObject::internal_error());
                    }
                }
            }
            break outcome;
        };
        if let Ok(mut state) = self.inner.state.write() {
            for effect in &outcome.effects {
                state.apply(effect);
            }
        }
        if outcome
            .effects
            .iter()
            .any(|e| matches!(e, Effect::InsertBuy(_)))
        {
            self.inner.buys_changed.notify_one();
        }
        // Only now, with the write in the state, may its pending slot (quota, SCID) go.
        drop(write.slot);
        outcome.response
    }

    /// Replace a write's intercept SCID after the store refused it (another server sharing the
    /// database holds it). The refused SCID stays out of the pending set until the slot goes.
    fn redraw_scid(&self, write: &mut PreparedWrite) -> bool {
        let (Ok(state), Ok(mut pending)) = (self.inner.state.read(), self.inner.pending.lock())
        else {
            return false;
        };
        let fresh = draw_scid(self.inner.node.as_ref(), &state, &mut pending);
        if let Some(old) = write.slot.scid.take() {
            pending.scids.remove(&old);
        }
        write.slot.scid = fresh.map(|s| s.0);
        write.resources.intercept_scid = fresh;
        true
    }
}

impl Dispatch for Dispatcher {
    fn dispatch_from(&self, caller: Caller, payload: &[u8]) -> Dispatched {
        let service = &self.inner.service;
        let peer = caller.node_id();
        let peer_key = PeerKey::of(&caller);
        if self.is_muted(&peer_key) {
            return Dispatched::NoReply;
        }
        let request = match service.decode(payload) {
            Ok(request) => request,
            Err(reply) => {
                tracing::debug!(%peer, "bad request answered: {:?}", reply.as_ref().map(|r| &r.body));
                self.mute(peer_key);
                return match reply {
                    Some(reply) => Dispatched::Reply(service.encode(&reply)),
                    None => Dispatched::NoReply,
                };
            }
        };
        let now_ms = self.inner.clock.now_ms();
        let method = request.method();
        let writes = matches!(method, Method::Lsps1CreateOrder | Method::Lsps2Buy);
        let in_flight = match self.admit(peer_key, now_ms, writes) {
            Ok(guard) => guard,
            Err(reason) => {
                let reply = Response::error(Some(request.id), ErrorObject::client_rejected(reason));
                return Dispatched::Reply(service.encode(&reply));
            }
        };
        // Only order ids are random; the RNG is not paid by requests that make none.
        let entropy = if method == Method::Lsps1CreateOrder {
            self.inner.clock.entropy()
        } else {
            [0; 16]
        };
        // Quotas are charged to what the caller proved (a BOLT8 node id, an HTTP source), never
        // to a stated node id; pending writes count the same way.
        let quota_owner = match peer_key {
            PeerKey::Node(_) => QuotaOwner::Node(NodeId(peer)),
            PeerKey::HttpSource(source) => QuotaOwner::HttpSource(source),
        };
        let write = match self.plan(
            peer_key,
            quota_owner,
            &NodeId(peer),
            request,
            now_ms,
            entropy,
        ) {
            Ok(Ok(response)) => {
                drop(in_flight);
                return Dispatched::Reply(service.encode(&response));
            }
            Ok(Err(write)) => write,
            Err(request_id) => {
                let reply = Response::error(Some(request_id), ErrorObject::internal_error());
                return Dispatched::Reply(service.encode(&reply));
            }
        };
        let this = self.clone();
        Dispatched::Pending(Box::pin(async move {
            let _in_flight = in_flight;
            let response = this.commit(write, entropy).await;
            Some(this.inner.service.encode(&response))
        }))
    }
    fn refuse(&self, caller: Caller, payload: &[u8], reason: &str) -> Dispatched {
        let service = &self.inner.service;
        if self.is_muted(&PeerKey::of(&caller)) {
            return Dispatched::NoReply;
        }
        match service.decode(payload) {
            Ok(request) => {
                let reply = Response::error(Some(request.id), ErrorObject::client_rejected(reason));
                Dispatched::Reply(service.encode(&reply))
            }
            Err(reply) => {
                self.mute(PeerKey::of(&caller));
                match reply {
                    Some(reply) => Dispatched::Reply(service.encode(&reply)),
                    None => Dispatched::NoReply,
                }
            }
        }
    }

    fn caller_disconnected(&self, caller: Caller) {
        let peer = PeerKey::of(&caller);
        if let Ok(mut peers) = self.inner.peers.lock() {
            // An HTTP source keeps its bucket: reconnecting must not refill it.
            if matches!(peer, PeerKey::Node(_))
                && peers.get(&peer).is_some_and(|g| g.in_flight == 0)
            {
                peers.remove(&peer);
            } else if let Some(gate) = peers.get_mut(&peer) {
                gate.muted = false;
            }
        }
    }
}

#[cfg(test)]
mod tests;
