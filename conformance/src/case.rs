//! The case model: what a case checks, at which level, and how.

use crate::ctx::{Abort, CaseCtx};
use crate::target::BoxFuture;
use crate::verdict::Level;

/// A procedure: runs against the target and returns a PASS message, or why it stopped.
///
/// `Err(Abort::Violation)` becomes FAIL for a MUST case and WARN for SHOULD/MAY;
/// `Err(Abort::Precondition)` becomes SKIP; `Err(Abort::Timeout)` TIMEOUT; `Err(Abort::Error)`
/// ERROR.
pub type Procedure = fn(CaseCtx) -> BoxFuture<'static, Result<String, Abort>>;

/// When a case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Exchanges messages with the target; runs concurrently with other cases.
    Exchange,
    /// Judges what all other cases observed (wire validation, latency, muting); runs last.
    Aggregate,
    /// The flow tier: pays through the LSP with the runner's payer and wallet nodes and judges
    /// what happened to the money and the channels; flow cases run one at a time (they share
    /// the nodes), after the exchange cases.
    Flow,
}

impl Phase {
    /// The tier a case of this phase belongs to: `message` or `flow`.
    pub fn tier(self) -> &'static str {
        match self {
            Phase::Exchange | Phase::Aggregate => "message",
            Phase::Flow => "flow",
        }
    }
}

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Stable path-like id, e.g. `lsps0.unknown-method.gets-32601`. Never renamed.
    pub id: &'static str,
    /// Requirement ids (`spec/requirements/*.yaml`) this case checks.
    pub requirements: &'static [&'static str],
    /// The strongest keyword among the requirements.
    pub level: Level,
    /// The protocol that must be advertised for the case to apply (0 = always).
    pub applies_to: u16,
    /// One line: what the case checks.
    pub summary: &'static str,
    /// What the runner sends.
    pub sends: &'static str,
    /// What a conforming target does (every acceptable outcome).
    pub passes_when: &'static str,
    /// When it runs.
    pub phase: Phase,
    /// How it runs.
    pub procedure: Procedure,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("requirements", &self.requirements)
            .field("level", &self.level)
            .field("applies_to", &self.applies_to)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Procedure`] from an `async fn(CaseCtx) -> Result<String, Abort>`.
#[macro_export]
#[doc(hidden)]
macro_rules! procedure {
    ($f:path) => {
        |ctx| ::std::boxed::Box::pin($f(ctx))
    };
}
