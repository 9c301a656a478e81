//! A visit paused at any callback and resumed from its cursor yields exactly the events of
//! one uninterrupted visit: the property chunked rendering into a fixed buffer relies on.

use std::ops::ControlFlow;

use corral_core::{
    Counter, Cursor, Desc, DynamicFamily, FamilyInfo, Gauge, Histogram, Registry, SeriesLabels,
    Value, Visit, Visitor,
};

/// Logs callbacks as strings; refuses the callback after `budget` accepted ones.
struct Log {
    events: Vec<String>,
    budget: usize,
}

impl Log {
    fn take(&mut self, event: String) -> ControlFlow<()> {
        if self.budget == 0 {
            return ControlFlow::Break(());
        }
        self.budget -= 1;
        self.events.push(event);
        ControlFlow::Continue(())
    }
}

impl Visitor for Log {
    fn family(&mut self, f: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.take(format!("family {}", f.name))
    }

    fn series(
        &mut self,
        f: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        let labels: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
        self.take(format!("series {} {:?} {:?}", f.name, labels, value))
    }

    fn family_end(&mut self, f: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.take(format!("end {}", f.name))
    }
}

static REGISTRY: Registry<8> = Registry::new();
static A: Counter = Counter::new();
static B: DynamicFamily<Counter, 1, 8> = DynamicFamily::new(["k"]);
static C: Histogram<3> = Histogram::new(&[1.0, 2.0]);
static D: DynamicFamily<Gauge, 1, 2> = DynamicFamily::new(["k"]);
/// Big enough that its walk spans many groups of eight hint bytes, claimed and not.
static E: DynamicFamily<Counter, 1, 64> = DynamicFamily::new(["k"]);

#[test]
fn pausing_anywhere_and_resuming_is_lossless() {
    REGISTRY.register(Desc::new("a_total", "a"), &A).unwrap();
    REGISTRY.register(Desc::new("b_total", "b"), &B).unwrap();
    REGISTRY.register(Desc::new("c", "c"), &C).unwrap();
    REGISTRY.register(Desc::new("d", "d"), &D).unwrap();
    REGISTRY.register(Desc::new("e_total", "e"), &E).unwrap();
    A.inc();
    for k in ["x", "y", "z"] {
        B.with_labels([k]).inc();
    }
    C.observe(1.5);
    D.with_labels(["one"]).set(1.0);
    D.with_labels(["two"]).set(2.0);
    D.with_labels(["three"]).set(3.0); // overflow: the table holds two
    for i in 0..40 {
        E.with_labels([&format!("e{i}")]).inc_by(i);
    }

    let mut whole = Log {
        events: Vec::new(),
        budget: usize::MAX,
    };
    assert_eq!(REGISTRY.visit(&mut whole), Visit::Complete);
    let expected = whole.events;
    assert!(
        expected
            .iter()
            .any(|e| e.contains("otel_metric_overflow=true"))
    );
    // Every series of the 64-slot family, once each, with its own value.
    let mut seen: Vec<String> = expected
        .iter()
        .filter(|e| e.starts_with("series e_total"))
        .cloned()
        .collect();
    seen.sort();
    let mut wanted: Vec<String> = (0..40)
        .map(|i| format!("series e_total [\"k=e{i}\"] Counter({i})"))
        .collect();
    wanted.sort();
    assert_eq!(seen, wanted);
    assert!(
        expected
            .last()
            .unwrap()
            .starts_with("end metrics_registry_series_overflow_total")
    );

    // Every chunk size natively; under miri, which interprets every instruction, the
    // smallest three (the most pauses), every eighth and the whole visit.
    let chunks = (1..=expected.len())
        .filter(|&c| !cfg!(miri) || c <= 3 || c % 8 == 0 || c == expected.len());
    for chunk in chunks {
        let mut events = Vec::new();
        let mut cursor = Cursor::START;
        let mut pauses = 0;
        loop {
            let mut log = Log {
                events: Vec::new(),
                budget: chunk,
            };
            let outcome = REGISTRY.visit_from(cursor, &mut log);
            events.extend(log.events);
            match outcome {
                Visit::Complete => break,
                Visit::Paused(next) => cursor = next,
            }
            pauses += 1;
            assert!(
                pauses <= expected.len(),
                "no progress with chunks of {chunk}"
            );
        }
        assert_eq!(events, expected, "chunks of {chunk} callbacks");
    }
}
