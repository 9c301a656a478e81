//! The families the recorder defines, behind one object-safe trait per handle type, and the
//! table that picks a family type for a run-time label count and capacity.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use corral_core::{
    Counter, DynamicFamily, Gauge, HistogramCells, HistogramRef, Metric, SummaryCells, SummaryRef,
};
use corral_std::runtime::{DefineError, Families, Spec};
use corral_std::seeded::{self, RandomState};
use metrics::{CounterFn, GaugeFn, HistogramFn};

/// Label names a facade family may have.
pub const MAX_LABELS: usize = 8;

/// Bucket arrays a facade histogram may use: up to 15 bounds, or up to 63.
pub(crate) const SMALL_BUCKETS: usize = 16;
pub(crate) const LARGE_BUCKETS: usize = 64;

/// The sketch of a facade summary: 1,024 buckets at scale 5 (relative error 1.08%), which
/// spans `lowest` to `lowest * 2^32`.
pub(crate) const SUMMARY_BUCKETS: usize = 1024;
pub(crate) const SUMMARY_SCALE: u32 = 5;
pub(crate) type SummaryCell = SummaryCells<SUMMARY_BUCKETS, 0, SUMMARY_SCALE>;

/// What a label lookup in a facade family gave.
pub(crate) enum Resolved<O> {
    /// The series of those label values: a fresh handle, worth caching.
    Series(O),
    /// The family's overflow series (the lookup was counted by core).
    Overflow(O),
}

/// A family as the recorder uses it, whatever its label count and capacity.
pub(crate) trait Series<O>: Send + Sync {
    /// Label names, in the order [`resolve`](Series::resolve) wants values.
    fn label_names(&self) -> &[&'static str];
    /// The series of `values` (as many as there are label names), created on first use.
    /// Allocates the handle of a real series.
    fn resolve(&self, values: &[&str]) -> Resolved<O>;
}

/// A core cell type the facade records into, and the `metrics` handle around it.
pub(crate) trait Cell: Metric + Send + 'static {
    /// The `metrics` handle type.
    type Out: Clone + Send + Sync + 'static;
    /// Wraps a series (allocates the handle's `Arc`).
    fn wrap(handle: Self::Handle<'static>) -> Self::Out;
}

/// A counter series: `absolute` raises it by how far the value passes the largest
/// absolute value seen before, so racing callers never add twice.
struct CounterSeries {
    cell: &'static Counter,
    absolute: AtomicU64,
}

impl CounterFn for CounterSeries {
    #[inline]
    fn increment(&self, value: u64) {
        self.cell.inc_by(value);
    }

    fn absolute(&self, value: u64) {
        let before = self.absolute.fetch_max(value, Ordering::Relaxed);
        if value > before {
            self.cell.inc_by(value - before);
        }
    }
}

impl Cell for Counter {
    type Out = metrics::Counter;
    fn wrap(cell: &'static Counter) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(CounterSeries {
            cell,
            absolute: AtomicU64::new(0),
        }))
    }
}

struct GaugeSeries(&'static Gauge);

impl GaugeFn for GaugeSeries {
    #[inline]
    fn increment(&self, value: f64) {
        self.0.add(value);
    }
    #[inline]
    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }
    #[inline]
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

impl Cell for Gauge {
    type Out = metrics::Gauge;
    fn wrap(cell: &'static Gauge) -> metrics::Gauge {
        metrics::Gauge::from_arc(Arc::new(GaugeSeries(cell)))
    }
}

struct HistogramSeries<const BUCKETS: usize>(HistogramRef<'static, BUCKETS>);

impl<const BUCKETS: usize> HistogramFn for HistogramSeries<BUCKETS> {
    #[inline]
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}

impl<const BUCKETS: usize> Cell for HistogramCells<BUCKETS> {
    type Out = metrics::Histogram;
    fn wrap(series: HistogramRef<'static, BUCKETS>) -> metrics::Histogram {
        metrics::Histogram::from_arc(Arc::new(HistogramSeries(series)))
    }
}

struct SummarySeries(SummaryRef<'static, SUMMARY_BUCKETS, 0, SUMMARY_SCALE>);

impl HistogramFn for SummarySeries {
    #[inline]
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}

impl Cell for SummaryCell {
    type Out = metrics::Histogram;
    fn wrap(series: SummaryRef<'static, SUMMARY_BUCKETS, 0, SUMMARY_SCALE>) -> metrics::Histogram {
        metrics::Histogram::from_arc(Arc::new(SummarySeries(series)))
    }
}

type Family<M, const LABELS: usize, const SERIES: usize> =
    DynamicFamily<M, LABELS, SERIES, 112, RandomState>;

struct Labelled<M: Cell, const LABELS: usize, const SERIES: usize> {
    family: &'static Family<M, LABELS, SERIES>,
    /// The overflow series' handle, made up front so that overflowing lookups allocate
    /// nothing.
    overflow: M::Out,
}

impl<M: Cell, const LABELS: usize, const SERIES: usize> Series<M::Out>
    for Labelled<M, LABELS, SERIES>
{
    fn label_names(&self) -> &[&'static str] {
        self.family.label_names()
    }

    fn resolve(&self, values: &[&str]) -> Resolved<M::Out> {
        let Ok(values) = <[&str; LABELS]>::try_from(values) else {
            return Resolved::Overflow(self.overflow.clone());
        };
        match self.family.try_with_labels(values) {
            Ok(series) => Resolved::Series(M::wrap(series)),
            Err(_) => {
                // Once more through the counting lookup, which records the reason.
                let _ = self.family.with_labels(values);
                Resolved::Overflow(self.overflow.clone())
            }
        }
    }
}

/// Table sizes a facade family can have: 32, 128, 512, 2,048 or 8,192 slots, admitting
/// three quarters of that (24, 96, 384, 1,536 or 6,144 series, see
/// [`corral_core::admitted_series`]); a configured capacity is rounded up to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tier {
    S32,
    S128,
    S512,
    S2048,
    S8192,
}

impl Tier {
    /// The smallest tier that admits `series` (the largest one for anything bigger).
    pub(crate) fn for_series(series: usize) -> Tier {
        use corral_core::admitted_series as admits;
        match series {
            n if n <= admits(32) => Tier::S32,
            n if n <= admits(128) => Tier::S128,
            n if n <= admits(512) => Tier::S512,
            n if n <= admits(2048) => Tier::S2048,
            _ => Tier::S8192,
        }
    }
}

/// Defines a family of `M` in `families` and wraps it for the recorder.
pub(crate) type Define<M, const FAMILIES: usize> =
    fn(
        &Families<FAMILIES>,
        &Spec<'_>,
        &[&'static str],
        <M as Metric>::Config,
    ) -> Result<&'static dyn Series<<M as Cell>::Out>, DefineError>;

fn define<M, const FAMILIES: usize, const LABELS: usize, const SERIES: usize>(
    families: &Families<FAMILIES>,
    spec: &Spec<'_>,
    names: &[&'static str],
    config: M::Config,
) -> Result<&'static dyn Series<M::Out>, DefineError>
where
    M: Cell,
    M::Config: Send,
{
    let mut array = [""; LABELS];
    for (slot, name) in array.iter_mut().zip(names) {
        *slot = name;
    }
    let family = families.define(spec, move || {
        Family::<M, LABELS, SERIES>::with_hasher(array, config, seeded::random_state())
    })?;
    let overflow = M::wrap(family.overflow());
    Ok(Box::leak(Box::new(Labelled { family, overflow })))
}

macro_rules! by_labels {
    ($labels:expr, $tier:expr; $($l:literal)*) => {
        match $labels {
            // An unlabelled metric is a one-slot family: a key that brings labels later
            // lands in its overflow series like any other mismatch.
            0 => Some(define::<M, FAMILIES, 0, 1> as Define<M, FAMILIES>),
            $($l => Some(match $tier {
                Tier::S32 => define::<M, FAMILIES, $l, 32> as Define<M, FAMILIES>,
                Tier::S128 => define::<M, FAMILIES, $l, 128>,
                Tier::S512 => define::<M, FAMILIES, $l, 512>,
                Tier::S2048 => define::<M, FAMILIES, $l, 2048>,
                Tier::S8192 => define::<M, FAMILIES, $l, 8192>,
            }),)*
            _ => None,
        }
    };
}

/// The definer for `labels` label names and a table of `tier`, if the facade has one.
pub(crate) fn definer<M, const FAMILIES: usize>(
    labels: usize,
    tier: Tier,
) -> Option<Define<M, FAMILIES>>
where
    M: Cell,
    M::Config: Send,
{
    by_labels!(labels, tier; 1 2 3 4 5 6 7 8)
}
