use crate::error::BoundsError;
use crate::macros::{const_fn, fresh_array};
use crate::metric::histogram::{HistogramCells, check_bounds};
use crate::metric::{Metric, MetricKind};
use crate::pad::CachePadded;
use crate::sync::{AtomicU64, Ordering};
use crate::value::{HistogramValue, Value};

/// A counter split into `STRIPES` cache-padded stripes, summed on read: for totals that
/// many threads hammer at once (the idea of Java's `LongAdder`, with a fixed stripe count).
///
/// [`inc_by`](Self::inc_by) picks a stripe from the address of the caller's stack, which
/// differs between threads and needs no thread-local storage; `corral-std` offers a
/// thread-local stripe index that spreads threads evenly. Reading sums every stripe: the
/// total is exact once writers are done, and while they run it is some value between the
/// totals before and after.
///
/// ```
/// use corral_core::ShardedCounter;
///
/// static REQUESTS: ShardedCounter<8> = ShardedCounter::new();
/// REQUESTS.inc();
/// REQUESTS.inc_by_stripe(3, 10);
/// assert_eq!(REQUESTS.get(), 11);
/// ```
#[derive(Debug)]
pub struct ShardedCounter<const STRIPES: usize> {
    stripes: [CachePadded<AtomicU64>; STRIPES],
}

impl<const STRIPES: usize> ShardedCounter<STRIPES> {
    const_fn! {
        /// A counter at zero.
        pub const fn new() -> Self {
            const { assert!(STRIPES.is_power_of_two(), "STRIPES must be a power of two") };
            Self { stripes: fresh_array!(CachePadded::new(AtomicU64::new(0)); STRIPES) }
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `delta` to the stripe chosen from the caller's stack address.
    #[inline]
    pub fn inc_by(&self, delta: u64) {
        self.inc_by_stripe(stack_stripe_hint(), delta);
    }

    /// Adds `delta` to stripe `stripe % STRIPES`; give each thread its own `stripe`.
    #[inline]
    pub fn inc_by_stripe(&self, stripe: usize, delta: u64) {
        self.stripes[stripe & (STRIPES - 1)].fetch_add(delta, Ordering::Relaxed);
    }

    /// The total over all stripes.
    pub fn get(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

impl<const STRIPES: usize> Default for ShardedCounter<STRIPES> {
    fn default() -> Self {
        Self::new()
    }
}

/// A per-thread-ish number from the current stack address: thread stacks live megabytes
/// apart, so dropping the low 16 bits and mixing the rest spreads threads over stripes.
///
/// Under loom it is always 0: loom runs each model thread on a stack of its own allocation,
/// whose address can change between the executions of one model (for instance when other
/// models allocate in parallel test threads), and a model must make the same choices every
/// time loom replays an interleaving. Stripe choice only spreads contention; every stripe
/// counts the same.
#[inline(always)]
pub(crate) fn stack_stripe_hint() -> usize {
    if cfg!(corral_loom) {
        return 0;
    }
    let marker = 0u8;
    let address = core::ptr::addr_of!(marker).addr() >> 16;
    // Fibonacci hashing: the high bits of the product are well mixed.
    (address.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize)) >> (usize::BITS - 16)
}

impl<const STRIPES: usize> Metric for ShardedCounter<STRIPES> {
    type Config = ();
    type Handle<'a> = &'a ShardedCounter<STRIPES>;
    const KIND: MetricKind = MetricKind::Counter;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, _: &'a ()) -> &'a ShardedCounter<STRIPES> {
        self
    }

    fn read<R>(&self, _: &(), f: impl FnOnce(&Value<'_>) -> R) -> R {
        f(&Value::Counter(self.get()))
    }
}

/// A histogram split into `STRIPES` cache-padded copies of its cells, merged on read: for
/// one histogram that many threads observe into at once. Each observation touches only its
/// stripe, so threads on different stripes never contend on the bucket counts or the sum's
/// compare-and-swap loop.
///
/// Memory is `STRIPES` times a [`Histogram`](crate::Histogram)'s cells. Reading merges the
/// stripes: the count is still the sum of the merged buckets, so a point's `_count` equals
/// its `+Inf` bucket and its buckets never decrease.
///
/// ```
/// use corral_core::{ShardedHistogram, buckets};
///
/// static LATENCY: ShardedHistogram<14, 8> = ShardedHistogram::new(buckets::LATENCY_MS);
/// LATENCY.observe(3.0);
/// LATENCY.observe_on_stripe(5, 40.0);
/// assert_eq!(LATENCY.count(), 2);
/// assert_eq!(LATENCY.sum(), 43.0);
/// ```
#[derive(Debug)]
pub struct ShardedHistogram<const BUCKETS: usize, const STRIPES: usize> {
    bounds: &'static [f64],
    stripes: [CachePadded<HistogramCells<BUCKETS>>; STRIPES],
}

impl<const BUCKETS: usize, const STRIPES: usize> ShardedHistogram<BUCKETS, STRIPES> {
    const_fn! {
        /// A histogram over `bounds` (see [`Histogram::new`](crate::Histogram::new)).
        ///
        /// # Panics
        ///
        /// If the bounds are invalid; in a `static` that is a compile error.
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
        /// [`BoundsError`] as for [`Histogram::try_new`](crate::Histogram::try_new).
        pub const fn try_new(bounds: &'static [f64]) -> Result<Self, BoundsError> {
            const { assert!(STRIPES.is_power_of_two(), "STRIPES must be a power of two") };
            match check_bounds(bounds, BUCKETS) {
                Ok(()) => Ok(Self {
                    bounds,
                    stripes: fresh_array!(CachePadded::new(HistogramCells::new()); STRIPES),
                }),
                Err(e) => Err(e),
            }
        }
    }

    /// Records one observation in the stripe chosen from the caller's stack address.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.observe_on_stripe(stack_stripe_hint(), value);
    }

    /// Records one observation in stripe `stripe % STRIPES`; give each thread its own.
    #[inline]
    pub fn observe_on_stripe(&self, stripe: usize, value: f64) {
        self.stripes[stripe & (STRIPES - 1)].observe(self.bounds, value);
    }

    /// Observations so far, over all stripes.
    pub fn count(&self) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.count())
            .fold(0, u64::wrapping_add)
    }

    /// Sum of the observed values, over all stripes.
    pub fn sum(&self) -> f64 {
        self.stripes.iter().map(|s| s.sum()).sum()
    }

    /// Merges the stripes into one point and passes it to `f`.
    pub fn read<R>(&self, f: impl FnOnce(&Value<'_>) -> R) -> R {
        let mut counts = [0u64; BUCKETS];
        let sum: f64 = self.stripes.iter().map(|s| s.accumulate(&mut counts)).sum();
        let used = (self.bounds.len() + 1).min(BUCKETS);
        let bounds = &self.bounds[..used - 1];
        f(&Value::Histogram(HistogramValue::new(
            bounds,
            &counts[..used],
            sum,
        )))
    }
}
