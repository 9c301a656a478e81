//! Recording and label lookup allocate nothing, for both label models, for existing and for
//! new series, on the overflow path, and for registration and visiting. A counting global
//! allocator proves it (core has no allocator to call, but this keeps it that way: a
//! dependency or a future change that allocates makes this fail).

mod common;

use std::ops::ControlFlow;

use common::{CountingAllocator, allocations_in};
use corral_core::{
    Counter, Desc, DynamicFamily, FamilyInfo, FloatCounter, Gauge, Histogram, IntGauge, Registry,
    RegistryConfig, SeriesLabels, ShardedCounter, TypedFamily, Value, Visitor, buckets,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

corral_core::label_enum! { enum Method: "method" { Get = "GET", Post = "POST", Put = "PUT" } }
corral_core::label_enum! { enum Code: "code" { Ok = "200", NotFound = "404", Error = "500" } }

static REGISTRY: Registry<16> =
    Registry::with_config(RegistryConfig::DEFAULT.with_max_series_per_metric(4));
static COUNTER: Counter = Counter::new();
static FLOAT: FloatCounter = FloatCounter::new();
static GAUGE: Gauge = Gauge::new();
static INT_GAUGE: IntGauge = IntGauge::new();
static HISTOGRAM: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
static SHARDED: ShardedCounter<4> = ShardedCounter::new();
static TYPED: TypedFamily<Counter, (Method, Code), 9> = TypedFamily::new();
static DYNAMIC: DynamicFamily<Counter, 2, 8> = DynamicFamily::new(["route", "status"]);
static DYNAMIC_HIST: DynamicFamily<corral_core::HistogramCells<14>, 1, 4> =
    DynamicFamily::histogram(["route"], buckets::LATENCY_MS);

struct CountSeries(usize);

impl Visitor for CountSeries {
    fn series(
        &mut self,
        _: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        _: &Value<'_>,
    ) -> ControlFlow<()> {
        self.0 += 1 + labels
            .iter()
            .map(|(n, v)| n.len() + v.len())
            .sum::<usize>()
            .min(1);
        ControlFlow::Continue(())
    }
}

#[test]
fn recording_lookup_registration_and_visit_allocate_nothing() {
    let (registration, ()) = allocations_in(|| {
        REGISTRY
            .register(Desc::new("c_total", "c"), &COUNTER)
            .unwrap();
        REGISTRY
            .register(Desc::new("f_total", "f"), &FLOAT)
            .unwrap();
        REGISTRY.register(Desc::new("g", "g"), &GAUGE).unwrap();
        REGISTRY
            .register(Desc::new("ig", "ig"), &INT_GAUGE)
            .unwrap();
        REGISTRY
            .register(Desc::new("h_ms", "h").with_unit("ms"), &HISTOGRAM)
            .unwrap();
        REGISTRY
            .register(Desc::new("s_total", "s"), &SHARDED)
            .unwrap();
        REGISTRY
            .register(Desc::new("t_total", "t"), &TYPED)
            .unwrap_err(); // 9 > 4: refused
        REGISTRY
            .register(Desc::new("d_total", "d"), &DYNAMIC)
            .unwrap();
        REGISTRY
            .register(Desc::new("dh_ms", "dh").with_unit("ms"), &DYNAMIC_HIST)
            .unwrap();
    });
    assert_eq!(registration, 0, "registration allocated");

    let (recording, ()) = allocations_in(|| {
        for i in 0..1_000u32 {
            COUNTER.inc();
            FLOAT.inc_by(0.5);
            GAUGE.set(f64::from(i));
            GAUGE.add(1.5);
            INT_GAUGE.inc();
            HISTOGRAM.observe(f64::from(i));
            SHARDED.inc();
        }
    });
    assert_eq!(recording, 0, "recording allocated");

    let (typed, ()) = allocations_in(|| {
        for method in [Method::Get, Method::Post, Method::Put] {
            for code in [Code::Ok, Code::NotFound, Code::Error] {
                TYPED.with_labels((method, code)).inc();
            }
        }
    });
    assert_eq!(typed, 0, "typed label lookup allocated");

    let (new_series, ()) = allocations_in(|| {
        DYNAMIC.with_labels(["/a", "200"]).inc();
        DYNAMIC.with_labels(["/b", "500"]).inc();
        DYNAMIC_HIST.with_labels(["/a"]).observe(3.0);
    });
    assert_eq!(new_series, 0, "creating dynamic series allocated");
    assert_eq!(DYNAMIC.len(), 2);

    let (existing, ()) = allocations_in(|| {
        for _ in 0..1_000 {
            DYNAMIC.with_labels(["/a", "200"]).inc();
            DYNAMIC_HIST.with_labels(["/a"]).observe(7.0);
        }
    });
    assert_eq!(existing, 0, "dynamic lookup of existing series allocated");

    // The allocator must see allocations, or every zero above proves nothing.
    let (sanity, owned) = allocations_in(|| 12_345u32.to_string());
    assert!(
        sanity > 0 && owned == "12345",
        "the counting allocator counts nothing"
    );

    let values: Vec<String> = (0..100).map(|i| format!("/overflow/{i}")).collect();
    let too_long = "x".repeat(300);
    let (overflow, ()) = allocations_in(|| {
        for value in &values {
            DYNAMIC.with_labels([value, "200"]).inc();
        }
        DYNAMIC.with_labels([&too_long, "200"]).inc();
    });
    assert_eq!(overflow, 0, "the overflow path allocated");
    assert_eq!(
        DYNAMIC.len(),
        4,
        "the family holds at most max_series_per_metric series"
    );
    assert!(DYNAMIC.overflow().get() >= 99);

    let (visit, seen) = allocations_in(|| {
        let mut count = CountSeries(0);
        REGISTRY.visit(&mut count);
        count.0
    });
    assert_eq!(visit, 0, "visiting allocated");
    assert!(seen > 10);
}
