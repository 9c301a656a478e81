//! Exporters for Corral. Filled in by the exporter issues.
#![forbid(unsafe_code)]

pub use corral_std as std_adapter;

#[cfg(feature = "tracing")]
pub mod trace;
