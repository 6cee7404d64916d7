//! Error codes as the runner compares them (`i64`, as JSON integers are read), taken from
//! `lsps_core::jsonrpc::code` so every code has one definition in the workspace.

use lsps_core::jsonrpc::code as core;

macro_rules! widen {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`lsps_core::jsonrpc::code::", stringify!($name), "`.")]
            pub const $name: i64 = core::$name as i64;
        )*
    };
}

widen!(
    PARSE_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    INVALID_PARAMS,
    INTERNAL_ERROR,
    CLIENT_REJECTED,
    LSPS1_OPTION_MISMATCH,
    LSPS1_NOT_FOUND,
    LSPS1_UNRECOGNIZED_OR_STALE_TOKEN,
    LSPS2_UNRECOGNIZED_OR_STALE_TOKEN,
    LSPS2_INVALID_OPENING_FEE_PARAMS,
    LSPS2_PAYMENT_SIZE_TOO_SMALL,
    LSPS2_PAYMENT_SIZE_TOO_LARGE,
);
