//! LSPS1 handlers (bLIP-51): `create_order`, `get_order`. (`get_info` is the configured options.)

use lsps_core::jsonrpc::{ErrorObject, RequestId, Response};
use lsps_core::lsps1::flow::OrderTerms;
use lsps_core::lsps1::{
    Bolt11PaymentInfo, CreateOrderRequest, GetOrderRequest, OnchainPaymentInfo, OrderFlow, OrderId,
    OrderResult, OrderState, PaymentInfo, PaymentState,
};
use lsps_core::types::Ppm;
use lsps_core::types::{NodeId, OnchainAddress, Sat};

use super::{
    Completion, Ctx, Effect, InvoiceRequest, Lsps1Service, NodeResources, NodeWork, OrderRecord,
    Service, ServiceState, WriteKind, WritePlan, admit_peer, datetime, order_response,
};
use crate::faults::Fault;

/// The network the reference LSP runs on (the embedded dev chain).
const NETWORK: bitcoin::Network = bitcoin::Network::Regtest;

/// A UUIDv4 from 16 random bytes (bLIP-51: order ids SHOULD be UUIDv4).
pub(super) fn uuid_v4(entropy: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(entropy)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// `fee_base_sat + ceil(size × fee_ppm / 10^6)`, checked (the reference LSP's price; the
/// rounding is `Ppm`'s, shared with the LSPS2 opening fee).
fn order_fee(s: &Lsps1Service, channel_size: u64) -> Option<u64> {
    let ppm = Ppm(u32::try_from(s.config.fee_ppm).ok()?);
    let proportional = ppm.share_of_rounded_up(channel_size).ok()?;
    s.config.fee_base_sat.checked_add(proportional)
}

/// LDK fails a held payment back this many blocks before its HTLCs expire (its
/// `HTLC_FAIL_BACK_BUFFER`, 18 + 3), and needs this many on top at the least (its
/// `MIN_FINAL_CLTV_EXPIRY_DELTA`, 24).
const LDK_MIN_FINAL_CLTV: u16 = 24;
/// What LDK's own acceptor waits for before `channel_ready` when the client does not accept
/// the channel with zero confirmations (its default `minimum_depth`).
const CLIENT_MIN_DEPTH: u16 = 6;
/// Blocks of slack for the funding's propagation and the `channel_ready` exchange.
const OPEN_SLACK_BLOCKS: u16 = 12;
/// Payers refuse routes longer than this in total (LDK's default
/// `max_total_cltv_expiry_delta` is 1008); the invoice leaves room for the route's hops.
const MAX_HOLD_CLTV: u16 = 720;

/// The invoice's `min_final_cltv_expiry_delta`: the held HTLCs must outlive the open — the
/// funding confirming within `funding_confirms_within_blocks`, then `required_confirmations`
/// (at least the client's usual depth), LDK's fail-back buffer and the flow's claim margin
/// (it fails the payment back that many blocks before LDK's deadline).
pub(crate) fn hold_cltv_delta(
    config: &crate::config::Lsps1Config,
    funding_confirms_within_blocks: u16,
    required_confirmations: u16,
) -> u16 {
    let margin = u16::try_from(config.claim_margin_blocks).unwrap_or(u16::MAX);
    LDK_MIN_FINAL_CLTV
        .saturating_add(margin)
        .saturating_add(funding_confirms_within_blocks)
        .saturating_add(required_confirmations.max(CLIENT_MIN_DEPTH))
        .saturating_add(OPEN_SLACK_BLOCKS)
        .min(MAX_HOLD_CLTV)
}

/// What `complete_create_order` needs besides the node's resources.
#[derive(Debug, Clone)]
pub(super) struct OrderPlan {
    request: CreateOrderRequest,
    fee_sat: u64,
    total_sat: u64,
}

/// The rules of `lsps1.create_order` (pure): the plan and its node work, or the error to answer.
pub(super) fn plan_create_order(
    service: &Service,
    s: &Lsps1Service,
    state: &ServiceState,
    peer: &NodeId,
    params: CreateOrderRequest,
    ctx: Ctx,
) -> Result<(NodeWork, WriteKind), ErrorObject> {
    let faults = service.faults;
    admit_peer(
        &s.rejected,
        peer,
        &ctx,
        |owner| state.orders_of(owner),
        service.limits.max_orders_per_peer,
        |limit| format!("order limit reached ({limit} orders per peer)"),
    )?;
    if let Some(token) = params.order.effective_token()
        && !s.config.accepted_tokens.iter().any(|t| t == token)
        && !faults.has(Fault::Lsps1TokenIgnored)
    {
        return Err(ErrorObject::lsps1_unrecognized_or_stale_token());
    }
    if let Some(address) = &params.refund_onchain_address
        && !address.is_valid_for_network(NETWORK)
    {
        return Err(ErrorObject::invalid_param(
            "refund_onchain_address",
            format!("address is not for the {NETWORK} network"),
        ));
    }
    if let Err(mismatch) = params.order.check_against(&s.options) {
        let skip = faults.has(Fault::LspBalanceNotChecked)
            && mismatch.property == "max_initial_lsp_balance_sat";
        if !skip {
            if faults.has(Fault::OptionMismatchWrongCode) {
                return Err(ErrorObject::invalid_param(
                    mismatch.property,
                    mismatch.message,
                ));
            }
            return Err(mismatch.to_error_object());
        }
    }

    let order = &params.order;
    let client_balance = order.client_balance_sat.get();
    let overflow = |what: &str| {
        tracing::error!("lsps1.create_order: {what} overflow after the option check");
        ErrorObject::internal_error()
    };
    let channel_size = order
        .lsp_balance_sat
        .get()
        .checked_add(client_balance)
        .ok_or_else(|| overflow("channel size"))?;
    let fee_sat = order_fee(s, channel_size).ok_or_else(|| overflow("order fee"))?;
    let total_sat = if faults.has(Fault::OrderTotalWrong) {
        Some(fee_sat)
    } else {
        fee_sat.checked_add(client_balance)
    }
    .ok_or_else(|| overflow("order total"))?;
    let amount_msat = total_sat
        .checked_mul(1000)
        .ok_or_else(|| overflow("order total (msat)"))?;
    let needs = NodeWork {
        invoice: Some(InvoiceRequest {
            amount_msat,
            // No order id here: a retry after an id collision keeps this invoice.
            description: format!("LSPS1 channel order, {channel_size} sat"),
            expiry_secs: s.config.payment_expiry_secs,
            min_final_cltv_expiry_delta: Some(hold_cltv_delta(
                &s.config,
                order.funding_confirms_within_blocks,
                order.required_channel_confirmations,
            )),
        }),
        onchain_address: params.refund_onchain_address.is_some() && s.config.onchain_payment,
        ..NodeWork::default()
    };
    Ok((
        needs,
        WriteKind::CreateOrder(Box::new(OrderPlan {
            request: params,
            fee_sat,
            total_sat,
        })),
    ))
}

/// The order object and its effect, from the plan and the node's invoice and address (pure).
pub(super) fn complete_create_order(
    _service: &Service,
    s: &Lsps1Service,
    plan: &WritePlan,
    order_plan: &OrderPlan,
    resources: &NodeResources,
    entropy: [u8; 16],
) -> Result<(Response, Vec<Effect>), Completion> {
    let OrderPlan {
        request: params,
        fee_sat,
        total_sat,
    } = order_plan;
    let order_id = OrderId::new(uuid_v4(entropy))
        .map_err(|e| Completion::Internal(format!("order id: {e}")))?;
    let invoice = resources
        .invoice
        .clone()
        .ok_or_else(|| Completion::Internal("no invoice for the order".into()))?;
    let expires_at = datetime(
        plan.now_ms
            .saturating_add(u64::from(s.config.payment_expiry_secs) * 1000),
    );
    let onchain = match (&params.refund_onchain_address, &resources.onchain_address) {
        (Some(refund), Some(address)) => {
            address
                .parse::<OnchainAddress>()
                .ok()
                .map(|address| OnchainPaymentInfo {
                    state: PaymentState::ExpectPayment,
                    expires_at,
                    fee_total_sat: Sat(*fee_sat),
                    order_total_sat: Sat(*total_sat),
                    address,
                    min_onchain_payment_confirmations: s.config.min_onchain_payment_confirmations,
                    // bLIP-51: must be absent when confirmations are required; the dev LSP does
                    // not accept 0-conf on-chain payments.
                    min_fee_for_0conf: None,
                    refund_onchain_address: Some(refund.clone()),
                })
        }
        _ => None,
    };
    let mut mirrored = params.order.clone();
    if mirrored.effective_token().is_none() {
        mirrored.token = None;
    }
    let result = OrderResult {
        order_id: order_id.clone(),
        order: mirrored,
        created_at: datetime(plan.now_ms),
        order_state: OrderState::Created,
        payment: PaymentInfo {
            bolt11: Some(Bolt11PaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at,
                fee_total_sat: Sat(*fee_sat),
                order_total_sat: Sat(*total_sat),
                invoice,
            }),
            bolt12: None,
            onchain,
        },
        channel: None,
    };
    // The order's money flow starts with the order (CREATED, every option EXPECT_PAYMENT).
    let terms = OrderTerms::from_order(&result, plan.peer, params.refund_onchain_address.clone())
        .map_err(|e| Completion::Internal(format!("order flow: {e}")))?;
    let record = OrderRecord {
        peer: plan.peer,
        order: result.clone(),
        flow: Some(OrderFlow::new(terms, s.config.flow_config())),
        quota_owner: Some(plan.quota_owner),
    };
    Ok((
        order_response(plan.id.clone(), result, true),
        vec![Effect::InsertOrder {
            order_id,
            record: Box::new(record),
            created_at_ms: plan.now_ms,
        }],
    ))
}

pub(super) fn get_order(
    service: &Service,
    state: &ServiceState,
    peer: &NodeId,
    id: RequestId,
    params: GetOrderRequest,
) -> Response {
    // Another peer's order is "not found" too: order ids are not capabilities to be shared.
    match state.order(&params.order_id) {
        Some(record) if record.peer == *peer || service.faults.has(Fault::OrdersNotScoped) => {
            order_response(id, record.current(), false)
        }
        _ => {
            let error = if service.faults.has(Fault::UnknownOrderWrongCode) {
                ErrorObject::invalid_param("order_id", "unknown order")
            } else {
                ErrorObject::lsps1_not_found()
            };
            Response::error(Some(id), error)
        }
    }
}
