//! A registry that uses every feature the encoders know, shared by the golden, chunking and
//! real-parser tests.
#![allow(dead_code, reason = "each test binary uses a different part")]

use core::ops::ControlFlow;

use corral_core::encode::{self, Renderer, SliceSink};
use corral_core::{
    Collect, Counter, CounterWithExemplar, Desc, DynamicFamily, Exemplar, FloatCounter, Gauge,
    Histogram, HistogramWithExemplars, IntGauge, MetricKind, Registry, RegistryConfig,
    SeriesLabels, SeriesSink, ShardedCounter, Summary, SummaryConfig, SummaryValue, TypedFamily,
    Value,
};

/// FNV-1a, 64-bit on every target: the dynamic families' slot order, and so the order of
/// their series in the golden files, is the same on 32- and 64-bit targets (the default
/// fixed-seed hasher folds at pointer width, so its hashes differ between the two).
#[derive(Clone, Copy, Debug, Default)]
pub struct WidthIndependent;

/// [`WidthIndependent`]'s hasher.
#[derive(Debug)]
pub struct Fnv(u64);

impl core::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        // The length too, as the real hashers mix it in: ("ab", "c") and ("a", "bc") differ.
        self.0 = (self.0 ^ bytes.len() as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn finish(&self) -> u64 {
        // The table's home slot comes from the hash's high bits: spread the low ones up.
        self.0 ^ (self.0 >> 29).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

impl core::hash::BuildHasher for WidthIndependent {
    type Hasher = Fnv;

    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

corral_core::label_enum! {
    /// Event kinds.
    pub enum Kind: "kind" { Metric = "metric", Feedback = "feedback" }
}
corral_core::label_enum! {
    /// Processing outcome.
    pub enum Outcome: "outcome" { Ok = "ok", Error = "error" }
}

/// A summary collector: the Summary metric lives elsewhere; this hands the encoder fixed
/// quantiles through the same `Value::Summary`.
pub struct FixedSummary;

impl Collect for FixedSummary {
    fn kind(&self) -> MetricKind {
        MetricKind::Summary
    }

    fn label_names(&self) -> &[&'static str] {
        &["stage"]
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        const QUANTILES: &[(f64, f64)] = &[(0.5, 12.0), (0.9, 48.5), (0.99, 1.25e6)];
        let stages = ["parse", "store"];
        for (i, stage) in stages.iter().enumerate().skip(from) {
            let values = [*stage];
            let labels = SeriesLabels::from_pairs(&["stage"], &values);
            let value = Value::Summary(SummaryValue::new(QUANTILES, 30 + i as u64, 7_000.25));
            if sink(i, &labels, &value).is_break() {
                return ControlFlow::Break(i);
            }
        }
        ControlFlow::Continue(())
    }
}

/// The specification's latency buckets, in seconds.
pub const LATENCY_SECONDS: &[f64] = &[
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Fixture {
    pub registry: &'static Registry<16>,
}

/// Builds and fills the registry. Every call makes a fresh one.
pub fn every_feature() -> Fixture {
    let registry: &'static Registry<16> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_max_series_per_metric(100),
    )));
    let events: &'static Counter = Box::leak(Box::new(Counter::new()));
    let cost: &'static FloatCounter = Box::leak(Box::new(FloatCounter::new()));
    let windows: &'static Gauge = Box::leak(Box::new(Gauge::new()));
    let in_flight: &'static IntGauge = Box::leak(Box::new(IntGauge::new()));
    let latency: &'static Histogram<14> = Box::leak(Box::new(Histogram::new(LATENCY_SECONDS)));
    let sharded: &'static ShardedCounter<4> = Box::leak(Box::new(ShardedCounter::new()));
    let typed: &'static TypedFamily<Counter, (Kind, Outcome), 4> =
        Box::leak(Box::new(TypedFamily::new()));
    let dynamic: &'static DynamicFamily<Counter, 2, 4, 112, WidthIndependent> =
        Box::leak(Box::new(DynamicFamily::with_hasher(
            ["path", "note"],
            (),
            WidthIndependent,
        )));
    let empty: &'static DynamicFamily<Gauge, 1, 4, 112, WidthIndependent> = Box::leak(Box::new(
        DynamicFamily::with_hasher(["queue"], (), WidthIndependent),
    ));
    let traced: &'static CounterWithExemplar = Box::leak(Box::new(CounterWithExemplar::new()));
    let sizes: &'static HistogramWithExemplars<4> =
        Box::leak(Box::new(HistogramWithExemplars::new(&[0.001, 1e6, 1.5e7])));

    let r = registry;
    r.register(
        Desc::new(
            "stream_processor_events_received_total",
            "Total number of events received",
        ),
        events,
    )
    .unwrap();
    r.register(
        Desc::new("llm_cost_usd_total", "Spend in US dollars, \"estimated\"").with_unit("usd"),
        cost,
    )
    .unwrap();
    r.register(
        Desc::new(
            "stream_processor_active_windows",
            "Active windows\nper C:\\path",
        ),
        windows,
    )
    .unwrap();
    r.register(
        Desc::new("in_flight_requests", "Requests in flight"),
        in_flight,
    )
    .unwrap();
    r.register(
        Desc::new(
            "stream_processor_processing_duration_seconds",
            "Event processing duration",
        )
        .with_unit("seconds"),
        latency,
    )
    .unwrap();
    r.register(Desc::new("hot_path_total", "Sharded counter"), sharded)
        .unwrap();
    r.register(Desc::new("events_by_kind_total", "Typed labels"), typed)
        .unwrap();
    r.register(Desc::new("requests_total", "Dynamic labels"), dynamic)
        .unwrap();
    r.register(Desc::new("queue_depth", "No series yet"), empty)
        .unwrap();
    r.register(
        Desc::new("traced_requests_total", "Counter with exemplar"),
        traced,
    )
    .unwrap();
    r.register(
        Desc::new("payload_size_bytes", "Histogram with exemplars").with_unit("bytes"),
        sizes,
    )
    .unwrap();
    r.register(
        Desc::new("stage_duration_seconds", "Summary"),
        &FixedSummary,
    )
    .unwrap();
    let sizes_summary: &'static Summary<1280> = Box::leak(Box::new(Summary::new(
        SummaryConfig::new(1.0).with_quantiles(&[0.5, 0.99]),
    )));
    r.register(
        Desc::new("request_size_bytes", "The Summary metric").with_unit("bytes"),
        sizes_summary,
    )
    .unwrap();
    for v in [100.0, 200.0, 300.0, 400.0, 5000.0] {
        sizes_summary.observe(v);
    }

    events.inc_by(u64::MAX);
    cost.inc_by(0.1);
    cost.inc_by(0.2);
    windows.set(f64::NEG_INFINITY);
    in_flight.set(-42);
    for v in [0.0005, 0.003, 0.003, 0.099, 20.0] {
        latency.observe(v);
    }
    sharded.inc_by_stripe(0, 5);
    sharded.inc_by_stripe(3, 7);
    typed
        .with_labels((Kind::Feedback, Outcome::Error))
        .inc_by(3);
    // Escaping and unicode in label values; the table admits 3 series (three quarters of
    // its 4 slots), so the fourth to sixth land in the overflow series.
    dynamic.with_labels(["/a\"b", "back\\slash"]).inc();
    dynamic.with_labels(["/line", "new\nline"]).inc_by(2);
    dynamic.with_labels(["/ünï", ""]).inc_by(3);
    dynamic.with_labels(["/plain", "ok"]).inc_by(4);
    dynamic.with_labels(["/over", "1"]).inc_by(5);
    dynamic.with_labels(["/over", "2"]).inc_by(6);
    traced.inc();
    traced
        .inc_by_with_exemplar(
            2,
            &Exemplar::new(&[
                ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
                ("span_id", "00f067aa0ba902b7"),
            ])
            .with_timestamp_unix_nanos(1_520_879_607_789_000_000),
        )
        .unwrap();
    sizes.observe(0.0005);
    sizes
        .observe_with_exemplar(0.0002, &Exemplar::new(&[("trace_id", "KOO5S4vxi0o")]))
        .unwrap();
    sizes
        .observe_with_exemplar(2e7, &Exemplar::new(&[]))
        .unwrap();
    sizes.observe(500.0);
    Fixture { registry }
}

/// Renders in one go into a large buffer.
pub fn one_shot(registry: &Registry<16>, openmetrics: bool, created: Option<u64>) -> String {
    let mut buf = vec![0u8; 1 << 20];
    let mut sink = SliceSink::new(&mut buf);
    let mut renderer = if openmetrics {
        Renderer::openmetrics()
    } else {
        Renderer::prometheus()
    };
    if let Some(created) = created {
        renderer = renderer.with_created_unix_nanos(created);
    }
    renderer.render(registry, &mut sink).unwrap();
    sink.as_str().to_owned()
}

/// Renders in chunks of at most `size` bytes and concatenates them.
pub fn chunked(
    registry: &Registry<16>,
    openmetrics: bool,
    size: usize,
) -> Result<(String, usize), encode::EncodeError> {
    let mut renderer = if openmetrics {
        Renderer::openmetrics()
    } else {
        Renderer::prometheus()
    };
    let mut buf = vec![0u8; size];
    let mut out = Vec::new();
    let mut chunks = 0;
    loop {
        let mut sink = SliceSink::new(&mut buf);
        let progress = renderer.render_chunk(registry, &mut sink)?;
        assert!(!sink.as_bytes().is_empty() || progress == encode::Progress::Done);
        out.extend_from_slice(sink.as_bytes());
        chunks += 1;
        if progress == encode::Progress::Done {
            return Ok((String::from_utf8(out).unwrap(), chunks));
        }
    }
}
