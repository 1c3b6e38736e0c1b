//! Errors of the IGMP instance's management calls, and the reasons packets are rejected.

use serde::Serialize;

/// A management call that changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgmpError {
    /// The interface is already running IGMP.
    #[error("interface {0} already runs IGMP")]
    InterfaceExists(u32),
    /// The interface does not run IGMP.
    #[error("interface {0} does not run IGMP")]
    NoSuchInterface(u32),
    /// The configured version is not 1, 2 or 3.
    #[error("IGMP version {0} is not 1, 2 or 3")]
    BadVersion(u8),
    /// The prefix length is above 32.
    #[error("prefix length {0} is above 32")]
    BadPrefixLen(u8),
    /// A static join names a group outside 224.0.0.0/4, or a (*,G) join in the SSM range.
    #[error("static join {0} is not a valid membership")]
    BadStaticJoin(String),
}

/// Why a received IGMP packet was dropped without effect. Each has a counter per interface
/// ([`super::InterfaceCounters::rejected`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RejectReason {
    /// Shorter than its header, or a source list or record past the end.
    Truncated,
    /// A query of 9 to 11 bytes (RFC 3376 7.1).
    BadQueryLen,
    /// The IGMP checksum does not verify.
    BadChecksum,
    /// A type the router side does not handle.
    UnknownType,
    /// IP TTL is not 1 (RFC 3376 section 4, RFC 2236 section 2).
    BadTtl,
    /// A v2 or v3 message without the IP Router Alert option.
    NoRouterAlert,
    /// The source is not on the interface's subnet (nor 0.0.0.0 for a v3 report).
    SourceNotOnSubnet,
    /// Sent by this router itself (looped back).
    OwnAddress,
    /// The group is not a multicast address, or is in 224.0.0.0/24 (never routed).
    BadGroup,
    /// A message of a version above the interface's configured one.
    VersionAboveInterface,
    /// A v1/v2 report or leave for a group in the SSM range (RFC 4604 section 2.2.1).
    AsmInSsmRange,
}
