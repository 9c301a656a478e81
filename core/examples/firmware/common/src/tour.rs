//! The rest of corral-core's metric types: both label models, exemplars, a summary, a
//! sharded counter; recorded on the same fixed schedule and measured the same way.

use corral_core::{
    Counter, CounterWithExemplar, Desc, Exemplar, FloatCounter, Gauge, HistogramWithExemplars,
    IntGauge, ShardedCounter, Summary, SummaryConfig, TypedFamily,
};

use super::{BOUNDS, REGISTRY, VALUES};

corral_core::label_enum! { enum Port: "port" { Uart = "uart", Spi = "spi" } }

static TEMPERATURE: Gauge = Gauge::new();
static QUEUE: IntGauge = IntGauge::new();
static ENERGY: FloatCounter = FloatCounter::new();
static BYTES: TypedFamily<Counter, Port, 2> = TypedFamily::new();
static SETTLE: Summary<64> = Summary::new(SummaryConfig::new(0.5));
static WAKEUPS: ShardedCounter<2> = ShardedCounter::new();
static EVENTS: CounterWithExemplar = CounterWithExemplar::new();
static TRACED: HistogramWithExemplars<6> = HistogramWithExemplars::new(&BOUNDS);

/// Trace ids the main loop attaches to its exemplars, in turn.
const TRACE_IDS: [&str; 4] = [
    "4bf92f3577b34da6",
    "a3ce929d0e0e4736",
    "00f067aa0ba902b7",
    "0af7651916cd43dd",
];

pub(super) fn register() -> bool {
    let mut ok = REGISTRY
        .register(
            Desc::new("temperature_celsius", "Temperature"),
            &TEMPERATURE,
        )
        .is_ok();
    ok &= REGISTRY
        .register(Desc::new("queue_depth", "Queued frames"), &QUEUE)
        .is_ok();
    ok &= REGISTRY
        .register(
            Desc::new("energy_joules_total", "Energy").with_unit("joules"),
            &ENERGY,
        )
        .is_ok();
    ok &= REGISTRY
        .register(Desc::new("bytes_total", "Bytes by port"), &BYTES)
        .is_ok();
    ok &= REGISTRY
        .register(
            Desc::new("settle_seconds", "Settling time").with_unit("seconds"),
            &SETTLE,
        )
        .is_ok();
    ok &= REGISTRY
        .register(Desc::new("wakeups_total", "Wakeups"), &WAKEUPS)
        .is_ok();
    ok &= REGISTRY
        .register(Desc::new("events_total", "Events"), &EVENTS)
        .is_ok();
    ok &= REGISTRY
        .register(
            Desc::new("trip_seconds", "Round trips").with_unit("seconds"),
            &TRACED,
        )
        .is_ok();
    ok
}

pub(super) fn record(i: usize) {
    let value = VALUES[i % VALUES.len()];
    TEMPERATURE.set(value);
    QUEUE.inc();
    if i % 4 == 3 {
        QUEUE.dec();
    }
    ENERGY.inc_by(0.25);
    BYTES
        .with_labels(if i.is_multiple_of(2) {
            Port::Uart
        } else {
            Port::Spi
        })
        .inc_by(64);
    SETTLE.observe(value);
    WAKEUPS.inc();
    let labels = [("trace_id", TRACE_IDS[i % TRACE_IDS.len()])];
    let _ = EVENTS.inc_by_with_exemplar(1, &Exemplar::new(&labels));
    let _ = TRACED.observe_with_exemplar(value, &Exemplar::new(&labels));
}

pub(super) fn on_tick() {
    WAKEUPS.inc();
    BYTES.with_labels(Port::Spi).inc();
}

pub(super) fn stacks(report: &mut dyn FnMut(&str, &mut dyn FnMut())) {
    report("record_gauge_add", &mut || TEMPERATURE.add(0.5));
    report("record_int_gauge", &mut || QUEUE.inc());
    report("record_float_counter", &mut || ENERGY.inc_by(0.25));
    report("record_typed_family", &mut || {
        BYTES.with_labels(Port::Uart).inc()
    });
    report("record_summary", &mut || SETTLE.observe(3.0));
    report("record_sharded_counter", &mut || WAKEUPS.inc());
    report("record_counter_exemplar", &mut || {
        let _ = EVENTS.inc_by_with_exemplar(1, &Exemplar::new(&[("trace_id", TRACE_IDS[0])]));
    });
    report("record_histogram_exemplar", &mut || {
        let _ = TRACED.observe_with_exemplar(7.0, &Exemplar::new(&[("trace_id", TRACE_IDS[1])]));
    });
}
