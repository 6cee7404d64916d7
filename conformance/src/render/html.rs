//! A self-contained HTML page (inline CSS, no scripts); every text is escaped.

use crate::report::{Direction, Report};
use crate::verdict::Verdict;
use std::fmt::Write as _;

fn esc(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;\
vertical-align:top;text-align:left}code,pre{font-family:ui-monospace,monospace;font-size:90%}\
pre{white-space:pre-wrap;word-break:break-all;margin:0}.PASS{background:#e6f4ea}\
.FAIL,.TIMEOUT,.XPASS{background:#fce8e6}.WARN{background:#fef7e0}.ERROR{background:#f3e8fd}\
.XFAIL,.SKIP,.NA{background:#f1f3f4}.filter{margin:.5em 0}.filter label{margin-right:1em}\
#f-FAIL:checked~table.cases tr.case:not(.FAIL):not(.TIMEOUT):not(.XPASS),\
#f-WARN:checked~table.cases tr.case:not(.WARN),\
#f-SKIP:checked~table.cases tr.case:not(.SKIP):not(.NA),\
#f-PASS:checked~table.cases tr.case:not(.PASS){display:none}";

/// Renders the report as one HTML document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let target = report.target.name();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>LSPS conformance: {}</title><style>{STYLE}</style></head><body>\n",
        esc(target)
    );
    let _ = writeln!(out, "<h1>LSPS conformance report</h1>");
    let _ = writeln!(
        out,
        "<p>Target <code>{}</code> ({}), advertised protocols {}; spec {} @ <code>{}</code>; \
lsps-conformance {}; level {}{}.</p>",
        esc(target),
        esc(&report.target.transport),
        esc(&report
            .target
            .advertised_protocols
            .as_ref()
            .map(|p| format!("{p:?}"))
            .unwrap_or_else(|| "unknown".into())),
        esc(&report.spec.repository),
        esc(&report.spec.commit),
        esc(&report.runner_version),
        esc(&report.options.level),
        if report.options.strict {
            ", strict"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "<p><strong>{} passed, {} failed</strong></p>",
        report.passed(),
        report.failed()
    );
    let _ = write!(out, "<table><tr>");
    for v in Verdict::ALL {
        let _ = write!(out, "<th>{}</th>", esc(v.as_str()));
    }
    let _ = write!(out, "</tr><tr>");
    for v in Verdict::ALL {
        let _ = write!(out, "<td>{}</td>", report.summary.get(v));
    }
    let _ = writeln!(out, "</tr></table>");
    if !report.headline.is_empty() {
        let _ = writeln!(out, "<h2>Headline</h2><ul>");
        for line in &report.headline {
            let _ = writeln!(out, "<li>{}</li>", esc(line));
        }
        let _ = writeln!(out, "</ul>");
    }
    // Filter by verdict without scripts: radio buttons that are siblings of the table.
    let _ = writeln!(out, "<h2>Cases</h2><div class=\"filter\">");
    for (id, label) in [
        ("all", "all"),
        ("FAIL", "failures"),
        ("WARN", "warnings"),
        ("SKIP", "not run"),
        ("PASS", "passed"),
    ] {
        let checked = if id == "all" { " checked" } else { "" };
        let _ = write!(
            out,
            "<input type=\"radio\" name=\"filter\" id=\"f-{id}\"{checked}><label for=\"f-{id}\">{label}</label>"
        );
    }
    let _ = writeln!(out);
    // One table per LSPS, failures first inside each (the radio buttons above filter every
    // table: the tables are their later siblings).
    for (protocol, mut group) in report.by_protocol() {
        let summary = crate::report::Summary::of(group.iter().copied());
        let counts = summary.counts_text();
        let _ = writeln!(
            out,
            "<h3>{}</h3><p class=\"counts\">{}</p>",
            esc(&crate::report::protocol_title(&protocol)),
            esc(&counts)
        );
        let _ = writeln!(
            out,
            "<table class=\"cases\"><tr><th>case</th><th>level</th><th>requirements</th>\
<th>verdict</th><th>message and transcript</th></tr>"
        );
        group.sort_by_key(|c| !c.verdict.is_failure(report.options.strict));
        for c in group {
            case_row(&mut out, c);
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(out, "</div>");
    let interop = crate::interop::findings(report);
    if !interop.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Interop</h2><p>Will these clients work with you? (advice, not verdicts)</p><table><tr><th>client</th><th>outcome</th><th>reason</th></tr>"
        );
        for f in &interop {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.client),
                esc(&f.outcome),
                esc(&f.reason)
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}

/// One case as a table row: message, baseline, spec sentences, collapsible transcript.
fn case_row(out: &mut String, c: &crate::report::CaseReport) {
    let class = if c.verdict == Verdict::NotApplicable {
        "NA"
    } else {
        c.verdict.as_str()
    };
    let _ = write!(
        out,
        "<tr class=\"case {class}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}",
        esc(&c.id),
        c.level,
        esc(&c.requirements.join(", ")),
        esc(c.verdict.as_str()),
        esc(&c.message)
    );
    if let Some(e) = &c.expected {
        let _ = write!(
            out,
            "<br>baseline: {} ({})",
            esc(e.verdict.as_str()),
            esc(&e.reason)
        );
    }
    if c.verdict != Verdict::Pass {
        for b in super::spec_basis(c) {
            let _ = write!(
                out,
                "<br><a class=\"spec\" href=\"{}\">{}</a> {}",
                esc(&b.url()),
                esc(b.keyword.as_str()),
                esc(b.sentence)
            );
        }
    }
    if !c.transcript.is_empty() {
        let _ = write!(out, "<details><summary>transcript</summary><pre>");
        for entry in &c.transcript {
            let arrow = match entry.dir {
                Direction::Sent => "&gt;&gt;",
                Direction::Received => "&lt;&lt;",
                Direction::Event => "--",
            };
            let _ = writeln!(out, "[{}] {arrow} {}", entry.conn, esc(&entry.payload));
        }
        let _ = write!(out, "</pre></details>");
    }
    let _ = writeln!(out, "</td></tr>");
}
