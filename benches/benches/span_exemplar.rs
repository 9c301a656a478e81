//! Histogram observe (and counter increment) with an exemplar taken from the current span,
//! against the plain operation on the same metric, in one run.
//!
//! Run: `cargo bench -p corral-benches --bench span_exemplar`.
//!
//! One `HistogramWithExemplars<14>` over the specification's latency bounds, 16 values
//! rotating over its buckets, and one `CounterWithExemplar`. What each line measures:
//! - `plain_observe` / `plain_inc`: the metric's own `observe` / `inc`, no exemplar.
//! - `no_span`: `observe_with_span_exemplar` while no span is current: one read of the
//!   thread's current OpenTelemetry context, then the plain observe.
//! - `unsampled_span`: the same while an unsampled span is current.
//! - `sampled_not_selected`: a sampled span whose trace is not an exemplar trace (31 of 32
//!   sampled traces at the default one in 32): the context read and the trace id's low
//!   bits, then the plain observe.
//! - `sampled_selected`: a sampled span of an exemplar trace: the ids written as hex on the
//!   stack and stored as the bucket's exemplar (every call stores).
//! - `core_observe_with_exemplar`: corral-core's `observe_with_exemplar` with fixed labels of
//!   the same length, for reference (the store itself).
//!
//! Over many traces, the default's cost per sampled observation is
//! `(31 × sampled_not_selected + sampled_selected) / 32`; `benches/README.md` reports it.
//! The spans are remote span contexts made current with `Context::attach`: reading them
//! is the same field access as for an SDK span (checked by `sdk_span_selected`, which
//! uses a span of a real `SdkTracerProvider` with its random trace id and stores every
//! call at one in one).

use core::hint::black_box;

use corral_core::{CounterWithExemplar, Exemplar, HistogramWithExemplars, buckets};
use corral_exporters::trace::exemplar::{
    SpanExemplar, SpanExemplarCounter, SpanExemplarHistogram, set_span_exemplar_one_in,
};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer, TracerProvider,
};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);
static EVENTS: CounterWithExemplar = CounterWithExemplar::new();

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

const NOT_SELECTED: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SELECTED: &str = "4bf92f3577b34da6a3ce929d0e0e4720";

fn observe_line(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    expect: SpanExemplar,
) {
    assert_eq!(
        LATENCY.observe_with_span_exemplar(VALUES[0]),
        expect,
        "{name}"
    );
    group.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            black_box(LATENCY.observe_with_span_exemplar(black_box(VALUES[i % 16])));
            i += 1;
        });
    });
}

fn observe(c: &mut Criterion) {
    set_span_exemplar_one_in(32);
    let mut group = c.benchmark_group("span_exemplar_observe");
    group.bench_function("plain_observe", |b| {
        let mut i = 0;
        b.iter(|| {
            LATENCY.observe(black_box(VALUES[i % 16]));
            i += 1;
        });
    });
    observe_line(&mut group, "no_span", SpanExemplar::NoSampledSpan);
    {
        let _current = remote(NOT_SELECTED, TraceFlags::default()).attach();
        observe_line(&mut group, "unsampled_span", SpanExemplar::NoSampledSpan);
    }
    {
        let _current = remote(NOT_SELECTED, TraceFlags::SAMPLED).attach();
        observe_line(
            &mut group,
            "sampled_not_selected",
            SpanExemplar::NotSelected,
        );
    }
    {
        let _current = remote(SELECTED, TraceFlags::SAMPLED).attach();
        observe_line(&mut group, "sampled_selected", SpanExemplar::Stored);
    }
    {
        set_span_exemplar_one_in(1);
        let provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOn)
            .build();
        let span = provider.tracer("bench").start("sampled");
        let _current = Context::current_with_span(span).attach();
        observe_line(&mut group, "sdk_span_selected", SpanExemplar::Stored);
        set_span_exemplar_one_in(32);
        let _ = provider.shutdown();
    }
    group.bench_function("core_observe_with_exemplar", |b| {
        let labels = [("trace_id", SELECTED), ("span_id", "00f067aa0ba902b7")];
        let exemplar = Exemplar::new(&labels);
        let mut i = 0;
        b.iter(|| {
            let _ = black_box(LATENCY.observe_with_exemplar(black_box(VALUES[i % 16]), &exemplar));
            i += 1;
        });
    });
    group.finish();

    let mut group = c.benchmark_group("span_exemplar_inc");
    group.bench_function("plain_inc", |b| b.iter(|| EVENTS.inc()));
    group.bench_function("no_span", |b| {
        b.iter(|| black_box(EVENTS.inc_with_span_exemplar()))
    });
    {
        let _current = remote(NOT_SELECTED, TraceFlags::SAMPLED).attach();
        group.bench_function("sampled_not_selected", |b| {
            b.iter(|| black_box(EVENTS.inc_with_span_exemplar()))
        });
    }
    {
        let _current = remote(SELECTED, TraceFlags::SAMPLED).attach();
        group.bench_function("sampled_selected", |b| {
            b.iter(|| black_box(EVENTS.inc_with_span_exemplar()))
        });
    }
    group.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);
