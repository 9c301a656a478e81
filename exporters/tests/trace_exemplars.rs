//! Span exemplars end to end: a span exported to a real `rotel` collector, an observation
//! made while it was current, and a real Prometheus (exemplar storage on) that scraped the
//! OpenMetrics text and returns the span's trace id from `/api/v1/query_exemplars`.

mod peers;
#[path = "trace_support/mod.rs"]
mod support;
// The HTTP tests' helpers, for their Prometheus server.
#[path = "support/mod.rs"]
mod http;

use std::time::{Duration, Instant};

use corral_core::encode::openmetrics;
use corral_core::{
    CounterWithExemplar, Desc, HistogramWithExemplars, Registry, RegistryConfig, buckets,
};
use corral_exporters::trace::exemplar::{SpanExemplar, SpanExemplarCounter, SpanExemplarHistogram};
use corral_exporters::trace::{SpanFactory, TraceSettings, Tracing};
use corral_std::config::ObservabilityConfig;
use corral_std::encode::VecSink;
use http::prometheus::Prometheus;
use support::{Rotel, parse_spans, serve_openmetrics};

static REGISTRY: Registry<8> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);
static EVENTS: CounterWithExemplar = CounterWithExemplar::new();

/// Exemplars Prometheus holds for `query`: `(trace_id, value)` pairs.
fn exemplars(prometheus: &Prometheus, query: &str) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    for series in prometheus.exemplars(query, Duration::from_secs(600)) {
        for exemplar in series["exemplars"].as_array().into_iter().flatten() {
            let trace = exemplar["labels"]["trace_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let value = exemplar["value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            found.push((trace, value));
        }
    }
    found
}

#[test]
fn prometheus_returns_the_trace_id_of_a_span_rotel_received() {
    REGISTRY
        .register(
            Desc::new("stream_processor_processing_duration_ms", "Processing time").with_unit("ms"),
            &LATENCY,
        )
        .unwrap();
    REGISTRY
        .register(
            Desc::new(
                "stream_processor_events_processed_total",
                "Events processed",
            ),
            &EVENTS,
        )
        .unwrap();

    // Every sampled trace stores its exemplars (the span's trace id is random).
    corral_exporters::trace::exemplar::set_span_exemplar_one_in(1);
    let rotel = Rotel::start();
    let config = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.grpc_endpoint()),
        ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
        ("OTEL_SERVICE_NAME", "exemplars".to_owned()),
    ];
    let settings = TraceSettings::from_config(&config, |name| {
        env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let tracing = Tracing::start(settings).unwrap();
    let spans = SpanFactory::new(tracing.tracer("corral-test"), "exemplars");

    // Without a span: recorded, no exemplar.
    assert_eq!(
        LATENCY.observe_with_span_exemplar(3.0),
        SpanExemplar::NoSampledSpan
    );
    let span = spans.process_event("order");
    {
        let _current = span.attach();
        assert_eq!(
            LATENCY.observe_with_span_exemplar(42.5),
            SpanExemplar::Stored
        );
        assert_eq!(EVENTS.inc_with_span_exemplar(), SpanExemplar::Stored);
    }
    drop(span);
    tracing.force_flush().unwrap();
    let out = rotel.wait_for(Duration::from_secs(10), |o| {
        parse_spans(o).iter().any(|s| s.service_name == "exemplars")
    });
    let received: Vec<_> = parse_spans(&out)
        .into_iter()
        .filter(|s| s.service_name == "exemplars")
        .collect();
    assert_eq!(received.len(), 1, "{out}");
    let trace_id = received[0].trace_id.clone();
    assert_eq!(trace_id.len(), 32);

    let target = serve_openmetrics(|| {
        let mut body = Vec::new();
        openmetrics(&REGISTRY, &mut VecSink::new(&mut body)).unwrap();
        body
    });
    let prometheus = Prometheus::start_with(target, &["--enable-feature=exemplar-storage"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut histogram, mut counter) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        histogram = exemplars(
            &prometheus,
            "stream_processor_processing_duration_ms_bucket",
        );
        counter = exemplars(&prometheus, "stream_processor_events_processed_total");
        if !histogram.is_empty() && !counter.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        histogram.iter().any(|(t, v)| *t == trace_id && *v == 42.5),
        "histogram exemplars {histogram:?}, want {trace_id}\n{}",
        prometheus.log()
    );
    assert!(
        counter.iter().any(|(t, v)| *t == trace_id && *v == 1.0),
        "counter exemplars {counter:?}, want {trace_id}\n{}",
        prometheus.log()
    );
    // The observation made without a span has no exemplar of its own.
    assert!(histogram.iter().all(|(_, v)| *v != 3.0), "{histogram:?}");
    tracing.shutdown().unwrap();
}
