//! What the tracer provider is built from: the configuration file's values with the
//! standard environment variables laid over them.

use std::time::Duration;

use corral_std::config::{Compression, ObservabilityConfig, OtlpProtocol, SamplingStrategy};

pub use crate::otel_env::SettingsError;
use crate::otel_env::{check_url, first, parse_pairs, resource};

/// The environment variables [`TraceSettings::from_config`] reads, in the order it reads
/// them. Nothing else in this module looks at the environment.
pub const ENV_VARS: &[&str] = &[
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
];

/// How root spans (and, for `ParentBased`, spans without a parent) are sampled.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum SamplerSetting {
    /// Every span is sampled.
    AlwaysOn,
    /// No span is sampled.
    AlwaysOff,
    /// A span is sampled when its trace id falls in the lowest `ratio` of the id space
    /// (0.0: none, 1.0: all).
    TraceIdRatio(f64),
    /// A span with a parent follows the parent's sampled flag (remote or local); a root is
    /// sampled by trace id with this ratio.
    ParentBased(f64),
}

/// The batch span processor's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// Spans queued before new ones are dropped.
    pub max_queue_size: usize,
    /// Spans per export.
    pub max_export_batch_size: usize,
    /// Time between exports.
    pub scheduled_delay: Duration,
    /// Longest an export may take before it is abandoned.
    pub export_timeout: Duration,
}

/// Everything the tracer provider is built from.
///
/// Build it with [`TraceSettings::from_config`] from a loaded configuration and an
/// environment lookup (the process environment through
/// [`TraceSettings::from_config_and_process_env`]); its fields can then be adjusted.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TraceSettings {
    /// Whether spans are exported at all (`opentelemetry.enabled` and
    /// `opentelemetry.tracing.enabled`). When false the provider samples nothing.
    pub enabled: bool,
    /// Transport.
    pub protocol: OtlpProtocol,
    /// Where spans go: for gRPC the collector's base URL, for HTTP the full URL of the
    /// traces resource (`…/v1/traces`).
    pub endpoint: String,
    /// Headers (gRPC metadata) sent with every export, values already URL-decoded.
    pub headers: Vec<(String, String)>,
    /// Per-request timeout of the OTLP client.
    pub timeout: Duration,
    /// Payload compression.
    pub compression: Compression,
    /// The sampler.
    pub sampler: SamplerSetting,
    /// The batch span processor.
    pub batch: BatchSettings,
    /// Resource attributes, `service.name` first.
    pub resource: Vec<(String, String)>,
}

impl TraceSettings {
    /// The settings of `config` with the standard variables of `env` laid over them:
    ///
    /// - `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`,
    ///   `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio`) and
    ///   `OTEL_TRACES_SAMPLER_ARG` (the ratio, in [0, 1]; it also replaces the file's ratio
    ///   when only it is set);
    /// - `OTEL_EXPORTER_OTLP_TRACES_*` before `OTEL_EXPORTER_OTLP_*`, for `ENDPOINT`
    ///   (the signal variable is used as is, the general one is a base URL to which HTTP
    ///   appends `v1/traces`), `PROTOCOL` (`grpc`, `http/protobuf`), `HEADERS`
    ///   (`k=v,k2=v2`, URL-decoded), `TIMEOUT` (milliseconds) and `COMPRESSION` (`gzip`,
    ///   `none`);
    /// - `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`) over the resource.
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
        let tracing = &otel.tracing;

        let sampler = sampler(
            tracing.sampling.strategy,
            tracing.sampling.ratio,
            var("OTEL_TRACES_SAMPLER"),
            var("OTEL_TRACES_SAMPLER_ARG"),
        )?;

        let protocol = match first(
            &var,
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            None => otlp.protocol,
            Some((name, value)) => match value.trim() {
                "grpc" => OtlpProtocol::Grpc,
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                other => {
                    return Err(SettingsError::new(
                        name,
                        format!("{other:?} is not a supported protocol (grpc, http/protobuf)"),
                    ));
                }
            },
        };

        let endpoint = if let Some(url) = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            check_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.trim())?;
            url.trim().to_owned()
        } else {
            let (source, base) = match var("OTEL_EXPORTER_OTLP_ENDPOINT") {
                Some(url) => ("OTEL_EXPORTER_OTLP_ENDPOINT", url.trim().to_owned()),
                None => (
                    "observability.opentelemetry.otlp.endpoint",
                    otlp.endpoint.clone(),
                ),
            };
            check_url(source, &base)?;
            match protocol {
                OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
                _ => base,
            }
        };

        let headers = match first(
            &var,
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ) {
            None => Vec::new(),
            Some((name, value)) => parse_pairs(name, &value)?,
        };

        let timeout = match first(
            &var,
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            None => Duration::from_secs(otlp.timeout_seconds),
            Some((name, value)) => match value.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(SettingsError::new(
                        name,
                        format!("{value:?} is not a timeout in milliseconds (at least 1)"),
                    ));
                }
            },
        };

        let compression = match first(
            &var,
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
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

        let resource = resource(config, &var)?;

        let batch = &tracing.batch;
        Ok(Self {
            enabled: otel.enabled && tracing.enabled,
            protocol,
            endpoint,
            headers,
            timeout,
            compression,
            sampler,
            batch: BatchSettings {
                max_queue_size: batch.max_queue_size,
                max_export_batch_size: batch.max_export_batch_size,
                scheduled_delay: Duration::from_millis(batch.scheduled_delay_ms),
                export_timeout: Duration::from_millis(batch.export_timeout_ms),
            },
            resource,
        })
    }

    /// [`TraceSettings::from_config`] over the process environment, read once, here.
    ///
    /// # Errors
    ///
    /// As [`TraceSettings::from_config`].
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

fn ratio(source: &str, value: &str) -> Result<f64, SettingsError> {
    match value.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(SettingsError::new(
            source,
            format!("{value:?} is not a ratio in [0, 1]"),
        )),
    }
}

fn sampler(
    strategy: SamplingStrategy,
    file_ratio: f64,
    env_sampler: Option<String>,
    env_arg: Option<String>,
) -> Result<SamplerSetting, SettingsError> {
    const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    let arg = env_arg.as_deref().map(|a| ratio(ARG, a)).transpose()?;
    let Some(name) = env_sampler else {
        let r = arg.unwrap_or(file_ratio);
        return Ok(match strategy {
            SamplingStrategy::AlwaysOn => SamplerSetting::AlwaysOn,
            SamplingStrategy::AlwaysOff => SamplerSetting::AlwaysOff,
            SamplingStrategy::TraceIdRatio => SamplerSetting::TraceIdRatio(r),
            _ => SamplerSetting::ParentBased(r),
        });
    };
    // The specification's default argument for the ratio samplers is 1.0.
    let r = arg.unwrap_or(1.0);
    Ok(match name.trim() {
        "always_on" => SamplerSetting::AlwaysOn,
        "always_off" => SamplerSetting::AlwaysOff,
        "traceidratio" => SamplerSetting::TraceIdRatio(r),
        "parentbased_always_on" => SamplerSetting::ParentBased(1.0),
        "parentbased_always_off" => SamplerSetting::ParentBased(0.0),
        "parentbased_traceidratio" => SamplerSetting::ParentBased(r),
        other => {
            return Err(SettingsError::new(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "{other:?} is not a supported sampler (always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio)"
                ),
            ));
        }
    })
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
        let s = TraceSettings::from_config(&config(""), env(&[])).unwrap();
        assert!(s.enabled);
        assert_eq!(s.protocol, OtlpProtocol::Grpc);
        assert_eq!(s.endpoint, "http://localhost:4317");
        assert_eq!(s.sampler, SamplerSetting::ParentBased(0.1));
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.compression, Compression::Gzip);
        assert_eq!(
            s.batch,
            BatchSettings {
                max_queue_size: 2048,
                max_export_batch_size: 512,
                scheduled_delay: Duration::from_millis(5000),
                export_timeout: Duration::from_millis(30000),
            }
        );
        assert_eq!(
            s.resource[0],
            ("service.name".into(), "llm-auto-optimizer-processor".into())
        );
        assert!(
            s.resource
                .contains(&("service.namespace".into(), "llm-auto-optimizer".into()))
        );
        assert!(
            !s.resource.iter().any(|(k, _)| k == "cloud.region"),
            "empty values are left out"
        );

        let http = config(
            "observability:\n  opentelemetry:\n    otlp:\n      endpoint: http://c:4318/\n      protocol: http/protobuf\n    tracing:\n      sampling:\n        strategy: trace_id_ratio\n        ratio: 0.25\n",
        );
        let s = TraceSettings::from_config(&http, env(&[])).unwrap();
        assert_eq!(s.endpoint, "http://c:4318/v1/traces");
        assert_eq!(s.sampler, SamplerSetting::TraceIdRatio(0.25));
        let off = config("observability:\n  opentelemetry:\n    tracing:\n      enabled: false\n");
        assert!(!TraceSettings::from_config(&off, env(&[])).unwrap().enabled);
    }

    #[test]
    fn environment_overrides_the_file() {
        let e = [
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20abc, x-tenant = t1",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_SERVICE_NAME", "checkout"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "cloud.region=eu-west-1,service.name=ignored",
            ),
        ];
        let s = TraceSettings::from_config(&config(""), env(&e)).unwrap();
        assert_eq!(s.sampler, SamplerSetting::TraceIdRatio(0.5));
        assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(
            s.headers,
            [
                ("authorization".to_owned(), "Bearer abc".to_owned()),
                ("x-tenant".to_owned(), "t1".to_owned())
            ]
        );
        assert_eq!(s.timeout, Duration::from_millis(2500));
        assert_eq!(s.compression, Compression::None);
        assert_eq!(s.resource[0], ("service.name".into(), "checkout".into()));
        assert!(
            s.resource
                .contains(&("cloud.region".into(), "eu-west-1".into()))
        );

        // The signal endpoint is used as is.
        let e = [
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://x:1/custom"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ];
        let s = TraceSettings::from_config(&config(""), env(&e)).unwrap();
        assert_eq!(s.endpoint, "http://x:1/custom");

        // Only the argument: it replaces the file's ratio.
        let s =
            TraceSettings::from_config(&config(""), env(&[("OTEL_TRACES_SAMPLER_ARG", "0.75")]))
                .unwrap();
        assert_eq!(s.sampler, SamplerSetting::ParentBased(0.75));
        for (name, expected) in [
            ("always_on", SamplerSetting::AlwaysOn),
            ("always_off", SamplerSetting::AlwaysOff),
            ("traceidratio", SamplerSetting::TraceIdRatio(1.0)),
            ("parentbased_always_on", SamplerSetting::ParentBased(1.0)),
            ("parentbased_always_off", SamplerSetting::ParentBased(0.0)),
            ("parentbased_traceidratio", SamplerSetting::ParentBased(1.0)),
        ] {
            let s = TraceSettings::from_config(&config(""), env(&[("OTEL_TRACES_SAMPLER", name)]))
                .unwrap();
            assert_eq!(s.sampler, expected, "{name}");
        }
        // Empty counts as unset.
        let s =
            TraceSettings::from_config(&config(""), env(&[("OTEL_TRACES_SAMPLER", " ")])).unwrap();
        assert_eq!(s.sampler, SamplerSetting::ParentBased(0.1));
    }

    #[test]
    fn bad_values_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "OTEL_TRACES_SAMPLER",
                "jaeger_remote",
                "OTEL_TRACES_SAMPLER: \"jaeger_remote\" is not a supported sampler",
            ),
            (
                "OTEL_TRACES_SAMPLER_ARG",
                "1.5",
                "OTEL_TRACES_SAMPLER_ARG: \"1.5\" is not a ratio in [0, 1]",
            ),
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "http/json",
                "OTEL_EXPORTER_OTLP_PROTOCOL: \"http/json\" is not a supported protocol",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "collector:4317",
                "OTEL_EXPORTER_OTLP_ENDPOINT: \"collector:4317\" is not an http:// or https:// URL",
            ),
            (
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "10s",
                "OTEL_EXPORTER_OTLP_TIMEOUT: \"10s\" is not a timeout in milliseconds",
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "novalue",
                "OTEL_EXPORTER_OTLP_HEADERS: \"novalue\" is not a key=value pair",
            ),
            (
                "OTEL_EXPORTER_OTLP_COMPRESSION",
                "zstd",
                "OTEL_EXPORTER_OTLP_COMPRESSION: \"zstd\" is not a supported compression",
            ),
        ];
        for (name, value, message) in cases {
            let err = TraceSettings::from_config(&config(""), env(&[(name, value)])).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err}");
            assert_eq!(err.source, *name);
        }
    }
}
