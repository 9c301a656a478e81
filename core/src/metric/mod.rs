//! Metric value types: what one series stores and how it is read.
//!
//! Each type here is both a standalone metric (a `static` you register on its own) and the
//! per-series cell of a labelled family. Recording is one or two atomic operations and
//! never fails, allocates, locks or panics. How each type treats NaN is in the crate docs.

mod counter;
mod exemplar;
mod gauge;
mod histogram;
mod native;
mod sharded;
mod summary;

pub use counter::{Counter, FloatCounter};
pub use exemplar::{
    CounterWithExemplar, EXEMPLAR_LABEL_BYTES, EXEMPLAR_MAX_RUNES, Exemplar, ExemplarError,
    HistogramExemplarCells, HistogramExemplarRef, HistogramWithExemplars,
};
pub use gauge::{Gauge, IntGauge};
pub(crate) use histogram::check_bounds;
pub use histogram::{Histogram, HistogramCells, HistogramRef, buckets};
pub use native::{
    DEFAULT_MAX_BUCKETS, DEFAULT_SCHEMA as DEFAULT_NATIVE_SCHEMA, DEFAULT_ZERO_THRESHOLD,
    NativeHistogram, NativeHistogramCells, NativeHistogramConfig, NativeHistogramRef,
    native_buckets_for, native_index,
};
pub use sharded::{ShardedCounter, ShardedHistogram};
pub use summary::{
    Clock, DEFAULT_QUANTILES, DEFAULT_SCALE, MAX_QUANTILES, Summary, SummaryCells, SummaryConfig,
    SummaryRef,
};

use core::ops::ControlFlow;

use crate::collect::{Collect, SeriesSink, collect_one};
use crate::error::BoundsError;
use crate::sync::{AtomicU64, Ordering};
pub use crate::value::MetricKind;
use crate::value::Value;

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

/// Each standalone metric is a family of one unlabelled series.
macro_rules! collect_standalone {
    ($($ty:ty),* $(,)?) => {$(
        impl Collect for $ty {
            fn kind(&self) -> MetricKind {
                <$ty as Metric>::KIND
            }

            fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
                Metric::read(self, &(), |value| collect_one(from, sink, value))
            }
        }
    )*};
}

collect_standalone!(Counter, FloatCounter, Gauge, IntGauge);

impl<const STRIPES: usize> Collect for ShardedCounter<STRIPES> {
    fn kind(&self) -> MetricKind {
        MetricKind::Counter
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        Metric::read(self, &(), |value| collect_one(from, sink, value))
    }
}

impl<const BUCKETS: usize, const STRIPES: usize> Collect for ShardedHistogram<BUCKETS, STRIPES> {
    fn kind(&self) -> MetricKind {
        MetricKind::Histogram
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        self.read(|value| collect_one(from, sink, value))
    }
}

impl<const BUCKETS: usize> Collect for Histogram<BUCKETS> {
    fn kind(&self) -> MetricKind {
        MetricKind::Histogram
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        self.read(|value| collect_one(from, sink, value))
    }
}
