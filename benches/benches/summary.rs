//! Summary `observe` beside Corral's own `Histogram::observe` and metrics-util's DDSketch
//! `Summary::add`, single-threaded, on the same stream of log-normal latencies.
//!
//! Run: `cargo bench -p corral-benches --bench summary`.
//!
//! What each line measures:
//! - `corral_histogram_latency_ms`: `Histogram<14>` over the specification's 13 latency
//!   bounds: one bucket search, a `fetch_add`, a compare-and-swap on the sum.
//! - `corral_summary`: `Summary<1280>` (0.01 ms to 10.5 s, 0.54 % bound): bucket index from
//!   the bits, extremes check, compare-and-swap on the sum, `fetch_add`.
//! - `corral_summary_window`: the same with a 6-slot sliding window, time passed in with
//!   `observe_at` (one more load; a rotation every 1,000 observations here).
//! - `corral_summary_family_handle`: a typed family's series handle.
//! - `metrics_util_summary_alpha_1pct`: `metrics_util::storage::Summary::new(0.01, 2048,
//!   1e-9)` — the closest configuration to Corral's default (1 % requested); `add` takes
//!   `&mut self`, so this is the unshared best case: no atomics, no lock.
//! - `metrics_util_summary_defaults`: `Summary::with_defaults()` (alpha 0.0001).
//! - `metrics_util_summary_mutex`: the 1 % summary behind an uncontended `std::sync::Mutex`,
//!   which is what sharing it between threads takes.

use core::hint::black_box;
use std::sync::Mutex;

use corral_core::{
    Clock, Histogram, Summary, SummaryCells, SummaryConfig, TypedFamily, buckets, sketch,
};
use criterion::{Criterion, criterion_group, criterion_main};

corral_core::label_enum! {
    /// Bench label.
    enum Route: "route" {
        /// Only value.
        Index = "/",
    }
}

const VALUES: usize = 4096;

/// Log-normal latencies around 20 ms (sigma 1), deterministic.
fn latencies() -> Vec<f64> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut unit = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..VALUES)
        .map(|_| {
            let u1 = 1.0 - unit();
            let u2 = unit();
            let normal = (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos();
            (20f64.ln() + normal).exp()
        })
        .collect()
}

const CONFIG: SummaryConfig = SummaryConfig::new(0.01);
const BUCKETS: usize = sketch::buckets_for::<6>(0.01, 10_000.0);

static HISTOGRAM: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
static SUMMARY: Summary<BUCKETS> = Summary::new(CONFIG);
static FAMILY: TypedFamily<SummaryCells<BUCKETS>, Route, 1> = TypedFamily::summary(CONFIG);

/// Bench time: the caller passes it to `observe_at`; the clock only labels raced snapshots.
#[derive(Debug)]
struct NoClock;
impl Clock for NoClock {
    fn now(&self) -> u64 {
        0
    }
}
static NO_CLOCK: NoClock = NoClock;
static WINDOWED: Summary<BUCKETS, 6> = Summary::new(CONFIG.with_window(5_000, &NO_CLOCK));

fn observe(c: &mut Criterion) {
    let values = latencies();
    let mut group = c.benchmark_group("summary_observe");

    group.bench_function("corral_histogram_latency_ms", |b| {
        let mut i = 0;
        b.iter(|| {
            HISTOGRAM.observe(black_box(values[i % VALUES]));
            i += 1;
        });
    });

    group.bench_function("corral_summary", |b| {
        let mut i = 0;
        b.iter(|| {
            SUMMARY.observe(black_box(values[i % VALUES]));
            i += 1;
        });
    });

    group.bench_function("corral_summary_window", |b| {
        let mut i = 0u64;
        b.iter(|| {
            WINDOWED.observe_at(black_box(values[i as usize % VALUES]), i);
            i += 1;
        });
    });

    group.bench_function("corral_summary_family_handle", |b| {
        let series = FAMILY.with_labels(Route::Index);
        let mut i = 0;
        b.iter(|| {
            series.observe(black_box(values[i % VALUES]));
            i += 1;
        });
    });

    group.bench_function("metrics_util_summary_alpha_1pct", |b| {
        let mut summary = metrics_util::storage::Summary::new(0.01, 2048, 1e-9);
        let mut i = 0;
        b.iter(|| {
            summary.add(black_box(values[i % VALUES]));
            i += 1;
        });
        black_box(summary.count());
    });

    group.bench_function("metrics_util_summary_defaults", |b| {
        let mut summary = metrics_util::storage::Summary::with_defaults();
        let mut i = 0;
        b.iter(|| {
            summary.add(black_box(values[i % VALUES]));
            i += 1;
        });
        black_box(summary.count());
    });

    group.bench_function("metrics_util_summary_mutex", |b| {
        let summary = Mutex::new(metrics_util::storage::Summary::new(0.01, 2048, 1e-9));
        let mut i = 0;
        b.iter(|| {
            if let Ok(mut summary) = summary.lock() {
                summary.add(black_box(values[i % VALUES]));
            }
            i += 1;
        });
    });

    group.finish();
    // Keep the recorded state alive and observable.
    black_box((HISTOGRAM.count(), SUMMARY.count(), WINDOWED.count()));
}

criterion_group!(benches, observe);
criterion_main!(benches);
