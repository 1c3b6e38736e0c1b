//! Per-worker counters, one named drop reason per way a packet can fail.
//!
//! Each worker counts in plain local integers and publishes them once per non-empty poll-loop
//! turn to its own cache-line-aligned [`WorkerStats`] with relaxed stores (no read-modify-write,
//! no shared cache line on the per-packet path). Readers sum workers; a relaxed load may be one
//! turn stale, which is all a statistics display needs.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a packet (or one copy of it) was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum DropReason {
    /// Not an IPv4 frame (ARP, IPv6, ...).
    NotIpv4 = 0,
    /// IPv4, but the destination is not a multicast address.
    NotMulticast,
    /// Truncated frame, bad IPv4 version/header length/total length, or bad header checksum.
    BadHeader,
    /// Control traffic (224.0.0.0/24, IGMP, PIM) that could not be handed to the control core:
    /// its punt ring was full. (Punted packets are counted in `Counters::punted`, not here.)
    LocalControl,
    /// No entry for the packet and it could not wait for one: held longer than the pending
    /// queue's hold time.
    NoRoute,
    /// The packet arrived on a port other than its route's incoming interface.
    WrongInterface,
    /// TTL 0 or 1: the packet may not be forwarded.
    TtlExpired,
    /// The route has no outgoing interface whose TTL threshold the packet passes (this also
    /// counts routes configured with no outgoing interface).
    NoOutgoing,
    /// A copy could not be sent: the tx queue was full.
    TxFull,
    /// A copy could not be made: the mbuf pool was empty.
    NoMbuf,
    /// A packet of a flow being resolved found the pending queue full (the flow already holds
    /// its share, or every pending place is taken): the MGM's "queue overflow".
    PendingOverflow,
    /// The packet claims to come from one of the router's own interface addresses (spoofed or
    /// looped back): never forwarded, never held, never signalled.
    OwnSource,
    /// A copy larger than its outgoing port's MTU with Don't Fragment set: not sent (per
    /// copy; no ICMP for multicast, RFC 1812 4.3.2.7). Copies without DF are fragmented.
    MtuExceeded,
    /// A copy being fragmented found the mbuf pool empty (the fragments already made were
    /// sent; the receiver drops the incomplete datagram).
    FragmentNoMbuf,
    /// A copy that could not be fragmented: the port's MTU leaves no room for 8 bytes of
    /// payload after its header, or its fragment offset runs past the largest datagram.
    FragmentRefused,
    /// An 802.1Q tag whose VLAN ID is no interface's on the port it came in on, an 802.1ad
    /// (0x88a8) tag or a second tag (QinQ): see [`super::vlan`] (also counted per port).
    UnknownVlan,
}

impl DropReason {
    /// Number of reasons.
    pub const COUNT: usize = 16;
    /// Every reason, in counter order.
    pub const ALL: [DropReason; Self::COUNT] = [
        DropReason::NotIpv4,
        DropReason::NotMulticast,
        DropReason::BadHeader,
        DropReason::LocalControl,
        DropReason::NoRoute,
        DropReason::WrongInterface,
        DropReason::TtlExpired,
        DropReason::NoOutgoing,
        DropReason::TxFull,
        DropReason::NoMbuf,
        DropReason::PendingOverflow,
        DropReason::OwnSource,
        DropReason::MtuExceeded,
        DropReason::FragmentNoMbuf,
        DropReason::FragmentRefused,
        DropReason::UnknownVlan,
    ];

    /// The name shown in statistics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::NotIpv4 => "not_ipv4",
            DropReason::NotMulticast => "not_multicast",
            DropReason::BadHeader => "bad_header",
            DropReason::LocalControl => "control_ring_full",
            DropReason::NoRoute => "no_route",
            DropReason::WrongInterface => "wrong_interface",
            DropReason::TtlExpired => "ttl_expired",
            DropReason::NoOutgoing => "no_outgoing",
            DropReason::TxFull => "tx_full",
            DropReason::NoMbuf => "no_mbuf",
            DropReason::PendingOverflow => "pending_overflow",
            DropReason::OwnSource => "own_source",
            DropReason::MtuExceeded => "mtu_exceeded",
            DropReason::FragmentNoMbuf => "fragment_no_mbuf",
            DropReason::FragmentRefused => "fragment_refused",
            DropReason::UnknownVlan => "unknown_vlan",
        }
    }
}

/// A worker's counters as plain numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets received.
    pub rx_packets: u64,
    /// Frames sent (copies, or the fragments of a copy larger than its MTU) handed to a tx
    /// queue that accepted them.
    pub tx_packets: u64,
    /// Packets (or copies, for TxFull/NoMbuf) dropped, by reason.
    pub drops: [u64; DropReason::COUNT],
    /// Miss signals put on the ring to the control core.
    pub misses_signalled: u64,
    /// Signals lost because the ring was full.
    pub signals_dropped: u64,
    /// Control packets handed to the control core.
    pub punted: u64,
    /// Hits of entries flagged `SIGNAL_ON_HIT` signalled to the control core.
    pub hits_signalled: u64,
    /// Copies of packets of entries flagged `COPY_TO_CONTROL` handed to the control core.
    pub copied_to_control: u64,
    /// Such copies not made (no mbuf) or not taken (the copy ring was full); the packet itself
    /// is still forwarded.
    pub copies_dropped: u64,
}

impl Counters {
    /// Counts one drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason, n: u64) {
        self.drops[reason as usize] += n;
    }

    /// Counts `n` frames handed to tx queues (wrapping: see [`Counters::unsent`]).
    #[inline]
    pub fn queued(&mut self, n: u64) {
        self.tx_packets = self.tx_packets.wrapping_add(n);
    }

    /// Takes back `n` copies counted in `tx_packets` that the tx queue refused. (Wrapping:
    /// the forwarding path adds a burst's copies after the burst, so a forced flush within it
    /// may take back copies of an earlier burst first; the sum is right at the end of the
    /// burst, and counters are published only between loop turns.)
    #[inline]
    pub fn unsent(&mut self, n: u64) {
        self.tx_packets = self.tx_packets.wrapping_sub(n);
        self.drops[DropReason::TxFull as usize] += n;
    }

    /// Drops for one reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// Adds another worker's counters.
    pub fn add(&mut self, other: &Counters) {
        self.rx_packets += other.rx_packets;
        self.tx_packets += other.tx_packets;
        self.misses_signalled += other.misses_signalled;
        self.signals_dropped += other.signals_dropped;
        self.punted += other.punted;
        self.hits_signalled += other.hits_signalled;
        self.copied_to_control += other.copied_to_control;
        self.copies_dropped += other.copies_dropped;
        for (a, b) in self.drops.iter_mut().zip(other.drops) {
            *a += b;
        }
    }
}

/// The published copy of one worker's counters. Writer: that worker only. Readers: anyone.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct WorkerStats {
    rx_packets: AtomicU64,
    tx_packets: AtomicU64,
    misses_signalled: AtomicU64,
    signals_dropped: AtomicU64,
    punted: AtomicU64,
    hits_signalled: AtomicU64,
    copied_to_control: AtomicU64,
    copies_dropped: AtomicU64,
    drops: [AtomicU64; DropReason::COUNT],
    /// Cycles per worker-loop stage, published when the worker stops (zero unless measured).
    pub stages: super::profile::PublishedStages,
}

impl WorkerStats {
    /// Publishes the worker's running totals. Relaxed is enough: each value is written by one
    /// thread and readers need no ordering between counters.
    #[inline]
    pub fn publish(&self, c: &Counters) {
        self.rx_packets.store(c.rx_packets, Ordering::Relaxed);
        self.tx_packets.store(c.tx_packets, Ordering::Relaxed);
        self.misses_signalled
            .store(c.misses_signalled, Ordering::Relaxed);
        self.signals_dropped
            .store(c.signals_dropped, Ordering::Relaxed);
        self.punted.store(c.punted, Ordering::Relaxed);
        self.hits_signalled
            .store(c.hits_signalled, Ordering::Relaxed);
        self.copied_to_control
            .store(c.copied_to_control, Ordering::Relaxed);
        self.copies_dropped
            .store(c.copies_dropped, Ordering::Relaxed);
        for (a, v) in self.drops.iter().zip(c.drops) {
            a.store(v, Ordering::Relaxed);
        }
    }

    /// The last published totals.
    pub fn read(&self) -> Counters {
        let mut c = Counters {
            rx_packets: self.rx_packets.load(Ordering::Relaxed),
            tx_packets: self.tx_packets.load(Ordering::Relaxed),
            misses_signalled: self.misses_signalled.load(Ordering::Relaxed),
            signals_dropped: self.signals_dropped.load(Ordering::Relaxed),
            punted: self.punted.load(Ordering::Relaxed),
            hits_signalled: self.hits_signalled.load(Ordering::Relaxed),
            copied_to_control: self.copied_to_control.load(Ordering::Relaxed),
            copies_dropped: self.copies_dropped.load(Ordering::Relaxed),
            ..Counters::default()
        };
        for (v, a) in c.drops.iter_mut().zip(&self.drops) {
            *v = a.load(Ordering::Relaxed);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_totals_only_grow_while_the_worker_publishes() {
        // The worker publishes its running totals every turn; the control core reads at any
        // moment. (Run under ThreadSanitizer and Miri by their scripts.)
        let turns: u64 = if cfg!(miri) { 100 } else { 100_000 };
        let stats = std::sync::Arc::new(WorkerStats::default());
        let worker = {
            let stats = std::sync::Arc::clone(&stats);
            std::thread::spawn(move || {
                let mut c = Counters::default();
                for _ in 0..turns {
                    c.rx_packets += 2;
                    c.tx_packets += 1;
                    c.drop(DropReason::NoRoute, 1);
                    stats.publish(&c);
                }
            })
        };
        let mut last = Counters::default();
        while !worker.is_finished() {
            let now = stats.read();
            assert!(now.rx_packets >= last.rx_packets && now.tx_packets >= last.tx_packets);
            assert!(now.dropped(DropReason::NoRoute) >= last.dropped(DropReason::NoRoute));
            last = now;
        }
        worker.join().unwrap();
        let end = stats.read();
        assert_eq!(
            (
                end.rx_packets,
                end.tx_packets,
                end.dropped(DropReason::NoRoute)
            ),
            (2 * turns, turns, turns)
        );
    }
}
