//! Cardinality thresholds: crossing one, seen when the registry is visited, emits exactly one
//! `tracing` warning and sets the self-metrics.

use core::fmt::Write as _;
use core::ops::ControlFlow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use corral_std::cardinality::{CardinalityMonitor, Level, Thresholds};
use corral_std::config::ObservabilityConfig;
use corral_std::core::{
    Counter, Desc, DynamicFamily, FamilyInfo, Registry, RegistryConfig, SeriesLabels, Value,
    Visitor,
};
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber, span};

/// Records every event as `(level, message and fields)`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(tracing::Level, String)>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn core::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

impl Capture {
    fn warnings(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(level, _)| *level == tracing::Level::WARN)
            .map(|(_, text)| text.clone())
            .collect()
    }
}

/// The monitor's self-metrics from a full visit: `name{labels} -> value`.
#[derive(Default)]
struct SelfMetrics(BTreeMap<String, f64>);

impl Visitor for SelfMetrics {
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        if !CardinalityMonitor::NAMES.contains(&family.name) {
            return ControlFlow::Continue(());
        }
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let v = match *value {
            Value::Gauge(f) => f,
            Value::IntGauge(i) => i as f64,
            other => panic!("{other:?}"),
        };
        self.0
            .insert(format!("{}{{{}}}", family.name, labels.join(",")), v);
        ControlFlow::Continue(())
    }
}

fn visit<const N: usize>(registry: &Registry<N>) -> BTreeMap<String, f64> {
    let mut v = SelfMetrics::default();
    registry.visit(&mut v);
    v.0
}

static REGISTRY: Registry<8> =
    Registry::with_config(RegistryConfig::DEFAULT.with_max_total_series(20));
static TENANTS: DynamicFamily<Counter, 1, 32> = DynamicFamily::new(["tenant"]);

#[test]
fn crossing_a_threshold_warns_once_and_sets_the_self_metrics() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    // The thresholds come from the configuration's cardinality section.
    let config = ObservabilityConfig::from_yaml_str_with("", |_| None).unwrap();
    let monitor = CardinalityMonitor::register(&REGISTRY, config.thresholds()).unwrap();
    REGISTRY
        .register(Desc::new("requests_total", "By tenant"), &TENANTS)
        .unwrap();
    let add = |n: usize| {
        for _ in 0..n {
            let next = TENANTS.len();
            TENANTS.with_labels([next.to_string().as_str()]).inc();
        }
    };

    // 3 of 20 series (the monitor's own): below both thresholds.
    let m = visit(&REGISTRY);
    assert_eq!(m["metrics_registry_series_usage_ratio{}"], 0.15);
    assert_eq!(
        m["metrics_registry_cardinality_threshold_exceeded{threshold=warning}"],
        0.0
    );
    assert!(capture.warnings().is_empty());

    // 16 of 20 = 0.8: the warning threshold. Seen at the next visit, warned once.
    add(13);
    assert_eq!(
        monitor.level(),
        Level::Normal,
        "nothing is checked while recording"
    );
    let m = visit(&REGISTRY);
    assert_eq!(m["metrics_registry_series_usage_ratio{}"], 0.8);
    assert_eq!(
        m["metrics_registry_cardinality_threshold_exceeded{threshold=warning}"],
        1.0
    );
    assert_eq!(
        m["metrics_registry_cardinality_threshold_exceeded{threshold=critical}"],
        0.0
    );
    let warnings = capture.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("warning threshold"), "{warnings:?}");
    assert!(warnings[0].contains("series=16"), "{warnings:?}");
    visit(&REGISTRY);
    assert_eq!(monitor.check(), Level::Warning);
    assert_eq!(
        capture.warnings().len(),
        1,
        "no second warning without a new crossing"
    );

    // 19 of 20 = 0.95: critical, one more warning.
    add(3);
    let m = visit(&REGISTRY);
    assert_eq!(
        m["metrics_registry_cardinality_threshold_exceeded{threshold=critical}"],
        1.0
    );
    assert_eq!(
        m["metrics_registry_cardinality_threshold_exceeded{threshold=warning}"],
        1.0
    );
    visit(&REGISTRY);
    let warnings = capture.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[1].contains("critical threshold"), "{warnings:?}");
    assert_eq!(monitor.level(), Level::Critical);
    assert_eq!(monitor.thresholds(), Thresholds::DEFAULT);
}
