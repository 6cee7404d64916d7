//! The other half of the self-test: an LSP that answers as the bLIPs allow, though not as this
//! project's server chooses to, gets no FAIL, ERROR or TIMEOUT. Each test starts the reference
//! server with one spec-legal variation (`lsps_server::variants`) and runs the whole suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_conformance::report::Report;
use lsps_conformance::runner::{RunConfig, run};
use lsps_conformance::transport::reference::{Reference, self_test_config};
use lsps_conformance::verdict::Verdict;
use std::time::Duration;

async fn run_with(variant: &str) -> Report {
    let reference = Reference::start(&[], |c| {
        self_test_config(c);
        c.variants = vec![variant.to_owned()];
    })
    .await
    .unwrap();
    let config = RunConfig {
        // Above the 7 s of `slow-get-info`: a slow reply is WARN, only a missing one TIMEOUT.
        timeout: Duration::from_secs(20),
        concurrency: 8,
        ..RunConfig::default()
    };
    let report = run(reference.bolt8_target().unwrap(), &config, &|_| {})
        .await
        .unwrap();
    reference.stop().await;
    report
}

/// No FAIL, ERROR, TIMEOUT or XPASS; returns the report for variant-specific checks.
async fn no_failure(variant: &str) -> Report {
    let report = run_with(variant).await;
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| {
            matches!(
                c.verdict,
                Verdict::Fail | Verdict::Error | Verdict::Timeout | Verdict::XPass
            )
        })
        .map(|c| format!("{} {}: {}", c.verdict, c.id, c.message))
        .collect();
    assert!(bad.is_empty(), "{variant}:\n{}", bad.join("\n"));
    report
}

fn verdict_of(report: &Report, id: &str) -> Verdict {
    report.cases.iter().find(|c| c.id == id).unwrap().verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_every_write_is_incomplete_not_failing() {
    let report = no_failure("refuse-writes").await;
    // Orders and buys could not be made: those cases are SKIP (refused) and the run incomplete.
    assert!(report.refused() > 10, "{}", report.refused());
    assert_eq!(
        verdict_of(&report, "lsps2.buy.with-size.succeeds"),
        Verdict::Skip
    );
    assert!(report.headline.iter().any(|h| h.contains("refused")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_liquidity_at_the_maximum_size_passes() {
    let report = no_failure("no-liquidity-at-max").await;
    for id in [
        "lsps2.buy.with-size.succeeds",
        "lsps2.buy.size-bounds-inclusive",
    ] {
        assert_eq!(verdict_of(&report, id), Verdict::Pass, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_unknown_tokens_is_a_warning() {
    let report = no_failure("accept-unknown-tokens").await;
    assert_eq!(
        verdict_of(&report, "lsps2.get-info.unknown-token.gets-200"),
        Verdict::Warn
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_on_every_error_passes() {
    let report = no_failure("data-on-every-error").await;
    assert_eq!(
        verdict_of(&report, "lsps0.wire.schema-valid"),
        Verdict::Pass
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fee_params_answered_201_passes() {
    let report = no_failure("bad-fee-params-get-201").await;
    assert_eq!(
        verdict_of(&report, "lsps2.buy.params-not-eight-fields.gets-32602"),
        Verdict::Pass
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seven_second_reply_is_an_interop_warning() {
    let report = no_failure("slow-get-info").await;
    assert_eq!(
        verdict_of(&report, "lsps0.latency.replies-within-5s"),
        Verdict::Warn
    );
}
