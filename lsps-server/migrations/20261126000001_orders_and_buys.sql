-- LSPS1 orders and LSPS2 buys. Bodies are the JSON the service wrote; the indexed columns exist
-- for lookups and per-peer counts. Nothing accepted is ever deleted by the server.
CREATE TABLE IF NOT EXISTS lsps1_orders (
    order_id      TEXT PRIMARY KEY NOT NULL,
    peer_node_id  TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lsps1_orders_peer ON lsps1_orders (peer_node_id);

CREATE TABLE IF NOT EXISTS lsps2_buys (
    jit_channel_scid TEXT PRIMARY KEY NOT NULL,
    peer_node_id     TEXT NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lsps2_buys_peer ON lsps2_buys (peer_node_id);
