//! Reader-side checks of an order object (bLIP-51 rules a client or runner can verify).

use super::MAX_PAYMENT_STRING_CHARS;
use super::msgs::{CreateOrderRequest, OrderResult, OrderState, PaymentState};
use super::state::PaymentKind;

/// A bLIP-51 rule an order object breaks. Each variant names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// `payment.<kind>.order_total_sat` ≠ `fee_total_sat + client_balance_sat`.
    #[error("payment.{kind}.order_total_sat must equal fee_total_sat + client_balance_sat")]
    TotalMismatch {
        /// `bolt11`, `bolt12` or `onchain`.
        kind: &'static str,
    },
    /// `payment.<kind>.state` is not allowed for that option (`HOLD` on-chain).
    #[error("payment.{kind}.state {state} is not allowed for this payment option")]
    StateNotAllowed {
        /// `bolt11`, `bolt12` or `onchain`.
        kind: &'static str,
        /// The wire state name.
        state: &'static str,
    },
    /// `payment.bolt11.invoice` or `payment.bolt12.offer` is longer than 2048 characters.
    #[error("payment.{kind}: invoice/offer longer than 2048 characters")]
    PaymentStringTooLong {
        /// `bolt11` or `bolt12`.
        kind: &'static str,
    },
    /// `payment.onchain.min_fee_for_0conf` is set although confirmations are required.
    #[error(
        "payment.onchain.min_fee_for_0conf must be absent when min_onchain_payment_confirmations > 0"
    )]
    ZeroConfFeeWithConfirmations,
    /// `order_state` is `COMPLETED` but `channel` is null.
    #[error("channel must not be null when order_state is COMPLETED")]
    CompletedWithoutChannel,
    /// `channel` is set but `order_state` is still `CREATED` (`channel` must stay null until the
    /// funding transaction is published, which makes the order `COMPLETED`).
    #[error(
        "channel must be null until the funding transaction is published (order_state CREATED)"
    )]
    ChannelBeforeCompleted,
    /// A Lightning option is `PAID` (preimage released) but the order is not `COMPLETED`.
    #[error("payment.{kind}.state PAID requires order_state COMPLETED")]
    PaidBeforeCompleted {
        /// `bolt11` or `bolt12`.
        kind: &'static str,
    },
    /// A mirrored field differs from the request.
    #[error("{field} does not mirror the create_order request")]
    NotMirrored {
        /// The order field.
        field: &'static str,
    },
    /// `payment.onchain` is present although the request had no `refund_onchain_address`.
    #[error("payment.onchain must be omitted when no refund_onchain_address was given")]
    OnchainWithoutRefundAddress,
}

impl OrderResult {
    /// Checks the order object's own invariants: per-option totals, allowed states,
    /// invoice/offer length, `min_fee_for_0conf` nullness, and channel/state consistency.
    pub fn validate(&self) -> Result<(), OrderError> {
        let client = self.order.client_balance_sat;
        let p = &self.payment;
        let options = [
            p.bolt11.as_ref().map(|o| {
                (
                    "bolt11",
                    PaymentKind::Bolt11,
                    o.state,
                    o.fee_total_sat,
                    o.order_total_sat,
                    o.invoice.chars().count(),
                )
            }),
            p.bolt12.as_ref().map(|o| {
                (
                    "bolt12",
                    PaymentKind::Bolt12,
                    o.state,
                    o.fee_total_sat,
                    o.order_total_sat,
                    o.offer.chars().count(),
                )
            }),
            p.onchain.as_ref().map(|o| {
                (
                    "onchain",
                    PaymentKind::Onchain,
                    o.state,
                    o.fee_total_sat,
                    o.order_total_sat,
                    0,
                )
            }),
        ];
        for (kind, pk, state, fee, total, len) in options.into_iter().flatten() {
            if fee.checked_add(client) != Some(total) {
                return Err(OrderError::TotalMismatch { kind });
            }
            if !state.allowed_for(pk) {
                return Err(OrderError::StateNotAllowed {
                    kind,
                    state: state.name(),
                });
            }
            if len > MAX_PAYMENT_STRING_CHARS {
                return Err(OrderError::PaymentStringTooLong { kind });
            }
            if pk.is_lightning()
                && state == PaymentState::Paid
                && self.order_state != OrderState::Completed
            {
                return Err(OrderError::PaidBeforeCompleted { kind });
            }
        }
        if let Some(o) = &p.onchain
            && o.min_onchain_payment_confirmations > 0
            && o.min_fee_for_0conf.is_some()
        {
            return Err(OrderError::ZeroConfFeeWithConfirmations);
        }
        match (self.order_state, &self.channel) {
            (OrderState::Completed, None) => Err(OrderError::CompletedWithoutChannel),
            (OrderState::Created, Some(_)) => Err(OrderError::ChannelBeforeCompleted),
            _ => Ok(()),
        }
    }

    /// Checks that the order mirrors the `create_order` request (token absent ⇔ `""`), and
    /// that on-chain payment is only offered when a refund address was given.
    pub fn check_mirrors(&self, request: &CreateOrderRequest) -> Result<(), OrderError> {
        let (a, b) = (&self.order, &request.order);
        let fields: [(&'static str, bool); 7] = [
            ("lsp_balance_sat", a.lsp_balance_sat == b.lsp_balance_sat),
            (
                "client_balance_sat",
                a.client_balance_sat == b.client_balance_sat,
            ),
            (
                "required_channel_confirmations",
                a.required_channel_confirmations == b.required_channel_confirmations,
            ),
            (
                "funding_confirms_within_blocks",
                a.funding_confirms_within_blocks == b.funding_confirms_within_blocks,
            ),
            (
                "channel_expiry_blocks",
                a.channel_expiry_blocks == b.channel_expiry_blocks,
            ),
            (
                "token",
                a.token.as_deref().unwrap_or("") == b.token.as_deref().unwrap_or(""),
            ),
            ("announce_channel", a.announce_channel == b.announce_channel),
        ];
        if let Some((field, _)) = fields.into_iter().find(|(_, same)| !same) {
            return Err(OrderError::NotMirrored { field });
        }
        if request.refund_onchain_address.is_none() && self.payment.onchain.is_some() {
            return Err(OrderError::OnchainWithoutRefundAddress);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::jsonrpc::from_value_at_path;
    use serde_json::{Value, json};

    fn order() -> Value {
        json!({
            "order_id": "bb4b5d0a-8334-49d8-9463-90a6d413af7c",
            "lsp_balance_sat": "5000000", "client_balance_sat": "2000000",
            "required_channel_confirmations": 0, "funding_confirms_within_blocks": 6,
            "channel_expiry_blocks": 144, "token": "", "created_at": "2012-04-23T18:25:43.511Z",
            "announce_channel": true, "order_state": "CREATED",
            "payment": {
                "bolt11": {"state": "EXPECT_PAYMENT", "expires_at": "2015-01-25T19:29:44.612Z",
                    "fee_total_sat": "8888", "order_total_sat": "2008888", "invoice": "lnbc1"},
                "bolt12": null,
                "onchain": {"state": "EXPECT_PAYMENT", "expires_at": "2015-01-25T19:29:44.612Z",
                    "fee_total_sat": "9999", "order_total_sat": "2009999",
                    "address": "bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr",
                    "min_fee_for_0conf": 253, "min_onchain_payment_confirmations": 0,
                    "refund_onchain_address": "bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h"}
            },
            "channel": null
        })
    }

    fn parse(v: Value) -> OrderResult {
        from_value_at_path::<OrderResult>(v).unwrap()
    }

    #[test]
    fn valid_order_passes_and_round_trips() {
        let o = parse(order());
        assert_eq!(o.validate(), Ok(()));
        assert_eq!(o.order.token, None);
        assert!(o.payment.bolt12.is_none());
        let mut expected = order();
        expected["payment"]
            .as_object_mut()
            .unwrap()
            .remove("bolt12");
        assert_eq!(serde_json::to_value(&o).unwrap(), expected);
    }

    #[test]
    fn cancelled_reads_as_refunded() {
        let mut v = order();
        v["payment"]["bolt11"]["state"] = json!("CANCELLED");
        let o = parse(v);
        assert_eq!(o.payment.bolt11.unwrap().state, PaymentState::Refunded);
    }

    #[test]
    fn invariants() {
        let mut v = order();
        v["payment"]["bolt11"]["order_total_sat"] = json!("2008889");
        assert_eq!(
            parse(v).validate(),
            Err(OrderError::TotalMismatch { kind: "bolt11" })
        );
        let mut v = order();
        v["payment"]["onchain"]["state"] = json!("HOLD");
        assert_eq!(
            parse(v).validate(),
            Err(OrderError::StateNotAllowed {
                kind: "onchain",
                state: "HOLD"
            })
        );
        let mut v = order();
        v["payment"]["onchain"]["min_onchain_payment_confirmations"] = json!(1);
        assert_eq!(
            parse(v).validate(),
            Err(OrderError::ZeroConfFeeWithConfirmations)
        );
        let mut v = order();
        v["order_state"] = json!("COMPLETED");
        assert_eq!(
            parse(v).validate(),
            Err(OrderError::CompletedWithoutChannel)
        );
        let mut v = order();
        v["payment"]["bolt11"]["state"] = json!("PAID");
        assert_eq!(
            parse(v).validate(),
            Err(OrderError::PaidBeforeCompleted { kind: "bolt11" })
        );
        let mut v = order();
        v["channel"] = json!({"funded_at": "2012-04-23T18:25:43.511Z",
            "funding_outpoint": "0301e0480b374b32851a9462db29dc19fe830a7f7d7a88b81612b9d42099c0ae:0",
            "expires_at": "2012-04-23T18:25:43.511Z"});
        assert_eq!(
            parse(v.clone()).validate(),
            Err(OrderError::ChannelBeforeCompleted)
        );
        v["order_state"] = json!("COMPLETED");
        assert_eq!(parse(v).validate(), Ok(()));
        let mut v = order();
        v["payment"]["bolt11"]["invoice"] = json!("l".repeat(2049));
        assert_eq!(
            parse(v).validate(),
            Err(OrderError::PaymentStringTooLong { kind: "bolt11" })
        );
    }

    #[test]
    fn nested_objects_must_be_objects() {
        for (path, bad) in [
            ("payment", json!([])),
            ("channel", json!(["2012-04-23T18:25:43.511Z"])),
        ] {
            let mut v = order();
            v[path] = bad;
            let e = from_value_at_path::<OrderResult>(v).unwrap_err();
            assert_eq!(e.property, path);
        }
        let mut v = order();
        v["payment"]["bolt11"] = json!(["EXPECT_PAYMENT"]);
        let e = from_value_at_path::<OrderResult>(v).unwrap_err();
        assert_eq!(e.property, "payment.bolt11");
    }

    #[test]
    fn mirrors_request() {
        let o = parse(order());
        let req: CreateOrderRequest = serde_json::from_value(json!({
            "lsp_balance_sat": "5000000", "client_balance_sat": "2000000",
            "required_channel_confirmations": 0, "funding_confirms_within_blocks": 6,
            "channel_expiry_blocks": 144, "token": "",
            "refund_onchain_address": "bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h",
            "announce_channel": true
        }))
        .unwrap();
        assert_eq!(o.check_mirrors(&req), Ok(()));
        let mut other = req.clone();
        other.order.channel_expiry_blocks = 12;
        assert_eq!(
            o.check_mirrors(&other),
            Err(OrderError::NotMirrored {
                field: "channel_expiry_blocks"
            })
        );
        other = req;
        other.refund_onchain_address = None;
        assert_eq!(
            o.check_mirrors(&other),
            Err(OrderError::OnchainWithoutRefundAddress)
        );
    }
}
