//! What the baseline tests share: a run judged against its committed baseline.
#![allow(dead_code)]

use lsps_conformance::report::CaseReport;
use lsps_conformance::verdict::Verdict;

/// Panics listing every case whose verdict the baseline did not foresee: a FAIL, WARN,
/// TIMEOUT or ERROR it does not list, or an XPASS (a listed deviation that no longer happens).
pub fn assert_as_the_baseline_says(cases: &[CaseReport]) {
    let unexpected: Vec<String> = cases
        .iter()
        .filter(|c| {
            matches!(
                c.verdict,
                Verdict::Fail | Verdict::Warn | Verdict::Timeout | Verdict::XPass | Verdict::Error
            )
        })
        .map(|c| format!("{} {}: {}", c.verdict, c.id, c.message))
        .collect();
    assert!(
        unexpected.is_empty(),
        "not as the baseline says:\n{}",
        unexpected.join("\n")
    );
}
