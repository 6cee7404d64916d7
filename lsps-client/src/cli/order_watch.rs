//! `lsps lsps1 get-order <id> --watch` (a module of the `lsps` binary, not of the library):
//! poll `lsps1.get_order`, print one line per change of the order's states, end at a final
//! state.

use std::time::Duration;

use lsps_client::{ClientError, LspsClient};
use lsps_core::lsps1::{OrderId, OrderResult, OrderState};

/// How a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatchEnd {
    /// `COMPLETED`.
    Completed,
    /// `FAILED`.
    Failed,
    /// Neither within the wait.
    TimedOut,
}

/// The states of an order on one line: `order_state`, each offered option's `state`, and the
/// channel's funding outpoint once there is one. Two polls print the same line exactly when
/// nothing a watcher follows changed.
pub(crate) fn state_line(order: &OrderResult) -> String {
    let mut line = format!("order_state={}", super::output::wire(&order.order_state));
    if let Some(b) = &order.payment.bolt11 {
        line.push_str(&format!(" bolt11={}", super::output::wire(&b.state)));
    }
    if let Some(b) = &order.payment.bolt12 {
        line.push_str(&format!(" bolt12={}", super::output::wire(&b.state)));
    }
    if let Some(o) = &order.payment.onchain {
        line.push_str(&format!(" onchain={}", super::output::wire(&o.state)));
    }
    if let Some(c) = &order.channel {
        line.push_str(&format!(
            " channel={} expires_at={}",
            c.funding_outpoint, c.expires_at
        ));
    }
    line
}

/// Poll every `interval` for at most `wait`; `print` gets the order at every change (the
/// first poll included).
pub(crate) async fn watch(
    client: &LspsClient,
    order_id: OrderId,
    wait: Duration,
    interval: Duration,
    mut print: impl FnMut(&OrderResult),
) -> Result<WatchEnd, ClientError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut last: Option<String> = None;
    loop {
        let order = client.lsps1_get_order(order_id.clone()).await?;
        let line = state_line(&order);
        if last.as_deref() != Some(line.as_str()) {
            print(&order);
            last = Some(line);
        }
        match order.order_state {
            OrderState::Completed => return Ok(WatchEnd::Completed),
            OrderState::Failed => return Ok(WatchEnd::Failed),
            OrderState::Created => {}
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(WatchEnd::TimedOut);
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
    }
}
