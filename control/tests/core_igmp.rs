//! The control core without DPDK, with IGMP and the IGMP proxy: real IGMP frames given as
//! punted input make memberships, which add and remove outgoing interfaces of the entries;
//! the proxy reports upstream. A recording fake data plane and a virtual clock
//! (`core_support`).

mod core_support;

use core_support::*;
use dataplane::wire::igmp::{GroupRecordRepr, RecordType, Repr};
use std::net::Ipv4Addr;
use std::time::Duration;

const G: Ipv4Addr = Ipv4Addr::new(239, 8, 8, 8);
const H1: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);

#[test]
fn an_igmp_join_adds_its_interface_to_the_entry_and_a_leave_removes_it_after_the_last_member_queries(
) {
    // IGMPv2 on if1, last member query interval 1 s, count 2.
    let mut r = Router::new(&three_ports(", igmp: { version: 2 }", ""));
    // The startup general queries go out of port 1 at once.
    let startup = r.igmp_sent(1, Duration::ZERO);
    assert!(
        matches!(startup.first(), Some((_, src, dst, Repr::Query { group, .. }))
            if *src == ip("10.0.2.1") && *dst == ip("224.0.0.1") && group.is_unspecified()),
        "{startup:?}"
    );
    // Nobody wants G yet: a negative entry.
    r.miss(SRC, G, 0);
    r.input();
    assert_eq!(r.dp.oifs(SRC, G), Some(vec![]));

    // h1's kernel reports G on if1.
    r.advance(secs(5));
    r.igmp_from_host(1, H1, G, Repr::ReportV2 { group: G });
    r.input();
    assert_eq!(r.dp.oifs(SRC, G), Some(vec![(1, 1)]), "port 1 added");
    let c = r.core.counters();
    assert_eq!((c.punted_igmp, c.igmp_joins), (1, 1));

    // h1 leaves: the router asks twice, a second apart, whether anyone else still wants G.
    r.advance(secs(10));
    let left = r.now;
    r.igmp_from_host(1, H1, ALL_ROUTERS, Repr::LeaveV2 { group: G });
    r.input();
    r.advance(ms(1900));
    assert_eq!(r.dp.oifs(SRC, G), Some(vec![(1, 1)]), "still there");
    let queries: Vec<Duration> = r
        .igmp_sent(1, left)
        .into_iter()
        .filter(|(_, _, dst, m)| *dst == G && matches!(m, Repr::Query { group, .. } if *group == G))
        .map(|(t, ..)| t - left)
        .collect();
    assert_eq!(
        queries,
        vec![Duration::ZERO, secs(1)],
        "group-specific queries"
    );
    // Nobody answered: removed after the last member query time (2 x 1 s).
    r.advance(ms(200));
    assert_eq!(r.dp.oifs(SRC, G), Some(vec![]), "port 1 removed");
    assert_eq!(r.core.counters().igmp_leaves, 1);
}

#[test]
fn a_bad_igmp_frame_is_counted_and_changes_nothing() {
    let mut r = Router::new(&three_ports(", igmp: { version: 2 }", ""));
    r.igmp_from_host(1, H1, G, Repr::ReportV2 { group: G });
    let (port, mut frame) = r.dp.punted.pop_back().unwrap();
    let last = frame.len() - 1;
    frame[last] ^= 0xff; // the IGMP checksum no longer holds
    r.dp.punted.push_back((port, frame));
    r.dp.punted.push_back((1, vec![0; 10])); // not even an Ethernet header
    r.input();
    let c = r.core.counters();
    assert_eq!(
        (c.punted_igmp, c.punted_link_local, c.igmp_joins),
        (1, 1, 0)
    );
    assert!(r
        .core
        .igmp()
        .unwrap()
        .groups(control::interface::Interface::from_index(2), r.now)
        .is_empty());
}

#[test]
fn the_proxy_reports_downstream_membership_upstream_and_forwards_both_ways() {
    let proxy = "igmp_proxy: { upstream: if0, unsolicited_report_interval: 0.5 }";
    let mut r = Router::new(&three_ports(", igmp: { version: 2 }", proxy));
    r.advance(secs(1));
    let joined = r.now;
    r.igmp_from_host(1, H1, G, Repr::ReportV2 { group: G });
    r.input();
    // The proxy reports G upstream (IGMPv3 by default), from if0's address, at once.
    let reports = r.igmp_sent(0, joined);
    let (t, src, dst, msg) = reports.first().expect("a report upstream");
    assert_eq!((*t, *src, *dst), (joined, ip("10.0.1.1"), ip("224.0.0.22")));
    assert_eq!(
        msg,
        &Repr::ReportV3 {
            records: vec![GroupRecordRepr {
                record_type: RecordType::ChangeToExclude,
                group: G,
                sources: vec![],
            }]
        }
    );
    assert!(
        r.igmp_sent(2, joined).is_empty(),
        "nothing on the other side"
    );
    // Traffic from upstream (a source not on any subnet: the default RPF route is upstream)
    // reaches the member downstream.
    let far = ip("192.0.2.7");
    r.miss(far, G, 0);
    r.input();
    assert_eq!(r.dp.entry(far, G).map(|e| e.iif), Some(0));
    assert_eq!(r.dp.oifs(far, G), Some(vec![(1, 1)]));
    // Traffic from a downstream source goes upstream (RFC 4605 4.2) and to the member.
    r.miss(ip("10.0.3.2"), G, 2);
    r.input();
    assert_eq!(r.dp.oifs(ip("10.0.3.2"), G), Some(vec![(0, 1), (1, 1)]));
}

#[test]
fn a_querier_whose_link_comes_back_queries_again_at_once() {
    let mut r = Router::new(&three_ports(", igmp: { version: 2 }", ""));
    r.advance(secs(60)); // the startup queries are done; the next general query is a while off
    r.dp.links[1] = false;
    r.advance(ms(100));
    let down = r.now;
    r.dp.links[1] = true;
    r.advance(ms(10));
    let queries: Vec<Duration> = r
        .igmp_sent(1, down)
        .into_iter()
        .filter(|(_, _, dst, _)| *dst == ip("224.0.0.1"))
        .map(|(t, ..)| t)
        .collect();
    assert_eq!(
        queries,
        vec![down + control::control_core::LINK_CHECK_WHILE_DOWN],
        "a general query at the check that saw the link up"
    );
}
