//! Per-entry counters: each worker counts packets, bytes and copies sent per outgoing port per
//! forwarding entry in an array of its own, indexed by the index the control core gave the entry
//! ([`crate::fib::Route::counter`]). Only that worker writes its array (relaxed load + store: no
//! read-modify-write, no shared cache line between workers); the control core reads every
//! worker's array and sums.
//!
//! A index's counters are one block: `[packets, bytes, out[port 0], out[port 1], ...]`, its length
//! rounded up to whole cache lines, so with up to six ports counting a packet and all its copies
//! touches one cache line (the one the batched lookup prefetched). Out counts are kept by port,
//! not by position in the OIF list, so they survive the list changing under a running flow.

use std::sync::atomic::{AtomicU64, Ordering};

/// Entries that can be counted; counter indices from this on are [`crate::fib::NO_COUNTER`].
pub const COUNTED_ENTRIES: usize = 1 << 20;

/// Counters per cache line.
const PER_LINE: usize = 64 / std::mem::size_of::<AtomicU64>();

/// One worker's counters for every index.
pub struct EntryCounters {
    /// `indices` blocks of `stride` counters, and one more where an index out of range
    /// counts (a block nobody reads), so that finding a block is a clamp, never a branch.
    blocks: crate::bigmem::ZeroedSlice<AtomicU64>,
    indices: usize,
    /// Counters per index: 2 + `ports`, rounded up to whole cache lines.
    stride: usize,
    ports: usize,
    /// Packets of the entry that arrived on another interface than its incoming one (rare,
    /// so apart: the forwarding path never touches these lines).
    wrong_if: crate::bigmem::ZeroedSlice<AtomicU64>,
}

#[inline]
fn bump(c: &AtomicU64, by: u64) {
    c.store(c.load(Ordering::Relaxed) + by, Ordering::Relaxed);
}

impl EntryCounters {
    /// Counters for `indices` entries of a router with `ports` ports. The array is mapped
    /// untouched: memory is used only for indices that count something.
    pub fn new(indices: usize, ports: usize) -> Self {
        let stride = (2 + ports).div_ceil(PER_LINE) * PER_LINE;
        EntryCounters {
            blocks: crate::bigmem::ZeroedSlice::new((indices + 1) * stride),
            indices,
            stride,
            ports,
            wrong_if: crate::bigmem::ZeroedSlice::new(indices),
        }
    }

    /// `index`'s block (its packets, bytes and `ports` copy counts), `None` when out of range.
    /// One compare: the array holds `indices` blocks of `stride` counters (and the sink's
    /// after them), each at least `2 + ports`, so an index below `indices` has its whole block
    /// in the array.
    #[inline]
    fn block(&self, index: u32) -> Option<&[AtomicU64]> {
        let index = index as usize;
        if index >= self.indices {
            return None;
        }
        let start = index * self.stride;
        debug_assert!(start + 2 + self.ports <= self.blocks.len());
        // SAFETY: index < indices, so start + stride <= indices * stride < blocks.len(), and
        // 2 + ports <= stride (`new`).
        Some(unsafe { self.blocks.get_unchecked(start..start + 2 + self.ports) })
    }

    /// `index`'s counters, found once for a packet and all its copies (when `index` is out of
    /// range, counting through the handle goes to a block nobody reads). Only the owning
    /// worker counts.
    #[inline]
    pub fn entry(&self, index: u32) -> EntryCounts<'_> {
        // Out of range: the sink, the block after the last index's.
        let index = (index as usize).min(self.indices);
        let start = index * self.stride;
        debug_assert!(start + 2 + self.ports <= self.blocks.len());
        // SAFETY: index <= indices and the array holds indices + 1 blocks, so the block's
        // 2 + ports counters from `start` are inside it (packets and bytes, then the ports'),
        // and they stay borrowed from `self`.
        unsafe {
            let p = self.blocks.as_ptr().add(start);
            EntryCounts {
                head: &*p.cast::<[AtomicU64; 2]>(),
                out: std::slice::from_raw_parts(p.add(2), self.ports),
            }
        }
    }

    /// Starts loading `index`'s first counter line (a batched lookup's last step; an index
    /// out of range only wastes the hint: a prefetch never faults).
    #[inline]
    pub fn prefetch(&self, index: u32) {
        let at = (index as usize).wrapping_mul(self.stride);
        crate::dpdk::prefetch(self.blocks.as_ptr().wrapping_add(at));
    }

    /// Counts one packet of `len` bytes on `index` (ignored when out of range).
    #[inline]
    pub fn count(&self, index: u32, len: u32) {
        self.entry(index).count(len);
    }

    /// Counts one copy of `index`'s entry handed to `port`'s tx queue (ignored when either is
    /// out of range).
    #[inline]
    pub fn count_out(&self, index: u32, port: u16) {
        self.entry(index).count_out(port);
    }

    /// Counts one packet of `index`'s entry that arrived on the wrong interface (ignored when
    /// out of range). Only the owning worker writes.
    #[inline]
    pub fn count_wrong_if(&self, index: u32) {
        if let Some(w) = self.wrong_if.get(index as usize) {
            bump(w, 1);
        }
    }

    /// Wrong-interface packets counted on `index` so far.
    pub fn read_wrong_if(&self, index: u32) -> u64 {
        self.wrong_if
            .get(index as usize)
            .map_or(0, |w| w.load(Ordering::Relaxed))
    }

    /// (packets, bytes) counted on `index` so far; a relaxed read may be a turn stale.
    pub fn read(&self, index: u32) -> (u64, u64) {
        match self.block(index) {
            Some(b) => (b[0].load(Ordering::Relaxed), b[1].load(Ordering::Relaxed)),
            None => (0, 0),
        }
    }

    /// Copies of `index`'s entry counted on `port` so far.
    pub fn read_out(&self, index: u32, port: u16) -> u64 {
        self.block(index)
            .and_then(|b| b.get(2 + usize::from(port)))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// One entry's counters in one worker's array ([`EntryCounters::entry`]): its packets and
/// bytes, and its copies by port (a block nobody reads for an index out of range).
#[derive(Clone, Copy)]
pub struct EntryCounts<'a> {
    head: &'a [AtomicU64; 2],
    out: &'a [AtomicU64],
}

impl EntryCounts<'_> {
    /// Counts one packet of `len` bytes. Called only by the owning worker, so load + store
    /// cannot lose an increment.
    #[inline]
    pub fn count(self, len: u32) {
        self.count_many(1, u64::from(len));
    }

    /// Counts `packets` packets of `bytes` bytes in all. Called only by the owning worker.
    #[inline]
    pub fn count_many(self, packets: u64, bytes: u64) {
        let [p, b] = self.head;
        bump(p, packets);
        bump(b, bytes);
    }

    /// Counts one copy handed to `port`'s tx queue (ignored for a port out of range).
    #[inline]
    pub fn count_out(self, port: u16) {
        if let Some(c) = self.out.get(usize::from(port)) {
            bump(c, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_index_and_ignores_out_of_range() {
        let c = EntryCounters::new(4, 3);
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

    #[test]
    fn counts_copies_per_index_and_port() {
        let c = EntryCounters::new(4, 3);
        c.count_out(1, 0);
        c.count_out(1, 2);
        c.count_out(1, 2);
        c.count_out(2, 2);
        c.count_out(1, 3); // no such port
        c.count_out(4, 0); // no such index
        assert_eq!(
            [0, 1, 2, 3].map(|p| c.read_out(1, p)),
            [1, 0, 2, 0],
            "index 1 by port"
        );
        assert_eq!(c.read_out(2, 2), 1);
        assert_eq!(c.read_out(0, 0), 0, "a neighbour index untouched");
        assert_eq!(c.read(1), (0, 0), "copies are not received packets");
        assert_eq!(c.read(2), (0, 0));
    }

    #[test]
    fn an_index_is_whole_cache_lines() {
        assert_eq!(EntryCounters::new(1, 1).stride, 8);
        assert_eq!(EntryCounters::new(1, 6).stride, 8);
        assert_eq!(EntryCounters::new(1, 7).stride, 16);
        assert_eq!(EntryCounters::new(1, 64).stride, 72);
    }

    #[test]
    fn the_control_core_reads_while_a_worker_counts() {
        // One worker thread counts; the reader sees every counter only grow, and the exact
        // totals once the worker is done. (Run under ThreadSanitizer and Miri by their scripts.)
        let n: u64 = if cfg!(miri) { 200 } else { 200_000 };
        let c = std::sync::Arc::new(EntryCounters::new(8, 3));
        let worker = {
            let c = std::sync::Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..n {
                    let index = (i % 8) as u32;
                    c.count(index, 64);
                    c.count_out(index, (i % 3) as u16);
                }
            })
        };
        let mut last = (0, 0, 0);
        while !worker.is_finished() {
            let (p, b) = c.read(5);
            let o = c.read_out(5, 2);
            assert!(p >= last.0 && b >= last.1 && o >= last.2, "went back");
            last = (p, b, o);
        }
        worker.join().unwrap();
        let per_index = n / 8;
        assert_eq!(c.read(5), (per_index, per_index * 64));
        let outs: u64 = (0..8)
            .flat_map(|s| (0..3).map(move |p| (s, p)))
            .map(|(s, p)| c.read_out(s, p))
            .sum();
        assert_eq!(outs, n);
    }
}
