//! Loom models of the summary: observe against a concurrent read (snapshot), concurrent
//! extremes, and the sliding window's rotation against observers and readers.
//!
//! Run: `RUSTFLAGS="--cfg corral_loom" cargo test -p corral-loom-tests --release --test summary`
//! (`.ci/loom.sh` runs every model file).
#![cfg(corral_loom)]

use core::sync::atomic::{AtomicU64, Ordering};

use corral_core::{Clock, Summary, SummaryConfig};
use corral_loom_tests::model;
use loom::sync::Arc;
use loom::thread;

/// Two buckets from 1.0: `(1/b, 1]` and `(1, b]`; enough to tell values apart.
type Small = Summary<2>;
/// Two buckets and two snapshot slots.
type Windowed = Summary<2, 2>;

/// A clock the model's main thread sets between phases, never while other threads run; the
/// models pass the same times to `observe_at` and reads. (A plain atomic, outside the model:
/// the clock is not what is being checked.)
struct PhaseClock(AtomicU64);

impl PhaseClock {
    fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for PhaseClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl PhaseClock {
    const fn new() -> Self {
        Self(AtomicU64::new(0))
    }
}

fn small() -> Small {
    Summary::new(SummaryConfig::new(1.0).with_quantiles(&[0.5, 1.0]))
}

/// `max_age` 4 ticks, a snapshot every 4 ticks, on `clock`. Each model has a clock of its
/// own: test threads run models in parallel, and a model must see the same clock every
/// time loom replays it.
fn windowed(clock: &'static PhaseClock) -> Windowed {
    Summary::new(
        SummaryConfig::new(1.0)
            .with_quantiles(&[0.5, 1.0])
            .with_window(4, clock),
    )
}

fn window_count(summary: &Windowed, now: u64) -> u64 {
    summary.read_sketch_at(now, |s| s.ranked())
}

/// Two observers and a reader: every read's count is the total of the buckets it ranked
/// (one copy), never more than what was observed, and its quantiles come from that copy; once
/// the observers are done, nothing is missing.
#[test]
fn observe_against_snapshot() {
    model(|| {
        let summary = Arc::new(small());
        let observers: Vec<_> = [1.0, 1.005]
            .into_iter()
            .map(|value| {
                let summary = summary.clone();
                thread::spawn(move || summary.observe(value))
            })
            .collect();

        summary.read_sketch(|s| {
            assert_eq!(
                s.ranked(),
                s.count(),
                "no window: ranked and count are one copy"
            );
            assert!(s.count() <= 2);
            let top = s.quantile(1.0);
            match s.count() {
                0 => assert!(top.is_nan()),
                _ => assert!(top == 1.0 || top == 1.005, "{top}"),
            }
        });

        for observer in observers {
            observer.join().unwrap();
        }
        assert_eq!(summary.count(), 2);
        assert_eq!(summary.sum(), 1.0 + 1.005);
        summary.read_sketch(|s| assert_eq!(s.counts(), [1, 1]));
    });
}

/// Two new extremes at once: the minimum and maximum end exact.
#[test]
fn concurrent_extremes() {
    model(|| {
        let summary = Arc::new(small());
        summary.observe(1.0);
        let low = {
            let summary = summary.clone();
            thread::spawn(move || summary.observe(0.5))
        };
        let high = {
            let summary = summary.clone();
            thread::spawn(move || summary.observe(3.0))
        };
        summary.observe(0.25);
        low.join().unwrap();
        high.join().unwrap();
        assert_eq!(summary.min(), Some(0.25));
        assert_eq!(summary.max(), Some(3.0));
        assert_eq!(summary.count(), 4);
    });
}

/// Two observers at tick 10 both find the first snapshot due: one takes it, the other
/// records while the copy may be running. Neither observation may end up subtracted from
/// the window at tick 10, whichever got into the copy.
#[test]
fn racing_observers_are_never_subtracted() {
    static CLOCK: PhaseClock = PhaseClock::new();
    model(|| {
        let summary = Arc::new(windowed(&CLOCK));
        CLOCK.set(10);
        let observers: Vec<_> = (0..2)
            .map(|_| {
                let summary = summary.clone();
                thread::spawn(move || summary.observe_at(1.0, 10))
            })
            .collect();
        for observer in observers {
            observer.join().unwrap();
        }
        assert_eq!(summary.count(), 2);
        // Both were made at tick 10, inside the window [6, 10].
        assert_eq!(window_count(&summary, 10), 2);
    });
}

/// A rotation copying into a snapshot slot while a reader reads the window and an observer
/// records: the reader never sees a torn copy (which could subtract a counted observation,
/// or underflow), and no observation inside a window is ever missing from it.
#[test]
fn reader_during_rotation() {
    static CLOCK: PhaseClock = PhaseClock::new();
    model(|| {
        let summary = Arc::new(windowed(&CLOCK));
        // Tick 3: the first snapshot (due at 0) goes to slot 0, labelled 0, empty; the next
        // is due at 3 + 4 = 7.
        CLOCK.set(3);
        summary.observe_at(1.0, 3);
        // Tick 8: the snapshot due at 7 goes to slot 1, taken by the observer or the reader,
        // while the other runs.
        CLOCK.set(8);
        let observer = {
            let summary = summary.clone();
            thread::spawn(move || summary.observe_at(1.005, 8))
        };
        // Window [4, 8]: baseline slot 0 (or nothing), so the observation at 3 is counted
        // (over-included, within a step), the one at 8 if it is done.
        let seen = window_count(&summary, 8);
        assert!((1..=2).contains(&seen), "{seen}");
        observer.join().unwrap();
        assert_eq!(window_count(&summary, 8), 2);

        // Tick 12: window [8, 12] must hold the observation at 8. Slot 1 is its baseline if
        // its label (7, or 9 if the observer raced the copy) is at most 8; it then holds
        // the observation at 3 and not the one at 8.
        CLOCK.set(12);
        let seen = window_count(&summary, 12);
        assert!((1..=2).contains(&seen), "{seen}");
        assert_eq!(summary.count(), 2);
    });
}

/// A reader whose `now` lags (it read the clock a while ago) wants the oldest snapshot, the
/// very one a rotation is overwriting. It must notice the overwrite (the slot's sequence
/// number changed) rather than subtract a newer copy, which would drop observations that
/// are inside its window.
#[test]
fn lagging_reader_meets_an_overwrite() {
    static CLOCK: PhaseClock = PhaseClock::new();
    model(|| {
        let summary = Arc::new(windowed(&CLOCK));
        // Tick 1: slot 0 labelled 0 (empty). Tick 5: slot 1 labelled 5 (holds the 1).
        CLOCK.set(1);
        summary.observe_at(1.0, 1);
        CLOCK.set(5);
        summary.observe_at(1.0, 5);
        // Tick 9: the next rotation overwrites slot 0, the oldest.
        CLOCK.set(9);
        let observer = {
            let summary = summary.clone();
            thread::spawn(move || summary.observe_at(1.005, 9))
        };
        // Window at tick 5 is [1, 5]: both earlier observations belong to it, whatever the
        // rotation is doing to slot 0 meanwhile.
        let seen = window_count(&summary, 5);
        assert!((2..=3).contains(&seen), "{seen}");
        observer.join().unwrap();
        assert_eq!(summary.count(), 3);
    });
}
