//! Recording through the `metrics` facade recorder allocates nothing once a key has been
//! seen: the macros with literal labels, keys built at run time that equal a cached one,
//! and the keys the recorder never caches (overflowing, refused, other label names).
//!
//! Its own test binary without the test harness (`harness = false`): the counting allocator
//! counts every thread, and the harness's threads allocate while tests run.
#![cfg(feature = "metrics-facade")]

use std::alloc::System;

use corral_core::{Registry, RegistryConfig, encode};
use corral_exporters::facade::{Matcher, MetricsRecorder};
use corral_std::encode::VecSink;
use metrics::{Key, Label, Level, Metadata, Recorder};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

static REGISTRY: Registry<16> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

const ROUNDS: u64 = 1000;

/// What a dependency does: macros with literal labels, on every call.
mod hot_path {
    pub fn record(v: f64) {
        metrics::counter!("requests", "method" => "GET", "status" => "200").increment(1);
        metrics::gauge!("in_flight", "pool" => "main").set(v);
        metrics::histogram!("latency_seconds", "route" => "/a").record(v);
        metrics::histogram!("db_seconds").record(v);
    }
}

fn main() {
    let recorder = MetricsRecorder::builder(&REGISTRY)
        .max_series_for(Matcher::Full("tiny".into()), 16)
        .summary(Matcher::Prefix("db_".into()), Default::default())
        .build()
        .unwrap();
    let meta = Metadata::new("no_alloc", Level::INFO, None);
    // Keys built at run time (owned strings, as `counter!` with non-literal labels makes
    // them): one equal to a cached key but sharing no memory with it, one past the
    // family's capacity, one refused name, one with other label names.
    let owned = |name: &str, labels: &[(&str, &str)]| {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(k.to_string(), v.to_string()))
            .collect();
        Key::from_parts(name.to_string(), labels)
    };
    let equal = owned("requests", &[("status", "200"), ("method", "GET")]);
    let overflowing = owned("tiny", &[("k", "overflowing")]);
    let refused = owned("bad-name", &[]);
    let other_labels = owned("requests", &[("verb", "GET")]);

    // ---- set-up: first sight of every key allocates (families, handles, cache) ----
    metrics::with_local_recorder(&recorder, || hot_path::record(0.5));
    // `tiny` asks for 16 series: its table (32 slots) admits 24, all taken here.
    for i in 0..24 {
        let key = owned("tiny", &[("k", &i.to_string())]);
        recorder.register_counter(&key, &meta).increment(1);
    }
    recorder.register_counter(&equal, &meta).increment(1);
    recorder.register_counter(&overflowing, &meta).increment(1);
    recorder.register_counter(&refused, &meta).increment(1);
    recorder.register_counter(&other_labels, &meta).increment(1);

    // ---- measured ----
    let region = Region::new(GLOBAL);
    metrics::with_local_recorder(&recorder, || {
        for i in 0..ROUNDS {
            hot_path::record(i as f64 / 1000.0);
        }
    });
    for _ in 0..ROUNDS {
        recorder.register_counter(&equal, &meta).increment(1);
        recorder.register_counter(&overflowing, &meta).increment(2);
        recorder.register_counter(&refused, &meta).increment(1);
        recorder.register_counter(&other_labels, &meta).increment(1);
    }
    let stats = region.change();
    // ---- end measured ----

    assert_eq!(
        (
            stats.allocations,
            stats.reallocations,
            stats.bytes_allocated
        ),
        (0, 0, 0),
        "recording allocated: {stats:?}"
    );

    // And the values went where they belong.
    let mut out = Vec::new();
    encode::prometheus(&REGISTRY, &mut VecSink::new(&mut out)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let requests = 1 + ROUNDS + 1 + ROUNDS; // macro and equal key, set-up and measured
    let overflow = 2 * ROUNDS + 1;
    for line in [
        format!("requests_total{{method=\"GET\",status=\"200\"}} {requests}"),
        format!("tiny_total{{otel_metric_overflow=\"true\"}} {overflow}"),
        format!("latency_seconds_count{{route=\"/a\"}} {}", ROUNDS + 1),
        format!("db_seconds_count {}", ROUNDS + 1),
        "in_flight{pool=\"main\"} 0.999".to_owned(),
        format!(
            "metrics_facade_refused_total{{metric=\"bad-name\",reason=\"invalid_name\"}} {}",
            ROUNDS + 1
        ),
        format!(
            "metrics_facade_refused_total{{metric=\"requests\",reason=\"label_names\"}} {}",
            ROUNDS + 1
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    println!(
        "facade_no_alloc: 1 passed, 0 failed ({} registrations measured, 0 allocations)",
        ROUNDS * 8
    );
}
