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
//! // This trace id ends in 6: not one of the 1-in-32 exemplar traces by default.
//! assert_eq!(LATENCY.observe_with_span_exemplar(12.0), SpanExemplar::NotSelected);
//! corral_exporters::trace::exemplar::set_span_exemplar_one_in(1); // every sampled trace
//! assert_eq!(LATENCY.observe_with_span_exemplar(12.0), SpanExemplar::Stored);
//! assert_eq!(EVENTS.inc_with_span_exemplar(), SpanExemplar::Stored);
//! assert_eq!(LATENCY.count(), 3);
//! ```
//!
//! The exemplar's labels are `trace_id` (32 lower-case hex digits) and `span_id` (16),
//! of the current OpenTelemetry context's span, taken only when that span is sampled. A
//! span entered through the `tracing` bridge is the current context too.
//!
//! ## Which observations store their exemplar
//!
//! A bucket keeps one exemplar, as the OpenTelemetry exemplar reservoirs keep one per
//! histogram bucket, so storing every observation's ids would mostly overwrite ids no
//! scrape ever sees, and a store costs far more than the observation (about 30 times a
//! plain observe). The rule: an observation (or increment) stores its span's ids when the
//! span is sampled **and its trace is an exemplar trace**: the lowest bits of the trace
//! id, taken modulo [`span_exemplar_one_in`] ([`DEFAULT_ONE_IN`], 32, unless changed; a
//! power of two), are zero. The observation then replaces the exemplar of the bucket it
//! lands in (the last stored one wins, the "last seen measurement per bucket" rule the
//! OpenTelemetry SDK specification allows for its aligned-histogram reservoir).
//!
//! Trace ids are random, so this is a one-in-32 sample of the sampled traces, and a
//! consistent one: a trace that is chosen gives exemplars to every metric it records into,
//! on every thread and in every service using the same rule, and one that is not gives
//! none. (The SDK's `trace_id_ratio` sampler compares the id's lower 63 bits as a number,
//! which leaves their lowest bits uniform among the traces it samples.) The price: a
//! bucket that sees fewer than about 32 sampled observations between scrapes often has no
//! fresh exemplar. [`set_span_exemplar_one_in`] changes the fraction for the process: 1
//! stores every sampled observation, for low-traffic services or tests.
//!
//! Observations made while no sampled span is current leave the bucket's exemplar as it
//! is. When two threads store into one bucket at the same instant, one of them keeps it and
//! the other reports [`SpanExemplar::Dropped`] with [`ExemplarError::Busy`].
//!
//! Nothing on these paths allocates: the ids are read by reference from the current
//! context and written as hex into stack buffers.

use std::sync::atomic::{AtomicU32, Ordering};

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
    /// A sampled span is current, but its trace is not an exemplar trace (see the module
    /// notes): no exemplar was taken.
    NotSelected,
    /// The exemplar was not stored, for this reason.
    Dropped(ExemplarError),
}

/// The default of [`span_exemplar_one_in`].
pub const DEFAULT_ONE_IN: u32 = 32;

/// `one in N` minus one: the mask of the trace id's low bits that must be zero.
static EXEMPLAR_MASK: AtomicU32 = AtomicU32::new(DEFAULT_ONE_IN - 1);

/// Sets the fraction of sampled traces whose observations store exemplars to one in `n`,
/// for the whole process. `n` is rounded up to a power of two (at most 2^31); 0 and 1 mean
/// every sampled trace.
pub fn set_span_exemplar_one_in(n: u32) {
    let n = n.clamp(1, 1 << 31).next_power_of_two();
    EXEMPLAR_MASK.store(n - 1, Ordering::Relaxed);
}

/// One in how many sampled traces store exemplars ([`DEFAULT_ONE_IN`] unless changed).
pub fn span_exemplar_one_in() -> u32 {
    EXEMPLAR_MASK.load(Ordering::Relaxed) + 1
}

/// What the current context offers an exemplar.
enum Current {
    None,
    NotSelected,
    Selected(SpanIds),
}

#[inline]
fn current() -> Current {
    let mask = EXEMPLAR_MASK.load(Ordering::Relaxed);
    Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_sampled() || !sc.is_valid() {
            return Current::None;
        }
        let trace = sc.trace_id().to_bytes();
        let low = u32::from_be_bytes([trace[12], trace[13], trace[14], trace[15]]);
        if low & mask != 0 {
            return Current::NotSelected;
        }
        Current::Selected(SpanIds::new(trace, sc.span_id().to_bytes()))
    })
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

fn skipped(current: Current) -> SpanExemplar {
    match current {
        Current::NotSelected => SpanExemplar::NotSelected,
        _ => SpanExemplar::NoSampledSpan,
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
    /// Records `value`; while a sampled span of an exemplar trace is current (see the
    /// module notes), its ids become the exemplar of the bucket `value` lands in.
    fn observe_with_span_exemplar(&self, value: f64) -> SpanExemplar;
}

impl<const BUCKETS: usize> SpanExemplarHistogram for HistogramWithExemplars<BUCKETS> {
    #[inline]
    fn observe_with_span_exemplar(&self, value: f64) -> SpanExemplar {
        match current() {
            Current::Selected(ids) => {
                ids.with_exemplar(|e| outcome(self.observe_with_exemplar(value, e)))
            }
            other => {
                self.observe(value);
                skipped(other)
            }
        }
    }
}

impl<const BUCKETS: usize> SpanExemplarHistogram for HistogramExemplarRef<'_, BUCKETS> {
    #[inline]
    fn observe_with_span_exemplar(&self, value: f64) -> SpanExemplar {
        match current() {
            Current::Selected(ids) => {
                ids.with_exemplar(|e| outcome(self.observe_with_exemplar(value, e)))
            }
            other => {
                self.observe(value);
                skipped(other)
            }
        }
    }
}

/// Counter increments that take their exemplar from the current span.
pub trait SpanExemplarCounter {
    /// Adds one; while a sampled span of an exemplar trace is current, its ids become the
    /// counter's exemplar.
    fn inc_with_span_exemplar(&self) -> SpanExemplar {
        self.inc_by_with_span_exemplar(1)
    }

    /// Adds `delta`; while a sampled span of an exemplar trace is current, its ids become
    /// the counter's exemplar (with `delta` as its value).
    fn inc_by_with_span_exemplar(&self, delta: u64) -> SpanExemplar;
}

impl SpanExemplarCounter for CounterWithExemplar {
    #[inline]
    fn inc_by_with_span_exemplar(&self, delta: u64) -> SpanExemplar {
        match current() {
            Current::Selected(ids) => {
                ids.with_exemplar(|e| outcome(self.inc_by_with_exemplar(delta, e)))
            }
            other => {
                self.inc_by(delta);
                skipped(other)
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
        let text = render(registry);
        assert!(!text.contains("trace_id"), "{text}");

        // The only test of this binary that changes the process-wide fraction.
        assert_eq!(span_exemplar_one_in(), 32);
        {
            // Trace id ending in 0x…9c: not one of the 1-in-32 exemplar traces.
            let _sampled = cx(TraceFlags::SAMPLED).attach();
            assert_eq!(
                LATENCY.observe_with_span_exemplar(7.0),
                SpanExemplar::NotSelected
            );
            // Ending in 0x…80 (five zero bits): it is.
            let chosen = Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from_hex("0af7651916cd43dd8448eb211c803180").unwrap(),
                SpanId::from_hex("b7ad6b7169203331").unwrap(),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ));
            let _chosen = chosen.attach();
            assert_eq!(
                LATENCY.observe_with_span_exemplar(700.0),
                SpanExemplar::Stored
            );
        }
        let text = render(registry);
        assert!(
            text.contains("latency_ms_bucket{le=\"1000.0\"} 3 # {trace_id=\"0af7651916cd43dd8448eb211c803180\",span_id=\"b7ad6b7169203331\"} 700.0"),
            "{text}"
        );
        assert!(!text.contains("80319c"), "{text}");

        set_span_exemplar_one_in(1);
        assert_eq!(span_exemplar_one_in(), 1);
        let _sampled = cx(TraceFlags::SAMPLED).attach();
        assert_eq!(
            LATENCY.observe_with_span_exemplar(7.0),
            SpanExemplar::Stored
        );
        assert_eq!(EVENTS.inc_by_with_span_exemplar(2), SpanExemplar::Stored);
        assert_eq!(LATENCY.count(), 4);
        assert_eq!(EVENTS.get(), 3);
        let text = render(registry);
        assert!(
            text.contains(
                "latency_ms_bucket{le=\"10.0\"} 3 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 7.0"
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
    fn one_in_rounds_to_a_power_of_two() {
        // Computes the mask without touching the process-wide setting.
        let mask = |n: u32| n.clamp(1, 1 << 31).next_power_of_two() - 1;
        assert_eq!(
            [
                mask(0),
                mask(1),
                mask(3),
                mask(16),
                mask(17),
                mask(u32::MAX)
            ],
            [0, 0, 3, 15, 31, (1 << 31) - 1]
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
