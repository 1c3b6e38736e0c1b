//! The pending queue: the first packets of a flow that missed are held (a bounded number of
//! flows per worker) and forwarded, in order, as soon as the control core has installed the
//! flow's entry, so a new flow loses nothing while it is being resolved.
//!
//! Each held flow may hold [`PER_FLOW`] packets, and beyond that take from a budget the
//! worker's held flows share ([`SHARED`] packets): a flow that starts at line rate while few
//! others wait holds its whole start (at 1 Mpps and a miss-to-install time of 500 us, 500
//! packets), and many flows starting at once still get their own few each. Packets beyond
//! both are dropped and counted (`pending_overflow`); flows that get no entry within
//! [`HOLD_MS`] are dropped and counted (`no_route`).
//!
//! Worker-local: no sharing. It allocates only on the miss path (a new flow's small vector),
//! never for a packet that hits an entry.

use super::Flow;
use crate::dpdk::Mbuf;

/// Flows a worker holds packets for.
pub const FLOWS: usize = 64;
/// Packets every held flow may hold.
pub const PER_FLOW: usize = 8;
/// Packets the held flows of one worker may hold beyond [`PER_FLOW`] each, shared.
pub const SHARED: usize = 1024;
/// How long a flow's packets are held at most.
pub const HOLD_MS: u64 = 100;

struct Held {
    key: u64,
    since_tsc: u64,
    /// Each packet with the port it arrived on (packets of one flow may come in on several
    /// ports; the incoming-interface check needs each one's own).
    packets: Vec<(Mbuf, Flow, u16)>,
}

/// One worker's held packets.
pub struct Pending {
    /// One place per flow that can be held.
    held: Vec<Option<Held>>,
    per_flow: usize,
    /// Packets held beyond `per_flow` by all flows together, at most.
    shared: usize,
    /// Packets held beyond `per_flow` now (by all flows).
    shared_used: usize,
    /// Flows held now (so the per-packet check costs one compare when nothing is held).
    pub held_flows: usize,
    /// One bit per held flow's key hash (a 64-bit Bloom filter): a packet whose bit is clear has
    /// nothing held, so it skips the scan even while other flows wait. Rebuilt when flows
    /// leave (rare), set when they arrive.
    mask: u64,
    hold_tsc: u64,
}

/// A flow's held packets, each with the port it arrived on.
pub type HeldFlow = Vec<(Mbuf, Flow, u16)>;

/// Result of [`Pending::hold`].
#[derive(Debug, PartialEq, Eq)]
pub enum Hold {
    /// Held; `first` is true for the flow's first held packet (signal a miss).
    Held {
        /// First packet held for this flow.
        first: bool,
    },
    /// No room (the flow already holds its [`PER_FLOW`] packets and the shared budget is
    /// spent, or every place is taken by other flows): the packet was dropped.
    Overflow,
}

#[inline]
fn key(flow: &Flow) -> u64 {
    u64::from(flow.source) << 32 | u64::from(flow.group)
}

#[inline]
fn bit(key: u64) -> u64 {
    1 << (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

impl Pending {
    /// An empty queue with the default bounds; `tsc_hz` converts the hold time to TSC ticks.
    pub fn new(tsc_hz: u64) -> Pending {
        Pending::with_limits(tsc_hz, FLOWS, PER_FLOW, SHARED)
    }

    /// An empty queue holding packets of at most `flows` flows: `per_flow` of each, and
    /// `shared` more over all of them (`flows` and `per_flow` at least 1). A held packet's flow
    /// is found by a scan of the places, so keep `flows` in the tens to hundreds (the config
    /// allows up to 1,024).
    pub fn with_limits(tsc_hz: u64, flows: usize, per_flow: usize, shared: usize) -> Pending {
        Pending {
            held: (0..flows.max(1)).map(|_| None).collect(),
            per_flow: per_flow.max(1),
            shared,
            shared_used: 0,
            held_flows: 0,
            mask: 0,
            hold_tsc: (tsc_hz / 1000).max(1) * HOLD_MS,
        }
    }

    /// Holds `m` until its flow's entry appears.
    pub fn hold(&mut self, m: Mbuf, flow: Flow, port: u16, now_tsc: u64) -> Hold {
        let k = key(&flow);
        if let Some(h) = self.held.iter_mut().flatten().find(|h| h.key == k) {
            if h.packets.len() >= self.per_flow {
                if self.shared_used >= self.shared {
                    return Hold::Overflow;
                }
                self.shared_used += 1;
            }
            h.packets.push((m, flow, port));
            return Hold::Held { first: false };
        }
        let Some(free) = self.held.iter_mut().find(|s| s.is_none()) else {
            return Hold::Overflow;
        };
        let mut packets = Vec::with_capacity(self.per_flow);
        packets.push((m, flow, port));
        *free = Some(Held {
            key: k,
            since_tsc: now_tsc,
            packets,
        });
        self.held_flows += 1;
        self.mask |= bit(k);
        Hold::Held { first: true }
    }

    /// Whether packets of `flow`'s (S,G) may be held (false positives possible, no false
    /// negatives); one AND per packet.
    #[inline]
    pub fn may_hold(&self, flow: &Flow) -> bool {
        self.mask & bit(key(flow)) != 0
    }

    fn rebuild_mask(&mut self) {
        self.mask = self.held.iter().flatten().fold(0, |m, h| m | bit(h.key));
    }

    /// Takes the held packets of `flow`'s (S,G), if any (to send before a newer packet).
    #[inline]
    pub fn take_flow(&mut self, flow: &Flow) -> Option<HeldFlow> {
        if !self.may_hold(flow) {
            return None;
        }
        let k = key(flow);
        let place = self
            .held
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|h| h.key == k))?;
        let h = place.take()?;
        self.held_flows -= 1;
        self.shared_used -= h.packets.len().saturating_sub(self.per_flow);
        self.rebuild_mask();
        Some(h.packets)
    }

    /// Takes every held packet (the worker is stopping).
    pub fn drain_all(&mut self) -> Vec<Mbuf> {
        self.held_flows = 0;
        self.mask = 0;
        self.shared_used = 0;
        self.held
            .iter_mut()
            .filter_map(Option::take)
            .flat_map(|h| h.packets.into_iter().map(|(m, _, _)| m))
            .collect()
    }

    /// Takes every flow for which `resolved(source, group)` is true, and every flow held
    /// longer than the hold time (returned separately, to be dropped).
    pub fn take_ready(
        &mut self,
        now_tsc: u64,
        mut resolved: impl FnMut(u32, u32) -> bool,
    ) -> (Vec<HeldFlow>, Vec<Mbuf>) {
        let mut ready = Vec::new();
        let mut expired = Vec::new();
        for place in self.held.iter_mut() {
            let Some(h) = place else { continue };
            let (s, g) = ((h.key >> 32) as u32, h.key as u32);
            if resolved(s, g) {
                let h = place.take().expect("checked");
                self.shared_used -= h.packets.len().saturating_sub(self.per_flow);
                ready.push(h.packets);
                self.held_flows -= 1;
            } else if now_tsc.wrapping_sub(h.since_tsc) > self.hold_tsc {
                let h = place.take().expect("checked");
                self.shared_used -= h.packets.len().saturating_sub(self.per_flow);
                expired.extend(h.packets.into_iter().map(|(m, _, _)| m));
                self.held_flows -= 1;
            }
        }
        if !ready.is_empty() || !expired.is_empty() {
            self.rebuild_mask();
        }
        (ready, expired)
    }
}
