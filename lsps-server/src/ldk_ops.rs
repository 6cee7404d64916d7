//! The service's node work ([`NodeOps`]) performed by the LDK node.

use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning_invoice::{Bolt11InvoiceDescription, Description};

use crate::node::Node;
use crate::service::{InvoiceRequest, NodeError, NodeOps};

impl NodeOps for Node {
    fn intercept_scid(&self) -> u64 {
        self.channel_manager.get_intercept_scid()
    }

    fn bolt11_invoice(&self, request: &InvoiceRequest) -> Result<String, NodeError> {
        let description = Description::new(request.description.clone())
            .map_err(|e| NodeError::Invoice(format!("description: {e:?}")))?;
        let params = Bolt11InvoiceParameters {
            amount_msats: Some(request.amount_msat),
            description: Bolt11InvoiceDescription::Direct(description),
            invoice_expiry_delta_secs: Some(request.expiry_secs),
            min_final_cltv_expiry_delta: request.min_final_cltv_expiry_delta,
            ..Default::default()
        };
        self.channel_manager
            .create_bolt11_invoice(params)
            .map(|invoice| invoice.to_string())
            .map_err(|e| NodeError::Invoice(format!("{e:?}")))
    }

    fn onchain_address(&self) -> Result<String, NodeError> {
        self.wallet
            .new_address()
            .map(|address| address.to_string())
            .map_err(|e| NodeError::Wallet(e.to_string()))
    }

    fn inbound_liquidity_msat(&self) -> u64 {
        self.channel_manager
            .list_usable_channels()
            .iter()
            .map(|c| c.inbound_capacity_msat)
            .sum()
    }

    fn fundable_channel_sat(&self) -> u64 {
        self.fundable_sat()
    }
}
