//! Queries, querier election, host compatibility modes and timers.

use super::harness::*;
use super::{FilterMode, IgmpInterfaceConfig};
use dataplane::wire::igmp::{self as wire, RecordType::*};
use dataplane::wire::ipv4;
use std::net::Ipv4Addr;
use std::time::Duration;

const LOWER: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 5);
const HIGHER: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 20);

fn general_query_times(lab: &Lab) -> Vec<Duration> {
    lab.sent
        .iter()
        .filter(|(_, t)| t.dst == wire::ALL_SYSTEMS)
        .map(|(at, _)| *at)
        .collect()
}

fn v2_general_query() -> wire::Repr {
    wire::Repr::Query {
        max_resp_code: 100,
        group: Ipv4Addr::UNSPECIFIED,
        v3: None,
    }
}

#[test]
fn startup_queries_count_and_spacing() {
    let mut lab = Lab::with(IgmpInterfaceConfig::default());
    lab.advance(secs(400));
    // Robustness (2) startup queries a quarter query interval apart, then every 125 s.
    let ms = Duration::from_millis;
    assert_eq!(
        general_query_times(&lab),
        [ms(0), ms(31_250), ms(156_250), ms(281_250)]
    );
    let (_, first) = &lab.sent[0];
    assert_eq!((first.iface, first.src), (IF, ME));
    // A v3 general query: max resp 10 s, QRV 2, QQIC 125, checksum right, sent with TTL 1 and
    // Router Alert.
    assert_eq!(
        first.igmp_bytes(),
        [0x11, 0x64, 0xec, 0x1e, 0, 0, 0, 0, 0x02, 0x7d, 0, 0]
    );
    let ip = first.ip_packet();
    let p = ipv4::Packet::new_checked(&ip[..]).unwrap();
    assert!(p.verify_checksum() && p.has_router_alert());
    assert_eq!(
        (p.ttl(), p.protocol(), p.dst_addr()),
        (1, 2, wire::ALL_SYSTEMS)
    );
    assert_eq!(lab.iface().counters.queries_sent, 4);

    // Three startup queries with robustness 3, and a v2 query format on a v2 interface.
    let cfg = IgmpInterfaceConfig {
        robustness: 3,
        version: 2,
        ..Default::default()
    };
    let mut lab = Lab::with(cfg);
    lab.advance(secs(100));
    assert_eq!(general_query_times(&lab), [ms(0), ms(31_250), ms(62_500)]);
    assert_eq!(lab.sent[0].1.igmp, v2_general_query());
}

/// A port whose link comes (back) up lost the queries sent while it was down: the querier runs
/// its startup queries again from that moment; a non-querier stays quiet.
#[test]
fn a_link_coming_up_restarts_the_startup_queries_of_a_querier_only() {
    let mut lab = Lab::v3();
    lab.advance(secs(60));
    assert!(
        general_query_times(&lab).is_empty(),
        "between general queries"
    );
    let t = lab.now;
    lab.igmp.link_up(t, IF);
    lab.drain();
    lab.advance(secs(60));
    let ms = Duration::from_millis;
    // At once, then a quarter query interval later (the startup query interval), then the
    // query interval.
    assert_eq!(general_query_times(&lab), [t, t + ms(31_250)]);
    assert_eq!(lab.iface().startup_queries_left, 0);

    // A non-querier: nothing.
    let mut lab = Lab::v3();
    lab.rx(LOWER, wire::ALL_SYSTEMS, &v2_general_query());
    lab.clear();
    let t = lab.now;
    lab.igmp.link_up(t, IF);
    lab.drain();
    lab.advance(secs(10));
    assert!(general_query_times(&lab).is_empty());
    // An interface IGMP does not run on: nothing either.
    lab.igmp
        .link_up(lab.now, control::interface::Interface::from_index(8));
    lab.drain();
    assert!(lab.sent.is_empty());
}

#[test]
fn lower_address_takes_over_and_timer_expiry_restores_us() {
    let mut lab = Lab::v3();
    assert!(lab.iface().is_querier);
    // A higher address does not win.
    lab.rx(HIGHER, wire::ALL_SYSTEMS, &v2_general_query());
    assert!(lab.iface().is_querier);
    // A lower one does: we stop querying.
    lab.rx(LOWER, wire::ALL_SYSTEMS, &v2_general_query());
    let info = lab.iface();
    assert!(!info.is_querier);
    assert_eq!(info.querier, LOWER);
    // Other querier present interval: 2 * 125 + 10 / 2 = 255 s.
    assert_eq!(info.other_querier_expires, Some(secs(255)));
    assert_eq!(info.counters.older_version_queries, 2);
    lab.advance(secs(200));
    assert!(general_query_times(&lab).is_empty());
    // The querier queries again at 200 s: the timer restarts.
    lab.rx(LOWER, wire::ALL_SYSTEMS, &v2_general_query());
    lab.advance(secs(254));
    assert!(!lab.iface().is_querier);
    assert!(general_query_times(&lab).is_empty());
    // It goes quiet: 255 s after its last query we are querier and query at once.
    lab.advance(secs(1));
    let info = lab.iface();
    assert!(info.is_querier);
    assert_eq!(info.querier, ME);
    assert_eq!(general_query_times(&lab), [lab.now]);
    lab.advance(secs(125));
    assert_eq!(general_query_times(&lab).len(), 2);
}

#[test]
fn non_querier_adopts_the_querier_qrv_and_qqi_and_restores_its_own_when_it_takes_over() {
    let mut lab = Lab::v3();
    let v3_query = |qrv: u8, qqic: u8| wire::Repr::Query {
        max_resp_code: 100,
        group: Ipv4Addr::UNSPECIFIED,
        v3: Some(wire::QueryV3 {
            suppress_router_side: false,
            qrv,
            qqic,
            sources: Vec::new(),
        }),
    };
    // A higher-addressed router's values are not adopted (it is not the querier).
    lab.rx(HIGHER, wire::ALL_SYSTEMS, &v3_query(5, 30));
    assert_eq!(
        (lab.iface().robustness, lab.iface().query_interval),
        (2, secs(125))
    );
    // The querier says QRV 3, QQI 60 s (4.1.6, 4.1.7).
    lab.rx(LOWER, wire::ALL_SYSTEMS, &v3_query(3, 60));
    let info = lab.iface();
    assert!(!info.is_querier);
    assert_eq!((info.robustness, info.query_interval), (3, secs(60)));
    // Other querier present interval from the adopted values: 3 * 60 + 10 / 2 = 185 s.
    assert_eq!(info.other_querier_expires, Some(secs(185)));
    // Zero means "not given": the adopted values stay.
    lab.rx(LOWER, wire::ALL_SYSTEMS, &v3_query(0, 0));
    assert_eq!(
        (lab.iface().robustness, lab.iface().query_interval),
        (3, secs(60))
    );
    // The querier goes quiet: we take over with our own configuration.
    lab.advance(secs(185));
    let info = lab.iface();
    assert!(info.is_querier);
    assert_eq!((info.robustness, info.query_interval), (2, secs(125)));
    lab.advance(secs(125));
    assert_eq!(general_query_times(&lab).len(), 2);
}

#[test]
fn non_querier_sends_no_specific_queries_but_follows_the_querier() {
    let mut lab = Lab::v3();
    lab.v2_report(H1, G);
    lab.rx(LOWER, wire::ALL_SYSTEMS, &v2_general_query());
    lab.clear();
    lab.leave(H1, G);
    assert!(lab.sent.is_empty());
    assert_eq!(lab.state(G).3, Some(260));
    // The querier's group-specific query lowers our group timer to LMQT (6.6.1).
    let gsq = wire::Repr::Query {
        max_resp_code: 10,
        group: G,
        v3: None,
    };
    lab.rx(LOWER, G, &gsq);
    assert_eq!(lab.state(G).3, Some(2));
    lab.advance(secs(2));
    assert_eq!(lab.take_events(), [leave_ev(None, G)]);
    assert!(lab.group(G).is_none());
}

#[test]
fn v2_leave_runs_last_member_queries_then_leaves() {
    let mut lab = Lab::v3();
    lab.v2_report(H1, G);
    assert_eq!(lab.take_events(), [join(None, G)]);
    lab.advance(secs(5));
    lab.clear();
    lab.leave(H1, G);
    // Group-specific queries at once and after LMQI (LMQC = 2), to the group.
    assert_eq!(lab.sent.len(), 1);
    assert_eq!(lab.sent[0].1.dst, G);
    lab.advance(secs(1));
    assert_eq!(lab.take_queries(), [(G, false, vec![]), (G, false, vec![])]);
    assert!(lab.take_events().is_empty());
    lab.advance(Duration::from_millis(999));
    assert!(lab.take_events().is_empty());
    lab.advance(Duration::from_millis(1));
    assert_eq!(lab.take_events(), [leave_ev(None, G)]);
    assert!(lab.group(G).is_none());
    assert!(lab.sent.is_empty());
    assert_eq!(lab.counters().leaves, 1);
}

#[test]
fn v2_interface_sends_v2_group_queries() {
    let mut lab = Lab::with(IgmpInterfaceConfig {
        version: 2,
        ..Default::default()
    });
    lab.advance(secs(40));
    lab.v2_report(H1, G);
    lab.clear();
    lab.leave(H1, G);
    assert_eq!(
        lab.sent[0].1.igmp,
        wire::Repr::Query {
            max_resp_code: 10,
            group: G,
            v3: None
        }
    );
    // v3 reports are refused on a v2 interface.
    lab.record(H1, ModeIsExclude, G, &[]);
    assert_eq!(
        lab.counters()
            .rejected(super::RejectReason::VersionAboveInterface),
        1
    );
}

#[test]
fn immediate_leave() {
    let mut lab = Lab::with(IgmpInterfaceConfig {
        immediate_leave: true,
        ..Default::default()
    });
    lab.v2_report(H1, G);
    lab.clear();
    lab.leave(H1, G);
    assert_eq!(lab.take_events(), [leave_ev(None, G)]);
    assert!(lab.group(G).is_none());
    assert!(lab.sent.is_empty());
}

#[test]
fn group_membership_interval_expiry_leaves() {
    let mut lab = Lab::v3();
    lab.v2_report(H1, G);
    lab.take_events();
    lab.advance(secs(259));
    assert!(lab.take_events().is_empty());
    lab.advance(secs(1));
    assert_eq!(lab.take_events(), [leave_ev(None, G)]);
    // An INCLUDE source expires the same way.
    lab.record(H1, ModeIsInclude, G, &[1]);
    assert_eq!(lab.take_events(), [join(Some(s(1)), G)]);
    lab.advance(secs(260));
    assert_eq!(lab.take_events(), [leave_ev(Some(s(1)), G)]);
    assert!(lab.igmp.groups(IF, lab.now).is_empty());
}

#[test]
fn v2_report_switches_group_to_v2_mode_until_it_expires() {
    let mut lab = Lab::v3();
    lab.v2_report(H1, G);
    let g = lab.group(G).unwrap();
    assert_eq!(g.compat_mode, 2);
    assert_eq!(g.older_host_timers, (None, Some(secs(260))));
    // In v2 mode TO_EX loses its sources and BLOCK is ignored (7.3.2).
    lab.record(H2, ChangeToExclude, G, &[7]);
    assert_eq!(
        lab.state(G),
        (FilterMode::Exclude, vec![], vec![], Some(260))
    );
    lab.record(H2, BlockOldSources, G, &[8]);
    assert_eq!(lab.state(G).2, Vec::<u8>::new());
    assert_eq!(lab.counters().records_ignored, 1);
    // v3 reports keep the group; 260 s after the last v2 report the mode is back to v3.
    lab.advance(secs(200));
    lab.record(H2, ModeIsExclude, G, &[]);
    lab.advance(secs(60));
    assert_eq!(lab.group(G).unwrap().compat_mode, 3);
    // Now TO_EX keeps its sources: 7 is requested with the group timer, then queried (6.4.2).
    lab.clear();
    lab.record(H2, ChangeToExclude, G, &[7]);
    assert_eq!(lab.state(G).1, [(7, 2)]);
    assert_eq!(lab.take_queries(), [(G, false, vec![7])]);
}

#[test]
fn v1_report_switches_group_to_v1_mode_where_leaves_are_ignored() {
    let mut lab = Lab::v3();
    lab.v1_report(H1, G);
    assert_eq!(lab.group(G).unwrap().compat_mode, 1);
    assert_eq!(lab.counters().v1_reports, 1);
    lab.clear();
    lab.leave(H2, G);
    assert!(lab.sent.is_empty());
    assert_eq!(lab.state(G).3, Some(260));
    // v1 mode wins over v2 mode while both timers run.
    lab.v2_report(H2, G);
    assert_eq!(lab.group(G).unwrap().compat_mode, 1);
    lab.advance(secs(260));
    // Both reports were at the same time: everything expired together.
    assert!(lab.group(G).is_none());
}
