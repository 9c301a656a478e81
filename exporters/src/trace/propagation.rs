//! W3C trace context (`traceparent`, `tracestate`) and baggage through message headers.
//!
//! ```
//! use std::collections::BTreeMap;
//! use corral_exporters::trace::propagation::{extract_context, inject_context};
//! use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
//! use opentelemetry::Context;
//!
//! let remote = SpanContext::new(
//!     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
//!     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
//!     TraceFlags::SAMPLED,
//!     true,
//!     TraceState::default(),
//! );
//! let mut headers: BTreeMap<String, Vec<u8>> = BTreeMap::new();
//! inject_context(&Context::new().with_remote_span_context(remote), &mut headers);
//! assert_eq!(headers["traceparent"], b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//!
//! let parent = extract_context(&headers);
//! assert_eq!(parent.span().span_context().span_id().to_string(), "00f067aa0ba902b7");
//!
//! // A malformed traceparent is ignored: the next span starts a new trace.
//! headers.insert("traceparent".into(), b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".to_vec());
//! assert!(!extract_context(&headers).span().span_context().is_valid());
//! ```
//!
//! Extraction reads a header only when its key appears once (keys compare ASCII
//! case-insensitively), its value is UTF-8 and within [`MAX_TRACEPARENT_BYTES`] or
//! [`MAX_HEADER_BYTES`], and, for `traceparent`, when it is exactly what the W3C Trace
//! Context format allows (lower-case hex of the right lengths, non-zero ids, version not
//! `ff`). Anything else is ignored, never an error or a panic, and a missing or ignored
//! `traceparent` means the span that follows starts a new trace. Injection replaces
//! headers of the same key, so a message passed along twice carries one `traceparent`.

use std::collections::BTreeMap;

use opentelemetry::Context;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// The longest `traceparent` value read (version 00 has 55 bytes; later versions may
/// append fields).
pub const MAX_TRACEPARENT_BYTES: usize = 256;

/// The longest `tracestate` or `baggage` value read (the W3C Baggage limit).
pub const MAX_HEADER_BYTES: usize = 8192;

/// Message headers propagation can read and write: Kafka-style keys with byte values.
pub trait MessageHeaders {
    /// Every value whose key equals `key` ignoring ASCII case, in order.
    fn values(&self, key: &str) -> Vec<&[u8]>;

    /// Every key.
    fn keys(&self) -> Vec<&str>;

    /// Sets `key` to `value`, removing every other value under that key (any case).
    fn replace(&mut self, key: &str, value: Vec<u8>);
}

impl MessageHeaders for BTreeMap<String, Vec<u8>> {
    fn values(&self, key: &str) -> Vec<&[u8]> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    fn keys(&self) -> Vec<&str> {
        self.keys().map(String::as_str).collect()
    }

    fn replace(&mut self, key: &str, value: Vec<u8>) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }
}

impl MessageHeaders for Vec<(String, Vec<u8>)> {
    fn values(&self, key: &str) -> Vec<&[u8]> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    fn keys(&self) -> Vec<&str> {
        self.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn replace(&mut self, key: &str, value: Vec<u8>) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.push((key.to_owned(), value));
    }
}

/// W3C trace context and W3C baggage, the propagator [`inject_context`] and
/// [`extract_context`] use (and the one `Tracing::install_global` installs).
pub fn w3c_propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// Writes the span context and baggage of `cx` into `headers`. A context without a valid
/// span writes no `traceparent`.
pub fn inject_context<H: MessageHeaders + ?Sized>(cx: &Context, headers: &mut H) {
    w3c_propagator().inject_context(cx, &mut Writer(headers));
}

/// [`inject_context`] with the current context.
pub fn inject_current<H: MessageHeaders + ?Sized>(headers: &mut H) {
    Context::map_current(|cx| inject_context(cx, headers));
}

/// A fresh context holding the remote span context and baggage found in `headers`, for
/// use as the parent of the span that handles the message. Without a usable
/// `traceparent` it holds no span, so that span becomes the root of a new trace (the
/// current context is deliberately not its base).
pub fn extract_context<H: MessageHeaders + ?Sized>(headers: &H) -> Context {
    w3c_propagator().extract_with_context(&Context::new(), &Reader(headers))
}

struct Writer<'a, H: ?Sized>(&'a mut H);

impl<H: MessageHeaders + ?Sized> Injector for Writer<'_, H> {
    fn set(&mut self, key: &str, value: String) {
        self.0.replace(key, value.into_bytes());
    }
}

struct Reader<'a, H: ?Sized>(&'a H);

impl<H: MessageHeaders + ?Sized> Reader<'_, H> {
    /// The one UTF-8 value under `key` within `limit` bytes.
    fn single(&self, key: &str, limit: usize) -> Option<&str> {
        match self.0.values(key).as_slice() {
            [value] if value.len() <= limit => std::str::from_utf8(value).ok(),
            _ => None,
        }
    }

    fn traceparent(&self) -> Option<&str> {
        self.single("traceparent", MAX_TRACEPARENT_BYTES)
            .filter(|v| is_valid_traceparent(v))
    }
}

impl<H: MessageHeaders + ?Sized> Extractor for Reader<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case("traceparent") {
            self.traceparent()
        } else if key.eq_ignore_ascii_case("tracestate") {
            // Read only beside a valid traceparent, as the W3C format requires.
            self.traceparent()?;
            self.single(key, MAX_HEADER_BYTES)
        } else {
            self.single(key, MAX_HEADER_BYTES)
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }
}

/// Whether `value` is a `traceparent` the W3C Trace Context format accepts:
/// `version-traceid-parentid-flags`, lower-case hex of 2, 32, 16 and 2 digits, ids not all
/// zero, version not `ff`; version `00` has nothing after the flags, a later version may
/// have `-` and more. Surrounding spaces and tabs are allowed.
pub fn is_valid_traceparent(value: &str) -> bool {
    let b = value.trim_matches([' ', '\t']).as_bytes();
    let hex = |s: &[u8]| s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    let zero = |s: &[u8]| s.iter().all(|&c| c == b'0');
    if b.len() < 55 {
        return false;
    }
    let (version, trace_id, span_id, flags) = (&b[0..2], &b[3..35], &b[36..52], &b[53..55]);
    let shape = b[2] == b'-'
        && b[35] == b'-'
        && b[52] == b'-'
        && hex(version)
        && version != b"ff"
        && hex(trace_id)
        && !zero(trace_id)
        && hex(span_id)
        && !zero(span_id)
        && hex(flags);
    let tail = if version == b"00" {
        b.len() == 55
    } else {
        b.len() == 55 || b[55] == b'-'
    };
    shape && tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn remote(flags: TraceFlags) -> Context {
        let state: TraceState = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".parse().unwrap();
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            flags,
            true,
            state,
        ))
    }

    #[test]
    fn round_trip_through_both_header_kinds() {
        let cx = remote(TraceFlags::SAMPLED).with_baggage([KeyValue::new("tenant", "acme")]);
        let mut map: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut list: Vec<(String, Vec<u8>)> = vec![("traceparent".into(), b"stale".to_vec())];
        inject_context(&cx, &mut map);
        inject_context(&cx, &mut list);
        assert_eq!(map["traceparent"], TP.as_bytes());
        assert_eq!(
            map["tracestate"],
            b"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
        assert_eq!(map["baggage"], b"tenant=acme");
        assert_eq!(
            list.iter().filter(|(k, _)| k == "traceparent").count(),
            1,
            "replaced"
        );
        for got in [extract_context(&map), extract_context(&list)] {
            let sc = got.span().span_context().clone();
            assert_eq!(sc.trace_id(), cx.span().span_context().trace_id());
            assert_eq!(sc.span_id(), cx.span().span_context().span_id());
            assert!(sc.is_sampled() && sc.is_remote());
            assert_eq!(sc.trace_state().get("congo"), Some("t61rcWkgMzE"));
            assert_eq!(
                got.baggage().get("tenant").map(|v| v.as_str().to_owned()),
                Some("acme".into())
            );
        }
        // Unsampled stays unsampled.
        let mut map = BTreeMap::new();
        inject_context(&remote(TraceFlags::default()), &mut map);
        assert_eq!(map["traceparent"], TP.replace("-01", "-00").as_bytes());
        assert!(!extract_context(&map).span().span_context().is_sampled());
        // Keys compare case-insensitively.
        let list = vec![("TraceParent".to_owned(), TP.as_bytes().to_vec())];
        assert!(extract_context(&list).span().span_context().is_valid());
    }

    #[test]
    fn invalid_values_are_ignored() {
        let bad: &[&[u8]] = &[
            b"",
            b"garbage",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
            b"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // 31 digits
            b"00-abc-00f067aa0ba902b7-01",                              // short id
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero span id
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // 00 with a tail
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", // tail without '-'
            b"00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // sign
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            b"\xff\xfe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // not UTF-8
        ];
        for value in bad {
            let headers = vec![
                ("traceparent".to_owned(), value.to_vec()),
                ("tracestate".to_owned(), b"congo=t61rcWkgMzE".to_vec()),
            ];
            let cx = extract_context(&headers);
            assert!(
                !cx.has_active_span(),
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
        // A later version with more fields is accepted, as the format allows.
        let v1 = vec![(
            "traceparent".to_owned(),
            format!("01{}-what-next", &TP[2..]).into_bytes(),
        )];
        assert!(extract_context(&v1).span().span_context().is_valid());
        // Two traceparents: ambiguous, ignored.
        let twice = vec![
            ("traceparent".to_owned(), TP.as_bytes().to_vec()),
            ("traceparent".to_owned(), TP.as_bytes().to_vec()),
        ];
        assert!(!extract_context(&twice).has_active_span());
        // Oversized baggage is ignored; the span context still comes through.
        let big = vec![
            ("traceparent".to_owned(), TP.as_bytes().to_vec()),
            (
                "baggage".to_owned(),
                format!("k={}", "v".repeat(MAX_HEADER_BYTES)).into_bytes(),
            ),
        ];
        let cx = extract_context(&big);
        assert!(cx.span().span_context().is_valid());
        assert_eq!(cx.baggage().len(), 0);
        // Extraction never inherits the current span.
        let _current = remote(TraceFlags::SAMPLED).attach();
        assert!(!extract_context(&Vec::new()).has_active_span());
    }
}
