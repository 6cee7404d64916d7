//! The JSON-RPC request id.

use core::fmt;

use serde::{Deserialize, Serialize};

/// A JSON-RPC request id. LSPS0 requires a high-entropy **string** (numbers are not ids here).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub String);

impl RequestId {
    /// An id from 16 random bytes (128 bits, above LSPS0's 80-bit minimum) as 32 lower-case
    /// hex characters. The caller supplies the bytes from a CSPRNG (this crate does no I/O).
    pub fn from_entropy(bytes: [u8; 16]) -> Self {
        Self(hex::encode(bytes))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for RequestId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({:?})", self.0)
    }
}
