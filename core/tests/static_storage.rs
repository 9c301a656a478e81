//! Every registry, family and metric type can be a `static`: const construction, no
//! lazy initialisation, no `Arc`. Handles are plain `&'static` references.

mod common;

use common::Collector;
use corral_core::{
    Counter, Desc, DynamicFamily, FloatCounter, Gauge, Histogram, HistogramCells, IntGauge,
    Registry, RegistryConfig, ShardedCounter, TypedFamily, buckets,
};

corral_core::label_enum! { enum Stage: "stage" { Parse = "parse", Store = "store" } }
corral_core::label_enum! { enum Outcome: "outcome" { Ok = "ok", Error = "error", Timeout = "timeout" } }

static REGISTRY: Registry<16> =
    Registry::with_config(RegistryConfig::DEFAULT.with_max_total_series(500));
static EVENTS: Counter = Counter::new();
static COST: FloatCounter = FloatCounter::new();
static DEPTH: Gauge = Gauge::new();
static IN_FLIGHT: IntGauge = IntGauge::new();
static LATENCY: Histogram<{ buckets::LATENCY_MS.len() + 1 }> = Histogram::new(buckets::LATENCY_MS);
static SIZES: Histogram<7> = Histogram::new(buckets::SIZE_BYTES);
static HOT: ShardedCounter<16> = ShardedCounter::new();
static BY_STAGE: TypedFamily<Counter, (Stage, Outcome), 6> = TypedFamily::new();
static STAGE_LATENCY: TypedFamily<HistogramCells<14>, Stage, 2> =
    TypedFamily::histogram(buckets::LATENCY_MS);
static BY_TOPIC: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["topic", "partition"]);
static TOPIC_LAG: DynamicFamily<IntGauge, 1, 16> = DynamicFamily::new(["topic"]);
static TOPIC_SIZE: DynamicFamily<HistogramCells<7>, 1, 16> =
    DynamicFamily::histogram(["topic"], buckets::SIZE_BYTES);

#[test]
fn statics_register_record_and_render() {
    let descs: [(Desc, &'static dyn corral_core::Collect); 12] = [
        (Desc::new("events_total", "Events"), &EVENTS),
        (
            Desc::new("llm_cost_usd_total", "Cost").with_unit("usd"),
            &COST,
        ),
        (Desc::new("queue_depth", "Depth"), &DEPTH),
        (Desc::new("in_flight", "In flight"), &IN_FLIGHT),
        (Desc::new("latency_ms", "Latency").with_unit("ms"), &LATENCY),
        (
            Desc::new("message_size_bytes", "Sizes").with_unit("bytes"),
            &SIZES,
        ),
        (Desc::new("hot_total", "Hot"), &HOT),
        (Desc::new("stage_events_total", "By stage"), &BY_STAGE),
        (
            Desc::new("stage_latency_ms", "Stage latency").with_unit("ms"),
            &STAGE_LATENCY,
        ),
        (Desc::new("kafka_messages_total", "By topic"), &BY_TOPIC),
        (Desc::new("kafka_consumer_lag", "Lag"), &TOPIC_LAG),
        (
            Desc::new("kafka_message_size_bytes", "Size").with_unit("bytes"),
            &TOPIC_SIZE,
        ),
    ];
    for (desc, metric) in descs {
        REGISTRY.register(desc, metric).unwrap();
    }

    let handle: &'static Counter = BY_TOPIC.with_labels(["feedback-events", "3"]);
    handle.inc_by(5);
    EVENTS.inc();
    COST.inc_by(0.125);
    DEPTH.set(3.5);
    IN_FLIGHT.inc();
    LATENCY.observe(12.0);
    SIZES.observe(2048.0);
    HOT.inc();
    let typed: &'static Counter = BY_STAGE.with_labels((Stage::Store, Outcome::Timeout));
    typed.inc();
    STAGE_LATENCY.with_labels(Stage::Parse).observe(0.5);
    TOPIC_LAG.with_labels(["feedback-events"]).set(42);
    TOPIC_SIZE.with_labels(["feedback-events"]).observe(100.0);

    // 1 + 1 + 1 + 1 + 1 + 1 + 1 unlabelled, 6 + 2 typed, 3 dynamic.
    assert_eq!(REGISTRY.total_series(), 7 + 8 + 3);
    let mut seen = Collector::default();
    REGISTRY.visit(&mut seen);
    assert_eq!(
        seen.families.len(),
        12 + 3,
        "12 families plus 3 self-metrics"
    );
    assert_eq!(seen.families, seen.ends);
    // Closed label sets render every combination from the start.
    assert_eq!(seen.family("stage_events_total").len(), 6);
    assert_eq!(
        seen.value(
            "stage_events_total",
            &[("stage", "store"), ("outcome", "timeout")]
        )
        .map(|v| v.as_int()),
        Some(1)
    );
    assert_eq!(
        seen.value(
            "kafka_messages_total",
            &[("topic", "feedback-events"), ("partition", "3")]
        )
        .map(|v| v.as_int()),
        Some(5)
    );
}
