//! LSPS2 handlers (bLIP-52): `get_info`, `buy`.

use lsps_core::jsonrpc::{ErrorObject, RequestId, Response};
use lsps_core::lsps2::{BuyRequest, BuyResult, GetInfoRequest, GetInfoResult, OpeningFeeParams};
use lsps_core::types::{NodeId, Scid};

use super::{
    BuyRecord, Ctx, Effect, Lsps2Service, Outcome, Service, ServiceState, datetime, raw_params,
};
use crate::faults::Fault;

/// What `valid-until-too-soon` uses instead of the configured validity.
const TOO_SOON_SECS: u64 = 60;

/// How many intercept SCIDs `buy` draws before it gives up on finding one that no live buy
/// holds. LDK's fake SCIDs come from a small space on a short dev chain, so a repeat is
/// possible; several in a row mean the node is out of fresh SCIDs.
pub(crate) const MAX_SCID_DRAWS: usize = 16;

/// Padding that makes a promise longer than 512 bytes (`promise-too-long`).
const PROMISE_PADDING: usize = 500;

pub(super) fn get_info(
    service: &Service,
    s: &Lsps2Service,
    peer: &NodeId,
    id: RequestId,
    params: GetInfoRequest,
    ctx: Ctx,
) -> Outcome {
    let faults = service.faults;
    if let Some(token) = &params.token
        && !s.config.accepted_tokens.iter().any(|t| t == token)
        && !faults.has(Fault::Lsps2TokenIgnored)
    {
        return Outcome::reply(Response::error(
            Some(id),
            ErrorObject::lsps2_unrecognized_or_stale_token(),
        ));
    }
    let promises = s.promise_key.for_client(peer);
    let mut menu: Vec<OpeningFeeParams> = s
        .menu
        .iter()
        .map(|entry| {
            let valid_for = if faults.has(Fault::ValidUntilTooSoon) {
                TOO_SOON_SECS
            } else {
                u64::from(entry.valid_for_secs)
            };
            let valid_until = datetime(ctx.now_ms.saturating_add(valid_for * 1000));
            let mut params = promises.issue(raw_params(entry, valid_until));
            if faults.has(Fault::PromiseTooLong) {
                params.promise.push_str(&"0".repeat(PROMISE_PADDING));
            }
            params
        })
        .collect();
    if faults.has(Fault::MenuUnordered) {
        menu.reverse();
    }
    Outcome::reply(Response::result(
        id,
        GetInfoResult {
            opening_fee_params_menu: menu,
        },
    ))
}

pub(super) fn buy(
    service: &Service,
    s: &Lsps2Service,
    state: &ServiceState,
    peer: &NodeId,
    id: RequestId,
    params: BuyRequest,
    ctx: Ctx,
) -> Outcome {
    let error = |e: ErrorObject| Outcome::reply(Response::error(Some(id.clone()), e));
    let faults = service.faults;
    if s.rejected.contains(peer) {
        return error(ErrorObject::client_rejected("this node is not served"));
    }
    let held = state.buys_per_peer.get(peer).copied().unwrap_or(0);
    if held >= service.limits.max_buys_per_peer {
        return error(ErrorObject::client_rejected(format!(
            "buy limit reached ({} JIT channels per peer)",
            service.limits.max_buys_per_peer
        )));
    }
    let fee_params = &params.opening_fee_params;
    let promise_ok = if faults.has(Fault::PromiseTooLong) && fee_params.promise.len() > 64 {
        let mut trimmed = fee_params.clone();
        trimmed.promise.truncate(64);
        s.promise_key.for_client(peer).verify(&trimmed)
    } else {
        s.promise_key.for_client(peer).verify(fee_params)
    };
    if !promise_ok && !faults.has(Fault::PromiseNotChecked) {
        return error(ErrorObject::lsps2_invalid_opening_fee_params());
    }
    // "valid_until is not a past datetime": the instant itself is still valid.
    if fee_params.valid_until.unix_millis() < ctx.now_ms
        && !faults.has(Fault::ExpiredParamsAccepted)
    {
        return error(ErrorObject::lsps2_invalid_opening_fee_params());
    }
    if let Some(size) = params.payment_size_msat {
        // The spec names no code for a size outside [min, max]; like LDK, below the minimum
        // is "too small" (202) and above the maximum "too large" (203).
        if !faults.has(Fault::SizeRangeNotChecked) {
            if size < fee_params.min_payment_size_msat {
                return error(ErrorObject::lsps2_payment_size_too_small());
            }
            if size > fee_params.max_payment_size_msat {
                return error(ErrorObject::lsps2_payment_size_too_large());
            }
        }
        let fee = match fee_params.opening_fee(size) {
            Ok(fee) => fee,
            Err(_) => return error(ErrorObject::lsps2_payment_size_too_large()),
        };
        let too_small = if faults.has(Fault::FeeEqualsSizeAccepted) {
            fee > size
        } else {
            fee >= size
        };
        if too_small {
            return error(ErrorObject::lsps2_payment_size_too_small());
        }
        if s.config.check_inbound_liquidity && service.node.inbound_liquidity_msat() < size.get() {
            return error(ErrorObject::lsps2_payment_size_too_large());
        }
    }
    // An intercept SCID must be unique among live buys: the accepted ones (in the state) and
    // the pending ones (reserved, not yet durable).
    let Some(reservation) = (0..MAX_SCID_DRAWS).find_map(|_| {
        let drawn = service.node.intercept_scid();
        if state.buy(drawn).is_some() {
            return None;
        }
        service.reserve_scid(drawn)
    }) else {
        tracing::error!("lsps2.buy: no unused intercept SCID after {MAX_SCID_DRAWS} draws");
        return error(ErrorObject::new(
            lsps_core::jsonrpc::code::INTERNAL_ERROR,
            format!(
                "Internal error: no unused intercept SCID after {MAX_SCID_DRAWS} draws, try again later"
            ),
            None,
        ));
    };
    let scid = Scid(reservation.scid());
    let record = BuyRecord {
        peer: *peer,
        jit_channel_scid: scid,
        opening_fee_params: params.opening_fee_params.clone(),
        payment_size_msat: params.payment_size_msat,
        lsp_cltv_expiry_delta: s.config.cltv_expiry_delta,
        client_trusts_lsp: s.config.client_trusts_lsp,
        created_at_ms: ctx.now_ms,
        state: lsps_core::lsps2::JitState::Bought.name().to_owned(),
    };
    let result = BuyResult {
        jit_channel_scid: scid,
        lsp_cltv_expiry_delta: s.config.cltv_expiry_delta,
        client_trusts_lsp: s.config.client_trusts_lsp,
    };
    Outcome {
        response: Response::result(id, result),
        effects: vec![Effect::InsertBuy(record)],
        scid_reservation: Some(reservation),
    }
}
