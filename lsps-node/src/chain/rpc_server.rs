//! Bitcoin Core's JSON-RPC, served by the dev chain: the subset LDK's block sync, a BDK RPC
//! emitter and a test harness call, with Core's shapes, error codes and auth (cookie file
//! `__cookie__:<hex>` and optional user/password, HTTP Basic), on loopback only.
//!
//! Requests with `"jsonrpc": "2.0"` get JSON-RPC 2.0 replies (HTTP 200, `result` or `error`);
//! others get Core's legacy replies (`result` and `error` both present, HTTP 500 on error, 404
//! for an unknown method). Batches (arrays) are answered element by element.
//!
//! Differences from Core that a caller can see: amounts and fee rates are JSON numbers as
//! serde_json prints them (`4e-5` where Core prints `0.00004000`); `getblock` verbosity 2 and
//! named parameters are not served; the transaction index is always on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::DevChain;
use crate::wallet::OnchainWallet;

mod methods;
mod render;

pub use methods::call;

/// Core's RPC error codes (`src/rpc/protocol.h`) used here.
pub mod code {
    /// `RPC_MISC_ERROR`.
    pub const MISC_ERROR: i64 = -1;
    /// `RPC_TYPE_ERROR`.
    pub const TYPE_ERROR: i64 = -3;
    /// `RPC_INVALID_ADDRESS_OR_KEY`.
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// `RPC_WALLET_INSUFFICIENT_FUNDS`.
    pub const WALLET_INSUFFICIENT_FUNDS: i64 = -6;
    /// `RPC_WALLET_NOT_FOUND`.
    pub const WALLET_NOT_FOUND: i64 = -18;
    /// `RPC_INVALID_PARAMETER`.
    pub const INVALID_PARAMETER: i64 = -8;
    /// `RPC_DESERIALIZATION_ERROR`.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// `RPC_VERIFY_ERROR`.
    pub const VERIFY_ERROR: i64 = -25;
    /// `RPC_VERIFY_REJECTED`.
    pub const VERIFY_REJECTED: i64 = -26;
    /// `RPC_VERIFY_ALREADY_IN_CHAIN`.
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
    /// `RPC_INVALID_REQUEST`.
    pub const INVALID_REQUEST: i64 = -32600;
    /// `RPC_METHOD_NOT_FOUND`.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// `RPC_PARSE_ERROR`.
    pub const PARSE_ERROR: i64 = -32700;
}

/// Largest `generatetoaddress` count one call may ask for (each block is ground and fed to
/// every in-process listener before the reply).
pub const MAX_GENERATE_PER_CALL: u64 = 10_000;

/// How the RPC server is reached and authenticated.
#[derive(Debug, Clone)]
pub struct RpcServerConfig {
    /// Listen address; must be loopback (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Where the cookie (`__cookie__:<hex>`) is written, mode 0600.
    pub cookie_file: PathBuf,
    /// Also accept these credentials.
    pub user_password: Option<(String, String)>,
}

/// Why the RPC server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcServeError {
    /// Only loopback addresses are served.
    #[error("the dev chain's RPC listens on loopback only, not {0}")]
    NotLoopback(SocketAddr),
    /// Binding or writing the cookie failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A running RPC server.
pub struct RpcServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The cookie file.
    pub cookie_file: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl RpcServer {
    /// `http://ADDR`, the form `--bitcoind-rpc` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Wait until the server stopped (after the shutdown signal).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

struct Ctx {
    chain: Arc<DevChain>,
    faucet: Option<Arc<OnchainWallet>>,
    accepted: Vec<String>,
}

/// Write a fresh cookie to `path` (mode 0600, temp file and rename) and return the
/// `user:password` it holds.
pub fn write_cookie(path: &Path) -> std::io::Result<String> {
    let secret: [u8; 32] = rand::random();
    let cookie = format!("__cookie__:{}", hex::encode(secret));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &cookie)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(cookie)
}

/// Serve `chain`'s RPC until `shutdown` flips; `faucet` answers the wallet calls
/// (`getnewaddress`, `sendtoaddress`, `getbalance`).
pub async fn serve(
    chain: Arc<DevChain>,
    faucet: Option<Arc<OnchainWallet>>,
    config: RpcServerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<RpcServer, RpcServeError> {
    if !config.listen.ip().is_loopback() {
        return Err(RpcServeError::NotLoopback(config.listen));
    }
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| RpcServeError::Io { what, source }
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(io(&format!("binding {}", config.listen)))?;
    let addr = listener.local_addr().map_err(io("local address"))?;
    let cookie = write_cookie(&config.cookie_file).map_err(io(&format!(
        "writing cookie {}",
        config.cookie_file.display()
    )))?;
    let mut accepted = vec![basic(&cookie)];
    if let Some((user, password)) = &config.user_password {
        accepted.push(basic(&format!("{user}:{password}")));
    }
    let ctx = Arc::new(Ctx {
        chain,
        faucet,
        accepted,
    });
    let app = axum::Router::new()
        .route("/", axum::routing::post(handle))
        .route("/wallet/{name}", axum::routing::post(handle))
        .with_state(ctx);
    let task = tokio::spawn(async move {
        let stop = async move {
            while !*shutdown.borrow_and_update() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!("dev chain RPC server: {e}");
        }
    });
    tracing::info!(%addr, cookie = %config.cookie_file.display(), "dev chain RPC listening");
    Ok(RpcServer {
        addr,
        cookie_file: config.cookie_file,
        task,
    })
}

fn basic(user_password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_password)
    )
}

async fn handle(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| ctx.accepted.iter().any(|a| a == v));
    if !authorized {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jsonrpc\""),
        );
        return response;
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"result": null, "error": {"code": code::PARSE_ERROR, "message": "Parse error"}, "id": null}),
            );
        }
    };
    match request {
        Value::Array(batch) => {
            let mut replies = Vec::with_capacity(batch.len());
            for one in batch {
                replies.push(answer(&ctx, one).await.1);
            }
            reply(StatusCode::OK, Value::Array(replies))
        }
        one => {
            let (status, body) = answer(&ctx, one).await;
            reply(status, body)
        }
    }
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// A Core RPC error.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// Core's code.
    pub code: i64,
    /// Core's message.
    pub message: String,
}

fn err(code: i64, message: impl Into<String>) -> RpcError {
    RpcError {
        code,
        message: message.into(),
    }
}

async fn answer(ctx: &Ctx, request: Value) -> (StatusCode, Value) {
    let Value::Object(request) = request else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"result": null, "error": {"code": code::INVALID_REQUEST, "message": "Invalid Request object"}, "id": null}),
        );
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let v2 = request.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let outcome = match request.get("method").and_then(Value::as_str) {
        None => Err(err(code::INVALID_REQUEST, "Method must be a string")),
        Some(method) => {
            let params = match request.get("params") {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(p)) => Ok(p.clone()),
                Some(Value::Object(named)) => positional(method, named),
                Some(_) => Err(err(
                    code::INVALID_REQUEST,
                    "Params must be an array or object",
                )),
            };
            match params {
                Ok(params) => call(&ctx.chain, ctx.faucet.as_ref(), method, &params).await,
                Err(e) => Err(e),
            }
        }
    };
    match (outcome, v2) {
        (Ok(result), true) => (
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "result": result, "id": id}),
        ),
        (Ok(result), false) => (
            StatusCode::OK,
            json!({"result": result, "error": null, "id": id}),
        ),
        (Err(e), true) => (
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "error": {"code": e.code, "message": e.message}, "id": id}),
        ),
        (Err(e), false) => {
            let status = if e.code == code::METHOD_NOT_FOUND {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            (
                status,
                json!({"result": null, "error": {"code": e.code, "message": e.message}, "id": id}),
            )
        }
    }
}

/// Core's parameter names of each served method, in position order (named parameters are
/// mapped onto positions as Core's `transformNamedArguments` does).
fn parameter_names(method: &str) -> Option<&'static [&'static str]> {
    Some(match method {
        "getblockcount" | "getbestblockhash" | "getblockchaininfo" => &[],
        "getblockhash" => &["height"],
        "getblockheader" => &["blockhash", "verbose"],
        "getblock" => &["blockhash", "verbosity"],
        "getrawtransaction" => &["txid", "verbose", "blockhash"],
        "getrawmempool" => &["verbose", "mempool_sequence"],
        "gettxout" => &["txid", "n", "include_mempool"],
        "sendrawtransaction" => &["hexstring", "maxfeerate", "maxburnamount"],
        "estimatesmartfee" => &["conf_target", "estimate_mode"],
        "generatetoaddress" => &["nblocks", "address", "maxtries"],
        "getnewaddress" => &["label", "address_type"],
        "getbalance" => &["dummy", "minconf", "include_watchonly", "avoid_reuse"],
        "sendtoaddress" => &[
            "address",
            "amount",
            "comment",
            "comment_to",
            "subtractfeefromamount",
            "replaceable",
            "conf_target",
            "estimate_mode",
            "avoid_reuse",
            "fee_rate",
            "verbose",
        ],
        _ => return None,
    })
}

/// Named parameters as positions: unknown names are refused (Core: "Unknown named parameter"),
/// gaps become `null`, nothing after the last given one.
fn positional(method: &str, named: &Map<String, Value>) -> Result<Vec<Value>, RpcError> {
    let Some(names) = parameter_names(method) else {
        // The method is unknown; let the call answer "Method not found".
        return Ok(Vec::new());
    };
    if let Some(unknown) = named.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(err(
            code::INVALID_PARAMETER,
            format!("Unknown named parameter {unknown}"),
        ));
    }
    let last = names
        .iter()
        .rposition(|n| named.contains_key(*n))
        .map_or(0, |i| i + 1);
    Ok(names[..last]
        .iter()
        .map(|n| named.get(*n).cloned().unwrap_or(Value::Null))
        .collect())
}
