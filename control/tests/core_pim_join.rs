//! PIM's join/prune machines wired into the router, on the fake data plane with the real MGM
//! and IGMP: an IGMPv3 source-specific member on a PIM interface becomes an (S,G) Join to
//! the RPF neighbour (from the RIB) and a Prune when it leaves; a downstream router's Join
//! makes its interface an outgoing one in the entry; Join/Prune from a non-neighbour is
//! dropped and counted; a directly connected source is joined from no one. The last hop's
//! switch to the SPT on data. The RP set from a Bootstrap router (RFC 5059): taken from
//! RPF'(BSR), forwarded, preferred BSRs, expiry, static RPs first.

mod core_support;

use control::protocols::pim::Pim;
use core_support::*;
use dataplane::wire::igmp::{GroupRecordRepr, RecordType, Repr as Igmp};
use dataplane::wire::pim::{
    Bootstrap, BsrGroup, BsrRp, EncodedGroup, EncodedSource, GroupSet, Hello, JoinPrune, Repr,
    ALL_PIM_ROUTERS,
};
use dataplane::wire::{ether, ipv4};
use std::net::Ipv4Addr;
use std::time::Duration;

/// if0 10.0.1.1/24 plain; if1 10.0.2.1/24 PIM and IGMPv3 (hosts, maybe a downstream
/// router); if2 10.0.3.1/24 PIM toward the upstream router 10.0.3.2, the RPF route to the
/// sources of 10.9.0.0/16.
fn text() -> String {
    three_ports(
        ", pim: { hello_interval: 2 }, igmp: { version: 3 }",
        "rpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if2, next_hop: 10.0.3.2 }",
    )
    .replace(
        "address: 10.0.3.1/24 }",
        "address: 10.0.3.1/24, pim: { enable: true } }",
    )
}

const UPSTREAM: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
const S: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 5);
const G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);

/// A PIM message from `src` as a worker punts it.
fn pim_frame(src: Ipv4Addr, msg: Repr<'_>) -> Vec<u8> {
    pim_frame_to(src, ALL_PIM_ROUTERS, msg)
}

/// A PIM message from `src` to `dst` as a worker punts it.
fn pim_frame_to(src: Ipv4Addr, dst: Ipv4Addr, msg: Repr<'_>) -> Vec<u8> {
    core_support::pim_frame_to(src, dst, &msg.to_bytes())
}

fn hello() -> Hello {
    Hello {
        holdtime: Some(105),
        generation_id: Some(7),
        ..Hello::default()
    }
}

/// The PIM messages sent on `port` since `since` that `pick` keeps, each checked to go to
/// ALL-PIM-ROUTERS with TTL 1 from the port's address.
fn pim_sent<T>(
    r: &Router,
    port: u16,
    since: Duration,
    pick: impl Fn(Repr<'_>) -> Option<T>,
) -> Vec<T> {
    r.dp.sent
        .iter()
        .filter(|(t, p, _)| *p == port && *t >= since)
        .filter_map(|(_, _, f)| {
            let eth = ether::Frame::new_checked(f.as_slice()).ok()?;
            let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
            if ip.protocol() != ipv4::PROTOCOL_PIM {
                return None;
            }
            let kept = pick(Repr::parse_bytes(ip.payload()).ok()?)?;
            assert_eq!((ip.dst_addr(), ip.ttl()), (ALL_PIM_ROUTERS, 1));
            assert_eq!(ip.src_addr(), ip_of(port));
            Some(kept)
        })
        .collect()
}

/// The Join/Prune messages sent on `port` since `since`.
fn join_prunes(r: &Router, port: u16, since: Duration) -> Vec<JoinPrune> {
    pim_sent(r, port, since, |m| match m {
        Repr::JoinPrune(jp) => Some(jp),
        _ => None,
    })
}

fn ip_of(port: u16) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, port as u8 + 1, 1)
}

/// (joins, prunes) of group `g` in `msgs`, as source addresses.
fn entries(msgs: &[JoinPrune], g: Ipv4Addr) -> (Vec<Ipv4Addr>, Vec<Ipv4Addr>) {
    let sets = msgs
        .iter()
        .flat_map(|m| &m.groups)
        .filter(|s| s.group.addr == g);
    let (mut j, mut p) = (Vec::new(), Vec::new());
    for s in sets {
        j.extend(s.joins.iter().map(|e| e.addr));
        p.extend(s.prunes.iter().map(|e| e.addr));
    }
    (j, p)
}

fn report(record_type: RecordType, sources: Vec<Ipv4Addr>) -> Igmp {
    Igmp::ReportV3 {
        records: vec![GroupRecordRepr {
            record_type,
            group: G,
            sources,
        }],
    }
}

fn pim(r: &Router) -> &Pim {
    r.core.protocols().get::<Pim>().unwrap()
}

/// The router of config `text` with the upstream router as a neighbour on if2.
fn router_with(text: &str) -> Router {
    let mut r = Router::new(text);
    r.advance(secs(1));
    r.dp.punted
        .push_back((2, pim_frame(UPSTREAM, Repr::Hello(hello()))));
    r.input();
    r
}

/// The config with 239.0.0.0/8's static RP at the upstream router and `extra` in the global
/// `pim:` section.
fn rp_text(extra: &str) -> String {
    text().replace(
        "rpf_routes:",
        &format!(
            "pim:\n  rp:\n    - {{ address: 10.0.3.2, groups: 239.0.0.0/8 }}\n{extra}rpf_routes:"
        ),
    )
}

/// The router with the upstream router as a neighbour on if2.
fn router() -> Router {
    let r = router_with(&text());
    assert!(pim(&r)
        .interface(iface(2))
        .unwrap()
        .neighbor(UPSTREAM)
        .is_some());
    r
}

fn iface(i: usize) -> control::interface::Interface {
    control::interface::Interface::from_config_index(i)
}

#[test]
fn a_source_specific_member_is_joined_upstream_and_pruned_when_it_leaves() {
    let mut r = router();
    let t = r.now;
    r.igmp_from_host(
        1,
        ip("10.0.2.9"),
        ip("224.0.0.22"),
        report(RecordType::AllowNewSources, vec![S]),
    );
    r.input();
    r.advance(ms(100));
    let sent = join_prunes(&r, 2, t);
    assert_eq!(sent.len(), 1, "one Join at once: {sent:?}");
    assert_eq!(sent[0].upstream_neighbor, UPSTREAM);
    assert_eq!(sent[0].holdtime, 210);
    assert_eq!(entries(&sent, G), (vec![S], vec![]));
    assert_eq!(sent[0].groups[0].joins[0], EncodedSource::sg(S));
    assert!(join_prunes(&r, 1, t).is_empty(), "nothing downstream");
    // The show view has the entry: joined toward the upstream router, if1's member.
    let rows = pim(&r).join_infos(r.now);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!((row.source, row.group), (Some(S), G));
    assert_eq!((row.upstream_neighbor, row.joined), (Some(UPSTREAM), true));
    assert_eq!(row.rpf_iface, Some(iface(2)));
    assert_eq!(
        (row.local.clone(), row.oifs.clone()),
        (vec![iface(1)], vec![iface(1)])
    );

    // IGMP's membership and PIM's outgoing interface reached the MGM, each counted as such.
    let c = r.core.counters();
    assert_eq!((c.igmp_joins, c.routing_joins), (1, 1));

    // The source's traffic arrives from upstream and reaches the member.
    r.miss(S, G, 2);
    r.input();
    assert_eq!(r.dp.entry(S, G).map(|e| e.iif), Some(2));
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]));

    // Periodic Joins keep the upstream state (t_periodic, 60 s).
    let t = r.now;
    r.advance(secs(61));
    assert_eq!(
        entries(&join_prunes(&r, 2, t), G).0,
        vec![S],
        "periodic join"
    );

    // The host leaves: IGMP's source-specific query round, then the Prune.
    let t = r.now;
    r.igmp_from_host(
        1,
        ip("10.0.2.9"),
        ip("224.0.0.22"),
        report(RecordType::BlockOldSources, vec![S]),
    );
    r.input();
    r.advance(secs(5));
    let sent = join_prunes(&r, 2, t);
    assert_eq!(entries(&sent, G), (vec![], vec![S]), "{sent:?}");
    // The source's traffic (the entry's creation) started the Keepalive Timer (4.2): the
    // (S,G) state, pruned, stays until it runs out, 210 s after that first packet.
    let rows = pim(&r).join_infos(r.now);
    assert!(rows.iter().all(|j| !j.joined), "{rows:?}");
    r.advance(secs(150));
    assert!(pim(&r).tib().groups().get(&G).is_none(), "no state left");
    assert!(pim(&r).join_prune_sent() >= 3);
}

#[test]
fn a_downstream_routers_join_makes_its_interface_an_outgoing_one() {
    let mut r = router();
    let down = ip("10.0.2.7");
    r.dp.punted
        .push_back((1, pim_frame(down, Repr::Hello(hello()))));
    r.input();
    let join = |prune: bool| JoinPrune {
        upstream_neighbor: ip("10.0.2.1"),
        holdtime: 210,
        groups: vec![GroupSet {
            group: EncodedGroup::host(G),
            joins: if prune {
                vec![]
            } else {
                vec![EncodedSource::sg(S)]
            },
            prunes: if prune {
                vec![EncodedSource::sg(S)]
            } else {
                vec![]
            },
        }],
    };
    let t = r.now;
    r.dp.punted
        .push_back((1, pim_frame(down, Repr::JoinPrune(join(false)))));
    r.input();
    assert_eq!(entries(&join_prunes(&r, 2, t), G), (vec![S], vec![]));
    r.miss(S, G, 2);
    r.input();
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]), "the joined interface");

    // Its Prune (only neighbour on if1: no override wait) takes if1 out and prunes upstream.
    r.advance(ms(10));
    let t = r.now;
    r.dp.punted
        .push_back((1, pim_frame(down, Repr::JoinPrune(join(true)))));
    r.input();
    r.advance(ms(100));
    assert_eq!(entries(&join_prunes(&r, 2, t), G), (vec![], vec![S]));
    assert_eq!(r.dp.oifs(S, G).unwrap_or_default(), vec![]);
}

#[test]
fn join_prune_from_a_non_neighbour_is_dropped_and_counted() {
    let mut r = router();
    let stranger = ip("10.0.2.66");
    let jp = JoinPrune {
        upstream_neighbor: ip("10.0.2.1"),
        holdtime: 210,
        groups: vec![GroupSet {
            group: EncodedGroup::host(G),
            joins: vec![EncodedSource::sg(S)],
            prunes: vec![],
        }],
    };
    let t = r.now;
    r.dp.punted
        .push_back((1, pim_frame(stranger, Repr::JoinPrune(jp))));
    r.input();
    r.advance(ms(100));
    assert_eq!(pim(&r).join_prune_not_neighbor(), 1);
    let rejected = &pim(&r).interface(iface(1)).unwrap().counters.rejected;
    assert_eq!(
        rejected.get(&control::protocols::pim::RejectReason::NotNeighbor),
        Some(&1)
    );
    assert!(join_prunes(&r, 2, t).is_empty());
    assert!(pim(&r).tib().groups().is_empty());
}

#[test]
fn a_directly_connected_source_or_one_without_a_pim_neighbour_is_joined_from_no_one() {
    let mut r = Router::new(&text());
    r.advance(secs(1));
    let t = r.now;
    // 10.0.3.7 is on if2's subnet; 10.9.0.5's next hop has not said Hello yet.
    for s in [ip("10.0.3.7"), S] {
        let rec = GroupRecordRepr {
            record_type: RecordType::AllowNewSources,
            group: G,
            sources: vec![s],
        };
        let msg = Igmp::ReportV3 { records: vec![rec] };
        r.igmp_from_host(1, ip("10.0.2.9"), ip("224.0.0.22"), msg);
    }
    r.input();
    r.advance(secs(2));
    assert!(join_prunes(&r, 2, t).is_empty());
    // The next hop says Hello: the Join for S goes at once, still none for the connected one.
    let t = r.now;
    r.dp.punted
        .push_back((2, pim_frame(UPSTREAM, Repr::Hello(hello()))));
    r.input();
    r.advance(ms(100));
    let sent = join_prunes(&r, 2, t);
    assert_eq!(entries(&sent, G), (vec![S], vec![]), "{sent:?}");
    // The connected source's traffic still reaches the member.
    r.miss(ip("10.0.3.7"), G, 2);
    r.input();
    assert_eq!(r.dp.oifs(ip("10.0.3.7"), G), Some(vec![(1, 1)]));
}

#[test]
fn an_any_source_member_is_joined_toward_the_static_rp() {
    // The RP is the upstream router itself (connected on if2, a PIM neighbour): the
    // Join(*,G) names it and goes to it.
    let mut r = router_with(&rp_text(""));
    let t = r.now;
    any_source_member(&mut r, ip("239.1.2.3"));
    let sent = join_prunes(&r, 2, t);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].upstream_neighbor, UPSTREAM);
    assert_eq!(
        sent[0].groups[0].joins,
        vec![EncodedSource::star_g(UPSTREAM)]
    );
    let rows = pim(&r).join_infos(r.now);
    assert_eq!((rows[0].source, rows[0].rp), (None, Some(UPSTREAM)));
    // An SSM group with an any-source member: no (*,G) state, nothing sent.
    let t = r.now;
    any_source_member(&mut r, G);
    assert!(join_prunes(&r, 2, t).is_empty());
}

/// The router with 239.0.0.0/8's RP at the upstream router, `extra` in the global `pim:`
/// section, the upstream router a neighbour on if2, and a host on if1 joined to `g` for any
/// source.
fn rp_router(extra: &str, g: Ipv4Addr) -> Router {
    let mut r = router_with(&rp_text(extra));
    any_source_member(&mut r, g);
    r
}

fn sg_row(r: &Router, s: Ipv4Addr, g: Ipv4Addr) -> Option<control::protocols::pim::JoinInfo> {
    pim(r)
        .join_infos(r.now)
        .into_iter()
        .find(|j| j.source == Some(s) && j.group == g)
}

/// RFC 7761 4.2: the last hop switches to the SPT at the first packet of a source down the
/// shared tree (the MGM's creation alert): an (S,G) Join toward the source with a running
/// Keepalive Timer; the traffic the counter sweep sees restarts the timer and sets the SPT
/// bit; with no more traffic the timer runs out and the (S,G) Join ends with a Prune while
/// the (*,G) join stays.
#[test]
fn the_last_hop_switches_to_the_spt_at_the_first_packet_and_keeps_it_while_data_flows() {
    let g = ip("239.1.2.3");
    let mut r = rp_router("", g);
    let t = r.now;
    r.miss(S, g, 2);
    r.input();
    r.advance(ms(100));
    assert_eq!(
        r.dp.oifs(S, g),
        Some(vec![(1, 1)]),
        "the member gets the data"
    );
    let sent = join_prunes(&r, 2, t);
    assert_eq!(entries(&sent, g), (vec![S], vec![]), "(S,G) Join: {sent:?}");
    let row = sg_row(&r, S, g).expect("(S,G) state");
    assert_eq!((row.upstream_neighbor, row.joined), (Some(UPSTREAM), true));
    assert!(!row.spt_bit, "no data seen on the SPT yet");
    assert!(row.keepalive.is_some_and(|k| k > secs(209)));

    // Traffic: counted by the workers, seen by the sweep within a second or so.
    for _ in 0..5 {
        r.dp.count(S, g, 100, 500);
        r.advance(secs(1));
        r.input();
    }
    let row = sg_row(&r, S, g).unwrap();
    assert!(row.spt_bit, "data on the SPT: {row:?}");
    assert!(
        row.keepalive.is_some_and(|k| k > secs(207)),
        "restarted by the traffic: {row:?}"
    );

    // The source stops: 210 s later the (S,G) state ends with a Prune; (*,G) stays joined.
    let t = r.now;
    r.advance(secs(212));
    let sent = join_prunes(&r, 2, t);
    assert!(entries(&sent, g).1.contains(&S), "(S,G) Prune: {sent:?}");
    assert!(sg_row(&r, S, g).is_none(), "no (S,G) state left");
    let rows = pim(&r).join_infos(r.now);
    assert!(
        rows.iter().any(|j| j.source.is_none() && j.joined),
        "(*,G) still joined: {rows:?}"
    );
}

/// With `spt_switchover: never` the last hop stays on the shared tree: no (S,G) Join.
#[test]
fn with_spt_switchover_never_the_last_hop_stays_on_the_shared_tree() {
    let g = ip("239.1.2.3");
    let mut r = rp_router("  spt_switchover: never\n", g);
    let t = r.now;
    r.miss(S, g, 2);
    r.input();
    for _ in 0..3 {
        r.dp.count(S, g, 100, 500);
        r.advance(secs(1));
        r.input();
    }
    assert_eq!(
        r.dp.oifs(S, g),
        Some(vec![(1, 1)]),
        "the member gets the data"
    );
    let sent = join_prunes(&r, 2, t);
    assert!(entries(&sent, g).0.is_empty(), "no (S,G) Join: {sent:?}");
    assert!(sg_row(&r, S, g).is_none());
}

const BSR: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);

/// One RP of a Bootstrap range: (address, priority, holdtime).
type BsrRpSpec = (Ipv4Addr, u8, u16);

/// A Bootstrap from BSR `bsr` (priority `priority`, fragment tag `tag`) mapping each range of
/// `ranges` ("239.0.0.0/8") to its RPs (address, priority, holdtime).
fn bootstrap(
    bsr: Ipv4Addr,
    priority: u8,
    tag: u16,
    ranges: &[(&str, &[BsrRpSpec])],
) -> Repr<'static> {
    Repr::Bootstrap(Bootstrap {
        no_forward: false,
        fragment_tag: tag,
        hash_mask_len: 30,
        bsr_priority: priority,
        bsr_address: bsr,
        groups: ranges
            .iter()
            .map(|(range, rps)| {
                let (net, len) = range.split_once('/').unwrap();
                BsrGroup {
                    group: EncodedGroup {
                        addr: ip(net),
                        mask_len: len.parse().unwrap(),
                        bidir: false,
                        admin_scope: false,
                    },
                    rp_count: rps.len() as u8,
                    rps: rps
                        .iter()
                        .map(|&(address, priority, holdtime)| BsrRp {
                            address,
                            holdtime,
                            priority,
                        })
                        .collect(),
                }
            })
            .collect(),
    })
}

/// The Bootstraps sent on `port` since `since`.
fn bootstraps_sent(r: &Router, port: u16, since: Duration) -> Vec<Bootstrap> {
    pim_sent(r, port, since, |m| match m {
        Repr::Bootstrap(b) => Some(b),
        _ => None,
    })
}

/// Lets `secs` pass with a Hello from the upstream router every 30 s.
fn keep_upstream(r: &mut Router, secs_total: u64) {
    let mut left = secs_total;
    while left > 0 {
        let step = left.min(30);
        r.advance(secs(step));
        r.dp.punted
            .push_back((2, pim_frame(UPSTREAM, Repr::Hello(hello()))));
        r.input();
        left -= step;
    }
}

fn any_source_member(r: &mut Router, g: Ipv4Addr) {
    let rec = GroupRecordRepr {
        record_type: RecordType::ChangeToExclude,
        group: g,
        sources: vec![],
    };
    r.igmp_from_host(
        1,
        ip("10.0.2.9"),
        ip("224.0.0.22"),
        Igmp::ReportV3 { records: vec![rec] },
    );
    r.input();
    r.advance(ms(100));
}

/// RFC 5059: a Bootstrap from RPF'(BSR) (the upstream router: the RIB's route to 10.9.0.0/16
/// is via it on if2) elects its BSR, gives the RP set, and goes on out of the other PIM
/// interface (if1) unchanged; an any-source member then joins toward the learned RP.
#[test]
fn a_bootstrap_from_the_rpf_neighbour_gives_the_rp_set_and_goes_on_to_the_other_interfaces() {
    let mut r = router();
    let t = r.now;
    let msg = bootstrap(BSR, 64, 1, &[("239.0.0.0/8", &[(UPSTREAM, 0, 150)])]);
    let Repr::Bootstrap(sent_msg) = msg.clone() else {
        unreachable!()
    };
    r.dp.punted.push_back((2, pim_frame(UPSTREAM, msg)));
    r.input();
    let info = pim(&r).rp_info(r.now);
    let bsr = info.bsr.expect("a BSR elected");
    assert_eq!((bsr.address, bsr.priority), (BSR, 64));
    assert!(bsr.expires_secs > 129.0);
    assert_eq!(info.mappings.len(), 1, "{info:?}");
    assert_eq!(
        (info.mappings[0].groups.as_str(), info.mappings[0].rp),
        ("239.0.0.0/8", UPSTREAM)
    );
    assert_eq!((info.bootstrap.received, info.bootstrap.accepted), (1, 1));
    assert_eq!(pim(&r).rp_of(ip("239.1.2.3")), Some(UPSTREAM));
    assert_eq!(pim(&r).rp_of(ip("238.1.2.3")), None);
    // Forwarded on if1 only (not back on if2), unchanged.
    assert_eq!(bootstraps_sent(&r, 1, t), vec![sent_msg]);
    assert!(bootstraps_sent(&r, 2, t).is_empty());
    assert_eq!(info.bootstrap.forwarded, 1);

    let g = ip("239.1.2.3");
    let t = r.now;
    any_source_member(&mut r, g);
    let sent = join_prunes(&r, 2, t);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].groups[0].joins,
        vec![EncodedSource::star_g(UPSTREAM)]
    );
}

/// Bootstraps that fail a check change nothing and are counted by reason: from a router that
/// is no neighbour, from a neighbour that is not RPF'(BSR) (another interface), to a unicast
/// address, naming no reachable BSR or this router; a less preferred BSR than the elected
/// one is refused, a preferred one (higher priority) takes over.
#[test]
fn bootstraps_that_fail_the_checks_are_counted_and_a_preferred_bsr_takes_over() {
    let mut r = router();
    let down = ip("10.0.2.7");
    r.dp.punted
        .push_back((1, pim_frame(down, Repr::Hello(hello()))));
    r.input();
    let rps: &[BsrRpSpec] = &[(UPSTREAM, 0, 150)];
    let cases = [
        (2, ip("10.0.3.9"), ALL_PIM_ROUTERS, BSR),
        (1, down, ALL_PIM_ROUTERS, BSR),
        (2, UPSTREAM, ip("10.0.3.1"), BSR),
        (2, UPSTREAM, ALL_PIM_ROUTERS, ip("192.168.77.1")),
        (2, UPSTREAM, ALL_PIM_ROUTERS, ip("10.0.2.1")),
    ];
    for (port, src, dst, bsr) in cases {
        let msg = bootstrap(bsr, 64, 1, &[("239.0.0.0/8", rps)]);
        r.dp.punted.push_back((port, pim_frame_to(src, dst, msg)));
        r.input();
        r.advance(ms(10));
    }
    let info = pim(&r).rp_info(r.now);
    assert!(info.bsr.is_none() && info.mappings.is_empty(), "{info:?}");
    let c = info.bootstrap;
    assert_eq!(
        (
            c.received,
            c.accepted,
            c.not_rpf_neighbor,
            c.unicast,
            c.no_route_to_bsr
        ),
        (5, 0, 2, 1, 2),
        "{c:?}"
    );

    // Elected at priority 64; a priority-10 BSR is refused; a priority-100 one takes over.
    let other = ip("10.9.0.2");
    for (bsr, priority, tag) in [(BSR, 64, 1), (other, 10, 2), (other, 100, 3)] {
        let msg = bootstrap(bsr, priority, tag, &[("239.0.0.0/8", rps)]);
        r.dp.punted.push_back((2, pim_frame(UPSTREAM, msg)));
        r.input();
        r.advance(ms(10));
    }
    let info = pim(&r).rp_info(r.now);
    assert_eq!(
        info.bsr.map(|b| (b.address, b.priority)),
        Some((other, 100))
    );
    assert_eq!(
        (info.bootstrap.accepted, info.bootstrap.not_preferred),
        (2, 1)
    );
}

/// The BSR is forgotten when its Bootstrap Timer (130 s) runs out, each RP when its
/// holdtime does; the (*,G) joined toward a vanished RP is pruned. Static RPs come first for
/// the groups they cover; among a range's RPs the lowest priority value wins, and the
/// longest range wins over a shorter one.
#[test]
fn the_rp_set_expires_with_its_holdtimes_and_static_rps_come_first() {
    let text = text().replace(
        "rpf_routes:",
        "pim:\n  rp:\n    - { address: 10.0.3.7, groups: 239.2.0.0/16 }\nrpf_routes:",
    );
    let mut r = router_with(&text);
    let (a, b) = (ip("10.0.3.5"), ip("10.0.3.6"));
    let msg = bootstrap(
        BSR,
        64,
        7,
        &[
            ("239.0.0.0/8", &[(UPSTREAM, 5, 150), (a, 1, 150)]),
            ("239.1.0.0/16", &[(b, 9, 150)]),
        ],
    );
    r.dp.punted.push_back((2, pim_frame(UPSTREAM, msg)));
    r.input();
    let p = pim(&r);
    assert_eq!(p.rp_of(ip("239.9.9.9")), Some(a), "lowest priority value");
    assert_eq!(p.rp_of(ip("239.1.2.3")), Some(b), "longest range");
    assert_eq!(
        p.rp_of(ip("239.2.2.2")),
        Some(ip("10.0.3.7")),
        "static first"
    );

    // A member of 239.9.9.9 joins toward RP a (through the upstream router, on if2's subnet:
    // a is connected but no neighbour, so nothing is sent; the RP is what counts here).
    // A second Bootstrap with only the upstream router as RP for 239/8, holdtime 150.
    let msg = bootstrap(BSR, 64, 8, &[("239.0.0.0/8", &[(UPSTREAM, 5, 150)])]);
    r.dp.punted.push_back((2, pim_frame(UPSTREAM, msg)));
    r.input();
    assert_eq!(
        pim(&r).rp_of(ip("239.1.2.3")),
        Some(UPSTREAM),
        "a new tag replaces the set"
    );
    let g = ip("239.9.9.9");
    let t = r.now;
    any_source_member(&mut r, g);
    assert_eq!(
        entries(&join_prunes(&r, 2, t), g).0,
        vec![UPSTREAM],
        "(*,G) Join toward the learned RP"
    );

    // 131 s on (the upstream router's Hellos keep it a neighbour): the BSR is forgotten, the
    // RP set still holds.
    keep_upstream(&mut r, 131);
    let info = pim(&r).rp_info(r.now);
    assert!(info.bsr.is_none(), "{info:?}");
    assert_eq!(pim(&r).rp_of(g), Some(UPSTREAM));
    // At 150 s the RP goes: the (*,G) join is pruned.
    let t = r.now;
    keep_upstream(&mut r, 20);
    assert_eq!(pim(&r).rp_of(g), None);
    let sent = join_prunes(&r, 2, t);
    assert!(
        entries(&sent, g).1.contains(&UPSTREAM),
        "Prune(*,G): {sent:?}"
    );
}

/// RFC 7761 4.7.2: among a range's RPs of the same priority the hash of G picks (values
/// computed independently from the RFC's formula, mask /30), not the highest address alone.
#[test]
fn among_rps_of_one_priority_the_rfc_hash_of_the_group_picks() {
    use control::protocols::pim::bsr::rp_hash;
    let (a, b) = (ip("10.0.3.5"), ip("10.0.3.8"));
    assert_eq!(rp_hash(ip("239.1.2.3"), 30, a), 2_004_772_549);
    assert_eq!(rp_hash(ip("239.1.2.3"), 30, b), 603_523_094);
    assert_eq!(rp_hash(ip("239.5.6.7"), 30, b), 1_240_742_842);
    let mut r = router();
    let msg = bootstrap(BSR, 64, 1, &[("239.0.0.0/8", &[(a, 0, 150), (b, 0, 150)])]);
    r.dp.punted.push_back((2, pim_frame(UPSTREAM, msg)));
    r.input();
    assert_eq!(pim(&r).rp_of(ip("239.1.2.3")), Some(a));
    assert_eq!(pim(&r).rp_of(ip("239.5.6.7")), Some(b));
}

/// RFC 7761 4.1.6 pim_include: IGMP's members on a LAN count only where we are the DR. The
/// MGM puts an interface with IGMP members into every entry of the group; PIM leaves it out of
/// the entries it creates while another router is the DR there, and the entries are built
/// again when that changes (the DR's Hellos stop: we become the DR and serve the members).
#[test]
fn igmp_members_on_a_pim_lan_are_served_only_by_the_dr() {
    let mut r = router();
    let dr = ip("10.0.2.7");
    let better = Hello {
        dr_priority: Some(10),
        ..hello()
    };
    r.dp.punted
        .push_back((1, pim_frame(dr, Repr::Hello(better))));
    r.input();
    assert!(!pim(&r).interface(iface(1)).unwrap().is_dr());
    r.igmp_from_host(
        1,
        ip("10.0.2.9"),
        ip("224.0.0.22"),
        report(RecordType::AllowNewSources, vec![S]),
    );
    r.input();
    r.miss(S, G, 2);
    r.input();
    r.advance(ms(100));
    assert_eq!(
        r.dp.oifs(S, G).unwrap_or_default(),
        vec![],
        "the DR (10.0.2.7) serves the LAN"
    );
    // The DR's holdtime (105 s) runs out without a Hello: we are the DR and serve the member.
    keep_upstream(&mut r, 120);
    assert!(pim(&r).interface(iface(1)).unwrap().is_dr());
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]));
}

/// RFC 7761 4.5.4: a downstream router on the shared tree prunes one source off it (Prune
/// (S,G,rpt), after it switched to that source's tree elsewhere): the (S,G) entry leaves its
/// interface out although the (*,G) join the MGM turned into a membership there stays.
#[test]
fn an_sg_rpt_prune_takes_the_interface_out_of_that_sources_entry_only() {
    let mut r = router_with(&rp_text(""));
    let down = ip("10.0.2.7");
    r.dp.punted
        .push_back((1, pim_frame(down, Repr::Hello(hello()))));
    r.input();
    let g = ip("239.1.2.3");
    let s2 = ip("10.9.0.6");
    let jp = |prunes: Vec<EncodedSource>| JoinPrune {
        upstream_neighbor: ip("10.0.2.1"),
        holdtime: 210,
        groups: vec![GroupSet {
            group: EncodedGroup::host(g),
            joins: vec![EncodedSource::star_g(UPSTREAM)],
            prunes,
        }],
    };
    r.dp.punted
        .push_back((1, pim_frame(down, Repr::JoinPrune(jp(vec![])))));
    r.input();
    for s in [S, s2] {
        r.miss(s, g, 2);
        r.input();
    }
    r.advance(ms(100));
    assert_eq!(r.dp.oifs(S, g), Some(vec![(1, 1)]));
    assert_eq!(r.dp.oifs(s2, g), Some(vec![(1, 1)]));
    // Join(*,G) with Prune(S,G,rpt) for S only (the only neighbour there: no override wait
    // beyond the Prune-Pending Timer).
    r.dp.punted.push_back((
        1,
        pim_frame(down, Repr::JoinPrune(jp(vec![EncodedSource::sg_rpt(S)]))),
    ));
    r.input();
    keep_upstream(&mut r, 5);
    assert_eq!(r.dp.oifs(S, g).unwrap_or_default(), vec![], "S pruned off");
    assert_eq!(
        r.dp.oifs(s2, g),
        Some(vec![(1, 1)]),
        "the other source stays"
    );
}

/// Join/Prune messages are split to fit the interface's MTU (the config's, else the port's,
/// else 1500), less the IP header.
#[test]
fn join_prune_messages_are_split_to_the_interfaces_mtu() {
    let r = router();
    let len = |r: &Router, i| pim(r).tib().interface(iface(i)).unwrap().max_message_len;
    assert_eq!(len(&r, 2), 1480);
    let text = text().replace(
        "address: 10.0.3.1/24, pim:",
        "address: 10.0.3.1/24, mtu: 1400, pim:",
    );
    let r = router_with(&text);
    assert_eq!(len(&r, 2), 1380);
}
