//! Exporters for Corral.
//!
//! - [`http`] (feature `http`; `tls` and `zstd` on top): the Prometheus `/metrics`
//!   endpoint on axum.
#![forbid(unsafe_code)]

pub use corral_std as std_adapter;

#[cfg(feature = "http")]
pub mod http;
