-- The LSPS2 JIT flow of each buy (lsps_core::lsps2::flow::JitFlow as JSON): parts, channel,
-- fee taken, state. Written with the body in one statement before any step takes effect.
-- NULL for rows written before this migration (no flow had started: every HTLC was failed
-- back); the server starts a fresh flow from the body's terms for those.
ALTER TABLE lsps2_buys ADD COLUMN jit_flow TEXT;
