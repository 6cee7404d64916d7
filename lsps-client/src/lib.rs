//! Typed LSPS client.
