//! The on-chain wallet: bdk_wallet (BIP84, keys derived from the node seed), fed every block,
//! with every change persisted before it is used.
//!
//! Persistence is bdk_wallet's own change set, appended to `<data_dir>/wallet.log` as
//! length-prefixed JSON records, each fsynced before the call that produced it returns: an
//! address is on disk before anyone sees it (a restart never hands it out again) and a spend is
//! on disk before the transaction leaves (a restart does not forget it). Not bdk's `rusqlite`
//! feature (its libsqlite3-sys clashes with sqlx's) and not `bdk_file_store`, which calls
//! itself a development database and does not fsync.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bdk_wallet::chain::Merge;
use bdk_wallet::{
    Balance, ChangeSet, CreateWithPersistError, KeychainKind, LoadWithPersistError,
    PersistedWallet, SignOptions, Wallet, WalletPersister,
};
use bitcoin::bip32::Xpriv;
use bitcoin::block::Header;
use bitcoin::{
    Address, Amount, Block, FeeRate, Network, OutPoint, Script, ScriptBuf, Transaction, Txid,
};
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Listen};

use crate::seed::derive_secret;

/// Records beyond this many are folded into one when the wallet is opened, so the log stays
/// about as large as the wallet state.
const COMPACT_AFTER_RECORDS: usize = 256;

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The change-set log could not be read or written.
    #[error("wallet log {path}: {source}")]
    Log {
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The log holds a record that is not a change set.
    #[error("wallet log {path}: record {index} is not a wallet change set: {source}")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// Which record.
        index: usize,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The persisted wallet does not match this seed or network.
    #[error("loading the wallet: {0}")]
    Load(#[source] Box<LoadWithPersistError<std::io::Error>>),
    /// Creating a fresh wallet failed.
    #[error("creating the wallet: {0}")]
    Create(#[source] Box<CreateWithPersistError<std::io::Error>>),
    /// The master key could not be derived.
    #[error("wallet master key: {0}")]
    Key(#[from] bitcoin::bip32::Error),
    /// The transaction could not be built (not enough confirmed funds, dust, ...).
    #[error("building the transaction: {0}")]
    Build(#[source] Box<bdk_wallet::error::CreateTxError>),
    /// An input could not be signed.
    #[error("signing the transaction: {0}")]
    Sign(String),
    /// An input could not be finalized.
    #[error("finalizing the transaction: {0}")]
    Finalize(#[source] Box<bdk_wallet::signer::SignerError>),
    /// The signed PSBT could not be turned into a transaction.
    #[error("extracting the transaction: {0}")]
    Extract(#[source] Box<bitcoin::psbt::ExtractTxError>),
    /// The wallet lock was poisoned by a panic elsewhere.
    #[error("wallet lock poisoned")]
    Poisoned,
}

/// bdk_wallet's change sets appended to one file (see the module doc).
pub struct ChangeSetLog {
    file: File,
    path: PathBuf,
}

impl ChangeSetLog {
    /// Open (or create) the log at `path`.
    pub fn open(path: &Path) -> Result<Self, WalletError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| WalletError::Log {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    fn io(&self, source: std::io::Error) -> WalletError {
        WalletError::Log {
            path: self.path.clone(),
            source,
        }
    }

    /// Read every record and merge them; a torn final record (crash mid-append) is cut off.
    fn read_all(&mut self) -> Result<ChangeSet, WalletError> {
        let mut bytes = Vec::new();
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.read_to_end(&mut bytes))
            .map_err(|e| self.io(e))?;
        let mut merged = ChangeSet::default();
        let mut rest = bytes.as_slice();
        let mut valid_len = 0usize;
        let mut records = 0usize;
        while rest.len() >= 4 {
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() < 4 + len {
                break;
            }
            let record: ChangeSet =
                serde_json::from_slice(&rest[4..4 + len]).map_err(|source| {
                    WalletError::Corrupt {
                        path: self.path.clone(),
                        index: records,
                        source,
                    }
                })?;
            merged.merge(record);
            records += 1;
            valid_len += 4 + len;
            rest = &rest[4 + len..];
        }
        if valid_len < bytes.len() {
            tracing::warn!(path = %self.path.display(), "wallet log: torn final record dropped");
            self.file
                .set_len(valid_len as u64)
                .map_err(|e| self.io(e))?;
        }
        if records > COMPACT_AFTER_RECORDS {
            self.rewrite(&merged)?;
        }
        self.file.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        Ok(merged)
    }

    /// Replace the log by one record holding `merged` (temp file, fsync, rename).
    fn rewrite(&mut self, merged: &ChangeSet) -> Result<(), WalletError> {
        let tmp = self.path.with_extension("compact");
        let mut file = File::create(&tmp).map_err(|e| self.io(e))?;
        file.write_all(&encode_record(merged)?)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        self.file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    fn append(&mut self, changeset: &ChangeSet) -> Result<(), WalletError> {
        if changeset.is_empty() {
            return Ok(());
        }
        let record = encode_record(changeset)?;
        self.file
            .write_all(&record)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.io(e))
    }
}

fn encode_record(changeset: &ChangeSet) -> Result<Vec<u8>, WalletError> {
    let json = serde_json::to_vec(changeset).map_err(|source| WalletError::Corrupt {
        path: PathBuf::new(),
        index: 0,
        source,
    })?;
    let mut record = Vec::with_capacity(4 + json.len());
    record.extend_from_slice(&(json.len() as u32).to_le_bytes());
    record.extend_from_slice(&json);
    Ok(record)
}

fn to_io(e: WalletError) -> std::io::Error {
    match e {
        WalletError::Log { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    }
}

impl WalletPersister for ChangeSetLog {
    type Error = std::io::Error;

    fn initialize(persister: &mut Self) -> Result<ChangeSet, Self::Error> {
        persister.read_all().map_err(to_io)
    }

    fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), Self::Error> {
        persister.append(changeset).map_err(to_io)
    }
}

struct Inner {
    wallet: PersistedWallet<ChangeSetLog>,
    log: ChangeSetLog,
}

impl Inner {
    fn persist(&mut self) -> Result<(), WalletError> {
        self.wallet
            .persist(&mut self.log)
            .map(|_| ())
            .map_err(|source| WalletError::Log {
                path: self.log.path.clone(),
                source,
            })
    }
}

/// The node's on-chain wallet.
pub struct OnchainWallet {
    inner: Mutex<Inner>,
    master: Xpriv,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl OnchainWallet {
    /// Open the wallet persisted at `path`, or create it. Its BIP84 master key is derived from
    /// the node seed (domain-separated, so it is not LDK's key material).
    pub fn open(path: &Path, seed: &[u8; 32], network: Network) -> Result<Self, WalletError> {
        let wallet_seed = derive_secret(seed, b"lsps-server/onchain-wallet/v1");
        let master = Xpriv::new_master(network, &wallet_seed)?;
        let coin = if network == Network::Bitcoin { 0 } else { 1 };
        let external = format!("wpkh({master}/84'/{coin}'/0'/0/*)");
        let internal = format!("wpkh({master}/84'/{coin}'/0'/1/*)");
        let mut log = ChangeSetLog::open(path)?;
        let loaded = Wallet::load()
            .descriptor(KeychainKind::External, Some(external.clone()))
            .descriptor(KeychainKind::Internal, Some(internal.clone()))
            .check_network(network)
            .load_wallet(&mut log)
            .map_err(|e| WalletError::Load(Box::new(e)))?;
        let wallet = match loaded {
            Some(wallet) => wallet,
            None => Wallet::create(external, internal)
                .network(network)
                .create_wallet(&mut log)
                .map_err(|e| WalletError::Create(Box::new(e)))?,
        };
        Ok(Self {
            inner: Mutex::new(Inner { wallet, log }),
            master,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, WalletError> {
        self.inner.lock().map_err(|_| WalletError::Poisoned)
    }

    /// Sign `psbt` with the wallet's keys, finalize it, and record the transaction as an
    /// unconfirmed spend of the wallet (persisted), so its inputs are not spent again before it
    /// confirms.
    fn sign_and_record(
        &self,
        inner: &mut Inner,
        mut psbt: bitcoin::Psbt,
    ) -> Result<Transaction, WalletError> {
        psbt.sign(&self.master, inner.wallet.secp_ctx())
            .map_err(|(_, errors)| WalletError::Sign(format!("{errors:?}")))?;
        inner
            .wallet
            .finalize_psbt(&mut psbt, SignOptions::default())
            .map_err(|e| WalletError::Finalize(Box::new(e)))?;
        let tx = psbt
            .extract_tx()
            .map_err(|e| WalletError::Extract(Box::new(e)))?;
        inner
            .wallet
            .apply_unconfirmed_txs([(Arc::new(tx.clone()), now_secs())]);
        inner.persist()?;
        Ok(tx)
    }

    /// A receive address never handed out before; it is on disk before it is returned.
    pub fn new_address(&self) -> Result<Address, WalletError> {
        let mut inner = self.lock()?;
        let address = inner
            .wallet
            .reveal_next_address(KeychainKind::External)
            .address;
        inner.persist()?;
        Ok(address)
    }

    /// Current balance.
    pub fn balance(&self) -> Balance {
        match self.inner.lock() {
            Ok(inner) => inner.wallet.balance(),
            Err(poisoned) => poisoned.into_inner().wallet.balance(),
        }
    }

    /// The last block the wallet has seen.
    pub fn best_block(&self) -> Result<BestBlock, WalletError> {
        let inner = self.lock()?;
        let tip = inner.wallet.latest_checkpoint();
        Ok(BestBlock::new(tip.hash(), tip.height()))
    }

    /// Connect a block (called in chain order) and persist what it changed.
    pub fn apply_block(&self, block: &Block, height: u32) -> Result<(), WalletError> {
        let mut inner = self.lock()?;
        if let Err(e) = inner.wallet.apply_block(block, height) {
            tracing::error!(height, "wallet cannot connect block: {e}");
            return Ok(());
        }
        inner.persist()
    }

    /// Build and sign a transaction paying `amount` to `script` at `fee_rate_sat_per_kw`, change
    /// back to the wallet. Its inputs are marked spent and that is persisted before the
    /// transaction is returned, so a second spend (even after a restart) never reuses them.
    pub fn pay_to_script(
        &self,
        script: ScriptBuf,
        amount: Amount,
        fee_rate_sat_per_kw: u32,
    ) -> Result<Transaction, WalletError> {
        let mut inner = self.lock()?;
        let psbt = {
            let mut builder = inner.wallet.build_tx();
            builder
                .add_recipient(script, amount)
                .fee_rate(FeeRate::from_sat_per_kwu(u64::from(fee_rate_sat_per_kw)));
            builder
                .finish()
                .map_err(|e| WalletError::Build(Box::new(e)))?
        };
        self.sign_and_record(&mut inner, psbt)
    }
}

/// An output paying one of the wallet's scripts, as the wallet's chain shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedOutput {
    /// The output.
    pub outpoint: OutPoint,
    /// Its value.
    pub amount: Amount,
    /// Confirmations: 0 while unconfirmed (the wallet learns transactions from blocks and from
    /// its own spends, not from a mempool).
    pub confirmations: u32,
}

/// A wallet transaction paying a script, with what it pays there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentTo {
    /// The transaction.
    pub txid: Txid,
    /// The sum of its outputs to the script.
    pub amount: Amount,
    /// Confirmations (0 while unconfirmed).
    pub confirmations: u32,
}

fn confirmations_of(
    position: &bdk_wallet::chain::ChainPosition<bdk_wallet::chain::ConfirmationBlockTime>,
    tip: u32,
) -> u32 {
    match position {
        bdk_wallet::chain::ChainPosition::Confirmed { anchor, .. } => {
            tip.saturating_sub(anchor.block_id.height).saturating_add(1)
        }
        bdk_wallet::chain::ChainPosition::Unconfirmed { .. } => 0,
    }
}

impl OnchainWallet {
    /// Every output (spent or not) the wallet has seen paying `script`, with confirmations.
    pub fn received_at(&self, script: &Script) -> Result<Vec<ReceivedOutput>, WalletError> {
        let inner = self.lock()?;
        let tip = inner.wallet.latest_checkpoint().height();
        Ok(inner
            .wallet
            .list_output()
            .filter(|o| o.txout.script_pubkey.as_script() == script)
            .map(|o| ReceivedOutput {
                outpoint: o.outpoint,
                amount: o.txout.value,
                confirmations: confirmations_of(&o.chain_position, tip),
            })
            .collect())
    }

    /// The wallet's own transactions with an output to `script` (a foreign script: payments
    /// the wallet made), newest state of each.
    pub fn sent_to(&self, script: &Script) -> Result<Vec<SentTo>, WalletError> {
        let inner = self.lock()?;
        let tip = inner.wallet.latest_checkpoint().height();
        Ok(inner
            .wallet
            .transactions()
            .filter_map(|c| {
                let amount: Amount = c
                    .tx_node
                    .tx
                    .output
                    .iter()
                    .filter(|o| o.script_pubkey.as_script() == script)
                    .map(|o| o.value)
                    .sum();
                (amount > Amount::ZERO).then(|| SentTo {
                    txid: c.tx_node.txid,
                    amount,
                    confirmations: confirmations_of(&c.chain_position, tip),
                })
            })
            .collect())
    }

    /// The wallet's transaction `txid`, if it has one (to broadcast it again).
    pub fn transaction(&self, txid: Txid) -> Result<Option<Transaction>, WalletError> {
        let inner = self.lock()?;
        Ok(inner.wallet.get_tx(txid).map(|c| (*c.tx_node.tx).clone()))
    }

    /// Pay `gross` minus this transaction's own fee to `script` (a refund: the recipient bears
    /// the fee), at `fee_rate_sat_per_kw`; inputs marked spent and persisted before the
    /// transaction is returned, as [`OnchainWallet::pay_to_script`].
    pub fn pay_to_script_fee_deducted(
        &self,
        script: ScriptBuf,
        gross: Amount,
        fee_rate_sat_per_kw: u32,
    ) -> Result<Transaction, WalletError> {
        let rate = FeeRate::from_sat_per_kwu(u64::from(fee_rate_sat_per_kw));
        // The fee of the same payment at the gross amount; the net payment has the same shape
        // (one recipient, change), so its fee is the same but for a change-output rounding.
        let fee = {
            let mut inner = self.lock()?;
            let mut builder = inner.wallet.build_tx();
            builder.add_recipient(script.clone(), gross).fee_rate(rate);
            let psbt = builder
                .finish()
                .map_err(|e| WalletError::Build(Box::new(e)))?;
            psbt.fee()
                .map_err(|e| WalletError::Sign(format!("fee: {e}")))?
        };
        let net = gross
            .checked_sub(fee)
            .filter(|net| *net > script.minimal_non_dust())
            .ok_or_else(|| {
                WalletError::Sign(format!("{gross} does not cover its own fee of {fee}"))
            })?;
        self.pay_to_script(script, net, fee_rate_sat_per_kw)
    }

    /// Replace the unconfirmed wallet transaction `txid` with one paying a higher fee
    /// (`fee_rate_sat_per_kw`, RBF; the wallet's transactions signal it). The replacement is
    /// persisted before it is returned.
    pub fn bump_fee(
        &self,
        txid: Txid,
        fee_rate_sat_per_kw: u32,
    ) -> Result<Transaction, WalletError> {
        let mut inner = self.lock()?;
        let psbt = {
            let mut builder = inner
                .wallet
                .build_fee_bump(txid)
                .map_err(|e| WalletError::Sign(format!("fee bump of {txid}: {e}")))?;
            builder.fee_rate(FeeRate::from_sat_per_kwu(u64::from(fee_rate_sat_per_kw)));
            builder
                .finish()
                .map_err(|e| WalletError::Build(Box::new(e)))?
        };
        self.sign_and_record(&mut inner, psbt)
    }
}

impl Listen for OnchainWallet {
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
        // Only reached with header-and-filtered-transactions sources; the wallet keeps what
        // it is given.
        let block = Block {
            header: *header,
            txdata: txdata.iter().map(|(_, tx)| (*tx).clone()).collect(),
        };
        self.block_connected(&block, height);
    }

    fn block_connected(&self, block: &Block, height: u32) {
        if let Err(e) = self.apply_block(block, height) {
            tracing::error!(height, "wallet: {e}");
        }
    }

    fn blocks_disconnected(&self, _fork_point: BestBlock) {
        // bdk's local chain replaces the stale blocks when the next block of the new branch
        // connects through its `prev_blockhash`.
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reopened_wallet_never_repeats_an_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.log");
        let seed = [9u8; 32];
        let first = {
            let wallet = OnchainWallet::open(&path, &seed, Network::Regtest).unwrap();
            [wallet.new_address().unwrap(), wallet.new_address().unwrap()]
        };
        let wallet = OnchainWallet::open(&path, &seed, Network::Regtest).unwrap();
        let after = wallet.new_address().unwrap();
        assert!(!first.contains(&after), "{after} was handed out before");
    }

    #[test]
    fn torn_record_is_dropped_and_log_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.log");
        let seed = [3u8; 32];
        let a = OnchainWallet::open(&path, &seed, Network::Regtest)
            .unwrap()
            .new_address()
            .unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[200, 0, 0, 0, b'{']).unwrap();
        drop(file);
        let wallet = OnchainWallet::open(&path, &seed, Network::Regtest).unwrap();
        let b = wallet.new_address().unwrap();
        assert_ne!(a, b);
        let again = OnchainWallet::open(&path, &seed, Network::Regtest).unwrap();
        let c = again.new_address().unwrap();
        assert!(c != a && c != b);
    }

    #[test]
    fn another_seed_cannot_load_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.log");
        OnchainWallet::open(&path, &[1u8; 32], Network::Regtest).unwrap();
        assert!(matches!(
            OnchainWallet::open(&path, &[2u8; 32], Network::Regtest),
            Err(WalletError::Load(_))
        ));
    }
}
