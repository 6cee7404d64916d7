//! Named points in the money flows where a test build can stop the server on purpose
//! (`LSPS_CRASH_AT=<point>`, honoured only with the `faults` feature), to prove that a restart
//! on the same data dir recovers: one channel, each HTLC forwarded or claimed once or failed
//! back, the fee charged once, a refund sent once. Elsewhere [`point`] does nothing.
//!
//! Each point sits after the flow value that decided the step is durable (stored), or right
//! after the step acted on the node, where a crash leaves the store and LDK apart.
//!
//! `LSPS_CRASH_AT=<point>` aborts the process there (SIGABRT). `LSPS_CRASH_AT=<point>:pause`
//! logs [`PAUSED`] and blocks the flow's thread forever, the rest of the process still running,
//! so a test can `kill -9` it from outside at exactly that step
//! (`lsps-server/tests/crash_recovery/` does both).

/// LSPS2: the flow decided to open and stored it; the open is not requested yet.
pub const BEFORE_OPEN: &str = "before-open";
/// LSPS2: the open is requested; `funding_signed` has not arrived.
pub const AFTER_OPEN: &str = "after-open";
/// LSPS2: the channel is ready and the forwards are stored; none is sent yet.
pub const BEFORE_FORWARD: &str = "before-forward";
/// LSPS2: the forwards are handed to LDK; the client has not claimed.
pub const AFTER_FORWARD: &str = "after-forward";
/// LSPS2: a fail-back is stored; not yet sent.
pub const BEFORE_FAIL: &str = "before-fail";
/// LSPS2: the client's claim is stored (fee taken).
pub const AFTER_CLAIM: &str = "after-claim";

/// LSPS1: the order's payment is held (or paid on-chain) and the open is stored; the open is
/// not requested yet.
pub const LSPS1_BEFORE_OPEN: &str = "lsps1-before-open";
/// LSPS1: the open is requested from LDK; `funding_signed` has not arrived.
pub const LSPS1_AFTER_OPEN: &str = "lsps1-after-open";
/// LSPS1: the channel is ready and the claim (PAID, COMPLETED) is stored; `claim_funds` not
/// called yet.
pub const LSPS1_BEFORE_CLAIM: &str = "lsps1-before-claim";
/// LSPS1: `claim_funds` was called; the payer may not have the preimage yet.
pub const LSPS1_AFTER_CLAIM: &str = "lsps1-after-claim";
/// LSPS1: the fail-back of the held payment (REFUNDED, FAILED) is stored; not sent yet.
pub const LSPS1_BEFORE_FAIL_BACK: &str = "lsps1-before-fail-back";
/// LSPS1: `fail_htlc_backwards` was called.
pub const LSPS1_AFTER_FAIL_BACK: &str = "lsps1-after-fail-back";
/// LSPS1: an on-chain refund is stored as requested; the transaction is not built yet.
pub const LSPS1_BEFORE_REFUND: &str = "lsps1-before-refund";
/// LSPS1: the refund transaction is broadcast; its txid is not stored yet.
pub const LSPS1_AFTER_REFUND: &str = "lsps1-after-refund";

/// The LSPS2 (JIT) points.
pub const JIT: &[&str] = &[
    BEFORE_OPEN,
    AFTER_OPEN,
    BEFORE_FORWARD,
    AFTER_FORWARD,
    BEFORE_FAIL,
    AFTER_CLAIM,
];

/// The LSPS1 (order) points.
pub const LSPS1: &[&str] = &[
    LSPS1_BEFORE_OPEN,
    LSPS1_AFTER_OPEN,
    LSPS1_BEFORE_CLAIM,
    LSPS1_AFTER_CLAIM,
    LSPS1_BEFORE_FAIL_BACK,
    LSPS1_AFTER_FAIL_BACK,
    LSPS1_BEFORE_REFUND,
    LSPS1_AFTER_REFUND,
];

/// The environment variable naming the point to crash at.
pub const ENV: &str = "LSPS_CRASH_AT";

/// The suffix of `LSPS_CRASH_AT` that pauses at the point instead of aborting.
pub const PAUSE_SUFFIX: &str = ":pause";

/// Logged (on stderr, as a plain line) when a `:pause` point is reached.
pub const PAUSED: &str = "paused at crash point";

/// Abort (or pause) the process here if `LSPS_CRASH_AT` names `name` (builds with `faults`
/// only).
#[cfg(feature = "faults")]
pub fn point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let Some(at) = AT.get_or_init(|| std::env::var(ENV).ok()).as_deref() else {
        return;
    };
    if at == name {
        tracing::error!(point = name, "crashing on purpose ({ENV})");
        std::process::abort();
    }
    if at.strip_suffix(PAUSE_SUFFIX) == Some(name) {
        tracing::error!(
            point = name,
            "pausing on purpose ({ENV}), waiting for kill -9"
        );
        // A plain line too, whatever the log format, for the test that waits for it.
        eprintln!("{PAUSED}: {name}");
        loop {
            std::thread::park();
        }
    }
}

/// Does nothing (built without `faults`).
#[cfg(not(feature = "faults"))]
pub fn point(_name: &str) {}
