//! The PIM common header (RFC 7761 4.9), the checksum rules, this module's [`Error`], and the
//! view [`Packet`] over a whole PIM message (the IPv4 payload).
//!
//! Checksum (RFC 7761 4.9): the Internet checksum over the whole PIM message, without an IPv4
//! pseudo-header; for a Register only over its first 8 bytes (header and B/N flags), the data
//! packet excluded. RFC 7761 4.9.3 also asks receivers to accept a Register whose checksum
//! covers the whole message, which [`Packet::verify_checksum`] does.

use std::net::Ipv4Addr;

use crate::wire::ipv4;

/// The only PIM version this module reads and writes.
pub const VERSION: u8 = 2;
/// Length of the common header.
pub const HEADER_LEN: usize = 4;
/// Length of a Register's header (common header and the B/N flags word): what its checksum
/// covers.
pub const REGISTER_HEADER_LEN: usize = 8;
/// 224.0.0.13, ALL-PIM-ROUTERS: destination of Hello, Join/Prune, Assert and Bootstrap.
pub const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);

/// Hello (RFC 7761 4.9.2).
pub const TYPE_HELLO: u8 = 0;
/// Register (4.9.3), unicast to the RP.
pub const TYPE_REGISTER: u8 = 1;
/// Register-Stop (4.9.4), unicast to the DR.
pub const TYPE_REGISTER_STOP: u8 = 2;
/// Join/Prune (4.9.5).
pub const TYPE_JOIN_PRUNE: u8 = 3;
/// Bootstrap (4.9.7 and RFC 5059 section 4.1).
pub const TYPE_BOOTSTRAP: u8 = 4;
/// Assert (4.9.6).
pub const TYPE_ASSERT: u8 = 5;
/// Graft (PIM-DM, RFC 3973): not parsed here.
pub const TYPE_GRAFT: u8 = 6;
/// Graft-Ack (PIM-DM): not parsed here.
pub const TYPE_GRAFT_ACK: u8 = 7;
/// Candidate-RP-Advertisement (4.9.8 and RFC 5059 section 4.2), unicast to the BSR.
pub const TYPE_CANDIDATE_RP_ADV: u8 = 8;

mod field {
    use std::ops::Range;

    pub const VER_TYPE: usize = 0;
    pub const RESERVED: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const REGISTER_FLAGS: usize = 4;
}

/// Register's B (Border) bit, in the first byte after the common header.
const REGISTER_BORDER: u8 = 0x80;
/// Register's N (Null-Register) bit.
const REGISTER_NULL: u8 = 0x40;

/// Why bytes were rejected as a PIM message (or a Join/Prune could not be split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// Shorter than its header, or a field, option, address or list runs past the end.
    #[error("PIM message truncated")]
    Truncated,
    /// The version nibble is not 2.
    #[error("PIM version {0}, expected 2")]
    BadVersion(u8),
    /// The checksum does not verify.
    #[error("PIM checksum does not verify")]
    BadChecksum,
    /// A message type this module does not parse (Graft, Graft-Ack, 9 and up).
    #[error("PIM message type {0} not handled")]
    UnknownType(u8),
    /// An encoded address of a family other than IPv4 (1) where an IPv4 one is needed.
    #[error("encoded address of family {0}, expected IPv4 (1)")]
    UnknownAddressFamily(u8),
    /// An encoded address whose encoding type is not 0 (native).
    #[error("encoded address with encoding type {0}, expected native (0)")]
    UnknownEncoding(u8),
    /// A group or source mask length above 32 for IPv4.
    #[error("mask length {0} above 32")]
    BadMaskLen(u8),
    /// A Hello option whose length does not fit its type (e.g. a Holdtime that is not 2 bytes).
    #[error("Hello option {option} with length {len}")]
    BadOptionLen {
        /// The option type.
        option: u16,
        /// Its length field.
        len: u16,
    },
    /// A Join/Prune cannot be split into messages this small (one group with one source must
    /// fit).
    #[error("maximum Join/Prune message size {0} too small for one group and source")]
    MaxLenTooSmall(usize),
}

/// A read/write view of a PIM message: the common header, and a Register's flags and data.
///
/// After [`Packet::new_checked`] (or [`Packet::check_len`]) no getter panics: the buffer holds
/// the 4-byte header, and 8 bytes if the type is Register. Message bodies are read by the
/// `Repr` types, which check every length themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters may panic on a short one.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the header lengths (see the type's doc). Version, type and checksum are not checked
    /// here: `Repr::parse` does.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || (self.msg_type() == TYPE_REGISTER && len < REGISTER_HEADER_LEN) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The PIM version (high nibble of the first byte).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The message type (`TYPE_*`, low nibble of the first byte).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// The reserved byte (RFC 8736 gives its bits per type; Bootstrap's first is No-Forward).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED]
    }

    /// The checksum field as stored.
    pub fn checksum(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::CHECKSUM.start], d[field::CHECKSUM.start + 1]])
    }

    /// Everything after the common header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Register: the B (Border) bit. False for other types.
    pub fn register_border(&self) -> bool {
        self.is_register() && self.buffer.as_ref()[field::REGISTER_FLAGS] & REGISTER_BORDER != 0
    }

    /// Register: the N (Null-Register) bit. False for other types.
    pub fn register_null(&self) -> bool {
        self.is_register() && self.buffer.as_ref()[field::REGISTER_FLAGS] & REGISTER_NULL != 0
    }

    /// Register: the encapsulated multicast data packet (a dummy IPv4 header in a
    /// Null-Register). Empty for other types.
    pub fn register_packet(&self) -> &[u8] {
        if self.is_register() {
            &self.buffer.as_ref()[REGISTER_HEADER_LEN..]
        } else {
            &[]
        }
    }

    /// The checksum verifies: over the whole message, or for a Register over its 8-byte header
    /// or (RFC 7761 4.9.3, for interoperability) the whole message.
    pub fn verify_checksum(&self) -> bool {
        let data = self.buffer.as_ref();
        if self.is_register() && ipv4::checksum(&data[..REGISTER_HEADER_LEN]) == 0 {
            return true;
        }
        ipv4::checksum(data) == 0
    }

    fn is_register(&self) -> bool {
        self.msg_type() == TYPE_REGISTER
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the version and type (the first byte).
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    /// Set the reserved byte.
    pub fn set_reserved(&mut self, value: u8) {
        self.buffer.as_mut()[field::RESERVED] = value;
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Everything after the common header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Compute the checksum by the rules of the message's type and store it: over the first 8
    /// bytes of a Register, over the whole buffer otherwise.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.buffer.as_ref().len();
        let covered = if self.msg_type() == TYPE_REGISTER {
            REGISTER_HEADER_LEN.min(len)
        } else {
            len
        };
        let check = ipv4::checksum(&self.buffer.as_ref()[..covered]);
        self.set_checksum(check);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AsMut<[u8]> for Packet<T> {
    fn as_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}
