//! Plain-text report: headline, then one block per LSPS (failures first, then warnings, errors,
//! expected failures, passes, cases not run), and the final line `N passed, N failed`.

use crate::report::{CaseReport, Report, Summary, protocol_title};
use crate::verdict::Verdict;
use std::fmt::Write as _;

/// One progress line (written to stderr while the run is going).
pub fn progress_line(done: usize, total: usize, case: &CaseReport) -> String {
    format!(
        "[{done:>3}/{total}] {:<7} {}",
        case.verdict.as_str(),
        case.id
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Id only (and the baseline reason, if any).
    None,
    /// Id and the message on the same line.
    Inline,
    /// Message lines, baseline and a rerun command.
    Full,
}

fn section(
    out: &mut String,
    title: &str,
    report: &Report,
    group: &[&CaseReport],
    verdicts: &[Verdict],
    detail: Detail,
) {
    let cases: Vec<&CaseReport> = group
        .iter()
        .copied()
        .filter(|c| verdicts.contains(&c.verdict))
        .collect();
    if cases.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n  {title} ({})", cases.len());
    for case in cases {
        let requirements = if case.requirements.is_empty() {
            String::new()
        } else {
            format!(" {}", case.requirements.join(", "))
        };
        let _ = writeln!(
            out,
            "    {:<7} {}  [{}{requirements}]",
            case.verdict.as_str(),
            case.id,
            case.level,
        );
        if !case.steps.is_empty() {
            let _ = writeln!(out, "            steps: {}", steps_line(&case.steps));
        }
        if detail == Detail::Inline {
            let _ = writeln!(out, "            {}", case.message);
        } else if detail == Detail::Full {
            for line in case.message.lines() {
                let _ = writeln!(out, "            {line}");
            }
            if let Some(expected) = &case.expected {
                let _ = writeln!(
                    out,
                    "            baseline: {} ({})",
                    expected.verdict, expected.reason
                );
            }
            for basis in super::spec_basis(case) {
                let _ = writeln!(
                    out,
                    "            spec [{}]: {}\n              {}",
                    basis.keyword.as_str(),
                    basis.sentence,
                    basis.url()
                );
            }
            let _ = writeln!(
                out,
                "            rerun: {}",
                super::rerun_command(report, &case.id)
            );
        } else if let Some(expected) = &case.expected {
            let _ = writeln!(out, "            baseline: {}", expected.reason);
        }
    }
}

/// `step 12 ms, step 40 ms, ...`.
fn steps_line(steps: &[crate::report::StepTime]) -> String {
    steps
        .iter()
        .map(|s| format!("{} {} ms", s.step, s.ms))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The flow tier's block: its nodes, their set-up time and what the run left on the LSP.
fn flow_block(out: &mut String, flow: &crate::report::FlowInfo) {
    let _ = writeln!(out, "\nFLOW TIER");
    let _ = writeln!(
        out,
        "  payer {}, wallet {}",
        flow.payer_node_id, flow.wallet_node_id
    );
    let _ = writeln!(out, "  set-up: {}", steps_line(&flow.setup_steps));
    let left = &flow.left_on_lsp;
    let _ = writeln!(
        out,
        "  left on the LSP: {} channel(s), {} order(s), {} buy(s)",
        left.channels.len(),
        left.orders.len(),
        left.buys.len()
    );
    for c in &left.channels {
        let _ = writeln!(
            out,
            "    channel {} to the {}: {} sat, {} confirmation(s), from {}",
            c.channel_id, c.node, c.capacity_sat, c.confirmations, c.opened_by
        );
    }
    for o in &left.orders {
        let _ = writeln!(out, "    order {o}");
    }
    for b in &left.buys {
        let _ = writeln!(out, "    buy {b}");
    }
}

/// Renders the whole report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let target = report.target.name();
    let _ = writeln!(
        out,
        "lsps-conformance {} against {} ({}), spec {}@{}",
        report.runner_version,
        target,
        report.target.transport,
        report.spec.repository,
        report.spec.commit
    );
    let protocols = match &report.target.advertised_protocols {
        Some(p) => format!("{p:?}"),
        None => "unknown (list_protocols failed)".to_owned(),
    };
    let _ = writeln!(
        out,
        "advertised protocols: {protocols}; level {}{}{}",
        report.options.level,
        if report.options.strict {
            ", strict"
        } else {
            ""
        },
        report
            .options
            .baseline
            .as_ref()
            .map(|b| format!(", baseline {b}"))
            .unwrap_or_default()
    );
    let effects = report.side_effects();
    let _ = writeln!(
        out,
        "left on the target: {} LSPS1 order(s) (unpaid), {} LSPS2 buy(s) (SCIDs held until valid_until)",
        effects.orders, effects.buys
    );
    let groups: Vec<String> = report
        .per_protocol()
        .iter()
        .map(|(protocol, summary)| {
            let counts = summary.counts_text();
            format!("{protocol}: {}", counts)
        })
        .collect();
    let _ = writeln!(out, "per protocol: {}", groups.join("; "));
    if !report.headline.is_empty() {
        let _ = writeln!(out, "\nHEADLINE");
        for line in &report.headline {
            let _ = writeln!(out, "  ! {line}");
        }
    }
    let mut failing = vec![Verdict::Fail, Verdict::Timeout, Verdict::XPass];
    if report.options.strict {
        failing.push(Verdict::Warn);
    }
    // One block per LSPS, failures first inside each.
    for (protocol, group) in report.by_protocol() {
        let summary = Summary::of(group.iter().copied());
        let counts = summary.counts_text();
        let _ = writeln!(out, "\n== {}: {}", protocol_title(&protocol), counts);
        section(&mut out, "FAILURES", report, &group, &failing, Detail::Full);
        if !report.options.strict {
            section(
                &mut out,
                "WARNINGS (SHOULD)",
                report,
                &group,
                &[Verdict::Warn],
                Detail::Full,
            );
        }
        section(
            &mut out,
            "ERRORS (harness or network; not counted against the target)",
            report,
            &group,
            &[Verdict::Error],
            Detail::Full,
        );
        section(
            &mut out,
            "EXPECTED FAILURES (baseline)",
            report,
            &group,
            &[Verdict::XFail],
            Detail::None,
        );
        section(
            &mut out,
            "PASSED",
            report,
            &group,
            &[Verdict::Pass],
            Detail::None,
        );
        section(
            &mut out,
            "NOT RUN",
            report,
            &group,
            &[Verdict::Skip, Verdict::NotApplicable],
            Detail::Inline,
        );
    }
    if let Some(flow) = &report.flow {
        flow_block(&mut out, flow);
    }
    let interop = crate::interop::findings(report);
    if !interop.is_empty() {
        let _ = writeln!(
            out,
            "\nINTEROP (will these clients work with you? advice, not verdicts)"
        );
        for f in &interop {
            let _ = writeln!(out, "  {:<7} {}: {}", f.outcome, f.client, f.reason);
        }
    }
    let counts = report.summary.counts_text();
    let _ = writeln!(out, "\n{} cases: {}", report.cases.len(), counts);
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        report.passed(),
        report.failed()
    );
    out
}
