//! LSPS2 `promise`: creation, verification and the format rules every promise obeys.
//!
//! A promise is `hex(HMAC-SHA256(secret, message))` (64 lower-case hex characters), where
//! `message` is a fixed binary form, all integers big-endian:
//!
//! ```text
//! "lsps2-promise-v1"          16 bytes, domain separation and version
//! client node id              33 bytes (compressed)
//! min_fee_msat                u64
//! proportional                u32
//! valid_until                 u64, Unix milliseconds
//! min_lifetime                u32
//! max_client_to_self_delay    u32
//! min_payment_size_msat       u64
//! max_payment_size_msat       u64
//! ```
//!
//! `valid_until` is covered as an instant, not as text, so a client that re-formats an
//! equal datetime (LDK writes chrono's RFC 3339 variants) still verifies. Binding the client
//! node id means a promise obtained by one peer is useless to another (LDK does the same;
//! the spec does not require it).

use core::fmt;

use bitcoin::hashes::{Hash, HashEngine, cmp::fixed_time_eq, hmac, sha256};

use super::{OpeningFeeParams, RawOpeningFeeParams};
use crate::types::NodeId;

/// Maximum promise length in bytes (bLIP-52).
pub const MAX_PROMISE_BYTES: usize = 512;

const DOMAIN: &[u8; 16] = b"lsps2-promise-v1";

/// Which bLIP-52 promise rule a string breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromiseFormatError {
    /// Longer than 512 bytes (the client MUST abort).
    #[error("promise is {0} bytes, more than the 512 allowed")]
    TooLong(usize),
    /// Contains a byte outside printable ASCII 0x20..=0x7E.
    #[error("promise contains a character outside printable ASCII at byte {0}")]
    NotPrintableAscii(usize),
    /// Contains `"` or `\`, which would need escaping in JSON.
    #[error("promise contains a character that needs JSON escaping at byte {0}")]
    NeedsEscaping(usize),
}

/// Checks the rules any promise obeys: ≤ 512 bytes, printable ASCII only, nothing that needs
/// JSON escaping. A client uses it on every menu entry (it MUST abort on > 512 bytes).
pub fn check_promise_format(promise: &str) -> Result<(), PromiseFormatError> {
    if promise.len() > MAX_PROMISE_BYTES {
        return Err(PromiseFormatError::TooLong(promise.len()));
    }
    for (i, b) in promise.bytes().enumerate() {
        if !(0x20..=0x7e).contains(&b) {
            return Err(PromiseFormatError::NotPrintableAscii(i));
        }
        if b == b'"' || b == b'\\' {
            return Err(PromiseFormatError::NeedsEscaping(i));
        }
    }
    Ok(())
}

impl OpeningFeeParams {
    /// [`check_promise_format`] on this entry's promise.
    pub fn check_promise_format(&self) -> Result<(), PromiseFormatError> {
        check_promise_format(&self.promise)
    }
}

/// The LSP's 32-byte HMAC key for promises. Keep it secret and stable across restarts
/// (otherwise outstanding menus stop verifying). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct PromiseSecret(pub [u8; 32]);

impl fmt::Debug for PromiseSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PromiseSecret(..)")
    }
}

impl PromiseSecret {
    /// The key schedule for this secret, to sign or verify many promises.
    pub fn key(&self) -> PromiseKey {
        PromiseKey {
            keyed: hmac::HmacEngine::<sha256::Hash>::new(&self.0),
        }
    }

    /// The promise for `params` offered to `client`: 64 lower-case hex characters.
    pub fn sign(&self, client: &NodeId, params: &RawOpeningFeeParams) -> String {
        self.key().for_client(client).sign(params)
    }

    /// `params` with its promise for `client` attached (a ready menu entry).
    pub fn issue(&self, client: &NodeId, params: RawOpeningFeeParams) -> OpeningFeeParams {
        self.key().for_client(client).issue(params)
    }

    /// True if `params.promise` is the promise this secret gives `client` for the other seven
    /// fields. The comparison of MAC bytes is constant-time; hex case is not significant.
    /// Does not check `valid_until` against a clock (the caller does, for error 201).
    pub fn verify(&self, client: &NodeId, params: &OpeningFeeParams) -> bool {
        self.key().for_client(client).verify(params)
    }
}

/// A [`PromiseSecret`] with its HMAC key schedule done (the inner and outer pads hashed), so
/// that an LSP signing a menu per `get_info` pays only for the message blocks. Made once per
/// secret; cheap to clone. `Debug` does not print it.
#[derive(Clone)]
pub struct PromiseKey {
    keyed: hmac::HmacEngine<sha256::Hash>,
}

impl fmt::Debug for PromiseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PromiseKey(..)")
    }
}

impl PromiseKey {
    /// Promises for one client: the domain tag and the node id are hashed once for a whole
    /// menu.
    pub fn for_client(&self, client: &NodeId) -> ClientPromises {
        let mut engine = self.keyed.clone();
        engine.input(DOMAIN);
        engine.input(&client.serialize());
        ClientPromises { engine }
    }
}

/// A [`PromiseKey`] bound to one client node id (see [`PromiseKey::for_client`]).
#[derive(Clone)]
pub struct ClientPromises {
    engine: hmac::HmacEngine<sha256::Hash>,
}

impl fmt::Debug for ClientPromises {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientPromises(..)")
    }
}

impl ClientPromises {
    fn mac(&self, p: &RawOpeningFeeParams) -> [u8; 32] {
        let mut engine = self.engine.clone();
        engine.input(&p.min_fee_msat.get().to_be_bytes());
        engine.input(&p.proportional.get().to_be_bytes());
        engine.input(&p.valid_until.unix_millis().to_be_bytes());
        engine.input(&p.min_lifetime.to_be_bytes());
        engine.input(&p.max_client_to_self_delay.to_be_bytes());
        engine.input(&p.min_payment_size_msat.get().to_be_bytes());
        engine.input(&p.max_payment_size_msat.get().to_be_bytes());
        hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
    }

    /// The promise for `params`: 64 lower-case hex characters.
    pub fn sign(&self, params: &RawOpeningFeeParams) -> String {
        let mut text = [0u8; 64];
        // 32 bytes always fill 64 hex digits, which are ASCII: neither fallback is reachable.
        let _ = hex::encode_to_slice(self.mac(params), &mut text);
        std::str::from_utf8(&text)
            .map(str::to_owned)
            .unwrap_or_default()
    }

    /// `params` with its promise attached (a ready menu entry).
    pub fn issue(&self, params: RawOpeningFeeParams) -> OpeningFeeParams {
        let promise = self.sign(&params);
        params.with_promise(promise)
    }

    /// True if `params.promise` is the promise for the other seven fields. The comparison of
    /// MAC bytes is constant-time; hex case is not significant. Does not check `valid_until`
    /// against a clock (the caller does, for error 201).
    pub fn verify(&self, params: &OpeningFeeParams) -> bool {
        if params.promise.len() != 64 {
            return false;
        }
        let mut given = [0u8; 32];
        if hex::decode_to_slice(&params.promise, &mut given).is_err() {
            return false;
        }
        fixed_time_eq(&given, &self.mac(&params.raw()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::types::{Datetime, DatetimeMode, Msat, Ppm};

    fn node(byte: u8) -> NodeId {
        let sk = bitcoin::secp256k1::SecretKey::from_slice(&[byte; 32]).unwrap();
        NodeId(sk.public_key(&bitcoin::secp256k1::Secp256k1::signing_only()))
    }

    fn raw() -> RawOpeningFeeParams {
        RawOpeningFeeParams {
            min_fee_msat: Msat(546_000),
            proportional: Ppm(1200),
            valid_until: Datetime::parse("2023-02-23T08:47:30.511Z", DatetimeMode::Strict).unwrap(),
            min_lifetime: 1008,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: Msat(1000),
            max_payment_size_msat: Msat(1_000_000),
        }
    }

    #[test]
    fn sign_then_verify_and_fixed_vector() {
        let secret = PromiseSecret([7; 32]);
        let p = secret.issue(&node(1), raw());
        assert_eq!(p.promise.len(), 64);
        assert!(p.check_promise_format().is_ok());
        assert!(secret.verify(&node(1), &p));
        // Upper-case hex is the same promise.
        let mut upper = p.clone();
        upper.promise = upper.promise.to_uppercase();
        assert!(secret.verify(&node(1), &upper));
        // Known answer computed independently (Python hmac over the documented binary form):
        // changing the form would silently invalidate every promise already issued.
        let g: NodeId = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            .parse()
            .unwrap();
        assert_eq!(
            secret.sign(&g, &raw()),
            "81d81c477d34416facf75ad0cbc5c7062973478e432d83546931fae07c30ed14"
        );
    }

    #[test]
    fn any_change_fails() {
        let secret = PromiseSecret([7; 32]);
        let p = secret.issue(&node(1), raw());
        assert!(!secret.verify(&node(2), &p));
        assert!(!PromiseSecret([8; 32]).verify(&node(1), &p));
        let mut variants = Vec::new();
        let mut v = p.clone();
        v.min_fee_msat = Msat(546_001);
        variants.push(v);
        let mut v = p.clone();
        v.proportional = Ppm(1201);
        variants.push(v);
        let mut v = p.clone();
        v.valid_until = v.valid_until.checked_add_millis(1).unwrap();
        variants.push(v);
        let mut v = p.clone();
        v.min_lifetime += 1;
        variants.push(v);
        let mut v = p.clone();
        v.max_client_to_self_delay += 1;
        variants.push(v);
        let mut v = p.clone();
        v.min_payment_size_msat = Msat(999);
        variants.push(v);
        let mut v = p.clone();
        v.max_payment_size_msat = Msat(1_000_001);
        variants.push(v);
        let mut v = p.clone();
        v.promise
            .replace_range(0..1, if p.promise.starts_with('0') { "1" } else { "0" });
        variants.push(v);
        let mut v = p.clone();
        v.promise.push('0');
        variants.push(v);
        let mut v = p.clone();
        v.promise = "zz".repeat(32);
        variants.push(v);
        for v in variants {
            assert!(!secret.verify(&node(1), &v), "{v:?}");
        }
    }

    #[test]
    fn reformatted_valid_until_still_verifies() {
        let secret = PromiseSecret([7; 32]);
        let p = secret.issue(&node(1), raw());
        let mut v = p.clone();
        v.valid_until = "2023-02-23T09:47:30.511000+01:00".parse().unwrap();
        assert!(secret.verify(&node(1), &v));
    }

    #[test]
    fn format_rules() {
        assert_eq!(check_promise_format(&"a".repeat(512)), Ok(()));
        assert_eq!(
            check_promise_format(&"a".repeat(513)),
            Err(PromiseFormatError::TooLong(513))
        );
        assert_eq!(
            check_promise_format("ab\u{7f}"),
            Err(PromiseFormatError::NotPrintableAscii(2))
        );
        assert_eq!(
            check_promise_format("é"),
            Err(PromiseFormatError::NotPrintableAscii(0))
        );
        assert_eq!(
            check_promise_format("a\nb"),
            Err(PromiseFormatError::NotPrintableAscii(1))
        );
        assert_eq!(
            check_promise_format("a\"b"),
            Err(PromiseFormatError::NeedsEscaping(1))
        );
        assert_eq!(
            check_promise_format("a\\b"),
            Err(PromiseFormatError::NeedsEscaping(1))
        );
        assert_eq!(check_promise_format("abcdefghijklmnopqrstuvwxyz"), Ok(()));
        assert_eq!(format!("{:?}", PromiseSecret([1; 32])), "PromiseSecret(..)");
    }
}
