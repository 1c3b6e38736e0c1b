//! Received messages checked and reduced to what the state machine uses; queries built.
//!
//! Checks (RFC 3376 sections 4 and 9, RFC 2236 section 2): checksum and lengths, IP TTL 1,
//! Router Alert on every v2 and v3 message, source on the interface's subnet (a v3 report may
//! come from 0.0.0.0, RFC 3376 4.2.13), not our own address, a routable multicast group,
//! no message of a version above the interface's, no v1/v2 membership in the SSM range.

use super::config::{in_prefix, IgmpInterfaceConfig};
use super::error::RejectReason;
use super::interface::Interface;
use crate::protocols::shared::Transmit;
use dataplane::wire::igmp::{self, GroupRecordRepr, QueryV3, RecordType};
use dataplane::wire::ipv4;
use std::net::Ipv4Addr;
use std::time::Duration;

/// A received query, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Query {
    /// 1, 2 or 3 (RFC 3376 7.1).
    pub version: u8,
    /// 0.0.0.0 for a general query.
    pub group: Ipv4Addr,
    /// S flag (v3 only).
    pub suppress: bool,
    /// Sources of a group-and-source-specific query.
    pub sources: Vec<Ipv4Addr>,
    /// Querier's Robustness Variable (v3 only; 0: none given).
    pub qrv: u8,
    /// Querier's Query Interval Code (v3 only; 0: none given).
    pub qqic: u8,
}

/// A received report or leave, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Report {
    /// v1 (1) or v2 (2) report of a group.
    Old { version: u8, group: Ipv4Addr },
    /// v2 leave.
    Leave { group: Ipv4Addr },
    /// v3 report (records of unknown types already dropped).
    V3 { records: Vec<GroupRecordRepr> },
}

/// A message that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Message {
    Query(Query),
    Report(Report),
}

/// A group a record or message may name: multicast and outside 224.0.0.0/24.
pub(super) fn routable_group(group: Ipv4Addr) -> bool {
    ipv4::is_multicast(group) && !ipv4::is_link_local_multicast(group)
}

/// Check a received message on interface `i`; the error is the reason to count.
pub(super) fn validate(
    i: &Interface,
    ssm: (Ipv4Addr, u8),
    src: Ipv4Addr,
    _dst: Ipv4Addr,
    ttl: u8,
    router_alert: bool,
    data: &[u8],
) -> Result<Message, RejectReason> {
    let repr = igmp::Repr::parse(&igmp::Packet::new_unchecked(data)).map_err(|e| match e {
        igmp::Error::Truncated => RejectReason::Truncated,
        igmp::Error::BadQueryLen => RejectReason::BadQueryLen,
        igmp::Error::BadChecksum => RejectReason::BadChecksum,
        igmp::Error::UnknownType(_) => RejectReason::UnknownType,
    })?;
    if ttl != 1 {
        return Err(RejectReason::BadTtl);
    }
    let version = match &repr {
        igmp::Repr::Query { .. } => repr.query_version().unwrap_or(1),
        igmp::Repr::ReportV1 { .. } => 1,
        igmp::Repr::ReportV2 { .. } | igmp::Repr::LeaveV2 { .. } => 2,
        igmp::Repr::ReportV3 { .. } => 3,
    };
    if version >= 2 && !router_alert {
        return Err(RejectReason::NoRouterAlert);
    }
    if src == i.address {
        return Err(RejectReason::OwnAddress);
    }
    let v3_report = matches!(repr, igmp::Repr::ReportV3 { .. });
    let on_subnet = in_prefix(src, i.address, i.prefix_len) && !src.is_unspecified();
    if !(on_subnet || (v3_report && src.is_unspecified())) {
        return Err(RejectReason::SourceNotOnSubnet);
    }
    let (ssm_prefix, ssm_len) = ssm;
    let old_asm = |group: Ipv4Addr| -> Result<(), RejectReason> {
        if !routable_group(group) {
            Err(RejectReason::BadGroup)
        } else if in_prefix(group, ssm_prefix, ssm_len) {
            Err(RejectReason::AsmInSsmRange)
        } else {
            Ok(())
        }
    };
    let report = match repr {
        igmp::Repr::Query {
            group,
            v3,
            max_resp_code: _,
        } => {
            if !group.is_unspecified() && !routable_group(group) {
                return Err(RejectReason::BadGroup);
            }
            let (suppress, sources, qrv, qqic) = v3
                .map(|q| (q.suppress_router_side, q.sources, q.qrv, q.qqic))
                .unwrap_or_default();
            return Ok(Message::Query(Query {
                version,
                group,
                suppress,
                sources,
                qrv,
                qqic,
            }));
        }
        _ if version > i.cfg.version => return Err(RejectReason::VersionAboveInterface),
        igmp::Repr::ReportV1 { group } | igmp::Repr::ReportV2 { group } => {
            old_asm(group)?;
            Report::Old { version, group }
        }
        igmp::Repr::LeaveV2 { group } => {
            old_asm(group)?;
            Report::Leave { group }
        }
        igmp::Repr::ReportV3 { records } => Report::V3 { records },
    };
    Ok(Message::Report(report))
}

/// Max Resp Code for a duration: tenths of a second, v2 as a plain byte (at most 25.5 s), v3
/// with the RFC 3376 4.1.1 encoding.
fn max_resp_code(version: u8, d: Duration) -> u8 {
    let tenths = u32::try_from(d.as_millis() / 100).unwrap_or(u32::MAX);
    if version >= 3 {
        igmp::encode_code(tenths)
    } else {
        u8::try_from(tenths).unwrap_or(u8::MAX).max(1)
    }
}

fn query(
    cfg: &IgmpInterfaceConfig,
    max_resp: Duration,
    group: Ipv4Addr,
    suppress: bool,
    sources: Vec<Ipv4Addr>,
) -> igmp::Repr {
    match cfg.version {
        1 => igmp::Repr::Query {
            max_resp_code: 0,
            group,
            v3: None,
        },
        2 => igmp::Repr::Query {
            max_resp_code: max_resp_code(2, max_resp),
            group,
            v3: None,
        },
        _ => igmp::Repr::Query {
            max_resp_code: max_resp_code(3, max_resp),
            group,
            v3: Some(QueryV3 {
                suppress_router_side: suppress,
                // 4.1.6: a robustness above 7 is advertised as 0.
                qrv: if cfg.robustness > 7 {
                    0
                } else {
                    cfg.robustness
                },
                qqic: igmp::encode_code(
                    u32::try_from(cfg.query_interval.as_secs()).unwrap_or(u32::MAX),
                ),
                sources,
            }),
        },
    }
}

/// A general query from `i` to 224.0.0.1 with the query response interval.
pub(super) fn general_query(i: &Interface) -> Transmit {
    Transmit {
        iface: i.id,
        src: i.address,
        dst: igmp::ALL_SYSTEMS,
        igmp: query(
            &i.cfg,
            i.cfg.query_response_interval,
            Ipv4Addr::UNSPECIFIED,
            false,
            Vec::new(),
        ),
    }
}

/// A group-specific (no sources) or group-and-source-specific query from `i` to the group,
/// with the last member query interval as Max Resp Time (RFC 3376 6.6.3). `None` on a v1
/// interface (v1 has no such queries) or for sources on a v2 interface.
pub(super) fn specific_query(
    i: &Interface,
    group: Ipv4Addr,
    suppress: bool,
    sources: Vec<Ipv4Addr>,
) -> Option<Transmit> {
    if i.cfg.version == 1 || (i.cfg.version == 2 && !sources.is_empty()) {
        return None;
    }
    Some(Transmit {
        iface: i.id,
        src: i.address,
        dst: group,
        igmp: query(
            &i.cfg,
            i.cfg.last_member_query_interval,
            group,
            suppress,
            sources,
        ),
    })
}

/// The record type a v3 record takes in the group's compatibility mode (RFC 3376 7.3.2):
/// below v3, BLOCK is ignored and TO_EX loses its sources. `None`: ignore the record.
pub(super) fn compat_record(
    compat: u8,
    rt: RecordType,
    sources: &[Ipv4Addr],
) -> Option<(RecordType, Vec<Ipv4Addr>)> {
    match (compat, rt) {
        (3, _) => Some((rt, sources.to_vec())),
        (_, RecordType::BlockOldSources) => None,
        (_, RecordType::ChangeToExclude) => Some((rt, Vec::new())),
        _ => Some((rt, sources.to_vec())),
    }
}
