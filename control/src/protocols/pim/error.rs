//! Why a received PIM packet was dropped without effect: one counter per reason and interface,
//! shown under the reason's snake_case name.

use dataplane::wire::pim;
use serde::Serialize;

/// Why a received PIM packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Shorter than its header, or a field, option or list runs past its end.
    Truncated,
    /// The version is not 2.
    BadVersion,
    /// The checksum does not verify.
    BadChecksum,
    /// A type PIM-SM does not use (Graft, Graft-Ack, 9 and up).
    UnknownType,
    /// An encoded address of another family or encoding, or a mask above 32.
    BadAddress,
    /// A Hello option whose length does not fit its type.
    BadOptionLength,
    /// A Hello (or other link-local message) not sent to ALL-PIM-ROUTERS.
    BadDestination,
    /// A Hello whose source is not a usable unicast address.
    BadSource,
    /// Sent by this router itself (looped back).
    OwnAddress,
    /// A Hello from a new neighbour while the interface holds its most neighbours.
    NeighborLimit,
    /// A Join/Prune or Assert from a router that is not a live neighbour (RFC 7761 4.5:
    /// ignored).
    NotNeighbor,
    /// An Assert whose group is not one multicast address, or an (S,G) Assert (RPT bit
    /// clear) without a source.
    BadAssert,
}

impl RejectReason {
    /// The reason for a wire-format error.
    pub fn from_wire(e: pim::Error) -> RejectReason {
        match e {
            pim::Error::Truncated | pim::Error::MaxLenTooSmall(_) => RejectReason::Truncated,
            pim::Error::BadVersion(_) => RejectReason::BadVersion,
            pim::Error::BadChecksum => RejectReason::BadChecksum,
            pim::Error::UnknownType(_) => RejectReason::UnknownType,
            pim::Error::UnknownAddressFamily(_)
            | pim::Error::UnknownEncoding(_)
            | pim::Error::BadMaskLen(_) => RejectReason::BadAddress,
            pim::Error::BadOptionLen { .. } => RejectReason::BadOptionLength,
        }
    }
}
