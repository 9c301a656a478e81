//! A fixed workload for instruction counts, which stay stable on a busy machine where
//! wall-clock timings do not: N labelled increments with the labels resolved on every call
//! (rotating through the 12 bench combinations), or N histogram observations (rotating
//! through the bench values), for one library.
//!
//! ```text
//! cargo build --profile bench -p corral-benches --example lookup_profile
//! valgrind --tool=callgrind target/release/examples/lookup_profile corral-dynamic 1000000
//! ```
//!
//! Workloads: `corral-dynamic` (default), `corral-dynamic-remembered` (the same values
//! through `with_static_labels`), `corral-dynamic-remembered-40` and `corral-dynamic-40` (40
//! label sets rotating, with and without `with_static_labels`), `...-past-16` (the 24 of
//! them a family does not remember), `corral-typed`, `raw-atomic`, `prometheus`,
//! `prometheus-client`, `measured` (labelled increments); `inc:corral`, `inc:raw-atomic`
//! (unlabelled increments); `observe:corral`,
//! `observe:raw-atomic`, `observe:prometheus`, `observe:prometheus-client`,
//! `observe:measured` (histogram observations); `flood:hit`, `flood:overflow` (a full
//! 1,024-slot family: hits rotating over its 768 series, or distinct new values that end
//! in the overflow series, as in `benches/flood.rs`); the peer shape
//! (`corral_benches::shape`): `shape:corral-runtime`, `shape:corral-static` (and both with
//! `-remembered`: through `with_static_labels`),
//! `shape:prometheus` (per-call lookups of `GET|POST|PUT|DELETE` × `200|404|500`),
//! `shape-render:corral`, `shape-render:measured` (N renders of the 10,000-counter
//! fixture, so set-up is the same for both N), `shape-render-100k:corral`,
//! `shape-render-100k:measured` (the 100,000-counter one). Running it with two values of N
//! and
//! subtracting the totals gives instructions per operation without the set-up.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use corral_benches::peers::measured_labels::{self, StringLabels};
use corral_benches::peers::{self, PcLabels};
use corral_benches::raw::{RawHistogram, RawLabelled};
use corral_benches::shape;
use corral_benches::{
    AgentValue, COMBINATIONS, Method, OBSERVATIONS, Status, TYPED_COMBINATIONS, next12, next16,
};
use corral_core::{Counter, DynamicFamily, Histogram, TypedFamily, buckets};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;

static DYNAMIC: DynamicFamily<Counter, 2, 32> = DynamicFamily::new(["method", "status"]);
static TYPED: TypedFamily<Counter, (Method, Status), 12> = TypedFamily::new();
static RAW: RawLabelled = RawLabelled::new();
static HISTOGRAM: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
static RAW_HISTOGRAM: RawHistogram = RawHistogram::new();
static COUNTER: Counter = Counter::new();
static RAW_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Runs `f(i)` `n` times with `i` rotating through `0..12`.
fn labelled(n: usize, mut f: impl FnMut(usize)) {
    let mut i = 0;
    for _ in 0..n {
        f(i);
        i = next12(i);
    }
}

/// Runs `f(value)` `n` times with the bench's observations.
fn observed(n: usize, mut f: impl FnMut(f64)) {
    let mut i = 0;
    for _ in 0..n {
        f(black_box(OBSERVATIONS[i]));
        i = next16(i);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "corral-dynamic".to_owned());
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    match workload.as_str() {
        "flood:hit" | "flood:overflow" => {
            static FLOOD: DynamicFamily<Counter, 1, 1024> = DynamicFamily::new(["user_agent"]);
            let admitted = corral_core::admitted_series(1024) as u64;
            for v in 0..admitted {
                FLOOD.with_labels([AgentValue::new(v).as_str()]).inc();
            }
            let hit = workload == "flood:hit";
            for i in 0..n as u64 {
                let v = if hit { i % admitted } else { admitted + i };
                FLOOD
                    .with_labels([AgentValue::new(black_box(v)).as_str()])
                    .inc();
            }
        }
        "corral-dynamic" => labelled(n, |i| {
            let (m, s) = black_box(COMBINATIONS[i]);
            DYNAMIC.with_labels([m, s]).inc();
        }),
        "corral-dynamic-remembered" => labelled(n, |i| {
            let (m, s) = black_box(COMBINATIONS[i]);
            DYNAMIC.with_static_labels([m, s]).inc();
        }),
        "corral-dynamic-remembered-40"
        | "corral-dynamic-40"
        | "corral-dynamic-remembered-past-16"
        | "corral-dynamic-past-16" => {
            // 40 label sets, more than a family remembers: the first 16 looked up are
            // remembered. `-40` rotates over all 40; `-past-16` looks up the first 16
            // once, then rotates over the other 24 only (none of them remembered).
            static FORTY: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
            const STATUSES: [&str; 10] = [
                "200", "201", "204", "301", "304", "400", "404", "409", "500", "503",
            ];
            let set = |i: usize| [shape::SHAPE_METHODS[i / 10], STATUSES[i % 10]];
            let remembered = workload.contains("remembered");
            let (first, count) = if workload.ends_with("-40") {
                (0, 40)
            } else {
                (0..16).for_each(|i| FORTY.with_static_labels(set(i)).inc());
                (16, 24)
            };
            for k in 0..n {
                let values = black_box(set(first + k % count));
                if remembered {
                    FORTY.with_static_labels(values).inc();
                } else {
                    FORTY.with_labels(values).inc();
                }
            }
            assert_eq!(FORTY.remembered(), 16.min(n + first));
        }
        "corral-typed" => labelled(n, |i| {
            TYPED.with_labels(black_box(TYPED_COMBINATIONS[i])).inc();
        }),
        "raw-atomic" => labelled(n, |i| {
            let (m, s) = black_box(COMBINATIONS[i]);
            RAW.inc(m, s);
        }),
        "prometheus" => {
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new("profile_total", "help"),
                &["method", "status"],
            )
            .expect("valid counter");
            labelled(n, |i| {
                let (m, s) = black_box(COMBINATIONS[i]);
                vec.with_label_values(&[m, s]).inc();
            });
        }
        "prometheus-client" => {
            let family = PcFamily::<PcLabels, PcCounter>::default();
            labelled(n, |i| {
                let (method, status) = black_box(COMBINATIONS[i]);
                family.get_or_create(&PcLabels { method, status }).inc();
            });
        }
        "measured" => {
            let vec = measured::CounterVec::with_label_set(measured_labels::string_label_set());
            labelled(n, |i| {
                let (method, status) = black_box(COMBINATIONS[i]);
                vec.inc(StringLabels { method, status });
            });
        }
        "inc:raw-atomic" => (0..n).for_each(|_| {
            black_box(&RAW_COUNTER).fetch_add(1, Ordering::Relaxed);
        }),
        "inc:corral" => (0..n).for_each(|_| black_box(&COUNTER).inc()),
        "observe:corral" => observed(n, |v| HISTOGRAM.observe(v)),
        "observe:raw-atomic" => observed(n, |v| RAW_HISTOGRAM.observe(v)),
        "observe:prometheus" => {
            let histogram = peers::prometheus_histogram("profile");
            observed(n, |v| histogram.observe(v));
        }
        "observe:prometheus-client" => {
            let histogram = peers::pc_histogram();
            observed(n, |v| histogram.observe(v));
        }
        "observe:measured" => {
            let histogram = measured::Histogram::<13>::with_metadata(peers::measured_thresholds());
            observed(n, |v| histogram.observe(v));
        }
        "shape:corral-runtime" | "shape:corral-runtime-remembered" => {
            static REGISTRY: corral_core::Registry<2> = corral_core::Registry::new();
            let families = corral_std::runtime::Families::new(&REGISTRY);
            let family = families
                .family::<Counter, 2, 32>(
                    &corral_std::runtime::Spec::new("profile_total", "help"),
                    ["method", "status"],
                )
                .expect("a fresh registry");
            if workload.ends_with("-remembered") {
                labelled(n, |i| {
                    family
                        .with_static_labels(black_box(shape::LOOKUPS[i]))
                        .inc()
                });
            } else {
                labelled(n, |i| {
                    family.with_labels(black_box(shape::LOOKUPS[i])).inc()
                });
            }
        }
        "shape:corral-static" => {
            labelled(n, |i| {
                DYNAMIC.with_labels(black_box(shape::LOOKUPS[i])).inc()
            });
        }
        "shape:corral-static-remembered" => {
            labelled(n, |i| {
                DYNAMIC
                    .with_static_labels(black_box(shape::LOOKUPS[i]))
                    .inc()
            });
        }
        "shape:prometheus" => {
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new("profile_total", "help"),
                &["method", "status"],
            )
            .expect("valid counter");
            labelled(n, |i| {
                vec.with_label_values(black_box(&shape::LOOKUPS[i])).inc()
            });
        }
        "shape-render:corral" | "shape-render-100k:corral" => {
            let fixture = shape::Fixture::new(if workload.contains("100k") { 1000 } else { 100 });
            let registry = shape::corral(&fixture);
            let mut out = Vec::new();
            for _ in 0..n {
                out.clear();
                corral_core::encode::Renderer::prometheus()
                    .render(
                        black_box(registry),
                        &mut corral_std::encode::VecSink::new(&mut out),
                    )
                    .expect("a Vec has room");
            }
        }
        "shape-render:measured" | "shape-render-100k:measured" => {
            use measured::MetricGroup as _;
            let fixture = shape::Fixture::new(if workload.contains("100k") { 1000 } else { 100 });
            let metrics = shape::ms::metrics(&fixture);
            let mut encoder = measured::text::BufferedTextEncoder::new();
            for _ in 0..n {
                black_box(&metrics)
                    .collect_group_into(&mut encoder)
                    .expect("infallible");
                black_box(encoder.finish());
            }
        }
        other => {
            eprintln!("lookup_profile: unknown workload {other:?}");
            std::process::exit(2);
        }
    }
    println!("{workload}: {n} operations");
}
