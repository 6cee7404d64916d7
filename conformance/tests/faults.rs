//! Self-test against the reference server with each named fault (`lsps-server` feature
//! `faults`): exactly the listed cases fail, and every failing case checks the requirement the
//! fault violates. This proves no case passes vacuously.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_conformance::catalog;
use lsps_conformance::report::Report;
use lsps_conformance::runner::{RunConfig, run};
use lsps_conformance::transport::reference::{Reference, self_test_config};
use lsps_conformance::verdict::Verdict;
use std::collections::BTreeSet;
use std::time::Duration;

/// The schema case checks every rule a JSON Schema can express, so it may fail alongside the
/// dedicated case of a format fault.
const SCHEMA: &str = "lsps0.wire.schema-valid";

/// fault → the cases that must fail (FAIL, WARN or TIMEOUT), nothing else.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "unknown-method-wrong-code",
        &[
            "lsps0.unknown-method.gets-32601",
            "lsps0.unadvertised-protocol.gets-32601",
        ],
    ),
    ("menu-unordered", &["lsps2.get-info.menu-ordered"]),
    (
        "promise-not-checked",
        &[
            "lsps2.buy.tampered-promise.gets-201",
            "lsps2.buy.tampered-params.gets-201",
        ],
    ),
    (
        "string-error-data",
        &["lsps0.wire.error-data-is-object", SCHEMA],
    ),
    (
        "extra-field-in-opening-fee-params",
        &["lsps2.get-info.entries-have-exact-fields", SCHEMA],
    ),
    (
        "list-protocols-includes-zero",
        &["lsps0.list-protocols.excludes-0", SCHEMA],
    ),
    (
        "no-reply-to-bad-json",
        &[
            "lsps0.bad-format.array.gets-32700",
            "lsps0.bad-format.batch.gets-32700",
            "lsps0.bad-format.scalar-string.gets-32700",
            "lsps0.bad-format.scalar-number.gets-32700",
            "lsps0.bad-format.truncated.gets-32700",
            "lsps0.bad-format.empty.gets-32700",
            "lsps0.bad-format.two-objects.gets-32700",
            "lsps0.bad-format.trailing-garbage.gets-32700",
            "lsps0.bad-format.nul-appended.gets-32700",
            "lsps0.bad-format.nul-in-string.gets-32700",
            "lsps0.bad-format.invalid-utf8.gets-32700",
        ],
    ),
    (
        "mute-after-error",
        &[
            "lsps0.bad-message.connection-still-served",
            "lsps0.amount-overflow.clean-error",
        ],
    ),
    (
        "valid-until-too-soon",
        &["lsps2.get-info.valid-until-10-min-ahead"],
    ),
    (
        "token-not-mirrored",
        &["lsps1.create-order.token-empty-when-absent", SCHEMA],
    ),
    (
        "parse-error-id-not-null",
        &[
            SCHEMA,
            "lsps0.bad-format.array.gets-32700",
            "lsps0.bad-format.batch.gets-32700",
            "lsps0.bad-format.scalar-string.gets-32700",
            "lsps0.bad-format.scalar-number.gets-32700",
            "lsps0.bad-format.truncated.gets-32700",
            "lsps0.bad-format.empty.gets-32700",
            "lsps0.bad-format.two-objects.gets-32700",
            "lsps0.bad-format.trailing-garbage.gets-32700",
            "lsps0.bad-format.nul-appended.gets-32700",
            "lsps0.bad-format.nul-in-string.gets-32700",
            "lsps0.bad-format.invalid-utf8.gets-32700",
        ],
    ),
    (
        "unrecognized-missing",
        &[
            SCHEMA,
            "lsps0.list-protocols.unknown-param.gets-32602",
            "lsps1.get-info.unknown-param.gets-32602",
            "lsps1.create-order.unknown-param.gets-32602",
            "lsps2.get-info.unknown-param.gets-32602",
            "lsps2.buy.unknown-param.gets-32602",
        ],
    ),
    (
        "lsp-balance-not-checked",
        &["lsps1.create-order.lsp-balance-above-max.gets-100"],
    ),
    (
        "lsps1-token-ignored",
        &["lsps1.create-order.invalid-token.gets-102"],
    ),
    (
        "lsps2-token-ignored",
        &["lsps2.get-info.unknown-token.gets-200"],
    ),
    (
        "orders-not-scoped",
        &["lsps1.get-order.other-peers-order.gets-101"],
    ),
    ("order-total-wrong", &["lsps1.create-order.totals-add-up"]),
    (
        "fee-equals-size-accepted",
        &["lsps2.buy.fee-not-below-size.gets-202"],
    ),
    (
        "size-range-not-checked",
        &["lsps2.buy.size-above-max.rejected"],
    ),
    (
        "promise-too-long",
        &["lsps2.get-info.promise-at-most-512-bytes", SCHEMA],
    ),
    (
        "datetime-without-millis",
        &["lsps0.wire.datetimes-strict", SCHEMA],
    ),
    (
        "amount-as-number",
        &[
            "lsps0.wire.amounts-are-decimal-strings",
            SCHEMA,
            "lsps1.get-info.answers",
        ],
    ),
    (
        "option-mismatch-wrong-code",
        &[
            "lsps1.create-order.lsp-balance-above-max.gets-100",
            "lsps1.create-order.lsp-balance-below-min.gets-100",
            "lsps1.create-order.client-balance-above-max.gets-100",
            "lsps1.create-order.confirmations-below-min.gets-100",
            "lsps1.create-order.funding-confirms-below-min.gets-100",
            "lsps1.create-order.expiry-above-max.gets-100",
            "lsps1.create-order.channel-size-above-max.gets-100",
        ],
    ),
    (
        "unknown-order-wrong-code",
        &[
            "lsps1.get-order.unknown-id.gets-101",
            "lsps1.get-order.other-peers-order.gets-101",
        ],
    ),
];

fn config() -> RunConfig {
    RunConfig {
        // Faults that withhold replies make cases wait for the whole timeout.
        timeout: Duration::from_millis(1000),
        concurrency: 8,
        ..RunConfig::default()
    }
}

fn failing(report: &Report) -> BTreeSet<String> {
    report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Timeout))
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_fails_exactly_its_cases() {
    // Every fault the server knows is in the table (the expired one has its own test below).
    for info in lsps_server::faults::ALL {
        assert!(
            info.name == "expired-params-accepted"
                // Money-flow faults: tests/flow.rs runs the flow tier against each.
                || info.fault.is_money_flow()
                || EXPECTED.iter().any(|(f, _)| *f == info.name),
            "fault {} has no expectation",
            info.name
        );
    }
    let mut problems = Vec::new();
    for (fault, expected) in EXPECTED {
        let requirement = lsps_server::faults::ALL
            .iter()
            .find(|f| f.name == *fault)
            .map(|f| f.requirement)
            .unwrap();
        let reference = Reference::start(&[fault], self_test_config).await.unwrap();
        let report = run(reference.bolt8_target().unwrap(), &config(), &|_| {})
            .await
            .unwrap();
        reference.stop().await;
        let got = failing(&report);
        let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            let detail: Vec<String> = report
                .cases
                .iter()
                .filter(|c| got.symmetric_difference(&want).any(|id| *id == c.id))
                .map(|c| format!("    {} {}: {}", c.verdict, c.id, c.message))
                .collect();
            problems.push(format!(
                "{fault}: failing {got:?}, expected {want:?}\n{}",
                detail.join("\n")
            ));
        }
        for id in &got {
            let case = catalog::find(id).unwrap();
            if !case.requirements.contains(&requirement) && *id != SCHEMA {
                problems.push(format!(
                    "{fault} ({requirement}) failed {id}, which does not check it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `expired-params-accepted`: with menu entries valid for 2 s, the expiry case waits until the
/// params genuinely expire, so the promise itself is still right and only the expiry check
/// stands between the buy and a 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_params_fault_is_caught() {
    let short = |c: &mut lsps_server::config::ServerConfig| {
        self_test_config(c);
        for entry in &mut c.lsps2.menu {
            entry.valid_for_secs = 2;
        }
    };
    let config = RunConfig {
        run: vec!["lsps2.buy.expired-params.gets-201".into()],
        ..config()
    };
    for (faults, want) in [
        (&[][..], Verdict::Pass),
        (&["expired-params-accepted"][..], Verdict::Fail),
    ] {
        let reference = Reference::start(faults, short).await.unwrap();
        let report = run(reference.bolt8_target().unwrap(), &config, &|_| {})
            .await
            .unwrap();
        reference.stop().await;
        let case = report
            .cases
            .iter()
            .find(|c| c.id == "lsps2.buy.expired-params.gets-201")
            .unwrap();
        assert_eq!(case.verdict, want, "faults {faults:?}: {}", case.message);
        assert!(case.message.contains("genuinely"), "{}", case.message);
    }
}
