//! Stage 1: is this frame a multicast IPv4 packet we may forward, and what is its flow?
//!
//! Pure function over the frame's bytes (tested without DPDK). Only the first mbuf segment is
//! looked at; every header we need lives there for any frame a PMD delivers.

use super::DropReason;
use crate::wire::{ether, ipv4};

/// The parts of a packet that routing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Source address, host order.
    pub source: u32,
    /// Group (destination) address, host order.
    pub group: u32,
    /// TTL as received.
    pub ttl: u8,
}

/// Classifies one frame: the flow to look up, or why it cannot be forwarded.
///
/// Order decides which counter a bad packet lands in: the Ethernet type first, then the IPv4
/// lengths and the header checksum (a broken header is a bad header whatever its destination
/// says, so the destination is believed only after the checksum), then the destination.
#[inline]
pub fn classify(frame: &[u8]) -> Result<Flow, DropReason> {
    let Ok(eth) = ether::Frame::new_checked(frame) else {
        return Err(DropReason::BadHeader);
    };
    if eth.ethertype() != ether::ETHERTYPE_IPV4 {
        return Err(DropReason::NotIpv4);
    }
    let Ok(ip) = ipv4::Packet::new_checked(eth.payload()) else {
        return Err(DropReason::BadHeader);
    };
    if !ip.verify_checksum() {
        return Err(DropReason::BadHeader);
    }
    let group = ip.dst_u32();
    // 224.0.0.0/4
    if group >> 28 != 0xe {
        return Err(DropReason::NotMulticast);
    }
    // 224.0.0.0/24 is link-local (RFC 5771), IGMP and PIM are control: never forwarded.
    if group >> 8 == 0xe0_00_00 || matches!(ip.protocol(), ipv4::PROTOCOL_IGMP | ipv4::PROTOCOL_PIM)
    {
        return Err(DropReason::LocalControl);
    }
    Ok(Flow {
        source: ip.src_u32(),
        group,
        ttl: ip.ttl(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build_udp_frame, EthernetAddress};
    use std::net::Ipv4Addr;

    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

    fn frame(src: &str, dst: &str, ttl: u8) -> Vec<u8> {
        build_udp_frame(
            MAC,
            src.parse().unwrap(),
            dst.parse().unwrap(),
            ttl,
            b"hello",
        )
    }

    fn refill_checksum(f: &mut [u8]) {
        let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
        ip.fill_checksum();
    }

    #[test]
    fn multicast_udp_gives_its_flow() {
        let f = frame("10.0.1.2", "239.1.1.1", 16);
        let flow = classify(&f).unwrap();
        assert_eq!(Ipv4Addr::from(flow.source), Ipv4Addr::new(10, 0, 1, 2));
        assert_eq!(Ipv4Addr::from(flow.group), Ipv4Addr::new(239, 1, 1, 1));
        assert_eq!(flow.ttl, 16);
    }

    #[test]
    fn ttl_0_and_1_still_classify_the_ttl_stage_drops_them() {
        assert_eq!(classify(&frame("10.0.1.2", "239.1.1.1", 1)).unwrap().ttl, 1);
        assert_eq!(classify(&frame("10.0.1.2", "239.1.1.1", 0)).unwrap().ttl, 0);
    }

    #[test]
    fn unicast_is_not_multicast() {
        assert_eq!(
            classify(&frame("10.0.1.2", "10.0.2.2", 16)),
            Err(DropReason::NotMulticast)
        );
        assert_eq!(
            classify(&frame("10.0.1.2", "255.255.255.255", 16)),
            Err(DropReason::NotMulticast)
        );
    }

    #[test]
    fn link_local_and_control_protocols_are_local() {
        assert_eq!(
            classify(&frame("10.0.1.2", "224.0.0.251", 1)),
            Err(DropReason::LocalControl)
        );
        let mut igmp = frame("10.0.1.2", "239.1.1.1", 1);
        igmp[14 + 9] = ipv4::PROTOCOL_IGMP;
        refill_checksum(&mut igmp);
        assert_eq!(classify(&igmp), Err(DropReason::LocalControl));
        let mut pim = frame("10.0.1.2", "239.1.1.1", 1);
        pim[14 + 9] = ipv4::PROTOCOL_PIM;
        refill_checksum(&mut pim);
        assert_eq!(classify(&pim), Err(DropReason::LocalControl));
    }

    #[test]
    fn non_ipv4_ethertypes() {
        let mut arp = frame("10.0.1.2", "239.1.1.1", 16);
        arp[12..14].copy_from_slice(&ether::ETHERTYPE_ARP.to_be_bytes());
        assert_eq!(classify(&arp), Err(DropReason::NotIpv4));
        let mut vlan = frame("10.0.1.2", "239.1.1.1", 16);
        vlan[12..14].copy_from_slice(&ether::ETHERTYPE_VLAN.to_be_bytes());
        assert_eq!(classify(&vlan), Err(DropReason::NotIpv4));
    }

    #[test]
    fn truncated_frames_at_every_length_are_bad_headers() {
        let f = frame("10.0.1.2", "239.1.1.1", 16);
        for len in 0..14 + 20 {
            assert_eq!(
                classify(&f[..len]),
                Err(DropReason::BadHeader),
                "length {len}"
            );
        }
    }

    #[test]
    fn bad_checksum_version_ihl_and_total_length_are_bad_headers() {
        let good = frame("10.0.1.2", "239.1.1.1", 16);
        let mut bad_sum = good.clone();
        bad_sum[14 + 10] ^= 0x01;
        assert_eq!(classify(&bad_sum), Err(DropReason::BadHeader));

        let mut v6 = good.clone();
        v6[14] = 0x65;
        assert_eq!(classify(&v6), Err(DropReason::BadHeader));

        let mut short_ihl = good.clone();
        short_ihl[14] = 0x44;
        assert_eq!(classify(&short_ihl), Err(DropReason::BadHeader));

        let mut huge_total = good.clone();
        huge_total[14 + 2..14 + 4].copy_from_slice(&1500u16.to_be_bytes());
        refill_checksum(&mut huge_total);
        assert_eq!(classify(&huge_total), Err(DropReason::BadHeader));
    }

    #[test]
    fn options_and_fragments_are_forwarded_as_they_are() {
        // IHL 6 with a 4-byte NOP/EOL option: shift the payload and fix the lengths.
        let good = frame("10.0.1.2", "239.1.1.1", 16);
        let mut opt = good[..14 + 20].to_vec();
        opt.extend_from_slice(&[1, 1, 1, 0]);
        opt.extend_from_slice(&good[14 + 20..]);
        opt[14] = 0x46;
        let total = u16::from_be_bytes([good[16], good[17]]) + 4;
        opt[16..18].copy_from_slice(&total.to_be_bytes());
        refill_checksum(&mut opt);
        assert_eq!(classify(&opt).unwrap().ttl, 16);

        let mut frag = good.clone();
        frag[14 + 6] = 0x20; // MF
        refill_checksum(&mut frag);
        assert!(classify(&frag).is_ok());
    }
}
