//! Test doubles shared by the unit tests, the integration tests and the benches (feature
//! `testing`): a node that mints fake invoices and counts what it was asked for, and a clock
//! that stands still.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::dispatch::Clock;
use crate::service::{InvoiceRequest, NodeError, NodeOps};

/// A node without LDK: sequential (or scripted) intercept SCIDs, fake invoices, a fixed
/// regtest address, a configurable inbound liquidity; counts every call so tests can prove
/// what node work a request caused.
#[derive(Debug)]
pub struct FakeNode {
    next_scid: AtomicU64,
    scripted_scids: Mutex<VecDeque<u64>>,
    repeat_scid: Option<u64>,
    /// Returned by every [`NodeOps::inbound_liquidity_msat`].
    pub inbound_msat: u64,
    /// Returned by every [`NodeOps::fundable_channel_sat`] (unlimited by default).
    pub fundable_sat: u64,
    /// When false, `bolt11_invoice` fails.
    pub invoices: bool,
    /// When set, `onchain_address` returns it; otherwise it fails with "no wallet".
    pub address: Option<String>,
    /// `bolt11_invoice` calls so far.
    pub invoice_calls: AtomicUsize,
    /// `onchain_address` calls so far.
    pub address_calls: AtomicUsize,
    /// `intercept_scid` calls so far.
    pub scid_calls: AtomicUsize,
}

impl FakeNode {
    /// SCIDs counting up from `first_scid`, invoices on, a regtest address, no liquidity.
    pub fn new(first_scid: u64) -> Self {
        Self {
            next_scid: AtomicU64::new(first_scid),
            scripted_scids: Mutex::new(VecDeque::new()),
            repeat_scid: None,
            inbound_msat: 0,
            fundable_sat: u64::MAX,
            invoices: true,
            address: regtest_address(),
            invoice_calls: AtomicUsize::new(0),
            address_calls: AtomicUsize::new(0),
            scid_calls: AtomicUsize::new(0),
        }
    }

    /// Hand out `scripted` first, then `fallback` forever (how LDK's fake SCIDs can repeat on
    /// a short dev chain).
    pub fn with_scid_script(scripted: &[u64], fallback: u64) -> Self {
        Self {
            scripted_scids: Mutex::new(scripted.iter().copied().collect()),
            repeat_scid: Some(fallback),
            ..Self::new(0)
        }
    }
}

/// A regtest P2WPKH address of the key whose secret is `[9; 32]`.
pub fn regtest_address() -> Option<String> {
    let secret = bitcoin::secp256k1::SecretKey::from_slice(&[9; 32]).ok()?;
    let key = bitcoin::secp256k1::PublicKey::from_secret_key(
        &bitcoin::secp256k1::Secp256k1::new(),
        &secret,
    );
    let address = bitcoin::Address::p2wpkh(
        &bitcoin::CompressedPublicKey(key),
        bitcoin::Network::Regtest,
    );
    Some(address.to_string())
}

impl NodeOps for FakeNode {
    fn intercept_scid(&self) -> u64 {
        self.scid_calls.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut script) = self.scripted_scids.lock()
            && let Some(scid) = script.pop_front()
        {
            return scid;
        }
        match self.repeat_scid {
            Some(scid) => scid,
            None => self.next_scid.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn bolt11_invoice(&self, request: &InvoiceRequest) -> Result<String, NodeError> {
        let call = self.invoice_calls.fetch_add(1, Ordering::Relaxed);
        if self.invoices {
            // As long as a real regtest invoice, so rows and benches see realistic sizes.
            let text = format!("lnbcrt{}fake{call}", request.amount_msat);
            Ok(format!(
                "{text}{}",
                "q".repeat(340usize.saturating_sub(text.len()))
            ))
        } else {
            Err(NodeError::Invoice(
                "this fake node makes no invoices".into(),
            ))
        }
    }

    fn onchain_address(&self) -> Result<String, NodeError> {
        self.address_calls.fetch_add(1, Ordering::Relaxed);
        self.address.clone().ok_or(NodeError::NoWallet)
    }

    fn inbound_liquidity_msat(&self) -> u64 {
        self.inbound_msat
    }

    fn fundable_channel_sat(&self) -> u64 {
        self.fundable_sat
    }
}

/// A clock that stands at `now_ms` and yields entropy from a counter (distinct, repeatable).
#[derive(Debug)]
pub struct FixedClock {
    now_ms: AtomicU64,
    draws: AtomicU64,
}

impl FixedClock {
    /// A clock at `now_ms`.
    pub fn at(now_ms: u64) -> Self {
        Self {
            now_ms: AtomicU64::new(now_ms),
            draws: AtomicU64::new(0),
        }
    }

    /// Move the clock to `now_ms`.
    pub fn set(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::Relaxed);
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }

    fn entropy(&self) -> [u8; 16] {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0x5a; 16];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes
    }
}
