//! Requirement checks on lsps-core that no other test names: method naming (LSPS0) and the
//! LSPS2 fee arithmetic's overflow behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_core::jsonrpc::Method;
use lsps_core::lsps2::{FeeOverflow, opening_fee};
use lsps_core::types::{Msat, Ppm};

/// LSPS0-R21: every method name is snake_case and starts with `lsps<N>.` for the LSPS that
/// defines it (`Method::protocol`).
#[test]
fn method_names_are_snake_case_under_their_lsps_prefix() {
    for method in Method::ALL {
        let name = method.name();
        let prefix = format!("lsps{}.", method.protocol());
        let rest = name
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{name} does not start with {prefix}"));
        assert!(!rest.is_empty(), "{name}: empty method part");
        assert!(
            rest.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}: not snake_case"
        );
        assert!(
            !rest.starts_with('_') && !rest.ends_with('_') && !rest.contains("__"),
            "{name}: not snake_case"
        );
        assert_eq!(Method::from_name(name), Some(method));
    }
}

/// LSPS2-R20: the fee arithmetic is u64 with a check after every operation: the multiply
/// and the `+ 999999` add each report overflow instead of wrapping, and the largest inputs
/// that fit give the exact result.
#[test]
fn opening_fee_checks_every_operation_for_overflow() {
    assert_eq!(
        opening_fee(Msat(u64::MAX), Msat(0), Ppm(2)),
        Err(FeeOverflow::Multiply)
    );
    // 18446744073709 * 1000000 fits in u64, but adding 999999 does not (D13).
    assert_eq!(
        opening_fee(Msat(18_446_744_073_709), Msat(0), Ppm(1_000_000)),
        Err(FeeOverflow::Add)
    );
    // u64::MAX * 1 fits; + 999999 overflows.
    assert_eq!(
        opening_fee(Msat(u64::MAX), Msat(0), Ppm(1)),
        Err(FeeOverflow::Add)
    );
    // Just below the add limit: exact, rounded up.
    let size = (u64::MAX - 999_999) / 1_000_000;
    assert_eq!(
        opening_fee(Msat(size), Msat(0), Ppm(1_000_000)),
        Ok(Msat(size))
    );
    assert_eq!(opening_fee(Msat(1_000_001), Msat(0), Ppm(1)), Ok(Msat(2)));
    assert_eq!(opening_fee(Msat(1), Msat(5_000), Ppm(1)), Ok(Msat(5_000)));
}
