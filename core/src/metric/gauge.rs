use crate::macros::const_fn;
use crate::metric::{Metric, MetricKind, add_f64};
use crate::sync::{AtomicI64, AtomicU64, Ordering};
use crate::value::Value;

/// An `f64` value that goes up and down.
///
/// `set` is one store; `add` and friends are a compare-and-swap loop that never loses an
/// update.
///
/// NaN follows the policy of every Corral type (see [the crate docs](crate#nan)): `add(NaN)` and
/// `sub(NaN)` are ignored, since a NaN would stay in the value for good; `set(NaN)` stores
/// NaN, because a gauge reports the last value set and both text formats carry it.
///
/// ```
/// use corral_core::Gauge;
///
/// static QUEUE_DEPTH: Gauge = Gauge::new();
/// QUEUE_DEPTH.set(10.0);
/// QUEUE_DEPTH.inc();
/// QUEUE_DEPTH.sub(2.5);
/// assert_eq!(QUEUE_DEPTH.get(), 8.5);
/// ```
#[derive(Debug)]
pub struct Gauge {
    bits: AtomicU64,
}

impl Gauge {
    const_fn! {
        /// A gauge at zero.
        pub const fn new() -> Self {
            Self { bits: AtomicU64::new(0) }
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Adds `delta`; a NaN `delta` is ignored.
    #[inline]
    pub fn add(&self, delta: f64) {
        if !delta.is_nan() {
            add_f64(&self.bits, delta);
        }
    }

    /// Subtracts `delta`; a NaN `delta` is ignored.
    #[inline]
    pub fn sub(&self, delta: f64) {
        self.add(-delta);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

impl Default for Gauge {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for Gauge {
    type Config = ();
    type Handle<'a> = &'a Gauge;
    const KIND: MetricKind = MetricKind::Gauge;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, _: &'a ()) -> &'a Gauge {
        self
    }

    fn read<R>(&self, _: &(), f: impl FnOnce(&Value<'_>) -> R) -> R {
        f(&Value::Gauge(self.get()))
    }
}

/// An `i64` gauge: every operation is a single atomic instruction, no retry loop.
///
/// ```
/// use corral_core::IntGauge;
///
/// static IN_FLIGHT: IntGauge = IntGauge::new();
/// IN_FLIGHT.inc();
/// IN_FLIGHT.inc();
/// IN_FLIGHT.dec();
/// assert_eq!(IN_FLIGHT.get(), 1);
/// ```
#[derive(Debug)]
pub struct IntGauge {
    value: AtomicI64,
}

impl IntGauge {
    const_fn! {
        /// A gauge at zero.
        pub const fn new() -> Self {
            Self { value: AtomicI64::new(0) }
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.value.store(value, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.sub(1);
    }

    /// Adds `delta` (wrapping).
    #[inline]
    pub fn add(&self, delta: i64) {
        self.value.fetch_add(delta, Ordering::Relaxed);
    }

    /// Subtracts `delta` (wrapping).
    #[inline]
    pub fn sub(&self, delta: i64) {
        self.value.fetch_sub(delta, Ordering::Relaxed);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl Default for IntGauge {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for IntGauge {
    type Config = ();
    type Handle<'a> = &'a IntGauge;
    const KIND: MetricKind = MetricKind::Gauge;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, _: &'a ()) -> &'a IntGauge {
        self
    }

    fn read<R>(&self, _: &(), f: impl FnOnce(&Value<'_>) -> R) -> R {
        f(&Value::IntGauge(self.get()))
    }
}
