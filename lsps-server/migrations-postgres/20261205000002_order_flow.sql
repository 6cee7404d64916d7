-- PostgreSQL twin of migrations/20261205000002_order_flow.sql: each order row keeps its whole
-- order flow (JSON) beside the immutable creation body; NULL is an order stored before the
-- flow existed.
ALTER TABLE lsps1_orders ADD COLUMN IF NOT EXISTS flow TEXT;
