//! Metric value types: what one series stores and how it is read.
//!
//! Each type here is both a standalone metric (a `static` you register on its own) and the
//! per-series cell of a labelled family. Recording is one or two atomic operations and
//! never fails, allocates, locks or panics.
//!
//! ## NaN
//!
//! One rule for every type: NaN never enters an accumulated value. A NaN observation
//! ([`Histogram`], [`Summary`], their sharded, labelled and exemplar forms) or increment
//! ([`FloatCounter::inc_by`], [`Gauge::add`], [`Gauge::sub`]) is ignored, because it has no
//! bucket or rank and would turn a sum or total into NaN for good (OpenMetrics forbids a
//! NaN `_sum` or counter). [`Gauge::set`] with NaN stores NaN: a gauge reports the last
//! value set, and both text formats carry a NaN gauge.

mod counter;
mod exemplar;
mod gauge;
mod histogram;
mod sharded;
pub mod sketch;
mod summary;

pub use counter::{Counter, FloatCounter};
pub use exemplar::{
    CounterWithExemplar, EXEMPLAR_LABEL_BYTES, EXEMPLAR_MAX_RUNES, Exemplar, ExemplarError,
    HistogramExemplarCells, HistogramExemplarRef, HistogramWithExemplars,
};
pub use gauge::{Gauge, IntGauge};
pub(crate) use histogram::check_bounds;
pub use histogram::{BoundsError, Histogram, HistogramCells, HistogramRef, buckets};
pub use sharded::{ShardedCounter, ShardedHistogram};
pub use summary::{
    Clock, DEFAULT_QUANTILES, DEFAULT_SCALE, MAX_QUANTILES, SketchSnapshot, Summary, SummaryCells,
    SummaryConfig, SummaryConfigError, SummaryRef, quantile_rank,
};

use crate::sync::{AtomicU64, Ordering};
use crate::visit::Value;

/// What kind of metric a family is, as the exposition formats name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonic total; its name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted into fixed buckets, with their sum and count.
    Histogram,
    /// Observations summarised as quantiles, with their sum and count.
    Summary,
}

impl MetricKind {
    /// The name the Prometheus text format's `# TYPE` line uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// A series cell: the state one labelled series keeps, shared by both label models.
///
/// Families are generic over it. `Config` is what every series of a family shares (the
/// bucket bounds of a histogram, nothing for a counter); `Handle` is what a label lookup
/// returns: a plain reference for most types, a reference plus the shared bounds for a
/// histogram.
pub trait Metric: Sync + Sized {
    /// Per-family configuration shared by all its series.
    type Config: Copy + Sync + 'static;
    /// What a label lookup hands back.
    type Handle<'a>: Copy
    where
        Self: 'a;
    /// The family kind this cell renders as.
    const KIND: MetricKind;

    /// A fresh, zeroed cell (normal builds).
    #[cfg(not(corral_loom))]
    #[doc(hidden)]
    const INIT: Self;

    /// A fresh, zeroed cell (loom builds, whose atomics are not `const`).
    #[cfg(corral_loom)]
    #[doc(hidden)]
    fn init() -> Self;

    /// Makes the handle for this cell.
    fn handle<'a>(&'a self, config: &'a Self::Config) -> Self::Handle<'a>;

    /// Reads one consistent point of this cell and passes it to `f`.
    fn read<R>(&self, config: &Self::Config, f: impl FnOnce(&Value<'_>) -> R) -> R;

    /// Checks the family configuration; called once, at registration.
    fn check_config(_config: &Self::Config) -> Result<(), BoundsError> {
        Ok(())
    }
}

/// A fresh metric cell, in both builds.
macro_rules! init_metric {
    ($m:ty) => {{
        #[cfg(not(corral_loom))]
        let cell = <$m as $crate::metric::Metric>::INIT;
        #[cfg(corral_loom)]
        let cell = <$m as $crate::metric::Metric>::init();
        cell
    }};
}
pub(crate) use init_metric;

/// Adds `delta` to an `f64` stored as bits, with a compare-and-swap loop.
#[inline]
pub(crate) fn add_f64(bits: &AtomicU64, delta: f64) {
    let mut current = bits.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match bits.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}
