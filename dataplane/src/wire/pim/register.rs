//! Register (RFC 7761 4.9.3) and Register-Stop (4.9.4).
//!
//! A Register carries the B (Border) and N (Null-Register) bits and the multicast data packet,
//! borrowed from the received buffer ([`Register::packet`]) so the RP can forward it without a
//! copy. Its checksum covers only the 8-byte header (see `header.rs`).

use std::net::Ipv4Addr;

use super::addr::{self, EncodedGroup, GROUP_LEN, UNICAST_LEN};
use super::cursor::{Reader, Writer};
use super::header::Error;

const BORDER: u32 = 0x8000_0000;
const NULL: u32 = 0x4000_0000;

/// An owned Register header with the encapsulated packet borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Register<'a> {
    /// B bit: sent by a PMBR (border router); 0 from a DR.
    pub border: bool,
    /// N bit: a Null-Register (RFC 7761 4.4.1), whose packet is only an IPv4 header naming the
    /// source and group.
    pub null: bool,
    /// The encapsulated IPv4 multicast packet, as received (not checked here).
    pub packet: &'a [u8],
}

impl<'a> Register<'a> {
    /// Read from the bytes after the common header.
    pub fn parse(body: &'a [u8]) -> Result<Register<'a>, Error> {
        let mut r = Reader::new(body);
        let flags = r.u32()?;
        Ok(Register {
            border: flags & BORDER != 0,
            null: flags & NULL != 0,
            packet: r.rest(),
        })
    }

    /// Bytes [`Register::emit_body`] writes.
    pub fn body_len(&self) -> usize {
        4 + self.packet.len()
    }

    /// Write the flags word (reserved bits zero) and the packet.
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        let b = if self.border { BORDER } else { 0 };
        let n = if self.null { NULL } else { 0 };
        w.u32(b | n);
        w.bytes(self.packet);
    }
}

/// An owned Register-Stop: the (S,G) to stop registering, S 0.0.0.0 for every source of G.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegisterStop {
    /// The group (Encoded-Group).
    pub group: EncodedGroup,
    /// The source (Encoded-Unicast), the inner packet's source address.
    pub source: Ipv4Addr,
}

impl RegisterStop {
    /// Read from the bytes after the common header; trailing bytes are ignored.
    pub fn parse(body: &[u8]) -> Result<RegisterStop, Error> {
        let mut r = Reader::new(body);
        Ok(RegisterStop {
            group: EncodedGroup::read(&mut r)?,
            source: addr::read_unicast(&mut r)?,
        })
    }

    /// Bytes [`RegisterStop::emit_body`] writes.
    pub const fn body_len(&self) -> usize {
        GROUP_LEN + UNICAST_LEN
    }

    /// Write group and source.
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        self.group.write(w);
        addr::write_unicast(w, self.source);
    }
}
