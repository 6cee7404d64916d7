//! `LSPS0.pubkey`: a compressed secp256k1 public key (node id).

use core::fmt;
use core::str::FromStr;

use bitcoin::secp256k1::PublicKey;

use super::string_serde;

/// Why a string is not a valid `LSPS0.pubkey`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeIdError {
    /// Not exactly 66 hexadecimal characters.
    #[error("public key must be exactly 66 hex characters (33-byte compressed point)")]
    Format,
    /// The first byte is not `02` or `03`, or the point is not on the secp256k1 curve.
    #[error("public key is not a compressed secp256k1 point on the curve (prefix 02/03)")]
    NotOnCurve,
}

/// `LSPS0.pubkey`: a node id. Read in either hex case, checked on-curve, written lower-case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub PublicKey);

impl NodeId {
    /// Parses a 33-byte compressed SEC1 encoding.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, NodeIdError> {
        if bytes.len() != 33 || !matches!(bytes[0], 2 | 3) {
            return Err(NodeIdError::NotOnCurve);
        }
        PublicKey::from_slice(bytes)
            .map(Self)
            .map_err(|_| NodeIdError::NotOnCurve)
    }

    /// The 33-byte compressed encoding (hashed into LSPS2 promises).
    pub fn serialize(&self) -> [u8; 33] {
        self.0.serialize()
    }

    /// The wrapped secp256k1 public key.
    pub const fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

impl From<PublicKey> for NodeId {
    fn from(pk: PublicKey) -> Self {
        Self(pk)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.serialize()))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl FromStr for NodeId {
    type Err = NodeIdError;
    fn from_str(s: &str) -> Result<Self, NodeIdError> {
        if s.len() != 66 {
            return Err(NodeIdError::Format);
        }
        let bytes = hex::decode(s).map_err(|_| NodeIdError::Format)?;
        Self::from_slice(&bytes)
    }
}

string_serde!(NodeId, "a 66-hex-character compressed public key");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const G: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    #[test]
    fn reads_both_cases_writes_lower() {
        let n: NodeId = G.to_uppercase().parse().unwrap();
        assert_eq!(n.to_string(), G);
        assert_eq!(serde_json::to_string(&n).unwrap(), format!("\"{G}\""));
    }

    #[test]
    fn rejects_off_curve_and_bad_prefix_and_length() {
        // x = 5 is not on secp256k1 (5^3 + 7 = 132 is not a square mod p).
        let off = format!("02{:064x}", 5);
        assert_eq!(off.parse::<NodeId>(), Err(NodeIdError::NotOnCurve));
        let prefix04 = format!("04{}", &G[2..]);
        assert_eq!(prefix04.parse::<NodeId>(), Err(NodeIdError::NotOnCurve));
        assert_eq!(G[..64].parse::<NodeId>(), Err(NodeIdError::Format));
        let nonhex = format!("0g{}", &G[2..]);
        assert_eq!(nonhex.parse::<NodeId>(), Err(NodeIdError::Format));
    }
}
