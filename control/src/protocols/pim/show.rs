//! Show data: plain serializable snapshots of PIM interfaces and neighbours, with timers as the
//! time left at the `now` the caller passes (FRR's `show ip pim interface` / `neighbor`).

use super::instance::Pim;
use super::interface::InterfaceCounters;
use crate::interface::Interface as Iface;
use serde::Serialize;
use std::net::Ipv4Addr;
use std::time::Duration;

/// One PIM interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceInfo {
    /// Interface id.
    pub iface: Iface,
    /// Our address.
    pub address: Ipv4Addr,
    /// The DR.
    pub dr: Ipv4Addr,
    /// We are the DR.
    pub is_dr: bool,
    /// Our DR priority.
    pub dr_priority: u32,
    /// Neighbours.
    pub neighbors: usize,
    /// Hello interval.
    pub hello_interval: Duration,
    /// Holdtime we advertise.
    pub holdtime: Duration,
    /// Time to our next Hello.
    pub next_hello: Duration,
    /// Our Generation ID.
    pub generation_id: u32,
    /// How long PIM has run here.
    pub uptime: Duration,
    /// Effective_Propagation_Delay (RFC 7761 4.3.3).
    pub effective_propagation_delay: Duration,
    /// Effective_Override_Interval (4.3.3).
    pub effective_override_interval: Duration,
    /// Join suppression is enabled (4.3.3).
    pub join_suppression: bool,
    /// Counters.
    pub counters: InterfaceCounters,
}

/// One neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeighborInfo {
    /// Interface id.
    pub iface: Iface,
    /// Its primary address.
    pub address: Ipv4Addr,
    /// Time since it was heard first (or restarted).
    pub uptime: Duration,
    /// Time left before it expires; `None`: never.
    pub expires: Option<Duration>,
    /// Holdtime it advertised, seconds.
    pub holdtime: u16,
    /// DR priority it advertised.
    pub dr_priority: Option<u32>,
    /// Generation ID it advertised.
    pub generation_id: Option<u32>,
    /// It is the DR.
    pub is_dr: bool,
    /// Its secondary addresses.
    pub secondary: Vec<Ipv4Addr>,
    /// Hellos received from it.
    pub hellos: u64,
}

impl Pim {
    /// Every PIM interface at `now`.
    pub fn interface_infos(&self, now: Duration) -> Vec<InterfaceInfo> {
        self.interfaces
            .values()
            .map(|i| InterfaceInfo {
                iface: i.id,
                address: i.address,
                dr: i.dr,
                is_dr: i.is_dr(),
                dr_priority: i.settings.dr_priority,
                neighbors: i.neighbors.len(),
                hello_interval: i.settings.hello_interval,
                holdtime: i.settings.holdtime,
                next_hello: i.hello_due.saturating_sub(now),
                generation_id: i.generation_id,
                uptime: now.saturating_sub(i.since),
                effective_propagation_delay: i.effective_propagation_delay(),
                effective_override_interval: i.effective_override_interval(),
                join_suppression: i.suppression_enabled(),
                counters: i.counters.clone(),
            })
            .collect()
    }

    /// Every neighbour at `now`, by interface then address.
    pub fn neighbor_infos(&self, now: Duration) -> Vec<NeighborInfo> {
        self.interfaces
            .values()
            .flat_map(|i| {
                i.neighbors.values().map(move |n| NeighborInfo {
                    iface: i.id,
                    address: n.address,
                    uptime: now.saturating_sub(n.since),
                    expires: n.expires.map(|t| t.saturating_sub(now)),
                    holdtime: n.holdtime,
                    dr_priority: n.dr_priority,
                    generation_id: n.generation_id,
                    is_dr: i.dr == n.address,
                    secondary: n.secondary.clone(),
                    hellos: n.hellos,
                })
            })
            .collect()
    }
}

/// One (*,G) or (S,G) entry of the join/prune machines (FRR's `show ip pim join` and
/// `upstream` in one row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinInfo {
    /// S; `None` for (*,G).
    pub source: Option<Ipv4Addr>,
    /// G.
    pub group: Ipv4Addr,
    /// RP(G) for (*,G).
    pub rp: Option<Ipv4Addr>,
    /// RPF interface toward S (or the RP).
    pub rpf_iface: Option<Iface>,
    /// RPF' (the upstream neighbour joins go to); `None`: directly connected or no PIM there.
    pub upstream_neighbor: Option<Ipv4Addr>,
    /// The upstream machine is Joined.
    pub joined: bool,
    /// Time to the next periodic Join.
    pub next_join: Option<Duration>,
    /// Downstream join state per interface: (interface, "join" or "prune_pending", expiry).
    pub downstream: Vec<(Iface, String, Option<Duration>)>,
    /// Interfaces with local (IGMP) members.
    pub local: Vec<Iface>,
    /// The outgoing interfaces given to the MGM.
    pub oifs: Vec<Iface>,
    /// SPTbit(S,G): data arrived along the shortest-path tree (false for (*,G)).
    pub spt_bit: bool,
    /// Time left on KeepaliveTimer(S,G), while it runs (data keeps it running).
    pub keepalive: Option<Duration>,
}

impl Pim {
    /// The join/prune state at `now`, by group, (*,G) first.
    pub fn join_infos(&self, now: Duration) -> Vec<JoinInfo> {
        use super::tree::{Downstream, JoinState, UpstreamState};
        let left = |t: Option<Duration>| t.map(|t| t.saturating_sub(now));
        let down = |d: &std::collections::BTreeMap<Iface, Downstream>| {
            d.iter()
                .filter(|(_, d)| d.state != JoinState::NoInfo)
                .map(|(i, d)| {
                    let state = match d.state {
                        JoinState::PrunePending => "prune_pending",
                        _ => "join",
                    };
                    (*i, state.to_string(), left(d.expiry))
                })
                .collect()
        };
        let mut out = Vec::new();
        for (group, g) in self.tib.groups() {
            let star = !g.downstream.is_empty()
                || !g.local.is_empty()
                || g.upstream.state == UpstreamState::Joined;
            if star {
                out.push(JoinInfo {
                    source: None,
                    group: *group,
                    rp: g.rp,
                    rpf_iface: g.rpf_iface,
                    upstream_neighbor: g.upstream.rpf.map(|n| n.addr),
                    joined: g.upstream.state == UpstreamState::Joined,
                    next_join: left(g.upstream.join_timer),
                    downstream: down(&g.downstream),
                    local: g.local.iter().copied().collect(),
                    oifs: g.oifs.iter().copied().collect(),
                    spt_bit: false,
                    keepalive: None,
                });
            }
            for (source, s) in &g.sources {
                out.push(JoinInfo {
                    source: Some(*source),
                    group: *group,
                    rp: None,
                    rpf_iface: s.rpf_iface,
                    upstream_neighbor: s.upstream.rpf.map(|n| n.addr),
                    joined: s.upstream.state == UpstreamState::Joined,
                    next_join: left(s.upstream.join_timer),
                    downstream: down(&s.downstream),
                    local: s.local_include.iter().copied().collect(),
                    oifs: s.oifs.iter().copied().collect(),
                    spt_bit: s.spt_bit,
                    keepalive: left(s.keepalive),
                });
            }
        }
        out
    }
}

/// `show pim rp`: the Bootstrap router and the RP mappings (static and learned).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpInfo {
    /// The elected BSR, if any.
    pub bsr: Option<BsrInfo>,
    /// Every mapping: static ones first, then the RP set's.
    pub mappings: Vec<RpMapping>,
    /// What became of the Bootstraps received.
    pub bootstrap: super::bsr::BsrCounters,
}

/// The elected Bootstrap router.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BsrInfo {
    /// Its address.
    pub address: Ipv4Addr,
    /// Its priority.
    pub priority: u8,
    /// The hash mask length of its RP set.
    pub hash_mask_len: u8,
    /// Seconds since it was elected.
    pub uptime_secs: f64,
    /// Seconds left on the Bootstrap Timer.
    pub expires_secs: f64,
}

/// One group range's RP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpMapping {
    /// The group range, "network/length".
    pub groups: String,
    /// The RP.
    pub rp: Ipv4Addr,
    /// "static" (the config) or "bsr" (the Bootstrap router's RP set).
    pub origin: &'static str,
    /// The RP's priority in the RP set (none for static ones).
    pub priority: Option<u8>,
    /// Seconds left on its holdtime (none for static ones).
    pub expires_secs: Option<f64>,
}

impl Pim {
    /// The RP view at `now`.
    pub fn rp_info(&self, now: Duration) -> RpInfo {
        let secs = |t: Duration| t.saturating_sub(now).as_secs_f64();
        let mut mappings: Vec<RpMapping> = self
            .rps
            .iter()
            .map(|r| RpMapping {
                groups: format!("{}/{}", r.groups.0, r.groups.1),
                rp: r.address,
                origin: "static",
                priority: None,
                expires_secs: None,
            })
            .collect();
        for ((net, len), rps) in &self.bsr.rp_set {
            for e in rps {
                mappings.push(RpMapping {
                    groups: format!("{net}/{len}"),
                    rp: e.address,
                    origin: "bsr",
                    priority: Some(e.priority),
                    expires_secs: Some(secs(e.expiry)),
                });
            }
        }
        RpInfo {
            bsr: self.bsr.elected.map(|e| BsrInfo {
                address: e.address,
                priority: e.priority,
                hash_mask_len: e.hash_mask_len,
                uptime_secs: now.saturating_sub(e.since).as_secs_f64(),
                expires_secs: secs(e.expiry),
            }),
            mappings,
            bootstrap: self.bsr.counters,
        }
    }

    /// RP(G) as the join machinery sees it: a static RP, else the RP set's.
    pub fn rp_of(&self, group: Ipv4Addr) -> Option<Ipv4Addr> {
        super::config::PimSettings::rp_for(&self.rps, group).or_else(|| self.bsr.rp_for(group))
    }
}
