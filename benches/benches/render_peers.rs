//! Rendering as Prometheus text by the peers `benches/render.rs` does not cover —
//! `prometheus` 0.14, `metrics-exporter-prometheus` 0.18 and OpenTelemetry (SDK 0.33 through
//! `opentelemetry-prometheus` 0.33) — at 10,000 and at 100,000 counter series, with Corral's
//! dynamic-label registry rendered in the same run so that ratios come from one run.
//! `render.rs` has `prometheus-client` and `measured` at 10,000 series only, so the
//! 100,000-series group here has them too.
//!
//! `cargo bench -p corral-benches --bench render_peers`
//!
//! The fixture is `render.rs`'s, scaled: `F` counter families of 100 series (labels `method` ×
//! `status`, 10 × 10 values, the same values and counts) plus `F` histogram series (one family
//! labelled `route`, the 13 latency bounds, 10 observations each); F = 100 gives 10,000
//! counters, 100 histograms and 11,600 sample lines, F = 1,000 ten times that. Set-up checks
//! every output's sample count.
//!
//! What each render does:
//! - `corral-dynamic/prometheus`: `encode::prometheus` into a reused byte buffer.
//! - `prometheus`: `Registry::gather` (builds the protobuf-shaped families) + `TextEncoder`
//!   into a reused `String`.
//! - `metrics`: `PrometheusHandle::render` (drains the histogram queues, returns a new
//!   `String`); the recorder is a local one, not the global, so the two sizes do not mix.
//! - `opentelemetry/prometheus`: the `opentelemetry-prometheus` exporter (the provider's
//!   reader) collects into a prometheus registry on `gather`, then `TextEncoder`; target
//!   info and scope labels turned off so the output holds the same samples.
//! - `opentelemetry(collect)`: a `ManualReader` collect into a reused `ResourceMetrics`, no
//!   text at all: the floor of any OpenTelemetry exporter.
//! - 100,000 only: `prometheus-client/prometheus` (`prometheus_text::encode` into a reused
//!   `String`) and `measured/prometheus` (its `BufferedTextEncoder`, reused), set up as in
//!   `render.rs`.
#![allow(clippy::std_instead_of_core, reason = "a std bench binary")]

use std::hint::black_box;
use std::time::Duration;

use corral_benches::peers::Otel;
use corral_core::encode::{self, SliceSink};
use corral_core::{
    Counter, Desc, DynamicFamily, HistogramCells, Registry, RegistryConfig, buckets,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::metrics::data::ResourceMetrics;

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PROPFIND",
];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "401", "404", "500", "503",
];

/// The names, help texts and routes of a fixture of `families` families, made once.
struct Fixture {
    families: usize,
    names: Vec<&'static str>,
    helps: Vec<&'static str>,
    routes: Vec<&'static str>,
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Fixture {
    fn new(families: usize) -> Self {
        Self {
            families,
            names: (0..families)
                .map(|f| leak(format!("bench_requests_{f:03}_total")))
                .collect(),
            helps: (0..families)
                .map(|f| leak(format!("Requests by method and status, family {f}")))
                .collect(),
            routes: (0..families)
                .map(|r| leak(format!("/api/v1/resource/{r:03}")))
                .collect(),
        }
    }

    /// Counter series plus histogram series.
    fn series(&self) -> u64 {
        (self.families * 100 + self.families) as u64
    }

    /// Sample lines: one per counter, 14 buckets + sum + count per histogram.
    fn samples(&self) -> usize {
        self.families * 100 + self.families * 16
    }

    /// Every counter series as `(family, method, status, value)`.
    fn counters(&self) -> impl Iterator<Item = (usize, &'static str, &'static str, u64)> + '_ {
        (0..self.families).flat_map(|f| {
            (0..10).flat_map(move |m| {
                (0..10).map(move |s| {
                    let value = ((f * 100 + m * 10 + s) as u64) * 7919 + 1;
                    (f, METHODS[m], STATUSES[s], value)
                })
            })
        })
    }

    /// Every histogram observation as `(route, value)`.
    fn observations(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.routes.iter().enumerate().flat_map(|(r, route)| {
            (0..10).map(move |i| (*route, ((r * 31 + i * 17) % 3000) as f64 * 1.5 + 0.25))
        })
    }
}

fn samples(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// Corral's registry; `ROUTE_SLOTS` is the histogram family's table size (the smallest
/// power of two whose three-quarter load bound admits the routes: 256 as in `render.rs`
/// for 100 routes, 2,048 for 1,000).
fn corral<const ROUTE_SLOTS: usize>(fixture: &Fixture) -> &'static Registry<1024> {
    let registry: &'static Registry<1024> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT
            .with_max_total_series(200_000)
            .with_max_series_per_metric(ROUTE_SLOTS)
            .with_self_metrics(false),
    )));
    let families: Vec<&'static DynamicFamily<Counter, 2, 256>> = (0..fixture.families)
        .map(|f| {
            let family: &'static DynamicFamily<Counter, 2, 256> =
                Box::leak(Box::new(DynamicFamily::new(["method", "status"])));
            registry
                .register(Desc::new(fixture.names[f], fixture.helps[f]), family)
                .expect("register");
            family
        })
        .collect();
    for (f, method, status, value) in fixture.counters() {
        families[f]
            .try_with_labels([method, status])
            .expect("room for 100 series")
            .inc_by(value);
    }
    let latency: &'static DynamicFamily<HistogramCells<14>, 1, ROUTE_SLOTS> = Box::leak(Box::new(
        DynamicFamily::histogram(["route"], buckets::LATENCY_MS),
    ));
    registry
        .register(Desc::new("bench_latency_ms", "Request latency"), latency)
        .expect("register");
    for (route, value) in fixture.observations() {
        latency
            .try_with_labels([route])
            .expect("room for every route")
            .observe(value);
    }
    registry
}

fn prometheus(fixture: &Fixture) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let vecs: Vec<prometheus::IntCounterVec> = (0..fixture.families)
        .map(|f| {
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new(fixture.names[f], fixture.helps[f]),
                &["method", "status"],
            )
            .expect("valid counter");
            registry.register(Box::new(vec.clone())).expect("register");
            vec
        })
        .collect();
    for (f, method, status, value) in fixture.counters() {
        vecs[f].with_label_values(&[method, status]).inc_by(value);
    }
    let latency = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("bench_latency_ms", "Request latency")
            .buckets(buckets::LATENCY_MS.to_vec()),
        &["route"],
    )
    .expect("valid histogram");
    registry
        .register(Box::new(latency.clone()))
        .expect("register");
    for (route, value) in fixture.observations() {
        latency.with_label_values(&[route]).observe(value);
    }
    registry
}

fn metrics(fixture: &Fixture) -> PrometheusHandle {
    let recorder = PrometheusBuilder::new()
        .set_buckets(buckets::LATENCY_MS)
        .expect("bounds")
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for f in 0..fixture.families {
            metrics::describe_counter!(fixture.names[f], fixture.helps[f]);
        }
        metrics::describe_histogram!("bench_latency_ms", "Request latency");
        for (f, method, status, value) in fixture.counters() {
            metrics::counter!(fixture.names[f], "method" => method, "status" => status)
                .increment(value);
        }
        for (route, value) in fixture.observations() {
            metrics::histogram!("bench_latency_ms", "route" => route).record(value);
        }
    });
    // The recorder must outlive the handle's renders.
    Box::leak(Box::new(recorder));
    handle
}

/// Records the fixture through an OpenTelemetry meter provider. Counter names lose their
/// `_total`: the Prometheus exporter appends it.
fn otel_record(provider: &SdkMeterProvider, fixture: &Fixture) {
    let meter = provider.meter("corral-benches");
    let counters: Vec<opentelemetry::metrics::Counter<u64>> = (0..fixture.families)
        .map(|f| {
            let name = fixture.names[f]
                .strip_suffix("_total")
                .unwrap_or(fixture.names[f]);
            meter
                .u64_counter(name)
                .with_description(fixture.helps[f])
                .build()
        })
        .collect();
    for (f, method, status, value) in fixture.counters() {
        counters[f].add(
            value,
            &[
                KeyValue::new("method", method),
                KeyValue::new("status", status),
            ],
        );
    }
    let latency = meter
        .f64_histogram("bench_latency_ms")
        .with_description("Request latency")
        .with_boundaries(buckets::LATENCY_MS.to_vec())
        .build();
    for (route, value) in fixture.observations() {
        latency.record(value, &[KeyValue::new("route", route)]);
    }
}

/// OpenTelemetry through its Prometheus exporter: the provider (kept alive) and the
/// prometheus registry the exporter fills on `gather`.
fn otel_prometheus(fixture: &Fixture) -> (SdkMeterProvider, prometheus::Registry) {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .without_target_info()
        .scope_info_enabled(false)
        .build()
        .expect("exporter");
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    otel_record(&provider, fixture);
    (provider, registry)
}

/// OpenTelemetry with a manual reader, for the collect-only row.
fn otel_collect(fixture: &Fixture) -> Otel {
    let otel = Otel::new();
    otel_record(&otel.provider, fixture);
    otel
}

mod pc {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    use super::Fixture;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Requests {
        method: &'static str,
        status: &'static str,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Route {
        route: &'static str,
    }

    fn latency_histogram() -> Histogram {
        Histogram::new(corral_core::buckets::LATENCY_MS.iter().copied())
    }

    pub(super) fn registry(fixture: &Fixture) -> Registry {
        let mut registry = Registry::default();
        let families: Vec<Family<Requests, Counter>> = (0..fixture.families)
            .map(|f| {
                let family = Family::default();
                // prometheus-client appends `_total` to counter names itself.
                let name = fixture.names[f]
                    .strip_suffix("_total")
                    .unwrap_or(fixture.names[f]);
                registry.register(name, fixture.helps[f], family.clone());
                family
            })
            .collect();
        for (f, method, status, value) in fixture.counters() {
            families[f]
                .get_or_create(&Requests { method, status })
                .inc_by(value);
        }
        let latency =
            Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("bench_latency_ms", "Request latency", latency.clone());
        for (route, value) in fixture.observations() {
            latency.get_or_create(&Route { route }).observe(value);
        }
        registry
    }
}

mod ms {
    use measured::lasso::Rodeo;
    use measured::metric::MetricFamilyEncoding;
    use measured::metric::group::Encoding;
    use measured::metric::name::MetricName;
    use measured::text::BufferedTextEncoder;
    use measured::{CounterVec, HistogramVec, LabelGroup, MetricGroup};

    use super::{Fixture, METHODS, STATUSES};
    use corral_benches::peers::measured_labels::{StringLabelSet, StringLabels};
    use corral_benches::peers::measured_thresholds;

    #[derive(LabelGroup)]
    #[label(set = RouteSet)]
    pub struct Route<'a> {
        #[label(fixed_with = measured::lasso::RodeoReader)]
        route: &'a str,
    }

    /// The counter families (name, help, vec) and the latency family.
    pub struct Metrics {
        counters: Vec<(
            &'static MetricName,
            &'static str,
            CounterVec<StringLabelSet>,
        )>,
        latency: HistogramVec<RouteSet, 13>,
    }

    impl MetricGroup<BufferedTextEncoder> for Metrics {
        fn collect_group_into(
            &self,
            enc: &mut BufferedTextEncoder,
        ) -> Result<(), <BufferedTextEncoder as Encoding>::Err> {
            for (name, help, family) in &self.counters {
                enc.write_help(*name, help)?;
                family.collect_family_into(*name, enc)?;
            }
            let name = MetricName::from_str("bench_latency_ms");
            enc.write_help(name, "Request latency")?;
            self.latency.collect_family_into(name, enc)
        }
    }

    pub(super) fn metrics(fixture: &Fixture) -> Metrics {
        let mut counters: Vec<_> = (0..fixture.families)
            .map(|f| {
                let set = StringLabelSet::new(
                    Rodeo::from_iter(METHODS).into_reader(),
                    Rodeo::from_iter(STATUSES).into_reader(),
                );
                (
                    MetricName::from_str(fixture.names[f]),
                    fixture.helps[f],
                    CounterVec::with_label_set(set),
                )
            })
            .collect();
        for (f, method, status, value) in fixture.counters() {
            counters[f].2.inc_by(StringLabels { method, status }, value);
        }
        counters.shrink_to_fit();
        let routes = Rodeo::from_iter(fixture.routes.iter().copied()).into_reader();
        let latency =
            HistogramVec::with_label_set_and_metadata(RouteSet::new(routes), measured_thresholds());
        for (route, value) in fixture.observations() {
            latency.observe(Route { route }, value);
        }
        Metrics { counters, latency }
    }
}

fn gather_text(registry: &prometheus::Registry, out: &mut String) {
    out.clear();
    prometheus::TextEncoder::new()
        .encode_utf8(&registry.gather(), out)
        .expect("encode");
}

fn bench_size<const ROUTE_SLOTS: usize>(c: &mut Criterion, families: usize, group_name: &str) {
    let fixture = Fixture::new(families);
    let corral = corral::<ROUTE_SLOTS>(&fixture);
    let prom = prometheus(&fixture);
    let metrics = metrics(&fixture);
    let (_otel_provider, otel_registry) = otel_prometheus(&fixture);
    let otel = otel_collect(&fixture);

    // prometheus-client and measured: 100,000 only (`render.rs` has them at 10,000).
    let others = (families > 100).then(|| (pc::registry(&fixture), ms::metrics(&fixture)));
    let mut ms_encoder = measured::text::BufferedTextEncoder::new();

    let mut buf = vec![0u8; families << 14];
    let mut string = String::new();
    let mut resource_metrics = ResourceMetrics::default();

    // Set-up checks: every text has the fixture's samples; print sizes.
    let expected = fixture.samples();
    let check = |label: &str, text: &str| {
        assert_eq!(samples(text), expected, "{label} at {families} families");
        eprintln!(
            "{group_name} {label}: {} bytes, {} samples",
            text.len(),
            samples(text)
        );
    };
    {
        let mut sink = SliceSink::new(&mut buf);
        encode::prometheus(corral, &mut sink).expect("buffer large enough");
        check("corral-dynamic/prometheus", sink.as_str());
    }
    gather_text(&prom, &mut string);
    check("prometheus", &string);
    check("metrics", &metrics.render());
    gather_text(&otel_registry, &mut string);
    check("opentelemetry/prometheus", &string);
    if let Some((pc_registry, ms_metrics)) = &others {
        use measured::MetricGroup as _;
        string.clear();
        prometheus_client::encoding::prometheus_text::encode(&mut string, pc_registry)
            .expect("encode");
        check("prometheus-client/prometheus", &string);
        ms_metrics
            .collect_group_into(&mut ms_encoder)
            .expect("encode");
        let bytes = ms_encoder.finish();
        check(
            "measured/prometheus",
            std::str::from_utf8(&bytes).expect("utf-8"),
        );
    }
    otel.reader.collect_into(&mut resource_metrics);
    let points: usize = resource_metrics
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .map(|m| {
            use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
            match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(sum)) => sum.data_points().count(),
                AggregatedMetrics::F64(MetricData::Histogram(h)) => h.data_points().count(),
                _ => 0,
            }
        })
        .sum();
    assert_eq!(points as u64, fixture.series(), "opentelemetry collect");

    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(fixture.series()));
    if families > 100 {
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(10));
    } else {
        group.measurement_time(Duration::from_secs(5));
    }
    group.bench_function("corral-dynamic/prometheus", |b| {
        b.iter(|| {
            let mut sink = SliceSink::new(&mut buf);
            encode::prometheus(black_box(corral), &mut sink).expect("buffer large enough");
            black_box(sink.as_bytes().len())
        })
    });
    group.bench_function("prometheus", |b| {
        b.iter(|| {
            gather_text(black_box(&prom), &mut string);
            black_box(string.len())
        })
    });
    group.bench_function("metrics", |b| {
        b.iter(|| black_box(black_box(&metrics).render().len()))
    });
    group.bench_function("opentelemetry/prometheus", |b| {
        b.iter(|| {
            gather_text(black_box(&otel_registry), &mut string);
            black_box(string.len())
        })
    });
    group.bench_function("opentelemetry(collect)", |b| {
        b.iter(|| {
            otel.reader.collect_into(&mut resource_metrics);
            black_box(&resource_metrics);
        })
    });
    if let Some((pc_registry, ms_metrics)) = &others {
        group.bench_function("prometheus-client/prometheus", |b| {
            b.iter(|| {
                string.clear();
                prometheus_client::encoding::prometheus_text::encode(
                    &mut string,
                    black_box(pc_registry),
                )
                .expect("encode");
                black_box(string.len())
            })
        });
        group.bench_function("measured/prometheus", |b| {
            use measured::MetricGroup as _;
            b.iter(|| {
                black_box(ms_metrics)
                    .collect_group_into(&mut ms_encoder)
                    .expect("encode");
                black_box(ms_encoder.finish().len())
            })
        });
    }
    group.finish();
}

fn render_10k(c: &mut Criterion) {
    bench_size::<256>(c, 100, "render_peers_10k_series");
}

fn render_100k(c: &mut Criterion) {
    bench_size::<2048>(c, 1000, "render_peers_100k_series");
}

criterion_group!(benches, render_10k, render_100k);
criterion_main!(benches);
