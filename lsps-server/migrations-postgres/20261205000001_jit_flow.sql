-- PostgreSQL twin of migrations/20261205000001_jit_flow.sql: the JIT flow of each buy as JSON,
-- NULL for rows written before it.
ALTER TABLE lsps2_buys ADD COLUMN IF NOT EXISTS jit_flow TEXT;
