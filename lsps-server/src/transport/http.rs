//! HTTP/WebSocket binding (`spec/bindings/http.md`).
//!
//! - `POST /`: the body is one LSPS payload (the bytes a BOLT8 37913 message would carry); the
//!   reply body is the LSPS reply, `200 application/json` (JSON-RPC errors too), or `204` if the
//!   server sends no reply.
//! - `GET /ws`: WebSocket; every text or binary message is one payload, every reply one text
//!   message.
//! - The caller names its node id in the header `X-Lsps-Node-Id` (66 hex); WebSocket callers that
//!   cannot set headers may use the query `?node_id=`. A missing or invalid id gets `400` with a
//!   JSON-RPC -32600 body.
//!
//! - Each HTTP caller is accounted by its source address ([`Caller::Http`]), not by the node id
//!   it states. Connections are capped, headers and bodies must arrive in time and an idle
//!   WebSocket is closed ([`ConnectionLimits`]), so idle sockets cannot exhaust the process's
//!   file descriptors.
//!
//! Why axum rather than jsonrpsee's server: jsonrpsee parses the request itself and answers
//! malformed input with its own JSON-RPC errors before any handler runs; LSPS0 needs the raw
//! bytes so that `{}{}`, NUL bytes, non-string ids and unknown params get exactly the answer
//! `lsps_core::jsonrpc::decode_request` prescribes, identical to the BOLT8 answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bitcoin::secp256k1::PublicKey;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::{AcceptBackoff, Caller, Dispatch};
use crate::config::ConnectionLimits;

/// Header carrying the caller's node id.
pub const NODE_ID_HEADER: &str = "x-lsps-node-id";

/// Largest payload accepted: what fits in one BOLT8 message after the 2-byte type.
pub const MAX_PAYLOAD: usize = 65_533;

/// A connection's place under the cap. A WebSocket keeps its connection's slot after the
/// upgrade (the socket outlives hyper's connection future), so sockets count against the cap.
#[derive(Clone)]
struct ConnectionSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

#[derive(Clone)]
struct AppState {
    dispatch: Arc<dyn Dispatch>,
    body_timeout: Duration,
    idle_timeout: Duration,
}

fn parse_node_id(text: &str) -> Option<PublicKey> {
    let text = text.trim();
    if text.len() != 66 {
        return None;
    }
    text.parse().ok()
}

fn bad_caller(reason: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32600, "message": reason },
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn post_root(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(peer) = headers
        .get(NODE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_node_id)
    else {
        return bad_caller("missing or invalid X-Lsps-Node-Id header (66 hex chars)");
    };
    // A body trickled byte by byte would hold the connection (and its descriptor) forever.
    let body =
        match tokio::time::timeout(state.body_timeout, axum::body::to_bytes(body, MAX_PAYLOAD))
            .await
        {
            Ok(Ok(body)) => body,
            // Over the limit (or the caller went away, when no answer reaches it anyway).
            Ok(Err(_)) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
            Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
        };
    let caller = Caller::Http {
        stated: peer,
        source: remote.ip(),
    };
    match state.dispatch.dispatch_from(caller, &body).resolve().await {
        Some(reply) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            reply,
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

#[derive(serde::Deserialize)]
struct WsQuery {
    node_id: Option<String>,
}

async fn get_ws(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Extension(slot): Extension<ConnectionSlot>,
    headers: HeaderMap,
    Query(query): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let claimed = headers
        .get(NODE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.node_id);
    let Some(peer) = claimed.as_deref().and_then(parse_node_id) else {
        return bad_caller("missing or invalid node id (X-Lsps-Node-Id header or ?node_id=)");
    };
    let caller = Caller::Http {
        stated: peer,
        source: remote.ip(),
    };
    upgrade
        .max_message_size(MAX_PAYLOAD)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            serve_socket(state, caller, socket).await;
        })
}

async fn serve_socket(state: AppState, caller: Caller, mut socket: WebSocket) {
    // A socket silent for `idle_timeout` is closed: it holds a descriptor and a connection slot.
    while let Ok(Some(Ok(message))) = tokio::time::timeout(state.idle_timeout, socket.recv()).await
    {
        let payload: Bytes = match message {
            Message::Text(text) => Bytes::from(text),
            Message::Binary(bytes) => bytes,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        // Replies are sent in order of arrival; a client that wants pipelining opens more
        // sockets or uses BOLT8. Replies are JSON, hence valid UTF-8 text frames.
        if let Some(reply) = state
            .dispatch
            .dispatch_from(caller, &payload)
            .resolve()
            .await
        {
            let text = match String::from_utf8(reply) {
                Ok(text) => text,
                Err(e) => {
                    tracing::error!("non-UTF-8 reply: {e}");
                    continue;
                }
            };
            if socket.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
    }
    state.dispatch.caller_disconnected(caller);
}

/// The axum router of the binding. Handlers read the caller's address from
/// `ConnectInfo<SocketAddr>`, which [`serve`] inserts for every request.
pub fn router(dispatch: Arc<dyn Dispatch>, limits: &ConnectionLimits) -> Router {
    Router::new()
        .route("/", post(post_root))
        .route("/ws", get(get_ws))
        .with_state(AppState {
            dispatch,
            body_timeout: Duration::from_secs(limits.http_body_timeout_secs),
            idle_timeout: Duration::from_secs(limits.http_idle_timeout_secs),
        })
}

/// Serve the binding on `listener` until `shutdown` flips. TCP_NODELAY is set on every socket.
///
/// At most [`super::connection_cap`]`(http_max_connections)` connections are open at once: the
/// loop takes a slot before it accepts, so callers beyond the cap wait in the kernel's accept
/// queue without costing a descriptor. Request headers must arrive within
/// `http_header_timeout_secs` (also between requests on a kept-alive connection), bodies within
/// `http_body_timeout_secs`. Failed accepts back off ([`AcceptBackoff`]).
pub async fn serve(
    listener: TcpListener,
    dispatch: Arc<dyn Dispatch>,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = router(dispatch, &limits);
    let slots = Arc::new(Semaphore::new(super::connection_cap(
        limits.http_max_connections,
    )));
    let header_timeout = Duration::from_secs(limits.http_header_timeout_secs);
    let mut backoff = AcceptBackoff::new(
        "http",
        Duration::from_millis(limits.accept_error_backoff_ms),
    );
    while let Some((slot, stream, remote)) =
        super::accept_next(&listener, &slots, &mut backoff, &mut shutdown).await
    {
        let app = app.clone();
        let mut shutdown = shutdown.clone();
        let slot = ConnectionSlot(Arc::new(slot));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(remote));
                    request.extensions_mut().insert(slot.clone());
                    let mut app = app.clone();
                    async move { tower_service::Service::call(&mut app, request.map(Body::new)).await }
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%remote, "http connection: {e}");
                    }
                }
                _ = shutdown.changed() => {}
            }
        });
    }
}

/// The URL callers use for `POST /` on `addr`.
pub fn url_for(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
