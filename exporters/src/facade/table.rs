//! An insert-only, open-addressed table read without a lock: the recorder's caches of keys
//! and names.
//!
//! Slots are [`OnceLock`]s in a power-of-two array, filled at most once and never emptied
//! or moved. A reader probes linearly from the hash's home slot until it finds its entry or
//! an empty slot; each step is one acquire load. Writers take a mutex, so two inserts never
//! race for a slot, and they stop at half the slots, so every probe ends at an empty slot.
//! A reader that misses while an insert is in flight simply takes the slow path, which
//! checks again under the mutex.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

pub(crate) struct Table<T> {
    slots: Box<[OnceLock<Box<T>>]>,
    mask: usize,
    /// Entries held (written under `writer`, read without it).
    len: AtomicUsize,
    /// The most entries the table takes: half its slots.
    max: usize,
    writer: Mutex<()>,
}

/// Why an entry was not inserted.
pub(crate) enum Rejected<T> {
    /// The table holds its maximum already; the value is handed back.
    Full(T),
}

impl<T> Table<T> {
    /// A table for at least `entries` entries (twice as many slots, a power of two).
    pub(crate) fn new(entries: usize) -> Self {
        let slots = entries.max(1).saturating_mul(2).next_power_of_two();
        Self {
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
            mask: slots - 1,
            len: AtomicUsize::new(0),
            max: slots / 2,
            writer: Mutex::new(()),
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the table takes no more entries.
    pub(crate) fn is_full(&self) -> bool {
        self.len() >= self.max
    }

    /// The entry with `hash` that `eq` accepts, without a lock.
    #[inline]
    pub(crate) fn find(&self, hash: u64, mut eq: impl FnMut(&T) -> bool) -> Option<&T> {
        let mut index = hash as usize & self.mask;
        // At most `max` slots are full, so an empty slot ends the probe; the bound only
        // guards against a table that is somehow all full.
        for _ in 0..=self.mask {
            let entry = self.slots[index].get()?;
            if eq(entry) {
                return Some(entry);
            }
            index = (index + 1) & self.mask;
        }
        None
    }

    /// Inserts `value` unless an entry `eq` accepts exists (then that one is returned and
    /// `value` dropped). Takes the writer lock and may allocate.
    pub(crate) fn insert(
        &self,
        hash: u64,
        value: T,
        mut eq: impl FnMut(&T) -> bool,
    ) -> Result<&T, Rejected<T>> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut index = hash as usize & self.mask;
        loop {
            match self.slots[index].get() {
                Some(entry) if eq(entry) => return Ok(entry),
                Some(_) => index = (index + 1) & self.mask,
                None => break,
            }
        }
        if self.len.load(Ordering::Relaxed) >= self.max {
            return Err(Rejected::Full(value));
        }
        // Only writers holding the lock fill slots, and this one was empty just now, so
        // the value goes in.
        self.len.fetch_add(1, Ordering::Relaxed);
        Ok(self.slots[index].get_or_init(|| Box::new(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted_and_stops_at_half() {
        let table: Table<(u64, u32)> = Table::new(4);
        for i in 0..4u32 {
            // Every entry in one probe chain.
            assert!(table.insert(7, (7, i), |e| e.1 == i).is_ok());
        }
        for i in 0..4u32 {
            assert_eq!(table.find(7, |e| e.1 == i).map(|e| e.1), Some(i));
        }
        assert!(table.find(7, |e| e.1 == 9).is_none());
        assert!(matches!(
            table.insert(3, (3, 9), |e| e.1 == 9),
            Err(Rejected::Full((3, 9)))
        ));
        // An existing entry is found even when full.
        assert!(table.insert(7, (7, 2), |e| e.1 == 2).is_ok());
        assert_eq!(table.len(), 4);
    }
}
