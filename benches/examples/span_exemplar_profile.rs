//! A fixed workload for instruction counts of the span exemplar paths (stable on a busy
//! machine where wall-clock timings are not): N histogram observations for one workload.
//!
//! ```text
//! cargo build --profile bench -p corral-benches --example span_exemplar_profile
//! valgrind --tool=callgrind target/release/examples/span_exemplar_profile no_span 1000000
//! ```
//!
//! Workloads: `plain` (`observe`), `no_span`, `unsampled`, `not_selected` (a sampled span
//! of a trace that is not an exemplar trace), `selected` (every call stores). Running it
//! with two values of N and subtracting the totals gives instructions per operation
//! without the set-up.

use std::hint::black_box;

use corral_core::{HistogramWithExemplars, buckets};
use corral_exporters::trace::exemplar::SpanExemplarHistogram;
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);

const VALUES: [f64; 16] = [
    0.5, 1.5, 3.0, 7.0, 12.0, 30.0, 70.0, 120.0, 300.0, 700.0, 1200.0, 3000.0, 7000.0, 12000.0,
    4.0, 40.0,
];

fn remote(trace_id: &str, flags: TraceFlags) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex(trace_id).unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        flags,
        true,
        TraceState::default(),
    ))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "plain".to_owned());
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let cx = match workload.as_str() {
        "unsampled" => Some(remote(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            TraceFlags::default(),
        )),
        "not_selected" => Some(remote(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            TraceFlags::SAMPLED,
        )),
        "selected" => Some(remote(
            "4bf92f3577b34da6a3ce929d0e0e4720",
            TraceFlags::SAMPLED,
        )),
        "plain" | "no_span" => None,
        other => panic!("unknown workload {other:?}"),
    };
    let _current = cx.map(Context::attach);
    if workload == "plain" {
        for i in 0..n {
            LATENCY.observe(black_box(VALUES[i % 16]));
        }
    } else {
        for i in 0..n {
            black_box(LATENCY.observe_with_span_exemplar(black_box(VALUES[i % 16])));
        }
    }
    println!("{workload}: {} observations", LATENCY.count());
}
