//! Native histograms (`NativeHistogram`): per-sign rows of bucket counters, a zero bucket,
//! a CAS-looped `f64` sum and classic bucket counters kept alongside. An observer adds to
//! the sum, then increments its native bucket with `Release`, then its classic bucket with
//! `Release`; a read loads the classic counts with `Acquire`, then the native ones with
//! `Acquire`, then the sum.
//!
//! Properties, checked on points read while observers run: the classic buckets never count
//! more than the native count (every observation a read sees in a classic bucket it also
//! sees natively), `_sum` includes every observation the native buckets count, each bucket
//! holds only observations really made there, and a later read never shows less than an
//! earlier one. After the observers finish, every count and the sum are exact.

use corral_core::{NativeHistogram, NativeHistogramConfig, Value};
use corral_loom_tests::{Outcomes, explore, leak, model, thread};

/// Schema 0, zero threshold 0.5, four buckets per sign from the threshold's bucket -2
/// `(0.25, 0.5]` up, and
/// classic bounds `[1.0]` (plus `+Inf`).
type Native = NativeHistogram<4, 2, 0>;

fn native() -> &'static Native {
    leak(Native::new(
        NativeHistogramConfig::new(0.5).with_classic(&[1.0]),
    ))
}

struct Point {
    /// Zero bucket, then positive buckets -1 and 0.
    native: [u64; 3],
    classic: Vec<u64>,
    count: u64,
    sum: f64,
}

fn read(h: &Native) -> Point {
    h.read(|value| {
        let Value::NativeHistogram(n) = value else {
            panic!("expected a native histogram point, got {value:?}")
        };
        let mut native = [n.zero_count(), 0, 0];
        for (index, count) in n.positive() {
            match index {
                -1 => native[1] = count,
                0 => native[2] = count,
                other => panic!("bucket {other} holds nothing observed"),
            }
        }
        assert_eq!(n.negative().count(), 0);
        let classic = n.classic().expect("classic buckets kept").counts().to_vec();
        Point {
            native,
            classic,
            count: n.count(),
            sum: n.sum(),
        }
    })
}

/// What the models observe, by native bucket (zero, -1, 0): every value a small binary
/// fraction, so sums are exact.
const OBSERVED: [&[f64]; 3] = [&[0.25], &[1.0], &[1.5]];

fn check_point(point: &Point) {
    let mut least = 0.0;
    for (bucket, (&seen, values)) in point.native.iter().zip(OBSERVED).enumerate() {
        let seen = usize::try_from(seen).unwrap();
        assert!(
            seen <= values.len(),
            "bucket {bucket} counts {seen}, only {} observed there",
            values.len()
        );
        least += values[..seen].iter().sum::<f64>();
    }
    assert_eq!(point.count, point.native.iter().sum::<u64>());
    assert!(
        point.sum >= least,
        "_sum {} misses observations the buckets count ({:?})",
        point.sum,
        point.native
    );
    let classic: u64 = point.classic.iter().sum();
    assert!(
        classic <= point.count,
        "classic buckets count {classic}, the native count is {}",
        point.count
    );
}

fn check_reads(seen: &Outcomes, (first, later): (Point, Point)) {
    for point in [&first, &later] {
        check_point(point);
        seen.record(match point.count {
            0 => "read 0",
            3 => "read 3",
            _ => "read some",
        });
    }
    assert!(later.count >= first.count, "the count went backwards");
    assert!(
        first.native.iter().zip(&later.native).all(|(a, b)| a <= b),
        "a bucket went backwards: {:?} then {:?}",
        first.native,
        later.native
    );
    assert!(
        first
            .classic
            .iter()
            .zip(&later.classic)
            .all(|(a, b)| a <= b),
        "a classic bucket went backwards"
    );
}

/// Two observers (zero bucket, bucket -1, bucket 0; classic `le=1` twice and `+Inf` once)
/// race two reads made by a third thread.
#[test]
fn native_point_is_consistent_under_concurrent_observes() {
    explore(&["read 0", "read some", "read 3"], |seen| {
        let h = native();
        let a = thread::spawn(move || {
            h.observe(1.0);
            h.observe(1.5);
        });
        let b = thread::spawn(move || h.observe(0.25));
        let reader = thread::spawn(move || (read(h), read(h)));
        check_reads(seen, reader.join().unwrap());
        a.join().unwrap();
        b.join().unwrap();
        let end = read(h);
        assert_eq!(end.native, [1, 1, 1]);
        assert_eq!(end.classic, [2, 1]);
        assert_eq!(end.count, 3);
        assert_eq!(end.sum, 2.75);
    });
}

/// Two threads observe into the same native bucket (and one far beyond the row, and one
/// negative): neither the increments nor the sum's CAS loop lose an update.
#[test]
fn same_bucket_native_observes_lose_nothing() {
    model(|| {
        let h = native();
        let a = thread::spawn(move || h.observe(1.5));
        let b = thread::spawn(move || {
            h.observe(1.25);
            h.observe(-1e6);
        });
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum(), 1.5 + 1.25 - 1e6);
        assert_eq!(h.overflow(), 1);
        h.read(|value| {
            let Value::NativeHistogram(n) = value else {
                panic!("{value:?}")
            };
            assert_eq!(n.positive().collect::<Vec<_>>(), [(0, 2)]);
            // The row is buckets -2 ..= 1 (from the threshold's, (0.25, 0.5]); -1e6 is
            // beyond it and reported in bucket 2, just past it.
            assert_eq!(n.negative().collect::<Vec<_>>(), [(2, 1)]);
        });
    });
}
