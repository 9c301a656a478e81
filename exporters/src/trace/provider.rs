//! The tracer provider: OTLP export over gRPC or HTTP on the exporter's own runtime.

use core::fmt;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use corral_std::config::{Compression, OtlpProtocol};
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SpanData,
    SpanExporter,
};

use super::settings::{SamplerSetting, TraceSettings};

/// Why tracing could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceStartError {
    /// The exporter's runtime thread could not be started.
    Runtime(std::io::Error),
    /// A header name or value cannot be sent (the message names it).
    Header(String),
    /// `opentelemetry-otlp` refused the exporter configuration.
    Exporter(opentelemetry_otlp::ExporterBuildError),
}

impl fmt::Display for TraceStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Runtime(e) => write!(f, "cannot start the trace exporter's runtime: {e}"),
            Self::Header(m) => write!(f, "OTLP header: {m}"),
            Self::Exporter(e) => write!(f, "cannot build the OTLP span exporter: {e}"),
        }
    }
}

impl std::error::Error for TraceStartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Runtime(e) => Some(e),
            Self::Exporter(e) => Some(e),
            Self::Header(_) => None,
        }
    }
}

/// A running tracer provider and the runtime its exporter uses.
///
/// The batch span processor works on its own thread and hands each batch to the OTLP
/// client on a one-worker tokio runtime that this handle owns. So spans are exported the
/// same way whether the application runs a multi-thread tokio runtime, a `current_thread`
/// one, or none: no "no reactor running" panic, and a flush or shutdown called on a
/// `current_thread` runtime does not wait on that runtime.
///
/// Dropping the handle shuts the provider down, which exports what is queued.
pub struct Tracing {
    provider: SdkTracerProvider,
    runtime: Option<tokio::runtime::Runtime>,
    settings: TraceSettings,
    shut_down: bool,
}

impl fmt::Debug for Tracing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracing")
            .field("settings", &self.settings)
            .field("shut_down", &self.shut_down)
            .finish_non_exhaustive()
    }
}

impl Tracing {
    /// Builds the provider: the sampler, the batch span processor and the OTLP exporter
    /// the settings describe. Nothing is sent until spans end; a collector that is not
    /// reachable costs failed exports, never an error here.
    ///
    /// With `settings.enabled` false the provider samples nothing and has no exporter.
    ///
    /// # Errors
    ///
    /// A [`TraceStartError`] when the runtime thread cannot start, a header cannot be sent
    /// or the exporter is refused.
    pub fn start(settings: TraceSettings) -> Result<Self, TraceStartError> {
        let resource = resource(&settings);
        if !settings.enabled {
            let provider = SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOff)
                .with_resource(resource)
                .build();
            return Ok(Self {
                provider,
                runtime: None,
                settings,
                shut_down: false,
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("corral-otlp-traces")
            .enable_all()
            .build()
            .map_err(TraceStartError::Runtime)?;
        // The gRPC channel and the HTTP client need a runtime when they are built.
        let exporter = {
            let _entered = runtime.enter();
            build_exporter(&settings)?
        };
        let exporter = OnRuntime {
            inner: Arc::new(exporter),
            runtime: runtime.handle().clone(),
            timeout: settings.batch.export_timeout,
        };
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(settings.batch.max_queue_size)
            .with_max_export_batch_size(settings.batch.max_export_batch_size)
            .with_scheduled_delay(settings.batch.scheduled_delay)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler(settings.sampler))
            .with_resource(resource)
            .with_span_processor(processor)
            .build();
        Ok(Self {
            provider,
            runtime: Some(runtime),
            settings,
            shut_down: false,
        })
    }

    /// A tracer of this provider for an instrumentation scope (a component or crate name).
    pub fn tracer(&self, scope: &'static str) -> SdkTracer {
        self.provider.tracer(scope)
    }

    /// The provider, for code that takes one (and for `opentelemetry::global`).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// The settings it was started with.
    pub fn settings(&self) -> &TraceSettings {
        &self.settings
    }

    /// Makes this provider `opentelemetry::global`'s tracer provider, and W3C trace
    /// context plus baggage its propagator.
    pub fn install_global(&self) {
        opentelemetry::global::set_tracer_provider(self.provider.clone());
        opentelemetry::global::set_text_map_propagator(super::propagation::w3c_propagator());
    }

    /// Exports every span that has ended, and waits for the export.
    ///
    /// # Errors
    ///
    /// The export's error (the collector refused or could not be reached in time).
    pub fn force_flush(&self) -> OTelSdkResult {
        self.provider.force_flush()
    }

    /// Exports what is queued, then stops the processor and the exporter's runtime.
    ///
    /// # Errors
    ///
    /// The last export's error, or `AlreadyShutdown`.
    pub fn shutdown(mut self) -> OTelSdkResult {
        self.stop()
    }

    fn stop(&mut self) -> OTelSdkResult {
        if self.shut_down {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.shut_down = true;
        let result = self.provider.shutdown();
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so it is safe inside an async context too.
            runtime.shutdown_background();
        }
        result
    }

    /// A `tracing-subscriber` layer that turns `tracing` spans into spans of this
    /// provider (and makes each entered span the current OpenTelemetry context, so span
    /// exemplars see it).
    #[cfg(feature = "tracing-bridge")]
    pub fn tracing_layer<S>(
        &self,
        scope: &'static str,
    ) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing_events::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer(scope))
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn sampler(setting: SamplerSetting) -> Sampler {
    match setting {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerSetting::ParentBased(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

fn resource(settings: &TraceSettings) -> Resource {
    // `builder_empty`: the default detectors would read `OTEL_SERVICE_NAME` and
    // `OTEL_RESOURCE_ATTRIBUTES` from the process themselves; the settings hold them.
    Resource::builder_empty()
        .with_attributes([
            KeyValue::new("telemetry.sdk.name", "opentelemetry"),
            KeyValue::new("telemetry.sdk.language", "rust"),
            KeyValue::new("telemetry.sdk.version", "0.33.1"),
        ])
        .with_attributes(
            settings
                .resource
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build()
}

/// The headers as an `http::HeaderMap`: every name and value checked, so that a header
/// that cannot be sent is an error here rather than silently left out by the exporter.
fn header_map(headers: &[(String, String)]) -> Result<http::HeaderMap, TraceStartError> {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|_| TraceStartError::Header(format!("{k:?} is not a header name")))?;
        let value = http::HeaderValue::from_str(v).map_err(|_| {
            TraceStartError::Header(format!("the value of {k:?} cannot be sent in a header"))
        })?;
        map.append(name, value);
    }
    Ok(map)
}

fn build_exporter(
    settings: &TraceSettings,
) -> Result<opentelemetry_otlp::SpanExporter, TraceStartError> {
    let compression = match settings.compression {
        Compression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
        _ => None,
    };
    let map = header_map(&settings.headers)?;
    let exporter = match settings.protocol {
        OtlpProtocol::HttpProtobuf => {
            // `with_headers` URL-decodes values; they are decoded already, so a literal
            // `%` is encoded once more to come through unchanged.
            let headers: HashMap<String, String> = settings
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.replace('%', "%25")))
                .collect();
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(settings.timeout)
                .with_headers(headers);
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build()
        }
        _ => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(settings.endpoint.clone())
                .with_timeout(settings.timeout)
                .with_metadata(
                    opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map),
                );
            if let Some(c) = compression {
                builder = builder.with_compression(c);
            }
            builder.build()
        }
    };
    exporter.map_err(TraceStartError::Exporter)
}

/// Runs each export of `inner` as a task on the exporter's runtime, bounded by the batch
/// export timeout. The batch processor's thread waits for the task; it never needs a
/// runtime of its own.
#[derive(Debug)]
struct OnRuntime<E> {
    inner: Arc<E>,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
}

impl<E: SpanExporter + 'static> SpanExporter for OnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let inner = Arc::clone(&self.inner);
        let timeout = self.timeout;
        let task = self
            .runtime
            .spawn(async move { tokio::time::timeout(timeout, inner.export(batch)).await });
        async move {
            match task.await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(OTelSdkError::Timeout(timeout)),
                Err(e) => Err(OTelSdkError::InternalFailure(format!(
                    "the export task did not finish: {e}"
                ))),
            }
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called while the provider is built, before any export holds a clone.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_std::config::ObservabilityConfig;
    use opentelemetry::trace::{Span as _, Tracer as _};

    fn settings(env: &[(&str, &str)]) -> TraceSettings {
        let config = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
        TraceSettings::from_config(&config, |name| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    #[test]
    fn disabled_tracing_samples_nothing() {
        let mut s = settings(&[("OTEL_TRACES_SAMPLER", "always_on")]);
        s.enabled = false;
        let tracing = Tracing::start(s).unwrap();
        let span = tracing.tracer("t").start("nothing");
        assert!(!span.span_context().is_sampled());
        tracing.shutdown().unwrap();
    }

    #[test]
    fn a_header_that_cannot_be_sent_is_an_error() {
        for protocol in ["grpc", "http/protobuf"] {
            let s = settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)]);
            let mut bad_value = s.clone();
            // What `x-tenant=line%0Abreak` in OTEL_EXPORTER_OTLP_HEADERS decodes to.
            bad_value.headers = vec![("x-tenant".into(), "line\nbreak".into())];
            let err = Tracing::start(bad_value).unwrap_err().to_string();
            assert_eq!(
                err, "OTLP header: the value of \"x-tenant\" cannot be sent in a header",
                "{protocol}"
            );
            let mut bad_name = s;
            bad_name.headers = vec![("bad name".into(), "v".into())];
            let err = Tracing::start(bad_name).unwrap_err().to_string();
            assert_eq!(
                err, "OTLP header: \"bad name\" is not a header name",
                "{protocol}"
            );
        }
    }
}
