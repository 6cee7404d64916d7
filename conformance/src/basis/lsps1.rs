//! The basis of the LSPS1 (bLIP-51) message-tier cases: `get_info`, `create_order`,
//! `get_order`.

use super::shared::{
    CLIENT_REJECTED, JSONRPC_REPLY, LSPS1_GET_INFO_FIRST, LSPS1_TYPES, UNKNOWN_PARAM,
};
use super::{Basis, Keyword};

const OPTION_MISMATCH: Basis = basis!(
    "LSPS1-R24",
    Must,
    "blip-0051.md#2-lsps1create_order",
    "LSP MUST validate the order against the options defined in `lsps1.get_info.options`. LSP MUST return an `100` error in case of a mismatch. `%option_mismatch_property%` MUST be one of the fields in `lsps1.get_info.options`.",
    note: ""
);

/// `(case id, basis)` of the LSPS1 cases.
pub(super) static TABLE: &[(&str, &[Basis])] = &[
    (
        "lsps1.get-info.answers",
        &[
            JSONRPC_REPLY,
            LSPS1_GET_INFO_FIRST,
            LSPS1_TYPES,
            CLIENT_REJECTED,
        ],
    ),
    (
        "lsps1.get-info.min-le-max",
        &[basis!(
            "LSPS1-R5",
            Must,
            "blip-0051.md#1-lsps1get_info",
            "Every `min/max` options pair MUST ensure that `min <= max`."
        )],
    ),
    ("lsps1.get-info.unknown-param.gets-32602", UNKNOWN_PARAM),
    ("lsps1.create-order.unknown-param.gets-32602", UNKNOWN_PARAM),
    (
        "lsps1.create-order.minimal-order.succeeds",
        &[
            basis!(
                "LSPS1-R13",
                May,
                "blip-0051.md#2-lsps1create_order",
                "`token <string>` Field for arbitrary data like a coupon code or a authentication token. Client MAY omit this field.",
                note: "a result passes; code 1 is SKIP; 102 is SKIP (the LSP wants a token: pass --token); another error is WARN"
            ),
            CLIENT_REJECTED,
        ],
    ),
    (
        "lsps1.create-order.mirrors-request",
        &[basis!(
            "LSPS1-R18",
            Defines,
            "blip-0051.md#2-lsps1create_order",
            "`lsp_balance_sat` <LSPS0.sat> Mirrored from the request."
        )],
    ),
    (
        "lsps1.create-order.token-empty-when-absent",
        &[basis!(
            "LSPS1-R19",
            Must,
            "blip-0051.md#2-lsps1create_order",
            "`token <string>` Mirrored from the request. MUST be an empty string if the token was not provided."
        )],
    ),
    (
        "lsps1.create-order.new-order-created",
        &[basis!(
            "LSPS1-R21",
            Defines,
            "blip-0051.md#2-lsps1create_order",
            "`order_state <string enum>` Current state of the order. `CREATED` Order has been created. Default value."
        )],
    ),
    (
        "lsps1.create-order.created-at-now",
        &[basis!(
            "LSPS1-R20",
            Defines,
            "blip-0051.md#2-lsps1create_order",
            "`created_at` <LSPS0.datetime> Datetime when the order was created."
        )],
    ),
    (
        "lsps1.create-order.onchain-option-valid",
        &[
            basis!(
                "LSPS1-R47",
                Must,
                "blip-0051.md#33-onchain-payments",
                "`min_fee_for_0conf` [...] MUST be `null` or absent if `min_onchain_payment_confirmations` is greater than 0."
            ),
            basis!(
                "LSPS0-R56",
                Must,
                "blip-0050.md#link-lsps0onchain_address",
                "An on-chain address MUST be a SegWit address, from version 0 to any future version."
            ),
            basis!(
                "LSPS1-R49",
                Should,
                "blip-0051.md#33-onchain-payments",
                "LSP SHOULD set this to mirror the order creation request. LSP MAY omit this field as it wasn't present in earlier versions of this specification.",
                note: "a refund_onchain_address that does not mirror the request is WARN"
            ),
            basis!(
                "LSPS1-R45",
                Defines,
                "blip-0051.md#33-onchain-payments",
                "`state` `EXPECT_PAYMENT` Payment expected."
            ),
        ],
    ),
    (
        "lsps1.create-order.channel-null",
        &[basis!(
            "LSPS1-R22",
            Must,
            "blip-0051.md#2-lsps1create_order",
            "`channel <object or null>` Contains information about the channel, see 4 Channel. MUST be `null` if the channel funding transaction is not published yet."
        )],
    ),
    (
        "lsps1.create-order.no-onchain-without-refund-address",
        &[
            basis!(
                "LSPS1-R14",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "LSP MUST disable on-chain payments if the client omits this field."
            ),
            basis!(
                "LSPS1-R44",
                Must,
                "blip-0051.md#33-onchain-payments",
                "Onchain payments dictionary MUST be omitted if the client didn't provide a `refund_onchain_address`"
            ),
        ],
    ),
    (
        "lsps1.create-order.totals-add-up",
        &[basis!(
            "LSPS1-R33",
            Must,
            "blip-0051.md#31-lightning-payments-using-bolt-11",
            "`order_total_sat` <LSPS0.sat> What the client needs to pay in total to open the requested channel. MUST be the `fee_total_sat` plus the `client_balance_sat` requested in satoshi."
        )],
    ),
    (
        "lsps1.create-order.bolt11-invoice-valid",
        &[basis!(
            "LSPS1-R34",
            Must,
            "blip-0051.md#31-lightning-payments-using-bolt-11",
            "`invoice <string>` MUST be a Lightning BOLT 11 invoice for the number of `order_total_sat`. [...] MUST be at most 2048 characters long."
        )],
    ),
    (
        "lsps1.create-order.bolt12-offer-valid",
        &[basis!(
            "LSPS1-R42",
            Must,
            "blip-0051.md#32-lightning-payments-using-bolt-12",
            "`offer <string>` MUST be a Lightning BOLT 12 offer for the number of `order_total_sat`. MUST be at most 2048 characters long."
        )],
    ),
    (
        "lsps1.create-order.null-token.accepted",
        &[basis!(
            "LSPS1-R13",
            May,
            "blip-0051.md#2-lsps1create_order",
            "`token <string>` Field for arbitrary data like a coupon code or a authentication token. Client MAY omit this field.",
            note: "a null token is neither a string nor an omitted field: any answer is allowed; an error is WARN because LDK's client sends null"
        )],
    ),
    (
        "lsps1.create-order.payment-state-expect-payment",
        &[basis!(
            "LSPS1-R36",
            Defines,
            "blip-0051.md#31-lightning-payments-using-bolt-11",
            "`state` `EXPECT_PAYMENT` Payment expected."
        )],
    ),
    (
        "lsps1.create-order.order-id-unique",
        &[basis!(
            "LSPS1-R17",
            Must,
            "blip-0051.md#2-lsps1create_order",
            "`order_id <string>` Id of this specific order. MUST be unique. MUST be at most 64 characters long."
        )],
    ),
    (
        "lsps1.create-order.order-id-uuid",
        &[basis!(
            "LSPS1-R17",
            Should,
            "blip-0051.md#2-lsps1create_order",
            "`order_id <string>` [...] SHOULD be a valid UUID version 4 (aka random UUID)."
        )],
    ),
    (
        "lsps1.create-order.lsp-balance-above-max.gets-100",
        &[
            OPTION_MISMATCH,
            basis!(
                "LSPS1-R7",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`lsp_balance_sat` [...] MUST be equal or below `base_api.max_initial_lsp_balance_sat`."
            ),
        ],
    ),
    (
        "lsps1.create-order.lsp-balance-below-min.gets-100",
        &[
            OPTION_MISMATCH,
            basis!(
                "LSPS1-R7",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`lsp_balance_sat` [...] MUST be equal or greater `base_api.min_initial_lsp_balance_sat`."
            ),
        ],
    ),
    (
        "lsps1.create-order.lsp-balance-zero.rejected",
        &[
            basis!(
                "LSPS1-R7",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`lsp_balance_sat` [...] MUST be 1 or greater.",
                note: ""
            ),
            basis!(
                "LSPS1-R25",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "LSP MUST validate the request fields. LSP MUST return a `-32602` error in case of an invalid request field.",
                note: "0 breaks a request-field rule and an option: 100 and -32602 both pass"
            ),
        ],
    ),
    (
        "lsps1.create-order.client-balance-above-max.gets-100",
        &[
            OPTION_MISMATCH,
            basis!(
                "LSPS1-R8",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`client_balance_sat` [...] MUST be below or equal `base_api.max_initial_client_balance_sat`."
            ),
        ],
    ),
    (
        "lsps1.create-order.confirmations-below-min.gets-100",
        &[
            OPTION_MISMATCH,
            basis!(
                "LSPS1-R9",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`required_channel_confirmations <uint16>` [...] MUST be greater or equal to `base_api.min_required_channel_confirmations`"
            ),
        ],
    ),
    (
        "lsps1.create-order.funding-confirms-below-min.gets-100",
        &[
            OPTION_MISMATCH,
            basis!(
                "LSPS1-R10",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`funding_confirms_within_blocks <uint16>` [...] MUST be greater or equal to `base_api.min_funding_confirms_within_blocks`"
            ),
        ],
    ),
    (
        "lsps1.create-order.expiry-above-max.gets-100",
        &[
            OPTION_MISMATCH,
            basis!(
                "LSPS1-R11",
                Must,
                "blip-0051.md#2-lsps1create_order",
                "`channel_expiry_blocks <uint32>` [...] MUST be below or equal `base_api.max_channel_expiry_blocks`."
            ),
        ],
    ),
    (
        "lsps1.create-order.channel-size-above-max.gets-100",
        &[OPTION_MISMATCH],
    ),
    (
        "lsps1.create-order.invalid-type.gets-32602",
        &[basis!(
            "LSPS1-R25",
            Must,
            "blip-0051.md#2-lsps1create_order",
            "LSP MUST validate the request fields. LSP MUST return a `-32602` error in case of an invalid request field. `%invalid_property%` MUST be one of the fields in the request body. MUST use `.` to separate nested fields."
        )],
    ),
    (
        "lsps1.create-order.invalid-token.gets-102",
        &[basis!(
            "LSPS1-R26",
            Must,
            "blip-0051.md#2-lsps1create_order",
            "LSP MUST validate the `token` field and return a `102` error if the token is invalid."
        )],
    ),
    (
        "lsps1.get-order.matches-create",
        &[basis!(
            "LSPS1-R29",
            Defines,
            "blip-0051.md#21-lsps1get_order",
            "**Response** is the same as defined in `lsps1.create_order`."
        )],
    ),
    (
        "lsps1.get-order.unknown-id.gets-101",
        &[basis!(
            "LSPS1-R30",
            Defines,
            "blip-0051.md#21-lsps1get_order",
            "101 | Not found | {} | Order with the requested order_id has not been found.",
            note: "the code is defined in a table, not required by a MUST: another answer is WARN"
        )],
    ),
    (
        "lsps1.get-order.other-peers-order.gets-101",
        &[basis!(
            "LSPS1-R30",
            Defines,
            "blip-0051.md#21-lsps1get_order",
            "101 | Not found | {} | Order with the requested order_id has not been found.",
            note: "the bLIP does not say orders are scoped to their peer (spec/README D10): WARN"
        )],
    ),
];
