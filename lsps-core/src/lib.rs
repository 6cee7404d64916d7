//! Typed LSPS0/1/2 protocol core.
#![forbid(unsafe_code)]
