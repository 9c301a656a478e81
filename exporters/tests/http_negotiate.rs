//! `Accept` and `Accept-Encoding` negotiation on header strings alone.

use corral_core::encode::Format;
use corral_exporters::http::negotiate::{
    CODINGS, Coding, Offer, TEXT_FORMATS, negotiate, negotiate_coding,
};

const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

fn format(accept: Option<&str>) -> Format {
    negotiate(accept, TEXT_FORMATS).value
}

#[test]
fn both_prometheus_versions_get_openmetrics_1_0_0() {
    for accept in [PROMETHEUS_2_42, PROMETHEUS_3] {
        let offer = negotiate(Some(accept), TEXT_FORMATS);
        assert_eq!(offer.value, Format::OpenMetrics, "{accept}");
        assert_eq!(
            offer.content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }
}

#[test]
fn missing_unknown_and_garbage_get_text_0_0_4() {
    for accept in [
        None,
        Some(""),
        Some("application/json"),
        Some("*/*"),
        Some("text/plain"),
        Some("text/*"),
        Some("text/plain;version=0.0.4"),
        Some("text/plain; version=0.0.4; charset=utf-8"),
        Some(";;;,,,"),
        Some("garbage"),
        Some("*/plain"),
        Some("text/plain;q=abc"),
        Some("application/openmetrics-text;q=2"),
        Some("application/openmetrics-text;version=0.0.1"),
        Some("application/openmetrics-text;version=1.0.0;charset=latin1"),
        Some("application/openmetrics-text;version=1.0.0;q=0"),
        Some("\u{7f}\u{0}/\u{1}"),
        Some("application/openmetrics-text;version"),
    ] {
        let offer = negotiate(accept, TEXT_FORMATS);
        assert_eq!(offer.value, Format::Prometheus, "{accept:?}");
        assert_eq!(
            offer.content_type,
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
}

#[test]
fn q_values_and_wildcards() {
    let om = Some(Format::OpenMetrics);
    let text = Some(Format::Prometheus);
    for (accept, expected) in [
        ("application/openmetrics-text", om),
        ("APPLICATION/OpenMetrics-Text; Version=1.0.0", om),
        ("application/openmetrics-text;version=\"1.0.0\"", om),
        ("text/plain;q=0.2, application/openmetrics-text;q=0.8", om),
        ("text/plain;q=0.8, application/openmetrics-text;q=0.2", text),
        ("application/*;q=0.9, text/plain;q=0.1", om),
        ("application/*", om),
        // Equal weights: the server's order, text first.
        ("application/openmetrics-text, text/plain", text),
        // The most specific range decides an offer's weight.
        (
            "*/*;q=0.5, application/openmetrics-text;version=1.0.0;q=0.4",
            text,
        ),
        ("application/openmetrics-text;q=0, */*", text),
        ("text/plain;q=0, */*;q=0.1", om),
        ("text/plain;q=0, application/openmetrics-text;q=0", text),
        (
            "text/plain;version=1.0.0, application/openmetrics-text;version=1.0.0;q=0.1",
            om,
        ),
        (
            "application/openmetrics-text;version=1.0.0;charset=utf-8;q=0.9,text/plain;q=0.5",
            om,
        ),
        (
            "application/openmetrics-text;version=1.0.0;escaping=underscores",
            om,
        ),
        (
            "application/openmetrics-text;q=0.999, text/plain;q=0.998",
            om,
        ),
        ("application/openmetrics-text;q=1.000, text/plain;q=1", text),
        ("broken;;, application/openmetrics-text;q=0.3", om),
    ] {
        assert_eq!(Some(format(Some(accept))), expected, "{accept}");
    }
}

#[test]
fn a_third_format_slots_in_as_one_more_offer() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum F {
        Text,
        OpenMetrics,
        Protobuf,
    }
    const OFFERS: &[Offer<F>] = &[
        Offer {
            media_type: "text/plain",
            params: &[("version", "0.0.4")],
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            value: F::Text,
        },
        Offer {
            media_type: "application/openmetrics-text",
            params: &[("version", "1.0.0")],
            content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
            value: F::OpenMetrics,
        },
        Offer {
            media_type: "application/vnd.google.protobuf",
            params: &[
                ("proto", "io.prometheus.client.MetricFamily"),
                ("encoding", "delimited"),
            ],
            content_type: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
            value: F::Protobuf,
        },
    ];
    // Prometheus 2.42 with --enable-feature=native-histograms.
    let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(negotiate(Some(native), OFFERS).value, F::Protobuf);
    let lower = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.6";
    assert_eq!(
        negotiate(Some(lower), OFFERS).value,
        F::OpenMetrics,
        "q decides"
    );
    let first = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,*/*;q=0.1";
    assert_eq!(negotiate(Some(first), OFFERS).value, F::Protobuf);
    let wrong_proto = "application/vnd.google.protobuf;proto=other.Message;encoding=delimited";
    assert_eq!(negotiate(Some(wrong_proto), OFFERS).value, F::Text);
    assert_eq!(
        negotiate(Some(PROMETHEUS_2_42), OFFERS).value,
        F::OpenMetrics
    );
    assert_eq!(negotiate(None, OFFERS).value, F::Text);
}

#[test]
fn codings() {
    let both = [Coding::Gzip, Coding::Zstd];
    for (header, expected) in [
        (None, Coding::Identity),
        (Some(""), Coding::Identity),
        (Some("gzip"), Coding::Gzip),
        (Some("GZIP"), Coding::Gzip),
        (Some("gzip, deflate, br"), Coding::Gzip),
        (Some("deflate, br"), Coding::Identity),
        (Some("identity"), Coding::Identity),
        (Some("gzip;q=0"), Coding::Identity),
        (Some("gzip;q=0, zstd"), Coding::Zstd),
        (Some("zstd"), Coding::Zstd),
        (Some("zstd, gzip"), Coding::Gzip),
        (Some("zstd;q=1.0, gzip;q=0.5"), Coding::Zstd),
        (Some("*"), Coding::Gzip),
        (Some("*;q=0.5, gzip;q=0.1"), Coding::Zstd),
        (Some("*;q=0"), Coding::Identity),
        (Some("gzip;q=nope"), Coding::Identity),
        (Some(";;,,gzip"), Coding::Gzip),
    ] {
        assert_eq!(negotiate_coding(header, &both), expected, "{header:?}");
    }
    // Without zstd on offer, a zstd-only client gets identity.
    assert_eq!(
        negotiate_coding(Some("zstd"), &[Coding::Gzip]),
        Coding::Identity
    );
    // This build's offers: gzip always, zstd with the `zstd` feature.
    assert_eq!(CODINGS.first(), Some(&Coding::Gzip));
    assert_eq!(CODINGS.contains(&Coding::Zstd), cfg!(feature = "zstd"));
    assert_eq!(Coding::Gzip.header_value(), Some("gzip"));
    assert_eq!(Coding::Identity.header_value(), None);
}
