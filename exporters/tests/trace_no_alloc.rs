//! Recording with span exemplars allocates nothing, on every path: no span, an unsampled
//! span, a sampled span that is not an exemplar trace, and one that stores.
//!
//! Its own test binary without the test harness (`harness = false`): the counting allocator
//! counts every thread, and the harness's threads allocate while tests run, so here nothing
//! else runs while it measures.

use std::alloc::System;

use corral_core::HistogramWithExemplars;
use corral_core::{CounterWithExemplar, DynamicFamily, HistogramExemplarCells, buckets};
use corral_exporters::trace::exemplar::{SpanExemplar, SpanExemplarCounter, SpanExemplarHistogram};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);
static EVENTS: CounterWithExemplar = CounterWithExemplar::new();

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
    span_exemplars_allocate_nothing();
    println!("trace_no_alloc: 1 passed, 0 failed");
}

type ByRoute = DynamicFamily<HistogramExemplarCells<14>, 1, 4>;

fn record(by_route: &ByRoute, expect: SpanExemplar) {
    // A family handle (`HistogramExemplarRef`), resolved per call.
    let handle = by_route.with_labels(["/orders"]);
    for i in 0..100 {
        let v = f64::from(i);
        assert_eq!(LATENCY.observe_with_span_exemplar(v), expect);
        assert_eq!(handle.observe_with_span_exemplar(v), expect);
        assert_eq!(EVENTS.inc_with_span_exemplar(), expect);
    }
}

fn span_exemplars_allocate_nothing() {
    // ---- set-up: the family, the contexts, the thread's context stack ----
    let by_route: &'static ByRoute = Box::leak(Box::new(DynamicFamily::with_hasher(
        ["route"],
        buckets::LATENCY_MS,
        Default::default(),
    )));
    let unsampled = remote("4bf92f3577b34da6a3ce929d0e0e4736", TraceFlags::default());
    let not_selected = remote("4bf92f3577b34da6a3ce929d0e0e4736", TraceFlags::SAMPLED);
    let selected = remote("4bf92f3577b34da6a3ce929d0e0e4720", TraceFlags::SAMPLED);
    record(by_route, SpanExemplar::NoSampledSpan); // first use of the thread-local context

    let cases = [
        (None, SpanExemplar::NoSampledSpan),
        (Some(unsampled), SpanExemplar::NoSampledSpan),
        (Some(not_selected), SpanExemplar::NotSelected),
        (Some(selected), SpanExemplar::Stored),
    ];
    for (cx, expect) in cases {
        // Attaching may grow the context stack: outside the measured region.
        let _current = cx.map(Context::attach);
        // ---- measured: recording only ----
        let region = Region::new(GLOBAL);
        record(by_route, expect);
        let change = region.change();
        assert_eq!(
            (change.allocations, change.reallocations),
            (0, 0),
            "recording with span exemplars allocated ({expect:?}): {change:?}"
        );
    }
    assert_eq!(LATENCY.count(), 500);
    assert_eq!(EVENTS.get(), 500);
}
