//! The `tracing` bridge: a `tracing` span becomes a span of the provider, reaches rotel,
//! and is the current context that span exemplars read.

mod peers;
#[path = "trace_support/mod.rs"]
mod support;

use std::time::Duration;

use corral_core::{HistogramWithExemplars, buckets};
use corral_exporters::trace::exemplar::{SpanExemplar, SpanExemplarHistogram, SpanIds};
use corral_exporters::trace::{TraceSettings, Tracing};
use corral_std::config::ObservabilityConfig;
use support::{Rotel, parse_spans};
use tracing_subscriber::layer::SubscriberExt;

static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);

#[test]
fn tracing_spans_are_exported_and_give_exemplars() {
    // Every sampled trace stores its exemplars (the span's trace id is random).
    corral_exporters::trace::exemplar::set_span_exemplar_one_in(1);
    let rotel = Rotel::start();
    let config = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
        ("OTEL_SERVICE_NAME", "bridge".to_owned()),
    ];
    let settings = TraceSettings::from_config(&config, |name| {
        env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let tracing = Tracing::start(settings).unwrap();
    let subscriber = tracing_subscriber::registry().with(tracing.tracing_layer("bridge-test"));
    let ids = tracing_events::subscriber::with_default(subscriber, || {
        let span = tracing_events::info_span!("handle_order", order.id = 7);
        let _entered = span.enter();
        assert_eq!(
            LATENCY.observe_with_span_exemplar(5.0),
            SpanExemplar::Stored
        );
        SpanIds::current().expect("the entered tracing span is the current context")
    });
    assert_eq!(SpanIds::current(), None, "left the span");
    tracing.force_flush().unwrap();
    let out = rotel.wait_for(Duration::from_secs(10), |o| {
        parse_spans(o).iter().any(|s| s.service_name == "bridge")
    });
    let got: Vec<_> = parse_spans(&out)
        .into_iter()
        .filter(|s| s.service_name == "bridge")
        .collect();
    assert_eq!(got.len(), 1, "{out}");
    assert_eq!(got[0].name, "handle_order");
    assert_eq!(got[0].trace_id, ids.trace_id());
    assert_eq!(got[0].span_id, ids.span_id());
    tracing.shutdown().unwrap();
}
