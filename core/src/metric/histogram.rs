use crate::error::BoundsError;
use crate::macros::{const_fn, fresh_array};
use crate::metric::{Metric, MetricKind, add_f64};
use crate::sync::{AtomicU64, Ordering};
use crate::value::{HistogramValue, Value};

/// The specification's standard bucket bounds. The `+Inf` bucket is implicit: every
/// histogram has one after its last finite bound, so a value always lands in exactly one
/// bucket.
pub mod buckets {
    /// Latency in milliseconds: 1 ms to 10 s (13 bounds; use `Histogram<14>`).
    pub const LATENCY_MS: &[f64] = &[
        1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
    ];
    /// Throughput in events per second: 1 to 100k (10 bounds; use `Histogram<11>`).
    pub const THROUGHPUT: &[f64] = &[
        1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, 50000.0, 100000.0,
    ];
    /// Sizes in bytes: 1 KiB to 100 MiB (6 bounds; use `Histogram<7>`).
    pub const SIZE_BYTES: &[f64] = &[
        1024.0,
        10240.0,
        102400.0,
        1048576.0,
        10485760.0,
        104857600.0,
    ];
}

/// Checks finite, strictly increasing bounds that fit `capacity` buckets (`+Inf` included).
pub(crate) const fn check_bounds(bounds: &[f64], capacity: usize) -> Result<(), BoundsError> {
    if bounds.len() + 1 > capacity {
        return Err(BoundsError::TooMany {
            bounds: bounds.len(),
            capacity,
        });
    }
    let mut i = 0;
    while i < bounds.len() {
        if !bounds[i].is_finite() {
            return Err(BoundsError::NotFinite { index: i });
        }
        if i > 0 && !(bounds[i] > bounds[i - 1]) {
            return Err(BoundsError::NotIncreasing { index: i });
        }
        i += 1;
    }
    Ok(())
}

/// Index of the bucket `value` lands in: the first bound `>= value`, or `bounds.len()`
/// (the `+Inf` bucket) when there is none. NaN compares false with every bound and so
/// lands in `+Inf`, as in the Go client.
#[inline(always)]
pub(crate) fn bucket_index(bounds: &[f64], value: f64) -> usize {
    if bounds.len() <= 16 {
        // Branch-free count of the bounds below `value`; the compiler vectorises it.
        bounds
            .iter()
            .map(|bound| usize::from(!(value <= *bound)))
            .sum()
    } else {
        bounds.partition_point(|bound| !(value <= *bound))
    }
}

/// The per-series state of a histogram: one counter per bucket (not cumulative) and the
/// sum. The count is the sum of the buckets, so a snapshot's `_count` always equals its
/// `+Inf` bucket and its cumulative buckets never decrease, whatever runs concurrently.
///
/// Observing is two atomic operations: a compare-and-swap loop on the sum, then one
/// `fetch_add` on the bucket with `Release` ordering (the same instruction as a relaxed one
/// on x86-64). A read loads the buckets with `Acquire` before the sum, so every observation
/// a scrape counts is in the `_sum` it shows (and perhaps a few in flight besides).
///
/// A NaN observation is ignored: it has no bucket and would make the sum NaN for good.
/// Infinities are observations like any other (`+Inf` lands in the `+Inf` bucket).
#[derive(Debug)]
pub struct HistogramCells<const BUCKETS: usize> {
    counts: [AtomicU64; BUCKETS],
    sum: AtomicU64,
}

impl<const BUCKETS: usize> HistogramCells<BUCKETS> {
    const_fn! {
        /// Zeroed cells.
        pub const fn new() -> Self {
            const { assert!(BUCKETS >= 1, "a histogram needs at least the +Inf bucket") };
            Self { counts: fresh_array!(AtomicU64::new(0); BUCKETS), sum: AtomicU64::new(0) }
        }
    }

    /// Records `value` against `bounds`, which must be the bounds this cell was set up with.
    #[inline]
    pub fn observe(&self, bounds: &[f64], value: f64) {
        if value.is_nan() {
            return;
        }
        let index = bucket_index(bounds, value).min(BUCKETS - 1);
        // Sum first, then the bucket with `Release`: see the type's docs.
        add_f64(&self.sum, value);
        self.counts[index].fetch_add(1, Ordering::Release);
    }

    /// Observations so far (the sum of all buckets).
    pub fn count(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    /// Adds this cell's bucket counts into `counts` and returns its sum.
    pub(crate) fn accumulate(&self, counts: &mut [u64; BUCKETS]) -> f64 {
        for (out, cell) in counts.iter_mut().zip(&self.counts) {
            *out = out.wrapping_add(cell.load(Ordering::Acquire));
        }
        self.sum()
    }

    /// Reads every bucket once (`Acquire`), then the sum, and passes the point to `f`.
    pub(crate) fn read_with<R>(&self, bounds: &[f64], f: impl FnOnce(&Value<'_>) -> R) -> R {
        let mut counts = [0u64; BUCKETS];
        for (out, cell) in counts.iter_mut().zip(&self.counts) {
            *out = cell.load(Ordering::Acquire);
        }
        let used = (bounds.len() + 1).min(BUCKETS);
        let bounds = &bounds[..used - 1];
        f(&Value::Histogram(HistogramValue::new(
            bounds,
            &counts[..used],
            self.sum(),
        )))
    }
}

impl<const BUCKETS: usize> Default for HistogramCells<BUCKETS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BUCKETS: usize> Metric for HistogramCells<BUCKETS> {
    type Config = &'static [f64];
    type Handle<'a> = HistogramRef<'a, BUCKETS>;
    const KIND: MetricKind = MetricKind::Histogram;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, bounds: &'a &'static [f64]) -> HistogramRef<'a, BUCKETS> {
        HistogramRef {
            bounds,
            cells: self,
        }
    }

    fn read<R>(&self, bounds: &&'static [f64], f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.read_with(bounds, f)
    }

    fn check_config(bounds: &&'static [f64]) -> Result<(), BoundsError> {
        check_bounds(bounds, BUCKETS)
    }
}

/// A histogram series handed out by a labelled family: the series' cells plus the bounds
/// the family shares. `Copy`, two pointers wide.
#[derive(Clone, Copy, Debug)]
pub struct HistogramRef<'a, const BUCKETS: usize> {
    bounds: &'a [f64],
    cells: &'a HistogramCells<BUCKETS>,
}

impl<const BUCKETS: usize> HistogramRef<'_, BUCKETS> {
    /// Records one observation.
    #[inline]
    pub fn observe(self, value: f64) {
        self.cells.observe(self.bounds, value);
    }

    /// Observations so far.
    pub fn count(self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values.
    pub fn sum(self) -> f64 {
        self.cells.sum()
    }
}

/// A histogram with fixed bucket bounds, holding up to `BUCKETS - 1` finite bounds plus the
/// implicit `+Inf` bucket.
///
/// ```
/// use corral_core::{Histogram, buckets};
///
/// static LATENCY: Histogram<{ buckets::LATENCY_MS.len() + 1 }> =
///     Histogram::new(buckets::LATENCY_MS);
/// LATENCY.observe(3.0);
/// LATENCY.observe(20_000.0); // beyond the last bound: the +Inf bucket
/// assert_eq!(LATENCY.count(), 2);
/// assert_eq!(LATENCY.sum(), 20_003.0);
/// ```
#[derive(Debug)]
pub struct Histogram<const BUCKETS: usize> {
    bounds: &'static [f64],
    cells: HistogramCells<BUCKETS>,
}

impl<const BUCKETS: usize> Histogram<BUCKETS> {
    const_fn! {
        /// A histogram over `bounds`: finite and strictly increasing, at most `BUCKETS - 1`.
        ///
        /// # Panics
        ///
        /// If the bounds are invalid; in a `static` that is a compile error. Use
        /// [`try_new`](Self::try_new) for bounds that arrive at run time.
        pub const fn new(bounds: &'static [f64]) -> Self {
            match Self::try_new(bounds) {
                Ok(histogram) => histogram,
                Err(_) => panic!("invalid histogram bounds: they must be finite, strictly increasing, and fewer than BUCKETS"),
            }
        }
    }

    const_fn! {
        /// A histogram over `bounds`, or the reason they are refused.
        ///
        /// # Errors
        ///
        /// [`BoundsError`] if a bound is not finite, the bounds do not increase, or there
        /// are more than `BUCKETS - 1` of them.
        pub const fn try_new(bounds: &'static [f64]) -> Result<Self, BoundsError> {
            match check_bounds(bounds, BUCKETS) {
                Ok(()) => Ok(Self { bounds, cells: HistogramCells::new() }),
                Err(e) => Err(e),
            }
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.cells.observe(self.bounds, value);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.cells.sum()
    }

    /// The finite bucket bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// Reads one consistent point and passes it to `f`.
    pub fn read<R>(&self, f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.cells.read_with(self.bounds, f)
    }
}
