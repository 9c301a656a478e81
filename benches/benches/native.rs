//! Native histograms and the protobuf exposition, in one run:
//!
//! - `native_observe`: one observation, single thread, the 16 rotating latency values
//!   (`OBSERVATIONS`, milliseconds): Corral's classic `Histogram::observe` (the 13 latency
//!   bounds), Corral's `NativeHistogram::observe` (schema 3, zero threshold 0.01, a row up
//!   to 10^5; with and without the same classic bounds kept alongside) and
//!   prometheus-client 0.26's native histogram (`Histogram::new_native`, schema 3).
//! - `protobuf_render_10k_series`: 100 counter families of 100 series (labels `method` ×
//!   `status`) plus 100 classic latency histograms (one family labelled `route`, 10
//!   observations each), rendered as length-delimited `io.prometheus.client.MetricFamily`:
//!   Corral's `Renderer::protobuf` into a reused `Vec`, and prometheus-client's
//!   `prometheus_protobuf::encode_to_vec` (its prost messages, then their encoding). Set-up
//!   decodes both outputs and checks they hold the same families and series.
//!
//! `cargo bench -p corral-benches --bench native`
#![allow(clippy::std_instead_of_core, reason = "a std bench binary")]

use std::hint::black_box;
use std::time::Duration;

use corral_benches::{OBSERVATIONS, next16};
use corral_core::encode::Renderer;
use corral_core::{
    Counter, Desc, DynamicFamily, Histogram, HistogramCells, NativeHistogram,
    NativeHistogramConfig, Registry, RegistryConfig, buckets, native_buckets_for,
};
use corral_std::encode::VecSink;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_protobuf::{self, prometheus_data_model};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::histogram::{
    Histogram as PcHistogram, NativeHistogramConfig as PcNativeConfig,
};
use prost::Message;

const NATIVE_BUCKETS: usize = native_buckets_for::<3>(0.01, 1e5);

fn native_observe(c: &mut Criterion) {
    static CLASSIC: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
    static NATIVE: NativeHistogram<NATIVE_BUCKETS> =
        NativeHistogram::new(NativeHistogramConfig::new(0.01));
    static NATIVE_AND_CLASSIC: NativeHistogram<NATIVE_BUCKETS, 14> =
        NativeHistogram::new(NativeHistogramConfig::new(0.01).with_classic(buckets::LATENCY_MS));
    let mut group = c.benchmark_group("native_observe");
    group.bench_function("corral-classic", |b| {
        let mut i = 0;
        b.iter(|| {
            black_box(&CLASSIC).observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        });
        assert!(CLASSIC.count() > 0);
    });
    group.bench_function("corral-native", |b| {
        let mut i = 0;
        b.iter(|| {
            black_box(&NATIVE).observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        });
        assert!(NATIVE.count() > 0 && NATIVE.overflow() == 0);
    });
    group.bench_function("corral-native+classic", |b| {
        let mut i = 0;
        b.iter(|| {
            black_box(&NATIVE_AND_CLASSIC).observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        });
        assert!(NATIVE_AND_CLASSIC.count() > 0);
    });
    let pc = PcHistogram::new_native(PcNativeConfig::with_schema(3).zero_threshold(0.01));
    group.bench_function("prometheus-client-native", |b| {
        let mut i = 0;
        b.iter(|| {
            black_box(&pc).observe(black_box(OBSERVATIONS[i]));
            i = next16(i);
        });
    });
    group.finish();
}

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PURGE",
];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "400", "401", "403", "404", "500", "503",
];
const FAMILIES: usize = 100;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

struct Fixture {
    names: Vec<&'static str>,
    routes: Vec<&'static str>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            names: (0..FAMILIES)
                .map(|f| leak(format!("bench_requests_{f:03}_total")))
                .collect(),
            routes: (0..FAMILIES)
                .map(|r| leak(format!("/api/v1/resource/{r:03}")))
                .collect(),
        }
    }

    /// `(family, method, status, value)` of every counter series.
    fn counters(&self) -> impl Iterator<Item = (usize, &'static str, &'static str, u64)> {
        (0..FAMILIES).flat_map(|f| {
            (0..100).map(move |s| {
                (
                    f,
                    METHODS[s / 10],
                    STATUSES[s % 10],
                    (f * 100 + s) as u64 * 37 + 1,
                )
            })
        })
    }

    /// `(route, value)` of every observation: 10 per route.
    fn observations(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.routes
            .iter()
            .flat_map(|r| (0..10).map(move |i| (*r, OBSERVATIONS[i])))
    }
}

fn corral(fixture: &Fixture) -> &'static Registry<128> {
    let registry: &'static Registry<128> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT
            .with_max_total_series(20_000)
            .with_self_metrics(false),
    )));
    let families: Vec<&'static DynamicFamily<Counter, 2, 256>> = (0..FAMILIES)
        .map(|f| {
            let family: &'static DynamicFamily<Counter, 2, 256> =
                Box::leak(Box::new(DynamicFamily::new(["method", "status"])));
            registry
                .register(
                    Desc::new(fixture.names[f], "Requests by method and status"),
                    family,
                )
                .expect("register");
            family
        })
        .collect();
    for (f, method, status, value) in fixture.counters() {
        families[f]
            .try_with_labels([method, status])
            .expect("room")
            .inc_by(value);
    }
    let latency: &'static DynamicFamily<HistogramCells<14>, 1, 256> = Box::leak(Box::new(
        DynamicFamily::histogram(["route"], buckets::LATENCY_MS),
    ));
    registry
        .register(Desc::new("bench_latency_ms", "Request latency"), latency)
        .expect("register");
    for (route, value) in fixture.observations() {
        latency
            .try_with_labels([route])
            .expect("room")
            .observe(value);
    }
    registry
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Requests {
    method: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: &'static str,
}

fn pc_latency() -> PcHistogram {
    PcHistogram::new(buckets::LATENCY_MS.iter().copied())
}

fn pc(fixture: &Fixture) -> prometheus_client::registry::Registry {
    let mut registry = prometheus_client::registry::Registry::default();
    let families: Vec<PcFamily<Requests, PcCounter>> = (0..FAMILIES)
        .map(|f| {
            let family = PcFamily::default();
            // prometheus-client appends `_total` to counter names itself.
            let name = fixture.names[f].strip_suffix("_total").unwrap();
            registry.register(name, "Requests by method and status", family.clone());
            family
        })
        .collect();
    for (f, method, status, value) in fixture.counters() {
        families[f]
            .get_or_create(&Requests { method, status })
            .inc_by(value);
    }
    let latency =
        PcFamily::<Route, PcHistogram, fn() -> PcHistogram>::new_with_constructor(pc_latency);
    registry.register("bench_latency_ms", "Request latency", latency.clone());
    for (route, value) in fixture.observations() {
        latency.get_or_create(&Route { route }).observe(value);
    }
    registry
}

/// `(families, series)` of a delimited stream.
fn shape(mut bytes: &[u8]) -> (usize, usize) {
    let (mut families, mut series) = (0, 0);
    while !bytes.is_empty() {
        let family =
            prometheus_data_model::MetricFamily::decode_length_delimited(&mut bytes).unwrap();
        families += 1;
        series += family.metric.len();
    }
    (families, series)
}

fn protobuf_render(c: &mut Criterion) {
    let fixture = Fixture::new();
    let corral = corral(&fixture);
    let pc = pc(&fixture);
    let mut body = Vec::new();
    Renderer::protobuf()
        .render(corral, &mut VecSink::new(&mut body))
        .unwrap();
    let ours = shape(&body);
    let theirs = shape(&prometheus_protobuf::encode_to_vec(&pc).unwrap());
    assert_eq!(ours, (FAMILIES + 1, FAMILIES * 100 + FAMILIES));
    assert_eq!(ours, theirs);

    let mut group = c.benchmark_group("protobuf_render_10k_series");
    group.throughput(Throughput::Elements((FAMILIES * 101) as u64));
    group.bench_function("corral", |b| {
        b.iter(|| {
            body.clear();
            Renderer::protobuf()
                .render(black_box(corral), &mut VecSink::new(&mut body))
                .unwrap();
            black_box(body.len())
        })
    });
    group.bench_function("prometheus-client", |b| {
        b.iter(|| {
            black_box(
                prometheus_protobuf::encode_to_vec(black_box(&pc))
                    .unwrap()
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = native_observe, protobuf_render
}
criterion_main!(benches);
