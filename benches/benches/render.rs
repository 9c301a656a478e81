//! Rendering a registry as text: 10,000 counter series in 100 families plus 100 histogram
//! series (13 buckets), 11,600 sample lines, with Corral beside `prometheus-client` 0.26
//! and `measured` 0.0.25 on the same series.
//!
//! `cargo bench -p corral-benches --bench render`
//!
//! Every encoder renders into a buffer it reuses across iterations (Corral: a 1 MiB byte
//! buffer; prometheus-client: a cleared `String`; measured: its `BufferedTextEncoder`).
//! Set-up prints each encoder's output size and checks its sample count.
#![allow(clippy::std_instead_of_core, reason = "a std bench binary")]

use std::hint::black_box;
use std::time::Duration;

use corral_core::encode::{self, SliceSink};
use corral_core::{
    Counter, Desc, DynamicFamily, HistogramCells, Registry, RegistryConfig, TypedFamily, buckets,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const FAMILIES: usize = 100;
const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PROPFIND",
];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "401", "404", "500", "503",
];
const ROUTES: usize = 100;
/// Counter series plus histogram series.
const SERIES: u64 = (FAMILIES * METHODS.len() * STATUSES.len() + ROUTES) as u64;
/// Sample lines: one per counter, 14 buckets + sum + count per histogram.
const SAMPLES: usize = FAMILIES * METHODS.len() * STATUSES.len() + ROUTES * 16;

corral_core::label_enum! {
    /// The methods as a closed set.
    pub enum Method: "method" {
        Get = "GET", Post = "POST", Put = "PUT", Delete = "DELETE", Patch = "PATCH",
        Head = "HEAD", Options = "OPTIONS", Connect = "CONNECT", Trace = "TRACE",
        Propfind = "PROPFIND",
    }
}
corral_core::label_enum! {
    /// The statuses as a closed set.
    pub enum Status: "status" {
        S200 = "200", S201 = "201", S204 = "204", S301 = "301", S304 = "304",
        S400 = "400", S401 = "401", S404 = "404", S500 = "500", S503 = "503",
    }
}

const METHOD_VALUES: [Method; 10] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Patch,
    Method::Head,
    Method::Options,
    Method::Connect,
    Method::Trace,
    Method::Propfind,
];
const STATUS_VALUES: [Status; 10] = [
    Status::S200,
    Status::S201,
    Status::S204,
    Status::S301,
    Status::S304,
    Status::S400,
    Status::S401,
    Status::S404,
    Status::S500,
    Status::S503,
];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn family_name(f: usize) -> &'static str {
    leak(format!("bench_requests_{f:03}_total"))
}

fn family_help(f: usize) -> &'static str {
    leak(format!("Requests by method and status, family {f}"))
}

fn route(r: usize) -> &'static str {
    leak(format!("/api/v1/resource/{r:03}"))
}

/// The value of counter series `(f, m, s)`.
fn count(f: usize, m: usize, s: usize) -> u64 {
    ((f * 100 + m * 10 + s) as u64) * 7919 + 1
}

/// The observations of histogram series `r`.
fn observations(r: usize) -> impl Iterator<Item = f64> {
    (0..10).map(move |i| ((r * 31 + i * 17) % 3000) as f64 * 1.5 + 0.25)
}

fn samples(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// Corral with dynamic (string) labels.
fn corral_dynamic() -> &'static Registry<128> {
    let registry: &'static Registry<128> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT
            .with_max_total_series(20_000)
            .with_self_metrics(false),
    )));
    for f in 0..FAMILIES {
        let family: &'static DynamicFamily<Counter, 2, 256> =
            Box::leak(Box::new(DynamicFamily::new(["method", "status"])));
        registry
            .register(Desc::new(family_name(f), family_help(f)), family)
            .unwrap();
        for (m, method) in METHODS.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                family
                    .try_with_labels([method, status])
                    .unwrap()
                    .inc_by(count(f, m, s));
            }
        }
    }
    let latency: &'static DynamicFamily<HistogramCells<14>, 1, 256> = Box::leak(Box::new(
        DynamicFamily::histogram(["route"], buckets::LATENCY_MS),
    ));
    registry
        .register(Desc::new("bench_latency_ms", "Request latency"), latency)
        .unwrap();
    for r in 0..ROUTES {
        let series = latency.try_with_labels([route(r)]).unwrap();
        for v in observations(r) {
            series.observe(v);
        }
    }
    registry
}

/// Corral with closed (enum) label sets for the counters.
fn corral_typed() -> &'static Registry<128> {
    let registry: &'static Registry<128> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT
            .with_max_total_series(20_000)
            .with_self_metrics(false),
    )));
    for f in 0..FAMILIES {
        let family: &'static TypedFamily<Counter, (Method, Status), 100> =
            Box::leak(Box::new(TypedFamily::new()));
        registry
            .register(Desc::new(family_name(f), family_help(f)), family)
            .unwrap();
        for (m, method) in METHOD_VALUES.iter().enumerate() {
            for (s, status) in STATUS_VALUES.iter().enumerate() {
                family
                    .with_labels((*method, *status))
                    .inc_by(count(f, m, s));
            }
        }
    }
    let latency: &'static DynamicFamily<HistogramCells<14>, 1, 256> = Box::leak(Box::new(
        DynamicFamily::histogram(["route"], buckets::LATENCY_MS),
    ));
    registry
        .register(Desc::new("bench_latency_ms", "Request latency"), latency)
        .unwrap();
    for r in 0..ROUTES {
        let series = latency.try_with_labels([route(r)]).unwrap();
        for v in observations(r) {
            series.observe(v);
        }
    }
    registry
}

mod pc {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    use super::*;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Requests {
        method: &'static str,
        status: &'static str,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Route {
        route: &'static str,
    }

    pub fn registry() -> Registry {
        let mut registry = Registry::default();
        for f in 0..FAMILIES {
            let family = Family::<Requests, Counter>::default();
            // prometheus-client appends `_total` to counter names itself.
            let name = family_name(f).strip_suffix("_total").unwrap();
            registry.register(name, family_help(f), family.clone());
            for (m, method) in METHODS.iter().enumerate() {
                for (s, status) in STATUSES.iter().enumerate() {
                    family
                        .get_or_create(&Requests { method, status })
                        .inc_by(count(f, m, s));
                }
            }
        }
        let latency = Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(|| {
            Histogram::new(buckets::LATENCY_MS.iter().copied())
        });
        registry.register("bench_latency_ms", "Request latency", latency.clone());
        for r in 0..ROUTES {
            let series = latency.get_or_create(&Route { route: route(r) });
            for v in observations(r) {
                series.observe(v);
            }
        }
        registry
    }
}

mod ms {
    use measured::metric::MetricFamilyEncoding;
    use measured::metric::group::Encoding;
    use measured::metric::histogram::Thresholds;
    use measured::metric::name::MetricName;
    use measured::text::BufferedTextEncoder;
    use measured::{CounterVec, HistogramVec, LabelGroup, MetricGroup};

    use super::*;

    #[derive(LabelGroup)]
    #[label(set = RequestSet)]
    pub struct Requests<'a> {
        #[label(fixed_with = lasso::RodeoReader)]
        method: &'a str,
        #[label(fixed_with = lasso::RodeoReader)]
        status: &'a str,
    }

    #[derive(LabelGroup)]
    #[label(set = RouteSet)]
    pub struct Route<'a> {
        #[label(fixed_with = lasso::RodeoReader)]
        route: &'a str,
    }

    /// 100 counter families and one histogram family, built at run time.
    pub struct Metrics {
        counters: Vec<(&'static MetricName, &'static str, CounterVec<RequestSet>)>,
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

    pub fn metrics() -> Metrics {
        let mut counters = Vec::new();
        for f in 0..FAMILIES {
            let set = RequestSet::new(
                lasso::Rodeo::from_iter(METHODS).into_reader(),
                lasso::Rodeo::from_iter(STATUSES).into_reader(),
            );
            let family = CounterVec::with_label_set(set);
            for (m, method) in METHODS.iter().enumerate() {
                for (s, status) in STATUSES.iter().enumerate() {
                    family.inc_by(Requests { method, status }, count(f, m, s));
                }
            }
            counters.push((MetricName::from_str(family_name(f)), family_help(f), family));
        }
        let routes = lasso::Rodeo::from_iter((0..ROUTES).map(route)).into_reader();
        let bounds: [f64; 13] = buckets::LATENCY_MS.try_into().unwrap();
        let latency = HistogramVec::with_label_set_and_metadata(
            RouteSet::new(routes),
            Thresholds::with_buckets(bounds),
        );
        for r in 0..ROUTES {
            for v in observations(r) {
                latency.observe(Route { route: route(r) }, v);
            }
        }
        Metrics { counters, latency }
    }
}

fn render(c: &mut Criterion) {
    let dynamic = corral_dynamic();
    let typed = corral_typed();
    let pc_registry = pc::registry();
    let ms_metrics = ms::metrics();

    let mut buf = vec![0u8; 1 << 20];
    let mut string = String::new();
    let mut ms_encoder = measured::text::BufferedTextEncoder::new();

    // Set-up checks: every encoder writes the same 11,600 samples; print the sizes.
    let check = |label: &str, text: &str| {
        assert_eq!(samples(text), SAMPLES, "{label}");
        eprintln!("{label}: {} bytes, {} samples", text.len(), samples(text));
    };
    for (label, registry) in [("corral-dynamic", dynamic), ("corral-typed", typed)] {
        let mut sink = SliceSink::new(&mut buf);
        encode::prometheus(registry, &mut sink).unwrap();
        check(&format!("{label} (prometheus 0.0.4)"), sink.as_str());
        let mut sink = SliceSink::new(&mut buf);
        encode::openmetrics(registry, &mut sink).unwrap();
        check(&format!("{label} (openmetrics)"), sink.as_str());
    }
    prometheus_client::encoding::text::encode(&mut string, &pc_registry).unwrap();
    check("prometheus-client (openmetrics)", &string);
    string.clear();
    prometheus_client::encoding::prometheus_text::encode(&mut string, &pc_registry).unwrap();
    check("prometheus-client (prometheus 0.0.4)", &string);
    {
        use measured::MetricGroup as _;
        ms_metrics.collect_group_into(&mut ms_encoder).unwrap();
        let bytes = ms_encoder.finish();
        if let Ok(path) = std::env::var("CORRAL_RENDER_DUMP") {
            std::fs::write(path, &bytes).unwrap();
        }
        check(
            "measured (prometheus 0.0.4)",
            std::str::from_utf8(&bytes).unwrap(),
        );
    }

    // For instruction counts under a profiler (`valgrind --tool=callgrind`), which counts
    // the same on a busy machine as on an idle one: CORRAL_RENDER_PROFILE=<encoder>:<n>
    // renders n times with one encoder and exits.
    //
    // CORRAL_RENDER_PROFILE=interleaved:<n> renders n rounds, each round once with every
    // encoder in turn, and prints each encoder's fastest and median render: on a shared
    // machine the encoders then see the same background load.
    if let Ok(spec) = std::env::var("CORRAL_RENDER_PROFILE")
        && let Some(n) = spec.strip_prefix("interleaved:")
    {
        use measured::MetricGroup as _;
        let n: usize = n.parse().expect("a count");
        let mut times: [Vec<Duration>; 5] = Default::default();
        for _ in 0..n {
            for (i, times) in times.iter_mut().enumerate() {
                let start = std::time::Instant::now();
                let len = match i {
                    0 | 1 => {
                        let mut sink = SliceSink::new(&mut buf);
                        encode::prometheus(if i == 0 { dynamic } else { typed }, &mut sink)
                            .unwrap();
                        sink.as_bytes().len()
                    }
                    2 => {
                        let mut sink = SliceSink::new(&mut buf);
                        encode::openmetrics(dynamic, &mut sink).unwrap();
                        sink.as_bytes().len()
                    }
                    3 => {
                        ms_metrics.collect_group_into(&mut ms_encoder).unwrap();
                        ms_encoder.finish().len()
                    }
                    _ => {
                        string.clear();
                        prometheus_client::encoding::prometheus_text::encode(
                            &mut string,
                            &pc_registry,
                        )
                        .unwrap();
                        string.len()
                    }
                };
                times.push(start.elapsed());
                black_box(len);
            }
        }
        let names = [
            "corral-dynamic/prometheus",
            "corral-typed/prometheus",
            "corral-dynamic/openmetrics",
            "measured/prometheus",
            "prometheus-client/prometheus",
        ];
        for (name, times) in names.iter().zip(&mut times) {
            times.sort_unstable();
            let (min, median) = (times[0], times[times.len() / 2]);
            eprintln!(
                "{name}: min {:.1} us, median {:.1} us ({:.1} / {:.1} ns per series)",
                min.as_secs_f64() * 1e6,
                median.as_secs_f64() * 1e6,
                min.as_secs_f64() * 1e9 / SERIES as f64,
                median.as_secs_f64() * 1e9 / SERIES as f64,
            );
        }
        std::process::exit(0);
    }
    if let Ok(spec) = std::env::var("CORRAL_RENDER_PROFILE") {
        let (which, n) = spec.split_once(':').expect("<encoder>:<n>");
        let n: usize = n.parse().expect("a count");
        let mut bytes = 0;
        for _ in 0..n {
            bytes += match which {
                "corral-dynamic" | "corral-typed" => {
                    let registry = if which == "corral-dynamic" {
                        dynamic
                    } else {
                        typed
                    };
                    let mut sink = SliceSink::new(&mut buf);
                    encode::prometheus(registry, &mut sink).unwrap();
                    sink.as_bytes().len()
                }
                "prometheus-client" => {
                    string.clear();
                    prometheus_client::encoding::prometheus_text::encode(&mut string, &pc_registry)
                        .unwrap();
                    string.len()
                }
                "measured" => {
                    use measured::MetricGroup as _;
                    ms_metrics.collect_group_into(&mut ms_encoder).unwrap();
                    ms_encoder.finish().len()
                }
                other => panic!("unknown encoder {other}"),
            };
        }
        eprintln!("{which}: {n} renders, {bytes} bytes");
        std::process::exit(0);
    }

    let mut group = c.benchmark_group("render_10k_series");
    group.throughput(Throughput::Elements(SERIES));
    group.measurement_time(Duration::from_secs(5));
    for (label, registry) in [("corral-dynamic", dynamic), ("corral-typed", typed)] {
        group.bench_function(format!("{label}/prometheus"), |b| {
            b.iter(|| {
                let mut sink = SliceSink::new(&mut buf);
                encode::prometheus(black_box(registry), &mut sink).unwrap();
                black_box(sink.as_bytes().len())
            })
        });
        group.bench_function(format!("{label}/openmetrics"), |b| {
            b.iter(|| {
                let mut sink = SliceSink::new(&mut buf);
                encode::openmetrics(black_box(registry), &mut sink).unwrap();
                black_box(sink.as_bytes().len())
            })
        });
    }
    group.bench_function("prometheus-client/openmetrics", |b| {
        b.iter(|| {
            string.clear();
            prometheus_client::encoding::text::encode(&mut string, black_box(&pc_registry))
                .unwrap();
            black_box(string.len())
        })
    });
    group.bench_function("prometheus-client/prometheus", |b| {
        b.iter(|| {
            string.clear();
            prometheus_client::encoding::prometheus_text::encode(
                &mut string,
                black_box(&pc_registry),
            )
            .unwrap();
            black_box(string.len())
        })
    });
    group.bench_function("measured/prometheus", |b| {
        use measured::MetricGroup as _;
        b.iter(|| {
            black_box(&ms_metrics)
                .collect_group_into(&mut ms_encoder)
                .unwrap();
            black_box(ms_encoder.finish().len())
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
