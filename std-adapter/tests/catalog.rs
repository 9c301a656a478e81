//! The catalog: every set registers under the specification's configuration, every name
//! of the specification is in it, and the rendered page passes `promtool check metrics`.

use std::io::Write;
use std::process::{Command, Stdio};

use corral_core::Registry;
use corral_core::encode::Renderer;
use corral_std::catalog::labels::{
    CacheTier, KafkaLabels, KafkaOperation, KafkaStatus, ProcessingLabels, ProcessingStatus,
    StateBackend, StateOperation, WindowOperation, WindowType,
};
use corral_std::catalog::{Catalog, application};
use corral_std::config::ObservabilityConfig;
use corral_std::encode::VecSink;

/// Names the specification spells out (its metric structs, naming examples, dashboards and
/// alert rules).
const SPEC_NAMES: &[&str] = &[
    "stream_processor_events_received_total",
    "stream_processor_events_processed_total",
    "stream_processor_events_dropped_total",
    "stream_processor_processing_duration_ms",
    "stream_processor_end_to_end_latency_ms",
    "stream_processor_errors_total",
    "stream_processor_errors_by_type_total",
    "stream_processor_window_triggers_total",
    "stream_processor_aggregations_computed_total",
    "stream_processor_deduplication_hits_total",
    "stream_processor_active_windows",
    "process_active_tasks",
    "process_tasks_spawned_total",
    "kafka_messages_sent_total",
    "kafka_messages_received_total",
    "kafka_consumer_lag",
    "kafka_produce_latency_ms",
    "state_cache_hits_total",
    "state_cache_misses_total",
    "state_cache_size_bytes",
    "state_operation_duration_ms",
];

fn registry() -> &'static Registry<96> {
    let config = ObservabilityConfig::from_yaml_str("observability: {}\n").unwrap();
    Box::leak(Box::new(Registry::with_config(config.registry_config())))
}

fn render(registry: &'static Registry<96>) -> String {
    let mut body = Vec::new();
    Renderer::prometheus()
        .render(registry, &mut VecSink::new(&mut body))
        .unwrap();
    String::from_utf8(body).unwrap()
}

#[test]
fn the_catalog_registers_records_and_passes_promtool() {
    let registry = registry();
    let catalog = Catalog::register(registry).unwrap();
    assert_eq!(registry.len(), Catalog::FAMILIES);
    // The catalog's storage is the process's: registering it anywhere again is refused.
    let again = Catalog::register(self::registry()).unwrap_err();
    assert_eq!(again.metric, "stream_processor_events_received_total");
    assert!(again.to_string().contains("registered"), "{again}");

    let app = catalog.application;
    let processed = ProcessingLabels {
        event_type: "feedback",
        status: ProcessingStatus::Timeout,
    };
    app.events_total().with_labels(processed.values()).inc();
    app.active_windows().with_labels(WindowType::Session).inc();
    app.window_operations_total()
        .with_labels((WindowType::Sliding, WindowOperation::Merge))
        .inc();
    catalog
        .state
        .operations_total()
        .with_labels((StateBackend::Sled, StateOperation::Delete, CacheTier::L2))
        .inc();
    let kafka = KafkaLabels {
        topic: "feedback-events",
        partition: Some(3),
        operation: KafkaOperation::Consume,
        status: KafkaStatus::Error,
    };
    let mut buffer = itoa::Buffer::new();
    catalog
        .kafka
        .operations_total()
        .with_labels(kafka.values(&mut buffer))
        .inc();
    catalog
        .llm
        .cost_usd_total()
        .with_labels(["gpt-4"])
        .inc_by(0.25);

    let page = render(registry);
    for name in Catalog::names() {
        assert!(
            page.contains(&format!("# HELP {name} ")),
            "{name} is not rendered:\n{page}"
        );
    }
    for line in [
        "stream_processor_events_total{event_type=\"feedback\",status=\"timeout\"} 1",
        "stream_processor_active_windows{window_type=\"session\"} 1",
        "stream_processor_active_windows{window_type=\"tumbling\"} 0",
        "stream_processor_window_operations_total{window_type=\"sliding\",operation=\"merge\"} 1",
        "state_operations_total{backend=\"sled\",operation=\"delete\",cache_tier=\"l2\"} 1",
        "kafka_operations_total{topic=\"feedback-events\",partition=\"3\",operation=\"consume\",status=\"error\"} 1",
        "llm_cost_usd_total{model=\"gpt-4\"} 0.25",
        "# TYPE stream_processor_processing_duration_ms histogram",
        "# TYPE state_operation_duration_ms histogram",
    ] {
        assert!(page.contains(line), "missing `{line}` in:\n{page}");
    }

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "promtool not found: install it with `apt-get install -y prometheus` (./test.sh does)",
        );
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    // promtool's linter objects to `_ms` ("abbreviated units"), which the specification's
    // names require; every other finding, and any parse error, fails the test.
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<&str> = report
        .lines()
        .filter(|line| {
            let spec_ms_name = line.split_whitespace().next().is_some_and(|name| {
                name.ends_with("_ms") && page.contains(&format!("# TYPE {name} histogram"))
            });
            !(spec_ms_name && line.ends_with("metric names should not contain abbreviated units"))
        })
        .collect();
    assert!(findings.is_empty(), "promtool check metrics:\n{report}");
}

#[test]
fn every_name_the_specification_spells_out_is_in_the_catalog() {
    let names: Vec<&str> = Catalog::names().collect();
    for name in SPEC_NAMES {
        assert!(names.contains(name), "{name} is missing from the catalog");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a name is declared twice");
    assert_eq!(
        application::NAMES[0],
        "stream_processor_events_received_total"
    );
}
