#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bitcoin::absolute::LockTime;
use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{Amount, Sequence, TxIn, Witness};

use super::mempool::fee_rate;
use super::*;

struct Count(Mutex<Vec<u32>>);
impl Listen for Count {
    fn filtered_block_connected(
        &self,
        _header: &Header,
        _txdata: &lightning::chain::transaction::TransactionData,
        height: u32,
    ) {
        self.0.lock().unwrap().push(height);
    }
    fn blocks_disconnected(&self, _fork_point: BestBlock) {
        unreachable!("the dev chain never reorganises")
    }
}

#[test]
fn blocks_are_valid_ordered_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let script = ScriptBuf::new_op_return([1u8; 4]);
    let chain = DevChain::open(dir.path()).unwrap();
    chain.mine(1, &script).unwrap();
    // Catch-up from genesis and the live feed meet without a gap or a repeat.
    let late = Count(Mutex::new(Vec::new()));
    let seen = Arc::new(Count(Mutex::new(Vec::new())));
    let genesis = BestBlock::from_network(Network::Regtest);
    let tip = chain.catch_up_now(&[(genesis, &late)]).unwrap();
    assert_eq!(*late.0.lock().unwrap(), [1]);
    chain.mine(1, &script).unwrap();
    chain.subscribe_now(tip, seen.clone()).unwrap();
    chain.mine(1, &script).unwrap();
    assert_eq!(*seen.0.lock().unwrap(), [2, 3]);
    let tip = chain.best_block();
    assert_eq!(tip.height, 3);
    for (h, b) in chain.blocks_after(0) {
        assert!(b.check_merkle_root(), "height {h}");
        b.header.validate_pow(b.header.target()).unwrap();
    }
    drop(chain);
    let again = DevChain::open(dir.path()).unwrap();
    assert_eq!(again.best_block(), tip);
    let elsewhere = BestBlock::new(BlockHash::all_zeros(), 2);
    assert!(matches!(
        again.catch_up_now(&[(elsewhere, &Count(Mutex::new(Vec::new())))]),
        Err(ChainError::NotOnThisChain { height: 2, .. })
    ));
    assert_eq!(again.blocks_after(1).len(), 2);
}

#[test]
fn mempool_rejects_bad_spends() {
    let chain = DevChain::in_memory();
    let script = ScriptBuf::new_op_return([2u8; 4]);
    chain.mine(1, &script).unwrap();
    let coinbase_txid = chain.blocks_after(0)[0].1.txdata[0].compute_txid();
    let spend = |value: u64| Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: coinbase_txid,
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value),
            script_pubkey: script.clone(),
        }],
    };
    assert_eq!(chain.submit(spend(1)), Err(MempoolReject::ImmatureCoinbase));
    chain.mine(100, &script).unwrap();
    assert_eq!(
        chain.submit(spend(60 * 100_000_000)),
        Err(MempoolReject::ValueOut)
    );
    assert!(chain.submit(spend(1_000)).is_ok());
    assert_eq!(chain.submit(spend(1_000)), Err(MempoolReject::AlreadyKnown));
    assert_eq!(
        chain.submit(spend(2_000)),
        Err(MempoolReject::DoubleSpendInMempool)
    );
    chain.mine(1, &script).unwrap();
    assert_eq!(chain.mempool_len(), 0);
    assert_eq!(
        chain.submit(spend(3_000)),
        Err(MempoolReject::MissingInput(OutPoint {
            txid: coinbase_txid,
            vout: 0
        }))
    );
}

#[test]
fn a_better_paying_spend_replaces_and_the_miner_leaves_what_pays_below_its_floor() {
    let chain = DevChain::in_memory();
    let script = ScriptBuf::new_op_return([3u8; 4]);
    chain.mine(101, &script).unwrap();
    let coinbase = &chain.blocks_after(0)[0].1.txdata[0];
    let funds = coinbase.output[0].value.to_sat();
    let spend = |prev: OutPoint, value: u64| Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: prev,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value),
            script_pubkey: script.clone(),
        }],
    };
    let coin = OutPoint {
        txid: coinbase.compute_txid(),
        vout: 0,
    };
    let paying = |fee: u64| spend(coin, funds - fee);
    let first = chain.submit(paying(1_000)).unwrap();
    let child = spend(
        OutPoint {
            txid: first,
            vout: 0,
        },
        funds - 1_500,
    );
    let child = chain.submit(child).unwrap();
    // More per weight than the first, but not more than the first and its child together.
    assert_eq!(
        chain.submit(paying(1_200)),
        Err(MempoolReject::DoubleSpendInMempool)
    );
    assert!(chain.in_mempool(&first) && chain.in_mempool(&child));
    // Enough: both are evicted.
    let second = chain.submit(paying(2_000)).unwrap();
    assert_eq!(chain.mempool_len(), 1);
    assert!(!chain.in_mempool(&first) && !chain.in_mempool(&child));

    // A congested chain: the floor is above the replacement's rate, so it stays behind.
    let floor = fee_rate(Amount::from_sat(2_000), &paying(2_000)) + 1;
    chain.set_mining_min_fee_rate(floor);
    chain.mine(3, &script).unwrap();
    assert!(chain.in_mempool(&second));
    assert!(chain.find_tx(&second).is_some_and(|f| f.block.is_none()));
    // A fee bump above the floor replaces it and is mined.
    let bumped = chain.submit(paying(100_000)).unwrap();
    chain.mine(1, &script).unwrap();
    assert_eq!(chain.mempool_len(), 0);
    assert!(chain.find_tx(&bumped).is_some_and(|f| f.block.is_some()));
    assert!(chain.find_tx(&second).is_none());
}
