//! OpenTelemetry tracing: the tracer provider from the configuration, the specification's
//! span helpers, W3C propagation through message headers, and exemplars taken from the
//! live span. Behind the `tracing` feature; `tracing-bridge` adds a layer for the
//! `tracing` crate.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use corral_exporters::trace::{KafkaOperation, SpanFactory, TraceSettings, Tracing};
//! use corral_exporters::trace::propagation::{extract_context, inject_context};
//! use corral_std::config::ObservabilityConfig;
//!
//! let config = ObservabilityConfig::from_file("observability.yaml")?;
//! let tracing = Tracing::start(TraceSettings::from_config_and_process_env(&config)?)?;
//! let spans = SpanFactory::new(tracing.tracer("checkout"), "checkout");
//!
//! // Producer side: a Producer span, its context into the message headers.
//! let mut headers: BTreeMap<String, Vec<u8>> = BTreeMap::new();
//! let send = spans.kafka_operation(KafkaOperation::Send, "orders", Some(0), None);
//! inject_context(send.context(), &mut headers);
//! drop(send);
//!
//! // Consumer side: a Consumer span continuing the producer's trace.
//! let parent = extract_context(&headers);
//! let process = spans.kafka_operation(KafkaOperation::Process, "orders", Some(0), Some(&parent));
//! let _current = process.attach(); // child spans and span exemplars see it
//! # drop(_current);
//! # drop(process);
//! tracing.shutdown()?; // exports what is queued
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | crate | does |
//! | --- | --- |
//! | `opentelemetry` | the tracing API, contexts, `TextMapPropagator` |
//! | `opentelemetry_sdk` | the tracer provider, samplers, batch span processor, W3C propagators |
//! | `opentelemetry-otlp` | the OTLP span exporter (tonic for gRPC, hyper-util's client for HTTP) |
//! | `tokio` | the exporter's own one-worker runtime |
//! | `tracing-opentelemetry` | the `tracing` bridge (`tracing-bridge` feature) |

pub mod exemplar;
pub mod propagation;
mod provider;
mod settings;
mod span;

pub use provider::{TraceStartError, Tracing};
pub use settings::{BatchSettings, ENV_VARS, SamplerSetting, SettingsError, TraceSettings};
pub use span::{KafkaOperation, SpanFactory, SpanGuard};
