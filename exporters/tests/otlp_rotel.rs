//! OTLP metric push to a real collector (rotel), over gRPC and HTTP/protobuf, asserted
//! from what the collector printed.

mod peers;
mod trace_support;

use std::time::Duration;

use corral_core::{
    Counter, CounterWithExemplar, Desc, Exemplar, Gauge, HistogramWithExemplars, Registry,
    RegistryConfig, Summary, SummaryConfig,
};
use corral_exporters::otlp::{MetricsSettings, OtlpMetricExporter};
use corral_std::config::{ObservabilityConfig, OtlpProtocol};
use trace_support::{Rotel, wait_until};

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

static BOUNDS: [f64; 2] = [0.1, 1.0];
static SIZES: SummaryConfig = SummaryConfig::new(0.1);

fn app() -> (&'static Registry<16>, &'static Counter) {
    let r: &'static Registry<16> = leak(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    ));
    let jobs = leak(Counter::new());
    r.register(Desc::new("app_jobs_total", "Jobs done"), jobs)
        .unwrap();
    jobs.inc_by(7);
    let temp = leak(Gauge::new());
    r.register(Desc::new("app_temperature", "Temperature"), temp)
        .unwrap();
    temp.set(21.5);
    let lat = leak(HistogramWithExemplars::<3>::new(&BOUNDS));
    r.register(
        Desc::new("app_latency_seconds", "Latency").with_unit("seconds"),
        lat,
    )
    .unwrap();
    lat.observe(0.05);
    lat.observe_with_exemplar(
        0.5,
        &Exemplar::new(&[
            ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("span_id", "00f067aa0ba902b7"),
        ]),
    )
    .unwrap();
    let sent = leak(CounterWithExemplar::new());
    r.register(Desc::new("app_sent_total", "Sent"), sent)
        .unwrap();
    sent.inc_by(3);
    let sizes = leak(Summary::<1024>::new(SIZES));
    r.register(Desc::new("app_sizes", "Sizes"), sizes).unwrap();
    for v in [1.0, 2.0, 4.0] {
        sizes.observe(v);
    }
    (r, jobs)
}

fn settings(protocol: OtlpProtocol, rotel: &Rotel) -> MetricsSettings {
    let config = ObservabilityConfig::from_yaml_str_with(
        "observability:\n  service:\n    name: otlp-test\n  opentelemetry:\n    metrics:\n      exponential_histogram_families: [app_sizes]\n",
        |_| None,
    )
    .unwrap();
    let base = match protocol {
        OtlpProtocol::Grpc => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let proto = match protocol {
        OtlpProtocol::Grpc => "grpc",
        _ => "http/protobuf",
    };
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", base),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", proto.to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "150".to_owned()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%201".to_owned()),
    ];
    MetricsSettings::from_config(&config, |name| {
        env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap()
}

/// The text rotel printed for each data point of metric `name`, in the order received.
fn points<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let marker = format!("-> Name: {name}\n");
    let mut found = Vec::new();
    let mut rest = out;
    while let Some(at) = rest.find(&marker) {
        let block = &rest[at..];
        let end = block[1..]
            .find("Metric #")
            .into_iter()
            .chain(block.find("ResourceMetrics #"))
            .min()
            .map_or(block.len(), |e| e + 1);
        found.push(&block[..end]);
        rest = &block[marker.len()..];
    }
    found
}

fn field<'a>(block: &'a str, key: &str) -> &'a str {
    block
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key:?} in\n{block}"))
        .trim()
}

fn check_cumulative_export(rotel: &Rotel) {
    // Two exports of app_jobs: the second after an increment.
    let out = rotel.wait_for(Duration::from_secs(10), |o| {
        points(o, "app_jobs").iter().any(|b| b.contains("Value: 9"))
    });
    assert!(
        out.contains("-> service.name: Str(otlp-test)"),
        "resource attributes:\n{out}"
    );
    assert!(
        out.contains("InstrumentationScope corral-exporters"),
        "{out}"
    );

    let jobs = points(&out, "app_jobs");
    assert!(jobs.len() >= 2, "{out}");
    let first = jobs[0];
    assert_eq!(field(first, "-> DataType:"), "Sum");
    assert_eq!(field(first, "-> IsMonotonic:"), "true");
    assert_eq!(
        field(first, "-> AggregationTemporality:"),
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    assert_eq!(field(first, "Value:"), "7");
    let last = jobs.iter().find(|b| b.contains("Value: 9")).unwrap();
    assert_eq!(
        field(first, "StartTimestamp:"),
        field(last, "StartTimestamp:"),
        "a cumulative series keeps its start time"
    );
    let start: u64 = field(first, "StartTimestamp:").parse().unwrap();
    let t1: u64 = field(first, "Timestamp:").parse().unwrap();
    let t2: u64 = field(last, "Timestamp:").parse().unwrap();
    assert!(0 < start && start < t1 && t1 < t2, "{start} {t1} {t2}");

    let temp = points(&out, "app_temperature")[0];
    assert_eq!(field(temp, "-> DataType:"), "Gauge");
    assert_eq!(field(temp, "Value:"), "21.5");

    let lat = points(&out, "app_latency_seconds")[0];
    assert_eq!(field(lat, "-> DataType:"), "Histogram");
    assert_eq!(field(lat, "-> Unit:"), "s");
    assert_eq!(field(lat, "Count:"), "2");
    assert_eq!(field(lat, "Sum:"), "0.55");
    assert_eq!(field(lat, "ExplicitBounds #0:"), "0.1");
    assert_eq!(field(lat, "ExplicitBounds #1:"), "1");
    assert!(!lat.contains("ExplicitBounds #2"), "no +Inf bound:\n{lat}");
    assert_eq!(field(lat, "Buckets #0, Count:"), "1");
    assert_eq!(field(lat, "Buckets #1, Count:"), "1");
    assert_eq!(field(lat, "Buckets #2, Count:"), "0", "+Inf bucket sent");
    assert_eq!(
        field(lat, "-> Trace ID:"),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(field(lat, "-> Span ID:"), "00f067aa0ba902b7");
    assert_eq!(field(lat, "-> Value:"), "0.5");

    let sizes = points(&out, "app_sizes")[0];
    assert_eq!(field(sizes, "-> DataType:"), "ExponentialHistogram");
    assert_eq!(field(sizes, "Count:"), "3");
    assert_eq!(field(sizes, "Sum:"), "7");
    assert_eq!(field(sizes, "Min:"), "1");
    assert_eq!(field(sizes, "Max:"), "4");
    // 1, 2 and 4 sit at the top of their buckets (upper-inclusive); the row starts at 1's.
    let filled: Vec<&str> = sizes
        .lines()
        .filter(|l| l.starts_with("Bucket (") && !l.ends_with("Count: 0"))
        .collect();
    assert_eq!(filled.len(), 3, "{sizes}");
    for (line, top) in filled.iter().zip(["1", "2", "4"]) {
        let upper = line
            .split(", ")
            .nth(1)
            .and_then(|u| u.strip_suffix("]"))
            .unwrap_or_else(|| panic!("{line}"));
        let upper: f64 = upper.parse().unwrap();
        let top: f64 = top.parse().unwrap();
        assert!((upper - top).abs() < 1e-9, "{line}");
        assert!(line.ends_with("Count: 1"), "{line}");
    }
}

fn cumulative_export(protocol: OtlpProtocol) {
    let rotel = Rotel::start();
    let (r, jobs) = app();
    let exporter = OtlpMetricExporter::start(r, settings(protocol, &rotel)).unwrap();
    exporter.register_self_metrics(r).unwrap();
    rotel.wait_for(Duration::from_secs(10), |o| o.contains("-> Name: app_jobs"));
    jobs.inc_by(2);
    check_cumulative_export(&rotel);
    // The self-metrics, registered in the exported registry, reach the collector too.
    let out = rotel.wait_for(Duration::from_secs(10), |o| {
        o.contains("-> Name: otlp_exporter_exports\n")
    });
    assert!(out.contains("-> Name: otlp_exporter_exports\n"), "{out}");
    assert!(out.contains("-> outcome: Str(success)"), "{out}");
    // And they are what `stats()` says, read at the visit. The collector prints an export
    // before the exporter has read its answer, so first wait for the exporter to count the
    // second accepted export.
    wait_until(Duration::from_secs(10), || exporter.stats().exports_ok >= 2);
    let mut text = Vec::new();
    corral_core::encode::prometheus(r, &mut corral_std::encode::VecSink::new(&mut text)).unwrap();
    let text = String::from_utf8(text).unwrap();
    let stats = exporter.stats();
    let rendered = |line: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line:?} in\n{text}"))
            .trim()
            .parse()
            .unwrap()
    };
    let ok = rendered("otlp_exporter_exports_total{outcome=\"success\"}");
    assert!(2 <= ok && ok <= stats.exports_ok, "{ok} {stats:?}\n{text}");
    assert_eq!(
        rendered("otlp_exporter_exports_total{outcome=\"failure\"}"),
        0
    );
    assert_eq!(rendered("otlp_exporter_circuit_breaker_state"), 0);
    assert!(stats.exports_ok >= 2, "{stats:?}");
    assert_eq!(stats.exports_failed, 0, "{stats:?}");
    assert!(stats.points_sent >= 10, "{stats:?}");
    assert!(stats.bytes_sent > 0, "{stats:?}");
    exporter.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn cumulative_export_over_grpc() {
    cumulative_export(OtlpProtocol::Grpc);
}

#[test]
fn cumulative_export_over_http() {
    cumulative_export(OtlpProtocol::HttpProtobuf);
}

/// Delta temporality, over HTTP on the caller's `current_thread` runtime: the deltas the
/// collector printed sum to the cumulative value, each starting where the previous ended;
/// shutdown sends the last change.
#[test]
fn delta_export_on_a_current_thread_runtime() {
    let rotel = Rotel::start();
    let (r, jobs) = app();
    let mut s = settings(OtlpProtocol::HttpProtobuf, &rotel);
    s.temporality = corral_std::config::Temporality::Delta;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let exporter =
            OtlpMetricExporter::start_on(&tokio::runtime::Handle::current(), r, s).unwrap();
        for _ in 0..5 {
            jobs.inc_by(10);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        jobs.inc_by(1);
        exporter
            .shutdown_async(Duration::from_secs(5))
            .await
            .unwrap();
    });
    let out = rotel.wait_for(Duration::from_secs(5), |o| {
        let sum: i64 = points(o, "app_jobs")
            .iter()
            .map(|b| field(b, "Value:").parse::<i64>().unwrap())
            .sum();
        sum == jobs.get() as i64
    });
    let printed = points(&out, "app_jobs");
    assert!(printed.len() >= 3, "{out}");
    let mut sum = 0;
    let mut previous_end = None;
    for block in &printed {
        assert_eq!(
            field(block, "-> AggregationTemporality:"),
            "AGGREGATION_TEMPORALITY_DELTA"
        );
        sum += field(block, "Value:").parse::<i64>().unwrap();
        let start: u64 = field(block, "StartTimestamp:").parse().unwrap();
        let end: u64 = field(block, "Timestamp:").parse().unwrap();
        if let Some(previous) = previous_end {
            assert_eq!(start, previous, "delta start = the previous collection");
        }
        assert!(start < end);
        previous_end = Some(end);
    }
    assert_eq!(
        sum,
        jobs.get() as i64,
        "deltas sum to the cumulative value:\n{out}"
    );
    assert_eq!(jobs.get(), 7 + 51);
}
