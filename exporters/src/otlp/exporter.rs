//! The exporter: a loop that, once per interval, visits the source, sends the request
//! with retries, and keeps the circuit breaker and the self-metrics.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::map::{Mapper, MetricSource, SummaryChoice};
use super::retry::{Backoff, BreakerState, CircuitBreaker, Decision, classify, jitter_seed};
use super::settings::MetricsSettings;
use super::transport::{Answer, Transport};

/// The exporter's own counters, updated after every export (never on the recording path).
#[derive(Debug, Default)]
struct Stats {
    exports_ok: AtomicU64,
    exports_partial: AtomicU64,
    exports_failed: AtomicU64,
    exports_skipped: AtomicU64,
    retries: AtomicU64,
    points_sent: AtomicU64,
    bytes_sent: AtomicU64,
    duration_nanos_total: AtomicU64,
    last_duration_nanos: AtomicU64,
    breaker_state: AtomicU8,
    breaker_opened: AtomicU64,
    untracked_series: AtomicU64,
}

impl Stats {
    fn snapshot(&self) -> ExporterStats {
        let s = self;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ExporterStats {
            exports_ok: load(&s.exports_ok),
            exports_partial: load(&s.exports_partial),
            exports_failed: load(&s.exports_failed),
            exports_skipped: load(&s.exports_skipped),
            retries: load(&s.retries),
            points_sent: load(&s.points_sent),
            bytes_sent: load(&s.bytes_sent),
            export_duration_total: Duration::from_nanos(load(&s.duration_nanos_total)),
            last_export_duration: Duration::from_nanos(load(&s.last_duration_nanos)),
            breaker: match s.breaker_state.load(Ordering::Relaxed) {
                1 => BreakerState::Open,
                2 => BreakerState::HalfOpen,
                _ => BreakerState::Closed,
            },
            breaker_opened: load(&s.breaker_opened),
            untracked_series: load(&s.untracked_series),
        }
    }
}

/// A snapshot of the exporter's self-metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterStats {
    /// Exports the collector accepted whole.
    pub exports_ok: u64,
    /// Exports accepted with a partial success (some points rejected; not retried).
    pub exports_partial: u64,
    /// Exports that failed after their retries (or permanently).
    pub exports_failed: u64,
    /// Intervals skipped because the circuit breaker was open.
    pub exports_skipped: u64,
    /// Retries made.
    pub retries: u64,
    /// Data points in accepted exports.
    pub points_sent: u64,
    /// Bytes of accepted exports' payloads (HTTP: as sent, compressed when gzip is on;
    /// gRPC: the protobuf message before compression).
    pub bytes_sent: u64,
    /// Time spent in exports (collection, encoding, sending, retries), all together.
    pub export_duration_total: Duration,
    /// The last export's duration.
    pub last_export_duration: Duration,
    /// The circuit breaker's state now.
    pub breaker: BreakerState,
    /// Times the breaker opened.
    pub breaker_opened: u64,
    /// Series that found no room in the delta table (0 unless the source exceeds its
    /// bound).
    pub untracked_series: u64,
}

#[derive(Debug, Default)]
struct Shared {
    stats: Stats,
    stop: AtomicBool,
    wake: tokio::sync::Notify,
    done: Mutex<bool>,
    done_cv: Condvar,
    done_notify: tokio::sync::Notify,
    partial_logged: AtomicBool,
}

impl Shared {
    fn finish(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.done_cv.notify_all();
        self.done_notify.notify_waiters();
    }

    fn is_done(&self) -> bool {
        *self.done.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why the exporter could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The settings say metrics are not pushed.
    Disabled,
    /// The transport could not be built (endpoint, headers, protocol without its feature).
    Transport(String),
    /// The exporter's thread or runtime could not be created.
    Runtime(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Disabled => f.write_str("OTLP metric push is disabled in the settings"),
            StartError::Transport(e) => write!(f, "OTLP metric exporter: {e}"),
            StartError::Runtime(e) => write!(f, "OTLP metric exporter runtime: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Shutdown did not finish within its timeout (the final export may still be running).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownTimeout;

impl std::fmt::Display for ShutdownTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the OTLP metric exporter did not finish its final export in time")
    }
}

impl std::error::Error for ShutdownTimeout {}

/// A running OTLP metric exporter. Dropping it asks the loop to stop (it makes one final
/// export that nothing waits for); [`shutdown`](Self::shutdown) waits for that export.
///
/// ```no_run
/// use corral_core::{Counter, Desc, Registry};
/// use corral_exporters::otlp::{MetricsSettings, OtlpMetricExporter};
/// use corral_std::config::ObservabilityConfig;
///
/// static REGISTRY: Registry<8> = Registry::new();
/// static JOBS: Counter = Counter::new();
/// REGISTRY.register(Desc::new("jobs_total", "Jobs"), &JOBS)?;
///
/// let config = ObservabilityConfig::from_file("observability.yaml")?;
/// let settings = MetricsSettings::from_config_and_process_env(&config)?;
/// let exporter = OtlpMetricExporter::start(&REGISTRY, settings)?; // its own thread
/// JOBS.inc();
/// exporter.shutdown(std::time::Duration::from_secs(5))?; // one final export
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct OtlpMetricExporter {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

impl OtlpMetricExporter {
    /// Starts the exporter on its own thread, with its own single-threaded tokio runtime:
    /// whatever runtime the application has (or none) is not involved.
    ///
    /// # Errors
    ///
    /// [`StartError`] when metrics are disabled, the transport cannot be built, or the
    /// thread cannot start.
    pub fn start(
        source: &'static dyn MetricSource,
        settings: MetricsSettings,
    ) -> Result<Self, StartError> {
        if !settings.enabled {
            return Err(StartError::Disabled);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let transport = {
            let _guard = runtime.enter();
            Transport::new(&settings).map_err(|e| StartError::Transport(e.0))?
        };
        let shared = Arc::new(Shared::default());
        let task = run(Arc::clone(&shared), source, settings, transport);
        let on_exit = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("corral-otlp-metrics".to_owned())
            .spawn(move || {
                runtime.block_on(task);
                on_exit.finish();
            })
            .map_err(StartError::Runtime)?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Starts the exporter as a task on the caller's tokio runtime (`handle`); it works
    /// on a `current_thread` runtime too, as long as that runtime keeps running. Use
    /// [`shutdown_async`](Self::shutdown_async) there.
    ///
    /// # Errors
    ///
    /// [`StartError`] when metrics are disabled or the transport cannot be built.
    pub fn start_on(
        handle: &tokio::runtime::Handle,
        source: &'static dyn MetricSource,
        settings: MetricsSettings,
    ) -> Result<Self, StartError> {
        if !settings.enabled {
            return Err(StartError::Disabled);
        }
        let transport = {
            let _guard = handle.enter();
            Transport::new(&settings).map_err(|e| StartError::Transport(e.0))?
        };
        let shared = Arc::new(Shared::default());
        let task = run(Arc::clone(&shared), source, settings, transport);
        let on_exit = Arc::clone(&shared);
        handle.spawn(async move {
            task.await;
            on_exit.finish();
        });
        Ok(Self {
            shared,
            thread: None,
        })
    }

    /// The self-metrics now.
    pub fn stats(&self) -> ExporterStats {
        self.shared.stats.snapshot()
    }

    /// Registers the self-metrics in `registry` as eight families
    /// (`otlp_exporter_exports_total{outcome}`, `otlp_exporter_retries_total`,
    /// `otlp_exporter_data_points_total`, `otlp_exporter_sent_bytes_total`,
    /// `otlp_exporter_export_duration_seconds_total`,
    /// `otlp_exporter_last_export_duration_seconds`, `otlp_exporter_circuit_breaker_state`
    /// and `otlp_exporter_circuit_breaker_opened_total`), read from the exporter's counters
    /// at each visit. Registered in the exported registry itself, they reach the collector
    /// with the next export (they then describe the exports before it).
    ///
    /// # Errors
    ///
    /// The registry's [`RegisterError`](corral_core::RegisterError) when it refuses one of
    /// them (names taken, registry full); the families before it stay registered.
    pub fn register_self_metrics<const FAMILIES: usize>(
        &self,
        registry: &'static corral_core::Registry<FAMILIES>,
    ) -> Result<(), corral_core::RegisterError> {
        let shared = Arc::clone(&self.shared);
        super::self_metrics::register(registry, Arc::new(move || shared.stats.snapshot()))
    }

    fn request_stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// Stops the loop after one final export, waiting at most `timeout` (from a thread
    /// that is not running the exporter's runtime).
    ///
    /// # Errors
    ///
    /// [`ShutdownTimeout`] when the final export did not finish in time.
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), ShutdownTimeout> {
        self.request_stop();
        let deadline = Instant::now() + timeout;
        let mut done = self.shared.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ShutdownTimeout);
            }
            done = self
                .shared
                .done_cv
                .wait_timeout(done, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(done);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Ok(())
    }

    /// [`shutdown`](Self::shutdown) for an exporter started with
    /// [`start_on`](Self::start_on), awaited on that runtime.
    ///
    /// # Errors
    ///
    /// [`ShutdownTimeout`] when the final export did not finish in time.
    pub async fn shutdown_async(mut self, timeout: Duration) -> Result<(), ShutdownTimeout> {
        self.request_stop();
        let shared = Arc::clone(&self.shared);
        let wait = async {
            loop {
                let notified = shared.done_notify.notified();
                if shared.is_done() {
                    return;
                }
                notified.await;
            }
        };
        let result = tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ShutdownTimeout);
        self.thread.take();
        result
    }
}

impl Drop for OtlpMetricExporter {
    fn drop(&mut self) {
        if self.thread.is_some() || !self.shared.is_done() {
            // Stops the loop; a dropped exporter does not wait.
            self.shared.stop.store(true, Ordering::Release);
            self.shared.wake.notify_one();
        }
    }
}

struct Loop {
    shared: Arc<Shared>,
    source: &'static dyn MetricSource,
    settings: MetricsSettings,
    transport: Transport,
    mapper: Mapper,
    breaker: CircuitBreaker,
    encoded: Vec<u8>,
}

async fn run(
    shared: Arc<Shared>,
    source: &'static dyn MetricSource,
    settings: MetricsSettings,
    transport: Transport,
) {
    let mapper = Mapper::new(
        &settings.resource,
        settings.temporality,
        SummaryChoice {
            all_as_exponential: settings.summaries_as_exponential_histograms,
            families: settings.exponential_histogram_families.clone(),
        },
        source.series_bound(),
        unix_nanos(SystemTime::now()),
    );
    let breaker = CircuitBreaker::new(
        settings.breaker.failure_threshold,
        settings.breaker.open_for,
    );
    let mut state = Loop {
        shared,
        source,
        settings,
        transport,
        mapper,
        breaker,
        encoded: Vec::new(),
    };
    let interval = state.settings.interval;
    let mut next = tokio::time::Instant::now() + interval;
    loop {
        let stop = state.shared.stop.load(Ordering::Acquire)
            || tokio::time::timeout_at(next, state.shared.wake.notified())
                .await
                .is_ok()
            || state.shared.stop.load(Ordering::Acquire);
        if stop {
            // The final export, bounded by the request timeout, without retries.
            state
                .export(Instant::now() + state.settings.timeout, true)
                .await;
            return;
        }
        let deadline = Instant::now() + interval;
        state.export(deadline, false).await;
        next += interval;
        let now = tokio::time::Instant::now();
        if next < now {
            // An export ran over: skip the missed ticks rather than bunching them.
            next = now + interval;
        }
    }
}

impl Loop {
    async fn export(&mut self, deadline: Instant, last: bool) {
        let stats = &self.shared.stats;
        let started = Instant::now();
        if !last && !self.breaker.allow(started) {
            stats.exports_skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let collection = self
            .mapper
            .collect(self.source, unix_nanos(SystemTime::now()));
        stats
            .untracked_series
            .store(collection.untracked as u64, Ordering::Relaxed);
        let Some(request) = collection.request else {
            self.mapper.commit();
            return;
        };
        let backoff = Backoff {
            initial: self.settings.retry.initial_backoff,
            max: self.settings.retry.max_backoff,
        };
        let half_open = self.breaker.state() == BreakerState::HalfOpen;
        let attempts = if last || half_open {
            1
        } else {
            self.settings.retry.max_attempts.max(1)
        };
        let mut outcome = Decision::Fail;
        let mut answer = Answer::Transport(String::new());
        for attempt in 0..attempts {
            // Each attempt gets the whole request timeout (cutting it short would make a
            // collector that is merely slow look dead, and a request it did accept would
            // be sent again); retries start only before the next interval.
            if attempt > 0 && Instant::now() >= deadline {
                break;
            }
            answer = self
                .transport
                .send(&request, &mut self.encoded, self.settings.timeout)
                .await;
            outcome = classify(&answer.response(), SystemTime::now());
            let Decision::Retry(asked) = outcome else {
                break;
            };
            if attempt + 1 == attempts {
                break;
            }
            let wait = asked.unwrap_or_else(|| backoff.delay(attempt, jitter_seed()));
            if Instant::now() + wait >= deadline {
                // The next interval sends the current state anyway.
                break;
            }
            stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
        let elapsed = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        stats
            .duration_nanos_total
            .fetch_add(elapsed, Ordering::Relaxed);
        stats.last_duration_nanos.store(elapsed, Ordering::Relaxed);
        match outcome {
            Decision::Accepted | Decision::PartialSuccess => {
                self.mapper.commit();
                self.breaker.record_success();
                stats
                    .points_sent
                    .fetch_add(collection.points as u64, Ordering::Relaxed);
                stats
                    .bytes_sent
                    .fetch_add(self.transport.last_wire_bytes() as u64, Ordering::Relaxed);
                if outcome == Decision::PartialSuccess {
                    stats.exports_partial.fetch_add(1, Ordering::Relaxed);
                    if !self.shared.partial_logged.swap(true, Ordering::Relaxed)
                        && let Answer::Accepted { rejected, message } = &answer
                    {
                        eprintln!(
                            "corral OTLP metric exporter: the collector rejected {rejected} \
                             data points: {message} (logged once)"
                        );
                    }
                } else {
                    stats.exports_ok.fetch_add(1, Ordering::Relaxed);
                }
            }
            Decision::Retry(_) | Decision::Fail => {
                // Delta baselines stay: the next export covers this one's changes.
                self.mapper.abandon();
                stats.exports_failed.fetch_add(1, Ordering::Relaxed);
                if self.breaker.record_failure(Instant::now()) {
                    // Logged when the breaker opens, not on every failed interval.
                    if stats.breaker_opened.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!(
                            "corral OTLP metric exporter: exports to {} keep failing \
                             ({answer:?}); the circuit breaker is open",
                            self.settings.endpoint
                        );
                    }
                }
            }
        }
        stats
            .breaker_state
            .store(self.breaker.state().as_u8(), Ordering::Relaxed);
    }
}
