//! `DynamicFamily::with_static_labels`: label sets of `&'static str` remembered by address
//! find the same series as a lookup by content, past the remembered ones too, under
//! threads, and never for values that have no series.

mod common;

use common::{CountingAllocator, allocations_in, contended_overflow, on_threads};
use corral_core::{Collect, Counter, DynamicFamily, LabelError, OverflowReason, REMEMBERED};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "404", "409", "500", "503",
];

/// 40 label sets of `'static` strings, more than a family remembers.
fn label_sets() -> Vec<[&'static str; 2]> {
    METHODS
        .iter()
        .flat_map(|m| STATUSES.iter().map(move |s| [*m, *s]))
        .collect()
}

fn address(counter: &Counter) -> usize {
    core::ptr::from_ref(counter).addr()
}

#[test]
fn remembered_and_content_lookups_share_every_series() {
    static FAMILY: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
    let sets = label_sets();
    assert!(
        sets.len() > REMEMBERED,
        "the test must pass the remembered sets"
    );
    for round in 1..=3u64 {
        for (i, set) in sets.iter().enumerate() {
            let remembered = FAMILY.with_static_labels(*set);
            let by_content = FAMILY.try_with_labels(*set).unwrap();
            assert_eq!(address(remembered), address(by_content), "{set:?}");
            remembered.inc_by(i as u64 + 1);
            assert_eq!(by_content.get(), round * (i as u64 + 1), "{set:?}");
        }
    }
    assert_eq!(FAMILY.len(), sets.len());
    assert_eq!(FAMILY.overflow().get(), 0);
}

#[test]
fn the_same_strings_at_other_addresses_find_the_same_series() {
    static FAMILY: DynamicFamily<Counter, 1, 16> = DynamicFamily::new(["route"]);
    let literal: &'static str = "/users";
    let copy: &'static str = String::from("/users").leak();
    assert_ne!(literal.as_ptr(), copy.as_ptr());
    FAMILY.with_static_labels([literal]).inc();
    FAMILY.with_static_labels([copy]).inc();
    FAMILY.with_labels(["/users"]).inc();
    assert_eq!(FAMILY.with_static_labels([literal]).get(), 3);
    assert_eq!(FAMILY.len(), 1);
}

#[test]
fn a_prefix_at_the_same_address_is_another_value() {
    static FAMILY: DynamicFamily<Counter, 1, 16> = DynamicFamily::new(["route"]);
    let whole: &'static str = "/users/list";
    let prefix: &'static str = &whole[..6];
    let empty: &'static str = &whole[..0];
    assert_eq!(whole.as_ptr(), prefix.as_ptr());
    FAMILY.with_static_labels([whole]).inc();
    FAMILY.with_static_labels([prefix]).inc_by(2);
    FAMILY.with_static_labels([empty]).inc_by(3);
    assert_eq!(FAMILY.try_with_labels(["/users/list"]).unwrap().get(), 1);
    assert_eq!(FAMILY.try_with_labels(["/users"]).unwrap().get(), 2);
    assert_eq!(FAMILY.try_with_labels([""]).unwrap().get(), 3);
    assert_eq!(FAMILY.with_static_labels([prefix]).get(), 2);
    assert_eq!(FAMILY.len(), 3);
}

#[test]
fn values_without_a_series_are_refused_every_time() {
    // Four slots admit three series; a 200-byte value fits no 112-byte key.
    static FAMILY: DynamicFamily<Counter, 1, 4> = DynamicFamily::new(["route"]);
    let long: &'static str = "x".repeat(200).leak();
    for _ in 0..3 {
        assert!(matches!(
            FAMILY.try_with_static_labels([long]),
            Err(LabelError::KeyTooLong { capacity: 112, .. })
        ));
    }
    for route in ["a", "b", "c"] {
        FAMILY.with_static_labels([route]).inc();
    }
    for _ in 0..5 {
        FAMILY.with_static_labels(["d"]).inc();
    }
    assert_eq!(
        FAMILY.try_with_static_labels(["d"]).unwrap_err(),
        LabelError::FamilyFull { capacity: 3 }
    );
    assert_eq!(FAMILY.overflow().get(), 5);
    let full = OverflowReason::ALL
        .iter()
        .position(|r| *r == OverflowReason::FamilyFull)
        .unwrap();
    assert_eq!(FAMILY.overflow_counts()[full], 5);
    for route in ["a", "b", "c"] {
        assert_eq!(FAMILY.with_static_labels([route]).get(), 1, "{route}");
    }
}

#[test]
fn remembered_lookups_do_not_allocate() {
    static FAMILY: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
    let sets = label_sets();
    // The first pass creates the series and remembers the first sets; the second only
    // looks them up, remembered or not.
    sets.iter()
        .for_each(|set| FAMILY.with_static_labels(*set).inc());
    let (allocations, ()) = allocations_in(|| {
        for set in &sets {
            FAMILY.with_static_labels(*set).inc();
        }
    });
    assert_eq!(allocations, 0);
    assert!(
        sets.iter()
            .all(|set| FAMILY.try_with_labels(*set).unwrap().get() == 2)
    );
}

#[test]
fn threads_remembering_at_once_count_exactly() {
    const THREADS: usize = 8;
    const ROUNDS: u64 = if cfg!(miri) { 5 } else { 20_000 };
    static FAMILY: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
    let sets = label_sets();
    on_threads(THREADS, |t| {
        for round in 0..ROUNDS {
            // Each thread walks the sets from its own offset, so that first lookups and
            // first remembrances race.
            let set = sets[(t * 5 + round as usize) % sets.len()];
            if round % 3 == 0 {
                FAMILY.with_labels(set).inc();
            } else {
                FAMILY.with_static_labels(set).inc();
            }
        }
    });
    let total: u64 = sets
        .iter()
        .map(|set| FAMILY.try_with_labels(*set).map_or(0, |c| c.get()))
        .sum();
    let contended = contended_overflow(&FAMILY);
    assert_eq!(total + contended, THREADS as u64 * ROUNDS);
    for set in &sets {
        assert_eq!(
            address(FAMILY.with_static_labels(*set)),
            address(FAMILY.try_with_labels(*set).unwrap()),
            "{set:?}"
        );
    }
}
