//! LSPS conformance runner.
