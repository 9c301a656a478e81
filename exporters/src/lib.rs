//! Exporters for Corral.
//!
//! Each exporter is a module behind its own feature:
//!
//! - `http` (feature `http`; `tls` and `zstd` on top): the Prometheus `/metrics` endpoint
//!   on axum.
//! - `trace` (feature `tracing`; `tracing-bridge` on top): OpenTelemetry tracing set-up,
//!   W3C propagation through message headers, exemplars from the live span.
//! - `facade` (feature `metrics-facade`): a `metrics::Recorder` over a Corral registry.
//! - `push` (feature `pushgateway`): a Prometheus Pushgateway client for batch jobs.
//! - `otlp` (features `otlp-grpc`, `otlp-http`): OTLP metric push from the registry.
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

#[cfg(any(feature = "tracing", feature = "otlp-grpc", feature = "otlp-http"))]
mod otel_env;

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub mod otlp;
