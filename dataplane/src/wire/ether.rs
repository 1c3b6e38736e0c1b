//! Ethernet II frames (IEEE 802.3 clause 3, without preamble or FCS) and the IPv4 multicast to
//! MAC mapping of RFC 1112 section 6.4.
//!
//! [`Frame::new_checked`] (or [`Frame::check_len`]) guarantees the buffer holds the 14-byte
//! header; after it has passed, no getter or setter of the frame panics.

use std::fmt;
use std::net::Ipv4Addr;

use super::Error;

/// Length of the Ethernet II header: destination, source, EtherType.
pub const HEADER_LEN: usize = 14;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType (TPID) of an IEEE 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;

mod field {
    use std::ops::{Range, RangeFrom};

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;
}

/// A 48-bit Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// The address from the first six bytes of `data`.
    ///
    /// # Panics
    /// If `data` is shorter than six bytes.
    pub fn from_bytes(data: &[u8]) -> EthernetAddress {
        let mut octets = [0u8; 6];
        octets.copy_from_slice(&data[..6]);
        EthernetAddress(octets)
    }

    /// The six octets, in transmission order.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// Group (multicast or broadcast) address: the I/G bit, the low bit of the first octet.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Individual (unicast) address.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(octets: [u8; 6]) -> Self {
        EthernetAddress(octets)
    }
}

/// The MAC address an IPv4 multicast group is sent to (RFC 1112 section 6.4): 01:00:5e followed by
/// the low 23 bits of the group. 32 groups share each MAC address, so receivers still filter on
/// the IP destination.
pub fn multicast_mac(group: Ipv4Addr) -> EthernetAddress {
    let o = group.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

/// A read/write view of an Ethernet II frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer without checking it; getters may panic if it is shorter than
    /// [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wrap a buffer after [`Frame::check_len`].
    pub fn new_checked(buffer: T) -> Result<Frame<T>, Error> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Err(Truncated)` if the buffer is shorter than the header. After `Ok`, no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header length; always [`HEADER_LEN`] (802.1Q tags are part of the payload).
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The raw EtherType (for example [`ETHERTYPE_IPV4`], [`ETHERTYPE_VLAN`]).
    pub fn ethertype(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::ETHERTYPE.start], d[field::ETHERTYPE.start + 1]])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// Everything after the 14-byte header, including any Ethernet padding.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Set the destination MAC address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Set the source MAC address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Set the raw EtherType.
    pub fn set_ethertype(&mut self, ethertype: u16) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&ethertype.to_be_bytes());
    }

    /// Everything after the 14-byte header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An owned Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source MAC address.
    pub src: EthernetAddress,
    /// Destination MAC address.
    pub dst: EthernetAddress,
    /// Raw EtherType.
    pub ethertype: u16,
}

impl Repr {
    /// Read the header of a frame; fails only if the buffer is shorter than the header.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr, Error> {
        frame.check_len()?;
        Ok(Repr {
            src: frame.src_addr(),
            dst: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Bytes [`Repr::emit`] writes: [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into the first [`HEADER_LEN`] bytes of `frame`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`HEADER_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst);
        frame.set_src_addr(self.src);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 01:00:5e:01:01:01 <- 02:00:00:00:00:01, IPv4 10.0.1.2 -> 239.1.1.1, TTL 16, UDP
    /// 5000 -> 5001 carrying "hello", padded to 60 bytes (the shape tcpdump shows for
    /// `iperf -u -c 239.1.1.1 -T 16` on a LAN).
    const FRAME: [u8; 60] = [
        0x01, 0x00, 0x5e, 0x01, 0x01, 0x01, // dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
        0x08, 0x00, // IPv4
        0x45, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0xaf, 0xc8, // IPv4 header
        0x0a, 0x00, 0x01, 0x02, 0xef, 0x01, 0x01, 0x01, // addresses
        0x13, 0x88, 0x13, 0x89, 0x00, 0x0d, 0x00, 0x00, // UDP, checksum 0
        b'h', b'e', b'l', b'l', b'o', // payload
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    #[test]
    fn parse_capture() {
        let frame = Frame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), EthernetAddress([1, 0, 0x5e, 1, 1, 1]));
        assert_eq!(frame.src_addr(), EthernetAddress([2, 0, 0, 0, 0, 1]));
        assert_eq!(frame.ethertype(), ETHERTYPE_IPV4);
        assert_eq!(frame.payload().len(), 46);
        assert_eq!(frame.payload()[0], 0x45);
        assert!(frame.dst_addr().is_multicast());
        assert!(!frame.src_addr().is_multicast());
        assert_eq!(frame.dst_addr().to_string(), "01:00:5e:01:01:01");
        assert_eq!(format!("{:?}", frame.src_addr()), "02:00:00:00:00:01");
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(
            repr,
            Repr {
                src: EthernetAddress([2, 0, 0, 0, 0, 1]),
                dst: EthernetAddress([1, 0, 0x5e, 1, 1, 1]),
                ethertype: ETHERTYPE_IPV4,
            }
        );
    }

    #[test]
    fn emit_round_trip() {
        let repr = Repr::parse(&Frame::new_checked(&FRAME[..]).unwrap()).unwrap();
        let mut buf = FRAME;
        buf[..14].fill(0);
        let mut frame = Frame::new_unchecked(&mut buf[..]);
        repr.emit(&mut frame);
        assert_eq!(buf, FRAME);
        assert_eq!(repr.buffer_len(), 14);
    }

    #[test]
    fn setters() {
        let mut buf = [0u8; 20];
        let mut frame = Frame::new_checked(&mut buf[..]).unwrap();
        frame.set_dst_addr(EthernetAddress::BROADCAST);
        frame.set_src_addr(EthernetAddress([2, 3, 4, 5, 6, 7]));
        frame.set_ethertype(ETHERTYPE_VLAN);
        frame.payload_mut()[0] = 0xaa;
        assert!(frame.dst_addr().is_broadcast());
        assert_eq!(frame.src_addr().octets(), [2, 3, 4, 5, 6, 7]);
        assert_eq!(frame.ethertype(), 0x8100);
        assert_eq!(&buf[12..15], &[0x81, 0x00, 0xaa]);
    }

    #[test]
    fn truncated() {
        for len in 0..HEADER_LEN {
            let buf = vec![0u8; len];
            assert_eq!(Frame::new_checked(&buf[..]), Err(Error::Truncated));
            assert_eq!(
                Repr::parse(&Frame::new_unchecked(&buf[..])),
                Err(Error::Truncated)
            );
        }
        let buf = [0u8; HEADER_LEN];
        let frame = Frame::new_checked(&buf[..]).unwrap();
        assert!(frame.payload().is_empty());
    }

    #[test]
    fn multicast_mac_mapping() {
        let cases = [
            ((239, 1, 1, 1), [0x01, 0x00, 0x5e, 0x01, 0x01, 0x01]),
            ((224, 128, 1, 1), [0x01, 0x00, 0x5e, 0x00, 0x01, 0x01]),
            ((239, 255, 255, 255), [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xff]),
            ((224, 0, 0, 1), [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]),
            ((224, 0, 0, 22), [0x01, 0x00, 0x5e, 0x00, 0x00, 0x16]),
        ];
        for ((a, b, c, d), mac) in cases {
            let got = multicast_mac(Ipv4Addr::new(a, b, c, d));
            assert_eq!(got, EthernetAddress(mac), "{a}.{b}.{c}.{d}");
            assert!(got.is_multicast());
        }
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 255, 255, 255)).to_string(),
            "01:00:5e:7f:ff:ff"
        );
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut ok = 0;
        for i in 0..20_000usize {
            let len = i % 40;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            if let Ok(frame) = Frame::new_checked(&buf[..]) {
                ok += 1;
                let _ = (frame.dst_addr(), frame.src_addr(), frame.ethertype());
                let _ = frame.payload();
                let _ = Repr::parse(&frame).unwrap();
                let mut copy = buf.clone();
                let mut frame = Frame::new_checked(&mut copy[..]).unwrap();
                frame.set_dst_addr(EthernetAddress::BROADCAST);
                frame.set_src_addr(EthernetAddress::BROADCAST);
                frame.set_ethertype(0);
                let _ = frame.payload_mut();
            }
        }
        assert!(ok > 5_000);
    }
}
