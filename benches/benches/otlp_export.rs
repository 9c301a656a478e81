//! One OTLP metric export of 10,000 series (6,000 counters, 3,000 gauges, 1,000
//! histograms with the 13 latency bounds), Corral beside `opentelemetry_sdk` 0.33's
//! `PeriodicReader` with `opentelemetry-otlp` 0.33's HTTP/protobuf exporter, in one run.
//!
//! `cargo bench -p corral-benches --bench otlp_export`
//!
//! What one export is, for each:
//! - Corral: `Mapper::collect` (one registry visit into an `ExportMetricsServiceRequest`),
//!   prost encoding into a reused buffer, gzip (level 1, as the exporter sends it): what the
//!   exporter does before the request reaches the socket.
//! - OpenTelemetry: `SdkMeterProvider::force_flush`, which has the `PeriodicReader` collect,
//!   `opentelemetry-otlp` convert to the same protobuf message, encode and gzip (level 6, its
//!   choice) and hand the request to its `HttpClient`; the client here is an in-process
//!   receiver that keeps the body and answers 200, so no socket is involved on either side.
//!
//! Measured per export, median of `RUNS` after `WARMUP` exports: CPU time of the whole
//! process (`CLOCK_PROCESS_CPUTIME_ID`: the reader's own thread included), wall time,
//! heap allocations (a counting global allocator, all threads), and bytes on the wire (the
//! gzip body) plus the protobuf size before compression.
#![allow(clippy::std_instead_of_core, reason = "a std bench binary")]

use std::alloc::System;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_core::{
    Counter, Desc, DynamicFamily, Gauge, HistogramCells, Registry, RegistryConfig, buckets,
};
use corral_exporters::otlp::{Mapper, MetricSource, SummaryChoice};
use corral_std::config::Temporality;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use prost::Message as _;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const WARMUP: usize = 5;
const RUNS: usize = 31;
const COUNTER_FAMILIES: usize = 60;
const GAUGE_FAMILIES: usize = 30;
const ROUTES: usize = 1000;
const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PROPFIND",
];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "401", "404", "500", "503",
];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

struct Fixture {
    counter_names: Vec<&'static str>,
    gauge_names: Vec<&'static str>,
    routes: Vec<&'static str>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            counter_names: (0..COUNTER_FAMILIES)
                .map(|f| leak(format!("bench_requests_{f:03}_total")))
                .collect(),
            gauge_names: (0..GAUGE_FAMILIES)
                .map(|f| leak(format!("bench_inflight_{f:03}")))
                .collect(),
            routes: (0..ROUTES)
                .map(|r| leak(format!("/api/v1/resource/{r:04}")))
                .collect(),
        }
    }

    fn pairs() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
        (0..10).flat_map(|m| (0..10).map(move |s| (m * 10 + s, METHODS[m], STATUSES[s])))
    }

    fn observations(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.routes.iter().enumerate().flat_map(|(r, route)| {
            (0..10).map(move |i| (*route, ((r * 31 + i * 17) % 3000) as f64 * 1.5 + 0.25))
        })
    }
}

fn corral(fixture: &Fixture) -> &'static Registry<128> {
    let registry: &'static Registry<128> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT
            .with_max_total_series(20_000)
            .with_max_series_per_metric(2048)
            .with_self_metrics(false),
    )));
    for (f, name) in fixture.counter_names.iter().enumerate() {
        let family: &'static DynamicFamily<Counter, 2, 256> =
            Box::leak(Box::new(DynamicFamily::new(["method", "status"])));
        registry
            .register(Desc::new(name, "Requests by method and status"), family)
            .expect("register");
        for (i, method, status) in Fixture::pairs() {
            family
                .try_with_labels([method, status])
                .expect("room")
                .inc_by((f * 100 + i) as u64 * 7919 + 1);
        }
    }
    for (f, name) in fixture.gauge_names.iter().enumerate() {
        let family: &'static DynamicFamily<Gauge, 2, 256> =
            Box::leak(Box::new(DynamicFamily::new(["method", "status"])));
        registry
            .register(Desc::new(name, "In flight by method and status"), family)
            .expect("register");
        for (i, method, status) in Fixture::pairs() {
            family
                .try_with_labels([method, status])
                .expect("room")
                .set((f * 100 + i) as f64 * 0.5);
        }
    }
    let latency: &'static DynamicFamily<HistogramCells<14>, 1, 2048> = Box::leak(Box::new(
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

/// The in-process receiver of the OpenTelemetry exporter: keeps the last body, answers 200.
#[derive(Debug, Default, Clone)]
struct Receiver {
    last: Arc<Mutex<Option<bytes::Bytes>>>,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Receiver {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        *self.last.lock().unwrap() = Some(request.into_body());
        Ok(http::Response::builder()
            .status(200)
            .body(bytes::Bytes::new())?)
    }
}

fn opentelemetry(fixture: &Fixture) -> (SdkMeterProvider, Receiver) {
    let receiver = Receiver::default();
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(receiver.clone())
        .with_endpoint("http://127.0.0.1:4318/v1/metrics")
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_compression(opentelemetry_otlp::Compression::Gzip)
        .build()
        .expect("exporter");
    // The interval is long: exports happen only on force_flush.
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let meter = provider.meter("bench");
    for (f, name) in fixture.counter_names.iter().enumerate() {
        let counter = meter
            .u64_counter(name.trim_end_matches("_total"))
            .with_description("Requests by method and status")
            .build();
        for (i, method, status) in Fixture::pairs() {
            counter.add(
                (f * 100 + i) as u64 * 7919 + 1,
                &[
                    KeyValue::new("method", method),
                    KeyValue::new("status", status),
                ],
            );
        }
    }
    for (f, name) in fixture.gauge_names.iter().enumerate() {
        let gauge = meter
            .f64_gauge(*name)
            .with_description("In flight by method and status")
            .build();
        for (i, method, status) in Fixture::pairs() {
            gauge.record(
                (f * 100 + i) as f64 * 0.5,
                &[
                    KeyValue::new("method", method),
                    KeyValue::new("status", status),
                ],
            );
        }
    }
    let latency = meter
        .f64_histogram("bench_latency_ms")
        .with_description("Request latency")
        .with_boundaries(buckets::LATENCY_MS.to_vec())
        .build();
    for (route, value) in fixture.observations() {
        latency.record(value, &[KeyValue::new("route", route)]);
    }
    (provider, receiver)
}

#[derive(Default)]
struct Samples {
    cpu: Vec<Duration>,
    wall: Vec<Duration>,
    allocs: Vec<usize>,
    alloc_bytes: Vec<usize>,
}

impl Samples {
    fn measure(&mut self, mut export: impl FnMut()) {
        for run in 0..WARMUP + RUNS {
            let region = Region::new(GLOBAL);
            let cpu = process_cpu();
            let wall = Instant::now();
            export();
            let wall = wall.elapsed();
            let cpu = process_cpu() - cpu;
            let stats = region.change();
            if run >= WARMUP {
                self.cpu.push(cpu);
                self.wall.push(wall);
                self.allocs.push(stats.allocations + stats.reallocations);
                self.alloc_bytes.push(stats.bytes_allocated);
            }
        }
    }
}

fn median<T: Copy + Ord>(v: &[T]) -> T {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[v.len() / 2]
}

fn spread(v: &[Duration]) -> (Duration, Duration) {
    let mut v = v.to_vec();
    v.sort_unstable();
    (v[v.len() / 10], v[v.len() * 9 / 10])
}

fn gunzip_len(body: &[u8]) -> usize {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("gzip body");
    out.len()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs one quick round.
    let quick = !std::env::args().any(|a| a == "--bench");
    let fixture = Fixture::new();
    let registry = corral(&fixture);

    let mut mapper = Mapper::new(
        &[("service.name".to_owned(), "bench".to_owned())],
        Temporality::Cumulative,
        SummaryChoice::default(),
        registry.series_bound(),
        1,
    );
    let mut encoded = Vec::new();
    let mut wire = Vec::new();
    let mut points = 0;
    let mut corral_export = || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let collection = mapper.collect(registry, now);
        mapper.commit();
        points = collection.points;
        let request = collection.request.expect("a request");
        encoded.clear();
        request.encode(&mut encoded).expect("encode");
        wire.clear();
        let mut gz =
            flate2::write::GzEncoder::new(std::mem::take(&mut wire), flate2::Compression::fast());
        gz.write_all(&encoded).expect("gzip");
        wire = gz.finish().expect("gzip");
    };
    let (provider, receiver) = opentelemetry(&fixture);
    let mut otel_export = || provider.force_flush().expect("force_flush");

    if quick {
        corral_export();
        otel_export();
        assert_eq!(points, 10_000);
        assert!(receiver.last.lock().unwrap().is_some());
        println!("otlp_export: one export each ran (pass --bench to measure)");
        return;
    }

    let mut c = Samples::default();
    let mut o = Samples::default();
    // Interleaved rounds, so both see the same machine load.
    for _ in 0..3 {
        c.measure(&mut corral_export);
        o.measure(&mut otel_export);
    }
    assert_eq!(points, 10_000, "10,000 data points per export");
    let otel_body = receiver.last.lock().unwrap().clone().expect("a body");
    let otel_raw = gunzip_len(&otel_body);
    let corral_level6 = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&encoded).expect("gzip");
        gz.finish().expect("gzip").len()
    };

    let row = |name: &str, s: &Samples, wire: usize, raw: usize| {
        let (lo, hi) = spread(&s.cpu);
        println!(
            "{name:<14} cpu/export {:>8.2} ms (p10 {:.2}, p90 {:.2})  wall {:>8.2} ms  \
             allocations {:>7}  allocated {:>6} KiB  wire {:>6} B gzip, {:>7} B protobuf",
            median(&s.cpu).as_secs_f64() * 1e3,
            lo.as_secs_f64() * 1e3,
            hi.as_secs_f64() * 1e3,
            median(&s.wall).as_secs_f64() * 1e3,
            median(&s.allocs),
            median(&s.alloc_bytes) / 1024,
            wire,
            raw,
        );
    };
    println!(
        "one OTLP export of 10,000 series, median of {} runs",
        RUNS * 3
    );
    row("corral", &c, wire.len(), encoded.len());
    row("opentelemetry", &o, otel_body.len(), otel_raw);
    println!(
        "corral gzip at level 6 (opentelemetry-otlp's level): {corral_level6} B; \
         CPU ratio opentelemetry / corral: {:.2}x",
        median(&o.cpu).as_secs_f64() / median(&c.cpu).as_secs_f64()
    );
    let _ = provider.shutdown();
}
