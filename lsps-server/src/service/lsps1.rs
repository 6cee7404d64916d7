//! LSPS1 handlers (bLIP-51): `create_order`, `get_order`. (`get_info` is the configured options.)

use lsps_core::jsonrpc::{ErrorObject, RequestId, Response};
use lsps_core::lsps1::{
    Bolt11PaymentInfo, CreateOrderRequest, GetOrderRequest, OnchainPaymentInfo, OrderId,
    OrderResult, OrderState, PaymentInfo, PaymentState,
};
use lsps_core::types::{NodeId, OnchainAddress, Sat};

use super::{
    Ctx, Effect, Lsps1Service, OrderRecord, Outcome, Service, ServiceState, datetime,
    internal_error, order_response,
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

/// `fee_base_sat + ceil(size × fee_ppm / 10^6)`, checked.
fn order_fee(s: &Lsps1Service, channel_size: u64) -> Option<u64> {
    let proportional = channel_size
        .checked_mul(s.config.fee_ppm)?
        .checked_add(999_999)?
        / 1_000_000;
    s.config.fee_base_sat.checked_add(proportional)
}

pub(super) fn create_order(
    service: &Service,
    s: &Lsps1Service,
    state: &ServiceState,
    peer: &NodeId,
    id: RequestId,
    params: CreateOrderRequest,
    ctx: Ctx,
) -> Outcome {
    let error = |e: ErrorObject| Outcome::reply(Response::error(Some(id.clone()), e));
    let faults = service.faults;
    if s.rejected.contains(peer) {
        return error(ErrorObject::client_rejected("this node is not served"));
    }
    let held = state.orders_per_peer.get(peer).copied().unwrap_or(0);
    if held >= service.limits.max_orders_per_peer {
        return error(ErrorObject::client_rejected(format!(
            "order limit reached ({} orders per peer)",
            service.limits.max_orders_per_peer
        )));
    }
    // bLIP-51 writes an absent token as "", so "" reads as no token.
    if let Some(token) = params.order.token.as_deref().filter(|t| !t.is_empty())
        && !s.config.accepted_tokens.iter().any(|t| t == token)
        && !faults.has(Fault::Lsps1TokenIgnored)
    {
        return error(ErrorObject::lsps1_unrecognized_or_stale_token());
    }
    if let Some(address) = &params.refund_onchain_address
        && !address.is_valid_for_network(NETWORK)
    {
        return error(ErrorObject::invalid_param(
            "refund_onchain_address",
            format!("address is not for the {NETWORK} network"),
        ));
    }
    if let Err(mismatch) = params.order.check_against(&s.options) {
        let skip = faults.has(Fault::LspBalanceNotChecked)
            && mismatch.property == "max_initial_lsp_balance_sat";
        if !skip {
            if faults.has(Fault::OptionMismatchWrongCode) {
                return error(ErrorObject::invalid_param(
                    mismatch.property,
                    mismatch.message,
                ));
            }
            return error(mismatch.to_error_object());
        }
    }

    let order = &params.order;
    let client_balance = order.client_balance_sat.get();
    let Some(channel_size) = order.lsp_balance_sat.get().checked_add(client_balance) else {
        return internal_error(id, "channel size overflow after option check");
    };
    let Some(fee) = order_fee(s, channel_size) else {
        return internal_error(id, "order fee overflow");
    };
    let total = if faults.has(Fault::OrderTotalWrong) {
        Some(fee)
    } else {
        fee.checked_add(client_balance)
    };
    let Some(total) = total else {
        return internal_error(id, "order total overflow");
    };
    let Some(total_msat) = total.checked_mul(1000) else {
        return internal_error(id, "order total overflow (msat)");
    };
    let order_id = match OrderId::new(uuid_v4(ctx.entropy)) {
        Ok(order_id) => order_id,
        Err(e) => return internal_error(id, &e.to_string()),
    };
    let expires_at = datetime(
        ctx.now_ms
            .saturating_add(u64::from(s.config.payment_expiry_secs) * 1000),
    );
    let invoice = match service.node.bolt11_invoice(
        total_msat,
        &format!("LSPS1 order {}", order_id.as_str()),
        s.config.payment_expiry_secs,
    ) {
        Ok(invoice) => invoice,
        Err(e) => return internal_error(id, &format!("invoice: {e}")),
    };
    let onchain = match (&params.refund_onchain_address, s.config.onchain_payment) {
        (Some(refund), true) => service
            .node
            .onchain_address()
            .and_then(|a| a.parse::<OnchainAddress>().ok())
            .map(|address| OnchainPaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at,
                fee_total_sat: Sat(fee),
                order_total_sat: Sat(total),
                address,
                min_onchain_payment_confirmations: s.config.min_onchain_payment_confirmations,
                // bLIP-51: must be absent when confirmations are required; the dev LSP does
                // not accept 0-conf on-chain payments.
                min_fee_for_0conf: None,
                refund_onchain_address: Some(refund.clone()),
            }),
        _ => None,
    };
    let mut mirrored = params.order.clone();
    if mirrored.token.as_deref() == Some("") {
        mirrored.token = None;
    }
    let result = OrderResult {
        order_id: order_id.clone(),
        order: mirrored,
        created_at: datetime(ctx.now_ms),
        order_state: OrderState::Created,
        payment: PaymentInfo {
            bolt11: Some(Bolt11PaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at,
                fee_total_sat: Sat(fee),
                order_total_sat: Sat(total),
                invoice,
            }),
            bolt12: None,
            onchain,
        },
        channel: None,
    };
    let record = OrderRecord {
        peer: *peer,
        order: result.clone(),
    };
    Outcome {
        response: order_response(id, result, true),
        effects: vec![Effect::InsertOrder {
            order_id,
            record: Box::new(record),
            created_at_ms: ctx.now_ms,
        }],
        scid_reservation: None,
    }
}

pub(super) fn get_order(
    service: &Service,
    state: &ServiceState,
    peer: &NodeId,
    id: RequestId,
    params: GetOrderRequest,
) -> Outcome {
    // Another peer's order is "not found" too: order ids are not capabilities to be shared.
    match state.order(&params.order_id) {
        Some(record) if record.peer == *peer || service.faults.has(Fault::OrdersNotScoped) => {
            Outcome::reply(order_response(id, record.order.clone(), false))
        }
        _ => {
            let error = if service.faults.has(Fault::UnknownOrderWrongCode) {
                ErrorObject::invalid_param("order_id", "unknown order")
            } else {
                ErrorObject::lsps1_not_found()
            };
            Outcome::reply(Response::error(Some(id), error))
        }
    }
}
