//! Reference LSP.
