//! Families defined at run time: names, help, labels and bucket bounds that come from
//! configuration or code rather than from `static` items.
//!
//! Defining a family sets up all of its storage once — the metric, or the whole label table
//! with every slot — moves it to the heap and leaks it, so the family lives as long as the
//! process, exactly like a `static`. What you get back is a `&'static` reference: recording
//! through it is the same code as recording into a `static`, with no allocation, no lock and
//! no map lookup. Only the definition (and [`Families::get`], a by-name lookup meant for
//! set-up code) takes the index's mutex.
//!
//! The sizes that make storage fixed — label count, table slots, buckets — stay
//! compile-time parameters; the values inside them (the names, the bounds) are run-time.
//!
//! ```
//! use corral_std::core::{Counter, Registry};
//! use corral_std::runtime::{Families, Spec};
//!
//! static REGISTRY: Registry<8> = Registry::new();
//! let families = Families::new(&REGISTRY);
//!
//! // Say these came from a configuration file.
//! let name = String::from("jobs_finished_total");
//! let bounds = vec![0.5, 1.0, 5.0];
//!
//! let jobs = families.family::<Counter, 1, 32>(&Spec::new(&name, "Jobs finished"), ["queue"])?;
//! let wait = families.histogram::<4>(&Spec::new("job_wait_seconds", "Queue wait").unit("seconds"), &bounds)?;
//!
//! jobs.with_labels(["emails"]).inc(); // as cheap as a static family
//! wait.observe(0.7);
//! assert!(families.get::<Counter>("jobs_finished_total").is_none()); // a family, not a Counter
//! assert!(families.get::<corral_std::seeded::SeededFamily<Counter, 1, 32>>(&name).is_some());
//! # Ok::<(), corral_std::runtime::DefineError>(())
//! ```
//!
//! Dynamic families defined here hash their label values with per-process random seeds
//! (see [`seeded`]).
//!
//! Memory given to a family is never returned: define families once, at start-up or when a
//! configuration is loaded, not per request. A failed definition may leave its (small)
//! copies of the name and labels behind.

use core::any::Any;
use core::fmt;
use core::mem::size_of;
use std::sync::{Mutex, OnceLock, PoisonError};

use corral_core::{
    BoundsError, Collect, Counter, Desc, FloatCounter, Gauge, Histogram, HistogramCells, IntGauge,
    Metric, RegisterError, Registry, ShardedCounter,
};

use crate::registry::{DEFAULT_FAMILIES, default_registry};
use crate::seeded::{self, SeededFamily};

/// What a family is called, what it measures and how.
#[derive(Clone, Copy, Debug)]
pub struct Spec<'a> {
    name: &'a str,
    help: &'a str,
    unit: Option<&'a str>,
    allow_labels: &'a [&'a str],
}

impl<'a> Spec<'a> {
    /// A family called `name` with `help` text.
    pub const fn new(name: &'a str, help: &'a str) -> Self {
        Self {
            name,
            help,
            unit: None,
            allow_labels: &[],
        }
    }

    /// Declares the unit (the name must end with `_<unit>`, before `_total`).
    pub const fn unit(mut self, unit: &'a str) -> Self {
        self.unit = Some(unit);
        self
    }

    /// Allows labels that are on the registry's high-cardinality deny-list.
    pub const fn allow_labels(mut self, labels: &'a [&'a str]) -> Self {
        self.allow_labels = labels;
        self
    }

    /// The family name.
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// A core [`Desc`] with process-lifetime copies of the strings.
    fn leak(&self) -> Desc {
        let mut desc = Desc::new(leak_str(self.name), leak_str(self.help));
        if let Some(unit) = self.unit {
            desc = desc.with_unit(leak_str(unit));
        }
        if !self.allow_labels.is_empty() {
            let labels: Vec<&'static str> = self.allow_labels.iter().map(|l| leak_str(l)).collect();
            desc = desc.allow_labels(Box::leak(labels.into_boxed_slice()));
        }
        desc
    }
}

/// Why a family could not be defined; nothing was registered.
#[derive(Debug)]
#[non_exhaustive]
pub enum DefineError {
    /// A family of this name was defined here before.
    Exists {
        /// The name.
        name: String,
    },
    /// The bucket bounds are invalid for the histogram type.
    Bounds {
        /// The family name.
        name: String,
        /// What is wrong with them.
        error: BoundsError,
    },
    /// The registry refused the family (invalid name or labels, a limit, a clash).
    Register(RegisterError),
    /// A large family is built on a helper thread with a stack big enough for it (so that
    /// building it cannot overflow the caller's stack), and that thread could not start.
    Spawn {
        /// The family name.
        name: String,
        /// The operating system's error.
        error: std::io::Error,
    },
}

impl fmt::Display for DefineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefineError::Exists { name } => write!(f, "family `{name}` is already defined"),
            DefineError::Bounds { name, error } => {
                write!(f, "family `{name}`: invalid bucket bounds: {error}")
            }
            DefineError::Register(e) => e.fmt(f),
            DefineError::Spawn { name, error } => write!(
                f,
                "family `{name}`: could not start the thread that builds it: {error}"
            ),
        }
    }
}

impl core::error::Error for DefineError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            DefineError::Bounds { error, .. } => Some(error),
            DefineError::Register(e) => Some(e),
            DefineError::Spawn { error, .. } => Some(error),
            DefineError::Exists { .. } => None,
        }
    }
}

impl From<RegisterError> for DefineError {
    fn from(e: RegisterError) -> Self {
        DefineError::Register(e)
    }
}

/// A defined family, as the index keeps it.
#[derive(Clone, Copy)]
struct Defined {
    item: &'static (dyn Any + Send + Sync),
    type_name: &'static str,
}

/// Defines families at run time in a registry and keeps an index of them by name.
pub struct Families<const FAMILIES: usize> {
    registry: &'static Registry<FAMILIES>,
    index: Mutex<hashbrown::HashMap<&'static str, Defined>>,
}

impl<const FAMILIES: usize> fmt::Debug for Families<FAMILIES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = f.debug_map();
        for (name, defined) in index.iter() {
            map.entry(name, &defined.type_name);
        }
        map.finish()
    }
}

impl<const FAMILIES: usize> Families<FAMILIES> {
    /// Defines families in `registry`. Sets the process-wide label hash seed from the
    /// operating system if nothing has yet ([`crate::seed::seed_from_os`]).
    pub fn new(registry: &'static Registry<FAMILIES>) -> Self {
        crate::seed::seed_from_os();
        Self {
            registry,
            index: Mutex::new(hashbrown::HashMap::new()),
        }
    }

    /// The registry families are defined in.
    pub fn registry(&self) -> &'static Registry<FAMILIES> {
        self.registry
    }

    /// Names of the families defined here, in no particular order.
    pub fn names(&self) -> Vec<&'static str> {
        let index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        index.keys().copied().collect()
    }

    /// The family called `name`, if one of type `T` was defined here.
    ///
    /// A set-up call (it takes the index's lock): keep the reference it returns.
    pub fn get<T: Any>(&self, name: &str) -> Option<&'static T> {
        let index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        let item: &'static (dyn Any + Send + Sync) = index.get(name)?.item;
        item.downcast_ref::<T>()
    }

    /// Defines anything the registry can hold: builds it with `make`, gives it process
    /// lifetime, registers it under `spec` and indexes it by name.
    ///
    /// Families larger than 64 KiB are built on a short-lived helper thread whose stack is
    /// sized for them, so that a big table cannot overflow the caller's stack.
    ///
    /// # Errors
    ///
    /// [`DefineError`]: the name was defined here before, the helper thread could not
    /// start, or the registry refused the family.
    pub fn define<T>(
        &self,
        spec: &Spec<'_>,
        make: impl FnOnce() -> T + Send,
    ) -> Result<&'static T, DefineError>
    where
        T: Collect + Any + Send + Sync,
    {
        let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        if index.contains_key(spec.name) {
            return Err(DefineError::Exists {
                name: spec.name.to_owned(),
            });
        }
        let item = leak_built(make).map_err(|error| DefineError::Spawn {
            name: spec.name.to_owned(),
            error,
        })?;
        let desc = spec.leak();
        self.registry.register(desc, item)?;
        index.insert(
            desc.name(),
            Defined {
                item,
                type_name: core::any::type_name::<T>(),
            },
        );
        Ok(item)
    }

    /// Defines an unlabelled counter.
    ///
    /// # Errors
    ///
    /// See [`define`](Self::define).
    pub fn counter(&self, spec: &Spec<'_>) -> Result<&'static Counter, DefineError> {
        self.define(spec, Counter::new)
    }

    /// Defines an unlabelled `f64` counter.
    ///
    /// # Errors
    ///
    /// See [`define`](Self::define).
    pub fn float_counter(&self, spec: &Spec<'_>) -> Result<&'static FloatCounter, DefineError> {
        self.define(spec, FloatCounter::new)
    }

    /// Defines an unlabelled `f64` gauge.
    ///
    /// # Errors
    ///
    /// See [`define`](Self::define).
    pub fn gauge(&self, spec: &Spec<'_>) -> Result<&'static Gauge, DefineError> {
        self.define(spec, Gauge::new)
    }

    /// Defines an unlabelled `i64` gauge.
    ///
    /// # Errors
    ///
    /// See [`define`](Self::define).
    pub fn int_gauge(&self, spec: &Spec<'_>) -> Result<&'static IntGauge, DefineError> {
        self.define(spec, IntGauge::new)
    }

    /// Defines an unlabelled counter split into `STRIPES` stripes (see
    /// [`ShardedCounterExt`](crate::ShardedCounterExt)).
    ///
    /// # Errors
    ///
    /// See [`define`](Self::define).
    pub fn sharded_counter<const STRIPES: usize>(
        &self,
        spec: &Spec<'_>,
    ) -> Result<&'static ShardedCounter<STRIPES>, DefineError> {
        self.define(spec, ShardedCounter::new)
    }

    /// Defines an unlabelled histogram over `bounds` (finite, strictly increasing, at most
    /// `BUCKETS - 1` of them; `+Inf` is implicit).
    ///
    /// # Errors
    ///
    /// [`DefineError::Bounds`] for invalid bounds; otherwise see [`define`](Self::define).
    pub fn histogram<const BUCKETS: usize>(
        &self,
        spec: &Spec<'_>,
        bounds: &[f64],
    ) -> Result<&'static Histogram<BUCKETS>, DefineError> {
        let bounds = checked_bounds::<BUCKETS>(spec, bounds)?;
        self.define(spec, || Histogram::new(bounds))
    }

    /// Defines a family of `M` cells (counters, gauges, sharded counters) with label names
    /// `labels` and a table of `SERIES` slots (a power of two).
    ///
    /// # Errors
    ///
    /// See [`define`](Self::define).
    pub fn family<M, const LABELS: usize, const SERIES: usize>(
        &self,
        spec: &Spec<'_>,
        labels: [&str; LABELS],
    ) -> Result<&'static SeededFamily<M, LABELS, SERIES>, DefineError>
    where
        M: Metric<Config = ()> + Send + 'static,
    {
        let names = labels.map(leak_str);
        self.define(spec, move || seeded::family(names))
    }

    /// Defines a histogram family with label names `labels`, a table of `SERIES` slots and
    /// bucket `bounds` shared by every series.
    ///
    /// # Errors
    ///
    /// [`DefineError::Bounds`] for invalid bounds; otherwise see [`define`](Self::define).
    pub fn histogram_family<const BUCKETS: usize, const LABELS: usize, const SERIES: usize>(
        &self,
        spec: &Spec<'_>,
        labels: [&str; LABELS],
        bounds: &[f64],
    ) -> Result<&'static SeededFamily<HistogramCells<BUCKETS>, LABELS, SERIES>, DefineError> {
        let bounds = checked_bounds::<BUCKETS>(spec, bounds)?;
        let names = labels.map(leak_str);
        self.define(spec, move || seeded::histogram_family(names, bounds))
    }
}

/// The families of the [default registry](crate::default_registry).
pub fn default_families() -> &'static Families<DEFAULT_FAMILIES> {
    static FAMILIES: OnceLock<Families<DEFAULT_FAMILIES>> = OnceLock::new();
    FAMILIES.get_or_init(|| Families::new(default_registry()))
}

/// Checks `bounds` for a histogram of `BUCKETS` buckets and gives them process lifetime.
fn checked_bounds<const BUCKETS: usize>(
    spec: &Spec<'_>,
    bounds: &[f64],
) -> Result<&'static [f64], DefineError> {
    // The check wants the `'static` slice the family will keep, so the copy comes first;
    // a refusal leaves that small copy behind.
    let check = |b: &'static [f64]| <HistogramCells<BUCKETS> as Metric>::check_config(&b);
    let leaked: &'static [f64] = Box::leak(bounds.to_vec().into_boxed_slice());
    check(leaked).map_err(|error| DefineError::Bounds {
        name: spec.name.to_owned(),
        error,
    })?;
    Ok(leaked)
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// Families up to this size are built on the caller's stack.
const INLINE_BUILD_LIMIT: usize = 64 * 1024;

/// Builds `make()` on the heap with process lifetime.
///
/// A value is built on the stack and then moved into its box; an unoptimised build may
/// hold two or three copies of it on the stack at once. A table of 1024 histogram series
/// is a quarter of a megabyte, so large values are built on a helper thread whose stack is
/// sized for them.
fn leak_built<T: Send + Sync + 'static>(
    make: impl FnOnce() -> T + Send,
) -> std::io::Result<&'static T> {
    let size = size_of::<T>();
    if size <= INLINE_BUILD_LIMIT {
        return Ok(build_here(make));
    }
    let stack = size.saturating_mul(4).saturating_add(1 << 20);
    std::thread::scope(|scope| {
        let builder = std::thread::Builder::new()
            .name("corral-define".into())
            .stack_size(stack);
        let handle = builder.spawn_scoped(scope, move || build_here(make))?;
        Ok(handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Builds and leaks on the current stack. A function of its own, never inlined, so that the
/// room the value needs is in this frame only, not in the frame of a caller that builds
/// elsewhere.
#[inline(never)]
fn build_here<T: 'static>(make: impl FnOnce() -> T) -> &'static T {
    Box::leak(Box::new(make()))
}

#[cfg(test)]
mod tests {
    use corral_core::{Reason, RegistryConfig};

    use super::*;

    #[test]
    fn defines_records_and_finds_by_name() {
        static REGISTRY: Registry<8> = Registry::new();
        let families = Families::new(&REGISTRY);
        let c = families
            .counter(&Spec::new("rt_events_total", "Events"))
            .unwrap();
        c.inc();
        let found: &Counter = families.get("rt_events_total").unwrap();
        assert!(core::ptr::eq(c, found));
        assert_eq!(found.get(), 1);
        assert!(families.get::<Gauge>("rt_events_total").is_none());
        assert!(families.get::<Counter>("rt_other_total").is_none());
        assert_eq!(REGISTRY.len(), 1);
    }

    #[test]
    fn duplicate_and_invalid_definitions_are_refused() {
        static REGISTRY: Registry<8> = Registry::new();
        let families = Families::new(&REGISTRY);
        families.gauge(&Spec::new("rt_depth", "Depth")).unwrap();
        let dup = families.gauge(&Spec::new("rt_depth", "Depth")).unwrap_err();
        assert!(matches!(dup, DefineError::Exists { .. }), "{dup}");
        let bad = families
            .counter(&Spec::new("rt-bad-name_total", "x"))
            .unwrap_err();
        assert!(
            matches!(&bad, DefineError::Register(e) if e.reason == Reason::InvalidName),
            "{bad}"
        );
        let deny = families
            .family::<Counter, 1, 8>(&Spec::new("rt_by_user_total", "x"), ["user_id"])
            .unwrap_err();
        assert!(deny.to_string().contains("user_id"), "{deny}");
        let allowed = families.family::<Counter, 1, 8>(
            &Spec::new("rt_by_user_total", "x").allow_labels(&["user_id"]),
            ["user_id"],
        );
        assert!(allowed.is_ok());
        assert_eq!(REGISTRY.len(), 2);
    }

    #[test]
    fn histogram_bounds_from_run_time_values() {
        static REGISTRY: Registry<8> = Registry::new();
        let families = Families::new(&REGISTRY);
        let bounds = vec![1.0, 2.0, 5.0];
        let h = families
            .histogram::<4>(&Spec::new("rt_size_bytes", "Sizes").unit("bytes"), &bounds)
            .unwrap();
        h.observe(3.0);
        assert_eq!(h.bounds(), &[1.0, 2.0, 5.0]);

        let too_many = families
            .histogram::<3>(&Spec::new("rt_other_bytes", "x"), &bounds)
            .unwrap_err();
        assert!(matches!(too_many, DefineError::Bounds { .. }), "{too_many}");
        let unordered = families
            .histogram_family::<4, 1, 4>(&Spec::new("rt_lat_ms", "x"), ["op"], &[2.0, 1.0])
            .unwrap_err();
        assert!(unordered.to_string().contains("not greater"), "{unordered}");
        assert_eq!(REGISTRY.len(), 1);
    }

    #[test]
    fn large_families_are_built_off_the_callers_stack() {
        static REGISTRY: Registry<4> =
            Registry::with_config(RegistryConfig::DEFAULT.with_max_series_per_metric(4096));
        let families = Families::new(&REGISTRY);
        // 4096 slots of 256 bytes: 1 MiB, built on a thread with 256 KiB of stack, which
        // would overflow if the table were built there.
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let fam = families
                    .histogram_family::<14, 1, 4096>(
                        &Spec::new("rt_big_ms", "Big"),
                        ["k"],
                        corral_core::buckets::LATENCY_MS,
                    )
                    .unwrap();
                assert!(size_of_val(fam) >= 1 << 20);
                fam.with_labels(["a"]).observe(3.0);
                assert_eq!(fam.with_labels(["a"]).count(), 1);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
