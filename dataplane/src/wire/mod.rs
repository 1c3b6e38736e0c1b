//! Packet formats: zero-copy views and owned representations, in the style of smoltcp's
//! `src/wire/`.
//!
//! One file per format. Each has a view (`Frame<T>` / `Packet<T>`) over any
//! `T: AsRef<[u8]>` (an mbuf's data, a `Vec<u8>`, a slice) with `new_checked`, `check_len`,
//! plain-name getters and `set_*` setters, and a `Repr` with `parse`, `emit` and `buffer_len`
//! for control code that wants owned values.
//!
//! The hot path uses views only; once `new_checked` (or `check_len`) has returned `Ok`, no getter
//! of that view panics. Only `new_unchecked` views may panic on a short buffer.
//!
//! This module is std-only and free of `unsafe`: it is shared by the data plane and the control
//! core.

use std::fmt;
use std::net::Ipv4Addr;

pub mod ether;
pub mod igmp;
pub mod ipv4;
pub mod pim;

pub use ether::EthernetAddress;

/// Why a buffer was rejected as a packet of some format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the fixed header of the format.
    Truncated,
    /// The IP version field is not 4.
    BadVersion,
    /// The IPv4 header length (IHL) is below 5 words or runs past the buffer.
    BadHeaderLen,
    /// The IPv4 total length is shorter than the header or longer than the buffer.
    BadTotalLen,
    /// The header checksum does not verify.
    BadChecksum,
    /// The IPv4 packet is a fragment (MF set or non-zero offset); a `Repr` describes only whole
    /// datagrams.
    Fragment,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "buffer shorter than the header",
            Error::BadVersion => "IP version is not 4",
            Error::BadHeaderLen => "IPv4 header length below 20 bytes or past the buffer",
            Error::BadTotalLen => "IPv4 total length below the header length or past the buffer",
            Error::BadChecksum => "header checksum does not verify",
            Error::Fragment => "IPv4 fragment",
        })
    }
}

impl std::error::Error for Error {}

/// UDP source port used by [`build_udp_frame`].
pub const TEST_UDP_SRC_PORT: u16 = 5000;
/// UDP destination port used by [`build_udp_frame`].
pub const TEST_UDP_DST_PORT: u16 = 5001;
/// Shortest Ethernet frame without FCS; shorter frames are padded with zeros.
pub const ETHERNET_MIN_FRAME_LEN: usize = 60;

/// Build a complete Ethernet/IPv4/UDP multicast frame, for tests and the traffic generator.
///
/// Destination MAC is [`ether::multicast_mac`] of `group`; UDP ports are
/// [`TEST_UDP_SRC_PORT`] -> [`TEST_UDP_DST_PORT`]; the IPv4 header is 20 bytes with a valid
/// checksum, ident 0, DF clear; the UDP checksum is computed (RFC 768). The frame is padded with
/// zeros to [`ETHERNET_MIN_FRAME_LEN`] bytes.
///
/// # Panics
/// If `payload` is longer than 65,507 bytes (the most a single IPv4 datagram can carry over UDP).
pub fn build_udp_frame(
    src_mac: EthernetAddress,
    src: Ipv4Addr,
    group: Ipv4Addr,
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    const UDP_HEADER_LEN: usize = 8;
    let udp_len = UDP_HEADER_LEN + payload.len();
    assert!(
        ipv4::HEADER_LEN + udp_len <= usize::from(u16::MAX),
        "UDP payload of {} bytes does not fit an IPv4 datagram",
        payload.len()
    );
    let ip_repr = ipv4::Repr {
        src_addr: src,
        dst_addr: group,
        protocol: ipv4::PROTOCOL_UDP,
        payload_len: udp_len,
        ttl,
        dscp_ecn: 0,
    };
    let eth_repr = ether::Repr {
        src: src_mac,
        dst: ether::multicast_mac(group),
        ethertype: ether::ETHERTYPE_IPV4,
    };
    let frame_len = eth_repr.buffer_len() + ip_repr.buffer_len() + udp_len;
    let mut buf = vec![0u8; frame_len.max(ETHERNET_MIN_FRAME_LEN)];

    let mut frame = ether::Frame::new_unchecked(&mut buf[..]);
    eth_repr.emit(&mut frame);
    let mut packet = ipv4::Packet::new_unchecked(frame.payload_mut());
    ip_repr.emit(&mut packet);

    let udp = &mut packet.payload_mut()[..udp_len];
    // udp_len <= 65535 - 20 was asserted above.
    let udp_len16 = udp_len as u16;
    udp[0..2].copy_from_slice(&TEST_UDP_SRC_PORT.to_be_bytes());
    udp[2..4].copy_from_slice(&TEST_UDP_DST_PORT.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len16.to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    udp[8..].copy_from_slice(payload);

    // RFC 768: checksum over the pseudo-header (src, dst, zero, protocol, UDP length) and the
    // datagram; a computed zero is sent as all ones, since zero means "no checksum".
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.octets());
    pseudo[4..8].copy_from_slice(&group.octets());
    pseudo[9] = ipv4::PROTOCOL_UDP;
    pseudo[10..12].copy_from_slice(&udp_len16.to_be_bytes());
    let sum = ipv4::checksum_sum(&pseudo, 0);
    let sum = ipv4::checksum_sum(udp, sum);
    let check = match !ipv4::checksum_fold(sum) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&check.to_be_bytes());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_frame_is_valid() {
        let mac = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
        let frame = build_udp_frame(
            mac,
            Ipv4Addr::new(10, 0, 1, 2),
            Ipv4Addr::new(239, 1, 1, 1),
            16,
            b"hello",
        );
        assert_eq!(frame.len(), 60);
        let eth = ether::Frame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.dst_addr().to_string(), "01:00:5e:01:01:01");
        assert_eq!(eth.src_addr(), mac);
        assert_eq!(eth.ethertype(), ether::ETHERTYPE_IPV4);
        let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(ip.total_len(), 20 + 8 + 5);
        assert_eq!(ip.ttl(), 16);
        assert_eq!(ip.protocol(), ipv4::PROTOCOL_UDP);
        let udp = ip.payload();
        assert_eq!(udp.len(), 13);
        assert_eq!(&udp[0..2], &5000u16.to_be_bytes());
        assert_eq!(&udp[2..4], &5001u16.to_be_bytes());
        assert_eq!(&udp[4..6], &13u16.to_be_bytes());
        assert_eq!(&udp[8..], b"hello");
        // The UDP checksum verifies: the sum over pseudo-header and datagram folds to all ones.
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&ip.src_addr().octets());
        pseudo[4..8].copy_from_slice(&ip.dst_addr().octets());
        pseudo[9] = 17;
        pseudo[10..12].copy_from_slice(&13u16.to_be_bytes());
        let sum = ipv4::checksum_sum(udp, ipv4::checksum_sum(&pseudo, 0));
        assert_eq!(ipv4::checksum_fold(sum), 0xffff);
    }

    #[test]
    fn udp_frame_large_payload_not_padded() {
        let payload = vec![0xabu8; 1000];
        let frame = build_udp_frame(
            EthernetAddress([2, 0, 0, 0, 0, 9]),
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(232, 1, 2, 3),
            64,
            &payload,
        );
        assert_eq!(frame.len(), 14 + 20 + 8 + 1000);
        let eth = ether::Frame::new_checked(&frame[..]).unwrap();
        let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
        let repr = ipv4::Repr::parse(&ip).unwrap();
        assert_eq!(repr.payload_len, 1008);
        assert_eq!(repr.dst_addr, Ipv4Addr::new(232, 1, 2, 3));
    }

    #[test]
    fn error_display() {
        assert_eq!(Error::BadVersion.to_string(), "IP version is not 4");
        let e: Box<dyn std::error::Error> = Box::new(Error::Truncated);
        assert!(e.to_string().contains("shorter"));
    }
}
