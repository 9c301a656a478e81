//! Exporters for Corral.
//!
//! - [`http`] (feature `http`; `tls` and `zstd` on top): the Prometheus `/metrics`
//!   endpoint on axum.
//! - `metrics-facade`: [`facade`], a [`metrics::Recorder`] over a Corral registry.
//! - `pushgateway`: [`push`], a Prometheus Pushgateway client for batch jobs.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use corral_std as std_adapter;

#[cfg(feature = "http")]
pub mod http;

#[cfg(feature = "metrics-facade")]
pub mod facade;

#[cfg(feature = "pushgateway")]
pub mod push;

#[cfg(feature = "tracing")]
pub mod trace;
