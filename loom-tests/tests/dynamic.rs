//! The dynamic label table: an insert-only, open-addressed table whose slots move
//! EMPTY → WRITING(tag) → READY(tag), with the label values stored in the slot.
//!
//! Every model uses a two-slot table and [`ScriptedHash`], which makes `alpha` and `bravo`
//! share home slot 0 with different tags, `alpha` and `charlie` share home slot 0 *and*
//! tag (only the key bytes tell them apart), and `delta` and `echo` start at slot 1.
//!
//! Besides the assertions, loom checks every access to a slot's key bytes: a read that is
//! not ordered after the whole write (a reader seeing a half-written key) fails the model
//! with a causality violation.
//!
//! The invariant every model checks at the end: each increment landed exactly once, in
//! its own series or in the overflow series, and the overflow count by reason matches.

use corral_core::{
    Counter, Desc, DynamicFamily, OverflowReason, Registry, RegistryConfig, TypedFamily,
};
use corral_loom_tests::{
    Sample, ScriptedFamily, ScriptedHash, SeenSeries, collect_family, explore, leak, model,
    overflowed, overflowed_total, scripted_family, thread,
};

type Family = ScriptedFamily<2>;

fn family() -> &'static Family {
    scripted_family()
}

/// Increments the series for `key` and returns its address.
fn inc(family: &'static Family, key: &'static str) -> usize {
    let counter = family.with_labels([key]);
    counter.inc();
    core::ptr::from_ref(counter).addr()
}

/// The value of the series labelled `key`, if it exists.
fn value_of(series: &[SeenSeries], labels: &str) -> Option<u64> {
    let mut found = series.iter().filter(|s| s.labels == labels);
    let first = found.next()?;
    assert!(
        found.next().is_none(),
        "two series labelled {labels}: {series:?}"
    );
    match first.sample {
        Sample::Counter(v) => Some(v),
        ref other => panic!("expected a counter, got {other:?}"),
    }
}

const OVERFLOW: &str = "otel_metric_overflow=\"true\"";

/// Checks what every model ends with: each series is one of `keys`, no key has two series,
/// `len` matches, and own series plus the overflow series hold exactly `increments`.
fn check_totals(family: &'static Family, keys: &[&str], increments: u64) -> Vec<SeenSeries> {
    let series = collect_family(family);
    let mut own = 0;
    let mut total = 0;
    for s in &series {
        let value = value_of(&series, &s.labels).unwrap();
        total += value;
        if s.labels != OVERFLOW {
            own += 1;
            assert!(
                keys.iter().any(|k| s.labels == format!("key=\"{k}\"")),
                "a series with labels {} appeared: {series:?}",
                s.labels
            );
        }
    }
    assert_eq!(family.len(), own, "len disagrees with the series present");
    assert_eq!(total, increments, "increments lost or doubled: {series:?}");
    let overflow = value_of(&series, OVERFLOW).unwrap_or(0);
    assert_eq!(
        overflow,
        overflowed_total(family),
        "overflow series and overflow counts disagree"
    );
    series
}

/// Which of two handles is in the lower slot, as an outcome name.
fn first_slot(a: usize, b: usize, a_first: &'static str, b_first: &'static str) -> &'static str {
    if a < b { a_first } else { b_first }
}

/// Two threads ask for the same new key at once: one slot is created, never two. The
/// loser either finds the winner's slot or, if the winner has not published READY within
/// the bounded wait, records into the overflow series and counts `Contended`.
#[test]
fn same_key_gets_one_slot() {
    explore(&["both found one slot"], |seen| {
        let family = family();
        let a = thread::spawn(move || inc(family, "alpha"));
        let b = thread::spawn(move || inc(family, "alpha"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());

        let series = check_totals(family, &["alpha"], 2);
        assert_eq!(family.len(), 1);
        let contended = overflowed(family, OverflowReason::Contended);
        assert_eq!(
            contended,
            overflowed_total(family),
            "only Contended may overflow here"
        );
        if contended == 0 {
            assert_eq!(a, b, "the same key got two slots");
            assert_eq!(value_of(&series, "key=\"alpha\""), Some(2));
            seen.record("both found one slot");
        } else {
            seen.record("the loser gave up waiting (Contended)");
        }
        // Once both are done, the key is found without any wait.
        assert_eq!(
            family.try_with_labels(["alpha"]).unwrap().get(),
            2 - contended
        );
    });
}

/// Two different keys with the same home slot and different tags: each gets its own
/// slot (whichever comes second probes past the first), no thread waits, nothing
/// overflows.
#[test]
fn different_keys_get_different_slots() {
    explore(
        &["alpha took the home slot", "bravo took the home slot"],
        |seen| {
            let family = family();
            let a = thread::spawn(move || inc(family, "alpha"));
            let b = thread::spawn(move || inc(family, "bravo"));
            let (a, b) = (a.join().unwrap(), b.join().unwrap());

            assert_ne!(a, b, "two keys share a slot");
            let series = check_totals(family, &["alpha", "bravo"], 2);
            assert_eq!(overflowed_total(family), 0);
            assert_eq!(value_of(&series, "key=\"alpha\""), Some(1));
            assert_eq!(value_of(&series, "key=\"bravo\""), Some(1));
            seen.record(first_slot(
                a,
                b,
                "alpha took the home slot",
                "bravo took the home slot",
            ));
        },
    );
}

/// Two different keys with the same home slot *and* the same tag: a thread that meets
/// the other's WRITING slot waits, then compares the key bytes, finds a different key and
/// probes on. Loom checks that the byte comparison only ever reads a fully written key.
#[test]
fn tag_collision_compares_complete_keys() {
    explore(
        &["alpha took the home slot", "charlie took the home slot"],
        |seen| {
            let family = family();
            let a = thread::spawn(move || inc(family, "alpha"));
            let c = thread::spawn(move || inc(family, "charlie"));
            let (a, c) = (a.join().unwrap(), c.join().unwrap());

            assert_ne!(a, c, "two keys share a slot");
            let series = check_totals(family, &["alpha", "charlie"], 2);
            let contended = overflowed(family, OverflowReason::Contended);
            assert_eq!(
                contended,
                overflowed_total(family),
                "only Contended may overflow here"
            );
            if contended == 0 {
                assert_eq!(value_of(&series, "key=\"alpha\""), Some(1));
                assert_eq!(value_of(&series, "key=\"charlie\""), Some(1));
                seen.record(first_slot(
                    a,
                    c,
                    "alpha took the home slot",
                    "charlie took the home slot",
                ));
            } else {
                seen.record("one gave up waiting (Contended)");
            }
        },
    );
}

/// A reader (the family's collect, as a registry visit runs it) races two inserts: it
/// only ever shows complete keys that were really inserted, with values that were really
/// recorded.
#[test]
fn reader_never_sees_a_half_written_key() {
    explore(
        &[
            "saw no series",
            "saw a new series at 0",
            "saw one series",
            "saw both series",
        ],
        |seen| {
            let family = family();
            let a = thread::spawn(move || inc(family, "alpha"));
            let d = thread::spawn(move || inc(family, "delta"));
            let reader = thread::spawn(move || collect_family(family));
            let series = reader.join().unwrap();
            for s in &series {
                assert!(
                    s.labels == "key=\"alpha\"" || s.labels == "key=\"delta\"",
                    "the reader saw labels {}",
                    s.labels
                );
                assert!(
                    s.sample == Sample::Counter(0) || s.sample == Sample::Counter(1),
                    "the reader saw {:?}",
                    s.sample
                );
                if s.sample == Sample::Counter(0) {
                    seen.record("saw a new series at 0");
                }
            }
            seen.record(match series.len() {
                0 => "saw no series",
                1 => "saw one series",
                _ => "saw both series",
            });
            a.join().unwrap();
            d.join().unwrap();
            check_totals(family, &["alpha", "delta"], 2);
            assert_eq!(family.len(), 2);
        },
    );
}

/// A full table: two threads with new keys both record into the overflow series, each
/// counted as `FamilyFull`; the existing series are untouched and still found.
#[test]
fn full_table_sends_both_to_overflow() {
    model(|| {
        let family = family();
        inc(family, "alpha");
        inc(family, "delta");
        let b = thread::spawn(move || inc(family, "bravo"));
        let e = thread::spawn(move || inc(family, "echo"));
        let overflow = core::ptr::from_ref(family.overflow()).addr();
        assert_eq!(b.join().unwrap(), overflow);
        assert_eq!(e.join().unwrap(), overflow);

        check_totals(family, &["alpha", "delta"], 4);
        assert_eq!(overflowed(family, OverflowReason::FamilyFull), 2);
        assert_eq!(overflowed_total(family), 2);
        assert_eq!(family.overflow().get(), 2);
        assert_eq!(family.try_with_labels(["alpha"]).unwrap().get(), 1);
        assert_eq!(family.try_with_labels(["delta"]).unwrap().get(), 1);
    });
}

/// One free slot, two threads with different new keys (`bravo` probes to slot 1 from
/// slot 0, `delta` starts there): exactly one gets the slot, the other overflows as
/// `FamilyFull`, and the table never holds more series than it has slots.
#[test]
fn last_free_slot_goes_to_exactly_one_key() {
    explore(&["bravo got the slot", "delta got the slot"], |seen| {
        let family = family();
        inc(family, "alpha");
        let b = thread::spawn(move || inc(family, "bravo"));
        let d = thread::spawn(move || inc(family, "delta"));
        let (b, d) = (b.join().unwrap(), d.join().unwrap());

        assert_ne!(b, d, "both keys landed in the same place");
        check_totals(family, &["alpha", "bravo", "delta"], 3);
        assert_eq!(family.len(), 2);
        assert_eq!(overflowed(family, OverflowReason::FamilyFull), 1);
        assert_eq!(overflowed_total(family), 1);
        let overflow = core::ptr::from_ref(family.overflow()).addr();
        seen.record(if d == overflow {
            "bravo got the slot"
        } else {
            "delta got the slot"
        });
    });
}

/// Two threads race to create `bravo` in the last free slot, one slot past its home. The
/// loser must find the winner's series (or give up waiting, `Contended`), never conclude
/// the family is full: the winner claims the slot before it reserves the series, and a
/// lookup that sees the family full looks again at the slot it saw EMPTY and at
/// `max_probe` (the early exit past the furthest probe distance). Afterwards the early exit
/// must never hide `bravo`, and a key that was never inserted is refused.
#[test]
fn last_free_slot_race_for_one_key_never_looks_full() {
    explore(&["both found one slot"], |seen| {
        let family = family();
        inc(family, "alpha");
        let a = thread::spawn(move || inc(family, "bravo"));
        let b = thread::spawn(move || inc(family, "bravo"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());

        check_totals(family, &["alpha", "bravo"], 3);
        assert_eq!(family.len(), 2);
        assert_eq!(
            overflowed(family, OverflowReason::FamilyFull),
            0,
            "a lookup saw the family full while its own key was taking the last slot"
        );
        let bravo = family
            .try_with_labels(["bravo"])
            .expect("a key placed past its home slot must stay findable in a full table");
        assert_eq!(bravo.get() + family.overflow().get(), 2);
        assert!(family.try_with_labels(["charlie"]).is_err());
        if a == b {
            seen.record("both found one slot");
        } else {
            seen.record("one gave up waiting (Contended)");
        }
    });
}

type WideFamily = DynamicFamily<Counter, 1, 4, 16, ScriptedHash>;

/// A four-slot table whose registry allows three series: two of its slots stay free when
/// the family is full. Two threads race for the third series with different keys; both
/// may claim a slot, but only one reserves the series, and the other retires its slot
/// (DEAD), which lookups then step over. Exactly three series exist afterwards, the loser
/// is counted as `FamilyFull`, and looking the loser up again is refused, not stuck.
#[test]
fn losing_a_reservation_retires_the_slot() {
    explore(&["bravo got the series", "echo got the series"], |seen| {
        let config = RegistryConfig::DEFAULT
            .with_max_series_per_metric(3)
            .with_self_metrics(false);
        let registry = leak(Registry::<1>::with_config(config));
        let family: &'static WideFamily =
            leak(DynamicFamily::with_hasher(["key"], (), ScriptedHash));
        registry
            .register(Desc::new("keyed_total", "By key"), family)
            .unwrap();
        family.with_labels(["alpha"]).inc();
        family.with_labels(["delta"]).inc();
        let b = thread::spawn(move || family.with_labels(["bravo"]).inc());
        let e = thread::spawn(move || family.with_labels(["echo"]).inc());
        b.join().unwrap();
        e.join().unwrap();

        assert_eq!(family.len(), 3);
        assert_eq!(registry.total_series(), 3);
        assert_eq!(overflowed(family, OverflowReason::FamilyFull), 1);
        assert_eq!(family.overflow().get(), 1);
        let won = if family.try_with_labels(["bravo"]).is_ok() {
            "bravo"
        } else {
            "echo"
        };
        let lost = if won == "bravo" { "echo" } else { "bravo" };
        assert_eq!(
            family.try_with_labels([lost]).unwrap_err(),
            corral_core::LabelError::FamilyFull { capacity: 3 }
        );
        let series = collect_family(family);
        assert_eq!(
            series.len(),
            4,
            "three series and the overflow series: {series:?}"
        );
        seen.record(if won == "bravo" {
            "bravo got the series"
        } else {
            "echo got the series"
        });
    });
}

/// The registry-wide series budget: with one series left, two threads insert different
/// keys. Exactly one gets a series; the other records into the overflow series, counted
/// as `SeriesBudget`; the registry never reports more series than its limit.
#[test]
fn series_budget_admits_exactly_one() {
    explore(&["alpha admitted", "delta admitted"], |seen| {
        let config = RegistryConfig::DEFAULT
            .with_max_total_series(2)
            .with_self_metrics(false);
        let registry = leak(Registry::<2>::with_config(config));
        let events = leak(Counter::new());
        let family = family();
        registry
            .register(Desc::new("events_total", "Events"), events)
            .unwrap();
        registry
            .register(Desc::new("keyed_total", "By key"), family)
            .unwrap();
        let a = thread::spawn(move || inc(family, "alpha"));
        let d = thread::spawn(move || inc(family, "delta"));
        let (a, _) = (a.join().unwrap(), d.join().unwrap());

        check_totals(family, &["alpha", "delta"], 2);
        assert_eq!(family.len(), 1);
        assert_eq!(overflowed(family, OverflowReason::SeriesBudget), 1);
        assert_eq!(registry.total_series(), 2);
        let overflow = core::ptr::from_ref(family.overflow()).addr();
        seen.record(if a == overflow {
            "delta admitted"
        } else {
            "alpha admitted"
        });
    });
}

/// A closed-label-set registration (which sets aside all its series at once) races a
/// dynamic insert for the last two series of the budget: exactly one of them fits.
#[test]
fn budget_reservation_races_dynamic_insert() {
    explore(&["registration won", "insert won"], |seen| {
        corral_core::label_enum! { enum Side: "side" { Left = "left", Right = "right" } }
        let config = RegistryConfig::DEFAULT
            .with_max_total_series(2)
            .with_self_metrics(false);
        let registry = leak(Registry::<2>::with_config(config));
        let family = family();
        registry
            .register(Desc::new("keyed_total", "By key"), family)
            .unwrap();
        let typed = leak(TypedFamily::<Counter, Side, 2>::new());
        let r = thread::spawn(move || {
            registry
                .register(Desc::new("sides_total", "By side"), typed)
                .is_ok()
        });
        let i = thread::spawn(move || inc(family, "alpha"));
        let registered = r.join().unwrap();
        i.join().unwrap();

        check_totals(family, &["alpha"], 1);
        let inserted = family.len() == 1;
        assert!(
            registered != inserted,
            "registered: {registered}, inserted: {inserted}; exactly one fits the budget"
        );
        assert_eq!(registry.total_series(), if registered { 2 } else { 1 });
        seen.record(if registered {
            "registration won"
        } else {
            "insert won"
        });
    });
}

/// A family is registered while another thread creates a series in it: whichever comes
/// first, the series ends up counted in the registry's series total.
#[test]
fn registration_racing_insert_counts_the_series() {
    explore(
        &[
            "inserted before registration",
            "inserted after registration",
        ],
        |seen| {
            let config = RegistryConfig::DEFAULT.with_self_metrics(false);
            let registry = leak(Registry::<1>::with_config(config));
            let family = family();
            let r = thread::spawn(move || {
                registry
                    .register(Desc::new("keyed_total", "By key"), family)
                    .unwrap();
            });
            let i = thread::spawn(move || {
                let registered = registry.len();
                inc(family, "alpha");
                registered
            });
            r.join().unwrap();
            let registered_before = i.join().unwrap();

            check_totals(family, &["alpha"], 1);
            assert_eq!(family.len(), 1);
            assert_eq!(
                registry.total_series(),
                1,
                "a series created while its family was being registered is not counted"
            );
            seen.record(if registered_before == 1 {
                "inserted after registration"
            } else {
                "inserted before registration"
            });
        },
    );
}
