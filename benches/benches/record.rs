//! The recording hot path, Corral beside every peer and the raw baselines, single thread:
//! unlabelled increment, cached-handle increment, labelled increment with the labels
//! resolved on every call (typed and string, 2 labels, 12 combinations rotating; string
//! through `with_labels` and through `with_static_labels`) and histogram observe (the spec's latency buckets, 16 values rotating over all buckets).
//!
//! `cargo bench -p corral-benches --bench record`
//!
//! How each peer is driven, and what its API forces, is in `benches/README.md`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use corral_benches::peers::measured_labels::{self, StringLabels};
use corral_benches::peers::{self, Otel, PcLabels, PcOwnedLabels, PcTypedLabels};
use corral_benches::raw::{self, RawHistogram, RawLabelled};
use corral_benches::{
    COMBINATIONS, Method, OBSERVATIONS, Status, TYPED_COMBINATIONS, next12, next16,
};
use corral_core::{Counter, DynamicFamily, Histogram, TypedFamily, buckets};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;

fn counter_inc_unlabelled(c: &mut Criterion) {
    static RAW: AtomicU64 = AtomicU64::new(0);
    static CORRAL: Counter = Counter::new();
    let mut group = c.benchmark_group("counter_inc_unlabelled");
    group.bench_function("raw-atomic", |b| {
        b.iter(|| black_box(&RAW).fetch_add(1, Ordering::Relaxed))
    });
    group.bench_function("raw-cell", |b| b.iter(raw::cell_inc));
    group.bench_function("corral", |b| {
        b.iter(|| black_box(&CORRAL).inc());
        assert!(CORRAL.get() > 0);
    });

    let prom = prometheus::IntCounter::new("bench_unlabelled_total", "help").unwrap();
    group.bench_function("prometheus", |b| {
        b.iter(|| black_box(&prom).inc());
        assert!(prom.get() > 0);
    });

    let pc = PcCounter::<u64>::default();
    group.bench_function("prometheus-client", |b| {
        b.iter(|| black_box(&pc).inc());
        assert!(pc.get() > 0);
    });

    peers::metrics_handle();
    let metrics = metrics::counter!("bench_unlabelled_total");
    group.bench_function("metrics", |b| b.iter(|| black_box(&metrics).increment(1)));

    let measured = measured::Counter::new();
    group.bench_function("measured", |b| b.iter(|| black_box(&measured).inc()));

    let otel = Otel::new();
    let counter = otel.meter.u64_counter("bench_unlabelled").build();
    group.bench_function("opentelemetry", |b| {
        b.iter(|| black_box(&counter).add(1, &[]))
    });
    group.finish();
}

/// A handle resolved once from a labelled family, then incremented.
fn counter_inc_cached_handle(c: &mut Criterion) {
    static RAW: [corral_core::CachePadded<AtomicU64>; 12] =
        [const { corral_core::CachePadded::new(AtomicU64::new(0)) }; 12];
    static CORRAL: DynamicFamily<Counter, 2, 32> = DynamicFamily::new(["method", "status"]);
    let mut group = c.benchmark_group("counter_inc_cached_handle");
    let raw: &AtomicU64 = &RAW[3];
    group.bench_function("raw-atomic", |b| {
        b.iter(|| black_box(raw).fetch_add(1, Ordering::Relaxed))
    });
    let corral = CORRAL.with_labels(["GET", "200"]);
    group.bench_function("corral", |b| {
        b.iter(|| black_box(corral).inc());
        assert!(corral.get() > 0);
    });

    let prom_vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_cached_total", "help"),
        &["method", "status"],
    )
    .unwrap();
    let prom = prom_vec.with_label_values(&["GET", "200"]);
    group.bench_function("prometheus", |b| {
        b.iter(|| black_box(&prom).inc());
        assert!(prom.get() > 0);
    });

    let pc_family = PcFamily::<PcLabels, PcCounter>::default();
    let pc = pc_family.get_or_create_owned(&PcLabels {
        method: "GET",
        status: "200",
    });
    group.bench_function("prometheus-client", |b| {
        b.iter(|| black_box(&pc).inc());
        assert!(pc.get() > 0);
    });

    peers::metrics_handle();
    let metrics = metrics::counter!("bench_cached_total", "method" => "GET", "status" => "200");
    group.bench_function("metrics", |b| b.iter(|| black_box(&metrics).increment(1)));

    let measured = measured::CounterVec::with_label_set(measured_labels::string_label_set());
    let id = measured.with_labels(StringLabels {
        method: "GET",
        status: "200",
    });
    group.bench_function("measured", |b| {
        b.iter(|| measured.get_metric(black_box(id)).inc())
    });

    // No bound handle in the stable API: the same attribute slice on every call.
    let otel = Otel::new();
    let counter = otel.meter.u64_counter("bench_cached").build();
    let attributes = [
        KeyValue::new("method", "GET"),
        KeyValue::new("status", "200"),
    ];
    group.bench_function("opentelemetry", |b| {
        b.iter(|| black_box(&counter).add(1, black_box(&attributes)))
    });
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
            i = next12(i);
        })
    });
    group.bench_function("raw-cell", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            raw::cell_inc_labelled(m, s);
            i = next12(i);
        })
    });
    group.bench_function("corral-typed", |b| {
        let mut i = 0;
        b.iter(|| {
            TYPED.with_labels(black_box(TYPED_COMBINATIONS[i])).inc();
            i = next12(i);
        })
    });
    group.bench_function("corral-dynamic", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            DYNAMIC.with_labels([m, s]).inc();
            i = next12(i);
        });
        // Every lookup found or created its own series: none went to overflow.
        assert!(!DYNAMIC.is_empty() && DYNAMIC.overflow().get() == 0);
    });
    // The same values through `with_static_labels`: they are `&'static str`, so the
    // family remembers them by address.
    group.bench_function("corral-dynamic-remembered", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            DYNAMIC.with_static_labels([m, s]).inc();
            i = next12(i);
        });
        assert!(!DYNAMIC.is_empty() && DYNAMIC.overflow().get() == 0);
    });

    let prom = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_labelled_total", "help"),
        &["method", "status"],
    )
    .unwrap();
    group.bench_function("prometheus", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            prom.with_label_values(&[m, s]).inc();
            i = next12(i);
        })
    });

    let pc = PcFamily::<PcLabels, PcCounter>::default();
    group.bench_function("prometheus-client", |b| {
        let mut i = 0;
        b.iter(|| {
            let (method, status) = black_box(COMBINATIONS[i]);
            pc.get_or_create(&PcLabels { method, status }).inc();
            i = next12(i);
        })
    });
    let pc_owned = PcFamily::<PcOwnedLabels, PcCounter>::default();
    group.bench_function("prometheus-client(String)", |b| {
        let mut i = 0;
        b.iter(|| {
            let (method, status) = black_box(COMBINATIONS[i]);
            pc_owned
                .get_or_create(&PcOwnedLabels {
                    method: method.to_owned(),
                    status: status.to_owned(),
                })
                .inc();
            i = next12(i);
        })
    });
    let pc_typed = PcFamily::<PcTypedLabels, PcCounter>::default();
    group.bench_function("prometheus-client(enum)", |b| {
        let mut i = 0;
        b.iter(|| {
            let (method, status) = black_box(TYPED_COMBINATIONS[i]);
            pc_typed
                .get_or_create(&PcTypedLabels { method, status })
                .inc();
            i = next12(i);
        })
    });

    peers::metrics_handle();
    group.bench_function("metrics", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            metrics::counter!("bench_labelled_total", "method" => m, "status" => s).increment(1);
            i = next12(i);
        })
    });

    let measured = measured::CounterVec::with_label_set(measured_labels::string_label_set());
    group.bench_function("measured", |b| {
        let mut i = 0;
        b.iter(|| {
            let (method, status) = black_box(COMBINATIONS[i]);
            measured.inc(StringLabels { method, status });
            i = next12(i);
        })
    });
    let measured_typed = measured::CounterVec::<measured_labels::TypedLabelSet>::new();
    group.bench_function("measured(enum)", |b| {
        let mut i = 0;
        b.iter(|| {
            measured_typed.inc(black_box(measured_labels::TYPED_COMBINATIONS[i]));
            i = next12(i);
        })
    });

    let otel = Otel::new();
    let counter = otel.meter.u64_counter("bench_labelled").build();
    group.bench_function("opentelemetry", |b| {
        let mut i = 0;
        b.iter(|| {
            let (m, s) = black_box(COMBINATIONS[i]);
            counter.add(1, &[KeyValue::new("method", m), KeyValue::new("status", s)]);
            i = next12(i);
        })
    });
    group.finish();
    // A routine filtered out never ran; one that ran recorded. Test mode (`-- --test`) runs
    // each routine once, so fewer than 12 series may exist.
    assert!(DYNAMIC.len() <= 12);
}

fn histogram_observe(c: &mut Criterion) {
    static RAW: RawHistogram = RawHistogram::new();
    static CORRAL: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
    let mut group = c.benchmark_group("histogram_observe");
    group.bench_function("raw-atomic", |b| {
        let mut i = 0;
        b.iter(|| {
            RAW.observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        })
    });
    group.bench_function("raw-cell", |b| {
        let mut i = 0;
        b.iter(|| {
            raw::cell_observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        })
    });
    group.bench_function("corral", |b| {
        let mut i = 0;
        b.iter(|| {
            CORRAL.observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        });
        assert!(CORRAL.count() > 0);
    });

    let prom = peers::prometheus_histogram("bench_latency");
    group.bench_function("prometheus", |b| {
        let mut i = 0;
        b.iter(|| {
            prom.observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        })
    });

    let pc = peers::pc_histogram();
    group.bench_function("prometheus-client", |b| {
        let mut i = 0;
        b.iter(|| {
            pc.observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        })
    });

    // metrics' histograms only queue the value; bucketing happens in the recorder's
    // upkeep (or render). `metrics` times the queueing alone, with the upkeep run between
    // timed batches; `metrics(+upkeep)` times both.
    let handle = peers::metrics_handle();
    let metrics = metrics::histogram!("bench_latency");
    group.bench_function("metrics", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut done = 0;
            let mut i = 0;
            while done < iters {
                let batch = (iters - done).min(1 << 16);
                let start = Instant::now();
                for _ in 0..batch {
                    metrics.record(black_box(OBSERVATIONS[i]));
                    i = next16(i);
                }
                elapsed += start.elapsed();
                handle.run_upkeep();
                done += batch;
            }
            elapsed
        })
    });
    group.bench_function("metrics(+upkeep)", |b| {
        b.iter_custom(|iters| {
            let mut done = 0;
            let mut i = 0;
            let start = Instant::now();
            while done < iters {
                let batch = (iters - done).min(1 << 16);
                for _ in 0..batch {
                    metrics.record(black_box(OBSERVATIONS[i]));
                    i = next16(i);
                }
                handle.run_upkeep();
                done += batch;
            }
            start.elapsed()
        })
    });

    let measured = measured::Histogram::<13>::with_metadata(peers::measured_thresholds());
    group.bench_function("measured", |b| {
        let mut i = 0;
        b.iter(|| {
            measured.observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        })
    });

    let otel = Otel::new();
    let histogram = otel.latency_histogram("bench_latency");
    group.bench_function("opentelemetry", |b| {
        let mut i = 0;
        b.iter(|| {
            histogram.record(black_box(OBSERVATIONS[i]), &[]);
            i = next16(i);
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = counter_inc_unlabelled, counter_inc_cached_handle, counter_inc_labelled, histogram_observe
}
criterion_main!(benches);
