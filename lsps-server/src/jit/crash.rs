//! Named points in a JIT step where a test build can crash the server on purpose
//! (`LSPS_CRASH_AT=<point>`, honoured only with the `faults` feature), to prove that a restart
//! on the same data dir recovers: one channel, each HTLC forwarded once or failed, the fee
//! charged once. Elsewhere [`point`] does nothing.
//!
//! Each point sits after the flow value that decided the step is durable.

/// The flow decided to open and stored it; the open is not requested yet.
pub const BEFORE_OPEN: &str = "before-open";
/// The open is requested; `funding_signed` has not arrived.
pub const AFTER_OPEN: &str = "after-open";
/// The channel is ready and the forwards are stored; none is sent yet.
pub const BEFORE_FORWARD: &str = "before-forward";
/// The forwards are handed to LDK; the client has not claimed.
pub const AFTER_FORWARD: &str = "after-forward";
/// A fail-back is stored; not yet sent.
pub const BEFORE_FAIL: &str = "before-fail";
/// The client's claim is stored (fee taken).
pub const AFTER_CLAIM: &str = "after-claim";

/// Every point, for tests and `--help`.
pub const ALL: &[&str] = &[
    BEFORE_OPEN,
    AFTER_OPEN,
    BEFORE_FORWARD,
    AFTER_FORWARD,
    BEFORE_FAIL,
    AFTER_CLAIM,
];

/// The environment variable naming the point to crash at.
pub const ENV: &str = "LSPS_CRASH_AT";

/// Abort the process here if `LSPS_CRASH_AT` names `name` (builds with `faults` only).
#[cfg(feature = "faults")]
pub fn point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT.get_or_init(|| std::env::var(ENV).ok()).as_deref() == Some(name) {
        tracing::error!(point = name, "crashing on purpose ({ENV})");
        std::process::abort();
    }
}

/// Does nothing (built without `faults`).
#[cfg(not(feature = "faults"))]
pub fn point(_name: &str) {}
