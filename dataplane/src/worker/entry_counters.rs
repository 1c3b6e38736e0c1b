//! Per-entry counters: each worker counts packets and bytes per forwarding entry in an array of
//! its own, indexed by the slot the control core gave the entry ([`crate::fib::Route::counter`]).
//! Only that worker writes its array (relaxed load + store: no read-modify-write, no shared
//! cache line between workers); the control core reads every worker's array and sums.

use std::sync::atomic::{AtomicU64, Ordering};

/// Entries that can be counted; slots beyond this are [`crate::fib::NO_COUNTER`].
pub const SLOTS: usize = 1 << 20;

/// One worker's counters for every slot: [packets, bytes] side by side, so counting a packet
/// touches one cache line.
pub struct EntryCounters {
    slots: crate::bigmem::ZeroedSlice<[AtomicU64; 2]>,
    /// Packets of the entry that arrived on another interface than its incoming one (rare,
    /// so apart: the forwarding path never touches these lines).
    wrong_if: crate::bigmem::ZeroedSlice<AtomicU64>,
}

impl Default for EntryCounters {
    fn default() -> Self {
        Self::with_slots(SLOTS)
    }
}

impl EntryCounters {
    /// Counters for `slots` entries.
    pub fn with_slots(slots: usize) -> Self {
        EntryCounters {
            slots: crate::bigmem::ZeroedSlice::new(slots),
            wrong_if: crate::bigmem::ZeroedSlice::new(slots),
        }
    }

    /// Counts one packet of `len` bytes on `slot` (ignored when out of range). Called only by
    /// the owning worker, so load + store cannot lose an increment.
    #[inline]
    pub fn count(&self, slot: u32, len: u32) {
        if let Some([p, b]) = self.slots.get(slot as usize) {
            p.store(p.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            b.store(
                b.load(Ordering::Relaxed) + u64::from(len),
                Ordering::Relaxed,
            );
        }
    }

    /// Counts one packet of `slot`'s entry that arrived on the wrong interface (ignored when
    /// out of range). Only the owning worker writes.
    #[inline]
    pub fn count_wrong_if(&self, slot: u32) {
        if let Some(w) = self.wrong_if.get(slot as usize) {
            w.store(w.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }

    /// Wrong-interface packets counted on `slot` so far.
    pub fn read_wrong_if(&self, slot: u32) -> u64 {
        self.wrong_if
            .get(slot as usize)
            .map_or(0, |w| w.load(Ordering::Relaxed))
    }

    /// Starts loading `slot`'s cache line (a batched lookup's last step before counting).
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        if let Some(s) = self.slots.get(slot as usize) {
            crate::dpdk::prefetch(s);
        }
    }

    /// (packets, bytes) counted on `slot` so far; a relaxed read may be a turn stale.
    pub fn read(&self, slot: u32) -> (u64, u64) {
        match self.slots.get(slot as usize) {
            Some([p, b]) => (p.load(Ordering::Relaxed), b.load(Ordering::Relaxed)),
            None => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_slot_and_ignores_out_of_range() {
        let c = EntryCounters::with_slots(4);
        c.count(1, 100);
        c.count(1, 60);
        c.count(3, 1);
        c.count(4, 1000);
        c.count(u32::MAX, 1000);
        assert_eq!(c.read(1), (2, 160));
        assert_eq!(c.read(3), (1, 1));
        assert_eq!(c.read(0), (0, 0));
        assert_eq!(c.read(4), (0, 0));
        c.count_wrong_if(2);
        c.count_wrong_if(2);
        c.count_wrong_if(9);
        assert_eq!(
            (c.read_wrong_if(2), c.read_wrong_if(1), c.read_wrong_if(9)),
            (2, 0, 0)
        );
        assert_eq!(c.read(2), (0, 0), "apart from the forwarding counts");
    }
}
