//! PIM Assert (RFC 7761 4.6) wired into the router, on the fake data plane with the real MGM
//! and IGMP: data of an entry arriving on one of its outgoing interfaces (the worker's
//! wrong-interface signal, the MGM's wrong-interface callback, which PIM turns on) makes PIM
//! assert there; a better assert from the other router makes us the loser, and the entry
//! stops forwarding there although IGMP's member is still there; the winner's AssertCancel
//! gives the interface back; the MGM's rate limit on the callback (one per (S,G) per second)
//! delays an assert by at most that second. Asserts from a non-neighbour and malformed ones
//! are counted.

mod core_support;

use control::control_core::WorkerSignal;
use control::protocols::pim::{Pim, RejectReason};
use core_support::*;
use dataplane::wire::igmp::{GroupRecordRepr, RecordType, Repr as Igmp};
use dataplane::wire::pim::{Assert, EncodedGroup, Hello, Repr, ALL_PIM_ROUTERS};
use dataplane::wire::{ether, ipv4};
use std::net::Ipv4Addr;
use std::time::Duration;

/// if1 10.0.2.1/24: PIM and IGMPv3, members and the other router 10.0.2.7 (DR priority 0:
/// we are the DR); if2 10.0.3.1/24: PIM toward 10.0.3.2, the RP of 239/8 and the RPF
/// neighbour toward the sources of 10.9.0.0/16.
fn text() -> String {
    three_ports(
        ", pim: { hello_interval: 2 }, igmp: { version: 3 }",
        "pim:\n  rp:\n    - { address: 10.0.3.2, groups: 239.0.0.0/8 }\nrpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if2, next_hop: 10.0.3.2 }",
    )
    .replace(
        "address: 10.0.3.1/24 }",
        "address: 10.0.3.1/24, pim: { enable: true } }",
    )
}

const UPSTREAM: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
const OTHER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 7);
const S: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 5);
const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);

/// A PIM message from `src` as a worker punts it.
fn pim_frame(src: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    pim_frame_to(src, ALL_PIM_ROUTERS, payload)
}

fn hello(dr_priority: u32) -> Vec<u8> {
    Repr::Hello(Hello {
        holdtime: Some(105),
        generation_id: Some(7),
        dr_priority: Some(dr_priority),
        ..Hello::default()
    })
    .to_bytes()
}

fn assert_msg(source: Ipv4Addr, rpt: bool, preference: u32, metric: u32) -> Assert {
    Assert {
        group: EncodedGroup::host(G),
        source,
        rpt,
        metric_preference: preference,
        metric,
    }
}

/// The Asserts sent on `port` since `since`.
fn asserts_sent(r: &Router, port: u16, since: Duration) -> Vec<Assert> {
    r.dp.sent
        .iter()
        .filter(|(t, p, _)| *p == port && *t >= since)
        .filter_map(|(_, _, f)| {
            let eth = ether::Frame::new_checked(f.as_slice()).ok()?;
            let pkt = ipv4::Packet::new_checked(eth.payload()).ok()?;
            if pkt.protocol() != ipv4::PROTOCOL_PIM {
                return None;
            }
            match Repr::parse_bytes(pkt.payload()).ok()? {
                Repr::Assert(a) => {
                    assert_eq!((pkt.dst_addr(), pkt.ttl()), (ALL_PIM_ROUTERS, 1));
                    assert_eq!(pkt.src_addr(), ip("10.0.2.1"));
                    Some(a)
                }
                _ => None,
            }
        })
        .collect()
}

fn pim(r: &Router) -> &Pim {
    r.core.protocols().get::<Pim>().unwrap()
}

fn iface(i: usize) -> control::interface::Interface {
    control::interface::Interface::from_config_index(i)
}

/// Both routers as neighbours, a member of G on if1, and the entry (S,G) from if2 to if1.
fn router() -> Router {
    let mut r = Router::new(&text());
    r.advance(secs(1));
    r.dp.punted.push_back((2, pim_frame(UPSTREAM, &hello(1))));
    r.dp.punted.push_back((1, pim_frame(OTHER, &hello(0))));
    r.input();
    let i1 = pim(&r).interface(iface(1)).unwrap();
    assert!(i1.neighbor(OTHER).is_some() && i1.is_dr());
    r.igmp_from_host(
        1,
        ip("10.0.2.9"),
        ip("224.0.0.22"),
        Igmp::ReportV3 {
            records: vec![GroupRecordRepr {
                record_type: RecordType::ChangeToExclude,
                group: G,
                sources: vec![],
            }],
        },
    );
    r.input();
    r.advance(ms(100));
    r.miss(S, G, 2);
    r.input();
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]));
    r
}

fn wrong_interface(r: &mut Router, port: u16) {
    r.dp.signals.push_back((
        0,
        WorkerSignal::WrongInterface {
            source: S,
            group: G,
            port,
        },
    ));
    r.input();
}

#[test]
fn data_on_an_outgoing_interface_asserts_and_the_loser_stops_forwarding_there() {
    let mut r = router();
    let t = r.now;
    // The other router's copy of (S,G) arrives on if1, one of the entry's outgoing ones.
    wrong_interface(&mut r, 1);
    r.advance(ms(10));
    let sent = asserts_sent(&r, 1, t);
    // (*,G), the RPT bit set: the RP is on if2's connected subnet, preference 0, metric 0.
    assert_eq!(sent, vec![assert_msg(S, true, 0, 0)], "{sent:?}");
    assert_eq!(pim(&r).wrong_interface_callbacks(), 1);
    let rows = pim(&r).assert_infos(r.now);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].source, rows[0].state), (None, "winner"));
    assert_eq!(rows[0].winner, ip("10.0.2.1"));
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]), "the winner forwards");

    // The other router is on the SPT: its (S,G) assert wins; we stop forwarding (S,G) on if1
    // although IGMP's member is there.
    let a = Repr::Assert(assert_msg(S, false, 0, 0)).to_bytes();
    r.dp.punted.push_back((1, pim_frame(OTHER, &a)));
    r.input();
    r.advance(ms(10));
    assert_eq!(r.dp.oifs(S, G).unwrap_or_default(), vec![]);
    let rows = pim(&r).assert_infos(r.now);
    let sg = rows
        .iter()
        .find(|a| a.source == Some(S))
        .expect("(S,G) row");
    assert_eq!((sg.state, sg.winner, sg.rpt), ("loser", OTHER, false));
    let i1 = pim(&r).interface(iface(1)).unwrap();
    assert_eq!(i1.counters.received.assert, 1);
    assert_eq!(i1.counters.asserts_sent, 1);

    // Its AssertCancel: forwarding comes back.
    let c = Repr::Assert(assert_msg(S, true, 0x7fff_ffff, u32::MAX)).to_bytes();
    r.dp.punted.push_back((1, pim_frame(OTHER, &c)));
    r.input();
    r.advance(ms(10));
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]));
    assert!(pim(&r)
        .assert_infos(r.now)
        .iter()
        .all(|a| a.source.is_none()));
    // The show view renders as text and JSON.
    let views = control::protocols::Protocol::show(pim(&r), r.now);
    assert!(views.iter().any(|v| v.name == "pim assert"));
}

#[test]
fn asserts_from_a_non_neighbour_and_malformed_ones_are_counted() {
    let mut r = router();
    let a = Repr::Assert(assert_msg(S, false, 0, 0)).to_bytes();
    r.dp.punted.push_back((1, pim_frame(ip("10.0.2.66"), &a)));
    // Truncated: the header and half the group.
    r.dp.punted.push_back((1, pim_frame(OTHER, &a[..7])));
    // A wrong checksum.
    let mut bad = a.clone();
    bad[2] ^= 0xff;
    r.dp.punted.push_back((1, pim_frame(OTHER, &bad)));
    // Well formed on the wire, but for a unicast "group".
    let mut m = assert_msg(S, false, 0, 0);
    m.group = EncodedGroup::host(ip("10.1.1.1"));
    r.dp.punted
        .push_back((1, pim_frame(OTHER, &Repr::Assert(m).to_bytes())));
    r.input();
    r.advance(ms(10));
    let i1 = pim(&r).interface(iface(1)).unwrap();
    assert_eq!(
        i1.counters.rejected.get(&RejectReason::NotNeighbor),
        Some(&1)
    );
    assert_eq!(i1.counters.rejected.get(&RejectReason::BadAssert), Some(&1));
    let refused: u64 = i1.counters.rejected.values().sum();
    assert_eq!(refused, 4, "{:?}", i1.counters.rejected);
    assert!(pim(&r).assert_infos(r.now).is_empty());
    assert_eq!(r.dp.oifs(S, G), Some(vec![(1, 1)]));
}

#[test]
fn the_wrong_interface_rate_limit_delays_an_assert_by_at_most_its_interval() {
    let mut r = router();
    // A copy on if0 (static routing's) takes the MGM's one callback per (S,G) per second.
    wrong_interface(&mut r, 0);
    r.advance(ms(10));
    // The other router's copy on if1 within that second reaches no one...
    let t = r.now;
    wrong_interface(&mut r, 1);
    r.advance(ms(10));
    assert_eq!(pim(&r).wrong_interface_callbacks(), 0);
    assert!(asserts_sent(&r, 1, t).is_empty());
    // ...the first one after it does, and PIM asserts.
    r.advance(secs(1));
    wrong_interface(&mut r, 1);
    r.advance(ms(10));
    assert_eq!(pim(&r).wrong_interface_callbacks(), 1);
    assert_eq!(asserts_sent(&r, 1, t), vec![assert_msg(S, true, 0, 0)]);
}
