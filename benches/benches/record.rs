//! The recording hot path: Corral beside a raw `AtomicU64::fetch_add(1, Relaxed)`.
//!
//! `cargo bench -p corral-benches --bench record`

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use corral_benches::{COMBINATIONS, Method, RawLabelled, Status, TYPED_COMBINATIONS};
use corral_core::{Counter, DynamicFamily, Histogram, TypedFamily, buckets};
use criterion::{Criterion, criterion_group, criterion_main};

fn counter_inc_unlabelled(c: &mut Criterion) {
    static RAW: AtomicU64 = AtomicU64::new(0);
    static CORRAL: Counter = Counter::new();
    let mut group = c.benchmark_group("counter_inc_unlabelled");
    group.bench_function("raw-atomic", |b| {
        b.iter(|| black_box(&RAW).fetch_add(1, Ordering::Relaxed))
    });
    group.bench_function("corral", |b| b.iter(|| black_box(&CORRAL).inc()));
    group.finish();
}

/// Labels resolved on every call, rotating through 12 `(method, status)` combinations.
fn counter_inc_labelled(c: &mut Criterion) {
    static RAW: RawLabelled = RawLabelled::new();
    static TYPED: TypedFamily<Counter, (Method, Status), 12> = TypedFamily::new();
    static DYNAMIC: DynamicFamily<Counter, 2, 32> = DynamicFamily::new(["method", "status"]);
    let mut group = c.benchmark_group("counter_inc_labelled");
    group.bench_function("raw-atomic", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            RAW.inc(m, s);
            i = if i == 11 { 0 } else { i + 1 };
        })
    });
    group.bench_function("corral-typed", |b| {
        let mut i = 0;
        b.iter(|| {
            TYPED.with_labels(black_box(TYPED_COMBINATIONS[i])).inc();
            i = if i == 11 { 0 } else { i + 1 };
        })
    });
    group.bench_function("corral-dynamic", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            DYNAMIC.with_labels([m, s]).inc();
            i = if i == 11 { 0 } else { i + 1 };
        })
    });
    group.finish();
    assert!(RAW.total() > 0 && DYNAMIC.len() == 12);
}

fn histogram_observe(c: &mut Criterion) {
    static CORRAL: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
    let mut group = c.benchmark_group("histogram_observe");
    group.bench_function("corral", |b| b.iter(|| CORRAL.observe(black_box(123.45))));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = counter_inc_unlabelled, counter_inc_labelled, histogram_observe }
criterion_main!(benches);
