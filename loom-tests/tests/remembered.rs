//! Label sets remembered by address (`DynamicFamily::with_static_labels`): write-once
//! entries FREE → WRITING → FILLED(slot), filled by the first lookup of a set that has a
//! series, read by every later one.
//!
//! The invariant: a remembered lookup returns the series a lookup by content returns,
//! whatever it races with. The family and its hash are the ones of `dynamic.rs` (a
//! two-slot table, [`ScriptedHash`]); where an entry search starts depends on the values'
//! addresses, which the models do not choose.

use corral_loom_tests::{ScriptedFamily, explore, scripted_family, thread};

type Family = ScriptedFamily<2>;

/// Increments the series for `key` through the remembered path; returns its address.
fn inc(family: &'static Family, key: &'static str) -> usize {
    let counter = family.with_static_labels([key]);
    counter.inc();
    core::ptr::from_ref(counter).addr()
}

fn by_content(family: &'static Family, key: &str) -> (usize, u64) {
    let counter = family.try_with_labels([key]).expect("the series exists");
    (core::ptr::from_ref(counter).addr(), counter.get())
}

#[test]
fn racing_first_lookups_of_one_set_share_its_series() {
    explore(&["one entry", "two entries"], |seen| {
        let family: &'static Family = scripted_family();
        let a = thread::spawn(move || inc(family, "alpha"));
        let b = thread::spawn(move || inc(family, "alpha"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());

        let (series, count) = by_content(family, "alpha");
        assert_eq!((a, b), (series, series), "a lookup found another series");
        assert_eq!(count, 2);
        assert_eq!(family.len(), 1);
        // Both threads may have missed and remembered the set, each in its own entry.
        match family.remembered() {
            1 => seen.record("one entry"),
            2 => seen.record("two entries"),
            n => panic!("{n} entries for one label set"),
        }
        assert_eq!(inc(family, "alpha"), series);
    });
}

#[test]
fn a_lookup_racing_a_remembrance_sees_a_whole_entry() {
    // `empty` starts at the same address as `whole`, so its search starts at the same
    // entry, and only the lengths tell the two apart. A reader that saw the entry's slot
    // index but not yet its lengths would take `whole`'s series for `empty`: with the
    // reader's `Acquire` load of the state, or the writer's `Release` store of it, made
    // `Relaxed`, this model fails ("two label sets share a series").
    static WHOLE: &str = "delta";
    explore(
        &["whole was inserted first", "empty was inserted first"],
        |seen| {
            let family: &'static ScriptedFamily<4> = scripted_family();
            let empty: &'static str = &WHOLE[..0];
            let writer = thread::spawn(move || {
                let counter = family.with_static_labels([WHOLE]);
                counter.inc();
                core::ptr::from_ref(counter).addr()
            });
            let reader = thread::spawn(move || {
                let counter = family.with_static_labels([empty]);
                counter.inc();
                core::ptr::from_ref(counter).addr()
            });
            let (whole, empty_series) = (writer.join().unwrap(), reader.join().unwrap());

            assert_ne!(whole, empty_series, "two label sets share a series");
            for (key, series) in [(WHOLE, whole), ("", empty_series)] {
                let counter = family.try_with_labels([key]).unwrap();
                assert_eq!(core::ptr::from_ref(counter).addr(), series, "{key:?}");
                assert_eq!(counter.get(), 1, "{key:?}");
            }
            // Both hash to home slot 1: the first insert took it.
            let first = family.try_with_labels([WHOLE]).unwrap();
            let second = family.try_with_labels([""]).unwrap();
            if core::ptr::from_ref(first).addr() < core::ptr::from_ref(second).addr() {
                seen.record("whole was inserted first");
            } else {
                seen.record("empty was inserted first");
            }
        },
    );
}
