//! Baselines: known deviations of one implementation (case id → expected verdict + reason).
//! A listed case that fails as expected becomes XFAIL; one that passes becomes XPASS, which
//! fails the run so stale entries cannot hide regressions (anchors.md B.7 #3).

use crate::report::{CaseReport, Expectation};
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A parsed baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The implementation and version the baseline describes.
    #[serde(default)]
    pub target: String,
    /// Case id → expectation.
    pub cases: BTreeMap<String, BaselineEntry>,
}

/// One expected deviation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// Expected verdict (`FAIL`, `WARN`, `TIMEOUT`, ...).
    pub verdict: String,
    /// One line: why this implementation deviates.
    pub reason: String,
}

/// Why a baseline cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Not valid YAML of the expected shape.
    #[error("baseline is not valid: {0}")]
    Parse(String),
    /// A verdict name that does not exist.
    #[error("baseline entry {case}: unknown verdict {verdict:?}")]
    BadVerdict {
        /// Case id.
        case: String,
        /// The bad name.
        verdict: String,
    },
    /// A case id the catalog does not have (renamed or mistyped).
    #[error("baseline names cases that do not exist: {0}")]
    UnknownCases(String),
}

impl Baseline {
    /// Parses and checks a baseline against the known case ids.
    pub fn parse(text: &str, known: &[&str]) -> Result<Baseline, BaselineError> {
        let baseline: Baseline =
            serde_yaml_ng::from_str(text).map_err(|e| BaselineError::Parse(e.to_string()))?;
        for (case, entry) in &baseline.cases {
            if Verdict::from_name(&entry.verdict).is_none() {
                return Err(BaselineError::BadVerdict {
                    case: case.clone(),
                    verdict: entry.verdict.clone(),
                });
            }
        }
        let unknown: Vec<&str> = baseline
            .cases
            .keys()
            .map(String::as_str)
            .filter(|id| !known.contains(id))
            .collect();
        if !unknown.is_empty() {
            return Err(BaselineError::UnknownCases(unknown.join(", ")));
        }
        Ok(baseline)
    }

    /// Applies the baseline to one case result.
    pub fn apply(&self, case: &mut CaseReport) {
        let Some(entry) = self.cases.get(&case.id) else {
            return;
        };
        let Some(expected) = Verdict::from_name(&entry.verdict) else {
            return;
        };
        case.expected = Some(Expectation {
            verdict: expected,
            reason: entry.reason.clone(),
        });
        if case.verdict == expected && expected != Verdict::Pass {
            case.verdict = Verdict::XFail;
        } else if case.verdict == Verdict::Pass && expected != Verdict::Pass {
            case.verdict = Verdict::XPass;
            case.message = format!(
                "passed, but the baseline expects {expected} ({}): remove the entry",
                entry.reason
            );
        }
    }

    /// Builds a baseline from a report: every case whose verdict is a failure or WARN becomes
    /// an entry with the observed message as its reason (edit the reasons before committing).
    pub fn from_report(target: &str, cases: &[CaseReport]) -> Baseline {
        let mut out = Baseline {
            target: target.to_owned(),
            cases: BTreeMap::new(),
        };
        for case in cases {
            let verdict = match case.verdict {
                Verdict::XFail => case.expected.as_ref().map(|e| e.verdict),
                Verdict::Fail | Verdict::Warn | Verdict::Timeout => Some(case.verdict),
                _ => None,
            };
            if let Some(verdict) = verdict {
                let reason = match (&case.expected, case.verdict) {
                    (Some(e), Verdict::XFail) => e.reason.clone(),
                    _ => case.message.lines().next().unwrap_or_default().to_owned(),
                };
                out.cases.insert(
                    case.id.clone(),
                    BaselineEntry {
                        verdict: verdict.as_str().to_owned(),
                        reason,
                    },
                );
            }
        }
        out
    }

    /// YAML text of the baseline.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::verdict::Level;

    fn report(id: &str, verdict: Verdict) -> CaseReport {
        CaseReport {
            id: id.into(),
            requirements: vec![],
            level: Level::Must,
            verdict,
            message: "observed".into(),
            expected: None,
            duration_ms: 0,
            steps: Vec::new(),
            transcript: vec![],
        }
    }

    const YAML: &str = "target: x\ncases:\n  a.b:\n    verdict: FAIL\n    reason: known\n";

    #[test]
    fn expected_failure_is_xfail_and_unexpected_pass_is_xpass() {
        let baseline = Baseline::parse(YAML, &["a.b", "c.d"]).unwrap();
        let mut failing = report("a.b", Verdict::Fail);
        baseline.apply(&mut failing);
        assert_eq!(failing.verdict, Verdict::XFail);
        let mut passing = report("a.b", Verdict::Pass);
        baseline.apply(&mut passing);
        assert_eq!(passing.verdict, Verdict::XPass);
        // A different failure than the one listed stays visible.
        let mut timeout = report("a.b", Verdict::Timeout);
        baseline.apply(&mut timeout);
        assert_eq!(timeout.verdict, Verdict::Timeout);
        let mut other = report("c.d", Verdict::Fail);
        baseline.apply(&mut other);
        assert_eq!(other.verdict, Verdict::Fail);
    }

    #[test]
    fn unknown_cases_and_verdicts_are_rejected() {
        assert!(matches!(
            Baseline::parse(YAML, &["c.d"]),
            Err(BaselineError::UnknownCases(_))
        ));
        let bad = YAML.replace("FAIL", "BROKEN");
        assert!(matches!(
            Baseline::parse(&bad, &["a.b"]),
            Err(BaselineError::BadVerdict { .. })
        ));
    }

    #[test]
    fn a_baseline_written_from_a_report_reapplies_to_xfail() {
        let cases = vec![report("a.b", Verdict::Fail), report("c.d", Verdict::Pass)];
        let written = Baseline::from_report("t", &cases);
        let again = Baseline::parse(&written.to_yaml(), &["a.b", "c.d"]).unwrap();
        let mut case = report("a.b", Verdict::Fail);
        again.apply(&mut case);
        assert_eq!(case.verdict, Verdict::XFail);
        assert_eq!(again.cases.len(), 1);
    }
}
