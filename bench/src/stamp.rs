//! The generator's stamp: 16 bytes at the start of the UDP payload of every generated packet.
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | magic `0x6d67` ("mg") |
//! | 2..4 | stream id (big endian) |
//! | 4..8 | sequence number within the stream (big endian, from 0) |
//! | 8..16 | TSC at transmit (native endian: only the same host reads it) |
//!
//! 16 bytes fit a 64-byte frame (60 bytes without FCS leave 18 bytes after the UDP header).
//! The router rewrites TTL, IP checksum and MACs, never the UDP payload, so the stamp survives.
//! The UDP checksum of generated packets is 0 (none; allowed for IPv4, RFC 768), because the
//! stamp changes per packet.

/// Magic that marks a generated packet.
pub const MAGIC: u16 = 0x6d67;
/// Stream id of a new-source packet (miss storm): its sequence number is the new source's
/// index, not a per-stream sequence number.
pub const NEW_FLOW: u16 = u16::MAX;
/// Stamp length in bytes.
pub const LEN: usize = 16;

/// A decoded stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Stream id (index into the generator's stream list).
    pub stream: u16,
    /// Sequence number within the stream.
    pub seq: u32,
    /// TSC when the packet was handed to the tx queue.
    pub tsc: u64,
}

/// Offset of the UDP payload in an Ethernet frame (optionally 802.1Q tagged) carrying
/// IPv4/UDP; `None` for anything else or a truncated frame.
pub fn udp_payload_offset(frame: &[u8]) -> Option<usize> {
    let mut off = 12;
    let mut ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    if ethertype == 0x8100 {
        off += 4;
        ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    off += 2;
    if ethertype != 0x0800 {
        return None;
    }
    let vihl = *frame.get(off)?;
    if vihl >> 4 != 4 || *frame.get(off + 9)? != 17 {
        return None;
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    let payload = off + ihl + 8;
    (ihl >= 20 && frame.len() >= payload).then_some(payload)
}

/// Reads the stamp of a generated frame; `None` for any other frame.
pub fn read(frame: &[u8]) -> Option<Stamp> {
    let p = udp_payload_offset(frame)?;
    let s = frame.get(p..p + LEN)?;
    if u16::from_be_bytes([s[0], s[1]]) != MAGIC {
        return None;
    }
    Some(Stamp {
        stream: u16::from_be_bytes([s[2], s[3]]),
        seq: u32::from_be_bytes([s[4], s[5], s[6], s[7]]),
        tsc: u64::from_ne_bytes(s[8..16].try_into().ok()?),
    })
}

/// Writes `stamp` at `payload_offset` (from [`udp_payload_offset`] of the template).
/// # Panics
/// If the frame is shorter than `payload_offset + LEN` (templates are built long enough).
#[inline]
pub fn write(frame: &mut [u8], payload_offset: usize, stamp: Stamp) {
    let s = &mut frame[payload_offset..payload_offset + LEN];
    s[0..2].copy_from_slice(&MAGIC.to_be_bytes());
    s[2..4].copy_from_slice(&stamp.stream.to_be_bytes());
    s[4..8].copy_from_slice(&stamp.seq.to_be_bytes());
    s[8..16].copy_from_slice(&stamp.tsc.to_ne_bytes());
}
