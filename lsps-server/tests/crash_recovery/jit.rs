//! LSPS2 (JIT): a crash at each point of the flow, and SIGTERM while the channel opens.

use super::*;

/// What a JIT crash test pays.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum JitPayment {
    /// 50 000 sat, no-MPP: opens, forwards, the client claims.
    Opens,
    /// 500 sat, below what pays the fee: failed back.
    TooSmall,
}

/// What must come out of the crash at a JIT point.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum JitExpect {
    /// The payment reaches the client after the restart.
    Paid,
    /// The payment is failed back (nothing opened, no fee).
    Failed,
    /// Either, consistently: the open did not survive, the parts were failed back and the
    /// payer may have retried into the restarted LSP.
    PaidOrFailed,
}

async fn jit_crash(point: &str, pause: bool, payment: JitPayment, expect: JitExpect) {
    let started = Instant::now();
    let mut net = Net::start().await;
    let set_up = started.elapsed();
    let crash_at = if pause {
        format!("{point}{}", crash::PAUSE_SUFFIX)
    } else {
        point.to_owned()
    };
    net.lsp.spawn(Some(&crash_at));
    net.reconnect_payer().await;
    let client = LdkClient::connect_receiver(
        net.lsp.node_id,
        net.lsp.listen,
        net.chain.source.clone() as Arc<dyn ChainSource>,
    )
    .await
    .unwrap();
    let menu = client.lsps2_get_info(None).await.unwrap();
    let params = menu[0].clone();
    let bought = client.lsps2_buy(params.clone(), None).await.unwrap();
    let scid = bought.intercept_scid;
    let invoice = client.lsps2_invoice(&bought, &params, None, None).unwrap();
    let amount = match payment {
        JitPayment::Opens => 50_000_000,
        JitPayment::TooSmall => 500_000,
    };
    let pay = net.pay(&invoice, Some(amount));
    net.lsp.crashed_at(point, pause).await;

    // Restart on the same data dir, without the crash point; payer and client come back.
    let restarted = Instant::now();
    net.lsp.spawn(None);
    net.reconnect_payer().await;
    client
        .node()
        .node
        .connect(net.lsp.node_id, net.lsp.listen, WAIT)
        .await
        .unwrap();
    let outcome = outcome_of(pay, &net.lsp).await;
    let paid = matches!(outcome, PaymentOutcome::Paid { .. });
    match expect {
        JitExpect::Paid => assert!(paid, "{point}: payer {outcome:?}"),
        JitExpect::Failed => assert!(!paid, "{point}: payer {outcome:?}"),
        JitExpect::PaidOrFailed => {}
    }
    eprintln!(
        "{point}: payer {outcome:?} {:?} after the restart",
        restarted.elapsed()
    );
    assert_nothing_in_flight(&net.payer, &net.lsp.node_id).await;
    let promised = lsps_core::lsps2::opening_fee(
        lsps_core::types::Msat(amount),
        lsps_core::types::Msat(params.min_fee_msat),
        lsps_core::types::Ppm(params.proportional),
    )
    .map_or(0, |f| f.get());
    let hash: [u8; 32] = *invoice.payment_hash().as_ref();
    let claimed: Vec<_> = client
        .received()
        .into_iter()
        .filter(|r| r.payment_hash == hash && r.claimed)
        .collect();
    let lsp = &net.lsp;
    if paid {
        // Claimed once, the skim exactly the promised fee.
        assert_eq!(claimed.len(), 1, "{point}: claims {claimed:?}");
        assert_eq!(claimed[0].skimmed_fee_msat, promised);
        assert_eq!(claimed[0].amount_msat, amount - promised);
        wait_until("the buy's flow is DONE", || async {
            let view = lsp.admin(&format!("/admin/buys/{scid}")).await;
            let flow: JitFlow = serde_json::from_value(view["jit_flow"].clone()).unwrap();
            if flow.state() == JitState::Done {
                Ok(())
            } else {
                Err(format!("{:?}", flow.state()))
            }
        })
        .await;
    } else {
        assert!(
            claimed.is_empty(),
            "{point}: failed but claimed {claimed:?}"
        );
        // Every part the flow saw is failed; no fee.
        wait_until("the buy's parts are failed back", || async {
            let view = lsp.admin(&format!("/admin/buys/{scid}")).await;
            let flow: JitFlow = serde_json::from_value(view["jit_flow"].clone()).unwrap();
            // A forward LDK replayed and failed at start-up is recorded by the flow as its
            // forwards failing (back to BOUGHT), not part by part.
            let all_failed = flow.state() == JitState::Bought
                || flow
                    .parts()
                    .iter()
                    .all(|p| matches!(p.status, lsps_core::lsps2::flow::PartStatus::Failed { .. }));
            if all_failed && flow.fee_taken_msat().get() == 0 {
                Ok(())
            } else {
                Err(format!("{:?} {:?}", flow.state(), flow.parts()))
            }
        })
        .await;
    }
    let view = lsp.admin(&format!("/admin/buys/{scid}")).await;
    let flow: JitFlow = serde_json::from_value(view["jit_flow"].clone()).unwrap();
    assert_eq!(
        flow.fee_taken_msat().get(),
        if paid { promised } else { 0 },
        "{point}: fee taken once"
    );
    // Never a second channel: the client has one from the LSP when paid, none when the open
    // never happened or did not survive the crash. A forward LDK replays at start-up, before
    // the client is back, fails (the peer is away): the payer is repaid and the channel
    // stays, unpaid (`PaidOrFailed` only).
    let channels = client
        .node()
        .node
        .channel_manager
        .list_channels_with_counterparty(&lsp.node_id);
    let allowed = match (expect, paid) {
        (_, true) => 1..=1,
        (JitExpect::PaidOrFailed, false) => 0..=1,
        (_, false) => 0..=0,
    };
    assert!(
        allowed.contains(&channels.len()),
        "{point}: channels {channels:?}"
    );
    eprintln!(
        "JIT crash at {point} ({}): payer {}, fee {} msat, {} channel(s); set-up {set_up:?}, restart to settled {:?}, total {:?}",
        if pause { "SIGKILL" } else { "abort" },
        if paid { "paid" } else { "failed back" },
        flow.fee_taken_msat().get(),
        channels.len(),
        restarted.elapsed(),
        started.elapsed()
    );
    lsp.assert_no_stale_manager(point);
    client.shutdown();
    net.payer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_before_open() {
    jit_crash(
        crash::BEFORE_OPEN,
        false,
        JitPayment::Opens,
        JitExpect::PaidOrFailed,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_after_open() {
    jit_crash(
        crash::AFTER_OPEN,
        false,
        JitPayment::Opens,
        JitExpect::PaidOrFailed,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_after_open_sigkill() {
    jit_crash(
        crash::AFTER_OPEN,
        true,
        JitPayment::Opens,
        JitExpect::PaidOrFailed,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_before_forward() {
    jit_crash(
        crash::BEFORE_FORWARD,
        false,
        JitPayment::Opens,
        JitExpect::Paid,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_after_forward() {
    jit_crash(
        crash::AFTER_FORWARD,
        false,
        JitPayment::Opens,
        JitExpect::Paid,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_after_forward_sigkill() {
    // Killed from outside, the ChannelManager may already hold the forward (it is written by
    // its own task): LDK replays it at start-up before the client reconnects and fails it.
    jit_crash(
        crash::AFTER_FORWARD,
        true,
        JitPayment::Opens,
        JitExpect::PaidOrFailed,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_before_fail() {
    jit_crash(
        crash::BEFORE_FAIL,
        false,
        JitPayment::TooSmall,
        JitExpect::Failed,
    )
    .await;
}

/// Right after the claim both channels are still exchanging `commitment_signed` /
/// `revoke_and_ack`. With monitors written synchronously a crash there left a ChannelMonitor
/// ahead of the stored ChannelManager, and LDK force-closed the channel at the restart; the
/// node kit now writes the ChannelManager first (lsps-node `persist`), and the restart must
/// find no stale ChannelManager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_after_claim() {
    jit_crash(
        crash::AFTER_CLAIM,
        false,
        JitPayment::Opens,
        JitExpect::Paid,
    )
    .await;
}

/// As [`jit_after_claim`], killed from outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_after_claim_sigkill() {
    jit_crash(crash::AFTER_CLAIM, true, JitPayment::Opens, JitExpect::Paid).await;
}

/// SIGTERM while the JIT channel is being opened: the shutdown lets the open finish and the
/// payment through (the client has claimed before the process exits, instead of the open being
/// cut off and the parts failed back after the restart); the restarted server shows the flow
/// DONE with the fee taken once, one channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jit_sigterm_mid_open_finishes_the_flow() {
    let started = Instant::now();
    let mut net = Net::start().await;
    net.lsp.spawn(None);
    net.reconnect_payer().await;
    let client = LdkClient::connect_receiver(
        net.lsp.node_id,
        net.lsp.listen,
        net.chain.source.clone() as Arc<dyn ChainSource>,
    )
    .await
    .unwrap();
    let menu = client.lsps2_get_info(None).await.unwrap();
    let params = menu[0].clone();
    let bought = client.lsps2_buy(params.clone(), None).await.unwrap();
    let invoice = client.lsps2_invoice(&bought, &params, None, None).unwrap();
    let amount = 40_000_000;
    let pay = net.pay(&invoice, Some(amount));
    net.lsp.wait_log("JIT channel open requested").await;
    let exit_after = net.lsp.terminate().await;
    let hash: [u8; 32] = *invoice.payment_hash().as_ref();
    let claimed_before_exit = client
        .received()
        .iter()
        .filter(|r| r.payment_hash == hash && r.claimed)
        .count();
    assert_eq!(
        claimed_before_exit, 1,
        "the open in flight was finished before the exit"
    );

    net.lsp.spawn(None);
    net.reconnect_payer().await;
    client
        .node()
        .node
        .connect(net.lsp.node_id, net.lsp.listen, WAIT)
        .await
        .unwrap();
    let outcome = outcome_of(pay, &net.lsp).await;
    assert!(
        matches!(outcome, PaymentOutcome::Paid { .. }),
        "{outcome:?}"
    );
    assert_nothing_in_flight(&net.payer, &net.lsp.node_id).await;
    let promised = lsps_core::lsps2::opening_fee(
        lsps_core::types::Msat(amount),
        lsps_core::types::Msat(params.min_fee_msat),
        lsps_core::types::Ppm(params.proportional),
    )
    .unwrap()
    .get();
    let view = net
        .lsp
        .admin(&format!("/admin/buys/{}", bought.intercept_scid))
        .await;
    let flow: JitFlow = serde_json::from_value(view["jit_flow"].clone()).unwrap();
    assert_eq!(flow.state(), JitState::Done);
    assert_eq!(flow.fee_taken_msat().get(), promised);
    assert_eq!(
        client
            .node()
            .node
            .channel_manager
            .list_channels_with_counterparty(&net.lsp.node_id)
            .len(),
        1
    );
    eprintln!(
        "JIT SIGTERM mid-open: exit {exit_after:?} after SIGTERM, paid, fee {promised} msat once; total {:?}",
        started.elapsed()
    );
    client.shutdown();
    net.payer.shutdown().await;
}
