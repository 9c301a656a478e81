//! Every registration rule, with the error that names the offending value; and the
//! record-time limits, which send values to the overflow series and count them.

mod common;

use common::{Collector, Plain};
use corral_core::{
    Counter, Desc, DynamicFamily, Gauge, Histogram, HistogramCells, LabelError, OverflowReason,
    Reason, Registry, RegistryConfig, TypedFamily,
};

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn registry(config: RegistryConfig) -> &'static Registry<8> {
    leak(Registry::with_config(config))
}

fn reason_of(
    registry: &'static Registry<8>,
    desc: Desc,
    metric: &'static dyn corral_core::Collect,
) -> Reason {
    let error = registry.register(desc, metric).unwrap_err();
    assert_eq!(error.metric, desc.name());
    error.reason
}

#[test]
fn metric_names() {
    let r = registry(RegistryConfig::DEFAULT);
    for bad in ["", "1abc", "has-dash", "has space", "ünïcode_total"] {
        assert_eq!(
            reason_of(r, Desc::new(bad, "h"), leak(Gauge::new())),
            Reason::InvalidName,
            "{bad:?}"
        );
    }
    assert_eq!(
        reason_of(r, Desc::new("events", "h"), leak(Counter::new())),
        Reason::CounterWithoutTotal
    );
    // `_total` alone would render an OpenMetrics family with an empty name.
    let error = r
        .register(Desc::new("_total", "h"), leak(Counter::new()))
        .unwrap_err();
    assert_eq!(error.reason, Reason::EmptyCounterName);
    assert!(
        error
            .to_string()
            .starts_with("cannot register metric `_total`: ")
    );
    r.register(Desc::new("__total", "h"), leak(Counter::new()))
        .unwrap();
    r.register(Desc::new("ns:sub_events_total", "h"), leak(Counter::new()))
        .unwrap();
    r.register(Desc::new("_private", "h"), leak(Gauge::new()))
        .unwrap();
    let error = r
        .register(Desc::new("bad name", "h"), leak(Gauge::new()))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot register metric `bad name`: the name must match [a-zA-Z_:][a-zA-Z0-9_:]*"
    );
}

#[test]
fn duplicate_and_clashing_names() {
    let r = registry(RegistryConfig::DEFAULT);
    r.register(Desc::new("requests_total", "h"), leak(Counter::new()))
        .unwrap();
    assert_eq!(
        reason_of(r, Desc::new("requests_total", "h"), leak(Counter::new())),
        Reason::DuplicateName {
            existing: "requests_total"
        }
    );
    // OpenMetrics names the counter family `requests`: a gauge of that name would clash.
    assert_eq!(
        reason_of(r, Desc::new("requests", "h"), leak(Gauge::new())),
        Reason::DuplicateName {
            existing: "requests_total"
        }
    );
    r.register(
        Desc::new("latency", "h"),
        leak(Histogram::<3>::new(&[1.0, 2.0])),
    )
    .unwrap();
    assert_eq!(
        reason_of(r, Desc::new("latency_count", "h"), leak(Gauge::new())),
        Reason::DuplicateName {
            existing: "latency"
        }
    );
    assert_eq!(
        reason_of(
            r,
            Desc::new("metrics_registry_total_series", "h"),
            leak(Gauge::new())
        ),
        Reason::DuplicateName {
            existing: "metrics_registry_total_series"
        }
    );
    // With self-metrics off, the name is free.
    let quiet = registry(RegistryConfig::DEFAULT.with_self_metrics(false));
    quiet
        .register(
            Desc::new("metrics_registry_total_series", "h"),
            leak(Gauge::new()),
        )
        .unwrap();
}

#[test]
fn units() {
    let r = registry(RegistryConfig::DEFAULT);
    r.register(
        Desc::new("queue_bytes", "h").with_unit("bytes"),
        leak(Gauge::new()),
    )
    .unwrap();
    r.register(
        Desc::new("sent_bytes_total", "h").with_unit("bytes"),
        leak(Counter::new()),
    )
    .unwrap();
    assert_eq!(
        reason_of(
            r,
            Desc::new("queue_size", "h").with_unit("bytes"),
            leak(Gauge::new())
        ),
        Reason::UnitNotInName { unit: "bytes" }
    );
    assert_eq!(
        reason_of(
            r,
            Desc::new("bytes", "h").with_unit("bytes"),
            leak(Gauge::new())
        ),
        Reason::UnitNotInName { unit: "bytes" }
    );
    assert_eq!(
        reason_of(
            r,
            Desc::new("x_m/s", "h").with_unit("m/s"),
            leak(Gauge::new())
        ),
        Reason::InvalidName
    );
    assert_eq!(
        reason_of(
            r,
            Desc::new("speed", "h").with_unit("m/s"),
            leak(Gauge::new())
        ),
        Reason::InvalidUnit { unit: "m/s" }
    );
}

#[test]
fn label_names() {
    let r = registry(RegistryConfig::DEFAULT);
    let family = |names: [&'static str; 2]| leak(DynamicFamily::<Counter, 2, 8>::new(names));
    let cases: [([&str; 2], Reason); 6] = [
        (
            ["ok", "9lives"],
            Reason::InvalidLabelName { label: "9lives" },
        ),
        (
            ["ok", "has-dash"],
            Reason::InvalidLabelName { label: "has-dash" },
        ),
        (
            ["__name__", "ok"],
            Reason::ReservedLabelName { label: "__name__" },
        ),
        (
            ["otel_metric_overflow", "ok"],
            Reason::ReservedLabelName {
                label: "otel_metric_overflow",
            },
        ),
        (
            ["same", "same"],
            Reason::DuplicateLabelName { label: "same" },
        ),
        (
            ["route", "user_id"],
            Reason::HighCardinalityLabel { label: "user_id" },
        ),
    ];
    for (names, expected) in cases {
        assert_eq!(
            reason_of(r, Desc::new("x_total", "h"), family(names)),
            expected,
            "{names:?}"
        );
    }
    // An explicit allowance lets a deny-listed label through.
    r.register(
        Desc::new("per_tenant_total", "h").allow_labels(&["user_id"]),
        family(["route", "user_id"]),
    )
    .unwrap();
    // `le` is reserved for histograms only.
    r.register(Desc::new("le_total", "h"), family(["le", "x"]))
        .unwrap();
    let histogram = leak(DynamicFamily::<HistogramCells<3>, 1, 8>::histogram(
        ["le"],
        &[1.0, 2.0],
    ));
    assert_eq!(
        reason_of(r, Desc::new("h", "h"), histogram),
        Reason::ReservedLabelName { label: "le" }
    );
}

#[test]
fn label_count_value_length_and_series_limits() {
    let r = registry(
        RegistryConfig::DEFAULT
            .with_max_label_keys(1)
            .with_max_series_per_metric(3),
    );
    let two = leak(DynamicFamily::<Counter, 2, 4>::new(["a", "b"]));
    assert_eq!(
        reason_of(r, Desc::new("two_total", "h"), two),
        Reason::TooManyLabels { count: 2, max: 1 }
    );

    corral_core::label_enum! { enum Long: "long" { A = "a", B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" } }
    let r2 = registry(RegistryConfig::DEFAULT.with_max_label_value_length(8));
    assert_eq!(
        reason_of(
            r2,
            Desc::new("long_total", "h"),
            leak(TypedFamily::<Counter, Long, 2>::new())
        ),
        Reason::LabelValueTooLong {
            label: "long",
            len: 50,
            max: 8
        }
    );

    corral_core::label_enum! { enum Four: "four" { A = "a", B = "b", C = "c", D = "d" } }
    // A closed set must fit the limit exactly...
    assert_eq!(
        reason_of(
            r,
            Desc::new("four_total", "h"),
            leak(TypedFamily::<Counter, Four, 4>::new())
        ),
        Reason::TooManySeries {
            capacity: 4,
            max: 3
        }
    );
    // ...a dynamic table may be up to twice the smallest one that admits it at
    // three-quarter load (always up to 32 slots), and holds at most the limit.
    let table = leak(DynamicFamily::<Counter, 1, 4>::new(["k"]));
    r.register(Desc::new("table_total", "h"), table).unwrap();
    let too_big = leak(DynamicFamily::<Counter, 1, 64>::new(["k"]));
    assert_eq!(
        reason_of(r, Desc::new("big_total", "h"), too_big),
        Reason::TooManySeries {
            capacity: 48,
            max: 3
        }
    );
    let roomy = leak(DynamicFamily::<Counter, 1, 32>::new(["k"]));
    r.register(Desc::new("roomy_total", "h"), roomy).unwrap();
    for key in ["a", "b", "c", "d"] {
        roomy.with_labels([key]).inc();
    }
    assert_eq!(roomy.len(), 3, "held to the limit");
    for key in ["a", "b", "c", "d"] {
        table.with_labels([key]).inc();
    }
    assert_eq!(table.len(), 3);
    assert_eq!(
        table.try_with_labels(["d"]).unwrap_err(),
        LabelError::FamilyFull { capacity: 3 }
    );
}

#[test]
fn series_budget_registry_capacity_and_double_registration() {
    corral_core::label_enum! { enum Three: "three" { A = "a", B = "b", C = "c" } }
    let r = registry(RegistryConfig::DEFAULT.with_max_total_series(5));
    r.register(
        Desc::new("a_total", "h"),
        leak(TypedFamily::<Counter, Three, 3>::new()),
    )
    .unwrap();
    r.register(Desc::new("b_total", "h"), leak(Counter::new()))
        .unwrap();
    assert_eq!(r.total_series(), 4);
    assert_eq!(
        reason_of(
            r,
            Desc::new("c_total", "h"),
            leak(TypedFamily::<Counter, Three, 3>::new())
        ),
        Reason::SeriesBudgetExhausted {
            needed: 3,
            available: 1
        }
    );
    assert_eq!(
        r.total_series(),
        4,
        "a refused registration takes no budget"
    );

    let family = leak(DynamicFamily::<Counter, 1, 4>::new(["k"]));
    r.register(Desc::new("d_total", "h"), family).unwrap();
    let other = registry(RegistryConfig::DEFAULT);
    assert_eq!(
        reason_of(other, Desc::new("d_total", "h"), family),
        Reason::AlreadyRegistered
    );
    assert_eq!(
        reason_of(r, Desc::new("d2_total", "h"), family),
        Reason::AlreadyRegistered
    );

    family.with_labels(["first"]).inc(); // the fifth and last series of the budget
    assert_eq!(
        family.try_with_labels(["second"]).unwrap_err(),
        LabelError::SeriesBudgetExhausted { max: 5 }
    );
    let full = leak(Registry::<1>::new());
    full.register(Desc::new("one", "h"), leak(Gauge::new()))
        .unwrap();
    let error = full
        .register(Desc::new("two", "h"), leak(Gauge::new()))
        .unwrap_err();
    assert_eq!(error.reason, Reason::RegistryFull { capacity: 1 });
}

#[test]
fn invalid_buckets_are_refused_at_registration() {
    let r = registry(RegistryConfig::DEFAULT);
    static NAN: [f64; 2] = [1.0, f64::NAN];
    let family = leak(
        DynamicFamily::<HistogramCells<4>, 1, 4, 112, _>::with_hasher(
            ["k"],
            &NAN[..],
            corral_core::DefaultHashBuilder::default(),
        ),
    );
    assert_eq!(
        reason_of(r, Desc::new("h", "h"), family),
        Reason::InvalidBuckets(corral_core::BoundsError::NotFinite { index: 1 })
    );
    assert!(Histogram::<3>::try_new(&[2.0, 1.0]).is_err());
    assert!(
        Histogram::<2>::try_new(&[1.0, 2.0]).is_err(),
        "two bounds need three buckets"
    );
}

#[test]
fn overlong_values_go_to_overflow_counted_by_reason() {
    let r = registry(RegistryConfig::DEFAULT.with_max_label_value_length(4));
    let family = leak(DynamicFamily::<Counter, 2, 8, 16>::new(["a", "b"]));
    r.register(Desc::new("x_total", "h"), family).unwrap();
    assert_eq!(
        family.try_with_labels(["12345", "ok"]).unwrap_err(),
        LabelError::ValueTooLong {
            label: "a",
            len: 5,
            max: 4
        }
    );
    family.with_labels(["12345", "ok"]).inc_by(7);
    // 16 key bytes hold two 4-byte values and their 4-byte length header (12 bytes).
    family.with_labels(["abcd", "efgh"]).inc();
    let narrow = leak(DynamicFamily::<Counter, 2, 8, 8>::new(["a", "b"]));
    r.register(Desc::new("y_total", "h"), narrow).unwrap();
    assert_eq!(
        narrow.try_with_labels(["abcd", "efgh"]).unwrap_err(),
        LabelError::KeyTooLong {
            len: 12,
            capacity: 8
        }
    );
    narrow.with_labels(["abcd", "efgh"]).inc();

    let mut seen = Collector::default();
    r.visit(&mut seen);
    assert_eq!(
        seen.value("x_total", &[("otel_metric_overflow", "true")]),
        Some(&Plain::Int(7))
    );
    assert_eq!(
        seen.value("x_total", &[("a", "abcd"), ("b", "efgh")]),
        Some(&Plain::Int(1))
    );
    let count = |metric, reason: OverflowReason| {
        seen.value(
            "metrics_registry_series_overflow_total",
            &[("metric", metric), ("reason", reason.as_str())],
        )
        .cloned()
    };
    assert_eq!(
        count("x_total", OverflowReason::ValueTooLong),
        Some(Plain::Int(1))
    );
    assert_eq!(
        count("y_total", OverflowReason::KeyTooLong),
        Some(Plain::Int(1))
    );
    assert_eq!(
        count("x_total", OverflowReason::FamilyFull),
        None,
        "only reasons that happened are listed"
    );
    assert_eq!(
        seen.value("metrics_registry_total_series", &[]),
        Some(&Plain::Int(1))
    );
    assert_eq!(
        seen.value("metrics_registry_max_series", &[]),
        Some(&Plain::Int(10_000))
    );
}

#[test]
fn a_one_slot_table_holds_one_series_and_refuses_the_next() {
    static ONE: DynamicFamily<Counter, 1, 1> = DynamicFamily::new(["k"]);
    ONE.with_labels(["a"]).inc();
    ONE.with_labels(["a"]).inc();
    assert_eq!(
        ONE.try_with_labels(["b"]).unwrap_err(),
        LabelError::FamilyFull { capacity: 1 }
    );
    ONE.with_labels(["b"]).inc();
    assert_eq!(ONE.with_labels(["a"]).get(), 2);
    assert_eq!(ONE.overflow().get(), 1);
    assert_eq!(ONE.len(), 1);
}

/// A hand-written closed label set that names one value twice: two dense indices would
/// render as the same series.
#[derive(Clone, Copy)]
struct Twice;

impl corral_core::LabelSet for Twice {
    const CARDINALITY: usize = 3;
    const NAMES: &'static [&'static str] = &["method"];
    fn dense_index(self) -> usize {
        0
    }
    fn value_of(index: usize, _label: usize) -> &'static str {
        ["GET", "PUT", "GET"][index]
    }
}

corral_core::label_enum! { enum Verb: "verb" { Get = "GET", Put = "PUT" } }
corral_core::label_enum! { enum Code: "code" { Ok = "200", Missing = "404" } }

#[test]
fn repeated_label_values_are_refused() {
    let r = registry(RegistryConfig::DEFAULT);
    let family = leak(TypedFamily::<Counter, Twice, 3>::new());
    assert_eq!(
        reason_of(r, Desc::new("twice_total", "h"), family),
        Reason::DuplicateLabelValue {
            label: "method",
            value: "GET"
        }
    );
    let error = r
        .register(Desc::new("twice_total", "h"), family)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot register metric `twice_total`: label `method` has the value `GET` more than \
         once, which would make two series with the same labels"
    );
    // Distinct values in every label of a tuple register.
    r.register(
        Desc::new("verbs_total", "h"),
        leak(TypedFamily::<Counter, (Verb, Code), 4>::new()),
    )
    .unwrap();
}
