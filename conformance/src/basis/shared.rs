//! Sentences several protocols' cases rest on (the JSON-RPC reply, unknown params, code 1,
//! `get_info` first, the field types).

use super::{Basis, Keyword};

pub(super) const JSONRPC_REPLY: Basis = basis!(
    "",
    Must,
    "jsonrpc#response_object",
    "When a rpc call is made, the Server MUST reply with a Response, except for in the case of Notifications."
);

pub(super) const UNKNOWN_PARAM: &[Basis] = &[
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

pub(super) const CLIENT_REJECTED: Basis = basis!(
    "LSPS0-R63",
    May,
    "blip-0050.md#link-lsps0client_rejected_error",
    "A LSP MAY return a `Client rejected` error in case it does not want to offer a service to the client.",
    note: "a code 1 answer is legal for any request: the case is SKIP (the LSP refused this client) and the run exits 4"
);

pub(super) const LSPS1_GET_INFO_FIRST: Basis = basis!(
    "LSPS1-R2",
    Must,
    "blip-0051.md#1-lsps1get_info",
    "The client MUST call `lsps1.get_info` first.",
    note: "binds the client; an LSP advertising LSPS1 that cannot answer it leaves no client a way in"
);

pub(super) const LSPS2_GET_INFO_FIRST: Basis = basis!(
    "LSPS2-R1",
    Must,
    "blip-0052.md#1-api-information",
    "The client MUST request `lsps2.get_info` to read the `opening_fee` of the LSP and its related parameters.",
    note: "binds the client; an LSP advertising LSPS2 that cannot answer it leaves no client a way in"
);

pub(super) const LSPS1_TYPES: Basis = basis!(
    "LSPS0-R49",
    Must,
    "blip-0050.md#link-lsps0msat",
    "Monetary amounts MUST be encoded as JSON strings containing the decimal text representation of the number of millisatoshis or satoshis."
);

pub(super) const EXACT_FIELDS: Basis = basis!(
    "LSPS2-R5",
    Must,
    "blip-0052.md#1-api-information",
    "An `opening_fee_params` object MUST have all of the following fields, and MUST NOT have any additional fields"
);
