//! A thread-local stripe index for [`ShardedCounter`].
//!
//! Core's [`ShardedCounter::inc`] picks a stripe from the caller's stack address, which
//! needs nothing from the operating system but can put two threads on one stripe. Here each
//! thread gets its own index the first time it records, handed out round-robin, so up to
//! `STRIPES` threads never share a cache line.
//!
//! ```
//! use corral_std::ShardedCounterExt;
//! use corral_std::core::ShardedCounter;
//!
//! static REQUESTS: ShardedCounter<8> = ShardedCounter::new();
//! REQUESTS.inc_local();
//! std::thread::spawn(|| REQUESTS.inc_by_local(2)).join().unwrap();
//! assert_eq!(REQUESTS.get(), 3);
//! ```
//!
//! The index lives in a `const`-initialised thread-local `Cell` with no destructor: reading
//! it is one thread-local load, and nothing allocates, locks or registers a destructor.

use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};

use corral_core::ShardedCounter;

/// The next index to hand out.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Marks a thread that has no index yet (indices never reach it, see [`thread_stripe`]).
const UNASSIGNED: usize = usize::MAX;

std::thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(UNASSIGNED) };
}

/// This thread's stripe index: assigned round-robin on first use, then fixed for the
/// thread's life. Use it with [`ShardedCounter::inc_by_stripe`] (which reduces it modulo
/// the stripe count).
#[inline]
pub fn thread_stripe() -> usize {
    // `try_with` only fails while thread-locals are being torn down; a recording made from
    // a destructor then lands on stripe 0 instead of panicking.
    STRIPE
        .try_with(|stripe| {
            let index = stripe.get();
            if index != UNASSIGNED {
                return index;
            }
            let index = NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            stripe.set(index);
            index
        })
        .unwrap_or(0)
}

/// Records into a [`ShardedCounter`] on this thread's own stripe (see [`thread_stripe`]).
pub trait ShardedCounterExt {
    /// Adds one on this thread's stripe.
    fn inc_local(&self);
    /// Adds `delta` on this thread's stripe.
    fn inc_by_local(&self, delta: u64);
}

impl<const STRIPES: usize> ShardedCounterExt for ShardedCounter<STRIPES> {
    #[inline]
    fn inc_local(&self) {
        self.inc_by_local(1);
    }

    #[inline]
    fn inc_by_local(&self, delta: u64) {
        self.inc_by_stripe(thread_stripe(), delta);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    #[test]
    fn index_is_stable_per_thread_and_distinct_across_threads() {
        let mine = thread_stripe();
        assert_eq!(mine, thread_stripe());
        let threads = 4;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let first = thread_stripe();
                    barrier.wait(); // all threads alive at once: indices cannot be reused
                    assert_eq!(first, thread_stripe());
                    first
                })
            })
            .collect();
        let mut seen: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        seen.push(mine);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), threads + 1, "every thread gets its own index");
    }

    #[test]
    fn concurrent_local_increments_sum_exactly() {
        static COUNTER: ShardedCounter<4> = ShardedCounter::new();
        let handles: Vec<_> = (0..6)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..10_000 {
                        COUNTER.inc_local();
                    }
                    COUNTER.inc_by_local(5);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(COUNTER.get(), 6 * 10_005);
    }
}
