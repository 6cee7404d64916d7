//! In-memory [`Store`] for tests and benches (not durable).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Store, StoreError, StoredBuy, StoredOrder};

/// A [`Store`] that keeps everything in memory. Useful where durability is not under test.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    orders: BTreeMap<String, StoredOrder>,
    buys: BTreeMap<u64, StoredBuy>,
    closed: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| StoreError::Poisoned("memory store"))?;
        if inner.closed {
            return Err(StoreError::Closed);
        }
        f(&mut inner)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_order(&self, order: StoredOrder) -> Result<(), StoreError> {
        self.with(|inner| {
            if inner.orders.contains_key(&order.order_id) {
                return Err(StoreError::Duplicate(order.order_id));
            }
            inner.orders.insert(order.order_id.clone(), order);
            Ok(())
        })
    }

    async fn update_order(&self, order_id: &str, body: String) -> Result<(), StoreError> {
        self.with(|inner| match inner.orders.get_mut(order_id) {
            Some(order) => {
                order.body = body;
                Ok(())
            }
            None => Err(StoreError::NotFound(order_id.to_owned())),
        })
    }

    async fn update_order_flow(&self, order_id: &str, flow: String) -> Result<(), StoreError> {
        self.with(|inner| match inner.orders.get_mut(order_id) {
            Some(order) => {
                order.flow = Some(flow);
                Ok(())
            }
            None => Err(StoreError::NotFound(order_id.to_owned())),
        })
    }

    async fn insert_buy(&self, buy: StoredBuy) -> Result<(), StoreError> {
        self.with(|inner| {
            if inner.buys.contains_key(&buy.jit_channel_scid) {
                return Err(StoreError::Duplicate(buy.jit_channel_scid.to_string()));
            }
            inner.buys.insert(buy.jit_channel_scid, buy);
            Ok(())
        })
    }

    async fn update_buy(
        &self,
        jit_channel_scid: u64,
        body: String,
        jit_flow: String,
    ) -> Result<(), StoreError> {
        self.with(|inner| match inner.buys.get_mut(&jit_channel_scid) {
            Some(buy) => {
                buy.body = body;
                buy.jit_flow = Some(jit_flow);
                Ok(())
            }
            None => Err(StoreError::NotFound(jit_channel_scid.to_string())),
        })
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<StoredOrder>, StoreError> {
        self.with(|inner| Ok(inner.orders.get(order_id).cloned()))
    }

    async fn get_buy(&self, jit_channel_scid: u64) -> Result<Option<StoredBuy>, StoreError> {
        self.with(|inner| Ok(inner.buys.get(&jit_channel_scid).cloned()))
    }

    async fn load_orders(&self) -> Result<Vec<StoredOrder>, StoreError> {
        self.with(|inner| {
            let mut all: Vec<_> = inner.orders.values().cloned().collect();
            all.sort_by_key(|o| o.created_at_ms);
            Ok(all)
        })
    }

    async fn load_buys(&self) -> Result<Vec<StoredBuy>, StoreError> {
        self.with(|inner| {
            let mut all: Vec<_> = inner.buys.values().cloned().collect();
            all.sort_by_key(|b| b.created_at_ms);
            Ok(all)
        })
    }

    async fn close(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.closed = true;
        }
    }
}
