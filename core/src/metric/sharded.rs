use crate::macros::{const_fn, fresh_array};
use crate::metric::{Metric, MetricKind};
use crate::pad::CachePadded;
use crate::sync::{AtomicU64, Ordering};
use crate::visit::Value;

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
#[inline(always)]
fn stack_stripe_hint() -> usize {
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
