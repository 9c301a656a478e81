//! The exporter's self-metrics as registry families: each visit reads the exporter's own
//! counters (`ExporterStats`), so they reach `/metrics` and the next OTLP export like any
//! other family, and nothing is recorded twice.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use corral_core::visit::{MetricKind, SeriesLabels, Value};
use corral_core::{Collect, Desc, RegisterError, Registry, SeriesSink};

use super::ExporterStats;

/// Reads the exporter's counters now.
pub(super) type ReadStats = Arc<dyn Fn() -> ExporterStats + Send + Sync>;

/// The families, in registration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stat {
    Exports,
    Retries,
    Points,
    Bytes,
    Seconds,
    LastSeconds,
    BreakerState,
    BreakerOpened,
}

/// The `outcome` label values of `otlp_exporter_exports_total`, in series order.
const OUTCOMES: [&str; 4] = ["success", "partial_success", "failure", "skipped"];
const OUTCOME: [&str; 1] = ["outcome"];

impl Stat {
    const ALL: [Stat; 8] = [
        Stat::Exports,
        Stat::Retries,
        Stat::Points,
        Stat::Bytes,
        Stat::Seconds,
        Stat::LastSeconds,
        Stat::BreakerState,
        Stat::BreakerOpened,
    ];

    fn desc(self) -> Desc {
        match self {
            Stat::Exports => Desc::new(
                "otlp_exporter_exports_total",
                "OTLP metric exports by outcome (skipped: the circuit breaker was open)",
            ),
            Stat::Retries => Desc::new("otlp_exporter_retries_total", "OTLP export retries"),
            Stat::Points => Desc::new(
                "otlp_exporter_data_points_total",
                "Data points in OTLP exports the collector accepted",
            ),
            Stat::Bytes => Desc::new(
                "otlp_exporter_sent_bytes_total",
                "Payload bytes of OTLP exports the collector accepted",
            )
            .with_unit("bytes"),
            Stat::Seconds => Desc::new(
                "otlp_exporter_export_duration_seconds_total",
                "Time spent in OTLP exports (collection, encoding, sending, retries)",
            )
            .with_unit("seconds"),
            Stat::LastSeconds => Desc::new(
                "otlp_exporter_last_export_duration_seconds",
                "Duration of the last OTLP export",
            )
            .with_unit("seconds"),
            Stat::BreakerState => Desc::new(
                "otlp_exporter_circuit_breaker_state",
                "The OTLP exporter's circuit breaker: 0 closed, 1 open, 2 half-open",
            ),
            Stat::BreakerOpened => Desc::new(
                "otlp_exporter_circuit_breaker_opened_total",
                "Times the OTLP exporter's circuit breaker opened",
            ),
        }
    }
}

struct SelfFamily {
    read: ReadStats,
    stat: Stat,
}

impl fmt::Debug for SelfFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelfFamily")
            .field("stat", &self.stat)
            .finish()
    }
}

impl Collect for SelfFamily {
    fn kind(&self) -> MetricKind {
        match self.stat {
            Stat::LastSeconds | Stat::BreakerState => MetricKind::Gauge,
            _ => MetricKind::Counter,
        }
    }

    fn label_names(&self) -> &[&'static str] {
        match self.stat {
            Stat::Exports => &OUTCOME,
            _ => &[],
        }
    }

    fn reserved_series(&self) -> usize {
        self.capacity()
    }

    fn capacity(&self) -> usize {
        match self.stat {
            Stat::Exports => OUTCOMES.len(),
            _ => 1,
        }
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        let s = (self.read)();
        let value = match self.stat {
            Stat::Exports => return exports(&s, from, sink),
            Stat::Retries => Value::Counter(s.retries),
            Stat::Points => Value::Counter(s.points_sent),
            Stat::Bytes => Value::Counter(s.bytes_sent),
            Stat::Seconds => Value::FloatCounter(s.export_duration_total.as_secs_f64()),
            Stat::LastSeconds => Value::Gauge(s.last_export_duration.as_secs_f64()),
            Stat::BreakerState => Value::IntGauge(i64::from(s.breaker.as_u8())),
            Stat::BreakerOpened => Value::Counter(s.breaker_opened),
        };
        if from == 0 && sink(0, &SeriesLabels::NONE, &value).is_break() {
            return ControlFlow::Break(0);
        }
        ControlFlow::Continue(())
    }
}

/// The series of `otlp_exporter_exports_total`, one per outcome, from position `from`.
fn exports(s: &ExporterStats, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
    let counts = [
        s.exports_ok,
        s.exports_partial,
        s.exports_failed,
        s.exports_skipped,
    ];
    for (at, (outcome, count)) in OUTCOMES.iter().zip(counts).enumerate().skip(from) {
        let values = [*outcome];
        let labels = SeriesLabels::from_pairs(&OUTCOME, &values);
        if sink(at, &labels, &Value::Counter(count)).is_break() {
            return ControlFlow::Break(at);
        }
    }
    ControlFlow::Continue(())
}

/// Registers the eight self-metric families in `registry`, each reading through `read`.
pub(super) fn register<const FAMILIES: usize>(
    registry: &'static Registry<FAMILIES>,
    read: ReadStats,
) -> Result<(), RegisterError> {
    for stat in Stat::ALL {
        // One small family per registration, for the life of the program (registries
        // hold `'static` families).
        let family: &'static SelfFamily = Box::leak(Box::new(SelfFamily {
            read: Arc::clone(&read),
            stat,
        }));
        registry.register(stat.desc(), family)?;
    }
    Ok(())
}
