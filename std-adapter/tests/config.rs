//! `observability.yaml` loading: the specification's example, defaults, substitution, and
//! one test per class of error, each checking that the message names the key path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use corral_std::config::{
    Compression, ConfigError, ErrorKind, ObservabilityConfig, OtlpProtocol, SamplingStrategy,
    Temporality,
};

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/observability.example.yaml")
}

/// The variables the specification's example refers to.
fn example_vars(name: &str) -> Option<String> {
    match name {
        "HOSTNAME" => Some("processor-7".into()),
        "ENVIRONMENT" => Some("staging".into()),
        "AWS_REGION" => Some("eu-west-1".into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<ObservabilityConfig, ConfigError> {
    ObservabilityConfig::from_yaml_str_with(text, |_| None)
}

fn error(text: &str) -> ConfigError {
    match load(text) {
        Ok(c) => panic!("expected an error, loaded {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_specifications_example_file_loads_unchanged() {
    // The file is the specification's block, byte for byte (checked where the specification
    // is at hand: beside the repository, as in this project's checkouts).
    let text = std::fs::read_to_string(example_path()).unwrap();
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = ["../../shared/SPEC.md", "../shared/SPEC.md"]
        .iter()
        .find_map(|p| std::fs::read_to_string(manifest.join(p)).ok());
    match spec {
        Some(spec) => assert!(
            spec.contains(&format!("```yaml\n{text}```")),
            "docs/observability.example.yaml differs from the specification's example"
        ),
        None => eprintln!("SPEC.md not found beside the repository: verbatim check not run"),
    }

    let c = ObservabilityConfig::from_file_with(example_path(), example_vars).unwrap();
    assert_eq!(c.service.name, "llm-auto-optimizer-processor");
    assert_eq!(c.service.version, "0.1.0");
    assert_eq!(c.service.environment, "production");
    assert_eq!(c.service.instance_id, "processor-7");
    assert!(c.prometheus.enabled);
    assert_eq!(c.prometheus.endpoint.address(), "0.0.0.0:9090");
    assert_eq!(c.prometheus.endpoint.path, "/metrics");
    assert_eq!(c.prometheus.registry.max_cardinality, 10_000);
    assert_eq!(c.prometheus.registry.max_labels_per_metric, 10);
    assert_eq!(c.prometheus.registry.max_label_value_length, 256);
    assert!(c.prometheus.registry.enable_validation);
    assert_eq!(
        c.prometheus.histograms.latency_ms_buckets,
        corral_std::core::buckets::LATENCY_MS
    );
    assert_eq!(
        c.prometheus.histograms.size_bytes_buckets,
        corral_std::core::buckets::SIZE_BYTES
    );
    assert_eq!(
        c.prometheus.histograms.throughput_buckets,
        corral_std::core::buckets::THROUGHPUT
    );
    let otel = &c.opentelemetry;
    assert!(otel.enabled);
    assert_eq!(otel.otlp.endpoint, "http://localhost:4317");
    assert_eq!(otel.otlp.protocol, OtlpProtocol::Grpc);
    assert_eq!(otel.otlp.timeout_seconds, 10);
    assert_eq!(otel.otlp.compression, Compression::Gzip);
    assert!(otel.tracing.enabled);
    assert_eq!(
        otel.tracing.sampling.strategy,
        SamplingStrategy::ParentBased
    );
    assert_eq!(otel.tracing.sampling.ratio, 0.1);
    assert_eq!(otel.tracing.batch.max_queue_size, 2048);
    assert_eq!(otel.tracing.batch.max_export_batch_size, 512);
    assert_eq!(otel.tracing.batch.scheduled_delay_ms, 5000);
    assert_eq!(otel.tracing.batch.export_timeout_ms, 30000);
    assert!(otel.metrics.enabled);
    assert_eq!(otel.metrics.export_interval_seconds, 60);
    assert_eq!(otel.metrics.temporality, Temporality::Cumulative);
    let attributes: BTreeMap<String, String> = [
        ("deployment.environment", "staging"),
        ("service.namespace", "llm-auto-optimizer"),
        ("service.instance.id", "processor-7"),
        ("cloud.provider", "aws"),
        ("cloud.region", "eu-west-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(otel.resource.attributes, attributes);
    let card = &c.cardinality;
    assert_eq!(card.max_total_series, 10_000);
    assert_eq!(card.max_series_per_metric, 1_000);
    assert_eq!(card.warning_threshold, 0.8);
    assert_eq!(card.critical_threshold, 0.95);
    assert_eq!(card.max_label_keys, 10);
    assert_eq!(card.max_label_value_length, 256);
    assert_eq!(
        card.high_cardinality_labels,
        ["user_id", "session_id", "request_id", "trace_id"]
    );
    assert_eq!(c.performance.max_memory_mb, 512);
    assert_eq!(c.performance.max_export_latency_ms, 100);
    assert_eq!(c.performance.export_timeout_ms, 5000);
    assert_eq!(c.performance.max_render_duration_ms, 50);

    // The registry configuration it gives is the core's default one.
    assert_eq!(
        c.registry_config(),
        corral_std::core::RegistryConfig::DEFAULT
    );
}

#[test]
fn every_key_is_optional_and_defaults_to_the_examples_values() {
    let example = ObservabilityConfig::from_file_with(example_path(), example_vars).unwrap();
    for empty in [
        "",
        "observability:\n",
        "observability: {}\n",
        "# only a comment\n",
    ] {
        let defaults = ObservabilityConfig::from_yaml_str_with(empty, example_vars).unwrap();
        assert_eq!(defaults, example, "{empty:?}");
    }
    // Without the variables, the defaults fall back instead of failing.
    let bare = load("").unwrap();
    assert_eq!(bare.service.instance_id, "");
    assert_eq!(
        bare.opentelemetry.resource.attributes["deployment.environment"],
        "production"
    );
    assert_eq!(bare.opentelemetry.resource.non_empty().count(), 3);
}

#[test]
fn a_partial_file_overrides_only_what_it_names() {
    let c = load(
        "observability:\n  prometheus:\n    endpoint:\n      port: 9464\n  opentelemetry:\n    otlp:\n      protocol: http/protobuf\n",
    )
    .unwrap();
    assert_eq!(c.prometheus.endpoint.port, 9464);
    assert_eq!(c.prometheus.endpoint.host, "0.0.0.0");
    assert_eq!(c.opentelemetry.otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.opentelemetry.otlp.endpoint, "http://localhost:4317");
}

#[test]
fn substitution_fills_strings_numbers_and_booleans() {
    let vars = |name: &str| match name {
        "PORT" => Some("9100".to_owned()),
        "ON" => Some("false".to_owned()),
        "RATIO" => Some("0.25".to_owned()),
        "REGION" => Some("ap-south-1".to_owned()),
        _ => None,
    };
    let text = r#"
observability:
  service:
    name: "svc-${REGION}"
    instance_id: ${POD:-pod-0}
  prometheus:
    enabled: "${ON}"
    endpoint:
      port: ${PORT}
  opentelemetry:
    tracing:
      sampling:
        ratio: ${RATIO}
    resource:
      attributes:
        literal: "$${NOT_A_VAR} costs $5"
"#;
    let c = ObservabilityConfig::from_yaml_str_with(text, vars).unwrap();
    assert_eq!(c.service.name, "svc-ap-south-1");
    assert_eq!(c.service.instance_id, "pod-0");
    assert!(!c.prometheus.enabled);
    assert_eq!(c.prometheus.endpoint.port, 9100);
    assert_eq!(c.opentelemetry.tracing.sampling.ratio, 0.25);
    assert_eq!(
        c.opentelemetry.resource.attributes["literal"],
        "${NOT_A_VAR} costs $5"
    );
}

#[test]
fn anchors_and_merge_keys_work() {
    let text = r#"
observability:
  opentelemetry:
    tracing:
      batch: &batch
        max_queue_size: 100
        max_export_batch_size: 10
  performance:
    <<: { max_memory_mb: 64 }
    export_timeout_ms: 7
"#;
    let c = load(text).unwrap();
    assert_eq!(c.opentelemetry.tracing.batch.max_queue_size, 100);
    assert_eq!(c.performance.max_memory_mb, 64);
    assert_eq!(c.performance.export_timeout_ms, 7);
    assert_eq!(c.performance.max_render_duration_ms, 50);
}

#[test]
fn a_variable_value_cannot_change_the_document_structure() {
    let vars = |_: &str| Some("x\nperformance:\n  max_memory_mb: 0".to_owned());
    let c = ObservabilityConfig::from_yaml_str_with(
        "observability:\n  service:\n    name: ${NAME}\n",
        vars,
    )
    .unwrap();
    assert_eq!(c.service.name, "x\nperformance:\n  max_memory_mb: 0");
    assert_eq!(c.performance.max_memory_mb, 512);
}

// ---- one test per error class; each message must start with the key path ----

#[test]
fn type_error_names_the_path() {
    let e = error("observability:\n  prometheus:\n    enabled: sometimes\n");
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(e.path, "observability.prometheus.enabled");
    assert_eq!(
        e.to_string(),
        "observability.prometheus.enabled: invalid value: string \"sometimes\", expected a boolean (true or false)"
    );

    let e = error("observability:\n  cardinality:\n    max_total_series: lots\n");
    assert_eq!(e.kind, ErrorKind::Type);
    assert!(
        e.to_string().starts_with(
            "observability.cardinality.max_total_series: invalid value: string \"lots\""
        ),
        "{e}"
    );

    let e = error(
        "observability:\n  prometheus:\n    histograms:\n      latency_ms_buckets: [1, 2, x]\n",
    );
    assert_eq!(
        e.path,
        "observability.prometheus.histograms.latency_ms_buckets[2]"
    );
    assert!(e.message.contains("\"x\""), "{e}");

    let e = error("observability:\n  opentelemetry:\n    otlp:\n      protocol: carrier-pigeon\n");
    assert_eq!(e.path, "observability.opentelemetry.otlp.protocol");
    assert!(e.message.contains("carrier-pigeon"), "{e}");

    let e = error("observability:\n  prometheus: [1, 2]\n");
    assert_eq!(
        e.to_string(),
        "observability.prometheus: expected a mapping of keys, found a sequence"
    );
}

#[test]
fn unknown_key_names_the_path() {
    let e = error("observability:\n  prometheus:\n    endpoint:\n      hots: example.org\n");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert_eq!(e.path, "observability.prometheus.endpoint.hots");
    assert!(
        e.to_string().starts_with(
            "observability.prometheus.endpoint.hots: unknown field `hots`, expected one of"
        ),
        "{e}"
    );

    let e = error("observabilty:\n  service:\n    name: x\n");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert_eq!(e.path, "observabilty");

    let e = error("observability:\n  cardinality:\n    max_total_series: 10\n    extra: {a: 1}\n");
    assert_eq!(e.path, "observability.cardinality.extra");
}

#[test]
fn bad_range_names_the_path_and_value() {
    let cases = [
        (
            "observability:\n  prometheus:\n    endpoint:\n      port: 70000\n",
            "observability.prometheus.endpoint.port: 70000 is not a port (0 to 65535)",
        ),
        (
            "observability:\n  prometheus:\n    endpoint:\n      port: -1\n",
            "observability.prometheus.endpoint.port: -1 is not a port (0 to 65535)",
        ),
        (
            "observability:\n  cardinality:\n    warning_threshold: 1.5\n",
            "observability.cardinality.warning_threshold: 1.5 is not a fraction in (0, 1]",
        ),
        (
            "observability:\n  cardinality:\n    warning_threshold: 0.9\n    critical_threshold: 0.85\n",
            "observability.cardinality.warning_threshold: the warning threshold (0.9) must be below the critical one (0.85)",
        ),
        (
            "observability:\n  cardinality:\n    critical_threshold: 2\n",
            "observability.cardinality.critical_threshold: 2 is not a fraction in (0, 1]",
        ),
        (
            "observability:\n  opentelemetry:\n    tracing:\n      sampling:\n        ratio: 1.5\n",
            "observability.opentelemetry.tracing.sampling.ratio: 1.5 is not a ratio in [0, 1]",
        ),
        (
            "observability:\n  prometheus:\n    histograms:\n      latency_ms_buckets: [1, 10, 5]\n",
            "observability.prometheus.histograms.latency_ms_buckets[2]: 5 is not greater than the bound before it (10)",
        ),
        (
            "observability:\n  prometheus:\n    endpoint:\n      path: metrics\n",
            "observability.prometheus.endpoint.path: \"metrics\" must start with \"/\"",
        ),
        (
            "observability:\n  opentelemetry:\n    tracing:\n      batch:\n        max_export_batch_size: 4096\n",
            "observability.opentelemetry.tracing.batch.max_export_batch_size: 4096 is larger than max_queue_size (2048)",
        ),
        (
            "observability:\n  performance:\n    max_memory_mb: 0\n",
            "observability.performance.max_memory_mb: 0 is not allowed: the minimum is 1",
        ),
        (
            "observability:\n  cardinality:\n    max_series_per_metric: -3\n",
            "observability.cardinality.max_series_per_metric: -3 is negative",
        ),
        (
            "observability:\n  cardinality:\n    high_cardinality_labels: [user_id, \"bad label\"]\n",
            "observability.cardinality.high_cardinality_labels[1]: \"bad label\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)",
        ),
        (
            "observability:\n  opentelemetry:\n    otlp:\n      endpoint: localhost:4317\n",
            "observability.opentelemetry.otlp.endpoint: \"localhost:4317\" is not an http:// or https:// URL",
        ),
        (
            "observability:\n  prometheus:\n    registry:\n      enable_validation: false\n",
            "observability.prometheus.registry.enable_validation: false is not supported: corral validates every registration",
        ),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(
            matches!(e.kind, ErrorKind::Invalid | ErrorKind::Type),
            "{e:?}"
        );
        assert_eq!(e.to_string(), expected);
    }
}

#[test]
fn missing_variable_without_default_names_the_path() {
    // The specification's own file, with none of its variables set.
    let e = ObservabilityConfig::from_file_with(example_path(), |_| None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingVariable);
    assert_eq!(e.path, "observability.service.instance_id");
    let text = e.to_string();
    assert!(text.ends_with(
        "observability.service.instance_id: environment variable HOSTNAME is not set and `${HOSTNAME}` has no default (write `${HOSTNAME:-value}` to give one)"
    ), "{text}");
    assert!(
        text.starts_with(&example_path().display().to_string()),
        "{text}"
    );

    // A key whose path needs quoting.
    let only_host = |name: &str| (name == "HOSTNAME").then(|| "h".to_owned());
    let e = ObservabilityConfig::from_file_with(example_path(), only_host).unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingVariable);
    assert_eq!(
        e.path,
        "observability.opentelemetry.resource.attributes[\"deployment.environment\"]"
    );
    assert!(e.message.contains("ENVIRONMENT"), "{e}");

    let e = error("observability:\n  service:\n    name: \"${UNCLOSED\"\n");
    assert_eq!(e.kind, ErrorKind::BadReference);
    assert_eq!(e.path, "observability.service.name");
}

#[test]
fn syntax_and_io_errors_are_reported() {
    let e = error("observability:\n  prometheus: [\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.message.contains("line"), "{e}");

    let e = ObservabilityConfig::from_file_with("/nonexistent/observability.yaml", |_| None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/observability.yaml: "),
        "{e}"
    );
}

/// 100,000 nested `[` (about 200 KB): refused by the pre-parse limit, naming it, rather than
/// handed to the YAML scanner, whose time grows with the square of the depth.
#[test]
fn deep_nesting_is_refused_before_parsing() {
    use corral_std::config::MAX_DEPTH;
    let deep = format!(
        "observability:\n  service:\n    name: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = error(&deep);
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    // Three block levels (indentations 0, 2, 4), so the (MAX_DEPTH - 2)th `[` is one too
    // many; the first `[` is at column 11.
    assert_eq!(
        e.to_string(),
        format!(
            "(document): collections nest deeper than {MAX_DEPTH} levels (MAX_DEPTH) at line 3 \
             column {}",
            11 + MAX_DEPTH - 3
        )
    );

    // The same through a file, which is named.
    let dir = std::env::temp_dir().join(format!("corral-config-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("observability.yaml");
    std::fs::write(&file, &deep).unwrap();
    let e = ObservabilityConfig::from_file_with(&file, |_| None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(
        e.to_string().starts_with(&format!("{}: ", file.display())),
        "{e}"
    );

    // Deep block nesting, by indentation alone.
    let ladder: String = (0..200)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    assert_eq!(error(&ladder).kind, ErrorKind::TooLarge);

    // Nesting within the limit is the parser's to judge: here an unknown key, not a limit.
    let shallow = format!(
        "observability:\n  extra: {}{}\n",
        "[".repeat(20),
        "]".repeat(20)
    );
    assert_eq!(error(&shallow).kind, ErrorKind::UnknownKey);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file over the size limit is refused without reading it whole.
#[test]
fn oversized_files_are_refused() {
    use corral_std::config::MAX_BYTES;
    let dir = std::env::temp_dir().join(format!("corral-config-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("observability.yaml");
    let mut text = String::from("observability:\n  service:\n    name: x\n");
    text.push_str(&"#".repeat(MAX_BYTES));
    std::fs::write(&file, &text).unwrap();
    let e = ObservabilityConfig::from_file_with(&file, |_| None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(
        e.message
            .contains(&format!("more than the {MAX_BYTES} (MAX_BYTES) read")),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
