//! OTLP metric push: one registry visit per export, sent over gRPC (`otlp-grpc`) or
//! HTTP/protobuf (`otlp-http`).

mod exporter;
pub mod map;
pub mod retry;
mod self_metrics;
pub mod settings;
mod transport;

pub use exporter::{ExporterStats, OtlpMetricExporter, ShutdownTimeout, StartError};
pub use map::{Collection, Mapper, MetricSource, OVERFLOW_ATTRIBUTE, SummaryChoice};
pub use retry::BreakerState;
pub use settings::{
    BreakerSettings, ENV_VARS, MetricsSettings, RetrySettings, SettingsError, metrics_endpoint,
    parse_headers,
};
#[cfg(feature = "otlp-http")]
pub use transport::classify_http_answer;
