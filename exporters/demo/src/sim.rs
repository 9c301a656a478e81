//! The simulated stream processor: events consumed from Kafka, deduplicated, filtered,
//! processed into tumbling, sliding and session windows with state lookups through two
//! cache tiers, an LLM call now and then, and results produced to an output topic.
//!
//! Each event is first simulated into an [`Outcome`] (random draws, no metrics), then
//! recorded by [`record_event`]: all of an event's instrumentation is in one function, so
//! the `no-recording` feature can compile it out and `--measure-recording` can time it.

// With `no-recording` the catalog's handles and label types go unused.
#![cfg_attr(feature = "no-recording", allow(unused))]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use corral_core::LabelValue as _;
use corral_exporters::trace::exemplar::SpanExemplarHistogram as _;
use corral_exporters::trace::propagation::{extract_context, inject_context};
use corral_exporters::trace::{KafkaOperation as SpanKafka, SpanFactory};
use corral_std::catalog::Catalog;
use corral_std::catalog::labels::{
    CacheTier, KafkaLabels, KafkaOperation, KafkaStatus, ProcessingLabels, ProcessingStatus,
    StateBackend, StateOperation, WindowOperation, WindowType,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The topic events are consumed from.
pub const INPUT_TOPIC: &str = "feedback-events";
/// The topic results are produced to.
pub const OUTPUT_TOPIC: &str = "optimizer-output";
const PARTITIONS: [&str; 4] = ["0", "1", "2", "3"];
const EVENT_TYPES: [(&str, u32); 4] = [
    ("feedback", 50),
    ("metric", 30),
    ("interaction", 15),
    ("alert", 5),
];
const EVENT_TYPE_INDEX: [(usize, u32); 4] = [(0, 50), (1, 30), (2, 15), (3, 5)];
const ERROR_TYPES: [&str; 4] = ["validation", "timeout", "connection", "serialization"];
const MODELS: [(&str, f64); 3] = [
    ("claude-3-opus", 15e-6),
    ("gpt-4", 30e-6),
    ("claude-3-haiku", 0.25e-6),
];
const TICK: Duration = Duration::from_millis(10);

/// What happened to one event: everything the instrumentation records about it.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Index into `EVENT_TYPES`.
    event_type: usize,
    partition: usize,
    message_bytes: u64,
    consume_ms: f64,
    duplicate: bool,
    status: ProcessingStatus,
    error_type: Option<&'static str>,
    processing_ms: f64,
    end_to_end_ms: f64,
    backend: StateBackend,
    tier: CacheTier,
    state_get_ms: f64,
    state_put_ms: Option<f64>,
    produce: Option<(f64, u64, bool)>,
    llm: Option<LlmCall>,
}

#[derive(Clone, Copy, Debug)]
struct LlmCall {
    model: usize,
    tokens: u64,
    latency_ms: f64,
    quality: f64,
}

/// A log-normal draw with the given median and spread (sigma of the logarithm).
fn lognormal(rng: &mut SmallRng, median: f64, sigma: f64) -> f64 {
    // Box-Muller: one standard normal from two uniforms.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

fn weighted<T: Copy>(rng: &mut SmallRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for &(item, weight) in items {
        if pick < weight {
            return item;
        }
        pick -= weight;
    }
    items[0].0
}

/// Draws one event's outcome.
pub fn simulate(rng: &mut SmallRng, slow: f64) -> Outcome {
    let event_type = weighted(rng, &EVENT_TYPE_INDEX);
    let partition = rng.random_range(0..PARTITIONS.len());
    let message_bytes = rng.random_range(200..4_000);
    let consume_ms = lognormal(rng, 1.5, 0.6);
    let duplicate = rng.random_bool(0.01);
    let roll: f64 = rng.random();
    let (status, error_type) = if roll < 0.005 {
        (
            ProcessingStatus::Error,
            Some(ERROR_TYPES[rng.random_range(0..ERROR_TYPES.len())]),
        )
    } else if roll < 0.007 {
        (ProcessingStatus::Timeout, Some("timeout"))
    } else if roll < 0.057 {
        (ProcessingStatus::Filtered, None)
    } else {
        (ProcessingStatus::Success, None)
    };
    let processing_ms = lognormal(rng, 6.0 * slow, 0.7);
    let tier = weighted(
        rng,
        &[
            (CacheTier::L1, 70),
            (CacheTier::L2, 20),
            (CacheTier::Backend, 10),
        ],
    );
    let backend = weighted(
        rng,
        &[
            (StateBackend::Redis, 60),
            (StateBackend::Postgres, 25),
            (StateBackend::Sled, 15),
        ],
    );
    let state_get_ms = match tier {
        CacheTier::L1 => lognormal(rng, 0.05, 0.3),
        CacheTier::L2 => lognormal(rng, 0.8, 0.4),
        CacheTier::Backend => lognormal(rng, 4.0, 0.6),
    };
    let state_put_ms = rng.random_bool(0.2).then(|| lognormal(rng, 2.0, 0.5));
    let produce = (status == ProcessingStatus::Success && !duplicate).then(|| {
        (
            lognormal(rng, 3.0, 0.5),
            rng.random_range(100..1_500),
            !rng.random_bool(0.002),
        )
    });
    let llm = rng.random_bool(0.02).then(|| {
        let model = rng.random_range(0..MODELS.len());
        LlmCall {
            model,
            tokens: rng.random_range(200..4_000),
            latency_ms: lognormal(rng, 600.0 * slow, 0.5),
            quality: rng.random_range(0.6..0.98),
        }
    });
    let end_to_end_ms = consume_ms
        + processing_ms
        + state_get_ms
        + lognormal(rng, 25.0, 0.5)
        + llm.map_or(0.0, |l| l.latency_ms);
    Outcome {
        event_type,
        partition,
        message_bytes,
        consume_ms,
        duplicate,
        status,
        error_type,
        processing_ms,
        end_to_end_ms,
        backend,
        tier,
        state_get_ms,
        state_put_ms,
        produce,
        llm,
    }
}

/// The dynamic-label series every event touches, looked up once (the label values are a
/// closed set here: event types, partitions, the two topics). Recording through a kept
/// handle skips the hash and compare of a lookup.
#[derive(Clone, Copy, Debug)]
pub struct Handles {
    received_by_type: [&'static corral_core::Counter; EVENT_TYPES.len()],
    by_type_and_status: [[&'static corral_core::Counter; 4]; EVENT_TYPES.len()],
    consumed: [&'static corral_core::Counter; PARTITIONS.len()],
    produced: [[&'static corral_core::Counter; 2]; PARTITIONS.len()],
    messages_received: &'static corral_core::Counter,
    messages_sent: &'static corral_core::Counter,
}

impl Handles {
    /// Looks every series up.
    pub fn new(c: &Catalog) -> Self {
        let app = c.application;
        let kafka = c.kafka;
        // In `ProcessingStatus::VALUES` order, which `index()` follows.
        let statuses = [
            ProcessingStatus::Success,
            ProcessingStatus::Error,
            ProcessingStatus::Timeout,
            ProcessingStatus::Filtered,
        ];
        let ops = |operation, status, partition: usize| {
            let labels = KafkaLabels {
                topic: if operation == KafkaOperation::Consume {
                    INPUT_TOPIC
                } else {
                    OUTPUT_TOPIC
                },
                partition: Some(partition as u32),
                operation,
                status,
            };
            let mut buffer = itoa::Buffer::new();
            kafka
                .operations_total()
                .with_labels(labels.values(&mut buffer))
        };
        Self {
            received_by_type: EVENT_TYPES
                .map(|(t, _)| app.events_received_total().with_labels([t])),
            by_type_and_status: EVENT_TYPES.map(|(event_type, _)| {
                statuses.map(|status| {
                    app.events_total()
                        .with_labels(ProcessingLabels { event_type, status }.values())
                })
            }),
            consumed: core::array::from_fn(|p| {
                ops(KafkaOperation::Consume, KafkaStatus::Success, p)
            }),
            produced: core::array::from_fn(|p| {
                [
                    ops(KafkaOperation::Produce, KafkaStatus::Success, p),
                    ops(KafkaOperation::Produce, KafkaStatus::Error, p),
                ]
            }),
            messages_received: kafka.messages_received_total().with_labels([INPUT_TOPIC]),
            messages_sent: kafka.messages_sent_total().with_labels([OUTPUT_TOPIC]),
        }
    }
}

/// Records one event. `traced`: a span of the event is current, so latencies take their
/// exemplars from it.
#[cfg(not(feature = "no-recording"))]
#[inline(never)]
pub fn record_event(c: &Catalog, h: &Handles, o: &Outcome, traced: bool) {
    let app = &c.application;
    let kafka = &c.kafka;
    let state = &c.state;
    let observe = |histogram: &corral_core::HistogramWithExemplars<14>, v: f64| {
        if traced {
            histogram.observe_with_span_exemplar(v);
        } else {
            histogram.observe(v);
        }
    };

    h.messages_received.inc();
    kafka.bytes_received_total().inc_by(o.message_bytes);
    c.network.bytes_received_total().inc_by(o.message_bytes);
    observe(kafka.consume_latency_ms(), o.consume_ms);
    h.consumed[o.partition].inc();
    h.received_by_type[o.event_type].inc();
    if o.duplicate {
        app.deduplication_hits_total().inc();
        app.events_dropped_total().inc();
        return;
    }
    h.by_type_and_status[o.event_type][o.status.index()].inc();
    if let Some(error_type) = o.error_type {
        app.errors_total().inc();
        app.errors_by_type_total().with_labels([error_type]).inc();
    }
    if o.status == ProcessingStatus::Filtered {
        app.events_filtered_total().inc();
        return;
    }
    observe(app.processing_duration_ms(), o.processing_ms);
    for window in [
        WindowType::Tumbling,
        WindowType::Sliding,
        WindowType::Session,
    ] {
        app.window_operations_total()
            .with_labels((window, WindowOperation::Assign))
            .inc();
    }

    state
        .operations_total()
        .with_labels((o.backend, StateOperation::Get, o.tier))
        .inc();
    state
        .operation_duration_ms()
        .with_labels((o.backend, StateOperation::Get))
        .observe(o.state_get_ms);
    if o.tier == CacheTier::L1 {
        state.cache_hits_total().inc();
    } else {
        state.cache_misses_total().inc();
    }
    if let Some(ms) = o.state_put_ms {
        state
            .operations_total()
            .with_labels((o.backend, StateOperation::Put, CacheTier::Backend))
            .inc();
        state
            .operation_duration_ms()
            .with_labels((o.backend, StateOperation::Put))
            .observe(ms);
    }

    if let Some(call) = o.llm {
        let (model, price) = MODELS[call.model];
        let llm = &c.llm;
        llm.requests_total().with_labels([model]).inc();
        llm.tokens_consumed_total()
            .with_labels([model])
            .inc_by(call.tokens);
        llm.cost_usd_total()
            .with_labels([model])
            .inc_by(call.tokens as f64 * price);
        observe(llm.latency_ms(), call.latency_ms);
        llm.quality_score().with_labels([model]).set(call.quality);
    }

    if o.status == ProcessingStatus::Success {
        app.events_processed_total().inc();
        observe(app.end_to_end_latency_ms(), o.end_to_end_ms);
    }
    if let Some((ms, bytes, ok)) = o.produce {
        observe(kafka.produce_latency_ms(), ms);
        h.produced[o.partition][usize::from(!ok)].inc();
        if ok {
            h.messages_sent.inc();
            kafka.bytes_sent_total().inc_by(bytes);
            c.network.bytes_sent_total().inc_by(bytes);
        } else {
            kafka.errors_total().inc();
        }
    }
}

/// Recording compiled out (feature `no-recording`): the cost measurement's baseline.
#[cfg(feature = "no-recording")]
#[inline(never)]
pub fn record_event(c: &Catalog, h: &Handles, o: &Outcome, traced: bool) {
    std::hint::black_box((c, h, o, traced));
}

/// The pipeline's slower-moving state, advanced once per tick.
#[derive(Debug)]
struct Pipeline {
    started: Instant,
    windows: [i64; 3],
    lag: [i64; 4],
    next_tumbling: f64,
    next_sliding: f64,
    last_cpu_ns: u64,
}

/// Records what changes per tick rather than per event: windows, lag, sizes, tasks and the
/// optimizer's own activity.
#[cfg(not(feature = "no-recording"))]
fn record_tick(c: &Catalog, p: &Pipeline, ticks: Ticked) {
    let app = &c.application;
    for (i, window) in [
        WindowType::Tumbling,
        WindowType::Sliding,
        WindowType::Session,
    ]
    .into_iter()
    .enumerate()
    {
        app.active_windows().with_labels(window).set(p.windows[i]);
        let fired = ticks.triggers[i];
        if fired > 0 {
            app.window_triggers_total()
                .with_labels(window)
                .inc_by(fired);
            app.window_operations_total()
                .with_labels((window, WindowOperation::Trigger))
                .inc_by(fired);
            app.aggregations_computed_total().inc_by(fired * 4);
        }
    }
    if ticks.merges > 0 {
        app.window_operations_total()
            .with_labels((WindowType::Session, WindowOperation::Merge))
            .inc_by(ticks.merges);
    }
    for (partition, lag) in PARTITIONS.iter().zip(p.lag) {
        c.kafka
            .consumer_lag()
            .with_labels([INPUT_TOPIC, partition])
            .set(lag);
    }
    let state = &c.state;
    let uptime = p.started.elapsed().as_secs_f64();
    state
        .size_bytes()
        .with_labels(StateBackend::Redis)
        .set(4e6 + uptime * 2e3);
    state
        .size_bytes()
        .with_labels(StateBackend::Postgres)
        .set(9e7 + uptime * 1e4);
    state
        .size_bytes()
        .with_labels(StateBackend::Sled)
        .set(2e7 + uptime * 5e3);
    state.cache_size_bytes().with_labels(CacheTier::L1).set(8e6);
    state
        .cache_size_bytes()
        .with_labels(CacheTier::L2)
        .set(6.4e7);
    c.network.connections_active().set(6);

    let system = &c.system;
    system.tasks_spawned_total().inc_by(ticks.tasks);
    system.tasks_completed_total().inc_by(ticks.tasks);
    system.active_tasks().set(8);
    system
        .memory_allocated_bytes_total()
        .inc_by(ticks.allocated);
    system.memory_freed_bytes_total().inc_by(ticks.allocated);
    system.cpu_time_seconds_total().inc_by(ticks.cpu_seconds);

    let opt = &c.optimization;
    opt.ab_test_experiments_active().set(3);
    if ticks.optimization {
        opt.cycles_total().inc();
        opt.parameter_updates_total().inc_by(3);
    }
    if ticks.model_switch {
        opt.model_switches_total().inc();
    }
    if ticks.drift {
        c.drift.detections_total().inc();
    }
    if ticks.anomaly {
        c.drift.anomaly_detections_total().inc();
    }
    if ticks.degradation {
        c.drift.performance_degradations_total().inc();
    }
}

#[cfg(feature = "no-recording")]
fn record_tick(c: &Catalog, p: &Pipeline, ticks: Ticked) {
    std::hint::black_box((c, p, ticks));
}

#[derive(Clone, Copy, Debug, Default)]
struct Ticked {
    triggers: [u64; 3],
    merges: u64,
    tasks: u64,
    allocated: u64,
    cpu_seconds: f64,
    optimization: bool,
    model_switch: bool,
    drift: bool,
    anomaly: bool,
    degradation: bool,
}

/// The calling thread's CPU time in nanoseconds (`/proc/thread-self/schedstat`), if the
/// kernel reports it.
pub fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// What the simulation thread reports when it stops.
#[derive(Debug, Default)]
pub struct Report {
    /// Events simulated.
    pub events: u64,
    /// Wall time the loop ran.
    pub wall: Duration,
    /// CPU time of the simulation thread.
    pub cpu_ns: Option<u64>,
    /// With `--measure-recording`: the time each event's `record_event` took, in ns.
    pub record_ns: Vec<u32>,
    /// With `--measure-recording`: what one pair of clock reads costs, in ns (median).
    pub clock_ns: u32,
}

/// The simulation's settings.
#[derive(Debug)]
pub struct SimConfig {
    /// Events per second.
    pub rate: u64,
    /// One event in this many is traced (0: none).
    pub trace_every: u64,
    /// Time each event's recording.
    pub measure: bool,
    /// RNG seed.
    pub seed: u64,
}

/// Runs the pipeline at `config.rate` until `stop` is set.
pub fn run(
    catalog: Catalog,
    spans: SpanFactory,
    config: SimConfig,
    stop: Arc<AtomicBool>,
) -> Report {
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut p = Pipeline {
        started: Instant::now(),
        windows: [12, 36, 140],
        lag: [0; 4],
        next_tumbling: 1.0,
        next_sliding: 0.25,
        last_cpu_ns: thread_cpu_ns().unwrap_or(0),
    };
    let handles = Handles::new(&catalog);
    let mut report = Report::default();
    if config.measure {
        report.record_ns.reserve(1 << 20);
        let mut clocks: Vec<u32> = (0..1001)
            .map(|_| {
                let t = Instant::now();
                let e = t.elapsed();
                e.as_nanos() as u32
            })
            .collect();
        clocks.sort_unstable();
        report.clock_ns = clocks[500];
    }
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    let mut next_tick = start;
    let mut done: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let elapsed = start.elapsed().as_secs_f64();
        let due = (elapsed * config.rate as f64) as u64;
        // A slow phase now and then, so latency panels and alerts have something to show.
        let slow = if (elapsed as u64 / 60) % 5 == 4 {
            3.0
        } else {
            1.0
        };
        while done < due {
            done += 1;
            let outcome = simulate(&mut rng, slow);
            let traced = config.trace_every > 0 && done.is_multiple_of(config.trace_every);
            if traced {
                traced_event(&catalog, &handles, &spans, &outcome);
            } else if config.measure {
                let t = Instant::now();
                record_event(&catalog, &handles, &outcome, false);
                report.record_ns.push(t.elapsed().as_nanos() as u32);
            } else {
                record_event(&catalog, &handles, &outcome, false);
            }
        }
        tick(&catalog, &mut p, &mut rng, elapsed, config.rate);
        next_tick += TICK;
        let now = Instant::now();
        if next_tick > now {
            std::thread::sleep(next_tick - now);
        } else {
            next_tick = now;
        }
    }
    report.events = done;
    report.wall = start.elapsed();
    report.cpu_ns = cpu_start.and_then(|s| Some(thread_cpu_ns()? - s));
    report
}

/// One event traced across the simulated Kafka hop: the upstream producer's span context
/// travels in the message headers; the consumer's span continues that trace, and the
/// processing span under it is current while the event is recorded (exemplars).
fn traced_event(catalog: &Catalog, handles: &Handles, spans: &SpanFactory, outcome: &Outcome) {
    let partition = outcome.partition as i32;
    let mut headers: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    {
        let send = spans.kafka_operation(SpanKafka::Send, INPUT_TOPIC, Some(partition), None);
        inject_context(send.context(), &mut headers);
    }
    let parent = extract_context(&headers);
    let consume = spans.kafka_operation(
        SpanKafka::Process,
        INPUT_TOPIC,
        Some(partition),
        Some(&parent),
    );
    let _consuming = consume.attach();
    let process = spans.process_event(EVENT_TYPES[outcome.event_type].0);
    let _processing = process.attach();
    {
        let _state = spans.state_operation("redis", "get", Some("aggregates"));
    }
    record_event(catalog, handles, outcome, true);
    if outcome.produce.is_some() {
        let send = spans.kafka_operation(SpanKafka::Send, OUTPUT_TOPIC, Some(partition), None);
        let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        inject_context(send.context(), &mut out);
    }
}

fn tick(catalog: &Catalog, p: &mut Pipeline, rng: &mut SmallRng, elapsed: f64, rate: u64) {
    let mut t = Ticked::default();
    while elapsed >= p.next_tumbling {
        p.next_tumbling += 1.0;
        t.triggers[0] += 1;
    }
    while elapsed >= p.next_sliding {
        p.next_sliding += 0.25;
        t.triggers[1] += 1;
    }
    if rng.random_bool(0.05) {
        t.triggers[2] += 1;
        t.merges += u64::from(rng.random_bool(0.5));
    }
    p.windows[2] = (p.windows[2] + rng.random_range(-3..=3)).clamp(60, 400);
    // Lag per partition: a backlog of about 50 ms of traffic that breathes over minutes.
    let base = rate as f64 / 4.0 * 0.05;
    for (i, lag) in p.lag.iter_mut().enumerate() {
        let wave = 1.0 + 0.6 * ((elapsed / 45.0) + i as f64).sin();
        *lag = (base * wave + rng.random_range(-0.1..0.1) * base).max(0.0) as i64;
    }
    t.tasks = rng.random_range(2..12);
    t.allocated = rate / 100 * rng.random_range(300..600);
    if let Some(cpu) = thread_cpu_ns() {
        t.cpu_seconds = cpu.saturating_sub(p.last_cpu_ns) as f64 / 1e9;
        p.last_cpu_ns = cpu;
    }
    t.optimization = rng.random_bool(0.01);
    t.model_switch = rng.random_bool(0.001);
    t.drift = rng.random_bool(0.002);
    t.anomaly = rng.random_bool(0.003);
    t.degradation = rng.random_bool(0.001);
    record_tick(catalog, p, t);
}
