//! `lsps2 receive` and `lsps1 buy`: the commands that run an embedded node.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lsps_client::BuyLimits;
use lsps_core::types::Msat;
use serde_json::json;

use super::args::{BuyChannelArgs, ChainArgs, ReceiveArgs};
use super::lsps1::{order_request, print_watch_line, refund_address};
use super::order_watch;
use super::output::{Failure, emit, usage};
use lsps_client::receive::{
    JitWallet, PaymentOutcome, StrangerChannels, WalletConfig, WalletError,
};
use lsps_client::transport::bolt8::Bolt8Target;
use lsps_node::chain::ChainSource;
use lsps_node::chain::bitcoind::BitcoindChain;
use lsps_node::chain::dev_service::{COOKIE_FILE, RPC_URL_FILE};
use lsps_node::chain::rpc_client::RpcClient;

fn unreachable(message: String) -> Failure {
    Failure {
        code: 2,
        kind: "unreachable",
        message,
        lsp_error: None,
    }
}

fn failed(kind: &'static str, message: String) -> Failure {
    Failure {
        code: 1,
        kind,
        message,
        lsp_error: None,
    }
}

impl From<WalletError> for Failure {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Client(e) => e.into(),
            WalletError::Unreachable { .. } => unreachable(e.to_string()),
            WalletError::Node(lsps_node::NodeError::Chain(_)) => unreachable(e.to_string()),
            WalletError::NoSuchOffer { .. } => usage(e.to_string()),
            WalletError::Invoice(_) => failed("check_failed", e.to_string()),
            _ => failed("wallet", e.to_string()),
        }
    }
}

async fn chain(args: &ChainArgs) -> Result<Arc<dyn ChainSource>, Failure> {
    let network: bitcoin::Network = args
        .network
        .parse()
        .map_err(|_| usage(format!("--network {}: unknown network", args.network)))?;
    let rpc = match (&args.bitcoind_rpc, &args.bitcoind_cookie) {
        (Some(url), Some(cookie)) => RpcClient::with_cookie(url, cookie),
        _ => {
            let dir = args
                .chain_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("lsps-data").join("devchain"));
            let url_file = dir.join(RPC_URL_FILE);
            let url = std::fs::read_to_string(&url_file).map_err(|e| {
                unreachable(format!(
                    "reading {} ({e}): is a dev chain running? (--chain-dir or --bitcoind-rpc)",
                    url_file.display()
                ))
            })?;
            RpcClient::with_cookie(url.trim(), &dir.join(COOKIE_FILE))
        }
    }
    .map_err(|e| unreachable(format!("chain RPC: {e}")))?;
    let chain = BitcoindChain::connect(rpc, network)
        .await
        .map_err(|e| unreachable(format!("chain RPC: {e}")))?;
    Ok(chain)
}

/// The LSP and how the wallet node reaches it.
pub(super) struct Link {
    pub(super) lsp: Bolt8Target,
    pub(super) data_dir: PathBuf,
    pub(super) connect_timeout: Duration,
    pub(super) request_timeout: Duration,
    pub(super) json_output: bool,
}

/// The wallet node on `chain`, connected to the LSP.
async fn wallet(link: Link, chain: &ChainArgs) -> Result<JitWallet, Failure> {
    let chain = self::chain(chain).await?;
    Ok(JitWallet::start(WalletConfig {
        data_dir: link.data_dir,
        lsp: link.lsp,
        chain,
        connect_timeout: link.connect_timeout,
        request_timeout: link.request_timeout,
        strangers: StrangerChannels::Reject,
    })
    .await?)
}

pub(super) async fn run(args: ReceiveArgs, link: Link) -> Result<(), Failure> {
    let json_output = link.json_output;
    let wallet = wallet(link, &args.chain).await?;
    let limits = BuyLimits {
        max_fee_msat: args.max_fee_msat.map(Msat),
        accept_client_trusts_lsp: args.accept_client_trusts_lsp,
    };
    let purchase = wallet
        .buy(
            args.token.clone(),
            args.menu_index,
            args.amount_msat.map(Msat),
            &limits,
        )
        .await?;
    let invoice = wallet.invoice(
        &purchase,
        &args.description,
        Duration::from_secs(args.expiry_secs),
    )?;
    // The invoice alone on the first line, flushed, so a script can hand it to a payer.
    emit(&invoice.to_string());
    let hash = lightning::types::payment::PaymentHash(bitcoin::hashes::Hash::to_byte_array(
        *invoice.payment_hash(),
    ));
    let outcome = wallet
        .wait_for_payment(hash, Duration::from_secs(args.wait_secs))
        .await;
    if matches!(outcome, PaymentOutcome::Received(_)) {
        // The preimage must reach the LSP before the node stops, or the payer waits.
        let settled = wallet.wait_settled(hash, Duration::from_secs(30)).await;
        if !settled {
            eprintln!(
                "lsps: warning: claimed, but the LSP has not acknowledged the claim yet; run again with the same --data-dir to finish it"
            );
        }
    }
    wallet.shutdown();
    match outcome {
        PaymentOutcome::Received(received) => {
            if json_output {
                emit(
                    &json!({
                        "received_msat": received.received_msat.get(),
                        "opening_fee_msat": received.skimmed_fee_msat.get(),
                        "promised_opening_fee_msat": received.promised_opening_fee_msat.get(),
                        "channel_id": received.channel_id,
                        "payment_hash": hex::encode(hash.0),
                    })
                    .to_string(),
                );
            } else {
                emit(&format!(
                    "received_msat={} opening_fee_msat={} channel_id={}",
                    received.received_msat, received.skimmed_fee_msat, received.channel_id
                ));
            }
            Ok(())
        }
        PaymentOutcome::FailedBack(why) => Err(failed(
            "check_failed",
            format!("payment failed back: {why}"),
        )),
        PaymentOutcome::TimedOut => Err(failed(
            "timeout",
            format!("no payment within {} s", args.wait_secs),
        )),
    }
}

/// `lsps1 buy`: the order over the node's identity, what to pay, the watch, the channel.
pub(super) async fn buy_channel(args: BuyChannelArgs, link: Link) -> Result<(), Failure> {
    let refund = refund_address(&args.order)?;
    let json_output = link.json_output;
    let wallet = wallet(link, &args.chain).await?;
    let order = wallet
        .create_order(|options| order_request(&args.order, refund, options))
        .await?;
    // What to pay, alone on the first line, flushed, so a script can hand it to a payer.
    match (&order.payment.bolt11, &order.payment.onchain) {
        (Some(bolt11), _) => emit(&bolt11.invoice),
        (None, Some(onchain)) => emit(&format!(
            "onchain address={} amount_sat={}",
            onchain.address, onchain.order_total_sat
        )),
        (None, None) => {
            wallet.shutdown();
            return Err(failed(
                "check_failed",
                format!(
                    "order {}: the LSP offers neither a bolt11 invoice nor an on-chain address",
                    order.order_id
                ),
            ));
        }
    }
    let wait = Duration::from_secs(args.wait_secs);
    let started = tokio::time::Instant::now();
    let mut completed = None;
    let end = order_watch::watch(
        wallet.client(),
        order.order_id.clone(),
        wait,
        Duration::from_millis(args.poll_ms.max(1)),
        |order| {
            print_watch_line(order, json_output);
            completed = order.channel.clone();
        },
    )
    .await;
    let outcome = match end {
        Ok(order_watch::WatchEnd::Completed) => match completed {
            Some(channel) => {
                let left = wait.saturating_sub(started.elapsed());
                match wallet
                    .wait_channel_usable(&channel.funding_outpoint, left)
                    .await
                {
                    Some(local) => {
                        let fields = json!({
                            "order_id": order.order_id,
                            "channel_id": local.channel_id.to_string(),
                            "funding_outpoint": channel.funding_outpoint,
                            "outbound_msat": local.outbound_capacity_msat,
                            "inbound_msat": local.inbound_capacity_msat,
                        });
                        if json_output {
                            emit(&fields.to_string());
                        } else {
                            emit(&format!(
                                "order_id={} channel_id={} funding_outpoint={} outbound_msat={} inbound_msat={}",
                                order.order_id,
                                local.channel_id,
                                channel.funding_outpoint,
                                local.outbound_capacity_msat,
                                local.inbound_capacity_msat
                            ));
                        }
                        Ok(())
                    }
                    None => Err(failed(
                        "check_failed",
                        format!(
                            "the order is COMPLETED with channel {}, but no usable channel from the LSP has that funding outpoint here",
                            channel.funding_outpoint
                        ),
                    )),
                }
            }
            // A COMPLETED order without `channel` breaks bLIP-51; the client check
            // in get_order refuses such an answer before it gets here.
            None => Err(failed(
                "check_failed",
                "the order is COMPLETED without a channel".into(),
            )),
        },
        Ok(order_watch::WatchEnd::Failed) => Err(failed("order_failed", "the order FAILED".into())),
        Ok(order_watch::WatchEnd::TimedOut) => Err(failed(
            "timeout",
            format!("the order is not final after {} s", args.wait_secs),
        )),
        Err(e) => Err(e.into()),
    };
    wallet.stop().await;
    outcome
}
