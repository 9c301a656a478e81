//! RAII timers: measure a scope with [`Instant`] and observe the elapsed time on drop.
//!
//! ```
//! use corral_std::core::{DynamicFamily, Histogram, HistogramCells, buckets};
//! use corral_std::{TimeUnit, Timer, TimerExt};
//!
//! static LATENCY_MS: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
//! static BY_ROUTE: DynamicFamily<HistogramCells<14>, 1, 16> =
//!     DynamicFamily::histogram(["route"], buckets::LATENCY_MS);
//!
//! {
//!     let _t = LATENCY_MS.start_timer_ms(); // a standalone histogram
//!     let _r = BY_ROUTE.with_labels(["/users"]).start_timer_ms(); // a family's series
//! } // both observe here
//! let seconds = Timer::start(&LATENCY_MS, TimeUnit::Seconds).stop(); // or stop explicitly
//! assert!(seconds >= 0.0);
//! assert_eq!(LATENCY_MS.count(), 2);
//! assert_eq!(BY_ROUTE.with_labels(["/users"]).count(), 1);
//! ```
//!
//! Starting a timer reads the monotonic clock; dropping it reads the clock again and makes
//! one observation. Neither allocates or locks.
//!
//! Anything that takes `f64` observations can be timed by implementing [`Observe`]; core's
//! histograms and summaries do here. [`MONOTONIC_MS`] is the clock for a summary's sliding
//! window.

use core::time::Duration;
use std::time::Instant;

use std::sync::OnceLock;

use corral_core::{Clock, Histogram, HistogramRef, ShardedHistogram, Summary, SummaryRef};

/// Something that records `f64` observations: the target of a [`Timer`].
pub trait Observe {
    /// Records one observation.
    fn observe(&self, value: f64);
}

impl<const BUCKETS: usize> Observe for Histogram<BUCKETS> {
    #[inline]
    fn observe(&self, value: f64) {
        Histogram::observe(self, value);
    }
}

impl<const BUCKETS: usize> Observe for HistogramRef<'_, BUCKETS> {
    #[inline]
    fn observe(&self, value: f64) {
        HistogramRef::observe(*self, value);
    }
}

impl<const BUCKETS: usize, const STRIPES: usize> Observe for ShardedHistogram<BUCKETS, STRIPES> {
    #[inline]
    fn observe(&self, value: f64) {
        self.observe_on_stripe(crate::thread_stripe(), value);
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Observe
    for Summary<BUCKETS, WINDOW, SCALE>
{
    #[inline]
    fn observe(&self, value: f64) {
        Summary::observe(self, value);
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Observe
    for SummaryRef<'_, BUCKETS, WINDOW, SCALE>
{
    #[inline]
    fn observe(&self, value: f64) {
        SummaryRef::observe(*self, value);
    }
}

/// Milliseconds since the first reading in this process, from [`Instant`]: monotonic
/// across threads, as a summary's sliding window requires.
#[derive(Debug)]
pub struct MonotonicMillis(OnceLock<Instant>);

impl Clock for MonotonicMillis {
    fn now(&self) -> u64 {
        let origin = self.0.get_or_init(Instant::now);
        u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The process's millisecond clock for windowed summaries:
/// `SummaryConfig::new(lowest).with_window(600_000, &MONOTONIC_MS)` keeps ten minutes.
pub static MONOTONIC_MS: MonotonicMillis = MonotonicMillis(OnceLock::new());

impl<T: Observe + ?Sized> Observe for &T {
    #[inline]
    fn observe(&self, value: f64) {
        (**self).observe(value);
    }
}

/// The unit a [`Timer`] observes in; match it to the histogram's name and bounds
/// (`_ms` with millisecond bounds, `_seconds` with second bounds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeUnit {
    /// Seconds, the Prometheus base unit.
    Seconds,
    /// Milliseconds (the specification's `*_duration_ms` and `*_latency_ms` histograms).
    Milliseconds,
    /// Microseconds.
    Microseconds,
}

impl TimeUnit {
    /// `duration` expressed in this unit.
    #[inline]
    pub fn convert(self, duration: Duration) -> f64 {
        // From whole nanoseconds, so that exact durations convert exactly.
        let nanos = duration.as_nanos() as f64;
        match self {
            TimeUnit::Seconds => nanos / 1e9,
            TimeUnit::Milliseconds => nanos / 1e6,
            TimeUnit::Microseconds => nanos / 1e3,
        }
    }
}

/// Observes the time since it started into its target when dropped (or at [`stop`]).
///
/// [`stop`]: Timer::stop
#[derive(Debug)]
#[must_use = "a timer observes when it is dropped; binding it to `_` drops it at once"]
pub struct Timer<O: Observe> {
    target: O,
    unit: TimeUnit,
    start: Instant,
    armed: bool,
}

impl<O: Observe> Timer<O> {
    /// Starts timing now; the elapsed time goes to `target` in `unit`.
    #[inline]
    pub fn start(target: O, unit: TimeUnit) -> Self {
        Self {
            target,
            unit,
            start: Instant::now(),
            armed: true,
        }
    }

    /// Time since the start, without observing it.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Observes now and returns the value observed (in the timer's unit).
    pub fn stop(mut self) -> f64 {
        self.armed = false;
        let value = self.unit.convert(self.start.elapsed());
        self.target.observe(value);
        value
    }

    /// Drops the timer without observing anything (for example on an error path that
    /// should not count as a latency sample).
    pub fn discard(mut self) {
        self.armed = false;
    }
}

impl<O: Observe> Drop for Timer<O> {
    #[inline]
    fn drop(&mut self) {
        if self.armed {
            self.target.observe(self.unit.convert(self.start.elapsed()));
        }
    }
}

/// Starts a [`Timer`] from a histogram (`&Histogram`, a family's `HistogramRef`, or any
/// `&impl Observe`).
pub trait TimerExt: Observe + Sized {
    /// A timer that observes elapsed milliseconds.
    #[inline]
    fn start_timer_ms(self) -> Timer<Self> {
        Timer::start(self, TimeUnit::Milliseconds)
    }

    /// A timer that observes elapsed seconds.
    #[inline]
    fn start_timer_seconds(self) -> Timer<Self> {
        Timer::start(self, TimeUnit::Seconds)
    }

    /// Runs `f` and observes how long it took, in `unit`.
    #[inline]
    fn time<R>(self, unit: TimeUnit, f: impl FnOnce() -> R) -> R {
        let _timer = Timer::start(self, unit);
        f()
    }
}

impl<T: Observe + ?Sized> TimerExt for &T {}

impl<const BUCKETS: usize> TimerExt for HistogramRef<'_, BUCKETS> {}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> TimerExt
    for SummaryRef<'_, BUCKETS, WINDOW, SCALE>
{
}

#[cfg(test)]
mod tests {
    use corral_core::{DynamicFamily, HistogramCells};

    use super::*;

    const SECONDS: &[f64] = &[0.001, 0.01, 0.1, 1.0];

    #[test]
    fn drop_observes_elapsed_time_in_the_unit() {
        let h: Histogram<5> = Histogram::new(SECONDS);
        {
            let _t = (&h).start_timer_seconds();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(h.count(), 1);
        // At least the sleep, and well below a second on any machine that runs tests.
        assert!((0.020..1.0).contains(&h.sum()), "{}", h.sum());

        let ms: Histogram<5> = Histogram::new(&[1.0, 10.0, 100.0, 1000.0]);
        let value = Timer::start(&ms, TimeUnit::Milliseconds).time_and_stop(|| {
            std::thread::sleep(Duration::from_millis(15));
        });
        assert!((15.0..1000.0).contains(&value), "{value}");
        assert_eq!(ms.sum(), value);
    }

    #[test]
    fn summaries_time_with_the_process_clock() {
        use corral_core::{Summary, SummaryConfig};

        // A ten-minute window over the process's millisecond clock.
        static WINDOWED: Summary<512, 4> =
            Summary::new(SummaryConfig::new(1e-3).with_window(600_000, &MONOTONIC_MS));
        {
            let _t = (&WINDOWED).start_timer_ms();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(WINDOWED.count(), 1);
        assert!(WINDOWED.sum() >= 5.0, "{}", WINDOWED.sum());
        let earlier = MONOTONIC_MS.now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(MONOTONIC_MS.now() >= earlier + 2);
    }

    #[test]
    fn discard_observes_nothing() {
        let h: Histogram<5> = Histogram::new(SECONDS);
        (&h).start_timer_ms().discard();
        assert_eq!(h.count(), 0);
    }

    #[test]
    fn family_series_and_closure_timing() {
        let fam: DynamicFamily<HistogramCells<5>, 1, 4> = DynamicFamily::histogram(["op"], SECONDS);
        {
            let _t = fam.with_labels(["read"]).start_timer_seconds();
        }
        let out = fam
            .with_labels(["write"])
            .time(TimeUnit::Microseconds, || 7);
        assert_eq!(out, 7);
        assert_eq!(fam.with_labels(["read"]).count(), 1);
        assert_eq!(fam.with_labels(["write"]).count(), 1);
    }

    #[test]
    fn units_convert() {
        let d = Duration::from_micros(1500);
        assert_eq!(TimeUnit::Seconds.convert(d), 0.0015);
        assert_eq!(TimeUnit::Milliseconds.convert(d), 1.5);
        assert_eq!(TimeUnit::Microseconds.convert(d), 1500.0);
    }

    impl<O: Observe> Timer<O> {
        fn time_and_stop(self, f: impl FnOnce()) -> f64 {
            f();
            self.stop()
        }
    }
}
