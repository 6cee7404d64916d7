//! The one dispatcher behind every transport: decode, limit, handle, persist, answer.
//!
//! - Every payload gets the spec's answer; a peer is never muted (except by the
//!   `mute-after-error` fault).
//! - Over a limit (per-peer token bucket, per-peer and global in-flight requests) the request is
//!   answered with code 1 `client_rejected` and a message naming the limit.
//! - Requests without effects are answered inline; requests with effects (orders, buys) are
//!   answered after the store has made them durable, then applied to the in-memory state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lsps_core::jsonrpc::{ErrorObject, Method, Request, RequestId, Response, code};
use lsps_core::types::NodeId;

use crate::faults::Fault;
use crate::service::{Ctx, Outcome, Service, ServiceState, StoredRow};
use crate::store::{Store, StoreError};
use crate::transport::{Dispatch, Dispatched};

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

/// A peer as the limit table keys it: the compressed node id. `PublicKey`'s own `Hash` and
/// `Eq` serialize the point on every call (a field normalisation each time), which made the
/// table lookups cost more than answering `list_protocols`; the bytes are made once per request.
type PeerKey = [u8; 33];

struct Inner {
    service: Service,
    state: RwLock<ServiceState>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    peers: Mutex<HashMap<PeerKey, PeerGate, foldhash::fast::RandomState>>,
    in_flight_total: AtomicUsize,
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
        state: ServiceState,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                state: RwLock::new(state),
                store,
                clock,
                peers: Mutex::new(HashMap::default()),
                in_flight_total: AtomicUsize::new(0),
            }),
        }
    }

    /// The service.
    pub fn service(&self) -> &Service {
        &self.inner.service
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

/// How often a request whose new row hits an existing key (order id, intercept SCID) in the
/// store is handled again with fresh ids before it is answered -32603.
const MAX_DUPLICATE_RETRIES: usize = 3;

async fn persist(store: &dyn Store, row: StoredRow) -> Result<(), StoreError> {
    match row {
        StoredRow::Order(order) => store.insert_order(order).await,
        StoredRow::Buy(buy) => store.insert_buy(buy).await,
    }
}

impl Dispatcher {
    /// Handle `request` against the current state; if the state lock is poisoned, gives the
    /// request id back for the -32603 answer.
    fn handle(&self, peer: &PublicKey, request: Request, ctx: Ctx) -> Result<Outcome, RequestId> {
        let Ok(state) = self.inner.state.read() else {
            return Err(request.id);
        };
        Ok(self
            .inner
            .service
            .handle(&state, &NodeId(*peer), request, ctx))
    }

    /// Make `outcome`'s effects durable, apply them and return the response to send. A row whose
    /// key the store already holds is never dropped silently: the request is handled again
    /// (fresh order id / intercept SCID) a few times, then answered -32603 with the reason.
    async fn commit(
        &self,
        peer: PublicKey,
        request: Option<Request>,
        mut outcome: Outcome,
    ) -> Response {
        // The id the handler answered (errors below answer the same request).
        let request_id = outcome.response.id.clone();
        let internal = |message: String| {
            Response::error(
                request_id.clone(),
                ErrorObject::new(code::INTERNAL_ERROR, message, None),
            )
        };
        let mut retries = 0;
        'attempt: loop {
            for effect in &outcome.effects {
                let row = match effect.to_stored() {
                    Ok(row) => row,
                    Err(e) => {
                        tracing::error!("encoding {effect:?}: {e}");
                        return Response::error(request_id, ErrorObject::internal_error());
                    }
                };
                match persist(self.inner.store.as_ref(), row).await {
                    Ok(()) => {}
                    Err(StoreError::Duplicate(key))
                        if retries < MAX_DUPLICATE_RETRIES
                            && let Some(request) = &request =>
                    {
                        // Effects are single rows today, so nothing of this attempt is durable.
                        retries += 1;
                        tracing::warn!(
                            "store: duplicate key {key}; handling {} again ({retries}/{MAX_DUPLICATE_RETRIES})",
                            request.method().name()
                        );
                        let ctx = Ctx {
                            now_ms: self.inner.clock.now_ms(),
                            entropy: self.inner.clock.entropy(),
                        };
                        outcome = match self.handle(&peer, request.clone(), ctx) {
                            Ok(outcome) => outcome,
                            Err(_) => return internal("Internal error: state unavailable".into()),
                        };
                        if outcome.effects.is_empty() {
                            // Handled again, the request failed a rule (e.g. no free SCID).
                            return outcome.response;
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
            break;
        }
        if let Ok(mut state) = self.inner.state.write() {
            for effect in &outcome.effects {
                state.apply(effect);
            }
        }
        // Only now, with the buy in the state, may its SCID reservation go.
        drop(outcome.scid_reservation);
        outcome.response
    }
}

impl Dispatch for Dispatcher {
    fn dispatch(&self, peer: PublicKey, payload: &[u8]) -> Dispatched {
        let service = &self.inner.service;
        let peer_key = peer.serialize();
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
        let ctx = Ctx {
            now_ms,
            // Only order ids are random; the RNG is not paid by requests that make none.
            entropy: if method == Method::Lsps1CreateOrder {
                self.inner.clock.entropy()
            } else {
                [0; 16]
            },
        };
        // Only requests that write are ever handled again (see `commit`).
        let retry_copy = writes.then(|| request.clone());
        let outcome = match self.handle(&peer, request, ctx) {
            Ok(outcome) => outcome,
            Err(request_id) => {
                let reply = Response::error(Some(request_id), ErrorObject::internal_error());
                return Dispatched::Reply(service.encode(&reply));
            }
        };
        if outcome.effects.is_empty() {
            drop(in_flight);
            return Dispatched::Reply(service.encode(&outcome.response));
        }
        let this = self.clone();
        Dispatched::Pending(Box::pin(async move {
            let _in_flight = in_flight;
            let response = this.commit(peer, retry_copy, outcome).await;
            Some(this.inner.service.encode(&response))
        }))
    }
    fn peer_disconnected(&self, peer: PublicKey) {
        let peer = peer.serialize();
        if let Ok(mut peers) = self.inner.peers.lock() {
            if peers.get(&peer).is_some_and(|g| g.in_flight == 0) {
                peers.remove(&peer);
            } else if let Some(gate) = peers.get_mut(&peer) {
                gate.muted = false;
            }
        }
    }
}
