//! Identifiers and addresses: interfaces, clients, and (source, group) scopes.

use std::fmt;
use std::net::Ipv4Addr;

use crate::error::MgmError;

/// Protocol id of Microsoft's IGMP (`MS_IP_IGMP` = `PROTOCOL_ID(1, 0x137, 10)`).
pub const MS_IP_IGMP: u32 = 0x4137_000A;

/// An MGM interface: `(dwIfIndex, dwIfNextHopAddr)`. The next hop is 0.0.0.0 on broadcast and
/// point-to-point links and the neighbour's address on point-to-multipoint links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceId {
    /// Interface index (`dwIfIndex`).
    pub index: u32,
    /// Next hop that tells apart links sharing one index (`dwIfNextHopAddr`).
    pub next_hop: Ipv4Addr,
}

impl InterfaceId {
    /// The "no interface" value Windows reports as IIF 0 (used for MFEs with no route to S).
    pub const NONE: InterfaceId = InterfaceId {
        index: 0,
        next_hop: Ipv4Addr::UNSPECIFIED,
    };

    /// An interface on a broadcast or point-to-point link (next hop 0).
    pub fn new(index: u32) -> Self {
        InterfaceId {
            index,
            next_hop: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// One link behind a shared point-to-multipoint index.
    pub fn with_next_hop(index: u32, next_hop: Ipv4Addr) -> Self {
        InterfaceId { index, next_hop }
    }
}

impl fmt::Display for InterfaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.next_hop)
    }
}

/// The (protocol id, component id) pair that names an MGM client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId {
    /// Protocol id (`dwProtocolId`), e.g. [`MS_IP_IGMP`].
    pub protocol: u32,
    /// Component id (`dwComponentId`): tells apart instances of one protocol.
    pub component: u32,
}

/// Opaque registration handle (`HANDLE hProtocol`). Handles are never reused, so a stale one is
/// always rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolHandle(pub(crate) u64);

impl ProtocolHandle {
    /// The raw value, for logging or for keying a dispatcher table.
    pub fn raw(&self) -> u64 {
        self.0
    }
}

/// Opaque group-enumeration handle (`HANDLE hEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnumHandle(pub(crate) u64);

/// A validated membership scope. Ranges are not supported (as in Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// (S,G): one source to one group.
    SourceGroup {
        /// Source address.
        source: Ipv4Addr,
        /// Group address (class D).
        group: Ipv4Addr,
    },
    /// (*,G): any source to one group.
    AnySource {
        /// Group address (class D).
        group: Ipv4Addr,
    },
    /// (*,*): every source and every group (wildcard receiver).
    All,
}

const ONES: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 255);
const ZERO: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

impl Scope {
    /// Validates a Windows-style (source, source mask, group, group mask) quadruple.
    ///
    /// Rejects (with `InvalidParameter`) masks other than 0 and all-ones, a non-zero mask on a
    /// zero address, a zero mask on a non-zero address, a group that is not class D, and
    /// (S,*) which Windows does not define.
    pub fn from_masks(
        source: Ipv4Addr,
        source_mask: Ipv4Addr,
        group: Ipv4Addr,
        group_mask: Ipv4Addr,
    ) -> Result<Scope, MgmError> {
        let exact = |a: Ipv4Addr, m: Ipv4Addr| -> Result<bool, MgmError> {
            match (a == ZERO, m) {
                (true, ZERO) => Ok(false),
                (false, ONES) => Ok(true),
                // A host route to 0.0.0.0 or a range mask: neither is supported.
                _ => Err(MgmError::InvalidParameter),
            }
        };
        let has_source = exact(source, source_mask)?;
        let has_group = exact(group, group_mask)?;
        match (has_source, has_group) {
            (false, false) => Ok(Scope::All),
            (false, true) => Scope::any_source(group),
            (true, true) => Scope::source_group(source, group),
            (true, false) => Err(MgmError::InvalidParameter),
        }
    }

    /// (S,G), checking that G is multicast and S is a plausible unicast source.
    pub fn source_group(source: Ipv4Addr, group: Ipv4Addr) -> Result<Scope, MgmError> {
        if !group.is_multicast() || source.is_multicast() || source == ZERO {
            return Err(MgmError::InvalidParameter);
        }
        Ok(Scope::SourceGroup { source, group })
    }

    /// (*,G), checking that G is multicast.
    pub fn any_source(group: Ipv4Addr) -> Result<Scope, MgmError> {
        if !group.is_multicast() {
            return Err(MgmError::InvalidParameter);
        }
        Ok(Scope::AnySource { group })
    }

    /// The Windows (source, source mask, group, group mask) image of this scope.
    pub fn to_entry(&self) -> SourceGroupEntry {
        match *self {
            Scope::SourceGroup { source, group } => SourceGroupEntry {
                source,
                source_mask: ONES,
                group,
                group_mask: ONES,
            },
            Scope::AnySource { group } => SourceGroupEntry {
                source: ZERO,
                source_mask: ZERO,
                group,
                group_mask: ONES,
            },
            Scope::All => SourceGroupEntry {
                source: ZERO,
                source_mask: ZERO,
                group: ZERO,
                group_mask: ZERO,
            },
        }
    }

    /// The group of this scope, if it names one.
    pub fn group(&self) -> Option<Ipv4Addr> {
        match *self {
            Scope::SourceGroup { group, .. } | Scope::AnySource { group } => Some(group),
            Scope::All => None,
        }
    }
}

/// `SOURCE_GROUP_ENTRY`: the shape in which callbacks and enumeration report a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceGroupEntry {
    /// `dwSourceAddr` (0 = any).
    pub source: Ipv4Addr,
    /// `dwSourceMask` (0 or 255.255.255.255).
    pub source_mask: Ipv4Addr,
    /// `dwGroupAddr` (0 = any).
    pub group: Ipv4Addr,
    /// `dwGroupMask` (0 or 255.255.255.255).
    pub group_mask: Ipv4Addr,
}

impl SourceGroupEntry {
    /// Size of the Windows structure in bytes.
    pub const SIZE: usize = 16;

    /// The (S,G) entry with all-ones masks, as MFE-level callbacks report it.
    pub fn sg(source: Ipv4Addr, group: Ipv4Addr) -> Self {
        SourceGroupEntry {
            source,
            source_mask: ONES,
            group,
            group_mask: ONES,
        }
    }
}

/// `dwFlags` of add/delete membership: which kind of state the call changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MembershipFlags {
    /// `MGM_JOIN_STATE_FLAG` (0x1): a membership record that updates every MFE it covers.
    pub join: bool,
    /// `MGM_FORWARD_STATE_FLAG` (0x2): edit only the (S,G) MFE's OIF list; no record.
    pub forward: bool,
}

impl MembershipFlags {
    /// `MGM_JOIN_STATE_FLAG` alone.
    pub const JOIN: MembershipFlags = MembershipFlags {
        join: true,
        forward: false,
    };
    /// `MGM_FORWARD_STATE_FLAG` alone.
    pub const FORWARD: MembershipFlags = MembershipFlags {
        join: false,
        forward: true,
    };
    /// Both flags.
    pub const BOTH: MembershipFlags = MembershipFlags {
        join: true,
        forward: true,
    };

    /// From the Windows bit mask; unknown bits or no bits are `InvalidParameter`.
    pub fn from_bits(bits: u32) -> Result<Self, MgmError> {
        if bits == 0 || bits & !0x3 != 0 {
            return Err(MgmError::InvalidParameter);
        }
        Ok(MembershipFlags {
            join: bits & 1 != 0,
            forward: bits & 2 != 0,
        })
    }
}

/// Group enumeration type (`MGM_ENUM_TYPES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumType {
    /// `ANY_SOURCE` (0): one (*,G)-shaped entry per group that has any record.
    AnySource,
    /// `ALL_SOURCES` (1): every (*,G), (S,G) and (*,*) record, once each.
    AllSources,
}

/// The route toward a source in the multicast view of the routing table (the parts of
/// `RTM_DEST_INFO` that `MIB_IPMCAST_MFE` reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// Prefix of the route (`dwRouteNetwork`).
    pub network: Ipv4Addr,
    /// Mask of the route (`dwRouteMask`).
    pub mask: Ipv4Addr,
    /// Protocol that originated the route (`dwRouteProtocol`).
    pub protocol: u32,
}

impl Default for RouteInfo {
    fn default() -> Self {
        RouteInfo {
            network: Ipv4Addr::UNSPECIFIED,
            mask: Ipv4Addr::UNSPECIFIED,
            protocol: 0,
        }
    }
}
