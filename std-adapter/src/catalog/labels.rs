//! The specification's label sets, typed wherever it lists the values.
//!
//! `ProcessingLabels`, `WindowLabels`, `KafkaLabels` and `StateLabels` are the
//! specification's four label sets. Closed values are [`label_enum!`](corral_core::label_enum)
//! enums (a family over them is a [`TypedFamily`](corral_core::TypedFamily): an array
//! index, no hashing); open values (`event_type`, `topic`, `partition`) stay strings and
//! their families are dynamic.

use corral_core::LabelValue;

corral_core::label_enum! {
    /// The outcome of processing one event (`status`).
    pub enum ProcessingStatus: "status" {
        Success = "success",
        Error = "error",
        Timeout = "timeout",
        Filtered = "filtered",
    }
}

corral_core::label_enum! {
    /// The kind of window (`window_type`).
    pub enum WindowType: "window_type" {
        Tumbling = "tumbling",
        Sliding = "sliding",
        Session = "session",
    }
}

corral_core::label_enum! {
    /// What happened to a window (`operation`).
    pub enum WindowOperation: "operation" {
        Assign = "assign",
        Trigger = "trigger",
        Merge = "merge",
    }
}

corral_core::label_enum! {
    /// The direction of a Kafka operation (`operation`).
    pub enum KafkaOperation: "operation" {
        Produce = "produce",
        Consume = "consume",
    }
}

corral_core::label_enum! {
    /// The outcome of a Kafka operation (`status`).
    pub enum KafkaStatus: "status" {
        Success = "success",
        Error = "error",
    }
}

corral_core::label_enum! {
    /// The state backend (`backend`).
    pub enum StateBackend: "backend" {
        Redis = "redis",
        Postgres = "postgres",
        Sled = "sled",
    }
}

corral_core::label_enum! {
    /// A state operation (`operation`).
    pub enum StateOperation: "operation" {
        Get = "get",
        Put = "put",
        Delete = "delete",
    }
}

corral_core::label_enum! {
    /// Where a state read was answered (`cache_tier`).
    pub enum CacheTier: "cache_tier" {
        L1 = "l1",
        L2 = "l2",
        Backend = "backend",
    }
}

/// The label value a typed label renders as.
pub fn value_of<V: LabelValue>(value: V) -> &'static str {
    V::VALUES[value.index()]
}

/// The specification's `ProcessingLabels`: an open `event_type` and a closed `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcessingLabels<'a> {
    /// The event type (open set: a dynamic label).
    pub event_type: &'a str,
    /// The outcome.
    pub status: ProcessingStatus,
}

impl<'a> ProcessingLabels<'a> {
    /// The values in the order of [`application`](super::application)'s
    /// `events_total` labels (`event_type`, `status`).
    pub fn values(&self) -> [&'a str; 2] {
        [self.event_type, value_of(self.status)]
    }
}

/// The specification's `WindowLabels`: both values closed, so the whole set is typed.
pub type WindowLabels = (WindowType, WindowOperation);

/// The specification's `StateLabels`: all three values closed.
pub type StateLabels = (StateBackend, StateOperation, CacheTier);

/// The specification's `KafkaLabels`: an open `topic` and `partition`, a closed
/// `operation` and `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KafkaLabels<'a> {
    /// The topic (open set).
    pub topic: &'a str,
    /// The partition, if the operation has one.
    pub partition: Option<u32>,
    /// Produce or consume.
    pub operation: KafkaOperation,
    /// Success or error.
    pub status: KafkaStatus,
}

impl<'a> KafkaLabels<'a> {
    /// The values in the order of [`kafka`](super::kafka)'s `operations_total` labels
    /// (`topic`, `partition`, `operation`, `status`). The partition is written into
    /// `buffer`; without one the label is empty, which Prometheus treats as absent.
    pub fn values<'b>(&'b self, buffer: &'b mut itoa::Buffer) -> [&'b str; 4] {
        let partition = match self.partition {
            Some(p) => buffer.format(p),
            None => "",
        };
        [
            self.topic,
            partition,
            value_of(self.operation),
            value_of(self.status),
        ]
    }
}
