//! Self-test against the reference server: every MUST case passes, over BOLT8 and over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_conformance::render::Format;
use lsps_conformance::runner::{LevelFilter, RunConfig, run};
use lsps_conformance::transport::reference::{Reference, self_test_config};
use lsps_conformance::verdict::{Level, Verdict};
use std::time::Duration;

/// Cases the reference server cannot make run: it offers no BOLT12 payment option (a scripted
/// LSP covers that case in `tests/scripted.rs`).
fn cannot_run_against_the_reference(case: &lsps_conformance::report::CaseReport) -> bool {
    case.id == "lsps1.create-order.bolt12-offer-valid" && case.verdict == Verdict::Skip
}

fn config() -> RunConfig {
    RunConfig {
        timeout: Duration::from_millis(2000),
        concurrency: 8,
        ..RunConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_every_case_over_bolt8() {
    let reference = Reference::start(&[], self_test_config).await.unwrap();
    let report = run(reference.bolt8_target().unwrap(), &config(), &|_| {})
        .await
        .unwrap();
    eprintln!("{}", Format::Terminal.render(&report));
    let not_passed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .filter(|c| !cannot_run_against_the_reference(c))
        .map(|c| format!("{} {}: {}", c.verdict, c.id, c.message))
        .collect();
    assert!(not_passed.is_empty(), "{}", not_passed.join("\n"));
    assert_eq!(report.failed(), 0);
    assert!(report.cases.iter().any(|c| c.level == Level::Must));
    reference.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_every_must_case_over_http() {
    let reference = Reference::start(&[], self_test_config).await.unwrap();
    let target = reference.http_target().expect("HTTP binding on").unwrap();
    let config = RunConfig {
        level: LevelFilter::Must,
        ..config()
    };
    let report = run(target, &config, &|_| {}).await.unwrap();
    eprintln!("{}", Format::Terminal.render(&report));
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.level == Level::Must && c.verdict != Verdict::Pass)
        .filter(|c| !cannot_run_against_the_reference(c))
        // HTTP has no session that could be muted: that one case cannot apply.
        .filter(|c| {
            !(c.id == "lsps0.bad-message.connection-still-served" && c.verdict == Verdict::Skip)
        })
        .map(|c| format!("{} {}: {}", c.verdict, c.id, c.message))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(report.summary.get(Verdict::Pass) > 20);
    reference.stop().await;
}

/// `ws://` targets (parsed by lsps-client like `lsps` does): the WebSocket binding is a session,
/// so the same MUST cases pass over it as over BOLT8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_every_must_case_over_websocket() {
    let reference = Reference::start(&[], self_test_config).await.unwrap();
    let url = reference.server.http_url().expect("HTTP binding on");
    let ws = format!("{}/ws", url.replacen("http://", "ws://", 1));
    let target = lsps_conformance::transport::open(&ws, None).unwrap();
    assert_eq!(target.info().transport, "ws");
    let config = RunConfig {
        level: LevelFilter::Must,
        ..config()
    };
    let report = run(target, &config, &|_| {}).await.unwrap();
    let bad: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.level == Level::Must && c.verdict != Verdict::Pass)
        .filter(|c| !cannot_run_against_the_reference(c))
        .map(|c| format!("{} {}: {}", c.verdict, c.id, c.message))
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    reference.stop().await;
}

/// `--normalize` makes two runs against two fresh reference servers (different node ids, keys,
/// order ids, SCIDs, invoices, addresses, promises, random tokens) produce the same JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_against_the_reference_diff_to_nothing_after_normalizing() {
    let mut rendered = Vec::new();
    for _ in 0..2 {
        let reference = Reference::start(&[], self_test_config).await.unwrap();
        let mut report = run(reference.bolt8_target().unwrap(), &config(), &|_| {})
            .await
            .unwrap();
        reference.stop().await;
        assert!(report.side_effects().orders > 0 && report.side_effects().buys > 0);
        report.normalize();
        rendered.push(Format::Json.render(&report));
    }
    let (a, b) = (&rendered[0], &rendered[1]);
    let diff: Vec<String> = a
        .lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("- {x}\n+ {y}"))
        .take(40)
        .collect();
    assert!(diff.is_empty() && a == b, "{}", diff.join("\n"));
}
