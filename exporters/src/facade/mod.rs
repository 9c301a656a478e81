//! A [`metrics::Recorder`] over a Corral registry (feature `metrics-facade`).
//!
//! Libraries that record through the `metrics` crate's macros (`counter!`, `gauge!`,
//! `histogram!`) then land in the same registry as Corral's own families, and so in every
//! exporter that visits it: the text encoders, the `/metrics` endpoint, OTLP push.
//!
//! ```
//! use corral_core::{Registry, RegistryConfig};
//! use corral_exporters::facade::MetricsRecorder;
//!
//! static REGISTRY: Registry<64> =
//!     Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
//!
//! let recorder = MetricsRecorder::builder(&REGISTRY).build()?;
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("jobs_done", "Jobs finished");
//!     metrics::counter!("jobs_done", "queue" => "emails").increment(2);
//! });
//!
//! let mut text = Vec::new();
//! corral_core::encode::prometheus(&REGISTRY, &mut corral_std::encode::VecSink::new(&mut text))?;
//! let text = String::from_utf8(text)?;
//! assert!(text.contains("# HELP jobs_done_total Jobs finished\n"));
//! assert!(text.contains("jobs_done_total{queue=\"emails\"} 2\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a service, install it globally in one line (over `corral-std`'s default registry, or
//! [`MetricsRecorder::builder`]`(..).install()` for another):
//!
//! ```no_run
//! corral_exporters::facade::install_default()?;
//! # Ok::<(), corral_exporters::facade::InstallError>(())
//! ```
//!
//! ## How names and labels map
//!
//! - A metric name and its label *names* make a family, defined in the registry the first
//!   time the recorder sees them, through [`corral_std::runtime::Families`]: a counter is a
//!   family of [`Counter`]s, a gauge of [`Gauge`]s (`f64`), a histogram of histogram
//!   cells with the configured bucket bounds, or a [`Summary`](corral_core::Summary)
//!   sketch where [`Builder::summary`] says so. Label names keep the order of the first
//!   key; later keys may list them in any order.
//! - Counters whose name lacks `_total` get it appended (`requests` is exported as
//!   `requests_total`), as Corral and OpenMetrics name counters.
//! - Each family's table is sized for the configured number of series
//!   ([`Builder::max_series`], [`Builder::max_series_for`]; the default is the registry's
//!   `max_series_per_metric`), rounded up to what a table of 32, 128, 512, 2,048 or 8,192
//!   slots admits (three quarters of it: 24, 96, 384, 1,536 or 6,144 series); it holds that
//!   many series, and never more than the registry's `max_series_per_metric`. Past that, and past the registry's series budget, values go to the
//!   family's overflow series (`otel_metric_overflow="true"`), counted in
//!   `metrics_registry_series_overflow_total`: totals stay exact.
//! - `describe_*` sets the help text and the unit. Corral fixes both when the family is
//!   defined, so a description must come before the metric's first recording (the usual
//!   order: describe at start-up); one that comes later is logged and not shown. A unit is
//!   declared only when the name ends with it (`_seconds`, `_bytes`, before `_total`), as
//!   OpenMetrics requires; otherwise it is logged and left out. `Unit::Count` is no unit.
//!
//! ## Refusals
//!
//! A name that breaks Prometheus' rules, one already used by a family of another type,
//! more than [`MAX_LABELS`] labels, or anything else the registry refuses (a clash with a
//! family registered directly, a full registry) is refused, and so is a key whose label
//! names differ from those its family was defined with. Each is logged once through
//! `tracing` (target `corral::facade`, level warn) with the reason, and every registration
//! of it returns a **no-op handle** (its values are dropped). Each such registration is
//! counted in `metrics_facade_refused_total{metric,reason}`, reason `invalid_name`, `type`,
//! `too_many_labels`, `label_names`, `name_clash`, `registry_full` or `registry`. Nothing
//! panics.
//!
//! ## Cost
//!
//! A key seen before resolves through a lock-free cache by the hash `metrics` computed
//! when it built the key: a probe, a comparison (pointer equality for the macros' static
//! keys), and a clone of the handle's `Arc`. Nothing allocates or locks. A key's first
//! sight defines the family or creates the series, and allocates its handle. Keys that
//! land in the overflow series are not cached (each registration is a counted lookup),
//! and neither are refused ones; both stay allocation-free.

mod family;
mod table;

use core::fmt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use corral_core::{
    Counter, Gauge, HistogramCells, Reason, Registry, SummaryConfig, SummaryConfigError,
    is_valid_metric_name,
};
use corral_std::runtime::{DefineError, Families, Spec};
use corral_std::seeded::{self, RandomState, SeededFamily};
use metrics::{Key, KeyName, Metadata, Recorder, SharedString, Unit};
use tracing_events as log;

pub use family::MAX_LABELS;
use family::{
    Cell, LARGE_BUCKETS, Resolved, SMALL_BUCKETS, SUMMARY_BUCKETS, SUMMARY_SCALE, Series,
    SummaryCell, Tier, definer,
};
use table::{Rejected, Table};

/// The Prometheus client libraries' default histogram bounds (seconds), used for
/// histograms no [`Builder::buckets_for`] rule matches.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The most bounds a facade histogram may have (`+Inf` is implicit).
pub const MAX_BOUNDS: usize = LARGE_BUCKETS - 1;

/// The relative error of a facade summary's quantiles.
pub const SUMMARY_RELATIVE_ERROR: f64 = SummaryCell::RELATIVE_ERROR;

/// Which metric names a rule applies to, matched against the name as the macros gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// The whole name.
    Full(String),
    /// The start of the name.
    Prefix(String),
    /// The end of the name.
    Suffix(String),
}

impl Matcher {
    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Full(full) => name == full,
            Matcher::Prefix(prefix) => name.starts_with(prefix.as_str()),
            Matcher::Suffix(suffix) => name.ends_with(suffix.as_str()),
        }
    }
}

/// How a histogram name rendered as a summary is summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryOptions {
    /// Quantiles reported, strictly increasing within `[0, 1]` (at most 16).
    pub quantiles: Vec<f64>,
    /// The lowest value the sketch resolves; it spans `lowest` to `lowest * 2^32` with a
    /// relative error of [`SUMMARY_RELATIVE_ERROR`]. Values outside still count.
    pub lowest: f64,
}

impl Default for SummaryOptions {
    /// Quantiles 0.5, 0.9, 0.95, 0.99, 0.999 over 1 µs to about 71 minutes (in seconds).
    fn default() -> Self {
        Self {
            quantiles: corral_core::DEFAULT_QUANTILES.to_vec(),
            lowest: 1e-6,
        }
    }
}

/// Why a recorder could not be built; nothing was registered.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// Histogram bounds are not finite and strictly increasing, or there are more than
    /// [`MAX_BOUNDS`].
    Buckets {
        /// The rule (`default`, or the matcher) the bounds belong to.
        rule: String,
        /// The bounds.
        bounds: Vec<f64>,
    },
    /// A summary configuration is invalid.
    Summary {
        /// The matcher it belongs to.
        rule: String,
        /// What is wrong with it.
        error: SummaryConfigError,
    },
    /// The registry refused the recorder's own `metrics_facade_refused_total` family, for
    /// example because a recorder over that registry exists already.
    SelfMetric(DefineError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Buckets { rule, bounds } => write!(
                f,
                "histogram bounds for {rule} must be finite, strictly increasing and at most \
                 {MAX_BOUNDS}: {bounds:?}"
            ),
            BuildError::Summary { rule, error } => {
                write!(f, "summary configuration for {rule}: {error}")
            }
            BuildError::SelfMetric(e) => write!(
                f,
                "cannot register the facade's own metric (one recorder per registry): {e}"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::SelfMetric(e) => Some(e),
            _ => None,
        }
    }
}

/// Why the recorder could not be installed as the global one.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// Building it failed.
    Build(BuildError),
    /// Another global recorder is installed already (the `metrics` crate allows one per
    /// process).
    AlreadyInstalled,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Build(e) => e.fmt(f),
            InstallError::AlreadyInstalled => {
                f.write_str("a global `metrics` recorder is installed already")
            }
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Build(e) => Some(e),
            InstallError::AlreadyInstalled => None,
        }
    }
}

impl From<BuildError> for InstallError {
    fn from(e: BuildError) -> Self {
        InstallError::Build(e)
    }
}

/// Installs a recorder with the default settings over [`corral_std::default_registry`] as
/// the global `metrics` recorder.
///
/// # Errors
///
/// [`InstallError`]: the registry refused the recorder's own metric, or a global recorder
/// exists already.
pub fn install_default() -> Result<(), InstallError> {
    MetricsRecorder::builder(corral_std::default_registry()).install()
}

/// Configures a [`MetricsRecorder`].
#[derive(Debug)]
pub struct Builder<const FAMILIES: usize> {
    registry: &'static Registry<FAMILIES>,
    max_series: usize,
    max_series_for: Vec<(Matcher, usize)>,
    buckets: Vec<f64>,
    buckets_for: Vec<(Matcher, Vec<f64>)>,
    summaries: Vec<(Matcher, SummaryOptions)>,
    key_cache: usize,
}

impl<const FAMILIES: usize> Builder<FAMILIES> {
    /// Series each family holds, unless a [`max_series_for`](Self::max_series_for) rule
    /// matches (default: the registry's `max_series_per_metric`).
    #[must_use]
    pub fn max_series(mut self, series: usize) -> Self {
        self.max_series = series;
        self
    }

    /// Series the families whose names `matcher` matches hold. The first matching rule
    /// wins.
    #[must_use]
    pub fn max_series_for(mut self, matcher: Matcher, series: usize) -> Self {
        self.max_series_for.push((matcher, series));
        self
    }

    /// Bucket bounds of histograms no [`buckets_for`](Self::buckets_for) rule matches
    /// (default [`DEFAULT_BUCKETS`]).
    #[must_use]
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = bounds.to_vec();
        self
    }

    /// Bucket bounds of the histograms whose names `matcher` matches. The first matching
    /// rule wins.
    #[must_use]
    pub fn buckets_for(mut self, matcher: Matcher, bounds: &[f64]) -> Self {
        self.buckets_for.push((matcher, bounds.to_vec()));
        self
    }

    /// Exports the histograms whose names `matcher` matches as summaries (quantiles from
    /// Corral's sketch) instead. Summary rules are checked before bucket rules.
    #[must_use]
    pub fn summary(mut self, matcher: Matcher, options: SummaryOptions) -> Self {
        self.summaries.push((matcher, options));
        self
    }

    /// Distinct keys (name plus label values) the lock-free key cache holds (default:
    /// twice the registry's `max_total_series`). A real series whose key does not fit
    /// is still recorded, with a handle allocated for each registration.
    #[must_use]
    pub fn key_cache(mut self, keys: usize) -> Self {
        self.key_cache = keys;
        self
    }

    /// Builds the recorder and registers its own metric, `metrics_facade_refused_total`.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for invalid bounds or summary settings, or when the registry refuses
    /// the recorder's own metric.
    pub fn build(self) -> Result<MetricsRecorder<FAMILIES>, BuildError> {
        let check = |rule: String, bounds: Vec<f64>| -> Result<&'static [f64], BuildError> {
            let ordered = bounds.windows(2).all(|w| w[0] < w[1]);
            if bounds.len() > MAX_BOUNDS || !ordered || bounds.iter().any(|b| !b.is_finite()) {
                return Err(BuildError::Buckets { rule, bounds });
            }
            Ok(Box::leak(bounds.into_boxed_slice()))
        };
        let buckets = check("the default".into(), self.buckets)?;
        let mut buckets_for = Vec::with_capacity(self.buckets_for.len());
        for (matcher, bounds) in self.buckets_for {
            let bounds = check(format!("{matcher:?}"), bounds)?;
            buckets_for.push((matcher, bounds));
        }
        let mut summaries = Vec::with_capacity(self.summaries.len());
        for (matcher, options) in self.summaries {
            let error = |error| BuildError::Summary {
                rule: format!("{matcher:?}"),
                error,
            };
            let quantiles: &'static [f64] = Box::leak(options.quantiles.into_boxed_slice());
            let config = SummaryConfig::<SUMMARY_SCALE>::try_new(options.lowest)
                .and_then(|c| c.try_with_quantiles(quantiles))
                .map_err(error)?;
            config.check::<SUMMARY_BUCKETS, 0>().map_err(error)?;
            summaries.push((matcher, config));
        }

        let families = Families::new(self.registry);
        let refused = families
            .define(
                &Spec::new(
                    "metrics_facade_refused_total",
                    "metrics facade registrations refused (given a no-op handle), by metric and reason",
                ),
                || seeded::family(["metric", "reason"]),
            )
            .map_err(BuildError::SelfMetric)?;
        let names = FAMILIES.saturating_mul(4).max(64);
        Ok(MetricsRecorder {
            registry: self.registry,
            families,
            refused,
            max_series: self.max_series,
            max_series_for: self.max_series_for,
            buckets,
            buckets_for,
            summaries,
            counters: Table::new(self.key_cache),
            gauges: Table::new(self.key_cache),
            histograms: Table::new(self.key_cache),
            names: Table::new(names),
            name_hasher: seeded::random_state(),
            state: Mutex::new(State::default()),
            cache_full_logged: AtomicBool::new(false),
            names_full_logged: AtomicBool::new(false),
        })
    }

    /// Builds the recorder and installs it as the global `metrics` recorder.
    ///
    /// # Errors
    ///
    /// See [`build`](Self::build); [`InstallError::AlreadyInstalled`] when a global
    /// recorder exists.
    pub fn install(self) -> Result<(), InstallError> {
        let recorder = self.build()?;
        metrics::set_global_recorder(recorder).map_err(|_| InstallError::AlreadyInstalled)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Clone, Copy)]
enum FamilyRef {
    Counter(&'static dyn Series<metrics::Counter>),
    Gauge(&'static dyn Series<metrics::Gauge>),
    Histogram(&'static dyn Series<metrics::Histogram>),
}

#[derive(Clone, Copy)]
enum Target {
    Family(FamilyRef),
    Refused(&'static str),
}

/// What a metric name (of one kind, as the macros gave it) resolved to.
struct NameEntry {
    kind: Kind,
    name: Box<str>,
    target: Target,
    /// Whether a key with other label names was logged already.
    mismatch_logged: AtomicBool,
}

/// A cached key and its handle.
struct Cached<O> {
    hash: u64,
    key: Key,
    handle: O,
}

#[derive(Default)]
struct State {
    descriptions: HashMap<(Kind, String), (Option<Unit>, String)>,
    /// Families defined, by their Corral name (a counter `x` and `x_total` share one).
    by_name: HashMap<String, (Kind, FamilyRef)>,
    /// Names whose late description was logged.
    late_logged: HashSet<(Kind, String)>,
}

/// A [`metrics::Recorder`] over a Corral registry; see the [module docs](self).
pub struct MetricsRecorder<const FAMILIES: usize = { corral_std::DEFAULT_FAMILIES }> {
    registry: &'static Registry<FAMILIES>,
    families: Families<FAMILIES>,
    refused: &'static SeededFamily<Counter, 2, 64>,
    max_series: usize,
    max_series_for: Vec<(Matcher, usize)>,
    buckets: &'static [f64],
    buckets_for: Vec<(Matcher, &'static [f64])>,
    summaries: Vec<(Matcher, SummaryConfig<SUMMARY_SCALE>)>,
    counters: Table<Cached<metrics::Counter>>,
    gauges: Table<Cached<metrics::Gauge>>,
    histograms: Table<Cached<metrics::Histogram>>,
    names: Table<NameEntry>,
    name_hasher: RandomState,
    state: Mutex<State>,
    cache_full_logged: AtomicBool,
    names_full_logged: AtomicBool,
}

impl<const FAMILIES: usize> fmt::Debug for MetricsRecorder<FAMILIES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsRecorder")
            .field("registry", self.registry)
            .field("families", &self.families)
            .field("cached_keys", &self.cached_keys())
            .finish_non_exhaustive()
    }
}

impl<const FAMILIES: usize> MetricsRecorder<FAMILIES> {
    /// A builder for a recorder over `registry`.
    pub fn builder(registry: &'static Registry<FAMILIES>) -> Builder<FAMILIES> {
        let config = registry.config();
        Builder {
            registry,
            max_series: config.max_series_per_metric,
            max_series_for: Vec::new(),
            buckets: DEFAULT_BUCKETS.to_vec(),
            buckets_for: Vec::new(),
            summaries: Vec::new(),
            key_cache: config.max_total_series.saturating_mul(2),
        }
    }

    /// The registry the recorder defines its families in.
    pub fn registry(&self) -> &'static Registry<FAMILIES> {
        self.registry
    }

    /// Keys held by the lock-free cache (counters, gauges and histograms together).
    pub fn cached_keys(&self) -> usize {
        self.counters.len() + self.gauges.len() + self.histograms.len()
    }

    /// Installs the recorder as the global `metrics` recorder.
    ///
    /// # Errors
    ///
    /// [`InstallError::AlreadyInstalled`] when a global recorder exists.
    pub fn install(self) -> Result<(), InstallError> {
        metrics::set_global_recorder(self).map_err(|_| InstallError::AlreadyInstalled)
    }

    fn name_hash(&self, kind: Kind, name: &str) -> u64 {
        self.name_hasher.hash_one((kind, name))
    }

    /// What `name` of `kind` resolves to, defining its family on first sight.
    fn name_entry(&self, kind: Kind, key: &Key) -> Option<&NameEntry> {
        let name = key.name();
        let hash = self.name_hash(kind, name);
        let eq = |e: &NameEntry| e.kind == kind && &*e.name == name;
        if let Some(entry) = self.names.find(hash, eq) {
            return Some(entry);
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = self.names.find(hash, eq) {
            return Some(entry);
        }
        if self.names.is_full() {
            // Only refused names can be this many (families are bounded by the registry):
            // refuse without trying, so that a flood of new names costs no memory.
            if !self.names_full_logged.swap(true, Ordering::Relaxed) {
                log::warn!(
                    target: "corral::facade",
                    "too many refused metric names to remember; new names are refused unlogged"
                );
            }
            return None;
        }
        let target = self.define(&mut state, kind, key);
        let entry = NameEntry {
            kind,
            name: name.into(),
            target,
            mismatch_logged: AtomicBool::new(false),
        };
        // Cannot be full: checked above, under the same lock.
        self.names.insert(hash, entry, eq).ok()
    }

    /// Defines the family for the first key of a name, or says why not (logging it).
    fn define(&self, state: &mut State, kind: Kind, key: &Key) -> Target {
        let given = key.name();
        let name = match kind {
            Kind::Counter if !given.ends_with("_total") => format!("{given}_total"),
            _ => given.to_owned(),
        };
        let refuse = |reason: &'static str, why: &dyn fmt::Display| {
            log::warn!(
                target: "corral::facade",
                "metrics {} `{given}` refused; its recordings are dropped: {why}",
                kind.as_str()
            );
            Target::Refused(reason)
        };
        if let Some(&(other, family)) = state.by_name.get(&name) {
            if other == kind {
                return Target::Family(family);
            }
            return refuse(
                "type",
                &format_args!("`{name}` is a {} already", other.as_str()),
            );
        }
        if !is_valid_metric_name(&name) {
            return refuse(
                "invalid_name",
                &format_args!("`{name}` is not a valid Prometheus metric name"),
            );
        }
        let labels: Vec<&'static str> = key
            .labels()
            .map(|l| &*Box::leak(l.key().to_owned().into_boxed_str()))
            .collect();
        if labels.len() > MAX_LABELS {
            return refuse(
                "too_many_labels",
                &format_args!("{} labels, at most {MAX_LABELS}", labels.len()),
            );
        }
        let (unit, help) = state
            .descriptions
            .get(&(kind, given.to_owned()))
            .cloned()
            .unwrap_or_default();
        let unit = unit.filter(|u| *u != Unit::Count).map(|u| u.as_str());
        let base = name
            .strip_suffix("_total")
            .filter(|_| kind == Kind::Counter);
        let base = base.unwrap_or(&name);
        let unit = match unit {
            Some(u) if base.ends_with(u) && base[..base.len() - u.len()].ends_with('_') => Some(u),
            Some(u) => {
                log::warn!(
                    target: "corral::facade",
                    "metrics {} `{given}`: unit `{u}` left out because the name does not end with `_{u}`",
                    kind.as_str()
                );
                None
            }
            None => None,
        };
        let mut spec = Spec::new(&name, &help);
        if let Some(unit) = unit {
            spec = spec.unit(unit);
        }
        let series = self
            .max_series_for
            .iter()
            .find(|(m, _)| m.matches(given))
            .map_or(self.max_series, |&(_, s)| s);
        let tier = Tier::for_series(series);
        let defined = match kind {
            Kind::Counter => {
                define_as::<Counter, FAMILIES>(&self.families, &spec, &labels, tier, ())
                    .map(FamilyRef::Counter)
            }
            Kind::Gauge => define_as::<Gauge, FAMILIES>(&self.families, &spec, &labels, tier, ())
                .map(FamilyRef::Gauge),
            Kind::Histogram => self.define_histogram(&spec, given, &labels, tier),
        };
        match defined {
            Ok(family) => {
                state.by_name.insert(name, (kind, family));
                Target::Family(family)
            }
            Err(error) => {
                let reason = match &error {
                    DefineError::Register(e) => match e.reason {
                        Reason::DuplicateName { .. } => "name_clash",
                        Reason::RegistryFull { .. } => "registry_full",
                        Reason::InvalidName
                        | Reason::InvalidLabelName { .. }
                        | Reason::ReservedLabelName { .. }
                        | Reason::DuplicateLabelName { .. } => "invalid_name",
                        _ => "registry",
                    },
                    DefineError::Exists { .. } => "name_clash",
                    _ => "registry",
                };
                refuse(reason, &error)
            }
        }
    }

    fn define_histogram(
        &self,
        spec: &Spec<'_>,
        given: &str,
        labels: &[&'static str],
        tier: Tier,
    ) -> Result<FamilyRef, DefineError> {
        if let Some((_, config)) = self.summaries.iter().find(|(m, _)| m.matches(given)) {
            return define_as::<SummaryCell, FAMILIES>(&self.families, spec, labels, tier, *config)
                .map(FamilyRef::Histogram);
        }
        let bounds = self
            .buckets_for
            .iter()
            .find(|(m, _)| m.matches(given))
            .map_or(self.buckets, |&(_, b)| b);
        let family = if bounds.len() < SMALL_BUCKETS {
            define_as::<HistogramCells<SMALL_BUCKETS>, FAMILIES>(
                &self.families,
                spec,
                labels,
                tier,
                bounds,
            )
        } else {
            define_as::<HistogramCells<LARGE_BUCKETS>, FAMILIES>(
                &self.families,
                spec,
                labels,
                tier,
                bounds,
            )
        };
        family.map(FamilyRef::Histogram)
    }

    fn count_refused(&self, name: &str, reason: &'static str) {
        self.refused.with_labels([name, reason]).inc();
    }

    /// The slow path of every registration: the key was not in the cache.
    fn resolve<O: Clone>(
        &self,
        kind: Kind,
        key: &Key,
        cache: &Table<Cached<O>>,
        pick: fn(FamilyRef) -> Option<&'static dyn Series<O>>,
        noop: fn() -> O,
    ) -> O {
        let Some(entry) = self.name_entry(kind, key) else {
            self.count_refused(key.name(), "refused");
            return noop();
        };
        let family = match entry.target {
            Target::Refused(reason) => {
                self.count_refused(key.name(), reason);
                return noop();
            }
            Target::Family(family) => match pick(family) {
                Some(family) => family,
                None => return noop(),
            },
        };
        let names = family.label_names();
        let mut values = [""; MAX_LABELS];
        let mut matched = key.labels().len() == names.len();
        for (value, name) in values.iter_mut().zip(names) {
            match key.labels().find(|l| l.key() == *name) {
                Some(label) => *value = label.value(),
                None => matched = false,
            }
        }
        if !matched {
            if !entry.mismatch_logged.swap(true, Ordering::Relaxed) {
                let given: Vec<&str> = key.labels().map(|l| l.key()).collect();
                log::warn!(
                    target: "corral::facade",
                    "metrics {} `{}` recorded with labels {given:?}, but its family has {names:?}; \
                     such recordings are dropped",
                    kind.as_str(),
                    key.name()
                );
            }
            self.count_refused(key.name(), "label_names");
            return noop();
        }
        match family.resolve(&values[..names.len()]) {
            Resolved::Overflow(handle) => handle,
            Resolved::Series(handle) => {
                let hash = key.get_hash();
                let cached = Cached {
                    hash,
                    key: key.clone(),
                    handle,
                };
                match cache.insert(hash, cached, |c| c.hash == hash && same_key(&c.key, key)) {
                    Ok(c) => c.handle.clone(),
                    Err(Rejected::Full(c)) => {
                        if !self.cache_full_logged.swap(true, Ordering::Relaxed) {
                            log::warn!(
                                target: "corral::facade",
                                "the facade's key cache is full; new keys allocate a handle per registration"
                            );
                        }
                        c.handle
                    }
                }
            }
        }
    }

    fn describe(&self, kind: Kind, key: KeyName, unit: Option<Unit>, help: SharedString) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let name = key.as_str().to_owned();
        let hash = self.name_hash(kind, &name);
        let defined = self
            .names
            .find(hash, |e| e.kind == kind && *e.name == *name)
            .is_some();
        if defined && state.late_logged.insert((kind, name.clone())) {
            log::warn!(
                target: "corral::facade",
                "description of metrics {} `{name}` came after its first recording; Corral \
                 fixes help and unit when a family is defined, so it is not shown",
                kind.as_str()
            );
        }
        state
            .descriptions
            .insert((kind, name), (unit, help.into_owned()));
    }
}

fn define_as<M, const FAMILIES: usize>(
    families: &Families<FAMILIES>,
    spec: &Spec<'_>,
    labels: &[&'static str],
    tier: Tier,
    config: M::Config,
) -> Result<&'static dyn Series<M::Out>, DefineError>
where
    M: Cell,
    M::Config: Send,
{
    // The caller checked the label count against MAX_LABELS, and `definer` covers every
    // count up to it.
    match definer::<M, FAMILIES>(labels.len(), tier) {
        Some(define) => define(families, spec, labels, config),
        None => Err(DefineError::Exists {
            name: format!("{} (more than {MAX_LABELS} labels)", spec.name()),
        }),
    }
}

/// Whether two keys are equal; the macros' static keys share their name and label
/// slices, so pointer equality settles most comparisons without reading the strings.
#[inline]
fn same_key(cached: &Key, key: &Key) -> bool {
    let same_name = core::ptr::eq(cached.name(), key.name());
    let same_labels = core::ptr::eq(cached.labels().as_slice(), key.labels().as_slice());
    (same_name && same_labels) || cached == key
}

#[inline]
fn lookup<'a, O>(cache: &'a Table<Cached<O>>, key: &Key) -> Option<&'a O> {
    let hash = key.get_hash();
    cache
        .find(hash, |c| c.hash == hash && same_key(&c.key, key))
        .map(|c| &c.handle)
}

impl<const FAMILIES: usize> Recorder for MetricsRecorder<FAMILIES> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(Kind::Counter, key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(Kind::Gauge, key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(Kind::Histogram, key, unit, description);
    }

    #[inline]
    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Counter {
        if let Some(handle) = lookup(&self.counters, key) {
            return handle.clone();
        }
        self.resolve(
            Kind::Counter,
            key,
            &self.counters,
            |f| match f {
                FamilyRef::Counter(s) => Some(s),
                _ => None,
            },
            metrics::Counter::noop,
        )
    }

    #[inline]
    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Gauge {
        if let Some(handle) = lookup(&self.gauges, key) {
            return handle.clone();
        }
        self.resolve(
            Kind::Gauge,
            key,
            &self.gauges,
            |f| match f {
                FamilyRef::Gauge(s) => Some(s),
                _ => None,
            },
            metrics::Gauge::noop,
        )
    }

    #[inline]
    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Histogram {
        if let Some(handle) = lookup(&self.histograms, key) {
            return handle.clone();
        }
        self.resolve(
            Kind::Histogram,
            key,
            &self.histograms,
            |f| match f {
                FamilyRef::Histogram(s) => Some(s),
                _ => None,
            },
            metrics::Histogram::noop,
        )
    }
}
