//! 32-byte identifiers the money flows exchange with the node that drives them: an intercepted
//! HTLC, a payment hash, a channel. They mirror LDK's `InterceptId`, `PaymentHash` and
//! `ChannelId` without depending on LDK (lsps-core stays free of node types); the server
//! converts at its edge.
//!
//! Each is written as 64 lower-case hex characters (read in either case), so a persisted flow
//! is readable JSON.

use core::fmt;
use core::str::FromStr;

use crate::types::string_serde;

/// Not exactly 64 hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected exactly 64 hex characters")]
pub struct IdFormatError;

macro_rules! id32 {
    ($(#[$doc:meta])* $name:ident, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = IdFormatError;
            fn from_str(s: &str) -> Result<Self, IdFormatError> {
                let bytes = hex::decode(s).map_err(|_| IdFormatError)?;
                bytes.try_into().map(Self).map_err(|_| IdFormatError)
            }
        }

        string_serde!($name, $expecting);
    };
}

id32!(
    /// An HTLC the LSP's node intercepted and holds (LDK's `InterceptId`).
    InterceptId,
    "an intercept id as 64 hex characters"
);
id32!(
    /// A payment hash.
    PaymentHash,
    "a payment hash as 64 hex characters"
);
id32!(
    /// A channel's id (LDK's `ChannelId`, known once the funding is signed).
    ChannelId,
    "a channel id as 64 hex characters"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let id = InterceptId([0xab; 32]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(text.to_uppercase().parse::<InterceptId>(), Ok(id));
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            format!("\"{}\"", "ab".repeat(32))
        );
        assert_eq!("ab".parse::<ChannelId>(), Err(IdFormatError));
        assert_eq!("zz".repeat(32).parse::<PaymentHash>(), Err(IdFormatError));
        assert!(serde_json::from_str::<ChannelId>("7").is_err());
    }
}
