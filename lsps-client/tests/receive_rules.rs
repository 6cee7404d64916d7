//! The wallet-side rules of bLIP-52 as library calls, without nodes: the JIT invoice, the
//! channel-acceptance policy and the skim check — each with the case that must be refused.
//!
//! Requirements checked here (client side): LSPS2-R36 (the invoice: expiry within valid_until,
//! the one route hint via the LSP with jit_channel_scid, zero fees and lsp_cltv_expiry_delta,
//! the +2 final CLTV margin, amount and MPP per mode), LSPS2-R60 and LSPS2-R63 (claim when what
//! arrived is at least payment − fee and the skim at most the promised fee; refuse otherwise),
//! LSPS2-R65 (the JIT channel accepts underpaying HTLCs, i.e. the onion amount check is
//! skipped for the JIT parts only). LSPS2-R64 (a wallet that received enough claims) is checked
//! with real nodes in lsps-server/tests/interop_our_wallet.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::Hash as _;
use bitcoin::hashes::sha256;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::bolt11_invoice::{Currency, InvoiceBuilder, RouteHint, RouteHintHop, RoutingFees};
use lightning::sign::{KeysManager, NodeSigner, Recipient};
use lightning::types::payment::{PaymentHash, PaymentSecret};
use lsps_client::receive::JitPurchase;
use lsps_client::receive::invoice::{
    InvoiceError, InvoiceFault, InvoiceTerms, advertised_min_final_cltv_expiry_delta,
    check_jit_invoice, jit_invoice,
};
use lsps_client::receive::policy::{
    ChannelDecision, ChannelRefusal, ChannelRequest, JitChannelPolicy, OPEN_AFTER_VALID_UNTIL,
    StrangerChannels,
};
use lsps_client::receive::skim::{SkimViolation, check_claimable};
use lsps_core::lsps2::{BuyResult, OpeningFeeParams};
use lsps_core::types::{Datetime, Msat, Ppm, Scid};

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

fn key(byte: u8) -> PublicKey {
    PublicKey::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[byte; 32]).unwrap(),
    )
}

fn keys() -> KeysManager {
    KeysManager::new(&[42; 32], 1, 0, true)
}

/// A purchase of 5 000 msat min fee + 2 000 ppm, valid for `valid_secs` from now.
fn purchase(payment_size_msat: Option<u64>, valid_secs: u64) -> JitPurchase {
    let valid_until =
        Datetime::from_unix_millis((now() + Duration::from_secs(valid_secs)).as_millis() as u64)
            .unwrap();
    JitPurchase {
        lsp: key(3),
        params: OpeningFeeParams {
            min_fee_msat: Msat(5_000),
            proportional: Ppm(2_000),
            valid_until,
            min_lifetime: 1008,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: Msat(1_000_000),
            max_payment_size_msat: Msat(1_000_000_000),
            promise: "p".into(),
        },
        payment_size_msat: payment_size_msat.map(Msat),
        buy: BuyResult {
            jit_channel_scid: Scid(0x0001_0000_0200_0003),
            lsp_cltv_expiry_delta: 144,
            client_trusts_lsp: false,
        },
    }
}

fn terms(expiry: Duration) -> InvoiceTerms {
    InvoiceTerms {
        payment_hash: PaymentHash([7; 32]),
        payment_secret: PaymentSecret([8; 32]),
        description: "jit".into(),
        enforced_min_final_cltv_expiry_delta: 24,
        confirmations_before_claim: 0,
        expiry,
        now: now(),
        currency: Currency::Regtest,
    }
}

#[test]
fn fixed_mode_invoice_has_amount_mpp_and_the_one_jit_route_hint() {
    let keys = keys();
    let purchase = purchase(Some(50_000_000), 3600);
    let invoice = jit_invoice(&purchase, &terms(Duration::from_secs(600)), &keys).unwrap();
    let client = keys.get_node_id(Recipient::Node).unwrap();

    assert_eq!(invoice.amount_milli_satoshis(), Some(50_000_000));
    assert!(invoice.features().unwrap().supports_basic_mpp());
    let hints = invoice.route_hints();
    assert_eq!(hints.len(), 1);
    assert_eq!(hints[0].0.len(), 1);
    let hop = &hints[0].0[0];
    assert_eq!(hop.src_node_id, purchase.lsp);
    assert_eq!(hop.short_channel_id, purchase.buy.jit_channel_scid.0);
    assert_eq!(
        (hop.fees.base_msat, hop.fees.proportional_millionths),
        (0, 0)
    );
    assert_eq!(hop.cltv_expiry_delta, 144);
    // The +2 rule: enforced 24, advertised 26.
    assert_eq!(invoice.min_final_cltv_expiry_delta(), 26);
    assert_eq!(invoice.payee_pub_key(), Some(&client));
    assert_eq!(invoice.recover_payee_pub_key(), client);
    assert_eq!(invoice.expiry_time(), Duration::from_secs(600));
    assert_eq!(check_jit_invoice(&invoice, &purchase, client, 24), vec![]);
}

#[test]
fn variable_mode_invoice_has_no_amount_and_no_mpp() {
    let keys = keys();
    let purchase = purchase(None, 3600);
    let invoice = jit_invoice(&purchase, &terms(Duration::from_secs(600)), &keys).unwrap();
    assert_eq!(invoice.amount_milli_satoshis(), None);
    assert!(!invoice.features().unwrap().supports_basic_mpp());
    let client = keys.get_node_id(Recipient::Node).unwrap();
    assert_eq!(check_jit_invoice(&invoice, &purchase, client, 24), vec![]);
}

#[test]
fn invoice_expiry_is_cut_to_valid_until() {
    let keys = keys();
    let purchase = purchase(Some(50_000_000), 100);
    let invoice = jit_invoice(&purchase, &terms(Duration::from_secs(3600)), &keys).unwrap();
    let expires = invoice.duration_since_epoch() + invoice.expiry_time();
    assert!(expires.as_millis() as u64 <= purchase.params.valid_until.unix_millis());
    assert!(invoice.expiry_time() <= Duration::from_secs(100));
    assert!(invoice.expiry_time() >= Duration::from_secs(98));
}

#[test]
fn expired_offer_gives_no_invoice() {
    let purchase = purchase(Some(50_000_000), 0);
    let err = jit_invoice(&purchase, &terms(Duration::from_secs(600)), &keys()).unwrap_err();
    assert!(matches!(err, InvoiceError::OfferExpired { .. }), "{err}");
}

#[test]
fn cltv_delta_beyond_16_bits_gives_no_invoice() {
    let mut purchase = purchase(Some(50_000_000), 3600);
    purchase.buy.lsp_cltv_expiry_delta = 70_000;
    let err = jit_invoice(&purchase, &terms(Duration::from_secs(600)), &keys()).unwrap_err();
    assert!(
        matches!(err, InvoiceError::LspCltvDeltaTooLarge(70_000)),
        "{err}"
    );
}

#[test]
fn final_cltv_margin_adds_confirmations_only_without_trust() {
    assert_eq!(
        advertised_min_final_cltv_expiry_delta(144, 0, false).unwrap(),
        146
    );
    assert_eq!(
        advertised_min_final_cltv_expiry_delta(144, 3, false).unwrap(),
        149
    );
    assert_eq!(
        advertised_min_final_cltv_expiry_delta(144, 3, true).unwrap(),
        146
    );
    assert!(advertised_min_final_cltv_expiry_delta(u16::MAX - 1, 0, false).is_err());
}

#[test]
fn invoice_check_names_every_broken_rule() {
    // An invoice a careless wallet might make: routing fees on the hint, a second hint, the
    // normal final CLTV without the margin, a variable amount in fixed mode.
    let keys = keys();
    let purchase = purchase(Some(50_000_000), 3600);
    let hop = |fee| RouteHintHop {
        src_node_id: purchase.lsp,
        short_channel_id: purchase.buy.jit_channel_scid.0,
        fees: RoutingFees {
            base_msat: fee,
            proportional_millionths: 0,
        },
        cltv_expiry_delta: 144,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    };
    let secp = Secp256k1::new();
    let secret = SecretKey::from_slice(&[9; 32]).unwrap();
    let stranger = PublicKey::from_secret_key(&secp, &secret);
    let invoice = InvoiceBuilder::new(Currency::Regtest)
        .description("x".into())
        .payment_hash(sha256::Hash::from_byte_array([1; 32]))
        .payment_secret(PaymentSecret([2; 32]))
        .duration_since_epoch(now())
        .min_final_cltv_expiry_delta(24)
        .expiry_time(Duration::from_secs(7200))
        .private_route(RouteHint(vec![hop(1)]))
        .build_signed(|hash| secp.sign_ecdsa_recoverable(hash, &secret))
        .unwrap();
    let client = keys.get_node_id(Recipient::Node).unwrap();
    let faults = check_jit_invoice(&invoice, &purchase, client, 24);
    assert!(
        faults
            .iter()
            .any(|f| matches!(f, InvoiceFault::ExpiresAfterValidUntil { .. }))
    );
    assert!(
        faults
            .iter()
            .any(|f| matches!(f, InvoiceFault::RouteHintHop(_)))
    );
    assert!(faults.contains(&InvoiceFault::Amount {
        found: None,
        expected: Some(50_000_000)
    }));
    assert!(faults.contains(&InvoiceFault::Mpp(false)));
    assert!(faults.contains(&InvoiceFault::FinalCltv {
        found: 24,
        required: 26
    }));
    assert!(faults.contains(&InvoiceFault::Payee { found: stranger }));
}

fn request(counterparty: PublicKey) -> ChannelRequest {
    ChannelRequest {
        counterparty,
        is_announced: false,
        scid_alias: true,
    }
}

#[test]
fn policy_takes_zero_conf_only_from_the_lsp_of_a_purchase() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    let purchase = purchase(Some(50_000_000), 3600);
    // Before the purchase even the LSP is a stranger.
    assert_eq!(
        policy.decide(&request(purchase.lsp)),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
    policy.expect(&purchase);
    let decision = policy.decide(&request(purchase.lsp));
    assert_eq!(decision, ChannelDecision::AcceptJit { to_self_delay: 144 });
    let overrides = decision.ldk_overrides().unwrap();
    assert_eq!(
        overrides.update_overrides.unwrap().accept_underpaying_htlcs,
        Some(true)
    );
    assert_eq!(
        overrides.handshake_overrides.unwrap().to_self_delay,
        Some(144)
    );
    // Anyone else: refused, and never zero-conf even when strangers are allowed.
    assert_eq!(
        policy.decide(&request(key(9))),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
    let open = JitChannelPolicy::new(StrangerChannels::AcceptConfirmed, 144);
    open.expect(&purchase);
    assert_eq!(
        open.decide(&request(key(9))),
        ChannelDecision::AcceptConfirmed
    );
    assert!(ChannelDecision::AcceptConfirmed.ldk_overrides().is_none());
    policy.forget(&purchase.lsp);
    assert_eq!(
        policy.decide(&request(purchase.lsp)),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
}

#[test]
fn policy_refuses_announced_or_alias_less_jit_channels() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    let purchase = purchase(None, 3600);
    policy.expect(&purchase);
    let mut announced = request(purchase.lsp);
    announced.is_announced = true;
    assert_eq!(
        policy.decide(&announced),
        ChannelDecision::Reject(ChannelRefusal::Announced)
    );
    let mut no_alias = request(purchase.lsp);
    no_alias.scid_alias = false;
    assert_eq!(
        policy.decide(&no_alias),
        ChannelDecision::Reject(ChannelRefusal::NoScidAlias)
    );
}

#[test]
fn policy_keeps_our_to_self_delay_within_the_bought_bound() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 2016);
    let mut tight = purchase(None, 3600);
    tight.params.max_client_to_self_delay = 1000;
    policy.expect(&tight);
    assert_eq!(
        policy.decide(&request(tight.lsp)),
        ChannelDecision::AcceptJit {
            to_self_delay: 1000
        }
    );
    let too_tight_policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    tight.params.max_client_to_self_delay = 100;
    too_tight_policy.expect(&tight);
    assert_eq!(
        too_tight_policy.decide(&request(tight.lsp)),
        ChannelDecision::Reject(ChannelRefusal::ToSelfDelayTooSmall(100))
    );
}

#[test]
fn skim_up_to_the_promised_fee_is_claimed() {
    // 2 000 ppm of 50 000 000 msat = 100 000 msat (above the 5 000 msat minimum).
    let fixed = purchase(Some(50_000_000), 3600);
    let approved = check_claimable(&fixed, 49_900_000, 100_000).unwrap();
    assert_eq!(approved.opening_fee_msat, Msat(100_000));
    assert_eq!(approved.received_msat, Msat(49_900_000));
    // Less skimmed than promised is fine.
    check_claimable(&fixed, 49_950_000, 50_000).unwrap();
    // Variable mode: the fee follows what the payer sent (10 000 000 → 20 000 msat).
    let variable = purchase(None, 3600);
    let approved = check_claimable(&variable, 9_980_000, 20_000).unwrap();
    assert_eq!(approved.payment_msat, Msat(10_000_000));
    assert_eq!(approved.opening_fee_msat, Msat(20_000));
}

#[test]
fn skim_above_the_promised_fee_is_refused() {
    let fixed = purchase(Some(50_000_000), 3600);
    assert_eq!(
        check_claimable(&fixed, 49_899_999, 100_001),
        Err(SkimViolation::SkimAboveFee {
            skimmed: Msat(100_001),
            fee: Msat(100_000)
        })
    );
    let variable = purchase(None, 3600);
    assert!(matches!(
        check_claimable(&variable, 9_979_999, 20_001),
        Err(SkimViolation::SkimAboveFee { .. })
    ));
}

#[test]
fn too_little_received_is_refused() {
    let fixed = purchase(Some(50_000_000), 3600);
    assert_eq!(
        check_claimable(&fixed, 49_800_000, 100_000),
        Err(SkimViolation::ReceivedTooLittle {
            received: Msat(49_800_000),
            payment: Msat(50_000_000),
            fee: Msat(100_000)
        })
    );
    let variable = purchase(None, 3600);
    assert_eq!(
        check_claimable(&variable, u64::MAX, 1),
        Err(SkimViolation::AmountOverflow)
    );
}

#[test]
fn policy_takes_an_ordered_lsps1_channel_as_ordered() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    let lsp = key(3);
    assert_eq!(
        policy.decide(&request(lsp)),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
    // An unannounced order usable at 2 confirmations: LDK is told that depth, not its 6.
    policy.expect_order(lsp, 2, false);
    let decision = policy.decide(&request(lsp));
    assert_eq!(decision, ChannelDecision::AcceptOrder { minimum_depth: 2 });
    assert_eq!(
        decision
            .ldk_overrides()
            .unwrap()
            .handshake_overrides
            .unwrap()
            .minimum_depth,
        Some(2)
    );
    // Opened announced although the order said not: refused, saying why.
    let mut announced = request(lsp);
    announced.is_announced = true;
    assert_eq!(
        policy.decide(&announced),
        ChannelDecision::Reject(ChannelRefusal::NotAsOrdered {
            ordered: false,
            offered: true
        })
    );
    // Another peer is still a stranger; a zero-conf order has no depth override (LDK's
    // trusted zero-conf accept sets it).
    assert_eq!(
        policy.decide(&request(key(9))),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
    policy.forget_order(&lsp);
    policy.expect_order(lsp, 0, false);
    let zero_conf = policy.decide(&request(lsp));
    assert_eq!(zero_conf, ChannelDecision::AcceptOrder { minimum_depth: 0 });
    assert!(zero_conf.ldk_overrides().is_none());
    policy.forget_order(&lsp);
    assert_eq!(
        policy.decide(&request(lsp)),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
}

#[test]
fn an_ordered_channel_is_taken_beside_a_jit_purchase_from_the_same_lsp() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    let purchase = purchase(None, 3600);
    policy.expect(&purchase);
    policy.expect_order(purchase.lsp, 1, true);
    // Announced (as ordered) and without scid-alias: the order's channel, not a bad JIT one.
    let mut ordered = request(purchase.lsp);
    ordered.is_announced = true;
    ordered.scid_alias = false;
    assert_eq!(
        policy.decide(&ordered),
        ChannelDecision::AcceptOrder { minimum_depth: 1 }
    );
    // A JIT-shaped channel is still the JIT one.
    assert_eq!(
        policy.decide(&request(purchase.lsp)),
        ChannelDecision::AcceptJit { to_self_delay: 144 }
    );
    // Without the order, the announced channel is refused as a JIT channel.
    policy.forget_order(&purchase.lsp);
    assert_eq!(
        policy.decide(&ordered),
        ChannelDecision::Reject(ChannelRefusal::Announced)
    );
}

#[test]
fn a_settled_purchase_is_no_longer_expected_and_others_stay() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    let first = purchase(None, 3600);
    let mut second = purchase(None, 3600);
    second.buy.jit_channel_scid = Scid(0x0001_0000_0200_0004);
    policy.expect(&first);
    policy.expect(&second);
    // Expecting a purchase again (a wallet restarted with its record) does not count it twice.
    policy.expect(&first);
    assert_eq!(policy.expected_purchases(), 2);
    policy.settled(first.buy.jit_channel_scid);
    assert_eq!(policy.expected_purchases(), 1);
    assert_eq!(
        policy.decide(&request(first.lsp)),
        ChannelDecision::AcceptJit { to_self_delay: 144 }
    );
    policy.settled(second.buy.jit_channel_scid);
    assert_eq!(policy.expected_purchases(), 0);
    assert_eq!(
        policy.decide(&request(first.lsp)),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
}

#[test]
fn a_purchase_long_past_valid_until_is_no_longer_expected() {
    let policy = JitChannelPolicy::new(StrangerChannels::Reject, 144);
    let mut stale = purchase(None, 0);
    stale.params.valid_until = Datetime::from_unix_millis(
        (now() - OPEN_AFTER_VALID_UNTIL - Duration::from_secs(1)).as_millis() as u64,
    )
    .unwrap();
    policy.expect(&stale);
    assert_eq!(policy.expected_purchases(), 0);
    assert_eq!(
        policy.decide(&request(stale.lsp)),
        ChannelDecision::Reject(ChannelRefusal::Stranger)
    );
    // Just past valid_until the LSP may still be opening: expected.
    let recent = purchase(None, 0);
    policy.expect(&recent);
    assert_eq!(
        policy.decide(&request(recent.lsp)),
        ChannelDecision::AcceptJit { to_self_delay: 144 }
    );
}
