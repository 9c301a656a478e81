//! OTLP export: where the demo starts its span exporter and its metric exporter.

use std::fmt;
use std::time::Duration;

use corral_exporters::trace::{TraceSettings, Tracing};
use corral_std::config::{ObservabilityConfig, OtlpProtocol};

use crate::cli::Protocol;

/// Where and how to export over OTLP, from the flags laid over the configuration.
#[derive(Clone, Debug)]
pub struct OtlpTarget {
    /// The collector's base URL, as given to `--otlp-endpoint`.
    pub endpoint: String,
    /// The transport.
    pub protocol: OtlpProtocol,
    /// How often metrics are pushed.
    pub export_interval: Duration,
}

impl OtlpTarget {
    /// The flags' values, with the configuration's protocol and interval as defaults.
    pub fn new(
        endpoint: &str,
        protocol: Option<Protocol>,
        export_interval_ms: Option<u64>,
        config: &ObservabilityConfig,
    ) -> Self {
        let protocol = match protocol {
            Some(Protocol::Grpc) => OtlpProtocol::Grpc,
            Some(Protocol::Http) => OtlpProtocol::HttpProtobuf,
            None => config.opentelemetry.otlp.protocol,
        };
        let export_interval = match export_interval_ms {
            Some(ms) => Duration::from_millis(ms),
            None => Duration::from_secs(config.opentelemetry.metrics.export_interval_seconds),
        };
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            protocol,
            export_interval,
        }
    }

    /// The URL spans go to: the base URL for gRPC, `…/v1/traces` for HTTP.
    pub fn traces_url(&self) -> String {
        match self.protocol {
            OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", self.endpoint),
            _ => self.endpoint.clone(),
        }
    }
}

/// Starts span export to `target`: the configuration's sampler, batching and resource
/// (and the standard `OTEL_*` variables), with the flags' endpoint and protocol.
pub fn start_trace_export(
    config: &ObservabilityConfig,
    target: &OtlpTarget,
) -> Result<Tracing, Box<dyn std::error::Error>> {
    let mut settings = TraceSettings::from_config_and_process_env(config)?;
    settings.enabled = true;
    settings.protocol = target.protocol;
    settings.endpoint = target.traces_url();
    Ok(Tracing::start(settings)?)
}

/// OTLP metric export could not start.
#[derive(Debug)]
pub struct MetricExportUnavailable {
    /// Where the metrics would have gone.
    pub endpoint: String,
    /// How often they would have been pushed.
    pub interval: Duration,
}

impl fmt::Display for MetricExportUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OTLP metric export is not in this build (corral-exporters has no OTLP metric \
             exporter yet): metrics are not pushed to {} (every {} ms); they are served on \
             /metrics, and spans are exported",
            self.endpoint,
            self.interval.as_millis()
        )
    }
}

impl std::error::Error for MetricExportUnavailable {}

/// What keeps OTLP metric export running; dropping it stops the exporter (after a final
/// push).
#[derive(Debug)]
pub struct MetricExport {
    _private: (),
}

/// ┌──────────────────────────────────────────────────────────────────────────────────┐
/// │ OTLP METRIC EXPORT STARTS HERE.                                                  │
/// │ Wire corral-exporters' OTLP metric exporter (features `otlp-grpc`, `otlp-http`)  │
/// │ in this function: build it from `config` and `target` (endpoint, protocol,       │
/// │ `export_interval`), start it over `registry`, return a handle that flushes and   │
/// │ stops it on drop. `main` calls it once, after the catalog is registered, and     │
/// │ drops the handle at shutdown after the simulation has stopped.                   │
/// └──────────────────────────────────────────────────────────────────────────────────┘
///
/// Until then it refuses, so the demo never claims to push metrics it does not push.
pub fn start_metric_export(
    registry: &'static corral_std::DefaultRegistry,
    config: &ObservabilityConfig,
    target: &OtlpTarget,
) -> Result<MetricExport, MetricExportUnavailable> {
    let _ = (registry, config);
    Err(MetricExportUnavailable {
        endpoint: target.endpoint.clone(),
        interval: target.export_interval,
    })
}
