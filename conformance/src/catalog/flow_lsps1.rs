//! LSPS1 (bLIP-51) cases at the flow tier.

use crate::case::Case;

/// LSPS1 flow cases.
pub(super) static CASES: &[Case] = &[];
