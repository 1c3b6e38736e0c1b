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
