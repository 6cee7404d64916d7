//! `lsps-conformance`: the LSPS0/1/2 conformance runner at the message tier.
//!
//! A [`case::Case`] has a stable path-like id, the requirement ids of `spec/requirements` it
//! checks, a level and a procedure. The [`runner`] probes the target
//! (`lsps0.list_protocols`, then each advertised protocol's `get_info`), runs every applicable
//! case concurrently on its own connections (negative cases on a fresh connection, followed by
//! a check that the connection is still served), validates every received message against
//! `spec/schemas`, applies a [`baseline::Baseline`] and produces a [`report::Report`], which
//! [`render`] turns into terminal, JSON, JUnit, Markdown or HTML output.
//!
//! ```no_run
//! # async fn demo(target: std::sync::Arc<dyn lsps_conformance::target::Target>) {
//! use lsps_conformance::{render::Format, runner};
//! let report = runner::run(target, &runner::RunConfig::default(), &|_| {}).await.unwrap();
//! print!("{}", Format::Terminal.render(&report));
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod baseline;
pub mod basis;
pub mod case;
pub mod catalog;
pub mod code;
pub mod ctx;
pub mod flow;
pub mod interop;
pub mod render;
pub mod report;
pub mod runner;
pub mod schema;
pub mod target;
pub mod transport;
pub mod verdict;
pub mod wire;
