//! The bucket layout of the [`Summary`](crate::Summary) sketch: OpenTelemetry's base-2
//! exponential histogram mapping, computed without `std` and without a logarithm.
//!
//! ## The layout
//!
//! At scale `s` the base is `b = 2^(2^-s)` and bucket `i` covers `(b^i, b^(i+1)]`, so a
//! positive value `v` lands in bucket `ceil(log2(v) * 2^s) - 1` — exactly the OpenTelemetry
//! `ExponentialHistogram` data point's mapping (`scale`, `offset`, bucket counts). Each power
//! of two holds `2^s` buckets. Exact powers of two sit at the top of a bucket, as the
//! specification's upper-inclusive boundaries require.
//!
//! ## The error bound, and how the scale follows from it
//!
//! A quantile that falls in bucket `i` is reported as `2 b^(i+1) / (1 + b)`: the point whose
//! relative distance to both ends of `(b^i, b^(i+1)]` is the same. For any `v` in the
//! bucket, the relative error `|estimate - v| / v` is then at most
//!
//! ```text
//!     alpha(s) = (b - 1) / (b + 1),   b = 2^(2^-s)
//! ```
//!
//! reached at the two ends. To guarantee a requested bound `alpha`, the base must satisfy
//! `b <= (1 + alpha) / (1 - alpha)`, so the scale is the smallest integer with
//! `2^-s <= log2((1 + alpha) / (1 - alpha))` ([`scale_for_error`]). Scales are integers,
//! so the guarantee is usually tighter than asked:
//!
//! | scale | base `b` | guaranteed bound `alpha(s)` | buckets per doubling |
//! | --- | --- | --- | --- |
//! | 4 | 1.04427 | 2.17 % | 16 |
//! | 5 | 1.02190 | 1.08 % | 32 |
//! | 6 | 1.01089 | 0.54 % | 64 |
//! | 7 | 1.00543 | 0.27 % | 128 |
//! | 8 | 1.00271 | 0.14 % | 256 |
//!
//! A 1 % request gives scale 6, the default; its bound is 0.54 %.
//!
//! ## Computing the index without `log2`
//!
//! `core` has no logarithm, and a logarithm would be slow on the recording path anyway. For a
//! positive normal `v = 2^e * m` with `1 <= m < 2`, the index is `e * 2^s + k`, where `k` is
//! the number of sub-bucket boundaries `2^(j / 2^s)` (`j = 0 .. 2^s`) strictly below `m`,
//! minus one. The boundaries' mantissa bits are a table computed at compile time
//! (`2^s + 1` entries). A second table, indexed by the mantissa's top `s + 2` bits, says
//! how many boundaries lie below the start of that slice of mantissas; since the slices
//! (`2^-(s+2)` wide) are narrower than the gap between two boundaries (at least
//! `2^(2^-s) - 1 > ln 2 * 2^-s`), at most one boundary falls inside a slice, and one
//! comparison settles it. The index is thus two table loads and a compare.
//!
//! The boundaries are computed in `f64` by a Taylor series and are within a few units in
//! the last place of `2^(j / 2^s)`; a value that close to a boundary may land in the
//! neighbouring bucket, which changes its estimate by far less than the bound's slack.

/// The largest supported scale (bound 0.14 %). Higher scales need larger tables.
pub const MAX_SCALE: u32 = 8;

const MANTISSA_BITS: u32 = 52;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
const EXPONENT_BIAS: i32 = 1023;

/// `2^x` for `x` in `[0, 1]`, as `e^(x ln 2)` summed by its Taylor series: usable in `const`
/// context, where `f64::powf` is not.
const fn exp2_unit(x: f64) -> f64 {
    let y = x * core::f64::consts::LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = 1;
    while n < 32 {
        term = term * y / n as f64;
        sum += term;
        n += 1;
    }
    sum
}

/// The mantissa bits of the sub-bucket boundaries `2^(j / 2^scale)`, `j = 0 ..= 2^scale`.
/// The last one stands for `2.0`: `1 << 52`, above every mantissa.
const fn boundaries<const N: usize>(scale: u32) -> [u64; N] {
    let subs = 1usize << scale;
    assert!(N == subs + 1, "boundary table length must be 2^scale + 1");
    let mut out = [0u64; N];
    let mut j = 1;
    while j < subs {
        let v = exp2_unit(j as f64 / subs as f64);
        out[j] = v.to_bits() & MANTISSA_MASK;
        j += 1;
    }
    out[subs] = 1 << MANTISSA_BITS;
    out
}

/// For each of the `2^(scale+2)` slices of the mantissa range, how many boundaries lie
/// strictly below the slice's first mantissa.
const fn slice_table<const N: usize, const B: usize>(scale: u32, bounds: &[u64; B]) -> [u16; N] {
    assert!(N == 4 << scale, "slice table length must be 2^(scale + 2)");
    let shift = MANTISSA_BITS - (scale + 2);
    let mut out = [0u16; N];
    let mut slice = 0;
    let mut below = 0;
    while slice < N {
        let start = (slice as u64) << shift;
        while below < B && bounds[below] < start {
            below += 1;
        }
        out[slice] = below as u16;
        slice += 1;
    }
    out
}

macro_rules! tables {
    ($($scale:literal => $bounds:ident, $slices:ident;)*) => {
        $(
            static $bounds: [u64; (1 << $scale) + 1] = boundaries($scale);
            static $slices: [u16; 4 << $scale] = slice_table($scale, &$bounds);
        )*

        /// The two tables for `scale`. With `scale` a constant, this folds to one pair of
        /// statics and the linker drops the tables of every other scale.
        #[inline(always)]
        const fn tables(scale: u32) -> (&'static [u64], &'static [u16]) {
            match scale {
                $($scale => (&$bounds, &$slices),)*
                _ => panic!("scale above MAX_SCALE"),
            }
        }
    };
}

tables! {
    0 => BOUNDS_0, SLICES_0;
    1 => BOUNDS_1, SLICES_1;
    2 => BOUNDS_2, SLICES_2;
    3 => BOUNDS_3, SLICES_3;
    4 => BOUNDS_4, SLICES_4;
    5 => BOUNDS_5, SLICES_5;
    6 => BOUNDS_6, SLICES_6;
    7 => BOUNDS_7, SLICES_7;
    8 => BOUNDS_8, SLICES_8;
}

/// Fails compilation for a scale above [`MAX_SCALE`].
pub(crate) struct ScaleCheck<const SCALE: u32>;

impl<const SCALE: u32> ScaleCheck<SCALE> {
    pub(crate) const OK: () = assert!(SCALE <= MAX_SCALE, "SCALE must be at most 8");
}

/// The bucket index of the bits of a positive, normal `f64` (exponent field 1 to 2046).
#[inline(always)]
pub(crate) const fn index_of_normal_bits<const SCALE: u32>(bits: u64) -> i32 {
    let (bounds, slices) = tables(SCALE);
    let exponent = (bits >> MANTISSA_BITS) as i32 - EXPONENT_BIAS;
    let mantissa = bits & MANTISSA_MASK;
    let slice = (mantissa >> (MANTISSA_BITS - (SCALE + 2))) as usize;
    // `slice < 2^(SCALE+2)` by the shift, and slice entries are at most `2^SCALE`, so
    // neither lookup can miss; the fallbacks only keep this free of panicking paths.
    let mut below = if slice < slices.len() {
        slices[slice] as usize
    } else {
        0
    };
    if below < bounds.len() && bounds[below] < mantissa {
        below += 1;
    }
    // `below` boundaries are strictly under the mantissa; the first is 1.0 itself, so
    // `below - 1` is the sub-bucket (and -1 for an exact power of two, which belongs to
    // the top bucket of the power below).
    (exponent << SCALE) + below as i32 - 1
}

/// The bucket index of `value` at `SCALE`, or `None` if `value` is not a positive, normal,
/// finite number (zero, negatives, subnormals, infinities and NaN have no bucket).
///
/// Equal to `ceil(log2(value) * 2^SCALE) - 1`, OpenTelemetry's mapping.
///
/// ```
/// use corral_core::sketch::index_of;
///
/// assert_eq!(index_of::<0>(1.0), Some(-1)); // (0.5, 1]
/// assert_eq!(index_of::<0>(1.5), Some(0)); // (1, 2]
/// assert_eq!(index_of::<6>(2.0), Some(63));
/// assert_eq!(index_of::<6>(0.0), None);
/// ```
pub const fn index_of<const SCALE: u32>(value: f64) -> Option<i32> {
    #[allow(clippy::let_unit_value)]
    let () = ScaleCheck::<SCALE>::OK;
    let bits = value.to_bits();
    let top = (bits >> MANTISSA_BITS) as u32;
    if top.wrapping_sub(1) < 0x7fe {
        Some(index_of_normal_bits::<SCALE>(bits))
    } else {
        None
    }
}

/// `2^e` for `e` in the normal range `[-1022, 1023]` (clamped to it).
const fn pow2(e: i32) -> f64 {
    if e < -1022 {
        // Subnormal powers of two, down to the smallest (2^-1074); below it, that one.
        let shift = if e < -1074 { 0 } else { e + 1074 };
        return f64::from_bits(1 << shift);
    }
    let e = if e > 1023 { 1023 } else { e };
    f64::from_bits(((e + EXPONENT_BIAS) as u64) << MANTISSA_BITS)
}

/// The lower boundary of bucket `index` at `SCALE`: `2^(index / 2^SCALE)`, the bucket being
/// `(lower_bound(index), lower_bound(index + 1)]`. Accurate for indices whose bounds are
/// normal numbers, and for the bucket just below `f64::MIN_POSITIVE`, whose lower bound is
/// the subnormal `2^(-1022 - 2^-SCALE)` (the first bucket of a summary whose lowest value
/// is `f64::MIN_POSITIVE`).
pub const fn lower_bound<const SCALE: u32>(index: i32) -> f64 {
    let (bounds, _) = tables(SCALE);
    let sub = (index & ((1 << SCALE) - 1)) as usize;
    let mantissa = bounds[sub];
    let fraction = 1.0 + mantissa as f64 / (1u64 << MANTISSA_BITS) as f64;
    pow2(index >> SCALE) * fraction
}

/// The base `2^(2^-SCALE)`: the ratio between a bucket's upper and lower bound.
pub const fn base<const SCALE: u32>() -> f64 {
    let (bounds, _) = tables(SCALE);
    1.0 + bounds[1] as f64 / (1u64 << MANTISSA_BITS) as f64
}

/// What the estimate of a bucket is, as a multiple of its lower bound: `2b / (1 + b)`.
pub(crate) const fn estimate_factor<const SCALE: u32>() -> f64 {
    let b = base::<SCALE>();
    2.0 * b / (1.0 + b)
}

/// The estimate reported for a quantile that falls in bucket `index`:
/// `2 b^(index+1) / (1 + b)`, within [`relative_error`]`(SCALE)` of every value in the
/// bucket.
pub const fn bucket_estimate<const SCALE: u32>(index: i32) -> f64 {
    lower_bound::<SCALE>(index) * estimate_factor::<SCALE>()
}

/// How many buckets a summary at `SCALE` needs so that every value in `[lowest, highest]`
/// falls inside its range: the bucket indices of the two, inclusive. Use it for the
/// `BUCKETS` parameter. Returns 0 if either is not a positive normal number or
/// `highest < lowest`.
///
/// ```
/// use corral_core::{Summary, SummaryConfig, sketch::buckets_for};
///
/// // 10 µs to 60 s, in seconds: 22.5 doublings of 64 buckets each at the default scale,
/// // and both ends' buckets.
/// const BUCKETS: usize = buckets_for::<6>(1e-5, 60.0);
/// assert_eq!(BUCKETS, 1443);
/// static LATENCY: Summary<BUCKETS> = Summary::new(SummaryConfig::new(1e-5));
/// LATENCY.observe(60.0);
/// LATENCY.read_sketch(|s| assert_eq!(s.overflow(), 0));
/// ```
pub const fn buckets_for<const SCALE: u32>(lowest: f64, highest: f64) -> usize {
    match (index_of::<SCALE>(lowest), index_of::<SCALE>(highest)) {
        (Some(low), Some(high)) if high >= low => (high - low) as usize + 1,
        _ => 0,
    }
}

/// The guaranteed relative error of a quantile estimate at `scale`:
/// `(b - 1) / (b + 1)` with `b = 2^(2^-scale)`. At most [`MAX_SCALE`]; larger scales are
/// treated as [`MAX_SCALE`].
///
/// ```
/// use corral_core::sketch::relative_error;
///
/// assert!((relative_error(6) - 0.005415).abs() < 1e-6);
/// ```
pub const fn relative_error(scale: u32) -> f64 {
    let scale = if scale > MAX_SCALE { MAX_SCALE } else { scale };
    let subs = (1u32 << scale) as f64;
    let b = exp2_unit(1.0 / subs);
    (b - 1.0) / (b + 1.0)
}

/// The smallest scale whose [`relative_error`] is at most `alpha`, or [`MAX_SCALE`] if
/// even that one is coarser (check with [`relative_error`]). `alpha` at or above 1/3
/// gives scale 0.
///
/// ```
/// use corral_core::sketch::scale_for_error;
///
/// assert_eq!(scale_for_error(0.01), 6);
/// assert_eq!(scale_for_error(0.02), 5);
/// ```
pub const fn scale_for_error(alpha: f64) -> u32 {
    let mut scale = 0;
    while scale < MAX_SCALE {
        if relative_error(scale) <= alpha {
            return scale;
        }
        scale += 1;
    }
    MAX_SCALE
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// OpenTelemetry's reference mapping, with `std`'s logarithm.
    fn reference(value: f64, scale: u32) -> f64 {
        (value.log2() * f64::from(1u32 << scale)).ceil() - 1.0
    }

    /// Deterministic xorshift, enough to spread test values over many magnitudes.
    fn values(n: usize) -> Vec<f64> {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Exponents in [-40, 40), mantissa bits random.
                let exponent = ((state >> 52) % 80) as i32 - 40;
                f64::from_bits(((exponent + 1023) as u64) << 52 | (state & MANTISSA_MASK))
            })
            .collect()
    }

    fn index_matches_reference<const S: u32>() {
        let mut near_boundary = 0;
        // Fewer under miri, which interprets every instruction.
        for v in values(if cfg!(miri) { 2_000 } else { 200_000 }) {
            let ours = f64::from(index_of::<S>(v).unwrap());
            let theirs = reference(v, S);
            if ours != theirs {
                // Allowed only within a few ulps of a boundary, where `log2` itself rounds.
                let boundary = lower_bound::<S>(ours.max(theirs) as i32);
                assert!(
                    ((v - boundary) / boundary).abs() < 1e-14,
                    "scale {S}: {v:e} -> {ours}, reference {theirs}"
                );
                near_boundary += 1;
            }
        }
        assert!(near_boundary < 10, "{near_boundary} mismatches");
    }

    #[test]
    fn index_agrees_with_log2_mapping() {
        index_matches_reference::<0>();
        index_matches_reference::<1>();
        index_matches_reference::<3>();
        index_matches_reference::<5>();
        index_matches_reference::<6>();
        index_matches_reference::<7>();
        index_matches_reference::<8>();
    }

    #[test]
    fn powers_of_two_are_upper_inclusive() {
        for e in -30..30 {
            let v = 2f64.powi(e);
            assert_eq!(index_of::<6>(v), Some((e << 6) - 1), "2^{e}");
            assert_eq!(index_of::<0>(v), Some(e - 1), "2^{e}");
            // The next representable value starts the next bucket.
            let above = f64::from_bits(v.to_bits() + 1);
            assert_eq!(index_of::<6>(above), Some(e << 6), "just above 2^{e}");
        }
    }

    #[test]
    fn boundaries_match_powf() {
        for scale in 0..=MAX_SCALE {
            let (bounds, slices) = tables(scale);
            assert_eq!(bounds.len(), (1 << scale) + 1);
            assert_eq!(slices.len(), 4 << scale);
            for (j, &mantissa) in bounds.iter().enumerate().take(1 << scale) {
                let ours = 1.0 + mantissa as f64 / (1u64 << 52) as f64;
                let exact = 2f64.powf(j as f64 / f64::from(1u32 << scale));
                assert!(
                    ((ours - exact) / exact).abs() < 4.0 * f64::EPSILON,
                    "scale {scale} j {j}: {ours} vs {exact}"
                );
            }
            assert!(bounds.windows(2).all(|w| w[0] < w[1]), "increasing");
        }
    }

    #[test]
    fn estimate_is_within_bound_over_whole_buckets() {
        fn check<const S: u32>() {
            let alpha = relative_error(S);
            for index in -200..200 {
                let lo = lower_bound::<S>(index);
                let hi = lower_bound::<S>(index + 1);
                let est = bucket_estimate::<S>(index);
                // The worst cases are the two ends of the bucket.
                for v in [f64::from_bits(lo.to_bits() + 1), hi] {
                    let err = ((est - v) / v).abs();
                    assert!(
                        err <= alpha * (1.0 + 1e-12),
                        "scale {S} index {index}: {err}"
                    );
                }
                assert!(est > lo && est <= hi);
            }
        }
        check::<0>();
        check::<4>();
        check::<6>();
        check::<8>();
    }

    #[test]
    fn scale_follows_error_bound() {
        assert_eq!(scale_for_error(0.01), 6);
        assert!(relative_error(6) <= 0.01 && relative_error(5) > 0.01);
        assert_eq!(scale_for_error(0.005), 7);
        assert_eq!(scale_for_error(0.5), 0);
        assert_eq!(scale_for_error(1e-9), MAX_SCALE);
        for s in 0..=MAX_SCALE {
            let b = 2f64.powf(1.0 / f64::from(1u32 << s));
            assert!((relative_error(s) - (b - 1.0) / (b + 1.0)).abs() < 1e-15);
            assert!((base::<6>() - 2f64.powf(1.0 / 64.0)).abs() < 1e-15);
        }
    }

    #[test]
    fn non_positive_and_non_finite_have_no_index() {
        for v in [
            0.0,
            -0.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-310,
        ] {
            assert_eq!(index_of::<6>(v), None, "{v}");
        }
        assert!(index_of::<6>(f64::MIN_POSITIVE).is_some());
        assert!(index_of::<6>(f64::MAX).is_some());
    }
}

/// The counters of a sketch outside its bucket row, by position in `specials`.
pub(crate) const NEGATIVE: usize = 0;
pub(crate) const ZERO: usize = 1;
pub(crate) const UNDERFLOW: usize = 2;
pub(crate) const OVERFLOW: usize = 3;
pub(crate) const SPECIALS: usize = 4;

/// The nearest-rank position (1-based) of quantile `q` among `count` sorted observations:
/// `ceil(q * count)`, clamped to `[1, count]`; 0 when `count` is 0.
///
/// The summary reports, for `q`, an estimate of the observation at this rank; the exact
/// quantile of a sorted slice `xs` under the same rule is `xs[quantile_rank(q, n) - 1]`.
///
/// ```
/// use corral_core::quantile_rank;
///
/// assert_eq!(quantile_rank(0.5, 10), 5);
/// assert_eq!(quantile_rank(0.99, 1000), 990);
/// assert_eq!(quantile_rank(0.0, 7), 1);
/// assert_eq!(quantile_rank(1.0, 7), 7);
/// ```
pub fn quantile_rank(q: f64, count: u64) -> u64 {
    if count == 0 {
        return 0;
    }
    let exact = q * count as f64;
    // `ceil` without `std`: truncate (saturating, NaN to 0), then round up a remainder.
    let truncated = exact as u64;
    let rank = if (truncated as f64) < exact {
        truncated.saturating_add(1)
    } else {
        truncated
    };
    rank.clamp(1, count)
}

/// What one read of a summary series saw: the bucket counts in OpenTelemetry's
/// exponential layout (`scale`, `offset`), the counters outside it, and the all-time count,
/// sum and extremes. Everything an OTLP `ExponentialHistogram` data point needs, and what
/// the quantiles are computed from.
#[derive(Clone, Copy, Debug)]
pub struct SketchSnapshot<'a> {
    pub(crate) scale: u32,
    pub(crate) offset: i32,
    pub(crate) counts: &'a [u64],
    pub(crate) specials: [u64; SPECIALS],
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) windowed: bool,
    pub(crate) estimate_factor: f64,
    /// `sketch::lower_bound` at this scale: only the scale in use is linked.
    pub(crate) lower_bound: fn(i32) -> f64,
}

impl SketchSnapshot<'_> {
    /// The scale: bucket `i` covers `(2^(i / 2^scale), 2^((i + 1) / 2^scale)]`.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The index of the first bucket in [`counts`](Self::counts).
    pub fn offset(&self) -> i32 {
        self.offset
    }

    /// Counts of buckets `offset ..`, not cumulative (in the window, if there is one).
    pub fn counts(&self) -> &[u64] {
        self.counts
    }

    /// Observations of exactly zero (either sign).
    pub fn zero(&self) -> u64 {
        self.specials[ZERO]
    }

    /// Negative observations, `-Inf` included.
    pub fn negative(&self) -> u64 {
        self.specials[NEGATIVE]
    }

    /// Positive observations at or below the first bucket's lower edge.
    pub fn underflow(&self) -> u64 {
        self.specials[UNDERFLOW]
    }

    /// Observations above the last bucket's upper edge, `+Inf` included.
    pub fn overflow(&self) -> u64 {
        self.specials[OVERFLOW]
    }

    /// Observations the quantiles are ranked over: every counter above (the window's, if
    /// there is one).
    pub fn ranked(&self) -> u64 {
        self.counts
            .iter()
            .chain(&self.specials)
            .fold(0, |a, b| a.wrapping_add(*b))
    }

    /// All observations ever made (the `_count`).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of all observations ever made (the `_sum`).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value ever observed, NaN ignored.
    pub fn min(&self) -> Option<f64> {
        self.min
    }

    /// The largest value ever observed, NaN ignored.
    pub fn max(&self) -> Option<f64> {
        self.max
    }

    /// Whether the bucket counts cover a sliding window rather than all time.
    pub fn is_windowed(&self) -> bool {
        self.windowed
    }

    /// The lower edge of bucket `index` at this snapshot's scale.
    fn lower_edge(&self, index: i64) -> f64 {
        let index = index.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        (self.lower_bound)(index)
    }

    /// Clamps an estimate into the observed `[min, max]`, which holds the true value.
    fn clamp(&self, estimate: f64) -> f64 {
        match (self.min, self.max) {
            (Some(min), Some(max)) if min <= max => estimate.clamp(min, max),
            _ => estimate,
        }
    }

    /// The estimate of quantile `q` (NaN with no observations).
    pub fn quantile(&self, q: f64) -> f64 {
        let mut out = [(q, 0.0)];
        self.quantiles_into(&[q], &mut out);
        out[0].1
    }

    /// Writes `(q, estimate)` for each of `quantiles` (increasing) into `out`, in one pass.
    pub fn quantiles_into(&self, quantiles: &[f64], out: &mut [(f64, f64)]) {
        let n = self.ranked();
        let mut wanted = quantiles
            .iter()
            .zip(out.iter_mut())
            .map(|(&q, slot)| (quantile_rank(q, n), q, slot))
            .peekable();
        if n == 0 {
            for (_, q, slot) in wanted {
                *slot = (q, f64::NAN);
            }
            return;
        }
        let mut seen = 0u64;
        let mut region = |count: u64, estimate: &dyn Fn() -> f64| {
            seen = seen.wrapping_add(count);
            while let Some((rank, q, _)) = wanted.peek() {
                if *rank > seen {
                    break;
                }
                let q = *q;
                if let Some((_, _, slot)) = wanted.next() {
                    *slot = (q, estimate());
                }
            }
        };
        let low_edge = self.clamp(self.lower_edge(i64::from(self.offset)));
        let high_edge =
            self.clamp(self.lower_edge(i64::from(self.offset) + self.counts.len() as i64));
        region(self.specials[NEGATIVE], &|| self.min.unwrap_or(f64::NAN));
        region(self.specials[ZERO], &|| 0.0);
        region(self.specials[UNDERFLOW], &|| low_edge);
        for (at, &count) in self.counts.iter().enumerate() {
            if count != 0 {
                let index = i64::from(self.offset) + at as i64;
                region(count, &|| {
                    self.clamp(self.lower_edge(index) * self.estimate_factor)
                });
            }
        }
        region(self.specials[OVERFLOW], &|| high_edge);
    }
}
