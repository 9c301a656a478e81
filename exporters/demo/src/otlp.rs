//! OTLP export: where the demo starts its span exporter and its metric exporter.

use std::time::Duration;

use corral_exporters::otlp::{MetricsSettings, OtlpMetricExporter};
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

    /// The URL metrics go to: the base URL for gRPC, `…/v1/metrics` for HTTP.
    pub fn metrics_url(&self) -> String {
        match self.protocol {
            OtlpProtocol::HttpProtobuf => format!("{}/v1/metrics", self.endpoint),
            _ => self.endpoint.clone(),
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

/// What keeps OTLP metric export running; dropping it stops the exporter after one final
/// push (waiting at most [`FLUSH_TIMEOUT`]).
#[derive(Debug)]
pub struct MetricExport {
    exporter: Option<OtlpMetricExporter>,
}

/// How long the final push at shutdown may take.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for MetricExport {
    fn drop(&mut self) {
        if let Some(exporter) = self.exporter.take()
            && exporter.shutdown(FLUSH_TIMEOUT).is_err()
        {
            eprintln!(
                "corral-demo: warning: the final OTLP metric push did not finish within {} s",
                FLUSH_TIMEOUT.as_secs()
            );
        }
    }
}

/// Starts OTLP metric export of `registry` to `target`: the configuration's
/// `opentelemetry.otlp` and `opentelemetry.metrics` settings (and the standard `OTEL_*`
/// variables), with the flags' endpoint, protocol and interval over them. The exporter
/// runs on its own thread; recording never waits on it.
pub fn start_metric_export(
    registry: &'static corral_std::DefaultRegistry,
    config: &ObservabilityConfig,
    target: &OtlpTarget,
) -> Result<MetricExport, Box<dyn std::error::Error>> {
    let mut settings = MetricsSettings::from_config_and_process_env(config)?;
    settings.enabled = true;
    settings.protocol = target.protocol;
    settings.endpoint = target.metrics_url();
    settings.interval = target.export_interval;
    let exporter = OtlpMetricExporter::start(registry, settings)?;
    // The exporter's own metrics go out with the rest (and on /metrics).
    exporter.register_self_metrics(registry)?;
    Ok(MetricExport {
        exporter: Some(exporter),
    })
}
