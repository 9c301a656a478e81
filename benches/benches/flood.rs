//! A label-value flood into a full dynamic family: the lookup that ends in the overflow
//! series against the lookup that hits an existing series, in the same run.
//!
//! The family has 1,024 slots and holds its 768 admitted series (three quarters of the
//! slots). The flood is 10,000,000 distinct values, each looked up once per pass; the hit
//! rotates over the 768 existing values. Both read their values in order from a buffer of
//! fixed-width strings, so the difference is the lookup alone. The goal is a flood lookup
//! within 2x of a hit.
//!
//! `cargo bench -p corral-benches --bench flood`

use std::hint::black_box;
use std::time::Duration;

use corral_core::{Counter, DynamicFamily, admitted_series};
use criterion::{Criterion, criterion_group, criterion_main};

const SLOTS: usize = 1024;
const FLOOD: u64 = 10_000_000;

static FAMILY: DynamicFamily<Counter, 1, SLOTS> = DynamicFamily::new(["user_agent"]);

/// Fixed-width values (`agent-00000042`) side by side in one buffer, read in order.
struct Arena {
    bytes: Vec<u8>,
}

const WIDTH: usize = 14;

impl Arena {
    fn new(first: u64, count: u64) -> Self {
        let mut bytes = Vec::with_capacity(count as usize * WIDTH);
        for n in first..first + count {
            bytes.extend_from_slice(format!("agent-{n:08}").as_bytes());
        }
        Self { bytes }
    }

    fn get(&self, i: usize) -> &str {
        let value = &self.bytes[i * WIDTH..(i + 1) * WIDTH];
        // SAFETY: every value was written from a `str` of exactly WIDTH ASCII bytes.
        unsafe { std::str::from_utf8_unchecked(value) }
    }
}

fn flood(c: &mut Criterion) {
    let admitted = admitted_series(SLOTS) as u64;
    let existing = Arena::new(0, admitted);
    let flood = Arena::new(admitted, FLOOD);
    for i in 0..admitted as usize {
        FAMILY.with_labels([existing.get(i)]).inc();
    }
    assert_eq!(FAMILY.len() as u64, admitted, "the family is full");

    let mut group = c.benchmark_group("dynamic_flood_1024_slots");
    let mut at = 0;
    group.bench_function("hit", |b| {
        b.iter(|| {
            at = if at + 1 == admitted as usize {
                0
            } else {
                at + 1
            };
            FAMILY.with_labels([black_box(existing.get(at))]).inc();
        })
    });
    let mut next = 0;
    group.bench_function("flood-overflow", |b| {
        b.iter(|| {
            next = if next + 1 == FLOOD as usize {
                0
            } else {
                next + 1
            };
            FAMILY.with_labels([black_box(flood.get(next))]).inc();
        })
    });
    group.finish();
    assert_eq!(FAMILY.len() as u64, admitted, "the flood created no series");
    assert!(FAMILY.overflow().get() > 0);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = flood
}
criterion_main!(benches);
