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
//! Why axum rather than jsonrpsee's server: jsonrpsee parses the request itself and answers
//! malformed input with its own JSON-RPC errors before any handler runs; LSPS0 needs the raw
//! bytes so that `{}{}`, NUL bytes, non-string ids and unknown params get exactly the answer
//! `lsps_core::jsonrpc::decode_request` prescribes, identical to the BOLT8 answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bitcoin::secp256k1::PublicKey;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Dispatch;

/// Header carrying the caller's node id.
pub const NODE_ID_HEADER: &str = "x-lsps-node-id";

/// Largest payload accepted: what fits in one BOLT8 message after the 2-byte type.
pub const MAX_PAYLOAD: usize = 65_533;

#[derive(Clone)]
struct AppState {
    dispatch: Arc<dyn Dispatch>,
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

async fn post_root(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(peer) = headers
        .get(NODE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_node_id)
    else {
        return bad_caller("missing or invalid X-Lsps-Node-Id header (66 hex chars)");
    };
    match state.dispatch.dispatch(peer, &body).resolve().await {
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
    upgrade
        .max_message_size(MAX_PAYLOAD)
        .on_upgrade(move |socket| serve_socket(state, peer, socket))
}

async fn serve_socket(state: AppState, peer: PublicKey, mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let payload: Bytes = match message {
            Message::Text(text) => Bytes::from(text),
            Message::Binary(bytes) => bytes,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        // Replies are sent in order of arrival; a client that wants pipelining opens more
        // sockets or uses BOLT8. Replies are JSON, hence valid UTF-8 text frames.
        if let Some(reply) = state.dispatch.dispatch(peer, &payload).resolve().await {
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
    state.dispatch.peer_disconnected(peer);
}

/// The axum router of the binding.
pub fn router(dispatch: Arc<dyn Dispatch>) -> Router {
    Router::new()
        .route("/", post(post_root))
        .route("/ws", get(get_ws))
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
        .with_state(AppState { dispatch })
}

/// Serve the binding on `listener` until `shutdown` flips. TCP_NODELAY is set on every socket.
pub async fn serve(
    listener: TcpListener,
    dispatch: Arc<dyn Dispatch>,
    mut shutdown: watch::Receiver<bool>,
) {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("set_nodelay failed: {e}");
        }
    });
    let result = axum::serve(listener, router(dispatch))
        .with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!("http server: {e}");
    }
}

/// The URL callers use for `POST /` on `addr`.
pub fn url_for(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
