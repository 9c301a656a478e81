//! The specification's metric catalog as ready-made instrumentation sets.
//!
//! Each module is one [`metric_set!`](corral_core::metric_set): the specification's names,
//! help texts, units and bucket sets in one place, registered by one call.
//! [`Catalog::register`] registers every set into a registry and returns the handles.
//!
//! ```
//! use corral_std::catalog::{Catalog, labels::{WindowType, ProcessingStatus}};
//! use corral_core::Registry;
//!
//! static REGISTRY: Registry<64> = Registry::new();
//!
//! let catalog = Catalog::register(&REGISTRY)?;
//! let app = catalog.application;
//! app.events_received_total().with_labels(["feedback"]).inc();
//! app.processing_duration_ms().observe(3.2);
//! app.active_windows().with_labels(WindowType::Session).inc();
//! app.events_total().with_labels(["feedback", "success"]).inc();
//! # let _ = ProcessingStatus::Success;
//! # Ok::<(), corral_core::RegisterError>(())
//! ```
//!
//! | set | metrics |
//! | --- | --- |
//! | [`application`] | `stream_processor_*`: events, latencies (with exemplars), errors, windows, aggregations, deduplication |
//! | [`system`] | `process_*` task and allocation counters (CPU and memory come from [`ProcessCollector`](crate::process::ProcessCollector)) |
//! | [`kafka`], [`state`], [`network`] | the infrastructure metrics |
//! | [`llm`], [`optimization`], [`drift`] | the domain metrics |
//!
//! Where the specification shows labels (its exposition example and dashboards give
//! `stream_processor_events_received_total` an `event_type` and
//! `stream_processor_active_windows` a `window_type`; its dashboards ask for consumer lag
//! by partition and state latency by backend and operation), the families here have them.
//! Its four label sets, which no metric of its own carries, each get one family:
//! `stream_processor_events_total` (`ProcessingLabels`),
//! `stream_processor_window_operations_total` (`WindowLabels`),
//! `kafka_operations_total` (`KafkaLabels`) and `state_operations_total` (`StateLabels`).

pub mod labels;

use corral_core::{
    Counter, CounterWithExemplar, DynamicFamily, FloatCounter, Gauge, Histogram, HistogramCells,
    HistogramWithExemplars, IntGauge, RegisterError, Registry, TypedFamily, buckets,
};

use labels::{CacheTier, StateBackend, StateOperation, WindowType};

/// Series kept for each open label (event types, error types, topics, models).
pub const OPEN_LABEL_SERIES: usize = 64;

corral_core::metric_set! {
    /// Application metrics (`stream_processor_*`).
    pub mod application {
        events_received_total: DynamicFamily<Counter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["event_type"])
            => "stream_processor_events_received_total", "Total number of events received";
        events_processed_total: Counter = Counter::new()
            => "stream_processor_events_processed_total", "Total number of events successfully processed";
        events_dropped_total: Counter = Counter::new()
            => "stream_processor_events_dropped_total", "Total number of events dropped";
        events_filtered_total: Counter = Counter::new()
            => "stream_processor_events_filtered_total", "Total number of events filtered";
        /// Labels: `ProcessingLabels` (`event_type`, `status` from [`labels::ProcessingStatus`]).
        events_total: DynamicFamily<Counter, 2, { 4 * OPEN_LABEL_SERIES }> = DynamicFamily::new(["event_type", "status"])
            => "stream_processor_events_total", "Events by type and processing outcome";
        processing_duration_ms: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS)
            => "stream_processor_processing_duration_ms", "Event processing duration in milliseconds", unit "ms";
        end_to_end_latency_ms: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS)
            => "stream_processor_end_to_end_latency_ms", "End-to-end latency from event time to processing completion", unit "ms";
        errors_total: Counter = Counter::new()
            => "stream_processor_errors_total", "Total number of errors";
        errors_by_type_total: DynamicFamily<Counter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["error_type"])
            => "stream_processor_errors_by_type_total", "Errors grouped by type";
        window_triggers_total: TypedFamily<Counter, WindowType, 3> = TypedFamily::new()
            => "stream_processor_window_triggers_total", "Total number of window triggers";
        /// Labels: `WindowLabels`.
        window_operations_total: TypedFamily<Counter, labels::WindowLabels, 9> = TypedFamily::new()
            => "stream_processor_window_operations_total", "Window operations by window type and operation";
        active_windows: TypedFamily<IntGauge, WindowType, 3> = TypedFamily::new()
            => "stream_processor_active_windows", "Number of active windows";
        aggregations_computed_total: Counter = Counter::new()
            => "stream_processor_aggregations_computed_total", "Total number of aggregations computed";
        deduplication_hits_total: Counter = Counter::new()
            => "stream_processor_deduplication_hits_total", "Total number of duplicate events detected";
    }
}

corral_core::metric_set! {
    /// System metrics beyond the process collector's (`process_*`).
    pub mod system {
        cpu_time_seconds_total: FloatCounter = FloatCounter::new()
            => "process_cpu_time_seconds_total", "CPU time spent by the application's workers in seconds", unit "seconds";
        memory_allocated_bytes_total: Counter = Counter::new()
            => "process_memory_allocated_bytes_total", "Total bytes allocated", unit "bytes";
        memory_freed_bytes_total: Counter = Counter::new()
            => "process_memory_freed_bytes_total", "Total bytes freed", unit "bytes";
        active_tasks: IntGauge = IntGauge::new()
            => "process_active_tasks", "Number of active async tasks";
        tasks_spawned_total: Counter = Counter::new()
            => "process_tasks_spawned_total", "Total number of tasks spawned";
        tasks_completed_total: Counter = Counter::new()
            => "process_tasks_completed_total", "Total number of tasks completed";
        gc_collections_total: Counter = Counter::new()
            => "process_gc_collections_total", "Total number of garbage collections (compactions of managed memory)";
        gc_duration_ms: Histogram<14> = Histogram::new(buckets::LATENCY_MS)
            => "process_gc_duration_ms", "Garbage collection duration in milliseconds", unit "ms";
    }
}

corral_core::metric_set! {
    /// Kafka source and sink metrics (`kafka_*`).
    pub mod kafka {
        messages_sent_total: DynamicFamily<Counter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["topic"])
            => "kafka_messages_sent_total", "Total number of Kafka messages produced";
        messages_received_total: DynamicFamily<Counter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["topic"])
            => "kafka_messages_received_total", "Total number of Kafka messages consumed";
        bytes_sent_total: Counter = Counter::new()
            => "kafka_bytes_sent_total", "Total bytes produced to Kafka";
        bytes_received_total: Counter = Counter::new()
            => "kafka_bytes_received_total", "Total bytes consumed from Kafka";
        produce_latency_ms: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS)
            => "kafka_produce_latency_ms", "Kafka produce latency in milliseconds", unit "ms";
        consume_latency_ms: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS)
            => "kafka_consume_latency_ms", "Kafka consume latency in milliseconds", unit "ms";
        errors_total: CounterWithExemplar = CounterWithExemplar::new()
            => "kafka_errors_total", "Total number of Kafka errors";
        consumer_lag: DynamicFamily<IntGauge, 2, OPEN_LABEL_SERIES> = DynamicFamily::new(["topic", "partition"])
            => "kafka_consumer_lag", "Consumer lag in messages by topic and partition";
        /// Labels: `KafkaLabels` (`topic`, `partition`, `operation`, `status`).
        operations_total: DynamicFamily<Counter, 4, { 4 * OPEN_LABEL_SERIES }> = DynamicFamily::new(["topic", "partition", "operation", "status"])
            => "kafka_operations_total", "Kafka operations by topic, partition, operation and outcome";
    }
}

corral_core::metric_set! {
    /// State backend metrics (`state_*`).
    pub mod state {
        /// Labels: `StateLabels`.
        operations_total: TypedFamily<Counter, labels::StateLabels, 27> = TypedFamily::new()
            => "state_operations_total", "State operations by backend, operation and the cache tier that answered";
        operation_duration_ms: TypedFamily<HistogramCells<14>, (StateBackend, StateOperation), 9> = TypedFamily::histogram(buckets::LATENCY_MS)
            => "state_operation_duration_ms", "State operation duration in milliseconds", unit "ms";
        cache_hits_total: Counter = Counter::new()
            => "state_cache_hits_total", "Total number of state cache hits";
        cache_misses_total: Counter = Counter::new()
            => "state_cache_misses_total", "Total number of state cache misses";
        size_bytes: TypedFamily<Gauge, StateBackend, 3> = TypedFamily::new()
            => "state_size_bytes", "State size in bytes by backend", unit "bytes";
        cache_size_bytes: TypedFamily<Gauge, CacheTier, 3> = TypedFamily::new()
            => "state_cache_size_bytes", "State cache size in bytes by tier", unit "bytes";
    }
}

corral_core::metric_set! {
    /// Network metrics (`network_*`).
    pub mod network {
        bytes_sent_total: Counter = Counter::new()
            => "network_bytes_sent_total", "Total bytes sent over the network";
        bytes_received_total: Counter = Counter::new()
            => "network_bytes_received_total", "Total bytes received over the network";
        connections_active: IntGauge = IntGauge::new()
            => "network_connections_active", "Number of open network connections";
    }
}

corral_core::metric_set! {
    /// LLM metrics (`llm_*`).
    pub mod llm {
        requests_total: DynamicFamily<Counter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["model"])
            => "llm_requests_total", "Total number of LLM requests";
        tokens_consumed_total: DynamicFamily<Counter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["model"])
            => "llm_tokens_consumed_total", "Total number of LLM tokens consumed";
        cost_usd_total: DynamicFamily<FloatCounter, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["model"])
            => "llm_cost_usd_total", "Total LLM cost in US dollars", unit "usd";
        latency_ms: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS)
            => "llm_latency_ms", "LLM request latency in milliseconds", unit "ms";
        quality_score: DynamicFamily<Gauge, 1, OPEN_LABEL_SERIES> = DynamicFamily::new(["model"])
            => "llm_quality_score", "Latest LLM response quality score (0.0-1.0)";
    }
}

corral_core::metric_set! {
    /// Optimization metrics.
    pub mod optimization {
        cycles_total: Counter = Counter::new()
            => "optimization_cycles_total", "Total number of optimization cycles";
        parameter_updates_total: Counter = Counter::new()
            => "parameter_updates_total", "Total number of parameter updates";
        model_switches_total: Counter = Counter::new()
            => "model_switches_total", "Total number of model switches";
        ab_test_experiments_active: IntGauge = IntGauge::new()
            => "ab_test_experiments_active", "Number of active A/B test experiments";
    }
}

corral_core::metric_set! {
    /// Drift detection metrics.
    pub mod drift {
        detections_total: Counter = Counter::new()
            => "drift_detections_total", "Total number of drift detections";
        anomaly_detections_total: Counter = Counter::new()
            => "anomaly_detections_total", "Total number of anomaly detections";
        performance_degradations_total: Counter = Counter::new()
            => "performance_degradations_total", "Total number of performance degradations detected";
    }
}

static APPLICATION: application::Set = application::Set::new();
static SYSTEM: system::Set = system::Set::new();
static KAFKA: kafka::Set = kafka::Set::new();
static STATE: state::Set = state::Set::new();
static NETWORK: network::Set = network::Set::new();
static LLM: llm::Set = llm::Set::new();
static OPTIMIZATION: optimization::Set = optimization::Set::new();
static DRIFT: drift::Set = drift::Set::new();

/// Every set of the catalog, registered. The process has one catalog: a second
/// [`Catalog::register`] is refused by the registry's duplicate-name rule.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Catalog {
    /// Application metrics.
    pub application: application::Metrics,
    /// System metrics.
    pub system: system::Metrics,
    /// Kafka metrics.
    pub kafka: kafka::Metrics,
    /// State backend metrics.
    pub state: state::Metrics,
    /// Network metrics.
    pub network: network::Metrics,
    /// LLM metrics.
    pub llm: llm::Metrics,
    /// Optimization metrics.
    pub optimization: optimization::Metrics,
    /// Drift detection metrics.
    pub drift: drift::Metrics,
}

impl Catalog {
    /// Families the catalog registers.
    pub const FAMILIES: usize = application::NAMES.len()
        + system::NAMES.len()
        + kafka::NAMES.len()
        + state::NAMES.len()
        + network::NAMES.len()
        + llm::NAMES.len()
        + optimization::NAMES.len()
        + drift::NAMES.len();

    /// Registers every set of the process's catalog into `registry`.
    ///
    /// # Errors
    ///
    /// The first [`RegisterError`]; for one, when the catalog is registered already.
    pub fn register<const FAMILIES: usize>(
        registry: &'static Registry<FAMILIES>,
    ) -> Result<Self, RegisterError> {
        Ok(Self {
            application: APPLICATION.register(registry)?,
            system: SYSTEM.register(registry)?,
            kafka: KAFKA.register(registry)?,
            state: STATE.register(registry)?,
            network: NETWORK.register(registry)?,
            llm: LLM.register(registry)?,
            optimization: OPTIMIZATION.register(registry)?,
            drift: DRIFT.register(registry)?,
        })
    }

    /// Every metric name of the catalog, set by set.
    pub fn names() -> impl Iterator<Item = &'static str> {
        [
            application::NAMES,
            system::NAMES,
            kafka::NAMES,
            state::NAMES,
            network::NAMES,
            llm::NAMES,
            optimization::NAMES,
            drift::NAMES,
        ]
        .into_iter()
        .flatten()
        .copied()
    }
}
