//! The typed client: one method per LSPS0/1/2 call, a pending `RequestId → Method` map,
//! per-request timeouts, and the client-side checks of the specs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lsps_core::jsonrpc::{
    BadMessage, ErrorObject, IncomingMessage, Method, Request, RequestId, RequestParams,
    ResponseResult, decode_response,
};
use lsps_core::types::{Datetime, Msat};
use lsps_core::{lsps0, lsps1, lsps2};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{CheckFailure, ClientError, LspError};
use crate::transport::{Transport, TransportEvent};

/// Largest channel (sat) a peer without `option_support_large_channel` accepts (2^24 - 1).
pub const MAX_NON_LARGE_CHANNEL_SAT: u64 = 16_777_215;

/// Default per-request timeout. LSPS0 suggests minutes; interactive use wants less.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A message the client received and ignored, kept for diagnostics (`lsps --verbose`, tests).
#[derive(Clone, Debug, PartialEq)]
pub struct IgnoredMessage {
    /// The payload as received.
    pub payload: Vec<u8>,
    /// Why it was ignored.
    pub reason: IgnoreReason,
}

/// Why a received message did not answer any request.
#[derive(Clone, Debug, PartialEq)]
pub enum IgnoreReason {
    /// A response with an id this client did not issue (or already forgot): LSPS0 MUST ignore.
    UnknownId(RequestId),
    /// A notification; no LSPS0/1/2 notification exists (LSPS0: ignore unknown ones).
    Notification(String),
    /// An error with `id: null` (the LSP could not read one of our messages).
    ErrorWithoutId(ErrorObject),
    /// A bad message (LSPS0: ignore it, and stop sending on this connection).
    BadMessage(String),
}

/// Limits a caller sets on `lsps2.buy`; checked before the request is sent.
#[derive(Clone, Debug, Default)]
pub struct BuyLimits {
    /// Refuse if the opening fee (or, without a payment size, `min_fee_msat`) exceeds this.
    pub max_fee_msat: Option<Msat>,
    /// Accept `client_trusts_lsp: true` in the result (bLIP-52: trust the LSP or abort).
    pub accept_client_trusts_lsp: bool,
}

/// One `opening_fee_params` menu entry: typed, plus its JSON exactly as the LSP sent it (what
/// `lsps2.buy` sends back).
#[derive(Clone, Debug, PartialEq)]
pub struct FeeOffer {
    /// The typed entry (what the checks use).
    pub params: lsps2::OpeningFeeParams,
    /// The entry's JSON as received.
    pub raw: Value,
}

impl FeeOffer {
    /// An offer from typed params only (canonical encoding; use the offers returned by
    /// [`LspsClient::lsps2_get_info`] to send back exactly what the LSP sent).
    pub fn from_params(params: lsps2::OpeningFeeParams) -> Self {
        Self {
            raw: Self::encode(&params),
            params,
        }
    }

    fn encode(params: &lsps2::OpeningFeeParams) -> Value {
        serde_json::to_value(params).unwrap_or(Value::Null)
    }
}

/// The `lsps2.get_info` result: the checked menu, cheapest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Lsps2Menu {
    /// The offers in the LSP's order (checked to be the order bLIP-52 requires).
    pub offers: Vec<FeeOffer>,
}

impl Lsps2Menu {
    /// The typed entries.
    pub fn params(&self) -> Vec<lsps2::OpeningFeeParams> {
        self.offers.iter().map(|o| o.params.clone()).collect()
    }
}

/// What `lsps2.buy` returned, with the fee the client computed for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyOutcome {
    /// The LSP's result.
    pub result: lsps2::BuyResult,
    /// The opening fee for `payment_size_msat` (`None` in no-MPP+var-invoice mode, where the
    /// fee depends on the amount the payer sends).
    pub opening_fee_msat: Option<Msat>,
}

/// The typed body of a reply and the payload it came in (kept for verbatim copies).
type Reply = Result<(Result<ResponseResult, ErrorObject>, Vec<u8>), ClientError>;

struct Pending {
    method: Method,
    reply: oneshot::Sender<Reply>,
    // The connection the request went out on (set once `send` returns).
    connection: Option<crate::transport::ConnectionId>,
}

struct Shared {
    pending: Mutex<HashMap<RequestId, Pending>>,
    ignored: Mutex<Vec<IgnoredMessage>>,
    // Set after a bad message (LSPS0 SHOULD: stop sending until reconnected).
    stopped: Mutex<Option<String>>,
}

/// An LSPS client over any [`Transport`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use lsps_client::transport::bolt8::{Bolt8Connector, Bolt8Transport, NodeKey};
/// use lsps_client::{BuyLimits, LspsClient};
/// let target = "02...@127.0.0.1:9735".parse()?;
/// let transport = Bolt8Transport::connect(Bolt8Connector::new(target, NodeKey::random())).await?;
/// let client = LspsClient::new(transport);
/// let protocols = client.list_protocols().await?;
/// let menu = client.lsps2_get_info(None).await?;
/// let bought = client
///     .lsps2_buy(&menu.offers[0], Some(lsps_core::types::Msat(50_000_000)), &BuyLimits::default())
///     .await?;
/// # let _ = (protocols, bought); Ok(()) }
/// ```
pub struct LspsClient {
    transport: Arc<dyn Transport>,
    shared: Arc<Shared>,
    timeout: Duration,
    reader: JoinHandle<()>,
}

impl Drop for LspsClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl LspsClient {
    /// A client over `transport` with [`DEFAULT_TIMEOUT`]. Must be called inside a tokio
    /// runtime (it spawns the reader task).
    pub fn new(transport: impl Transport) -> Self {
        Self::from_arc(Arc::new(transport))
    }

    /// Like [`LspsClient::new`] for a shared transport.
    pub fn from_arc(transport: Arc<dyn Transport>) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            ignored: Mutex::new(Vec::new()),
            stopped: Mutex::new(None),
        });
        let reader = tokio::spawn(read_loop(Arc::clone(&transport), Arc::clone(&shared)));
        Self {
            transport,
            shared,
            timeout: DEFAULT_TIMEOUT,
            reader,
        }
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The transport's description of the LSP.
    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// Messages received and ignored so far.
    pub fn ignored_messages(&self) -> Vec<IgnoredMessage> {
        self.shared
            .ignored
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }

    /// Sends one request and waits for its typed reply. Errors from the LSP come back as
    /// [`ClientError::Lsp`].
    pub async fn call(&self, params: RequestParams) -> Result<ResponseResult, ClientError> {
        let method = params.method();
        self.exchange(method, |id| Request::new(id, params).to_bytes())
            .await
            .map(|(result, _)| result)
    }

    /// Sends the request `encode` builds for a fresh id; returns the typed result and the
    /// raw reply payload.
    async fn exchange(
        &self,
        method: Method,
        encode: impl FnOnce(RequestId) -> Vec<u8>,
    ) -> Result<(ResponseResult, Vec<u8>), ClientError> {
        if let Some(reason) = self.shared.stopped.lock().ok().and_then(|s| s.clone()) {
            return Err(ClientError::StoppedAfterBadMessage(reason));
        }
        // 128 bits from rand's ThreadRng (ChaCha, seeded by the OS): LSPS0 wants ≥ 80 random
        // bits from a CSPRNG, never a counter.
        let id = RequestId::from_entropy(rand::random());
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.shared.pending.lock() {
            pending.insert(
                id.clone(),
                Pending {
                    method,
                    reply: tx,
                    connection: None,
                },
            );
        }
        let payload = encode(id.clone());
        match self.transport.send(payload).await {
            Ok(connection) => {
                if let Ok(mut pending) = self.shared.pending.lock()
                    && let Some(entry) = pending.get_mut(&id)
                {
                    entry.connection = Some(connection);
                }
            }
            Err(e) => {
                self.forget(&id);
                return Err(e.into());
            }
        }
        let outcome = tokio::time::timeout(self.timeout, rx).await;
        self.forget(&id);
        match outcome {
            Ok(Ok(Ok((Ok(result), payload)))) => Ok((result, payload)),
            Ok(Ok(Ok((Err(error), _)))) => Err(ClientError::Lsp {
                method,
                error: LspError::from_object(error),
            }),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(ClientError::Disconnected { method }),
            Err(_) => Err(ClientError::Timeout {
                method,
                after: self.timeout,
            }),
        }
    }

    fn forget(&self, id: &RequestId) {
        if let Ok(mut pending) = self.shared.pending.lock() {
            pending.remove(id);
        }
    }

    /// `lsps0.list_protocols`.
    pub async fn list_protocols(&self) -> Result<lsps0::ListProtocolsResult, ClientError> {
        match self
            .call(RequestParams::Lsps0ListProtocols(
                lsps0::ListProtocolsRequest {},
            ))
            .await?
        {
            ResponseResult::Lsps0ListProtocols(r) => Ok(r),
            other => Err(mismatched(Method::Lsps0ListProtocols, &other)),
        }
    }

    /// `lsps1.get_info`; the options are checked against bLIP-51's rules (min ≤ max, …).
    pub async fn lsps1_get_info(&self) -> Result<lsps1::GetInfoResult, ClientError> {
        match self
            .call(RequestParams::Lsps1GetInfo(lsps1::GetInfoRequest {}))
            .await?
        {
            ResponseResult::Lsps1GetInfo(r) => {
                r.validate()
                    .map_err(|e| ClientError::Check(CheckFailure::InvalidOptions(e)))?;
                Ok(r)
            }
            other => Err(mismatched(Method::Lsps1GetInfo, &other)),
        }
    }

    /// `lsps1.create_order`. With `options` (from `lsps1_get_info`) the order is checked
    /// against them before it is sent. The returned order is checked: per-option
    /// `order_total_sat = fee_total_sat + client_balance_sat`, states, invoice length, and
    /// that it mirrors the request — before the caller pays anything.
    pub async fn lsps1_create_order(
        &self,
        request: lsps1::CreateOrderRequest,
        options: Option<&lsps1::GetInfoResult>,
    ) -> Result<lsps1::OrderResult, ClientError> {
        if let Some(options) = options {
            request
                .order
                .check_against(options)
                .map_err(|e| ClientError::Check(CheckFailure::OrderOutsideOptions(e)))?;
        }
        // bLIP-51: a client MUST check option_support_large_channel before ordering a channel
        // over 16,777,215 sat (only BOLT8 tells us; over HTTP the LSP's options must do).
        let total = request
            .order
            .lsp_balance_sat
            .get()
            .saturating_add(request.order.client_balance_sat.get());
        if total > MAX_NON_LARGE_CHANNEL_SAT
            && self.transport.peer_supports_large_channels() == Some(false)
        {
            return Err(ClientError::Check(CheckFailure::LargeChannelNotSupported {
                channel_sat: total,
            }));
        }
        match self
            .call(RequestParams::Lsps1CreateOrder(request.clone()))
            .await?
        {
            ResponseResult::Lsps1CreateOrder(order) | ResponseResult::Lsps1GetOrder(order) => {
                order.validate()?;
                order.check_mirrors(&request)?;
                Ok(order)
            }
            other => Err(mismatched(Method::Lsps1CreateOrder, &other)),
        }
    }

    /// `lsps1.get_order`; the order object is checked as for `create_order`.
    pub async fn lsps1_get_order(
        &self,
        order_id: lsps1::OrderId,
    ) -> Result<lsps1::OrderResult, ClientError> {
        match self
            .call(RequestParams::Lsps1GetOrder(lsps1::GetOrderRequest {
                order_id,
            }))
            .await?
        {
            ResponseResult::Lsps1GetOrder(order) | ResponseResult::Lsps1CreateOrder(order) => {
                order.validate()?;
                Ok(order)
            }
            other => Err(mismatched(Method::Lsps1GetOrder, &other)),
        }
    }

    /// `lsps2.get_info`. Unknown fields in any menu entry abort (bLIP-52 MUST; raised as
    /// [`CheckFailure::UnknownFeeParamsField`]), as do a menu out of order and a promise over
    /// 512 bytes or otherwise malformed. Each entry keeps its JSON exactly as received, so
    /// `lsps2_buy` can copy it back verbatim (bLIP-52 MUST; LDK's promise covers
    /// `valid_until` as text, so a re-encoded timestamp would not verify).
    pub async fn lsps2_get_info(&self, token: Option<String>) -> Result<Lsps2Menu, ClientError> {
        let params = RequestParams::Lsps2GetInfo(lsps2::GetInfoRequest { token });
        let (result, payload) = self
            .exchange(Method::Lsps2GetInfo, |id| {
                Request::new(id, params).to_bytes()
            })
            .await?;
        let ResponseResult::Lsps2GetInfo(info) = result else {
            return Err(mismatched(Method::Lsps2GetInfo, &result));
        };
        check_menu(&info.opening_fee_params_menu)?;
        let raw_entries = raw_menu_entries(&payload);
        let offers = info
            .opening_fee_params_menu
            .into_iter()
            .enumerate()
            .map(|(i, params)| FeeOffer {
                raw: raw_entries
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| FeeOffer::encode(&params)),
                params,
            })
            .collect();
        Ok(Lsps2Menu { offers })
    }

    /// `lsps2.buy` with one offer, whose JSON is passed back verbatim. Checked before
    /// sending: the promise format, `valid_until` in the future, `payment_size_msat` within
    /// [min, max], the opening fee without overflow, below the payment size and within
    /// `limits.max_fee_msat`. Checked after: `client_trusts_lsp` against
    /// `limits.accept_client_trusts_lsp`.
    pub async fn lsps2_buy(
        &self,
        offer: &FeeOffer,
        payment_size_msat: Option<Msat>,
        limits: &BuyLimits,
    ) -> Result<BuyOutcome, ClientError> {
        let now = now().ok_or(ClientError::Clock)?;
        let opening_fee_msat = check_buy(&offer.params, payment_size_msat, limits, now)?;
        let mut params = serde_json::Map::new();
        params.insert("opening_fee_params".into(), offer.raw.clone());
        if let Some(size) = payment_size_msat {
            params.insert("payment_size_msat".into(), Value::String(size.to_string()));
        }
        let (result, _) = self
            .exchange(Method::Lsps2Buy, |id| {
                let request = serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "method": Method::Lsps2Buy.name(),
                    "params": params,
                });
                request.to_string().into_bytes()
            })
            .await?;
        let ResponseResult::Lsps2Buy(result) = result else {
            return Err(mismatched(Method::Lsps2Buy, &result));
        };
        if result.client_trusts_lsp && !limits.accept_client_trusts_lsp {
            return Err(ClientError::Check(CheckFailure::ClientTrustsLspRefused));
        }
        Ok(BuyOutcome {
            result,
            opening_fee_msat,
        })
    }
}

/// The `opening_fee_params_menu` entries of a `get_info` reply as raw JSON values (empty if
/// the payload is not shaped as expected; the typed decode has already succeeded then).
fn raw_menu_entries(payload: &[u8]) -> Vec<Value> {
    serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|mut v| {
            v.get_mut("result")
                .and_then(|r| r.get_mut("opening_fee_params_menu"))
                .map(Value::take)
        })
        .and_then(|menu| match menu {
            Value::Array(entries) => Some(entries),
            _ => None,
        })
        .unwrap_or_default()
}

fn mismatched(method: Method, got: &ResponseResult) -> ClientError {
    // Cannot happen: results are typed by the pending map's method. Kept total anyway.
    ClientError::Check(CheckFailure::InvalidResult {
        method,
        property: String::new(),
        message: format!("typed as a {} result", got.method()),
    })
}

/// The client's clock as an LSPS datetime (`None` only if the clock is before 1970 or after
/// 9999).
pub fn now() -> Option<Datetime> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_millis()).ok())?;
    Datetime::from_unix_millis(millis).ok()
}

/// The menu checks of `lsps2.get_info` (order, promise format). Unknown fields are rejected
/// while decoding, before this runs.
pub fn check_menu(menu: &[lsps2::OpeningFeeParams]) -> Result<(), ClientError> {
    for (index, entry) in menu.iter().enumerate() {
        entry
            .check_promise_format()
            .map_err(|error| ClientError::Check(CheckFailure::Promise { index, error }))?;
    }
    lsps2::validate_menu(menu)?;
    Ok(())
}

/// The checks `lsps2_buy` runs before sending, at time `now`; returns the opening fee for the
/// payment size (if one is given).
pub fn check_buy(
    params: &lsps2::OpeningFeeParams,
    payment_size_msat: Option<Msat>,
    limits: &BuyLimits,
    now: Datetime,
) -> Result<Option<Msat>, ClientError> {
    params
        .check_promise_format()
        .map_err(|error| ClientError::Check(CheckFailure::Promise { index: 0, error }))?;
    if params.valid_until <= now {
        return Err(ClientError::Check(CheckFailure::OfferExpired {
            valid_until: params.valid_until,
            now,
        }));
    }
    let Some(size) = payment_size_msat else {
        // No-MPP+var-invoice: the fee is at least min_fee_msat, whatever the payer sends.
        if let Some(limit) = limits.max_fee_msat
            && params.min_fee_msat > limit
        {
            return Err(ClientError::Check(CheckFailure::FeeAboveLimit {
                fee: params.min_fee_msat,
                limit,
            }));
        }
        return Ok(None);
    };
    if !params.accepts_payment_size(size) {
        return Err(ClientError::Check(CheckFailure::PaymentSizeOutOfRange {
            size,
            min: params.min_payment_size_msat,
            max: params.max_payment_size_msat,
        }));
    }
    let fee = params.opening_fee(size)?;
    if fee >= size {
        return Err(ClientError::Check(CheckFailure::FeeNotBelowPaymentSize {
            fee,
            size,
        }));
    }
    if let Some(limit) = limits.max_fee_msat
        && fee > limit
    {
        return Err(ClientError::Check(CheckFailure::FeeAboveLimit {
            fee,
            limit,
        }));
    }
    Ok(Some(fee))
}

fn record_ignored(shared: &Shared, payload: Vec<u8>, reason: IgnoreReason) {
    if let Ok(mut ignored) = shared.ignored.lock() {
        // Bounded: a chatty peer must not grow this without limit.
        if ignored.len() < 1024 {
            ignored.push(IgnoredMessage { payload, reason });
        }
    }
}

fn take_pending(shared: &Shared, id: &RequestId) -> Option<Pending> {
    shared.pending.lock().ok().and_then(|mut p| p.remove(id))
}

/// The `id` of a message that failed decoding, if it is a JSON object with a string id (so
/// the request it claims to answer can be failed at once instead of timing out).
fn claimed_id(payload: &[u8]) -> Option<RequestId> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .map(|s| RequestId(s.to_owned()))
}

async fn read_loop(transport: Arc<dyn Transport>, shared: Arc<Shared>) {
    while let Some(event) = transport.recv().await {
        let payload = match event {
            TransportEvent::Message(payload) => payload,
            TransportEvent::Disconnected { connection } => {
                // Only requests sent on the closed connection lose their reply; a reconnecting
                // transport may already carry newer ones.
                let drained: Vec<Pending> = shared
                    .pending
                    .lock()
                    .map(|mut p| {
                        let gone: Vec<RequestId> = p
                            .iter()
                            .filter(|(_, v)| v.connection == Some(connection))
                            .map(|(k, _)| k.clone())
                            .collect();
                        gone.iter().filter_map(|id| p.remove(id)).collect()
                    })
                    .unwrap_or_default();
                for pending in drained {
                    let _ = pending.reply.send(Err(ClientError::Disconnected {
                        method: pending.method,
                    }));
                }
                if let Ok(mut stopped) = shared.stopped.lock() {
                    *stopped = None;
                }
                continue;
            }
        };
        let lookup = |id: &RequestId| -> Option<Method> {
            shared
                .pending
                .lock()
                .ok()
                .and_then(|p| p.get(id).map(|pending| pending.method))
        };
        match decode_response(&payload, &lookup) {
            Ok(IncomingMessage::Response { id, body, .. }) => {
                if let Some(pending) = take_pending(&shared, &id) {
                    let _ = pending.reply.send(Ok((body, payload)));
                }
            }
            Ok(IncomingMessage::UnknownId { id }) => {
                record_ignored(&shared, payload, IgnoreReason::UnknownId(id));
            }
            Ok(IncomingMessage::Notification(n)) => {
                record_ignored(&shared, payload, IgnoreReason::Notification(n.method));
            }
            Ok(IncomingMessage::ErrorWithoutId(error)) => {
                record_ignored(&shared, payload, IgnoreReason::ErrorWithoutId(error));
            }
            Err(BadMessage::InvalidResult { id, method, error }) => {
                let Some(pending) = take_pending(&shared, &id) else {
                    continue;
                };
                let failure = if method == Method::Lsps2GetInfo
                    && error.message == "unknown field"
                    && error.property.starts_with("opening_fee_params_menu.")
                {
                    ClientError::Check(CheckFailure::UnknownFeeParamsField {
                        property: error.property,
                    })
                } else {
                    ClientError::Check(CheckFailure::InvalidResult {
                        method,
                        property: error.property,
                        message: error.message,
                    })
                };
                let _ = pending.reply.send(Err(failure));
            }
            Err(bad) => {
                let reason = bad.to_string();
                if let Ok(mut stopped) = shared.stopped.lock() {
                    *stopped = Some(reason.clone());
                }
                if let Some(pending) =
                    claimed_id(&payload).and_then(|id| take_pending(&shared, &id))
                {
                    let _ = pending
                        .reply
                        .send(Err(ClientError::Check(CheckFailure::BadReply {
                            method: pending.method,
                            reason: reason.clone(),
                        })));
                }
                record_ignored(&shared, payload, IgnoreReason::BadMessage(reason));
            }
        }
    }
}
