//! The dev chain's Bitcoin Core RPC, method by method, against the shapes and error codes of
//! Core's documentation (`bitcoin-cli help <method>`), over loopback with cookie and
//! user/password auth.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use bitcoin::block::Header;
use bitcoin::consensus::deserialize;
use bitcoin::{Block, Transaction, Work};
use lsps_node::chain::dev_service::{DevChainService, DevChainServiceConfig};
use lsps_node::chain::rpc_client::{RpcCallError, RpcClient};
use serde_json::{Value, json};

const REGTEST_GENESIS: &str = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

async fn service(dir: &std::path::Path) -> (DevChainService, RpcClient) {
    let service = DevChainService::start(DevChainServiceConfig {
        dir: dir.to_owned(),
        rpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        block_interval: None,
        user_password: Some(("alice".into(), "wonderland".into())),
    })
    .await
    .unwrap();
    let client = RpcClient::with_cookie(&service.rpc_url(), service.cookie_file()).unwrap();
    (service, client)
}

fn rpc_code(result: Result<Value, RpcCallError>) -> i64 {
    match result {
        Err(RpcCallError::Rpc { code, .. }) => code,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

fn assert_keys(obj: &Value, keys: &[&str]) {
    for key in keys {
        assert!(obj.get(key).is_some(), "missing {key} in {obj}");
    }
}

#[tokio::test]
async fn auth_cookie_user_password_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (service, cookie) = service(dir.path()).await;
    let url = service.rpc_url();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("rpc.url")).unwrap(),
        url
    );
    let cookie_text = std::fs::read_to_string(service.cookie_file()).unwrap();
    assert!(cookie_text.starts_with("__cookie__:"));
    assert_eq!(cookie.call("getblockcount", json!([])).await.unwrap(), 101);
    let user = RpcClient::new(&url, "alice:wonderland").unwrap();
    assert_eq!(user.call("getblockcount", json!([])).await.unwrap(), 101);
    for wrong in ["alice:rabbit", "__cookie__:00", ""] {
        let client = RpcClient::new(&url, wrong).unwrap();
        let (status, _) = client
            .post(&json!({"method": "getblockcount"}))
            .await
            .unwrap();
        assert_eq!(status, 401, "{wrong}");
    }
    service.shutdown().await;
}

#[tokio::test]
async fn chain_info_hashes_headers_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (service, rpc) = service(dir.path()).await;
    let info = rpc.call("getblockchaininfo", json!([])).await.unwrap();
    assert_keys(
        &info,
        &[
            "chain",
            "blocks",
            "headers",
            "bestblockhash",
            "difficulty",
            "time",
            "mediantime",
            "verificationprogress",
            "initialblockdownload",
            "chainwork",
            "size_on_disk",
            "pruned",
            "warnings",
        ],
    );
    assert_eq!(info["chain"], "regtest");
    assert_eq!(info["blocks"], 101);
    assert_eq!(info["headers"], 101);
    assert_eq!(info["initialblockdownload"], false);
    // Core prints 16 significant digits; serde_json prints the shortest exact form.
    assert!((info["difficulty"].as_f64().unwrap() - 4.656542373906925e-10).abs() < 1e-24);
    let best = rpc.call("getbestblockhash", json!([])).await.unwrap();
    assert_eq!(info["bestblockhash"], best);
    // Regtest work is 2 per block: 102 blocks including genesis.
    assert_eq!(info["chainwork"].as_str().unwrap(), format!("{:064x}", 204));

    assert_eq!(
        rpc.call("getblockhash", json!([0])).await.unwrap(),
        REGTEST_GENESIS
    );
    assert_eq!(rpc.call("getblockhash", json!([101])).await.unwrap(), best);
    assert_eq!(rpc_code(rpc.call("getblockhash", json!([102])).await), -8);
    assert_eq!(rpc_code(rpc.call("getblockhash", json!(["x"])).await), -3);
    assert_eq!(rpc_code(rpc.call("getblockhash", json!([])).await), -1);

    let h50 = rpc.call("getblockhash", json!([50])).await.unwrap();
    let header = rpc.call("getblockheader", json!([h50])).await.unwrap();
    assert_keys(
        &header,
        &[
            "hash",
            "confirmations",
            "height",
            "version",
            "versionHex",
            "merkleroot",
            "time",
            "mediantime",
            "nonce",
            "bits",
            "difficulty",
            "chainwork",
            "nTx",
            "previousblockhash",
            "nextblockhash",
        ],
    );
    assert_eq!(header["height"], 50);
    assert_eq!(header["confirmations"], 52);
    assert_eq!(header["bits"], "207fffff");
    assert_eq!(header["versionHex"], "20000000");
    assert_eq!(header["nTx"], 1);
    assert_eq!(
        header["previousblockhash"],
        rpc.call("getblockhash", json!([49])).await.unwrap()
    );
    assert_eq!(
        header["nextblockhash"],
        rpc.call("getblockhash", json!([51])).await.unwrap()
    );
    let tip_header = rpc
        .call("getblockheader", json!([best, true]))
        .await
        .unwrap();
    assert!(tip_header.get("nextblockhash").is_none());
    let genesis = rpc
        .call("getblockheader", json!([REGTEST_GENESIS]))
        .await
        .unwrap();
    assert!(genesis.get("previousblockhash").is_none());

    let raw_header = rpc
        .call("getblockheader", json!([h50, false]))
        .await
        .unwrap();
    let raw_header = raw_header.as_str().unwrap();
    assert_eq!(raw_header.len(), 160);
    let decoded: Header = deserialize(&hex::decode(raw_header).unwrap()).unwrap();
    assert_eq!(decoded.block_hash().to_string(), h50.as_str().unwrap());
    decoded.validate_pow(decoded.target()).unwrap();

    let unknown = "00".repeat(32);
    assert_eq!(
        rpc_code(rpc.call("getblockheader", json!([unknown])).await),
        -5
    );
    assert_eq!(
        rpc_code(rpc.call("getblockheader", json!(["abc"])).await),
        -8
    );
    assert_eq!(rpc_code(rpc.call("getblock", json!([unknown])).await), -5);

    let block = rpc.call("getblock", json!([h50])).await.unwrap();
    assert_keys(
        &block,
        &[
            "hash",
            "confirmations",
            "size",
            "strippedsize",
            "weight",
            "height",
            "version",
            "versionHex",
            "merkleroot",
            "tx",
            "time",
            "mediantime",
            "nonce",
            "bits",
            "difficulty",
            "chainwork",
            "nTx",
            "previousblockhash",
            "nextblockhash",
        ],
    );
    let raw_block = rpc.call("getblock", json!([h50, 0])).await.unwrap();
    let decoded: Block = deserialize(&hex::decode(raw_block.as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(decoded.block_hash().to_string(), h50.as_str().unwrap());
    assert_eq!(
        block["size"],
        hex::decode(raw_block.as_str().unwrap()).unwrap().len()
    );
    assert_eq!(
        block["tx"],
        json!([decoded.txdata[0].compute_txid().to_string()])
    );
    assert_eq!(block["weight"], decoded.weight().to_wu());

    // Chain work and proof of work hold for every block, as a header-chain client checks.
    let mut work: Option<Work> = None;
    for height in 0..=101u32 {
        let hash = rpc.call("getblockhash", json!([height])).await.unwrap();
        let header = rpc.call("getblockheader", json!([hash])).await.unwrap();
        let raw = rpc
            .call("getblockheader", json!([hash, false]))
            .await
            .unwrap();
        let decoded: Header = deserialize(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap();
        decoded.validate_pow(decoded.target()).unwrap();
        work = Some(work.map_or(decoded.work(), |w| w + decoded.work()));
        assert_eq!(
            header["chainwork"].as_str().unwrap(),
            hex::encode(work.unwrap().to_be_bytes())
        );
    }
    service.shutdown().await;
}

#[tokio::test]
async fn transactions_mempool_utxos_fees_and_mining() {
    let dir = tempfile::tempdir().unwrap();
    let (service, rpc) = service(dir.path()).await;
    let balance = rpc.call("getbalance", json!([])).await.unwrap();
    assert!(balance.as_f64().unwrap() >= 50.0);
    let to = rpc.call("getnewaddress", json!([])).await.unwrap();
    let txid = rpc.call("sendtoaddress", json!([to, 0.5])).await.unwrap();
    assert_eq!(
        rpc.call("getrawmempool", json!([])).await.unwrap(),
        json!([txid])
    );

    let raw = rpc.call("getrawtransaction", json!([txid])).await.unwrap();
    let tx: Transaction = deserialize(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(tx.compute_txid().to_string(), txid.as_str().unwrap());
    let verbose = rpc
        .call("getrawtransaction", json!([txid, true]))
        .await
        .unwrap();
    assert_keys(
        &verbose,
        &[
            "txid", "hash", "version", "size", "vsize", "weight", "locktime", "vin", "vout", "hex",
        ],
    );
    assert!(
        verbose.get("blockhash").is_none(),
        "mempool tx has no block"
    );
    let paid = verbose["vout"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["scriptPubKey"]["address"] == to)
        .unwrap()
        .clone();
    assert_eq!(paid["value"].as_f64().unwrap(), 0.5);
    assert_eq!(paid["scriptPubKey"]["type"], "witness_v0_keyhash");
    let vout = paid["n"].clone();
    let in_mempool = rpc.call("gettxout", json!([txid, vout])).await.unwrap();
    assert_eq!(in_mempool["confirmations"], 0);
    assert_eq!(
        rpc.call("gettxout", json!([txid, vout, false]))
            .await
            .unwrap(),
        Value::Null
    );
    let spent_input = &verbose["vin"][0];
    assert_eq!(
        rpc.call(
            "gettxout",
            json!([spent_input["txid"], spent_input["vout"]])
        )
        .await
        .unwrap(),
        Value::Null,
        "an output the mempool spends is gone with include_mempool"
    );

    // Resending is idempotent while in the mempool.
    assert_eq!(
        rpc.call("sendrawtransaction", json!([raw])).await.unwrap(),
        txid
    );
    let hashes = rpc.call("generatetoaddress", json!([1, to])).await.unwrap();
    assert_eq!(hashes.as_array().unwrap().len(), 1);
    assert_eq!(
        rpc.call("getrawmempool", json!([])).await.unwrap(),
        json!([])
    );
    let confirmed = rpc
        .call("getrawtransaction", json!([txid, 1]))
        .await
        .unwrap();
    assert_eq!(confirmed["blockhash"], hashes[0]);
    assert_eq!(confirmed["confirmations"], 1);
    let with_block = rpc
        .call("getrawtransaction", json!([txid, true, hashes[0]]))
        .await
        .unwrap();
    assert_eq!(with_block["in_active_chain"], true);
    let genesis = rpc.call("getblockhash", json!([0])).await.unwrap();
    assert_eq!(
        rpc_code(
            rpc.call("getrawtransaction", json!([txid, false, genesis]))
                .await
        ),
        -5
    );
    let utxo = rpc.call("gettxout", json!([txid, vout])).await.unwrap();
    assert_keys(
        &utxo,
        &[
            "bestblock",
            "confirmations",
            "value",
            "scriptPubKey",
            "coinbase",
        ],
    );
    assert_eq!(utxo["confirmations"], 1);
    assert_eq!(utxo["bestblock"], hashes[0]);
    assert_eq!(utxo["coinbase"], false);

    assert_eq!(
        rpc_code(rpc.call("sendrawtransaction", json!([raw])).await),
        -27,
        "already in block chain"
    );
    assert_eq!(
        rpc_code(rpc.call("sendrawtransaction", json!(["00ff"])).await),
        -22
    );
    let mut double = tx.clone();
    double.output[0].value = bitcoin::Amount::from_sat(1_000);
    let double_hex = hex::encode(bitcoin::consensus::serialize(&double));
    assert_eq!(
        rpc_code(rpc.call("sendrawtransaction", json!([double_hex])).await),
        -25,
        "inputs already spent"
    );
    assert_eq!(
        rpc_code(
            rpc.call("getrawtransaction", json!(["11".repeat(32)]))
                .await
        ),
        -5
    );

    let fee = rpc.call("estimatesmartfee", json!([6])).await.unwrap();
    assert_eq!(fee["blocks"], 6);
    assert_eq!(fee["feerate"].as_f64().unwrap(), 0.00004);
    assert_eq!(rpc_code(rpc.call("estimatesmartfee", json!([0])).await), -8);
    assert_eq!(
        rpc_code(
            rpc.call("generatetoaddress", json!([1, "not-an-address"]))
                .await
        ),
        -5
    );
    assert_eq!(
        rpc_code(rpc.call("sendtoaddress", json!([to, 1_000_000.0])).await),
        -6
    );
    service.shutdown().await;
}

#[tokio::test]
async fn unknown_methods_and_json_rpc_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (service, rpc) = service(dir.path()).await;
    assert_eq!(
        rpc_code(rpc.call("getwalletinfo2", json!([])).await),
        -32601
    );
    let (status, body) = rpc
        .post(&json!({"method": "nope", "params": [], "id": 7}))
        .await
        .unwrap();
    assert_eq!(status, 404);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], -32601);
    assert_eq!(body["result"], Value::Null);
    assert_eq!(body["id"], 7);
    let (status, body) = rpc
        .post(&json!({"jsonrpc": "2.0", "method": "getblockhash", "params": [999], "id": "a"}))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], -8);
    assert!(body.get("result").is_none());
    let (status, body) = rpc
        .post(
            &json!([{"method": "getblockcount", "id": 1}, {"method": "getbestblockhash", "id": 2}]),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body[0]["result"], 101);
    assert_eq!(body[1]["id"], 2);
    service.shutdown().await;
}

#[tokio::test]
async fn non_loopback_listen_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused = DevChainService::start(DevChainServiceConfig {
        dir: dir.path().to_owned(),
        rpc_listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        block_interval: None,
        user_password: None,
    })
    .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn named_parameters_and_getblock_verbosity_2() {
    let dir = tempfile::tempdir().unwrap();
    let (service, rpc) = service(dir.path()).await;
    let hash = rpc
        .call("getblockhash", json!({"height": 1}))
        .await
        .unwrap();
    assert_eq!(hash, rpc.call("getblockhash", json!([1])).await.unwrap());
    // A gap is null (the default), and the named order does not matter.
    let header = rpc
        .call("getblockheader", json!({"blockhash": hash}))
        .await
        .unwrap();
    assert_eq!(header["height"], 1);
    let hex_header = rpc
        .call(
            "getblockheader",
            json!({"verbose": false, "blockhash": hash}),
        )
        .await
        .unwrap();
    assert!(hex_header.is_string());
    assert_eq!(
        rpc_code(rpc.call("getblockhash", json!({"heigth": 1})).await),
        -8,
        "Core: Unknown named parameter"
    );

    let block = rpc
        .call("getblock", json!({"blockhash": hash, "verbosity": 2}))
        .await
        .unwrap();
    let txs = block["tx"].as_array().unwrap();
    assert_eq!(txs.len(), 1, "the coinbase");
    assert_keys(&txs[0], &["txid", "hash", "vin", "vout", "hex", "weight"]);
    let raw = rpc
        .call("getrawtransaction", json!([txs[0]["txid"], true]))
        .await
        .unwrap();
    assert_eq!(raw["hex"], txs[0]["hex"]);
    assert_eq!(rpc_code(rpc.call("getblock", json!([hash, 3])).await), -8);
    service.shutdown().await;
}
