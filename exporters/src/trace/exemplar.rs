//! Exemplars taken from the live span.
//!
//! ```
//! use corral_core::{CounterWithExemplar, HistogramWithExemplars, buckets};
//! use corral_exporters::trace::exemplar::{SpanExemplar, SpanExemplarCounter, SpanExemplarHistogram};
//! use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
//! use opentelemetry::Context;
//!
//! static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);
//! static EVENTS: CounterWithExemplar = CounterWithExemplar::new();
//!
//! // No span: the value is recorded, no exemplar.
//! assert_eq!(LATENCY.observe_with_span_exemplar(3.0), SpanExemplar::NoSampledSpan);
//!
//! let span = SpanContext::new(
//!     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
//!     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
//!     TraceFlags::SAMPLED,
//!     false,
//!     TraceState::default(),
//! );
//! let _current = Context::new().with_remote_span_context(span).attach();
//! assert_eq!(LATENCY.observe_with_span_exemplar(12.0), SpanExemplar::Stored);
//! assert_eq!(EVENTS.inc_with_span_exemplar(), SpanExemplar::Stored);
//! assert_eq!(LATENCY.count(), 2);
//! ```
//!
//! The exemplar's labels are `trace_id` (32 lower-case hex digits) and `span_id` (16),
//! of the current OpenTelemetry context's span, taken only when that span is sampled. A
//! span entered through the `tracing` bridge is the current context too.
//!
//! Which exemplar a bucket keeps: every observation (or increment) made while a sampled
//! span is current replaces the exemplar of the bucket it lands in; the bucket keeps the
//! last one. This is the "last seen measurement per bucket" rule the OpenTelemetry SDK
//! specification allows for its aligned-histogram exemplar reservoir. Observations made
//! while no sampled span is current leave the bucket's exemplar as it is. When two
//! threads store into one bucket at the same instant, one of them keeps it and the other
//! reports [`SpanExemplar::Dropped`] with [`ExemplarError::Busy`].
//!
//! Nothing on these paths allocates: the ids are read by reference from the current
//! context and written as hex into stack buffers.

use corral_core::{
    CounterWithExemplar, Exemplar, ExemplarError, HistogramExemplarRef, HistogramWithExemplars,
};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

/// What happened to the exemplar of one recording. The value itself is always recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanExemplar {
    /// The current span's ids are now the exemplar of the bucket (or counter).
    Stored,
    /// No span is current, or it is not sampled: no exemplar was taken.
    NoSampledSpan,
    /// The exemplar was not stored, for this reason.
    Dropped(ExemplarError),
}

/// The ids of a sampled span as hex text, on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanIds {
    trace_id: [u8; 32],
    span_id: [u8; 16],
}

impl SpanIds {
    /// The current context's span ids, if a span is current and sampled.
    #[inline]
    pub fn current() -> Option<Self> {
        Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            if sc.is_sampled() && sc.is_valid() {
                Some(Self::new(sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
            } else {
                None
            }
        })
    }

    /// Hex text of a 16-byte trace id and an 8-byte span id.
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8]) -> Self {
        let mut ids = Self {
            trace_id: [0; 32],
            span_id: [0; 16],
        };
        hex(&trace_id, &mut ids.trace_id);
        hex(&span_id, &mut ids.span_id);
        ids
    }

    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    /// The span id, 16 lower-case hex digits.
    pub fn span_id(&self) -> &str {
        std::str::from_utf8(&self.span_id).unwrap_or_default()
    }

    /// Runs `f` with the exemplar `{trace_id, span_id}`.
    #[inline]
    fn with_exemplar<R>(&self, f: impl FnOnce(&Exemplar<'_>) -> R) -> R {
        let labels = [("trace_id", self.trace_id()), ("span_id", self.span_id())];
        f(&Exemplar::new(&labels))
    }
}

fn hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
}

fn outcome(result: Result<(), ExemplarError>) -> SpanExemplar {
    match result {
        Ok(()) => SpanExemplar::Stored,
        Err(e) => SpanExemplar::Dropped(e),
    }
}

/// Histogram observations that take their exemplar from the current span.
pub trait SpanExemplarHistogram {
    /// Records `value`; while a sampled span is current, its ids become the exemplar of
    /// the bucket `value` lands in.
    fn observe_with_span_exemplar(&self, value: f64) -> SpanExemplar;
}

impl<const BUCKETS: usize> SpanExemplarHistogram for HistogramWithExemplars<BUCKETS> {
    #[inline]
    fn observe_with_span_exemplar(&self, value: f64) -> SpanExemplar {
        match SpanIds::current() {
            Some(ids) => ids.with_exemplar(|e| outcome(self.observe_with_exemplar(value, e))),
            None => {
                self.observe(value);
                SpanExemplar::NoSampledSpan
            }
        }
    }
}

impl<const BUCKETS: usize> SpanExemplarHistogram for HistogramExemplarRef<'_, BUCKETS> {
    #[inline]
    fn observe_with_span_exemplar(&self, value: f64) -> SpanExemplar {
        match SpanIds::current() {
            Some(ids) => ids.with_exemplar(|e| outcome(self.observe_with_exemplar(value, e))),
            None => {
                self.observe(value);
                SpanExemplar::NoSampledSpan
            }
        }
    }
}

/// Counter increments that take their exemplar from the current span.
pub trait SpanExemplarCounter {
    /// Adds one; while a sampled span is current, its ids become the counter's exemplar.
    fn inc_with_span_exemplar(&self) -> SpanExemplar {
        self.inc_by_with_span_exemplar(1)
    }

    /// Adds `delta`; while a sampled span is current, its ids become the counter's
    /// exemplar (with `delta` as its value).
    fn inc_by_with_span_exemplar(&self, delta: u64) -> SpanExemplar;
}

impl SpanExemplarCounter for CounterWithExemplar {
    #[inline]
    fn inc_by_with_span_exemplar(&self, delta: u64) -> SpanExemplar {
        match SpanIds::current() {
            Some(ids) => ids.with_exemplar(|e| outcome(self.inc_by_with_exemplar(delta, e))),
            None => {
                self.inc_by(delta);
                SpanExemplar::NoSampledSpan
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::buckets;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn cx(flags: TraceFlags) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("b7ad6b7169203331").unwrap(),
            flags,
            true,
            TraceState::default(),
        ))
    }

    fn render(registry: &'static corral_core::Registry<4>) -> String {
        let mut out = Vec::new();
        corral_core::encode::openmetrics(registry, &mut corral_std::encode::VecSink::new(&mut out))
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sampled_spans_give_exemplars_in_openmetrics() {
        static LATENCY: HistogramWithExemplars<14> =
            HistogramWithExemplars::new(buckets::LATENCY_MS);
        static EVENTS: CounterWithExemplar = CounterWithExemplar::new();
        static REGISTRY: corral_core::Registry<4> = corral_core::Registry::with_config(
            corral_core::RegistryConfig::DEFAULT.with_self_metrics(false),
        );
        let registry = &REGISTRY;
        registry
            .register(
                corral_core::Desc::new("latency_ms", "Latency").with_unit("ms"),
                &LATENCY,
            )
            .unwrap();
        registry
            .register(corral_core::Desc::new("events_total", "Events"), &EVENTS)
            .unwrap();

        {
            let _unsampled = cx(TraceFlags::default()).attach();
            assert_eq!(
                LATENCY.observe_with_span_exemplar(3.0),
                SpanExemplar::NoSampledSpan
            );
            assert_eq!(EVENTS.inc_with_span_exemplar(), SpanExemplar::NoSampledSpan);
        }
        let text = render(&registry);
        assert!(!text.contains("trace_id"), "{text}");

        let _sampled = cx(TraceFlags::SAMPLED).attach();
        assert_eq!(
            LATENCY.observe_with_span_exemplar(7.0),
            SpanExemplar::Stored
        );
        assert_eq!(EVENTS.inc_by_with_span_exemplar(2), SpanExemplar::Stored);
        assert_eq!(LATENCY.count(), 2);
        assert_eq!(EVENTS.get(), 3);
        let text = render(&registry);
        assert!(
            text.contains(
                "latency_ms_bucket{le=\"10.0\"} 2 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 7.0"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "events_total 3 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 2.0"
            ),
            "{text}"
        );
    }

    #[test]
    fn hex_ids() {
        let ids = SpanIds::new([0xab; 16], [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        assert_eq!(ids.trace_id(), "ab".repeat(16));
        assert_eq!(ids.span_id(), "0123456789abcdef");
        assert_eq!(SpanIds::current(), None);
    }
}
