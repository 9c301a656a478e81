//! Loom model of the exemplar slot (a sequence lock over atomic words): a reader never
//! sees a torn exemplar, whatever a concurrent writer (or two) does.
//!
//! `RUSTFLAGS="--cfg corral_loom" cargo test -p corral-loom-tests --release --test exemplar`
#![cfg(corral_loom)]

use corral_core::{CounterWithExemplar, Exemplar, Metric, Value};
use corral_loom_tests::model;
use loom::sync::Arc;
use loom::thread;

/// Reads the counter and checks its exemplar is one of the two written, whole: its
/// label value and its value belong together.
fn check(counter: &CounterWithExemplar) {
    counter.read(&(), |value| match value {
        Value::Counter(_) => {}
        Value::CounterWithExemplar(_, exemplar) => {
            let labels: Vec<(&str, &str)> = exemplar.labels().collect();
            match exemplar.value() {
                1.0 => assert_eq!(labels, [("trace_id", "aaaaaaaaaaaa")]),
                2.0 => {
                    assert_eq!(labels, [("trace_id", "b"), ("span_id", "c")]);
                    assert_eq!(exemplar.timestamp_unix_nanos(), Some(7));
                }
                other => panic!("torn exemplar: value {other}, labels {labels:?}"),
            }
        }
        other => panic!("unexpected value {other:?}"),
    });
}

#[test]
fn reader_never_sees_a_torn_exemplar() {
    model(|| {
        let counter = Arc::new(CounterWithExemplar::new());
        let writer = {
            let counter = counter.clone();
            thread::spawn(move || {
                let _ = counter
                    .inc_by_with_exemplar(1, &Exemplar::new(&[("trace_id", "aaaaaaaaaaaa")]));
            })
        };
        check(&counter);
        writer.join().unwrap();
        check(&counter);
    });
}

#[test]
fn two_writers_and_a_reader() {
    model(|| {
        let counter = Arc::new(CounterWithExemplar::new());
        let first = {
            let counter = counter.clone();
            thread::spawn(move || {
                let _ = counter
                    .inc_by_with_exemplar(1, &Exemplar::new(&[("trace_id", "aaaaaaaaaaaa")]));
            })
        };
        let second = {
            let counter = counter.clone();
            thread::spawn(move || {
                let exemplar = Exemplar::new(&[("trace_id", "b"), ("span_id", "c")])
                    .with_timestamp_unix_nanos(7);
                let _ = counter.inc_by_with_exemplar(2, &exemplar);
            })
        };
        check(&counter);
        first.join().unwrap();
        second.join().unwrap();
        // Both increments always land; at least one exemplar is stored (a writer only
        // drops its exemplar while the other one is in the slot).
        assert_eq!(counter.get(), 3);
        counter.read(&(), |value| {
            assert!(matches!(value, Value::CounterWithExemplar(..)))
        });
        check(&counter);
    });
}
