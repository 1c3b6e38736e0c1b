//! Per-stage cycle budget of the worker loop (off unless asked for: `mrouter -- --stage-cycles`).
//!
//! When on, the worker reads the TSC between the stages of every non-empty burst and adds each
//! stage's cycles to a local array, published when the worker stops. When off, each stage
//! boundary costs one predictable branch per burst (not per packet): the bench's fan-out runs
//! compare the two. Reading the TSC itself costs cycles (about 20-40 per read on this VM, eight
//! reads per burst), which the report states beside the budget.

use std::sync::atomic::{AtomicU64, Ordering};

/// The stages of one burst, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Stage {
    /// `rte_eth_rx_burst` (the PMD's receive, mbuf allocation included).
    Rx = 0,
    /// Header checks and the flow of every packet (fast path, full classifier for the rest).
    Classify,
    /// Hash, slot and bucket prefetches, the (S,G)/(*,G) lookup, incoming-interface check.
    Lookup,
    /// Per-entry packet and byte counters.
    Counters,
    /// Header rewrite, copies, per-OIF counters, queueing on the tx buffers; misses, punts and
    /// drops of the burst.
    Replicate,
    /// `rte_eth_tx_burst` of every port's buffer (the PMD's transmit; a null sink frees there).
    Tx,
    /// What the loop does once per turn: the TSC read, held packets, the leftover copy mbufs,
    /// the quiescent state, publishing counters, empty polls.
    Turn,
}

impl Stage {
    /// Number of stages.
    pub const COUNT: usize = 7;
    /// Every stage, in order.
    pub const ALL: [Stage; Self::COUNT] = [
        Stage::Rx,
        Stage::Classify,
        Stage::Lookup,
        Stage::Counters,
        Stage::Replicate,
        Stage::Tx,
        Stage::Turn,
    ];

    /// The name shown in statistics.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Rx => "rx",
            Stage::Classify => "classify",
            Stage::Lookup => "lookup",
            Stage::Counters => "counters",
            Stage::Replicate => "replicate",
            Stage::Tx => "tx",
            Stage::Turn => "turn",
        }
    }
}

/// Reads the TSC inline (the EAL's `rte_get_tsc_cycles` is a call through a C wrapper).
#[inline(always)]
pub fn rdtsc() -> u64 {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: RDTSC reads a counter; it touches no memory.
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    crate::dpdk::tsc()
}

/// A worker's stage clock: cycles per stage since start, and packets received.
#[derive(Debug, Clone, Default)]
pub struct StageClock {
    on: bool,
    last: u64,
    cycles: [u64; Stage::COUNT],
}

impl StageClock {
    /// A clock that measures (`on`) or does nothing.
    pub fn new(on: bool) -> StageClock {
        StageClock {
            on,
            last: if on { rdtsc() } else { 0 },
            cycles: [0; Stage::COUNT],
        }
    }

    /// Charges the cycles since the last mark to `stage`.
    #[inline(always)]
    pub fn mark(&mut self, stage: Stage) {
        if self.on {
            let now = rdtsc();
            self.cycles[stage as usize] += now.wrapping_sub(self.last);
            self.last = now;
        }
    }

    /// Cycles charged to each stage so far.
    pub fn cycles(&self) -> [u64; Stage::COUNT] {
        self.cycles
    }

    /// Whether this clock measures.
    pub fn is_on(&self) -> bool {
        self.on
    }
}

/// Where a worker publishes its stage cycles when it stops (read after the workers joined).
#[derive(Debug, Default)]
pub struct PublishedStages {
    cycles: [AtomicU64; Stage::COUNT],
}

impl PublishedStages {
    /// Stores `clock`'s totals (relaxed: read after the worker's thread was joined).
    pub fn publish(&self, clock: &StageClock) {
        for (slot, v) in self.cycles.iter().zip(clock.cycles()) {
            slot.store(v, Ordering::Relaxed);
        }
    }

    /// The totals stored so far.
    pub fn read(&self) -> [u64; Stage::COUNT] {
        std::array::from_fn(|i| self.cycles[i].load(Ordering::Relaxed))
    }
}
