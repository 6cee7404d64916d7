//! "Will this client work with you?": what known LSPS clients do that a conforming LSP may
//! still trip over, judged from what the LSP sent during the run. Interop findings never change
//! a verdict; they are advice beside the report. The client behaviours are summarised, with
//! their sources, in `docs/interop.md`.

use crate::report::{Direction, Report};
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// How long each known client waits for a reply before it gives the LSP up (bLIP-50 asks for
/// "the scale of minutes").
pub const CLIENT_TIMEOUTS: &[(&str, Duration)] = &[
    ("ldk-node (5 s)", Duration::from_secs(5)),
    ("ZEUS (7 s)", Duration::from_secs(7)),
    (
        "Core Lightning lsps-plugin client (60 s)",
        Duration::from_secs(60),
    ),
];

/// One interop finding: a client and why it would (or would not) work with the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The client (wallet, SDK or library).
    pub client: String,
    /// `ok` or `problem`.
    pub outcome: String,
    /// What in the LSP's answers decides it, and what the client does with it.
    pub reason: String,
}

fn problem(client: &str, reason: String) -> Finding {
    Finding {
        client: client.to_owned(),
        outcome: "problem".into(),
        reason,
    }
}

/// Every message the target sent during the run, parsed.
fn received(report: &Report) -> Vec<Value> {
    report
        .cases
        .iter()
        .flat_map(|c| c.transcript.iter())
        .filter(|t| t.dir == Direction::Received)
        .filter_map(|t| serde_json::from_str(&t.payload).ok())
        .collect()
}

fn walk<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key {
                    out.push(v);
                }
                walk(v, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, key, out)),
        _ => {}
    }
}

/// The interop findings of a run.
pub fn findings(report: &Report) -> Vec<Finding> {
    let messages = received(report);
    let mut out = Vec::new();

    // Replies slower than a client's timeout.
    if let Some(slow) = report
        .cases
        .iter()
        .find(|c| c.id == "lsps0.latency.replies-within-5s" && c.verdict == Verdict::Warn)
    {
        let slowest_ms = slow
            .message
            .lines()
            .filter_map(|l| {
                l.rsplit_once(" took ")
                    .and_then(|(_, ms)| ms.strip_suffix(" ms"))
            })
            .filter_map(|ms| ms.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        for (client, limit) in CLIENT_TIMEOUTS {
            if Duration::from_millis(slowest_ms) > *limit {
                out.push(problem(
                    client,
                    format!(
                        "a reply took {slowest_ms} ms; this client gives up after {} s and treats the LSP as unavailable",
                        limit.as_secs()
                    ),
                ));
            }
        }
    }

    // error.data as an object (as the bLIPs define it) vs LDK's string.
    let errors: Vec<&Value> = messages.iter().filter_map(|m| m.get("error")).collect();
    if errors
        .iter()
        .any(|e| e.get("data").is_some_and(Value::is_object))
    {
        out.push(problem(
            "ldk-node / lightning-liquidity 0.2 (client)",
            "error replies carry `data` as an object (as bLIP-50/51 define it); LDK reads `data` as a string, fails to parse the whole reply, answers -32700 and ignores the LSP until it reconnects, so the user sees a timeout instead of the error".into(),
        ));
    }
    let create_order_errors_without_message = messages.iter().any(|m| {
        m.get("error").is_some_and(|e| {
            matches!(
                e.get("code").and_then(Value::as_i64),
                Some(1 | 100 | -32602)
            ) && !e
                .get("data")
                .and_then(|d| d.get("message"))
                .is_some_and(Value::is_string)
        })
    });
    if create_order_errors_without_message {
        out.push(problem(
            "ZEUS",
            "an error of code 1, 100 or -32602 has no `data.message`; ZEUS shows `error.data.message` for create_order errors, so its user sees an empty reason".into(),
        ));
    }

    // Datetimes with other than 3 fractional digits.
    let mut datetimes = Vec::new();
    for m in &messages {
        if let Some(result) = m.get("result") {
            for key in ["valid_until", "created_at", "expires_at", "funded_at"] {
                walk(result, key, &mut datetimes);
            }
        }
    }
    if let Some(odd) = datetimes.iter().filter_map(|v| v.as_str()).find(|s| {
        lsps_core::types::Datetime::parse(s, lsps_core::types::DatetimeMode::Strict).is_err()
    }) {
        out.push(problem(
            "strict readers (Blockstream cln-lsps; Go layout parsers)",
            format!(
                "datetime {odd:?} is not exactly YYYY-MM-DDThh:mm:ss.sssZ; strict clients reject the whole reply"
            ),
        ));
    }

    // `token: null` in an order (LDK writes it; strict clients reject it).
    let mut tokens = Vec::new();
    for m in &messages {
        if let Some(result) = m.get("result")
            && result.get("order_id").is_some()
        {
            walk(result, "token", &mut tokens);
        }
    }
    if tokens.iter().any(|t| t.is_null()) {
        out.push(problem(
            "strict LSPS1 clients (Blockstream lsp-primitives)",
            "an order mirrors `token` as null; bLIP-51 says \"\" when none was given, and clients that type it as a string fail to parse the order".into(),
        ));
    }

    // `token: null` in a request (LDK's client sends it): an LSP that rejects it locks LDK
    // wallets out.
    for (case_id, what) in [
        ("lsps2.get-info.null-token.accepted", "lsps2.get_info"),
        (
            "lsps1.create-order.null-token.accepted",
            "lsps1.create_order",
        ),
    ] {
        if report
            .cases
            .iter()
            .any(|c| c.id == case_id && c.verdict == Verdict::Warn)
        {
            out.push(problem(
                "ldk-node / lightning-liquidity 0.2 (client)",
                format!(
                    "`{what}` with `\"token\": null` is rejected; LDK's client sends `token: null` when it has no token, so LDK-based wallets cannot use this LSP without one"
                ),
            ));
        }
    }

    // LSPS1 payment state HOLD: LDK 0.2 clients have no such state.
    let mut states = Vec::new();
    for m in &messages {
        if let Some(result) = m.get("result") {
            walk(result, "state", &mut states);
        }
    }
    if states.iter().any(|s| s.as_str() == Some("HOLD")) {
        out.push(problem(
            "ldk-node ≤ 0.7 (lightning-liquidity 0.2 LSPS1 client)",
            "an order reports payment state HOLD, which the 0.2 client does not know: it fails the whole get_order reply".into(),
        ));
    }

    // Extra fields in opening_fee_params: CLN rejects the menu, LDK drops them before buy.
    let mut menus = Vec::new();
    for m in &messages {
        if let Some(result) = m.get("result") {
            walk(result, "opening_fee_params_menu", &mut menus);
        }
    }
    let extra_fields = menus
        .iter()
        .filter_map(|m| m.as_array())
        .flatten()
        .any(|e| {
            e.as_object().is_some_and(|o| {
                o.keys()
                    .any(|k| !lsps_core::lsps2::OpeningFeeParams::FIELD_NAMES.contains(&k.as_str()))
            })
        });
    if extra_fields {
        out.push(problem(
            "Core Lightning lsps-plugin and ldk-node (clients)",
            "a menu entry has fields bLIP-52 does not define; CLN refuses the entry, LDK drops the fields and then fails the promise check at buy".into(),
        ));
    }

    let troubled: Vec<String> = out.iter().map(|f| f.client.clone()).collect();
    for client in [
        "ldk-node / lightning-liquidity 0.2 (client)",
        "ZEUS",
        "Core Lightning lsps-plugin client (60 s)",
    ] {
        if !troubled
            .iter()
            .any(|t| t.starts_with(client.split(' ').next().unwrap_or(client)))
            && !messages.is_empty()
        {
            out.push(Finding {
                client: client.to_owned(),
                outcome: "ok".into(),
                reason: "nothing the LSP sent in this run is known to trouble this client".into(),
            });
        }
    }
    out
}
