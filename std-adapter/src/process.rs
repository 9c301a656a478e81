//! The standard process metrics, read from `/proc` when the registry is visited (at scrape
//! or export time, never on a timer).
//!
//! | metric | kind | source |
//! | --- | --- | --- |
//! | `process_cpu_seconds_total` | counter | user + system time, `/proc/self/stat` |
//! | `process_resident_memory_bytes` | gauge | resident set size, `/proc/self/stat` |
//! | `process_virtual_memory_bytes` | gauge | virtual memory size, `/proc/self/stat` |
//! | `process_open_fds` | gauge | entries of `/proc/self/fd` |
//! | `process_max_fds` | gauge | soft `Max open files`, `/proc/self/limits` (`+Inf` if unlimited) |
//! | `process_start_time_seconds` | gauge | start time since the Unix epoch: `btime` of `/proc/stat` plus the start tick of `/proc/self/stat` |
//! | `process_threads` | gauge | threads, `/proc/self/stat` |
//! | `process_cpu_usage_ratio` | gauge | CPU time over wall time since the previous read, divided by the CPUs available (0.0–1.0); on the first read, since the process started |
//! | `process_memory_bytes` | gauge | the resident set size (the specification's name for current memory use) |
//!
//! The registry holds one [`Collect`] per family, so the collector registers nine small
//! families sharing one reader. The first of them (`process_cpu_seconds_total`) reads
//! `/proc` afresh on every visit; the others reuse that snapshot, so one scrape reads `/proc`
//! once and all nine values come from the same moment. A family visited without its leader
//! (a visit resumed past it) reads afresh when the snapshot is more than a second old.
//!
//! Parsing uses the [`procfs`](https://docs.rs/procfs) crate (without its default
//! features), which also supplies the clock-tick rate and page size without `unsafe` here.
//!
//! Without `/proc` (another operating system, or a container without it)
//! [`ProcessCollector::register`] fails with [`ProcessError::Unavailable`] and registers
//! nothing; everything else keeps working.
//!
//! ```
//! use corral_std::core::Registry;
//! use corral_std::process::ProcessCollector;
//!
//! static REGISTRY: Registry<16> = Registry::new();
//! match ProcessCollector::register(&REGISTRY) {
//!     Ok(process) => assert!(process.read()?.threads >= 1),
//!     Err(e) => eprintln!("no process metrics: {e}"), // e.g. not Linux
//! }
//! # Ok::<(), corral_std::process::ProcessError>(())
//! ```

use core::fmt;
use core::ops::ControlFlow;
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use corral_core::{
    Collect, Desc, MetricKind, RegisterError, Registry, SeriesLabels, SeriesSink, Value,
};

/// One reading of the process statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ProcessStats {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_memory_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on open file descriptors; `None` if unlimited.
    pub max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// Threads in the process.
    pub threads: u64,
    /// CPU time over wall time since the previous reading (since the start, for the first),
    /// divided by the CPUs available; between 0 and 1.
    pub cpu_usage_ratio: f64,
}

/// Why the process collector cannot run, or could not be registered.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// `/proc` (or the part of it the collector reads) cannot be read.
    Unavailable {
        /// What failed, and why.
        reason: String,
    },
    /// The registry refused one of the families. The families before it stay registered
    /// (a registry never forgets one) and report correct values.
    Register(RegisterError),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::Unavailable { reason } => {
                write!(f, "process metrics are unavailable: {reason}")
            }
            ProcessError::Register(e) => write!(f, "process metrics: {e}"),
        }
    }
}

impl core::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ProcessError::Register(e) => Some(e),
            ProcessError::Unavailable { .. } => None,
        }
    }
}

/// The statistic one family reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stat {
    CpuSeconds,
    Resident,
    Virtual,
    OpenFds,
    MaxFds,
    StartTime,
    Threads,
    CpuUsage,
    Memory,
}

impl Stat {
    /// Registration order; the first is the leader that reads afresh on every visit.
    const ALL: [Stat; 9] = [
        Stat::CpuSeconds,
        Stat::Resident,
        Stat::Virtual,
        Stat::OpenFds,
        Stat::MaxFds,
        Stat::StartTime,
        Stat::Threads,
        Stat::CpuUsage,
        Stat::Memory,
    ];

    fn desc(self) -> Desc {
        match self {
            Stat::CpuSeconds => Desc::new(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
            )
            .with_unit("seconds"),
            Stat::Resident => Desc::new(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
            )
            .with_unit("bytes"),
            Stat::Virtual => Desc::new(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
            )
            .with_unit("bytes"),
            Stat::OpenFds => Desc::new("process_open_fds", "Number of open file descriptors."),
            Stat::MaxFds => Desc::new(
                "process_max_fds",
                "Maximum number of open file descriptors.",
            ),
            Stat::StartTime => Desc::new(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
            )
            .with_unit("seconds"),
            Stat::Threads => Desc::new("process_threads", "Number of OS threads in the process."),
            Stat::CpuUsage => Desc::new(
                "process_cpu_usage_ratio",
                "CPU usage ratio (0.0-1.0): CPU time over wall time since the previous scrape, per available CPU.",
            )
            .with_unit("ratio"),
            Stat::Memory => Desc::new(
                "process_memory_bytes",
                "Current memory usage in bytes (the resident set size).",
            )
            .with_unit("bytes"),
        }
    }

    fn kind(self) -> MetricKind {
        match self {
            Stat::CpuSeconds => MetricKind::Counter,
            _ => MetricKind::Gauge,
        }
    }

    fn value(self, s: &ProcessStats) -> Value<'static> {
        let bytes = |b: u64| Value::Gauge(b as f64);
        match self {
            Stat::CpuSeconds => Value::FloatCounter(s.cpu_seconds),
            Stat::Resident | Stat::Memory => bytes(s.resident_memory_bytes),
            Stat::Virtual => bytes(s.virtual_memory_bytes),
            Stat::OpenFds => Value::Gauge(s.open_fds as f64),
            Stat::MaxFds => Value::Gauge(s.max_fds.map_or(f64::INFINITY, |m| m as f64)),
            Stat::StartTime => Value::Gauge(s.start_time_seconds),
            Stat::Threads => Value::Gauge(s.threads as f64),
            Stat::CpuUsage => Value::Gauge(s.cpu_usage_ratio),
        }
    }
}

/// A snapshot older than this is read again even by a family that is not the leader.
const MAX_AGE: Duration = Duration::from_secs(1);
/// CPU usage over a shorter interval than this is too noisy; the previous ratio stands.
const MIN_USAGE_INTERVAL: Duration = Duration::from_millis(100);

/// The reader and snapshot the nine families share.
#[derive(Debug)]
struct Shared {
    root: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<(Instant, ProcessStats)>,
    /// The reading the CPU usage ratio is measured from: (when, CPU seconds).
    usage_base: Option<(Instant, f64)>,
    /// The last read's error, if it failed.
    error: Option<String>,
}

impl Shared {
    /// The snapshot to report: read afresh when `fresh` or when the last one is stale.
    /// `None` if reading failed (the family then reports no series).
    fn snapshot(&self, fresh: bool) -> Option<ProcessStats> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !fresh
            && let Some((at, stats)) = state.last
            && at.elapsed() < MAX_AGE
        {
            return Some(stats);
        }
        match self.read_locked(&mut state) {
            Ok(stats) => Some(stats),
            Err(reason) => {
                if state.error.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(%reason, "corral: reading process metrics failed");
                }
                state.error = Some(reason);
                state.last = None;
                None
            }
        }
    }

    fn read_locked(&self, state: &mut State) -> Result<ProcessStats, String> {
        let raw = read_raw(&self.root)?;
        let now = Instant::now();
        let cpus = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        let ratio = match state.usage_base {
            Some((at, cpu)) => {
                let wall = now.duration_since(at);
                if wall >= MIN_USAGE_INTERVAL {
                    state.usage_base = Some((now, raw.cpu_seconds));
                    Some((raw.cpu_seconds - cpu) / wall.as_secs_f64() / cpus)
                } else {
                    None
                }
            }
            None => {
                state.usage_base = Some((now, raw.cpu_seconds));
                let wall = unix_now() - raw.start_time_seconds;
                Some(if wall > 0.0 {
                    raw.cpu_seconds / wall / cpus
                } else {
                    0.0
                })
            }
        };
        let previous = state.last.map_or(0.0, |(_, s)| s.cpu_usage_ratio);
        let stats = ProcessStats {
            cpu_usage_ratio: ratio.map_or(previous, |r| r.clamp(0.0, 1.0)),
            ..raw
        };
        state.last = Some((now, stats));
        state.error = None;
        Ok(stats)
    }
}

/// One process family in the registry.
#[derive(Debug)]
struct ProcessFamily {
    shared: &'static Shared,
    stat: Stat,
}

impl Collect for ProcessFamily {
    fn kind(&self) -> MetricKind {
        self.stat.kind()
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        if from > 0 {
            return ControlFlow::Continue(());
        }
        let fresh = self.stat == Stat::ALL[0];
        if let Some(stats) = self.shared.snapshot(fresh)
            && sink(0, &SeriesLabels::NONE, &self.stat.value(&stats)).is_break()
        {
            return ControlFlow::Break(0);
        }
        ControlFlow::Continue(())
    }
}

/// The process collector, once registered: a handle to its shared reader.
#[derive(Clone, Copy, Debug)]
pub struct ProcessCollector {
    shared: &'static Shared,
}

impl ProcessCollector {
    /// The metric names, in registration order.
    pub const NAMES: [&'static str; 9] = [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "process_threads",
        "process_cpu_usage_ratio",
        "process_memory_bytes",
    ];

    /// Reads `/proc` once to check it is there, then registers the nine process families
    /// in `registry`.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Unavailable`] (nothing registered) if `/proc` cannot be read;
    /// [`ProcessError::Register`] if the registry refuses a family (for example because
    /// the names are taken or it is full).
    pub fn register<const FAMILIES: usize>(
        registry: &'static Registry<FAMILIES>,
    ) -> Result<Self, ProcessError> {
        Self::register_with_proc(registry, "/proc")
    }

    /// Like [`register`](Self::register), reading from a procfs mounted at `proc_root`
    /// (for a container that mounts the host's elsewhere).
    ///
    /// # Errors
    ///
    /// As for [`register`](Self::register).
    pub fn register_with_proc<const FAMILIES: usize>(
        registry: &'static Registry<FAMILIES>,
        proc_root: impl AsRef<Path>,
    ) -> Result<Self, ProcessError> {
        let shared = Shared {
            root: proc_root.as_ref().to_path_buf(),
            state: Mutex::new(State::default()),
        };
        {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            shared
                .read_locked(&mut state)
                .map_err(|reason| ProcessError::Unavailable { reason })?;
        }
        let shared: &'static Shared = Box::leak(Box::new(shared));
        for stat in Stat::ALL {
            let family: &'static ProcessFamily =
                Box::leak(Box::new(ProcessFamily { shared, stat }));
            registry
                .register(stat.desc(), family)
                .map_err(ProcessError::Register)?;
        }
        Ok(Self { shared })
    }

    /// Reads the statistics now (this also becomes the snapshot the families report until
    /// the next visit).
    ///
    /// # Errors
    ///
    /// [`ProcessError::Unavailable`] if `/proc` cannot be read.
    pub fn read(&self) -> Result<ProcessStats, ProcessError> {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared
            .read_locked(&mut state)
            .map_err(|reason| ProcessError::Unavailable { reason })
    }

    /// Why the last read failed, if it did.
    pub fn last_error(&self) -> Option<String> {
        let state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.error.clone()
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Reads everything but the usage ratio from the procfs at `root`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_raw(root: &Path) -> Result<ProcessStats, String> {
    use procfs::process::{LimitValue, Process};

    let me = root.join("self");
    let context = |what: &str, e: &dyn fmt::Display| format!("{}: {e}", root.join(what).display());
    let process = Process::new_with_root(me).map_err(|e| context("self", &e))?;
    let stat = process.stat().map_err(|e| context("self/stat", &e))?;
    let open_fds = process.fd_count().map_err(|e| context("self/fd", &e))?;
    let limits = process.limits().map_err(|e| context("self/limits", &e))?;
    let boot_time = read_boot_time(&root.join("stat"))?;

    let ticks = procfs::ticks_per_second() as f64;
    let page_size = procfs::page_size();
    Ok(ProcessStats {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        resident_memory_bytes: stat.rss.saturating_mul(page_size),
        virtual_memory_bytes: stat.vsize,
        open_fds: open_fds as u64,
        max_fds: match limits.max_open_files.soft_limit {
            LimitValue::Value(v) => Some(v),
            LimitValue::Unlimited => None,
        },
        start_time_seconds: boot_time as f64 + stat.starttime as f64 / ticks,
        threads: u64::try_from(stat.num_threads).unwrap_or(0),
        cpu_usage_ratio: 0.0,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_raw(root: &Path) -> Result<ProcessStats, String> {
    Err(format!(
        "{}: process metrics read procfs, which this operating system does not have",
        root.display()
    ))
}

/// The `btime` line of `/proc/stat`: boot time in seconds since the Unix epoch.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_boot_time(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("{}: no valid `btime` line", path.display()))
}
