//! LSPS2 (bLIP-52): just-in-time channels.
//!
//! Flow: `lsps2.get_info` (a menu of [`OpeningFeeParams`], each with a `promise`) →
//! `lsps2.buy` with one entry copied verbatim → the client's invoice routes through
//! `jit_channel_scid` → the LSP opens a channel and forwards the payment minus
//! [`opening_fee`]. The LSP's side of that last step is [`JitFlow`] ([`flow`]).

mod buy;
mod fee;
pub mod flow;
mod msgs;
mod promise;
mod state;

pub use buy::BuyRejection;
pub use fee::{FeeOverflow, MenuError, opening_fee, validate_menu};
pub use flow::{JitAction, JitConfig, JitEvent, JitFlow, JitTerms};
pub use msgs::{
    BuyRequest, BuyResult, GetInfoRequest, GetInfoResult, OpeningFeeParams, RawOpeningFeeParams,
};
pub use promise::{
    ClientPromises, MAX_PROMISE_BYTES, PromiseFormatError, PromiseKey, PromiseSecret,
    check_promise_format,
};
pub use state::JitState;
