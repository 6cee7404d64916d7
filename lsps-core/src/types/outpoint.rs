//! `LSPS0.txid` and `LSPS0.outpoint`.

use core::fmt;
use core::str::FromStr;

use bitcoin::hashes::Hash;

use super::{all_digits, string_serde};

/// Why a string is not a valid `LSPS0.txid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxidError {
    /// Not exactly 64 hexadecimal characters.
    #[error("txid must be exactly 64 hex characters")]
    Format,
}

/// `LSPS0.txid`: a transaction id in the usual (block-explorer, byte-reversed) order.
/// Read in either hex case (the bLIP example is upper-case), written lower-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Txid(pub bitcoin::Txid);

impl From<bitcoin::Txid> for Txid {
    fn from(t: bitcoin::Txid) -> Self {
        Self(t)
    }
}

impl fmt::Display for Txid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Txid {
    type Err = TxidError;
    fn from_str(s: &str) -> Result<Self, TxidError> {
        if s.len() != 64 {
            return Err(TxidError::Format);
        }
        let mut bytes: [u8; 32] = hex::decode(s)
            .map_err(|_| TxidError::Format)?
            .try_into()
            .map_err(|_| TxidError::Format)?;
        // Display order is the reverse of the internal byte order.
        bytes.reverse();
        Ok(Self(bitcoin::Txid::from_byte_array(bytes)))
    }
}

string_serde!(Txid, "a 64-hex-character txid");

/// Why a string is not a valid `LSPS0.outpoint`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutpointError {
    /// No `:` separating txid and output index.
    #[error("outpoint must be TXID:OUTPUT_INDEX")]
    Format,
    /// The txid part is invalid.
    #[error("outpoint txid: {0}")]
    Txid(#[from] TxidError),
    /// The output index is not decimal digits within 0..=65535 (LSPS0.output_index is 16 bits).
    #[error("outpoint output index must be a decimal integer in 0..=65535")]
    OutputIndex,
}

/// `LSPS0.outpoint`: `<txid>:<output_index>`, with a 16-bit output index as LSPS0 states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Outpoint {
    /// The funding transaction.
    pub txid: Txid,
    /// The output index (LSPS0.output_index, at most 16 bits).
    pub vout: u16,
}

impl fmt::Display for Outpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.txid, self.vout)
    }
}

impl FromStr for Outpoint {
    type Err = OutpointError;
    fn from_str(s: &str) -> Result<Self, OutpointError> {
        let (txid, vout) = s.split_once(':').ok_or(OutpointError::Format)?;
        let txid = txid.parse()?;
        if !all_digits(vout) {
            return Err(OutpointError::OutputIndex);
        }
        let vout = vout.parse().map_err(|_| OutpointError::OutputIndex)?;
        Ok(Self { txid, vout })
    }
}

impl From<Outpoint> for bitcoin::OutPoint {
    fn from(o: Outpoint) -> Self {
        bitcoin::OutPoint::new(o.txid.0, u32::from(o.vout))
    }
}

string_serde!(Outpoint, "an outpoint string TXID:OUTPUT_INDEX");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const TXID: &str = "F27C97F46ED7281A3EFA7287410082EBA0CD1424D72703A217E435EA840957B0";

    #[test]
    fn spec_examples_parse_and_are_written_lower_case() {
        let t: Txid = TXID.parse().unwrap();
        assert_eq!(t.to_string(), TXID.to_lowercase());
        let o: Outpoint = format!("{TXID}:0").parse().unwrap();
        assert_eq!(o.vout, 0);
        assert_eq!(o.to_string(), format!("{}:0", TXID.to_lowercase()));
        // Display order equals bitcoin's own Display.
        assert_eq!(t.0.to_string(), TXID.to_lowercase());
    }

    #[test]
    fn rejects_bad_outpoints() {
        assert_eq!(TXID[1..].parse::<Txid>(), Err(TxidError::Format));
        assert_eq!(TXID.parse::<Outpoint>(), Err(OutpointError::Format));
        assert_eq!(
            format!("{TXID}:65536").parse::<Outpoint>(),
            Err(OutpointError::OutputIndex)
        );
        assert_eq!(
            format!("{TXID}:-1").parse::<Outpoint>(),
            Err(OutpointError::OutputIndex)
        );
        assert_eq!(
            format!("{TXID}:").parse::<Outpoint>(),
            Err(OutpointError::OutputIndex)
        );
        assert_eq!(
            format!("{TXID}:0").replace('F', "G").parse::<Outpoint>(),
            Err(OutpointError::Txid(TxidError::Format))
        );
    }
}
