//! The registry: a fixed number of family entries, validated on the way in, and the one
//! traversal every exporter uses.

use core::mem::MaybeUninit;
use core::ops::ControlFlow;

use crate::collect::{Collect, Prefetch, SeriesSink};
use crate::config::{Limits, RegistryConfig};
use crate::error::{OverflowReason, Reason, RegisterError};
use crate::macros::{const_fn, fresh_array};
use crate::metric::MetricKind;
use crate::names::{is_valid_label_name, is_valid_metric_name};
use crate::pad::PREFETCHES;
use crate::sync::{AtomicU32, AtomicUsize, Ordering, UnsafeCell, spin_loop};
use crate::visit::{
    Cursor, FamilyInfo, OVERFLOW_LABEL, Phase, SeriesLabels, Value, Visit, Visitor,
};

/// What a family is called and what it measures.
///
/// ```
/// use corral_core::Desc;
///
/// const LATENCY: Desc = Desc::new(
///     "stream_processor_processing_duration_ms",
///     "Event processing duration in milliseconds",
/// )
/// .with_unit("ms");
/// assert_eq!(LATENCY.name(), "stream_processor_processing_duration_ms");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    name: &'static str,
    help: &'static str,
    unit: Option<&'static str>,
    allowed_labels: &'static [&'static str],
}

impl Desc {
    /// A descriptor with a name and help text.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            unit: None,
            allowed_labels: &[],
        }
    }

    /// Declares the unit; the name must end with `_<unit>` (before `_total` for counters).
    pub const fn with_unit(mut self, unit: &'static str) -> Self {
        self.unit = Some(unit);
        self
    }

    /// Allows these labels although they are on the registry's high-cardinality deny-list.
    pub const fn allow_labels(mut self, labels: &'static [&'static str]) -> Self {
        self.allowed_labels = labels;
        self
    }

    /// The metric name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The help text.
    pub const fn help(&self) -> &'static str {
        self.help
    }

    /// The unit, if declared.
    pub const fn unit(&self) -> Option<&'static str> {
        self.unit
    }
}

#[derive(Clone, Copy)]
struct Registered {
    desc: Desc,
    metric: &'static dyn Collect,
}

struct Entry {
    cell: UnsafeCell<MaybeUninit<Registered>>,
}

impl Entry {
    const_fn! {
        const fn new() -> Self {
            Self { cell: UnsafeCell::new(MaybeUninit::uninit()) }
        }
    }
}

// SAFETY: an entry's cell is written once, by the registering thread while it holds the
// registry's lock and before it publishes the entry by storing `published` with `Release`;
// readers read it only at indices below a `published` they loaded with `Acquire`, and it is
// never written again. `Registered` itself is `Send + Sync` (a `Copy` descriptor of
// `&'static str`s and a reference to a `Sync` collector).
unsafe impl Sync for Entry {}

/// A fixed-capacity registry of up to `FAMILIES` families, usable as a `static`.
///
/// Registration validates names, labels and limits and either registers the family or
/// returns an error naming what was wrong; it takes a short spin lock so that two
/// registrations cannot both claim a name. Visiting never takes that lock: it sees every
/// family registered before the visit began.
///
/// ```
/// use corral_core::{Counter, Desc, DynamicFamily, Registry};
///
/// static REGISTRY: Registry<8> = Registry::new();
/// static EVENTS: Counter = Counter::new();
/// static ERRORS: DynamicFamily<Counter, 1, 16> = DynamicFamily::new(["error_type"]);
///
/// REGISTRY.register(Desc::new("events_total", "Events received"), &EVENTS).unwrap();
/// REGISTRY.register(Desc::new("errors_total", "Errors by type"), &ERRORS).unwrap();
/// EVENTS.inc();
/// ERRORS.with_labels(["timeout"]).inc();
/// assert_eq!(REGISTRY.total_series(), 2);
///
/// let err = REGISTRY.register(Desc::new("events", "no suffix"), &EVENTS).unwrap_err();
/// assert_eq!(err.to_string(), "cannot register metric `events`: a counter's name must end in `_total`");
/// ```
pub struct Registry<const FAMILIES: usize> {
    limits: Limits,
    lock: AtomicU32,
    published: AtomicUsize,
    entries: [Entry; FAMILIES],
}

impl<const FAMILIES: usize> core::fmt::Debug for Registry<FAMILIES> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registry")
            .field("families", &self.len())
            .field("capacity", &FAMILIES)
            .field("series", &self.total_series())
            .field("config", self.limits.config())
            .finish()
    }
}

impl<const FAMILIES: usize> Default for Registry<FAMILIES> {
    fn default() -> Self {
        Self::new()
    }
}

/// Releases the registration lock when dropped.
struct LockGuard<'a>(&'a AtomicU32);

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

const SELF_TOTAL_SERIES: &str = "metrics_registry_total_series";
const SELF_MAX_SERIES: &str = "metrics_registry_max_series";
const SELF_OVERFLOW: &str = "metrics_registry_series_overflow_total";
const SELF_NAMES: [&str; 3] = [SELF_TOTAL_SERIES, SELF_MAX_SERIES, SELF_OVERFLOW];

impl<const FAMILIES: usize> Registry<FAMILIES> {
    const_fn! {
        /// An empty registry with the default [`RegistryConfig`].
        pub const fn new() -> Self {
            Self::with_config(RegistryConfig::DEFAULT)
        }
    }

    const_fn! {
        /// An empty registry with `config`.
        pub const fn with_config(config: RegistryConfig) -> Self {
            Self {
                limits: Limits::new(config),
                lock: AtomicU32::new(0),
                published: AtomicUsize::new(0),
                entries: fresh_array!(Entry::new(); FAMILIES),
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistryConfig {
        self.limits.config()
    }

    /// Families registered.
    pub fn len(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Series in use across the registry: every series of closed label sets and
    /// unlabelled metrics, plus the dynamic series created so far. Overflow series are
    /// not counted.
    pub fn total_series(&self) -> usize {
        self.limits.series()
    }

    /// Registers `metric` under `desc`.
    ///
    /// # Errors
    ///
    /// A [`RegisterError`] naming the metric and the rule it broke; nothing is registered
    /// and no series budget is taken.
    pub fn register(
        &'static self,
        desc: Desc,
        metric: &'static dyn Collect,
    ) -> Result<(), RegisterError> {
        let error = |reason| RegisterError {
            metric: desc.name,
            reason,
        };
        let _guard = self.lock();
        let published = self.published.load(Ordering::Acquire);
        if published == FAMILIES {
            return Err(error(Reason::RegistryFull { capacity: FAMILIES }));
        }
        self.validate(&desc, metric, published).map_err(error)?;

        let reserved = metric.reserved_series();
        if !self.limits.try_reserve(reserved) {
            let available = self
                .config()
                .max_total_series
                .saturating_sub(self.limits.series());
            return Err(error(Reason::SeriesBudgetExhausted {
                needed: reserved,
                available,
            }));
        }
        if let Err(reason) = metric.attach(&self.limits) {
            self.limits.release(reserved);
            return Err(error(reason));
        }

        self.entries[published].cell.with_mut(|cell| {
            // SAFETY: we hold the registration lock and `published` has not been raised
            // past this index, so no other thread reads or writes this cell.
            unsafe { (*cell).write(Registered { desc, metric }) };
        });
        self.published.store(published + 1, Ordering::Release);
        Ok(())
    }

    fn lock(&self) -> LockGuard<'_> {
        while self
            .lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_loop();
        }
        LockGuard(&self.lock)
    }

    /// The registered family at `index`, if one is published there. Loads `published`
    /// itself, so no caller can read a cell that is not initialised.
    fn entry(&self, index: usize) -> Option<Registered> {
        if index >= self.published.load(Ordering::Acquire) {
            return None;
        }
        Some(self.entries[index].cell.with(|cell| {
            // SAFETY: `index` is below a `published` value loaded with `Acquire` just above,
            // so the cell was initialised before it was published and is never written
            // again.
            unsafe { (*cell).assume_init() }
        }))
    }

    fn validate(&self, desc: &Desc, metric: &dyn Collect, published: usize) -> Result<(), Reason> {
        let config = self.config();
        let kind = metric.kind();
        let name = desc.name;
        if !is_valid_metric_name(name) {
            return Err(Reason::InvalidName);
        }
        if kind == MetricKind::Counter && !name.ends_with("_total") {
            return Err(Reason::CounterWithoutTotal);
        }
        if kind == MetricKind::Counter && name == "_total" {
            return Err(Reason::EmptyCounterName);
        }
        if let Some(unit) = desc.unit {
            let valid = !unit.is_empty()
                && unit
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
            if !valid {
                return Err(Reason::InvalidUnit { unit });
            }
            let base = family_base(name, kind);
            let suffixed = base
                .strip_suffix(unit)
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('_'));
            if !suffixed {
                return Err(Reason::UnitNotInName { unit });
            }
        }

        let labels = metric.label_names();
        if labels.len() > config.max_label_keys {
            return Err(Reason::TooManyLabels {
                count: labels.len(),
                max: config.max_label_keys,
            });
        }
        for (i, &label) in labels.iter().enumerate() {
            if !is_valid_label_name(label) {
                return Err(Reason::InvalidLabelName { label });
            }
            let reserved = label.starts_with("__")
                || label == OVERFLOW_LABEL.0
                || (kind == MetricKind::Histogram && label == "le")
                || (kind == MetricKind::Summary && label == "quantile");
            if reserved {
                return Err(Reason::ReservedLabelName { label });
            }
            if labels[..i].contains(&label) {
                return Err(Reason::DuplicateLabelName { label });
            }
            if config.high_cardinality_labels.contains(&label)
                && !desc.allowed_labels.contains(&label)
            {
                return Err(Reason::HighCardinalityLabel { label });
            }
        }

        // Closed label sets must fit the limit exactly; a dynamic table checks its own size
        // (`Collect::check`: a power of two may round the limit up, and holds at most the
        // limit).
        let capacity = metric.capacity();
        let max = config.max_series_per_metric;
        if metric.reserved_series() > 0 && capacity > max {
            return Err(Reason::TooManySeries { capacity, max });
        }
        metric.check(config)?;

        if config.self_metrics {
            for own in SELF_NAMES {
                if clash(name, kind, own, self_kind(own)) {
                    return Err(Reason::DuplicateName { existing: own });
                }
            }
        }
        for other in (0..published).map_while(|index| self.entry(index)) {
            if clash(name, kind, other.desc.name, other.metric.kind()) {
                return Err(Reason::DuplicateName {
                    existing: other.desc.name,
                });
            }
        }
        Ok(())
    }

    /// Visits every family and series; see [`visit_from`](Self::visit_from).
    pub fn visit<V: Visitor + ?Sized>(&self, visitor: &mut V) -> Visit {
        self.visit_from(Cursor::START, visitor)
    }

    /// Visits the families in registration order, then (unless turned off) the registry's
    /// own metrics, starting at `cursor`. Each series is read once, as one consistent
    /// point, while the visitor sees it.
    ///
    /// When the visitor breaks, the visit returns [`Visit::Paused`] with a cursor at the
    /// refused callback; visiting again from it repeats that callback and continues.
    pub fn visit_from<V: Visitor + ?Sized>(&self, cursor: Cursor, visitor: &mut V) -> Visit {
        let published = self.published.load(Ordering::Acquire);
        let mut at = cursor;
        loop {
            // Past the last registered family: the registry's own metrics come next. (A
            // paused cursor never points into this gap, since `published` only grows.)
            if at.family >= published && at.family < FAMILIES {
                at = Cursor {
                    family: FAMILIES,
                    series: 0,
                    phase: Phase::Header,
                };
            }
            let Some(family) = self.family(at.family, published) else {
                return Visit::Complete;
            };
            let info = family.info();
            if at.phase == Phase::Header {
                if visitor.family(&info).is_break() {
                    return Visit::Paused(at);
                }
                at.phase = Phase::Series;
                at.series = 0;
            }
            if at.phase == Phase::Series {
                if PREFETCHES {
                    self.prefetch_ahead(at.family);
                }
                let mut sink = |_: usize, labels: &SeriesLabels<'_>, value: &Value<'_>| {
                    visitor.series(&info, labels, value)
                };
                if let ControlFlow::Break(position) =
                    family.collect(self, published, at.series, &mut sink)
                {
                    at.series = position;
                    return Visit::Paused(at);
                }
                at.phase = Phase::End;
            }
            if visitor.family_end(&info).is_break() {
                return Visit::Paused(at);
            }
            at = Cursor {
                family: at.family + 1,
                series: 0,
                phase: Phase::Header,
            };
        }
    }

    /// Tells the two registered families after `index` that they come soon (see
    /// [`Collect::prefetch`]), so that their memory loads while this one is written: in a
    /// large registry their first slots are beyond the caches.
    fn prefetch_ahead(&self, index: usize) {
        if let Some(next) = self.entry(index + 1) {
            next.metric.prefetch(Prefetch::Near);
        }
        if let Some(after) = self.entry(index + 2) {
            after.metric.prefetch(Prefetch::Far);
        }
    }

    fn family(&self, index: usize, published: usize) -> Option<Family> {
        if index < published {
            return self.entry(index).map(Family::Registered);
        }
        if !self.config().self_metrics {
            return None;
        }
        match index.checked_sub(FAMILIES)? {
            0 => Some(Family::TotalSeries),
            1 => Some(Family::MaxSeries),
            2 => Some(Family::Overflow),
            _ => None,
        }
    }
}

/// The family a visit is at: a registered one, or one of the registry's own.
enum Family {
    Registered(Registered),
    TotalSeries,
    MaxSeries,
    Overflow,
}

const OVERFLOW_LABELS: &[&str] = &["metric", "reason"];

impl Family {
    fn info(&self) -> FamilyInfo<'static> {
        let own = |name, help, kind, label_names| FamilyInfo {
            name,
            help,
            unit: None,
            kind,
            label_names,
        };
        match self {
            Family::Registered(r) => FamilyInfo {
                name: r.desc.name,
                help: r.desc.help,
                unit: r.desc.unit,
                kind: r.metric.kind(),
                label_names: r.metric.label_names(),
            },
            Family::TotalSeries => own(
                SELF_TOTAL_SERIES,
                "Series in use across the registry (overflow series not counted).",
                MetricKind::Gauge,
                &[],
            ),
            Family::MaxSeries => own(
                SELF_MAX_SERIES,
                "The registry's series limit (max_total_series).",
                MetricKind::Gauge,
                &[],
            ),
            Family::Overflow => own(
                SELF_OVERFLOW,
                "Label lookups sent to a family's overflow series, by family and reason.",
                MetricKind::Counter,
                OVERFLOW_LABELS,
            ),
        }
    }

    fn collect<const FAMILIES: usize>(
        &self,
        registry: &Registry<FAMILIES>,
        published: usize,
        from: usize,
        sink: &mut SeriesSink<'_>,
    ) -> ControlFlow<usize> {
        let gauge = |value: usize| Value::IntGauge(i64::try_from(value).unwrap_or(i64::MAX));
        match self {
            Family::Registered(r) => r.metric.collect(from, sink),
            Family::TotalSeries => one(from, sink, &gauge(registry.total_series())),
            Family::MaxSeries => one(from, sink, &gauge(registry.config().max_total_series)),
            Family::Overflow => {
                let reasons = OverflowReason::ALL.len();
                for index in from / reasons..published {
                    let Some(entry) = registry.entry(index) else {
                        break;
                    };
                    let counts = entry.metric.overflow_counts();
                    for (r, reason) in OverflowReason::ALL.iter().enumerate() {
                        let position = index * reasons + r;
                        if position < from || counts[r] == 0 {
                            continue;
                        }
                        let values = [entry.desc.name, reason.as_str()];
                        let labels = SeriesLabels::from_pairs(OVERFLOW_LABELS, &values);
                        if sink(position, &labels, &Value::Counter(counts[r])).is_break() {
                            return ControlFlow::Break(position);
                        }
                    }
                }
                ControlFlow::Continue(())
            }
        }
    }
}

fn one(from: usize, sink: &mut SeriesSink<'_>, value: &Value<'_>) -> ControlFlow<usize> {
    if from == 0 && sink(0, &SeriesLabels::NONE, value).is_break() {
        return ControlFlow::Break(0);
    }
    ControlFlow::Continue(())
}

fn self_kind(name: &str) -> MetricKind {
    if name == SELF_OVERFLOW {
        MetricKind::Counter
    } else {
        MetricKind::Gauge
    }
}

/// The OpenMetrics family name: a counter's name without `_total`.
fn family_base(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

/// Whether a family called `name` of `kind` writes a sample line named `sample`.
fn writes_sample(name: &str, kind: MetricKind, sample: &str) -> bool {
    if sample == name {
        return true;
    }
    let suffixes: &[&str] = match kind {
        MetricKind::Counter => &["_created"],
        MetricKind::Gauge => &[],
        MetricKind::Histogram => &["_bucket", "_sum", "_count", "_created"],
        MetricKind::Summary => &["_sum", "_count", "_created"],
    };
    let base = family_base(name, kind);
    sample
        .strip_prefix(base)
        .is_some_and(|rest| suffixes.contains(&rest))
}

/// Whether two families would collide in either text format.
fn clash(a: &str, a_kind: MetricKind, b: &str, b_kind: MetricKind) -> bool {
    let (a_base, b_base) = (family_base(a, a_kind), family_base(b, b_kind));
    a_base == b_base
        || writes_sample(a, a_kind, b)
        || writes_sample(b, b_kind, a)
        || writes_sample(a, a_kind, b_base)
        || writes_sample(b, b_kind, a_base)
}
