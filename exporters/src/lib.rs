//! Exporters for Corral.
//!
//! - `metrics-facade`: [`facade`], a [`metrics::Recorder`] over a Corral registry.
//! - `pushgateway`: [`push`], a Prometheus Pushgateway client for batch jobs.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use corral_std as std_adapter;

#[cfg(feature = "metrics-facade")]
pub mod facade;

#[cfg(feature = "pushgateway")]
pub mod push;
