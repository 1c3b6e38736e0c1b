//! The RP set from a Bootstrap router (RFC 5059), as a router that is neither a candidate BSR
//! nor a candidate RP: sans-IO, every input with `now`.
//!
//! - Acceptance (5059 3.1.3, the non-candidate-BSR machine): with no BSR known ("accept any")
//!   the first Bootstrap that passes the checks elects its BSR; then ("accept preferred") only
//!   the elected BSR's Bootstraps and those of a preferred one (higher priority, then higher
//!   address) are taken, each restarting the Bootstrap Timer (130 s); at its expiry any BSR is
//!   accepted again. A multicast Bootstrap must come from RPF'(BSR): the RIB's route toward
//!   the BSR's address arrives on the interface it came in on, from that route's next hop (or
//!   from the BSR itself when it is directly connected). A Bootstrap whose BSR the RIB has not
//!   answered yet waits for the answer (the latest one only). Unicast Bootstraps (sent to a
//!   restarted neighbour) and admin-scoped ranges are not supported: counted and ignored.
//! - The RP set: a Bootstrap with a new fragment tag replaces it, further fragments with the
//!   same tag add their ranges; each RP holds for its holdtime (0 removes it), at most
//!   [`MAX_RPS`] RPs (more counted). The Bootstrap Timer's expiry keeps the RP set: each RP
//!   lasts its own holdtime.
//! - Forwarding: an accepted Bootstrap without the No-Forward bit goes out of every other PIM
//!   interface to ALL-PIM-ROUTERS with TTL 1, unchanged.
//! - RP(G) (RFC 7761 4.7.2): the longest group range that covers G, then the lowest priority
//!   value, then the highest hash value of G, then the highest address. Static RPs of the
//!   config take precedence for the groups they cover (the RP set is for the others).

use dataplane::wire::pim::Bootstrap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// BS_Timeout (RFC 5059 5): how long an elected BSR holds without a Bootstrap.
pub const BS_TIMEOUT: Duration = Duration::from_secs(130);
/// Most RPs kept in the RP set; further ones are counted (`rp_set_full`).
pub const MAX_RPS: usize = 1024;

/// The elected BSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Elected {
    /// Its address.
    pub address: Ipv4Addr,
    /// Its priority (higher is preferred).
    pub priority: u8,
    /// The hash mask length of its RP set.
    pub hash_mask_len: u8,
    /// The Bootstrap Timer: when it stops being the elected one.
    pub expiry: Duration,
    /// When it was elected.
    pub since: Duration,
}

/// One RP of a group range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpEntry {
    /// The RP.
    pub address: Ipv4Addr,
    /// Priority (lower is preferred).
    pub priority: u8,
    /// When the mapping ends (its holdtime from the last Bootstrap that listed it).
    pub expiry: Duration,
}

/// Bootstrap messages by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BsrCounters {
    /// Bootstraps received on PIM interfaces (before any check).
    pub received: u64,
    /// Accepted: their RP set taken.
    pub accepted: u64,
    /// Sent on to the other PIM interfaces (one per interface).
    pub forwarded: u64,
    /// Refused: not from RPF'(BSR) (another neighbour, or another interface than the route's).
    pub not_rpf_neighbor: u64,
    /// Refused: from a BSR less preferred than the elected one.
    pub not_preferred: u64,
    /// Refused: no route toward the BSR's address, or the BSR is this router.
    pub no_route_to_bsr: u64,
    /// Ignored: sent to a unicast address (only multicast Bootstraps are taken).
    pub unicast: u64,
    /// Ignored: admin-scoped group ranges (one global zone only).
    pub scoped_ranges: u64,
    /// RPs not kept: the RP set is full ([`MAX_RPS`]).
    pub rp_set_full: u64,
}

/// The Bootstrap state of the PIM instance.
#[derive(Debug, Clone, Default)]
pub struct Bsr {
    /// The elected BSR; `None`: any is accepted.
    pub elected: Option<Elected>,
    /// The fragment tag of the RP set held.
    fragment_tag: Option<u16>,
    /// The RP set: group range (network, mask length) to its RPs.
    pub rp_set: BTreeMap<(Ipv4Addr, u8), Vec<RpEntry>>,
    /// The hash mask length of the RP set held.
    pub hash_mask_len: u8,
    /// What became of the Bootstraps received.
    pub counters: BsrCounters,
}

/// What an accepted Bootstrap changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    /// The RP set changed (RP(G) may have).
    pub rp_set_changed: bool,
}

/// The RFC 7761 4.7.2 hash of `group` for candidate `rp` under `mask`.
pub fn rp_hash(group: Ipv4Addr, mask_len: u8, rp: Ipv4Addr) -> u32 {
    let mask = if mask_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(mask_len.min(32)))
    };
    let g = u64::from(u32::from(group) & mask);
    let c = u64::from(u32::from(rp));
    let inner = (1_103_515_245u64.wrapping_mul(g).wrapping_add(12_345)) & 0x7fff_ffff;
    ((1_103_515_245u64
        .wrapping_mul(inner ^ c)
        .wrapping_add(12_345))
        & 0x7fff_ffff) as u32
}

/// Whether BSR `a` (priority, address) is preferred to `b` (RFC 5059 3.1.1).
pub fn preferred(a: (u8, Ipv4Addr), b: (u8, Ipv4Addr)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

fn covers(range: (Ipv4Addr, u8), group: Ipv4Addr) -> bool {
    let len = u32::from(range.1.min(32));
    if len == 0 {
        return true;
    }
    let mask = u32::MAX << (32 - len);
    u32::from(group) & mask == u32::from(range.0) & mask
}

impl Bsr {
    /// Whether a Bootstrap from `bsr` (priority, address) is taken in the current state.
    pub fn acceptable(&self, bsr: (u8, Ipv4Addr)) -> bool {
        match self.elected {
            None => true,
            Some(e) => bsr.1 == e.address || preferred(bsr, (e.priority, e.address)),
        }
    }

    /// Takes `msg` (already checked: from RPF'(BSR), acceptable) at `now`: the BSR is
    /// (re-)elected with a new Bootstrap Timer and the RP set updated.
    pub fn take(&mut self, now: Duration, msg: &Bootstrap) -> Taken {
        self.counters.accepted += 1;
        let since = match self.elected {
            Some(e) if e.address == msg.bsr_address => e.since,
            _ => now,
        };
        self.elected = Some(Elected {
            address: msg.bsr_address,
            priority: msg.bsr_priority,
            hash_mask_len: msg.hash_mask_len,
            expiry: now + BS_TIMEOUT,
            since,
        });
        let before = self.rp_set.clone();
        if self.fragment_tag != Some(msg.fragment_tag) {
            // A new Bootstrap: its fragments make the RP set.
            self.rp_set.clear();
            self.fragment_tag = Some(msg.fragment_tag);
        }
        self.hash_mask_len = msg.hash_mask_len;
        for range in &msg.groups {
            if range.group.admin_scope {
                self.counters.scoped_ranges += 1;
                continue;
            }
            let key = (range.group.addr, range.group.mask_len.min(32));
            let mut rps: Vec<RpEntry> = self.rp_set.remove(&key).unwrap_or_default();
            for rp in &range.rps {
                rps.retain(|e| e.address != rp.address);
                if rp.holdtime == 0 {
                    continue;
                }
                let held: usize = self.rp_set.values().map(Vec::len).sum::<usize>() + rps.len();
                if held >= MAX_RPS {
                    self.counters.rp_set_full += 1;
                    continue;
                }
                rps.push(RpEntry {
                    address: rp.address,
                    priority: rp.priority,
                    expiry: now + Duration::from_secs(u64::from(rp.holdtime)),
                });
            }
            if range.rp_count > 0 && !rps.is_empty() {
                rps.sort_by_key(|e| e.address);
                self.rp_set.insert(key, rps);
            }
        }
        Taken {
            rp_set_changed: !same_mappings(&before, &self.rp_set),
        }
    }

    /// RP(G) from the RP set (see the module doc), or `None`.
    pub fn rp_for(&self, group: Ipv4Addr) -> Option<Ipv4Addr> {
        let (_, rps) = self
            .rp_set
            .iter()
            .filter(|(range, rps)| covers(**range, group) && !rps.is_empty())
            .max_by_key(|(range, _)| range.1)?;
        let best = rps.iter().map(|e| e.priority).min()?;
        rps.iter()
            .filter(|e| e.priority == best)
            .max_by_key(|e| (rp_hash(group, self.hash_mask_len, e.address), e.address))
            .map(|e| e.address)
    }

    /// Every RP address of the RP set.
    pub fn rp_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.rp_set.values().flatten().map(|e| e.address)
    }

    /// The earliest deadline: the Bootstrap Timer or an RP's holdtime.
    pub fn next_deadline(&self) -> Option<Duration> {
        let rps = self.rp_set.values().flatten().map(|e| e.expiry);
        self.elected.map(|e| e.expiry).into_iter().chain(rps).min()
    }

    /// Fires what is due at `now`; returns whether the RP set changed.
    pub fn handle_timeout(&mut self, now: Duration) -> bool {
        if self.elected.is_some_and(|e| e.expiry <= now) {
            // Back to accepting any BSR; the RP set keeps its own holdtimes.
            self.elected = None;
        }
        let before: usize = self.rp_set.values().map(Vec::len).sum();
        for rps in self.rp_set.values_mut() {
            rps.retain(|e| e.expiry > now);
        }
        self.rp_set.retain(|_, rps| !rps.is_empty());
        let after: usize = self.rp_set.values().map(Vec::len).sum();
        before != after
    }
}

/// The same (range, RP, priority) mappings, expiries aside.
fn same_mappings(
    a: &BTreeMap<(Ipv4Addr, u8), Vec<RpEntry>>,
    b: &BTreeMap<(Ipv4Addr, u8), Vec<RpEntry>>,
) -> bool {
    let flat = |m: &BTreeMap<(Ipv4Addr, u8), Vec<RpEntry>>| -> Vec<(Ipv4Addr, u8, Ipv4Addr, u8)> {
        m.iter()
            .flat_map(|(k, v)| v.iter().map(move |e| (k.0, k.1, e.address, e.priority)))
            .collect()
    };
    flat(a) == flat(b)
}
