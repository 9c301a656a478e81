//! Spans exported to a real `rotel` collector over gRPC and HTTP: trace continuity through
//! message headers, the four samplers, and export under each kind of runtime.

mod peers;
#[path = "trace_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use corral_exporters::trace::propagation::{extract_context, inject_context};
use corral_exporters::trace::{KafkaOperation, SpanFactory, TraceSettings, Tracing};
use corral_std::config::ObservabilityConfig;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use support::{PrintedSpan, Rotel, parse_spans};

const WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    Http,
}

/// Settings for `rotel` through the standard variables (an explicit map, not the process
/// environment).
fn settings(
    rotel: &Rotel,
    transport: Transport,
    sampler: &str,
    arg: &str,
    service: &str,
) -> TraceSettings {
    let config = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
    let (endpoint, protocol) = match transport {
        Transport::Grpc => (rotel.grpc_endpoint(), "grpc"),
        Transport::Http => (rotel.http_endpoint(), "http/protobuf"),
    };
    let env: Vec<(&str, String)> = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_owned()),
        ("OTEL_TRACES_SAMPLER", sampler.to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", arg.to_owned()),
        ("OTEL_SERVICE_NAME", service.to_owned()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-corral-test=1".to_owned()),
    ];
    TraceSettings::from_config(&config, |name| {
        env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap()
}

fn spans_of(rotel: &Rotel, service: &str) -> Vec<PrintedSpan> {
    parse_spans(&rotel.output())
        .into_iter()
        .filter(|s| s.service_name == service)
        .collect()
}

/// Sends one span from a separate always-on provider and waits until rotel printed it:
/// everything exported before it has been printed too.
fn barrier(rotel: &Rotel, transport: Transport) {
    let service = format!("barrier-{transport:?}");
    let tracing = Tracing::start(settings(rotel, transport, "always_on", "", &service)).unwrap();
    drop(SpanFactory::new(tracing.tracer("barrier"), "barrier").process_event("barrier"));
    tracing.force_flush().unwrap();
    let out = rotel.wait_for(WAIT, |o| {
        parse_spans(o).iter().any(|s| s.service_name == service)
    });
    assert!(
        parse_spans(&out).iter().any(|s| s.service_name == service),
        "rotel never printed the barrier span:\n{out}"
    );
}

fn continue_through_headers(transport: Transport) {
    let rotel = Rotel::start();
    let service = format!("continuity-{transport:?}");
    let tracing = Tracing::start(settings(&rotel, transport, "always_on", "", &service)).unwrap();
    let spans = SpanFactory::new(tracing.tracer("corral-test"), "ingest");

    // Producer: a span, its context written into Kafka-style headers.
    let mut map: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let producer = spans.kafka_operation(KafkaOperation::Send, "feedback-events", Some(3), None);
    inject_context(producer.context(), &mut map);
    let producer_ids = producer.span_context();
    drop(producer);
    // The headers travel as a list on the consumer side.
    let list: Vec<(String, Vec<u8>)> = map.into_iter().collect();

    // Consumer: continues the trace; a state call and an error inside it.
    let parent = extract_context(&list);
    let consumer = spans.kafka_operation(
        KafkaOperation::Process,
        "feedback-events",
        Some(3),
        Some(&parent),
    );
    {
        let _current = consumer.attach();
        let state = spans.state_operation("redis", "GET", Some("sessions"));
        state.record_event("cache.miss", vec![KeyValue::new("key.count", 1)]);
        drop(state);
    }
    consumer.record_error(&std::io::Error::other("downstream refused"));
    let consumer_ids = consumer.span_context();
    drop(consumer);
    tracing.force_flush().unwrap();

    let out = rotel.wait_for(WAIT, |o| {
        parse_spans(o)
            .iter()
            .filter(|s| s.service_name == service)
            .count()
            == 3
    });
    let got = spans_of(&rotel, &service);
    assert_eq!(got.len(), 3, "{out}");
    let find = |name: &str| {
        got.iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name:?} in\n{out}"))
    };
    let producer = find("send feedback-events");
    let consumer = find("process feedback-events");
    let state = find("GET sessions");

    assert_eq!(producer.trace_id, producer_ids.trace_id().to_string());
    assert_eq!(producer.span_id, producer_ids.span_id().to_string());
    assert_eq!(producer.parent_id, "", "the producer span is a root");
    assert_eq!(producer.kind, "SPAN_KIND_PRODUCER");
    assert_eq!(
        consumer.trace_id, producer.trace_id,
        "one trace across the header round trip"
    );
    assert_eq!(
        consumer.parent_id, producer.span_id,
        "the consumer's parent is the producer span"
    );
    assert_eq!(consumer.span_id, consumer_ids.span_id().to_string());
    assert_eq!(consumer.kind, "SPAN_KIND_CONSUMER");
    assert_eq!(consumer.status, "STATUS_CODE_ERROR");
    assert_eq!(state.trace_id, producer.trace_id);
    assert_eq!(state.parent_id, consumer.span_id);
    assert_eq!(state.kind, "SPAN_KIND_CLIENT");
    assert_eq!(state.attribute("db.system.name"), Some("redis"));
    assert_eq!(state.attribute("db.operation.name"), Some("GET"));
    assert_eq!(producer.attribute("messaging.system"), Some("kafka"));
    assert_eq!(
        producer.attribute("messaging.destination.name"),
        Some("feedback-events")
    );
    assert_eq!(
        consumer.attribute("messaging.operation.type"),
        Some("process")
    );
    assert!(producer.attribute("duration_ms").is_some());
    tracing.shutdown().unwrap();
}

#[test]
fn consumer_continues_the_producer_trace_over_grpc() {
    continue_through_headers(Transport::Grpc);
}

#[test]
fn consumer_continues_the_producer_trace_over_http() {
    continue_through_headers(Transport::Http);
}

/// Starts `n` root spans with the sampler, flushes, and returns how many rotel received.
fn exported_roots(
    rotel: &Rotel,
    transport: Transport,
    sampler: &str,
    arg: &str,
    n: usize,
) -> usize {
    let service = format!("{sampler}-{arg}-{transport:?}");
    let tracing = Tracing::start(settings(rotel, transport, sampler, arg, &service)).unwrap();
    let spans = SpanFactory::new(tracing.tracer("corral-test"), "sampling");
    for _ in 0..n {
        drop(spans.process_event("root"));
    }
    tracing.force_flush().unwrap();
    tracing.shutdown().unwrap();
    barrier(rotel, transport);
    spans_of(rotel, &service).len()
}

fn samplers(transport: Transport) {
    let rotel = Rotel::start();
    assert_eq!(exported_roots(&rotel, transport, "always_on", "", 40), 40);
    assert_eq!(exported_roots(&rotel, transport, "always_off", "", 40), 0);
    assert_eq!(
        exported_roots(&rotel, transport, "traceidratio", "1.0", 40),
        40
    );
    assert_eq!(
        exported_roots(&rotel, transport, "traceidratio", "0.0", 40),
        0
    );
    // Parent-based roots follow the ratio too.
    assert_eq!(
        exported_roots(&rotel, transport, "parentbased_traceidratio", "0.0", 40),
        0
    );
    assert_eq!(
        exported_roots(&rotel, transport, "parentbased_traceidratio", "1.0", 40),
        40
    );
}

#[test]
fn samplers_over_grpc() {
    samplers(Transport::Grpc);
}

#[test]
fn samplers_over_http() {
    samplers(Transport::Http);
}

fn remote_parent(sampled: bool) -> Vec<(String, Vec<u8>)> {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let cx = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex(if sampled {
            "00f067aa0ba902b7"
        } else {
            "00f067aa0ba902b8"
        })
        .unwrap(),
        flags,
        true,
        TraceState::default(),
    ));
    let mut headers = Vec::new();
    inject_context(&cx, &mut headers);
    headers
}

#[test]
fn parent_based_follows_the_parent_from_headers() {
    let rotel = Rotel::start();
    let transport = Transport::Grpc;
    // Root ratio 0: only the sampled parent's child can be exported.
    let service = "parent-sampled";
    let tracing = Tracing::start(settings(
        &rotel,
        transport,
        "parentbased_traceidratio",
        "0.0",
        service,
    ))
    .unwrap();
    let spans = SpanFactory::new(tracing.tracer("corral-test"), "parent");
    drop(spans.kafka_operation(
        KafkaOperation::Process,
        "t",
        None,
        Some(&extract_context(&remote_parent(true))),
    ));
    drop(spans.process_event("root-not-sampled"));
    tracing.shutdown().unwrap();
    // Root ratio 1: only the root can be exported; the unsampled parent's child is not.
    let service2 = "parent-unsampled";
    let tracing = Tracing::start(settings(
        &rotel,
        transport,
        "parentbased_traceidratio",
        "1.0",
        service2,
    ))
    .unwrap();
    let spans = SpanFactory::new(tracing.tracer("corral-test"), "parent");
    drop(spans.kafka_operation(
        KafkaOperation::Process,
        "t",
        None,
        Some(&extract_context(&remote_parent(false))),
    ));
    drop(spans.process_event("root-sampled"));
    tracing.shutdown().unwrap();
    barrier(&rotel, transport);

    let got = spans_of(&rotel, service);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].name, "process t");
    assert_eq!(got[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(got[0].parent_id, "00f067aa0ba902b7");
    let got = spans_of(&rotel, service2);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].name, "process_event root-sampled");
    assert_eq!(got[0].parent_id, "");
}

/// Runs `f` on its own thread and fails if it takes longer than 30 s (a deadlock).
fn within_deadline(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, wait) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match wait.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => handle.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: surface its message.
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no result within 30 s (deadlock?)"),
    }
}

/// Starts, records and shuts down (without an explicit flush: shutdown exports) inside
/// the given runtime kind, then checks rotel received the span.
fn export_under(kind: &'static str, transport: Transport) {
    let rotel = std::sync::Arc::new(Rotel::start());
    let service = format!("runtime-{kind}-{transport:?}");
    let settings = settings(&rotel, transport, "always_on", "", &service);
    let work = move || {
        let tracing = Tracing::start(settings).unwrap();
        let spans = SpanFactory::new(tracing.tracer("corral-test"), "runtime");
        drop(spans.window_operation("tumbling"));
        tracing.shutdown().unwrap();
    };
    within_deadline(kind, move || match kind {
        "none" => work(),
        "current_thread" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move { work() }),
        _ => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move { work() }),
    });
    let out = rotel.wait_for(WAIT, |o| {
        parse_spans(o).iter().any(|s| s.service_name == service)
    });
    let got = spans_of(&rotel, &service);
    assert_eq!(got.len(), 1, "{kind} {transport:?}:\n{out}");
    assert_eq!(got[0].name, "window_operation tumbling");
}

#[test]
fn exports_without_a_runtime() {
    export_under("none", Transport::Grpc);
    export_under("none", Transport::Http);
}

#[test]
fn exports_from_a_current_thread_runtime() {
    export_under("current_thread", Transport::Grpc);
    export_under("current_thread", Transport::Http);
}

#[test]
fn exports_from_a_multi_thread_runtime() {
    export_under("multi_thread", Transport::Grpc);
    export_under("multi_thread", Transport::Http);
}

/// Dropping the handle inside an async context flushes and does not panic.
#[test]
fn drop_inside_a_current_thread_runtime_flushes() {
    let rotel = Rotel::start();
    let settings = settings(&rotel, Transport::Http, "always_on", "", "drop-in-async");
    within_deadline("drop", move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let tracing = Tracing::start(settings).unwrap();
                drop(SpanFactory::new(tracing.tracer("t"), "t").process_event("dropped"));
                tokio::task::yield_now().await;
                drop(tracing);
            });
    });
    let out = rotel.wait_for(WAIT, |o| {
        parse_spans(o)
            .iter()
            .any(|s| s.service_name == "drop-in-async")
    });
    assert_eq!(spans_of(&rotel, "drop-in-async").len(), 1, "{out}");
}
