-- PostgreSQL twin of migrations/20261126000001_orders_and_buys.sql (same version, same meaning),
-- plus `lsp_node_id`: several LSP nodes may share one database, and each loads and serves only
-- the rows it created. Order ids are UUIDv4s, unique across nodes; intercept SCIDs are per node.
-- `seq` keeps insertion order (SQLite's rowid) for the start-up load.
CREATE TABLE IF NOT EXISTS lsps1_orders (
    order_id      TEXT PRIMARY KEY NOT NULL,
    lsp_node_id   TEXT NOT NULL,
    peer_node_id  TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    seq           BIGSERIAL NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lsps1_orders_node_peer ON lsps1_orders (lsp_node_id, peer_node_id);

CREATE TABLE IF NOT EXISTS lsps2_buys (
    lsp_node_id      TEXT NOT NULL,
    jit_channel_scid TEXT NOT NULL,
    peer_node_id     TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    seq              BIGSERIAL NOT NULL,
    body             TEXT NOT NULL,
    PRIMARY KEY (lsp_node_id, jit_channel_scid)
);
CREATE INDEX IF NOT EXISTS lsps2_buys_node_peer ON lsps2_buys (lsp_node_id, peer_node_id);
