//! The spec basis of every verdict: for each case, the sentences of the bLIPs (at the pinned
//! commit) that make its expectation mandatory, with the keyword as written.
//!
//! The judge's rule (the runner FAILs only for a broken bLIP MUST it can quote) is enforced by a
//! test: a case whose level is MUST names at least one MUST / MUST NOT sentence that binds the
//! LSP; a case resting on SHOULD, MAY or a bare definition is SHOULD or MAY, so a deviation is
//! WARN. Where a MUST binds someone else (spec authors, clients) or applies only under a
//! condition the runner cannot establish, the `note` says so and the case is not MUST.
//!
//! Sentences are quoted from the bLIP text with Markdown link syntax removed and line breaks
//! joined; list items are quoted with the clause that introduces them.

use serde::Serialize;

/// The lightning/blips commit every sentence is quoted from.
pub const BLIPS_COMMIT: &str = "ba7a34b2c543027e921f61bd7b0d47d7aab05859";

/// The JSON-RPC 2.0 specification (bLIP-50 adopts it: "The LSP acts as a JSON-RPC 2.0
/// server").
pub const JSONRPC_URL: &str = "https://www.jsonrpc.org/specification";

/// A keyword as written in the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Keyword {
    /// MUST.
    #[serde(rename = "MUST")]
    Must,
    /// MUST NOT.
    #[serde(rename = "MUST NOT")]
    MustNot,
    /// SHOULD.
    #[serde(rename = "SHOULD")]
    Should,
    /// SHOULD NOT.
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    /// MAY.
    #[serde(rename = "MAY")]
    May,
    /// A definition without a keyword (a field's meaning, a defined error code).
    #[serde(rename = "defines")]
    Defines,
}

impl Keyword {
    /// As written (`defines` for a sentence without a keyword).
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Must => "MUST",
            Keyword::MustNot => "MUST NOT",
            Keyword::Should => "SHOULD",
            Keyword::ShouldNot => "SHOULD NOT",
            Keyword::May => "MAY",
            Keyword::Defines => "defines",
        }
    }

    /// MUST or MUST NOT.
    pub fn is_mandatory(self) -> bool {
        matches!(self, Keyword::Must | Keyword::MustNot)
    }
}

/// One sentence behind a verdict.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Basis {
    /// The requirement id in `spec/requirements` (empty for a JSON-RPC 2.0 sentence).
    pub requirement: &'static str,
    /// The keyword as written.
    pub keyword: Keyword,
    /// The sentence, quoted.
    pub sentence: &'static str,
    /// `blip-005N.md#anchor`, or `jsonrpc#anchor` for the JSON-RPC 2.0 specification.
    #[serde(skip)]
    pub section: &'static str,
    /// Why a MUST does not make the case MUST, or which answers it allows (empty: none).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub note: &'static str,
}

impl Basis {
    /// A link to the section at the pinned commit.
    pub fn url(&self) -> String {
        match self.section.strip_prefix("jsonrpc#") {
            Some(anchor) => format!("{JSONRPC_URL}#{anchor}"),
            None => format!(
                "https://github.com/lightning/blips/blob/{BLIPS_COMMIT}/{}",
                self.section
            ),
        }
    }

    /// Whether this sentence alone can make a deviation a FAIL.
    pub fn binds_lsp_mandatorily(&self) -> bool {
        self.keyword.is_mandatory() && self.note.is_empty()
    }
}

/// [`Basis`] with its URL, for reports and `list --json`.
#[derive(Debug, Clone, Serialize)]
pub struct BasisEntry {
    /// The requirement id.
    pub requirement: &'static str,
    /// The keyword as written.
    pub keyword: Keyword,
    /// The sentence.
    pub sentence: &'static str,
    /// Link to the section at the pinned commit.
    pub url: String,
    /// See [`Basis::note`].
    #[serde(skip_serializing_if = "str::is_empty")]
    pub note: &'static str,
}

impl From<&Basis> for BasisEntry {
    fn from(b: &Basis) -> Self {
        BasisEntry {
            requirement: b.requirement,
            keyword: b.keyword,
            sentence: b.sentence,
            url: b.url(),
            note: b.note,
        }
    }
}

macro_rules! basis {
    ($req:literal, $kw:ident, $section:literal, $sentence:expr) => {
        Basis {
            requirement: $req,
            keyword: Keyword::$kw,
            sentence: $sentence,
            section: $section,
            note: "",
        }
    };
    ($req:literal, $kw:ident, $section:literal, $sentence:expr, note: $note:literal) => {
        Basis {
            requirement: $req,
            keyword: Keyword::$kw,
            sentence: $sentence,
            section: $section,
            note: $note,
        }
    };
}

// ---- sentences used by several cases ----

const JSONRPC_REPLY: Basis = basis!(
    "",
    Must,
    "jsonrpc#response_object",
    "When a rpc call is made, the Server MUST reply with a Response, except for in the case of Notifications."
);
const PAYLOAD_OBJECT: &str = "If a client or LSP receives a BOLT8 message with message ID 37913, it MUST perform the checks below. If any of these checks fail, then the incoming message has failed with a \"bad message format\" error. The payload MUST parse as a single complete UTF-8 encoded JSON object (i.e. a JSON key-value store or dictionary), with optional leading or trailing whitespaces (space, tab, line feed, carriage return).";
const PAYLOAD_SINGLE: &str =
    "The payload MUST NOT parse as more than a single complete JSON object.";
const PAYLOAD_NO_ZERO: &str = "The payload MUST NOT contain any 0 bytes.";
const PAYLOAD_REQUEST: &str =
    "If the LSP, the received payload MUST parse to a JSON object that is a JSON-RPC 2.0 request.";
const PARSE_ERROR: Basis = basis!(
    "LSPS0-R10",
    Must,
    "blip-0050.md#message-payload-format",
    "In case of a \"bad message format\" error, the LSP: MUST respond with a JSON-RPC 2.0 error response with the reason \"parse error\" (`code` = `-32700`, `id` = `null`)."
);
const IGNORE_MESSAGE: Basis = basis!(
    "LSPS0-R11",
    Must,
    "blip-0050.md#message-payload-format",
    "In case of a \"bad message format\" error, the LSP: [...] MUST ignore the message."
);
const NOT_A_REQUEST: &[Basis] = &[
    basis!(
        "LSPS0-R6",
        Must,
        "blip-0050.md#message-payload-format",
        PAYLOAD_REQUEST
    ),
    basis!(
        "LSPS0-R18",
        Must,
        "blip-0050.md#message-payload-format",
        "In case of a \"bad message format\" error, the LSP: MUST respond with a JSON-RPC 2.0 error response with the reason \"parse error\" (`code` = `-32700`, `id` = `null`).",
        note: "JSON-RPC 2.0 answers an object that is not a request with -32600 Invalid Request; either code passes (spec/README D1)"
    ),
];
const METHOD_NOT_FOUND: Basis = basis!(
    "LSPS0-R45",
    Must,
    "blip-0050.md#lsps-extension-and-versioning",
    "An LSP MUST: [...] Respond with a -32601 \"Method not found\" error, if it receives a request to call a client-callable API `method` that it does not recognize."
);
const UNKNOWN_PARAM: &[Basis] = &[
    basis!(
        "LSPS0-R44",
        Must,
        "blip-0050.md#lsps-extension-and-versioning",
        "An LSP MUST: Respond with a -32602 \"Invalid params\" error, described in a previous section with `unrecognized` field in the `data` dictionary, if it receives a client-callable API `method` it recognized, but with an unrecognized parameter."
    ),
    basis!(
        "LSPS0-R31",
        Must,
        "blip-0050.md#-32602-invalid-parameters-error",
        "This `data` object MUST contain at least the field `unrecognized`, a JSON array of strings, representing an unordered set of parameter names."
    ),
];
const CLIENT_REJECTED: Basis = basis!(
    "LSPS0-R63",
    May,
    "blip-0050.md#link-lsps0client_rejected_error",
    "A LSP MAY return a `Client rejected` error in case it does not want to offer a service to the client.",
    note: "a code 1 answer is legal for any request: the case is SKIP (the LSP refused this client) and the run exits 4"
);
const LSPS1_GET_INFO_FIRST: Basis = basis!(
    "LSPS1-R2",
    Must,
    "blip-0051.md#1-lsps1get_info",
    "The client MUST call `lsps1.get_info` first.",
    note: "binds the client; an LSP advertising LSPS1 that cannot answer it leaves no client a way in"
);
const LSPS2_GET_INFO_FIRST: Basis = basis!(
    "LSPS2-R1",
    Must,
    "blip-0052.md#1-api-information",
    "The client MUST request `lsps2.get_info` to read the `opening_fee` of the LSP and its related parameters.",
    note: "binds the client; an LSP advertising LSPS2 that cannot answer it leaves no client a way in"
);
const OPTION_MISMATCH: Basis = basis!(
    "LSPS1-R24",
    Must,
    "blip-0051.md#2-lsps1create_order",
    "LSP MUST validate the order against the options defined in `lsps1.get_info.options`. LSP MUST return an `100` error in case of a mismatch. `%option_mismatch_property%` MUST be one of the fields in `lsps1.get_info.options`.",
    note: ""
);
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
const LSPS1_TYPES: Basis = basis!(
    "LSPS0-R49",
    Must,
    "blip-0050.md#link-lsps0msat",
    "Monetary amounts MUST be encoded as JSON strings containing the decimal text representation of the number of millisatoshis or satoshis."
);
const EXACT_FIELDS: Basis = basis!(
    "LSPS2-R5",
    Must,
    "blip-0052.md#1-api-information",
    "An `opening_fee_params` object MUST have all of the following fields, and MUST NOT have any additional fields"
);

// ---- flow tier (bLIP-52 sections 4 and 5) ----

const FORWARD_AT_LEAST: Basis = basis!(
    "LSPS2-R61",
    Must,
    "blip-0052.md#5--channel-opening-and-forwarding",
    "The LSP MUST ensure that each forwarded part forwards at least `htlc_minimum_msat` millisatoshis. The LSP MUST ensure that all parts forwarded sum up to at least `payment_size_msat - opening_fee`."
);
const EXTRA_FEE_TLV: Basis = basis!(
    "LSPS2-R62",
    Must,
    "blip-0052.md#5--channel-opening-and-forwarding",
    "The LSP MUST include an `extra_fee` (type 65537) TLV to the `update_add_htlc` message of forwarded parts that have had fees deducted."
);
const MPP_CONTINUE: Basis = basis!(
    "LSPS2-R45",
    Must,
    "blip-0052.md#4--payment",
    "When all conditions below are true, MUST continue to the next step: The current time is strictly less than `opening_fee_params.valid_until`. All received payment parts sum up to at least `payment_size_msat`. The client is connected."
);
const VALID_UNTIL_UNKNOWN_NEXT_PEER: Basis = basis!(
    "LSPS2-R43",
    Must,
    "blip-0052.md#4--payment",
    "MUST fail with `unknown_next_peer` if all parts have **NOT** summed up to at least `payment_size_msat` **AND** `opening_fee_params.valid_until` has passed."
);
const VALID_UNTIL_TIMEOUT: Basis = basis!(
    "LSPS2-R41",
    Must,
    "blip-0052.md#4--payment",
    "MUST also have, for all pending payment parts, a separate timeout at `opening_fee_params.valid_until`, described below."
);

// ---- flow tier (bLIP-51 sections 3 and 4) ----

const LSPS1_REJECT_ON_FAILURE: Basis = basis!(
    "LSPS1-R41",
    Must,
    "blip-0051.md#31-lightning-payments-using-bolt-11",
    "If the channel failed to open or the order expired or shortly before the payment times out: MUST reject the payment. MUST set the `payment.state` to `CANCELLED`."
);
const LSPS1_OPEN_WHEN_PAID: Basis = basis!(
    "LSPS1-R59",
    Must,
    "blip-0051.md#41-channel-open",
    "The LSP MUST open the channel under the following conditions: `payment.state` is `HOLD` (lightning) or `PAID` (on-chain)."
);
const LSPS1_OPEN_AS_ORDERED: Basis = basis!(
    "LSPS1-R61",
    Must,
    "blip-0051.md#41-channel-open",
    "MUST attempt a channel open. MUST respect the `announce_channel` flag. MUST open the channel with at least a capacity of `lsp_balance_sat` + `client_balance_sat`. MUST push `client_balance_sat` to the client."
);
const LSPS1_COMPLETED: Basis = basis!(
    "LSPS1-R64",
    Must,
    "blip-0051.md#41-channel-open",
    "In case the channel open succeeds MUST set `order_state` to `COMPLETED`. MUST update the channel object."
);
const LSPS1_FAILED: Basis = basis!(
    "LSPS1-R65",
    Must,
    "blip-0051.md#41-channel-open",
    "In case the channel open failed MUST set `order_state` to `FAILED`. MUST issue a refund."
);
const LSPS1_FUNDING_DEADLINE: Basis = basis!(
    "LSPS1-R66",
    Must,
    "blip-0051.md#note-about-channel-batching",
    "MAY open channels in batches, opening multiple channels in one transaction. The LSP MUST still ensure that the funding transaction gets confirmed within `funding_confirms_within_blocks` blocks after the client payment completed."
);

const CLIENT_LEFT_BEFORE_FUNDING: Basis = basis!(
    "LSPS2-R51",
    Must,
    "blip-0052.md#5--channel-opening-and-forwarding",
    "If the client disconnects before the LSP can receive `funding_signed` from the client, the LSP MUST fail the incoming payment parts with `temporary_channel_failure`, then return to the previous step (waiting for payment)."
);

/// `(case id, basis)`, one entry per case of the catalog (a test checks both directions).
pub static TABLE: &[(&str, &[Basis])] = &[
    // ---- LSPS0 ----
    (
        "lsps0.nothing-unsolicited",
        &[basis!(
            "LSPS0-R19",
            ShouldNot,
            "blip-0050.md#message-payload-format",
            "The LSP: [...] SHOULD NOT send BOLT8 message ID 37913 unless the peer had already sent a BOLT8 message ID 37913, possibly in a past connection session."
        )],
    ),
    (
        "lsps0.list-protocols.answers",
        &[
            JSONRPC_REPLY,
            basis!(
                "LSPS0-R41",
                Defines,
                "blip-0050.md#lsps-specification-support-query",
                "`protocols` is an array of numbers, indicating the LSPS specification number for the LSPS specification the LSP supports.",
                note: "a result of another shape is WARN"
            ),
            basis!(
                "LSPS0-R1",
                Must,
                "blip-0050.md#lightning-peer-to-peer-transport",
                "The LSP: MUST send either of the below as payloads for BOLT8 message ID 37913: a single complete JSON-RPC 2.0 response object, UTF-8-encoded."
            ),
        ],
    ),
    (
        "lsps0.list-protocols.excludes-0",
        &[basis!(
            "LSPS0-R42",
            MustNot,
            "blip-0050.md#lsps-specification-support-query",
            "LSPs do not advertise LSPS0 support and 0 MUST NOT appear in the `protocols` array."
        )],
    ),
    (
        "lsps0.list-protocols.advertised-answer-get-info",
        &[
            JSONRPC_REPLY,
            basis!(
                "LSPS0-R43",
                Defines,
                "blip-0050.md#lsps-specification-support-query",
                "`protocols` is an array of numbers, indicating the LSPS specification number for the LSPS specification the LSP supports."
            ),
            LSPS1_GET_INFO_FIRST,
            LSPS2_GET_INFO_FIRST,
            CLIENT_REJECTED,
        ],
    ),
    (
        "lsps0.unadvertised-protocol.gets-32601",
        &[basis!(
            "LSPS0-R45",
            Must,
            "blip-0050.md#lsps-extension-and-versioning",
            "An LSP MUST: [...] Respond with a -32601 \"Method not found\" error, if it receives a request to call a client-callable API `method` that it does not recognize.",
            note: "an LSP may recognise a method of a protocol it does not list; any other answer is WARN"
        )],
    ),
    ("lsps0.unknown-method.gets-32601", &[METHOD_NOT_FOUND]),
    (
        "lsps0.list-protocols.unknown-param.gets-32602",
        UNKNOWN_PARAM,
    ),
    (
        "lsps0.whitespace-padding.accepted",
        &[basis!(
            "LSPS0-R3",
            Must,
            "blip-0050.md#message-payload-format",
            PAYLOAD_OBJECT
        )],
    ),
    ("lsps0.bad-format.array.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.batch.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.scalar-string.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.scalar-number.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.truncated.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.empty.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.invalid-utf8.gets-32700", BAD_OBJECT),
    ("lsps0.bad-format.two-objects.gets-32700", BAD_SINGLE),
    ("lsps0.bad-format.trailing-garbage.gets-32700", BAD_SINGLE),
    ("lsps0.bad-format.nul-appended.gets-32700", BAD_ZERO),
    ("lsps0.bad-format.nul-in-string.gets-32700", BAD_ZERO),
    (
        "lsps0.not-a-request.response-object.rejected",
        NOT_A_REQUEST,
    ),
    (
        "lsps0.not-a-request.missing-jsonrpc.rejected",
        NOT_A_REQUEST,
    ),
    ("lsps0.not-a-request.wrong-jsonrpc.rejected", NOT_A_REQUEST),
    (
        "lsps0.not-a-request.method-not-string.rejected",
        NOT_A_REQUEST,
    ),
    (
        "lsps0.pipelined.all-answered",
        &[basis!(
            "LSPS0-R20",
            May,
            "blip-0050.md#message-payload-format",
            "The LSP: [...] MAY send responses in an order different from the order in which the client sent the requests."
        )],
    ),
    (
        "lsps0.amount-overflow.clean-error",
        &[basis!(
            "LSPS0-R50",
            Should,
            "blip-0050.md#link-lsps0msat",
            "LSPS implementations SHOULD internally use an unsigned 64-bit number to represent amounts."
        )],
    ),
    // ---- LSPS1 ----
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
    // ---- LSPS2 ----
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
    // ---- flow tier ----
    (
        "lsps2.flow.no-mpp.delivered-within-fee",
        &[FORWARD_AT_LEAST, EXTRA_FEE_TLV],
    ),
    (
        "lsps2.flow.mpp.parts-gathered-and-delivered",
        &[MPP_CONTINUE, FORWARD_AT_LEAST, EXTRA_FEE_TLV],
    ),
    (
        "lsps2.flow.no-mpp.fee-not-payable.fails-unknown-next-peer",
        &[basis!(
            "LSPS2-R46",
            Must,
            "blip-0052.md#4--payment",
            "In \"no-MPP+var-invoice\" mode, the LSP, if it receives a forward where the next hop is `jit_channel_scid`, before `opening_fee_params.valid_until`: [...] MUST check that `opening_fee + htlc_minimum_msat <= htlc_value_msat`, and if that fails, MUST fail with `unknown_next_peer`."
        )],
    ),
    (
        "lsps2.flow.client-rejects-channel.fails-unknown-next-peer",
        &[basis!(
            "LSPS2-R50",
            Must,
            "blip-0052.md#5--channel-opening-and-forwarding",
            "LSPs MUST fail the payment with `unknown_next_peer` in case the client rejects the channel open via an `error`."
        )],
    ),
    (
        "lsps2.flow.mpp.hold-timeout.fails-temporary-channel-failure",
        &[
            basis!(
                "LSPS2-R39",
                Must,
                "blip-0052.md#4--payment",
                "MUST fail with `temporary_channel_failure` if it implements the above timeout, and the timeout is reached."
            ),
            VALID_UNTIL_UNKNOWN_NEXT_PEER,
        ],
    ),
    (
        "lsps2.flow.mpp.valid-until.fails-unknown-next-peer",
        &[VALID_UNTIL_TIMEOUT, VALID_UNTIL_UNKNOWN_NEXT_PEER],
    ),
    (
        "lsps2.flow.client-left-before-funding.fails-temporary-channel-failure",
        &[CLIENT_LEFT_BEFORE_FUNDING],
    ),
    (
        "lsps2.flow.client-left-before-funding.waits-for-payment-again",
        &[CLIENT_LEFT_BEFORE_FUNDING],
    ),
    (
        "lsps2.flow.funding-broadcast.follows-trust-model",
        &[
            basis!(
                "LSPS2-R55",
                Must,
                "blip-0052.md#5--channel-opening-and-forwarding",
                "If `client_trusts_lsp` is specified and `true`: The LSP MAY wait for the client to send the preimage to the incoming payment via a `update_fulfill_htlc` before broadcasting the funding transaction. The client and LSP MUST immediately send `channel_ready`."
            ),
            basis!(
                "LSPS2-R56",
                Must,
                "blip-0052.md#5--channel-opening-and-forwarding",
                "If `client_trusts_lsp` is unspecified or `false`: The LSP MUST immediately broadcast the channel funding transaction and send `channel_ready`."
            ),
        ],
    ),
    (
        "lsps1.flow.bolt11.channel-delivered",
        &[
            basis!(
                "LSPS1-R39",
                Must,
                "blip-0051.md#31-lightning-payments-using-bolt-11",
                "MUST change the `payment.state` to `HOLD` when the payment arrived."
            ),
            basis!(
                "LSPS1-R40",
                Must,
                "blip-0051.md#31-lightning-payments-using-bolt-11",
                "If the channel has been opened successfully MUST release the preimage and therefore complete the payment. MUST set the `payment.state` to `PAID`."
            ),
            LSPS1_REJECT_ON_FAILURE,
            LSPS1_OPEN_WHEN_PAID,
            LSPS1_OPEN_AS_ORDERED,
            LSPS1_COMPLETED,
            LSPS1_FUNDING_DEADLINE,
        ],
    ),
    (
        "lsps1.flow.bolt11.open-rejected.payment-failed-back",
        &[
            LSPS1_REJECT_ON_FAILURE,
            basis!(
                "LSPS1-R41",
                Must,
                "blip-0051.md#31-lightning-payments-using-bolt-11",
                "`CANCELLED` Lightning payment has been cancelled. This state has been deprecated. The LSP MUST use `REFUNDED` for a cancelled or refunded invoice."
            ),
            LSPS1_FAILED,
        ],
    ),
    (
        "lsps1.flow.onchain.channel-delivered",
        &[
            basis!(
                "LSPS1-R51",
                Must,
                "blip-0051.md#33-onchain-payments",
                "MUST monitor the blockchain and update `onchain_payment`."
            ),
            basis!(
                "LSPS1-R54",
                Must,
                "blip-0051.md#33-onchain-payments",
                "MUST always set the transaction as confirmed after 6 block confirmations."
            ),
            basis!(
                "LSPS1-R55",
                Must,
                "blip-0051.md#33-onchain-payments",
                "MUST change the `payment.state` to `PAID` when the payment for the order is confirmed."
            ),
            LSPS1_OPEN_WHEN_PAID,
            LSPS1_OPEN_AS_ORDERED,
            LSPS1_COMPLETED,
            LSPS1_FUNDING_DEADLINE,
        ],
    ),
    (
        "lsps1.flow.onchain.open-rejected.refunded",
        &[
            basis!(
                "LSPS1-R56",
                Must,
                "blip-0051.md#33-onchain-payments",
                "If the order expired and the channel has NOT been opened, OR the channel open failed. MUST refund the client to `refund_onchain_address`."
            ),
            basis!(
                "LSPS1-R56",
                Must,
                "blip-0051.md#33-onchain-payments",
                "If the order expired and the channel has NOT been opened, OR the channel open failed. MUST set the payment `payment.state` to `REFUNDED`."
            ),
            basis!(
                "LSPS1-R56",
                Must,
                "blip-0051.md#33-onchain-payments",
                "The number of satoshi to refund MUST be `order_total_sat` MINUS transaction size * onchain fee rate. The LSP MUST choose a reasonable fee rate."
            ),
            LSPS1_FAILED,
        ],
    ),
    // ---- aggregate ----
    (
        "lsps0.bad-message.connection-still-served",
        &[IGNORE_MESSAGE, JSONRPC_REPLY],
    ),
    (
        "lsps0.wire.envelope-valid",
        &[
            basis!(
                "LSPS0-R17",
                Must,
                "blip-0050.md#message-payload-format",
                "The LSP: MUST send either of the below as payloads for BOLT8 message ID 37913: a single complete JSON-RPC 2.0 response object, UTF-8-encoded. a single complete JSON-RPC 2.0 notification object (i.e. an object without `id` but with `method`, `params`, and `jsonrpc` fields)."
            ),
            basis!(
                "LSPS0-R64",
                Must,
                "jsonrpc#response_object",
                "id: This member is REQUIRED. It MUST be the same as the value of the id member in the Request Object."
            ),
        ],
    ),
    (
        "lsps0.wire.error-data-is-object",
        &[basis!(
            "LSPS0-R22",
            Must,
            "blip-0050.md#lsps-method-and-notification-specifications",
            "MUST also describe the possible error `code`s for each API endpoint, together with any `data` (which MUST be an object (dictionary)) for that error code, if there should be a `data` field."
        )],
    ),
    (
        "lsps0.wire.error-codes-in-range",
        &[basis!(
            "LSPS0-R32",
            Must,
            "blip-0050.md#custom-errors",
            "Each LSPS is provided and MUST use an error range of max 100 error codes. The range for each LSPS is calculated as follow: `LSPS-number * 100 to LSPS-number * 100 + 99` (inclusive).",
            note: "binds LSPS authors; -31999..-1 MAY be used by applications outside the LSPSpec and passes; any other code is WARN"
        )],
    ),
    ("lsps0.wire.amounts-are-decimal-strings", &[LSPS1_TYPES]),
    (
        "lsps0.wire.scids-well-formed",
        &[basis!(
            "LSPS0-R53",
            Must,
            "blip-0050.md#link-lsps0scid",
            "SCIDs MUST be encoded as a JSON string containing the \"human-readable\" format of `BBBxTTTxOOO`, as defined in BOLT7 Definition of `short_channel_id`."
        )],
    ),
    (
        "lsps0.wire.datetimes-strict",
        &[basis!(
            "LSPS0-R58",
            Must,
            "blip-0050.md#link-lsps0datetime",
            "Particular points of time in the modern era (a \"datetime\") MUST be encoded as a JSON string containing the ISO 8601 format `\"YYYY-MM-DDThh:mm:ss.uuuZ\"`."
        )],
    ),
    (
        "lsps0.wire.no-gratuitous-escapes",
        &[basis!(
            "LSPS0-R48",
            Must,
            "blip-0050.md#common-schemas",
            "When a schema specifies a JSON string format, characters that can be embedded into a JSON string without escapes MUST be encoded directly."
        )],
    ),
    (
        "lsps0.wire.client-rejected-shape",
        &[basis!(
            "LSPS0-R63",
            Defines,
            "blip-0050.md#link-lsps0client_rejected_error",
            "| 001 | Client rejected | {\"message\": %human_message% } | The LSP rejected the client. |",
            note: "the data shape is given in a table, not by a MUST: a code 1 without data.message is WARN"
        )],
    ),
    (
        "lsps0.wire.schema-valid",
        &[
            basis!(
                "LSPS0-R24",
                Must,
                "blip-0050.md#lsps-method-and-notification-specifications",
                "MUST define `result` values for its API endpoints that are objects (dictionaries), and MUST define keys of the response.",
                note: ""
            ),
            LSPS1_TYPES,
            EXACT_FIELDS,
            basis!(
                "LSPS0-R31",
                Must,
                "blip-0050.md#-32602-invalid-parameters-error",
                "An LSP that sends back an invalid parameter error with `code = -32602` MUST include a `data` object in the `error` response."
            ),
        ],
    ),
    (
        "lsps0.wire.schema-project-reading",
        &[
            basis!(
                "LSPS0-R49",
                Must,
                "blip-0050.md#link-lsps0msat",
                "Monetary amounts MUST be encoded as JSON strings containing the decimal text representation of the number of millisatoshis or satoshis. LSPS implementations SHOULD internally use an unsigned 64-bit number to represent amounts.",
                note: "a digit string is a decimal text representation: leading zeros and values above u64 are our canonical form (spec/schema-audit.md), so WARN"
            ),
            basis!(
                "LSPS1-R4",
                Defines,
                "blip-0051.md#1-lsps1get_info",
                "`min_funding_confirms_within_blocks <uint16>` Smallest number of blocks in which the LSP can confirm the funding transaction.",
                note: "integer bounds (uint16, uint32, ppm, a minimum of 1) come from type names in field lists, without a keyword"
            ),
        ],
    ),
    (
        "lsps0.latency.replies-within-5s",
        &[basis!(
            "",
            Should,
            "blip-0050.md#disconnection-handling",
            "Clients SHOULD internally impose a reasonable timeout, on the scale of minutes, for receiving a response for a request, and SHOULD treat a timeout event as a temporary server failure, and forget the `id` of the timed-out request.",
            note: "interop only: the bLIP asks clients for minutes, but wallets give up earlier (see the Interop section); slow replies are WARN, none at all within --timeout-ms is TIMEOUT"
        )],
    ),
];

const BAD_OBJECT: &[Basis] = &[
    basis!(
        "LSPS0-R3",
        Must,
        "blip-0050.md#message-payload-format",
        PAYLOAD_OBJECT
    ),
    PARSE_ERROR,
];
const BAD_SINGLE: &[Basis] = &[
    basis!(
        "LSPS0-R4",
        MustNot,
        "blip-0050.md#message-payload-format",
        PAYLOAD_SINGLE
    ),
    PARSE_ERROR,
];
const BAD_ZERO: &[Basis] = &[
    basis!(
        "LSPS0-R5",
        MustNot,
        "blip-0050.md#message-payload-format",
        PAYLOAD_NO_ZERO
    ),
    PARSE_ERROR,
];

/// The basis of case `id` (empty if the table has no entry; a test forbids that).
pub fn of(id: &str) -> &'static [Basis] {
    TABLE
        .iter()
        .find(|(case, _)| *case == id)
        .map(|(_, b)| *b)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::verdict::Level;

    #[test]
    fn every_case_has_a_basis_and_every_entry_names_a_case() {
        for case in crate::catalog::all() {
            assert!(!of(case.id).is_empty(), "{} has no basis", case.id);
        }
        for (id, _) in TABLE {
            assert!(crate::catalog::find(id).is_some(), "{id} is no case");
        }
        let mut ids: Vec<&str> = TABLE.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "a case is listed twice");
    }

    /// The judge's rule: MUST cases quote a MUST binding the LSP; others quote none that would
    /// make them MUST without saying why not.
    #[test]
    fn levels_follow_the_keywords() {
        for case in crate::catalog::all() {
            let mandatory = of(case.id).iter().any(Basis::binds_lsp_mandatorily);
            match case.level {
                Level::Must => assert!(mandatory, "{} is MUST without a MUST", case.id),
                Level::Should | Level::May => assert!(
                    !mandatory,
                    "{} is {} but quotes a MUST binding the LSP without a note",
                    case.id, case.level
                ),
            }
        }
    }

    /// The pinned bLIP text as sentences are quoted: Markdown links reduced to their text,
    /// `<del>` marks, list markers and block-quote marks dropped, lines joined, whitespace
    /// collapsed.
    fn pinned_text(file: &str) -> String {
        let raw = match file {
            "blip-0050.md" => include_str!("../../spec/blips/ba7a34b/blip-0050.md"),
            "blip-0051.md" => include_str!("../../spec/blips/ba7a34b/blip-0051.md"),
            "blip-0052.md" => include_str!("../../spec/blips/ba7a34b/blip-0052.md"),
            other => panic!("no pinned copy of {other}"),
        };
        let reference_link = regex::Regex::new(r"\[([^\]]*)\]\[[^\]]*\]").unwrap();
        let inline_link = regex::Regex::new(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)").unwrap();
        let marker = regex::Regex::new(r"^\s*(?:[-*]\s+|\d+\.\s+|>\s?)").unwrap();
        let text = reference_link.replace_all(raw, "$1");
        let text = inline_link.replace_all(&text, "$1");
        let text = text.replace("<del>", "").replace("</del>", "");
        let joined: Vec<String> = text
            .lines()
            .map(|l| marker.replace(l, "").trim().to_owned())
            .collect();
        joined
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The pieces of a quote that must each appear in the text: fragments between `[...]`
    /// elisions, cut after each `.` or `:` that ends a sentence or an introducing clause (a
    /// list item is quoted with the clause that introduces it).
    fn quoted_pieces(quote: &str) -> Vec<String> {
        let quote = quote.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut pieces = Vec::new();
        for fragment in quote.split("[...]") {
            let chars: Vec<char> = fragment.chars().collect();
            let mut start = 0;
            for i in 0..chars.len() {
                let ends = matches!(chars[i], '.' | ':')
                    && chars.get(i + 1) == Some(&' ')
                    && chars
                        .get(i + 2)
                        .is_some_and(|c| c.is_ascii_uppercase() || matches!(c, '`' | '*' | '"'));
                if ends {
                    pieces.push(chars[start..=i].iter().collect::<String>());
                    start = i + 2;
                }
            }
            pieces.push(chars[start..].iter().collect::<String>());
        }
        pieces
            .into_iter()
            .map(|p| p.trim().trim_end_matches(':').trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    }

    fn missing_pieces(quote: &str, file: &str) -> Vec<String> {
        let text = pinned_text(file);
        quoted_pieces(quote)
            .into_iter()
            .filter(|p| !text.contains(p.as_str()) && !text.contains(p.trim_end_matches('.')))
            .collect()
    }

    /// Every sentence the runner quotes is in the bLIP text at the pinned commit: each case's
    /// basis, and the quotes (`bLIP-5N: "..."`) in the flow cases' verdicts.
    #[test]
    fn quoted_sentences_are_in_the_pinned_blips() {
        let mut problems = Vec::new();
        for (case, basis) in TABLE {
            for b in *basis {
                let Some((file, _)) = b.section.split_once('#') else {
                    continue;
                };
                if !file.starts_with("blip-") {
                    continue;
                }
                for piece in missing_pieces(b.sentence, file) {
                    problems.push(format!("{case} ({}): {piece:?}", b.requirement));
                }
            }
        }
        let quoted = regex::Regex::new(r#"\\"((?:[^"\\]|\\[^"])*)\\""#).unwrap();
        for (source, file) in [
            (include_str!("catalog/flow_lsps1.rs"), "blip-0051.md"),
            (
                include_str!("catalog/flow_lsps1_onchain.rs"),
                "blip-0051.md",
            ),
            (include_str!("catalog/flow_lsps2.rs"), "blip-0052.md"),
            (include_str!("catalog/flow_lsps2_open.rs"), "blip-0052.md"),
        ] {
            let mut checked = 0;
            for quote in quoted.captures_iter(source) {
                let quote = &quote[1];
                if !["MUST", "SHOULD", "MAY"].iter().any(|k| quote.contains(k)) {
                    continue;
                }
                checked += 1;
                for piece in missing_pieces(quote, file) {
                    problems.push(format!("a flow verdict quoting {file}: {piece:?}"));
                }
            }
            assert!(checked > 0, "no quote found in a flow source of {file}");
        }
        assert!(
            problems.is_empty(),
            "not in the pinned bLIP text:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn quote_checks_can_fail() {
        assert!(missing_pieces("MUST release the preimage.", "blip-0051.md").is_empty());
        assert_eq!(
            missing_pieces("MUST release the preimage at once.", "blip-0051.md"),
            ["MUST release the preimage at once."]
        );
        assert_eq!(
            quoted_pieces("If x: MUST a. [...] MUST b."),
            ["If x", "MUST a.", "MUST b."]
        );
    }

    #[test]
    fn sentences_are_in_the_requirement_section_files() {
        for (_, basis) in TABLE {
            for b in *basis {
                assert!(!b.sentence.is_empty());
                assert!(
                    b.section.starts_with("blip-005") || b.section.starts_with("jsonrpc#"),
                    "{}",
                    b.section
                );
                if b.keyword != Keyword::Defines {
                    assert!(
                        b.sentence.contains(b.keyword.as_str()),
                        "{:?} does not contain its keyword {}",
                        b.sentence,
                        b.keyword.as_str()
                    );
                }
            }
        }
    }
}
