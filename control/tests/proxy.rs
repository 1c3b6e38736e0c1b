//! The proxy with a virtual clock: its host side on the upstream link (RFC 3376 5, 7.2; RFC
//! 2236 3), and its place among the MGM's clients (alerts from downstream membership, MFEs
//! toward and from the upstream interface, RFC 4605 4).

use control::protocols::igmp::Transmit;
use control::protocols::proxy::packet as report;
use control::protocols::proxy::*;
use dataplane::wire::igmp::{self as wire, GroupRecordRepr, QueryV3, RecordType};
use mgm::{
    Clients, InterfaceId, MembershipFlags, Mgm, MgmClient, Miss, MulticastRib, ProtocolHandle,
    RpfLookup, RpfRoute, Scope, SourceGroupEntry,
};
use std::net::Ipv4Addr;
use std::time::Duration;

const UP: control::interface::Interface = control::interface::Interface::from_index(1);
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const QUERIER: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const G2: Ipv4Addr = Ipv4Addr::new(239, 2, 2, 2);

fn s(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

struct Lab {
    proxy: IgmpProxy,
    now: Duration,
    sent: Vec<(Duration, Transmit)>,
}

impl Lab {
    fn new(version: u8) -> Lab {
        Lab {
            proxy: IgmpProxy::new(ProxyConfig {
                upstream: UP,
                address: ME,
                version,
                ..ProxyConfig::default()
            }),
            now: Duration::ZERO,
            sent: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(t) = self.proxy.poll_transmit() {
            self.sent.push((self.now, t));
        }
    }

    /// Runs the clock to `now + d`, firing every deadline on the way.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.proxy.poll_timeout().filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.proxy.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn alert(&mut self, join: bool, source: Option<Ipv4Addr>, group: Ipv4Addr) {
        let scope = match source {
            Some(s) => Scope::source_group(s, group).unwrap(),
            None => Scope::any_source(group).unwrap(),
        }
        .to_entry();
        let mgm = Mgm::default();
        if join {
            self.proxy.join_alert(&mgm, scope, true);
        } else {
            let mut a = mgm::PruneAlert {
                scope,
                iface: InterfaceId::new(2),
                member_delete: true,
                timeout: Duration::from_secs(900),
            };
            self.proxy.prune_alert(&mgm, &mut a);
        }
        self.proxy.handle_alerts(self.now);
        self.drain();
    }

    fn query(&mut self, repr: wire::Repr) {
        self.proxy
            .handle_packet(self.now, QUERIER, &repr.to_bytes());
        self.drain();
    }

    fn take(&mut self) -> Vec<(Duration, Transmit)> {
        std::mem::take(&mut self.sent)
    }
}

fn v3_records(t: &Transmit) -> Vec<GroupRecordRepr> {
    match &t.igmp {
        wire::Repr::ReportV3 { records } => records.clone(),
        other => panic!("not a v3 report: {other:?}"),
    }
}

fn rec(record_type: RecordType, group: Ipv4Addr, sources: &[Ipv4Addr]) -> GroupRecordRepr {
    GroupRecordRepr {
        record_type,
        group,
        sources: sources.to_vec(),
    }
}

/// A v3 query for `group` (0.0.0.0: general) and `sources`, Max Resp Time in tenths.
fn query_v3(max_resp_tenths: u8, group: Ipv4Addr, sources: Vec<Ipv4Addr>) -> wire::Repr {
    wire::Repr::Query {
        max_resp_code: max_resp_tenths,
        group,
        v3: Some(QueryV3 {
            suppress_router_side: false,
            qrv: 2,
            qqic: 125,
            sources,
        }),
    }
}

fn general_v3(max_resp_tenths: u8) -> wire::Repr {
    query_v3(max_resp_tenths, Ipv4Addr::UNSPECIFIED, Vec::new())
}

#[test]
fn first_downstream_join_sends_to_ex_now_and_once_more_within_the_unsolicited_interval() {
    let mut lab = Lab::new(3);
    lab.alert(true, None, G);
    let sent = lab.take();
    assert_eq!(sent.len(), 1);
    let (at, t) = &sent[0];
    assert_eq!(*at, Duration::ZERO);
    assert_eq!((t.iface, t.src, t.dst), (UP, ME, wire::ALL_V3_ROUTERS));
    assert_eq!(v3_records(t), [rec(RecordType::ChangeToExclude, G, &[])]);
    // The datagram: TTL 1, Router Alert (RFC 3376 4).
    let ip = t.ip_packet();
    let p = dataplane::wire::ipv4::Packet::new_checked(&ip[..]).unwrap();
    assert_eq!(p.ttl(), 1);
    assert!(p.has_router_alert());
    lab.advance(Duration::from_secs(5));
    let again = lab.take();
    assert_eq!(again.len(), 1, "robustness 2: one retransmission");
    assert!(again[0].0 <= Duration::from_secs(1));
    assert_eq!(
        v3_records(&again[0].1),
        [rec(RecordType::ChangeToExclude, G, &[])]
    );
}

#[test]
fn last_downstream_leave_sends_to_in_empty() {
    let mut lab = Lab::new(3);
    lab.alert(true, None, G);
    lab.advance(Duration::from_secs(5));
    lab.take();
    lab.alert(false, None, G);
    lab.advance(Duration::from_secs(5));
    let sent = lab.take();
    assert_eq!(sent.len(), 2);
    for (_, t) in &sent {
        assert_eq!(v3_records(t), [rec(RecordType::ChangeToInclude, G, &[])]);
    }
    assert!(lab.proxy.info(lab.now).groups.is_empty());
}

/// (reports_sent, leaves_sent, messages_sent)
fn sent_counts(lab: &Lab) -> (u64, u64, u64) {
    let c = lab.proxy.counters();
    (c.reports_sent, c.leaves_sent, c.messages_sent)
}

#[test]
fn leaves_are_counted_as_leaves_in_v3_and_v2() {
    // v3: TO_EX twice (join and its retransmission), then TO_IN({}) twice.
    let mut lab = Lab::new(3);
    lab.alert(true, None, G);
    lab.advance(Duration::from_secs(5));
    assert_eq!(sent_counts(&lab), (2, 0, 2));
    lab.alert(false, None, G);
    lab.advance(Duration::from_secs(5));
    assert_eq!(sent_counts(&lab), (2, 2, 4));
    // Source-specific: ALLOW(s1), ALLOW(s2), one retransmission; dropping one of two sources
    // is a BLOCK (sent twice) but not a leave; dropping the last one leaves the group.
    let mut lab = Lab::new(3);
    lab.alert(true, Some(s(1)), G);
    lab.alert(true, Some(s(2)), G);
    lab.advance(Duration::from_secs(5));
    assert_eq!(sent_counts(&lab), (3, 0, 3));
    lab.alert(false, Some(s(1)), G);
    lab.advance(Duration::from_secs(5));
    assert_eq!(sent_counts(&lab), (5, 0, 5));
    lab.alert(false, Some(s(2)), G);
    lab.advance(Duration::from_secs(5));
    let sent = lab.take();
    assert_eq!(
        v3_records(&sent.last().unwrap().1),
        [rec(RecordType::BlockOldSources, G, &[s(2)])]
    );
    assert_eq!(sent_counts(&lab), (5, 2, 7));
    // One report carrying G2's join and G's leave: one message, one record of each.
    let mut lab = Lab::new(3);
    lab.alert(true, None, G);
    lab.advance(Duration::from_secs(5));
    lab.take();
    lab.proxy.join_alert(
        &Mgm::default(),
        Scope::any_source(G2).unwrap().to_entry(),
        true,
    );
    let mut prune = mgm::PruneAlert {
        scope: Scope::any_source(G).unwrap().to_entry(),
        iface: InterfaceId::new(2),
        member_delete: true,
        timeout: Duration::from_secs(900),
    };
    lab.proxy.prune_alert(&Mgm::default(), &mut prune);
    lab.proxy.handle_alerts(lab.now);
    lab.drain();
    let sent = lab.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(v3_records(&sent[0].1).len(), 2);
    assert_eq!(sent_counts(&lab), (3, 1, 3));
    // v2 (a v2 querier upstream): a report and its retransmission, then one Leave Group.
    let mut lab = Lab::new(2);
    lab.alert(true, None, G);
    lab.advance(Duration::from_secs(5));
    lab.alert(false, None, G);
    lab.advance(Duration::from_secs(5));
    assert_eq!(sent_counts(&lab), (2, 1, 3));
}

#[test]
fn source_joins_and_leaves_become_allow_and_block_records() {
    let mut lab = Lab::new(3);
    lab.alert(true, Some(s(1)), G);
    assert_eq!(
        v3_records(&lab.take()[0].1),
        [rec(RecordType::AllowNewSources, G, &[s(1)])]
    );
    lab.advance(Duration::from_secs(5));
    lab.take();
    lab.alert(true, Some(s(2)), G);
    assert_eq!(
        v3_records(&lab.take()[0].1),
        [rec(RecordType::AllowNewSources, G, &[s(2)])]
    );
    lab.advance(Duration::from_secs(5));
    lab.take();
    lab.alert(false, Some(s(1)), G);
    assert_eq!(
        v3_records(&lab.take()[0].1),
        [rec(RecordType::BlockOldSources, G, &[s(1)])]
    );
    let info = lab.proxy.info(lab.now);
    assert_eq!(info.groups[0].filter_mode, "include");
    assert_eq!(info.groups[0].sources, [s(2)]);
}

#[test]
fn a_change_during_retransmissions_reports_the_difference_from_what_upstream_last_heard() {
    let mut lab = Lab::new(3);
    lab.alert(true, Some(s(1)), G);
    lab.alert(true, None, G); // before the retransmission
    let sent = lab.take();
    assert_eq!(
        v3_records(&sent[1].1),
        [rec(RecordType::ChangeToExclude, G, &[])]
    );
    lab.advance(Duration::from_secs(5));
    let re = lab.take();
    assert_eq!(re.len(), 1);
    assert_eq!(
        v3_records(&re[0].1),
        [rec(RecordType::ChangeToExclude, G, &[])]
    );
    lab.advance(Duration::from_secs(5));
    assert!(lab.take().is_empty());
}

#[test]
fn general_query_is_answered_within_max_resp_time_with_current_state() {
    let mut lab = Lab::new(3);
    lab.alert(true, None, G);
    lab.alert(true, Some(s(7)), G2);
    lab.advance(Duration::from_secs(5));
    lab.take();
    lab.query(general_v3(20)); // 2 s
    assert!(lab.take().is_empty(), "answers wait a random delay");
    lab.advance(Duration::from_secs(2));
    let sent = lab.take();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0 <= Duration::from_secs(7));
    assert_eq!(
        v3_records(&sent[0].1),
        [
            rec(RecordType::ModeIsExclude, G, &[]),
            rec(RecordType::ModeIsInclude, G2, &[s(7)]),
        ]
    );
    let info = lab.proxy.info(lab.now);
    assert_eq!(info.querier, Some(QUERIER));
    assert_eq!(info.counters.queries_received, 1);
}

#[test]
fn group_and_group_and_source_queries_get_only_what_they_ask() {
    let mut lab = Lab::new(3);
    lab.alert(true, Some(s(1)), G);
    lab.alert(true, Some(s(2)), G);
    lab.advance(Duration::from_secs(5));
    lab.take();
    // A group nobody downstream wants: no answer.
    lab.query(query_v3(10, G2, Vec::new()));
    lab.advance(Duration::from_secs(2));
    assert!(lab.take().is_empty());
    lab.query(query_v3(10, G, vec![s(2), s(3)]));
    lab.advance(Duration::from_secs(2));
    let sent = lab.take();
    assert_eq!(
        v3_records(&sent[0].1),
        [rec(RecordType::ModeIsInclude, G, &[s(2)])]
    );
    lab.query(query_v3(10, G, Vec::new()));
    lab.advance(Duration::from_secs(2));
    assert_eq!(
        v3_records(&lab.take()[0].1),
        [rec(RecordType::ModeIsInclude, G, &[s(1), s(2)])]
    );
}

#[test]
fn an_igmpv2_querier_makes_the_proxy_speak_v2_until_the_older_querier_timeout() {
    let mut lab = Lab::new(3);
    lab.query(wire::Repr::Query {
        max_resp_code: 100,
        group: Ipv4Addr::UNSPECIFIED,
        v3: None,
    });
    assert_eq!(lab.proxy.version(lab.now), 2);
    lab.alert(true, None, G);
    let sent = lab.take();
    assert_eq!(sent[0].1.igmp, wire::Repr::ReportV2 { group: G });
    assert_eq!(sent[0].1.dst, G);
    lab.advance(Duration::from_secs(5));
    lab.take();
    lab.alert(false, None, G);
    let sent = lab.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.igmp, wire::Repr::LeaveV2 { group: G });
    assert_eq!(sent[0].1.dst, wire::ALL_ROUTERS);
    lab.advance(Duration::from_secs(5));
    assert!(lab.take().is_empty(), "a leave is sent once");
    // 2 x 125 s + 10 s later the v2 querier is forgotten.
    lab.advance(Duration::from_secs(261));
    assert_eq!(lab.proxy.version(lab.now), 3);
}

#[test]
fn an_igmpv1_querier_gets_v1_reports_and_no_leave() {
    let mut lab = Lab::new(3);
    lab.query(wire::Repr::Query {
        max_resp_code: 0,
        group: Ipv4Addr::UNSPECIFIED,
        v3: None,
    });
    lab.alert(true, None, G);
    assert_eq!(lab.take()[0].1.igmp, wire::Repr::ReportV1 { group: G });
    lab.advance(Duration::from_secs(12)); // v1: answer within 10 s
    let answers = lab.take();
    assert!(answers
        .iter()
        .any(|(_, t)| t.igmp == wire::Repr::ReportV1 { group: G }));
    lab.alert(false, None, G);
    lab.advance(Duration::from_secs(5));
    assert!(lab.take().is_empty());
}

#[test]
fn a_proxy_configured_for_v2_never_sends_v3() {
    let mut lab = Lab::new(2);
    lab.alert(true, Some(s(1)), G);
    lab.advance(Duration::from_secs(5));
    let sent = lab.take();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|(_, t)| t.igmp == wire::Repr::ReportV2 { group: G }));
}

#[test]
fn link_local_groups_and_wildcards_are_never_reported() {
    let mut lab = Lab::new(3);
    lab.alert(true, None, Ipv4Addr::new(224, 0, 0, 5));
    let mgm = Mgm::default();
    lab.proxy.join_alert(&mgm, Scope::All.to_entry(), true);
    lab.proxy.handle_alerts(lab.now);
    lab.drain();
    assert!(lab.take().is_empty());
    assert!(lab.proxy.info(lab.now).groups.is_empty());
}

#[test]
fn mfe_level_alerts_do_not_change_the_database() {
    let mut lab = Lab::new(3);
    let mgm = Mgm::default();
    lab.proxy
        .join_alert(&mgm, SourceGroupEntry::sg(s(1), G), false);
    let mut a = mgm::PruneAlert {
        scope: SourceGroupEntry::sg(s(1), G),
        iface: UP.id(),
        member_delete: false,
        timeout: Duration::from_secs(900),
    };
    lab.proxy.prune_alert(&mgm, &mut a);
    lab.proxy.handle_alerts(lab.now);
    lab.drain();
    assert!(lab.take().is_empty());
}

#[test]
fn bad_or_foreign_igmp_upstream_is_ignored_and_counted() {
    let mut lab = Lab::new(3);
    lab.alert(true, None, G);
    lab.advance(Duration::from_secs(5));
    lab.take();
    let mut bad = general_v3(10).to_bytes();
    bad[2] ^= 0xff; // checksum
    for data in [
        &bad[..],
        &[][..],
        &[0x11, 0, 0][..],
        &wire::Repr::ReportV2 { group: G }.to_bytes()[..],
    ] {
        lab.proxy.handle_packet(lab.now, QUERIER, data);
    }
    // Our own query echoed back (we never query, but a looped frame must not count).
    lab.proxy
        .handle_packet(lab.now, ME, &general_v3(10).to_bytes());
    lab.advance(Duration::from_secs(5));
    assert!(lab.take().is_empty());
    let c = lab.proxy.counters();
    assert_eq!((c.ignored, c.queries_received), (5, 0));
}

#[test]
fn a_report_too_large_for_one_datagram_is_split() {
    let records: Vec<GroupRecordRepr> = (0..400u32)
        .map(|i| {
            rec(
                RecordType::ModeIsExclude,
                Ipv4Addr::from(0xef00_0000 + i),
                &[],
            )
        })
        .collect();
    let parts = report::split(records, 1476);
    assert!(parts.len() >= 3);
    for p in &parts {
        let len = wire::Repr::ReportV3 { records: p.clone() }.buffer_len();
        assert!(len <= 1476, "{len}");
    }
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 400);
}

// --- With the real MGM: downstream membership reaches the proxy through the alert rules. ---

const DOWN1: InterfaceId = InterfaceId {
    index: 2,
    next_hop: Ipv4Addr::UNSPECIFIED,
};
const DOWN2: InterfaceId = InterfaceId {
    index: 3,
    next_hop: Ipv4Addr::UNSPECIFIED,
};

#[derive(Default)]
struct Plain;
impl MgmClient for Plain {}

struct Host {
    static_h: Option<ProtocolHandle>,
    proxy_h: Option<ProtocolHandle>,
    igmp_h: Option<ProtocolHandle>,
    static_routing: Plain,
    igmp: Plain,
    proxy: IgmpProxy,
    rib: MulticastRib,
}

impl Clients for Host {
    fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        if Some(handle) == self.static_h {
            Some(&mut self.static_routing)
        } else if Some(handle) == self.proxy_h {
            Some(&mut self.proxy)
        } else if Some(handle) == self.igmp_h {
            Some(&mut self.igmp)
        } else {
            None
        }
    }
}

impl RpfLookup for Host {
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.rib.rpf_lookup(source)
    }
}

/// The control core's arrangement: static routing owns the downstream interfaces, the proxy
/// owns the upstream one with (*,*), IGMP co-owns the downstream ones; RPF: connected
/// downstream subnets, everything else upstream.
fn router() -> (Mgm, Host) {
    let t = Duration::ZERO;
    let mut mgm = Mgm::default();
    let mut rib = MulticastRib::new();
    rib.add_route(Ipv4Addr::new(10, 0, 2, 0), 24, DOWN1, Ipv4Addr::UNSPECIFIED);
    rib.add_route(Ipv4Addr::new(10, 0, 3, 0), 24, DOWN2, Ipv4Addr::UNSPECIFIED);
    rib.add_route(Ipv4Addr::UNSPECIFIED, 0, UP.id(), Ipv4Addr::UNSPECIFIED);
    let mut host = Host {
        static_h: None,
        proxy_h: None,
        igmp_h: None,
        static_routing: Plain,
        igmp: Plain,
        proxy: IgmpProxy::new(ProxyConfig {
            upstream: UP,
            address: ME,
            local_subnets: vec![
                (Ipv4Addr::new(10, 0, 2, 0), 24),
                (Ipv4Addr::new(10, 0, 3, 0), 24),
            ],
            ..ProxyConfig::default()
        }),
        rib,
    };
    let st = mgm
        .register_protocol(t, control::protocols::static_routing::STATIC_PROTOCOL)
        .unwrap();
    host.static_h = Some(st);
    for i in [DOWN1, DOWN2] {
        mgm.take_interface_ownership(t, &mut host, st, i).unwrap();
    }
    let px = mgm.register_protocol(t, PROXY_PROTOCOL).unwrap();
    host.proxy_h = Some(px);
    mgm.take_interface_ownership(t, &mut host, px, UP.id())
        .unwrap();
    mgm.add_group_membership(t, &mut host, px, Scope::All, UP.id(), MembershipFlags::JOIN)
        .unwrap();
    let ig = mgm
        .register_protocol(
            t,
            mgm::ClientId {
                protocol: mgm::MS_IP_IGMP,
                component: 1,
            },
        )
        .unwrap();
    host.igmp_h = Some(ig);
    for i in [DOWN1, DOWN2] {
        mgm.take_interface_ownership(t, &mut host, ig, i).unwrap();
    }
    (mgm, host)
}

fn igmp_member(mgm: &mut Mgm, host: &mut Host, join: bool, scope: Scope, iface: InterfaceId) {
    let h = host.igmp_h.unwrap();
    if join {
        mgm.add_group_membership(ms(0), host, h, scope, iface, MembershipFlags::JOIN)
            .unwrap();
    } else {
        mgm.delete_group_membership(ms(0), host, h, scope, iface, MembershipFlags::JOIN)
            .unwrap();
    }
    host.proxy.handle_alerts(ms(0));
}

fn reported(host: &IgmpProxy) -> Vec<(Ipv4Addr, &'static str, Vec<Ipv4Addr>)> {
    host.info(ms(0))
        .groups
        .into_iter()
        .map(|g| (g.group, g.filter_mode, g.sources))
        .collect()
}

#[test]
fn downstream_igmp_membership_reaches_the_proxy_once_per_group() {
    let (mut mgm, mut host) = router();
    let g = Scope::any_source(G).unwrap();
    igmp_member(&mut mgm, &mut host, true, g, DOWN1);
    assert_eq!(reported(&host.proxy), [(G, "exclude", vec![])]);
    igmp_member(&mut mgm, &mut host, true, g, DOWN2);
    igmp_member(&mut mgm, &mut host, false, g, DOWN1);
    assert_eq!(
        reported(&host.proxy),
        [(G, "exclude", vec![])],
        "a member remains on the second interface"
    );
    igmp_member(&mut mgm, &mut host, false, g, DOWN2);
    assert!(reported(&host.proxy).is_empty());
    let c = host.proxy.counters();
    assert_eq!((c.joins, c.prunes), (1, 1));
}

#[test]
fn source_specific_membership_is_reported_only_for_sources_upstream() {
    let (mut mgm, mut host) = router();
    let far = s(9); // RPF: upstream
    let local = Ipv4Addr::new(10, 0, 3, 2); // RPF: DOWN2
    igmp_member(
        &mut mgm,
        &mut host,
        true,
        Scope::source_group(far, G).unwrap(),
        DOWN1,
    );
    igmp_member(
        &mut mgm,
        &mut host,
        true,
        Scope::source_group(local, G).unwrap(),
        DOWN1,
    );
    assert_eq!(reported(&host.proxy), [(G, "include", vec![far])]);
}

#[test]
fn mfes_forward_upstream_traffic_to_members_and_downstream_traffic_upstream_too() {
    let (mut mgm, mut host) = router();
    igmp_member(
        &mut mgm,
        &mut host,
        true,
        Scope::any_source(G).unwrap(),
        DOWN1,
    );
    let miss = |source, arrival| Miss {
        source,
        group: G,
        arrival,
        header: &[],
    };
    mgm.handle_miss(ms(1), &mut host, &miss(s(9), UP.id()))
        .unwrap();
    let from_up = mgm.get_mfe(ms(1), s(9), G).unwrap();
    assert_eq!(from_up.iif, UP.id());
    assert_eq!(from_up.oifs, [DOWN1]);
    let local = Ipv4Addr::new(10, 0, 3, 2);
    mgm.handle_miss(ms(1), &mut host, &miss(local, DOWN2))
        .unwrap();
    let from_down = mgm.get_mfe(ms(1), local, G).unwrap();
    assert_eq!(from_down.iif, DOWN2);
    let mut oifs = from_down.oifs.clone();
    oifs.sort();
    assert_eq!(oifs, [UP.id(), DOWN1]);
    // A group nobody downstream wants, from upstream: negative (nothing goes back up).
    let g2 = Miss {
        group: G2,
        ..miss(s(9), UP.id())
    };
    mgm.handle_miss(ms(1), &mut host, &g2).unwrap();
    assert!(mgm.get_mfe(ms(1), s(9), G2).unwrap().oifs.is_empty());
}

// --- RPF callback: the MGM asks the arrival interface's owner (spec gap 1, as revised). ---

fn upstream_miss(source: Ipv4Addr) -> Miss<'static> {
    Miss {
        source,
        group: G,
        arrival: UP.id(),
        header: &[],
    }
}

#[test]
fn upstream_traffic_from_a_source_routed_downstream_is_accepted_upstream() {
    let (mut mgm, mut host) = router();
    // Sources behind a downstream router (an `rpf_routes` prefix on DOWN2) ...
    host.rib.add_route(
        Ipv4Addr::new(10, 77, 0, 0),
        16,
        DOWN2,
        Ipv4Addr::new(10, 0, 3, 254),
    );
    igmp_member(
        &mut mgm,
        &mut host,
        true,
        Scope::any_source(G).unwrap(),
        DOWN1,
    );
    // ... whose first packet arrives upstream: the proxy owns that interface, is asked, and
    // takes the IIF upstream (RFC 4605 4.2 forwards upstream arrivals to downstream members).
    let src = Ipv4Addr::new(10, 77, 0, 5);
    mgm.handle_miss(ms(1), &mut host, &upstream_miss(src))
        .unwrap();
    let m = mgm.get_mfe(ms(1), src, G).unwrap();
    assert_eq!(m.iif, UP.id());
    assert_eq!(m.upstream, Ipv4Addr::UNSPECIFIED);
    assert_eq!(m.iif_protocol, PROXY_PROTOCOL.protocol);
    assert_eq!(
        (m.route.network, m.route.mask),
        (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED)
    );
    assert_eq!(m.oifs, [DOWN1]);
}

#[test]
fn upstream_traffic_from_an_on_link_downstream_source_keeps_the_routes_iif() {
    let (mut mgm, mut host) = router();
    igmp_member(
        &mut mgm,
        &mut host,
        true,
        Scope::any_source(G).unwrap(),
        DOWN1,
    );
    // 10.0.3.2 is on DOWN2's subnet: arriving upstream it is an echo or spoofed. The route's
    // interface stands, so the real sender's packets on DOWN2 keep flowing (upstream too).
    let local = Ipv4Addr::new(10, 0, 3, 2);
    mgm.handle_miss(ms(1), &mut host, &upstream_miss(local))
        .unwrap();
    let m = mgm.get_mfe(ms(1), local, G).unwrap();
    assert_eq!(m.iif, DOWN2);
    let mut oifs = m.oifs.clone();
    oifs.sort();
    assert_eq!(oifs, [UP.id(), DOWN1]);
}

#[test]
fn upstream_traffic_from_a_source_routed_upstream_is_unchanged() {
    let (mut mgm, mut host) = router();
    igmp_member(
        &mut mgm,
        &mut host,
        true,
        Scope::any_source(G).unwrap(),
        DOWN1,
    );
    // The default route upstream: the route and the arrival agree; the route is kept as found.
    mgm.handle_miss(ms(1), &mut host, &upstream_miss(s(9)))
        .unwrap();
    let m = mgm.get_mfe(ms(1), s(9), G).unwrap();
    assert_eq!(m.iif, UP.id());
    assert_eq!(m.oifs, [DOWN1]);
}
