//! Report renderers. All formats derive from the same [`Report`](crate::report::Report).

pub mod html;
pub mod junit;
pub mod markdown;
pub mod terminal;

use crate::report::Report;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text: failures first, final line `N passed, N failed`.
    Terminal,
    /// The versioned JSON report.
    Json,
    /// JUnit XML for CI systems.
    Junit,
    /// Markdown (CI step summaries).
    Markdown,
    /// A self-contained HTML page.
    Html,
}

impl Format {
    /// Renders `report` in this format.
    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Terminal => terminal::render(report),
            Format::Json => json(report),
            Format::Junit => junit::render(report),
            Format::Markdown => markdown::render(report),
            Format::Html => html::render(report),
        }
    }
}

/// The JSON report (pretty-printed, trailing newline).
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

/// A one-line command that re-runs just one case.
pub fn rerun_command(report: &Report, case_id: &str) -> String {
    let target = if report.run.target_address.is_empty() {
        "<target>".to_owned()
    } else {
        match &report.target.node_id {
            Some(node) if !report.run.target_address.starts_with("http") => {
                format!("{node}@{}", report.run.target_address)
            }
            _ => report.run.target_address.clone(),
        }
    };
    if crate::catalog::find(case_id).is_some_and(|c| c.phase == crate::case::Phase::Flow) {
        return format!(
            "lsps-conformance run --target {target} --tier flow --bitcoind-rpc <url> --bitcoind-cookie <file> --run '{case_id}'"
        );
    }
    format!("lsps-conformance run --target {target} --run '{case_id}'")
}

/// The bLIP sentences shown beside a case that did not pass: for a FAIL the MUST sentences
/// it broke, otherwise every sentence behind the case (at most two, to keep reports short).
pub fn spec_basis(case: &crate::report::CaseReport) -> Vec<&'static crate::basis::Basis> {
    // A harness error or a case that did not run says nothing about the target.
    if matches!(
        case.verdict,
        crate::verdict::Verdict::Error
            | crate::verdict::Verdict::Skip
            | crate::verdict::Verdict::NotApplicable
    ) {
        return Vec::new();
    }
    let all = crate::basis::of(&case.id);
    let mandatory: Vec<&crate::basis::Basis> =
        all.iter().filter(|b| b.binds_lsp_mandatorily()).collect();
    let chosen = if case.verdict == crate::verdict::Verdict::Fail && !mandatory.is_empty() {
        mandatory
    } else {
        all.iter().collect()
    };
    chosen.into_iter().take(2).collect()
}
