//! The `observability.yaml` configuration of the specification.
//!
//! ```
//! use corral_std::config::ObservabilityConfig;
//!
//! let yaml = r#"
//! observability:
//!   service:
//!     name: "checkout"
//!     instance_id: "${POD_NAME:-local}"
//!   prometheus:
//!     endpoint:
//!       port: ${METRICS_PORT}
//! "#;
//! let vars = |name: &str| (name == "METRICS_PORT").then(|| "9464".to_string());
//! let config = ObservabilityConfig::from_yaml_str_with(yaml, vars)?;
//! assert_eq!(config.prometheus.endpoint.port, 9464);
//! assert_eq!(config.service.instance_id, "local");
//! assert_eq!(config.prometheus.endpoint.path, "/metrics"); // every key left out: the spec's value
//!
//! let err = ObservabilityConfig::from_yaml_str_with(
//!     "observability:\n  prometheus:\n    endpoint:\n      port: 70000\n",
//!     |_| None,
//! )
//! .unwrap_err();
//! assert_eq!(err.to_string(), "observability.prometheus.endpoint.port: 70000 is not a port (0 to 65535)");
//! # Ok::<(), corral_std::config::ConfigError>(())
//! ```
//!
//! ## Start-up from a configuration
//!
//! ```
//! use corral_std::cardinality::CardinalityMonitor;
//! use corral_std::config::ObservabilityConfig;
//! use corral_std::core::Registry;
//! use corral_std::process::ProcessCollector;
//!
//! let config = ObservabilityConfig::from_yaml_str_with(
//!     "observability:\n  cardinality:\n    max_total_series: 5000\n",
//!     |_| None,
//! )?;
//! // A service would call `corral_std::init_default_registry(config.registry_config())`.
//! let registry: &'static Registry<64> =
//!     Box::leak(Box::new(Registry::with_config(config.registry_config())));
//! let monitor = CardinalityMonitor::register(registry, config.thresholds())?;
//! if let Err(e) = ProcessCollector::register(registry) {
//!     eprintln!("{e}"); // no /proc here: everything else still works
//! }
//! assert_eq!(registry.config().max_total_series, 5000);
//! assert_eq!(monitor.thresholds().warning(), 0.8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Loading
//!
//! 1. The text is checked against [`MAX_BYTES`] (1 MiB) and [`MAX_DEPTH`] (64 levels of
//!    nested collections) in one linear pass, before any parsing: the YAML scanner's time
//!    grows with the square of the nesting depth. A text past either is refused with
//!    [`ErrorKind::TooLarge`]; [`ObservabilityConfig::from_file`] reads at most one byte
//!    past the size limit.
//! 1. The text is parsed as YAML with `yaml_serde`, the YAML organisation's maintained
//!    continuation of `serde_yaml` (anchors and `<<` merge keys work). Syntax errors carry
//!    line and column.
//! 2. It is laid over the embedded defaults — the specification's example values — key by
//!    key: a key left out, or set to null, keeps its default. A free-form map
//!    (`opentelemetry.resource.attributes`) given in the file replaces the default map whole.
//! 3. `${VAR}` and `${VAR:-default}` are substituted in every string value (forms below). A
//!    `${VAR}` whose variable is unset, with no default, is an error naming the key.
//! 4. The result is read into the typed schema. Unknown keys are errors; numbers and booleans
//!    may also be written as strings (so that `port: ${PORT}` works).
//! 5. Values are checked (ranges, bucket order, URLs, thresholds).
//!
//! Every error names the key path and the bad value:
//! `observability.cardinality.warning_threshold: 1.5 is not a fraction in (0, 1]`.
//!
//! Substitution forms: `${VAR}` (the value; an error if unset), `${VAR:-default}` (the value,
//! or `default` if unset or empty), `$$` (a literal `$`). Substitution applies to parsed
//! string values only — never to keys, comments or the raw text — so a variable's value
//! cannot change the structure of the document.
//!
//! ## Two limits sections
//!
//! The specification has both `prometheus.registry` (`max_cardinality`,
//! `max_labels_per_metric`, `max_label_value_length`) and `cardinality` (`max_total_series`,
//! `max_label_keys`, `max_label_value_length`). Both are limits, so both apply:
//! [`ObservabilityConfig::registry_config`] takes the smaller of each pair.
//! `prometheus.registry.enable_validation: false` is refused: the core validates every
//! registration and has no switch to stop it.

mod de;
mod limits;
mod path;
mod subst;

use core::fmt;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use corral_core::{RegistryConfig, is_valid_label_name};
use serde::{Deserialize, Serialize};
use yaml_serde::{Mapping, Value};

pub use limits::{MAX_BYTES, MAX_DEPTH};

use crate::cardinality::{ThresholdError, Thresholds};
use path::KeyPath;
use subst::SubstError;

/// The embedded defaults: the specification's example, with fallbacks for its variables.
pub const DEFAULTS_YAML: &str = include_str!("defaults.yaml");

/// The whole file: one `observability` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    observability: ObservabilityConfig,
}

/// The `observability` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ObservabilityConfig {
    /// Service identification.
    pub service: ServiceConfig,
    /// The Prometheus endpoint, registry limits and default buckets.
    pub prometheus: PrometheusConfig,
    /// OTLP export, tracing, metrics push and resource attributes.
    pub opentelemetry: OpenTelemetryConfig,
    /// Series limits, thresholds and the label deny-list.
    pub cardinality: CardinalityConfig,
    /// Performance budgets.
    pub performance: PerformanceConfig,
}

/// `observability.service`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// `service.name`. Default `llm-auto-optimizer-processor`.
    pub name: String,
    /// `service.version`. Default `0.1.0`.
    pub version: String,
    /// Deployment environment. Default `production`.
    pub environment: String,
    /// Instance id. Default `${HOSTNAME:-}` (empty when `HOSTNAME` is not set).
    pub instance_id: String,
}

/// `observability.prometheus`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PrometheusConfig {
    /// Whether to serve `/metrics`. Default true.
    #[serde(deserialize_with = "de::boolean")]
    pub enabled: bool,
    /// Where to serve it.
    pub endpoint: EndpointConfig,
    /// Registry limits.
    pub registry: PrometheusRegistryConfig,
    /// Default bucket bounds.
    pub histograms: HistogramConfig,
}

/// `observability.prometheus.endpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// Address to bind. Default `0.0.0.0`.
    pub host: String,
    /// Port (0: any free port). Default 9090.
    #[serde(deserialize_with = "de::port")]
    pub port: u16,
    /// Path of the metrics page, starting with `/`. Default `/metrics`.
    pub path: String,
}

impl EndpointConfig {
    /// `host:port`, with an IPv6 host in brackets: ready for `SocketAddr` parsing or binding.
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `observability.prometheus.registry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PrometheusRegistryConfig {
    /// Series across the registry. Default 10,000.
    #[serde(deserialize_with = "de::uint")]
    pub max_cardinality: usize,
    /// Label names per family. Default 10.
    #[serde(deserialize_with = "de::uint")]
    pub max_labels_per_metric: usize,
    /// Bytes per label value. Default 256.
    #[serde(deserialize_with = "de::uint")]
    pub max_label_value_length: usize,
    /// Must be true (the default): registrations are always validated.
    #[serde(deserialize_with = "de::boolean")]
    pub enable_validation: bool,
}

/// `observability.prometheus.histograms`: bucket bounds (finite, strictly increasing;
/// `+Inf` is implicit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HistogramConfig {
    /// Latency in milliseconds. Default 1 to 10,000 (13 bounds).
    pub latency_ms_buckets: Vec<f64>,
    /// Sizes in bytes. Default 1 KiB to 100 MiB (6 bounds).
    pub size_bytes_buckets: Vec<f64>,
    /// Events per second. Default 1 to 100,000 (10 bounds).
    pub throughput_buckets: Vec<f64>,
}

/// `observability.opentelemetry`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OpenTelemetryConfig {
    /// Whether to export over OTLP at all. Default true.
    #[serde(deserialize_with = "de::boolean")]
    pub enabled: bool,
    /// The OTLP exporter.
    pub otlp: OtlpConfig,
    /// Tracing.
    pub tracing: TracingConfig,
    /// Metric push.
    pub metrics: MetricsConfig,
    /// Resource attributes.
    pub resource: ResourceConfig,
}

/// `observability.opentelemetry.otlp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// Collector URL (`http://` or `https://`). Default `http://localhost:4317`.
    pub endpoint: String,
    /// Transport. Default gRPC.
    pub protocol: OtlpProtocol,
    /// Per-export timeout, at least 1. Default 10.
    #[serde(deserialize_with = "de::uint")]
    pub timeout_seconds: u64,
    /// Payload compression. Default gzip.
    pub compression: Compression,
    /// Headers (gRPC metadata) sent with every export, such as API keys. Default none.
    /// A map given in the file replaces the default one whole.
    pub headers: BTreeMap<String, String>,
}

/// OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// `grpc`.
    #[serde(rename = "grpc")]
    Grpc,
    /// `http/protobuf`.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

/// OTLP payload compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compression {
    /// `gzip`.
    Gzip,
    /// `none`.
    None,
}

/// `observability.opentelemetry.tracing`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TracingConfig {
    /// Whether to export spans. Default true.
    #[serde(deserialize_with = "de::boolean")]
    pub enabled: bool,
    /// Sampling.
    pub sampling: SamplingConfig,
    /// The batch span processor.
    pub batch: BatchConfig,
}

/// `observability.opentelemetry.tracing.sampling`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SamplingConfig {
    /// The sampler. Default `parent_based`.
    pub strategy: SamplingStrategy,
    /// Fraction of root traces sampled by `trace_id_ratio` and `parent_based`, in [0, 1].
    /// Default 0.1.
    #[serde(deserialize_with = "de::float")]
    pub ratio: f64,
}

/// A trace sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SamplingStrategy {
    /// Sample everything.
    AlwaysOn,
    /// Sample nothing.
    AlwaysOff,
    /// Sample a fraction of trace ids.
    TraceIdRatio,
    /// Follow the parent's decision; roots by ratio.
    ParentBased,
}

/// `observability.opentelemetry.tracing.batch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BatchConfig {
    /// Spans queued before new ones are dropped. Default 2048.
    #[serde(deserialize_with = "de::uint")]
    pub max_queue_size: usize,
    /// Spans per export, at most the queue size. Default 512.
    #[serde(deserialize_with = "de::uint")]
    pub max_export_batch_size: usize,
    /// Delay between exports. Default 5000.
    #[serde(deserialize_with = "de::uint")]
    pub scheduled_delay_ms: u64,
    /// Export timeout. Default 30000.
    #[serde(deserialize_with = "de::uint")]
    pub export_timeout_ms: u64,
}

/// `observability.opentelemetry.metrics`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Whether to push metrics over OTLP. Default true.
    #[serde(deserialize_with = "de::boolean")]
    pub enabled: bool,
    /// Seconds between pushes, at least 1. Default 60.
    #[serde(deserialize_with = "de::uint")]
    pub export_interval_seconds: u64,
    /// Aggregation temporality. Default cumulative.
    pub temporality: Temporality,
    /// Whether every summary with a sketch is pushed as an OTLP `ExponentialHistogram`
    /// instead of a `Summary`. Default false.
    #[serde(deserialize_with = "de::boolean")]
    pub summaries_as_exponential_histograms: bool,
    /// Summary families (by name) pushed as `ExponentialHistogram`s, whatever
    /// `summaries_as_exponential_histograms` says. Default none.
    pub exponential_histogram_families: Vec<String>,
    /// Retries of a failed push.
    pub retry: RetryConfig,
    /// The circuit breaker that stops pushing to a collector that keeps failing.
    pub circuit_breaker: CircuitBreakerConfig,
}

/// `observability.opentelemetry.metrics.retry`: exponential backoff with jitter, for
/// failures the OTLP specification calls retryable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts per push, the first included (1: no retry). Default 5.
    #[serde(deserialize_with = "de::uint")]
    pub max_attempts: u32,
    /// Backoff before the first retry, at least 1. Default 100.
    #[serde(deserialize_with = "de::uint")]
    pub initial_backoff_ms: u64,
    /// Longest backoff, at least `initial_backoff_ms`. Default 5000.
    #[serde(deserialize_with = "de::uint")]
    pub max_backoff_ms: u64,
}

/// `observability.opentelemetry.metrics.circuit_breaker`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CircuitBreakerConfig {
    /// Consecutive failed pushes that open the breaker, at least 1. Default 3.
    #[serde(deserialize_with = "de::uint")]
    pub failure_threshold: u32,
    /// How long the breaker stays open before one trial push, at least 1. Default 30000.
    #[serde(deserialize_with = "de::uint")]
    pub open_ms: u64,
}

/// Aggregation temporality of pushed metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Temporality {
    /// Totals since the start.
    Cumulative,
    /// Changes since the previous push.
    Delta,
}

/// `observability.opentelemetry.resource`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResourceConfig {
    /// Resource attributes. A map given in the file replaces the default one whole.
    /// Attributes whose value is empty (an unset variable with an empty default) are best
    /// left out by exporters; see [`ResourceConfig::non_empty`].
    pub attributes: BTreeMap<String, String>,
}

impl ResourceConfig {
    /// The attributes with a non-empty value.
    pub fn non_empty(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// `observability.cardinality`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CardinalityConfig {
    /// Series across the registry. Default 10,000.
    #[serde(deserialize_with = "de::uint")]
    pub max_total_series: usize,
    /// Series per family, at most `max_total_series`. Default 1,000.
    #[serde(deserialize_with = "de::uint")]
    pub max_series_per_metric: usize,
    /// Usage fraction that warns. Default 0.8.
    #[serde(deserialize_with = "de::float")]
    pub warning_threshold: f64,
    /// Usage fraction that is critical. Default 0.95.
    #[serde(deserialize_with = "de::float")]
    pub critical_threshold: f64,
    /// Label names per family. Default 10.
    #[serde(deserialize_with = "de::uint")]
    pub max_label_keys: usize,
    /// Bytes per label value. Default 256.
    #[serde(deserialize_with = "de::uint")]
    pub max_label_value_length: usize,
    /// Labels refused unless a family allows them. Default `user_id`, `session_id`,
    /// `request_id`, `trace_id`.
    pub high_cardinality_labels: Vec<String>,
}

/// `observability.performance`: budgets the exporters work within (all at least 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PerformanceConfig {
    /// Memory budget in MiB. Default 512.
    #[serde(deserialize_with = "de::uint")]
    pub max_memory_mb: u64,
    /// Export latency budget. Default 100.
    #[serde(deserialize_with = "de::uint")]
    pub max_export_latency_ms: u64,
    /// Export timeout. Default 5000.
    #[serde(deserialize_with = "de::uint")]
    pub export_timeout_ms: u64,
    /// Render budget for one `/metrics` response. Default 50.
    #[serde(deserialize_with = "de::uint")]
    pub max_render_duration_ms: u64,
}

/// What kind of mistake a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The text is not valid YAML.
    Syntax,
    /// A key the schema does not have.
    UnknownKey,
    /// A value of the wrong type (a string where a number belongs, an unknown enum word).
    Type,
    /// `${VAR}` names an unset variable and gives no default.
    MissingVariable,
    /// A malformed `${...}` reference.
    BadReference,
    /// A value of the right type but outside what is allowed.
    Invalid,
    /// The text is larger than [`MAX_BYTES`] or nests deeper than [`MAX_DEPTH`]; it was not
    /// parsed.
    TooLarge,
}

/// A configuration could not be loaded. Its message starts with the key path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// What kind of mistake.
    pub kind: ErrorKind,
    /// The key path (`observability.prometheus.endpoint.port`), or `(document)`.
    pub path: String,
    /// What is wrong, with the bad value.
    pub message: String,
    /// The file, when loaded from one.
    pub file: Option<String>,
}

impl ConfigError {
    fn at(kind: ErrorKind, path: &KeyPath, message: impl Into<String>) -> Self {
        Self {
            kind,
            path: path.to_string(),
            message: message.into(),
            file: None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl core::error::Error for ConfigError {}

/// The free-form maps: given in a file, they replace the default whole.
const REPLACED_WHOLE: &[&str] = &[
    "observability.opentelemetry.resource.attributes",
    "observability.opentelemetry.otlp.headers",
];

impl ObservabilityConfig {
    /// Loads a configuration from YAML text, substituting variables from the process
    /// environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key path and the bad value.
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_yaml_str_with(text, |name| std::env::var(name).ok())
    }

    /// Loads a configuration from YAML text, substituting variables from `vars`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key path and the bad value.
    pub fn from_yaml_str_with(
        text: &str,
        vars: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let syntax = |e: yaml_serde::Error| {
            ConfigError::at(
                ErrorKind::Syntax,
                &KeyPath::new(),
                format!("invalid YAML: {e}"),
            )
        };
        limits::check(text).map_err(|exceeded| {
            let message = match exceeded {
                limits::Exceeded::Size { len } => {
                    format!("the text has {len} bytes, more than the {MAX_BYTES} (MAX_BYTES) read")
                }
                limits::Exceeded::Depth { line, column } => format!(
                    "collections nest deeper than {MAX_DEPTH} levels (MAX_DEPTH) at line \
                     {line} column {column}"
                ),
            };
            ConfigError::at(ErrorKind::TooLarge, &KeyPath::new(), message)
        })?;
        let mut user: Value = yaml_serde::from_str(text).map_err(syntax)?;
        // `<<: *anchor` merge keys, as YAML 1.1 defines them.
        user.apply_merge().map_err(syntax)?;
        let mut merged = defaults_value();
        let mut at = KeyPath::new();
        merge(&mut merged, user, &mut at)
            .map_err(|(path, message)| ConfigError::at(ErrorKind::Type, &path, message))?;
        subst::substitute(&mut merged, &mut KeyPath::new(), &vars).map_err(|(path, e)| {
            let (kind, message) = match e {
                SubstError::Missing { name } => (
                    ErrorKind::MissingVariable,
                    format!(
                        "environment variable {name} is not set and `${{{name}}}` has no \
                         default (write `${{{name}:-value}}` to give one)"
                    ),
                ),
                SubstError::Malformed { reason } => (ErrorKind::BadReference, reason),
            };
            ConfigError {
                kind,
                path,
                message,
                file: None,
            }
        })?;
        let document: Document = serde_path_to_error::deserialize(merged).map_err(|e| {
            let path = KeyPath::from_serde(e.path());
            let message = e.inner().to_string();
            let kind = if message.starts_with("unknown field") {
                ErrorKind::UnknownKey
            } else {
                ErrorKind::Type
            };
            ConfigError::at(kind, &path, message)
        })?;
        let config = document.observability;
        config.validate()?;
        Ok(config)
    }

    /// Loads a configuration file, substituting variables from the process environment.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file, the key path and the bad value.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_file_with(path, |name| std::env::var(name).ok())
    }

    /// Loads a configuration file, substituting variables from `vars`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the file, the key path and the bad value.
    pub fn from_file_with(
        path: impl AsRef<Path>,
        vars: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let file = Some(path.display().to_string());
        let io = |e: std::io::Error| ConfigError {
            kind: ErrorKind::Io,
            path: KeyPath::new().to_string(),
            message: format!("cannot read: {e}"),
            file: file.clone(),
        };
        // At most one byte past the limit is read: a larger file is refused unread.
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_BYTES as u64 + 1).read_to_string(&mut text))
            .map_err(io)?;
        Self::from_yaml_str_with(&text, vars).map_err(|e| ConfigError { file, ..e })
    }

    /// The core registry configuration: the smaller of each limit the two sections give
    /// (see the module notes), the deny-list, and the registry's own metrics on.
    ///
    /// The deny-list is given process lifetime (the core keeps `&'static` names): call this
    /// once per loaded configuration, not per request.
    pub fn registry_config(&self) -> RegistryConfig {
        let registry = &self.prometheus.registry;
        let cardinality = &self.cardinality;
        let labels: Vec<&'static str> = cardinality
            .high_cardinality_labels
            .iter()
            .map(|l| &*Box::leak(l.clone().into_boxed_str()))
            .collect();
        RegistryConfig::DEFAULT
            .with_max_total_series(registry.max_cardinality.min(cardinality.max_total_series))
            .with_max_series_per_metric(cardinality.max_series_per_metric)
            .with_max_label_keys(
                registry
                    .max_labels_per_metric
                    .min(cardinality.max_label_keys),
            )
            .with_max_label_value_length(
                registry
                    .max_label_value_length
                    .min(cardinality.max_label_value_length),
            )
            .with_high_cardinality_labels(Box::leak(labels.into_boxed_slice()))
    }

    /// The cardinality thresholds (checked when the configuration was loaded).
    pub fn thresholds(&self) -> Thresholds {
        Thresholds::new(
            self.cardinality.warning_threshold,
            self.cardinality.critical_threshold,
        )
        .unwrap_or_default()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let root = KeyPath::parse("observability");
        let invalid =
            |path: KeyPath, message: String| ConfigError::at(ErrorKind::Invalid, &path, message);
        let at_least_one = |path: KeyPath, value: u64| {
            if value == 0 {
                Err(invalid(
                    path,
                    "0 is not allowed: the minimum is 1".to_owned(),
                ))
            } else {
                Ok(())
            }
        };
        let not_empty = |path: KeyPath, value: &str| {
            if value.trim().is_empty() {
                Err(invalid(path, "must not be empty".to_owned()))
            } else {
                Ok(())
            }
        };

        let service = root.key("service");
        not_empty(service.key("name"), &self.service.name)?;

        let prometheus = root.key("prometheus");
        let endpoint = prometheus.key("endpoint");
        not_empty(endpoint.key("host"), &self.prometheus.endpoint.host)?;
        if !self.prometheus.endpoint.path.starts_with('/') {
            return Err(invalid(
                endpoint.key("path"),
                format!("{:?} must start with \"/\"", self.prometheus.endpoint.path),
            ));
        }
        let registry = prometheus.key("registry");
        let r = &self.prometheus.registry;
        at_least_one(registry.key("max_cardinality"), r.max_cardinality as u64)?;
        at_least_one(
            registry.key("max_label_value_length"),
            r.max_label_value_length as u64,
        )?;
        if !r.enable_validation {
            return Err(invalid(
                registry.key("enable_validation"),
                "false is not supported: corral validates every registration".to_owned(),
            ));
        }
        let histograms = prometheus.key("histograms");
        let h = &self.prometheus.histograms;
        for (key, bounds) in [
            ("latency_ms_buckets", &h.latency_ms_buckets),
            ("size_bytes_buckets", &h.size_bytes_buckets),
            ("throughput_buckets", &h.throughput_buckets),
        ] {
            check_bounds(&histograms.key(key), bounds)?;
        }

        let otel = root.key("opentelemetry");
        let otlp = otel.key("otlp");
        let endpoint_url = &self.opentelemetry.otlp.endpoint;
        let scheme_ok = ["http://", "https://"].iter().any(|s| {
            endpoint_url
                .strip_prefix(s)
                .is_some_and(|rest| !rest.is_empty())
        });
        if !scheme_ok {
            return Err(invalid(
                otlp.key("endpoint"),
                format!("{endpoint_url:?} is not an http:// or https:// URL"),
            ));
        }
        at_least_one(
            otlp.key("timeout_seconds"),
            self.opentelemetry.otlp.timeout_seconds,
        )?;
        let tracing = otel.key("tracing");
        let ratio = self.opentelemetry.tracing.sampling.ratio;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(invalid(
                tracing.key("sampling").key("ratio"),
                format!("{ratio} is not a ratio in [0, 1]"),
            ));
        }
        let batch = tracing.key("batch");
        let b = &self.opentelemetry.tracing.batch;
        at_least_one(batch.key("max_queue_size"), b.max_queue_size as u64)?;
        at_least_one(
            batch.key("max_export_batch_size"),
            b.max_export_batch_size as u64,
        )?;
        if b.max_export_batch_size > b.max_queue_size {
            return Err(invalid(
                batch.key("max_export_batch_size"),
                format!(
                    "{} is larger than max_queue_size ({})",
                    b.max_export_batch_size, b.max_queue_size
                ),
            ));
        }
        at_least_one(batch.key("scheduled_delay_ms"), b.scheduled_delay_ms)?;
        at_least_one(batch.key("export_timeout_ms"), b.export_timeout_ms)?;
        at_least_one(
            otel.key("metrics").key("export_interval_seconds"),
            self.opentelemetry.metrics.export_interval_seconds,
        )?;
        for (key, value) in &self.opentelemetry.otlp.headers {
            not_empty(otlp.key("headers").key(key), key)?;
            not_empty(otlp.key("headers").key(key), value)?;
        }
        let m = &self.opentelemetry.metrics;
        let retry = otel.key("metrics").key("retry");
        at_least_one(retry.key("max_attempts"), u64::from(m.retry.max_attempts))?;
        at_least_one(retry.key("initial_backoff_ms"), m.retry.initial_backoff_ms)?;
        if m.retry.max_backoff_ms < m.retry.initial_backoff_ms {
            return Err(invalid(
                retry.key("max_backoff_ms"),
                format!(
                    "{} is smaller than initial_backoff_ms ({})",
                    m.retry.max_backoff_ms, m.retry.initial_backoff_ms
                ),
            ));
        }
        let breaker = otel.key("metrics").key("circuit_breaker");
        at_least_one(
            breaker.key("failure_threshold"),
            u64::from(m.circuit_breaker.failure_threshold),
        )?;
        at_least_one(breaker.key("open_ms"), m.circuit_breaker.open_ms)?;
        let attributes = otel.key("resource").key("attributes");
        for key in self.opentelemetry.resource.attributes.keys() {
            not_empty(attributes.key(key), key)?;
        }

        let cardinality = root.key("cardinality");
        let c = &self.cardinality;
        at_least_one(
            cardinality.key("max_total_series"),
            c.max_total_series as u64,
        )?;
        at_least_one(
            cardinality.key("max_series_per_metric"),
            c.max_series_per_metric as u64,
        )?;
        if c.max_series_per_metric > c.max_total_series {
            return Err(invalid(
                cardinality.key("max_series_per_metric"),
                format!(
                    "{} is larger than max_total_series ({})",
                    c.max_series_per_metric, c.max_total_series
                ),
            ));
        }
        if let Err(e) = Thresholds::new(c.warning_threshold, c.critical_threshold) {
            let key = match e {
                ThresholdError::OutOfRange { value }
                    if value.to_bits() == c.critical_threshold.to_bits()
                        && value.to_bits() != c.warning_threshold.to_bits() =>
                {
                    "critical_threshold"
                }
                _ => "warning_threshold",
            };
            return Err(invalid(cardinality.key(key), e.to_string()));
        }
        at_least_one(
            cardinality.key("max_label_value_length"),
            c.max_label_value_length as u64,
        )?;
        for (i, label) in c.high_cardinality_labels.iter().enumerate() {
            if !is_valid_label_name(label) {
                return Err(invalid(
                    cardinality.key("high_cardinality_labels").index(i),
                    format!("{label:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
                ));
            }
        }

        let performance = root.key("performance");
        let p = &self.performance;
        for (key, value) in [
            ("max_memory_mb", p.max_memory_mb),
            ("max_export_latency_ms", p.max_export_latency_ms),
            ("export_timeout_ms", p.export_timeout_ms),
            ("max_render_duration_ms", p.max_render_duration_ms),
        ] {
            at_least_one(performance.key(key), value)?;
        }
        Ok(())
    }
}

impl Default for ObservabilityConfig {
    /// The specification's values, with `HOSTNAME`, `ENVIRONMENT` and `AWS_REGION` taken
    /// from the process environment where set.
    fn default() -> Self {
        // The embedded defaults load without error whatever the environment holds (every
        // reference has a fallback); a unit test proves it.
        Self::from_yaml_str("").unwrap_or_else(|e| panic!("embedded defaults: {e}"))
    }
}

/// Bucket bounds: at least one, finite, strictly increasing.
fn check_bounds(path: &KeyPath, bounds: &[f64]) -> Result<(), ConfigError> {
    if bounds.is_empty() {
        return Err(ConfigError::at(
            ErrorKind::Invalid,
            path,
            "[] has no bounds: give at least one",
        ));
    }
    for (i, &bound) in bounds.iter().enumerate() {
        if !bound.is_finite() {
            return Err(ConfigError::at(
                ErrorKind::Invalid,
                &path.index(i),
                format!("{bound} is not finite (+Inf is implicit and must not be listed)"),
            ));
        }
        if i > 0 && !(bound > bounds[i - 1]) {
            return Err(ConfigError::at(
                ErrorKind::Invalid,
                &path.index(i),
                format!(
                    "{bound} is not greater than the bound before it ({})",
                    bounds[i - 1]
                ),
            ));
        }
    }
    Ok(())
}

/// The embedded defaults as a YAML tree.
fn defaults_value() -> Value {
    // Parsing a constant that a unit test parses too; an empty mapping is never reached.
    yaml_serde::from_str(DEFAULTS_YAML).unwrap_or_else(|_| Value::Mapping(Mapping::new()))
}

/// Lays `user` over `base`: mappings key by key, anything else replaced; null keeps the
/// default. A mapping where the schema has one, but something else in the file, is an error.
fn merge(base: &mut Value, user: Value, at: &mut KeyPath) -> Result<(), (KeyPath, String)> {
    match (base, user) {
        (_, Value::Null) => Ok(()),
        (Value::Mapping(base), Value::Mapping(user))
            if !REPLACED_WHOLE.contains(&at.to_string().as_str()) =>
        {
            for (key, value) in user {
                at.push_key(&KeyPath::key_text(&key));
                let result = match base.get_mut(&key) {
                    Some(slot) => merge(slot, value, at),
                    None => {
                        // Not in the defaults: an unknown key, which the schema reports
                        // with its path.
                        base.insert(key, value);
                        Ok(())
                    }
                };
                at.pop();
                result?;
            }
            Ok(())
        }
        (Value::Mapping(_), other) if !REPLACED_WHOLE.contains(&at.to_string().as_str()) => Err((
            at.clone(),
            format!("expected a mapping of keys, found {}", describe(&other)),
        )),
        (slot, user) => {
            *slot = user;
            Ok(())
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a sequence".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse_and_are_the_specs_values() {
        let defaults = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
        assert_eq!(defaults.service.name, "llm-auto-optimizer-processor");
        assert_eq!(defaults.service.instance_id, "");
        assert_eq!(defaults.prometheus.endpoint.port, 9090);
        assert_eq!(defaults.prometheus.histograms.latency_ms_buckets.len(), 13);
        assert_eq!(defaults.opentelemetry.otlp.protocol, OtlpProtocol::Grpc);
        assert_eq!(defaults.cardinality.warning_threshold, 0.8);
        assert_eq!(
            defaults.opentelemetry.resource.attributes["deployment.environment"],
            "production"
        );
        assert!(yaml_serde::from_str::<Value>(DEFAULTS_YAML).is_ok());
        // `Default` resolves the same document against the real environment.
        let _ = ObservabilityConfig::default();
    }

    #[test]
    fn null_keeps_defaults_and_a_given_attribute_map_replaces_the_default() {
        let text = "observability:\n  service:\n  opentelemetry:\n    resource:\n      attributes:\n        team: core\n";
        let c = ObservabilityConfig::from_yaml_str_with(text, |_| None).unwrap();
        assert_eq!(c.service.name, "llm-auto-optimizer-processor");
        assert_eq!(
            c.opentelemetry.resource.attributes,
            BTreeMap::from([("team".to_owned(), "core".to_owned())])
        );
    }

    #[test]
    fn registry_config_takes_the_smaller_limits() {
        let text = "observability:\n  prometheus:\n    registry:\n      max_cardinality: 500\n  cardinality:\n    max_total_series: 800\n    max_series_per_metric: 100\n    max_label_keys: 3\n    high_cardinality_labels: [tenant]\n";
        let c = ObservabilityConfig::from_yaml_str_with(text, |_| None).unwrap();
        let r = c.registry_config();
        assert_eq!(r.max_total_series, 500);
        assert_eq!(r.max_series_per_metric, 100);
        assert_eq!(r.max_label_keys, 3);
        assert_eq!(r.high_cardinality_labels, &["tenant"]);
        assert_eq!(c.thresholds(), Thresholds::DEFAULT);
    }

    #[test]
    fn otlp_metric_push_keys() {
        let d = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
        let m = &d.opentelemetry.metrics;
        assert!(d.opentelemetry.otlp.headers.is_empty());
        assert!(!m.summaries_as_exponential_histograms);
        assert!(m.exponential_histogram_families.is_empty());
        assert_eq!(
            (
                m.retry.max_attempts,
                m.retry.initial_backoff_ms,
                m.retry.max_backoff_ms
            ),
            (5, 100, 5000)
        );
        assert_eq!(
            (
                m.circuit_breaker.failure_threshold,
                m.circuit_breaker.open_ms
            ),
            (3, 30000)
        );
        let text = "observability:\n  opentelemetry:\n    otlp:\n      headers:\n        x-api-key: ${KEY}\n    metrics:\n      exponential_histogram_families: [latency]\n      retry:\n        max_attempts: 2\n      circuit_breaker:\n        open_ms: \"250\"\n";
        let c = ObservabilityConfig::from_yaml_str_with(text, |v| {
            (v == "KEY").then(|| "secret".to_owned())
        })
        .unwrap();
        assert_eq!(c.opentelemetry.otlp.headers["x-api-key"], "secret");
        let m = &c.opentelemetry.metrics;
        assert_eq!(m.exponential_histogram_families, ["latency"]);
        assert_eq!(m.retry.max_attempts, 2);
        assert_eq!(
            m.retry.initial_backoff_ms, 100,
            "the other keys keep their defaults"
        );
        assert_eq!(m.circuit_breaker.open_ms, 250);

        for (text, path) in [
            (
                "observability:\n  opentelemetry:\n    metrics:\n      retry:\n        max_attempts: 0\n",
                "observability.opentelemetry.metrics.retry.max_attempts",
            ),
            (
                "observability:\n  opentelemetry:\n    metrics:\n      retry:\n        initial_backoff_ms: 500\n        max_backoff_ms: 100\n",
                "observability.opentelemetry.metrics.retry.max_backoff_ms",
            ),
            (
                "observability:\n  opentelemetry:\n    metrics:\n      circuit_breaker:\n        failure_threshold: 0\n",
                "observability.opentelemetry.metrics.circuit_breaker.failure_threshold",
            ),
            (
                "observability:\n  opentelemetry:\n    otlp:\n      headers:\n        x-api-key: \"\"\n",
                "observability.opentelemetry.otlp.headers.x-api-key",
            ),
        ] {
            let err = ObservabilityConfig::from_yaml_str_with(text, |_| None).unwrap_err();
            assert!(err.to_string().contains(path), "{path}: {err}");
        }
    }

    #[test]
    fn endpoint_address() {
        let mut e = ObservabilityConfig::from_yaml_str_with("", |_| None)
            .unwrap()
            .prometheus
            .endpoint;
        assert_eq!(e.address(), "0.0.0.0:9090");
        e.host = "::1".into();
        assert_eq!(e.address(), "[::1]:9090");
    }
}
