//! `lsps lsps1 …`: get-info, create-order, get-order (and its `--watch`).

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lsps_client::LspsClient;
use lsps_core::lsps1;
use lsps_core::types::{Datetime, OnchainAddress, Sat};
use serde_json::json;

use super::args::CreateOrderArgs;
use super::order_watch;
use super::output::{Failure, Output, emit, usage, wire};

/// `lsps1 get-info`.
pub(crate) async fn get_info(client: &LspsClient, out: &Output) -> Result<(), Failure> {
    let info = client.lsps1_get_info().await?;
    out.print(&info, || lsps1_info_text(&info));
    Ok(())
}

/// `lsps1 create-order`.
pub(crate) async fn create_order(
    client: &LspsClient,
    args: &CreateOrderArgs,
    our_node_id: PublicKey,
    out: &Output,
) -> Result<(), Failure> {
    // bLIP-51: the client MUST call get_info first; its options also fill defaults.
    let refund = refund_address(args)?;
    let options = client.lsps1_get_info().await?;
    let request = order_request(args, refund, &options);
    let order = client.lsps1_create_order(request, Some(&options)).await?;
    out.print(&order, || {
        format!("our node id: {our_node_id}\n{}", order_text(&order))
    });
    Ok(())
}

/// `lsps1 get-order <id>`.
pub(crate) async fn get_order(
    client: &LspsClient,
    order_id: String,
    our_node_id: PublicKey,
    out: &Output,
) -> Result<(), Failure> {
    let order_id = lsps1::OrderId::new(order_id).map_err(|e| usage(format!("order id: {e}")))?;
    let order = client.lsps1_get_order(order_id).await?;
    out.print(&order, || {
        format!("our node id: {our_node_id}\n{}", order_text(&order))
    });
    Ok(())
}

/// `lsps1 get-order <id> --watch`.
pub(crate) async fn watch_order(
    client: &LspsClient,
    order_id: String,
    wait_secs: u64,
    poll_ms: u64,
    out: &Output,
) -> Result<(), Failure> {
    let order_id = lsps1::OrderId::new(order_id).map_err(|e| usage(format!("order id: {e}")))?;
    let end = order_watch::watch(
        client,
        order_id,
        Duration::from_secs(wait_secs),
        Duration::from_millis(poll_ms.max(1)),
        |order| print_watch_line(order, out.json),
    )
    .await?;
    match end {
        order_watch::WatchEnd::Completed => Ok(()),
        order_watch::WatchEnd::Failed => Err(Failure {
            code: 1,
            kind: "order_failed",
            message: "the order FAILED".into(),
            lsp_error: None,
        }),
        order_watch::WatchEnd::TimedOut => Err(Failure {
            code: 1,
            kind: "timeout",
            message: format!("the order is not final after {wait_secs} s"),
            lsp_error: None,
        }),
    }
}

/// One line of a watch: the order as JSON, or the time and its states.
pub(crate) fn print_watch_line(order: &lsps1::OrderResult, json_output: bool) {
    if json_output {
        emit(&json!(order).to_string());
    } else {
        emit(&format!(
            "{} {}",
            now_text(),
            order_watch::state_line(order)
        ));
    }
}

/// Now, as RFC 3339 UTC with milliseconds (the watch's line prefix).
fn now_text() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    lsps_core::types::Datetime::from_unix_millis(ms)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The `--refund-onchain-address` of `args`, parsed.
pub(crate) fn refund_address(args: &CreateOrderArgs) -> Result<Option<OnchainAddress>, Failure> {
    args.refund_onchain_address
        .as_deref()
        .map(|a| {
            a.parse::<OnchainAddress>()
                .map_err(|e| usage(format!("--refund-onchain-address: {e}")))
        })
        .transpose()
}

/// The `lsps1.create_order` request `args` ask for; what they leave out comes from the LSP's
/// `options` (its minimum confirmations, its fastest funding, its longest lease).
pub(crate) fn order_request(
    args: &CreateOrderArgs,
    refund_onchain_address: Option<OnchainAddress>,
    options: &lsps1::GetInfoResult,
) -> lsps1::CreateOrderRequest {
    lsps1::CreateOrderRequest {
        order: lsps1::OrderParams {
            lsp_balance_sat: Sat(args.lsp_balance_sat),
            client_balance_sat: Sat(args.client_balance_sat),
            required_channel_confirmations: args
                .required_channel_confirmations
                .unwrap_or(options.min_required_channel_confirmations),
            funding_confirms_within_blocks: args
                .funding_confirms_within_blocks
                .unwrap_or(options.min_funding_confirms_within_blocks),
            channel_expiry_blocks: args
                .channel_expiry_blocks
                .unwrap_or(options.max_channel_expiry_blocks),
            token: args.token.clone(),
            announce_channel: args.announce_channel,
        },
        refund_onchain_address,
    }
}

fn lsps1_info_text(info: &lsps1::GetInfoResult) -> String {
    format!(
        "min_required_channel_confirmations: {}\n\
         min_funding_confirms_within_blocks: {}\n\
         supports_zero_channel_reserve:      {}\n\
         max_channel_expiry_blocks:          {}\n\
         client balance (sat):               {} .. {}\n\
         lsp balance (sat):                  {} .. {}\n\
         channel size (sat):                 {} .. {}",
        info.min_required_channel_confirmations,
        info.min_funding_confirms_within_blocks,
        info.supports_zero_channel_reserve,
        info.max_channel_expiry_blocks,
        info.min_initial_client_balance_sat,
        info.max_initial_client_balance_sat,
        info.min_initial_lsp_balance_sat,
        info.max_initial_lsp_balance_sat,
        info.min_channel_balance_sat,
        info.max_channel_balance_sat,
    )
}

pub(crate) fn order_text(order: &lsps1::OrderResult) -> String {
    let mut text = format!(
        "order_id:    {}\norder_state: {}\ncreated_at:  {}\nlsp_balance_sat: {}  client_balance_sat: {}",
        order.order_id.as_str(),
        wire(&order.order_state),
        order.created_at,
        order.order.lsp_balance_sat,
        order.order.client_balance_sat,
    );
    let payment =
        |kind: &str, state: &lsps1::PaymentState, total: Sat, fee: Sat, before: &Datetime| {
            format!(
                "\n{kind}: {}, pay {total} sat (fee {fee} sat) before {before}",
                wire(state)
            )
        };
    if let Some(b) = &order.payment.bolt11 {
        text.push_str(&payment(
            "bolt11",
            &b.state,
            b.order_total_sat,
            b.fee_total_sat,
            &b.expires_at,
        ));
        // The invoice alone on its line, for copying into a wallet.
        text.push_str(&format!(":\n{}", b.invoice));
    }
    if let Some(b) = &order.payment.bolt12 {
        text.push_str(&payment(
            "bolt12",
            &b.state,
            b.order_total_sat,
            b.fee_total_sat,
            &b.expires_at,
        ));
        text.push_str(&format!("\n  {}", b.offer));
    }
    if let Some(o) = &order.payment.onchain {
        text.push_str(&payment(
            "onchain",
            &o.state,
            o.order_total_sat,
            o.fee_total_sat,
            &o.expires_at,
        ));
        text.push_str(&format!(
            " ({} confirmations) to:\n{} {}",
            o.min_onchain_payment_confirmations,
            o.address.as_str(),
            o.order_total_sat,
        ));
    }
    if let Some(c) = &order.channel {
        text.push_str(&format!(
            "\nchannel: funded_at {} outpoint {} expires_at {}",
            c.funded_at, c.funding_outpoint, c.expires_at
        ));
    }
    text
}
