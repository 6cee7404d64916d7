#!/usr/bin/env python3
"""Writes spec/schema-audit.md: every constraint of spec/schemas, traced to the bLIP sentence
behind it (keyword as written) or marked as this project's reading, with how the conformance
runner judges a deviation. `xtask/tests/spec.rs` checks that the table names every constraint
of the schemas, so a new constraint needs a rule here (first match wins).

Run: python3 spec/tools/schema_audit.py > spec/schema-audit.md
"""
import glob
import json
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..", "schemas")
# Keywords that constrain an instance (composition keywords such as $ref, allOf, then,
# properties and items only carry constraints of their own, listed at their own pointer).
CONSTRAINTS = ["type", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
               "required", "additionalProperties", "enum", "const", "minLength", "maxLength",
               "minItems", "maxItems", "uniqueItems", "not", "dependentRequired", "oneOf",
               "anyOf", "if"]

B50 = "bLIP-50"
B51 = "bLIP-51"
B52 = "bLIP-52"
RPC = "JSON-RPC 2.0"

# Sentences, quoted from the bLIPs at ba7a34b (and JSON-RPC 2.0).
S = {
    "amount_str": (B50, "MUST", "Monetary amounts MUST be encoded as JSON strings containing the decimal text representation of the number of millisatoshis or satoshis."),
    "amount_u64": (B50, "SHOULD", "LSPS implementations SHOULD internally use an unsigned 64-bit number to represent amounts. (canonical form without leading zeros: ours)"),
    "fee_rate": (B50, "MUST", "On-chain feerates MUST be encoded as JSON integral numbers."),
    "ppm": (B50, "MUST", "Parts-per-million units MUST be encoded as JSON integral numbers."),
    "scid": (B50, "MUST", "SCIDs MUST be encoded as a JSON string containing the \"human-readable\" format of `BBBxTTTxOOO`, as defined in BOLT7."),
    "pubkey": (B50, "MUST", "SECP256K1 elliptic curve points MUST be encoded as a JSON string of the hexadecimal dump of the compressed DER encoding of the point."),
    "txid": (B50, "MUST", "It MUST be converted to little-endian to enable searching and MUST be encoded as a 64 character HEX string."),
    "outpoint": (B50, "MUST", "It MUST be encoded as a JSON string in the `txid:output_index` format."),
    "datetime": (B50, "MUST", "Particular points of time in the modern era (a \"datetime\") MUST be encoded as a JSON string containing the ISO 8601 format `\"YYYY-MM-DDThh:mm:ss.uuuZ\"`."),
    "address": (B50, "MUST", "An on-chain address MUST be a SegWit address, from version 0 to any future version. An on-chain address MUST be encoded as a string containing the SegWit address."),
    "promise": (B52, "MUST", "MUST ensure the promise is no longer than 512 bytes [...] MUST avoid characters outside of the printable ASCII range."),
    "ofp": (B52, "MUST", "An `opening_fee_params` object MUST have all of the following fields, and MUST NOT have any additional fields."),
    "uint_type": ("bLIPs", "defines", "Field lists give the type: `<uint16>`, `<uint32>` (e.g. bLIP-51 \"`min_required_channel_confirmations <uint16>`\")."),
    "uint_bound": ("bLIPs", "defines", "The range comes from the type name only (`<uint16>`, `<uint32>`); no sentence bounds the value."),
    "min1": (B51, "defines", "`min_funding_confirms_within_blocks <uint16>` Smallest number of blocks [...]; `max_channel_expiry_blocks <uint32>` The maximum number of blocks [...]: a minimum of 1 is our reading."),
    "ppm_bound": (B50, "none", "No sentence bounds ppm; u32 is our reading."),
    "bool": (B51, "defines", "`supports_zero_channel_reserve <boolean>`, `announce_channel <boolean>` (field list types)."),
    "string_field": ("bLIPs", "defines", "Field lists type it `<string>` (`token`, `order_id`, `invoice`, `offer`)."),
    "fields": ("bLIPs", "defines", "The field list of the method defines these keys; bLIP-50 \"MUST define keys of the response\" binds the spec author."),
    "result_object": (B50, "MUST", "MUST define `result` values for its API endpoints that are objects (dictionaries)."),
    "params_closed": (B50, "MUST", "An LSP MUST [...] Respond with a -32602 \"Invalid params\" error [...] if it receives a request [...] with an unrecognized parameter (a schema for what the LSP receives; the runner never applies params schemas to replies)."),
    "pay_states": (B51, "defines", "`state` `EXPECT_PAYMENT` / `HOLD` / `PAID` / `REFUNDED` (`CANCELLED` deprecated in the list, yet 3.1/3.2 say the LSP \"MUST set the `payment.state` to `CANCELLED`\")."),
    "order_states": (B51, "defines", "`order_state <string enum>`: `CREATED`, `COMPLETED`, `FAILED`."),
    "invoice_len": (B51, "MUST", "`invoice <string>` MUST be a Lightning BOLT 11 invoice for the number of `order_total_sat`. MUST be at most 2048 characters long."),
    "offer_len": (B51, "MUST", "`offer <string>` MUST be a Lightning BOLT 12 offer for the number of `order_total_sat`. MUST be at most 2048 characters long."),
    "zeroconf": (B51, "MUST", "`min_fee_for_0conf` MUST be `null` or absent if `min_onchain_payment_confirmations` is greater than 0."),
    "fee_rate_or_null": (B51, "defines", "`min_fee_for_0conf <LSPS0.onchain_fee>`, `null` allowed by the sentence above."),
    "protocols0": (B50, "MUST NOT", "LSPs do not advertise LSPS0 support and 0 MUST NOT appear in the `protocols` array."),
    "protocols_type": (B50, "defines", "`protocols` is an array of numbers, indicating the LSPS specification number."),
    "protocols_max": (B50, "none", "No upper bound is stated; 65535 is our reading."),
    "jsonrpc": (RPC, "MUST", "jsonrpc: A String specifying the version of the JSON-RPC protocol. MUST be exactly \"2.0\"."),
    "rpc_id": (B50, "MUST", "`id` MUST be a JSON string (clients); a response's id MUST be the same as the request's (JSON-RPC), null when it could not be read."),
    "rpc_result_xor": (RPC, "MUST", "Either the result member or error member MUST be included, but both members MUST NOT be included."),
    "rpc_error": (RPC, "MUST", "code: A Number that indicates the error type that occurred. This MUST be an integer. message: A String providing a short description of the error."),
    "rpc_data": (B50, "MUST", "error `data`, where the LSPS defines it, is an object (bLIP-50: \"MUST include a `data` object\" for -32602; LSPS tables give objects)."),
    "rpc_parse_null": (RPC, "MUST", "If there was an error in detecting the id in the Request object (e.g. Parse error/Invalid Request), it MUST be Null."),
    "rpc_notification": (RPC, "MUST", "A Notification is a Request object without an \"id\" member. (bLIP-50: notifications have `method`, `params`, `jsonrpc`.)"),
    "unrecognized": (B50, "MUST", "This `data` object MUST contain at least the field `unrecognized`, a JSON array of strings, representing an unordered set of parameter names."),
    "unrecognized_set": (B50, "defines", "\"an unordered set of parameter names\": no repeats is our reading."),
    "invalid_property": (B51, "MUST", "`%invalid_property%` MUST be one of the fields in the request body."),
    "data_message": (B51, "defines", "The error table gives `{\"property\": ..., \"message\": %human_message%}`; no keyword requires `message`."),
    "option_property": (B51, "MUST", "`%option_mismatch_property%` MUST be one of the fields in `lsps1.get_info.options`."),
    "data_table": (B51, "defines", "The error tables give the `data` shape ({} for 101 and 102)."),
    "data_32602_required": (B50, "MUST", "An LSP that sends back an invalid parameter error with `code = -32602` MUST include a `data` object in the `error` response."),
    "data_32700": ("ours", "none", "We write no `data` on -32700; JSON-RPC lets any error carry data."),
    "data_1": (B50, "defines", "`Client rejected` data `{\"message\": %human_message%}` is given in a table."),
    "data_32600": ("ours", "none", "Our own `{message}` on -32600; no bLIP defines it."),
    "order_id_len": (B51, "none", "`order_id <string>` Id of this specific order: 1 to 64 characters is our reading."),
    "channel_null": (B51, "defines", "`channel` is `null` until the funding transaction is published, then the channel object."),
    "cltv_delta": ("ours", "none", "`lsp_cltv_expiry_delta` is `<uint32>` in bLIP-52; ≤ 65535 is spec/README D22 (a BOLT11 route hint carries 16 bits)."),
}

# Runner treatment names.
FAIL = "FAIL (`lsps0.wire.schema-valid`)"
WARN = "WARN (`lsps0.wire.schema-project-reading`)"
NOT_JUDGED_PARAMS = "not applied (params: what the LSP receives)"
PASS_CANCELLED = "FAIL, except `CANCELLED`, which passes"
OWNED = "not a schema finding: judged at WARN by `lsps2.buy.result-shape`"
SOFT_CODES = "not a schema finding: judged at WARN by `lsps0.wire.client-rejected-shape` (1); not judged (-32600)"
FAIL_LENIENT = "not a finding (any error may carry data)"

# (file regex, pointer regex, keyword regex) -> (sentence key, runner)
RULES = [
    (r"\.params\.json$", r".*", r".*", "params_closed", NOT_JUDGED_PARAMS),
    (r"common", r"^/\$defs/(msat|sat)$", r"type", "amount_str", FAIL),
    (r"common", r"^/\$defs/(msat|sat)$", r"pattern", "amount_u64", WARN + " for a digit string; FAIL otherwise"),
    (r"common", r"^/\$defs/(uint16|uint32|output_index)$", r"type", "uint_type", FAIL),
    (r"common", r"^/\$defs/(uint16|uint32|output_index)$", r"minimum|maximum", "uint_bound", WARN),
    (r"common", r"^/\$defs/onchain_fee_rate$", r"type", "fee_rate", FAIL),
    (r"common", r"^/\$defs/onchain_fee_rate$", r"minimum", "uint_bound", WARN),
    (r"common", r"^/\$defs/ppm$", r"type", "ppm", FAIL),
    (r"common", r"^/\$defs/ppm$", r"minimum|maximum", "ppm_bound", WARN),
    (r"common", r"^/\$defs/scid$", r".*", "scid", FAIL),
    (r"common", r"^/\$defs/pubkey$", r".*", "pubkey", FAIL),
    (r"common", r"^/\$defs/txid$", r".*", "txid", FAIL),
    (r"common", r"^/\$defs/outpoint$", r".*", "outpoint", FAIL),
    (r"common", r"^/\$defs/datetime$", r".*", "datetime", FAIL),
    (r"common", r"^/\$defs/onchain_address$", r".*", "address", FAIL),
    (r"common", r"^/\$defs/promise$", r".*", "promise", FAIL),
    (r"common", r"^/\$defs/opening_fee_params$", r".*", "ofp", FAIL),
    (r"common", r"^/\$defs/lsps1_(onchain_)?payment_state$", r"enum", "pay_states", PASS_CANCELLED.replace("FAIL", "WARN")),
    (r"common", r"^/\$defs/lsps1_order_state$", r"enum", "order_states", WARN),
    (r"common", r"/invoice$", r"maxLength|minLength", "invoice_len", FAIL),
    (r"common", r"/offer$", r"maxLength|minLength", "offer_len", FAIL),
    (r"common", r"/(invoice|offer|order_id|token)$", r"type", "string_field", FAIL),
    (r"common", r"/order_id$", r"minLength|maxLength", "order_id_len", WARN),
    (r"common", r"/channel$", r"oneOf", "channel_null", FAIL),
    (r"common", r"^/\$defs/lsps1_onchain/then", r".*", "zeroconf", FAIL),
    (r"common", r"^/\$defs/lsps1_onchain/if", r".*", "zeroconf", FAIL),
    (r"common", r"^/\$defs/lsps1_onchain$", r"if", "zeroconf", FAIL),
    (r"common", r"min_fee_for_0conf", r".*", "fee_rate_or_null", FAIL),
    (r"common", r"/(announce_channel|supports_zero_channel_reserve)$", r"type", "bool", FAIL),
    (r"common", r".*", r"type|required|additionalProperties", "fields", FAIL),
    (r"lsps1.get_info.result", r"/(min_funding_confirms_within_blocks|max_channel_expiry_blocks)$", r"minimum", "min1", WARN),
    (r"lsps1.get_info.result", r"/supports_zero_channel_reserve$", r"type", "bool", FAIL),
    (r"lsps0.list_protocols.result", r"/items$", r"minimum", "protocols0", FAIL),
    (r"lsps0.list_protocols.result", r"/items$", r"maximum", "protocols_max", WARN),
    (r"lsps0.list_protocols.result", r".*", r"type|required", "protocols_type", FAIL),
    (r"lsps2.buy.result", r"/client_trusts_lsp$", r"type", "bool", FAIL),
    (r"\.result\.json$", r"^/$", r"type", "result_object", FAIL),
    (r"\.result\.json$", r".*", r"type|required", "fields", FAIL),
    (r"envelope|^error\.json", r"/jsonrpc$", r"const", "jsonrpc", FAIL),
    (r"^error\.json", r"^/allOf/0/then", r".*", "rpc_parse_null", FAIL),
    (r"^error\.json", r"^/allOf/0$", r"if", "rpc_parse_null", FAIL),
    (r"^error\.json", r"^/allOf/0/if", r".*", "rpc_parse_null", FAIL),
    (r"^error\.json", r"/id$", r"type", "rpc_id", FAIL),
    (r"^error\.json", r"^/$", r"not", "rpc_result_xor", FAIL),
    (r"^error\.json", r"/allOf/7", r".*", "data_32700", FAIL_LENIENT),
    (r"^error\.json", r"/allOf/6", r".*", "data_32602_required", FAIL),
    (r"^error\.json", r"/allOf/[0-5]", r".*", "data_table", "selects the data schema by code (see error-data rows)"),
    (r"^error\.json", r"/data$", r"type", "rpc_data", FAIL),
    (r"^error\.json", r".*", r".*", "rpc_error", FAIL),
    (r"envelope\.response", r"/id$", r"type", "rpc_id", FAIL),
    (r"envelope\.response", r"^/oneOf/2", r".*", "rpc_notification", FAIL),
    (r"envelope\.response", r"^/oneOf/0/not|^/oneOf/0$", r"not", "rpc_result_xor", FAIL),
    (r"envelope\.response", r".*", r".*", "result_object", FAIL),
    (r"envelope\.request", r".*", r".*", "rpc_notification", "not applied (requests are what the runner sends)"),
    (r"error-data/-32602", r"/unrecognized$", r"uniqueItems", "unrecognized_set", WARN),
    (r"error-data/-32602", r"/property$", r".*", "invalid_property", FAIL),
    (r"error-data/-32602", r"^/$", r"dependentRequired", "data_message", WARN),
    (r"error-data/-32602", r"/message$", r".*", "data_message", WARN),
    (r"error-data/-32602", r".*", r".*", "unrecognized", FAIL),
    (r"error-data/100", r"/property$", r".*", "option_property", FAIL),
    (r"error-data/100", r"^/$", r"required", "data_message", WARN + " for `message`; FAIL for `property`"),
    (r"error-data/100", r".*", r".*", "data_table", FAIL),
    (r"error-data/10[12]", r".*", r".*", "data_table", FAIL),
    (r"error-data/1\.json", r".*", r".*", "data_1", SOFT_CODES),
    (r"error-data/-32600", r".*", r".*", "data_32600", SOFT_CODES),
]


def constraints():
    rows = []

    def walk(value, pointer, name):
        if isinstance(value, dict):
            for key in CONSTRAINTS:
                if key in value:
                    rows.append((name, pointer or "/", key, value[key]))
            for key, inner in value.items():
                if key in ("description", "title", "$id", "$schema", "$comment", "examples",
                           "const", "enum", "required", "dependentRequired"):
                    continue
                walk(inner, pointer + "/" + key.replace("~", "~0").replace("/", "~1"), name)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                walk(inner, pointer + "/" + str(i), name)

    for path in sorted(glob.glob(os.path.join(ROOT, "*.json")) + glob.glob(os.path.join(ROOT, "error-data", "*.json"))):
        name = os.path.relpath(path, ROOT)
        with open(path) as f:
            walk(json.load(f), "", name)
    return rows


def short(value):
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > 60:
        text = text[:57] + "..."
    return text.replace("|", "\\|")


def main():
    out = []
    out.append("# Schema audit: every constraint of `spec/schemas`, traced to the bLIPs\n")
    out.append("Generated by `python3 spec/tools/schema_audit.py > spec/schema-audit.md`; "
               "`xtask/tests/spec.rs` fails when a constraint of the schemas has no row here. "
               "Sentences are quoted from lightning/blips at `ba7a34b` (and JSON-RPC 2.0). "
               "**Keyword** is as written: MUST / MUST NOT / SHOULD, `defines` (a field list, "
               "type name or table without a keyword) or `none` (our reading, spec/README "
               "decisions). **Runner** is what `lsps-conformance` does with a deviation in "
               "what an LSP sends (DESIGN §9: FAIL only for a MUST it can quote).\n")
    out.append("## Judgement calls (read these first)\n")
    out.append("- **JSON types and required keys from field lists FAIL** although the field lists "
               "carry no keyword: they define the message, a reply without them is not the "
               "defined reply, and the runner's typed reading (lsps-core) cannot read it either. "
               "Their bounds (uint16/uint32 ranges, ppm ≤ u32, protocol ≤ 65535, minimum 1) and "
               "our canonical amount form are WARN.\n")
    out.append("- **`CANCELLED`** passes as a payment state: bLIP-51 lists it as deprecated but its "
               "LSP sections still say \"MUST set the `payment.state` to `CANCELLED`\". Another "
               "unknown state is WARN (the states are defined, not required by a keyword).\n")
    out.append("- **-32602 `data.unrecognized`** is required (bLIP-50 MUST) although bLIP-51's "
               "error table shows `{property, message}` without it; an LSPS1 LSP that follows "
               "only the table FAILs, quoting bLIP-50.\n")
    out.append("- **Still stricter than this table (open):** lsps-core's typed decoding of a "
               "reply (the `lsps-core:` findings of `lsps0.wire.schema-valid`) rejects integers "
               "beyond their type (e.g. 70000 in a `<uint16>` field) and is not yet graded the "
               "same way.\n")
    out.append("| schema | pointer | constraint | value | keyword | source | sentence | runner |")
    out.append("|---|---|---|---|---|---|---|---|")
    missing = []
    for name, pointer, key, value in constraints():
        for file_re, ptr_re, key_re, sentence, runner in RULES:
            if re.search(file_re, name) and re.search(ptr_re, pointer) and re.fullmatch(key_re, key):
                source, keyword, text = S[sentence]
                text = text.replace("|", "\\|")
                out.append(f"| `{name}` | `{pointer}` | `{key}` | `{short(value)}` | {keyword} | {source} | {text} | {runner} |")
                break
        else:
            missing.append((name, pointer, key))
    if missing:
        raise SystemExit(f"no rule for {missing}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
