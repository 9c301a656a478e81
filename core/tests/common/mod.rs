//! Shared test helpers: a visitor that copies a registry into plain data, and a counting
//! global allocator (each test binary that wants it declares it).
#![allow(dead_code, unreachable_pub)]

use std::cell::Cell;
use std::ops::ControlFlow;
use std::sync::Barrier;
use std::thread;

use corral_core::{
    Collect, Counter, DynamicFamily, FamilyInfo, OverflowReason, SeriesLabels, Value, Visitor,
};

/// One series as plain data.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub family: String,
    pub labels: Vec<(String, String)>,
    pub value: Plain,
}

/// A series value as plain data.
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    Int(i128),
    Float(f64),
    Histogram {
        cumulative: Vec<(f64, u64)>,
        count: u64,
        sum: f64,
    },
    Other,
}

impl Plain {
    pub fn as_int(&self) -> i128 {
        match self {
            Plain::Int(v) => *v,
            other => panic!("not an integer sample: {other:?}"),
        }
    }
}

/// Records every callback of a visit.
#[derive(Default, Debug)]
pub struct Collector {
    pub families: Vec<String>,
    pub ends: Vec<String>,
    pub samples: Vec<Sample>,
}

impl Collector {
    pub fn family(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.family == name).collect()
    }

    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Plain> {
        self.samples
            .iter()
            .find(|s| {
                s.family == name
                    && s.labels.len() == labels.len()
                    && s.labels
                        .iter()
                        .zip(labels)
                        .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
            })
            .map(|s| &s.value)
    }
}

pub fn plain(value: &Value<'_>) -> Plain {
    match value {
        Value::Counter(v) => Plain::Int(i128::from(*v)),
        Value::IntGauge(v) => Plain::Int(i128::from(*v)),
        Value::Gauge(v) | Value::FloatCounter(v) => Plain::Float(*v),
        Value::Histogram(h) => Plain::Histogram {
            cumulative: h.cumulative().collect(),
            count: h.count(),
            sum: h.sum(),
        },
        _ => Plain::Other,
    }
}

impl Visitor for Collector {
    fn family(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.families.push(family.name.to_string());
        ControlFlow::Continue(())
    }

    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        self.samples.push(Sample {
            family: family.name.to_string(),
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            value: plain(value),
        });
        ControlFlow::Continue(())
    }

    fn family_end(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.ends.push(family.name.to_string());
        ControlFlow::Continue(())
    }
}

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// A global allocator that counts allocations made by the current thread.
pub struct CountingAllocator;

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged; counting touches only a const-initialised thread-local `Cell`, which never
// allocates.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `alloc` above, i.e. from `System`.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations the current thread made while running `f`.
pub fn allocations_in<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    let after = ALLOCATIONS.with(Cell::get);
    (after - before, result)
}

/// Runs `f(t)` on `threads` threads at once, `t` in `0..threads`, released together by a
/// barrier so that their first operations race.
pub fn on_threads(threads: usize, f: impl Fn(usize) + Sync) {
    let barrier = Barrier::new(threads);
    thread::scope(|scope| {
        for t in 0..threads {
            let (f, barrier) = (&f, &barrier);
            scope.spawn(move || {
                barrier.wait();
                f(t);
            });
        }
    });
}

/// What threads racing to create `family`'s series left in its overflow series: only
/// recordings whose lookup gave up waiting for a concurrent insert of their key (a thread
/// preempted between claiming a slot and publishing it, with more threads than cores), each
/// counted under [`OverflowReason::Contended`]. Returns how many, for the caller to add to
/// the series' own counts.
pub fn contended_overflow<const LABELS: usize, const SERIES: usize>(
    family: &DynamicFamily<Counter, LABELS, SERIES>,
) -> u64 {
    let overflow = family.overflow().get();
    for (reason, count) in OverflowReason::ALL.iter().zip(family.overflow_counts()) {
        let expected = if *reason == OverflowReason::Contended {
            overflow
        } else {
            0
        };
        assert_eq!(
            count,
            expected,
            "overflow recordings for reason {}",
            reason.as_str()
        );
    }
    overflow
}
