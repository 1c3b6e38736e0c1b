//! Boundary types: what crosses between a protocol and the control core, in one file that
//! both import (quinn-proto's `shared.rs`), so no protocol file and the core import each other.

use crate::interface::Interface as Iface;
use crate::interface::Interface;
use dataplane::wire::{ether, igmp, ipv4};
use mgm::{InterfaceId, Scope};
use std::net::Ipv4Addr;

/// The origin of an RPF route the core gives a protocol (`mgm::RouteInfo::protocol`, numbered
/// as IANA's ipRouteProto): the config's `rpf_routes` (netmgmt). PIM's assert metric
/// preference is read from it.
pub const ROUTE_CONFIG: u32 = 3;
/// The origin of an RPF route from the kernel's routing table (other).
pub const ROUTE_KERNEL: u32 = 1;
/// The origin of a connected subnet's route (local).
pub const ROUTE_CONNECTED: u32 = 2;

/// A membership change for the control core to turn into an MGM add or delete group
/// membership on interface `iface`. `source: None` is (*,G).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum MembershipEvent {
    /// Traffic for (source, group) is wanted on `iface`.
    Join {
        /// Interface.
        iface: Iface,
        /// Source, `None` for any source.
        source: Option<Ipv4Addr>,
        /// Group.
        group: Ipv4Addr,
    },
    /// Traffic for (source, group) is no longer wanted on `iface`.
    Leave {
        /// Interface.
        iface: Iface,
        /// Source, `None` for any source.
        source: Option<Ipv4Addr>,
        /// Group.
        group: Ipv4Addr,
    },
}

/// An entry that carried traffic since the last report (see `Protocol::handle_traffic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// Source.
    pub source: Ipv4Addr,
    /// Group.
    pub group: Ipv4Addr,
    /// The entry's incoming interface.
    pub iif: Iface,
}

/// An IPv4 datagram of any protocol to send on `iface` to a multicast destination (PIM's
/// Hello and Join/Prune to 224.0.0.13, OSPF's to 224.0.0.5, ...): the core builds its header
/// and its Ethernet frame (destination MAC from the group, the port's source MAC). A unicast
/// destination (PIM's Register and Register-Stop) goes to the kernel instead
/// (`control_core::UnicastOut`), which routes it and resolves the next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Interface.
    pub iface: Iface,
    /// Source address: the interface's, as a rule.
    pub src: Ipv4Addr,
    /// Destination: a multicast group, or a unicast address (through the kernel; refused and
    /// counted where there is no kernel path: no twins).
    pub dst: Ipv4Addr,
    /// IP protocol number.
    pub protocol: u8,
    /// IP TTL (1 for link-local messages).
    pub ttl: u8,
    /// DSCP and ECN byte (0xc0, CS6, for routing protocols' messages).
    pub dscp_ecn: u8,
    /// The IP payload.
    pub payload: Vec<u8>,
}

impl Datagram {
    /// The whole Ethernet frame: the group's MAC, a zero source MAC (the data plane sets the
    /// port's), IPv4, the header with a checksum, then the payload. `None` for a unicast
    /// destination or a payload that does not fit one datagram.
    pub fn frame(&self) -> Option<Vec<u8>> {
        if !self.dst.is_multicast() || self.payload.len() > 65_535 - ipv4::HEADER_LEN {
            return None;
        }
        let mut ip = vec![0u8; ipv4::HEADER_LEN + self.payload.len()];
        ipv4::Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: self.protocol,
            payload_len: self.payload.len(),
            ttl: self.ttl,
            dscp_ecn: self.dscp_ecn,
        }
        .emit(&mut ipv4::Packet::new_unchecked(&mut ip[..]));
        ip[ipv4::HEADER_LEN..].copy_from_slice(&self.payload);
        let mut f = Vec::with_capacity(14 + ip.len());
        f.extend_from_slice(&ether::multicast_mac(self.dst).0);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&ether::ETHERTYPE_IPV4.to_be_bytes());
        f.extend_from_slice(&ip);
        Some(f)
    }
}

/// An IGMP message to send on `iface` from `src` to `dst`, with IP TTL 1 and a Router Alert
/// (RFC 2236 section 2, RFC 3376 section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Interface.
    pub iface: Iface,
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

/// What a protocol asks of the MGM and the RIB when the router starts. The core applies every
/// protocol's requests in an order the MGM's alert rules depend on (`control_core/start.rs`):
/// routing protocols in registry order are registered and take their `interfaces` (with their
/// `interface_memberships` and `rpf_routes`); then their `memberships`, then their `misses`;
/// local-membership protocols (IGMP) are registered last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartRequests {
    /// Interfaces it owns in the MGM.
    pub interfaces: Vec<Interface>,
    /// It also owns every interface no other routing protocol asks for in `interfaces`
    /// (static routing: it need not know which protocols run).
    pub unclaimed_interfaces: bool,
    /// Memberships that come with its interfaces, added as it takes them (the IGMP proxy's
    /// (*,*) upstream), before any other protocol's memberships.
    pub interface_memberships: Vec<(Scope, Interface)>,
    /// Routes it adds to the multicast RIB: (network, prefix length, interface, upstream
    /// neighbour or 0.0.0.0 for none).
    pub rpf_routes: Vec<(Ipv4Addr, u8, Interface, Ipv4Addr)>,
    /// Memberships added once every routing protocol is registered (static routes).
    pub memberships: Vec<(Scope, InterfaceId)>,
    /// Entries made at start as if their first packet had arrived: (source, group, arrival).
    pub misses: Vec<(std::net::Ipv4Addr, std::net::Ipv4Addr, Interface)>,
    /// A local-membership protocol (IGMP): registered after the routing protocols' state is
    /// in place, as the MGM's IGMP client.
    pub local_membership: bool,
}

/// What a protocol asks of the core to apply its changed settings on a reload, as a
/// difference (`Protocol::prepare_reload`): the core applies them after the protocol took
/// its new settings (`Protocol::commit_reload`), in this order: RIB routes, memberships
/// removed, memberships added, entries refreshed, entries made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadRequests {
    /// Routes it takes out of the multicast RIB: (network, prefix length).
    pub rpf_routes_removed: Vec<(Ipv4Addr, u8)>,
    /// Routes it adds to the multicast RIB, as [`StartRequests::rpf_routes`].
    pub rpf_routes_added: Vec<(Ipv4Addr, u8, Interface, Ipv4Addr)>,
    /// Its memberships that go.
    pub memberships_removed: Vec<(Scope, InterfaceId)>,
    /// Its new memberships.
    pub memberships_added: Vec<(Scope, InterfaceId)>,
    /// Groups whose entries carry settings of its that changed (static routes' TTL
    /// thresholds): their entries are rebuilt and published again.
    pub refresh_groups: Vec<Ipv4Addr>,
    /// Entries to make now, as [`StartRequests::misses`] (existing ones are left alone).
    pub misses: Vec<(Ipv4Addr, Ipv4Addr, Interface)>,
}
