//! Integer counters and gauges: `Counter`, `IntGauge`, `ShardedCounter`, `TypedFamily`.
//!
//! Recording is one relaxed read-modify-write. The models show that relaxed is enough for
//! what a metric promises: no increment is lost, and a concurrent reader sees a value made
//! of whole increments that never goes backwards.

use corral_core::{Counter, IntGauge, ShardedCounter, TypedFamily};
use corral_loom_tests::{explore, leak, model, overflowed_total, thread};

/// Two threads add to one counter while a third reads it twice: the reads never decrease
/// and are sums of whole increments; after both writers finish, the total is exact.
#[test]
fn counter_total_is_exact_and_reads_are_monotone() {
    explore(&["read 0", "read a partial total", "read 13"], |seen| {
        let counter = leak(Counter::new());
        let a = thread::spawn(move || {
            counter.inc();
            counter.inc_by(2);
        });
        let b = thread::spawn(move || counter.inc_by(10));
        let reader = thread::spawn(move || (counter.get(), counter.get()));
        let (first, second) = reader.join().unwrap();
        assert!(
            second >= first,
            "a counter read went backwards: {first} then {second}"
        );
        for read in [first, second] {
            // Reachable totals: any prefix of a's increments (0, 1, 3) plus b's (0 or 10).
            assert!(
                [0, 1, 3, 10, 11, 13].contains(&read),
                "a reader saw {read}, which no interleaving of whole increments produces"
            );
            seen.record(match read {
                0 => "read 0",
                13 => "read 13",
                _ => "read a partial total",
            });
        }
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(counter.get(), 13);
    });
}

/// Up and down moves of an integer gauge from two threads are all kept.
#[test]
fn int_gauge_add_and_sub_lose_nothing() {
    model(|| {
        let gauge = leak(IntGauge::new());
        let a = thread::spawn(move || {
            gauge.inc();
            gauge.add(5);
        });
        let b = thread::spawn(move || {
            gauge.dec();
            gauge.sub(2);
        });
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(gauge.get(), 3);
    });
}

/// Two threads add to the same stripe and to different stripes of a sharded counter
/// while a third sums it: the running sum never exceeds what was added and never goes
/// backwards, and the final sum counts every increment exactly once.
#[test]
fn sharded_counter_sums_every_stripe_once() {
    explore(&["sum 0", "partial sum", "sum 22"], |seen| {
        let counter = leak(ShardedCounter::<2>::new());
        let a = thread::spawn(move || {
            counter.inc_by_stripe(0, 1);
            counter.inc_by_stripe(1, 4);
        });
        let b = thread::spawn(move || {
            counter.inc_by_stripe(0, 16);
            // The stack-address stripe choice (stripe 0 under loom, see
            // `stack_stripe_hint`, so it races thread `a` on stripe 0): it counts.
            counter.inc();
        });
        let reader = thread::spawn(move || (counter.get(), counter.get()));
        let (first, second) = reader.join().unwrap();
        assert!(
            second >= first,
            "the sum went backwards: {first} then {second}"
        );
        for sum in [first, second] {
            assert!(sum <= 22, "read {sum}, more than was ever added");
            seen.record(match sum {
                0 => "sum 0",
                22 => "sum 22",
                _ => "partial sum",
            });
        }
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(counter.get(), 22);
    });
}

corral_core::label_enum! {
    /// The label of the typed-family model.
    enum Outcome: "outcome" { Ok = "ok", Error = "error" }
}

/// Two threads record into a typed family, one of them into both series: each series
/// ends with exactly its own increments, and nothing goes to the overflow series.
#[test]
fn typed_family_series_are_independent() {
    model(|| {
        let family = leak(TypedFamily::<Counter, Outcome, 2>::new());
        let a = thread::spawn(move || {
            family.with_labels(Outcome::Ok).inc();
            family.with_labels(Outcome::Error).inc_by(3);
        });
        let b = thread::spawn(move || family.with_labels(Outcome::Ok).inc_by(5));
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(family.with_labels(Outcome::Ok).get(), 6);
        assert_eq!(family.with_labels(Outcome::Error).get(), 3);
        assert_eq!(overflowed_total(family), 0);
    });
}
