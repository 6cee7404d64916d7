//! The operator interface: an admin listener, off the public ports (loopback by default), with
//! bearer-token auth, serving Prometheus metrics and a JSON API over orders and buys.
//!
//! - `GET /metrics`: requests by method and result (the JSON-RPC error code, or `ok`), limit
//!   hits by limit, connected BOLT8 peers, tracked callers, orders and buys by state, store
//!   commit latency, and JIT flow step latencies ([`Metrics::observe_jit_step`], fed by the JIT
//!   flow).
//! - `GET /admin/orders`, `GET /admin/orders/{order_id}`, `GET /admin/buys`,
//!   `GET /admin/buys/{scid}` (u64 form): the stored rows, bodies as JSON.
//!
//! Every request needs `Authorization: Bearer <token>`. The server writes `admin.json`
//! (`{"url", "token"}`, mode 0600) into its data directory so local tools find both.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::dispatch::Dispatcher;
use crate::store::{Store, StoreError, StoredBuy, StoredOrder};
use crate::transport::{Caller, Dispatch, Dispatched, MethodProbe};

/// The file in the data directory that tells local tools where the admin listener is.
pub const ADMIN_FILE: &str = "admin.json";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~3.3 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
}

fn step_histogram() -> Histogram {
    // 10 ms .. ~5.5 min: JIT steps wait for peers and the chain.
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The server's metrics (Prometheus, via the official `prometheus-client` crate).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    limit_hits: Family<LimitLabels, Counter>,
    store_commit: HistogramFamily<OpLabels>,
    jit_steps: HistogramFamily<StepLabels>,
    peers: Gauge,
    callers: Gauge,
    orders: Family<StateLabels, Gauge>,
    buys: Family<StateLabels, Gauge>,
    /// Scrapes compute the gauges; one at a time.
    scrape: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lsps");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "LSPS requests answered, by method and result (ok or the JSON-RPC error code)",
            requests.clone(),
        );
        let limit_hits = Family::<LimitLabels, Counter>::default();
        registry.register(
            "limit_hits",
            "Requests refused with code 1 (client_rejected), by limit",
            limit_hits.clone(),
        );
        let store_commit: HistogramFamily<OpLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "store_commit_seconds",
            "Time until a store write is durable, by operation",
            store_commit.clone(),
        );
        let jit_steps: HistogramFamily<StepLabels> =
            Family::new_with_constructor(step_histogram as fn() -> Histogram);
        registry.register(
            "jit_step_seconds",
            "Duration of each LSPS2 JIT flow step",
            jit_steps.clone(),
        );
        let peers = Gauge::default();
        registry.register("bolt8_peers", "Connected BOLT8 peers", peers.clone());
        let callers = Gauge::default();
        registry.register(
            "tracked_callers",
            "Callers (BOLT8 node ids, HTTP source addresses) in the limit table",
            callers.clone(),
        );
        let orders = Family::<StateLabels, Gauge>::default();
        registry.register("orders", "LSPS1 orders by state", orders.clone());
        let buys = Family::<StateLabels, Gauge>::default();
        registry.register("buys", "LSPS2 buys by JIT flow state", buys.clone());
        Self {
            registry,
            requests,
            limit_hits,
            store_commit,
            jit_steps,
            peers,
            callers,
            orders,
            buys,
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// Record how long a JIT flow step took (`step`: a short fixed name, e.g. `open`).
    pub fn observe_jit_step(&self, step: &str, took: Duration) {
        self.jit_steps
            .get_or_create(&StepLabels {
                step: step.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    fn count_reply(&self, method: &str, reply: Option<&[u8]>) {
        #[derive(serde::Deserialize)]
        struct ReplyProbe {
            error: Option<ErrorProbe>,
        }
        #[derive(serde::Deserialize)]
        struct ErrorProbe {
            code: i64,
            message: Option<String>,
        }
        let (result, message) = match reply.map(serde_json::from_slice::<ReplyProbe>) {
            None => ("none".to_owned(), None),
            Some(Ok(ReplyProbe { error: None })) => ("ok".to_owned(), None),
            Some(Ok(ReplyProbe { error: Some(e) })) => {
                (e.code.to_string(), e.message.map(|m| (e.code, m)))
            }
            Some(Err(_)) => ("unparsable".to_owned(), None),
        };
        if let Some((1, message)) = message {
            self.limit_hits
                .get_or_create(&LimitLabels {
                    limit: limit_name(&message).to_owned(),
                })
                .inc();
        }
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                result,
            })
            .inc();
    }

    async fn render(&self, context: &AdminContext) -> Result<String, String> {
        let _one = self.scrape.lock().await;
        self.peers
            .set(i64::try_from((context.peer_count)()).unwrap_or(i64::MAX));
        self.callers
            .set(i64::try_from(context.dispatcher.tracked_callers()).unwrap_or(i64::MAX));
        let orders = context
            .store
            .load_orders()
            .await
            .map_err(|e| e.to_string())?;
        let buys = context.store.load_buys().await.map_err(|e| e.to_string())?;
        set_states(&self.orders, orders.iter().map(order_state));
        set_states(&self.buys, buys.iter().map(|b| buy_state(&b.body)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| e.to_string())?;
        Ok(text)
    }
}

fn set_states(family: &Family<StateLabels, Gauge>, states: impl Iterator<Item = String>) {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for state in states {
        *counts.entry(state).or_default() += 1;
    }
    family.clear();
    for (state, n) in counts {
        family.get_or_create(&StateLabels { state }).set(n);
    }
}

/// The order's state: its flow's when it has one (the flow moves; the body is the creation
/// answer).
fn order_state(o: &StoredOrder) -> String {
    let from_flow = o
        .flow
        .as_deref()
        .and_then(|f| serde_json::from_str::<Value>(f).ok())
        .and_then(|v| v["order_state"].as_str().map(str::to_owned));
    from_flow
        .or_else(|| {
            serde_json::from_str::<Value>(&o.body)
                .ok()
                .and_then(|v| v["order"]["order_state"].as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn buy_state(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["state"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The limit a code-1 message names (the dispatcher's and the service's messages).
fn limit_name(message: &str) -> &'static str {
    if message.starts_with("rate limit") {
        "peer_rate"
    } else if message.contains("pending requests from this peer") {
        "pending_per_peer"
    } else if message.contains("requests pending") {
        "pending_total"
    } else if message.contains("callers being served") {
        "tracked_callers"
    } else if message.contains("reads queued from this peer") {
        "queued_reads_per_peer"
    } else {
        "other"
    }
}

/// The method label of a payload: a known method's name, `unknown`, or `invalid` (not JSON).
fn method_label(payload: &[u8]) -> &'static str {
    match MethodProbe::of(payload) {
        MethodProbe::Known(method) => method.name(),
        MethodProbe::Unknown => "unknown",
        MethodProbe::Absent => "none",
        MethodProbe::Invalid => "invalid",
    }
}

/// Counts every request and its result in front of the dispatcher (on every transport).
pub struct MeteredDispatch {
    inner: Arc<dyn Dispatch>,
    metrics: Arc<Metrics>,
}

impl MeteredDispatch {
    /// Count what `inner` answers.
    pub fn new(inner: Arc<dyn Dispatch>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl Dispatch for MeteredDispatch {
    fn dispatch_from(&self, caller: Caller, payload: &[u8]) -> Dispatched {
        let method = method_label(payload);
        match self.inner.dispatch_from(caller, payload) {
            Dispatched::Reply(bytes) => {
                self.metrics.count_reply(method, Some(&bytes));
                Dispatched::Reply(bytes)
            }
            Dispatched::NoReply => {
                self.metrics.count_reply(method, None);
                Dispatched::NoReply
            }
            Dispatched::Pending(fut) => {
                let metrics = self.metrics.clone();
                Dispatched::Pending(Box::pin(async move {
                    let reply = fut.await;
                    metrics.count_reply(method, reply.as_deref());
                    reply
                }))
            }
        }
    }

    fn caller_disconnected(&self, caller: Caller) {
        self.inner.caller_disconnected(caller);
    }

    fn refuse(&self, caller: Caller, payload: &[u8], reason: &str) -> Dispatched {
        let method = method_label(payload);
        let refused = self.inner.refuse(caller, payload, reason);
        if let Dispatched::Reply(bytes) = &refused {
            self.metrics.count_reply(method, Some(bytes));
        }
        refused
    }
}

/// Times every write of the wrapped store (`lsps_store_commit_seconds`).
pub struct TimedStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl TimedStore {
    /// Time `inner`'s writes.
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn observe(&self, op: &str, started: Instant) {
        self.metrics
            .store_commit
            .get_or_create(&OpLabels { op: op.to_owned() })
            .observe(started.elapsed().as_secs_f64());
    }
}

#[async_trait]
impl Store for TimedStore {
    async fn insert_order(&self, order: StoredOrder) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.inner.insert_order(order).await;
        self.observe("insert_order", started);
        result
    }
    async fn update_order(&self, order_id: &str, body: String) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.inner.update_order(order_id, body).await;
        self.observe("update_order", started);
        result
    }
    async fn update_order_flow(&self, order_id: &str, flow: String) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.inner.update_order_flow(order_id, flow).await;
        self.observe("update_order_flow", started);
        result
    }
    async fn insert_buy(&self, buy: StoredBuy) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.inner.insert_buy(buy).await;
        self.observe("insert_buy", started);
        result
    }
    async fn update_buy(
        &self,
        jit_channel_scid: u64,
        body: String,
        jit_flow: String,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self
            .inner
            .update_buy(jit_channel_scid, body, jit_flow)
            .await;
        self.observe("update_buy", started);
        result
    }
    async fn get_order(&self, order_id: &str) -> Result<Option<StoredOrder>, StoreError> {
        self.inner.get_order(order_id).await
    }
    async fn get_buy(&self, jit_channel_scid: u64) -> Result<Option<StoredBuy>, StoreError> {
        self.inner.get_buy(jit_channel_scid).await
    }
    async fn load_orders(&self) -> Result<Vec<StoredOrder>, StoreError> {
        self.inner.load_orders().await
    }
    async fn load_buys(&self) -> Result<Vec<StoredBuy>, StoreError> {
        self.inner.load_buys().await
    }
    async fn close(&self) {
        self.inner.close().await;
    }
}

/// What the admin handlers read.
#[derive(Clone)]
pub struct AdminContext {
    /// The metrics to render.
    pub metrics: Arc<Metrics>,
    /// The store (orders and buys of this node).
    pub store: Arc<dyn Store>,
    /// The dispatcher (limit table size).
    pub dispatcher: Dispatcher,
    /// Connected BOLT8 peers, counted at scrape time.
    pub peer_count: Arc<dyn Fn() -> usize + Send + Sync>,
    /// The dev payer behind `POST /dev/pay`, when the server runs one.
    pub dev_payer: Option<Arc<crate::dev_payer::DevPayer>>,
    /// The bearer token every request must carry.
    pub token: Arc<str>,
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn json(value: &Value) -> Response {
    text(StatusCode::OK, "application/json", value.to_string())
}

fn internal(e: impl std::fmt::Display) -> Response {
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        e.to_string(),
    )
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn require_token(
    State(context): State<AdminContext>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same_token(given.as_bytes(), context.token.as_bytes()) {
        next.run(request).await
    } else {
        text(
            StatusCode::UNAUTHORIZED,
            "text/plain; charset=utf-8",
            format!(
                "missing or wrong token (Authorization: Bearer …, see {ADMIN_FILE} in the data directory)"
            ),
        )
    }
}

async fn metrics(State(context): State<AdminContext>) -> Response {
    match context.metrics.render(&context).await {
        Ok(body) => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body,
        ),
        Err(e) => internal(e),
    }
}

fn body_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

fn order_json(o: &StoredOrder) -> Value {
    serde_json::json!({
        "order_id": o.order_id,
        "peer_node_id": o.peer_node_id,
        "created_at_ms": o.created_at_ms,
        "state": order_state(o),
        "body": body_json(&o.body),
        "flow": o.flow.as_deref().map(body_json),
    })
}

fn buy_json(b: &StoredBuy) -> Value {
    let mut view = serde_json::json!({
        "jit_channel_scid": b.jit_channel_scid,
        "scid": lsps_core::types::Scid(b.jit_channel_scid).to_string(),
        "peer_node_id": b.peer_node_id,
        "created_at_ms": b.created_at_ms,
        "state": buy_state(&b.body),
        "body": body_json(&b.body),
    });
    // The JIT flow as an operator reads it: parts, channel, fee taken; the whole flow too.
    let flow = b
        .jit_flow
        .as_deref()
        .and_then(|text| serde_json::from_str::<lsps_core::lsps2::JitFlow>(text).ok());
    if let Some(flow) = flow {
        view["jit"] = serde_json::json!({
            "state": flow.state().name(),
            "parts": flow.parts(),
            "channel_id": flow.channel_id().map(|c| c.to_string()),
            "open_attempt": flow.channel_attempt(),
            "fee_taken_msat": flow.fee_taken_msat().get(),
        });
    }
    if let Some(text) = &b.jit_flow {
        view["jit_flow"] = body_json(text);
    }
    view
}

async fn list_orders(State(context): State<AdminContext>) -> Response {
    match context.store.load_orders().await {
        Ok(orders) => json(&Value::Array(orders.iter().map(order_json).collect())),
        Err(e) => internal(e),
    }
}

async fn get_order(State(context): State<AdminContext>, Path(order_id): Path<String>) -> Response {
    match context.store.get_order(&order_id).await {
        Ok(Some(order)) => json(&order_json(&order)),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "no such order".into(),
        ),
        Err(e) => internal(e),
    }
}

async fn list_buys(State(context): State<AdminContext>) -> Response {
    match context.store.load_buys().await {
        Ok(buys) => json(&Value::Array(buys.iter().map(buy_json).collect())),
        Err(e) => internal(e),
    }
}

async fn get_buy(State(context): State<AdminContext>, Path(scid): Path<String>) -> Response {
    let Ok(scid) = scid.parse::<u64>() else {
        return text(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "scid: u64 expected".into(),
        );
    };
    match context.store.get_buy(scid).await {
        Ok(Some(buy)) => json(&buy_json(&buy)),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "no such buy".into(),
        ),
        Err(e) => internal(e),
    }
}

/// `POST /dev/pay` `{"invoice", "amount_msat"?, "timeout_secs"?}`: the dev payer pays and
/// answers with a [`crate::dev_payer::PayReport`] (200 whether paid or failed; 400 for a bad
/// request, 404 without a dev payer, 503 while it cannot pay).
async fn dev_pay(State(context): State<AdminContext>, body: String) -> Response {
    let Some(payer) = &context.dev_payer else {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "no dev payer: the server is not on its embedded dev chain, or dev_chain.payer is off"
                .into(),
        );
    };
    let request: crate::dev_payer::PayRequest = match serde_json::from_str(&body) {
        Ok(request) => request,
        Err(e) => return text(StatusCode::BAD_REQUEST, "text/plain", e.to_string()),
    };
    match payer.pay(&request).await {
        Ok(report) => match serde_json::to_value(&report) {
            Ok(value) => json(&value),
            Err(e) => internal(e),
        },
        Err(e) if e.starts_with("not a BOLT11") => text(StatusCode::BAD_REQUEST, "text/plain", e),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
    }
}

/// The admin router; every route needs the token.
pub fn router(context: AdminContext) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/admin/orders", get(list_orders))
        .route("/admin/orders/{order_id}", get(get_order))
        .route("/admin/buys", get(list_buys))
        .route("/admin/buys/{scid}", get(get_buy))
        .route("/dev/pay", axum::routing::post(dev_pay))
        .layer(axum::middleware::from_fn_with_state(
            context.clone(),
            require_token,
        ))
        .with_state(context)
}

/// Serve the admin API on `listener` until `shutdown` flips.
pub async fn serve(
    listener: TcpListener,
    context: AdminContext,
    mut shutdown: watch::Receiver<bool>,
) {
    let result = axum::serve(listener, router(context))
        .with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!("admin listener: {e}");
    }
}

/// Write `{"url", "token"}` to `<data_dir>/admin.json`, readable by the owner only.
pub fn write_admin_file(
    data_dir: &std::path::Path,
    addr: SocketAddr,
    token: &str,
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join(ADMIN_FILE);
    let tmp = data_dir.join(format!("{ADMIN_FILE}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    let body = serde_json::json!({ "url": format!("http://{addr}"), "token": token });
    file.write_all(body.to_string().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// A fresh random token (32 bytes, hex).
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(
            method_label(b"{\"method\":\"lsps1.get_info\"}"),
            "lsps1.get_info"
        );
        assert_eq!(method_label(b"{\"method\":\"x.y\"}"), "unknown");
        assert_eq!(method_label(b"{}"), "none");
        assert_eq!(method_label(b"\xff"), "invalid");
        assert_eq!(limit_name("rate limit: more than 1 requests"), "peer_rate");
        assert_eq!(
            limit_name("server busy: 4 callers being served"),
            "tracked_callers"
        );
        assert!(same_token(b"abc", b"abc"));
        assert!(!same_token(b"abd", b"abc"));
        assert!(!same_token(b"ab", b"abc"));
    }
}
