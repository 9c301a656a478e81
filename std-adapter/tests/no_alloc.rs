//! Recording through run-time-defined families allocates nothing once they are defined.
//!
//! Its own test binary without the test harness (`harness = false`): the counting allocator
//! counts every thread, and the harness's threads allocate while tests run, so here nothing
//! else runs while it measures.

use std::alloc::System;

use corral_std::core::{Counter, Registry, RegistryConfig};
use corral_std::runtime::{Families, Spec};
use corral_std::{ShardedCounterExt, TimeUnit, Timer, TimerExt, thread_stripe};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

static REGISTRY: Registry<16> =
    Registry::with_config(RegistryConfig::DEFAULT.with_max_label_value_length(32));

fn main() {
    recording_into_runtime_families_allocates_nothing();
    println!("no_alloc: 1 passed, 0 failed");
}

fn recording_into_runtime_families_allocates_nothing() {
    // ---- set-up: allocates (names, tables, the index) ----
    let families = Families::new(&REGISTRY);
    let bounds: Vec<f64> = vec![1.0, 5.0, 25.0, 100.0]; // as if read from a configuration
    let requests = families
        .family::<Counter, 2, 64>(
            &Spec::new("app_requests_total", "Requests"),
            ["method", "status"],
        )
        .unwrap();
    let latency = families
        .histogram_family::<5, 1, 16>(
            &Spec::new("app_latency_ms", "Latency").unit("ms"),
            ["route"],
            &bounds,
        )
        .unwrap();
    let tiny = families
        .family::<Counter, 1, 4>(&Spec::new("app_tiny_total", "Overflows early"), ["k"])
        .unwrap();
    let events = families
        .counter(&Spec::new("app_events_total", "Events"))
        .unwrap();
    let depth = families.gauge(&Spec::new("app_depth", "Depth")).unwrap();
    let size = families
        .histogram::<5>(&Spec::new("app_size_bytes", "Size").unit("bytes"), &bounds)
        .unwrap();
    let hot = families
        .sharded_counter::<8>(&Spec::new("app_hot_total", "Hot"))
        .unwrap();
    let keys: Vec<String> = (0..10).map(|i| format!("key-{i}")).collect();
    let too_long = "x".repeat(100);
    requests.with_labels(["GET", "200"]).inc(); // one existing series

    // ---- measured: recording only ----
    let region = Region::new(GLOBAL);
    for i in 0..1000u32 {
        events.inc();
        depth.set(f64::from(i));
        size.observe(f64::from(i % 200));
        hot.inc_local();
        hot.inc_by_stripe(thread_stripe(), 2);
        requests.with_labels(["GET", "200"]).inc(); // existing series
        requests.with_labels(["POST", "201"]).inc(); // created on the first pass
        latency.with_labels(["/users"]).observe(f64::from(i % 50));
        for key in &keys {
            tiny.with_labels([key.as_str()]).inc(); // 3 series (3/4 of 4 slots), then overflow
        }
        tiny.with_labels([too_long.as_str()]).inc(); // too long: the overflow series
        {
            let _t = size.start_timer_ms();
            let _u = latency.with_labels(["/orders"]).start_timer_seconds();
        }
        let _ = Timer::start(size, TimeUnit::Microseconds).stop();
    }
    let change = region.change();

    assert_eq!(
        (
            change.allocations,
            change.reallocations,
            change.deallocations
        ),
        (0, 0, 0),
        "recording allocated: {change:?}"
    );
    // The recordings all landed.
    assert_eq!(events.get(), 1000);
    assert_eq!(hot.get(), 3000);
    assert_eq!(requests.with_labels(["GET", "200"]).get(), 1001);
    assert_eq!(requests.with_labels(["POST", "201"]).get(), 1000);
    assert_eq!(latency.with_labels(["/users"]).count(), 1000);
    assert_eq!(latency.with_labels(["/orders"]).count(), 1000);
    assert_eq!(size.count(), 3000);
    assert_eq!(tiny.len(), 3);
    assert_eq!(tiny.overflow().get(), 1000 * 8);
}
