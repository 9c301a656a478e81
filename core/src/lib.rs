//! # corral-core
//!
//! The allocation-free, fixed-capacity metric core of Corral. `#![no_std]`, no `alloc`:
//! every registry, family and metric can be a `static`, its memory known at compile time.
//!
//! ```
//! use corral_core::{Counter, Desc, DynamicFamily, Histogram, Registry, buckets};
//!
//! static REGISTRY: Registry<16> = Registry::new();
//! static EVENTS: Counter = Counter::new();
//! static LATENCY: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
//! static ERRORS: DynamicFamily<Counter, 1, 32> = DynamicFamily::new(["error_type"]);
//!
//! REGISTRY.register(Desc::new("stream_processor_events_received_total", "Events received"), &EVENTS)?;
//! REGISTRY.register(
//!     Desc::new("stream_processor_processing_duration_ms", "Processing time").with_unit("ms"),
//!     &LATENCY,
//! )?;
//! REGISTRY.register(Desc::new("stream_processor_errors_total", "Errors by type"), &ERRORS)?;
//!
//! EVENTS.inc();                               // one relaxed atomic add
//! LATENCY.observe(12.5);                      // two relaxed atomic operations
//! ERRORS.with_labels(["timeout"]).inc();      // hash, probe, compare, add: no allocation
//! # Ok::<(), corral_core::RegisterError>(())
//! ```
//!
//! ## What never happens on the hot path
//!
//! `inc`, `inc_by`, `set`, `add`, `observe` and label lookups of existing series never
//! allocate (core has no allocator to call), never take a lock, never block on export and
//! never panic. Creating a new dynamic series is a compare-and-swap on one slot. When a
//! family or the registry is full, the recording goes to the family's overflow series
//! (`otel_metric_overflow="true"`) and is counted in `metrics_registry_series_overflow_total`.
//!
//! ## NaN
//!
//! One rule for every type: NaN never enters an accumulated value. A NaN observation
//! (histograms, summaries, their sharded, labelled and exemplar forms) or increment
//! ([`FloatCounter::inc_by`], [`Gauge::add`], [`Gauge::sub`]) is ignored, because it has no
//! bucket or rank and would turn a sum or total into NaN for good (OpenMetrics forbids a NaN
//! `_sum` or counter). [`Gauge::set`] with NaN stores NaN: a gauge reports the last value set,
//! and both text formats carry a NaN gauge.
//!
//! ## Reading
//!
//! Exporters implement [`Visitor`] and call [`Registry::visit`]: the single traversal every
//! output format goes through. A visit can pause and resume (see [`Cursor`]).
//!
//! ## Concurrency
//!
//! Every state machine and memory ordering in core, and the progress each operation
//! guarantees, is recorded in [`implementation`]; loom models in `loom-tests/` and miri
//! check it.
//!
//! ## Targets
//!
//! Atomics come from `portable-atomic`: on targets without 64-bit atomics (thumbv7em) it
//! provides them; on targets without compare-and-swap (thumbv6m, riscv32imc) the final
//! binary chooses how, with `--cfg portable_atomic_unsafe_assume_single_core` (single-core
//! only) or portable-atomic's `critical-section` feature.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![cfg_attr(corral_loom, allow(dead_code, unreachable_pub))]

#[cfg(test)]
extern crate std;

pub mod catalog;
mod collect;
mod config;
pub mod encode;
mod encoded;
mod error;
mod label;
mod macros;
mod metric;
mod names;
mod pad;
mod registry;
mod seed;
pub mod sketch;
mod sync;
mod value;
pub mod visit;

#[doc = include_str!("../IMPLEMENTATION.md")]
pub mod implementation {}

pub use collect::{Collect, Prefetch, SeriesSink};
pub use config::{Limits, RegistryConfig};
pub use error::{
    BoundsError, LabelError, OverflowCounts, OverflowReason, Reason, RegisterError,
    SummaryConfigError,
};
pub use label::dynamic::{DefaultHashBuilder, DynamicFamily, MAX_PROBE, admitted_series};
pub use label::remembered::REMEMBERED;
#[doc(hidden)]
pub use label::typed::__value_count;
pub use label::typed::{LabelSet, LabelValue, TypedFamily};
pub use metric::{
    Clock, DEFAULT_QUANTILES, DEFAULT_SCALE, MAX_QUANTILES, Summary, SummaryCells, SummaryConfig,
    SummaryRef,
};
pub use metric::{
    Counter, FloatCounter, Gauge, Histogram, HistogramCells, HistogramRef, IntGauge, Metric,
    MetricKind, ShardedCounter, ShardedHistogram, buckets,
};
pub use metric::{
    CounterWithExemplar, EXEMPLAR_LABEL_BYTES, EXEMPLAR_MAX_RUNES, Exemplar, ExemplarError,
    HistogramExemplarCells, HistogramExemplarRef, HistogramWithExemplars,
};
pub use metric::{
    DEFAULT_MAX_BUCKETS, DEFAULT_NATIVE_SCHEMA, DEFAULT_ZERO_THRESHOLD, NativeHistogram,
    NativeHistogramCells, NativeHistogramConfig, NativeHistogramRef, native_buckets_for,
    native_index,
};
pub use names::{is_valid_label_name, is_valid_metric_name};
pub use pad::{CACHE_LINE, CachePadded};
pub use registry::{Desc, Registry};
pub use seed::{GlobalSeed, SeedError, hash_seed_is_set, set_hash_seed};
pub use sketch::{SketchSnapshot, quantile_rank};
pub use visit::{
    Cursor, FamilyInfo, HistogramValue, SeriesLabels, SummaryValue, Value, Visit, Visitor,
};
pub use visit::{ExemplarLabels, ExemplarValue};
pub use visit::{NativeBucketIter, NativeBuckets, NativeHistogramValue};
