//! The dev chain's miner: the next block from the mempool (coinbase, witness commitment, merkle
//! root), ground to regtest difficulty.

use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::script::Builder;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    Amount, Block, CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Witness,
};

use super::State;
use super::mempool::{fee_of, fee_rate};

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

fn subsidy(height: u32) -> Amount {
    // Regtest halves every 150 blocks.
    let halvings = height / 150;
    if halvings >= 64 {
        Amount::ZERO
    } else {
        Amount::from_sat((50 * 100_000_000u64) >> halvings)
    }
}

/// The next block, with the mempool transactions the miner takes (all, or those paying at
/// least the floor whose mempool parents are taken too), and the transactions it leaves.
pub(super) fn build_block(
    state: &State,
    height: u32,
    coinbase_script: &ScriptBuf,
) -> (Block, Vec<Transaction>) {
    let Some(prev) = state.blocks.last() else {
        return (
            bitcoin::constants::genesis_block(Network::Regtest),
            Vec::new(),
        );
    };
    let mut taken: Vec<Transaction> = Vec::new();
    let mut left: Vec<Transaction> = Vec::new();
    let mut fees = Amount::ZERO;
    // The mempool is in acceptance order, so parents come before their children.
    for tx in &state.mempool {
        let fee = fee_of(state, tx).unwrap_or(Amount::ZERO);
        let parent_left = tx.input.iter().any(|i| {
            left.iter()
                .any(|l| l.compute_txid() == i.previous_output.txid)
        });
        if parent_left || fee_rate(fee, tx) < state.mining_min_fee_rate {
            left.push(tx.clone());
        } else {
            fees += fee;
            taken.push(tx.clone());
        }
    }
    let has_witness = taken
        .iter()
        .any(|t| t.input.iter().any(|i| !i.witness.is_empty()));
    let mut coinbase = Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            // BIP34 height push plus OP_0 so the script is always ≥ 2 bytes.
            script_sig: Builder::new()
                .push_int(height as i64)
                .push_int(0)
                .into_script(),
            sequence: Sequence::MAX,
            witness: if has_witness {
                Witness::from_slice(&[[0u8; 32]])
            } else {
                Witness::new()
            },
        }],
        output: vec![TxOut {
            value: subsidy(height) + fees,
            script_pubkey: coinbase_script.clone(),
        }],
    };
    let mut txdata = vec![coinbase.clone()];
    txdata.extend(taken);
    let mut block = Block {
        header: Header {
            version: BlockVersion::from_consensus(0x2000_0000),
            prev_blockhash: prev.block_hash(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: now_secs().max(prev.header.time + 1),
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        },
        txdata,
    };
    if has_witness && let Some(witness_root) = block.witness_root() {
        let commitment = Block::compute_witness_commitment(&witness_root, &[0u8; 32]);
        let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        script.extend_from_slice(commitment.as_byte_array());
        coinbase.output.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from(script),
        });
        block.txdata[0] = coinbase;
    }
    if let Some(root) = block.compute_merkle_root() {
        block.header.merkle_root = root;
    }
    let target = block.header.target();
    while block.header.validate_pow(target).is_err() {
        block.header.nonce = block.header.nonce.wrapping_add(1);
    }
    (block, left)
}
