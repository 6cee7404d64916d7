-- LSPS1 money flow: each order row keeps its whole order flow (`lsps_core::lsps1::OrderFlow`,
-- JSON) beside the immutable body the order was created with. `get_order` answers the flow's
-- states; NULL is an order stored before the flow existed (the server builds its flow from the
-- body when it loads it). A flow update rewrites this column only, never the body.
ALTER TABLE lsps1_orders ADD COLUMN flow TEXT;
