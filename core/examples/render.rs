//! Records a few metrics of every kind and prints the exposition.
//!
//! ```text
//! cargo run -p corral-core --example render                  # Prometheus text 0.0.4
//! cargo run -p corral-core --example render -- --openmetrics # OpenMetrics 1.0.0
//! ```
//!
//! Rendering goes through a fixed 4 KiB buffer in chunks, the way a device without a heap
//! would send it, and allocates nothing.
#![allow(clippy::std_instead_of_core, reason = "an example binary with std")]

use std::io::Write;

use corral_core::encode::{Progress, Renderer, SliceSink};
use corral_core::{
    Counter, CounterWithExemplar, Desc, DynamicFamily, Exemplar, FloatCounter, Gauge, Histogram,
    IntGauge, Registry, TypedFamily, buckets,
};

corral_core::label_enum! {
    /// What kind of event arrived.
    pub enum EventType: "event_type" { Metric = "metric", Feedback = "feedback", Trace = "trace" }
}

static REGISTRY: Registry<16> = Registry::new();
static EVENTS: TypedFamily<Counter, EventType, 3> = TypedFamily::new();
static LATENCY: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
static WINDOWS: DynamicFamily<IntGauge, 1, 8> = DynamicFamily::new(["window_type"]);
static ERRORS: DynamicFamily<Counter, 1, 16> = DynamicFamily::new(["error_type"]);
static COST: FloatCounter = FloatCounter::new();
static LAG: Gauge = Gauge::new();
static REQUESTS: CounterWithExemplar = CounterWithExemplar::new();

fn main() {
    let openmetrics = std::env::args().any(|a| a == "--openmetrics");
    let r = &REGISTRY;
    r.register(
        Desc::new(
            "stream_processor_events_received_total",
            "Total number of events received",
        ),
        &EVENTS,
    )
    .unwrap();
    r.register(
        Desc::new(
            "stream_processor_processing_duration_ms",
            "Event processing duration in milliseconds",
        )
        .with_unit("ms"),
        &LATENCY,
    )
    .unwrap();
    r.register(
        Desc::new(
            "stream_processor_active_windows",
            "Number of active windows",
        ),
        &WINDOWS,
    )
    .unwrap();
    r.register(
        Desc::new("stream_processor_errors_total", "Errors by type"),
        &ERRORS,
    )
    .unwrap();
    r.register(
        Desc::new("llm_cost_usd_total", "Estimated LLM spend in US dollars").with_unit("usd"),
        &COST,
    )
    .unwrap();
    r.register(
        Desc::new("kafka_consumer_lag_seconds", "Consumer lag").with_unit("seconds"),
        &LAG,
    )
    .unwrap();
    r.register(
        Desc::new(
            "http_requests_total",
            "HTTP requests, with a trace exemplar",
        ),
        &REQUESTS,
    )
    .unwrap();

    EVENTS.with_labels(EventType::Feedback).inc_by(12_345);
    EVENTS.with_labels(EventType::Metric).inc_by(67_890);
    for v in [0.4, 3.0, 7.5, 12.0, 48.0, 230.0, 20_000.0] {
        LATENCY.observe(v);
    }
    WINDOWS.with_labels(["tumbling"]).set(42);
    WINDOWS.with_labels(["sliding"]).set(15);
    ERRORS.with_labels(["timeout"]).inc();
    ERRORS.with_labels(["parse \"error\"\n(line 3)"]).inc_by(2);
    COST.inc_by(0.0125);
    LAG.set(1.5);
    REQUESTS.inc_by(9);
    let exemplar = Exemplar::new(&[
        ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("span_id", "00f067aa0ba902b7"),
    ])
    .with_timestamp_unix_nanos(1_700_000_000_123_000_000);
    REQUESTS.inc_by_with_exemplar(1, &exemplar).unwrap();

    let mut renderer = if openmetrics {
        Renderer::openmetrics()
    } else {
        Renderer::prometheus()
    };
    let mut buf = [0u8; 4096];
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    loop {
        let mut sink = SliceSink::new(&mut buf);
        let progress = renderer.render_chunk(&REGISTRY, &mut sink).unwrap();
        out.write_all(sink.as_bytes()).unwrap();
        if progress == Progress::Done {
            break;
        }
    }
}
