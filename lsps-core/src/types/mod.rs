//! LSPS0 common schema types (bLIP-50 "Common Schemas") as validating newtypes.
//!
//! Every type implements [`FromStr`](core::str::FromStr), [`Display`](core::fmt::Display)
//! and serde, and its `Display` output is the canonical wire form that its `FromStr`
//! accepts. Readers are as lenient as the spec allows (for example upper-case hex in
//! public keys); writers always emit the canonical form.

mod address;
mod amount;
mod datetime;
pub(crate) mod map_only;
mod node_id;
mod number;
mod outpoint;
mod scid;

pub use address::{AddressError, OnchainAddress};
pub use amount::{AmountError, Msat, Sat, is_canonical_decimal};
pub use datetime::{Datetime, DatetimeError, DatetimeMode};
pub use node_id::{NodeId, NodeIdError};
pub use number::{FeeRate, Ppm, PpmOverflow};
pub use outpoint::{Outpoint, OutpointError, Txid, TxidError};
pub use scid::{Scid, ScidError};

/// Implements `Serialize` via `Display` and `Deserialize` via `FromStr` for a type whose
/// JSON form is a string. The deserializer only accepts a JSON string.
macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$ty, E> {
                        s.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use string_serde;

/// True when `s` is non-empty and made only of ASCII digits.
pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}
