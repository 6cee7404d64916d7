//! The basis of the LSPS0 (bLIP-50) cases: payload format, envelope, `list_protocols`, and
//! the aggregate checks over every message the LSP sent.

use super::shared::{
    CLIENT_REJECTED, EXACT_FIELDS, JSONRPC_REPLY, LSPS1_GET_INFO_FIRST, LSPS1_TYPES,
    LSPS2_GET_INFO_FIRST, UNKNOWN_PARAM,
};
use super::{Basis, Keyword};

const PARSE_ERROR: Basis = basis!(
    "LSPS0-R10",
    Must,
    "blip-0050.md#message-payload-format",
    "In case of a \"bad message format\" error, the LSP: MUST respond with a JSON-RPC 2.0 error response with the reason \"parse error\" (`code` = `-32700`, `id` = `null`)."
);

const PAYLOAD_REQUEST: &str =
    "If the LSP, the received payload MUST parse to a JSON object that is a JSON-RPC 2.0 request.";

const PAYLOAD_NO_ZERO: &str = "The payload MUST NOT contain any 0 bytes.";

const PAYLOAD_SINGLE: &str =
    "The payload MUST NOT parse as more than a single complete JSON object.";

const PAYLOAD_OBJECT: &str = "If a client or LSP receives a BOLT8 message with message ID 37913, it MUST perform the checks below. If any of these checks fail, then the incoming message has failed with a \"bad message format\" error. The payload MUST parse as a single complete UTF-8 encoded JSON object (i.e. a JSON key-value store or dictionary), with optional leading or trailing whitespaces (space, tab, line feed, carriage return).";

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

/// `(case id, basis)` of the LSPS0 cases.
pub(super) static TABLE: &[(&str, &[Basis])] = &[
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
