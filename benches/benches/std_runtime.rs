//! corral-std recording costs beside the `static` equivalents in core:
//! - a counter and a labelled counter family defined at run time (`runtime::Families`, the
//!   table hashed with per-process random `ahash` seeds) against `static` ones (fixed-seed
//!   foldhash);
//! - a sharded counter with the thread-local stripe against core's stack-address stripe;
//! - a histogram timer (start, drop) against a bare `observe`.
//!
//! Run: `cargo bench -p corral-benches --bench std_runtime`.

use core::hint::black_box;

use corral_core::{Counter, DynamicFamily, Histogram, Registry, ShardedCounter, buckets};
use corral_std::runtime::{Families, Spec};
use corral_std::{ShardedCounterExt, TimerExt};
use criterion::{Criterion, criterion_group, criterion_main};

static REGISTRY: Registry<16> = Registry::new();
static STATIC_COUNTER: Counter = Counter::new();
static STATIC_FAMILY: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
static SHARDED: ShardedCounter<8> = ShardedCounter::new();
static LATENCY: Histogram<14> = Histogram::new(buckets::LATENCY_MS);

fn bench(c: &mut Criterion) {
    let families = Families::new(&REGISTRY);
    let counter = families
        .counter(&Spec::new("bench_events_total", "Events"))
        .unwrap();
    let family = families
        .family::<Counter, 2, 64>(
            &Spec::new("bench_requests_total", "Requests"),
            ["method", "status"],
        )
        .unwrap();
    // A few series in each table, so lookups probe a realistic table.
    for status in ["200", "201", "204", "301", "404", "500"] {
        family.with_labels(["GET", status]).inc();
        STATIC_FAMILY.with_labels(["GET", status]).inc();
    }

    let mut g = c.benchmark_group("counter_inc");
    g.bench_function("static", |b| b.iter(|| black_box(&STATIC_COUNTER).inc()));
    g.bench_function("runtime_defined", |b| b.iter(|| black_box(counter).inc()));
    g.finish();

    let mut g = c.benchmark_group("family_with_labels_inc");
    g.bench_function("static_foldhash_fixed_seed", |b| {
        b.iter(|| STATIC_FAMILY.with_labels(black_box(["GET", "404"])).inc())
    });
    g.bench_function("runtime_defined_ahash_random_seed", |b| {
        b.iter(|| family.with_labels(black_box(["GET", "404"])).inc())
    });
    g.finish();

    let mut g = c.benchmark_group("sharded_inc");
    g.bench_function("stack_address_stripe", |b| {
        b.iter(|| black_box(&SHARDED).inc())
    });
    g.bench_function("thread_local_stripe", |b| {
        b.iter(|| black_box(&SHARDED).inc_local())
    });
    g.finish();

    let mut g = c.benchmark_group("histogram");
    g.bench_function("observe", |b| b.iter(|| LATENCY.observe(black_box(12.5))));
    g.bench_function("timer_start_drop_ms", |b| {
        b.iter(|| drop(black_box(&LATENCY).start_timer_ms()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
