//! The summary sketch against the exact answer: arbitrary observation sequences (any `f64`
//! bits: NaN, infinities, negative zero, subnormals, negatives, and values spread over the
//! bucket row), at two scales and several ranges.
//!
//! Oracles, from the documented contract (`core/src/metric/summary.rs`):
//! - the count is exact (every observation but NaN) and the sum is bit for bit the
//!   sequential sum of the same values; the minimum and maximum are exact;
//! - for every quantile the input asks for, with the exact quantile `x` of the sorted
//!   observations under the same nearest-rank rule (`quantile_rank`): within the stated
//!   relative error of `x` when `x` falls in the bucket row; exactly the range's lower
//!   edge (clamped to the observed extremes) for underflow, the upper edge for overflow,
//!   0 for a zero, the smallest observation for a negative.

#![no_main]

use arbitrary::Arbitrary;
use corral_core::sketch::{index_of, lower_bound};
use corral_core::{Summary, SummaryConfig, quantile_rank};
use libfuzzer_sys::fuzz_target;

const BUCKETS: usize = 128;

#[derive(Arbitrary, Debug)]
enum Obs {
    /// Any bits.
    Bits(u64),
    /// Spread over and a little beyond the bucket row: `lowest * 2^(span * t)`.
    InRange(u16),
    /// One of the awkward values.
    Edge(u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    range: u8,
    coarse: bool,
    observations: Vec<Obs>,
    quantiles: Vec<u16>,
}

const EDGES: [f64; 12] = [
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    f64::MIN_POSITIVE,
    5e-324,
    f64::MAX,
    -1.0,
    1.0,
    2.0,
    f64::EPSILON,
];

fn run<const SCALE: u32>(input: &Input) {
    const LOWEST: [f64; 5] = [1.0, 1e-3, 0.75, 1e6, f64::MIN_POSITIVE];
    let lowest = LOWEST[usize::from(input.range) % LOWEST.len()];
    let config = SummaryConfig::<SCALE>::try_new(lowest).expect("a positive normal lowest");
    let summary: Box<Summary<BUCKETS, 0, SCALE>> = Box::new(Summary::new(config));
    // The row covers BUCKETS / 2^SCALE doublings from `lowest`; go a quarter past each end.
    let span = BUCKETS as f64 / f64::from(1u32 << SCALE);

    let mut seen = Vec::new();
    let mut sum = 0.0f64;
    for obs in &input.observations {
        let value = match obs {
            Obs::Bits(bits) => f64::from_bits(*bits),
            Obs::InRange(t) => lowest * (span * (1.5 * f64::from(*t) / 65535.0 - 0.25)).exp2(),
            Obs::Edge(i) => EDGES[usize::from(*i) % EDGES.len()],
        };
        summary.observe(value);
        if !value.is_nan() {
            seen.push(value);
            sum += value;
        }
    }
    seen.sort_unstable_by(f64::total_cmp);
    let n = seen.len() as u64;
    let lower_edge = lower_bound::<SCALE>(config.offset());
    let upper_edge = config.highest::<BUCKETS>();
    let bound = Summary::<BUCKETS, 0, SCALE>::RELATIVE_ERROR;

    summary.read_sketch(|sketch| {
        assert_eq!(sketch.count(), n, "count");
        assert_eq!(sketch.ranked(), n, "ranked");
        assert!(
            sketch.sum().to_bits() == sum.to_bits() || (sketch.sum().is_nan() && sum.is_nan()),
            "sum {} != {sum}",
            sketch.sum()
        );
        if n > 0 {
            assert_eq!(sketch.min(), Some(seen[0]), "min");
            assert_eq!(sketch.max(), Some(seen[seen.len() - 1]), "max");
        }
        let (min, max) = (seen.first().copied(), seen.last().copied());
        let clamp = |v: f64| match (min, max) {
            (Some(lo), Some(hi)) => v.clamp(lo, hi),
            _ => v,
        };
        for &q in input.quantiles.iter().take(16) {
            let q = f64::from(q) / 65535.0;
            let estimate = sketch.quantile(q);
            if n == 0 {
                assert!(estimate.is_nan(), "q={q} of nothing: {estimate}");
                continue;
            }
            let exact = seen[(quantile_rank(q, n) - 1) as usize];
            let index = index_of::<SCALE>(exact);
            let row = config.offset()..config.offset() + BUCKETS as i32;
            if exact < 0.0 {
                assert_eq!(estimate, seen[0], "q={q}: exact {exact} is negative");
            } else if exact == 0.0 {
                assert_eq!(estimate, 0.0, "q={q}: exact is zero");
            } else if exact == f64::INFINITY || index.is_some_and(|i| i >= row.end) {
                assert_eq!(
                    estimate,
                    clamp(upper_edge),
                    "q={q}: exact {exact} overflows"
                );
            } else if index.is_none_or(|i| i < row.start) {
                assert_eq!(
                    estimate,
                    clamp(lower_edge),
                    "q={q}: exact {exact} underflows"
                );
            } else {
                let error = ((estimate - exact) / exact).abs();
                assert!(
                    error <= bound * (1.0 + 1e-9),
                    "q={q}: estimate {estimate}, exact {exact}: error {error} > {bound}"
                );
            }
        }
    });
}

fuzz_target!(|input: Input| {
    if input.coarse {
        run::<2>(&input);
    } else {
        run::<6>(&input);
    }
});
