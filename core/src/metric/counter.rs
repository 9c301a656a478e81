use crate::macros::const_fn;
use crate::metric::{Metric, MetricKind, add_f64};
use crate::sync::{AtomicU64, Ordering};
use crate::value::Value;

/// A monotonic `u64` total.
///
/// ```
/// use corral_core::Counter;
///
/// static EVENTS: Counter = Counter::new();
/// EVENTS.inc();
/// EVENTS.inc_by(41);
/// assert_eq!(EVENTS.get(), 42);
/// ```
///
/// The total wraps at `u64::MAX` (after 584 years at a billion increments a second).
#[derive(Debug)]
pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    const_fn! {
        /// A counter at zero.
        pub const fn new() -> Self {
            Self { value: AtomicU64::new(0) }
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `delta`.
    #[inline]
    pub fn inc_by(&self, delta: u64) {
        self.value.fetch_add(delta, Ordering::Relaxed);
    }

    /// The current total.
    #[inline]
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for Counter {
    type Config = ();
    type Handle<'a> = &'a Counter;
    const KIND: MetricKind = MetricKind::Counter;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, _: &'a ()) -> &'a Counter {
        self
    }

    fn read<R>(&self, _: &(), f: impl FnOnce(&Value<'_>) -> R) -> R {
        f(&Value::Counter(self.get()))
    }
}

/// A monotonic `f64` total, for amounts that are not whole numbers (the specification's
/// `llm_cost_usd_total`).
///
/// An increment that is negative or NaN would break monotonicity; it is ignored.
///
/// ```
/// use corral_core::FloatCounter;
///
/// static COST: FloatCounter = FloatCounter::new();
/// COST.inc_by(0.25);
/// COST.inc_by(-3.0); // ignored: a counter never goes down
/// assert_eq!(COST.get(), 0.25);
/// ```
#[derive(Debug)]
pub struct FloatCounter {
    bits: AtomicU64,
}

impl FloatCounter {
    const_fn! {
        /// A counter at zero.
        pub const fn new() -> Self {
            Self { bits: AtomicU64::new(0) }
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1.0);
    }

    /// Adds `delta`; a negative or NaN `delta` is ignored.
    #[inline]
    pub fn inc_by(&self, delta: f64) {
        // `!(delta >= 0.0)` is true for negative values and for NaN.
        if !(delta >= 0.0) {
            return;
        }
        add_f64(&self.bits, delta);
    }

    /// The current total.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

impl Default for FloatCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for FloatCounter {
    type Config = ();
    type Handle<'a> = &'a FloatCounter;
    const KIND: MetricKind = MetricKind::Counter;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, _: &'a ()) -> &'a FloatCounter {
        self
    }

    fn read<R>(&self, _: &(), f: impl FnOnce(&Value<'_>) -> R) -> R {
        f(&Value::FloatCounter(self.get()))
    }
}
