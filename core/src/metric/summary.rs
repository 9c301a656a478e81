//! Summaries: quantiles with a stated relative error, from a fixed-memory, lock-free sketch
//! that never drops an observation.
//!
//! ## The sketch
//!
//! A summary series is an array of `BUCKETS` atomic counters over OpenTelemetry's base-2
//! exponential bucket layout at scale `SCALE` (see [`sketch`](crate::sketch) for the layout
//! and the error math), starting at the bucket that holds the configured `lowest` value,
//! plus five counters for what falls outside that array, the sum, the minimum and the
//! maximum. Every observation lands in exactly one counter:
//!
//! | value | counter | reported for a quantile that falls there |
//! | --- | --- | --- |
//! | in `(b^offset, b^(offset+BUCKETS)]` | its bucket | `2 b^(i+1) / (1 + b)`, within the bound |
//! | `0 < v <= b^offset`, positive subnormals | underflow | the range's lower edge `b^offset` |
//! | `v > b^(offset+BUCKETS)`, `+Inf` | overflow | the range's upper edge |
//! | `0.0` and `-0.0` | zero | `0` |
//! | `v < 0`, `-Inf` | negative | the smallest value observed |
//!
//! Estimates are then clamped to the observed `[min, max]`, which only moves them closer to
//! the true value. Quantiles are ranked in that order (negative, zero, underflow, buckets,
//! overflow): a value outside the range still takes its rank, so quantiles that fall
//! inside the range keep their bound whatever lies outside it. Only the bucket row carries
//! the relative-error guarantee; size the range so the quantiles you care about fall in it,
//! and watch [`SketchSnapshot::underflow`] and [`SketchSnapshot::overflow`].
//!
//! A NaN observation is ignored, as by every Corral metric type: it has no rank and would
//! make the sum NaN for good. Every other observation counts in `_count` and adds to
//! `_sum`; an infinity makes the sum infinite, as in Corral's `Histogram` and the
//! Prometheus clients.
//!
//! ## Recording
//!
//! `observe` is: the bucket index from the value's bits (two table loads, one compare), a
//! relaxed load each of the minimum and maximum (a `fetch_min`/`fetch_max` only when the
//! value is a new extreme), one compare-and-swap loop on the sum, and last one `fetch_add`
//! on the bucket with `Release` ordering (the same instruction as a relaxed one on x86-64).
//! No lock, no allocation, no branch that can drop the value, no panic. With a window, add
//! one load of the due time (and, once per step, a rotation).
//!
//! The order matters to readers: a read loads the counts with `Acquire`, so every
//! observation it counts has its extremes and its sum visible to it. Estimates clamped to
//! `[min, max]` therefore never get clamped to a stale extreme, and `_sum` includes every
//! observation `_count` does (and perhaps a few in flight).
//!
//! ## Reading
//!
//! A read copies the bucket counts once onto the stack (`8 * BUCKETS` bytes) and derives
//! every quantile and the count from that copy, so the count a scrape reports is the total
//! of the counts its quantiles were ranked against. `p` quantiles are ranked by the
//! nearest-rank rule ([`quantile_rank`]).
//!
//! ## Sliding window
//!
//! With `WINDOW > 0` snapshot slots and [`SummaryConfig::with_window`], quantiles cover
//! the most recent `max_age` ticks: every observation made at a tick `t >= now - max_age`
//! (count and sum stay all-time, as Prometheus expects). The bucket counters are never
//! reset. Every `step = max_age / (WINDOW - 1)` ticks, the first observe or read that finds
//! the step over copies them into the oldest snapshot slot and labels the copy with a tick
//! that no observation in it reached: the tick the snapshot was due, or, if another observer
//! raced the copy, the clock read after the copy plus one. A read subtracts the newest
//! snapshot labelled at or before `now - max_age` from the live counters. A subtracted
//! observation was therefore made before `now - max_age`: the window never loses an
//! observation that belongs to it. What it may add is older observations from at most one
//! step before the window (it spans between `max_age` and `max_age + step`), plus, rarely,
//! an observation whose thread was preempted between reading the time and recording it.
//! See [`SummaryCells`] for exactly what a reader sees while a snapshot is being taken.

use core::fmt;
use core::ops::ControlFlow;

use crate::collect::{Collect, SeriesSink};
use crate::config::RegistryConfig;
use crate::error::Reason;
use crate::error::{BoundsError, SummaryConfigError};
use crate::macros::{const_fn, fresh_array};
use crate::metric::{Metric, MetricKind, add_f64};
use crate::sketch::{self, SPECIALS, ScaleCheck, SketchSnapshot};
use crate::sync::{AtomicU64, Ordering, spin_loop};
use crate::value::{SeriesLabels, SummaryValue, Value};

/// The quantiles a summary reports unless configured otherwise: p50, p90, p95, p99, p99.9.
pub const DEFAULT_QUANTILES: &[f64] = &[0.5, 0.9, 0.95, 0.99, 0.999];

/// The most quantiles one summary can report (they are computed into a stack array).
pub const MAX_QUANTILES: usize = 16;

/// The default scale, 6: the smallest whose relative error is within 1 %
/// ([`sketch::scale_for_error`]`(0.01)`); its bound is 0.54 %.
pub const DEFAULT_SCALE: u32 = 6;

/// How often a reader retries when the snapshot it picked is rewritten under it.
const READ_ATTEMPTS: usize = 4;

/// A source of time for a summary's sliding window, in ticks of the implementor's choosing
/// (the window's `max_age` is in the same ticks).
///
/// Core has no clock of its own: a windowed summary's configuration holds a
/// `&'static dyn Clock` ([`SummaryConfig::with_window`]), which [`Summary::observe`] and
/// every read call. A clock for a device can read a hardware timer. The std adapter plugs in
/// the same way, with a `static` clock over `std::time::Instant`, for example ticks of one
/// millisecond since the first call (`OnceLock<Instant>` plus `elapsed().as_millis()`), and
/// `SummaryConfig::new(1e-4).with_window(600_000, &CLOCK)` for a ten-minute window.
///
/// `observe` reads the clock on every call, so the clock's cost adds to it; a clock that
/// returns a cached tick (an atomic a timer thread advances) is the cheap choice, and
/// [`Summary::observe_at`] takes a time the caller already has (a timer that has just read
/// `Instant::now` to measure the value). A `static` clock is the usual form:
///
/// ```
/// use corral_core::Clock;
///
/// struct Uptime;
/// impl Clock for Uptime {
///     fn now(&self) -> u64 {
///         # 0
///         // e.g. milliseconds since boot from a hardware timer
///     }
/// }
/// static UPTIME: Uptime = Uptime;
/// ```
pub trait Clock: Sync {
    /// The current time in ticks. It must be monotonic across threads: a reading must not be
    /// smaller than one another thread took earlier (true of `CLOCK_MONOTONIC`, `Instant`).
    fn now(&self) -> u64;
}

/// A sliding window: its length and the clock that measures it.
#[derive(Clone, Copy)]
struct WindowConfig {
    max_age: u64,
    clock: &'static dyn Clock,
}

/// What every series of a summary shares: its value range, its quantiles and, optionally,
/// its sliding window. All of it is checked when the summary or family is built (a compile
/// error in a `static`) and again at registration.
///
/// ```
/// use corral_core::SummaryConfig;
///
/// // Latencies in seconds from 10 µs up: 1024 buckets at scale 6 span 2^16, to about 0.65 s.
/// const LATENCY: SummaryConfig = SummaryConfig::new(1e-5).with_quantiles(&[0.5, 0.99]);
/// assert_eq!(LATENCY.quantiles(), &[0.5, 0.99]);
/// let highest = LATENCY.highest::<1024>();
/// assert!(highest > 0.64 && highest < 0.66, "{highest}");
/// ```
#[derive(Clone, Copy)]
pub struct SummaryConfig<const SCALE: u32 = DEFAULT_SCALE> {
    quantiles: &'static [f64],
    lowest: f64,
    /// The bucket index of `lowest`: the first bucket of the array.
    offset: i32,
    window: Option<WindowConfig>,
}

impl<const SCALE: u32> SummaryConfig<SCALE> {
    /// A configuration whose range starts at `lowest` (values at or below the lower edge of
    /// `lowest`'s bucket count as underflow), with [`DEFAULT_QUANTILES`] and no window.
    ///
    /// # Panics
    ///
    /// If `lowest` is not a positive, normal, finite number; in a `const` or `static` that
    /// is a compile error. Use [`try_new`](Self::try_new) for values that arrive at run time.
    pub const fn new(lowest: f64) -> Self {
        match Self::try_new(lowest) {
            Ok(config) => config,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// A configuration whose range starts at `lowest`, or why it cannot.
    ///
    /// # Errors
    ///
    /// [`SummaryConfigError::InvalidLowest`] if `lowest` is not a positive, normal, finite
    /// number.
    pub const fn try_new(lowest: f64) -> Result<Self, SummaryConfigError> {
        #[allow(clippy::let_unit_value)]
        let () = ScaleCheck::<SCALE>::OK;
        match sketch::index_of::<SCALE>(lowest) {
            // Every positive normal number has a bucket; the one of `f64::MIN_POSITIVE`
            // starts at a subnormal edge, which `sketch::lower_bound` computes exactly.
            Some(offset) => Ok(Self {
                quantiles: DEFAULT_QUANTILES,
                lowest,
                offset,
                window: None,
            }),
            _ => Err(SummaryConfigError::InvalidLowest),
        }
    }

    /// The same configuration reporting `quantiles` instead.
    ///
    /// # Panics
    ///
    /// If the quantiles are not strictly increasing within `[0, 1]`, or more than
    /// [`MAX_QUANTILES`]; in a `const` or `static` that is a compile error.
    #[must_use]
    pub const fn with_quantiles(self, quantiles: &'static [f64]) -> Self {
        match self.try_with_quantiles(quantiles) {
            Ok(config) => config,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// The same configuration reporting `quantiles` instead, or why it cannot.
    ///
    /// # Errors
    ///
    /// A [`SummaryConfigError`] naming the first quantile that is wrong.
    pub const fn try_with_quantiles(
        self,
        quantiles: &'static [f64],
    ) -> Result<Self, SummaryConfigError> {
        match check_quantiles(quantiles) {
            Ok(()) => Ok(Self { quantiles, ..self }),
            Err(e) => Err(e),
        }
    }

    /// The same configuration with a sliding window of `max_age` ticks of `clock`, for a
    /// summary type with `WINDOW >= 2` snapshot slots (checked when the summary is built).
    #[must_use]
    pub const fn with_window(self, max_age: u64, clock: &'static dyn Clock) -> Self {
        Self {
            window: Some(WindowConfig { max_age, clock }),
            ..self
        }
    }

    /// The quantiles reported.
    pub const fn quantiles(&self) -> &'static [f64] {
        self.quantiles
    }

    /// The lowest value the configuration was built with.
    pub const fn lowest(&self) -> f64 {
        self.lowest
    }

    /// The bucket index (OpenTelemetry's `offset`) of the first bucket.
    pub const fn offset(&self) -> i32 {
        self.offset
    }

    /// The upper edge of the range a summary with `BUCKETS` buckets covers: values above it
    /// count as overflow.
    pub const fn highest<const BUCKETS: usize>(&self) -> f64 {
        sketch::lower_bound::<SCALE>(self.offset.saturating_add(BUCKETS as i32))
    }

    /// The window's `max_age` in clock ticks, if there is a window.
    pub const fn max_age(&self) -> Option<u64> {
        match self.window {
            Some(window) => Some(window.max_age),
            None => None,
        }
    }

    /// Checks this configuration for a summary of `BUCKETS` buckets and `WINDOW` snapshot
    /// slots.
    ///
    /// # Errors
    ///
    /// The first [`SummaryConfigError`] found.
    pub const fn check<const BUCKETS: usize, const WINDOW: usize>(
        &self,
    ) -> Result<(), SummaryConfigError> {
        // The lowest bucket is at most one below the first normal one (f64::MIN_POSITIVE's).
        if self.offset < (-1022 << SCALE) - 1 {
            return Err(SummaryConfigError::InvalidLowest);
        }
        // The top bucket's upper edge, b^(offset + BUCKETS), must be a normal number.
        if BUCKETS > (1 << 24) || (self.offset as i64 + BUCKETS as i64) >> SCALE > 1023 {
            return Err(SummaryConfigError::RangeTooHigh);
        }
        if let Err(e) = check_quantiles(self.quantiles) {
            return Err(e);
        }
        match (self.window, WINDOW) {
            (None, 0) => Ok(()),
            (Some(_), 0) => Err(SummaryConfigError::WindowWithoutSlots),
            (None, _) => Err(SummaryConfigError::SlotsWithoutWindow),
            (Some(_), 1) => Err(SummaryConfigError::TooFewSlots { slots: 1 }),
            (Some(window), slots) => {
                if window.max_age < (slots - 1) as u64 {
                    Err(SummaryConfigError::MaxAgeTooShort {
                        max_age: window.max_age,
                    })
                } else {
                    Ok(())
                }
            }
        }
    }
}

impl<const SCALE: u32> fmt::Debug for SummaryConfig<SCALE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummaryConfig")
            .field("scale", &SCALE)
            .field("lowest", &self.lowest)
            .field("offset", &self.offset)
            .field("quantiles", &self.quantiles)
            .field("max_age", &self.max_age())
            .finish()
    }
}

const fn check_quantiles(quantiles: &[f64]) -> Result<(), SummaryConfigError> {
    if quantiles.len() > MAX_QUANTILES {
        return Err(SummaryConfigError::TooManyQuantiles {
            count: quantiles.len(),
        });
    }
    let mut i = 0;
    while i < quantiles.len() {
        let q = quantiles[i];
        // `!(q >= 0.0 && q <= 1.0)` also refuses NaN.
        if !(q >= 0.0 && q <= 1.0) {
            return Err(SummaryConfigError::QuantileOutOfRange { index: i });
        }
        if i > 0 && !(q > quantiles[i - 1]) {
            return Err(SummaryConfigError::QuantilesNotIncreasing { index: i });
        }
        i += 1;
    }
    Ok(())
}

/// Maps an `f64` to a `u64` whose unsigned order is the numbers' order (`-0.0 < 0.0`), so
/// `fetch_min`/`fetch_max` can track extremes.
#[inline(always)]
const fn order_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

const fn from_order_key(key: u64) -> f64 {
    if key >> 63 == 1 {
        f64::from_bits(key & !(1 << 63))
    } else {
        f64::from_bits(!key)
    }
}

/// No minimum yet: above the key of every non-NaN value.
const NO_MIN: u64 = u64::MAX;
/// No maximum yet: below the key of every non-NaN value.
const NO_MAX: u64 = 0;

/// One snapshot slot of a sliding window: a copy of every counter, and the clock reading
/// taken after the copy ended.
struct Snapshot<const BUCKETS: usize> {
    /// 0: never written. Odd: being written. Even: stable, `taken` and the copy match.
    seq: AtomicU64,
    taken: AtomicU64,
    counts: [AtomicU64; BUCKETS],
    specials: [AtomicU64; SPECIALS],
}

impl<const BUCKETS: usize> Snapshot<BUCKETS> {
    const_fn! {
        const fn new() -> Self {
            Self {
                seq: AtomicU64::new(0),
                taken: AtomicU64::new(0),
                counts: fresh_array!(AtomicU64::new(0); BUCKETS),
                specials: fresh_array!(AtomicU64::new(0); SPECIALS),
            }
        }
    }
}

/// The per-series state of a summary: `BUCKETS` bucket counters at scale `SCALE`, and
/// `WINDOW` snapshot slots for a sliding window (0: no window).
///
/// Families hold one per series; [`Summary`] wraps one with its configuration.
///
/// ## Memory
///
/// `8 * (BUCKETS + 11)` bytes, plus `8 * (BUCKETS + 6) * WINDOW` with a window; in a family
/// each series is also padded to a cache line. [`SummaryCells::BYTES`] is the exact figure
/// (a test checks this formula). At the default scale a doubling of the value takes 64
/// buckets ([`sketch::buckets_for`] computes `BUCKETS` for a range), so:
///
/// | `BUCKETS` | range `highest / lowest` | bytes (`WINDOW = 0`) | with `WINDOW = 6` |
/// | --- | --- | --- | --- |
/// | 256 | 16 | 2 144 | 14 768 |
/// | 512 | 256 | 4 192 | 29 104 |
/// | 1024 | 65 536 | 8 288 | 57 776 |
/// | 2048 | 4.3e9 | 16 480 | 115 120 |
///
/// ## Concurrency
///
/// Observing is atomic read-modify-writes on counters that are never reset, so concurrent
/// observations are never lost and a finished observation is counted by every later read.
/// A read is not an atomic snapshot of all buckets; it is the copy it made, and its count is
/// the total of that copy, so quantiles and count always agree.
///
/// With a window, a rotation (at most one per step) goes like this. The first thread to
/// find `now >= next_due` and raise `claimed` past that due time (`fetch_max`) is elected.
/// Observers that find the same due time but lose the election count themselves in `racers`
/// and record at once: nobody waits. The elected thread marks the oldest slot busy (its
/// sequence number turns odd), copies the live counters into it, labels it (with the due
/// time if `racers` did not move since before the election, else with the clock plus one),
/// makes the sequence number even again, and raises `next_due` to `max(label, now) + step`.
/// Until then, every observer at or past the due time takes this slow path (one extra
/// `fetch_max` and `fetch_add`); the copy is `BUCKETS + 4` loads and stores.
///
/// A reader during a rotation skips a busy slot and uses the newest stable snapshot labelled
/// at or before `now - max_age`; with a current `now` it never needs the slot being
/// overwritten (the oldest), because labels are at least a step apart. A reader whose `now`
/// lags can pick the slot just as it is overwritten: it re-checks the sequence number after
/// copying, and picks again if it changed, up to four times, after which it counts every
/// observation since the start (more, never fewer). A rotator that stalls mid-copy blocks
/// nobody: its slot stays busy and the next rotation that lands on it skips its snapshot.
///
/// These interleavings are model-checked with loom (`loom-tests/tests/summary.rs`).
pub struct SummaryCells<
    const BUCKETS: usize,
    const WINDOW: usize = 0,
    const SCALE: u32 = DEFAULT_SCALE,
> {
    counts: [AtomicU64; BUCKETS],
    specials: [AtomicU64; SPECIALS],
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    /// The tick at or after which the next snapshot is due (window only).
    next_due: AtomicU64,
    /// One more than the due time of the last snapshot a thread was elected to take.
    claimed: AtomicU64,
    /// Observers that lost an election, and so may have raced a copy.
    racers: AtomicU64,
    /// Snapshots taken so far; the next one goes to slot `rotations % WINDOW`.
    rotations: AtomicU64,
    snapshots: [Snapshot<BUCKETS>; WINDOW],
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32>
    SummaryCells<BUCKETS, WINDOW, SCALE>
{
    /// The bytes one series takes (before padding to a cache line in a family).
    pub const BYTES: usize = core::mem::size_of::<Self>();

    /// The guaranteed relative error of a quantile that falls in the bucket range.
    pub const RELATIVE_ERROR: f64 = sketch::relative_error(SCALE);

    const_fn! {
        /// Empty cells.
        pub const fn new() -> Self {
            #[allow(clippy::let_unit_value)]
            let () = ScaleCheck::<SCALE>::OK;
            const { assert!(BUCKETS >= 1, "a summary needs at least one bucket") };
            Self {
                counts: fresh_array!(AtomicU64::new(0); BUCKETS),
                specials: fresh_array!(AtomicU64::new(0); SPECIALS),
                sum: AtomicU64::new(0),
                min: AtomicU64::new(NO_MIN),
                max: AtomicU64::new(NO_MAX),
                next_due: AtomicU64::new(0),
                claimed: AtomicU64::new(0),
                racers: AtomicU64::new(0),
                rotations: AtomicU64::new(0),
                snapshots: fresh_array!(Snapshot::<BUCKETS>::new(); WINDOW),
            }
        }
    }

    /// Records `value` under `config`, which must be the configuration these cells are used
    /// with. With a window, reads the window's clock.
    #[inline]
    pub fn observe(&self, config: &SummaryConfig<SCALE>, value: f64) {
        if WINDOW > 0
            && let Some(window) = &config.window
        {
            self.tick(window, window.clock.now(), true);
        }
        self.record(config.offset, value);
    }

    /// Records `value` made at `now` (ticks of the window's clock; ignored without a
    /// window), for callers that already hold the time, such as a timer that just measured
    /// the value. `now` must come from the window's clock: never ahead of it.
    #[inline]
    pub fn observe_at(&self, config: &SummaryConfig<SCALE>, value: f64, now: u64) {
        if WINDOW > 0
            && let Some(window) = &config.window
        {
            self.tick(window, now, true);
        }
        self.record(config.offset, value);
    }

    /// Rotates if a snapshot is due.
    #[inline(always)]
    fn tick(&self, window: &WindowConfig, now: u64, recording: bool) {
        // Acquire: a recording made after seeing a rotation's new due time cannot be in
        // that rotation's copy.
        if now >= self.next_due.load(Ordering::Acquire) {
            self.rotate(window, now, recording);
        }
    }

    /// Extremes and sum first, then the count with `Release`: a read that acquires the
    /// count sees this value's extremes (its estimates are clamped to them) and its sum.
    #[inline(always)]
    fn record(&self, offset: i32, value: f64) {
        if value.is_nan() {
            return;
        }
        let bits = value.to_bits();
        // Sign and exponent: 1 ..= 0x7fe is a positive normal number.
        let top = (bits >> 52) as u32;
        let cell = if top.wrapping_sub(1) < 0x7fe {
            let at = sketch::index_of_normal_bits::<SCALE>(bits).wrapping_sub(offset);
            let [_, _, underflow, overflow] = &self.specials;
            match usize::try_from(at) {
                Ok(at) => self.counts.get(at).unwrap_or(overflow),
                Err(_) => underflow,
            }
        } else {
            self.special_cell(value)
        };
        let key = order_key(value);
        if key < self.min.load(Ordering::Relaxed) {
            self.min.fetch_min(key, Ordering::Relaxed);
        }
        if key > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(key, Ordering::Relaxed);
        }
        add_f64(&self.sum, value);
        cell.fetch_add(1, Ordering::Release);
    }

    /// Takes the snapshot that is due, unless another thread is taking it. An observer
    /// (`recording`) that loses the election counts itself as a racer: its observation,
    /// recorded with `Release` right after, may land in the copy being made.
    #[cold]
    #[inline(never)]
    fn rotate(&self, window: &WindowConfig, now: u64, recording: bool) {
        let due = self.next_due.load(Ordering::Acquire);
        if now < due {
            return;
        }
        let slots = WINDOW.max(1);
        let step = window.max_age / (slots as u64 - 1).max(1);
        // Read before the election: every observer that loses it counts itself in `racers`
        // after this load (the election's release/acquire orders the two).
        let racers_before = self.racers.load(Ordering::Acquire);
        if self
            .claimed
            .fetch_max(due.saturating_add(1), Ordering::AcqRel)
            > due
        {
            // Someone else takes this snapshot. Our observation may land in their copy, so
            // say so: they then label the copy with a clock reading instead of `due`.
            if recording {
                self.racers.fetch_add(1, Ordering::AcqRel);
            }
            return;
        }
        let label = self.take_snapshot(window, due, racers_before);
        // The next snapshot is due a whole step after this one's label (and after `now`),
        // so consecutive labels are at least a step apart and a reader's cutoff always has a
        // stable snapshot behind it, even while the oldest one is being overwritten.
        let next = label.unwrap_or(now).max(now).saturating_add(step);
        self.next_due.fetch_max(next, Ordering::Release);
    }

    /// Copies the live counters into the oldest slot; returns the label it stored, or
    /// `None` if the slot is still owned by a stalled earlier rotation.
    fn take_snapshot(&self, window: &WindowConfig, due: u64, racers_before: u64) -> Option<u64> {
        let slots = WINDOW.max(1) as u64;
        let turn = self.rotations.fetch_add(1, Ordering::Relaxed);
        let slot = self.snapshots.get((turn % slots) as usize)?;
        let seq = slot.seq.load(Ordering::Relaxed);
        // An odd sequence: a rotator WINDOW turns ago stalled mid-copy and still owns the
        // slot. Skip this snapshot rather than wait; readers use the others.
        if seq & 1 == 1
            || slot
                .seq
                .compare_exchange(seq, seq + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        // Release stores: a reader that sees any of the new values also sees the odd
        // sequence number when it re-checks, and discards its copy.
        for (to, from) in slot.counts.iter().zip(&self.counts) {
            to.store(from.load(Ordering::Acquire), Ordering::Release);
        }
        for (to, from) in slot.specials.iter().zip(&self.specials) {
            to.store(from.load(Ordering::Acquire), Ordering::Release);
        }
        // The label is an exclusive bound: every observation in the copy was made at a
        // tick before it. Observations made before `due` took the fast path; one made at or
        // after `due` either came after the copy (it saw the new due time, or it is this
        // thread's own) or raced it and counted itself in `racers`. With no racer, `due` is
        // such a bound; otherwise the clock, read after the copy, plus one tick is.
        let label = if self.racers.load(Ordering::Acquire) == racers_before {
            due
        } else {
            window.clock.now().saturating_add(1)
        };
        slot.taken.store(label, Ordering::Release);
        slot.seq.store(seq + 2, Ordering::Release);
        Some(label)
    }

    /// The newest stable snapshot taken at or before `cutoff`, with its sequence number.
    fn best_snapshot(&self, cutoff: u64) -> Option<(&Snapshot<BUCKETS>, u64)> {
        let mut best: Option<(&Snapshot<BUCKETS>, u64, u64)> = None;
        for slot in &self.snapshots {
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == 0 || seq & 1 == 1 {
                continue;
            }
            let taken = slot.taken.load(Ordering::Acquire);
            if taken <= cutoff && best.is_none_or(|(_, _, t)| taken > t) {
                best = Some((slot, seq, taken));
            }
        }
        best.map(|(slot, seq, _)| (slot, seq))
    }

    /// Fills `counts` and `specials` with the window's counts at `now`; returns the
    /// all-time count read along the way.
    fn load_window(
        &self,
        window: &WindowConfig,
        now: u64,
        counts: &mut [u64; BUCKETS],
        specials: &mut [u64; SPECIALS],
    ) -> u64 {
        self.tick(window, now, false);
        let cutoff = now.saturating_sub(window.max_age);
        let mut based = false;
        for _ in 0..READ_ATTEMPTS {
            let Some((slot, seq)) = self.best_snapshot(cutoff) else {
                break;
            };
            for (out, cell) in counts.iter_mut().zip(&slot.counts) {
                *out = cell.load(Ordering::Acquire);
            }
            for (out, cell) in specials.iter_mut().zip(&slot.specials) {
                *out = cell.load(Ordering::Acquire);
            }
            // The acquire loads above keep this load after them.
            if slot.seq.load(Ordering::Relaxed) == seq {
                based = true;
                break;
            }
            spin_loop();
        }
        if !based {
            counts.fill(0);
            specials.fill(0);
        }
        // Live counters, read after the baseline: each is at least the baseline's copy of
        // it (the rotator read it before publishing the copy we acquired). Acquire, as in
        // every read of the counts: see `record`.
        let mut total = 0u64;
        for (out, cell) in counts.iter_mut().zip(&self.counts) {
            let live = cell.load(Ordering::Acquire);
            total = total.wrapping_add(live);
            *out = live.saturating_sub(*out);
        }
        for (out, cell) in specials.iter_mut().zip(&self.specials) {
            let live = cell.load(Ordering::Acquire);
            total = total.wrapping_add(live);
            *out = live.saturating_sub(*out);
        }
        total
    }

    /// Copies the counters once and passes the snapshot to `f`. With a window, the bucket
    /// counts cover the window at `now` (or at the clock's reading if `now` is `None`);
    /// count, sum, minimum and maximum are all-time.
    pub fn read_sketch_at<R>(
        &self,
        config: &SummaryConfig<SCALE>,
        now: Option<u64>,
        f: impl FnOnce(&SketchSnapshot<'_>) -> R,
    ) -> R {
        let mut counts = [0u64; BUCKETS];
        let mut specials = [0u64; SPECIALS];
        let windowed = WINDOW > 0 && config.window.is_some();
        let count = match &config.window {
            Some(window) if WINDOW > 0 => {
                let now = now.unwrap_or_else(|| window.clock.now());
                self.load_window(window, now, &mut counts, &mut specials)
            }
            _ => {
                let mut total = 0u64;
                for (out, cell) in counts.iter_mut().zip(&self.counts) {
                    *out = cell.load(Ordering::Acquire);
                    total = total.wrapping_add(*out);
                }
                for (out, cell) in specials.iter_mut().zip(&self.specials) {
                    *out = cell.load(Ordering::Acquire);
                    total = total.wrapping_add(*out);
                }
                total
            }
        };
        let min = self.min.load(Ordering::Relaxed);
        let max = self.max.load(Ordering::Relaxed);
        f(&SketchSnapshot {
            scale: SCALE,
            offset: config.offset,
            counts: &counts,
            specials,
            count,
            sum: self.sum(),
            min: (min != NO_MIN).then(|| from_order_key(min)),
            max: (max != NO_MAX).then(|| from_order_key(max)),
            windowed,
            estimate_factor: sketch::estimate_factor::<SCALE>(),
            lower_bound: sketch::lower_bound::<SCALE>,
        })
    }

    /// Reads one point (quantiles, count, sum) and passes it to `f`; `now` as in
    /// [`read_sketch_at`](Self::read_sketch_at).
    pub fn read_at<R>(
        &self,
        config: &SummaryConfig<SCALE>,
        now: Option<u64>,
        f: impl FnOnce(&Value<'_>) -> R,
    ) -> R {
        self.read_sketch_at(config, now, |sketch| {
            let wanted = &config.quantiles[..config.quantiles.len().min(MAX_QUANTILES)];
            let mut pairs = [(0.0, 0.0); MAX_QUANTILES];
            let pairs = &mut pairs[..wanted.len()];
            sketch.quantiles_into(wanted, pairs);
            f(&Value::Summary(
                SummaryValue::new(pairs, sketch.count(), sketch.sum()).with_sketch(*sketch),
            ))
        })
    }

    /// The counter a value outside the positive normal range goes to.
    #[inline]
    fn special_cell(&self, value: f64) -> &AtomicU64 {
        let [negative, zero, underflow, overflow] = &self.specials;
        if value == 0.0 {
            zero
        } else if value < 0.0 {
            negative
        } else if value.is_infinite() {
            overflow
        } else {
            // Positive subnormal: below every valid range.
            underflow
        }
    }

    /// Observations so far, all-time.
    pub fn count(&self) -> u64 {
        self.counts
            .iter()
            .chain(&self.specials)
            .map(|c| c.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Sum of the observed values, all-time.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    /// The smallest value observed (NaN ignored), if any.
    pub fn min(&self) -> Option<f64> {
        let key = self.min.load(Ordering::Relaxed);
        (key != NO_MIN).then(|| from_order_key(key))
    }

    /// The largest value observed (NaN ignored), if any.
    pub fn max(&self) -> Option<f64> {
        let key = self.max.load(Ordering::Relaxed);
        (key != NO_MAX).then(|| from_order_key(key))
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Default
    for SummaryCells<BUCKETS, WINDOW, SCALE>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> fmt::Debug
    for SummaryCells<BUCKETS, WINDOW, SCALE>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummaryCells")
            .field("buckets", &BUCKETS)
            .field("window_slots", &WINDOW)
            .field("scale", &SCALE)
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish_non_exhaustive()
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Metric
    for SummaryCells<BUCKETS, WINDOW, SCALE>
{
    type Config = SummaryConfig<SCALE>;
    type Handle<'a> = SummaryRef<'a, BUCKETS, WINDOW, SCALE>;
    const KIND: MetricKind = MetricKind::Summary;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, config: &'a SummaryConfig<SCALE>) -> Self::Handle<'a> {
        SummaryRef {
            config,
            cells: self,
        }
    }

    fn read<R>(&self, config: &SummaryConfig<SCALE>, f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.read_at(config, None, f)
    }

    fn check_config(config: &SummaryConfig<SCALE>) -> Result<(), BoundsError> {
        config
            .check::<BUCKETS, WINDOW>()
            .map_err(BoundsError::Summary)
    }
}

/// A summary series handed out by a labelled family: the series' cells plus the
/// configuration the family shares. `Copy`, two pointers wide.
#[derive(Debug)]
pub struct SummaryRef<'a, const BUCKETS: usize, const WINDOW: usize = 0, const SCALE: u32 = 6> {
    config: &'a SummaryConfig<SCALE>,
    cells: &'a SummaryCells<BUCKETS, WINDOW, SCALE>,
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Clone
    for SummaryRef<'_, BUCKETS, WINDOW, SCALE>
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Copy
    for SummaryRef<'_, BUCKETS, WINDOW, SCALE>
{
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32>
    SummaryRef<'_, BUCKETS, WINDOW, SCALE>
{
    /// Records one observation.
    #[inline]
    pub fn observe(self, value: f64) {
        self.cells.observe(self.config, value);
    }

    /// Records one observation made at `now` (see [`SummaryCells::observe_at`]).
    #[inline]
    pub fn observe_at(self, value: f64, now: u64) {
        self.cells.observe_at(self.config, value, now);
    }

    /// Observations so far.
    pub fn count(self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values.
    pub fn sum(self) -> f64 {
        self.cells.sum()
    }

    /// The estimate of quantile `q` now (in the window, if there is one).
    pub fn quantile(self, q: f64) -> f64 {
        self.cells
            .read_sketch_at(self.config, None, |sketch| sketch.quantile(q))
    }
}

/// A summary: quantiles with a guaranteed relative error (0.54 % at the default scale)
/// over a fixed range of `BUCKETS` log-scaled buckets, from a lock-free sketch that never
/// drops an observation. `WINDOW` snapshot slots (0: none) give it a sliding window;
/// `SCALE` sets the error bound ([`sketch::scale_for_error`]).
///
/// ```
/// use corral_core::{Summary, SummaryConfig};
///
/// // Milliseconds from 0.01 ms; 1280 buckets reach 0.01 * 2^20 = 10 486 ms.
/// static LATENCY_MS: Summary<1280> = Summary::new(SummaryConfig::new(0.01));
///
/// for ms in 1..=1000 {
///     LATENCY_MS.observe(f64::from(ms));
/// }
/// assert_eq!(LATENCY_MS.count(), 1000);
/// let p99 = LATENCY_MS.quantile(0.99);
/// assert!((p99 - 990.0).abs() / 990.0 <= Summary::<1280>::RELATIVE_ERROR);
/// ```
///
/// A windowed summary takes the time from a [`Clock`]:
///
/// ```
/// use corral_core::{Clock, Summary, SummaryConfig};
///
/// struct Ticks;
/// impl Clock for Ticks {
///     fn now(&self) -> u64 { 0 }
/// }
/// static TICKS: Ticks = Ticks;
///
/// // Quantiles over the last 600 ticks, rotated every 600 / 5 = 120 ticks.
/// static RECENT: Summary<512, 6> =
///     Summary::new(SummaryConfig::new(0.01).with_window(600, &TICKS));
/// RECENT.observe_at(3.0, 10);
/// assert_eq!(RECENT.quantile_at(0.5, 10), 3.0);
/// assert!(RECENT.quantile_at(0.5, 10_000).is_nan()); // 3.0 aged out
/// assert_eq!(RECENT.count(), 1); // count and sum stay all-time
/// ```
#[derive(Debug)]
pub struct Summary<const BUCKETS: usize, const WINDOW: usize = 0, const SCALE: u32 = DEFAULT_SCALE>
{
    config: SummaryConfig<SCALE>,
    cells: SummaryCells<BUCKETS, WINDOW, SCALE>,
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Summary<BUCKETS, WINDOW, SCALE> {
    /// The guaranteed relative error of a quantile that falls in the bucket range.
    pub const RELATIVE_ERROR: f64 = sketch::relative_error(SCALE);

    /// The bytes one summary takes.
    pub const BYTES: usize = core::mem::size_of::<Self>();

    const_fn! {
        /// A summary with `config`.
        ///
        /// # Panics
        ///
        /// If the configuration does not fit the type (see [`SummaryConfig::check`]); in a
        /// `static` that is a compile error. Use [`try_new`](Self::try_new) otherwise.
        pub const fn new(config: SummaryConfig<SCALE>) -> Self {
            match Self::try_new(config) {
                Ok(summary) => summary,
                Err(e) => panic!("{}", e.message()),
            }
        }
    }

    const_fn! {
        /// A summary with `config`, or why the configuration does not fit the type.
        ///
        /// # Errors
        ///
        /// The [`SummaryConfigError`] [`SummaryConfig::check`] finds.
        pub const fn try_new(config: SummaryConfig<SCALE>) -> Result<Self, SummaryConfigError> {
            match config.check::<BUCKETS, WINDOW>() {
                Ok(()) => Ok(Self { config, cells: SummaryCells::new() }),
                Err(e) => Err(e),
            }
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.cells.observe(&self.config, value);
    }

    /// Records one observation made at `now` (see [`SummaryCells::observe_at`]).
    #[inline]
    pub fn observe_at(&self, value: f64, now: u64) {
        self.cells.observe_at(&self.config, value, now);
    }

    /// Observations so far, all-time.
    pub fn count(&self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values, all-time.
    pub fn sum(&self) -> f64 {
        self.cells.sum()
    }

    /// The smallest value observed, if any.
    pub fn min(&self) -> Option<f64> {
        self.cells.min()
    }

    /// The largest value observed, if any.
    pub fn max(&self) -> Option<f64> {
        self.cells.max()
    }

    /// The configuration.
    pub fn config(&self) -> &SummaryConfig<SCALE> {
        &self.config
    }

    /// The estimate of quantile `q` now (in the window at the clock's time, if any).
    pub fn quantile(&self, q: f64) -> f64 {
        self.read_sketch(|sketch| sketch.quantile(q))
    }

    /// The estimate of quantile `q` in the window at `now` (all-time without a window).
    pub fn quantile_at(&self, q: f64, now: u64) -> f64 {
        self.cells
            .read_sketch_at(&self.config, Some(now), |sketch| sketch.quantile(q))
    }

    /// Reads the counters once and passes the snapshot to `f`.
    pub fn read_sketch<R>(&self, f: impl FnOnce(&SketchSnapshot<'_>) -> R) -> R {
        self.cells.read_sketch_at(&self.config, None, f)
    }

    /// Reads the counters once, with the window at `now`, and passes the snapshot to `f`.
    pub fn read_sketch_at<R>(&self, now: u64, f: impl FnOnce(&SketchSnapshot<'_>) -> R) -> R {
        self.cells.read_sketch_at(&self.config, Some(now), f)
    }

    /// Reads one point (configured quantiles, count, sum) and passes it to `f`.
    pub fn read<R>(&self, f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.cells.read_at(&self.config, None, f)
    }

    /// Reads one point with the window at `now` and passes it to `f`.
    pub fn read_at<R>(&self, now: u64, f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.cells.read_at(&self.config, Some(now), f)
    }

    /// The per-series cells, to share with code written against [`SummaryCells`].
    pub fn cells(&self) -> SummaryRef<'_, BUCKETS, WINDOW, SCALE> {
        self.cells.handle(&self.config)
    }
}

impl<const BUCKETS: usize, const WINDOW: usize, const SCALE: u32> Collect
    for Summary<BUCKETS, WINDOW, SCALE>
{
    fn kind(&self) -> MetricKind {
        MetricKind::Summary
    }

    fn check(&self, _config: &RegistryConfig) -> Result<(), Reason> {
        self.config
            .check::<BUCKETS, WINDOW>()
            .map_err(|e| Reason::InvalidBuckets(BoundsError::Summary(e)))
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        if from > 0 {
            return ControlFlow::Continue(());
        }
        if self
            .read(|value| sink(0, &SeriesLabels::NONE, value))
            .is_break()
        {
            return ControlFlow::Break(0);
        }
        ControlFlow::Continue(())
    }
}
