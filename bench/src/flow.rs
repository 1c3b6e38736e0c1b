//! Per-stream receive accounting for the generator: packets, unique packets, duplicates,
//! reordering and latency, per receive port. Pure bookkeeping, unit-tested without DPDK.

use hdrhistogram::Histogram;

/// Streams with their own latency histogram; above this only the overall one is kept
/// (a histogram is tens of KiB).
pub const MAX_STREAM_HISTOGRAMS: usize = 1024;

/// What one receive port saw of one stream.
#[derive(Debug, Clone, Default)]
pub struct PortStream {
    /// Packets received (duplicates included).
    pub received: u64,
    /// Distinct sequence numbers received.
    pub unique: u64,
    /// Packets whose sequence number had been received before.
    pub duplicates: u64,
    /// Packets that arrived after a higher sequence number of the same stream.
    pub reordered: u64,
    max_seq: Option<u32>,
    seen: Vec<u64>,
}

impl PortStream {
    /// Records sequence number `seq`.
    pub fn record(&mut self, seq: u32) {
        self.received += 1;
        let (w, b) = ((seq / 64) as usize, seq % 64);
        if self.seen.len() <= w {
            self.seen.resize(w + 1, 0);
        }
        if self.seen[w] & (1 << b) != 0 {
            self.duplicates += 1;
            return;
        }
        self.seen[w] |= 1 << b;
        self.unique += 1;
        match self.max_seq {
            Some(m) if seq < m => self.reordered += 1,
            _ => self.max_seq = Some(seq),
        }
    }

    /// Distinct sequence numbers received in `lo..hi`.
    pub fn unique_in(&self, lo: u32, hi: u32) -> u64 {
        (lo..hi)
            .filter(|&q| {
                self.seen
                    .get((q / 64) as usize)
                    .is_some_and(|w| w & (1 << (q % 64)) != 0)
            })
            .count() as u64
    }

    /// Packets sent (`sent` of this stream) that never arrived here.
    pub fn lost(&self, sent: u64) -> u64 {
        sent.saturating_sub(self.unique)
    }
}

/// Everything received: per port, per stream, plus latency.
#[derive(Debug)]
pub struct Receive {
    /// `ports[p][stream]`.
    pub ports: Vec<Vec<PortStream>>,
    /// Latency in nanoseconds over every packet.
    pub latency: Histogram<u64>,
    /// Per stream latency (empty above [`MAX_STREAM_HISTOGRAMS`] streams).
    pub stream_latency: Vec<Histogram<u64>>,
    /// Frames that were not ours (no stamp) or carried a sequence number never sent.
    pub foreign: u64,
}

fn histogram() -> Histogram<u64> {
    // 1 ns to 100 s at 3 significant digits; values above saturate.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

impl Receive {
    /// Accounting for `ports` receive ports and `streams` streams.
    pub fn new(ports: usize, streams: usize) -> Receive {
        Receive {
            ports: vec![vec![PortStream::default(); streams]; ports],
            latency: histogram(),
            stream_latency: if streams <= MAX_STREAM_HISTOGRAMS {
                (0..streams).map(|_| histogram()).collect()
            } else {
                Vec::new()
            },
            foreign: 0,
        }
    }

    /// Records a packet of `stream`/`seq` on receive port `port` with latency `ns`; `sent` is how
    /// many packets of the stream have been sent so far (a larger seq is not ours).
    pub fn record(&mut self, port: usize, stream: usize, seq: u32, sent: u64, ns: u64) {
        let Some(ps) = self.ports.get_mut(port).and_then(|p| p.get_mut(stream)) else {
            self.foreign += 1;
            return;
        };
        if u64::from(seq) >= sent {
            self.foreign += 1;
            return;
        }
        ps.record(seq);
        self.latency.saturating_record(ns.max(1));
        if let Some(h) = self.stream_latency.get_mut(stream) {
            h.saturating_record(ns.max(1));
        }
    }
}

/// New sources (one packet each, stamped [`crate::stamp::NEW_FLOW`] with the source's index as
/// sequence number): which ones arrived, and the latency of each one's first arrival on any
/// receive port (miss to first forwarded).
#[derive(Debug)]
pub struct NewFlows {
    /// Distinct new sources seen.
    pub arrived: u64,
    /// Arrivals after a source's first (other receive ports, duplicates).
    pub later: u64,
    /// First-arrival latency in nanoseconds.
    pub first_latency: Histogram<u64>,
    seen: Vec<u64>,
}

impl Default for NewFlows {
    fn default() -> Self {
        NewFlows {
            arrived: 0,
            later: 0,
            first_latency: histogram(),
            seen: Vec::new(),
        }
    }
}

impl NewFlows {
    /// Records an arrival of new source `index` (of `sent` sent so far) with latency `ns`;
    /// returns false for an index never sent (not ours).
    pub fn record(&mut self, index: u32, sent: u64, ns: u64) -> bool {
        if u64::from(index) >= sent {
            return false;
        }
        let (w, b) = ((index / 64) as usize, index % 64);
        if self.seen.len() <= w {
            self.seen.resize(w + 1, 0);
        }
        if self.seen[w] & (1 << b) != 0 {
            self.later += 1;
        } else {
            self.seen[w] |= 1 << b;
            self.arrived += 1;
            self.first_latency.saturating_record(ns.max(1));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_flows_first_arrival_only() {
        let mut n = NewFlows::default();
        assert!(n.record(0, 3, 100));
        assert!(n.record(0, 3, 900)); // second port
        assert!(n.record(2, 3, 300));
        assert!(!n.record(3, 3, 300));
        assert_eq!((n.arrived, n.later), (2, 1));
        assert_eq!(n.first_latency.len(), 2);
        assert_eq!(
            n.first_latency.max(),
            n.first_latency.highest_equivalent(300)
        );
    }

    use super::*;

    #[test]
    fn in_order_lossless() {
        let mut s = PortStream::default();
        for q in 0..1000 {
            s.record(q);
        }
        assert_eq!(
            (s.received, s.unique, s.duplicates, s.reordered),
            (1000, 1000, 0, 0)
        );
        assert_eq!(s.lost(1000), 0);
    }

    #[test]
    fn loss_duplicates_reordering() {
        let mut s = PortStream::default();
        for q in [0, 1, 3, 2, 2, 5, 130, 7] {
            s.record(q);
        }
        // 8 arrivals, 2 once more (duplicate); 2 after 3 and 7 after 130 are reordered.
        assert_eq!(s.received, 8);
        assert_eq!(s.unique, 7);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.reordered, 2);
        assert_eq!(s.lost(131), 131 - 7);
        assert_eq!(s.unique_in(2, 8), 4);
        assert_eq!(s.unique_in(100, 200), 1);
    }

    #[test]
    fn unknown_streams_and_future_sequence_numbers_are_foreign() {
        let mut r = Receive::new(2, 3);
        r.record(0, 1, 0, 1, 500);
        r.record(1, 1, 0, 1, 700);
        r.record(0, 9, 0, 1, 500);
        r.record(5, 0, 0, 1, 500);
        r.record(0, 2, 10, 10, 500);
        assert_eq!(r.foreign, 3);
        assert_eq!(r.latency.len(), 2);
        assert_eq!(r.stream_latency[1].len(), 2);
        assert_eq!(r.ports[1][1].unique, 1);
    }
}
