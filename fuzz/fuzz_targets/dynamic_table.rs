//! `DynamicFamily` against a model: arbitrary sequences of lookups and increments with
//! arbitrary label values (empty, long, non-ASCII, repeated), in tables of 1 to 256 slots,
//! under a hasher the input controls so that home slots and tags collide on purpose.
//!
//! The model is a map from label values to totals plus the table's published bounds:
//! at most `admitted_series(SERIES)` series, values up to `max_label_value_length` (256)
//! bytes, encoded keys up to `KEY_BYTES` (112), and no series placed more than `MAX_PROBE`
//! slots from its home slot under linear probing. After every operation the handle's total,
//! the overflow series' total and every per-reason overflow count must equal the model's;
//! at the end every series the model has must still be found with its exact total, and
//! `max_probe()` must equal the farthest placement the model made (never past `MAX_PROBE`).

#![no_main]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use arbitrary::Arbitrary;
use corral_core::{
    Collect, Counter, DynamicFamily, LabelError, MAX_PROBE, OverflowReason, admitted_series,
};
use libfuzzer_sys::fuzz_target;

const KEY_BYTES: usize = 112;
const MAX_VALUE_LEN: usize = 256; // RegistryConfig::DEFAULT.max_label_value_length

/// foldhash with its home-slot bits and tag bits masked as the input says: a mask of 0
/// sends every key to the same home slot (or gives every key the same tag).
#[derive(Clone, Copy, Debug)]
struct Colliding {
    home_mask: u64,
    tag_mask: u64,
}

struct CollidingHasher {
    inner: foldhash::fast::FoldHasher<'static>,
    masks: Colliding,
}

impl Hasher for CollidingHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.inner.write(bytes);
    }

    fn finish(&self) -> u64 {
        let full = self.inner.finish();
        let tag = (full >> 32) & self.masks.tag_mask;
        (tag << 32) | (full & self.masks.home_mask & 0xffff_ffff)
    }
}

impl BuildHasher for Colliding {
    type Hasher = CollidingHasher;

    fn build_hasher(&self) -> CollidingHasher {
        CollidingHasher {
            inner: foldhash::fast::FixedState::with_seed(7).build_hasher(),
            masks: *self,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Value {
    /// One of a few short values, so that label sets repeat.
    Pool(u8),
    /// Any string.
    Text(String),
    /// `len` copies of one character: long values around the bounds.
    Repeat(char, u16),
}

impl Value {
    fn text(&self) -> String {
        const POOL: [&str; 8] = ["", "a", "b", "GET", "/api/v1", "é", "a\"b\\c\nd", "0"];
        match self {
            Value::Pool(i) => POOL[usize::from(*i) % POOL.len()].to_owned(),
            Value::Text(s) => s.clone(),
            Value::Repeat(c, n) => std::iter::repeat_n(*c, usize::from(*n % 300)).collect(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// `with_labels(..).inc_by(by)`.
    Inc(Value, Value, u8),
    /// `try_with_labels(..)`: the same outcome, nothing counted on error.
    Try(Value, Value),
}

#[derive(Arbitrary, Debug)]
struct Input {
    table: u8,
    home_bits: u8,
    tag_bits: u8,
    ops: Vec<Op>,
}

/// What the model says a lookup of a key ends in.
enum Outcome {
    Series,
    Overflow(OverflowReason),
}

struct Model<const SERIES: usize> {
    hasher: Colliding,
    slots: Vec<Option<[String; 2]>>,
    totals: HashMap<[String; 2], (u64, usize)>,
    overflow_total: u64,
    reasons: [u64; OverflowReason::ALL.len()],
    farthest: usize,
}

impl<const SERIES: usize> Model<SERIES> {
    fn home(&self, key: &[String; 2]) -> usize {
        let mut h = self.hasher.build_hasher();
        for v in key {
            h.write(v.as_bytes());
        }
        h.finish() as usize & (SERIES - 1)
    }

    /// Looks `key` up, inserting it as linear probing would.
    fn lookup(&mut self, key: &[String; 2], insert: bool) -> Outcome {
        if self.totals.contains_key(key) {
            return Outcome::Series;
        }
        if self.totals.len() >= admitted_series(SERIES) {
            return Outcome::Overflow(OverflowReason::FamilyFull);
        }
        let home = self.home(key);
        let distance = (0..SERIES)
            .find(|d| self.slots[(home + d) % SERIES].is_none())
            .expect("the model is below capacity, so a slot is free");
        if distance > MAX_PROBE {
            return Outcome::Overflow(OverflowReason::ProbeLimit);
        }
        if key.iter().any(|v| v.len() > MAX_VALUE_LEN) {
            return Outcome::Overflow(OverflowReason::ValueTooLong);
        }
        if 2 * key.len() + key.iter().map(String::len).sum::<usize>() > KEY_BYTES {
            return Outcome::Overflow(OverflowReason::KeyTooLong);
        }
        if insert {
            self.slots[(home + distance) % SERIES] = Some(key.clone());
            self.totals.insert(key.clone(), (0, 0));
            self.farthest = self.farthest.max(distance);
        }
        Outcome::Series
    }
}

fn reason_index(reason: OverflowReason) -> usize {
    OverflowReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap()
}

fn run<const SERIES: usize>(input: &Input) {
    let hasher = Colliding {
        home_mask: (1u64 << (input.home_bits % 9)) - 1,
        tag_mask: if input.tag_bits % 4 == 0 { 0 } else { u64::MAX },
    };
    let family: Box<DynamicFamily<Counter, 2, SERIES, KEY_BYTES, Colliding>> =
        Box::new(DynamicFamily::with_hasher(["a", "b"], (), hasher));
    let mut model = Model::<SERIES> {
        hasher,
        slots: vec![None; SERIES],
        totals: HashMap::new(),
        overflow_total: 0,
        reasons: [0; OverflowReason::ALL.len()],
        farthest: 0,
    };

    for op in &input.ops {
        match op {
            Op::Inc(a, b, by) => {
                let key = [a.text(), b.text()];
                let by = u64::from(*by);
                let handle = family.with_labels([&key[0], &key[1]]);
                handle.inc_by(by);
                match model.lookup(&key, true) {
                    Outcome::Series => {
                        let address = std::ptr::from_ref(handle) as usize;
                        let entry = model.totals.get_mut(&key).unwrap();
                        assert!(
                            entry.1 == 0 || entry.1 == address,
                            "{key:?} moved to another counter"
                        );
                        entry.1 = address;
                        entry.0 += by;
                        assert_eq!(handle.get(), entry.0, "total of {key:?}");
                    }
                    Outcome::Overflow(reason) => {
                        model.overflow_total += by;
                        model.reasons[reason_index(reason)] += 1;
                        assert!(
                            std::ptr::eq(handle, family.overflow()),
                            "{key:?} should overflow ({reason:?})"
                        );
                    }
                }
            }
            Op::Try(a, b) => {
                let key = [a.text(), b.text()];
                let got = family.try_with_labels([&key[0], &key[1]]);
                match (model.lookup(&key, true), got) {
                    (Outcome::Series, Ok(handle)) => {
                        let address = std::ptr::from_ref(handle) as usize;
                        let entry = model.totals.get_mut(&key).unwrap();
                        assert!(entry.1 == 0 || entry.1 == address);
                        entry.1 = address;
                        assert_eq!(handle.get(), entry.0, "total of {key:?}");
                    }
                    (Outcome::Overflow(reason), Err(error)) => {
                        assert_eq!(error.reason(), reason, "{key:?}: {error}");
                        if let LabelError::ProbeLimit { limit } = error {
                            assert_eq!(limit, MAX_PROBE);
                        }
                    }
                    (Outcome::Series, Err(error)) => {
                        panic!("{key:?}: model has a series, got {error}")
                    }
                    (Outcome::Overflow(reason), Ok(_)) => {
                        panic!("{key:?}: model overflows ({reason:?}), got a series")
                    }
                }
            }
        }
        assert_eq!(
            family.overflow().get(),
            model.overflow_total,
            "overflow total"
        );
        assert_eq!(
            family.overflow_counts(),
            model.reasons,
            "overflow counts by reason"
        );
        assert_eq!(family.len(), model.totals.len(), "series count");
    }

    assert!(family.max_probe() <= MAX_PROBE);
    assert_eq!(family.max_probe(), model.farthest, "farthest placement");
    assert!(family.len() <= admitted_series(SERIES));
    for (key, (total, address)) in &model.totals {
        let handle = family
            .try_with_labels([&key[0], &key[1]])
            .unwrap_or_else(|e| panic!("{key:?} lost its series: {e}"));
        assert_eq!(handle.get(), *total, "final total of {key:?}");
        assert!(*address == 0 || std::ptr::from_ref(handle) as usize == *address);
    }
}

fuzz_target!(|input: Input| {
    match input.table % 5 {
        0 => run::<1>(&input),
        1 => run::<2>(&input),
        2 => run::<4>(&input),
        3 => run::<16>(&input),
        _ => run::<256>(&input),
    }
});
