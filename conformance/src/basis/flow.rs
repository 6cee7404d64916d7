//! The basis of the flow-tier cases: bLIP-52 sections 4 and 5 (the JIT channel) and bLIP-51
//! sections 3 and 4 (the paid order).

use super::{Basis, Keyword};

const FORWARD_AT_LEAST: Basis = basis!(
    "LSPS2-R61",
    Must,
    "blip-0052.md#5--channel-opening-and-forwarding",
    "The LSP MUST ensure that each forwarded part forwards at least `htlc_minimum_msat` millisatoshis. The LSP MUST ensure that all parts forwarded sum up to at least `payment_size_msat - opening_fee`."
);

const EXTRA_FEE_TLV: Basis = basis!(
    "LSPS2-R62",
    Must,
    "blip-0052.md#5--channel-opening-and-forwarding",
    "The LSP MUST include an `extra_fee` (type 65537) TLV to the `update_add_htlc` message of forwarded parts that have had fees deducted."
);

const MPP_CONTINUE: Basis = basis!(
    "LSPS2-R45",
    Must,
    "blip-0052.md#4--payment",
    "When all conditions below are true, MUST continue to the next step: The current time is strictly less than `opening_fee_params.valid_until`. All received payment parts sum up to at least `payment_size_msat`. The client is connected."
);

const VALID_UNTIL_UNKNOWN_NEXT_PEER: Basis = basis!(
    "LSPS2-R43",
    Must,
    "blip-0052.md#4--payment",
    "MUST fail with `unknown_next_peer` if all parts have **NOT** summed up to at least `payment_size_msat` **AND** `opening_fee_params.valid_until` has passed."
);

const VALID_UNTIL_TIMEOUT: Basis = basis!(
    "LSPS2-R41",
    Must,
    "blip-0052.md#4--payment",
    "MUST also have, for all pending payment parts, a separate timeout at `opening_fee_params.valid_until`, described below."
);

const LSPS1_REJECT_ON_FAILURE: Basis = basis!(
    "LSPS1-R41",
    Must,
    "blip-0051.md#31-lightning-payments-using-bolt-11",
    "If the channel failed to open or the order expired or shortly before the payment times out: MUST reject the payment. MUST set the `payment.state` to `CANCELLED`."
);

const LSPS1_OPEN_WHEN_PAID: Basis = basis!(
    "LSPS1-R59",
    Must,
    "blip-0051.md#41-channel-open",
    "The LSP MUST open the channel under the following conditions: `payment.state` is `HOLD` (lightning) or `PAID` (on-chain)."
);

const LSPS1_OPEN_AS_ORDERED: Basis = basis!(
    "LSPS1-R61",
    Must,
    "blip-0051.md#41-channel-open",
    "MUST attempt a channel open. MUST respect the `announce_channel` flag. MUST open the channel with at least a capacity of `lsp_balance_sat` + `client_balance_sat`. MUST push `client_balance_sat` to the client."
);

const LSPS1_COMPLETED: Basis = basis!(
    "LSPS1-R64",
    Must,
    "blip-0051.md#41-channel-open",
    "In case the channel open succeeds MUST set `order_state` to `COMPLETED`. MUST update the channel object."
);

const LSPS1_FAILED: Basis = basis!(
    "LSPS1-R65",
    Must,
    "blip-0051.md#41-channel-open",
    "In case the channel open failed MUST set `order_state` to `FAILED`. MUST issue a refund."
);

const LSPS1_FUNDING_DEADLINE: Basis = basis!(
    "LSPS1-R66",
    Must,
    "blip-0051.md#note-about-channel-batching",
    "MAY open channels in batches, opening multiple channels in one transaction. The LSP MUST still ensure that the funding transaction gets confirmed within `funding_confirms_within_blocks` blocks after the client payment completed."
);

const CLIENT_LEFT_BEFORE_FUNDING: Basis = basis!(
    "LSPS2-R51",
    Must,
    "blip-0052.md#5--channel-opening-and-forwarding",
    "If the client disconnects before the LSP can receive `funding_signed` from the client, the LSP MUST fail the incoming payment parts with `temporary_channel_failure`, then return to the previous step (waiting for payment)."
);

/// `(case id, basis)` of the flow-tier cases.
pub(super) static TABLE: &[(&str, &[Basis])] = &[
    (
        "lsps2.flow.no-mpp.delivered-within-fee",
        &[FORWARD_AT_LEAST, EXTRA_FEE_TLV],
    ),
    (
        "lsps2.flow.mpp.parts-gathered-and-delivered",
        &[MPP_CONTINUE, FORWARD_AT_LEAST, EXTRA_FEE_TLV],
    ),
    (
        "lsps2.flow.no-mpp.fee-not-payable.fails-unknown-next-peer",
        &[basis!(
            "LSPS2-R46",
            Must,
            "blip-0052.md#4--payment",
            "In \"no-MPP+var-invoice\" mode, the LSP, if it receives a forward where the next hop is `jit_channel_scid`, before `opening_fee_params.valid_until`: [...] MUST check that `opening_fee + htlc_minimum_msat <= htlc_value_msat`, and if that fails, MUST fail with `unknown_next_peer`."
        )],
    ),
    (
        "lsps2.flow.client-rejects-channel.fails-unknown-next-peer",
        &[basis!(
            "LSPS2-R50",
            Must,
            "blip-0052.md#5--channel-opening-and-forwarding",
            "LSPs MUST fail the payment with `unknown_next_peer` in case the client rejects the channel open via an `error`."
        )],
    ),
    (
        "lsps2.flow.mpp.hold-timeout.fails-temporary-channel-failure",
        &[
            basis!(
                "LSPS2-R39",
                Must,
                "blip-0052.md#4--payment",
                "MUST fail with `temporary_channel_failure` if it implements the above timeout, and the timeout is reached."
            ),
            VALID_UNTIL_UNKNOWN_NEXT_PEER,
        ],
    ),
    (
        "lsps2.flow.mpp.valid-until.fails-unknown-next-peer",
        &[VALID_UNTIL_TIMEOUT, VALID_UNTIL_UNKNOWN_NEXT_PEER],
    ),
    (
        "lsps2.flow.client-left-before-funding.fails-temporary-channel-failure",
        &[CLIENT_LEFT_BEFORE_FUNDING],
    ),
    (
        "lsps2.flow.client-left-before-funding.waits-for-payment-again",
        &[CLIENT_LEFT_BEFORE_FUNDING],
    ),
    (
        "lsps2.flow.funding-broadcast.follows-trust-model",
        &[
            basis!(
                "LSPS2-R55",
                Must,
                "blip-0052.md#5--channel-opening-and-forwarding",
                "If `client_trusts_lsp` is specified and `true`: The LSP MAY wait for the client to send the preimage to the incoming payment via a `update_fulfill_htlc` before broadcasting the funding transaction. The client and LSP MUST immediately send `channel_ready`."
            ),
            basis!(
                "LSPS2-R56",
                Must,
                "blip-0052.md#5--channel-opening-and-forwarding",
                "If `client_trusts_lsp` is unspecified or `false`: The LSP MUST immediately broadcast the channel funding transaction and send `channel_ready`."
            ),
        ],
    ),
    (
        "lsps1.flow.bolt11.channel-delivered",
        &[
            basis!(
                "LSPS1-R39",
                Must,
                "blip-0051.md#31-lightning-payments-using-bolt-11",
                "MUST change the `payment.state` to `HOLD` when the payment arrived."
            ),
            basis!(
                "LSPS1-R40",
                Must,
                "blip-0051.md#31-lightning-payments-using-bolt-11",
                "If the channel has been opened successfully MUST release the preimage and therefore complete the payment. MUST set the `payment.state` to `PAID`."
            ),
            LSPS1_REJECT_ON_FAILURE,
            LSPS1_OPEN_WHEN_PAID,
            LSPS1_OPEN_AS_ORDERED,
            LSPS1_COMPLETED,
            LSPS1_FUNDING_DEADLINE,
        ],
    ),
    (
        "lsps1.flow.bolt11.open-rejected.payment-failed-back",
        &[
            LSPS1_REJECT_ON_FAILURE,
            basis!(
                "LSPS1-R41",
                Must,
                "blip-0051.md#31-lightning-payments-using-bolt-11",
                "`CANCELLED` Lightning payment has been cancelled. This state has been deprecated. The LSP MUST use `REFUNDED` for a cancelled or refunded invoice."
            ),
            LSPS1_FAILED,
        ],
    ),
    (
        "lsps1.flow.onchain.channel-delivered",
        &[
            basis!(
                "LSPS1-R51",
                Must,
                "blip-0051.md#33-onchain-payments",
                "MUST monitor the blockchain and update `onchain_payment`."
            ),
            basis!(
                "LSPS1-R54",
                Must,
                "blip-0051.md#33-onchain-payments",
                "MUST always set the transaction as confirmed after 6 block confirmations."
            ),
            basis!(
                "LSPS1-R55",
                Must,
                "blip-0051.md#33-onchain-payments",
                "MUST change the `payment.state` to `PAID` when the payment for the order is confirmed."
            ),
            LSPS1_OPEN_WHEN_PAID,
            LSPS1_OPEN_AS_ORDERED,
            LSPS1_COMPLETED,
            LSPS1_FUNDING_DEADLINE,
        ],
    ),
    (
        "lsps1.flow.onchain.open-rejected.refunded",
        &[
            basis!(
                "LSPS1-R56",
                Must,
                "blip-0051.md#33-onchain-payments",
                "If the order expired and the channel has NOT been opened, OR the channel open failed. MUST refund the client to `refund_onchain_address`."
            ),
            basis!(
                "LSPS1-R56",
                Must,
                "blip-0051.md#33-onchain-payments",
                "If the order expired and the channel has NOT been opened, OR the channel open failed. MUST set the payment `payment.state` to `REFUNDED`."
            ),
            basis!(
                "LSPS1-R56",
                Must,
                "blip-0051.md#33-onchain-payments",
                "The number of satoshi to refund MUST be `order_total_sat` MINUS transaction size * onchain fee rate. The LSP MUST choose a reasonable fee rate."
            ),
            LSPS1_FAILED,
        ],
    ),
];
