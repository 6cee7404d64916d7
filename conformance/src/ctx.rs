//! What a case procedure works with: [`CaseCtx`] opens [`Conn`]ections to the target; every
//! payload in either direction is written to the case transcript, and every payload received is
//! validated against `spec/schemas` and timed, independent of what the case itself checks.

use crate::code;
use crate::report::{Direction, TranscriptEntry, payload_text};
use crate::schema::SchemaSet;
use crate::target::{RawConnection, Target, TargetError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default `--slow-ms`: replies slower than this are flagged (WARN) by
/// `lsps0.latency.replies-within-5s` (ldk-node gives up on an LSP after 5 s).
pub const SLOW_REPLY: Duration = Duration::from_secs(5);

/// What the probe learnt before the cases ran.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// `lsps0.list_protocols` result, if it was well-formed.
    pub protocols: Option<Vec<u16>>,
    /// `lsps1.get_info` result object, if LSPS1 is advertised and answered.
    pub lsps1_info: Option<Value>,
    /// `lsps2.get_info` result object, if LSPS2 is advertised and answered.
    pub lsps2_info: Option<Value>,
    /// Protocols whose probe request the LSP refused (code 1), with its reason.
    pub refused: Vec<(u16, String)>,
}

impl Probe {
    /// Whether protocol `n` was advertised.
    pub fn advertises(&self, n: u16) -> bool {
        self.protocols.as_ref().is_some_and(|p| p.contains(&n))
    }

    /// Why the probe's request for protocol `n` was refused, if it was.
    pub fn refusal(&self, n: u16) -> Option<&str> {
        self.refused
            .iter()
            .find(|(p, _)| *p == n)
            .map(|(_, why)| why.as_str())
    }
}

/// A received payload that failed schema or envelope validation.
#[derive(Debug, Clone)]
pub struct WireFinding {
    /// Which wire rule: `envelope`, `LSPS0-R22`, `LSPS0-R32`, `LSPS0-R49`, `LSPS0-R53`,
    /// `LSPS0-R58` or `schema`.
    pub rule: &'static str,
    /// The case during which it arrived.
    pub case_id: String,
    /// What was wrong.
    pub problem: String,
    /// The payload.
    pub payload: String,
}

/// A reply that took longer than [`Shared::slow`].
#[derive(Debug, Clone)]
pub struct SlowReply {
    /// The case during which it arrived.
    pub case_id: String,
    /// The method it answered.
    pub method: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// State shared by every case of a run.
pub struct Shared {
    /// The target.
    pub target: Arc<dyn Target>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Replies slower than this are an interop WARN.
    pub slow: Duration,
    /// `--token`: sent with `lsps1.create_order` and `lsps2.get_info` where a case needs the
    /// LSP to serve it.
    pub token: Option<String>,
    /// Schemas for wire validation.
    pub schemas: Arc<SchemaSet>,
    /// The probe's findings.
    pub probe: Probe,
    /// Wire-validation failures collected from all cases.
    pub wire_findings: Mutex<Vec<WireFinding>>,
    /// Replies slower than [`Shared::slow`].
    pub slow_replies: Mutex<Vec<SlowReply>>,
    /// Number of messages received and validated.
    pub messages_validated: AtomicU32,
    /// Runner node ids seen (first connection), for the report's `run` block.
    pub runner_node_id: Mutex<Option<String>>,
    /// For each negative case: whether the connection was still served afterwards.
    pub followups: Mutex<Vec<(String, Served)>>,
    /// The flow tier's nodes (`None`: no chain was given, flow cases are SKIP).
    pub flow: Option<Arc<crate::flow::FlowEnv>>,
}

impl Shared {
    /// Creates the shared state for a run.
    pub fn new(
        target: Arc<dyn Target>,
        timeout: Duration,
        schemas: Arc<SchemaSet>,
        probe: Probe,
    ) -> Shared {
        Shared {
            target,
            timeout,
            slow: SLOW_REPLY,
            token: None,
            schemas,
            probe,
            wire_findings: Mutex::new(Vec::new()),
            slow_replies: Mutex::new(Vec::new()),
            messages_validated: AtomicU32::new(0),
            runner_node_id: Mutex::new(None),
            followups: Mutex::new(Vec::new()),
            flow: None,
        }
    }
}

/// The context handed to a case procedure.
#[derive(Clone)]
pub struct CaseCtx {
    /// The case id (for findings).
    pub case_id: &'static str,
    /// Run-wide state.
    pub shared: Arc<Shared>,
    log: Arc<Mutex<Vec<TranscriptEntry>>>,
    next_conn: Arc<AtomicU32>,
    steps: Arc<Mutex<Vec<crate::report::StepTime>>>,
}

impl CaseCtx {
    /// A context for case `case_id`.
    pub fn new(case_id: &'static str, shared: Arc<Shared>) -> CaseCtx {
        CaseCtx {
            case_id,
            shared,
            log: Arc::new(Mutex::new(Vec::new())),
            next_conn: Arc::new(AtomicU32::new(1)),
            steps: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The probe's findings.
    pub fn probe(&self) -> &Probe {
        &self.shared.probe
    }

    /// Opens a fresh connection to the target.
    pub async fn connect(&self) -> Result<Conn, Abort> {
        let index = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let connecting = self.shared.target.connect();
        let raw = match tokio::time::timeout(self.shared.timeout * 2, connecting).await {
            Ok(Ok(raw)) => raw,
            Ok(Err(e)) => return Err(Abort::Error(e.to_string())),
            Err(_) => return Err(Abort::Error("timed out connecting to the target".into())),
        };
        if let Some(node) = &raw.local_node_id
            && let Ok(mut slot) = self.shared.runner_node_id.lock()
            && slot.is_none()
        {
            *slot = Some(node.clone());
        }
        Ok(Conn {
            index,
            raw,
            ctx: self.clone(),
            pending: HashMap::new(),
            sent_ids: std::collections::HashSet::new(),
            session: self.shared.target.is_session_oriented(),
        })
    }

    /// The flow tier's nodes, or SKIP when the run has none.
    pub fn flow(&self) -> Result<Arc<crate::flow::FlowEnv>, Abort> {
        self.shared.flow.clone().ok_or_else(|| {
            Abort::Precondition(
                "the flow tier needs a regtest chain: --bitcoind-rpc URL (or --spawn-reference)"
                    .into(),
            )
        })
    }

    /// Records that `step` started at `started` and ended now (flow cases).
    pub fn step(&self, step: &str, started: Instant) {
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(crate::report::StepTime::since(step, started));
        }
    }

    /// Records that `step` took from `from` to `to` (flow cases).
    pub fn step_between(&self, step: &str, from: Instant, to: Instant) {
        if let Ok(mut steps) = self.steps.lock() {
            steps.push(crate::report::StepTime {
                step: step.to_owned(),
                ms: u64::try_from(to.saturating_duration_since(from).as_millis())
                    .unwrap_or(u64::MAX),
            });
        }
    }

    /// Writes a line about something other than a message to the transcript (flow cases:
    /// what the nodes saw).
    pub fn note(&self, text: impl Into<String>) {
        self.record(0, Direction::Event, text.into());
    }

    /// The step times so far.
    pub fn steps(&self) -> Vec<crate::report::StepTime> {
        self.steps.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The transcript so far.
    pub fn transcript(&self) -> Vec<TranscriptEntry> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn record(&self, conn: u32, dir: Direction, payload: String) {
        if let Ok(mut log) = self.log.lock() {
            log.push(TranscriptEntry { conn, dir, payload });
        }
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.shared.timeout
    }
}

/// Why a procedure stopped before reaching its own verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// A reply the case needs did not arrive in time.
    Timeout(String),
    /// The target violated the rule under test (or one the case depends on).
    Violation(String),
    /// A precondition the target does not meet (e.g. an empty fee menu).
    Precondition(String),
    /// A harness or network fault.
    Error(String),
    /// The LSP answered code 1 `client_rejected`, a legal answer to any request (bLIP-50): the
    /// case could not run (SKIP, and the run is incomplete).
    Refused(String),
    /// An answer the bLIPs allow but that a client may not expect (a SHOULD or MAY not
    /// followed, a defined code not used): WARN whatever the case's level.
    Advisory(String),
    /// The LSP advertises the protocol but not the option the case checks (e.g. no on-chain
    /// payment for LSPS1 orders): N/A.
    NotApplicable(String),
}

/// The prefix of the message of a case skipped because the LSP refused the runner.
pub const REFUSED_PREFIX: &str = "refused: the LSP refused this client (client_rejected)";

/// An error object as received (not yet judged).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReply {
    /// `error.code` (if it was an integer).
    pub code: Option<i64>,
    /// `error.message` (if it was a string).
    pub message: Option<String>,
    /// `error.data` as sent (absent = `None`).
    pub data: Option<Value>,
}

impl ErrorReply {
    /// `code N "message"` for reports.
    pub fn describe(&self) -> String {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => format!("error {c} \"{m}\""),
            (Some(c), None) => format!("error {c}"),
            _ => "malformed error object".into(),
        }
    }
}

/// One message received from the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A response carrying `result`.
    Result {
        /// The `id` member as received.
        id: Value,
        /// The `result` member.
        result: Value,
    },
    /// A response carrying `error`.
    Error {
        /// The `id` member as received (`Value::Null` for `null`).
        id: Value,
        /// The error.
        error: ErrorReply,
    },
    /// Something that is not a response (a notification, a request, junk).
    Other {
        /// Why it is not a response.
        why: String,
    },
}

/// The outcome of waiting for one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Recv {
    /// A message arrived.
    Message(Incoming),
    /// Nothing arrived within the timeout.
    Timeout,
    /// The target closed the connection.
    Closed,
}

/// Whether a connection is still served after a bad message (LSPS0-R11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// A follow-up `lsps0.list_protocols` got a result.
    Yes,
    /// The follow-up got no reply: the target muted the peer.
    Muted,
    /// The target closed the connection.
    Closed,
    /// The follow-up got something other than a result.
    Other(String),
}

/// One connection of a case.
pub struct Conn {
    index: u32,
    raw: RawConnection,
    ctx: CaseCtx,
    /// Ids this connection sent, with the method and the send time.
    pending: HashMap<String, (String, Instant)>,
    /// Every string id this connection sent (for LSPS0-R64: replies echo a request's id).
    sent_ids: std::collections::HashSet<String>,
    session: bool,
}

/// A fresh high-entropy request id (LSPS0: ≥ 80 random bits, a string).
pub fn fresh_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

impl Conn {
    /// The case this connection belongs to.
    pub fn ctx(&self) -> &CaseCtx {
        &self.ctx
    }

    /// The runner's node id on this connection.
    pub fn local_node_id(&self) -> Option<&str> {
        self.raw.local_node_id.as_deref()
    }

    /// Sends raw bytes. If they parse as a request with a string id, the id is remembered so
    /// the reply can be timed and schema-checked.
    pub fn send_raw(&mut self, bytes: impl Into<Vec<u8>>) -> Result<(), Abort> {
        let bytes = bytes.into();
        // The first JSON value, even if more bytes follow (an LSP may answer it).
        let first = serde_json::Deserializer::from_slice(&bytes)
            .into_iter::<Value>()
            .next()
            .and_then(Result::ok);
        if let Some(Value::Object(map)) = first
            && let Some(Value::String(id)) = map.get("id")
        {
            self.sent_ids.insert(id.clone());
            if let Some(Value::String(method)) = map.get("method") {
                self.pending
                    .insert(id.clone(), (method.clone(), Instant::now()));
            }
        }
        self.ctx
            .record(self.index, Direction::Sent, payload_text(&bytes));
        self.raw
            .outgoing
            .send(bytes)
            .map_err(|_| Abort::Violation("the target closed the connection".into()))
    }

    /// Sends a well-formed request and returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> Result<String, Abort> {
        let id = fresh_id();
        let payload = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(payload.to_string())?;
        Ok(id)
    }

    /// Waits up to the per-request timeout for the next message.
    pub async fn recv(&mut self) -> Recv {
        let timeout = self.ctx.timeout();
        self.recv_within(timeout).await
    }

    /// Waits up to `timeout` for the next message.
    pub async fn recv_within(&mut self, timeout: Duration) -> Recv {
        match tokio::time::timeout(timeout, self.raw.incoming.recv()).await {
            Err(_) => {
                self.ctx.record(
                    self.index,
                    Direction::Event,
                    format!("no message within {} ms", timeout.as_millis()),
                );
                Recv::Timeout
            }
            Ok(None) => {
                self.ctx.record(
                    self.index,
                    Direction::Event,
                    "connection closed by the target".into(),
                );
                Recv::Closed
            }
            Ok(Some(bytes)) => {
                self.ctx
                    .record(self.index, Direction::Received, payload_text(&bytes));
                Recv::Message(self.inspect(&bytes))
            }
        }
    }

    /// Sends a request and waits for the reply with the same id (other messages are recorded
    /// and skipped, as LSPS0 tells clients to ignore unknown ids).
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Incoming, Abort> {
        let id = self.send_request(method, params)?;
        self.reply_to(&id, method).await
    }

    /// Waits for the reply to `id`.
    pub async fn reply_to(&mut self, id: &str, method: &str) -> Result<Incoming, Abort> {
        let timeout = self.ctx.timeout();
        self.reply_to_within(id, method, timeout).await
    }

    /// Waits up to `window` for the reply to `id`.
    pub async fn reply_to_within(
        &mut self,
        id: &str,
        method: &str,
        window: Duration,
    ) -> Result<Incoming, Abort> {
        let deadline = Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_within(left).await {
                Recv::Timeout => {
                    return Err(Abort::Timeout(format!(
                        "no reply to {method} within {} ms",
                        window.as_millis()
                    )));
                }
                Recv::Closed => {
                    return Err(Abort::Violation(format!(
                        "the target closed the connection instead of answering {method}"
                    )));
                }
                Recv::Message(msg) => match &msg {
                    Incoming::Result { id: got, .. } | Incoming::Error { id: got, .. }
                        if got.as_str() == Some(id) =>
                    {
                        return Ok(msg);
                    }
                    Incoming::Error {
                        id: Value::Null, ..
                    } => return Ok(msg),
                    _ => continue,
                },
            }
        }
    }

    /// Sends `lsps0.list_protocols` and reports whether the connection is still served
    /// (LSPS0-R11: a bad message is ignored, not the peer).
    pub async fn still_served(&mut self) -> Served {
        if !self.session {
            return Served::Yes;
        }
        let id = match self.send_request("lsps0.list_protocols", json!({})) {
            Ok(id) => id,
            Err(_) => return Served::Closed,
        };
        // A muted connection is told apart without waiting the whole per-request timeout
        // (minutes by default): a list_protocols that a live LSP answers at once.
        let window = self
            .ctx
            .timeout()
            .min((self.ctx.shared.slow * 3).max(Duration::from_secs(15)));
        match self
            .reply_to_within(&id, "lsps0.list_protocols", window)
            .await
        {
            Ok(Incoming::Result { .. }) => Served::Yes,
            Ok(other) => Served::Other(format!("{other:?}")),
            Err(Abort::Timeout(_)) => Served::Muted,
            Err(_) => Served::Closed,
        }
    }

    /// [`Conn::still_served`], also recorded for `lsps0.bad-message.connection-still-served`.
    pub async fn followup(&mut self) -> Served {
        let served = self.still_served().await;
        if let Ok(mut list) = self.ctx.shared.followups.lock() {
            list.push((self.ctx.case_id.to_owned(), served.clone()));
        }
        served
    }

    /// Drains messages that arrive within `window` (used to check that nothing else came).
    pub async fn drain(&mut self, window: Duration) -> Vec<Incoming> {
        let mut out = Vec::new();
        let deadline = Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            match tokio::time::timeout(left, self.raw.incoming.recv()).await {
                Ok(Some(bytes)) => {
                    self.ctx
                        .record(self.index, Direction::Received, payload_text(&bytes));
                    out.push(self.inspect(&bytes));
                }
                _ => return out,
            }
        }
    }

    /// Parses the envelope, validates against the schemas and records latency.
    fn inspect(&mut self, bytes: &[u8]) -> Incoming {
        let shared = &self.ctx.shared;
        shared.messages_validated.fetch_add(1, Ordering::Relaxed);
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                self.finding(
                    "envelope",
                    format!("LSPS0-R17: not a JSON object: {e}"),
                    bytes,
                );
                return Incoming::Other {
                    why: format!("not JSON: {e}"),
                };
            }
        };
        // lsps-core's client-side classifier judges the envelope and types the result of a
        // known method; its verdict is a wire finding, never the case's own judgement.
        let lookup = |id: &lsps_core::jsonrpc::RequestId| {
            self.pending
                .get(id.as_str())
                .and_then(|(method, _)| lsps_core::jsonrpc::Method::from_name(method))
        };
        // The bLIP-MUST-only reading: this project's extra strictness is no ground for a FAIL.
        match lsps_core::jsonrpc::decode_response_with(
            bytes,
            &lookup,
            lsps_core::jsonrpc::Strictness::BlipMust,
        ) {
            Ok(_) => {}
            Err(lsps_core::jsonrpc::BadMessage::InvalidResult { method, error, .. }) => self
                .finding(
                    "schema",
                    format!("lsps-core: invalid {} result: {error}", method.name()),
                    bytes,
                ),
            Err(e) => self.finding("envelope", format!("LSPS0-R7: {e}"), bytes),
        }
        let method = value
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| self.pending.remove(id))
            .map(|(method, sent)| {
                let elapsed = sent.elapsed();
                if elapsed > shared.slow
                    && let Ok(mut slow) = shared.slow_replies.lock()
                {
                    slow.push(SlowReply {
                        case_id: self.ctx.case_id.to_owned(),
                        method: method.clone(),
                        elapsed,
                    });
                }
                method
            });
        for (rule, problem) in shared.schemas.check_message(&value, method.as_deref()) {
            self.finding(rule, problem, bytes);
        }
        for (rule, problem) in crate::wire::scan(&value, method.as_deref()) {
            self.finding(rule, problem, bytes);
        }
        for (rule, problem) in crate::wire::scan_raw(bytes) {
            self.finding(rule, problem, bytes);
        }
        // A -32700 reply's id is judged by the bad-format cases (LSPS0-R10: it must be null).
        let parse_error = value
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64)
            == Some(code::PARSE_ERROR);
        if let Some(id) = value.get("id").and_then(Value::as_str)
            && (value.get("result").is_some() || value.get("error").is_some())
            && !parse_error
            && !self.sent_ids.contains(id)
        {
            self.finding(
                "envelope",
                format!("LSPS0-R64: reply id {id:?} matches no request sent on this connection"),
                bytes,
            );
        }
        classify(value)
    }

    fn finding(&self, rule: &'static str, problem: String, bytes: &[u8]) {
        if let Ok(mut findings) = self.ctx.shared.wire_findings.lock() {
            findings.push(WireFinding {
                rule,
                case_id: self.ctx.case_id.to_owned(),
                problem,
                payload: payload_text(bytes),
            });
        }
    }
}

/// Stands in for a missing `id` member in [`Incoming::Error`].
pub const ID_ABSENT: &str = "<id member absent>";

/// Splits a received JSON value into result / error / other, without judging it further.
pub fn classify(value: Value) -> Incoming {
    let Value::Object(mut map) = value else {
        return Incoming::Other {
            why: "not a JSON object".into(),
        };
    };
    let id = map.remove("id");
    match (id, map.remove("result"), map.remove("error")) {
        (Some(id), Some(result), None) => Incoming::Result { id, result },
        (Some(id), None, Some(error)) => Incoming::Error {
            id,
            error: ErrorReply {
                code: error.get("code").and_then(Value::as_i64),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                data: error.get("data").cloned(),
            },
        },
        // An error without `id` is still an error reply; the marker shows up in messages
        // where a case checks the id (LSPS0 requires `"id": null`, not an absent id).
        (None, None, Some(error)) => classify(Value::Object({
            let mut m = map;
            m.insert("id".into(), Value::String(ID_ABSENT.into()));
            m.insert("error".into(), error);
            m
        })),
        (None, _, _) if map.contains_key("method") => Incoming::Other {
            why: "a notification".into(),
        },
        _ => Incoming::Other {
            why: "neither a response nor a notification".into(),
        },
    }
}

impl From<TargetError> for Abort {
    fn from(e: TargetError) -> Self {
        Abort::Error(e.to_string())
    }
}
