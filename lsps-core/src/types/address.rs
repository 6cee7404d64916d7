//! `LSPS0.onchain_address`: SegWit v0 (P2WPKH, P2WSH) and v1 (P2TR) addresses.

use core::fmt;
use core::str::FromStr;

use bitcoin::Network;
use bitcoin::address::{Address, AddressType, NetworkUnchecked};

use super::string_serde;

/// Why a string is not a valid `LSPS0.onchain_address`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not a decodable Bitcoin address (bad checksum, wrong bech32 variant for the version, ...).
    #[error("not a valid bitcoin address: {0}")]
    Invalid(String),
    /// A valid address of a kind LSPS0 does not allow (base58 P2PKH/P2SH, other witness versions
    /// or lengths). Only P2WPKH, P2WSH and P2TR are accepted.
    #[error("address must be SegWit P2WPKH, P2WSH or P2TR; got {0}")]
    NotSegwitV0V1(String),
    /// The address belongs to a different network.
    #[error("address is not valid for network {0}")]
    WrongNetwork(Network),
}

/// `LSPS0.onchain_address`: a P2WPKH, P2WSH or P2TR address.
///
/// bLIP-50 does not say which network; parsing ([`FromStr`], serde) checks the kind only,
/// and [`OnchainAddress::require_network`] (or [`OnchainAddress::parse_for_network`]) checks
/// that it belongs to the caller's network. Written in lower case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OnchainAddress {
    text: String,
    address: Address<NetworkUnchecked>,
}

impl OnchainAddress {
    /// Parses and requires the address to belong to `network`.
    pub fn parse_for_network(s: &str, network: Network) -> Result<Self, AddressError> {
        let a: Self = s.parse()?;
        a.require_network(network)?;
        Ok(a)
    }

    /// The checked address, if it belongs to `network`.
    pub fn require_network(&self, network: Network) -> Result<Address, AddressError> {
        self.address
            .clone()
            .require_network(network)
            .map_err(|_| AddressError::WrongNetwork(network))
    }

    /// True if the address belongs to `network`.
    pub fn is_valid_for_network(&self, network: Network) -> bool {
        self.address.is_valid_for_network(network)
    }

    /// The address kind (always P2wpkh, P2wsh or P2tr).
    pub fn address_type(&self) -> AddressType {
        // Checked on construction; P2wpkh is never reached as a fallback.
        self.address
            .assume_checked_ref()
            .address_type()
            .unwrap_or(AddressType::P2wpkh)
    }

    /// The address as text (lower case).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The unchecked `bitcoin` address.
    pub fn as_unchecked(&self) -> &Address<NetworkUnchecked> {
        &self.address
    }
}

impl TryFrom<Address> for OnchainAddress {
    type Error = AddressError;
    fn try_from(a: Address) -> Result<Self, AddressError> {
        a.to_string().parse()
    }
}

impl fmt::Display for OnchainAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for OnchainAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OnchainAddress({})", self.text)
    }
}

impl FromStr for OnchainAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, AddressError> {
        let address: Address<NetworkUnchecked> = s
            .parse()
            .map_err(|e: bitcoin::address::ParseError| AddressError::Invalid(e.to_string()))?;
        match address.assume_checked_ref().address_type() {
            Some(AddressType::P2wpkh | AddressType::P2wsh | AddressType::P2tr) => {}
            Some(other) => return Err(AddressError::NotSegwitV0V1(other.to_string())),
            None => {
                return Err(AddressError::NotSegwitV0V1(
                    "unknown witness program".into(),
                ));
            }
        }
        Ok(Self {
            text: s.to_ascii_lowercase(),
            address,
        })
    }
}

string_serde!(OnchainAddress, "a SegWit v0/v1 bitcoin address string");

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const P2WSH: &str = "bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h";
    const P2TR: &str = "bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr";
    const P2WPKH: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    const P2PKH: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
    const REGTEST_P2WPKH: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

    #[test]
    fn accepts_the_three_kinds() {
        for (s, t) in [
            (P2WSH, AddressType::P2wsh),
            (P2TR, AddressType::P2tr),
            (P2WPKH, AddressType::P2wpkh),
        ] {
            let a: OnchainAddress = s.parse().unwrap();
            assert_eq!(a.address_type(), t);
            assert_eq!(a.to_string(), s);
            assert!(a.is_valid_for_network(Network::Bitcoin));
        }
        let upper: OnchainAddress = P2WPKH.to_uppercase().parse().unwrap();
        assert_eq!(upper.as_str(), P2WPKH);
    }

    #[test]
    fn rejects_base58_and_wrong_network() {
        assert!(matches!(
            P2PKH.parse::<OnchainAddress>(),
            Err(AddressError::NotSegwitV0V1(_))
        ));
        assert!(matches!(
            "bc1qnope".parse::<OnchainAddress>(),
            Err(AddressError::Invalid(_))
        ));
        assert_eq!(
            OnchainAddress::parse_for_network(P2WPKH, Network::Regtest),
            Err(AddressError::WrongNetwork(Network::Regtest))
        );
        assert!(OnchainAddress::parse_for_network(REGTEST_P2WPKH, Network::Regtest).is_ok());
    }
}
