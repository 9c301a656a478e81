//! A real Prometheus (Debian's `prometheus` 2.42, a plain process on a free loopback port,
//! temporary storage, 1 s scrapes) with `--enable-feature=native-histograms` scrapes the
//! endpoint. It must negotiate the protobuf exposition (the only one that carries native
//! histograms), store the native histogram as one, answer `histogram_quantile` over
//! `rate(...[1m])` within the bucket width of the exact quantiles of the known data, and
//! read the classic histogram and the counter of the same scrape.

mod peers;
mod support;

use corral_core::{
    Counter, Desc, Histogram, NativeHistogram, NativeHistogramConfig, native_buckets_for,
};
use corral_exporters::http::MetricsServer;
use serde_json::Value;
use support::prometheus::Prometheus;
use support::{get, registry};

fn sample(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Recorded at schema 5; 0.001 to 10 spans 426 buckets there, so the 160-bucket bound has
/// each read lowered to schema 3 (107 buckets, base 2^(1/8)).
const SCHEMA: i32 = 5;
const BUCKETS: usize = native_buckets_for::<SCHEMA>(1e-4, 100.0);
const REPORTED_SCHEMA: i32 = 3;

/// The known data: `n` values spread log-uniformly over `[0.001, 10)` by a low-discrepancy
/// sequence, so every quantile falls among many distinct values.
fn known_data(n: usize) -> Vec<f64> {
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    (0..n)
        .map(|i| {
            let u = (i as f64 * golden).fract();
            1e-3 * 10f64.powf(4.0 * u)
        })
        .collect()
}

#[test]
fn prometheus_negotiates_protobuf_and_stores_native_histograms() {
    let registry = registry();
    let native: &'static NativeHistogram<BUCKETS, 5, SCHEMA> = Box::leak(Box::new(
        NativeHistogram::new(NativeHistogramConfig::new(1e-4).with_classic(&[0.01, 0.1, 1.0, 5.0])),
    ));
    registry
        .register(
            Desc::new("nh_latency_seconds", "Native latency").with_unit("seconds"),
            native,
        )
        .unwrap();
    let classic: &'static Histogram<5> = Box::leak(Box::new(Histogram::new(&[0.1, 0.2, 0.4, 0.8])));
    registry
        .register(Desc::new("nh_classic_seconds", "Classic latency"), classic)
        .unwrap();
    let requests: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("nh_requests_total", "Requests"), requests)
        .unwrap();
    requests.inc_by(42);
    for v in [0.05, 0.15, 0.15, 0.3, 0.6] {
        classic.observe(v);
    }

    let handle = MetricsServer::new(registry)
        .unwrap()
        .address("127.0.0.1:0")
        .spawn_thread()
        .unwrap();
    let prometheus =
        Prometheus::start_with(handle.local_addr(), &["--enable-feature=native-histograms"]);

    // First a scrape of the empty native histogram, so the window below starts at zero.
    prometheus.wait_for(
        "histogram_count(nh_latency_seconds)",
        "the empty native histogram",
        |r| sample(r) == Some(0.0),
    );
    let data = known_data(20_000);
    for &v in &data {
        native.observe(v);
    }
    let total = data.len() as f64;
    prometheus.wait_for(
        "histogram_count(nh_latency_seconds)",
        "the native histogram's count",
        |r| sample(r) == Some(total),
    );

    // Stored as a native histogram: no classic series were made of it, although the
    // exposition carried its classic buckets too (text would have given only those).
    assert!(
        prometheus.query("nh_latency_seconds_bucket").is_empty(),
        "the native histogram was ingested as classic buckets: protobuf was not negotiated"
    );
    let stored = prometheus.query("nh_latency_seconds");
    let buckets = stored[0]["histogram"][1]["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no native buckets in {stored:?}"));
    // Each bucket is [boundary rule, lower, upper, count]; at schema 3 upper / lower is
    // 2^(1/8).
    let base = 2f64.powf(2f64.powi(-REPORTED_SCHEMA));
    for bucket in buckets {
        let lower: f64 = bucket[1].as_str().unwrap().parse().unwrap();
        let upper: f64 = bucket[2].as_str().unwrap().parse().unwrap();
        assert!(
            ((upper / lower) - base).abs() < 1e-9,
            "bucket {bucket} is not at schema {REPORTED_SCHEMA}"
        );
    }
    assert!(buckets.len() <= 160, "{} buckets", buckets.len());
    let sum = sample(&prometheus.query("histogram_sum(nh_latency_seconds)")).unwrap();
    let exact_sum: f64 = data.iter().sum();
    assert!(
        ((sum - exact_sum) / exact_sum).abs() < 1e-9,
        "{sum} vs {exact_sum}"
    );

    // Prometheus interpolates within the bucket that holds the rank, so its answer and the
    // exact quantile share a bucket: relative error at most b - 1.
    let mut sorted = data.clone();
    sorted.sort_by(f64::total_cmp);
    let bound = base - 1.0;
    for q in [0.5, 0.9, 0.99] {
        let promql = format!("histogram_quantile({q}, rate(nh_latency_seconds[1m]))");
        let estimate = sample(&prometheus.query(&promql))
            .unwrap_or_else(|| panic!("`{promql}` gave no value"));
        let rank = corral_core::quantile_rank(q, sorted.len() as u64) as usize;
        let exact = sorted[rank - 1];
        let error = ((estimate - exact) / exact).abs();
        assert!(
            error <= bound,
            "p{q}: Prometheus says {estimate}, exact {exact}, error {error} > {bound}"
        );
    }

    // The classic histogram and the counter of the same scrapes.
    let le = prometheus.query("nh_classic_seconds_bucket{le=\"0.2\"}");
    assert_eq!(sample(&le), Some(3.0), "{le:?}");
    let count = prometheus.query("nh_classic_seconds_count");
    assert_eq!(sample(&count), Some(5.0), "{count:?}");
    let requests = prometheus.query("nh_requests_total");
    assert_eq!(sample(&requests), Some(42.0), "{requests:?}");
}

/// The endpoint itself: Prometheus 2.42's native-histogram `Accept` gets the delimited
/// protobuf with its exact `Content-Type` (gzip too when asked), plain `Accept`s get text.
#[test]
fn the_endpoint_answers_protobuf_to_the_native_histogram_accept_header() {
    let registry = registry();
    let native: &'static NativeHistogram<8> = Box::leak(Box::new(NativeHistogram::new(
        NativeHistogramConfig::new(0.5),
    )));
    registry.register(Desc::new("n", "N"), native).unwrap();
    native.observe(1.0);
    let handle = MetricsServer::new(registry)
        .unwrap()
        .address("127.0.0.1:0")
        .spawn_thread()
        .unwrap();
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                  encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,\
                  application/openmetrics-text;version=0.0.1;q=0.75,\
                  text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let answer = get(handle.local_addr(), "/metrics", &[("Accept", accept)]);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some(corral_core::encode::PROTOBUF_CONTENT_TYPE)
    );
    // Length-delimited messages that tile the body exactly, the first one family `n`.
    let body = &answer.body;
    let mut at = 0;
    let mut messages = 0;
    while at < body.len() {
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let byte = body[at];
            at += 1;
            len |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        if messages == 0 {
            assert_eq!(&body[at..at + 3], &[0x0a, 1, b'n']);
        }
        at += len;
        messages += 1;
    }
    assert_eq!(at, body.len(), "the messages do not tile the body");
    assert!(messages >= 1);

    let text = get(handle.local_addr(), "/metrics", &[("Accept", "*/*")]);
    assert_eq!(
        text.header("content-type"),
        Some(corral_core::encode::PROMETHEUS_CONTENT_TYPE)
    );
    assert!(
        text.text().contains("n_bucket{le=\"+Inf\"} 1\n"),
        "{}",
        text.text()
    );
}
