//! Exact totals under real concurrency: 8 threads x 100,000 operations each. Every
//! operation is counted once: in its series or, for a lookup that gave up waiting on a
//! concurrent insert of its key, in the family's overflow series as `contended`.

mod common;

use common::{Collector, Plain, contended_overflow, on_threads};
use corral_core::{
    Counter, Desc, DynamicFamily, FloatCounter, Gauge, Histogram, HistogramCells, Registry,
    ShardedCounter, ShardedHistogram, TypedFamily, buckets,
};

const THREADS: usize = 8;
const OPS: u64 = if cfg!(miri) { 200 } else { 100_000 };

corral_core::label_enum! { enum Worker: "worker" { A = "a", B = "b" } }

#[test]
fn counters_sharded_counters_and_labelled_series_are_exact() {
    static COUNTER: Counter = Counter::new();
    static SHARDED: ShardedCounter<8> = ShardedCounter::new();
    static DYNAMIC: DynamicFamily<Counter, 2, 16> = DynamicFamily::new(["route", "status"]);
    static TYPED: TypedFamily<Counter, Worker, 2> = TypedFamily::new();
    static FLOAT: FloatCounter = FloatCounter::new();
    static GAUGE: Gauge = Gauge::new();

    on_threads(THREADS, |_| {
        for _ in 0..OPS {
            COUNTER.inc();
            SHARDED.inc();
            // The lookup runs on every increment: the series is shared by all threads.
            DYNAMIC.with_labels(["/ingest", "200"]).inc();
            TYPED.with_labels(Worker::B).inc();
            FLOAT.inc_by(0.5);
            GAUGE.add(1.0);
        }
    });

    let expected = THREADS as u64 * OPS;
    assert_eq!(COUNTER.get(), expected);
    assert_eq!(SHARDED.get(), expected);
    let contended = contended_overflow(&DYNAMIC);
    assert_eq!(
        DYNAMIC.with_labels(["/ingest", "200"]).get() + contended,
        expected
    );
    assert_eq!(
        DYNAMIC.len(),
        1,
        "eight threads racing to create one series created one"
    );
    assert_eq!(TYPED.with_labels(Worker::B).get(), expected);
    assert_eq!(TYPED.with_labels(Worker::A).get(), 0);
    // Halves and whole numbers below 2^53 add exactly in f64, so no update was lost.
    assert_eq!(FLOAT.get(), expected as f64 / 2.0);
    assert_eq!(GAUGE.get(), expected as f64);
}

#[test]
fn concurrent_inserts_of_distinct_keys_each_get_one_series() {
    static FAMILY: DynamicFamily<Counter, 1, 256> = DynamicFamily::new(["key"]);
    let keys: Vec<String> = (0..100).map(|i| format!("key-{i}")).collect();
    let rounds = if cfg!(miri) { 2 } else { 200 };
    on_threads(THREADS, |t| {
        for round in 0..rounds {
            // Each thread walks the keys from a different starting point.
            for i in 0..keys.len() {
                let key = &keys[(i + t * 13 + round) % keys.len()];
                FAMILY.with_labels([key]).inc();
            }
        }
    });
    assert_eq!(FAMILY.len(), 100);
    let mut total = 0;
    for key in &keys {
        let count = FAMILY.with_labels([key]).get();
        assert!(count <= (THREADS * rounds) as u64, "{key}: {count}");
        total += count;
    }
    let contended = contended_overflow(&FAMILY);
    assert_eq!(total + contended, (THREADS * rounds * keys.len()) as u64);
}

#[test]
fn histogram_count_equals_the_sum_of_its_buckets_after_concurrent_observes() {
    static REGISTRY: Registry<4> = Registry::new();
    static LATENCY: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
    static BY_ROUTE: DynamicFamily<HistogramCells<14>, 1, 8> =
        DynamicFamily::histogram(["route"], buckets::LATENCY_MS);
    static SHARDED: ShardedHistogram<14, 4> = ShardedHistogram::new(buckets::LATENCY_MS);
    REGISTRY
        .register(Desc::new("latency_ms", "Latency").with_unit("ms"), &LATENCY)
        .unwrap();
    REGISTRY
        .register(Desc::new("sharded_ms", "Sharded").with_unit("ms"), &SHARDED)
        .unwrap();
    REGISTRY
        .register(
            Desc::new("route_latency_ms", "By route").with_unit("ms"),
            &BY_ROUTE,
        )
        .unwrap();

    on_threads(THREADS, |t| {
        for i in 0..OPS {
            // Whole values spread over every bucket, +Inf included.
            let value = ((i * 7 + t as u64 * 11) % 12_000) as f64;
            LATENCY.observe(value);
            BY_ROUTE.with_labels(["/q"]).observe(value);
            SHARDED.observe_on_stripe(t, value);
        }
    });

    let expected_count = THREADS as u64 * OPS;
    let expected_sum: f64 = (0..THREADS as u64)
        .flat_map(|t| (0..OPS).map(move |i| ((i * 7 + t * 11) % 12_000) as f64))
        .sum();

    let mut seen = Collector::default();
    REGISTRY.visit(&mut seen);
    for (family, labels) in [
        ("latency_ms", &[][..]),
        ("route_latency_ms", &[("route", "/q")][..]),
        ("sharded_ms", &[][..]),
    ] {
        let Some(Plain::Histogram {
            cumulative,
            count,
            sum,
        }) = seen.value(family, labels)
        else {
            panic!("{family} missing");
        };
        assert_eq!(*count, expected_count, "{family}: count");
        assert_eq!(
            cumulative.last().unwrap(),
            &(f64::INFINITY, expected_count),
            "{family}: +Inf"
        );
        assert!(
            cumulative.windows(2).all(|w| w[0].1 <= w[1].1),
            "{family}: buckets not monotone"
        );
        // Integer-valued sums below 2^53 are exact in f64.
        assert_eq!(*sum, expected_sum, "{family}: sum");
    }
}
