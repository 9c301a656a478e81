//! The collector dies mid-run and comes back on the same port: recording goes on at the
//! same rate, the circuit breaker opens and closes again, memory stays flat, and the
//! deltas the collector received sum exactly to the final cumulative value.

mod peers;
mod trace_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use corral_core::{Counter, Desc, Registry, RegistryConfig};
use corral_exporters::otlp::{BreakerState, MetricsSettings, OtlpMetricExporter};
use corral_std::config::{ObservabilityConfig, OtlpProtocol, Temporality};
use trace_support::{Rotel, wait_until};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Sum of the `app_events` values rotel printed.
fn printed_sum(out: &str) -> u64 {
    let mut sum = 0;
    let mut in_events = false;
    for line in out.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("-> Name: ") {
            in_events = name == "app_events";
        } else if in_events && let Some(v) = line.strip_prefix("Value: ") {
            sum += v.parse::<u64>().expect("an integer value");
        }
    }
    sum
}

/// Increments per millisecond over `window`, read from the recorder's running total.
fn rate(done: &AtomicU64, window: Duration) -> f64 {
    let before = done.load(Ordering::Relaxed);
    let t = Instant::now();
    std::thread::sleep(window);
    (done.load(Ordering::Relaxed) - before) as f64 / t.elapsed().as_secs_f64() / 1000.0
}

#[test]
fn a_dead_collector_costs_nothing_and_loses_nothing() {
    let registry: &'static Registry<4> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let events: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("app_events_total", "Events"), events)
        .unwrap();

    let rotel = Rotel::start();
    let (grpc_port, http_port) = (rotel.grpc_port, rotel.http_port);
    let config = ObservabilityConfig::from_yaml_str_with(
        "observability:\n  opentelemetry:\n    metrics:\n      temporality: delta\n      retry:\n        max_attempts: 3\n        initial_backoff_ms: 10\n        max_backoff_ms: 40\n      circuit_breaker:\n        failure_threshold: 2\n        open_ms: 400\n",
        |_| None,
    )
    .unwrap();
    let endpoint = rotel.grpc_endpoint();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "150"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
    ];
    let settings = MetricsSettings::from_config(&config, |name| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    assert_eq!(settings.temporality, Temporality::Delta);
    assert_eq!(settings.protocol, OtlpProtocol::Grpc);
    let exporter = OtlpMetricExporter::start(registry, settings).unwrap();

    // The application: one thread recording as fast as it can.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let recorder = {
        let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..1024 {
                    events.inc();
                }
                done.fetch_add(1024, Ordering::Relaxed);
            }
        })
    };

    let out = rotel.wait_for(Duration::from_secs(10), |o| printed_sum(o) > 0);
    assert!(printed_sum(&out) > 0, "exports arrive:\n{out}");
    let rate_up = rate(&done, Duration::from_millis(600));

    // The collector dies for several intervals.
    let first_output = {
        let out = rotel.output();
        rotel.stop();
        out
    };
    let rss_down_start = rss_kib();
    let mut opened = false;
    let mut rss_samples = Vec::new();
    let down_started = Instant::now();
    let mut rate_down = Vec::new();
    while down_started.elapsed() < Duration::from_millis(1800) {
        rate_down.push(rate(&done, Duration::from_millis(300)));
        rss_samples.push(rss_kib());
        opened |= exporter.stats().breaker == BreakerState::Open;
    }
    let down = exporter.stats();
    assert!(
        opened,
        "the breaker opened while the collector was down: {down:?}"
    );
    assert!(down.breaker_opened >= 1, "{down:?}");
    assert!(down.exports_failed >= 2, "{down:?}");
    assert!(
        down.exports_skipped >= 1,
        "open: intervals skipped at no cost: {down:?}"
    );
    let rate_down = rate_down.iter().copied().fold(f64::INFINITY, f64::min);

    // Back on the same port.
    let rotel = Rotel::start_on(grpc_port, http_port);
    let out = rotel.wait_for(Duration::from_secs(10), |o| printed_sum(o) > 0);
    assert!(printed_sum(&out) > 0, "exports resume after the restart");
    wait_until(Duration::from_secs(5), || {
        exporter.stats().breaker == BreakerState::Closed
    });
    assert_eq!(
        exporter.stats().breaker,
        BreakerState::Closed,
        "the breaker closed again"
    );
    let rate_after = rate(&done, Duration::from_millis(600));

    stop.store(true, Ordering::Relaxed);
    recorder.join().unwrap();
    exporter.shutdown(Duration::from_secs(5)).unwrap();
    let total = events.get();
    let out = rotel.wait_for(Duration::from_secs(5), |o| {
        printed_sum(&first_output) + printed_sum(o) == total
    });
    let received = printed_sum(&first_output) + printed_sum(&out);

    let rss_max = rss_samples.iter().copied().max().unwrap();
    let rss_min = rss_samples.iter().copied().min().unwrap();
    eprintln!(
        "hot-path rate (increments/ms): up {rate_up:.0}, down (slowest 300 ms) {rate_down:.0}, \
         after {rate_after:.0}; RSS while down {rss_down_start} KiB at start, {rss_min}..{rss_max} KiB; \
         stats {:?}",
        exporter_stats_line(&down)
    );
    assert_eq!(
        received, total,
        "deltas received sum to the final cumulative value"
    );
    assert!(
        rss_max <= rss_down_start + 2048,
        "RSS flat while the collector is down: {rss_down_start} KiB, then up to {rss_max} KiB"
    );
    // Recording never waits on export: the slowest window with the collector down keeps
    // at least half the rate of the collector being up (the machine is shared, so the
    // bound leaves room for scheduling noise, not for blocking).
    assert!(
        rate_down >= rate_up * 0.5,
        "hot-path rate: up {rate_up:.0}/ms, down {rate_down:.0}/ms"
    );
}

fn exporter_stats_line(s: &corral_exporters::otlp::ExporterStats) -> String {
    format!(
        "ok {} failed {} skipped {} retries {} opened {}",
        s.exports_ok, s.exports_failed, s.exports_skipped, s.retries, s.breaker_opened
    )
}
