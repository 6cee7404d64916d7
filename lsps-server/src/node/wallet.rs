//! The on-chain wallet: bdk_wallet 3.x, keys derived from the node seed, fed every block.
//! Not persisted: it is rebuilt from the chain at start-up (the dev chain replays in ms).

use std::sync::Mutex;

use anyhow::anyhow;
use bdk_wallet::{Balance, KeychainKind, Wallet};
use bitcoin::bip32::Xpriv;
use bitcoin::hashes::{Hash, HashEngine, sha256};
use bitcoin::{Address, Block, Network};

/// The node's on-chain wallet.
pub struct DevWallet {
    wallet: Mutex<Wallet>,
}

impl DevWallet {
    /// A BIP84 wallet whose master key is derived from the node seed (domain-separated, so the
    /// wallet key is not the LDK key material).
    pub fn new(seed: &[u8; 32], network: Network) -> anyhow::Result<Self> {
        let mut engine = sha256::Hash::engine();
        engine.input(b"lsps-server/onchain-wallet/v1");
        engine.input(seed);
        let wallet_seed = sha256::Hash::from_engine(engine);
        let xprv = Xpriv::new_master(network, wallet_seed.as_byte_array())
            .map_err(|e| anyhow!("wallet master key: {e}"))?;
        let coin = if network == Network::Bitcoin { 0 } else { 1 };
        let external = format!("wpkh({xprv}/84'/{coin}'/0'/0/*)");
        let internal = format!("wpkh({xprv}/84'/{coin}'/0'/1/*)");
        let wallet = Wallet::create(external, internal)
            .network(network)
            .create_wallet_no_persist()
            .map_err(|e| anyhow!("creating wallet: {e}"))?;
        Ok(Self {
            wallet: Mutex::new(wallet),
        })
    }

    /// Connect a block (called in chain order).
    pub fn apply_block(&self, block: &Block, height: u32) {
        if let Ok(mut wallet) = self.wallet.lock()
            && let Err(e) = wallet.apply_block(block, height)
        {
            tracing::error!(height, "wallet cannot connect block: {e}");
        }
    }

    /// A fresh receive address.
    pub fn new_address(&self) -> Address {
        match self.wallet.lock() {
            Ok(mut wallet) => wallet.reveal_next_address(KeychainKind::External).address,
            Err(poisoned) => {
                poisoned
                    .into_inner()
                    .reveal_next_address(KeychainKind::External)
                    .address
            }
        }
    }

    /// Current balance.
    pub fn balance(&self) -> Balance {
        match self.wallet.lock() {
            Ok(wallet) => wallet.balance(),
            Err(poisoned) => poisoned.into_inner().balance(),
        }
    }
}
