//! Multicast forwarding entries: the internal record, the changes handed to the data plane, the
//! counters the data plane feeds back, and the `MIB_IPMCAST_MFE*` images read by admin tools.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::types::{InterfaceId, RouteInfo};

/// Key of the MFE table: (group, source), so that the table's order is the walk order
/// (by group, then source; `Ipv4Addr` compares as big-endian unsigned, gap 12).
pub(crate) type MfeKey = (Ipv4Addr, Ipv4Addr);

/// The key of (S,G) in the MFE table.
pub(crate) fn group_key(source: Ipv4Addr, group: Ipv4Addr) -> MfeKey {
    (group, source)
}

/// Counters of one MFE, as the data plane reports them (summed over workers). The same type
/// carries increments into [`crate::Mgm::update_mfe_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MfeCounters {
    /// `ulInPkts`: packets received on the IIF.
    pub in_packets: u64,
    /// `ulInOctets`: octets received on the IIF.
    pub in_octets: u64,
    /// `ulPktsDifferentIf`: packets that arrived on another interface (RPF failure).
    pub pkts_different_if: u64,
    /// `ulQueueOverflow`: packets dropped because the pending entry's queue was full.
    pub queue_overflow: u64,
    /// `ulUninitMfe` (extended layout): packets that hit the entry before it was installed.
    pub uninit_mfe: u64,
    /// `ulNegativeMfe` (extended layout): packets dropped because the entry is negative.
    pub negative_mfe: u64,
    /// `ulInDiscards` (extended layout): packets discarded on input.
    pub in_discards: u64,
    /// `ulInHdrErrors` (extended layout): packets with header errors.
    pub in_hdr_errors: u64,
    /// `ulTotalOutPackets` (extended layout): a packet sent on N interfaces counts N times.
    pub total_out_packets: u64,
}

impl MfeCounters {
    fn add(&mut self, d: &MfeCounters) {
        self.in_packets += d.in_packets;
        self.in_octets += d.in_octets;
        self.pkts_different_if += d.pkts_different_if;
        self.queue_overflow += d.queue_overflow;
        self.uninit_mfe += d.uninit_mfe;
        self.negative_mfe += d.negative_mfe;
        self.in_discards += d.in_discards;
        self.in_hdr_errors += d.in_hdr_errors;
        self.total_out_packets += d.total_out_packets;
    }
}

/// Per-OIF counters (`MIB_IPMCAST_OIF_STATS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OifCounters {
    /// `ulTtlTooLow`: packets not sent because their TTL was below the threshold.
    pub ttl_too_low: u64,
    /// `ulFragNeeded`: packets that needed fragmentation.
    pub frag_needed: u64,
    /// `ulOutPackets`: packets sent.
    pub out_packets: u64,
    /// `ulOutDiscards`: packets discarded on output.
    pub out_discards: u64,
}

impl OifCounters {
    fn add(&mut self, d: &OifCounters) {
        self.ttl_too_low += d.ttl_too_low;
        self.frag_needed += d.frag_needed;
        self.out_packets += d.out_packets;
        self.out_discards += d.out_discards;
    }
}

/// Counter increments for one MFE, as the data plane reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MfeStatsDelta {
    /// Entry-level increments.
    pub mfe: MfeCounters,
    /// Per-OIF increments; interfaces no longer in the OIF list are ignored.
    pub oifs: Vec<(InterfaceId, OifCounters)>,
}

/// One outgoing interface of an MFE with its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OifState {
    pub iface: InterfaceId,
    pub counters: OifCounters,
}

/// The internal MFE record.
#[derive(Debug, Clone)]
pub(crate) struct Mfe {
    pub iif: InterfaceId,
    /// The interface the miss that created the entry arrived on: whose owner gets the RPF
    /// callback, at creation and again at re-validation.
    pub arrival: InterfaceId,
    pub upstream: Ipv4Addr,
    pub iif_protocol: u32,
    pub route: RouteInfo,
    /// Sorted by interface.
    pub oifs: Vec<OifState>,
    /// Interfaces a creation alert disabled or a forward-state delete removed (sorted).
    pub excluded: Vec<InterfaceId>,
    /// Interfaces a forward-state add put in regardless of membership (sorted).
    pub forced: Vec<InterfaceId>,
    pub created: Duration,
    pub timeout: Duration,
    /// Carried traffic since it was (re)created: decides re-validation vs deletion at expiry.
    pub active: bool,
    pub counters: MfeCounters,
    pub last_wrong_if_callback: Option<Duration>,
}

impl Mfe {
    pub fn deadline(&self) -> Duration {
        self.created + self.timeout
    }

    pub fn has_oif(&self, iface: InterfaceId) -> bool {
        self.oifs.binary_search_by(|o| o.iface.cmp(&iface)).is_ok()
    }

    /// Whether the MFE mentions `iface` anywhere (drives the per-interface index).
    pub fn references(&self, iface: InterfaceId) -> bool {
        self.iif == iface
            || self.has_oif(iface)
            || self.excluded.binary_search(&iface).is_ok()
            || self.forced.binary_search(&iface).is_ok()
    }

    /// Every interface the MFE mentions, possibly with repeats.
    pub fn referenced(&self) -> Vec<InterfaceId> {
        let mut v: Vec<InterfaceId> = std::iter::once(self.iif)
            .chain(self.oifs.iter().map(|o| o.iface))
            .chain(self.excluded.iter().copied())
            .chain(self.forced.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn add_stats(&mut self, delta: &MfeStatsDelta) {
        self.counters.add(&delta.mfe);
        if delta.mfe.in_packets > 0 {
            self.active = true;
        }
        for (iface, d) in &delta.oifs {
            if let Ok(i) = self.oifs.binary_search_by(|o| o.iface.cmp(iface)) {
                self.oifs[i].counters.add(d);
            }
        }
    }

    pub fn entry(&self, key: MfeKey) -> MfeEntry {
        MfeEntry {
            source: key.1,
            group: key.0,
            iif: self.iif,
            upstream: self.upstream,
            oifs: self.oifs.iter().map(|o| o.iface).collect(),
        }
    }

    /// Whole seconds since (re)creation, capped at the lifetime.
    fn up_time(&self, now: Duration) -> Duration {
        now.saturating_sub(self.created).min(self.timeout)
    }

    pub fn mib(&self, key: MfeKey, now: Duration) -> MibMfe {
        let up = self.up_time(now).as_secs();
        let total = self.timeout.as_secs();
        MibMfe {
            group: key.0,
            source: key.1,
            source_mask: Ipv4Addr::BROADCAST,
            upstream: self.upstream,
            iif: self.iif,
            iif_protocol: self.iif_protocol,
            route: self.route,
            up_time_s: up as u32,
            expiry_s: total.saturating_sub(up) as u32,
            timeout_s: total as u32,
            oifs: self.oifs.iter().map(|o| o.iface).collect(),
        }
    }

    pub fn stats(&self, key: MfeKey, now: Duration, layout: StatsLayout) -> MibMfeStats {
        let up = self.up_time(now);
        MibMfeStats {
            layout,
            group: key.0,
            source: key.1,
            source_mask: Ipv4Addr::BROADCAST,
            upstream: self.upstream,
            iif: self.iif,
            iif_protocol: self.iif_protocol,
            route: self.route,
            up_time_cs: (up.as_millis() / 10) as u32,
            expiry_cs: (self.timeout.saturating_sub(up).as_millis() / 10) as u32,
            counters: self.counters,
            oifs: self.oifs.iter().map(|o| (o.iface, o.counters)).collect(),
        }
    }
}

/// The forwarding content of an MFE that the data plane needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfeEntry {
    /// Source S.
    pub source: Ipv4Addr,
    /// Group G.
    pub group: Ipv4Addr,
    /// Expected incoming interface ([`InterfaceId::NONE`] when there is no route to S).
    pub iif: InterfaceId,
    /// Upstream neighbour.
    pub upstream: Ipv4Addr,
    /// Outgoing interfaces, sorted; empty for a negative MFE (drop and count).
    pub oifs: Vec<InterfaceId>,
}

/// A change the data plane must apply to its forwarding table, in queue order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfeChange {
    /// A new entry (release any packets queued on the pending entry).
    Install(MfeEntry),
    /// Replace the entry's content atomically (OIF list, IIF or upstream changed, or the
    /// entry was re-validated at expiry).
    Update(MfeEntry),
    /// Remove the entry; the next packet for (S,G) is a miss again.
    Delete {
        /// Source S.
        source: Ipv4Addr,
        /// Group G.
        group: Ipv4Addr,
    },
}

impl MfeChange {
    /// The (source, group) the change is about.
    pub fn source_group(&self) -> (Ipv4Addr, Ipv4Addr) {
        match self {
            MfeChange::Install(e) | MfeChange::Update(e) => (e.source, e.group),
            MfeChange::Delete { source, group } => (*source, *group),
        }
    }
}

fn put_addr(out: &mut Vec<u8>, a: Ipv4Addr) {
    // Addresses are DWORDs in network byte order: the octets as they are.
    out.extend_from_slice(&a.octets());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn clamp(v: u64) -> u32 {
    // ULONG counters wrap in Windows; saturate instead so a reader never sees a small value.
    v.min(u64::from(u32::MAX)) as u32
}

/// `MIB_IPMCAST_MFE`: the public image of an MFE (times in seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MibMfe {
    /// `dwGroup`.
    pub group: Ipv4Addr,
    /// `dwSource`.
    pub source: Ipv4Addr,
    /// `dwSrcMask` (all-ones: MFEs are exact).
    pub source_mask: Ipv4Addr,
    /// `dwUpStrmNgbr`.
    pub upstream: Ipv4Addr,
    /// `dwInIfIndex` (with its next hop).
    pub iif: InterfaceId,
    /// `dwInIfProtocol`: protocol id owning the IIF, 0 if none.
    pub iif_protocol: u32,
    /// `dwRouteProtocol`, `dwRouteNetwork`, `dwRouteMask`.
    pub route: RouteInfo,
    /// `ulUpTime`: seconds since (re)creation.
    pub up_time_s: u32,
    /// `ulExpiryTime`: seconds left.
    pub expiry_s: u32,
    /// `ulTimeOut`: total lifetime in seconds (`up_time_s + expiry_s`).
    pub timeout_s: u32,
    /// `rgmioOutInfo`: outgoing interfaces.
    pub oifs: Vec<InterfaceId>,
}

impl MibMfe {
    /// `SIZEOF_BASIC_MIB_MFE`.
    pub const BASE_SIZE: usize = 60;
    /// Size of one `MIB_IPMCAST_OIF` (XP layout).
    pub const OIF_SIZE: usize = 16;

    /// `SIZEOF_MIB_MFE(ulNumOutIf)`.
    pub fn encoded_len(&self) -> usize {
        Self::BASE_SIZE + Self::OIF_SIZE * self.oifs.len()
    }

    /// Appends the Windows byte image (x86 little-endian DWORDs, addresses in network order).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_addr(out, self.group);
        put_addr(out, self.source);
        put_addr(out, self.source_mask);
        put_addr(out, self.upstream);
        put_u32(out, self.iif.index);
        put_u32(out, self.iif_protocol);
        put_u32(out, self.route.protocol);
        put_addr(out, self.route.network);
        put_addr(out, self.route.mask);
        put_u32(out, self.up_time_s);
        put_u32(out, self.expiry_s);
        put_u32(out, self.timeout_s);
        put_u32(out, self.oifs.len() as u32);
        put_u32(out, 0); // fFlags
        put_u32(out, 0); // dwReserved
        for o in &self.oifs {
            put_u32(out, o.index);
            put_addr(out, o.next_hop);
            put_u32(out, 0);
            put_u32(out, 0);
        }
    }
}

/// Which statistics layout to produce (`dwFlags` of the stats calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsLayout {
    /// `MGM_MFE_STATS_0`: `MIB_IPMCAST_MFE_STATS` (64-byte fixed part).
    Basic,
    /// `MGM_MFE_STATS_1`: `MIB_IPMCAST_MFE_STATS_EX` (84-byte fixed part).
    Extended,
}

/// `MIB_IPMCAST_MFE_STATS` / `_EX`: an MFE with its counters (times in hundredths of a second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MibMfeStats {
    /// Which layout this record encodes to.
    pub layout: StatsLayout,
    /// `dwGroup`.
    pub group: Ipv4Addr,
    /// `dwSource`.
    pub source: Ipv4Addr,
    /// `dwSrcMask`.
    pub source_mask: Ipv4Addr,
    /// `dwUpStrmNgbr`.
    pub upstream: Ipv4Addr,
    /// `dwInIfIndex`.
    pub iif: InterfaceId,
    /// `dwInIfProtocol`.
    pub iif_protocol: u32,
    /// Route fields.
    pub route: RouteInfo,
    /// `ulUpTime` in hundredths of a second.
    pub up_time_cs: u32,
    /// `ulExpiryTime` in hundredths of a second.
    pub expiry_cs: u32,
    /// Entry counters (the extended ones are encoded only in the extended layout).
    pub counters: MfeCounters,
    /// `rgmiosOutStats`: per-OIF counters.
    pub oifs: Vec<(InterfaceId, OifCounters)>,
}

impl MibMfeStats {
    /// Size of one `MIB_IPMCAST_OIF_STATS` (Vista+ layout).
    pub const OIF_SIZE: usize = 28;

    /// Fixed part size of `layout`.
    pub fn base_size(layout: StatsLayout) -> usize {
        match layout {
            StatsLayout::Basic => 64,
            StatsLayout::Extended => 84,
        }
    }

    /// `SIZEOF_MIB_MFE_STATS(n)` or its extended counterpart.
    pub fn encoded_len(&self) -> usize {
        Self::base_size(self.layout) + Self::OIF_SIZE * self.oifs.len()
    }

    /// Appends the Windows byte image.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_addr(out, self.group);
        put_addr(out, self.source);
        put_addr(out, self.source_mask);
        put_addr(out, self.upstream);
        put_u32(out, self.iif.index);
        put_u32(out, self.iif_protocol);
        put_u32(out, self.route.protocol);
        put_addr(out, self.route.network);
        put_addr(out, self.route.mask);
        put_u32(out, self.up_time_cs);
        put_u32(out, self.expiry_cs);
        put_u32(out, self.oifs.len() as u32);
        let c = &self.counters;
        for v in [
            c.in_packets,
            c.in_octets,
            c.pkts_different_if,
            c.queue_overflow,
        ] {
            put_u32(out, clamp(v));
        }
        if self.layout == StatsLayout::Extended {
            for v in [
                c.uninit_mfe,
                c.negative_mfe,
                c.in_discards,
                c.in_hdr_errors,
                c.total_out_packets,
            ] {
                put_u32(out, clamp(v));
            }
        }
        for (iface, o) in &self.oifs {
            put_u32(out, iface.index);
            put_addr(out, iface.next_hop);
            put_u32(out, 0); // dwDialContext
            for v in [o.ttl_too_low, o.frag_needed, o.out_packets, o.out_discards] {
                put_u32(out, clamp(v));
            }
        }
    }
}
