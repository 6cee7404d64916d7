//! The flow tier against a third party: lightning-liquidity 0.2.7's LSPS2 service (testkit's
//! `LdkLsp`, an LDK node doing real JIT opens) on a dev chain served over Bitcoin Core's RPC,
//! the way a vendor's LSP and the runner share a regtest `bitcoind`. The verdicts must match
//! `baselines/lightning-liquidity-0.2.7-flow.yaml` exactly (every deviation listed as XFAIL,
//! none gone away). `LSPS_CONFORMANCE_WRITE_BASELINE=1` rewrites the file from a run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use lsps_conformance::baseline::Baseline;
use lsps_conformance::catalog;
use lsps_conformance::flow::{FlowEnv, FlowSetup};
use lsps_conformance::render::Format;
use lsps_conformance::runner::{RunConfig, run_cases};
use lsps_conformance::transport::bolt8::Bolt8Target;
use lsps_conformance::verdict::Verdict;
use lsps_node::chain::dev_service::{DevChainService, DevChainServiceConfig};
use lsps_node::chain::rpc_client::RpcClient;
use std::sync::Arc;
use std::time::Duration;
use testkit::ldk_lsp::{FeeMenuEntry, LdkLsp, LdkLspConfig, default_menu};

const BASELINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/baselines/lightning-liquidity-0.2.7-flow.yaml"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightning_liquidity_flow_tier_matches_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let chain = DevChainService::start(DevChainServiceConfig {
        dir: dir.path().to_owned(),
        rpc_listen: ([127, 0, 0, 1], 0).into(),
        block_interval: None,
        user_password: None,
    })
    .await
    .unwrap();
    // The default menu plus a dearest entry valid for 8 s, so the valid_until case runs
    // without --long (the library lets the application choose each entry's validity).
    let mut menu = default_menu();
    let last = menu.last().cloned().unwrap();
    menu.push(FeeMenuEntry {
        min_fee_msat: last.min_fee_msat * 2,
        proportional: last.proportional * 2,
        validity: Duration::from_secs(8),
        ..last
    });
    let lsp = LdkLsp::start_on(
        chain.chain.clone(),
        LdkLspConfig {
            menu,
            accepted_tokens: Some(Vec::new()),
            ..LdkLspConfig::default()
        },
    )
    .await
    .unwrap();
    // The LSP funds its JIT channels from its own wallet: one mature coinbase.
    let script = lsp.node().wallet.new_address().unwrap().script_pubkey();
    chain.chain.mine(101, &script).unwrap();
    let lsp_id = lsp.node_id().to_string();
    let lsp_addr = lsp.addr().to_string();
    let env = FlowEnv::start(FlowSetup {
        lsp: format!("{lsp_id}@{lsp_addr}").parse().unwrap(),
        rpc: RpcClient::with_cookie(&chain.rpc_url(), chain.cookie_file()).unwrap(),
        payer_data_dir: None,
        wallet_seed: None,
        long: false,
        token: None,
        // Short: a payment the LSP neither fails nor forwards is TIMEOUT after this long.
        wait: Duration::from_secs(20),
    })
    .await
    .unwrap();
    let write = std::env::var_os("LSPS_CONFORMANCE_WRITE_BASELINE").is_some();
    let baseline = if write {
        None
    } else {
        Some((
            "baselines/lightning-liquidity-0.2.7-flow.yaml".to_owned(),
            Baseline::parse(
                &std::fs::read_to_string(BASELINE).unwrap_or_default(),
                &catalog::all_case_ids(),
            )
            .unwrap(),
        ))
    };
    let config = RunConfig {
        timeout: Duration::from_secs(20),
        baseline,
        flow: Some(env.clone()),
        ..RunConfig::default()
    };
    let target = Arc::new(Bolt8Target::new(&lsp_id, &lsp_addr).unwrap());
    let report = run_cases(target, &catalog::flow_cases(), &config, &|_| {})
        .await
        .unwrap();
    drop(config);
    eprintln!("{}", Format::Terminal.render(&report));
    eprintln!("flow tier took {} ms", report.run.duration_ms);
    env.stop().await;
    lsp.shutdown();
    chain.shutdown().await;
    if write {
        let generated =
            Baseline::from_report("lightning-liquidity 0.2.7 (flow tier)", &report.cases);
        std::fs::write(BASELINE, generated.to_yaml()).unwrap();
        return;
    }
    support::assert_as_the_baseline_says(&report.cases);
    // The JIT channel is delivered by lightning-liquidity too.
    assert!(
        report
            .cases
            .iter()
            .any(|c| c.id == "lsps2.flow.no-mpp.delivered-within-fee" && c.verdict == Verdict::Pass)
    );
}
