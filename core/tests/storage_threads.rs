//! Real threads through every `unsafe` block of core's storage: dynamic slots (key written
//! once, read by lookups and visits) and registry entries (written under the lock, read by
//! visits). Small enough to run under miri, whose data-race detector and weak-memory
//! emulation check the same protocols the loom models check, on the real (non-loom) build.
//!
//! `cargo +nightly miri test -p corral-core` runs it (`.ci/miri.sh`).

use core::ops::ControlFlow;
use std::collections::BTreeMap;
use std::string::String;
use std::thread;
use std::vec::Vec;

use corral_core::{
    Counter, Cursor, Desc, DynamicFamily, FamilyInfo, Histogram, Registry, RegistryConfig,
    SeriesLabels, Value, Visit, Visitor,
};

/// Rounds each thread makes; miri interprets every instruction, so it gets fewer.
const ROUNDS: u64 = if cfg!(miri) { 4 } else { 200 };

#[derive(Default)]
struct Totals {
    series: BTreeMap<(String, String), u64>,
    histogram_counts: Vec<u64>,
}

impl Visitor for Totals {
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        let labels: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let key = (family.name.to_owned(), labels.join(","));
        let number = match value {
            Value::Counter(v) => *v,
            Value::IntGauge(v) => u64::try_from(*v).unwrap_or(0),
            Value::Histogram(h) => {
                let cumulative: Vec<(f64, u64)> = h.cumulative().collect();
                assert_eq!(cumulative.last().map(|c| c.1), Some(h.count()));
                assert!(cumulative.windows(2).all(|w| w[0].1 <= w[1].1));
                self.histogram_counts.push(h.count());
                h.count()
            }
            _ => 0,
        };
        assert!(
            self.series.insert(key.clone(), number).is_none(),
            "series {key:?} visited twice"
        );
        ControlFlow::Continue(())
    }
}

/// A visitor that stops after every callback, so a visit is many resumptions.
struct OneAtATime<'a> {
    inner: &'a mut Totals,
    take: bool,
}

impl Visitor for OneAtATime<'_> {
    fn family(&mut self, _: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.step()
    }

    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        self.step()?;
        self.inner.series(family, labels, value)
    }
}

impl OneAtATime<'_> {
    fn step(&mut self) -> ControlFlow<()> {
        self.take = !self.take;
        if self.take {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }
}

fn visit_in_pieces<const FAMILIES: usize>(registry: &Registry<FAMILIES>) -> Totals {
    let mut totals = Totals::default();
    let mut cursor = Cursor::START;
    loop {
        let mut visitor = OneAtATime {
            inner: &mut totals,
            take: false,
        };
        match registry.visit_from(cursor, &mut visitor) {
            Visit::Complete => return totals,
            Visit::Paused(at) => cursor = at,
        }
    }
}

const LONG: &str = "a label value longer than one hundred and twenty-seven bytes, so that its length \
                    prefix takes two bytes in the slot's key storage: ..........";

#[test]
fn dynamic_slots_and_registry_entries_under_threads() {
    static REGISTRY: Registry<4> =
        Registry::with_config(RegistryConfig::DEFAULT.with_max_total_series(64));
    static ROUTES: DynamicFamily<Counter, 2, 8, 256> = DynamicFamily::new(["route", "code"]);
    static LATENCY: Histogram<3> = Histogram::new(&[1.0, 10.0]);
    const KEYS: [[&str; 2]; 5] = [
        ["/a", "200"],
        ["/a", "500"],
        ["/b", "200"],
        [LONG, "200"],
        ["/c", ""],
    ];

    assert!(LONG.len() > 127);
    REGISTRY
        .register(Desc::new("routes_total", "Requests by route"), &ROUTES)
        .unwrap();

    thread::scope(|scope| {
        for worker in 0..3 {
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    // Every worker touches every key, starting at a different one, so
                    // inserts of the same key race.
                    for i in 0..KEYS.len() {
                        ROUTES.with_labels(KEYS[(i + worker) % KEYS.len()]).inc();
                        LATENCY.observe((round % 20) as f64);
                    }
                }
            });
        }
        // A registration and visits race the workers.
        scope.spawn(|| {
            REGISTRY
                .register(Desc::new("latency_ms", "Latency").with_unit("ms"), &LATENCY)
                .unwrap();
        });
        scope.spawn(|| {
            for _ in 0..ROUNDS {
                let seen = visit_in_pieces(&REGISTRY);
                for (family, labels) in seen.series.keys() {
                    if family == "routes_total" && !labels.contains("otel_metric_overflow") {
                        assert!(
                            KEYS.iter()
                                .any(|k| *labels == format!("route={},code={}", k[0], k[1])),
                            "a visit saw labels {labels}"
                        );
                    }
                }
            }
        });
    });

    // Every increment is in its series, or in the overflow series when a lookup gave up
    // waiting for a concurrent insert of its key (`wait_ready`'s spin limit, reachable with
    // five threads on fewer cores): counted under `reason="contended"`, and only there.
    let seen = visit_in_pieces(&REGISTRY);
    let count = |family: &str, labels: &str| {
        seen.series
            .get(&(family.to_owned(), labels.to_owned()))
            .copied()
    };
    let mut in_series = 0;
    for key in KEYS {
        let labels = format!("route={},code={}", key[0], key[1]);
        let n = count("routes_total", &labels).unwrap_or_else(|| panic!("no series {labels}"));
        assert!(n <= 3 * ROUNDS, "series {labels} counted {n}");
        in_series += n;
    }
    let overflow = ROUTES.overflow().get();
    assert_eq!(in_series + overflow, 3 * ROUNDS * KEYS.len() as u64);
    // The overflow series and its `contended` count exist only once something overflowed.
    let expected = (overflow > 0).then_some(overflow);
    assert_eq!(count("routes_total", "otel_metric_overflow=true"), expected);
    let contended = "metric=routes_total,reason=contended";
    assert_eq!(
        count("metrics_registry_series_overflow_total", contended),
        expected
    );
    let reasons = seen
        .series
        .keys()
        .filter(|(family, _)| family == "metrics_registry_series_overflow_total");
    assert!(
        reasons.count() <= 1,
        "an overflow reason besides contention: {:?}",
        seen.series
    );
    assert_eq!(ROUTES.len(), KEYS.len());
    assert_eq!(seen.histogram_counts, [3 * ROUNDS * KEYS.len() as u64]);
    assert_eq!(REGISTRY.total_series(), KEYS.len() + 1);
}

#[test]
fn full_table_overflows_under_threads() {
    static FAMILY: DynamicFamily<Counter, 1, 2, 16> = DynamicFamily::new(["key"]);
    thread::scope(|scope| {
        for worker in 0..3 {
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    let value = ["k0", "k1", "k2", "k3"][((round as usize) + worker) % 4];
                    FAMILY.with_labels([value]).inc();
                }
            });
        }
    });
    let mut total = FAMILY.overflow().get();
    let mut keys = 0;
    for value in ["k0", "k1", "k2", "k3"] {
        if let Ok(counter) = FAMILY.try_with_labels([value]) {
            total += counter.get();
            keys += 1;
        }
    }
    assert_eq!(keys, 2);
    assert_eq!(FAMILY.len(), 2);
    assert_eq!(total, 3 * ROUNDS);
}

/// One thread creates a series while another only reads (visits) until it sees it: the
/// reader's only link to the writer is the slot's READY state, so under miri a READY
/// store that did not publish the key bytes is a data race on every run, not only on
/// an unlucky schedule.
#[test]
fn a_key_is_published_to_a_read_only_thread() {
    static REGISTRY: Registry<2> = Registry::new();
    static FAMILY: DynamicFamily<Counter, 1, 4, 32> = DynamicFamily::new(["key"]);
    static EVENTS: Counter = Counter::new();
    REGISTRY
        .register(Desc::new("keyed_total", "By key"), &FAMILY)
        .unwrap();

    thread::scope(|scope| {
        scope.spawn(|| FAMILY.with_labels(["published-key"]).inc());
        scope.spawn(|| {
            // Likewise a registry entry, whose only link is `published`.
            REGISTRY
                .register(Desc::new("events_total", "Events"), &EVENTS)
                .unwrap();
        });
        scope.spawn(|| {
            loop {
                let seen = visit_in_pieces(&REGISTRY);
                let key = seen
                    .series
                    .contains_key(&("keyed_total".to_owned(), "key=published-key".to_owned()));
                let entry = seen
                    .series
                    .contains_key(&("events_total".to_owned(), String::new()));
                if key && entry {
                    break;
                }
                thread::yield_now();
            }
        });
    });
}
