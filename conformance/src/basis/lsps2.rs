//! The basis of the LSPS2 (bLIP-52) message-tier cases: `get_info`, `buy`.

use super::shared::{
    CLIENT_REJECTED, EXACT_FIELDS, JSONRPC_REPLY, LSPS2_GET_INFO_FIRST, UNKNOWN_PARAM,
};
use super::{Basis, Keyword};

const PROMISE_CHECK: Basis = basis!(
    "LSPS2-R26",
    Must,
    "blip-0052.md#2--request-jit-channel",
    "LSPs MUST check that the `opening_fee_params.promise` does in fact prove that it previously promised the specified `opening_fee_params`."
);

const ERROR_201: Basis = basis!(
    "LSPS2-R33",
    Defines,
    "blip-0052.md#2--request-jit-channel",
    "`invalid_opening_fee_params` (201) - the `valid_until` field of the `opening_fee_params` is already past, **OR** the `promise` did not match the parameters.",
    note: "201 passes; another error is WARN (the code is defined, not required); a result is FAIL"
);

const ERROR_203: Basis = basis!(
    "LSPS2-R33",
    Defines,
    "blip-0052.md#2--request-jit-channel",
    "`payment_size_too_large` (203) - the `payment_size_msat` was specified, and the LSP hit an overflow error while calculating the `opening_fee`, **OR** the LSP has insufficient incoming liquidity from the public network to receive the `payment_size_msat`.",
    note: "203 (no liquidity) is a legal answer at any size the client specifies"
);

const SIZE_RANGE: Basis = basis!(
    "LSPS2-R29",
    Must,
    "blip-0052.md#2--request-jit-channel",
    "The LSP MUST validate that the `payment_size_msat` is within the previous `min_payment_size_msat` and `max_payment_size_msat` parameters from the LSP.",
    note: ""
);

const FEE_BELOW_SIZE: Basis = basis!(
    "LSPS2-R30",
    Must,
    "blip-0052.md#2--request-jit-channel",
    "If the `payment_size_msat` is specified in the request, the LSP: MUST compute the `opening_fee` and check that the computation did not hit an overflow failure. MUST check that the resulting `opening_fee` is strictly less than the `payment_size_msat`."
);

const NORMAL_RESULT: Basis = basis!(
    "LSPS2-R30",
    Defines,
    "blip-0052.md#2--request-jit-channel",
    "If there were no errors, the LSP then provides a normal result to the `lsps2.buy` API.",
    note: "no sentence obliges an LSP to sell: a result or 203 passes, code 1 is SKIP, another error is WARN"
);

/// `(case id, basis)` of the LSPS2 cases.
pub(super) static TABLE: &[(&str, &[Basis])] = &[
    (
        "lsps2.get-info.answers",
        &[JSONRPC_REPLY, LSPS2_GET_INFO_FIRST, CLIENT_REJECTED],
    ),
    ("lsps2.get-info.entries-have-exact-fields", &[EXACT_FIELDS]),
    (
        "lsps2.get-info.menu-ordered",
        &[basis!(
            "LSPS2-R9",
            Must,
            "blip-0052.md#1-api-information",
            "The LSP, when ordering the `opening_fee_params_menu` array, MUST order by the following rules: The 0th item MAY have any parameters. Each succeeding item MUST, compared to the previous item, obey any one of the following: Have a larger `min_fee_msat`, and equal `proportional`. Have a larger `proportional`, and equal `min_fee_msat`. Have a larger `min_fee_msat`, AND larger `proportional`."
        )],
    ),
    (
        "lsps2.get-info.valid-until-10-min-ahead",
        &[basis!(
            "LSPS2-R6",
            Should,
            "blip-0052.md#1-api-information",
            "The LSP SHOULD provide a `valid_until` time that is at least 10 minutes from the current time."
        )],
    ),
    (
        "lsps2.get-info.promise-at-most-512-bytes",
        &[basis!(
            "LSPS2-R12",
            Must,
            "blip-0052.md#1-api-information",
            "The LSP, when generating the `promise` field: [...] MUST ensure the promise is no longer than 512 bytes (not including the `\"` delimiters) when encoded as a UTF8-encoded JSON string."
        )],
    ),
    (
        "lsps2.get-info.promise-printable-ascii",
        &[
            basis!(
                "LSPS2-R13",
                Must,
                "blip-0052.md#1-api-information",
                "The LSP, when generating the `promise` field: [...] MUST avoid characters outside of the printable ASCII range."
            ),
            basis!(
                "LSPS2-R14",
                Must,
                "blip-0052.md#1-api-information",
                "The LSP, when generating the `promise` field: [...] MUST avoid characters that would require escapes in JSON format."
            ),
        ],
    ),
    (
        "lsps2.get-info.unknown-token.gets-200",
        &[basis!(
            "LSPS2-R3",
            Defines,
            "blip-0052.md#1-api-information",
            "`unrecognized_or_stale_token` (200) - the client provided the `token`, and the LSP does not recognize it, or the token has expired.",
            note: "200 is defined, not required: an LSP that ignores unknown tokens and answers a menu is WARN"
        )],
    ),
    (
        "lsps2.get-info.null-token.accepted",
        &[basis!(
            "LSPS2-R2",
            Defines,
            "blip-0052.md#1-api-information",
            "`token` is an *optional*, arbitrary JSON string.",
            note: "a null token is not a string: any answer is allowed; an error is WARN because LDK's client sends null"
        )],
    ),
    ("lsps2.get-info.unknown-param.gets-32602", UNKNOWN_PARAM),
    ("lsps2.buy.unknown-param.gets-32602", UNKNOWN_PARAM),
    ("lsps2.buy.with-size.succeeds", &[NORMAL_RESULT, ERROR_203]),
    (
        "lsps2.buy.without-size.succeeds",
        &[
            NORMAL_RESULT,
            basis!(
                "LSPS2-R28",
                Must,
                "blip-0052.md#2--request-jit-channel",
                "If the client wants to issue a variable-amount invoice (\"0-amount invoice\") the client MUST leave out this parameter, but MUST indicate to the payer to **NOT** use multipath payments.",
                note: "binds the client: the LSP is not obliged to sell in this mode"
            ),
        ],
    ),
    (
        "lsps2.buy.result-shape",
        &[
            basis!(
                "LSPS0-R53",
                Must,
                "blip-0050.md#link-lsps0scid",
                "SCIDs MUST be encoded as a JSON string containing the \"human-readable\" format of `BBBxTTTxOOO`, as defined in BOLT7 Definition of `short_channel_id`."
            ),
            basis!(
                "LSPS2-R34",
                Defines,
                "blip-0052.md#2--request-jit-channel",
                "`jit_channel_scid` is the SCID to use for creating the route hint in the invoice <LSPS0.scid>, and `lsp_cltv_expiry_delta` is the CLTV delta for that route hint hop.",
                note: "a delta above 65535 (it cannot fit a BOLT11 route hint; spec/README D22) is WARN"
            ),
        ],
    ),
    (
        "lsps2.buy.client-trusts-lsp-defaults-false",
        &[basis!(
            "LSPS2-R58",
            Should,
            "blip-0052.md#trust-models",
            "The LSP SHOULD default to \"LSP trusts client\" model."
        )],
    ),
    (
        "lsps2.buy.size-bounds-inclusive",
        &[
            basis!(
                "LSPS2-R8",
                Defines,
                "blip-0052.md#1-api-information",
                "`min_payment_size_msat` and `max_payment_size_msat` are the limits of the payment size, inclusive.",
                note: "a result or 203 at a bound passes; another error is WARN"
            ),
            ERROR_203,
        ],
    ),
    (
        "lsps2.buy.tampered-promise.gets-201",
        &[PROMISE_CHECK, ERROR_201],
    ),
    (
        "lsps2.buy.tampered-params.gets-201",
        &[PROMISE_CHECK, ERROR_201],
    ),
    (
        "lsps2.buy.expired-params.gets-201",
        &[
            basis!(
                "LSPS2-R27",
                Must,
                "blip-0052.md#2--request-jit-channel",
                "LSPs MUST check that the `opening_fee_params.valid_until` is not a past datetime."
            ),
            ERROR_201,
        ],
    ),
    (
        "lsps2.buy.fee-not-below-size.gets-202",
        &[
            FEE_BELOW_SIZE,
            basis!(
                "LSPS2-R19",
                Must,
                "blip-0052.md#computing-the-opening_fee",
                "For a given `payment_size_msat` (in millisatoshis) and a selected `opening_fee_params` object, both client and LSP MUST compute the `opening_fee` (in millisatoshis) as follows: opening_fee = ((payment_size_msat * proportional) + 999999) / 10000000",
                note: "the prose divides by 10000000, the normative code by 1000000 (spec/README D12): an acceptance that the prose formula explains is WARN"
            ),
            ERROR_203,
        ],
    ),
    (
        "lsps2.buy.fee-boundary.succeeds",
        &[
            basis!(
                "LSPS2-R19",
                Must,
                "blip-0052.md#computing-the-opening_fee",
                "For a given `payment_size_msat` (in millisatoshis) and a selected `opening_fee_params` object, both client and LSP MUST compute the `opening_fee` (in millisatoshis) as follows"
            ),
            ERROR_203,
        ],
    ),
    ("lsps2.buy.size-above-max.rejected", &[SIZE_RANGE]),
    (
        "lsps2.buy.params-not-eight-fields.gets-32602",
        &[
            EXACT_FIELDS,
            PROMISE_CHECK,
            basis!(
                "LSPS2-R68",
                Defines,
                "blip-0052.md#2--request-jit-channel",
                "`invalid_opening_fee_params` (201) - the `valid_until` field of the `opening_fee_params` is already past, **OR** the `promise` did not match the parameters.",
                note: "the promise cannot prove an object with a field added or missing: -32602 and 201 both pass"
            ),
        ],
    ),
    (
        "lsps2.buy.fee-overflow.gets-203",
        &[
            basis!(
                "LSPS2-R22",
                Must,
                "blip-0052.md#computing-the-opening_fee",
                "Arithmetic overflow MUST cause the computation to fail and abort this flow (the client SHOULD report the failure to the user, the LSP SHOULD error the client request in the next step)."
            ),
            FEE_BELOW_SIZE,
            ERROR_203,
        ],
    ),
    ("lsps2.buy.size-below-min.rejected", &[SIZE_RANGE]),
];
