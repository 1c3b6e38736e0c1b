//! Frames for the generator and for the harness's pcap sources.

use dataplane::wire::{build_udp_frame, EthernetAddress};
use std::net::Ipv4Addr;

/// Source MAC of generated frames (locally administered).
pub const GEN_MAC: EthernetAddress = EthernetAddress([0x02, 0x6d, 0x67, 0, 0, 1]);

/// One stream's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    /// IPv4 source.
    pub source: Ipv4Addr,
    /// Multicast group (destination).
    pub group: Ipv4Addr,
    /// IPv4 TTL.
    pub ttl: u8,
    /// Frame size on the wire including the 4-byte FCS, as pktgen counts it (64 = minimum);
    /// the buffer is `size - 4` bytes (4 more with a VLAN tag).
    pub size: u16,
    /// 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
}

/// Smallest and largest `size` the generator builds (64 B to a 1518 B Ethernet frame).
pub const MIN_SIZE: u16 = 64;
/// See [`MIN_SIZE`].
pub const MAX_SIZE: u16 = 1518;

/// The frame of `spec` with a zero stamp area and a zero UDP checksum (see [`crate::stamp`]).
pub fn template(spec: &FrameSpec) -> Vec<u8> {
    let size = spec.size.clamp(MIN_SIZE, MAX_SIZE) as usize;
    // Ethernet 14 + IPv4 20 + UDP 8 = 42 bytes of headers before the payload.
    let payload_len = (size - 4 - 42).max(crate::stamp::LEN);
    let mut f = build_udp_frame(
        GEN_MAC,
        spec.source,
        spec.group,
        spec.ttl,
        &vec![0u8; payload_len],
    );
    // UDP checksum 0: the stamp changes per packet.
    f[40] = 0;
    f[41] = 0;
    if let Some(vid) = spec.vlan {
        let tci = (vid & 0x0fff).to_be_bytes();
        f.splice(12..12, [0x81, 0x00, tci[0], tci[1]]);
    }
    f
}

/// `count` frames for a pcap source: `sources` x `groups` combinations taken round-robin
/// (source i, group j for frame k = i * groups + j, wrapping), without stamps.
pub fn pcap_frames(
    first_source: Ipv4Addr,
    sources: u32,
    first_group: Ipv4Addr,
    groups: u32,
    size: u16,
    count: usize,
) -> Vec<Vec<u8>> {
    let combos = u64::from(sources.max(1)) * u64::from(groups.max(1));
    (0..count as u64)
        .map(|k| {
            let c = k % combos;
            let (i, j) = (c / u64::from(groups.max(1)), c % u64::from(groups.max(1)));
            template(&FrameSpec {
                source: add(first_source, i as u32),
                group: add(first_group, j as u32),
                ttl: 64,
                size,
                vlan: None,
            })
        })
        .collect()
}

/// An IGMPv2 Membership Report for `group` (`leave`: a Leave Group to 224.0.0.2) from host
/// `host`, as a Linux host sends it: TTL 1, a Router Alert option, padded to the 60-byte
/// Ethernet minimum. The soak scenario's membership churn.
pub fn igmp_v2(host: Ipv4Addr, group: Ipv4Addr, leave: bool) -> Vec<u8> {
    use dataplane::wire::{ether, igmp, ipv4};
    let msg = if leave {
        igmp::Repr::LeaveV2 { group }
    } else {
        igmp::Repr::ReportV2 { group }
    };
    let dst = if leave { igmp::ALL_ROUTERS } else { group };
    let ip_at = ether::HEADER_LEN;
    let igmp_at = ip_at + ipv4::ROUTER_ALERT_HEADER_LEN;
    let mut f = vec![0u8; (igmp_at + msg.buffer_len()).max(60)];
    ether::Repr {
        src: GEN_MAC,
        dst: ether::multicast_mac(dst),
        ethertype: ether::ETHERTYPE_IPV4,
    }
    .emit(&mut ether::Frame::new_unchecked(&mut f[..]));
    ipv4::Repr {
        src_addr: host,
        dst_addr: dst,
        protocol: ipv4::PROTOCOL_IGMP,
        payload_len: msg.buffer_len(),
        ttl: 1,
        dscp_ecn: 0xc0,
    }
    .emit_with_router_alert(&mut ipv4::Packet::new_unchecked(&mut f[ip_at..]));
    msg.emit(&mut igmp::Packet::new_unchecked(&mut f[igmp_at..]));
    f
}

/// `a + n` as addresses.
pub fn add(a: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(a).wrapping_add(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (size, len) in [(64, 60), (256, 252), (512, 508), (1500, 1496), (1518, 1514)] {
            let f = template(&FrameSpec {
                source: Ipv4Addr::new(10, 0, 1, 2),
                group: Ipv4Addr::new(239, 1, 1, 1),
                ttl: 8,
                size,
                vlan: None,
            });
            assert_eq!(f.len(), len, "size {size}");
            // IPv4 total length = frame - 14.
            assert_eq!(u16::from_be_bytes([f[16], f[17]]) as usize, len - 14);
        }
    }

    #[test]
    fn igmp_v2_report_and_leave_parse_back() {
        use dataplane::wire::{igmp, ipv4};
        let (host, group) = (Ipv4Addr::new(10, 0, 2, 2), Ipv4Addr::new(239, 3, 0, 7));
        for leave in [false, true] {
            let f = igmp_v2(host, group, leave);
            assert_eq!(f.len(), 60);
            let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
            let r = ipv4::Repr::parse(&ip).unwrap();
            assert_eq!(
                (r.src_addr, r.ttl, r.protocol),
                (host, 1, ipv4::PROTOCOL_IGMP)
            );
            assert!(ip.has_router_alert());
            let m = igmp::Repr::parse(&igmp::Packet::new_checked(ip.payload()).unwrap()).unwrap();
            if leave {
                assert_eq!(r.dst_addr, igmp::ALL_ROUTERS);
                assert_eq!(m, igmp::Repr::LeaveV2 { group });
                assert_eq!(&f[..6], &[0x01, 0x00, 0x5e, 0, 0, 2]);
            } else {
                assert_eq!(r.dst_addr, group);
                assert_eq!(m, igmp::Repr::ReportV2 { group });
                assert_eq!(&f[..6], &[0x01, 0x00, 0x5e, 3, 0, 7]);
            }
        }
    }

    #[test]
    fn pcap_frames_spread_over_combinations() {
        let f = pcap_frames(
            Ipv4Addr::new(10, 0, 0, 1),
            2,
            Ipv4Addr::new(239, 0, 0, 1),
            3,
            64,
            7,
        );
        let pairs: Vec<(u8, u8)> = f.iter().map(|x| (x[29], x[33])).collect();
        assert_eq!(
            pairs,
            vec![(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (1, 1)]
        );
    }
}
