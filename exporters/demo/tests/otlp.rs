//! The demo exporting to a real `rotel` collector over gRPC and HTTP: the catalog's metrics
//! arrive (the final push at shutdown included), and the consumer span of the simulated
//! Kafka hop continues the producer's trace.

#[path = "../../tests/peers/mod.rs"]
mod peers;
#[path = "../../tests/trace_support/mod.rs"]
mod trace_support;

use std::process::Command;
use std::time::Duration;

use trace_support::{Rotel, parse_spans};

fn run_against(endpoint: &str, protocol: &str) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_corral-demo"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--duration",
            "2",
            "--rate",
            "1000",
            "--trace-every",
            "10",
        ])
        .args([
            "--otlp-endpoint",
            endpoint,
            "--otlp-protocol",
            protocol,
            "--export-interval-ms",
            "500",
        ])
        .env_remove("OTEL_TRACES_SAMPLER")
        .env_remove("OTEL_TRACES_SAMPLER_ARG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .output()
        .expect("run corral-demo");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn check(protocol: &str) {
    let rotel = Rotel::start();
    let endpoint = match protocol {
        "grpc" => rotel.grpc_endpoint(),
        _ => rotel.http_endpoint(),
    };
    let (stdout, stderr, ok) = run_against(&endpoint, protocol);
    assert!(ok, "corral-demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("corral-demo: spans"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    // Metrics: the catalog's families, with the resource's service name. The demo pushed
    // every 500 ms for 2 s and once more at shutdown.
    let out = rotel.wait_for(Duration::from_secs(10), |out| {
        out.contains("-> Name: stream_processor_events_processed")
    });
    for name in [
        "stream_processor_events_processed",
        "stream_processor_processing_duration_ms",
        "kafka_consumer_lag",
        "state_cache_hits",
        "otlp_exporter_exports",
    ] {
        assert!(
            out.contains(&format!("-> Name: {name}\n")),
            "no metric {name} in rotel's output:\n{out}"
        );
    }
    assert!(
        out.contains("-> service.name: Str(llm-auto-optimizer-processor)"),
        "{out}"
    );
    // The shutdown flushed the queued spans, so they are there once the demo has exited.
    let out = rotel.wait_for(Duration::from_secs(10), |out| {
        out.contains("process feedback-events")
    });
    let spans = parse_spans(&out);
    let consumers: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "process feedback-events")
        .collect();
    assert!(
        !consumers.is_empty(),
        "no consumer spans in rotel's output:\n{out}"
    );
    let mut joined = 0;
    for consumer in &consumers {
        assert!(
            consumer.kind.to_ascii_lowercase().contains("consumer"),
            "{consumer:?}"
        );
        if let Some(producer) = spans
            .iter()
            .find(|s| s.name == "send feedback-events" && s.span_id == consumer.parent_id)
        {
            assert_eq!(producer.trace_id, consumer.trace_id);
            assert!(
                producer.kind.to_ascii_lowercase().contains("producer"),
                "{producer:?}"
            );
            joined += 1;
        }
        // The processing span is the consumer span's child.
        assert!(
            spans.iter().any(|s| s.parent_id == consumer.span_id
                && s.trace_id == consumer.trace_id
                && s.name.starts_with("process_event")),
            "no process_event child of {consumer:?}"
        );
    }
    assert_eq!(
        joined,
        consumers.len(),
        "consumer spans without their producer:\n{out}"
    );
    assert!(
        consumers
            .iter()
            .all(|s| s.service_name == "llm-auto-optimizer-processor"),
        "{consumers:?}"
    );
}

#[test]
fn spans_over_grpc_join_producer_and_consumer() {
    check("grpc");
}

#[test]
fn spans_over_http_join_producer_and_consumer() {
    check("http");
}
