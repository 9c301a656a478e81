//! W3C trace context and baggage propagation over message headers.
//!
//! - Any headers (any keys, any value bytes, repeated keys in any case): `extract_context`
//!   never panics, and a context it extracts with a valid span came from exactly one
//!   `traceparent` header of at most `MAX_TRACEPARENT_BYTES` that a reference reading of
//!   the W3C format written here accepts, with the same trace and parent ids.
//! - `is_valid_traceparent` agrees with that reference on any string.
//! - Inject then extract of any valid context is the identity: trace id, span id, the
//!   sampled flag (the only flag W3C propagates), the trace state, and every baggage
//!   entry the context holds. Baggage values are arbitrary text with two upstream edges of
//!   the OpenTelemetry SDK's baggage propagator left out (recorded in the README): its
//!   encoder does not escape `%`, so a value holding `%41` comes back as `A`; and it trims
//!   values (`str::trim`, any Unicode white space), so surrounding white space is lost.

#![no_main]

use arbitrary::Arbitrary;
use corral_exporters::trace::propagation::{
    MAX_TRACEPARENT_BYTES, extract_context, inject_context, is_valid_traceparent,
};
use libfuzzer_sys::fuzz_target;
use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

/// The W3C Trace Context `traceparent` rules, read from the specification: surrounding
/// spaces and tabs allowed; `version "-" trace-id "-" parent-id "-" flags` in lower-case
/// hex of 2, 32, 16 and 2 digits; version `ff` and all-zero ids invalid; version `00` ends
/// after the flags, a later version may continue with `-` and more.
fn reference_valid(value: &str) -> bool {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let lower_hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let Some(version) = value.get(0..2) else {
        return false;
    };
    if !lower_hex(version, 2) || version == "ff" {
        return false;
    }
    let fields: Vec<&str> = value
        .get(3..)
        .map_or(vec![], |rest| rest.splitn(4, '-').collect());
    if value.as_bytes().get(2) != Some(&b'-') || fields.len() < 3 {
        return false;
    }
    let (trace, parent, flags) = (fields[0], fields[1], fields[2]);
    let ok = lower_hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && lower_hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && lower_hex(flags, 2);
    let rest = fields.get(3);
    ok && match (version, rest) {
        (_, None) => true,
        ("00", Some(_)) => false,
        (_, Some(_)) => true,
    }
}

const KEYS: &[&str] = &[
    "traceparent",
    "TraceParent",
    "TRACEPARENT",
    "tracestate",
    "baggage",
    "Baggage",
    "other",
];

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum HeaderValue {
    Bytes(Vec<u8>),
    /// A valid traceparent with one byte changed.
    Mutated {
        ids: [u8; 24],
        flags: u8,
        at: u8,
        to: u8,
        version: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Valid {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
    state: Vec<(u8, String)>,
    baggage: Vec<(u8, String)>,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Extract(Vec<(Key, HeaderValue)>),
    RoundTrip(Valid),
    Check(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn extract_any(headers: Vec<(Key, HeaderValue)>) {
    let headers: Vec<(String, Vec<u8>)> = headers
        .into_iter()
        .take(16)
        .map(|(k, v)| {
            let key = match k {
                Key::Known(i) => KEYS[usize::from(i) % KEYS.len()].to_owned(),
                Key::Any(s) => s,
            };
            let value = match v {
                HeaderValue::Bytes(b) => b,
                HeaderValue::Mutated {
                    ids,
                    flags,
                    at,
                    to,
                    version,
                } => {
                    let mut text = format!(
                        "{:02x}-{}-{}-{flags:02x}",
                        version % 3,
                        hex(&ids[..16]),
                        hex(&ids[16..])
                    )
                    .into_bytes();
                    let at = usize::from(at);
                    if at < text.len() {
                        text[at] = to;
                    } else if at < 80 {
                        text.push(to);
                    }
                    text
                }
            };
            (key, value)
        })
        .collect();
    let cx = extract_context(&headers);
    let span = cx.span();
    let sc = span.span_context();
    if sc.is_valid() {
        let parents: Vec<&Vec<u8>> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            parents.len(),
            1,
            "a span from {} traceparent headers",
            parents.len()
        );
        assert!(parents[0].len() <= MAX_TRACEPARENT_BYTES);
        let text = std::str::from_utf8(parents[0]).expect("extracted from UTF-8");
        assert!(
            reference_valid(text),
            "extracted from an invalid traceparent {text:?}"
        );
        let text = text.trim_matches(|c| c == ' ' || c == '\t');
        assert_eq!(sc.trace_id().to_string(), text[3..35], "trace id");
        assert_eq!(sc.span_id().to_string(), text[36..52], "parent id");
        assert!(sc.is_remote());
    }
}

fn round_trip(valid: Valid) {
    let trace_id = TraceId::from_bytes(valid.trace_id);
    let span_id = SpanId::from_bytes(valid.span_id);
    let state_keys = ["vendor", "rojo", "congo", "a-b_c*d/e", "t@sys"];
    let state = TraceState::from_key_value(valid.state.iter().take(8).map(|(k, v)| {
        // tracestate values: printable ASCII but `,` and `=`, not ending in a space.
        let v: String = v
            .chars()
            .filter(|c| matches!(c, ' '..='~') && *c != ',' && *c != '=')
            .take(32)
            .collect();
        let v = v.trim_end().to_owned();
        let v = if v.is_empty() { "x".to_owned() } else { v };
        (state_keys[usize::from(*k) % state_keys.len()], v)
    }))
    .unwrap_or_default();
    let sc = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(valid.flags),
        false,
        state,
    );
    if !sc.is_valid() {
        return;
    }
    let mut baggage = Baggage::new();
    let baggage_keys = ["user", "tenant", "Region", "k-1", "a.b", "x_y"];
    for (k, v) in valid.baggage.iter().take(8) {
        let value: String = v.chars().filter(|&c| c != '%').take(48).collect();
        let value = value.trim().to_owned();
        let _ = baggage.insert(baggage_keys[usize::from(*k) % baggage_keys.len()], value);
    }
    let mut want: Vec<(String, String)> = baggage
        .iter()
        .map(|(k, (v, _))| (k.to_string(), v.to_string()))
        .collect();
    let cx = Context::new()
        .with_remote_span_context(sc.clone())
        .with_baggage(baggage);

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    inject_context(&cx, &mut headers);
    let back = extract_context(&headers);
    let got = back.span().span_context().clone();
    assert_eq!(got.trace_id(), sc.trace_id());
    assert_eq!(got.span_id(), sc.span_id());
    assert_eq!(
        got.trace_flags(),
        sc.trace_flags() & TraceFlags::SAMPLED,
        "flags"
    );
    assert_eq!(
        got.trace_state().header(),
        sc.trace_state().header(),
        "trace state"
    );
    let mut have: Vec<(String, String)> = back
        .baggage()
        .iter()
        .map(|(k, (v, _))| (k.to_string(), v.to_string()))
        .collect();
    want.sort();
    have.sort();
    assert_eq!(have, want, "baggage; headers {headers:?}");
}

fuzz_target!(|input: Input| {
    match input {
        Input::Extract(headers) => extract_any(headers),
        Input::RoundTrip(valid) => round_trip(valid),
        Input::Check(text) => {
            assert_eq!(
                is_valid_traceparent(&text),
                reference_valid(&text),
                "{text:?}"
            );
        }
    }
});
