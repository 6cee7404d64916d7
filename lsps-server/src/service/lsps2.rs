//! LSPS2 handlers (bLIP-52): `get_info`, `buy`.

use lsps_core::jsonrpc::{ErrorObject, RequestId, Response};
use lsps_core::lsps2::flow::capacity_for;
use lsps_core::lsps2::{
    BuyRejection, BuyRequest, BuyResult, GetInfoRequest, GetInfoResult, JitConfig, JitFlow,
    JitState, OpeningFeeParams,
};
use lsps_core::types::{Msat, NodeId};

use super::{
    BuyRecord, Completion, Ctx, Effect, Lsps2Service, NodeResources, NodeWork, Service,
    ServiceState, WriteKind, WritePlan, admit_peer, datetime, raw_params,
};
use crate::faults::Fault;

/// What `valid-until-too-soon` uses instead of the configured validity.
const TOO_SOON_SECS: u64 = 60;

/// Padding that makes a promise longer than 512 bytes (`promise-too-long`).
const PROMISE_PADDING: usize = 500;

pub(super) fn get_info(
    service: &Service,
    s: &Lsps2Service,
    peer: &NodeId,
    id: RequestId,
    params: GetInfoRequest,
    ctx: Ctx,
) -> Response {
    let faults = service.faults;
    if let Some(token) = &params.token
        && !s.config.accepted_tokens.iter().any(|t| t == token)
        && !faults.has(Fault::Lsps2TokenIgnored)
    {
        return Response::error(Some(id), ErrorObject::lsps2_unrecognized_or_stale_token());
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
    Response::result(
        id,
        GetInfoResult {
            opening_fee_params_menu: menu,
        },
    )
}

/// What `complete_buy` needs besides the node's resources.
#[derive(Debug, Clone)]
pub(super) struct BuyPlan {
    request: BuyRequest,
}

/// The rules of `lsps2.buy` (pure): the plan and its node work, or the error to answer.
pub(super) fn plan_buy(
    service: &Service,
    s: &Lsps2Service,
    state: &ServiceState,
    peer: &NodeId,
    params: BuyRequest,
    ctx: Ctx,
) -> Result<(NodeWork, WriteKind), ErrorObject> {
    let faults = service.faults;
    // Only live buys count: an unused buy stops counting at its valid_until.
    admit_peer(
        &s.rejected,
        peer,
        &ctx,
        |owner| state.live_buys_of(owner, ctx.now_ms),
        service.limits.max_buys_per_peer,
        |limit| {
            format!(
                "buy limit reached ({limit} live JIT channel buys per peer; unused buys expire at their valid_until)"
            )
        },
    )?;
    let fee_params = &params.opening_fee_params;
    let promise_ok = if faults.has(Fault::PromiseTooLong) && fee_params.promise.len() > 64 {
        let mut trimmed = fee_params.clone();
        trimmed.promise.truncate(64);
        s.promise_key.for_client(peer).verify(&trimmed)
    } else {
        s.promise_key.for_client(peer).verify(fee_params)
    };
    if !promise_ok && !faults.has(Fault::PromiseNotChecked) {
        return Err(ErrorObject::lsps2_invalid_opening_fee_params());
    }
    let checked = if faults.has(Fault::SizeRangeNotChecked) {
        // The fault skips only the range; the fee rules still apply to the size.
        let mut unbounded = fee_params.clone();
        unbounded.min_payment_size_msat = Msat(0);
        unbounded.max_payment_size_msat = Msat(u64::MAX);
        unbounded.check_buy(params.payment_size_msat, datetime(ctx.now_ms))
    } else {
        fee_params.check_buy(params.payment_size_msat, datetime(ctx.now_ms))
    };
    if let Err(rejection) = checked {
        let waived = match rejection {
            BuyRejection::Expired { .. } => faults.has(Fault::ExpiredParamsAccepted),
            BuyRejection::FeeNotBelowSize { fee, size } => {
                faults.has(Fault::FeeEqualsSizeAccepted) && fee == size
            }
            _ => false,
        };
        if !waived {
            return Err(rejection.to_error_object());
        }
    }
    let needs = NodeWork {
        intercept_scid: true,
        inbound_liquidity: params.payment_size_msat.is_some() && s.config.check_inbound_liquidity,
        fundable_channel: true,
        ..NodeWork::default()
    };
    Ok((needs, WriteKind::Buy(Box::new(BuyPlan { request: params }))))
}

/// The buy record and its answer, from the plan and the node's SCID (pure).
pub(super) fn complete_buy(
    _service: &Service,
    s: &Lsps2Service,
    plan: &WritePlan,
    buy: &BuyPlan,
    resources: &NodeResources,
) -> Result<(Response, Vec<Effect>), Completion> {
    let params = &buy.request;
    if let (Some(size), Some(inbound)) =
        (params.payment_size_msat, resources.inbound_liquidity_msat)
        && inbound < size.get()
    {
        // bLIP-52 allows 203 for a size the LSP cannot carry at this time.
        return Err(Completion::Refused(
            ErrorObject::lsps2_payment_size_too_large(),
        ));
    }
    let jit_config = jit_config(&s.config);
    if let Some(fundable) = resources.fundable_channel_sat {
        let fee_params = &params.opening_fee_params;
        // MPP: the bought size must be fundable. no-MPP: the amount is the payer's choice, so
        // at least the smallest acceptable payment must be (a larger one that the wallet cannot
        // fund then fails back with unknown_next_peer when its open fails).
        let size = params
            .payment_size_msat
            .unwrap_or(fee_params.min_payment_size_msat);
        let needed = fee_params
            .opening_fee(size)
            .ok()
            .and_then(|fee| capacity_for(size.get().saturating_sub(fee.get()), &jit_config));
        if needed.is_none_or(|needed| needed > fundable) {
            return Err(Completion::Refused(match params.payment_size_msat {
                // bLIP-52 names 203 for a size the LSP cannot carry at this time.
                Some(_) => ErrorObject::lsps2_payment_size_too_large(),
                None => ErrorObject::client_rejected(
                    "the LSP cannot fund a JIT channel right now; try again later",
                ),
            }));
        }
    }
    let Some(scid) = resources.intercept_scid else {
        // The dispatcher found no unused SCID: a temporary refusal, not a server fault.
        return Err(Completion::Refused(ErrorObject::client_rejected(
            "no unused JIT channel SCID available right now; try again later",
        )));
    };
    let mut record = BuyRecord {
        peer: plan.peer,
        jit_channel_scid: scid,
        opening_fee_params: params.opening_fee_params.clone(),
        payment_size_msat: params.payment_size_msat,
        lsp_cltv_expiry_delta: s.config.cltv_expiry_delta,
        client_trusts_lsp: s.config.client_trusts_lsp,
        created_at_ms: plan.now_ms,
        state: JitState::Bought,
        quota_owner: Some(plan.quota_owner),
        flow: None,
    };
    record.flow = Some(JitFlow::new(record.terms(), jit_config));
    let result = BuyResult {
        jit_channel_scid: scid,
        lsp_cltv_expiry_delta: s.config.cltv_expiry_delta,
        client_trusts_lsp: s.config.client_trusts_lsp,
    };
    Ok((
        Response::result(plan.id.clone(), result),
        vec![Effect::InsertBuy(record)],
    ))
}

/// The JIT flow settings of the configured LSPS2 service.
pub(crate) fn jit_config(config: &crate::config::Lsps2Config) -> JitConfig {
    JitConfig {
        hold_timeout_ms: config.hold_timeout_ms,
        ..JitConfig::default()
    }
}
