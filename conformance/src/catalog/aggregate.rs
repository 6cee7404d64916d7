//! Cases that judge what every other case observed: wire validation of every received message
//! (independent of the case that received it), replies slower than 5 s, and whether bad
//! messages got the peer muted.

use crate::case::{Case, Phase};
use crate::ctx::{Abort, CaseCtx, Served};
use crate::procedure;
use crate::verdict::Level;

/// Judges the wire findings tagged `rule`.
fn wire_rule(ctx: &CaseCtx, rules: &[&str]) -> Result<String, Abort> {
    let seen = ctx
        .shared
        .messages_validated
        .load(std::sync::atomic::Ordering::Relaxed);
    let findings: Vec<_> = ctx
        .shared
        .wire_findings
        .lock()
        .map(|f| {
            f.iter()
                .filter(|f| rules.contains(&f.rule))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if findings.is_empty() {
        return Ok(format!("{seen} received messages checked, no violation"));
    }
    let mut lines = vec![format!(
        "{} violation(s) in {seen} received messages:",
        findings.len()
    )];
    for f in findings.iter().take(8) {
        lines.push(format!(
            "[{}] {} in {}",
            f.case_id,
            clip(&f.problem),
            clip(&f.payload)
        ));
    }
    if findings.len() > 8 {
        lines.push(format!("... and {} more", findings.len() - 8));
    }
    Err(Abort::Violation(lines.join("\n")))
}

fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_owned();
    }
    let mut cut = 197;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &s[..cut])
}

async fn envelope(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["envelope"])
}
async fn error_data(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R22"])
}
async fn code_ranges(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R32"])
}
async fn amounts(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R49"])
}
async fn scids(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R53"])
}
async fn datetimes(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R58"])
}
async fn escapes(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R48"])
}
async fn client_rejected(ctx: CaseCtx) -> Result<String, Abort> {
    wire_rule(&ctx, &["LSPS0-R63"])
}
async fn schema(ctx: CaseCtx) -> Result<String, Abort> {
    let count = ctx.shared.schemas.len();
    if count == 0 {
        return Err(Abort::Error(
            "harness: no schema from spec/schemas is available".into(),
        ));
    }
    wire_rule(&ctx, &["schema"]).map(|m| format!("{m} ({count} schemas)"))
}

async fn schema_project_reading(ctx: CaseCtx) -> Result<String, Abort> {
    // The same findings as `schema`, but for constraints that are this project's reading:
    // a deviation is WARN (spec/schema-audit.md).
    match wire_rule(&ctx, &[crate::schema::PROJECT_READING]) {
        Ok(message) => Ok(message),
        Err(Abort::Violation(message)) => Err(Abort::Advisory(message)),
        Err(other) => Err(other),
    }
}

async fn slow(ctx: CaseCtx) -> Result<String, Abort> {
    let threshold = ctx.shared.slow;
    let slow = ctx
        .shared
        .slow_replies
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    if slow.is_empty() {
        return Ok(format!(
            "every reply arrived within {} ms",
            threshold.as_millis()
        ));
    }
    let lines: Vec<String> = slow
        .iter()
        .map(|s| {
            format!(
                "[{}] {} took {} ms",
                s.case_id,
                s.method,
                s.elapsed.as_millis()
            )
        })
        .collect();
    let slowest = slow.iter().map(|s| s.elapsed).max().unwrap_or_default();
    let gives_up: Vec<&str> = crate::interop::CLIENT_TIMEOUTS
        .iter()
        .filter(|(_, limit)| slowest > *limit)
        .map(|(client, _)| *client)
        .collect();
    let who = if gives_up.is_empty() {
        String::new()
    } else {
        format!(" ({} give up earlier)", gives_up.join(", "))
    };
    // Interop, not a MUST: the bLIP asks clients to wait minutes.
    Err(Abort::Advisory(format!(
        "{} replies slower than {} ms{who}:\n{}",
        slow.len(),
        threshold.as_millis(),
        lines.join("\n")
    )))
}

async fn still_served(ctx: CaseCtx) -> Result<String, Abort> {
    if !ctx.shared.target.is_session_oriented() {
        return Err(Abort::Precondition(
            "the transport has no session that could be muted (HTTP)".into(),
        ));
    }
    let followups = ctx
        .shared
        .followups
        .lock()
        .map(|f| f.clone())
        .unwrap_or_default();
    if followups.is_empty() {
        return Err(Abort::Precondition(
            "no bad message was sent (its cases were filtered out)".into(),
        ));
    }
    let bad: Vec<String> = followups
        .iter()
        .filter(|(_, s)| *s != Served::Yes)
        .map(|(case, s)| {
            let what = match s {
                Served::Muted => "muted (the follow-up list_protocols got no reply)".to_owned(),
                Served::Closed => "closed".to_owned(),
                Served::Other(o) => format!("answered the follow-up with {o}"),
                Served::Yes => String::new(),
            };
            format!("[{case}] {what}")
        })
        .collect();
    if bad.is_empty() {
        return Ok(format!(
            "the connection was still served after all {} bad messages",
            followups.len()
        ));
    }
    Err(Abort::Violation(format!(
        "after {} of {} bad messages the connection was no longer served:\n{}",
        bad.len(),
        followups.len(),
        bad.join("\n")
    )))
}

/// Aggregate cases (run last).
pub(super) static CASES: &[Case] = &[
    Case {
        id: "lsps0.bad-message.connection-still-served",
        requirements: &["LSPS0-R11"],
        level: Level::Must,
        applies_to: 0,
        summary: "after a bad message the LSP ignores that message, not the peer",
        sends: "(every negative case) a follow-up lsps0.list_protocols on the same connection",
        passes_when: "every follow-up gets a result (no muting, no disconnect)",
        phase: Phase::Aggregate,
        procedure: procedure!(still_served),
    },
    Case {
        id: "lsps0.wire.envelope-valid",
        requirements: &[
            "LSPS0-R7",
            "LSPS0-R17",
            "LSPS0-R18",
            "LSPS0-R24",
            "LSPS0-R64",
            "LSPS0-R65",
        ],
        level: Level::Must,
        applies_to: 0,
        summary: "every message from the LSP is a single JSON-RPC 2.0 response or notification",
        sends: "(checks every message received during the run)",
        passes_when: "jsonrpc \"2.0\"; id + exactly one of result/error; result an object; error {code:int, message:string}; a string id echoes a request sent on that connection",
        phase: Phase::Aggregate,
        procedure: procedure!(envelope),
    },
    Case {
        id: "lsps0.wire.error-data-is-object",
        requirements: &["LSPS0-R22"],
        level: Level::Must,
        applies_to: 0,
        summary: "error.data, when present, is a JSON object",
        sends: "(checks every error received during the run)",
        passes_when: "no error.data that is a string, null, number or array",
        phase: Phase::Aggregate,
        procedure: procedure!(error_data),
    },
    Case {
        id: "lsps0.wire.error-codes-in-range",
        requirements: &["LSPS0-R32"],
        level: Level::Should,
        applies_to: 0,
        summary: "error codes of lsps<N> methods are JSON-RPC codes, 1, or in 100N..100N+99",
        sends: "(checks every error received during the run)",
        passes_when: "every code is in range (-31999..-1 included: free for applications); another code is WARN",
        phase: Phase::Aggregate,
        procedure: procedure!(code_ranges),
    },
    Case {
        id: "lsps0.wire.amounts-are-decimal-strings",
        requirements: &["LSPS0-R49"],
        level: Level::Must,
        applies_to: 0,
        summary: "every *_sat / *_msat value is a decimal string within u64",
        sends: "(checks every result received during the run)",
        passes_when: "no amount is a JSON number or a non-decimal string",
        phase: Phase::Aggregate,
        procedure: procedure!(amounts),
    },
    Case {
        id: "lsps0.wire.scids-well-formed",
        requirements: &["LSPS0-R53"],
        level: Level::Must,
        applies_to: 0,
        summary: "every SCID is BBBxTTTxOOO with lowercase x, within bounds",
        sends: "(checks every result received during the run)",
        passes_when: "every jit_channel_scid parses as LSPS0.scid",
        phase: Phase::Aggregate,
        procedure: procedure!(scids),
    },
    Case {
        id: "lsps0.wire.datetimes-strict",
        requirements: &["LSPS0-R58"],
        level: Level::Must,
        applies_to: 0,
        summary: "every datetime is YYYY-MM-DDThh:mm:ss.sssZ",
        sends: "(checks every result received during the run)",
        passes_when: "created_at, expires_at, funded_at and valid_until parse in strict mode",
        phase: Phase::Aggregate,
        procedure: procedure!(datetimes),
    },
    Case {
        id: "lsps0.wire.no-gratuitous-escapes",
        requirements: &["LSPS0-R48"],
        level: Level::Must,
        applies_to: 0,
        summary: "printable ASCII is written directly, never as \\u00XX",
        sends: "(scans the raw bytes of every message received during the run)",
        passes_when: "no \\u0020..\\u007e escape other than \\u0022 and \\u005c",
        phase: Phase::Aggregate,
        procedure: procedure!(escapes),
    },
    Case {
        id: "lsps0.wire.client-rejected-shape",
        requirements: &["LSPS0-R63", "LSPS1-R27"],
        level: Level::Should,
        applies_to: 0,
        summary: "a client_rejected (code 1) error carries data {\"message\": string}",
        sends: "(checks every error received during the run)",
        passes_when: "every code-1 error has data.message as a string (none seen passes; otherwise WARN)",
        phase: Phase::Aggregate,
        procedure: procedure!(client_rejected),
    },
    Case {
        id: "lsps0.wire.schema-valid",
        requirements: &[
            "LSPS0-R10",
            "LSPS0-R22",
            "LSPS0-R41",
            "LSPS0-R42",
            "LSPS0-R49",
            "LSPS0-R51",
            "LSPS0-R52",
            "LSPS0-R53",
            "LSPS0-R54",
            "LSPS0-R58",
            "LSPS0-R60",
            "LSPS0-R61",
            "LSPS0-R62",
            "LSPS1-R4",
            "LSPS1-R19",
            "LSPS1-R21",
            "LSPS1-R36",
            "LSPS2-R4",
            "LSPS2-R5",
            "LSPS2-R12",
            "LSPS2-R34",
        ],
        level: Level::Must,
        applies_to: 0,
        summary: "every result validates against its JSON Schema in spec/schemas",
        sends: "(checks every result and error.data received during the run)",
        passes_when: "no schema violation",
        phase: Phase::Aggregate,
        procedure: procedure!(schema),
    },
    Case {
        id: "lsps0.wire.schema-project-reading",
        requirements: &[],
        level: Level::Should,
        applies_to: 0,
        summary: "every result also meets the schema constraints that are this project's reading (canonical amounts within u64, integer bounds from type names)",
        sends: "(checks every result and error.data received during the run)",
        passes_when: "no such deviation (a deviation is WARN: spec/schema-audit.md names the constraints)",
        phase: Phase::Aggregate,
        procedure: procedure!(schema_project_reading),
    },
    Case {
        id: "lsps0.latency.replies-within-5s",
        requirements: &[],
        level: Level::Should,
        applies_to: 0,
        summary: "interop: every reply arrives within 5 s (ldk-node's client gives up after 5 s)",
        sends: "(times every request of the run)",
        passes_when: "no reply took longer than 5 s",
        phase: Phase::Aggregate,
        procedure: procedure!(slow),
    },
];
