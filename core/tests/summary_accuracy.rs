//! Accuracy of the summary sketch: 1,000,000 samples from each of three distributions,
//! every reported quantile checked against the exact quantile of the sorted samples under
//! the same nearest-rank rule ([`quantile_rank`]).
//!
//! Run with `--nocapture` to see the observed errors.

use corral_core::{
    DEFAULT_QUANTILES, Summary, SummaryConfig, SummaryConfigError, Value, quantile_rank,
};

/// Under miri, which interprets every instruction, 500 (the bounds are per value, so
/// they hold at any sample count; miri is here for undefined behaviour, not accuracy).
const SAMPLES: usize = if cfg!(miri) { 500 } else { 1_000_000 };

/// The quantiles checked: the defaults, plus the low and middle ones a user might ask for.
const CHECKED: &[f64] = &[
    0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999,
];

/// xoshiro256** seeded by SplitMix64: deterministic, no dependency.
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal, by Box–Muller.
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * core::f64::consts::PI * u2).cos()
    }
}

fn uniform(rng: &mut Rng) -> f64 {
    1.0 + 999.0 * rng.unit()
}

fn log_normal(rng: &mut Rng) -> f64 {
    (20f64.ln() + 1.0 * rng.normal()).exp()
}

/// 70 % around 5 (sd 0.5), 30 % around 200 (sd 20): a fast path and a slow path.
fn bimodal(rng: &mut Rng) -> f64 {
    if rng.unit() < 0.7 {
        5.0 + 0.5 * rng.normal()
    } else {
        200.0 + 20.0 * rng.normal()
    }
}

/// 1280 buckets from 0.01: the range reaches 0.01 * 2^20, about 10,400.
type Wide = Summary<1280>;
const WIDE: SummaryConfig = SummaryConfig::new(0.01).with_quantiles(CHECKED);

/// Feeds `SAMPLES` values of `draw` into `summary`; returns the largest relative error over
/// the checked quantiles, after asserting each is within the bound.
fn check<const B: usize>(
    name: &str,
    summary: &Summary<B>,
    seed: u64,
    draw: fn(&mut Rng) -> f64,
) -> Vec<(f64, f64)> {
    let mut rng = Rng::new(seed);
    let mut samples: Vec<f64> = (0..SAMPLES).map(|_| draw(&mut rng)).collect();
    for &v in &samples {
        summary.observe(v);
    }
    samples.sort_unstable_by(f64::total_cmp);
    let bound = Summary::<B>::RELATIVE_ERROR;

    let mut errors = Vec::new();
    summary.read(|value| {
        let Value::Summary(point) = value else {
            panic!("a summary reads as Value::Summary, got {value:?}");
        };
        assert_eq!(point.count(), SAMPLES as u64);
        let exact_sum: f64 = samples.iter().sum();
        assert!(((point.sum() - exact_sum) / exact_sum).abs() < 1e-9);
        assert_eq!(point.quantiles().len(), summary.config().quantiles().len());
        for &(q, estimate) in point.quantiles() {
            let exact = samples[(quantile_rank(q, SAMPLES as u64) - 1) as usize];
            let error = ((estimate - exact) / exact).abs();
            assert!(
                error <= bound * (1.0 + 1e-9),
                "{name}: q={q} estimate {estimate} exact {exact}: error {error:.6} > bound {bound:.6}"
            );
            errors.push((q, error));
        }
    });
    println!("{name:>11} (bound {:.4} %):", bound * 100.0);
    for (q, e) in &errors {
        println!("    q={q:<7} relative error {:.4} %", e * 100.0);
    }
    errors
}

#[test]
fn uniform_within_bound() {
    let summary = Wide::new(WIDE);
    check("uniform", &summary, 1, uniform);
}

#[test]
fn log_normal_within_bound() {
    let summary = Wide::new(WIDE);
    check("log-normal", &summary, 2, log_normal);
}

#[test]
fn bimodal_within_bound() {
    let summary = Wide::new(WIDE);
    check("bimodal", &summary, 3, bimodal);
}

/// A narrow range: the log-normal's tails fall outside it, into underflow and overflow,
/// yet the quantiles inside keep their bound because every value keeps its rank.
#[test]
fn values_outside_the_range_keep_their_rank() {
    // 384 buckets from 4: up to 4 * 2^6 = 256. p0.1 (about 0.9) and p99.9 (about 440) fall
    // outside; the quantiles from p1 to p99 (about 2 .. 205) mostly inside.
    const NARROW: SummaryConfig =
        SummaryConfig::new(4.0).with_quantiles(&[0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]);
    let summary: Summary<384> = Summary::new(NARROW);
    check("narrow", &summary, 2, log_normal);
    summary.read_sketch(|sketch| {
        assert!(sketch.underflow() > 0, "some values below the range");
        assert!(sketch.overflow() > 0, "some values above the range");
        assert_eq!(sketch.ranked(), SAMPLES as u64);
        assert_eq!(sketch.count(), SAMPLES as u64);
        // A quantile that falls in the overflow counter reports the range's upper edge.
        let p9999 = sketch.quantile(0.9999);
        let highest = NARROW.highest::<384>();
        assert_eq!(p9999, highest);
    });
}

#[test]
fn coarser_scale_has_its_own_bound() {
    // Scale 4: 2.17 %, 16 buckets per doubling; 320 buckets from 0.01 reach 0.01 * 2^20.
    let summary: Summary<320, 0, 4> =
        Summary::new(SummaryConfig::<4>::new(0.01).with_quantiles(CHECKED));
    let mut rng = Rng::new(4);
    let mut samples: Vec<f64> = (0..SAMPLES / 10).map(|_| log_normal(&mut rng)).collect();
    samples.iter().for_each(|&v| summary.observe(v));
    samples.sort_unstable_by(f64::total_cmp);
    let bound = Summary::<320, 0, 4>::RELATIVE_ERROR;
    assert!(bound > 0.02 && bound < 0.022);
    let mut worst = 0.0f64;
    for &q in CHECKED {
        let exact = samples[(quantile_rank(q, samples.len() as u64) - 1) as usize];
        let error = ((summary.quantile(q) - exact) / exact).abs();
        assert!(error <= bound * (1.0 + 1e-9), "q={q}: {error}");
        worst = worst.max(error);
    }
    println!(
        "scale 4 log-normal: worst {:.4} % (bound {:.4} %)",
        worst * 100.0,
        bound * 100.0
    );
}

/// A configuration that names no quantiles reports [`DEFAULT_QUANTILES`], each one within
/// the bound of the exact quantile of what was observed.
#[test]
fn default_quantiles_are_reported() {
    // 128 buckets at the default scale (64 per doubling) cover 1 to 4; the values are 1.000
    // to 1.999.
    let summary: Summary<128> = Summary::new(SummaryConfig::new(1.0));
    let samples: Vec<f64> = (0..1000).map(|i| 1.0 + f64::from(i) / 1000.0).collect();
    // Observed in a shuffled order (617 is coprime to 1,000: each sample once).
    for i in 0..samples.len() {
        summary.observe(samples[(i * 617) % samples.len()]);
    }
    let bound = Summary::<128>::RELATIVE_ERROR;
    summary.read(|value| {
        let Value::Summary(point) = value else {
            panic!("not a summary")
        };
        let qs: Vec<f64> = point.quantiles().iter().map(|(q, _)| *q).collect();
        assert_eq!(qs, DEFAULT_QUANTILES);
        for &(q, estimate) in point.quantiles() {
            let exact = samples[(quantile_rank(q, samples.len() as u64) - 1) as usize];
            let error = ((estimate - exact) / exact).abs();
            assert!(
                error <= bound * (1.0 + 1e-9),
                "q={q}: estimate {estimate}, exact {exact}, error {error} > bound {bound}"
            );
        }
    });
    // One observation: every quantile is it (the estimate is clamped to [min, max]).
    let single: Summary<64> = Summary::new(SummaryConfig::new(1.0));
    single.observe(1.5);
    assert!(DEFAULT_QUANTILES.iter().all(|&q| single.quantile(q) == 1.5));
    assert!(matches!(
        SummaryConfig::<6>::new(1.0).try_with_quantiles(&[0.5, 0.5]),
        Err(SummaryConfigError::QuantilesNotIncreasing { index: 1 })
    ));
}
