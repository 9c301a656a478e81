//! Warning and critical thresholds on a registry's series budget.
//!
//! The check runs on the read path, never on the hot path: the monitor is registered in the
//! registry as two families of its own, and every visit (a scrape, an OTLP export) compares
//! the series in use with `max_total_series`. Recording never looks at it. Crossing a
//! threshold upwards emits one `tracing` warning; falling back below it emits one info
//! event and re-arms the warning. Call [`CardinalityMonitor::check`] to evaluate at another
//! time as well.
//!
//! Its self-metrics:
//! - `metrics_registry_series_usage_ratio` — series in use over `max_total_series`;
//! - `metrics_registry_cardinality_threshold_exceeded{threshold="warning"|"critical"}` —
//!   1 while usage is at or above that threshold, else 0.
//!
//! ```
//! use corral_std::cardinality::{CardinalityMonitor, Level, Thresholds};
//! use corral_std::core::{Counter, Desc, DynamicFamily, Registry, RegistryConfig};
//!
//! static REGISTRY: Registry<8> =
//!     Registry::with_config(RegistryConfig::DEFAULT.with_max_total_series(20));
//! static TENANTS: DynamicFamily<Counter, 1, 32> = DynamicFamily::new(["tenant"]);
//!
//! let monitor = CardinalityMonitor::register(&REGISTRY, Thresholds::new(0.8, 0.95)?)?;
//! REGISTRY.register(Desc::new("requests_total", "Requests by tenant"), &TENANTS)?;
//! assert_eq!(monitor.check(), Level::Normal); // 3 of 20 series: the monitor's own
//! for tenant in 0..13 {
//!     TENANTS.with_labels([tenant.to_string().as_str()]).inc();
//! }
//! assert_eq!(monitor.check(), Level::Warning); // 16 of 20: one `tracing` warning
//! assert_eq!(monitor.check(), Level::Warning); // still there: no second warning
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::ops::ControlFlow;
use core::sync::atomic::{AtomicU8, Ordering};

use corral_core::{
    Collect, Desc, MetricKind, RegisterError, Registry, SeriesLabels, SeriesSink, Value,
};

/// The two usage thresholds, as fractions of `max_total_series`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    warning: f64,
    critical: f64,
}

impl Thresholds {
    /// The specification's thresholds: warning at 0.8, critical at 0.95.
    pub const DEFAULT: Thresholds = Thresholds {
        warning: 0.8,
        critical: 0.95,
    };

    /// Thresholds with `0 < warning < critical <= 1`.
    ///
    /// # Errors
    ///
    /// [`ThresholdError`] naming the rule that failed.
    pub fn new(warning: f64, critical: f64) -> Result<Self, ThresholdError> {
        if !(warning > 0.0 && warning <= 1.0) {
            return Err(ThresholdError::OutOfRange { value: warning });
        }
        if !(critical > 0.0 && critical <= 1.0) {
            return Err(ThresholdError::OutOfRange { value: critical });
        }
        if !(warning < critical) {
            return Err(ThresholdError::NotIncreasing { warning, critical });
        }
        Ok(Self { warning, critical })
    }

    /// The warning threshold.
    pub fn warning(&self) -> f64 {
        self.warning
    }

    /// The critical threshold.
    pub fn critical(&self) -> f64 {
        self.critical
    }

    /// The level `usage` (series in use over the maximum) is at.
    pub fn level(&self, usage: f64) -> Level {
        if usage >= self.critical {
            Level::Critical
        } else if usage >= self.warning {
            Level::Warning
        } else {
            Level::Normal
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Invalid thresholds.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ThresholdError {
    /// A threshold is not in `(0, 1]`.
    OutOfRange {
        /// The threshold given.
        value: f64,
    },
    /// The warning threshold is not below the critical one.
    NotIncreasing {
        /// The warning threshold.
        warning: f64,
        /// The critical threshold.
        critical: f64,
    },
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ThresholdError::OutOfRange { value } => {
                write!(f, "{value} is not a fraction in (0, 1]")
            }
            ThresholdError::NotIncreasing { warning, critical } => write!(
                f,
                "the warning threshold ({warning}) must be below the critical one ({critical})"
            ),
        }
    }
}

impl core::error::Error for ThresholdError {}

/// How close the registry is to its series limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Below the warning threshold.
    Normal = 0,
    /// At or above the warning threshold, below the critical one.
    Warning = 1,
    /// At or above the critical threshold.
    Critical = 2,
}

impl Level {
    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Normal,
            1 => Level::Warning,
            _ => Level::Critical,
        }
    }
}

/// What the monitor needs from a registry (any `Registry<N>`).
trait Budget: Sync {
    fn used(&self) -> usize;
    fn max(&self) -> usize;
}

impl<const FAMILIES: usize> Budget for Registry<FAMILIES> {
    fn used(&self) -> usize {
        self.total_series()
    }

    fn max(&self) -> usize {
        self.config().max_total_series
    }
}

struct Inner {
    budget: &'static dyn Budget,
    thresholds: Thresholds,
    level: AtomicU8,
}

impl Inner {
    fn usage(&self) -> f64 {
        let max = self.budget.max();
        if max == 0 {
            return 1.0;
        }
        self.budget.used() as f64 / max as f64
    }

    fn check(&self) -> (Level, f64) {
        let usage = self.usage();
        let now = self.thresholds.level(usage);
        let before = Level::from_u8(self.level.swap(now as u8, Ordering::AcqRel));
        // Only the thread whose swap saw the change reports it: once per crossing.
        if now > before {
            let (threshold, name) = match now {
                Level::Critical => (self.thresholds.critical, "critical"),
                _ => (self.thresholds.warning, "warning"),
            };
            tracing::warn!(
                usage,
                threshold,
                level = name,
                series = self.budget.used(),
                max_total_series = self.budget.max(),
                "corral: metric series usage crossed the {name} threshold"
            );
        } else if now < before {
            tracing::info!(
                usage,
                level = ?now,
                "corral: metric series usage fell back below a threshold"
            );
        }
        (now, usage)
    }
}

/// The families the monitor registers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Usage,
    Exceeded,
}

struct MonitorFamily {
    inner: &'static Inner,
    which: Which,
}

const THRESHOLD_LABELS: &[&str] = &["threshold"];

impl Collect for MonitorFamily {
    fn kind(&self) -> MetricKind {
        MetricKind::Gauge
    }

    fn label_names(&self) -> &[&'static str] {
        match self.which {
            Which::Usage => &[],
            Which::Exceeded => THRESHOLD_LABELS,
        }
    }

    fn reserved_series(&self) -> usize {
        match self.which {
            Which::Usage => 1,
            Which::Exceeded => 2,
        }
    }

    fn capacity(&self) -> usize {
        self.reserved_series()
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        let (level, usage) = self.inner.check();
        match self.which {
            Which::Usage => {
                if from == 0 && sink(0, &SeriesLabels::NONE, &Value::Gauge(usage)).is_break() {
                    return ControlFlow::Break(0);
                }
            }
            Which::Exceeded => {
                let rows = [("warning", Level::Warning), ("critical", Level::Critical)];
                for (position, (name, at)) in rows.into_iter().enumerate().skip(from) {
                    let values = [name];
                    let labels = SeriesLabels::from_pairs(THRESHOLD_LABELS, &values);
                    let on = if level >= at { 1 } else { 0 };
                    if sink(position, &labels, &Value::IntGauge(on)).is_break() {
                        return ControlFlow::Break(position);
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// Watches a registry's series usage against [`Thresholds`].
#[derive(Clone, Copy)]
pub struct CardinalityMonitor {
    inner: &'static Inner,
}

impl fmt::Debug for CardinalityMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardinalityMonitor")
            .field("thresholds", &self.inner.thresholds)
            .field("level", &self.level())
            .finish()
    }
}

impl CardinalityMonitor {
    /// The self-metric names.
    pub const NAMES: [&'static str; 2] = [
        "metrics_registry_series_usage_ratio",
        "metrics_registry_cardinality_threshold_exceeded",
    ];

    /// Registers the monitor's two families in `registry` (they take three series of its
    /// budget) and returns the monitor.
    ///
    /// # Errors
    ///
    /// A [`RegisterError`] if the registry refuses a family.
    pub fn register<const FAMILIES: usize>(
        registry: &'static Registry<FAMILIES>,
        thresholds: Thresholds,
    ) -> Result<Self, RegisterError> {
        let inner: &'static Inner = Box::leak(Box::new(Inner {
            budget: registry,
            thresholds,
            level: AtomicU8::new(Level::Normal as u8),
        }));
        let descs = [
            (
                Desc::new(
                    Self::NAMES[0],
                    "Series in use over the registry's max_total_series.",
                )
                .with_unit("ratio"),
                Which::Usage,
            ),
            (
                Desc::new(
                    Self::NAMES[1],
                    "1 while series usage is at or above the threshold, else 0.",
                ),
                Which::Exceeded,
            ),
        ];
        for (desc, which) in descs {
            let family: &'static MonitorFamily =
                Box::leak(Box::new(MonitorFamily { inner, which }));
            registry.register(desc, family)?;
        }
        Ok(Self { inner })
    }

    /// Compares usage with the thresholds now (warning once if a threshold was crossed)
    /// and returns the level.
    pub fn check(&self) -> Level {
        self.inner.check().0
    }

    /// The level found by the last check.
    pub fn level(&self) -> Level {
        Level::from_u8(self.inner.level.load(Ordering::Acquire))
    }

    /// Series in use over `max_total_series`, now.
    pub fn usage(&self) -> f64 {
        self.inner.usage()
    }

    /// The thresholds.
    pub fn thresholds(&self) -> Thresholds {
        self.inner.thresholds
    }
}

#[cfg(test)]
mod tests {
    use core::sync::atomic::AtomicUsize;

    use super::*;

    struct Fake(AtomicUsize);

    impl Budget for Fake {
        fn used(&self) -> usize {
            self.0.load(Ordering::Relaxed)
        }
        fn max(&self) -> usize {
            100
        }
    }

    #[test]
    fn levels_follow_usage_down_and_up_again() {
        static FAKE: Fake = Fake(AtomicUsize::new(0));
        let inner = Inner {
            budget: &FAKE,
            thresholds: Thresholds::DEFAULT,
            level: AtomicU8::new(0),
        };
        let at = |used: usize| {
            FAKE.0.store(used, Ordering::Relaxed);
            inner.check().0
        };
        assert_eq!(at(79), Level::Normal);
        assert_eq!(at(80), Level::Warning);
        assert_eq!(at(95), Level::Critical);
        assert_eq!(at(50), Level::Normal); // re-armed: the next crossing warns again
        assert_eq!(at(96), Level::Critical);
    }

    #[test]
    fn thresholds_are_checked() {
        assert!(Thresholds::new(0.8, 0.95).is_ok());
        assert_eq!(
            Thresholds::new(0.0, 0.5),
            Err(ThresholdError::OutOfRange { value: 0.0 })
        );
        assert_eq!(
            Thresholds::new(0.5, f64::NAN).map_err(|e| e.to_string()),
            Err("NaN is not a fraction in (0, 1]".to_owned())
        );
        assert!(matches!(
            Thresholds::new(0.9, 0.9),
            Err(ThresholdError::NotIncreasing { .. })
        ));
    }
}
