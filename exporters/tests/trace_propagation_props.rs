//! Random bytes as header values: extraction never panics, and whatever it accepts as a
//! span context is a valid one.

use std::collections::BTreeMap;

use corral_exporters::trace::propagation::{extract_context, inject_context, is_valid_traceparent};
use opentelemetry::trace::TraceContextExt;
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("traceparent".to_owned()),
        Just("TraceParent".to_owned()),
        Just("tracestate".to_owned()),
        Just("baggage".to_owned()),
        "[a-z-]{0,12}",
    ]
}

/// Bytes that are sometimes near-valid: a valid traceparent with some bytes replaced.
fn value() -> impl Strategy<Value = Vec<u8>> {
    let near = (
        proptest::collection::vec((0usize..60, any::<u8>()), 0..4),
        0usize..70,
    )
        .prop_map(|(edits, cut)| {
            let mut v = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec();
            for (i, b) in edits {
                if i < v.len() {
                    v[i] = b;
                }
            }
            v.truncate(cut);
            v
        });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        near,
        "[ -~]{0,300}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 8185..8200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn extract_never_panics(headers in proptest::collection::vec((key(), value()), 0..6)) {
        let cx = extract_context(&headers);
        let sc = cx.span().span_context().clone();
        if cx.has_active_span() {
            prop_assert!(sc.is_valid() && sc.is_remote());
            // Accepted only from exactly one well-formed traceparent.
            let tps: Vec<_> = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("traceparent")).collect();
            prop_assert_eq!(tps.len(), 1);
            prop_assert!(is_valid_traceparent(std::str::from_utf8(&tps[0].1).unwrap()));
        }
        let map: BTreeMap<String, Vec<u8>> = headers.into_iter().collect();
        let cx = extract_context(&map);
        // Whatever came in, re-injecting it gives headers that extract to the same ids.
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        inject_context(&cx, &mut out);
        let again = extract_context(&out);
        prop_assert_eq!(
            again.span().span_context().span_id(),
            cx.span().span_context().span_id()
        );
    }
}
