//! Markdown report (for CI step summaries and issues).

use crate::report::Report;
use crate::verdict::Verdict;
use std::fmt::Write as _;

/// Text from the target made safe for a table cell: HTML-significant characters escaped first,
/// then line breaks turned into `<br>` (in that order, so the breaks still render).
fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "\\`")
        .replace("\r\n", "\n")
        .replace(['\n', '\r'], "<br>")
}

/// Renders the report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let target = report.target.name();
    let _ = writeln!(out, "# LSPS conformance report\n");
    let _ = writeln!(
        out,
        "- target: `{}` ({})\n- advertised protocols: {}\n- spec: {} @ `{}` ({})\n- runner: lsps-conformance {} (report schema {})\n- level: {}{}",
        target,
        report.target.transport,
        report
            .target
            .advertised_protocols
            .as_ref()
            .map(|p| format!("{p:?}"))
            .unwrap_or_else(|| "unknown".into()),
        report.spec.repository,
        report.spec.commit,
        report.spec.date,
        report.runner_version,
        report.schema_version,
        report.options.level,
        if report.options.strict {
            " (strict)"
        } else {
            ""
        },
    );
    if let Some(b) = &report.options.baseline {
        let _ = writeln!(out, "- baseline: `{b}`");
    }
    let _ = writeln!(
        out,
        "\n**{} passed, {} failed**\n",
        report.passed(),
        report.failed()
    );
    let groups = report.per_protocol();
    let _ = write!(out, "| verdict | all |");
    for (protocol, _) in &groups {
        let _ = write!(out, " {protocol} |");
    }
    let _ = writeln!(out, "\n|---|---|{}", "---|".repeat(groups.len()));
    for v in Verdict::ALL {
        let _ = write!(out, "| {} | {} |", v.as_str(), report.summary.get(v));
        for (_, summary) in &groups {
            let _ = write!(out, " {} |", summary.get(v));
        }
        let _ = writeln!(out);
    }
    let effects = report.side_effects();
    let _ = writeln!(
        out,
        "\nLeft on the target: {} LSPS1 order(s) (unpaid), {} LSPS2 buy(s) (SCIDs held until `valid_until`).",
        effects.orders, effects.buys
    );
    if !report.headline.is_empty() {
        let _ = writeln!(out, "\n## Headline\n");
        for line in &report.headline {
            let _ = writeln!(out, "- {}", cell(line));
        }
    }
    let failing: Vec<_> = report
        .cases
        .iter()
        .filter(|c| c.verdict.is_failure(report.options.strict) || c.verdict == Verdict::Warn)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n## Failures and warnings\n");
        let _ = writeln!(
            out,
            "| verdict | case | requirements | message | spec |\n|---|---|---|---|---|"
        );
        for c in failing {
            let spec: Vec<String> = super::spec_basis(c)
                .iter()
                .map(|b| format!("[{}]({}) {}", b.keyword.as_str(), b.url(), cell(b.sentence)))
                .collect();
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} |",
                c.verdict,
                c.id,
                c.requirements.join(", "),
                cell(&c.message),
                spec.join("<br>")
            );
        }
    }
    let interop = crate::interop::findings(report);
    if !interop.is_empty() {
        let _ = writeln!(
            out,
            "\n## Interop\n\nWill these clients work with you? (advice from the LSP's answers, not verdicts)\n\n| client | outcome | reason |\n|---|---|---|"
        );
        for f in &interop {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&f.client),
                f.outcome,
                cell(&f.reason)
            );
        }
    }
    // The body, one section per LSPS, failures first inside each.
    let strict = report.options.strict;
    for (protocol, mut group) in report.by_protocol() {
        let summary = crate::report::Summary::of(group.iter().copied());
        let counts = summary.counts_text();
        let _ = writeln!(
            out,
            "\n## {}\n\n{}\n",
            crate::report::protocol_title(&protocol),
            counts
        );
        group.sort_by_key(|c| (!c.verdict.is_failure(strict), c.verdict != Verdict::Warn));
        let _ = writeln!(
            out,
            "| case | level | requirements | verdict | message |\n|---|---|---|---|---|"
        );
        for c in group {
            let message = match &c.expected {
                Some(e) => format!("{} (baseline: {})", c.message, e.reason),
                None => c.message.clone(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                c.id,
                c.level,
                c.requirements.join(", "),
                c.verdict,
                cell(&message)
            );
        }
    }
    out
}
