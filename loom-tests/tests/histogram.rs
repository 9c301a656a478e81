//! Histograms (`Histogram`, and `ShardedHistogram`, which keeps one copy of the cells per
//! stripe and merges them on read): one relaxed counter per bucket plus a CAS-looped `f64`
//! sum. The count is derived from the buckets, which is what makes every snapshot
//! consistent.
//!
//! Properties, checked on the point a registry visit hands to encoders while observers
//! run: `_sum` includes every observation the buckets count (an observer adds to the sum,
//! then increments its bucket with `Release`; a read loads the buckets with `Acquire`, then
//! the sum), cumulative buckets never decrease, each bucket holds only observations that
//! were really made, and a later scrape never shows less than an earlier one. After the
//! observers finish, count, buckets and sum are exact.
//!
//! The sum check is the one that can fail on a weakened ordering: with the bucket
//! increment made `Relaxed` (or the sum added after it), loom finds a scrape whose buckets
//! count `1.5` while its sum is still `0` (seen with `LOOM_MAX_PREEMPTIONS=2`).

use corral_core::{Desc, Histogram, Registry, RegistryConfig, ShardedHistogram, Value};
use corral_loom_tests::{Outcomes, Sample, explore, leak, model, scrape, thread};

const BOUNDS: &[f64] = &[1.0, 2.0];
/// What the concurrent models observe, by bucket.
const OBSERVED: &[&[f64]] = &[&[0.5, 0.25], &[1.5], &[]];

struct Point {
    counts: Vec<u64>,
    cumulative: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

fn histogram_point(registry: &Registry<1>) -> Point {
    let seen = scrape(registry);
    let series = seen
        .series
        .iter()
        .find(|s| s.family == "latency_ms")
        .expect("the histogram is visited");
    match &series.sample {
        Sample::Histogram {
            counts,
            cumulative,
            count,
            sum,
        } => Point {
            counts: counts.clone(),
            cumulative: cumulative.clone(),
            count: *count,
            sum: *sum,
        },
        other => panic!("expected a histogram point, got {other:?}"),
    }
}

/// Checks one scraped point against the observations that could have been made: each
/// bucket's observations are `observed[bucket]`, and the sum must hold at least the
/// smallest `counts[bucket]` of them for every bucket (the sum is exact in binary here:
/// every value is a small power-of-two fraction).
fn check_point(point: &Point, observed: &[&[f64]]) {
    let mut least = 0.0;
    for (bucket, (&seen, values)) in point.counts.iter().zip(observed).enumerate() {
        let mut values = values.to_vec();
        values.sort_by(f64::total_cmp);
        let seen = usize::try_from(seen).unwrap();
        assert!(
            seen <= values.len(),
            "bucket {bucket} counts {seen}, only {} were observed there",
            values.len()
        );
        least += values[..seen].iter().sum::<f64>();
    }
    assert!(
        point.sum >= least,
        "_sum {} is missing observations the buckets count ({:?}, at least {least})",
        point.sum,
        point.counts
    );
    assert!(
        point.cumulative.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative buckets decrease: {:?}",
        point.cumulative
    );
}

/// Checks two scrapes made one after the other while the `observed` values (three in all)
/// were being observed: each point on its own, and the later never behind the
/// earlier. Records how far each scrape got.
fn check_scrapes(seen: &Outcomes, (first, later): (Point, Point), observed: &[&[f64]]) {
    for point in [&first, &later] {
        check_point(point, observed);
        seen.record(match point.count {
            0 => "scraped 0",
            3 => "scraped 3",
            _ => "scraped some",
        });
    }
    assert!(
        later.count >= first.count,
        "the count went backwards between scrapes"
    );
    assert!(
        first.counts.iter().zip(&later.counts).all(|(a, b)| a <= b),
        "a bucket went backwards between scrapes: {:?} then {:?}",
        first.counts,
        later.counts
    );
}

/// Two observers (three observations, two of them in the same bucket) race two scrapes
/// through the registry, made by a third thread.
#[test]
fn snapshot_is_consistent_under_concurrent_observes() {
    explore(&["scraped 0", "scraped some", "scraped 3"], |seen| {
        let config = RegistryConfig::DEFAULT.with_self_metrics(false);
        let registry = leak(Registry::<1>::with_config(config));
        let histogram = leak(Histogram::<3>::new(BOUNDS));
        registry
            .register(
                Desc::new("latency_ms", "Latency").with_unit("ms"),
                histogram,
            )
            .unwrap();
        let a = thread::spawn(move || {
            histogram.observe(0.5);
            histogram.observe(1.5);
        });
        let b = thread::spawn(move || histogram.observe(0.25));
        let scraper = thread::spawn(move || (histogram_point(registry), histogram_point(registry)));
        check_scrapes(seen, scraper.join().unwrap(), OBSERVED);

        a.join().unwrap();
        b.join().unwrap();
        let end = histogram_point(registry);
        assert_eq!(end.counts, [2, 1, 0]);
        assert_eq!(end.cumulative, [(1.0, 2), (2.0, 3), (f64::INFINITY, 3)]);
        assert_eq!(end.count, 3);
        assert_eq!(end.sum, 2.25);
    });
}

/// Two threads observe into the same bucket (and one beyond the last bound): neither the
/// bucket increment nor the sum's CAS loop loses an update.
#[test]
fn same_bucket_observes_lose_nothing() {
    model(|| {
        let histogram = leak(Histogram::<3>::new(BOUNDS));
        let a = thread::spawn(move || histogram.observe(2.0));
        let b = thread::spawn(move || {
            histogram.observe(1.25);
            histogram.observe(100.0);
        });
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(histogram.count(), 3);
        assert_eq!(histogram.sum(), 103.25);
        histogram.read(|value| match value {
            Value::Histogram(h) => assert_eq!(h.counts(), [0, 2, 1]),
            other => panic!("expected a histogram point, got {other:?}"),
        });
    });
}

/// A sharded histogram: two observers write to both stripes (one of them also through the
/// stack-address stripe choice, which is stripe 0 under loom) while a third thread scrapes
/// twice. The merged point obeys the same rules as a plain histogram's, and the merged
/// totals are exact afterwards.
#[test]
fn sharded_snapshot_is_consistent_under_concurrent_observes() {
    explore(&["scraped 0", "scraped some", "scraped 3"], |seen| {
        let config = RegistryConfig::DEFAULT.with_self_metrics(false);
        let registry = leak(Registry::<1>::with_config(config));
        let histogram = leak(ShardedHistogram::<3, 2>::new(BOUNDS));
        registry
            .register(
                Desc::new("latency_ms", "Latency").with_unit("ms"),
                histogram,
            )
            .unwrap();
        let a = thread::spawn(move || {
            histogram.observe_on_stripe(0, 0.5);
            histogram.observe_on_stripe(1, 1.5);
        });
        let b = thread::spawn(move || histogram.observe(0.25));
        let scraper = thread::spawn(move || (histogram_point(registry), histogram_point(registry)));
        check_scrapes(seen, scraper.join().unwrap(), OBSERVED);

        a.join().unwrap();
        b.join().unwrap();
        let end = histogram_point(registry);
        assert_eq!(end.counts, [2, 1, 0]);
        assert_eq!(end.count, 3);
        assert_eq!(end.sum, 2.25);
        assert_eq!(histogram.count(), 3);
    });
}
