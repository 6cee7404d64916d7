//! Named deliberate spec violations, for the conformance runner's self-test.
//!
//! Each fault breaks exactly one requirement of `spec/requirements` (IDs of spec-catalog §6), so
//! a self-test can start the reference server with one fault and check that exactly the cases
//! covering that requirement fail. Faults can only be switched on when the crate is built with
//! the `faults` cargo feature; without it [`FaultSet::has`] is a constant `false` and the faulty
//! branches are compiled out of the hot paths.

use std::fmt;
use std::str::FromStr;

/// One deliberate violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Fault {
    /// Unknown method answered with -32600 instead of -32601.
    UnknownMethodWrongCode,
    /// LSPS2 menu sent in descending fee order.
    MenuUnordered,
    /// LSPS2 `buy` does not verify `promise`.
    PromiseNotChecked,
    /// `error.data` sent as a JSON string on 201 replies.
    StringErrorData,
    /// An extra key in every `opening_fee_params`.
    ExtraFieldInOpeningFeeParams,
    /// `list_protocols` lists 0.
    ListProtocolsIncludesZero,
    /// Bad message format gets no reply at all.
    NoReplyToBadJson,
    /// After a bad message the peer is ignored until it reconnects (LDK's behaviour).
    MuteAfterError,
    /// LSPS2 `valid_until` only one minute ahead.
    ValidUntilTooSoon,
    /// LSPS1 order without token has `token: null` instead of `""`.
    TokenNotMirrored,
    /// -32700 replies carry the request id (or `""`) instead of `null`.
    ParseErrorIdNotNull,
    /// Unknown params answered with -32602 without `data.unrecognized`.
    UnrecognizedMissing,
    /// LSPS1 `create_order` accepts `lsp_balance_sat` above `max_initial_lsp_balance_sat`.
    LspBalanceNotChecked,
    /// LSPS1 bad token is accepted instead of 102.
    Lsps1TokenIgnored,
    /// LSPS2 unrecognised token gets a menu instead of 200.
    Lsps2TokenIgnored,
    /// LSPS1 `get_order` returns another peer's order.
    OrdersNotScoped,
    /// LSPS1 `order_total_sat` = `fee_total_sat` (client balance left out).
    OrderTotalWrong,
    /// LSPS2 `buy` accepts an expired `valid_until`.
    ExpiredParamsAccepted,
    /// LSPS2 `buy` accepts `opening_fee == payment_size_msat` (202 boundary off by one).
    FeeEqualsSizeAccepted,
    /// LSPS2 `buy` does not check `payment_size_msat` against [min, max].
    SizeRangeNotChecked,
    /// LSPS2 `promise` padded beyond 512 bytes.
    PromiseTooLong,
    /// LSPS1 `created_at` written without milliseconds.
    DatetimeWithoutMillis,
    /// LSPS1 `get_info` amount fields written as JSON numbers.
    AmountAsNumber,
    /// LSPS1 option mismatch answered with -32602 instead of 100.
    OptionMismatchWrongCode,
    /// LSPS1 `get_order` of an unknown id answered with -32602 instead of 101.
    UnknownOrderWrongCode,
    /// JIT forwards take 1 000 msat more than the promised opening fee.
    JitSkimAboveFee,
    /// JIT flows never open the channel: the parts are failed back as if the open failed.
    JitNoChannel,
    /// LSPS1 orders paid over Lightning: the held payment is claimed and no channel is opened
    /// (the open is reported failed, so the order ends `FAILED` with the payment kept).
    Lsps1ClaimedWithoutChannel,
}

/// A fault's name, the requirement it violates and what it does.
#[derive(Debug, Clone, Copy)]
pub struct FaultInfo {
    /// The fault.
    pub fault: Fault,
    /// Name used on the command line (`--fault NAME`).
    pub name: &'static str,
    /// The requirement ID (spec-catalog §6) that the fault violates.
    pub requirement: &'static str,
    /// One line for `--help` and reports.
    pub description: &'static str,
}

macro_rules! faults_table {
    ($(($variant:ident, $name:literal, $req:literal, $desc:literal)),* $(,)?) => {
        /// Every fault: (name, requirement id, description).
        pub const ALL: &[FaultInfo] = &[
            $(FaultInfo { fault: Fault::$variant, name: $name, requirement: $req, description: $desc },)*
        ];
    };
}

faults_table![
    (
        UnknownMethodWrongCode,
        "unknown-method-wrong-code",
        "LSPS0-R45",
        "unknown method answered with -32600 instead of -32601"
    ),
    (
        MenuUnordered,
        "menu-unordered",
        "LSPS2-R9",
        "LSPS2 fee menu sent in descending fee order"
    ),
    (
        PromiseNotChecked,
        "promise-not-checked",
        "LSPS2-R26",
        "lsps2.buy accepts a promise that does not match"
    ),
    (
        StringErrorData,
        "string-error-data",
        "LSPS0-R22",
        "201 replies carry error.data as a JSON string"
    ),
    (
        ExtraFieldInOpeningFeeParams,
        "extra-field-in-opening-fee-params",
        "LSPS2-R5",
        "every opening_fee_params carries an extra key"
    ),
    (
        ListProtocolsIncludesZero,
        "list-protocols-includes-zero",
        "LSPS0-R42",
        "lsps0.list_protocols lists protocol 0"
    ),
    (
        NoReplyToBadJson,
        "no-reply-to-bad-json",
        "LSPS0-R10",
        "a bad message format gets no reply"
    ),
    (
        MuteAfterError,
        "mute-after-error",
        "LSPS0-R11",
        "after a bad message the peer is ignored until it reconnects"
    ),
    (
        ValidUntilTooSoon,
        "valid-until-too-soon",
        "LSPS2-R6",
        "LSPS2 valid_until only 60 s ahead"
    ),
    (
        TokenNotMirrored,
        "token-not-mirrored",
        "LSPS1-R19",
        "order without token has token null instead of \"\""
    ),
    (
        ParseErrorIdNotNull,
        "parse-error-id-not-null",
        "LSPS0-R10",
        "-32700 replies carry id \"\" instead of null"
    ),
    (
        UnrecognizedMissing,
        "unrecognized-missing",
        "LSPS0-R31",
        "-32602 for unknown params lacks data.unrecognized"
    ),
    (
        LspBalanceNotChecked,
        "lsp-balance-not-checked",
        "LSPS1-R7",
        "create_order accepts lsp_balance_sat above the advertised maximum"
    ),
    (
        Lsps1TokenIgnored,
        "lsps1-token-ignored",
        "LSPS1-R26",
        "create_order accepts an unknown token instead of 102"
    ),
    (
        Lsps2TokenIgnored,
        "lsps2-token-ignored",
        "LSPS2-R3",
        "lsps2.get_info answers an unknown token with a menu instead of 200"
    ),
    (
        OrdersNotScoped,
        "orders-not-scoped",
        "LSPS1-R30",
        "get_order returns orders created by another peer"
    ),
    (
        OrderTotalWrong,
        "order-total-wrong",
        "LSPS1-R33",
        "order_total_sat leaves out client_balance_sat"
    ),
    (
        ExpiredParamsAccepted,
        "expired-params-accepted",
        "LSPS2-R27",
        "lsps2.buy accepts a valid_until in the past"
    ),
    (
        FeeEqualsSizeAccepted,
        "fee-equals-size-accepted",
        "LSPS2-R30",
        "lsps2.buy accepts opening_fee == payment_size_msat"
    ),
    (
        SizeRangeNotChecked,
        "size-range-not-checked",
        "LSPS2-R29",
        "lsps2.buy does not check payment_size_msat against [min, max]"
    ),
    (
        PromiseTooLong,
        "promise-too-long",
        "LSPS2-R12",
        "promise padded to more than 512 bytes"
    ),
    (
        DatetimeWithoutMillis,
        "datetime-without-millis",
        "LSPS0-R58",
        "created_at written without milliseconds"
    ),
    (
        AmountAsNumber,
        "amount-as-number",
        "LSPS0-R49",
        "lsps1.get_info *_sat values written as JSON numbers"
    ),
    (
        OptionMismatchWrongCode,
        "option-mismatch-wrong-code",
        "LSPS1-R24",
        "create_order option mismatch answered with -32602 instead of 100"
    ),
    (
        UnknownOrderWrongCode,
        "unknown-order-wrong-code",
        "LSPS1-R30",
        "get_order of an unknown id answered with -32602 instead of 101"
    ),
    (
        JitSkimAboveFee,
        "jit-skim-above-fee",
        "LSPS2-R61",
        "JIT forwards deliver 1000 msat less than payment - opening fee (the skim exceeds the promise)"
    ),
    (
        JitNoChannel,
        "jit-no-channel",
        "LSPS2-R45",
        "JIT flows fail the paid parts back instead of opening the channel"
    ),
    (
        Lsps1ClaimedWithoutChannel,
        "lsps1-claimed-without-channel",
        "LSPS1-R41",
        "LSPS1 orders paid over Lightning: the held payment is claimed and no channel opened (the order FAILED, the payment kept)"
    ),
];

impl Fault {
    /// The table entry of this fault.
    pub fn info(self) -> &'static FaultInfo {
        // ALL lists every variant in declaration order (checked by a test).
        &ALL[self as usize]
    }

    /// Name used on the command line.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether the fault shows only when money flows through the LSP (a payment, a channel
    /// open): the conformance runner's flow tier catches it, not a message exchange.
    pub fn is_money_flow(self) -> bool {
        matches!(
            self,
            Fault::JitSkimAboveFee | Fault::JitNoChannel | Fault::Lsps1ClaimedWithoutChannel
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--fault` name that is not in [`ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown fault {0:?}; known faults: {known}", known = ALL.iter().map(|f| f.name).collect::<Vec<_>>().join(", "))]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .find(|f| f.name == s)
            .map(|f| f.fault)
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// Why a fault set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// Name not in [`ALL`].
    #[error(transparent)]
    Unknown(#[from] UnknownFault),
    /// The crate was built without the `faults` feature.
    #[error("fault {0:?} requested but lsps-server was built without the `faults` cargo feature")]
    NotCompiledIn(String),
}

/// The faults switched on for one server. Empty unless built with the `faults` feature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSet(u64);

impl FaultSet {
    /// No faults: the conformant server.
    pub const NONE: FaultSet = FaultSet(0);

    /// Parse fault names. Fails on unknown names, and on any name when the `faults` feature is
    /// off (a conformance self-test must not silently run against the conformant server).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, FaultError> {
        let mut set = FaultSet::NONE;
        for name in names {
            let fault: Fault = name.as_ref().parse()?;
            if !cfg!(feature = "faults") {
                return Err(FaultError::NotCompiledIn(name.as_ref().to_owned()));
            }
            set.0 |= 1 << (fault as u8);
        }
        Ok(set)
    }

    /// Whether `fault` is switched on. Always `false` without the `faults` feature.
    #[inline(always)]
    pub fn has(self, fault: Fault) -> bool {
        cfg!(feature = "faults") && self.0 & (1 << (fault as u8)) != 0
    }

    /// Whether no fault is on.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The faults switched on.
    pub fn iter(self) -> impl Iterator<Item = Fault> {
        ALL.iter().map(|f| f.fault).filter(move |f| self.has(*f))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn table_is_in_declaration_order_and_names_are_unique() {
        for (i, info) in ALL.iter().enumerate() {
            assert_eq!(info.fault as usize, i, "{}", info.name);
            assert_eq!(info.name.parse::<Fault>().unwrap(), info.fault);
            assert!(info.requirement.starts_with("LSPS"), "{}", info.requirement);
        }
        let mut names: Vec<_> = ALL.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(ALL.len() < 64);
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert!(matches!(
            FaultSet::from_names(&["nope"]),
            Err(FaultError::Unknown(_))
        ));
        assert_eq!(FaultSet::from_names::<&str>(&[]).unwrap(), FaultSet::NONE);
    }

    #[cfg(feature = "faults")]
    #[test]
    fn names_switch_faults_on() {
        let set = FaultSet::from_names(&["menu-unordered", "mute-after-error"]).unwrap();
        assert!(set.has(Fault::MenuUnordered) && set.has(Fault::MuteAfterError));
        assert!(!set.has(Fault::PromiseNotChecked));
        assert_eq!(set.iter().count(), 2);
    }

    #[cfg(not(feature = "faults"))]
    #[test]
    fn faults_need_the_feature() {
        assert!(matches!(
            FaultSet::from_names(&["menu-unordered"]),
            Err(FaultError::NotCompiledIn(_))
        ));
    }
}
