//! Stage 3: rewrite and replicate a packet to its outgoing ports.
//!
//! The header rewrite common to every copy (TTL - 1 with an incremental checksum update,
//! destination MAC from the group) is done once on the received packet before it is copied; each
//! copy then only gets its port's source MAC. The last copy is the received mbuf itself.
//! Extra copies of packets up to [`COPY_LIMIT`] bytes are copied whole (one small memcpy, no
//! shared state); larger ones get a private header mbuf (Ethernet + IPv4 header) chained to a
//! clone of the shared payload, on ports that can send chains. The limit comes from the
//! benchmark's packet-size scenario (fan-out 2, net_null sinks, 2026-11-29): at 512 B a whole
//! copy took 256-264 cycles per packet against ~300 with a header chain; at 1500 B the two tied
//! (362-388 vs 384-387), so larger packets keep sharing their payload, which spares memory
//! bandwidth at higher fan-outs.

use super::entry_counters::EntryCounts;
use super::{Counters, DropReason, Flow};
use crate::dpdk::{Mbuf, MbufStash, Mempool, TxQueue};

/// Packets up to this many bytes are copied whole; larger ones share their payload (measured,
/// see the module doc).
pub const COPY_LIMIT: u32 = 1024;
use crate::fib::Route;
use crate::wire::{ether, ipv4};
use std::net::Ipv4Addr;

/// The rewrite every forwarded copy gets: TTL - 1 (incremental checksum, RFC 1624) and the
/// destination MAC of the group (01:00:5e + low 23 bits, RFC 1112). `frame` must have passed
/// [`super::mcast_input::classify`].
#[inline]
pub fn rewrite_for_forwarding(frame: &mut [u8], group: u32) {
    frame[..6].copy_from_slice(&ether::multicast_mac(Ipv4Addr::from(group)).0);
    ipv4::Packet::new_unchecked(&mut frame[ether::HEADER_LEN..]).decrement_ttl();
}

/// Sets the source MAC of one copy to its outgoing port's address.
#[inline]
pub fn set_source_mac(frame: &mut [u8], mac: [u8; 6]) {
    frame[6..12].copy_from_slice(&mac);
}

/// What a worker needs to send copies.
pub struct Egress<'a> {
    /// Pool extra copies come from.
    pub pool: &'a Mempool,
    /// This worker's tx queue on every port, by port index.
    pub tx: &'a mut [TxQueue],
    /// Every port's MAC address, by port index.
    pub macs: &'a [[u8; 6]],
    /// The largest frame every port sends (MTU + Ethernet header), by port index.
    pub max_frames: &'a [u32],
    /// Whether each port can send chained mbufs, by port index.
    pub chains: &'a [bool],
    /// Fresh mbufs for this turn's copies (filled once per burst, emptied at the end of it).
    pub stash: &'a mut MbufStash,
}

/// Whole copies `route` will make of a `len`-byte packet beyond the received mbuf (an upper
/// bound: TTL thresholds may leave some out; packets over [`COPY_LIMIT`] may get header chains
/// instead, which take no stashed mbuf), for filling the stash once per burst.
#[inline]
pub fn extra_copies(route: &Route, len: u32) -> usize {
    if len > COPY_LIMIT {
        return 0;
    }
    route.oifs.len().saturating_sub(1)
}

/// Starts loading `route`'s OIF list (a batched lookup's last step) when it lives outside
/// the entry.
#[inline]
pub fn prefetch_oifs(route: &Route) {
    if let crate::fib::OifList::Shared(list) = &route.oifs {
        crate::dpdk::prefetch(list.as_ptr());
    }
}

/// The header of a packet leaving on one port, in one pass: destination MAC of the group, the
/// port's source MAC, TTL - 1 and the incremental checksum (what [`rewrite_for_forwarding`]
/// and [`set_source_mac`] do together). `frame` must have passed
/// [`super::mcast_input::classify`] (so it holds at least an Ethernet and an IPv4 header).
#[inline(always)]
pub fn rewrite_whole(frame: &mut [u8], group: u32, mac: [u8; 6]) {
    let Some(f) = frame.get_mut(..ether::HEADER_LEN + 12) else {
        return;
    };
    let g = group.to_be_bytes();
    let mut macs = [0u8; 12];
    macs[..6].copy_from_slice(&[0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]]);
    macs[6..].copy_from_slice(&mac);
    f[..12].copy_from_slice(&macs);
    let h = ether::HEADER_LEN;
    let ttl = f[h + 8];
    if ttl == 0 {
        return;
    }
    // RFC 1624 as in [`ipv4::Packet::decrement_ttl`]: the TTL is the high byte of word 4.
    let check = u32::from(u16::from_be_bytes([f[h + 10], f[h + 11]])) + 0x0100;
    let check = (check + u32::from(check >= 0xffff)) as u16;
    f[h + 10..h + 12].copy_from_slice(&check.to_be_bytes());
    f[h + 8] = ttl - 1;
}

/// Sends `m` (already classified as `flow`, with a TTL > 1) to every outgoing port of `route`
/// whose TTL threshold it passes. The common single-port case rewrites the header once and
/// sends the received mbuf; more ports go through [`replicate_many`].
#[inline(always)]
pub fn replicate(
    mut m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) {
    let [only] = &route.oifs[..] else {
        return replicate_many(m, flow, route, counts, out, c);
    };
    let port = usize::from(only.port);
    let Some(&mac) = out.macs.get(port) else {
        return c.drop(DropReason::NoOutgoing, 1);
    };
    if flow.ttl <= only.ttl_threshold {
        return c.drop(DropReason::NoOutgoing, 1);
    }
    match out.max_frames.get(port) {
        Some(&max) if m.pkt_len() <= max => {}
        _ => return c.drop(DropReason::MtuExceeded, 1),
    }
    rewrite_whole(m.data_mut(), flow.group, mac);
    send(out, counts, only.port, m, c);
}

/// [`replicate`] for entries with several outgoing ports.
#[inline(never)]
pub fn replicate_many(
    mut m: Mbuf,
    flow: &Flow,
    route: &Route,
    counts: EntryCounts<'_>,
    out: &mut Egress<'_>,
    c: &mut Counters,
) {
    let ports = out.tx.len();
    let len = m.pkt_len();
    let passes = |o: &crate::fib::Oif| flow.ttl > o.ttl_threshold && (o.port as usize) < ports;
    let fits = |o: &crate::fib::Oif| {
        out.max_frames
            .get(usize::from(o.port))
            .is_some_and(|&max| len <= max)
    };
    let eligible = |o: &&crate::fib::Oif| passes(o) && fits(o);
    // One pass for the last port that gets a copy (it takes the received mbuf) and the copies
    // the TTL thresholds allow but the port's MTU does not (counted, never sent).
    let (mut last, mut too_big) = (None, 0);
    for (k, o) in route.oifs.iter().enumerate() {
        if passes(o) {
            if fits(o) {
                last = Some(k);
            } else {
                too_big += 1;
            }
        }
    }
    if too_big > 0 {
        c.drop(DropReason::MtuExceeded, too_big);
    }
    let Some(last) = last else {
        if too_big == 0 {
            c.drop(DropReason::NoOutgoing, 1);
        }
        return;
    };
    rewrite_for_forwarding(m.data_mut(), flow.group);
    let share = m.pkt_len() > COPY_LIMIT;
    let header_len = ether::HEADER_LEN + usize::from(m.data()[ether::HEADER_LEN] & 0x0f) * 4;
    for oif in route.oifs[..last].iter().filter(eligible) {
        let copy = if share && out.chains[oif.port as usize] {
            m.header_chain(out.pool, header_len)
        } else {
            m.copy_one_segment(out.pool, out.stash)
        };
        let Some(mut copy) = copy else {
            c.drop(DropReason::NoMbuf, 1);
            continue;
        };
        set_source_mac(copy.header_mut(), out.macs[oif.port as usize]);
        send(out, counts, oif.port, copy, c);
    }
    let port = route.oifs[last].port;
    set_source_mac(m.header_mut(), out.macs[port as usize]);
    send(out, counts, port, m, c);
}

/// Queues one copy of an entry's packet on `port`, counting it there.
#[inline(always)]
fn send(out: &mut Egress<'_>, counts: EntryCounts<'_>, port: u16, m: Mbuf, c: &mut Counters) {
    c.tx_packets += 1;
    counts.count_out(port);
    let Some(q) = out.tx.get_mut(usize::from(port)) else {
        // Unreachable: callers check the port against the MAC table, one entry per tx queue.
        return c.unsent(1);
    };
    let unsent = q.push(m);
    if unsent != 0 {
        c.unsent(unsent as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build_udp_frame, EthernetAddress};

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
        for (ttl, check) in [(2u8, 0u16), (16, 0xfeff), (64, 0xffff), (255, 0x1234)] {
            let mut f = build_udp_frame(
                EthernetAddress([2, 0, 0, 0, 0, 9]),
                "10.0.1.2".parse().unwrap(),
                "239.129.2.3".parse().unwrap(),
                ttl,
                b"payload",
            );
            f[14 + 10..14 + 12].copy_from_slice(&check.to_be_bytes());
            let mut two = f.clone();
            let group = u32::from(Ipv4Addr::new(239, 129, 2, 3));
            rewrite_for_forwarding(&mut two, group);
            set_source_mac(&mut two, [2, 0, 0, 0, 0, 0x42]);
            rewrite_whole(&mut f, group, [2, 0, 0, 0, 0, 0x42]);
            assert_eq!(f, two, "ttl {ttl} checksum {check:#x}");
        }
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
