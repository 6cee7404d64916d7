//! The flow tier end to end: `lsps-conformance run --spawn-reference --tier flow` starts the
//! reference LSP in-process with its embedded dev chain, funds the runner's payer over the
//! chain's Bitcoin Core RPC, and pays through the LSP. Every case passes apart from the
//! deviations in `baselines/reference-flow.yaml` (XFAIL), and the report shows each step's
//! time and what the run left on the LSP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_conformance::baseline::Baseline;
use lsps_conformance::catalog;
use lsps_conformance::flow::{FlowEnv, FlowSetup};
use lsps_conformance::runner::{RunConfig, run_cases};
use lsps_conformance::transport::reference::{Reference, flow_test_config, self_test_config};
use lsps_conformance::verdict::Verdict;
use lsps_node::chain::rpc_client::RpcClient;
use std::process::Command;
use std::time::Duration;

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
    // The no-MPP and the MPP purchase each opened one, so did the payment made again after
    // the client left before funding_signed and the funding-broadcast case; the LSPS1 orders
    // paid over bolt11 and on-chain one each; the failed JIT flows and the refused orders none.
    assert_eq!(wallet_channels, 6, "{left}");
    let lsps2_cases = cases
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("lsps2."))
        .count();
    assert_eq!(left["buys"].as_array().unwrap().len(), lsps2_cases);
    let lsps1_cases = cases
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("lsps1."))
        .count();
    assert_eq!(
        left["orders"].as_array().unwrap().len(),
        lsps1_cases,
        "{left}"
    );
    assert!(stdout.contains("FLOW TIER") && stdout.contains("payment sent -> channel ready"));
    assert_trust_model(cases, false);
}

/// The funding-broadcast case judged the trust model the LSP sold.
fn assert_trust_model(cases: &[serde_json::Value], trusts: bool) {
    let case = cases
        .iter()
        .find(|c| c["id"] == "lsps2.flow.funding-broadcast.follows-trust-model")
        .unwrap();
    assert!(
        case["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("client_trusts_lsp {trusts}")),
        "{case}"
    );
}

/// The `lsps-server` binary of this build (beside the test executable's `deps/` directory).
/// The workspace test command builds it; `cargo test -p lsps-conformance` alone does not.
fn lsps_server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join(format!("lsps-server{}", std::env::consts::EXE_SUFFIX)))
        .unwrap();
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p lsps-server --all-features) or run the workspace test command",
        bin.display()
    );
    bin
}

struct KillOnDrop(std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The reference as a vendor runs an LSP: `lsps-server` in its own process (config file,
/// embedded dev chain serving Core's RPC), and `lsps-conformance run --tier flow` pointed at
/// its BOLT8 address and its chain's RPC — nothing shared in memory. Same verdicts as
/// in-process: PASS apart from the reference's baseline.
#[test]
fn reference_as_a_separate_process_passes_the_flow_tier_apart_from_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = lsps_server::config::ServerConfig::ephemeral(dir.path().join("lsp"));
    self_test_config(&mut config);
    flow_test_config(&mut config);
    // The other trust model than in-process: the funding is broadcast after the claim
    // (lsps2.flow.funding-broadcast.follows-trust-model judges both).
    config.lsps2.client_trusts_lsp = true;
    let config_file = dir.path().join("lsp.toml");
    std::fs::write(&config_file, toml::to_string(&config).unwrap()).unwrap();
    let ready = dir.path().join("ready.json");
    let _lsp = KillOnDrop(
        Command::new(lsps_server_binary())
            .arg("--config")
            .arg(&config_file)
            .arg("--ready-file")
            .arg(&ready)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let info: serde_json::Value = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break serde_json::from_str(&text).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the LSP process never got ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let target = format!(
        "{}@{}",
        info["node_id"].as_str().unwrap(),
        info["bolt8"].as_str().unwrap()
    );
    let json = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lsps-conformance"))
        .args(["run", "--target", &target, "--tier", "flow"])
        .args(["--bitcoind-rpc", info["chain_rpc"].as_str().unwrap()])
        .args(["--bitcoind-cookie", info["chain_cookie"].as_str().unwrap()])
        .args(["--baseline", BASELINE, "--timeout-ms", "60000"])
        .args(["--format", "terminal", "--format", "json", "--output"])
        .arg(&json)
        .output()
        .unwrap();
    eprintln!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "exit status");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), catalog::flow_cases().len());
    for case in cases {
        let verdict = case["verdict"].as_str().unwrap();
        assert!(
            verdict == "PASS" || verdict == "XFAIL",
            "{} {verdict}: {}",
            case["id"],
            case["message"]
        );
    }
    assert_trust_model(cases, true);
}

/// The money-flow faults of `lsps-server` (feature `faults`), each with the verdicts it must
/// cause at the flow tier; every other flow case of the fault's protocol must pass (or fail as
/// the reference's baseline says). A fault is caught by the case that checks its requirement (FAIL).
const FLOW_FAULTS: &[(&str, &[(&str, Verdict)])] = &[
    (
        "jit-skim-above-fee",
        &[
            ("lsps2.flow.no-mpp.delivered-within-fee", Verdict::Fail),
            ("lsps2.flow.mpp.parts-gathered-and-delivered", Verdict::Fail),
        ],
    ),
    (
        "jit-no-channel",
        &[
            ("lsps2.flow.mpp.parts-gathered-and-delivered", Verdict::Fail),
            // bLIP-52 names no MUST for the open in no-MPP mode: a warning only.
            ("lsps2.flow.no-mpp.delivered-within-fee", Verdict::Warn),
            // No open, so nothing to judge about the open itself.
            (
                "lsps2.flow.client-left-before-funding.fails-temporary-channel-failure",
                Verdict::Skip,
            ),
            (
                "lsps2.flow.client-left-before-funding.waits-for-payment-again",
                Verdict::Skip,
            ),
            (
                "lsps2.flow.funding-broadcast.follows-trust-model",
                Verdict::Skip,
            ),
        ],
    ),
    (
        "lsps1-claimed-without-channel",
        &[
            ("lsps1.flow.bolt11.channel-delivered", Verdict::Fail),
            // The wallet's refusal is never asked: the payment is taken before any open.
            (
                "lsps1.flow.bolt11.open-rejected.payment-failed-back",
                Verdict::Fail,
            ),
        ],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_money_flow_fault_is_caught_by_its_flow_case() {
    for info in lsps_server::faults::ALL {
        assert!(
            !info.fault.is_money_flow() || FLOW_FAULTS.iter().any(|(f, _)| *f == info.name),
            "money-flow fault {} has no expectation",
            info.name
        );
    }
    let baseline = Baseline::parse(
        &std::fs::read_to_string(BASELINE).unwrap(),
        &catalog::all_case_ids(),
    )
    .unwrap();
    let mut problems = Vec::new();
    for (fault, expected) in FLOW_FAULTS {
        let requirement = lsps_server::faults::ALL
            .iter()
            .find(|f| f.name == *fault)
            .map(|f| f.requirement)
            .unwrap();
        let reference = Reference::start(&[fault], |c| {
            self_test_config(c);
            flow_test_config(c);
        })
        .await
        .unwrap();
        let (url, cookie) = reference.server.dev_chain_rpc().unwrap();
        let env = FlowEnv::start(FlowSetup {
            lsp: reference.bolt8().unwrap(),
            rpc: RpcClient::with_cookie(&url, &cookie).unwrap(),
            payer_data_dir: None,
            wallet_seed: None,
            long: false,
            token: None,
            wait: Duration::from_secs(60),
        })
        .await
        .unwrap();
        let config = RunConfig {
            timeout: Duration::from_secs(60),
            baseline: Some(("reference-flow.yaml".into(), baseline.clone())),
            flow: Some(env.clone()),
            ..RunConfig::default()
        };
        // The cases of the fault's protocol (the other protocol's flow shares no code path
        // with it, and the run stays short).
        let protocol = if fault.starts_with("lsps1-") {
            "lsps1."
        } else {
            "lsps2."
        };
        let cases: Vec<_> = catalog::flow_cases()
            .into_iter()
            .filter(|c| c.id.starts_with(protocol))
            .collect();
        let report = run_cases(reference.bolt8_target().unwrap(), &cases, &config, &|_| {})
            .await
            .unwrap();
        drop(config);
        env.stop().await;
        reference.stop().await;
        for case in &report.cases {
            let want = expected
                .iter()
                .find(|(id, _)| *id == case.id)
                .map(|(_, v)| *v);
            let ok = match want {
                Some(v) => case.verdict == v,
                None => matches!(case.verdict, Verdict::Pass | Verdict::XFail),
            };
            if !ok {
                problems.push(format!(
                    "{fault}: {} is {} (expected {}): {}",
                    case.id,
                    case.verdict,
                    want.map(|v| v.as_str()).unwrap_or("PASS or XFAIL"),
                    case.message
                ));
            }
            if case.verdict == Verdict::Fail
                && !catalog::find(&case.id)
                    .unwrap()
                    .requirements
                    .contains(&requirement)
            {
                problems.push(format!(
                    "{fault} ({requirement}) failed {}, which does not check it",
                    case.id
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
