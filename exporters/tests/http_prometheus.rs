//! A real Prometheus server (Debian's `prometheus` 2.42, started here as a plain process on
//! a free loopback port with a temporary storage folder and a 1 s scrape interval) scrapes
//! the endpoint; its query API must then give back what was recorded.

mod peers;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use corral_core::{Counter, Desc, DynamicFamily, Histogram};
use corral_exporters::http::MetricsServer;
use serde_json::Value;
use support::prometheus::Prometheus;
use support::registry;

/// The label value read back exactly: quotes, a backslash, a newline-free mix of scripts.
const TRICKY: &str = "say \"hi\" \\ naïve — 雪 ☃";

fn sample(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_real_prometheus_scrapes_and_reads_back_exactly() {
    let registry = registry();
    let jobs: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("e2e_jobs_total", "Jobs done"), jobs)
        .unwrap();
    jobs.inc_by(123_456_789_012);
    let ticks: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("e2e_ticks_total", "Ticks"), ticks)
        .unwrap();
    let latency: &'static Histogram<5> = Box::leak(Box::new(Histogram::new(&[0.1, 0.2, 0.4, 0.8])));
    registry
        .register(
            Desc::new("e2e_latency_seconds", "Latency").with_unit("seconds"),
            latency,
        )
        .unwrap();
    // 10 in (0, 0.1], 30 in (0.1, 0.2], 40 in (0.2, 0.4], 20 in (0.4, 0.8]: the median is
    // rank 50 of 100, a quarter into (0.2, 0.4] by linear interpolation: 0.25.
    for (value, n) in [(0.05, 10), (0.15, 30), (0.3, 40), (0.6, 20)] {
        for _ in 0..n {
            latency.observe(value);
        }
    }
    let labelled: &'static DynamicFamily<Counter, 1, 4> =
        Box::leak(Box::new(DynamicFamily::new(["path"])));
    registry
        .register(
            Desc::new("e2e_labels_total", "Tricky label values"),
            labelled,
        )
        .unwrap();
    labelled.with_labels([TRICKY]).inc_by(3);

    let handle = MetricsServer::new(registry)
        .unwrap()
        .address("127.0.0.1:0")
        .spawn_thread()
        .unwrap();
    // 100 ticks every 100 ms: at most 1,000 a second, fewer when the sleeps run long.
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                ticks.inc_by(100);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let prometheus = Prometheus::start(handle.local_addr());

    let up = prometheus.wait_for("up{job=\"corral\"}", "the target up", |r| {
        sample(r) == Some(1.0)
    });
    assert_eq!(up[0]["metric"]["instance"], handle.local_addr().to_string());

    let exact = prometheus.wait_for("e2e_jobs_total", "the counter", |r| !r.is_empty());
    assert_eq!(exact[0]["value"][1], "123456789012");

    let rate = prometheus.wait_for(
        "rate(e2e_ticks_total[5s])",
        "a rate over the counter",
        |r| sample(r).is_some_and(|v| v > 0.0),
    );
    let per_second = sample(&rate).unwrap();
    assert!(
        (100.0..=1_100.0).contains(&per_second),
        "rate {per_second}/s, recorded at most 1,000/s"
    );

    let median = prometheus.wait_for(
        "histogram_quantile(0.5, e2e_latency_seconds_bucket)",
        "the histogram's median",
        |r| sample(r).is_some(),
    );
    let median = sample(&median).unwrap();
    assert!((median - 0.25).abs() < 1e-9, "median {median}");
    let count = prometheus.wait_for("e2e_latency_seconds_count", "the histogram count", |r| {
        !r.is_empty()
    });
    assert_eq!(count[0]["value"][1], "100");

    let tricky = prometheus.wait_for("e2e_labels_total", "the labelled counter", |r| {
        !r.is_empty()
    });
    assert_eq!(tricky[0]["metric"]["path"], TRICKY);
    assert_eq!(tricky[0]["value"][1], "3");

    // It negotiated OpenMetrics and the self-metrics counted its scrapes.
    let scrapes = prometheus.wait_for(
        "promhttp_metric_handler_requests_total{code=\"200\"}",
        "the self-metric",
        |r| sample(r).is_some_and(|v| v >= 1.0),
    );
    assert!(sample(&scrapes).unwrap() >= 1.0);

    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
}
