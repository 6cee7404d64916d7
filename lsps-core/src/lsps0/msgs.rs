//! `lsps0.list_protocols` params and result.

use serde::{Deserialize, Serialize};

use crate::jsonrpc::{Method, Params};

/// `lsps0.list_protocols` params: always `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProtocolsRequest {}

impl Params for ListProtocolsRequest {
    const METHOD: Method = Method::Lsps0ListProtocols;
    const PARAM_NAMES: &'static [&'static str] = &[];
}

/// `lsps0.list_protocols` result: the LSPS numbers the LSP supports. Unknown keys are ignored
/// when reading (the bLIP-50 example carries one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProtocolsResult {
    /// Supported LSPS numbers; must not contain 0. Order and duplicates are unspecified.
    pub protocols: Vec<u16>,
}

/// A rule of `lsps0.list_protocols` the result breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListProtocolsError {
    /// `protocols` lists 0, which bLIP-50 forbids (LSPS0 support is implied).
    #[error("protocols: must not contain 0")]
    ContainsZero,
}

impl ListProtocolsResult {
    /// Checks the rules a reader can check: 0 must not be listed.
    pub fn validate(&self) -> Result<(), ListProtocolsError> {
        if self.protocols.contains(&0) {
            return Err(ListProtocolsError::ContainsZero);
        }
        Ok(())
    }

    /// True if LSPS `n` is listed.
    pub fn supports(&self, n: u16) -> bool {
        self.protocols.contains(&n)
    }
}
