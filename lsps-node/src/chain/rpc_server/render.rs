//! Blocks, headers, transactions and scripts as Core's RPC prints them.

use bitcoin::block::Header;
use bitcoin::consensus::serialize;
use bitcoin::{Address, Block, Network, Script, Transaction};
use serde_json::{Map, Value, json};

use crate::chain::DevChain;

/// Core's `GetDifficulty`, computed from the compact bits the way Core does (so the float is
/// bit-for-bit Core's: 4.656542373906925e-10 on regtest).
pub(super) fn difficulty(header: &Header) -> f64 {
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

pub(super) fn blockchain_info(chain: &DevChain) -> Value {
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

pub(super) fn header_json(
    chain: &DevChain,
    header: &Header,
    height: u32,
    n_tx: usize,
) -> Map<String, Value> {
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

pub(super) fn block_json(chain: &DevChain, block: &Block, height: u32) -> Map<String, Value> {
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

pub(super) fn tx_json(tx: &Transaction, network: Network) -> Map<String, Value> {
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

pub(super) fn script_json(script: &Script, network: Network) -> Value {
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
