//! Verdicts and requirement levels.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The outcome of one case, as defined in DESIGN.md §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// The requirement holds.
    #[serde(rename = "PASS")]
    Pass,
    /// A MUST was violated.
    #[serde(rename = "FAIL")]
    Fail,
    /// A SHOULD (or MAY-with-a-preference) was violated; fails only under `--strict`.
    #[serde(rename = "WARN")]
    Warn,
    /// Not run: filtered out, below the selected level, or a precondition was not met.
    #[serde(rename = "SKIP")]
    Skip,
    /// The protocol the case needs is not advertised by the target.
    #[serde(rename = "N/A")]
    NotApplicable,
    /// A reply the case needed did not arrive within the per-request timeout.
    #[serde(rename = "TIMEOUT")]
    Timeout,
    /// Harness or network fault; never counted against the target.
    #[serde(rename = "ERROR")]
    Error,
    /// Failed, and the baseline says it is expected to fail.
    #[serde(rename = "XFAIL")]
    XFail,
    /// Passed although the baseline expects a failure: the baseline is stale.
    #[serde(rename = "XPASS")]
    XPass,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 9] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Warn,
        Verdict::Skip,
        Verdict::NotApplicable,
        Verdict::Timeout,
        Verdict::Error,
        Verdict::XFail,
        Verdict::XPass,
    ];

    /// The upper-case wire name (`PASS`, `N/A`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "WARN",
            Verdict::Skip => "SKIP",
            Verdict::NotApplicable => "N/A",
            Verdict::Timeout => "TIMEOUT",
            Verdict::Error => "ERROR",
            Verdict::XFail => "XFAIL",
            Verdict::XPass => "XPASS",
        }
    }

    /// Parses the wire name.
    pub fn from_name(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether this verdict makes the run non-conformant (exit code 1).
    ///
    /// TIMEOUT counts: a reply the spec requires did not come. ERROR does not (it is the
    /// harness's or the network's fault). WARN counts only under `--strict`.
    pub fn is_failure(self, strict: bool) -> bool {
        match self {
            Verdict::Fail | Verdict::XPass | Verdict::Timeout => true,
            Verdict::Warn => strict,
            _ => false,
        }
    }

    /// Whether the case actually exchanged messages with the target and reached a judgement.
    pub fn ran(self) -> bool {
        !matches!(self, Verdict::Skip | Verdict::NotApplicable)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The keyword strength of the requirement(s) a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// MUST / MUST NOT: a violation is FAIL.
    Must,
    /// SHOULD / SHOULD NOT: a violation is WARN.
    Should,
    /// MAY: a deviation from the preferred behaviour is WARN.
    May,
}

impl Level {
    /// `MUST`, `SHOULD` or `MAY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
