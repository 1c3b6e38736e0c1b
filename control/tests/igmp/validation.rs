//! Input validation counters, SSM filtering, limits, static joins, interface removal.

use super::harness::*;
use super::{Igmp, IgmpConfig, IgmpError, IgmpInterfaceConfig, RejectReason};
use dataplane::wire::igmp::{self as wire, RecordType::*};
use std::net::Ipv4Addr;

const V2_REPORT: [u8; 8] = [0x16, 0x00, 0xf9, 0xfc, 0xef, 0x01, 0x01, 0x01];

fn rejected(lab: &Lab, reason: RejectReason) -> u64 {
    lab.counters().rejected(reason)
}

#[test]
fn every_rejection_is_counted() {
    let mut lab = Lab::v3();
    let now = lab.now;
    let rx = |lab: &mut Lab, src, ttl, ra, bytes: &[u8]| {
        lab.igmp.handle_packet(now, IF, src, G, ttl, ra, bytes);
        lab.drain();
    };
    rx(&mut lab, H1, 2, true, &V2_REPORT);
    assert_eq!(rejected(&lab, RejectReason::BadTtl), 1);
    rx(&mut lab, H1, 1, false, &V2_REPORT);
    assert_eq!(rejected(&lab, RejectReason::NoRouterAlert), 1);
    rx(&mut lab, Ipv4Addr::new(10, 0, 2, 2), 1, true, &V2_REPORT);
    rx(&mut lab, Ipv4Addr::UNSPECIFIED, 1, true, &V2_REPORT);
    assert_eq!(rejected(&lab, RejectReason::SourceNotOnSubnet), 2);
    rx(&mut lab, ME, 1, true, &V2_REPORT);
    assert_eq!(rejected(&lab, RejectReason::OwnAddress), 1);
    let mut bad = V2_REPORT;
    bad[3] ^= 1;
    rx(&mut lab, H1, 1, true, &bad);
    assert_eq!(rejected(&lab, RejectReason::BadChecksum), 1);
    rx(&mut lab, H1, 1, true, &V2_REPORT[..7]);
    assert_eq!(rejected(&lab, RejectReason::Truncated), 1);
    let mut unknown = V2_REPORT;
    unknown[0] = 0x13;
    unknown[2] = 0xfc; // 1300 + ef01 + 0101 = 0x10302 -> 0x0303 -> 0xfcfc
    rx(&mut lab, H1, 1, true, &unknown);
    assert_eq!(rejected(&lab, RejectReason::UnknownType), 1);
    // A 10-byte query (RFC 3376 7.1).
    let mut q10 = [0x11, 0x64, 0, 0, 0, 0, 0, 0, 0, 0];
    let check = dataplane::wire::ipv4::checksum(&q10);
    q10[2..4].copy_from_slice(&check.to_be_bytes());
    rx(&mut lab, H1, 1, true, &q10);
    assert_eq!(rejected(&lab, RejectReason::BadQueryLen), 1);
    // Reports for 224.0.0.x or a unicast group.
    lab.v2_report(H1, Ipv4Addr::new(224, 0, 0, 251));
    lab.v2_report(H1, Ipv4Addr::new(10, 1, 1, 1));
    assert_eq!(rejected(&lab, RejectReason::BadGroup), 2);
    // A v1 report needs no Router Alert; nothing above was accepted.
    assert!(lab.igmp.groups(IF, lab.now).is_empty());
    lab.igmp.handle_packet(
        now,
        IF,
        H1,
        G,
        1,
        false,
        &wire::Repr::ReportV1 { group: G }.to_bytes(),
    );
    lab.drain();
    assert_eq!(lab.take_events(), [join(None, G)]);
    // Unknown interface.
    lab.igmp.handle_packet(
        now,
        control::interface::Interface::from_index(99),
        H1,
        G,
        1,
        true,
        &V2_REPORT,
    );
    assert_eq!(lab.igmp.unknown_interface_packets(), 1);
    let c = lab.counters();
    assert_eq!(c.rejected.values().sum::<u64>(), 11);
    assert_eq!((c.v1_reports, c.v2_reports), (1, 0));
}

#[test]
fn v3_report_from_unspecified_source_is_accepted() {
    let mut lab = Lab::v3();
    lab.record(Ipv4Addr::UNSPECIFIED, ModeIsExclude, G, &[]);
    assert_eq!(lab.take_events(), [join(None, G)]);
    assert_eq!(lab.counters().v3_reports, 1);
}

#[test]
fn ssm_range_takes_only_source_specific_membership() {
    let mut lab = Lab::v3();
    lab.v2_report(H1, SSM_G);
    lab.v1_report(H1, SSM_G);
    lab.leave(H1, SSM_G);
    assert_eq!(rejected(&lab, RejectReason::AsmInSsmRange), 3);
    lab.record(H1, ModeIsExclude, SSM_G, &[]);
    lab.record(H1, ChangeToExclude, SSM_G, &[1]);
    assert_eq!(lab.counters().ssm_exclude_ignored, 2);
    assert!(lab.group(SSM_G).is_none());
    assert!(lab.take_events().is_empty());
    lab.record(H1, ModeIsInclude, SSM_G, &[1]);
    assert_eq!(lab.take_events(), [join(Some(s(1)), SSM_G)]);
    // Outside the range the same EXCLUDE record counts.
    lab.record(H1, ModeIsExclude, G, &[]);
    assert_eq!(lab.take_events(), [join(None, G)]);
    // The range is configurable.
    let mut igmp = Igmp::new(IgmpConfig {
        ssm_range: (Ipv4Addr::new(239, 0, 0, 0), 8),
        ..Default::default()
    });
    assert!(igmp.is_ssm(G) && !igmp.is_ssm(SSM_G));
    igmp.add_interface(
        lab.now,
        control::interface::Interface::from_index(2),
        ME,
        24,
        Default::default(),
    )
    .unwrap();
    igmp.handle_packet(
        lab.now,
        control::interface::Interface::from_index(2),
        H1,
        G,
        1,
        true,
        &V2_REPORT,
    );
    assert_eq!(
        igmp.interfaces(lab.now)[0]
            .counters
            .rejected(RejectReason::AsmInSsmRange),
        1
    );
}

#[test]
fn group_and_source_limits() {
    let mut lab = Lab::with(IgmpInterfaceConfig {
        max_groups: 2,
        max_sources: 3,
        ..Default::default()
    });
    lab.v2_report(H1, Ipv4Addr::new(239, 0, 0, 1));
    lab.v2_report(H1, Ipv4Addr::new(239, 0, 0, 2));
    lab.v2_report(H1, Ipv4Addr::new(239, 0, 0, 3));
    assert_eq!(lab.counters().group_limit_refused, 1);
    assert_eq!(lab.iface().groups, 2);
    // Existing groups still take reports.
    lab.v2_report(H2, Ipv4Addr::new(239, 0, 0, 2));
    assert_eq!(lab.counters().group_limit_refused, 1);
    lab.record(H1, AllowNewSources, Ipv4Addr::new(239, 0, 0, 1), &[1, 2]);
    lab.record(H1, AllowNewSources, Ipv4Addr::new(239, 0, 0, 2), &[3, 4, 5]);
    let info = lab.iface();
    assert_eq!(info.sources, 3);
    assert_eq!(info.counters.source_limit_refused, 2);
    // Freed sources can be used again: group 1 expires with its sources.
    lab.advance(secs(260));
    assert_eq!(lab.iface().sources, 0);
}

#[test]
fn static_joins_and_interface_removal() {
    let mut igmp = Igmp::new(IgmpConfig::default());
    let bad = IgmpInterfaceConfig {
        static_joins: vec![(None, SSM_G)],
        ..Default::default()
    };
    assert!(matches!(
        igmp.add_interface(secs(0), IF, ME, 24, bad),
        Err(IgmpError::BadStaticJoin(_))
    ));
    assert_eq!(
        igmp.add_interface(
            secs(0),
            IF,
            ME,
            24,
            IgmpInterfaceConfig {
                version: 4,
                ..Default::default()
            }
        ),
        Err(IgmpError::BadVersion(4))
    );
    let cfg = IgmpInterfaceConfig {
        static_joins: vec![(None, G), (Some(s(1)), SSM_G)],
        ..Default::default()
    };
    igmp.add_interface(secs(0), IF, ME, 24, cfg.clone())
        .unwrap();
    assert_eq!(
        igmp.add_interface(secs(0), IF, ME, 24, cfg),
        Err(IgmpError::InterfaceExists(IF))
    );
    let mut events = Vec::new();
    while let Some(e) = igmp.poll_event() {
        events.push(e);
    }
    assert_eq!(events, [join(Some(s(1)), SSM_G), join(None, G)]);
    // A host joining and leaving a statically joined group changes nothing.
    igmp.handle_packet(secs(1), IF, H1, G, 1, true, &V2_REPORT);
    igmp.handle_timeout(secs(400));
    assert!(igmp.poll_event().is_none());
    // Removal leaves everything the interface held.
    igmp.handle_packet(secs(400), IF, H1, G, 1, true, &V2_REPORT);
    igmp.remove_interface(IF).unwrap();
    let mut events = Vec::new();
    while let Some(e) = igmp.poll_event() {
        events.push(e);
    }
    assert_eq!(events, [leave_ev(Some(s(1)), SSM_G), leave_ev(None, G)]);
    assert_eq!(
        igmp.remove_interface(IF),
        Err(IgmpError::NoSuchInterface(IF))
    );
    assert!(igmp.poll_timeout().is_none());
}

#[test]
fn random_packets_never_panic() {
    let mut lab = Lab::v3();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..5_000usize {
        let len = 8 + i % 40;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        buf[0] = [0x11, 0x12, 0x16, 0x17, 0x22][i % 5];
        buf[4] = 224 + (next() % 16) as u8;
        buf[6] = 0;
        buf[7] = (next() % 3) as u8;
        if len >= 12 {
            buf[10] = 0;
            buf[11] = (next() % 3) as u8;
        }
        buf[2] = 0;
        buf[3] = 0;
        let check = dataplane::wire::ipv4::checksum(&buf);
        buf[2..4].copy_from_slice(&check.to_be_bytes());
        let src = Ipv4Addr::new(10, 0, 1, (next() % 20) as u8);
        lab.rx_bytes(src, G, &buf);
        if i % 100 == 0 {
            lab.advance(secs(7));
        }
    }
    let c = lab.counters();
    assert!(c.v3_reports + c.v2_reports + c.queries_received > 250);
}
