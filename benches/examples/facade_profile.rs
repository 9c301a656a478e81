//! A fixed workload for instruction counts of the `metrics` facade, which stay stable on a
//! busy machine where wall-clock timings do not: N `counter!` calls with two literal
//! labels, or N `histogram!` calls with one (rotating over 16 values), through Corral's
//! recorder or `metrics-exporter-prometheus`'s, installed with `with_local_recorder`.
//!
//! ```text
//! cargo build --profile bench -p corral-benches --example facade_profile
//! valgrind --tool=callgrind target/release/examples/facade_profile counter:corral 200000
//! ```
//!
//! Workloads: `counter:corral`, `counter:prometheus`, `histogram:corral`,
//! `histogram:prometheus`. Running it with two values of N and subtracting the totals gives
//! instructions per call without the set-up.

use std::hint::black_box;

use corral_core::{Registry, RegistryConfig};
use corral_exporters::facade::{DEFAULT_BUCKETS, MetricsRecorder};
use metrics_exporter_prometheus::PrometheusBuilder;

const VALUES: [f64; 16] = [
    0.001, 0.007, 0.012, 0.03, 0.04, 0.07, 0.2, 0.3, 0.6, 0.9, 1.5, 3.0, 4.0, 7.0, 9.0, 20.0,
];

static REGISTRY: Registry<16> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

fn counters(n: usize) {
    for _ in 0..n {
        metrics::counter!("profile_requests", "method" => "GET", "status" => "200")
            .increment(black_box(1));
    }
}

fn histograms(n: usize) {
    for i in 0..n {
        metrics::histogram!("profile_latency_seconds", "route" => "/users")
            .record(black_box(VALUES[i % 16]));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "counter:corral".into());
    let n: usize = args
        .next()
        .map_or(1_000_000, |s| s.parse().expect("N is a number"));
    let corral = MetricsRecorder::builder(&REGISTRY)
        .build()
        .expect("the recorder builds");
    let peer = PrometheusBuilder::new()
        .set_buckets(DEFAULT_BUCKETS)
        .expect("the bounds are not empty")
        .build_recorder();
    match workload.as_str() {
        "counter:corral" => metrics::with_local_recorder(&corral, || counters(n)),
        "counter:prometheus" => metrics::with_local_recorder(&peer, || counters(n)),
        "histogram:corral" => metrics::with_local_recorder(&corral, || histograms(n)),
        "histogram:prometheus" => metrics::with_local_recorder(&peer, || histograms(n)),
        other => panic!("unknown workload `{other}`"),
    }
}
