//! The limits a registry enforces, shared with the dynamic families registered in it.

use crate::macros::const_fn;
use crate::sync::{AtomicUsize, Ordering};

/// Limits a registry enforces, with the specification's values as defaults.
///
/// ```
/// use corral_core::RegistryConfig;
///
/// const CONFIG: RegistryConfig = RegistryConfig::DEFAULT.with_max_total_series(500);
/// assert_eq!(CONFIG.max_total_series, 500);
/// assert_eq!(CONFIG.max_label_value_length, 256);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryConfig {
    /// Series across the whole registry (overflow series not counted). Default 10,000.
    pub max_total_series: usize,
    /// Series in one family. Default 1,000. A dynamic family's table (a power of two) may
    /// be up to the next power of two, and holds at most this many series.
    pub max_series_per_metric: usize,
    /// Label names per family. Default 10.
    pub max_label_keys: usize,
    /// Bytes in one label value. Default 256.
    pub max_label_value_length: usize,
    /// Label names refused unless a descriptor allows them. Default `user_id`,
    /// `session_id`, `request_id`, `trace_id`.
    pub high_cardinality_labels: &'static [&'static str],
    /// Whether visits end with the registry's own metrics (`metrics_registry_*`). Default on.
    pub self_metrics: bool,
}

impl RegistryConfig {
    /// The specification's defaults.
    pub const DEFAULT: RegistryConfig = RegistryConfig {
        max_total_series: 10_000,
        max_series_per_metric: 1_000,
        max_label_keys: 10,
        max_label_value_length: 256,
        high_cardinality_labels: &["user_id", "session_id", "request_id", "trace_id"],
        self_metrics: true,
    };

    /// Sets [`max_total_series`](Self::max_total_series).
    pub const fn with_max_total_series(mut self, max: usize) -> Self {
        self.max_total_series = max;
        self
    }

    /// Sets [`max_series_per_metric`](Self::max_series_per_metric).
    pub const fn with_max_series_per_metric(mut self, max: usize) -> Self {
        self.max_series_per_metric = max;
        self
    }

    /// Sets [`max_label_keys`](Self::max_label_keys).
    pub const fn with_max_label_keys(mut self, max: usize) -> Self {
        self.max_label_keys = max;
        self
    }

    /// Sets [`max_label_value_length`](Self::max_label_value_length).
    pub const fn with_max_label_value_length(mut self, max: usize) -> Self {
        self.max_label_value_length = max;
        self
    }

    /// Sets [`high_cardinality_labels`](Self::high_cardinality_labels).
    pub const fn with_high_cardinality_labels(mut self, labels: &'static [&'static str]) -> Self {
        self.high_cardinality_labels = labels;
        self
    }

    /// Sets [`self_metrics`](Self::self_metrics).
    pub const fn with_self_metrics(mut self, on: bool) -> Self {
        self.self_metrics = on;
        self
    }
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A registry's configuration and its series budget, shared with the dynamic families
/// registered in it.
#[derive(Debug)]
pub struct Limits {
    config: RegistryConfig,
    series: AtomicUsize,
}

impl Limits {
    const_fn! {
        pub(crate) const fn new(config: RegistryConfig) -> Self {
            Self { config, series: AtomicUsize::new(0) }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Series in use across the registry.
    pub fn series(&self) -> usize {
        self.series.load(Ordering::Relaxed)
    }

    /// Takes `n` series from the budget if that many are left.
    pub(crate) fn try_reserve(&self, n: usize) -> bool {
        let max = self.config.max_total_series;
        self.series
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= max)
            })
            .is_ok()
    }

    /// Counts `n` series that exist already, whether or not the budget has room for them.
    pub(crate) fn add(&self, n: usize) {
        self.series.fetch_add(n, Ordering::AcqRel);
    }

    /// Returns `n` series to the budget.
    pub(crate) fn release(&self, n: usize) {
        self.series.fetch_sub(n, Ordering::AcqRel);
    }

    /// Whether no series is left in the budget.
    pub(crate) fn exhausted(&self) -> bool {
        self.series.load(Ordering::Acquire) >= self.config.max_total_series
    }
}
