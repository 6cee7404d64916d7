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
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bitcoin::block::Header;
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Address, Block, BlockHash, Network, OutPoint, Script, Transaction, Txid};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::devchain::{DEV_FEE_RATE_SAT_PER_KW, MempoolReject};
use super::{ChainSource, DevChain};
use crate::wallet::{OnchainWallet, WalletError};

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

/// Answer one call.
pub async fn call(
    chain: &Arc<DevChain>,
    faucet: Option<&Arc<OnchainWallet>>,
    method: &str,
    params: &[Value],
) -> Result<Value, RpcError> {
    let p = Params(params);
    let no_wallet = || {
        err(
            code::WALLET_NOT_FOUND,
            "No wallet is loaded. Load a wallet using loadwallet or create a new one with createwallet.",
        )
    };
    match method {
        "getnewaddress" => {
            let wallet = faucet.ok_or_else(no_wallet)?;
            let address = wallet
                .new_address()
                .map_err(|e| err(code::MISC_ERROR, e.to_string()))?;
            Ok(json!(address.to_string()))
        }
        "getbalance" => {
            let wallet = faucet.ok_or_else(no_wallet)?;
            Ok(json!(wallet.balance().confirmed.to_btc()))
        }
        "sendtoaddress" => {
            let wallet = faucet.ok_or_else(no_wallet)?;
            let script = parse_address(p.str(0, "address")?, chain.network())?;
            let btc = p
                .required(1, "amount")?
                .as_f64()
                .ok_or_else(|| err(code::TYPE_ERROR, "Amount is not a number or string"))?;
            let amount = bitcoin::Amount::from_btc(btc)
                .ok()
                .filter(|a| *a > bitcoin::Amount::ZERO)
                .ok_or_else(|| err(code::TYPE_ERROR, "Invalid amount"))?;
            let tx = wallet
                .pay_to_script(script, amount, DEV_FEE_RATE_SAT_PER_KW)
                .map_err(|e| match e {
                    WalletError::Build(_) => {
                        err(code::WALLET_INSUFFICIENT_FUNDS, "Insufficient funds")
                    }
                    other => err(code::MISC_ERROR, other.to_string()),
                })?;
            chain
                .submit(tx)
                .map(|txid| json!(txid.to_string()))
                .map_err(|e| err(code::VERIFY_REJECTED, e.to_string()))
        }
        "getblockcount" => Ok(json!(chain.best_block().height)),
        "getbestblockhash" => Ok(json!(chain.best_block().block_hash.to_string())),
        "getblockchaininfo" => Ok(blockchain_info(chain)),
        "getblockhash" => {
            let height = p.int(0, "height")?;
            u32::try_from(height)
                .ok()
                .and_then(|h| chain.block_at(h))
                .map(|b| json!(b.block_hash().to_string()))
                .ok_or_else(|| err(code::INVALID_PARAMETER, "Block height out of range"))
        }
        "getblockheader" => {
            let hash = p.hash::<BlockHash>(0, "blockhash")?;
            let verbose = p.opt_bool(1)?.unwrap_or(true);
            let (height, block) = find_block(chain, &hash)?;
            if verbose {
                Ok(Value::Object(header_json(
                    chain,
                    &block.header,
                    height,
                    block.txdata.len(),
                )))
            } else {
                Ok(json!(hex::encode(serialize(&block.header))))
            }
        }
        "getblock" => {
            let hash = p.hash::<BlockHash>(0, "blockhash")?;
            let verbosity = match p.0.get(1) {
                None | Some(Value::Null) => 1,
                Some(Value::Bool(b)) => i64::from(*b),
                Some(_) => p.int(1, "verbosity")?,
            };
            let (height, block) = find_block(chain, &hash)?;
            match verbosity {
                0 => Ok(json!(hex::encode(serialize(&block)))),
                1 => Ok(Value::Object(block_json(chain, &block, height))),
                2 => {
                    // Core's verbosity 2: each transaction decoded (as getrawtransaction's
                    // verbose form, with its hex) instead of its txid.
                    let mut obj = block_json(chain, &block, height);
                    let txs: Vec<Value> = block
                        .txdata
                        .iter()
                        .map(|tx| Value::Object(tx_json(tx, chain.network())))
                        .collect();
                    obj.insert("tx".into(), Value::Array(txs));
                    Ok(Value::Object(obj))
                }
                _ => Err(err(
                    code::INVALID_PARAMETER,
                    "the dev chain serves getblock verbosity 0, 1 and 2 (3 needs undo data)",
                )),
            }
        }
        "getrawtransaction" => {
            let txid = p.hash::<Txid>(0, "txid")?;
            let verbose = match p.0.get(1) {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
                Some(_) => return Err(err(code::TYPE_ERROR, "verbosity must be a number or bool")),
            };
            let in_block = match p.0.get(2) {
                None | Some(Value::Null) => None,
                Some(_) => Some(p.hash::<BlockHash>(2, "blockhash")?),
            };
            let found = chain.find_tx(&txid);
            if let Some(wanted) = in_block {
                let (height, _) = find_block(chain, &wanted)?;
                if found
                    .as_ref()
                    .and_then(|f| f.block)
                    .is_none_or(|(_, h, _)| h != height)
                {
                    return Err(err(
                        code::INVALID_ADDRESS_OR_KEY,
                        "No such transaction found in the provided block. Use gettransaction for wallet transactions.",
                    ));
                }
            }
            let found = found.ok_or_else(|| {
                err(
                    code::INVALID_ADDRESS_OR_KEY,
                    "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
                )
            })?;
            if !verbose {
                return Ok(json!(hex::encode(serialize(&found.tx))));
            }
            let mut obj = Map::new();
            if in_block.is_some() {
                obj.insert("in_active_chain".into(), json!(true));
            }
            obj.extend(tx_json(&found.tx, chain.network()));
            if let Some((hash, height, time)) = found.block {
                obj.insert("blockhash".into(), json!(hash.to_string()));
                obj.insert(
                    "confirmations".into(),
                    json!(chain.best_block().height - height + 1),
                );
                obj.insert("time".into(), json!(time));
                obj.insert("blocktime".into(), json!(time));
            }
            Ok(Value::Object(obj))
        }
        "getrawmempool" => {
            if p.opt_bool(0)?.unwrap_or(false) {
                return Err(err(
                    code::INVALID_PARAMETER,
                    "the dev chain serves getrawmempool without verbose",
                ));
            }
            Ok(json!(
                chain
                    .mempool_txids()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ))
        }
        "gettxout" => {
            let txid = p.hash::<Txid>(0, "txid")?;
            let vout = u32::try_from(p.int(1, "n")?)
                .map_err(|_| err(code::INVALID_PARAMETER, "n out of range"))?;
            let include_mempool = p.opt_bool(2)?.unwrap_or(true);
            let tip = chain.best_block();
            Ok(
                match chain.utxo(&OutPoint { txid, vout }, include_mempool) {
                    None => Value::Null,
                    Some(utxo) => json!({
                        "bestblock": tip.block_hash.to_string(),
                        "confirmations": utxo.height.map_or(0, |h| tip.height - h + 1),
                        "value": utxo.output.value.to_btc(),
                        "scriptPubKey": script_json(&utxo.output.script_pubkey, chain.network()),
                        "coinbase": utxo.coinbase,
                    }),
                },
            )
        }
        "sendrawtransaction" => {
            let hex_tx = p.str(0, "hexstring")?;
            let tx: Transaction = hex::decode(hex_tx)
                .ok()
                .and_then(|bytes| deserialize(&bytes).ok())
                .ok_or_else(|| {
                    err(
                        code::DESERIALIZATION_ERROR,
                        "TX decode failed. Make sure the tx has at least one input.",
                    )
                })?;
            let txid = tx.compute_txid();
            match chain.submit(tx) {
                Ok(txid) => Ok(json!(txid.to_string())),
                Err(MempoolReject::AlreadyKnown) => match chain.find_tx(&txid) {
                    Some(found) if found.block.is_some() => Err(err(
                        code::VERIFY_ALREADY_IN_CHAIN,
                        "Transaction already in block chain",
                    )),
                    _ => Ok(json!(txid.to_string())),
                },
                Err(MempoolReject::MissingInput(_)) => {
                    Err(err(code::VERIFY_ERROR, "bad-txns-inputs-missingorspent"))
                }
                // Core's answer to a conflicting spend that does not pay enough to replace.
                Err(MempoolReject::DoubleSpendInMempool) => Err(err(
                    code::VERIFY_REJECTED,
                    "insufficient fee, rejecting replacement",
                )),
                Err(MempoolReject::ImmatureCoinbase) => Err(err(
                    code::VERIFY_REJECTED,
                    "bad-txns-premature-spend-of-coinbase",
                )),
                Err(MempoolReject::ValueOut) => {
                    Err(err(code::VERIFY_REJECTED, "bad-txns-in-belowout"))
                }
            }
        }
        "estimatesmartfee" => {
            let target = p.int(0, "conf_target")?;
            if !(1..=1008).contains(&target) {
                return Err(err(
                    code::INVALID_PARAMETER,
                    "Invalid conf_target, must be between 1 and 1008",
                ));
            }
            // sat per 1000 weight units × 4 = sat per 1000 vbytes; Core answers BTC/kvB.
            let sat_per_kvb = u64::from(DEV_FEE_RATE_SAT_PER_KW) * 4;
            Ok(json!({
                "feerate": bitcoin::Amount::from_sat(sat_per_kvb).to_btc(),
                "blocks": target,
            }))
        }
        "generatetoaddress" => {
            let count = p.int(0, "nblocks")?;
            let count = u32::try_from(count)
                .ok()
                .filter(|&c| u64::from(c) <= MAX_GENERATE_PER_CALL)
                .ok_or_else(|| {
                    err(
                        code::INVALID_PARAMETER,
                        format!("nblocks must be between 0 and {MAX_GENERATE_PER_CALL}"),
                    )
                })?;
            let script = parse_address(p.str(1, "address")?, chain.network())?;
            let miner = chain.clone();
            let hashes = tokio::task::spawn_blocking(move || miner.mine(count, &script))
                .await
                .map_err(|e| err(code::MISC_ERROR, e.to_string()))?
                .map_err(|e| err(code::MISC_ERROR, e.to_string()))?;
            Ok(json!(
                hashes.iter().map(ToString::to_string).collect::<Vec<_>>()
            ))
        }
        _ => Err(err(code::METHOD_NOT_FOUND, "Method not found")),
    }
}

struct Params<'a>(&'a [Value]);

impl Params<'_> {
    fn required(&self, i: usize, name: &str) -> Result<&Value, RpcError> {
        match self.0.get(i) {
            None | Some(Value::Null) => Err(err(
                code::MISC_ERROR,
                format!("missing required parameter {name} (position {})", i + 1),
            )),
            Some(v) => Ok(v),
        }
    }

    fn int(&self, i: usize, name: &str) -> Result<i64, RpcError> {
        self.required(i, name)?.as_i64().ok_or_else(|| {
            err(
                code::TYPE_ERROR,
                format!(
                    "JSON value of type {} is not of expected type number",
                    kind(&self.0[i])
                ),
            )
        })
    }

    fn str(&self, i: usize, name: &str) -> Result<&str, RpcError> {
        self.required(i, name)?.as_str().ok_or_else(|| {
            err(
                code::TYPE_ERROR,
                format!(
                    "JSON value of type {} is not of expected type string",
                    kind(&self.0[i])
                ),
            )
        })
    }

    fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcError> {
        match self.0.get(i) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(err(
                code::TYPE_ERROR,
                format!(
                    "JSON value of type {} is not of expected type bool",
                    kind(other)
                ),
            )),
        }
    }

    fn hash<H: FromStr>(&self, i: usize, name: &str) -> Result<H, RpcError> {
        let text = self.str(i, name)?;
        if text.len() != 64 {
            return Err(err(
                code::INVALID_PARAMETER,
                format!(
                    "{name} must be of length 64 (not {}, for '{text}')",
                    text.len()
                ),
            ));
        }
        H::from_str(text).map_err(|_| {
            err(
                code::INVALID_PARAMETER,
                format!("{name} must be hexadecimal string (not '{text}')"),
            )
        })
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn parse_address(text: &str, network: Network) -> Result<bitcoin::ScriptBuf, RpcError> {
    Address::from_str(text)
        .ok()
        .and_then(|a| a.require_network(network).ok())
        .map(|a| a.script_pubkey())
        .ok_or_else(|| err(code::INVALID_ADDRESS_OR_KEY, "Error: Invalid address"))
}

fn find_block(chain: &DevChain, hash: &BlockHash) -> Result<(u32, Block), RpcError> {
    chain
        .height_of(hash)
        .and_then(|h| chain.block_at(h).map(|b| (h, b)))
        .ok_or_else(|| err(code::INVALID_ADDRESS_OR_KEY, "Block not found"))
}

/// Core's `GetDifficulty`, computed from the compact bits the way Core does (so the float is
/// bit-for-bit Core's: 4.656542373906925e-10 on regtest).
fn difficulty(header: &Header) -> f64 {
    let bits = header.bits.to_consensus();
    let mut shift = (bits >> 24) & 0xff;
    let mantissa = f64::from(bits & 0x00ff_ffff);
    if mantissa == 0.0 {
        return 0.0;
    }
    let mut diff = f64::from(0x0000_ffff_u32) / mantissa;
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

fn blockchain_info(chain: &DevChain) -> Value {
    let tip = chain.best_block();
    let header = chain
        .block_at(tip.height)
        .map(|b| b.header)
        .unwrap_or_else(|| bitcoin::constants::genesis_block(Network::Regtest).header);
    json!({
        "chain": "regtest",
        "blocks": tip.height,
        "headers": tip.height,
        "bestblockhash": tip.block_hash.to_string(),
        "difficulty": difficulty(&header),
        "time": header.time,
        "mediantime": chain.median_time_at(tip.height).unwrap_or(header.time),
        "verificationprogress": 1,
        "initialblockdownload": false,
        "chainwork": chain.chainwork_at(tip.height).map(work_hex).unwrap_or_default(),
        "size_on_disk": chain.size_on_disk(),
        "pruned": false,
        "warnings": [],
    })
}

fn work_hex(work: bitcoin::Work) -> String {
    hex::encode(work.to_be_bytes())
}

fn header_json(chain: &DevChain, header: &Header, height: u32, n_tx: usize) -> Map<String, Value> {
    let tip = chain.best_block();
    let mut obj = Map::new();
    obj.insert("hash".into(), json!(header.block_hash().to_string()));
    obj.insert("confirmations".into(), json!(tip.height - height + 1));
    obj.insert("height".into(), json!(height));
    obj.insert("version".into(), json!(header.version.to_consensus()));
    obj.insert(
        "versionHex".into(),
        json!(format!("{:08x}", header.version.to_consensus())),
    );
    obj.insert("merkleroot".into(), json!(header.merkle_root.to_string()));
    obj.insert("time".into(), json!(header.time));
    obj.insert(
        "mediantime".into(),
        json!(chain.median_time_at(height).unwrap_or(header.time)),
    );
    obj.insert("nonce".into(), json!(header.nonce));
    obj.insert(
        "bits".into(),
        json!(format!("{:08x}", header.bits.to_consensus())),
    );
    obj.insert("difficulty".into(), json!(difficulty(header)));
    obj.insert(
        "chainwork".into(),
        json!(chain.chainwork_at(height).map(work_hex).unwrap_or_default()),
    );
    obj.insert("nTx".into(), json!(n_tx));
    if height > 0 {
        obj.insert(
            "previousblockhash".into(),
            json!(header.prev_blockhash.to_string()),
        );
    }
    if let Some(next) = chain.block_at(height + 1) {
        obj.insert("nextblockhash".into(), json!(next.block_hash().to_string()));
    }
    obj
}

fn block_json(chain: &DevChain, block: &Block, height: u32) -> Map<String, Value> {
    let mut obj = header_json(chain, &block.header, height, block.txdata.len());
    let size = serialize(block).len();
    let weight = block.weight().to_wu();
    let stripped = (weight as usize - size) / 3;
    obj.insert("strippedsize".into(), json!(stripped));
    obj.insert("size".into(), json!(size));
    obj.insert("weight".into(), json!(weight));
    obj.insert(
        "tx".into(),
        json!(
            block
                .txdata
                .iter()
                .map(|t| t.compute_txid().to_string())
                .collect::<Vec<_>>()
        ),
    );
    obj
}

fn tx_json(tx: &Transaction, network: Network) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("txid".into(), json!(tx.compute_txid().to_string()));
    obj.insert("hash".into(), json!(tx.compute_wtxid().to_string()));
    obj.insert("version".into(), json!(tx.version.0));
    obj.insert("size".into(), json!(tx.total_size()));
    obj.insert("vsize".into(), json!(tx.vsize()));
    obj.insert("weight".into(), json!(tx.weight().to_wu()));
    obj.insert("locktime".into(), json!(tx.lock_time.to_consensus_u32()));
    let vin: Vec<Value> = tx
        .input
        .iter()
        .map(|input| {
            let mut i = Map::new();
            if tx.is_coinbase() {
                i.insert(
                    "coinbase".into(),
                    json!(hex::encode(input.script_sig.as_bytes())),
                );
            } else {
                i.insert("txid".into(), json!(input.previous_output.txid.to_string()));
                i.insert("vout".into(), json!(input.previous_output.vout));
                i.insert(
                    "scriptSig".into(),
                    json!({
                        "asm": input.script_sig.to_asm_string(),
                        "hex": hex::encode(input.script_sig.as_bytes()),
                    }),
                );
            }
            if !input.witness.is_empty() {
                i.insert(
                    "txinwitness".into(),
                    json!(input.witness.iter().map(hex::encode).collect::<Vec<_>>()),
                );
            }
            i.insert("sequence".into(), json!(input.sequence.0));
            Value::Object(i)
        })
        .collect();
    obj.insert("vin".into(), json!(vin));
    let vout: Vec<Value> = tx
        .output
        .iter()
        .enumerate()
        .map(|(n, out)| {
            json!({
                "value": out.value.to_btc(),
                "n": n,
                "scriptPubKey": script_json(&out.script_pubkey, network),
            })
        })
        .collect();
    obj.insert("vout".into(), json!(vout));
    obj.insert("hex".into(), json!(hex::encode(serialize(tx))));
    obj
}

fn script_json(script: &Script, network: Network) -> Value {
    let kind = if script.is_p2wpkh() {
        "witness_v0_keyhash"
    } else if script.is_p2wsh() {
        "witness_v0_scripthash"
    } else if script.is_p2tr() {
        "witness_v1_taproot"
    } else if script.is_p2pkh() {
        "pubkeyhash"
    } else if script.is_p2sh() {
        "scripthash"
    } else if script.is_op_return() {
        "nulldata"
    } else if script.is_p2pk() {
        "pubkey"
    } else if script.is_multisig() {
        "multisig"
    } else {
        "nonstandard"
    };
    let mut obj = Map::new();
    obj.insert("asm".into(), json!(script.to_asm_string()));
    obj.insert("hex".into(), json!(hex::encode(script.as_bytes())));
    if let Ok(address) = Address::from_script(script, network) {
        obj.insert("address".into(), json!(address.to_string()));
    }
    obj.insert("type".into(), json!(kind));
    Value::Object(obj)
}
