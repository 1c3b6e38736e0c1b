//! Miss-to-install latency: from the worker's loop turn that received a flow's first packet
//! (the time in its miss signal) to the publication of the flow's new entry, which the
//! worker's next turn uses (and releases the held packets with). Shown by `show stats` as
//! `miss_to_install_us_*` since start: the control core's own part of a new flow's delay
//! (signal ring, wake-up, MGM, publish), without the links and the receivers. Both ends are
//! stamped by the data plane on the daemon's clock.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The latency histogram and the misses waiting for their entry.
pub struct MissLatency {
    histogram: hdrhistogram::Histogram<u64>,
    /// Misses handed to the MGM and not yet published: (S,G) -> arrival.
    waiting: HashMap<(Ipv4Addr, Ipv4Addr), Duration>,
}

impl Default for MissLatency {
    fn default() -> Self {
        MissLatency {
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("valid histogram bounds"),
            waiting: HashMap::new(),
        }
    }
}

impl MissLatency {
    /// A miss of (source, group) that arrived at `at` went to the MGM.
    pub fn arrived(&mut self, source: Ipv4Addr, group: Ipv4Addr, at: Duration) {
        self.waiting.insert((source, group), at);
    }

    /// Records the misses among `installed` (published at `at`); forgets the others waiting
    /// (a miss whose entry was not installed at once is not a latency sample).
    pub fn published(&mut self, installed: &[(Ipv4Addr, Ipv4Addr)], at: Duration) {
        if self.waiting.is_empty() {
            return;
        }
        for key in installed {
            if let Some(arrived) = self.waiting.remove(key) {
                let us = at.saturating_sub(arrived).as_micros() as u64;
                self.histogram.saturating_record(us.max(1));
            }
        }
        self.waiting.clear();
    }

    /// (count, p50, p99, max) in microseconds.
    pub fn summary(&self) -> (u64, u64, u64, u64) {
        let h = &self.histogram;
        (
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max(),
        )
    }
}
