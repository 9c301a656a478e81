//! The `metrics` facade: the same macros through Corral's recorder
//! (`corral_exporters::facade::MetricsRecorder`) and through `metrics-exporter-prometheus`
//! 0.18's `PrometheusRecorder`, in one process, each installed with
//! `metrics::with_local_recorder` around its routine.
//!
//! `cargo bench -p corral-benches --bench facade`
//!
//! - `facade_counter_two_labels`: `counter!("...", "method" => "GET", "status" => "200")
//!   .increment(1)` per iteration: the key lookup, the handle's `Arc` clone and drop, the
//!   increment.
//! - `facade_histogram`: `histogram!("...", "route" => "/users").record(v)`, 64 rounds of
//!   16 values over the default buckets per iteration (times are per recording).
//!   `metrics-exporter-prometheus` only queues the value (bucketing happens at render or
//!   upkeep); its upkeep runs between timed batches.
//! - `facade_render_10k_series`: 100 counter families of 100 series (`method` × `status`),
//!   described, recorded through the facade; Corral renders the registry with
//!   `corral_core::encode::prometheus` into a reused buffer, the peer with
//!   `PrometheusHandle::render` (a new `String`).
//!
//! That repeated registrations of existing keys allocate nothing through Corral's recorder
//! is proven by `exporters/tests/facade_no_alloc.rs` (a counting allocator), not here.
#![allow(clippy::std_instead_of_core, reason = "a std bench binary")]

use std::hint::black_box;
use std::time::Duration;

use corral_core::encode;
use corral_core::{Registry, RegistryConfig};
use corral_exporters::facade::MetricsRecorder;
use corral_std::encode::VecSink;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PROPFIND",
];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "401", "404", "500", "503",
];
/// Rounds of the 16 values per timed iteration of the histogram group.
const ROUNDS: u64 = 64;
const VALUES: [f64; 16] = [
    0.001, 0.007, 0.012, 0.03, 0.04, 0.07, 0.2, 0.3, 0.6, 0.9, 1.5, 3.0, 4.0, 7.0, 9.0, 20.0,
];

fn corral_recorder(registry: &'static Registry<128>) -> MetricsRecorder<128> {
    MetricsRecorder::builder(registry)
        .build()
        .expect("the facade recorder builds")
}

fn peer_recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets(corral_exporters::facade::DEFAULT_BUCKETS)
        .expect("the bounds are not empty")
        .build_recorder()
}

fn record_path(c: &mut Criterion) {
    static REGISTRY: Registry<128> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    let corral = corral_recorder(&REGISTRY);
    let peer = peer_recorder();

    let mut group = c.benchmark_group("facade_counter_two_labels");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("corral", |b| {
        metrics::with_local_recorder(&corral, || {
            b.iter(|| {
                metrics::counter!("bench_requests", "method" => "GET", "status" => "200")
                    .increment(black_box(1));
            });
        });
    });
    group.bench_function("metrics-exporter-prometheus", |b| {
        metrics::with_local_recorder(&peer, || {
            b.iter(|| {
                metrics::counter!("bench_requests", "method" => "GET", "status" => "200")
                    .increment(black_box(1));
            });
        });
    });
    group.finish();

    let mut group = c.benchmark_group("facade_histogram");
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(ROUNDS * VALUES.len() as u64));
    group.bench_function("corral", |b| {
        metrics::with_local_recorder(&corral, || {
            b.iter(|| {
                for _ in 0..ROUNDS {
                    for v in VALUES {
                        metrics::histogram!("bench_latency_seconds", "route" => "/users")
                            .record(black_box(v));
                    }
                }
            });
        });
    });
    let handle = peer.handle();
    group.bench_function("metrics-exporter-prometheus", |b| {
        metrics::with_local_recorder(&peer, || {
            b.iter_batched(
                || handle.run_upkeep(),
                |()| {
                    for _ in 0..ROUNDS {
                        for v in VALUES {
                            metrics::histogram!("bench_latency_seconds", "route" => "/users")
                                .record(black_box(v));
                        }
                    }
                },
                BatchSize::SmallInput,
            );
        });
    });
    group.finish();
}

fn record_10k(recorder: &dyn metrics::Recorder, names: &[&'static str]) {
    metrics::with_local_recorder(recorder, || {
        for &name in names {
            metrics::describe_counter!(name, "Requests by method and status");
            for (i, method) in METHODS.iter().enumerate() {
                for (j, status) in STATUSES.iter().enumerate() {
                    metrics::counter!(name, "method" => *method, "status" => *status)
                        .increment((i * 10 + j + 1) as u64);
                }
            }
        }
    });
}

fn render(c: &mut Criterion) {
    static REGISTRY: Registry<128> = Registry::with_config(
        RegistryConfig::DEFAULT
            .with_self_metrics(false)
            .with_max_total_series(20_000),
    );
    let names: Vec<&'static str> = (0..100)
        .map(|i| &*Box::leak(format!("bench_family_{i:03}_requests_total").into_boxed_str()))
        .collect();
    let corral = corral_recorder(&REGISTRY);
    let peer = peer_recorder();
    let handle = peer.handle();
    record_10k(&corral, &names);
    record_10k(&peer, &names);

    let mut buf = Vec::new();
    encode::prometheus(&REGISTRY, &mut VecSink::new(&mut buf)).unwrap();
    let corral_text = String::from_utf8(buf.clone()).unwrap();
    let peer_text = handle.render();
    let samples = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count()
    };
    assert_eq!(samples(&corral_text), 10_000, "Corral renders every series");
    assert_eq!(samples(&peer_text), 10_000, "the peer renders every series");

    let mut group = c.benchmark_group("facade_render_10k_series");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(30);
    group.bench_function("corral", |b| {
        b.iter(|| {
            buf.clear();
            encode::prometheus(&REGISTRY, &mut VecSink::new(&mut buf)).unwrap();
            black_box(buf.len())
        });
    });
    group.bench_function("metrics-exporter-prometheus", |b| {
        b.iter(|| black_box(handle.render().len()));
    });
    group.finish();
}

criterion_group!(benches, record_path, render);
criterion_main!(benches);
