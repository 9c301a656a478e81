//! A flood of distinct label values cannot grow a family: 1,000,000 values into a family
//! capped at 1,000 series keep the heap untouched and the memory bounded by the family's
//! static size, the excess lands in the overflow series, and not one increment is lost.

mod common;

use common::{Collector, CountingAllocator, allocations_in};
use corral_core::{Counter, Desc, DynamicFamily, OverflowReason, Registry, RegistryConfig};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// 1,000 series (the default `max_series_per_metric`) in a 2,048-slot table: the smallest
/// that admits them at its three-quarter load bound (1,536 series).
static FAMILY: DynamicFamily<Counter, 1, 2048> = DynamicFamily::new(["user_agent"]);
static REGISTRY: Registry<4> = Registry::new();

const VALUES: u64 = if cfg!(miri) { 3_000 } else { 1_000_000 };

/// The process' resident set size, from `/proc/self/status` (Linux, where the suite runs).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("the RSS bound reads /proc/self/status (Linux)");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

#[test]
#[cfg_attr(
    miri,
    ignore = "filling a 2,048-slot table to 1,000 series takes over ten minutes under miri; \
              a_small_flood_keeps_the_same_promises checks the same at a size miri runs"
)]
fn a_million_distinct_values_into_a_thousand_slots() {
    REGISTRY
        .register(Desc::new("flood_total", "Flood"), &FAMILY)
        .unwrap();
    // Pre-render the values so that the measured loop does only the recording.
    let values: Vec<String> = (0..VALUES).map(|i| format!("agent-{i:07}")).collect();

    let rss_before = resident_bytes();
    let (allocations, ()) = allocations_in(|| {
        for value in &values {
            FAMILY.with_labels([value]).inc();
        }
    });
    let rss_after = resident_bytes();

    assert_eq!(allocations, 0, "the flood allocated");
    // Only the family's own preallocated slots can be touched for the first time.
    let bound = std::mem::size_of_val(&FAMILY) as u64 + 256 * 1024;
    assert!(
        rss_after.saturating_sub(rss_before) <= bound,
        "RSS grew by {} bytes",
        rss_after - rss_before
    );

    assert_eq!(
        FAMILY.len(),
        1_000,
        "the family holds exactly max_series_per_metric series"
    );
    assert_eq!(REGISTRY.total_series(), 1_000);
    assert_eq!(FAMILY.overflow().get(), VALUES - 1_000);
    assert!(FAMILY.max_probe() <= corral_core::MAX_PROBE);

    let mut seen = Collector::default();
    REGISTRY.visit(&mut seen);
    let series = seen.family("flood_total");
    let total: i128 = series.iter().map(|s| s.value.as_int()).sum();
    assert_eq!(
        total,
        i128::from(VALUES),
        "the sum over all series is exact"
    );
    assert_eq!(series.len(), 1_001, "1,000 series plus the overflow series");
    let overflow = seen
        .value("flood_total", &[("otel_metric_overflow", "true")])
        .unwrap();
    assert_eq!(overflow.as_int(), i128::from(VALUES - 1_000));

    let rejected = seen
        .value(
            "metrics_registry_series_overflow_total",
            &[
                ("metric", "flood_total"),
                ("reason", OverflowReason::FamilyFull.as_str()),
            ],
        )
        .unwrap();
    assert_eq!(rejected.as_int(), i128::from(VALUES - 1_000));
}

/// The same promises at a size miri can interpret: 200 distinct values into a 64-slot table
/// capped at 48 series by its registry. No allocation, exactly the cap in series, the rest
/// in the overflow series, every increment counted, the rejections in the self-metric.
#[test]
fn a_small_flood_keeps_the_same_promises() {
    static SMALL: DynamicFamily<Counter, 1, 64> = DynamicFamily::new(["user_agent"]);
    static SMALL_REGISTRY: Registry<1> =
        Registry::with_config(RegistryConfig::DEFAULT.with_max_series_per_metric(48));
    const SMALL_VALUES: u64 = 200;

    SMALL_REGISTRY
        .register(Desc::new("small_flood_total", "Flood"), &SMALL)
        .unwrap();
    let values: Vec<String> = (0..SMALL_VALUES).map(|i| format!("agent-{i:03}")).collect();
    let (allocations, ()) = allocations_in(|| {
        for value in &values {
            SMALL.with_labels([value]).inc();
        }
    });

    assert_eq!(allocations, 0, "the flood allocated");
    assert_eq!(SMALL.len(), 48);
    assert_eq!(SMALL_REGISTRY.total_series(), 48);
    assert_eq!(SMALL.overflow().get(), SMALL_VALUES - 48);
    let mut seen = Collector::default();
    SMALL_REGISTRY.visit(&mut seen);
    let series = seen.family("small_flood_total");
    let total: i128 = series.iter().map(|s| s.value.as_int()).sum();
    assert_eq!(total, i128::from(SMALL_VALUES));
    assert_eq!(series.len(), 49, "48 series plus the overflow series");
    let rejected = seen
        .value(
            "metrics_registry_series_overflow_total",
            &[
                ("metric", "small_flood_total"),
                ("reason", OverflowReason::FamilyFull.as_str()),
            ],
        )
        .unwrap();
    assert_eq!(rejected.as_int(), i128::from(SMALL_VALUES - 48));
}

/// Values crafted to share one home slot (the test knows the seed, as an attacker who knows
/// a fixed seed would): the first `MAX_PROBE + 1` get series at distances 0 to `MAX_PROBE`,
/// every later one stops at the probe bound and goes to the overflow series under its own
/// reason, and every total stays exact.
#[test]
#[cfg_attr(
    miri,
    ignore = "finding 170 colliding values hashes about 170,000 candidates, minutes under miri"
)]
fn values_colliding_on_one_home_slot_stop_at_the_probe_bound() {
    use core::hash::{BuildHasher, Hasher};
    use corral_core::{Collect, DefaultHashBuilder, LabelError, MAX_PROBE};

    const SLOTS: usize = 1024;
    const HOME: usize = 7;
    let state = DefaultHashBuilder::with_seed(0x5eed);
    let family: &'static DynamicFamily<Counter, 1, SLOTS, 112, DefaultHashBuilder> = Box::leak(
        Box::new(DynamicFamily::with_hasher(["value"], (), state.clone())),
    );
    // The table's own hash: the values written one after the other, then `finish`.
    let home = |value: &str| {
        let mut hasher = state.build_hasher();
        hasher.write(value.as_bytes());
        hasher.finish() as usize & (SLOTS - 1)
    };
    let colliding: Vec<String> = (0u64..)
        .map(|i| format!("crafted-{i}"))
        .filter(|v| home(v) == HOME)
        .take(MAX_PROBE + 41)
        .collect();

    for (i, value) in colliding.iter().enumerate() {
        family.with_labels([value]).inc_by(i as u64 + 1);
    }

    assert_eq!(family.len(), MAX_PROBE + 1, "distances 0 to MAX_PROBE");
    assert_eq!(family.max_probe(), MAX_PROBE);
    let (placed, refused) = colliding.split_at(MAX_PROBE + 1);
    for (i, value) in placed.iter().enumerate() {
        assert_eq!(family.try_with_labels([value]).unwrap().get(), i as u64 + 1);
    }
    for value in refused {
        assert_eq!(
            family.try_with_labels([value]).unwrap_err(),
            LabelError::ProbeLimit { limit: MAX_PROBE }
        );
    }
    let refused_total: u64 = (MAX_PROBE as u64 + 2..=colliding.len() as u64).sum();
    assert_eq!(family.overflow().get(), refused_total);
    let reason = OverflowReason::ALL
        .iter()
        .position(|r| *r == OverflowReason::ProbeLimit)
        .unwrap();
    assert_eq!(family.overflow_counts()[reason], refused.len() as u64);
    assert_eq!(
        family.overflow_counts().iter().sum::<u64>(),
        refused.len() as u64,
        "nothing counted under another reason"
    );
    // The family is far from full: values that hash elsewhere still get series.
    let elsewhere = (0u64..)
        .map(|i| format!("plain-{i}"))
        .find(|v| home(v) == SLOTS / 2)
        .unwrap();
    family.with_labels([&elsewhere]).inc();
    assert_eq!(family.try_with_labels([&elsewhere]).unwrap().get(), 1);
}
