//! Boundary types: what crosses between a protocol and the control core, in one file that
//! both import (quinn-proto's `shared.rs`), so no protocol file and the core import each other.

use dataplane::wire::{igmp, ipv4};
use std::net::Ipv4Addr;

/// A membership change for the control core to turn into an MGM add or delete group
/// membership on interface `iface`. `source: None` is (*,G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum MembershipEvent {
    /// Traffic for (source, group) is wanted on `iface`.
    Join {
        /// Interface.
        iface: u32,
        /// Source, `None` for any source.
        source: Option<Ipv4Addr>,
        /// Group.
        group: Ipv4Addr,
    },
    /// Traffic for (source, group) is no longer wanted on `iface`.
    Leave {
        /// Interface.
        iface: u32,
        /// Source, `None` for any source.
        source: Option<Ipv4Addr>,
        /// Group.
        group: Ipv4Addr,
    },
}

/// An IGMP message to send on `iface` from `src` to `dst`, with IP TTL 1 and a Router Alert
/// (RFC 2236 section 2, RFC 3376 section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Interface.
    pub iface: u32,
    /// Source address: the interface's.
    pub src: Ipv4Addr,
    /// Destination: 224.0.0.1 for general queries, the group for specific ones.
    pub dst: Ipv4Addr,
    /// The message.
    pub igmp: igmp::Repr,
}

impl Transmit {
    /// The IGMP message bytes (the IP payload).
    pub fn igmp_bytes(&self) -> Vec<u8> {
        self.igmp.to_bytes()
    }

    /// The whole IPv4 datagram: a 24-byte header with Router Alert, TTL 1, DSCP CS6 (0xc0, as
    /// Linux sends IGMP), then the message.
    pub fn ip_packet(&self) -> Vec<u8> {
        let body = self.igmp_bytes();
        let repr = ipv4::Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: ipv4::PROTOCOL_IGMP,
            payload_len: body.len(),
            ttl: 1,
            dscp_ecn: 0xc0,
        };
        let mut buf = vec![0u8; ipv4::ROUTER_ALERT_HEADER_LEN + body.len()];
        repr.emit_with_router_alert(&mut ipv4::Packet::new_unchecked(&mut buf[..]));
        buf[ipv4::ROUTER_ALERT_HEADER_LEN..].copy_from_slice(&body);
        buf
    }
}

/// A received IP packet a protocol consumes, with the IP header fields the protocols check
/// (RFC 3376 4: TTL 1 and Router Alert) and the IP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedPacket<'a> {
    /// IP source.
    pub src: Ipv4Addr,
    /// IP destination.
    pub dst: Ipv4Addr,
    /// IP protocol number.
    pub protocol: u8,
    /// IP TTL.
    pub ttl: u8,
    /// The IP header carries a Router Alert option.
    pub router_alert: bool,
    /// The IP payload.
    pub payload: &'a [u8],
}

/// One of a protocol's `show` views, as data: its name (the words after `show`) and its
/// content as JSON, so the core and the admin socket can list every protocol's views without
/// knowing its types.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowView {
    /// E.g. `"igmp interfaces"`.
    pub name: &'static str,
    /// The view's content.
    pub data: serde_json::Value,
}

impl ShowView {
    /// A view from any serialisable value (`Null` if it cannot be serialised, which the
    /// protocols' plain data types never do).
    pub fn new(name: &'static str, data: &impl serde::Serialize) -> ShowView {
        ShowView {
            name,
            data: serde_json::to_value(data).unwrap_or_default(),
        }
    }
}
