//! The served methods: each call's parameters read as Core reads them and its answer in Core's
//! shape, with Core's error codes and messages.

use std::str::FromStr;
use std::sync::Arc;

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Address, Block, BlockHash, Network, OutPoint, Transaction, Txid};
use serde_json::{Map, Value, json};

use super::render::{block_json, blockchain_info, header_json, script_json, tx_json};
use super::{MAX_GENERATE_PER_CALL, RpcError, code, err};
use crate::chain::{ChainSource, DEV_FEE_RATE_SAT_PER_KW, DevChain, MempoolReject};
use crate::wallet::{OnchainWallet, WalletError};

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
