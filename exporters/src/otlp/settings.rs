//! What the metric exporter is built from: the configuration file's
//! `opentelemetry.otlp` and `opentelemetry.metrics` sections with the standard
//! environment variables laid over them.

use std::time::Duration;

use corral_std::config::{Compression, ObservabilityConfig, OtlpProtocol, Temporality};

pub use crate::otel_env::SettingsError;
use crate::otel_env::{check_url, first, parse_pairs, resource};

/// The environment variables [`MetricsSettings::from_config`] reads. Nothing else in this
/// module looks at the environment.
pub const ENV_VARS: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_METRIC_EXPORT_INTERVAL",
];

/// Retries of one failed export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrySettings {
    /// Attempts per export, the first included (1: no retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; it doubles per retry up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
}

/// When the circuit breaker opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed exports (after their retries) that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one trial export (half-open).
    pub open_for: Duration,
}

/// Everything the metric exporter is built from.
///
/// Build it with [`MetricsSettings::from_config`] from a loaded configuration and an
/// environment lookup ([`MetricsSettings::from_config_and_process_env`] for the process
/// environment); its fields can then be adjusted.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricsSettings {
    /// Whether metrics are pushed at all (`opentelemetry.enabled` and
    /// `opentelemetry.metrics.enabled`).
    pub enabled: bool,
    /// Transport.
    pub protocol: OtlpProtocol,
    /// Where metrics go: for gRPC the collector's base URL, for HTTP the full URL of the
    /// metrics resource (`…/v1/metrics`). See [`metrics_endpoint`].
    pub endpoint: String,
    /// Headers (gRPC metadata) sent with every export, values URL-decoded.
    pub headers: Vec<(String, String)>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Payload compression.
    pub compression: Compression,
    /// Time between exports.
    pub interval: Duration,
    /// Aggregation temporality of sums and histograms.
    pub temporality: Temporality,
    /// Every summary that carries a sketch is sent as an `ExponentialHistogram`.
    pub summaries_as_exponential_histograms: bool,
    /// Summary families sent as `ExponentialHistogram`s in any case.
    pub exponential_histogram_families: Vec<String>,
    /// Resource attributes, `service.name` first.
    pub resource: Vec<(String, String)>,
    /// Retries.
    pub retry: RetrySettings,
    /// The circuit breaker.
    pub breaker: BreakerSettings,
}

/// The URL metrics are sent to.
///
/// `signal` is `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is), `general` is
/// `OTEL_EXPORTER_OTLP_ENDPOINT` and `file` the configuration's endpoint: the first of
/// those two is a base URL, to which HTTP/protobuf appends `v1/metrics` (one `/` between
/// them) and gRPC appends nothing.
///
/// # Errors
///
/// A [`SettingsError`] naming the variable (or the configuration key) whose value is not
/// an `http://` or `https://` URL.
pub fn metrics_endpoint(
    protocol: OtlpProtocol,
    signal: Option<&str>,
    general: Option<&str>,
    file: &str,
) -> Result<String, SettingsError> {
    if let Some(url) = signal.map(str::trim).filter(|u| !u.is_empty()) {
        check_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", url)?;
        return Ok(url.to_owned());
    }
    let (source, base) = match general.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => ("OTEL_EXPORTER_OTLP_ENDPOINT", url),
        None => ("observability.opentelemetry.otlp.endpoint", file.trim()),
    };
    check_url(source, base)?;
    Ok(match protocol {
        OtlpProtocol::HttpProtobuf => format!("{}/v1/metrics", base.trim_end_matches('/')),
        _ => base.to_owned(),
    })
}

/// Parses a headers value as `OTEL_EXPORTER_OTLP_HEADERS` writes it: `k=v,k2=v2`, keys and
/// values trimmed, values URL-decoded; empty items are skipped. `source` names the value
/// in errors.
///
/// # Errors
///
/// A [`SettingsError`] for an item without `=`, with an empty key, or whose value is not
/// UTF-8 once decoded.
pub fn parse_headers(source: &str, text: &str) -> Result<Vec<(String, String)>, SettingsError> {
    parse_pairs(source, text)
}

fn protocol_of(name: &str, value: &str) -> Result<OtlpProtocol, SettingsError> {
    match value.trim() {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        other => Err(SettingsError::new(
            name,
            format!("{other:?} is not a supported protocol (grpc, http/protobuf)"),
        )),
    }
}

fn millis(name: &str, value: &str, what: &str) -> Result<Duration, SettingsError> {
    match value.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(SettingsError::new(
            name,
            format!("{value:?} is not {what} in milliseconds (at least 1)"),
        )),
    }
}

impl MetricsSettings {
    /// The settings of `config` with the standard variables of `env` laid over them:
    ///
    /// - `OTEL_EXPORTER_OTLP_METRICS_*` before `OTEL_EXPORTER_OTLP_*`, for `ENDPOINT`
    ///   ([`metrics_endpoint`]), `PROTOCOL` (`grpc`, `http/protobuf`), `HEADERS`
    ///   ([`parse_headers`]; they replace the file's `otlp.headers`), `TIMEOUT`
    ///   (milliseconds) and `COMPRESSION` (`gzip`, `none`);
    /// - `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`cumulative`, `delta`,
    ///   `lowmemory`, any case; `lowmemory` is delta for sums and histograms, which is all
    ///   that has a temporality here);
    /// - `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds);
    /// - `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` over the resource.
    ///
    /// Empty variables count as unset.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the variable and its value when one cannot be used.
    pub fn from_config(
        config: &ObservabilityConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let otel = &config.opentelemetry;
        let otlp = &otel.otlp;
        let metrics = &otel.metrics;

        let protocol = match first(
            &var,
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            None => otlp.protocol,
            Some((name, value)) => protocol_of(name, &value)?,
        };
        let endpoint = metrics_endpoint(
            protocol,
            var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").as_deref(),
            var("OTEL_EXPORTER_OTLP_ENDPOINT").as_deref(),
            &otlp.endpoint,
        )?;
        let headers = match first(
            &var,
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ) {
            None => otlp
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Some((name, value)) => parse_headers(name, &value)?,
        };
        let timeout = match first(
            &var,
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            None => Duration::from_secs(otlp.timeout_seconds),
            Some((name, value)) => millis(name, &value, "a timeout")?,
        };
        let compression = match first(
            &var,
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ) {
            None => otlp.compression,
            Some((name, value)) => match value.trim() {
                "gzip" => Compression::Gzip,
                "none" => Compression::None,
                other => {
                    return Err(SettingsError::new(
                        name,
                        format!("{other:?} is not a supported compression (gzip, none)"),
                    ));
                }
            },
        };
        const PREFERENCE: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
        let temporality = match var(PREFERENCE) {
            None => metrics.temporality,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "cumulative" => Temporality::Cumulative,
                "delta" | "lowmemory" => Temporality::Delta,
                _ => {
                    return Err(SettingsError::new(
                        PREFERENCE,
                        format!(
                            "{value:?} is not a supported temporality preference \
                             (cumulative, delta, lowmemory)"
                        ),
                    ));
                }
            },
        };
        let interval = match var("OTEL_METRIC_EXPORT_INTERVAL") {
            None => Duration::from_secs(metrics.export_interval_seconds),
            Some(value) => millis("OTEL_METRIC_EXPORT_INTERVAL", &value, "an interval")?,
        };
        Ok(Self {
            enabled: otel.enabled && metrics.enabled,
            protocol,
            endpoint,
            headers,
            timeout,
            compression,
            interval,
            temporality,
            summaries_as_exponential_histograms: metrics.summaries_as_exponential_histograms,
            exponential_histogram_families: metrics.exponential_histogram_families.clone(),
            resource: resource(config, &var)?,
            retry: RetrySettings {
                max_attempts: metrics.retry.max_attempts,
                initial_backoff: Duration::from_millis(metrics.retry.initial_backoff_ms),
                max_backoff: Duration::from_millis(metrics.retry.max_backoff_ms),
            },
            breaker: BreakerSettings {
                failure_threshold: metrics.circuit_breaker.failure_threshold,
                open_for: Duration::from_millis(metrics.circuit_breaker.open_ms),
            },
        })
    }

    /// [`MetricsSettings::from_config`] over the process environment, read once, here.
    ///
    /// # Errors
    ///
    /// As [`MetricsSettings::from_config`].
    pub fn from_config_and_process_env(
        config: &ObservabilityConfig,
    ) -> Result<Self, SettingsError> {
        let env: Vec<(&str, Option<String>)> = ENV_VARS
            .iter()
            .map(|&name| (name, std::env::var(name).ok()))
            .collect();
        Self::from_config(config, |name| {
            env.iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> ObservabilityConfig {
        ObservabilityConfig::from_yaml_str_with(yaml, |_| None).unwrap()
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_file_alone() {
        let file = config(
            "observability:\n  opentelemetry:\n    otlp:\n      headers:\n        x-api-key: k1\n    metrics:\n      export_interval_seconds: 15\n      temporality: delta\n",
        );
        let s = MetricsSettings::from_config(&file, env(&[])).unwrap();
        assert!(s.enabled);
        assert_eq!(s.protocol, OtlpProtocol::Grpc);
        assert_eq!(s.endpoint, "http://localhost:4317");
        assert_eq!(s.headers, [("x-api-key".to_owned(), "k1".to_owned())]);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.compression, Compression::Gzip);
        assert_eq!(s.interval, Duration::from_secs(15));
        assert_eq!(s.temporality, Temporality::Delta);
        assert_eq!(s.retry.max_attempts, 5);
        assert_eq!(s.breaker.failure_threshold, 3);
        assert_eq!(s.resource[0].0, "service.name");
        let off = config("observability:\n  opentelemetry:\n    metrics:\n      enabled: false\n");
        assert!(
            !MetricsSettings::from_config(&off, env(&[]))
                .unwrap()
                .enabled
        );
    }

    #[test]
    fn environment_overrides_the_file_signal_first() {
        let file = config(
            "observability:\n  opentelemetry:\n    otlp:\n      headers:\n        x-api-key: from-file\n",
        );
        let e = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=general"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "authorization=Bearer%20abc, x-tenant = t1",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "LowMemory",
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "150"),
            ("OTEL_SERVICE_NAME", "checkout"),
            ("OTEL_RESOURCE_ATTRIBUTES", "cloud.region=eu-west-1"),
        ];
        let s = MetricsSettings::from_config(&file, env(&e)).unwrap();
        assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.endpoint, "http://collector:4318/v1/metrics");
        assert_eq!(
            s.headers,
            [
                ("authorization".to_owned(), "Bearer abc".to_owned()),
                ("x-tenant".to_owned(), "t1".to_owned())
            ]
        );
        assert_eq!(s.timeout, Duration::from_millis(2500));
        assert_eq!(s.compression, Compression::None);
        assert_eq!(s.temporality, Temporality::Delta);
        assert_eq!(s.interval, Duration::from_millis(150));
        assert_eq!(s.resource[0], ("service.name".into(), "checkout".into()));
        assert!(
            s.resource
                .contains(&("cloud.region".into(), "eu-west-1".into()))
        );

        // The general variables when no signal one is set; empty counts as unset.
        let e = [
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=general"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "  "),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9"),
        ];
        let s = MetricsSettings::from_config(&file, env(&e)).unwrap();
        assert_eq!(s.headers, [("x-api-key".to_owned(), "general".to_owned())]);
        assert_eq!(s.timeout, Duration::from_millis(9));
    }

    #[test]
    fn endpoint_path_rules() {
        use OtlpProtocol::{Grpc, HttpProtobuf};
        let file = "http://localhost:4317";
        let cases: &[(OtlpProtocol, Option<&str>, Option<&str>, &str)] = &[
            (Grpc, None, None, "http://localhost:4317"),
            (HttpProtobuf, None, None, "http://localhost:4317/v1/metrics"),
            (
                HttpProtobuf,
                None,
                Some("http://c:4318"),
                "http://c:4318/v1/metrics",
            ),
            (
                HttpProtobuf,
                None,
                Some("http://c:4318/"),
                "http://c:4318/v1/metrics",
            ),
            (
                HttpProtobuf,
                None,
                Some("https://c/otlp/"),
                "https://c/otlp/v1/metrics",
            ),
            (Grpc, None, Some("http://c:4317"), "http://c:4317"),
            // The signal variable is used as is, for both protocols.
            (
                HttpProtobuf,
                Some("http://x:1/custom"),
                Some("http://c"),
                "http://x:1/custom",
            ),
            (Grpc, Some("https://x:1"), None, "https://x:1"),
            (
                HttpProtobuf,
                Some(""),
                Some("http://c"),
                "http://c/v1/metrics",
            ),
        ];
        for (protocol, signal, general, expected) in cases {
            assert_eq!(
                metrics_endpoint(*protocol, *signal, *general, file).unwrap(),
                *expected,
                "{protocol:?} {signal:?} {general:?}"
            );
        }
        let err = metrics_endpoint(Grpc, Some("collector:4317"), None, file).unwrap_err();
        assert_eq!(err.source, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        let err = metrics_endpoint(Grpc, None, Some("ftp://c"), file).unwrap_err();
        assert_eq!(err.source, "OTEL_EXPORTER_OTLP_ENDPOINT");
    }

    #[test]
    fn bad_values_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                "http/json",
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: \"http/json\" is not a supported protocol",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "collector:4317",
                "OTEL_EXPORTER_OTLP_ENDPOINT: \"collector:4317\" is not an http:// or https:// URL",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                "10s",
                "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: \"10s\" is not a timeout in milliseconds",
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "novalue",
                "OTEL_EXPORTER_OTLP_HEADERS: \"novalue\" is not a key=value pair",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "=v",
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS: \"=v\" has an empty key",
            ),
            (
                "OTEL_EXPORTER_OTLP_COMPRESSION",
                "zstd",
                "OTEL_EXPORTER_OTLP_COMPRESSION: \"zstd\" is not a supported compression",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "sometimes",
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: \"sometimes\" is not a supported",
            ),
            (
                "OTEL_METRIC_EXPORT_INTERVAL",
                "0",
                "OTEL_METRIC_EXPORT_INTERVAL: \"0\" is not an interval in milliseconds",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "a=%FF",
                "OTEL_RESOURCE_ATTRIBUTES: \"a=%FF\": the value is not UTF-8",
            ),
        ];
        for (name, value, message) in cases {
            let err = MetricsSettings::from_config(&config(""), env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err}");
            assert_eq!(err.source, *name);
        }
    }
}
