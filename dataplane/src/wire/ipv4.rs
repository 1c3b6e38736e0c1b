//! IPv4 headers (RFC 791 section 3.1), the Internet checksum (RFC 1071) and its incremental
//! update for a TTL decrement (RFC 1624 section 3, as in Linux's `ip_decrease_ttl`).
//!
//! [`Packet::new_checked`] (or [`Packet::check_len`]) guarantees: the buffer holds at least 20
//! bytes, the version is 4, the header length (IHL * 4) is at least 20 and within the buffer, and
//! the total length is at least the header length and within the buffer (the buffer may be longer,
//! e.g. with Ethernet padding). After it has passed, no getter panics, and no setter panics
//! either, except that `set_header_len` and `set_total_len` can break those guarantees: run
//! `check_len` again after using them.
//!
//! The checksum is not part of `check_len`: the hot path calls [`Packet::verify_checksum`] (or
//! trusts the NIC's offload flag), [`Repr::parse`] always verifies it.

use std::net::Ipv4Addr;

use super::Error;

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;
/// Longest IPv4 header: IHL 15.
pub const MAX_HEADER_LEN: usize = 60;
/// Protocol number of IGMP (RFC 2236).
pub const PROTOCOL_IGMP: u8 = 2;
/// Protocol number of UDP.
pub const PROTOCOL_UDP: u8 = 17;
/// Protocol number of PIM (RFC 7761).
pub const PROTOCOL_PIM: u8 = 103;

mod field {
    use std::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of a header that carries only a Router Alert option (IHL 6), as
/// [`Repr::emit_with_router_alert`] writes it.
pub const ROUTER_ALERT_HEADER_LEN: usize = 24;
/// Option type of the Router Alert (RFC 2113: copied flag set, class 0, number 20).
pub const OPTION_ROUTER_ALERT: u8 = 148;
const OPTION_END: u8 = 0;
const OPTION_NOP: u8 = 1;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// Add the big-endian 16-bit words of `data` to a one's-complement accumulator `acc` (an odd
/// trailing byte is padded with zero, RFC 1071). Chain calls to sum a pseudo-header and a
/// payload, then finish with [`checksum_fold`]. Safe for any input up to 2^32 bytes.
///
/// Adds 32-bit big-endian words (2^32 = 1 modulo 2^16 - 1, so the folded sum is the same as
/// over 16-bit words): half the additions, which shows in the worker's per-packet header check.
#[inline]
pub fn checksum_sum(data: &[u8], mut acc: u64) -> u64 {
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for w in &mut pairs {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Fold an accumulator from [`checksum_sum`] to 16 bits with end-around carry (not complemented).
pub fn checksum_fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum of `data` (RFC 1071): the complement of the one's-complement sum of its
/// 16-bit words. Over a buffer whose checksum field is filled in correctly the result is 0.
/// Also used for IGMP.
pub fn checksum(data: &[u8]) -> u16 {
    !checksum_fold(checksum_sum(data, 0))
}

/// 224.0.0.0/4.
pub fn is_multicast(addr: Ipv4Addr) -> bool {
    addr.octets()[0] & 0xf0 == 0xe0
}

/// 224.0.0.0/24, the Local Network Control Block (RFC 5771): never forwarded.
pub fn is_link_local_multicast(addr: Ipv4Addr) -> bool {
    let o = addr.octets();
    o[0] == 224 && o[1] == 0 && o[2] == 0
}

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters may panic on a malformed one.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the lengths and version (see the module doc). After `Ok`, no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::BadVersion);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN || header_len > len {
            return Err(Error::BadHeaderLen);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len || total_len > len {
            return Err(Error::BadTotalLen);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// IP version (4 once checked).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included: 20..=60.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The DSCP and ECN byte (formerly type of service).
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Total length of the datagram in bytes, header included.
    pub fn total_len(&self) -> u16 {
        self.read_u16(field::TOTAL_LEN.start)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        self.read_u16(field::IDENT.start)
    }

    /// Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.read_u16(field::FLG_OFF.start) & FLAG_DF != 0
    }

    /// More Fragments flag.
    pub fn more_frags(&self) -> bool {
        self.read_u16(field::FLG_OFF.start) & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field times 8).
    pub fn frag_offset(&self) -> u16 {
        (self.read_u16(field::FLG_OFF.start) & OFFSET_MASK) << 3
    }

    /// Part of a fragmented datagram: MF set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.read_u16(field::FLG_OFF.start) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol number (for example [`PROTOCOL_UDP`], [`PROTOCOL_IGMP`]).
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM.start)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src_u32())
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst_u32())
    }

    /// Source address as a host-order integer (10.0.1.2 is 0x0a00_0102), for hash keys.
    pub fn src_u32(&self) -> u32 {
        self.read_u32(field::SRC_ADDR.start)
    }

    /// Destination address as a host-order integer, for hash keys.
    pub fn dst_u32(&self) -> u32 {
        self.read_u32(field::DST_ADDR.start)
    }

    /// The options: header bytes 20..header_len (empty for IHL 5).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.header_len())]
    }

    /// The payload: bytes header_len..total_len, without any link-layer padding.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..usize::from(self.total_len())]
    }

    /// The whole header, options included.
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.header_len())]
    }

    /// The header checksum verifies (RFC 1071 over header_len bytes, options included). Both
    /// representations of zero in the checksum field are accepted, as RFC 1624 requires.
    pub fn verify_checksum(&self) -> bool {
        checksum(self.header()) == 0
    }

    /// The options carry a Router Alert (RFC 2113: type 148, length 4, value 0, "every router
    /// examines this packet"), as IGMPv2 and v3 messages must (RFC 2236 section 2, RFC 3376
    /// section 4). Options are walked by their lengths; a malformed option list (a length below
    /// 2 or past the header) ends the walk with `false`, as Linux's `ip_options_compile` rejects
    /// such a header. Never panics once `check_len` has passed.
    pub fn has_router_alert(&self) -> bool {
        let opts = self.options();
        let mut at = 0;
        while at < opts.len() {
            match opts[at] {
                OPTION_END => return false,
                OPTION_NOP => at += 1,
                kind => {
                    let Some(&len) = opts.get(at + 1) else {
                        return false;
                    };
                    let len = usize::from(len);
                    if len < 2 || at + len > opts.len() {
                        return false;
                    }
                    if kind == OPTION_ROUTER_ALERT && len == 4 && opts[at + 2..at + 4] == [0, 0] {
                        return true;
                    }
                    at += len;
                }
            }
        }
        false
    }

    fn read_u16(&self, at: usize) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[at], d[at + 1]])
    }

    fn read_u32(&self, at: usize) -> u32 {
        let d = self.buffer.as_ref();
        u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn write_u16(&mut self, at: usize, value: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    fn write_flg_off(&mut self, mask: u16, value: u16) {
        let old = self.read_u16(field::FLG_OFF.start);
        self.write_u16(field::FLG_OFF.start, (old & !mask) | (value & mask));
    }

    /// Set the version nibble.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Set the header length in bytes (rounded down to a multiple of 4). Re-run `check_len`.
    pub fn set_header_len(&mut self, len: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) & 0x0f);
    }

    /// Set the DSCP and ECN byte.
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    /// Set the total length. Re-run `check_len`.
    pub fn set_total_len(&mut self, len: u16) {
        self.write_u16(field::TOTAL_LEN.start, len);
    }

    /// Set the identification.
    pub fn set_ident(&mut self, ident: u16) {
        self.write_u16(field::IDENT.start, ident);
    }

    /// Set or clear Don't Fragment.
    pub fn set_dont_frag(&mut self, value: bool) {
        self.write_flg_off(FLAG_DF, if value { FLAG_DF } else { 0 });
    }

    /// Set or clear More Fragments.
    pub fn set_more_frags(&mut self, value: bool) {
        self.write_flg_off(FLAG_MF, if value { FLAG_MF } else { 0 });
    }

    /// Set the fragment offset in bytes (must be a multiple of 8; the low 3 bits are dropped).
    pub fn set_frag_offset(&mut self, offset: u16) {
        self.write_flg_off(OFFSET_MASK, offset >> 3);
    }

    /// Clear all flags and the fragment offset.
    pub fn clear_flags(&mut self) {
        self.write_u16(field::FLG_OFF.start, 0);
    }

    /// Set the TTL (checksum not updated).
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Set the protocol number.
    pub fn set_protocol(&mut self, protocol: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol;
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM.start, value);
    }

    /// Set the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Set the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The options, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.header_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload (header_len..total_len), mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }

    /// Compute the header checksum (options included) and store it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let check = checksum(self.header());
        self.set_checksum(check);
    }

    /// Decrement the TTL and update the checksum incrementally; returns the new TTL.
    ///
    /// The TTL is the high byte of header word 4, so the word drops by 0x0100 and, by RFC 1624
    /// eqn. 3 (HC' = ~(~HC + ~m + m')), the checksum rises by 0x0100 in one's-complement
    /// arithmetic. As in Linux's `ip_decrease_ttl`, a sum that reaches 0xFFFF (negative zero) is
    /// carried round to 0x0000, so the result is exactly what [`Packet::fill_checksum`] would
    /// store: a full recompute of a header (never all zero, since the version is 4) never gives
    /// 0xFFFF. A stored 0xFFFF (negative zero, which `verify_checksum` accepts) comes out as the
    /// canonical value too. Tested against a full recompute for every checksum value.
    ///
    /// A TTL of 0 is left alone (and 0 returned): the caller drops packets whose TTL is 0 or 1
    /// before forwarding, so this never wraps to 255.
    pub fn decrement_ttl(&mut self) -> u8 {
        let ttl = self.ttl();
        if ttl == 0 {
            return 0;
        }
        let check = u32::from(self.checksum()) + 0x0100;
        let check = check + u32::from(check >= 0xffff);
        // Truncation drops the carry that the line above already added back in.
        self.set_checksum(check as u16);
        self.set_ttl(ttl - 1);
        ttl - 1
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An owned IPv4 header, for control code. Options are skipped on parse and never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP and ECN byte.
    pub dscp_ecn: u8,
}

impl Repr {
    /// Read a packet's header: it must pass `check_len`, carry a valid checksum and not be a
    /// fragment (`Error::Fragment`), since a `Repr` stands for a whole datagram.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        if packet.is_fragment() {
            return Err(Error::Fragment);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len() - u16::from(packet.header_len())),
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
        })
    }

    /// Header bytes [`Repr::emit`] writes: [`HEADER_LEN`]. The packet needs
    /// `buffer_len() + payload_len` bytes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write a 20-byte header (no options, ident 0, DF and MF clear, offset 0) with total length
    /// `HEADER_LEN + payload_len` and a valid checksum. The payload is left as it is.
    ///
    /// # Panics
    /// If the buffer is shorter than [`HEADER_LEN`], or `payload_len` exceeds 65,515 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let total_len = u16::try_from(HEADER_LEN + self.payload_len)
            .expect("IPv4 payload_len too large for the total length field");
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN as u8);
        packet.set_dscp_ecn(self.dscp_ecn);
        packet.set_total_len(total_len);
        packet.set_ident(0);
        packet.clear_flags();
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }

    /// As [`Repr::emit`], but a 24-byte header (IHL 6) whose options are one Router Alert
    /// (`94 04 00 00`, RFC 2113), for IGMP messages the router sends (RFC 2236 section 2,
    /// RFC 3376 section 4). Total length is `ROUTER_ALERT_HEADER_LEN + payload_len`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`ROUTER_ALERT_HEADER_LEN`], or `payload_len` exceeds
    /// 65,511 bytes.
    pub fn emit_with_router_alert<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let total_len = u16::try_from(ROUTER_ALERT_HEADER_LEN + self.payload_len)
            .expect("IPv4 payload_len too large for the total length field");
        packet.set_version(4);
        packet.set_header_len(ROUTER_ALERT_HEADER_LEN as u8);
        packet.set_dscp_ecn(self.dscp_ecn);
        packet.set_total_len(total_len);
        packet.set_ident(0);
        packet.clear_flags();
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet
            .options_mut()
            .copy_from_slice(&[OPTION_ROUTER_ALERT, 4, 0, 0]);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_over_32_bit_words_equals_rfc1071_over_16_bit_words() {
        let reference = |d: &[u8]| -> u16 {
            let mut acc: u64 = 0;
            for (i, b) in d.iter().enumerate() {
                acc += u64::from(*b) << if i % 2 == 0 { 8 } else { 0 };
            }
            while acc > 0xffff {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            !(acc as u16)
        };
        let mut x: u32 = 0x1234_5678;
        for len in 0..=80 {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(checksum(&data), reference(&data), "len {len}");
            assert_eq!(checksum(&vec![0xff; len]), reference(&vec![0xff; len]));
        }
    }

    /// The IPv4 part of a 60-byte frame: 10.0.1.2 -> 239.1.1.1, TTL 16, UDP 5000 -> 5001 with
    /// "hello", then 13 bytes of Ethernet padding. Checksum 0xafc8 worked by hand:
    /// 4500 + 0021 + 0000 + 0000 + 1011 + 0a00 + 0102 + ef01 + 0101 = 0x15036, folded 0x5037,
    /// complemented 0xafc8.
    const PACKET: [u8; 46] = [
        0x45, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0xaf, 0xc8, // header
        0x0a, 0x00, 0x01, 0x02, 0xef, 0x01, 0x01, 0x01, // addresses
        0x13, 0x88, 0x13, 0x89, 0x00, 0x0d, 0x00, 0x00, // UDP
        b'h', b'e', b'l', b'l', b'o', // payload
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // Ethernet padding
    ];

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn byte(&mut self) -> u8 {
            self.next() as u8
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A valid header of `ihl` words with random contents and a correct checksum, and no payload.
    fn random_header(rng: &mut XorShift, ihl: u8) -> Vec<u8> {
        let len = usize::from(ihl) * 4;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        buf[0] = 0x40 | ihl;
        buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.fill_checksum();
        buf
    }

    fn full_recompute(buf: &[u8]) -> u16 {
        let mut copy = buf.to_vec();
        let mut p = Packet::new_unchecked(&mut copy[..]);
        p.fill_checksum();
        p.checksum()
    }

    #[test]
    fn parse_capture() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp_ecn(), 0);
        assert_eq!(p.total_len(), 33);
        assert_eq!(p.ident(), 0);
        assert!(!p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 16);
        assert_eq!(p.protocol(), PROTOCOL_UDP);
        assert_eq!(p.checksum(), 0xafc8);
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 1, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(239, 1, 1, 1));
        assert_eq!(p.src_u32(), 0x0a00_0102);
        assert_eq!(p.dst_u32(), 0xef01_0101);
        assert!(p.options().is_empty());
        assert_eq!(p.header(), &PACKET[..20]);
        // The payload stops at total_len, before the padding.
        assert_eq!(p.payload().len(), 13);
        assert_eq!(&p.payload()[8..], b"hello");
        assert_eq!(full_recompute(&PACKET), 0xafc8);

        let repr = Repr::parse(&p).unwrap();
        assert_eq!(
            repr,
            Repr {
                src_addr: Ipv4Addr::new(10, 0, 1, 2),
                dst_addr: Ipv4Addr::new(239, 1, 1, 1),
                protocol: PROTOCOL_UDP,
                payload_len: 13,
                ttl: 16,
                dscp_ecn: 0,
            }
        );
    }

    #[test]
    fn emit_matches_capture() {
        let repr = Repr::parse(&Packet::new_checked(&PACKET[..]).unwrap()).unwrap();
        assert_eq!(repr.buffer_len(), 20);
        let mut buf = PACKET;
        buf[..20].fill(0xee);
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn checksum_rfc1071_examples() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum_fold(checksum_sum(&data, 0)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
        // An odd trailing byte is padded with zero.
        assert_eq!(checksum(&[0x12]), !0x1200);
        assert_eq!(checksum(&[]), 0xffff);
        // Chaining equals summing the concatenation when the split is at an even offset.
        let sum = checksum_sum(&data[4..], checksum_sum(&data[..4], 0));
        assert_eq!(!checksum_fold(sum), checksum(&data));
    }

    #[test]
    fn setters() {
        let mut buf = [0u8; 40];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_total_len(40);
        p.set_dscp_ecn(0xb8);
        p.set_ident(0x1234);
        p.set_dont_frag(true);
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        p.set_ttl(64);
        p.set_protocol(PROTOCOL_IGMP);
        p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
        p.set_dst_addr(Ipv4Addr::new(224, 0, 0, 22));
        p.options_mut().copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
        p.payload_mut()[0] = 0x22;
        p.fill_checksum();
        p.check_len().unwrap();
        assert_eq!(
            (p.version(), p.header_len(), p.total_len(), p.dscp_ecn()),
            (4, 24, 40, 0xb8)
        );
        assert_eq!(p.ident(), 0x1234);
        assert!(p.dont_frag() && p.more_frags() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        assert_eq!((p.ttl(), p.protocol()), (64, 2));
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(224, 0, 0, 22));
        assert_eq!(p.options(), &[0x94, 0x04, 0, 0]);
        assert_eq!(p.payload().len(), 16);
        assert!(p.verify_checksum());
        p.set_dont_frag(false);
        p.set_more_frags(false);
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.is_fragment());
        p.set_frag_offset(0);
        assert!(!p.is_fragment());
        p.set_dont_frag(true);
        p.clear_flags();
        assert!(!p.dont_frag());
    }

    #[test]
    fn truncated() {
        for len in 0..HEADER_LEN {
            let p = Packet::new_unchecked(&PACKET[..len]);
            assert_eq!(p.check_len(), Err(Error::Truncated), "len {len}");
            assert_eq!(Repr::parse(&p), Err(Error::Truncated));
        }
        // Cut inside the payload: total_len 33 > buffer.
        for len in HEADER_LEN..33 {
            let p = Packet::new_unchecked(&PACKET[..len]);
            assert_eq!(p.check_len(), Err(Error::BadTotalLen), "len {len}");
        }
        for len in 33..=PACKET.len() {
            Packet::new_checked(&PACKET[..len]).unwrap();
        }
    }

    #[test]
    fn malformed_headers() {
        for version in [0u8, 1, 5, 6, 15] {
            let mut buf = PACKET;
            buf[0] = (version << 4) | 5;
            assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadVersion));
        }
        for ihl in 0..5u8 {
            let mut buf = PACKET;
            buf[0] = 0x40 | ihl;
            assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadHeaderLen));
        }
        // IHL * 4 beyond the buffer.
        let mut buf = PACKET;
        buf[0] = 0x4f; // 60 bytes > 46
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadHeaderLen));
        let mut buf = [0u8; 24];
        buf[..20].copy_from_slice(&PACKET[..20]);
        buf[0] = 0x47; // 28 bytes > 24
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadHeaderLen));
        // Total length below the header length.
        for total in [0u16, 1, 19] {
            let mut buf = PACKET;
            buf[2..4].copy_from_slice(&total.to_be_bytes());
            assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadTotalLen));
        }
        let mut buf = PACKET;
        buf[0] = 0x46; // 24-byte header, total_len 20
        buf[2..4].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadTotalLen));
        // Total length beyond the buffer.
        let mut buf = PACKET;
        buf[2..4].copy_from_slice(&47u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadTotalLen));
        // Exactly the buffer, and header only, are fine.
        buf[2..4].copy_from_slice(&46u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&buf[..]).unwrap().payload().len(), 26);
        buf[2..4].copy_from_slice(&20u16.to_be_bytes());
        assert!(Packet::new_checked(&buf[..]).unwrap().payload().is_empty());
    }

    #[test]
    fn bad_checksum() {
        let mut buf = PACKET;
        buf[11] ^= 0x01;
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Repr::parse(&p), Err(Error::BadChecksum));
        // A change anywhere in the header is caught, a change in the payload is not.
        for i in 0..20 {
            let mut buf = PACKET;
            buf[i] ^= 0x10;
            let p = Packet::new_unchecked(&buf[..]);
            assert!(!p.verify_checksum(), "byte {i}");
        }
        let mut buf = PACKET;
        buf[30] ^= 0xff;
        assert!(Packet::new_checked(&buf[..]).unwrap().verify_checksum());
    }

    #[test]
    fn options() {
        let mut rng = XorShift(7);
        for ihl in 6..=15u8 {
            let header_len = usize::from(ihl) * 4;
            let mut buf = random_header(&mut rng, ihl);
            buf.extend_from_slice(b"payload");
            buf[2..4].copy_from_slice(&((header_len + 7) as u16).to_be_bytes());
            buf[6..8].copy_from_slice(&[0, 0]);
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            p.fill_checksum();
            assert_eq!(usize::from(p.header_len()), header_len);
            assert_eq!(p.options().len(), header_len - 20);
            assert_eq!(p.payload(), b"payload");
            assert!(p.verify_checksum());
            // The checksum covers the options.
            p.options_mut()[0] ^= 1;
            assert!(!p.verify_checksum());
            p.options_mut()[0] ^= 1;
            let repr = Repr::parse(&p).unwrap();
            assert_eq!(repr.payload_len, 7);
        }
    }

    #[test]
    fn fragments() {
        let mut buf = PACKET;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_more_frags(true);
        p.fill_checksum();
        assert!(p.is_fragment() && p.more_frags());
        assert_eq!(Repr::parse(&p), Err(Error::Fragment));
        p.set_more_frags(false);
        p.set_frag_offset(8);
        p.fill_checksum();
        assert!(p.is_fragment());
        assert_eq!(p.frag_offset(), 8);
        assert_eq!(Repr::parse(&p), Err(Error::Fragment));
        // Last fragment at the highest offset.
        p.set_frag_offset(0xfff8);
        assert_eq!(p.frag_offset(), 0xfff8);
        assert!(p.is_fragment());
        p.set_frag_offset(0);
        p.set_dont_frag(true);
        p.fill_checksum();
        assert!(!p.is_fragment());
        assert!(Repr::parse(&p).is_ok());
    }

    #[test]
    fn ttl_zero_and_one() {
        for ttl in [0u8, 1] {
            let mut buf = PACKET;
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            p.set_ttl(ttl);
            p.fill_checksum();
            assert_eq!(p.ttl(), ttl);
            assert_eq!(Repr::parse(&p).unwrap().ttl, ttl);
        }
        let mut buf = PACKET;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ttl(1);
        p.fill_checksum();
        assert_eq!(p.decrement_ttl(), 0);
        assert_eq!(p.ttl(), 0);
        assert!(p.verify_checksum());
        assert_eq!(p.checksum(), full_recompute(&buf));
        // TTL 0 is left alone.
        let before = buf;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        assert_eq!(p.decrement_ttl(), 0);
        assert_eq!(buf, before);
    }

    /// The incremental update depends only on the stored checksum, so walking the ident through
    /// all 65,536 values (which walks the checksum through every canonical value 0x0000..=0xFFFE)
    /// tests every case; the negative-zero form 0xFFFF is tested where it is a valid encoding.
    #[test]
    fn decrement_ttl_every_checksum_value() {
        let mut buf = PACKET;
        buf[8] = 200;
        let mut seen = vec![false; 0x10000];
        let mut negative_zero_cases = 0;
        for ident in 0..=u16::MAX {
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            p.set_ident(ident);
            p.set_ttl(200);
            p.fill_checksum();
            let check = p.checksum();
            seen[usize::from(check)] = true;
            let mut dec = buf;
            let mut q = Packet::new_checked(&mut dec[..]).unwrap();
            assert_eq!(q.decrement_ttl(), 199);
            assert!(q.verify_checksum());
            let incremental = q.checksum();
            assert_eq!(incremental, full_recompute(&dec), "ident {ident:#x}");
            if check == 0 {
                // Same header with the checksum stored as negative zero: still valid, and the
                // decrement still lands on the canonical value.
                let mut neg = buf;
                let mut q = Packet::new_checked(&mut neg[..]).unwrap();
                q.set_checksum(0xffff);
                assert!(q.verify_checksum());
                q.decrement_ttl();
                let incremental = q.checksum();
                assert_eq!(incremental, full_recompute(&neg));
                negative_zero_cases += 1;
            }
            if check == 0xfeff {
                // Old + 0x0100 is exactly 0xFFFF: must be stored as 0x0000, like a recompute.
                assert_eq!(full_recompute(&dec), 0x0000);
                assert_eq!(Packet::new_unchecked(&dec[..]).checksum(), 0x0000);
            }
        }
        // A full recompute never yields 0xFFFF for a non-zero header; every other value occurs.
        assert!(!seen[0xffff]);
        assert_eq!(seen.iter().filter(|s| **s).count(), 0xffff);
        assert_eq!(negative_zero_cases, 1);
    }

    /// Random headers with and without options, every TTL 255..=1, each step compared to a full
    /// recompute (so the checks chain through the decrement's own output).
    #[test]
    fn decrement_ttl_matches_full_recompute() {
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        for i in 0..600 {
            let ihl = 5 + (i % 11) as u8;
            let mut buf = random_header(&mut rng, ihl);
            // Fresh start at every TTL ...
            for ttl in 1..=255u8 {
                let mut copy = buf.clone();
                let mut p = Packet::new_checked(&mut copy[..]).unwrap();
                p.set_ttl(ttl);
                p.fill_checksum();
                p.decrement_ttl();
                assert_eq!(p.ttl(), ttl - 1);
                assert_eq!(p.checksum(), full_recompute(&copy));
            }
            // ... and a chain from 255 down to 0.
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            p.set_ttl(255);
            p.fill_checksum();
            for ttl in (0..255u8).rev() {
                let mut p = Packet::new_checked(&mut buf[..]).unwrap();
                assert_eq!(p.decrement_ttl(), ttl);
                assert!(p.verify_checksum());
                assert_eq!(p.checksum(), full_recompute(&buf));
            }
        }
    }

    #[test]
    fn multicast_ranges() {
        let mc = |a, b, c, d| is_multicast(Ipv4Addr::new(a, b, c, d));
        let ll = |a, b, c, d| is_link_local_multicast(Ipv4Addr::new(a, b, c, d));
        assert!(mc(224, 0, 0, 0) && mc(239, 255, 255, 255) && mc(232, 1, 1, 1));
        assert!(!mc(223, 255, 255, 255) && !mc(240, 0, 0, 0) && !mc(10, 0, 1, 2));
        assert!(ll(224, 0, 0, 1) && ll(224, 0, 0, 22) && ll(224, 0, 0, 255));
        assert!(!ll(224, 0, 1, 1) && !ll(239, 1, 1, 1) && !ll(225, 0, 0, 1));
    }

    fn touch_everything(buf: &mut [u8]) {
        let p = Packet::new_unchecked(&*buf);
        let _ = (
            p.version(),
            p.header_len(),
            p.dscp_ecn(),
            p.total_len(),
            p.ident(),
        );
        let _ = (
            p.dont_frag(),
            p.more_frags(),
            p.frag_offset(),
            p.is_fragment(),
        );
        let _ = (
            p.ttl(),
            p.protocol(),
            p.checksum(),
            p.src_addr(),
            p.dst_addr(),
        );
        let _ = (
            p.src_u32(),
            p.dst_u32(),
            p.options(),
            p.payload(),
            p.header(),
        );
        let _ = (p.verify_checksum(), Repr::parse(&p));
        let mut p = Packet::new_unchecked(&mut *buf);
        p.set_dscp_ecn(1);
        p.set_ident(2);
        p.set_dont_frag(true);
        p.set_more_frags(true);
        p.set_frag_offset(16);
        p.set_ttl(3);
        p.set_protocol(4);
        p.set_src_addr(Ipv4Addr::BROADCAST);
        p.set_dst_addr(Ipv4Addr::UNSPECIFIED);
        let _ = p.options_mut();
        let _ = p.payload_mut();
        p.fill_checksum();
        p.decrement_ttl();
        p.clear_flags();
        p.set_checksum(0);
    }

    #[test]
    fn random_buffers_never_panic() {
        let mut rng = XorShift(0xdead_beef_cafe_f00d);
        let mut ok = 0;
        for i in 0..200_000usize {
            let len = i % 80;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            // Half the buffers get a plausible first byte and total length, so many pass.
            if i % 2 == 0 && len >= 4 {
                buf[0] = 0x40 | (rng.byte() & 0x0f);
                let total = rng.below(len + 2) as u16;
                buf[2..4].copy_from_slice(&total.to_be_bytes());
            }
            if Packet::new_checked(&buf[..]).is_ok() {
                ok += 1;
                touch_everything(&mut buf);
                assert!(Packet::new_checked(&buf[..]).is_ok());
            }
        }
        assert!(ok > 10_000, "only {ok} buffers passed check_len");
    }
}

#[cfg(test)]
mod router_alert_tests {
    use super::*;

    /// An IGMPv2 report from 10.0.2.2 to 239.1.1.1 as Linux sends it: TTL 1, IHL 6 with the
    /// Router Alert `94 04 00 00`, DSCP 0xc0. Header checksum by hand: 46c0 + 0020 + 0000 +
    /// 0000 + 0102 + 0a00 + 0202 + ef01 + 0101 + 9404 + 0000 = 0x1d7ea, folded 0xd7eb,
    /// complemented 0x2814. IGMP checksum: 1600 + 0000 + ef01 + 0101 = 0x10602, folded 0x0603,
    /// complemented 0xf9fc.
    const REPORT: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x28, 0x14, // header
        0x0a, 0x00, 0x02, 0x02, 0xef, 0x01, 0x01, 0x01, // addresses
        0x94, 0x04, 0x00, 0x00, // Router Alert
        0x16, 0x00, 0xf9, 0xfc, 0xef, 0x01, 0x01, 0x01, // IGMPv2 report 239.1.1.1
    ];

    #[test]
    fn router_alert_capture() {
        let p = Packet::new_checked(&REPORT[..]).unwrap();
        assert!(p.verify_checksum());
        assert!(p.has_router_alert());
        assert_eq!(p.payload().len(), 8);
        // A plain 20-byte header has none.
        let mut plain = [0u8; 20];
        Repr {
            src_addr: Ipv4Addr::new(10, 0, 2, 2),
            dst_addr: Ipv4Addr::new(224, 0, 0, 1),
            protocol: PROTOCOL_IGMP,
            payload_len: 0,
            ttl: 1,
            dscp_ecn: 0,
        }
        .emit(&mut Packet::new_unchecked(&mut plain[..]));
        assert!(!Packet::new_checked(&plain[..]).unwrap().has_router_alert());
    }

    #[test]
    fn emit_with_router_alert_matches_capture() {
        let repr = Repr::parse(&Packet::new_checked(&REPORT[..]).unwrap()).unwrap();
        assert_eq!(repr.payload_len, 8);
        let mut buf = REPORT;
        buf[..24].fill(0xee);
        repr.emit_with_router_alert(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, REPORT);
    }

    fn with_options(opts: &[u8]) -> Vec<u8> {
        let header_len = 20 + opts.len();
        let mut buf = vec![0u8; header_len];
        buf[0] = 0x40 | (header_len / 4) as u8;
        buf[2..4].copy_from_slice(&(header_len as u16).to_be_bytes());
        buf[20..].copy_from_slice(opts);
        buf
    }

    #[test]
    fn router_alert_option_walk() {
        let ra = |opts: &[u8]| {
            let buf = with_options(opts);
            Packet::new_checked(&buf[..]).unwrap().has_router_alert()
        };
        assert!(ra(&[148, 4, 0, 0]));
        // After NOPs, and after another option.
        assert!(ra(&[1, 1, 1, 1, 148, 4, 0, 0]));
        assert!(ra(&[7, 4, 9, 9, 148, 4, 0, 0]));
        // After end-of-list it does not count.
        assert!(!ra(&[0, 0, 0, 0, 148, 4, 0, 0]));
        // Wrong length, non-zero value, malformed lengths.
        assert!(!ra(&[148, 2, 0, 0]));
        assert!(!ra(&[148, 4, 0, 1]));
        assert!(!ra(&[7, 0, 148, 4]));
        assert!(!ra(&[7, 9, 148, 4]));
        assert!(!ra(&[1, 1, 1, 148]));
        assert!(!ra(&[1, 1, 1, 1]));
    }

    #[test]
    fn router_alert_random_options_never_panic() {
        let mut x = 0x1234_5678_9abc_def1u64;
        for i in 0..50_000usize {
            let words = 1 + i % 10;
            let opts: Vec<u8> = (0..words * 4)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Bias toward the interesting option types.
                    [0u8, 1, 148, 4, x as u8][(x >> 32) as usize % 5]
                })
                .collect();
            let buf = with_options(&opts);
            let _ = Packet::new_checked(&buf[..]).unwrap().has_router_alert();
        }
    }
}
