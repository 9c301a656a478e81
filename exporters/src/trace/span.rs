//! Spans for the specification's four operations, and an RAII guard that ends them.
//!
//! Attribute names follow the OpenTelemetry semantic conventions where they have one
//! (messaging and database, as of semantic conventions 1.3x): `messaging.system`,
//! `messaging.operation.type`, `messaging.operation.name`, `messaging.destination.name`,
//! `messaging.destination.partition.id`, `db.system.name`, `db.operation.name`,
//! `db.collection.name`. The stream-processing attributes, which have no convention, are
//! namespaced `stream_processor.*`.
//!
//! | helper | span name | kind |
//! | --- | --- | --- |
//! | [`SpanFactory::process_event`] | `process_event {event_type}` | Internal |
//! | [`SpanFactory::window_operation`] | `window_operation {window_type}` | Internal |
//! | [`SpanFactory::state_operation`] | `{operation} {collection}` | Client |
//! | [`SpanFactory::kafka_operation`] with `Send` | `send {topic}` | Producer |
//! | [`SpanFactory::kafka_operation`] with `Receive` | `receive {topic}` | Client |
//! | [`SpanFactory::kafka_operation`] with `Process` | `process {topic}` | Consumer |
//!
//! A pull-based `receive` is a Client span in current conventions; the span that handles
//! a message (`process`) is the Consumer span and continues the producer's trace.

use std::borrow::Cow;
use std::time::Instant;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, ContextGuard, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

/// What a Kafka span does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KafkaOperation {
    /// Producing a message (`messaging.operation.type = send`, Producer).
    Send,
    /// Polling for messages (`receive`, Client).
    Receive,
    /// Handling a received message (`process`, Consumer).
    Process,
}

impl KafkaOperation {
    fn name(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Receive => "receive",
            Self::Process => "process",
        }
    }

    fn kind(self) -> SpanKind {
        match self {
            Self::Send => SpanKind::Producer,
            Self::Receive => SpanKind::Client,
            Self::Process => SpanKind::Consumer,
        }
    }
}

/// Starts the specification's spans for one component.
#[derive(Clone, Debug)]
pub struct SpanFactory {
    tracer: SdkTracer,
    component: Cow<'static, str>,
}

impl SpanFactory {
    /// Spans from `tracer`, each tagged `stream_processor.component = component`.
    pub fn new(tracer: SdkTracer, component: impl Into<Cow<'static, str>>) -> Self {
        Self {
            tracer,
            component: component.into(),
        }
    }

    fn start(
        &self,
        name: String,
        kind: SpanKind,
        mut attributes: Vec<KeyValue>,
        parent: Option<&Context>,
    ) -> SpanGuard {
        attributes.push(KeyValue::new(
            "stream_processor.component",
            self.component.clone(),
        ));
        let builder = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes);
        // A clone of the current context (a reference count), so that no borrow of the
        // thread's context is held while the SDK starts the span.
        let parent = parent.cloned().unwrap_or_else(Context::current);
        let span = builder.start_with_context(&self.tracer, &parent);
        let cx = parent.with_span(span);
        SpanGuard {
            cx,
            start: Instant::now(),
        }
    }

    /// An Internal span for processing one event, a child of the current context.
    pub fn process_event(&self, event_type: &str) -> SpanGuard {
        self.start(
            format!("process_event {event_type}"),
            SpanKind::Internal,
            vec![KeyValue::new(
                "stream_processor.event.type",
                event_type.to_owned(),
            )],
            None,
        )
    }

    /// An Internal span for a window operation (a trigger, a merge), a child of the
    /// current context.
    pub fn window_operation(&self, window_type: &str) -> SpanGuard {
        self.start(
            format!("window_operation {window_type}"),
            SpanKind::Internal,
            vec![KeyValue::new(
                "stream_processor.window.type",
                window_type.to_owned(),
            )],
            None,
        )
    }

    /// A Client span for a call to the state backend: `system` is its `db.system.name`
    /// (`redis`, `rocksdb`, …), `operation` the `db.operation.name` (`GET`, `put`, …),
    /// `collection` the store or table if there is one.
    pub fn state_operation(
        &self,
        system: &str,
        operation: &str,
        collection: Option<&str>,
    ) -> SpanGuard {
        let mut attributes = vec![
            KeyValue::new("db.system.name", system.to_owned()),
            KeyValue::new("db.operation.name", operation.to_owned()),
        ];
        let name = match collection {
            Some(c) => {
                attributes.push(KeyValue::new("db.collection.name", c.to_owned()));
                format!("{operation} {c}")
            }
            None => operation.to_owned(),
        };
        self.start(name, SpanKind::Client, attributes, None)
    }

    /// A Kafka span on `topic`. `parent` is the context extracted from the message's
    /// headers for a `Process` span (see [`super::propagation::extract_context`]); with
    /// `None` the span is a child of the current context.
    pub fn kafka_operation(
        &self,
        operation: KafkaOperation,
        topic: &str,
        partition: Option<i32>,
        parent: Option<&Context>,
    ) -> SpanGuard {
        let mut attributes = vec![
            KeyValue::new("messaging.system", "kafka"),
            KeyValue::new("messaging.operation.type", operation.name()),
            KeyValue::new("messaging.operation.name", operation.name()),
            KeyValue::new("messaging.destination.name", topic.to_owned()),
        ];
        if let Some(p) = partition {
            attributes.push(KeyValue::new(
                "messaging.destination.partition.id",
                p.to_string(),
            ));
        }
        self.start(
            format!("{} {topic}", operation.name()),
            operation.kind(),
            attributes,
            parent,
        )
    }
}

/// A started span that ends when dropped, recording its duration first as the
/// `duration_ms` attribute (milliseconds, fractional).
///
/// The guard does not make its span current by itself (it stays `Send`); call
/// [`SpanGuard::attach`] for the scope in which child spans and span exemplars should see
/// it, or pass [`SpanGuard::context`] to async code.
#[derive(Debug)]
pub struct SpanGuard {
    cx: Context,
    start: Instant,
}

impl SpanGuard {
    /// Makes this span the current one on this thread until the returned guard drops.
    #[must_use = "the span is current only while the returned guard lives"]
    pub fn attach(&self) -> ContextGuard {
        self.cx.clone().attach()
    }

    /// The context holding this span (the parent context plus the span).
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The span's ids and flags.
    pub fn span_context(&self) -> opentelemetry::trace::SpanContext {
        self.cx.span().span_context().clone()
    }

    /// Adds an event with attributes.
    pub fn record_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        self.cx.span().add_event(name, attributes);
    }

    /// Records `error` as an `exception` event and sets the span's status to error with
    /// its message.
    pub fn record_error(&self, error: &dyn std::error::Error) {
        let span = self.cx.span();
        span.record_error(error);
        span.set_status(Status::error(error.to_string()));
    }

    /// Sets an attribute.
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.cx.span().set_attribute(attribute);
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("duration_ms", ms));
        span.end();
    }
}
