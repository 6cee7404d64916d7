//! One test suite for every [`Store`] backend: SQLite always, PostgreSQL where it is installed
//! (skipped with the reason otherwise; required when `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;

use super::test_postgres::postgres_or_skip;
use super::{
    PostgresStore, SqliteStore, SqliteStoreOptions, Store, StoreError, StoredBuy, StoredOrder,
};

const NODE_A: &str = "02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NODE_B: &str = "03bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
/// A valid public key (the buy records name their client by one).
const CLIENT: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

fn order(id: &str, t: u64) -> StoredOrder {
    StoredOrder {
        order_id: id.into(),
        peer_node_id: "02aa".into(),
        created_at_ms: t,
        body: format!("{{\"id\":\"{id}\"}}"),
        flow: None,
    }
}

fn buy(scid: u64, t: u64) -> StoredBuy {
    StoredBuy {
        jit_channel_scid: scid,
        peer_node_id: "03bb".into(),
        created_at_ms: t,
        body: format!("{{\"scid\":{scid}}}"),
        jit_flow: None,
    }
}

/// Inserts, updates, reads, duplicates failing alone, `Closed` after close, rows surviving a
/// reopen in insertion order.
async fn rows_survive_reopen_and_duplicates_fail_alone<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let store = open().await;
    store.insert_order(order("a", 1)).await.unwrap();
    // A duplicate written together with a good row (one SQLite group) fails alone.
    let (b, c) = tokio::join!(
        store.insert_order(order("b", 2)),
        store.insert_order(order("a", 3)),
    );
    assert!(b.is_ok(), "{b:?}");
    assert!(matches!(c, Err(StoreError::Duplicate(id)) if id == "a"));
    store.insert_buy(buy(u64::MAX, 5)).await.unwrap();
    assert!(matches!(
        store.insert_buy(buy(u64::MAX, 6)).await,
        Err(StoreError::Duplicate(_))
    ));
    store.update_order("b", "{\"x\":1}".into()).await.unwrap();
    // A flow update writes the flow column only; an order may be inserted with its flow.
    store
        .update_order_flow("b", "{\"f\":1}".into())
        .await
        .unwrap();
    store
        .insert_order(StoredOrder {
            flow: Some("{\"f\":0}".into()),
            ..order("d", 7)
        })
        .await
        .unwrap();
    store
        .update_order_flow("d", "{\"f\":2}".into())
        .await
        .unwrap();
    assert!(matches!(
        store.update_order_flow("zz", "{}".into()).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .update_buy(u64::MAX, "{\"y\":2}".into(), "{\"f\":3}".into())
        .await
        .unwrap();
    assert!(matches!(
        store.update_order("zz", "{}".into()).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_buy(7, "{}".into(), "{}".into()).await,
        Err(StoreError::NotFound(_))
    ));
    store.close().await;
    assert!(matches!(
        store.insert_order(order("c", 4)).await,
        Err(StoreError::Closed)
    ));

    let store = open().await;
    let ids: Vec<String> = store
        .load_orders()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(ids, ["a", "b", "d"]);
    let b = store.get_order("b").await.unwrap().unwrap();
    assert_eq!(b.body, "{\"x\":1}");
    assert_eq!(b.flow.as_deref(), Some("{\"f\":1}"));
    let d = store.get_order("d").await.unwrap().unwrap();
    assert_eq!(
        (d.body, d.flow),
        (order("d", 7).body, Some("{\"f\":2}".into()))
    );
    let loaded = store.load_orders().await.unwrap();
    assert_eq!(loaded[2].flow.as_deref(), Some("{\"f\":2}"));
    assert_eq!(store.get_order("a").await.unwrap().unwrap(), order("a", 1));
    assert!(store.get_order("zz").await.unwrap().is_none());
    let buys = store.load_buys().await.unwrap();
    assert_eq!(buys.len(), 1);
    assert_eq!(buys[0].jit_channel_scid, u64::MAX);
    assert_eq!(buys[0].body, "{\"y\":2}");
    assert_eq!(buys[0].jit_flow.as_deref(), Some("{\"f\":3}"));
    assert!(store.get_buy(1).await.unwrap().is_none());
    store.close().await;
}

/// Many writers at once: every row lands once, loads come back in creation order.
async fn concurrent_writes_all_land(store: Arc<dyn Store>) {
    let writes = (0..200u64).map(|i| {
        let store = store.clone();
        async move {
            store.insert_order(order(&format!("o{i:03}"), i)).await?;
            store.insert_buy(buy(1_000 + i, i)).await
        }
    });
    for result in futures_join_all(writes).await {
        result.unwrap();
    }
    let orders = store.load_orders().await.unwrap();
    assert_eq!(orders.len(), 200);
    assert!(
        orders
            .windows(2)
            .all(|w| w[0].created_at_ms <= w[1].created_at_ms)
    );
    assert_eq!(store.load_buys().await.unwrap().len(), 200);
    store.close().await;
}

/// `join_all` without a futures dependency: spawn each and await in order.
async fn futures_join_all<T: Send + 'static>(
    futures: impl Iterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// A buy's JIT flow goes to its own column and comes back whole: inserted with the buy, moved
/// on by a step (a part held, the channel open asked for), stored with the new body, reloaded
/// after a reopen into the same flow; a row from before the column gets a fresh flow.
async fn jit_flows_survive_reopen<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    use crate::service::{BuyRecord, Effect};
    use crate::store::{StoredRow, state_from_rows, to_stored};
    use lsps_core::ids::{InterceptId, PaymentHash};
    use lsps_core::lsps2::flow::{HtlcPart, JitAction};
    use lsps_core::lsps2::{JitConfig, JitFlow, JitState, OpeningFeeParams};
    use lsps_core::types::{Datetime, Msat, Ppm, Scid};

    let now = Datetime::from_unix_millis(1_800_000_000_000).unwrap();
    let mut record = BuyRecord {
        peer: CLIENT.parse().unwrap(),
        jit_channel_scid: Scid(77),
        opening_fee_params: OpeningFeeParams {
            min_fee_msat: Msat(1_000),
            proportional: Ppm(1_000),
            valid_until: now.checked_add_millis(600_000).unwrap(),
            min_lifetime: 144,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: Msat(10_000),
            max_payment_size_msat: Msat(1_000_000_000),
            promise: "p".into(),
        },
        payment_size_msat: None,
        lsp_cltv_expiry_delta: 144,
        client_trusts_lsp: false,
        created_at_ms: 1,
        state: JitState::Bought,
        quota_owner: None,
        flow: None,
    };
    record.flow = Some(JitFlow::new(record.terms(), JitConfig::default()));
    let store = open().await;
    let StoredRow::Buy(row) = to_stored(&Effect::InsertBuy(record.clone())).unwrap() else {
        panic!("a buy row")
    };
    assert!(row.jit_flow.is_some());
    store.insert_buy(row).await.unwrap();
    // A legacy row, as written before the flow column existed: body only.
    let mut legacy = record.clone();
    legacy.jit_channel_scid = Scid(78);
    store
        .insert_buy(StoredBuy {
            jit_channel_scid: 78,
            peer_node_id: CLIENT.into(),
            created_at_ms: 2,
            body: serde_json::to_string(&legacy).unwrap(),
            jit_flow: None,
        })
        .await
        .unwrap();
    store.close().await;
    let store = open().await;

    let mut flow = record.flow.clone().unwrap();
    let actions = flow
        .handle(
            lsps_core::lsps2::JitEvent::HtlcArrived(HtlcPart {
                id: InterceptId([1; 32]),
                payment_hash: PaymentHash([2; 32]),
                inbound_msat: Msat(5_000_000),
                expected_outbound_msat: Msat(5_000_000),
                cltv_expiry: None,
            }),
            now,
        )
        .unwrap();
    assert_eq!(actions.first(), Some(&JitAction::Persist));
    record.state = flow.state();
    record.flow = Some(flow.clone());
    let StoredRow::BuyUpdate {
        jit_channel_scid,
        body,
        jit_flow,
    } = to_stored(&Effect::UpdateBuy(record.clone())).unwrap()
    else {
        panic!("a buy update")
    };
    store
        .update_buy(jit_channel_scid, body, jit_flow)
        .await
        .unwrap();
    store.close().await;

    let store = open().await;
    let rows = store.load_buys().await.unwrap();
    assert_eq!(rows.len(), 2);
    let state = state_from_rows(&[], &rows).unwrap();
    let loaded = state.buy(77).unwrap();
    assert_eq!(loaded.state, JitState::Opening);
    assert_eq!(loaded.flow.as_ref(), Some(&flow));
    assert_eq!(loaded, &record);
    let fresh = state.buy(78).unwrap().flow.as_ref().unwrap();
    assert_eq!(fresh.state(), JitState::Bought);
    assert_eq!(fresh.terms().jit_channel_scid, Scid(78));
    assert!(fresh.parts().is_empty());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_jit_flows_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    jit_flows_survive_reopen(|| async {
        Arc::new(
            SqliteStore::open(SqliteStoreOptions::new(&path))
                .await
                .unwrap(),
        ) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_jit_flows_survive_reopen() {
    let Some(pg) = postgres_or_skip("postgres_jit_flows_survive_reopen").await else {
        return;
    };
    jit_flows_survive_reopen(|| async {
        Arc::new(PostgresStore::open(&pg.url, NODE_A.into()).await.unwrap()) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_survive_reopen_and_duplicates_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    rows_survive_reopen_and_duplicates_fail_alone(|| async {
        Arc::new(
            SqliteStore::open(SqliteStoreOptions::new(&path))
                .await
                .unwrap(),
        ) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writes_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteStoreOptions::new(dir.path().join("s.db")))
        .await
        .unwrap();
    concurrent_writes_all_land(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_survive_reopen_and_duplicates_fail_alone() {
    let Some(pg) = postgres_or_skip("postgres_rows_survive_reopen_and_duplicates_fail_alone").await
    else {
        return;
    };
    rows_survive_reopen_and_duplicates_fail_alone(|| async {
        Arc::new(PostgresStore::open(&pg.url, NODE_A.into()).await.unwrap()) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_writes_all_land() {
    let Some(pg) = postgres_or_skip("postgres_concurrent_writes_all_land").await else {
        return;
    };
    let store = PostgresStore::open(&pg.url, NODE_A.into()).await.unwrap();
    concurrent_writes_all_land(Arc::new(store)).await;
}

/// Two nodes on one database, writing at once: an order id is taken once across both (the
/// second insert is a `Duplicate`, which the dispatcher retries with a fresh id), SCIDs are per
/// node, and each node loads, reads and updates only its own rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_nodes_share_one_database() {
    let Some(pg) = postgres_or_skip("postgres_two_nodes_share_one_database").await else {
        return;
    };
    let (a, b) = tokio::join!(
        PostgresStore::open(&pg.url, NODE_A.into()),
        PostgresStore::open(&pg.url, NODE_B.into()),
    );
    let a: Arc<dyn Store> = Arc::new(a.unwrap());
    let b: Arc<dyn Store> = Arc::new(b.unwrap());
    // The same 100 ids from both nodes at once: each id lands exactly once.
    let races =
        (0..100u64).flat_map(|i| {
            [a.clone(), b.clone()].into_iter().map(move |store| async move {
            store.insert_order(order(&format!("same{i}"), i)).await
        })
        });
    let results = futures_join_all(races).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let duplicate = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Duplicate(_))))
        .count();
    assert_eq!((won, duplicate), (100, 100));
    let (mine_a, mine_b) = (
        a.load_orders().await.unwrap(),
        b.load_orders().await.unwrap(),
    );
    assert_eq!(mine_a.len() + mine_b.len(), 100);
    for o in &mine_a {
        assert!(b.get_order(&o.order_id).await.unwrap().is_none());
        assert!(matches!(
            b.update_order(&o.order_id, "{}".into()).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            b.update_order_flow(&o.order_id, "{}".into()).await,
            Err(StoreError::NotFound(_))
        ));
    }
    // One SCID on both nodes: two different buys.
    a.insert_buy(buy(42, 1)).await.unwrap();
    b.insert_buy(buy(42, 2)).await.unwrap();
    assert_eq!(a.load_buys().await.unwrap()[0].created_at_ms, 1);
    assert_eq!(b.load_buys().await.unwrap()[0].created_at_ms, 2);
    a.close().await;
    b.close().await;
}
