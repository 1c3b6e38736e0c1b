//! Stage 3: rewrite and replicate a packet to its outgoing ports.
//!
//! The header rewrite common to every copy (TTL - 1 with an incremental checksum update,
//! destination MAC from the group) is done once on the received packet before it is copied; each
//! copy then only gets its port's source MAC. The last copy is the received mbuf itself.
//! Extra copies of packets up to [`COPY_LIMIT`] bytes are copied whole (one memcpy, no shared
//! state); larger ones (jumbo frames) get a private header mbuf (Ethernet + IPv4 header)
//! chained to a clone of the shared payload, on ports that can send chains. The limit comes
//! from the benchmark's stage budget (net_pcap source, net_null sinks, cycles per received
//! packet, interleaved runs, 2026-12-07): with 1500-byte packets, whole copies took 509-545
//! cycles at fan-out 2 against 553-592 with header chains, 797-829 against 960-1044 at fan-out
//! 4, and 1482-1620 against 5236-5450 at fan-out 8 (a chain costs two allocations, a clone's
//! reference count and a detach at free, per copy). Until then (2026-11-29) the limit was
//! 1024 bytes, when 1500-byte copies and chains had tied at fan-out 2.

use super::entry_counters::EntryCounts;
use super::fragment::{self, Refused};
use super::{Counters, DropReason, Flow};
use crate::dpdk::{CopyWithMac, Mbuf, MbufStash, Mempool, TxQueue};
use std::sync::atomic::{AtomicU64, Ordering};

/// Packets up to this many bytes (every frame of a standard 1500-byte MTU) are copied whole;
/// larger ones share their payload (measured, see the module doc).
pub const COPY_LIMIT: u32 = 2048;
use crate::fib::Route;
use crate::wire::{ether, ipv4};
use std::net::Ipv4Addr;

/// The rewrite every forwarded copy gets: TTL - 1 (incremental checksum, RFC 1624) and the
/// destination MAC of the group (01:00:5e + low 23 bits, RFC 1112). `frame` must have passed
/// [`super::mcast_input::classify`].
#[inline(always)]
pub fn rewrite_for_forwarding(frame: &mut [u8], group: u32) {
    frame[..6].copy_from_slice(&ether::multicast_mac(Ipv4Addr::from(group)).0);
    ipv4::Packet::new_unchecked(&mut frame[ether::HEADER_LEN..]).decrement_ttl();
}

/// Sets the source MAC of one copy to its outgoing port's address.
#[inline]
pub fn set_source_mac(frame: &mut [u8], mac: [u8; 6]) {
    frame[6..12].copy_from_slice(&mac);
}

/// What a copy leaving on one port needs of it: one record per port, so a copy costs one
/// bounds check and one line for all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortOut {
    /// The port's MAC address, every copy's source MAC.
    pub mac: [u8; 6],
    /// Whether the port can send chained mbufs.
    pub chains: bool,
    /// The largest frame the port sends (its MTU plus the Ethernet header).
    pub max_frame: u32,
}

/// What a worker needs to send copies.
pub struct Egress<'a> {
    /// Pool extra copies come from.
    pub pool: &'a Mempool,
    /// This worker's tx queue on every port, by port index.
    pub tx: &'a mut [TxQueue],
    /// What a copy needs of its port, by port index.
    pub ports: &'a [PortOut],
    /// Fresh mbufs for this turn's copies (filled once per burst, emptied at the end of it).
    pub stash: &'a mut MbufStash,
    /// Packets up to this many bytes are copied whole, larger ones share their payload
    /// ([`COPY_LIMIT`] unless a test asks otherwise).
    pub copy_limit: u32,
    /// The largest packet every port takes whole and that is copied whole: the copy limit or
    /// the smallest port's largest frame, whichever is less (see [`whole_max`]).
    pub whole_max: u32,
    /// Fragments this worker sent, by slot (port index, or a VLAN interface's slot; written
    /// by this worker only).
    pub fragments: &'a [AtomicU64],
    /// The VLAN interfaces' ports and tags, by slot (see [`super::vlan`]).
    pub vlans: &'a super::vlan::VlanMap,
}

/// Fresh mbufs `route`'s copies of a `len`-byte packet take beyond the received mbuf, for
/// filling the stash once per burst: one per extra port for a whole copy, two (header and
/// indirect payload) for a header chain over `copy_limit`. An upper bound: TTL thresholds and
/// MTUs may leave some ports out, and ports that cannot send chains get one (a whole copy).
#[inline]
pub fn extra_copies(route: &Route, len: u32, copy_limit: u32) -> usize {
    let per_port = if len > copy_limit { 2 } else { 1 };
    route.oifs.len().saturating_sub(1) * per_port
}

/// Starts loading `route`'s OIF list (a batched lookup's last step) when it lives outside
/// the entry.
#[inline]
pub fn prefetch_oifs(route: &Route) {
    if let Some(list) = route.oifs.shared_ptr() {
        crate::dpdk::prefetch(list);
    }
}

/// The header of a packet leaving on one port, in one pass: destination MAC of the group, the
/// port's source MAC, TTL - 1 and the incremental checksum (what [`rewrite_for_forwarding`]
/// and [`set_source_mac`] do together). `frame` must have passed
/// [`super::mcast_input::classify`] (so it holds at least an Ethernet and an IPv4 header) with
/// a TTL above 1.
#[inline(always)]
pub fn rewrite_whole(frame: &mut [u8], group: u32, mac: [u8; 6]) {
    let Some(f) = frame.get_mut(..ether::HEADER_LEN + 12) else {
        return;
    };
    // Both MACs as two little-endian stores: bytes 0-7 are 01:00:5e, the group's low 23 bits
    // (big-endian) and the source MAC's first two bytes; bytes 8-11 the rest of it.
    let low23 = u64::from((group & 0x007f_ffff).swap_bytes());
    let head = 0x005e_0001 | low23 << 16 | u64::from(u16::from_le_bytes([mac[0], mac[1]])) << 48;
    let tail = u32::from_le_bytes([mac[2], mac[3], mac[4], mac[5]]);
    f[..8].copy_from_slice(&head.to_le_bytes());
    f[8..12].copy_from_slice(&tail.to_le_bytes());
    let h = ether::HEADER_LEN;
    let ttl = f[h + 8];
    // RFC 1624 as in [`ipv4::Packet::decrement_ttl`]: the TTL is the high byte of word 4.
    let check = u32::from(u16::from_be_bytes([f[h + 10], f[h + 11]])) + 0x0100;
    let check = (check + u32::from(check >= 0xffff)) as u16;
    f[h + 10..h + 12].copy_from_slice(&check.to_be_bytes());
    // Above 1 on the paths that call this (classified, TTL > 1); wrapping, so a frame that
    // broke the rule gets a wrong TTL, never a panic.
    f[h + 8] = ttl.wrapping_sub(1);
}

/// Sends `m` (already classified as `flow`, with a TTL > 1) to every outgoing port of `route`
/// whose TTL threshold it passes. The common single-port case rewrites the header once and
/// sends the received mbuf; more ports go through [`replicate_whole`] (every port takes the
/// packet whole) or else [`replicate_many`].
///
/// Returns the copies queued whole, which the caller adds to `c.tx_packets` (once per burst
/// on the fast path: a counter in memory per copy cost 4 instructions per packet); fragments
/// are counted in `c` here.
#[inline(always)]
#[must_use]
pub fn replicate(
    mut m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) -> u64 {
    let Some(only) = route.oifs.single() else {
        return match replicate_whole(m, flow, route, counts, out, c) {
            Ok(queued) => queued,
            Err(m) => replicate_many(m, flow, route, counts, out, c),
        };
    };
    let Some(&po) = out.ports.get(usize::from(only.port)) else {
        c.drop(DropReason::NoOutgoing, 1);
        return 0;
    };
    if flow.ttl <= only.ttl_threshold {
        c.drop(DropReason::NoOutgoing, 1);
        return 0;
    }
    rewrite_whole(m.data_mut(), flow.group, po.mac);
    if m.pkt_len() > po.max_frame {
        fragment_copy(&m, only.port, out, counts, c);
        return 0;
    }
    send(out, counts, only.port, m, c)
}

/// [`replicate`]'s common case for several outgoing ports, inline in the burst loop (as a
/// call of its own, its prologue, spills and epilogue were ~25 instructions per packet at
/// fan-out 2): every port takes the packet whole and it is small enough to copy (one segment,
/// as the classifier lets through): the rewrite with the last port's source MAC, a copy to
/// each port but the last (its own MAC written with the copy), the received mbuf to the
/// last; the same sends in the same order as [`replicate_many`]'s loop, without its per-port
/// decisions. Gives `m` back for [`replicate_many`] when the case does not hold.
#[inline(always)]
fn replicate_whole(
    mut m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) -> Result<u64, Mbuf> {
    let whole = m.pkt_len() <= out.whole_max && flow.ttl > route.oifs.max_threshold();
    let (true, 1, Some((last, rest))) = (whole, m.nb_segs(), route.oifs.split_last()) else {
        return Err(m);
    };
    let Some(po) = out.ports.get(usize::from(last.port)) else {
        return Err(m);
    };
    rewrite_whole(m.data_mut(), flow.group, po.mac);
    // A minimum-size frame (one line) is copied without a choice per copy; fan-out 2 (the
    // commonest after 1) makes its one copy as straight-line code, without the loop's set-up.
    let copies = match (m.line_source(), rest) {
        (Some(line), [one]) => copy_to_each(&line, std::slice::from_ref(one), counts, out, c),
        (Some(line), _) => copy_to_each(&line, rest, counts, out, c),
        (None, _) => match m.copy_source() {
            Some(src) => copy_to_each(&src, rest, counts, out, c),
            None => 0,
        },
    };
    Ok(copies + send(out, counts, last.port, m, c))
}

/// [`replicate`] for entries with several outgoing ports that [`replicate_whole`] did not
/// take, in one pass over the list: the header rewrite every copy shares is done first; each
/// port that gets a whole copy waits until the next such port is found, so the last one
/// takes the received mbuf without a pass ahead to find it. Ports whose MTU the packet
/// exceeds get fragments at once (from the received mbuf, still ours). (Two passes, the
/// first to find the last port, took 316 instructions per packet at fan-out 2 against 252
/// for this one: callgrind, the benchmark's fan-out 2 configuration, copies excluded.)
#[inline(never)]
#[must_use]
pub fn replicate_many(
    mut m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) -> u64 {
    let len = m.pkt_len();
    rewrite_for_forwarding(m.data_mut(), flow.group);
    let (mut waiting, mut fragmented, mut queued) = (None, false, 0);
    for o in route.oifs.iter() {
        if flow.ttl <= o.ttl_threshold {
            continue;
        }
        // A port out of range (never, the control core checks) gets nothing.
        let Some(po) = out.ports.get(usize::from(o.port)) else {
            continue;
        };
        if len > po.max_frame {
            fragment_copy(&m, o.port, out, counts, c);
            fragmented = true;
        } else if let Some(port) = waiting.replace(o.port) {
            queued += copy_to(&m, port, out, counts, c);
        }
    }
    match waiting {
        Some(port) => {
            if let Some(po) = out.ports.get(usize::from(port)) {
                set_source_mac(m.header_mut(), po.mac);
            }
            queued + send(out, counts, port, m, c)
        }
        // Fragments only: the received mbuf is freed here.
        None if fragmented => queued,
        None => {
            c.drop(DropReason::NoOutgoing, 1);
            queued
        }
    }
}

/// [`Egress::whole_max`] for these ports and copy limit.
pub fn whole_max(ports: &[PortOut], copy_limit: u32) -> u32 {
    ports.iter().fold(copy_limit, |m, p| m.min(p.max_frame))
}

/// A whole copy of `src` (a packet rewritten for forwarding, which every port of `oifs`
/// takes whole: its TTL passes their thresholds, it fits their MTUs) to each port of `oifs`,
/// with the port's source MAC. Returns the copies queued.
#[inline(always)]
fn copy_to_each(
    src: &impl CopyWithMac,
    oifs: &[crate::fib::Oif],
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) -> u64 {
    let mut queued = 0;
    for o in oifs {
        let Some(&po) = out.ports.get(usize::from(o.port)) else {
            continue;
        };
        let Some(copy) = src.copy_with_source_mac(out.pool, out.stash, po.mac) else {
            c.drop(DropReason::NoMbuf, 1);
            continue;
        };
        // What [`send`] does, with the packets counted once for all ports (calling `send`
        // per copy cost 3.7 instructions more per copy: callgrind, fan-out 4, 64 B).
        queued += 1;
        counts.count_out(o.port);
        let Some(q) = out.tx.get_mut(usize::from(o.port)) else {
            c.unsent(1);
            continue;
        };
        let unsent = q.push(copy);
        if unsent != 0 {
            c.unsent(unsent as u64);
        }
    }
    queued
}

/// One whole copy of `m` (rewritten for forwarding) onto `port`: copied outright up to the
/// copy limit, a private header chained to the shared payload above it where the port can
/// send chains. Returns the copies queued (0 or 1).
#[inline(always)]
fn copy_to(
    m: &Mbuf,
    port: u16,
    out: &mut Egress<'_>,
    counts: EntryCounts<'_>,
    c: &mut Counters,
) -> u64 {
    let Some(&po) = out.ports.get(usize::from(port)) else {
        return 0;
    };
    let chain = m.pkt_len() > out.copy_limit && po.chains;
    let copy = if chain {
        let header_len = ether::HEADER_LEN + usize::from(m.data()[ether::HEADER_LEN] & 0x0f) * 4;
        m.header_chain(out.pool, out.stash, header_len)
    } else {
        m.copy_one_segment(out.pool, out.stash)
    };
    let Some(mut copy) = copy else {
        c.drop(DropReason::NoMbuf, 1);
        return 0;
    };
    set_source_mac(copy.header_mut(), po.mac);
    send(out, counts, port, copy, c)
}

/// Sends one copy of `m` (rewritten for forwarding), which is larger than `port`'s MTU, as
/// fragments that fit it (RFC 791; [`fragment`]), each with the port's source MAC. Don't
/// Fragment set: not sent, counted `mtu_exceeded` (no ICMP for multicast, RFC 1812
/// 4.3.2.7). The copy counts once for its entry's outgoing interface; each fragment counts
/// as a packet sent and in the port's fragment counter. When the pool runs dry part way,
/// the fragments already queued go (the receiver will drop the incomplete datagram) and the
/// copy is counted `fragment_no_mbuf`.
#[cold]
#[inline(never)]
fn fragment_copy(
    m: &Mbuf,
    port: u16,
    out: &mut Egress<'_>,
    counts: EntryCounts<'_>,
    c: &mut Counters,
) {
    let p = usize::from(port);
    let Some(&PortOut { max_frame: max, .. }) = out.ports.get(p) else {
        return c.drop(DropReason::NoOutgoing, 1);
    };
    fragment_to(
        m,
        Target {
            slot: port,
            port,
            max,
            tag: None,
        },
        out,
        counts,
        c,
    );
}

/// Where one copy goes: the slot it counts for, the port it leaves on, the largest untagged
/// frame it may be, and the tag it takes on a VLAN interface.
#[derive(Clone, Copy)]
struct Target {
    slot: u16,
    port: u16,
    max: u32,
    tag: Option<[u8; super::vlan::TAG_LEN]>,
}

/// [`fragment_copy`] to any interface, a VLAN interface's included (each fragment tagged).
#[cold]
#[inline(never)]
fn fragment_to(
    m: &Mbuf,
    to: Target,
    out: &mut Egress<'_>,
    counts: EntryCounts<'_>,
    c: &mut Counters,
) {
    let (port, max, p) = (to.slot, to.max, usize::from(to.port));
    let (Some(&PortOut { mac, .. }), true) = (out.ports.get(p), p < out.tx.len()) else {
        return c.drop(DropReason::NoOutgoing, 1);
    };
    // The packet is one segment: the classifier counts a chained one (a frame larger than
    // the mbufs, which only some drivers receive at all) as a bad header.
    let frame = m.data();
    let max = (max as usize).min(out.pool.data_room());
    let (pool, mut no_mbuf) = (out.pool, false);
    let tx = &mut out.tx[p];
    let mut unsent = 0;
    let result = fragment::split(frame, max, |header, payload| {
        let Some(mut f) = Mbuf::alloc(pool) else {
            no_mbuf = true;
            return false;
        };
        if !(f.append(header) && f.append(payload)) {
            no_mbuf = true;
            return false;
        }
        set_source_mac(f.header_mut(), mac);
        if let Some(tag) = to.tag {
            if !f.insert_front(super::vlan::TAG_AT, &tag) {
                no_mbuf = true;
                return false;
            }
        }
        unsent += tx.push(f);
        true
    });
    match result {
        Ok(n) => {
            c.queued(u64::from(n));
            if unsent != 0 {
                c.unsent(unsent as u64);
            }
            if no_mbuf {
                c.drop(DropReason::FragmentNoMbuf, 1);
            }
            if n > 0 {
                counts.count_out(port);
                // Written by this worker only: a load and a store, no read-modify-write.
                if let Some(a) = out.fragments.get(usize::from(port)) {
                    a.store(a.load(Ordering::Relaxed) + u64::from(n), Ordering::Relaxed);
                }
            }
        }
        Err(Refused::DontFragment) => c.drop(DropReason::MtuExceeded, 1),
        Err(Refused::Impossible) => c.drop(DropReason::FragmentRefused, 1),
    }
}

/// The copies of a flagged entry's packet: tagged ones where it has VLAN interfaces.
pub fn flagged(
    m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) {
    if route.flags.contains(crate::fib::EntryFlags::TAGGED_OIFS) {
        replicate_tagged(m, flow, route, counts, out, c)
    } else {
        let queued = replicate(m, flow, route, counts, out, c);
        c.queued(queued);
    }
}

/// [`replicate`] for an entry flagged [`crate::fib::EntryFlags::TAGGED_OIFS`] (reached
/// through the workers' flagged path, never the fast one): every outgoing interface, a port's
/// untagged one or a VLAN interface's slot (see [`super::vlan`]), gets a copy of its own with
/// its port's source MAC and, on a VLAN interface, its tag, or its fragments when the copy is
/// larger than the interface's MTU (the tag's 4 bytes are not part of the MTU). As on the
/// fast path, the last interface the packet fits whole gets the received mbuf itself (its
/// tag goes into the headroom), after the others' copies were made from it: with one tagged
/// interface, an allocation and a free less per packet (stage budget, 64 B, untagged in, one
/// VLAN interface out, 3 runs each on the shared machine, 2026-12-07: the replicate stage took
/// 149-168 cycles per packet copying, 94-113 with the received mbuf; 22-25 for the same
/// traffic to an untagged interface on the fast path).
#[cold]
#[inline(never)]
pub fn replicate_tagged(
    mut m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) {
    if !route
        .oifs
        .iter()
        .any(|o| target(o, flow.ttl, out).is_some())
    {
        return c.drop(DropReason::NoOutgoing, 1);
    }
    rewrite_for_forwarding(m.data_mut(), flow.group);
    let len = m.pkt_len();
    let last = route
        .oifs
        .iter()
        .rposition(|o| target(o, flow.ttl, out).is_some_and(|t| len <= t.max));
    let share = len > out.copy_limit;
    let header_len = ether::HEADER_LEN + usize::from(m.data()[ether::HEADER_LEN] & 0x0f) * 4;
    for (k, o) in route.oifs.iter().enumerate() {
        let Some(to) = target(o, flow.ttl, out).filter(|_| Some(k) != last) else {
            continue;
        };
        if m.pkt_len() > to.max {
            fragment_to(&m, to, out, counts, c);
            continue;
        }
        let copy = if share
            && out
                .ports
                .get(usize::from(to.port))
                .is_some_and(|po| po.chains)
        {
            m.header_chain(out.pool, out.stash, header_len)
        } else {
            m.copy_one_segment(out.pool, out.stash)
        };
        let Some(copy) = copy else {
            c.drop(DropReason::NoMbuf, 1);
            continue;
        };
        send_to(out, counts, to, copy, c);
    }
    if let Some(to) = last.and_then(|k| target(&route.oifs[k], flow.ttl, out)) {
        send_to(out, counts, to, m, c);
    }
}

/// Where the copy for `o` goes, if the packet's TTL passes its threshold and it names a port
/// or a VLAN interface.
fn target(o: &crate::fib::Oif, ttl: u8, out: &Egress<'_>) -> Option<Target> {
    if ttl <= o.ttl_threshold {
        return None;
    }
    if usize::from(o.port) < out.tx.len() {
        return Some(Target {
            slot: o.port,
            port: o.port,
            max: out.ports.get(usize::from(o.port))?.max_frame,
            tag: None,
        });
    }
    let v = out.vlans.out(o.port)?;
    Some(Target {
        slot: o.port,
        port: v.port,
        max: v.max_frame,
        tag: Some(v.tag),
    })
}

/// Sets the source MAC of `to`'s port on a copy (rewritten for forwarding), puts in its
/// tag if it has one, and queues it on the port, counting it for its slot.
fn send_to(
    out: &mut Egress<'_>,
    counts: EntryCounts<'_>,
    to: Target,
    mut m: Mbuf,
    c: &mut Counters,
) {
    let Some(&PortOut { mac, .. }) = out.ports.get(usize::from(to.port)) else {
        return c.drop(DropReason::NoOutgoing, 1);
    };
    set_source_mac(m.header_mut(), mac);
    if let Some(tag) = to.tag {
        if !m.insert_front(super::vlan::TAG_AT, &tag) {
            return c.drop(DropReason::NoMbuf, 1);
        }
    }
    let Some(q) = out.tx.get_mut(usize::from(to.port)) else {
        return c.drop(DropReason::NoOutgoing, 1);
    };
    c.queued(1);
    counts.count_out(to.slot);
    let unsent = q.push(m);
    if unsent != 0 {
        c.unsent(unsent as u64);
    }
}

/// Queues one copy of an entry's packet on `port`, counting it on the entry's port; returns
/// 1, the copy the caller adds to `c.tx_packets` (see [`replicate`]).
#[inline(always)]
fn send(
    out: &mut Egress<'_>,
    counts: EntryCounts<'_>,
    port: u16,
    m: Mbuf,
    c: &mut Counters,
) -> u64 {
    counts.count_out(port);
    let Some(q) = out.tx.get_mut(usize::from(port)) else {
        // Unreachable: callers check the port against the MAC table, one entry per tx queue.
        c.drop(DropReason::TxFull, 1);
        return 0;
    };
    let unsent = q.push(m);
    if unsent != 0 {
        c.unsent(unsent as u64);
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build_udp_frame, EthernetAddress};

    #[test]
    fn the_whole_copy_limit_is_the_least_of_the_copy_limit_and_every_ports_largest_frame() {
        let port = |max_frame| PortOut {
            mac: [2, 0, 0, 0, 0, 1],
            chains: true,
            max_frame,
        };
        assert_eq!(whole_max(&[], 2048), 2048);
        assert_eq!(whole_max(&[port(1514), port(9014)], 2048), 1514);
        assert_eq!(whole_max(&[port(9014), port(9014)], 2048), 2048);
        assert_eq!(whole_max(&[port(9014), port(590)], 2048), 590);
    }

    #[test]
    fn rewrite_decrements_ttl_keeps_checksum_valid_and_sets_group_mac() {
        let mut f = build_udp_frame(
            EthernetAddress([2, 0, 0, 0, 0, 9]),
            "10.0.1.2".parse().unwrap(),
            "239.129.2.3".parse().unwrap(),
            16,
            b"payload",
        );
        // A sender with a wrong destination MAC still gets the group's MAC on the way out.
        f[..6].copy_from_slice(&[0xff; 6]);
        let before = f.clone();
        rewrite_for_forwarding(&mut f, u32::from(Ipv4Addr::new(239, 129, 2, 3)));
        set_source_mac(&mut f, [2, 0, 0, 0, 0, 0x42]);
        assert_eq!(&f[..6], &[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 0x42]);
        let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
        assert_eq!(ip.ttl(), 15);
        assert!(ip.verify_checksum());
        // Nothing else changed: only MACs, TTL and checksum bytes differ.
        for (i, (a, b)) in before.iter().zip(&f).enumerate() {
            if !(i < 12 || i == 14 + 8 || i == 14 + 10 || i == 14 + 11) {
                assert_eq!(a, b, "byte {i} changed");
            }
        }
    }

    #[test]
    fn the_one_pass_rewrite_is_the_two_step_rewrite() {
        // Every TTL, checksums across the range and at the end-around-carry edge, MAC and
        // group bytes all distinct (so a byte-order slip shows).
        let mac = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc];
        let group = u32::from(Ipv4Addr::new(239, 129, 0xa2, 0xc3));
        let checks = (0..=0xffffu32).step_by(0x0101).chain(0xfefe..=0xffff);
        let mut cases = 0;
        for check in checks.map(|c| c as u16) {
            for ttl in 2..=255u8 {
                let mut f = build_udp_frame(
                    EthernetAddress([2, 0, 0, 0, 0, 9]),
                    "10.0.1.2".parse().unwrap(),
                    Ipv4Addr::from(group),
                    ttl,
                    b"payload",
                );
                f[14 + 10..14 + 12].copy_from_slice(&check.to_be_bytes());
                let mut two = f.clone();
                rewrite_for_forwarding(&mut two, group);
                set_source_mac(&mut two, mac);
                rewrite_whole(&mut f, group, mac);
                assert_eq!(f, two, "ttl {ttl} checksum {check:#x}");
                cases += 1;
            }
        }
        assert_eq!(cases, (256 + 258) * 254);
    }

    #[test]
    fn rewrite_matches_full_recompute_for_every_ttl() {
        for ttl in 2..=255u8 {
            let mut f = build_udp_frame(
                EthernetAddress([2, 0, 0, 0, 0, 9]),
                "192.168.77.1".parse().unwrap(),
                "232.1.2.3".parse().unwrap(),
                ttl,
                &[ttl; 40],
            );
            rewrite_for_forwarding(&mut f, u32::from(Ipv4Addr::new(232, 1, 2, 3)));
            let mut expect = f.clone();
            ipv4::Packet::new_unchecked(&mut expect[14..]).fill_checksum();
            assert_eq!(f, expect, "ttl {ttl}");
            assert_eq!(f[14 + 8], ttl - 1);
        }
    }
}
