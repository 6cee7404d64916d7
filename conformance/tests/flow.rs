//! The flow tier end to end: `lsps-conformance run --spawn-reference --tier flow` starts the
//! reference LSP in-process with its embedded dev chain, funds the runner's payer over the
//! chain's Bitcoin Core RPC, and pays through the LSP. Every case passes apart from the
//! deviations in `baselines/reference-flow.yaml` (XFAIL), and the report shows each step's
//! time and what the run left on the LSP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/baselines/reference-flow.yaml");

#[test]
fn spawned_reference_passes_the_flow_tier_apart_from_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lsps-conformance"))
        .args([
            "run",
            "--spawn-reference",
            "--tier",
            "flow",
            "--baseline",
            BASELINE,
        ])
        .args([
            "--timeout-ms",
            "60000",
            "--format",
            "terminal",
            "--format",
            "json",
        ])
        .arg("--output")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "exit status");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), lsps_conformance::catalog::flow_cases().len());
    for case in cases {
        let verdict = case["verdict"].as_str().unwrap();
        assert!(
            verdict == "PASS" || verdict == "XFAIL",
            "{} {verdict}: {}",
            case["id"],
            case["message"]
        );
        // Every case that paid shows the time of its steps.
        assert!(
            case["steps"].as_array().is_some_and(|s| !s.is_empty()),
            "{} has no step times",
            case["id"]
        );
    }
    assert!(
        cases.iter().any(|c| c["verdict"] == "XFAIL"),
        "D35 is recorded"
    );
    let left = &report["flow"]["left_on_lsp"];
    let wallet_channels = left["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["node"] == "wallet")
        .count();
    // The no-MPP and the MPP purchase each opened one; the failed flows opened none.
    assert_eq!(wallet_channels, 2, "{left}");
    assert_eq!(left["buys"].as_array().unwrap().len(), cases.len());
    assert!(stdout.contains("FLOW TIER") && stdout.contains("payment sent -> channel ready"));
}
