//! LSPS0 (bLIP-50) cases: transport, envelope, bad input, `lsps0.list_protocols`.

use super::{
    bad_payload, call_result, expect_any_error, expect_error, expect_parse_error, expect_result,
    short,
};
use crate::case::{Case, Phase};
use crate::code;
use crate::ctx::{Abort, CaseCtx, ErrorReply, Incoming, fresh_id};
use crate::procedure;
use crate::verdict::Level;
use serde_json::{Value, json};

fn list_request(id: &str) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"lsps0.list_protocols","params":{}}).to_string()
}

async fn list_protocols_answers(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let result = call_result(&mut conn, "lsps0.list_protocols", json!({})).await?;
    // The shape is a definition without a keyword: another shape is WARN.
    let parsed: lsps_core::lsps0::ListProtocolsResult = serde_json::from_value(result.clone())
        .map_err(|e| {
            Abort::Advisory(format!(
                "result {} is not {{\"protocols\": [integers]}}: {e}",
                short(&result)
            ))
        })?;
    Ok(format!("protocols {:?}", parsed.protocols))
}

async fn list_protocols_excludes_zero(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let result = call_result(&mut conn, "lsps0.list_protocols", json!({})).await?;
    let list = result
        .get("protocols")
        .and_then(Value::as_array)
        .ok_or_else(|| Abort::Precondition("no `protocols` array".into()))?;
    if list.iter().any(|p| p.as_u64() == Some(0)) {
        return Err(Abort::Violation(format!(
            "`protocols` lists 0: {}",
            short(&result)
        )));
    }
    Ok("0 is not listed".into())
}

async fn advertised_answer_get_info(ctx: CaseCtx) -> Result<String, Abort> {
    let advertised: Vec<u16> = ctx
        .probe()
        .protocols
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| *n == 1 || *n == 2)
        .collect();
    if advertised.is_empty() {
        return Err(Abort::Precondition(
            "neither LSPS1 nor LSPS2 is advertised".into(),
        ));
    }
    let mut conn = ctx.connect().await?;
    for n in &advertised {
        let method = format!("lsps{n}.get_info");
        let reply = conn.call(&method, json!({})).await.map_err(|e| match e {
            Abort::Timeout(m) => Abort::Violation(format!("LSPS{n} is advertised but {m}")),
            other => other,
        })?;
        expect_result(&format!("LSPS{n} is advertised but {method}"), reply)?;
    }
    Ok(format!("get_info answered for LSPS{advertised:?}"))
}

async fn unadvertised_gets_32601(ctx: CaseCtx) -> Result<String, Abort> {
    let candidates = [
        (1u16, "lsps1.get_info"),
        (2, "lsps2.get_info"),
        (5, "lsps5.list_webhooks"),
    ];
    let unlisted: Vec<_> = candidates
        .iter()
        .filter(|(n, _)| !ctx.probe().advertises(*n))
        .collect();
    if unlisted.is_empty() {
        return Err(Abort::Precondition(
            "LSPS1, LSPS2 and LSPS5 are all advertised".into(),
        ));
    }
    let mut seen = Vec::new();
    for (_, method) in unlisted {
        let mut conn = ctx.connect().await?;
        let id = conn.send_request(method, json!({}))?;
        let reply = conn.reply_to(&id, method).await?;
        expect_32601_echoing(&format!("{method} of an unadvertised protocol"), reply, &id)?;
        let _ = conn.followup().await;
        seen.push(*method);
    }
    Ok(format!("-32601 for {}", seen.join(", ")))
}

/// -32601 (method not found) that echoes the request id `id`.
fn expect_32601_echoing(what: &str, reply: Incoming, id: &str) -> Result<(), Abort> {
    let (got_id, _) = expect_error(what, reply, &[code::METHOD_NOT_FOUND])?;
    if got_id.as_str() != Some(id) {
        return Err(Abort::Violation(format!(
            "-32601 must echo the request id {id:?}, got {got_id}"
        )));
    }
    Ok(())
}

async fn unknown_method_gets_32601(ctx: CaseCtx) -> Result<String, Abort> {
    for method in ["lsps0.zz_nope", "lsps999.do_this", "foo"] {
        let mut conn = ctx.connect().await?;
        let id = fresh_id();
        let payload = json!({"jsonrpc":"2.0","id":id,"method":method,"params":{}}).to_string();
        let reply = bad_payload(&mut conn, payload.as_bytes()).await?;
        expect_32601_echoing(&format!("unknown method {method}"), reply, &id)?;
    }
    Ok("-32601 with the id echoed for lsps0.zz_nope, lsps999.do_this, foo".into())
}

async fn unknown_param_gets_32602(ctx: CaseCtx) -> Result<String, Abort> {
    unknown_param(ctx, "lsps0.list_protocols", json!({"zz_unknown": 1})).await
}

/// Sends `method` with an extra param `zz_unknown` and expects -32602 naming it in
/// `data.unrecognized` (LSPS0-R44, LSPS0-R31).
pub(super) async fn unknown_param(
    ctx: CaseCtx,
    method: &str,
    params: Value,
) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let id = fresh_id();
    let payload = json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string();
    let reply = bad_payload(&mut conn, payload.as_bytes()).await?;
    let (_, error) = expect_error(
        &format!("{method} with an unknown param"),
        reply,
        &[code::INVALID_PARAMS],
    )?;
    names_unrecognized(&error)
}

/// A -32602 answer to a request with the extra param `zz_unknown`: its `data.unrecognized`
/// must name it.
pub(super) fn names_unrecognized(error: &ErrorReply) -> Result<String, Abort> {
    let names: Vec<&str> = error
        .data
        .as_ref()
        .and_then(|d| d.get("unrecognized"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .ok_or_else(|| {
            Abort::Violation(format!(
                "-32602 without data.unrecognized (data: {})",
                error
                    .data
                    .as_ref()
                    .map(short)
                    .unwrap_or_else(|| "absent".into())
            ))
        })?;
    if !names.contains(&"zz_unknown") {
        return Err(Abort::Violation(format!(
            "data.unrecognized is {names:?}, it does not name zz_unknown"
        )));
    }
    Ok(format!("-32602 with data.unrecognized {names:?}"))
}

async fn whitespace_accepted(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let id = fresh_id();
    conn.send_raw(format!(" \t\r\n{}\n\t \r", list_request(&id)))?;
    expect_result(
        "a request padded with whitespace",
        conn.reply_to(&id, "lsps0.list_protocols").await?,
    )?;
    Ok("answered normally".into())
}

/// One bad-message-format class: send `payload`, expect -32700 with id null.
macro_rules! bad_format_case {
    ($fn_name:ident, $payload:expr) => {
        async fn $fn_name(ctx: CaseCtx) -> Result<String, Abort> {
            let mut conn = ctx.connect().await?;
            let id = fresh_id();
            let payload: Vec<u8> = $payload(&id);
            expect_parse_error(bad_payload(&mut conn, &payload).await?)
        }
    };
}

bad_format_case!(bad_array, |_: &str| b"[1,2,3]".to_vec());
bad_format_case!(bad_batch, |id: &str| format!("[{}]", list_request(id))
    .into_bytes());
bad_format_case!(bad_string, |_: &str| br#""{""#.to_vec());
bad_format_case!(bad_number, |_: &str| b"42".to_vec());
bad_format_case!(bad_truncated, |id: &str| {
    let full = list_request(id);
    full.as_bytes()[..full.len() - 12].to_vec()
});
bad_format_case!(bad_empty, |_: &str| Vec::new());
bad_format_case!(bad_trailing, |id: &str| format!("{} x", list_request(id))
    .into_bytes());
bad_format_case!(bad_nul_appended, |id: &str| {
    let mut v = list_request(id).into_bytes();
    v.push(0);
    v
});
bad_format_case!(bad_nul_in_string, |id: &str| {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":\"{id}\",\"method\":\"lsps0.list_protocols\",\"params\":{{\"x\":\"a\u{0}b\"}}}}")
        .into_bytes()
});
bad_format_case!(bad_invalid_utf8, |id: &str| {
    let mut v = format!("{{\"jsonrpc\":\"2.0\",\"id\":\"{id}").into_bytes();
    v.extend_from_slice(&[0xff, 0xfe]);
    v.extend_from_slice(b"\",\"method\":\"lsps0.list_protocols\",\"params\":{}}");
    v
});

async fn bad_two_objects(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let id = fresh_id();
    let payload = format!("{}{{}}", list_request(&id));
    let reply = bad_payload(&mut conn, payload.as_bytes()).await?;
    if let Incoming::Result { .. } = reply {
        return Err(Abort::Violation(
            "the first of two JSON objects was answered; the payload must be rejected as a whole"
                .into(),
        ));
    }
    expect_parse_error(reply)
}

/// An object that is not a request: -32700 (LSPS0) or -32600 (JSON-RPC); both are accepted
/// (spec-catalog §7.1 #1) and the message says which.
macro_rules! not_request_case {
    ($fn_name:ident, $payload:expr) => {
        async fn $fn_name(ctx: CaseCtx) -> Result<String, Abort> {
            let mut conn = ctx.connect().await?;
            let id = fresh_id();
            let payload: String = $payload(&id);
            let reply = bad_payload(&mut conn, payload.as_bytes()).await?;
            let (got_id, error) = expect_error(
                "an object that is not a request",
                reply,
                &[code::PARSE_ERROR, code::INVALID_REQUEST],
            )?;
            if error.code == Some(code::PARSE_ERROR) && got_id != Value::Null {
                return Err(Abort::Violation(format!(
                    "-32700 must carry \"id\": null, got \"id\": {got_id}"
                )));
            }
            Ok(format!("rejected with {}", error.describe()))
        }
    };
}

not_request_case!(not_request_response, |id: &str| {
    json!({"jsonrpc":"2.0","id":id,"result":{}}).to_string()
});
not_request_case!(not_request_no_jsonrpc, |id: &str| {
    json!({"id":id,"method":"lsps0.list_protocols","params":{}}).to_string()
});
not_request_case!(not_request_wrong_jsonrpc, |id: &str| {
    json!({"jsonrpc":"1.0","id":id,"method":"lsps0.list_protocols","params":{}}).to_string()
});
not_request_case!(not_request_method_number, |id: &str| {
    json!({"jsonrpc":"2.0","id":id,"method":5,"params":{}}).to_string()
});

async fn pipelined(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let ids: Vec<String> = (0..5)
        .map(|_| conn.send_request("lsps0.list_protocols", json!({})))
        .collect::<Result<_, _>>()?;
    let mut missing: Vec<String> = ids.clone();
    while !missing.is_empty() {
        match conn.recv().await {
            // An error answers too (e.g. code 1 from a rate limit): what is checked is that
            // every request gets its reply.
            crate::ctx::Recv::Message(Incoming::Result { id, .. } | Incoming::Error { id, .. }) => {
                missing.retain(|m| Some(m.as_str()) != id.as_str());
            }
            crate::ctx::Recv::Message(_) => {}
            crate::ctx::Recv::Timeout => {
                return Err(Abort::Violation(format!(
                    "{} of 5 pipelined requests were not answered",
                    missing.len()
                )));
            }
            crate::ctx::Recv::Closed => {
                return Err(Abort::Violation("connection closed".into()));
            }
        }
    }
    Ok("5 pipelined requests answered, matched by id".into())
}

async fn amount_overflow(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = call_result(&mut conn, "lsps2.get_info", json!({})).await?;
    let entry = menu
        .get("opening_fee_params_menu")
        .and_then(|m| m.get(0))
        .cloned()
        .ok_or_else(|| Abort::Precondition("the LSPS2 fee menu is empty".into()))?;
    let reply = conn
        .call(
            "lsps2.buy",
            json!({"opening_fee_params": entry, "payment_size_msat": "18446744073709551616"}),
        )
        .await?;
    let error = expect_any_error("lsps2.buy with payment_size_msat = 2^64", reply)?;
    match conn.followup().await {
        crate::ctx::Served::Yes => Ok(format!("clean {}; still served", error.describe())),
        other => Err(Abort::Violation(format!(
            "answered {} but then the connection is {other:?}",
            error.describe()
        ))),
    }
}

async fn nothing_unsolicited(ctx: CaseCtx) -> Result<String, Abort> {
    if !ctx.shared.target.is_session_oriented() {
        return Err(Abort::Precondition(
            "the transport cannot carry a message the runner did not ask for (HTTP)".into(),
        ));
    }
    let mut conn = ctx.connect().await?;
    // A fresh peer that has sent nothing yet: whatever arrives in this window is unsolicited.
    let window = std::time::Duration::from_millis(500).min(ctx.timeout());
    let unsolicited = conn.drain(window).await;
    if !unsolicited.is_empty() {
        return Err(Abort::Violation(format!(
            "{} message(s) arrived before the runner sent any 37913 message",
            unsolicited.len()
        )));
    }
    Ok(format!(
        "nothing arrived in the first {} ms of a fresh connection",
        window.as_millis()
    ))
}

/// LSPS0 cases.
pub(super) static CASES: &[Case] = &[
    Case {
        id: "lsps0.nothing-unsolicited",
        requirements: &["LSPS0-R19"],
        level: Level::Should,
        applies_to: 0,
        summary: "the LSP sends no 37913 message to a peer that has not sent one",
        sends: "nothing: opens a fresh connection and listens for 500 ms",
        passes_when: "no message arrives (one that does is WARN)",
        phase: Phase::Exchange,
        procedure: procedure!(nothing_unsolicited),
    },
    Case {
        id: "lsps0.list-protocols.answers",
        requirements: &["LSPS0-R1", "LSPS0-R40", "LSPS0-R41"],
        level: Level::Must,
        applies_to: 0,
        summary: "lsps0.list_protocols is answered (on message type 37913 over BOLT8) with {\"protocols\": [integers]}",
        sends: "lsps0.list_protocols {}",
        passes_when: "a result whose `protocols` is an array of integers",
        phase: Phase::Exchange,
        procedure: procedure!(list_protocols_answers),
    },
    Case {
        id: "lsps0.list-protocols.excludes-0",
        requirements: &["LSPS0-R42"],
        level: Level::Must,
        applies_to: 0,
        summary: "lsps0.list_protocols does not list 0",
        sends: "lsps0.list_protocols {}",
        passes_when: "`protocols` does not contain 0",
        phase: Phase::Exchange,
        procedure: procedure!(list_protocols_excludes_zero),
    },
    Case {
        id: "lsps0.list-protocols.advertised-answer-get-info",
        requirements: &["LSPS0-R43"],
        level: Level::Must,
        applies_to: 0,
        summary: "every advertised LSPS1/LSPS2 answers its get_info (advertised but broken is a headline failure)",
        sends: "lsps1.get_info {} and/or lsps2.get_info {} for each advertised protocol",
        passes_when: "each returns a result",
        phase: Phase::Exchange,
        procedure: procedure!(advertised_answer_get_info),
    },
    Case {
        id: "lsps0.unadvertised-protocol.gets-32601",
        requirements: &["LSPS0-R43", "LSPS0-R45"],
        level: Level::Should,
        applies_to: 0,
        summary: "methods of protocols that are not advertised are unknown methods",
        sends: "lsps1.get_info / lsps2.get_info / lsps5.list_webhooks for each protocol not listed, each on a fresh connection",
        passes_when: "-32601 with the request id echoed; another answer is WARN (the LSP may recognise the method), no reply TIMEOUT, code 1 SKIP",
        phase: Phase::Exchange,
        procedure: procedure!(unadvertised_gets_32601),
    },
    Case {
        id: "lsps0.unknown-method.gets-32601",
        requirements: &["LSPS0-R45"],
        level: Level::Must,
        applies_to: 0,
        summary: "an unknown method gets -32601 Method not found",
        sends: "lsps0.zz_nope, lsps999.do_this and foo, each on a fresh connection",
        passes_when: "-32601 with the request id echoed, each time",
        phase: Phase::Exchange,
        procedure: procedure!(unknown_method_gets_32601),
    },
    Case {
        id: "lsps0.list-protocols.unknown-param.gets-32602",
        requirements: &["LSPS0-R44", "LSPS0-R31"],
        level: Level::Must,
        applies_to: 0,
        summary: "an unknown param gets -32602 with data.unrecognized",
        sends: "lsps0.list_protocols {\"zz_unknown\": 1}",
        passes_when: "-32602 whose data.unrecognized contains \"zz_unknown\"",
        phase: Phase::Exchange,
        procedure: procedure!(unknown_param_gets_32602),
    },
    Case {
        id: "lsps0.whitespace-padding.accepted",
        requirements: &["LSPS0-R3"],
        level: Level::Must,
        applies_to: 0,
        summary: "whitespace around the JSON object is allowed",
        sends: "lsps0.list_protocols padded with space, tab, CR and LF on both sides",
        passes_when: "a normal result",
        phase: Phase::Exchange,
        procedure: procedure!(whitespace_accepted),
    },
    Case {
        id: "lsps0.bad-format.array.gets-32700",
        requirements: &["LSPS0-R3", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "a JSON array is a bad message format",
        sends: "[1,2,3]",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_array),
    },
    Case {
        id: "lsps0.bad-format.batch.gets-32700",
        requirements: &["LSPS0-R16", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "a JSON-RPC batch (array of requests) is a bad message format",
        sends: "[{lsps0.list_protocols request}]",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_batch),
    },
    Case {
        id: "lsps0.bad-format.scalar-string.gets-32700",
        requirements: &["LSPS0-R3", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "a JSON string is a bad message format",
        sends: "\"{\"",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_string),
    },
    Case {
        id: "lsps0.bad-format.scalar-number.gets-32700",
        requirements: &["LSPS0-R3", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "a JSON number is a bad message format",
        sends: "42",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_number),
    },
    Case {
        id: "lsps0.bad-format.truncated.gets-32700",
        requirements: &["LSPS0-R3", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "truncated JSON is a bad message format",
        sends: "a list_protocols request cut 12 bytes short",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_truncated),
    },
    Case {
        id: "lsps0.bad-format.empty.gets-32700",
        requirements: &["LSPS0-R3", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "an empty payload is a bad message format",
        sends: "a 37913 message with no payload",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_empty),
    },
    Case {
        id: "lsps0.bad-format.two-objects.gets-32700",
        requirements: &["LSPS0-R4", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "two JSON values in one payload are a bad message format",
        sends: "{list_protocols request}{}",
        passes_when: "-32700 with \"id\": null, and no result for the first object",
        phase: Phase::Exchange,
        procedure: procedure!(bad_two_objects),
    },
    Case {
        id: "lsps0.bad-format.trailing-garbage.gets-32700",
        requirements: &["LSPS0-R4", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "non-whitespace after the object is a bad message format",
        sends: "{list_protocols request} x",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_trailing),
    },
    Case {
        id: "lsps0.bad-format.nul-appended.gets-32700",
        requirements: &["LSPS0-R5", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "a 0x00 byte after the object is a bad message format",
        sends: "{list_protocols request}\\x00",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_nul_appended),
    },
    Case {
        id: "lsps0.bad-format.nul-in-string.gets-32700",
        requirements: &["LSPS0-R5", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "a raw 0x00 byte inside a string is a bad message format",
        sends: "a list_protocols request with a raw NUL inside a param string",
        passes_when: "-32700 with \"id\": null",
        phase: Phase::Exchange,
        procedure: procedure!(bad_nul_in_string),
    },
    Case {
        id: "lsps0.bad-format.invalid-utf8.gets-32700",
        requirements: &["LSPS0-R3", "LSPS0-R10"],
        level: Level::Must,
        applies_to: 0,
        summary: "invalid UTF-8 is a bad message format",
        sends: "a list_protocols request whose id contains the bytes FF FE",
        passes_when: "-32700 with \"id\": null (closing the connection is a failure)",
        phase: Phase::Exchange,
        procedure: procedure!(bad_invalid_utf8),
    },
    Case {
        id: "lsps0.not-a-request.response-object.rejected",
        requirements: &["LSPS0-R6", "LSPS0-R18"],
        level: Level::Must,
        applies_to: 0,
        summary: "a response-shaped object sent to the LSP is rejected",
        sends: "{\"jsonrpc\":\"2.0\",\"id\":…,\"result\":{}}",
        passes_when: "-32700 with id null (LSPS0) or -32600 (JSON-RPC); the report says which",
        phase: Phase::Exchange,
        procedure: procedure!(not_request_response),
    },
    Case {
        id: "lsps0.not-a-request.missing-jsonrpc.rejected",
        requirements: &["LSPS0-R6", "LSPS0-R18"],
        level: Level::Must,
        applies_to: 0,
        summary: "a request without `jsonrpc` is not a JSON-RPC 2.0 request",
        sends: "lsps0.list_protocols without the jsonrpc member",
        passes_when: "-32700 with id null or -32600",
        phase: Phase::Exchange,
        procedure: procedure!(not_request_no_jsonrpc),
    },
    Case {
        id: "lsps0.not-a-request.wrong-jsonrpc.rejected",
        requirements: &["LSPS0-R6", "LSPS0-R18"],
        level: Level::Must,
        applies_to: 0,
        summary: "`jsonrpc` other than \"2.0\" is not a JSON-RPC 2.0 request",
        sends: "lsps0.list_protocols with \"jsonrpc\":\"1.0\"",
        passes_when: "-32700 with id null or -32600",
        phase: Phase::Exchange,
        procedure: procedure!(not_request_wrong_jsonrpc),
    },
    Case {
        id: "lsps0.not-a-request.method-not-string.rejected",
        requirements: &["LSPS0-R6", "LSPS0-R18"],
        level: Level::Must,
        applies_to: 0,
        summary: "a non-string `method` is not a JSON-RPC request",
        sends: "{\"jsonrpc\":\"2.0\",\"id\":…,\"method\":5,\"params\":{}}",
        passes_when: "-32700 with id null or -32600",
        phase: Phase::Exchange,
        procedure: procedure!(not_request_method_number),
    },
    Case {
        id: "lsps0.pipelined.all-answered",
        requirements: &["LSPS0-R20"],
        level: Level::May,
        applies_to: 0,
        summary: "pipelined requests are all answered (in any order)",
        sends: "5 lsps0.list_protocols requests without waiting",
        passes_when: "5 replies (results or errors), matched by id, in any order",
        phase: Phase::Exchange,
        procedure: procedure!(pipelined),
    },
    Case {
        id: "lsps0.amount-overflow.clean-error",
        requirements: &["LSPS0-R50", "LSPS0-R11"],
        level: Level::Should,
        applies_to: 2,
        summary: "an amount above u64 gets a clean error and the peer is still served",
        sends: "lsps2.buy with payment_size_msat \"18446744073709551616\", then lsps0.list_protocols",
        passes_when: "an error reply, then a normal list_protocols result",
        phase: Phase::Exchange,
        procedure: procedure!(amount_overflow),
    },
];
