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
    /// Header checks and the flow of every packet (fast path, full classifier for the rest),
    /// with each flow's hash and the prefetch of its table slot.
    Classify,
    /// Bucket loads and prefetches, the (S,G)/(*,G) lookup, incoming-interface check, counter
    /// prefetch, the burst's copy mbufs.
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

/// A loop turn longer than this many cycles (about 400 us at 2.5 GHz) was interrupted: the
/// thread was preempted or the VM descheduled. Its cycles are left out of the budget, which is
/// meant to show where the worker's own time goes, not how busy the machine was.
pub const INTERRUPTED_TURN: u64 = 1_000_000;

/// A worker's stage clock: cycles per stage over the turns that were not interrupted, and the
/// packets received in those turns.
#[derive(Debug, Clone, Default)]
pub struct StageClock {
    on: bool,
    last: u64,
    turn: [u64; Stage::COUNT],
    turn_packets: u64,
    cycles: [u64; Stage::COUNT],
    packets: u64,
    interrupted: u64,
}

impl StageClock {
    /// A clock that measures (`on`) or does nothing.
    pub fn new(on: bool) -> StageClock {
        StageClock {
            on,
            last: if on { crate::dpdk::tsc() } else { 0 },
            ..StageClock::default()
        }
    }

    /// Charges the cycles since the last mark to `stage`.
    #[inline(always)]
    pub fn mark(&mut self, stage: Stage) {
        if self.on {
            let now = crate::dpdk::tsc();
            self.turn[stage as usize] += now.wrapping_sub(self.last);
            self.last = now;
        }
    }

    /// Counts `n` packets received in this turn.
    #[inline(always)]
    pub fn received(&mut self, n: usize) {
        if self.on {
            self.turn_packets += n as u64;
        }
    }

    /// Ends a loop turn: its cycles join the totals unless the turn was interrupted.
    #[inline(always)]
    pub fn end_turn(&mut self) {
        if self.on {
            self.mark(Stage::Turn);
            let total: u64 = self.turn.iter().sum();
            if total < INTERRUPTED_TURN {
                for (sum, t) in self.cycles.iter_mut().zip(self.turn) {
                    *sum += t;
                }
                self.packets += self.turn_packets;
            } else {
                self.interrupted += 1;
            }
            self.turn = [0; Stage::COUNT];
            self.turn_packets = 0;
        }
    }

    /// Cycles charged to each stage so far (uninterrupted turns only).
    pub fn cycles(&self) -> [u64; Stage::COUNT] {
        self.cycles
    }

    /// Packets received in the uninterrupted turns.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Turns left out because they were interrupted.
    pub fn interrupted(&self) -> u64 {
        self.interrupted
    }
}

/// Where a worker publishes its stage cycles when it stops (read after the workers joined).
#[derive(Debug, Default)]
pub struct PublishedStages {
    cycles: [AtomicU64; Stage::COUNT],
    packets: AtomicU64,
    interrupted: AtomicU64,
}

/// A worker's stage budget as published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageBudget {
    /// Cycles per stage over the uninterrupted turns.
    pub cycles: [u64; Stage::COUNT],
    /// Packets received in those turns.
    pub packets: u64,
    /// Turns left out as interrupted (see [`INTERRUPTED_TURN`]).
    pub interrupted: u64,
}

impl PublishedStages {
    /// Stores `clock`'s totals (relaxed: read after the worker's thread was joined).
    pub fn publish(&self, clock: &StageClock) {
        for (slot, v) in self.cycles.iter().zip(clock.cycles()) {
            slot.store(v, Ordering::Relaxed);
        }
        self.packets.store(clock.packets(), Ordering::Relaxed);
        self.interrupted
            .store(clock.interrupted(), Ordering::Relaxed);
    }

    /// The totals stored so far.
    pub fn read(&self) -> StageBudget {
        StageBudget {
            cycles: std::array::from_fn(|i| self.cycles[i].load(Ordering::Relaxed)),
            packets: self.packets.load(Ordering::Relaxed),
            interrupted: self.interrupted.load(Ordering::Relaxed),
        }
    }
}
