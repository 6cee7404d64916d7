//! Chain sources live in the node kit (`lsps_node::chain`); re-exported here so the server's
//! modules and users keep one path.

pub use lsps_node::chain::*;
