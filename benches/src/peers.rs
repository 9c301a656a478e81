//! How each peer library is set up, in one place, so that every bench drives it the same
//! way. How each one is then called (and what that call costs by construction) is written
//! down in `benches/README.md`, "What each peer's API forces".

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

use crate::{LATENCY_BOUNDS, Method, Status};

/// The `metrics` facade's global recorder: `metrics-exporter-prometheus`'s real recorder
/// with the latency buckets, installed on first use (one per process, as the facade
/// allows), and the handle that renders it and runs its upkeep.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(&LATENCY_BOUNDS)
            .expect("the latency bounds are not empty")
            .install_recorder()
            .expect("no other global recorder is installed in a bench process")
    })
}

/// A [`ManualReader`] the meter provider and the bench can both hold: the provider takes
/// its reader by value, and collecting needs the same reader afterwards.
#[derive(Clone, Debug)]
pub struct SharedReader(Arc<ManualReader>);

impl SharedReader {
    /// Collects every stream into `into` (the real work of an OpenTelemetry export,
    /// before any encoding).
    ///
    /// # Panics
    ///
    /// If the SDK refuses, which only happens after shutdown.
    pub fn collect_into(&self, into: &mut ResourceMetrics) {
        self.0
            .collect(into)
            .expect("the reader is registered and not shut down");
    }
}

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// An OpenTelemetry SDK meter provider with a real (manual) reader attached, so that
/// instruments aggregate for real instead of being no-ops.
#[derive(Debug)]
pub struct Otel {
    /// The provider; keep it alive as long as the instruments are used.
    pub provider: SdkMeterProvider,
    /// The reader it exports to.
    pub reader: SharedReader,
    /// A meter to make instruments from.
    pub meter: Meter,
}

impl Otel {
    /// A provider with the default (cumulative) manual reader.
    pub fn new() -> Self {
        let reader = SharedReader(Arc::new(ManualReader::builder().build()));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        let meter = provider.meter("corral-benches");
        Self {
            provider,
            reader,
            meter,
        }
    }

    /// The latency histogram every bench uses.
    pub fn latency_histogram(&self, name: &'static str) -> opentelemetry::metrics::Histogram<f64> {
        self.meter
            .f64_histogram(name)
            .with_boundaries(LATENCY_BOUNDS.to_vec())
            .build()
    }
}

impl Default for Otel {
    fn default() -> Self {
        Self::new()
    }
}

/// prometheus-client's label set with borrowed values: hashing and comparing it needs no
/// allocation (its `Family` has no borrowed-key lookup, so owned values would allocate).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PcLabels {
    /// `method`.
    pub method: &'static str,
    /// `status`.
    pub status: &'static str,
}

/// prometheus-client's label set with owned values: what a caller whose values are not
/// `'static` has to build for every lookup.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PcOwnedLabels {
    /// `method`.
    pub method: String,
    /// `status`.
    pub status: String,
}

/// prometheus-client's label set over the bench's enums (its typed-label equivalent).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PcTypedLabels {
    /// `method`.
    pub method: Method,
    /// `status`.
    pub status: Status,
}

/// prometheus-client's label set of the contention bench.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PcWorkerLabels {
    /// `method`.
    pub method: &'static str,
    /// `worker`.
    pub worker: &'static str,
}

impl EncodeLabelValue for Method {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(<Method as corral_core::LabelValue>::VALUES[*self as usize])
    }
}

impl EncodeLabelValue for Status {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(<Status as corral_core::LabelValue>::VALUES[*self as usize])
    }
}

/// prometheus-client's latency histogram.
pub fn pc_histogram() -> prometheus_client::metrics::histogram::Histogram {
    prometheus_client::metrics::histogram::Histogram::new(LATENCY_BOUNDS)
}

/// prometheus' latency histogram.
pub fn prometheus_histogram(name: &str) -> prometheus::Histogram {
    prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new(name, "latency").buckets(LATENCY_BOUNDS.to_vec()),
    )
    .expect("valid histogram options")
}

/// measured's label types. Its derives generate the label-set types without docs.
#[allow(missing_docs, reason = "types generated by measured's derive macros")]
pub mod measured_labels {
    use measured::lasso::{Rodeo, RodeoReader};
    use measured::{FixedCardinalityLabel, LabelGroup};

    use crate::{METHODS, STATUSES, WORKERS};

    /// Two string labels whose values are declared when the family is created, interned
    /// in lasso `RodeoReader`s: measured's documented choice for string labels.
    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = StringLabelSet)]
    pub struct StringLabels<'a> {
        #[label(fixed_with = RodeoReader)]
        pub method: &'a str,
        #[label(fixed_with = RodeoReader)]
        pub status: &'a str,
    }

    /// The label set of [`StringLabels`], over the bench's 3 methods and 4 statuses.
    pub fn string_label_set() -> StringLabelSet {
        StringLabelSet::new(
            Rodeo::from_iter(METHODS).into_reader(),
            Rodeo::from_iter(STATUSES).into_reader(),
        )
    }

    /// The contention bench's labels: `method` and `worker`, both interned.
    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = WorkerLabelSet)]
    pub struct WorkerLabels<'a> {
        #[label(fixed_with = RodeoReader)]
        pub method: &'a str,
        #[label(fixed_with = RodeoReader)]
        pub worker: &'a str,
    }

    /// The label set of [`WorkerLabels`].
    pub fn worker_label_set() -> WorkerLabelSet {
        WorkerLabelSet::new(
            Rodeo::from_iter(["GET"]).into_reader(),
            Rodeo::from_iter(WORKERS).into_reader(),
        )
    }

    /// The methods as measured's fixed-cardinality enum (its typed-label equivalent).
    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    pub enum TypedMethod {
        #[label(rename = "GET")]
        Get,
        #[label(rename = "POST")]
        Post,
        #[label(rename = "PUT")]
        Put,
    }

    /// The statuses as measured's fixed-cardinality enum.
    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    pub enum TypedStatus {
        #[label(rename = "200")]
        Ok,
        #[label(rename = "404")]
        NotFound,
        #[label(rename = "500")]
        Error,
        #[label(rename = "503")]
        Unavailable,
    }

    /// Two enum labels.
    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = TypedLabelSet)]
    pub struct TypedLabels {
        pub method: TypedMethod,
        pub status: TypedStatus,
    }

    /// The 12 combinations in the bench order.
    pub const TYPED_COMBINATIONS: [TypedLabels; 12] = {
        const M: [TypedMethod; 3] = [TypedMethod::Get, TypedMethod::Post, TypedMethod::Put];
        const S: [TypedStatus; 4] = [
            TypedStatus::Ok,
            TypedStatus::NotFound,
            TypedStatus::Error,
            TypedStatus::Unavailable,
        ];
        let mut out = [TypedLabels {
            method: TypedMethod::Get,
            status: TypedStatus::Ok,
        }; 12];
        let mut i = 0;
        while i < 12 {
            out[i] = TypedLabels {
                method: M[i / 4],
                status: S[i % 4],
            };
            i += 1;
        }
        out
    };
}

/// measured's latency bucket thresholds.
pub fn measured_thresholds() -> measured::metric::histogram::Thresholds<13> {
    measured::metric::histogram::Thresholds::with_buckets(LATENCY_BOUNDS)
}
