//! The peers' own usage shape, shared by `benches/peer_shape.rs` and the `shape_memory`
//! binary.
//!
//! - Lookup: two labels, values `GET|POST|PUT|DELETE` × `200|404|500` passed as
//!   `&'static str` on every call, rotating over the 12 combinations ([`LOOKUPS`]).
//! - Render: `families` counter families of 100 series plus `families` histogram series
//!   (in families of 100), where every name, help text and label value (`v0`..`v99`) is a
//!   run-time `String`, and Corral's families are defined through corral-std's
//!   [`Families`] (seeded tables), as a service whose metrics
//!   come from configuration would define them.

use corral_core::{Counter, Registry, RegistryConfig, buckets};
use corral_std::runtime::{Families, Spec};

/// Methods of the lookup shape.
pub const SHAPE_METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
/// Statuses of the lookup shape.
pub const SHAPE_STATUSES: [&str; 3] = ["200", "404", "500"];

/// The 12 lookups, in rotation order (method-major).
pub const LOOKUPS: [[&str; 2]; 12] = {
    let mut out = [["", ""]; 12];
    let mut i = 0;
    while i < 12 {
        out[i] = [SHAPE_METHODS[i / 3], SHAPE_STATUSES[i % 3]];
        i += 1;
    }
    out
};

/// Series per family, and label values per family (`v0`..`v99`).
pub const PER_FAMILY: usize = 100;

/// Families of Corral's render registry: up to 1,000 counter and 10 histogram families.
pub const REGISTRY_FAMILIES: usize = 1024;

/// The render fixture's run-time strings.
#[derive(Debug)]
pub struct Fixture {
    /// Counter families.
    pub families: usize,
    /// Counter family names, `shape_requests_{f}_total`.
    pub names: Vec<String>,
    /// Help texts.
    pub helps: Vec<String>,
    /// Label values `v0`..`v99`.
    pub values: Vec<String>,
}

impl Fixture {
    /// `families` counter families of 100 series, and `families` histogram series.
    pub fn new(families: usize) -> Self {
        assert!(
            families.is_multiple_of(PER_FAMILY),
            "histograms come in families of 100"
        );
        Self {
            families,
            names: (0..families)
                .map(|f| format!("shape_requests_{f}_total"))
                .collect(),
            helps: (0..families)
                .map(|f| format!("Requests of family {f}"))
                .collect(),
            values: (0..PER_FAMILY).map(|v| format!("v{v}")).collect(),
        }
    }

    /// Histogram families (100 series each).
    pub fn histogram_families(&self) -> usize {
        self.families / PER_FAMILY
    }

    /// Name of histogram family `h`.
    pub fn histogram_name(h: usize) -> String {
        format!("shape_latency_{h}_ms")
    }

    /// Series in all: counters plus histograms.
    pub fn series(&self) -> usize {
        self.families * PER_FAMILY + self.families
    }

    /// Sample lines in the text output: one per counter, 14 buckets + sum + count per
    /// histogram.
    pub fn samples(&self) -> usize {
        self.families * PER_FAMILY + self.families * 16
    }

    /// The value of counter `(f, v)`.
    pub fn count(f: usize, v: usize) -> u64 {
        (f * PER_FAMILY + v) as u64 * 7919 + 1
    }

    /// The observations of histogram series `(h, v)`.
    pub fn observations(h: usize, v: usize) -> impl Iterator<Item = f64> {
        (0..10).map(move |i| ((h * 97 + v * 31 + i * 17) % 3000) as f64 * 1.5 + 0.25)
    }
}

/// Corral: every family defined through corral-std's run-time [`Families`] (a seeded
/// table of 256 slots per 100 series: 128 would admit only 96) in a registry sized for the
/// fixture.
pub fn corral(fixture: &Fixture) -> &'static Registry<REGISTRY_FAMILIES> {
    let registry: &'static Registry<REGISTRY_FAMILIES> =
        Box::leak(Box::new(Registry::with_config(
            RegistryConfig::DEFAULT
                .with_max_total_series(fixture.series() + 1000)
                .with_self_metrics(false),
        )));
    let families = Families::new(registry);
    for f in 0..fixture.families {
        let family = families
            .family::<Counter, 1, 256>(&Spec::new(&fixture.names[f], &fixture.helps[f]), ["key"])
            .expect("a fresh name");
        for (v, value) in fixture.values.iter().enumerate() {
            family
                .try_with_labels([value.as_str()])
                .expect("room for 100 series")
                .inc_by(Fixture::count(f, v));
        }
    }
    for h in 0..fixture.histogram_families() {
        let family = families
            .histogram_family::<14, 1, 256>(
                &Spec::new(&Fixture::histogram_name(h), "Request latency"),
                ["key"],
                buckets::LATENCY_MS,
            )
            .expect("a fresh name");
        for (v, value) in fixture.values.iter().enumerate() {
            let series = family.try_with_labels([value.as_str()]).expect("room");
            Fixture::observations(h, v).for_each(|o| series.observe(o));
        }
    }
    registry
}

/// prometheus-client: a `Family<Key, Counter>` per counter family, label values as owned
/// `String`s (they are run-time strings).
pub mod pc {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    use super::Fixture;

    /// The one label of the fixture's families.
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Key {
        /// `v0`..`v99`.
        pub key: String,
    }

    fn latency() -> Histogram {
        Histogram::new(corral_core::buckets::LATENCY_MS.iter().copied())
    }

    /// The fixture in a prometheus-client registry.
    pub fn registry(fixture: &Fixture) -> Registry {
        let mut registry = Registry::default();
        for f in 0..fixture.families {
            let family = Family::<Key, Counter>::default();
            // prometheus-client appends `_total` itself.
            let name = fixture.names[f].strip_suffix("_total").unwrap_or_default();
            registry.register(name, fixture.helps[f].clone(), family.clone());
            for (v, value) in fixture.values.iter().enumerate() {
                family
                    .get_or_create(&Key { key: value.clone() })
                    .inc_by(Fixture::count(f, v));
            }
        }
        for h in 0..fixture.histogram_families() {
            let family = Family::<Key, Histogram, fn() -> Histogram>::new_with_constructor(latency);
            registry.register(
                Fixture::histogram_name(h),
                "Request latency",
                family.clone(),
            );
            for (v, value) in fixture.values.iter().enumerate() {
                let series = family.get_or_create(&Key { key: value.clone() });
                Fixture::observations(h, v).for_each(|o| series.observe(o));
            }
        }
        registry
    }
}

/// prometheus (tikv): an `IntCounterVec` and a `HistogramVec` per family.
pub fn prometheus(fixture: &Fixture) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    for f in 0..fixture.families {
        let vec = prometheus::IntCounterVec::new(
            prometheus::Opts::new(fixture.names[f].clone(), fixture.helps[f].clone()),
            &["key"],
        )
        .expect("valid options");
        registry
            .register(Box::new(vec.clone()))
            .expect("fresh name");
        for (v, value) in fixture.values.iter().enumerate() {
            vec.with_label_values(&[value.as_str()])
                .inc_by(Fixture::count(f, v));
        }
    }
    for h in 0..fixture.histogram_families() {
        let vec = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new(Fixture::histogram_name(h), "Request latency")
                .buckets(buckets::LATENCY_MS.to_vec()),
            &["key"],
        )
        .expect("valid options");
        registry
            .register(Box::new(vec.clone()))
            .expect("fresh name");
        for (v, value) in fixture.values.iter().enumerate() {
            let series = vec.with_label_values(&[value.as_str()]);
            Fixture::observations(h, v).for_each(|o| series.observe(o));
        }
    }
    registry
}

/// metrics with its Prometheus recorder (a local one: render returns a fresh `String`).
pub fn metrics(fixture: &Fixture) -> metrics_exporter_prometheus::PrometheusHandle {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(buckets::LATENCY_MS)
        .expect("bounds")
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for f in 0..fixture.families {
            let name = fixture.names[f].clone();
            metrics::describe_counter!(name.clone(), fixture.helps[f].clone());
            for (v, value) in fixture.values.iter().enumerate() {
                metrics::counter!(name.clone(), "key" => value.clone())
                    .increment(Fixture::count(f, v));
            }
        }
        for h in 0..fixture.histogram_families() {
            let name = Fixture::histogram_name(h);
            metrics::describe_histogram!(name.clone(), "Request latency");
            for (v, value) in fixture.values.iter().enumerate() {
                let series = metrics::histogram!(name.clone(), "key" => value.clone());
                Fixture::observations(h, v).for_each(|o| series.record(o));
            }
        }
    });
    // The recorder must outlive the handle's renders.
    Box::leak(Box::new(recorder));
    handle
}

/// measured: label values interned up front (`fixed_with = RodeoReader`), its documented
/// way to take string labels.
#[allow(missing_docs, reason = "types generated by measured's derive macros")]
pub mod ms {
    use measured::lasso::{Rodeo, RodeoReader};
    use measured::metric::MetricFamilyEncoding;
    use measured::metric::group::Encoding;
    use measured::metric::name::MetricName;
    use measured::text::BufferedTextEncoder;
    use measured::{CounterVec, HistogramVec, LabelGroup, MetricGroup};

    use super::Fixture;

    #[derive(Clone, Copy, Debug, LabelGroup)]
    #[label(set = KeySet)]
    pub struct Key<'a> {
        #[label(fixed_with = RodeoReader)]
        pub key: &'a str,
    }

    /// The fixture's families, with their names.
    pub struct Metrics {
        counters: Vec<(&'static MetricName, String, CounterVec<KeySet>)>,
        histograms: Vec<(&'static MetricName, HistogramVec<KeySet, 13>)>,
    }

    impl core::fmt::Debug for Metrics {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Metrics").finish_non_exhaustive()
        }
    }

    impl MetricGroup<BufferedTextEncoder> for Metrics {
        fn collect_group_into(
            &self,
            enc: &mut BufferedTextEncoder,
        ) -> Result<(), <BufferedTextEncoder as Encoding>::Err> {
            for (name, help, family) in &self.counters {
                enc.write_help(*name, help)?;
                family.collect_family_into(*name, enc)?;
            }
            for (name, family) in &self.histograms {
                enc.write_help(*name, "Request latency")?;
                family.collect_family_into(*name, enc)?;
            }
            Ok(())
        }
    }

    fn set(fixture: &Fixture) -> KeySet {
        KeySet::new(Rodeo::from_iter(fixture.values.iter().map(String::as_str)).into_reader())
    }

    /// measured names are `&'static`: the run-time names are given process lifetime.
    fn name(s: String) -> &'static MetricName {
        MetricName::from_str(Box::leak(s.into_boxed_str()))
    }

    /// The fixture as measured families.
    pub fn metrics(fixture: &Fixture) -> Metrics {
        let counters = (0..fixture.families)
            .map(|f| {
                let family = CounterVec::with_label_set(set(fixture));
                for (v, value) in fixture.values.iter().enumerate() {
                    family.inc_by(Key { key: value }, Fixture::count(f, v));
                }
                (
                    name(fixture.names[f].clone()),
                    fixture.helps[f].clone(),
                    family,
                )
            })
            .collect();
        let histograms = (0..fixture.histogram_families())
            .map(|h| {
                let family = HistogramVec::with_label_set_and_metadata(
                    set(fixture),
                    crate::peers::measured_thresholds(),
                );
                for (v, value) in fixture.values.iter().enumerate() {
                    Fixture::observations(h, v).for_each(|o| family.observe(Key { key: value }, o));
                }
                (name(Fixture::histogram_name(h)), family)
            })
            .collect();
        Metrics {
            counters,
            histograms,
        }
    }
}
