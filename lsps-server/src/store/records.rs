//! The mapping between the service's records and the store's rows: which row an
//! [`Effect`] writes, and how the [`ServiceState`] is rebuilt from the rows at start-up.

use lsps_core::lsps1::flow::OrderTerms;
use lsps_core::lsps1::{OrderFlow, OrderFlowConfig, OrderId};
use lsps_core::lsps2::{JitConfig, JitFlow};

use super::{StoredBuy, StoredOrder};
use crate::service::{BuyRecord, Effect, OrderRecord, ServiceState};

/// A row to write.
#[derive(Debug, Clone)]
pub enum StoredRow {
    /// An order row.
    Order(StoredOrder),
    /// A buy row.
    Buy(StoredBuy),
    /// A new flow for an existing order row.
    OrderFlow {
        /// The order id.
        order_id: String,
        /// JSON of the flow.
        flow: String,
    },
    /// A new body and JIT flow for an existing buy row.
    BuyUpdate {
        /// The row's key.
        jit_channel_scid: u64,
        /// JSON of the buy record.
        body: String,
        /// JSON of the JIT flow.
        jit_flow: String,
    },
}

/// A persisted row the server cannot read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// The JSON body of an order row does not decode.
    #[error("order {order_id}: body does not decode")]
    OrderBody {
        /// The row's key.
        order_id: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The key of an order row is not a valid order id.
    #[error("order {order_id}: not a valid order id")]
    OrderId {
        /// The row's key.
        order_id: String,
        /// Why it is not valid.
        #[source]
        source: lsps_core::lsps1::OrderIdError,
    },
    /// The flow of an order row does not decode.
    #[error("order {order_id}: flow does not decode")]
    OrderFlow {
        /// The row's key.
        order_id: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON body of a buy row does not decode.
    #[error("buy {jit_channel_scid}: body does not decode")]
    BuyBody {
        /// The row's key.
        jit_channel_scid: u64,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The JIT flow column of a buy row does not decode.
    #[error("buy {jit_channel_scid}: JIT flow does not decode")]
    BuyFlow {
        /// The row's key.
        jit_channel_scid: u64,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
}

/// The row `effect` writes.
pub fn to_stored(effect: &Effect) -> Result<StoredRow, serde_json::Error> {
    Ok(match effect {
        Effect::InsertOrder {
            order_id,
            record,
            created_at_ms,
        } => StoredRow::Order(StoredOrder {
            order_id: order_id.as_str().to_owned(),
            peer_node_id: record.peer.to_string(),
            created_at_ms: *created_at_ms,
            body: serde_json::to_string(record)?,
            flow: record
                .flow
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        }),
        Effect::UpdateOrderFlow { order_id, flow } => StoredRow::OrderFlow {
            order_id: order_id.as_str().to_owned(),
            flow: serde_json::to_string(flow)?,
        },
        Effect::InsertBuy(buy) => StoredRow::Buy(StoredBuy {
            jit_channel_scid: buy.jit_channel_scid.0,
            peer_node_id: buy.peer.to_string(),
            created_at_ms: buy.created_at_ms,
            body: serde_json::to_string(buy)?,
            jit_flow: buy.flow.as_ref().map(serde_json::to_string).transpose()?,
        }),
        Effect::UpdateBuy(buy) => StoredRow::BuyUpdate {
            jit_channel_scid: buy.jit_channel_scid.0,
            body: serde_json::to_string(buy)?,
            jit_flow: serde_json::to_string(&flow_of(buy))?,
        },
    })
}

/// The buy's flow, or a fresh one from its terms (a record whose flow was never attached).
fn flow_of(buy: &BuyRecord) -> JitFlow {
    buy.flow
        .clone()
        .unwrap_or_else(|| JitFlow::new(buy.terms(), JitConfig::default()))
}

/// Rebuild the service state from persisted rows (start-up).
pub fn state_from_rows(
    orders: &[StoredOrder],
    buys: &[StoredBuy],
) -> Result<ServiceState, RowError> {
    let mut state = ServiceState::default();
    for row in orders {
        let mut record: OrderRecord =
            serde_json::from_str(&row.body).map_err(|source| RowError::OrderBody {
                order_id: row.order_id.clone(),
                source,
            })?;
        record.flow = match &row.flow {
            Some(flow) => {
                Some(
                    serde_json::from_str(flow).map_err(|source| RowError::OrderFlow {
                        order_id: row.order_id.clone(),
                        source,
                    })?,
                )
            }
            // Stored before flows were kept: its flow starts from the order as created (an
            // order the flow cannot drive keeps answering its stored states).
            None => OrderTerms::from_order(
                &record.order,
                record.peer,
                record
                    .order
                    .payment
                    .onchain
                    .as_ref()
                    .and_then(|o| o.refund_onchain_address.clone()),
            )
            .ok()
            .map(|terms| OrderFlow::new(terms, OrderFlowConfig::default())),
        };
        let order_id = OrderId::new(row.order_id.clone()).map_err(|source| RowError::OrderId {
            order_id: row.order_id.clone(),
            source,
        })?;
        state.apply(&Effect::InsertOrder {
            order_id,
            record: Box::new(record),
            created_at_ms: row.created_at_ms,
        });
    }
    for row in buys {
        let mut record: BuyRecord =
            serde_json::from_str(&row.body).map_err(|source| RowError::BuyBody {
                jit_channel_scid: row.jit_channel_scid,
                source,
            })?;
        record.flow = Some(match &row.jit_flow {
            Some(text) => serde_json::from_str(text).map_err(|source| RowError::BuyFlow {
                jit_channel_scid: row.jit_channel_scid,
                source,
            })?,
            // A row from before flows were persisted: no flow had started (every HTLC was
            // failed back then), so a fresh flow on the bought terms is the truth.
            None => JitFlow::new(record.terms(), JitConfig::default()),
        });
        state.apply(&Effect::InsertBuy(record));
    }
    Ok(state)
}
