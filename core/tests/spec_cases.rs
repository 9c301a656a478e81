//! The specification's own unit-test cases (its "Testing Strategy" section), in Corral's API.

mod common;

use std::thread;

use common::{Collector, Plain};
use corral_core::{Counter, Desc, DynamicFamily, Histogram, LabelError, Registry, RegistryConfig};

#[test]
fn test_counter_increment() {
    let counter = Counter::new();
    counter.inc();
    assert_eq!(counter.get(), 1);
    counter.inc_by(5);
    assert_eq!(counter.get(), 6);
}

#[test]
fn test_counter_concurrent() {
    static COUNTER: Counter = Counter::new();
    // Fewer increments under miri, which interprets every instruction.
    let (threads, increments) = (8, if cfg!(miri) { 500 } else { 10_000 });
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..increments {
                    COUNTER.inc();
                }
            });
        }
    });
    assert_eq!(COUNTER.get(), threads * increments);
}

#[test]
fn test_histogram_observe() {
    // The spec lists bounds [1, 5, 10, +Inf]; in Corral +Inf is implicit.
    static REGISTRY: Registry<2> = Registry::new();
    static HISTOGRAM: Histogram<4> = Histogram::new(&[1.0, 5.0, 10.0]);
    REGISTRY
        .register(Desc::new("test", "Test histogram"), &HISTOGRAM)
        .unwrap();
    for value in [0.5, 3.0, 7.0, 15.0] {
        HISTOGRAM.observe(value);
    }
    let mut seen = Collector::default();
    REGISTRY.visit(&mut seen);
    let Some(Plain::Histogram {
        cumulative,
        count,
        sum,
    }) = seen.value("test", &[])
    else {
        panic!("histogram missing");
    };
    let buckets: Vec<u64> = cumulative.iter().map(|(_, c)| *c).collect();
    assert_eq!(buckets, vec![1, 2, 3, 4]);
    assert_eq!(*count, 4);
    assert_eq!(*sum, 25.5);
}

#[test]
fn test_label_encoding() {
    // Label order is the declared order; the exact exposition is the encoders' test.
    static FAMILY: DynamicFamily<Counter, 2, 4> = DynamicFamily::new(["method", "status"]);
    static REGISTRY: Registry<2> = Registry::new();
    REGISTRY
        .register(Desc::new("requests_total", "Requests"), &FAMILY)
        .unwrap();
    FAMILY.with_labels(["GET", "200"]).inc();
    let mut seen = Collector::default();
    REGISTRY.visit(&mut seen);
    let labels = &seen.family("requests_total")[0].labels;
    assert_eq!(
        labels,
        &[
            ("method".into(), "GET".into()),
            ("status".into(), "200".into())
        ]
    );
}

#[test]
fn test_cardinality_limit() {
    // The spec's tracker refuses the 101st series of a 100-series budget. Corral refuses it
    // a series of its own and records the value in the overflow series instead.
    static REGISTRY: Registry<2> =
        Registry::with_config(RegistryConfig::DEFAULT.with_max_total_series(100));
    // 256 slots: the smallest table that admits 100 series at three-quarter load is 256.
    static IDS: DynamicFamily<Counter, 1, 256> = DynamicFamily::new(["id"]);
    REGISTRY
        .register(Desc::new("ids_total", "By id"), &IDS)
        .unwrap();
    for i in 0..100 {
        IDS.try_with_labels([&i.to_string()]).unwrap().inc();
    }
    assert_eq!(
        IDS.try_with_labels(["101"]).unwrap_err(),
        LabelError::SeriesBudgetExhausted { max: 100 }
    );
    IDS.with_labels(["101"]).inc();
    assert_eq!(IDS.len(), 100);
    assert_eq!(IDS.overflow().get(), 1);
    assert_eq!(REGISTRY.total_series(), 100);
}
