//! Errors of the IGMP instance's management calls, and the reasons packets are rejected.

use crate::interface::Interface as Iface;
use serde::Serialize;

/// A management call that changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgmpError {
    /// The interface is already running IGMP.
    #[error("interface {0} already runs IGMP")]
    InterfaceExists(Iface),
    /// The interface does not run IGMP.
    #[error("interface {0} does not run IGMP")]
    NoSuchInterface(Iface),
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
/// ([`super::InterfaceCounters::rejected`]), shown under its snake_case [`RejectReason::name`]
/// (`bad_ttl`), as every other counter name in `mrouterctl` output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
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

impl RejectReason {
    /// Every reason.
    pub const ALL: [RejectReason; 11] = [
        RejectReason::Truncated,
        RejectReason::BadQueryLen,
        RejectReason::BadChecksum,
        RejectReason::UnknownType,
        RejectReason::BadTtl,
        RejectReason::NoRouterAlert,
        RejectReason::SourceNotOnSubnet,
        RejectReason::OwnAddress,
        RejectReason::BadGroup,
        RejectReason::VersionAboveInterface,
        RejectReason::AsmInSsmRange,
    ];

    /// The counter's name in text and JSON output (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::Truncated => "truncated",
            RejectReason::BadQueryLen => "bad_query_len",
            RejectReason::BadChecksum => "bad_checksum",
            RejectReason::UnknownType => "unknown_type",
            RejectReason::BadTtl => "bad_ttl",
            RejectReason::NoRouterAlert => "no_router_alert",
            RejectReason::SourceNotOnSubnet => "source_not_on_subnet",
            RejectReason::OwnAddress => "own_address",
            RejectReason::BadGroup => "bad_group",
            RejectReason::VersionAboveInterface => "version_above_interface",
            RejectReason::AsmInSsmRange => "asm_in_ssm_range",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_reasons_are_snake_case_in_json_and_name() {
        for r in RejectReason::ALL {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, r.name(), "{r:?}");
            assert!(
                r.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{r:?}"
            );
        }
        // As map keys (how the interface counters carry them).
        let map: std::collections::BTreeMap<RejectReason, u64> =
            [(RejectReason::NoRouterAlert, 2)].into();
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"no_router_alert":2}"#
        );
    }
}
