//! Summary behaviour: statics and both family kinds through the registry, values outside
//! the range, configuration errors, concurrent observers, and the sliding window.

use core::ops::ControlFlow;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::BTreeMap;

use corral_core::{
    BoundsError, Clock, Desc, DynamicFamily, FamilyInfo, MetricKind, Reason, Registry,
    SeriesLabels, Summary, SummaryCells, SummaryConfig, SummaryConfigError, TypedFamily, Value,
    Visitor, quantile_rank, sketch,
};

corral_core::label_enum! {
    /// HTTP method.
    pub enum Method: "method" {
        /// GET.
        Get = "GET",
        /// POST.
        Post = "POST",
    }
}

/// 0.5 to 1,000 (`buckets_for` gives 702 buckets).
const LATENCY: SummaryConfig = SummaryConfig::new(0.5).with_quantiles(&[0.5, 0.99]);
const B: usize = sketch::buckets_for::<6>(0.5, 1_000.0);

/// One summary point: `(quantile, value)` pairs, count, sum.
type Point = (Vec<(f64, f64)>, u64, f64);

/// Every summary point a visit produced, keyed by `name{labels}`.
#[derive(Default)]
struct Points(BTreeMap<String, Point>);

impl Visitor for Points {
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        if let Value::Summary(point) = value {
            assert_eq!(family.kind, MetricKind::Summary);
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.0.insert(
                format!("{}{{{}}}", family.name, labels.join(",")),
                (point.quantiles().to_vec(), point.count(), point.sum()),
            );
        }
        ControlFlow::Continue(())
    }
}

#[test]
fn statics_and_both_family_kinds_render_through_the_registry() {
    static REGISTRY: Registry<4> = Registry::new();
    static STANDALONE: Summary<B> = Summary::new(LATENCY);
    static TYPED: TypedFamily<SummaryCells<B>, Method, 2> = TypedFamily::summary(LATENCY);
    static DYNAMIC: DynamicFamily<SummaryCells<B>, 1, 8> =
        DynamicFamily::summary(["route"], LATENCY);

    REGISTRY
        .register(Desc::new("standalone_ms", "s").with_unit("ms"), &STANDALONE)
        .unwrap();
    REGISTRY
        .register(Desc::new("typed_ms", "t").with_unit("ms"), &TYPED)
        .unwrap();
    REGISTRY
        .register(Desc::new("dynamic_ms", "d").with_unit("ms"), &DYNAMIC)
        .unwrap();

    for v in 1..=100 {
        STANDALONE.observe(f64::from(v));
        TYPED.with_labels(Method::Post).observe(f64::from(v) * 2.0);
        DYNAMIC.with_labels(["/a"]).observe(f64::from(v) * 3.0);
    }
    let handle = DYNAMIC.with_labels(["/b"]);
    handle.observe(7.0);
    assert_eq!(handle.count(), 1);

    let mut points = Points::default();
    REGISTRY.visit(&mut points);
    let points = points.0;

    let within = |estimate: f64, exact: f64| {
        ((estimate - exact) / exact).abs() <= Summary::<B>::RELATIVE_ERROR * (1.0 + 1e-9)
    };
    let (qs, count, sum) = &points["standalone_ms{}"];
    assert_eq!((*count, *sum), (100, 5050.0));
    assert_eq!(qs[0].0, 0.5);
    assert!(within(qs[0].1, 50.0), "{qs:?}");
    assert!(within(qs[1].1, 99.0), "{qs:?}");

    let (qs, count, _) = &points["typed_ms{method=POST}"];
    assert_eq!(*count, 100);
    assert!(within(qs[1].1, 198.0), "{qs:?}");
    // Every typed series exists from the start; an empty one reports NaN quantiles.
    let (qs, count, sum) = &points["typed_ms{method=GET}"];
    assert_eq!((*count, *sum), (0, 0.0));
    assert!(qs.iter().all(|(_, v)| v.is_nan()));

    let (qs, count, _) = &points["dynamic_ms{route=/a}"];
    assert_eq!(*count, 100);
    assert!(within(qs[0].1, 150.0), "{qs:?}");
    assert_eq!(points["dynamic_ms{route=/b}"].0, [(0.5, 7.0), (0.99, 7.0)]);
}

#[test]
fn values_outside_the_range_are_counted_where_documented() {
    // Range (b^offset, ~ 1 * 2^(128/64) = 4]: 128 buckets from 1.
    let summary: Summary<128> =
        Summary::new(SummaryConfig::new(1.0).with_quantiles(&[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]));
    let values = [
        -5.0,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        1e-310, // subnormal
        0.5,    // below the range
        2.0,    // inside
        100.0,  // above the range
        f64::INFINITY,
        f64::NAN, // ignored, as by every metric type
    ];
    for v in values {
        summary.observe(v);
    }
    assert_eq!(summary.count(), values.len() as u64 - 1);
    assert!(summary.sum().is_nan(), "-Inf plus +Inf makes the sum NaN");
    assert_eq!(summary.min(), Some(f64::NEG_INFINITY));
    assert_eq!(summary.max(), Some(f64::INFINITY));
    summary.read_sketch(|s| {
        assert_eq!(s.negative(), 2);
        assert_eq!(s.zero(), 2);
        assert_eq!(s.underflow(), 2);
        assert_eq!(s.counts().iter().sum::<u64>(), 1);
        assert_eq!(s.overflow(), 2);
        assert_eq!(s.ranked(), 9);
        assert_eq!(s.count(), 9);
        assert_eq!(s.scale(), 6);
        assert_eq!(s.offset(), sketch::index_of::<6>(1.0).unwrap());
        assert!(!s.is_windowed());
        // Ranks (nearest-rank of 9): negatives 1-2, zeros 3-4, underflow 5-6, bucket 7,
        // overflow 8-9.
        assert_eq!(s.quantile(0.0), f64::NEG_INFINITY); // the minimum
        assert_eq!(s.quantile(0.3), 0.0);
        assert_eq!(s.quantile(0.5), sketch::lower_bound::<6>(s.offset()));
        let two = s.quantile(0.7);
        assert!(((two - 2.0) / 2.0).abs() <= Summary::<128>::RELATIVE_ERROR);
        let highest = SummaryConfig::<6>::new(1.0).highest::<128>();
        assert_eq!(s.quantile(0.9), highest);
        assert_eq!(s.quantile(1.0), highest);
    });
}

#[test]
fn an_empty_summary_reports_nan_quantiles() {
    let summary: Summary<16> = Summary::new(SummaryConfig::new(1.0));
    assert_eq!(summary.count(), 0);
    assert_eq!(summary.min(), None);
    summary.read(|value| {
        let Value::Summary(point) = value else {
            panic!()
        };
        assert_eq!(point.count(), 0);
        assert_eq!(point.sum(), 0.0);
        assert_eq!(point.quantiles().len(), 5);
        assert!(point.quantiles().iter().all(|(_, v)| v.is_nan()));
    });
}

#[test]
fn configuration_errors_are_named() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-310] {
        assert_eq!(
            SummaryConfig::<6>::try_new(bad).unwrap_err(),
            SummaryConfigError::InvalidLowest,
            "{bad}"
        );
    }
    // The smallest normal number is a valid lowest value, as documented, and values from
    // it on are estimated within the bound.
    let tiny: Summary<256> = Summary::new(SummaryConfig::new(f64::MIN_POSITIVE));
    for v in [
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE * 1.5,
        f64::MIN_POSITIVE * 3.0,
    ] {
        tiny.observe(v);
    }
    tiny.read_sketch(|s| {
        assert_eq!(s.underflow(), 0);
        assert_eq!(s.counts().iter().sum::<u64>(), 3);
        let median = s.quantile(0.5);
        let error = (median - f64::MIN_POSITIVE * 1.5).abs() / (f64::MIN_POSITIVE * 1.5);
        assert!(error <= Summary::<256>::RELATIVE_ERROR, "{median:e}");
    });
    let config = SummaryConfig::<6>::new(1e300);
    assert_eq!(
        config.check::<2048, 0>(),
        Err(SummaryConfigError::RangeTooHigh)
    );
    assert!(Summary::<2048>::try_new(config).is_err());
    assert!(Summary::<16>::try_new(config).is_ok());
    let base = SummaryConfig::<6>::new(1.0);
    assert_eq!(
        base.try_with_quantiles(&[0.5; 17]).unwrap_err(),
        SummaryConfigError::TooManyQuantiles { count: 17 }
    );
    assert_eq!(
        base.try_with_quantiles(&[0.5, 1.5]).unwrap_err(),
        SummaryConfigError::QuantileOutOfRange { index: 1 }
    );
    assert_eq!(
        base.try_with_quantiles(&[f64::NAN]).unwrap_err(),
        SummaryConfigError::QuantileOutOfRange { index: 0 }
    );

    static CLOCK: TestClock = TestClock::new();
    let windowed = base.with_window(100, &CLOCK);
    assert_eq!(
        Summary::<16>::try_new(windowed).unwrap_err(),
        SummaryConfigError::WindowWithoutSlots
    );
    assert_eq!(
        Summary::<16, 4>::try_new(base).unwrap_err(),
        SummaryConfigError::SlotsWithoutWindow
    );
    assert_eq!(
        Summary::<16, 1>::try_new(windowed).unwrap_err(),
        SummaryConfigError::TooFewSlots { slots: 1 }
    );
    assert_eq!(
        Summary::<16, 6>::try_new(base.with_window(4, &CLOCK)).unwrap_err(),
        SummaryConfigError::MaxAgeTooShort { max_age: 4 }
    );
    assert!(Summary::<16, 6>::try_new(base.with_window(5, &CLOCK)).is_ok());
    let message = SummaryConfigError::QuantileOutOfRange { index: 1 }.to_string();
    assert!(
        message.contains("[0, 1]") && message.contains("#1"),
        "{message}"
    );

    // A family built around the checking constructor is refused at registration.
    static REGISTRY: Registry<2> = Registry::new();
    static UNCHECKED: DynamicFamily<SummaryCells<16>, 1, 4> = DynamicFamily::with_hasher(
        ["route"],
        SummaryConfig::new(1.0).with_window(10, &CLOCK),
        corral_core::DefaultHashBuilder::with_seed(1),
    );
    let error = REGISTRY
        .register(Desc::new("unchecked", "u"), &UNCHECKED)
        .unwrap_err();
    assert_eq!(
        error.reason,
        Reason::InvalidBuckets(BoundsError::Summary(SummaryConfigError::WindowWithoutSlots))
    );
}

#[test]
fn memory_per_series_is_as_documented() {
    assert_eq!(SummaryCells::<256>::BYTES, 8 * (256 + 11));
    assert_eq!(SummaryCells::<1024>::BYTES, 8 * (1024 + 11));
    assert_eq!(
        SummaryCells::<1024, 6>::BYTES,
        8 * (1024 + 11) + 6 * 8 * (1024 + 6)
    );
    for (buckets, bytes, windowed) in [
        (
            256,
            SummaryCells::<256>::BYTES,
            SummaryCells::<256, 6>::BYTES,
        ),
        (
            512,
            SummaryCells::<512>::BYTES,
            SummaryCells::<512, 6>::BYTES,
        ),
        (
            1024,
            SummaryCells::<1024>::BYTES,
            SummaryCells::<1024, 6>::BYTES,
        ),
        (
            2048,
            SummaryCells::<2048>::BYTES,
            SummaryCells::<2048, 6>::BYTES,
        ),
    ] {
        println!("BUCKETS {buckets}: {bytes} bytes, {windowed} with WINDOW = 6");
    }
}

/// A clock the test moves by hand; it never goes backwards.
#[derive(Debug)]
struct TestClock(AtomicU64);

impl TestClock {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    fn set(&self, now: u64) {
        self.0.fetch_max(now, Ordering::SeqCst);
    }

    /// Takes a unique, increasing timestamp.
    fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Observations in the window at `now`, as the summary reports them.
fn window_count<const B: usize, const W: usize>(summary: &Summary<B, W>, now: u64) -> u64 {
    summary.read_sketch_at(now, |s| {
        assert!(s.is_windowed());
        s.ranked()
    })
}

#[test]
fn window_keeps_the_last_max_age_and_at_most_a_step_more() {
    static CLOCK: TestClock = TestClock::new();
    // max_age 600 ticks, 6 slots: a snapshot every 120 ticks.
    let summary: Summary<B, 6> = Summary::new(SummaryConfig::new(0.5).with_window(600, &CLOCK));
    let mut times = Vec::new();
    // One observation every 7 ticks for 5,000 ticks (1,500 under miri, still two and a half
    // windows); read every 50 ticks.
    for now in 0..if cfg!(miri) { 1_500 } else { 5_000u64 } {
        CLOCK.set(now);
        if now % 7 == 0 {
            summary.observe(1.0 + (now % 100) as f64);
            times.push(now);
        }
        if now % 50 == 0 {
            let got = window_count(&summary, now);
            let cutoff = now.saturating_sub(600);
            let must = times.iter().filter(|&&t| t >= cutoff).count() as u64;
            let may = times.iter().filter(|&&t| t + 120 >= cutoff).count() as u64;
            assert!(
                got >= must && got <= may,
                "now {now}: window has {got}, must have {must}, may have {may}"
            );
        }
    }
    assert_eq!(summary.count(), times.len() as u64, "count stays all-time");
}

#[test]
fn window_forgets_everything_after_a_silence() {
    static CLOCK: TestClock = TestClock::new();
    let summary: Summary<B, 6> = Summary::new(SummaryConfig::new(0.5).with_window(600, &CLOCK));
    for now in 0..300 {
        CLOCK.set(now);
        summary.observe(5.0);
    }
    CLOCK.set(299);
    assert_eq!(window_count(&summary, 299), 300);
    assert_eq!(summary.quantile(0.5), 5.0);
    // Nobody observes or reads for a long time. The first read after the silence takes a
    // snapshot labelled with the time it was due, so the old observations drop out at once.
    CLOCK.set(100_000);
    assert_eq!(window_count(&summary, 100_000), 0);
    assert!(summary.quantile(0.5).is_nan());
    summary.observe(9.0);
    assert_eq!(window_count(&summary, 100_000), 1);
    // Min and max are all-time (5 and 9), so the estimate is not clamped to 9 exactly.
    let p99 = summary.quantile(0.99);
    assert!(
        ((p99 - 9.0) / 9.0).abs() <= Summary::<B, 6>::RELATIVE_ERROR,
        "{p99}"
    );
    assert_eq!(summary.count(), 301);
    assert_eq!(summary.sum(), 300.0 * 5.0 + 9.0);
}

#[test]
fn window_quantiles_follow_a_shift() {
    static CLOCK: TestClock = TestClock::new();
    let summary: Summary<B, 5> = Summary::new(SummaryConfig::new(0.5).with_window(1_000, &CLOCK));
    for now in 0..1_000 {
        CLOCK.set(now);
        summary.observe(10.0);
    }
    for now in 1_000..3_000 {
        CLOCK.set(now);
        summary.observe(100.0);
    }
    let p50 = summary.quantile(0.5);
    assert!(((p50 - 100.0) / 100.0).abs() <= Summary::<B, 5>::RELATIVE_ERROR);
    let p0 = summary.quantile(0.0);
    assert_eq!(p0, 100.0, "10s are older than max_age + step");
}

#[test]
fn eight_threads_lose_nothing() {
    const THREADS: u64 = 8;
    // Fewer under miri, which interprets every instruction.
    const EACH: u64 = if cfg!(miri) { 200 } else { 100_000 };
    // 0.5 to 8,192: every value below lands in a bucket.
    static SHARED: Summary<896> = Summary::new(SummaryConfig::new(0.5));
    static FAMILY: DynamicFamily<SummaryCells<896>, 1, 4> =
        DynamicFamily::summary(["shard"], SummaryConfig::new(0.5));

    let value = |thread: u64, i: u64| 1.0 + ((i * 7 + thread * 13) % 5_000) as f64;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                let series = FAMILY.with_labels(["all"]);
                for i in 0..EACH {
                    SHARED.observe(value(thread, i));
                    series.observe(value(thread, i));
                }
            });
        }
    });

    // The same values, one thread: every bucket must match.
    let reference: Summary<896> = Summary::new(SummaryConfig::new(0.5));
    let mut exact_sum = 0.0;
    for thread in 0..THREADS {
        for i in 0..EACH {
            reference.observe(value(thread, i));
            exact_sum += value(thread, i);
        }
    }
    let total = THREADS * EACH;
    assert_eq!(SHARED.count(), total);
    assert_eq!(
        SHARED.sum(),
        exact_sum,
        "integer sums are exact in any order"
    );
    let series = FAMILY.with_labels(["all"]);
    assert_eq!(series.count(), total);
    let counts = |s: &Summary<896>| s.read_sketch(|k| (k.counts().to_vec(), k.overflow()));
    assert_eq!(counts(&SHARED), counts(&reference));
    assert_eq!(counts(&SHARED).1, 0, "all in range");
    assert_eq!(SHARED.min(), reference.min());
    assert_eq!(SHARED.max(), reference.max());
    if !cfg!(miri) {
        assert_eq!((SHARED.min(), SHARED.max()), (Some(1.0), Some(5_000.0)));
    }
}

#[test]
fn concurrent_window_never_drops_an_observation_inside_it() {
    const THREADS: usize = 8;
    // Fewer under miri, which interprets every instruction; the window shrinks with them.
    const EACH: usize = if cfg!(miri) { 150 } else { 50_000 };
    const WINDOW: u64 = if cfg!(miri) { 400 } else { 4_000 };
    static CLOCK: TestClock = TestClock::new();
    // 4,000 ticks (400 under miri), a snapshot every quarter of that: rotations happen all the
    // time under load.
    static RECENT: Summary<B, 5> =
        Summary::new(SummaryConfig::new(0.5).with_window(WINDOW, &CLOCK));

    let stamps: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let readers = scope.spawn(|| {
            let mut reads = 0;
            while CLOCK.now() < (THREADS * EACH) as u64 - WINDOW / 4 {
                RECENT.read_sketch(|s| {
                    assert!(s.ranked() <= s.count());
                    let p50 = s.quantile(0.5);
                    let p99 = s.quantile(0.99);
                    assert!(p50.is_nan() || p50 <= p99, "{p50} > {p99}");
                });
                reads += 1;
            }
            reads
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    (0..EACH)
                        .map(|i| {
                            let now = CLOCK.tick();
                            RECENT.observe_at(1.0 + (i % 50) as f64, now);
                            now
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let stamps = writers.into_iter().map(|w| w.join().unwrap()).collect();
        assert!(readers.join().unwrap() > 0);
        stamps
    });

    let total = (THREADS * EACH) as u64;
    assert_eq!(RECENT.count(), total);
    let now = CLOCK.now();
    let cutoff = now - WINDOW;
    let must = stamps.iter().flatten().filter(|&&t| t >= cutoff).count() as u64;
    let got = window_count(&RECENT, now);
    assert!(got >= must, "window has {got}, must have at least {must}");
    assert!(got < total);
    println!("window after {total} observations: {got} (at least {must})");

    // The nearest-rank rule the quantiles use.
    assert_eq!(quantile_rank(0.5, got), got.div_ceil(2));
}

#[test]
fn handles_are_copy_and_read_the_same_series() {
    static FAMILY: TypedFamily<SummaryCells<B>, Method, 2> = TypedFamily::summary(LATENCY);
    let get = FAMILY.with_labels(Method::Get);
    let again = get;
    get.observe(2.0);
    again.observe(3.0);
    assert_eq!(FAMILY.with_labels(Method::Get).count(), 2);
    assert_eq!(get.sum(), 5.0);
    assert_eq!(get.quantile(1.0), 3.0);
    let debug = format!("{:?}", SummaryConfig::<6>::new(1.0));
    assert!(debug.contains("scale: 6"), "{debug}");
}

/// A visit carries the sketch with the quantiles, from the same read: an exporter building
/// an exponential histogram needs nothing but the visitor.
#[test]
fn the_visit_carries_the_sketch() {
    use corral_core::visit::{FamilyInfo, SeriesLabels, Visitor};
    use corral_core::{Desc, Registry, RegistryConfig, Value};

    struct Sketches(Vec<(u32, i32, Vec<u64>, u64, u64, u64)>);
    impl Visitor for Sketches {
        fn series(
            &mut self,
            _: &FamilyInfo<'_>,
            _: &SeriesLabels<'_>,
            value: &Value<'_>,
        ) -> ControlFlow<()> {
            if let Value::Summary(point) = value {
                let sketch = point.sketch().expect("a Summary carries its sketch");
                assert_eq!(sketch.count(), point.count());
                self.0.push((
                    sketch.scale(),
                    sketch.offset(),
                    sketch.counts().to_vec(),
                    sketch.zero(),
                    sketch.negative(),
                    point.count(),
                ));
            }
            ControlFlow::Continue(())
        }
    }

    let registry: &'static Registry<2> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let summary: &'static Summary<64> = Box::leak(Box::new(Summary::new(SummaryConfig::new(1.0))));
    registry
        .register(Desc::new("sketched_seconds", "s"), summary)
        .unwrap();
    for v in [0.0, -2.0, 1.5, 1.5, 3.0] {
        summary.observe(v);
    }
    let mut seen = Sketches(Vec::new());
    registry.visit(&mut seen);
    let expected = summary.read_sketch(|s| {
        (
            s.scale(),
            s.offset(),
            s.counts().to_vec(),
            s.zero(),
            s.negative(),
            s.count(),
        )
    });
    assert_eq!(seen.0, [expected]);
    let (_, _, counts, zero, negative, count) = &seen.0[0];
    assert_eq!((*zero, *negative, *count), (1, 1, 5));
    // 1.5 twice in the row; 3.0 is above its range (1, 2] and counts as overflow.
    assert_eq!(counts.iter().sum::<u64>(), 2);
}
