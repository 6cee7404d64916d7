//! The dev server's payer: a second node in `<data_dir>/dev-payer`, on the same embedded dev
//! chain, with a confirmed channel to this LSP, so a wallet developer can pay the invoices
//! their LSPS2/LSPS1 client shows with `lsps-server dev pay <invoice>` and nothing else.
//!
//! It sets itself up in the background (mine coins to its wallet, open a channel, confirm it:
//! about a second on the dev chain) and reuses the channel on the next start. The admin
//! listener's `POST /dev/pay` ([`crate::admin`]) waits for it to be ready, pays and answers
//! with the outcome ([`PayReport`]); the `dev pay` subcommand finds that listener through
//! `<data_dir>/admin.json`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::bolt11_invoice::Bolt11Invoice;
use lsps_node::chain::DevChain;
use lsps_node::payer::Payer;
use lsps_node::payments::{FailureUpdate, PaymentOutcome};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The payer's data dir inside the server's.
pub const DEV_PAYER_DIR: &str = "dev-payer";
/// Capacity of the payer's channel to the LSP.
pub const DEV_PAYER_CHANNEL_SAT: u64 = 5_000_000;
/// A channel that can still send this much is reused rather than topped up by a new one.
const MIN_OUTBOUND_MSAT: u64 = 100_000_000;
/// How long a `dev pay` waits for the payer's set-up.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the payer's set-up stands.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Setup {
    Running,
    Ready,
    Failed(String),
}

/// The running dev payer.
pub struct DevPayer {
    payer: Payer,
    setup: watch::Receiver<Setup>,
}

/// What `POST /dev/pay` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    /// A BOLT11 invoice.
    pub invoice: String,
    /// The amount, for an invoice without one.
    #[serde(default)]
    pub amount_msat: Option<u64>,
    /// How long to wait for the outcome [default: 60].
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// What `POST /dev/pay` answers.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PayReport {
    /// `paid` or `failed`.
    pub status: String,
    /// Hex payment hash.
    pub payment_hash: Option<String>,
    /// Hex preimage, when paid.
    pub preimage: Option<String>,
    /// Amount sent including fees, when paid.
    pub amount_msat: Option<u64>,
    /// Routing fees paid (what the LSP charged to forward, e.g. 0 for a JIT SCID hint).
    pub fee_paid_msat: Option<u64>,
    /// LDK's reason for a failure.
    pub failure_reason: Option<String>,
    /// Each failed path: the SCID blamed and whether the failure was permanent (a PERM code
    /// such as `unknown_next_peer`) or temporary (`temporary_channel_failure`).
    pub path_failures: Vec<PathFailureReport>,
}

/// One failed path, for people.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PathFailureReport {
    /// The SCID LDK blamed.
    pub short_channel_id: Option<u64>,
    /// `permanent`, `temporary`, or `unknown` (no network update).
    pub kind: String,
}

impl DevPayer {
    /// Start the payer in `<data_dir>/dev-payer` on `chain` and set up its channel to the LSP
    /// (`lsp` at `lsp_addr`) in the background.
    pub async fn start(
        data_dir: &Path,
        chain: Arc<DevChain>,
        lsp: PublicKey,
        lsp_addr: SocketAddr,
    ) -> anyhow::Result<Arc<Self>> {
        let payer = Payer::start(&data_dir.join(DEV_PAYER_DIR), chain.clone()).await?;
        let (report, setup) = watch::channel(Setup::Running);
        let this = Arc::new(Self { payer, setup });
        let task = this.clone();
        tokio::spawn(async move {
            let this = task;
            let result = this
                .payer
                .ensure_channel(
                    lsp,
                    lsp_addr,
                    DEV_PAYER_CHANNEL_SAT,
                    MIN_OUTBOUND_MSAT,
                    chain.as_ref(),
                )
                .await;
            let state = match result {
                Ok(()) => {
                    tracing::info!(payer = %this.payer.node_id(), "dev payer ready (channel to the LSP)");
                    Setup::Ready
                }
                Err(e) => {
                    tracing::error!("dev payer set-up failed: {e}");
                    Setup::Failed(e.to_string())
                }
            };
            let _ = report.send(state);
        });
        Ok(this)
    }

    /// The payer's node id.
    pub fn node_id(&self) -> PublicKey {
        self.payer.node_id()
    }

    /// Wait until the payer has its channel (at most `timeout`).
    pub async fn ready(&self, timeout: Duration) -> Result<(), String> {
        let mut setup = self.setup.clone();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                match &*setup.borrow_and_update() {
                    Setup::Ready => return Ok(()),
                    Setup::Failed(e) => return Err(e.clone()),
                    Setup::Running => {}
                }
                if setup.changed().await.is_err() {
                    return Err("the payer stopped".to_owned());
                }
            }
        })
        .await;
        waited.unwrap_or_else(|_| Err("the payer is not ready yet".to_owned()))
    }

    /// Pay as `request` says.
    pub async fn pay(&self, request: &PayRequest) -> Result<PayReport, String> {
        let invoice: Bolt11Invoice = request
            .invoice
            .trim()
            .parse()
            .map_err(|e| format!("not a BOLT11 invoice: {e}"))?;
        self.ready(READY_TIMEOUT).await?;
        let timeout = Duration::from_secs(request.timeout_secs.unwrap_or(60).clamp(1, 600));
        tracing::info!(payment_hash = %invoice.payment_hash(), "dev payer paying");
        match self.payer.pay(&invoice, request.amount_msat, timeout).await {
            Ok(outcome) => Ok(PayReport::from(&outcome)),
            // LDK would not even start it (no route, a bad amount): a failed payment too.
            Err(e @ lsps_node::NodeError::PaymentNotStarted(_)) => Ok(PayReport {
                status: "failed".into(),
                payment_hash: Some(invoice.payment_hash().to_string()),
                preimage: None,
                amount_msat: None,
                fee_paid_msat: None,
                failure_reason: Some(e.to_string()),
                path_failures: Vec::new(),
            }),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl From<&PaymentOutcome> for PayReport {
    fn from(outcome: &PaymentOutcome) -> Self {
        let path_failures = outcome
            .path_failures()
            .iter()
            .map(|f| PathFailureReport {
                short_channel_id: f.short_channel_id,
                kind: match f.update {
                    Some(FailureUpdate::Channel { permanent, .. })
                    | Some(FailureUpdate::Node { permanent }) => {
                        if permanent { "permanent" } else { "temporary" }.to_owned()
                    }
                    None => "unknown".to_owned(),
                },
            })
            .collect();
        match outcome {
            PaymentOutcome::Paid {
                payment_hash,
                preimage,
                amount_msat,
                fee_paid_msat,
                ..
            } => Self {
                status: "paid".into(),
                payment_hash: Some(hex::encode(payment_hash.0)),
                preimage: Some(hex::encode(preimage.0)),
                amount_msat: *amount_msat,
                fee_paid_msat: *fee_paid_msat,
                failure_reason: None,
                path_failures,
            },
            PaymentOutcome::Failed {
                payment_hash,
                reason,
                ..
            } => Self {
                status: "failed".into(),
                payment_hash: payment_hash.map(|h| hex::encode(h.0)),
                preimage: None,
                amount_msat: None,
                fee_paid_msat: None,
                failure_reason: Some(
                    reason.map_or_else(|| "unknown".to_owned(), |r| format!("{r:?}")),
                ),
                path_failures,
            },
        }
    }
}
