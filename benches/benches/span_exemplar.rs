//! Histogram observe (and counter increment) with an exemplar taken from the current span,
//! against the plain operation on the same metric, in one run.
//!
//! Run: `cargo bench -p corral-benches --bench span_exemplar`.
//!
//! What each line measures (one `HistogramWithExemplars<14>` over the specification's
//! latency bounds, 16 values rotating over its buckets; one `CounterWithExemplar`):
//! - `plain_observe` / `plain_inc`: the metric's own `observe` / `inc`, no exemplar.
//! - `span_exemplar_no_span`: `observe_with_span_exemplar` while no span is current: one
//!   read of the thread's current OpenTelemetry context, then the plain observe.
//! - `span_exemplar_unsampled_span`: the same while an unsampled span is current.
//! - `span_exemplar_sampled_span`: while a sampled SDK span is current: the ids are read,
//!   written as hex on the stack and stored as the bucket's exemplar (every call stores;
//!   the bucket keeps the last one).

use core::hint::black_box;

use corral_core::{CounterWithExemplar, Exemplar, HistogramWithExemplars, buckets};
use corral_exporters::trace::exemplar::{SpanExemplarCounter, SpanExemplarHistogram, SpanIds};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);
static EVENTS: CounterWithExemplar = CounterWithExemplar::new();

const VALUES: [f64; 16] = [
    0.5, 1.5, 3.0, 7.0, 12.0, 30.0, 70.0, 120.0, 300.0, 700.0, 1200.0, 3000.0, 7000.0, 12000.0,
    4.0, 40.0,
];

fn observe(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .build();
    let tracer = provider.tracer("bench");
    let mut group = c.benchmark_group("span_exemplar_observe");

    group.bench_function("plain_observe", |b| {
        let mut i = 0;
        b.iter(|| {
            LATENCY.observe(black_box(VALUES[i % 16]));
            i += 1;
        });
    });
    group.bench_function("span_exemplar_no_span", |b| {
        let mut i = 0;
        b.iter(|| {
            black_box(LATENCY.observe_with_span_exemplar(black_box(VALUES[i % 16])));
            i += 1;
        });
    });
    {
        let unsampled = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::default(),
            true,
            TraceState::default(),
        ));
        let _current = unsampled.attach();
        group.bench_function("span_exemplar_unsampled_span", |b| {
            let mut i = 0;
            b.iter(|| {
                black_box(LATENCY.observe_with_span_exemplar(black_box(VALUES[i % 16])));
                i += 1;
            });
        });
    }
    {
        let span = tracer.start("sampled");
        assert!(span.span_context().is_sampled());
        let _current = Context::current_with_span(span).attach();
        group.bench_function("span_exemplar_sampled_span", |b| {
            let mut i = 0;
            b.iter(|| {
                black_box(LATENCY.observe_with_span_exemplar(black_box(VALUES[i % 16])));
                i += 1;
            });
        });
        group.bench_function("read_span_ids_only", |b| {
            b.iter(|| black_box(SpanIds::current()));
        });
    }
    group.bench_function("core_observe_with_exemplar_fixed_labels", |b| {
        let labels = [
            ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("span_id", "00f067aa0ba902b7"),
        ];
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
    group.bench_function("span_exemplar_no_span", |b| {
        b.iter(|| black_box(EVENTS.inc_with_span_exemplar()))
    });
    {
        let span = tracer.start("sampled");
        let _current = Context::current_with_span(span).attach();
        group.bench_function("span_exemplar_sampled_span", |b| {
            b.iter(|| black_box(EVENTS.inc_with_span_exemplar()))
        });
    }
    group.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, observe);
criterion_main!(benches);
