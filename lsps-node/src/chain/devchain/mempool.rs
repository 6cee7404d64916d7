//! The dev chain's mempool policy: which transactions it takes (inputs exist, coinbase maturity,
//! value out ≤ value in) and when a conflicting spend replaces what is there (full RBF).

use std::collections::HashSet;

use bitcoin::{Amount, OutPoint, Transaction, Txid};

use super::{COINBASE_MATURITY, MempoolReject, State};

pub(super) fn accept(state: &mut State, tx: Transaction) -> Result<Txid, MempoolReject> {
    let txid = tx.compute_txid();
    if state.confirmed.contains_key(&txid) || state.mempool.iter().any(|t| t.compute_txid() == txid)
    {
        return Err(MempoolReject::AlreadyKnown);
    }
    // Mempool transactions spending an input of `tx`, and everything that descends from them:
    // what `tx` evicts if it is a valid replacement.
    let conflicts: Vec<Txid> = state
        .mempool
        .iter()
        .filter(|t| {
            t.input.iter().any(|i| {
                tx.input
                    .iter()
                    .any(|n| n.previous_output == i.previous_output)
            })
        })
        .map(Transaction::compute_txid)
        .collect();
    let evicted = with_descendants(&state.mempool, &conflicts);
    let tip_height = state.blocks.len() as u32 - 1;
    let mut value_in = Amount::ZERO;
    for input in &tx.input {
        let prev = if let Some(utxo) = state.utxos.get(&input.previous_output) {
            if utxo.coinbase && tip_height + 1 < utxo.height + COINBASE_MATURITY {
                return Err(MempoolReject::ImmatureCoinbase);
            }
            utxo.output.value
        } else if let Some(parent) = state.mempool.iter().find(|t| {
            let parent = t.compute_txid();
            parent == input.previous_output.txid && !evicted.contains(&parent)
        }) {
            parent
                .output
                .get(input.previous_output.vout as usize)
                .map(|o| o.value)
                .ok_or(MempoolReject::MissingInput(input.previous_output))?
        } else {
            return Err(MempoolReject::MissingInput(input.previous_output));
        };
        value_in = value_in.checked_add(prev).ok_or(MempoolReject::ValueOut)?;
    }
    let value_out = tx
        .output
        .iter()
        .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.value))
        .ok_or(MempoolReject::ValueOut)?;
    let fee = value_in
        .checked_sub(value_out)
        .ok_or(MempoolReject::ValueOut)?;
    if !conflicts.is_empty() {
        let rate = fee_rate(fee, &tx);
        let beats_each = conflicts.iter().all(|c| {
            state
                .mempool
                .iter()
                .find(|t| &t.compute_txid() == c)
                .and_then(|t| Some(fee_rate(fee_of(state, t)?, t)))
                .is_some_and(|theirs| rate > theirs)
        });
        let evicted_fees: Amount = state
            .mempool
            .iter()
            .filter(|t| evicted.contains(&t.compute_txid()))
            .filter_map(|t| fee_of(state, t))
            .sum();
        if !beats_each || fee <= evicted_fees {
            return Err(MempoolReject::DoubleSpendInMempool);
        }
        state
            .mempool
            .retain(|t| !evicted.contains(&t.compute_txid()));
        tracing::debug!(%txid, evicted = evicted.len(), "devchain: replacement accepted");
    }
    state.mempool.push(tx);
    state.mempool_spent = spent_by(&state.mempool);
    Ok(txid)
}

/// `roots` and every mempool transaction that spends an output of one of them, transitively.
fn with_descendants(mempool: &[Transaction], roots: &[Txid]) -> HashSet<Txid> {
    let mut out: HashSet<Txid> = roots.iter().copied().collect();
    loop {
        let before = out.len();
        for t in mempool {
            if t.input
                .iter()
                .any(|i| out.contains(&i.previous_output.txid))
            {
                out.insert(t.compute_txid());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// The outpoints the mempool spends.
pub(super) fn spent_by(mempool: &[Transaction]) -> HashSet<OutPoint> {
    mempool
        .iter()
        .flat_map(|t| t.input.iter().map(|i| i.previous_output))
        .collect()
}

/// What a mempool transaction pays: inputs from the UTXO set or mempool parents, less outputs.
pub(super) fn fee_of(state: &State, tx: &Transaction) -> Option<Amount> {
    let mut value_in = Amount::ZERO;
    for i in &tx.input {
        let value = state
            .utxos
            .get(&i.previous_output)
            .map(|u| u.output.value)
            .or_else(|| {
                state
                    .mempool
                    .iter()
                    .find(|t| t.compute_txid() == i.previous_output.txid)
                    .and_then(|t| t.output.get(i.previous_output.vout as usize))
                    .map(|o| o.value)
            })?;
        value_in = value_in.checked_add(value)?;
    }
    let value_out = tx
        .output
        .iter()
        .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.value))?;
    value_in.checked_sub(value_out)
}

/// Sat per 1000 weight units.
pub(super) fn fee_rate(fee: Amount, tx: &Transaction) -> u64 {
    fee.to_sat().saturating_mul(1000) / tx.weight().to_wu().max(1)
}
