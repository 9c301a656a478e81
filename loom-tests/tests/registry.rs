//! The registry: registrations take a spin lock and publish each entry by raising
//! `published` with `Release`; visits never lock and read entries below a `published`
//! they loaded with `Acquire`.
//!
//! Loom checks each entry's cell: a visit that read an entry not ordered after its write
//! fails the model. The assertions check what registration promises: no name is taken
//! twice, capacity is never exceeded, and a visit sees a prefix of the registrations.

use corral_core::{Counter, Desc, DynamicFamily, Reason, Registry, RegistryConfig};
use corral_loom_tests::{Sample, explore, leak, scrape, thread};

fn quiet<const FAMILIES: usize>() -> &'static Registry<FAMILIES> {
    leak(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    ))
}

/// A registration (followed by an increment) races a visit: the visit sees either no
/// family or the complete family with a value that was really recorded; once the
/// registration is done, every visit sees it.
#[test]
fn registration_racing_a_visit() {
    explore(
        &["saw nothing", "saw the family at 0", "saw the family at 1"],
        |seen| {
            let registry = quiet::<2>();
            let events = leak(Counter::new());
            let r = thread::spawn(move || {
                registry
                    .register(Desc::new("events_total", "Events"), events)
                    .unwrap();
                events.inc();
            });
            let visitor = thread::spawn(move || scrape(registry));
            let during = visitor.join().unwrap();
            match during.families.as_slice() {
                [] => {
                    assert!(during.series.is_empty());
                    seen.record("saw nothing");
                }
                [name] => {
                    assert_eq!(name, "events_total");
                    assert_eq!(during.series.len(), 1);
                    match during.series[0].sample {
                        Sample::Counter(0) => seen.record("saw the family at 0"),
                        Sample::Counter(1) => seen.record("saw the family at 1"),
                        ref other => panic!("the visit saw {other:?}"),
                    }
                }
                more => panic!("the visit saw families {more:?}"),
            }
            r.join().unwrap();
            let after = scrape(registry);
            assert_eq!(after.families, ["events_total"]);
            assert_eq!(after.series[0].sample, Sample::Counter(1));
        },
    );
}

/// Two registrations of different names race a visit, with the registry's own metrics on
/// (they read every published entry's overflow counts): both registrations succeed, the
/// racing visit sees a prefix of them, and a later visit shows both, each once.
#[test]
fn concurrent_registrations_both_land() {
    explore(
        &[
            "a registered first",
            "b registered first",
            "visit saw one",
            "visit saw both",
        ],
        |seen| {
            let registry = leak(Registry::<2>::new());
            let a = thread::spawn(move || {
                registry
                    .register(Desc::new("a_total", "A"), leak(Counter::new()))
                    .unwrap();
            });
            let b = thread::spawn(move || {
                registry
                    .register(Desc::new("b_total", "B"), leak(Counter::new()))
                    .unwrap();
            });
            let visitor = thread::spawn(move || scrape(registry));
            let during = visitor.join().unwrap();
            let own = during
                .families
                .iter()
                .take_while(|f| !f.starts_with("metrics_registry_"))
                .count();
            assert!(own <= 2);
            assert_eq!(
                during.families.len() - own,
                3,
                "the registry's own metrics follow the registered families"
            );
            match own {
                1 => seen.record("visit saw one"),
                2 => seen.record("visit saw both"),
                _ => {}
            }
            a.join().unwrap();
            b.join().unwrap();

            let after = scrape(registry);
            let first_two: Vec<&str> = after.families.iter().take(2).map(String::as_str).collect();
            match first_two.as_slice() {
                ["a_total", "b_total"] => seen.record("a registered first"),
                ["b_total", "a_total"] => seen.record("b registered first"),
                other => panic!("families after both registrations: {other:?}"),
            }
            assert_eq!(registry.len(), 2);
            assert_eq!(registry.total_series(), 2);
        },
    );
}

/// Two threads register the same name: exactly one succeeds; the other is told which
/// registered metric it clashes with, and its series budget is not taken.
#[test]
fn same_name_is_registered_once() {
    explore(&["first thread won", "second thread won"], |seen| {
        let registry = quiet::<2>();
        let register =
            move || registry.register(Desc::new("events_total", "Events"), leak(Counter::new()));
        let a = thread::spawn(register);
        let b = thread::spawn(register);
        let results = [a.join().unwrap(), b.join().unwrap()];

        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        let refused = results.iter().find_map(|r| r.err()).unwrap();
        assert_eq!(
            refused.reason,
            Reason::DuplicateName {
                existing: "events_total"
            }
        );
        assert_eq!(registry.len(), 1);
        assert_eq!(registry.total_series(), 1);
        seen.record(if results[0].is_ok() {
            "first thread won"
        } else {
            "second thread won"
        });
    });
}

/// A one-family registry, two registrations: one fits, the other is refused as full.
#[test]
fn capacity_is_never_exceeded() {
    explore(&["first thread won", "second thread won"], |seen| {
        let registry = quiet::<1>();
        let a = thread::spawn(move || {
            registry.register(Desc::new("a_total", "A"), leak(Counter::new()))
        });
        let b = thread::spawn(move || {
            registry.register(Desc::new("b_total", "B"), leak(Counter::new()))
        });
        let results = [a.join().unwrap(), b.join().unwrap()];

        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        let refused = results.iter().find_map(|r| r.err()).unwrap();
        assert_eq!(refused.reason, Reason::RegistryFull { capacity: 1 });
        assert_eq!(registry.len(), 1);
        seen.record(if results[0].is_ok() {
            "first thread won"
        } else {
            "second thread won"
        });
    });
}

/// One dynamic family registered in two registries at once: the family connects to one
/// registry's limits only; the other registration is refused and takes nothing.
#[test]
fn a_dynamic_family_attaches_to_one_registry() {
    explore(&["first registry won", "second registry won"], |seen| {
        let family = leak(DynamicFamily::<Counter, 1, 2, 16>::new(["key"]));
        let first = quiet::<1>();
        let second = quiet::<1>();
        let a = thread::spawn(move || first.register(Desc::new("keyed_total", "K"), family));
        let b = thread::spawn(move || second.register(Desc::new("keyed_total", "K"), family));
        let results = [a.join().unwrap(), b.join().unwrap()];

        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        let refused = results.iter().find_map(|r| r.err()).unwrap();
        assert_eq!(refused.reason, Reason::AlreadyRegistered);
        assert_eq!(first.len() + second.len(), 1);
        seen.record(if results[0].is_ok() {
            "first registry won"
        } else {
            "second registry won"
        });
    });
}
