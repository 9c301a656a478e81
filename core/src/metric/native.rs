//! Native histograms: see [`NativeHistogram`].

use core::fmt;
use core::ops::ControlFlow;

use crate::collect::{Collect, SeriesSink, collect_one};
use crate::config::RegistryConfig;
use crate::error::{BoundsError, Reason};
use crate::macros::{const_fn, fresh_array};
use crate::metric::histogram::{bucket_index, check_bounds};
use crate::metric::{Metric, MetricKind, add_f64};
use crate::sketch;
use crate::sync::{AtomicU64, Ordering};
use crate::value::{
    HistogramValue, NATIVE_MAX_SCHEMA, NATIVE_MIN_SCHEMA, NativeBuckets, NativeHistogramValue,
    Value,
};

/// The default schema, 3: eight buckets per power of two (base `2^(1/8)`, about 1.09),
/// client_golang's choice for a bucket factor of 1.1.
pub const DEFAULT_SCHEMA: i32 = 3;

/// The default zero threshold, `2^-128`, as client_golang's.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// The default bound on the non-empty buckets one read reports (see [`NativeHistogram`]).
pub const DEFAULT_MAX_BUCKETS: u32 = 160;

const SIGN: u64 = 1 << 63;

/// Fails compilation for a schema outside `-4 ..= 8`.
struct SchemaCheck<const SCHEMA: i32>;

impl<const SCHEMA: i32> SchemaCheck<SCHEMA> {
    const OK: () = assert!(
        SCHEMA >= NATIVE_MIN_SCHEMA && SCHEMA <= NATIVE_MAX_SCHEMA,
        "SCHEMA must be within -4 ..= 8"
    );
}

/// The bucket index at `SCHEMA` of the bits of a positive normal `f64`. With `SCHEMA` a
/// constant the match folds to one table pair.
#[inline(always)]
const fn index_at<const SCHEMA: i32>(bits: u64) -> i32 {
    match SCHEMA {
        8 => sketch::index_of_normal_bits::<8>(bits),
        7 => sketch::index_of_normal_bits::<7>(bits),
        6 => sketch::index_of_normal_bits::<6>(bits),
        5 => sketch::index_of_normal_bits::<5>(bits),
        4 => sketch::index_of_normal_bits::<4>(bits),
        3 => sketch::index_of_normal_bits::<3>(bits),
        2 => sketch::index_of_normal_bits::<2>(bits),
        1 => sketch::index_of_normal_bits::<1>(bits),
        // Schema -k buckets are 2^k schema-0 buckets: (2^(i 2^k), 2^((i+1) 2^k)] holds
        // exactly the schema-0 indices j with j >> k == i.
        _ => sketch::index_of_normal_bits::<0>(bits) >> ((-SCHEMA) as u32 & 31),
    }
}

/// The bucket index of `value` at `SCHEMA` (of `|value|`), or `None` for zero, subnormals,
/// infinities and NaN.
///
/// ```
/// use corral_core::native_index;
///
/// assert_eq!(native_index::<0>(1.0), Some(-1)); // (0.5, 1]
/// assert_eq!(native_index::<3>(2.0), Some(7));
/// assert_eq!(native_index::<-1>(3.0), Some(0)); // (1, 4]
/// assert_eq!(native_index::<-1>(5.0), Some(1)); // (4, 16]
/// assert_eq!(native_index::<3>(-2.0), Some(7));
/// ```
pub const fn native_index<const SCHEMA: i32>(value: f64) -> Option<i32> {
    #[allow(clippy::let_unit_value)]
    let () = SchemaCheck::<SCHEMA>::OK;
    let bits = value.to_bits() & !SIGN;
    let top = (bits >> 52) as u32;
    if top.wrapping_sub(1) < 0x7fe {
        Some(index_at::<SCHEMA>(bits))
    } else {
        None
    }
}

/// How many buckets a row at `SCHEMA` needs so that every value in
/// `(zero_threshold, highest]` falls inside it: use it for `BUCKETS`. 0 if either is not a
/// positive normal number or `highest < zero_threshold`.
///
/// ```
/// use corral_core::native_buckets_for;
///
/// // 1 µs to 100 s in seconds at schema 3: 26.6 powers of two, 8 buckets each.
/// assert_eq!(native_buckets_for::<3>(1e-6, 100.0), 214);
/// ```
pub const fn native_buckets_for<const SCHEMA: i32>(zero_threshold: f64, highest: f64) -> usize {
    match (
        native_index::<SCHEMA>(zero_threshold),
        native_index::<SCHEMA>(highest),
    ) {
        (Some(low), Some(high)) if high >= low => (high - low) as usize + 1,
        _ => 0,
    }
}

/// What every series of a native histogram shares: the zero threshold (and so where the
/// bucket rows start), the bound on reported buckets, and the classic bounds kept
/// alongside, if any.
///
/// ```
/// use corral_core::NativeHistogramConfig;
///
/// const LATENCY: NativeHistogramConfig =
///     NativeHistogramConfig::new(1e-6).with_classic(&[0.005, 0.01, 0.1, 1.0]).with_max_buckets(100);
/// assert_eq!(LATENCY.zero_threshold(), 1e-6);
/// assert_eq!(LATENCY.max_buckets(), 100);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NativeHistogramConfig<const SCHEMA: i32 = DEFAULT_SCHEMA> {
    zero_threshold: f64,
    /// The index at `SCHEMA` of the zero threshold: the first bucket of each row.
    offset: i32,
    max_buckets: u32,
    classic: &'static [f64],
}

impl<const SCHEMA: i32> NativeHistogramConfig<SCHEMA> {
    /// The default configuration: [`DEFAULT_ZERO_THRESHOLD`], [`DEFAULT_MAX_BUCKETS`], no
    /// classic buckets.
    pub const DEFAULT: Self = Self::new(DEFAULT_ZERO_THRESHOLD);

    /// A configuration with zero threshold `zero_threshold`: observations with
    /// `|v| <= zero_threshold` count in the zero bucket, and each bucket row starts at the
    /// bucket holding it.
    ///
    /// # Panics
    ///
    /// If `zero_threshold` is not a positive, normal, finite number; in a `const` or
    /// `static` that is a compile error. [`try_new`](Self::try_new) returns the error.
    pub const fn new(zero_threshold: f64) -> Self {
        match Self::try_new(zero_threshold) {
            Ok(config) => config,
            Err(_) => panic!("the zero threshold must be a positive, normal, finite number"),
        }
    }

    /// A configuration with zero threshold `zero_threshold`, or why it cannot be one.
    ///
    /// # Errors
    ///
    /// [`BoundsError::ZeroThreshold`] if `zero_threshold` is not a positive, normal,
    /// finite number.
    pub const fn try_new(zero_threshold: f64) -> Result<Self, BoundsError> {
        match native_index::<SCHEMA>(zero_threshold) {
            Some(offset) if zero_threshold > 0.0 => Ok(Self {
                zero_threshold,
                offset,
                max_buckets: DEFAULT_MAX_BUCKETS,
                classic: &[],
            }),
            _ => Err(BoundsError::ZeroThreshold),
        }
    }

    /// The same configuration reporting at most `max_buckets` non-empty buckets per read
    /// (0: no bound), lowering the schema as [`NativeHistogram`] describes.
    #[must_use]
    pub const fn with_max_buckets(self, max_buckets: u32) -> Self {
        Self {
            max_buckets,
            ..self
        }
    }

    /// The same configuration with classic bucket `bounds` kept alongside (for a type
    /// with `CLASSIC >= bounds.len() + 1`, checked when it is built or registered).
    #[must_use]
    pub const fn with_classic(self, bounds: &'static [f64]) -> Self {
        Self {
            classic: bounds,
            ..self
        }
    }

    /// The zero threshold.
    pub const fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// The bound on reported buckets (0: none).
    pub const fn max_buckets(&self) -> u32 {
        self.max_buckets
    }

    /// The classic bounds kept alongside.
    pub const fn classic(&self) -> &'static [f64] {
        self.classic
    }

    /// The index of the first bucket of each row.
    pub const fn offset(&self) -> i32 {
        self.offset
    }

    /// Checks this configuration for a type with `CLASSIC` classic buckets.
    ///
    /// # Errors
    ///
    /// The [`BoundsError`] of the classic bounds (with none, every `CLASSIC` fits).
    pub const fn check<const CLASSIC: usize>(&self) -> Result<(), BoundsError> {
        if self.classic.is_empty() {
            return Ok(());
        }
        check_bounds(self.classic, CLASSIC)
    }
}

/// The per-series state of a native histogram: `BUCKETS` counters per sign at `SCHEMA`,
/// and `CLASSIC` classic bucket counters (0: none). Families hold one per series;
/// [`NativeHistogram`] wraps one with its configuration.
///
/// Memory: `8 * (2 * BUCKETS + CLASSIC + 4)` bytes ([`NativeHistogramCells::BYTES`]).
pub struct NativeHistogramCells<
    const BUCKETS: usize,
    const CLASSIC: usize = 0,
    const SCHEMA: i32 = DEFAULT_SCHEMA,
> {
    positive: [AtomicU64; BUCKETS],
    negative: [AtomicU64; BUCKETS],
    /// Zero bucket, positive beyond the row, negative beyond the row.
    specials: [AtomicU64; 3],
    sum: AtomicU64,
    classic: [AtomicU64; CLASSIC],
}

const ZERO: usize = 0;
const POSITIVE_OVER: usize = 1;
const NEGATIVE_OVER: usize = 2;

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32>
    NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>
{
    /// The bytes one series takes (before padding to a cache line in a family).
    pub const BYTES: usize = core::mem::size_of::<Self>();

    const_fn! {
        /// Empty cells.
        pub const fn new() -> Self {
            #[allow(clippy::let_unit_value)]
            let () = SchemaCheck::<SCHEMA>::OK;
            const { assert!(BUCKETS >= 1, "a native histogram needs at least one bucket") };
            Self {
                positive: fresh_array!(AtomicU64::new(0); BUCKETS),
                negative: fresh_array!(AtomicU64::new(0); BUCKETS),
                specials: fresh_array!(AtomicU64::new(0); 3),
                sum: AtomicU64::new(0),
                classic: fresh_array!(AtomicU64::new(0); CLASSIC),
            }
        }
    }

    /// Records `value` under `config`, which must be the configuration these cells are
    /// used with.
    #[inline]
    pub fn observe(&self, config: &NativeHistogramConfig<SCHEMA>, value: f64) {
        if value.is_nan() {
            return;
        }
        let magnitude = value.to_bits() & !SIGN;
        let negative = value.to_bits() & SIGN != 0;
        let cell = if !(f64::from_bits(magnitude) > config.zero_threshold) {
            &self.specials[ZERO]
        } else {
            let (row, over) = if negative {
                (&self.negative, &self.specials[NEGATIVE_OVER])
            } else {
                (&self.positive, &self.specials[POSITIVE_OVER])
            };
            // Above a normal threshold: a normal number or an infinity.
            if magnitude >> 52 == 0x7ff {
                over
            } else {
                let at = index_at::<SCHEMA>(magnitude).wrapping_sub(config.offset);
                // `at >= 0`: the index is monotone and `|v|` is above the threshold.
                row.get(at as u32 as usize).unwrap_or(over)
            }
        };
        // Sum first, then the native count, then the classic one, each count with
        // `Release`: see [`NativeHistogram`].
        add_f64(&self.sum, value);
        cell.fetch_add(1, Ordering::Release);
        if CLASSIC > 0 && !config.classic.is_empty() {
            let index = bucket_index(config.classic, value).min(CLASSIC - 1);
            self.classic[index].fetch_add(1, Ordering::Release);
        }
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.positive
            .iter()
            .chain(&self.negative)
            .chain(&self.specials)
            .map(|c| c.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    /// Observations beyond either row (see [`NativeHistogram`]).
    pub fn overflow(&self) -> u64 {
        self.specials[POSITIVE_OVER]
            .load(Ordering::Relaxed)
            .wrapping_add(self.specials[NEGATIVE_OVER].load(Ordering::Relaxed))
    }

    /// Copies the counters once and passes the point to `f`.
    pub fn read_with<R>(
        &self,
        config: &NativeHistogramConfig<SCHEMA>,
        f: impl FnOnce(&Value<'_>) -> R,
    ) -> R {
        // Classic first: each observation counted there was counted in its native bucket
        // before (release/acquire on the classic cell), so the native read below sees it.
        let mut classic = [0u64; CLASSIC];
        for (out, cell) in classic.iter_mut().zip(&self.classic) {
            *out = cell.load(Ordering::Acquire);
        }
        let mut positive = [0u64; BUCKETS];
        let mut negative = [0u64; BUCKETS];
        let mut count = 0u64;
        for (out, cell) in positive.iter_mut().zip(&self.positive) {
            *out = cell.load(Ordering::Acquire);
            count = count.wrapping_add(*out);
        }
        for (out, cell) in negative.iter_mut().zip(&self.negative) {
            *out = cell.load(Ordering::Acquire);
            count = count.wrapping_add(*out);
        }
        let mut specials = [0u64; 3];
        for (out, cell) in specials.iter_mut().zip(&self.specials) {
            *out = cell.load(Ordering::Acquire);
            count = count.wrapping_add(*out);
        }
        let sum = self.sum();
        let mut point = NativeHistogramValue::new(
            SCHEMA,
            config.zero_threshold,
            specials[ZERO],
            NativeBuckets::new(config.offset, &positive, specials[POSITIVE_OVER]),
            NativeBuckets::new(config.offset, &negative, specials[NEGATIVE_OVER]),
            count,
            sum,
        )
        .with_max_buckets(config.max_buckets);
        if CLASSIC > 0 && !config.classic.is_empty() {
            let used = (config.classic.len() + 1).min(CLASSIC);
            point = point.with_classic(HistogramValue::new(
                &config.classic[..used - 1],
                &classic[..used],
                sum,
            ));
        }
        f(&Value::NativeHistogram(point))
    }
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32> Default
    for NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32> fmt::Debug
    for NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeHistogramCells")
            .field("buckets", &BUCKETS)
            .field("classic", &CLASSIC)
            .field("schema", &SCHEMA)
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish_non_exhaustive()
    }
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32> Metric
    for NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>
{
    type Config = NativeHistogramConfig<SCHEMA>;
    type Handle<'a> = NativeHistogramRef<'a, BUCKETS, CLASSIC, SCHEMA>;
    const KIND: MetricKind = MetricKind::Histogram;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, config: &'a NativeHistogramConfig<SCHEMA>) -> Self::Handle<'a> {
        NativeHistogramRef {
            config,
            cells: self,
        }
    }

    fn read<R>(
        &self,
        config: &NativeHistogramConfig<SCHEMA>,
        f: impl FnOnce(&Value<'_>) -> R,
    ) -> R {
        self.read_with(config, f)
    }

    fn check_config(config: &NativeHistogramConfig<SCHEMA>) -> Result<(), BoundsError> {
        config.check::<CLASSIC>()
    }
}

/// A native-histogram series handed out by a labelled family: its cells and the family's
/// configuration. `Copy`, two pointers wide.
#[derive(Debug)]
pub struct NativeHistogramRef<
    'a,
    const BUCKETS: usize,
    const CLASSIC: usize = 0,
    const SCHEMA: i32 = DEFAULT_SCHEMA,
> {
    config: &'a NativeHistogramConfig<SCHEMA>,
    cells: &'a NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>,
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32> Clone
    for NativeHistogramRef<'_, BUCKETS, CLASSIC, SCHEMA>
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32> Copy
    for NativeHistogramRef<'_, BUCKETS, CLASSIC, SCHEMA>
{
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32>
    NativeHistogramRef<'_, BUCKETS, CLASSIC, SCHEMA>
{
    /// Records one observation.
    #[inline]
    pub fn observe(self, value: f64) {
        self.cells.observe(self.config, value);
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

/// A native histogram: Prometheus' exponential buckets at `SCHEMA` (`-4 ..= 8`, default 3)
/// in two fixed rows of `BUCKETS` counters (positive and negative values) from the zero
/// threshold up, a zero bucket, and `CLASSIC` classic buckets kept alongside (0: none).
/// Lock-free, allocation-free recording that never drops an observation.
///
/// Native histograms: Prometheus' sparse exponential histograms (and OpenTelemetry's
/// exponential histograms) over the same lock-free, fixed-memory bucket layout as the
/// [`Summary`](crate::Summary) sketch.
///
/// ## Buckets
///
/// At schema `s` (`-4 ..= 8`, the const parameter `SCHEMA`) the base is `b = 2^(2^-s)`:
/// each power of two holds `2^s` buckets (at negative schemas one bucket spans `2^-s`
/// powers of two), positive bucket `i` covers `(b^i, b^(i+1)]` and negative bucket `i`
/// covers `[-b^(i+1), -b^i)`, exactly Prometheus' and OpenTelemetry's layout. A value's
/// index comes from its bits with two table loads and a compare ([`sketch`](crate::sketch)),
/// shifted right for negative schemas.
///
/// A series holds, for each sign, a fixed row of `BUCKETS` counters starting at the bucket
/// of the zero threshold, plus:
///
/// | value | counter |
/// | --- | --- |
/// | `|v| <= zero_threshold` (`0.0`, `-0.0` included) | the zero bucket |
/// | `zero_threshold < |v|` within the row | its bucket |
/// | beyond the row, `±Inf` | the sign's `over` counter, reported in the bucket just past the row |
/// | NaN | ignored, as by every Corral metric |
///
/// Size `BUCKETS` so the row reaches the largest value you expect ([`native_buckets_for`] computes
/// it): an observation beyond it is never lost (it is in the count, the sum and the bucket
/// just past the row, whose lower edge it exceeds), but its bucket no longer bounds it.
/// [`NativeHistogram::overflow`] says how many there were.
///
/// ## The bucket-count bound and schema reduction
///
/// Memory is fixed by `BUCKETS`; what a scrape carries is bounded by
/// [`NativeHistogramConfig::with_max_buckets`] (default [`DEFAULT_MAX_BUCKETS`], 160, the
/// bound client_golang's documentation suggests). When a read finds more non-empty buckets
/// (both signs together) than the bound, it reports them at the schema one lower, where
/// each bucket is the union of two neighbouring ones (`i >> 1`), and repeats until they fit
/// or the schema is -4. This is client_golang's reduction, done on read: recording always
/// counts at `SCHEMA`, never resets and never takes a lock, and a later read of a narrower
/// distribution is not stuck at the coarse schema. Prometheus merges samples of different
/// schemas by lowering the finer one, so `rate` and `histogram_quantile` work across a
/// change.
///
/// ## Classic buckets alongside
///
/// With `CLASSIC > 0` and [`NativeHistogramConfig::with_classic`] bounds, each observation
/// is also counted in classic cumulative buckets, as client_golang keeps them: scrapers of
/// the text formats (and Prometheus without native histograms) see an ordinary histogram.
/// Without them the text formats render the `+Inf` bucket, `_sum` and `_count`.
///
/// ## Recording and reading
///
/// `observe` is: the index (above), one compare-and-swap loop on the sum, one `fetch_add`
/// with `Release` on the native bucket, and, with classic buckets, one more on the classic
/// bucket. No lock, no allocation, no panic, nothing dropped. A read copies the classic
/// counts first and then the native ones, each with `Acquire`, so an observation a read
/// counts in a classic bucket is in its native count too, and the sum covers every
/// observation the count does. The copies are `8 * (2 * BUCKETS + CLASSIC)` bytes of stack.
/// Loom models: `loom-tests/tests/native.rs`.
///
/// ## Example
///
/// ```
/// use corral_core::{NativeHistogram, NativeHistogramConfig, Value, native_buckets_for};
///
/// // Seconds from 1 µs to 100 s at schema 3, with classic buckets for text scrapers.
/// const BUCKETS: usize = native_buckets_for::<3>(1e-6, 100.0);
/// static LATENCY: NativeHistogram<BUCKETS, 4> = NativeHistogram::new(
///     NativeHistogramConfig::new(1e-6).with_classic(&[0.01, 0.1, 1.0]),
/// );
/// LATENCY.observe(0.25);
/// LATENCY.observe(0.0);
/// LATENCY.read(|value| {
///     let Value::NativeHistogram(h) = value else { unreachable!() };
///     assert_eq!((h.count(), h.zero_count(), h.schema()), (2, 1, 3));
///     // 0.25 = 2^-2 is the top of bucket -17: (2^(-17/8), 2^(-16/8)].
///     assert_eq!(h.positive().collect::<Vec<_>>(), [(-17, 1)]);
///     assert_eq!(h.classic().unwrap().counts(), &[1, 0, 1, 0]);
/// });
/// ```
#[derive(Debug)]
pub struct NativeHistogram<
    const BUCKETS: usize,
    const CLASSIC: usize = 0,
    const SCHEMA: i32 = DEFAULT_SCHEMA,
> {
    config: NativeHistogramConfig<SCHEMA>,
    cells: NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>,
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32>
    NativeHistogram<BUCKETS, CLASSIC, SCHEMA>
{
    /// The bytes one native histogram takes.
    pub const BYTES: usize = core::mem::size_of::<Self>();

    const_fn! {
        /// A native histogram with `config`.
        ///
        /// # Panics
        ///
        /// If the classic bounds do not fit `CLASSIC` (see
        /// [`NativeHistogramConfig::check`]); in a `static` that is a compile error.
        pub const fn new(config: NativeHistogramConfig<SCHEMA>) -> Self {
            match Self::try_new(config) {
                Ok(histogram) => histogram,
                Err(_) => panic!("invalid classic bounds: they must be finite, strictly increasing, and fewer than CLASSIC"),
            }
        }
    }

    const_fn! {
        /// A native histogram with `config`, or why the configuration does not fit.
        ///
        /// # Errors
        ///
        /// The [`BoundsError`] of the classic bounds.
        pub const fn try_new(config: NativeHistogramConfig<SCHEMA>) -> Result<Self, BoundsError> {
            match config.check::<CLASSIC>() {
                Ok(()) => Ok(Self { config, cells: NativeHistogramCells::new() }),
                Err(e) => Err(e),
            }
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.cells.observe(&self.config, value);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.cells.sum()
    }

    /// Observations beyond either bucket row.
    pub fn overflow(&self) -> u64 {
        self.cells.overflow()
    }

    /// The configuration.
    pub fn config(&self) -> &NativeHistogramConfig<SCHEMA> {
        &self.config
    }

    /// Reads one point and passes it to `f`.
    pub fn read<R>(&self, f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.cells.read_with(&self.config, f)
    }
}

impl<const BUCKETS: usize, const CLASSIC: usize, const SCHEMA: i32> Collect
    for NativeHistogram<BUCKETS, CLASSIC, SCHEMA>
{
    fn kind(&self) -> MetricKind {
        MetricKind::Histogram
    }

    fn check(&self, _config: &RegistryConfig) -> Result<(), Reason> {
        self.config
            .check::<CLASSIC>()
            .map_err(Reason::InvalidBuckets)
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        self.read(|value| collect_one(from, sink, value))
    }
}
