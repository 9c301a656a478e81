//! A collector that accepts connections and never answers costs a failed export bounded by
//! the batch export timeout: the flush returns an error, nothing hangs or panics.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use corral_exporters::trace::{SpanFactory, TraceSettings, Tracing};
use corral_std::config::ObservabilityConfig;

fn silent_peer_flush(protocol: &str) -> (Duration, bool) {
    // Accepts (the kernel's backlog does) but never reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let yaml = "observability:\n  opentelemetry:\n    tracing:\n      batch:\n        export_timeout_ms: 300\n";
    let config = ObservabilityConfig::from_yaml_str_with(yaml, |_| None).unwrap();
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
    ];
    let settings = TraceSettings::from_config(&config, |name| {
        env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    assert_eq!(
        settings.timeout,
        Duration::from_secs(10),
        "the client's own timeout is longer"
    );
    let tracing = Tracing::start(settings).unwrap();
    drop(SpanFactory::new(tracing.tracer("t"), "t").process_event("lost"));
    let start = Instant::now();
    let failed = tracing.force_flush().is_err();
    let took = start.elapsed();
    drop(tracing);
    drop(listener);
    (took, failed)
}

#[test]
fn a_silent_collector_costs_one_bounded_export() {
    for protocol in ["grpc", "http/protobuf"] {
        let (took, failed) = silent_peer_flush(protocol);
        assert!(failed, "{protocol}: the flush reported success");
        assert!(
            took < Duration::from_secs(4),
            "{protocol}: the flush took {took:?}"
        );
    }
}
