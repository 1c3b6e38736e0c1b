//! The control core without DPDK: misses through RPF and the creation alert to published
//! entries, their admission limits, and link changes, on a recording fake data plane with a
//! virtual clock (`core_support`).

mod core_support;

use control::control_core::{CoreEvent, Timer, LINK_CHECK_EVERY, LINK_CHECK_WHILE_DOWN};
use core_support::*;
use mgm::InterfaceId;

const ROUTES: &str = r#"routes:
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 }, { interface: if2, ttl_threshold: 4 } ] }
  - { group: 239.2.2.2, iif: if0, oifs: [ { interface: if1 } ] }
  - { group: 239.2.2.2, source: 10.0.1.2, iif: if0, oifs: [ { interface: if2 } ] }"#;

#[test]
fn a_miss_goes_through_rpf_and_the_creation_alert_to_an_entry_published_with_the_routes_ports() {
    let mut r = Router::new(&three_ports("", ROUTES));
    // The exact (S,G) route's entry is there before any packet.
    assert_eq!(
        r.dp.oifs(ip("10.0.1.2"), ip("239.2.2.2")),
        Some(vec![(2, 1)])
    );
    let published = r.dp.publications.len();

    r.advance(ms(3));
    r.miss(ip("10.0.1.2"), ip("239.1.1.1"), 0);
    r.advance(ms(1)); // the signal waits 1 ms in the ring
    assert!(r.input());
    // One publication with the new entry: IIF port 0 (if0: the connected route and the static
    // route agree), OIFs port 1 and port 2 with the route's TTL threshold.
    assert_eq!(r.dp.publications.len(), published + 1);
    let route =
        r.dp.entry(ip("10.0.1.2"), ip("239.1.1.1"))
            .expect("published")
            .clone();
    assert_eq!(route.iif, 0);
    assert_eq!(
        r.dp.oifs(ip("10.0.1.2"), ip("239.1.1.1")),
        Some(vec![(1, 1), (2, 4)])
    );
    assert_ne!(
        route.counter,
        dataplane::fib::NO_COUNTER,
        "the entry is counted"
    );
    let mfe = r
        .core
        .mgm()
        .get_mfe(r.now, ip("10.0.1.2"), ip("239.1.1.1"))
        .unwrap();
    assert_eq!(mfe.iif, InterfaceId::new(1));
    assert_eq!(mfe.oifs, vec![InterfaceId::new(2), InterfaceId::new(3)]);
    // Miss to install: 1 ms in the ring, published at once.
    let (n, p50, _, _) = r.core.miss_latency();
    assert_eq!(n, 1);
    assert!((999..=1001).contains(&p50), "{p50} us");

    // A source on if1's subnet arriving on if0: the static route's RPF callback gives it if0.
    r.miss(ip("10.0.2.7"), ip("239.1.1.1"), 0);
    r.input();
    let moved = r.dp.entry(ip("10.0.2.7"), ip("239.1.1.1")).unwrap();
    assert_eq!(moved.iif, 0);
    // Nobody routes 239.9.9.9: a negative entry (no OIFs) stops further misses.
    r.miss(ip("10.0.1.2"), ip("239.9.9.9"), 0);
    r.input();
    assert_eq!(r.dp.oifs(ip("10.0.1.2"), ip("239.9.9.9")), Some(vec![]));
    // A source with no RPF route at all: negative, with no incoming port.
    r.miss(ip("192.0.2.1"), ip("239.1.1.1"), 0);
    r.input();
    let none = r.dp.entry(ip("192.0.2.1"), ip("239.1.1.1")).unwrap();
    assert_eq!((none.iif, none.oifs.len()), (u16::MAX, 0));
    let c = r.core.counters();
    assert_eq!((c.mfes_installed, c.misses_received), (5, 4));
}

#[test]
fn repeated_misses_make_one_entry() {
    let mut r = Router::new(&three_ports("", ROUTES));
    for w in 0..2 {
        r.miss_from(w, ip("10.0.1.2"), ip("239.1.1.1"), 0);
    }
    r.input();
    r.miss(ip("10.0.1.2"), ip("239.1.1.1"), 0); // a late signal: the entry exists
    r.input();
    assert_eq!(r.dp.changes_of(ip("10.0.1.2"), ip("239.1.1.1")).len(), 1);
    let c = r.core.counters();
    assert_eq!((c.misses_received, c.misses_duplicate), (3, 2));
}

#[test]
fn the_rate_limits_refuse_and_count_misses_and_refill_with_time() {
    let limits = "limits: { miss_rate: 10, miss_burst: 4, miss_rate_per_source: 1000 }";
    let mut r = Router::new(&three_ports("", &format!("{ROUTES}\n{limits}")));
    let src = |n: u8| std::net::Ipv4Addr::new(10, 0, 1, 10 + n);
    for n in 0..10 {
        r.miss(src(n), ip("239.1.1.1"), 0);
    }
    r.input();
    assert_eq!(
        r.core.mgm().mfe_count(),
        1 + 4,
        "the static (S,G) and the burst"
    );
    assert_eq!(r.core.counters().misses_rate_limited, 6);
    // 300 ms at 10/s: three more. The refused flows signal again (the workers do).
    r.advance(ms(300));
    for n in 4..10 {
        r.miss(src(n), ip("239.1.1.1"), 0);
    }
    r.input();
    assert_eq!(r.core.mgm().mfe_count(), 1 + 4 + 3);
    assert_eq!(r.core.counters().misses_rate_limited, 6 + 3);
    for n in 0..7 {
        assert!(r.dp.entry(src(n), ip("239.1.1.1")).is_some(), "{n}");
    }
    assert!(r.dp.entry(src(7), ip("239.1.1.1")).is_none());
}

#[test]
fn per_worker_per_source_and_entry_limits() {
    let limits = "limits: { miss_rate: 1000, miss_burst: 1000, miss_rate_per_worker: 3, miss_rate_per_source: 2, max_mfes: 8 }";
    let text = three_ports("", &format!("{ROUTES}\nworkers: [1, 2]\n{limits}"));
    let mut r = Router::new(&text);
    let src = |n: u8| std::net::Ipv4Addr::new(10, 0, 1, 10 + n);
    let g = |n: u8| std::net::Ipv4Addr::new(239, 1, 1, n);
    // Worker 0: five sources, three taken. Worker 1: its own share.
    for n in 0..5 {
        r.miss_from(0, src(n), ip("239.1.1.1"), 0);
    }
    r.miss_from(1, src(9), ip("239.1.1.1"), 0);
    r.input();
    let c = r.core.counters();
    assert_eq!(c.misses_worker_limited, 2, "{c:?}");
    assert_eq!(r.core.mgm().mfe_count(), 1 + 3 + 1);
    // One source, many groups: two per second.
    r.advance(secs(1));
    for n in 2..6 {
        r.miss_from(1, src(20), g(n), 0);
    }
    r.input();
    assert_eq!(r.core.counters().misses_source_limited, 2);
    assert_eq!(r.core.mgm().mfe_count(), 7);
    // The router's own address is never a source; then the table is full at 8.
    r.advance(secs(1));
    r.miss(ip("10.0.1.1"), ip("239.1.1.1"), 0);
    for n in 30..33 {
        r.miss_from(1, src(n), ip("239.1.1.1"), 0);
    }
    r.input();
    let c = r.core.counters();
    assert_eq!(c.misses_own_source, 1);
    assert_eq!(r.core.mgm().mfe_count(), 8);
    assert_eq!(c.misses_mfe_limit, 2, "{c:?}");
    assert!(r.dp.entry(ip("10.0.1.1"), ip("239.1.1.1")).is_none());
}

#[test]
fn a_link_going_down_takes_its_port_out_of_every_entry_until_it_comes_back() {
    let mut r = Router::new(&three_ports("", ROUTES));
    r.miss(ip("10.0.1.2"), ip("239.1.1.1"), 0);
    r.input();
    assert_eq!(r.core.timer(Timer::LinkCheck), Some(LINK_CHECK_EVERY));
    r.dp.links[2] = false;
    r.advance(LINK_CHECK_EVERY);
    assert_eq!(
        r.dp.oifs(ip("10.0.1.2"), ip("239.1.1.1")),
        Some(vec![(1, 1)])
    );
    assert_eq!(r.dp.oifs(ip("10.0.1.2"), ip("239.2.2.2")), Some(vec![]));
    assert_eq!(
        r.events,
        vec![(
            LINK_CHECK_EVERY,
            CoreEvent::LinkChanged { port: 2, up: false }
        )]
    );
    assert!(!r.core.port_link_up(2));
    // While a link is down it is read every 5 ms; the MGM keeps the interface.
    assert_eq!(
        r.core.timer(Timer::LinkCheck),
        Some(LINK_CHECK_EVERY + LINK_CHECK_WHILE_DOWN)
    );
    let mfe = r
        .core
        .mgm()
        .get_mfe(r.now, ip("10.0.1.2"), ip("239.1.1.1"))
        .unwrap();
    assert_eq!(mfe.oifs.len(), 2);
    r.dp.links[2] = true;
    r.advance(LINK_CHECK_WHILE_DOWN);
    assert_eq!(
        r.dp.oifs(ip("10.0.1.2"), ip("239.1.1.1")),
        Some(vec![(1, 1), (2, 4)])
    );
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[1].1.to_string(), "port 2 link up");
    assert_eq!(r.core.counters().link_changes, 2);
    assert!(
        r.dp.maintained >= 2,
        "the ports are cared for at every check"
    );
}

#[test]
fn every_wrong_interface_packet_reaches_its_entry_through_the_sweep_though_signals_are_sampled() {
    let mut r = Router::new(&three_ports("", ROUTES));
    let (s, g) = (ip("10.0.1.2"), ip("239.2.2.2"));
    let different_if = |r: &Router| {
        r.core
            .mgm()
            .get_mfe_stats(r.now, s, g, mgm::StatsLayout::Extended, usize::MAX)
            .unwrap()
            .counters
            .pkts_different_if
    };
    // Five packets on port 1; the worker signalled the first and counted all five.
    r.advance(ms(10));
    r.dp.signals.push_back((
        0,
        control::control_core::WorkerSignal::WrongInterface {
            source: s,
            group: g,
            port: 1,
        },
    ));
    let index = r.dp.entry(s, g).unwrap().counter;
    r.dp.wrong_if.insert(index, 5);
    r.input();
    assert_eq!(r.core.counters().wrong_if_received, 1);
    assert_eq!(different_if(&r), 1, "the signal's packet, before the sweep");
    r.advance(secs(1));
    assert_eq!(
        different_if(&r),
        5,
        "the sweep tops it up to the workers' count"
    );
    r.advance(secs(1));
    assert_eq!(different_if(&r), 5, "not counted twice");
}

#[test]
fn the_core_names_its_earliest_deadline_and_does_nothing_before_it() {
    let mut r = Router::new(&three_ports(", igmp: { version: 2 }", ROUTES));
    r.dp.sent.clear();
    let published = r.dp.publications.len();
    let next = r.core.poll_timeout().expect("timers run");
    assert_eq!(next, LINK_CHECK_EVERY, "the link check is the earliest");
    assert_eq!(r.core.timer(Timer::CounterSweep), Some(secs(1)));
    assert!(
        r.core.timer(Timer::Protocols).is_some(),
        "IGMP's startup queries"
    );
    // Called early, it fires nothing.
    r.now = next - ms(1);
    assert!(!r.core.handle_timeout(r.now, &mut r.dp));
    assert_eq!(r.core.poll_timeout(), Some(next));
    assert_eq!(r.dp.publications.len(), published);
    assert!(r.dp.sent.is_empty());
    assert_eq!(r.dp.maintained, 1, "only the check at start");
}

#[test]
fn hit_signals_and_entry_copies_are_counted_and_change_nothing() {
    let mut r = Router::new(&three_ports("", ROUTES));
    let published = r.dp.publications.len();
    r.dp.signals.push_back((
        0,
        control::control_core::WorkerSignal::Hit {
            source: ip("10.0.1.2"),
            group: ip("239.2.2.2"),
            port: 0,
        },
    ));
    r.dp.entry_copies.push_back((0, vec![0u8; 64]));
    r.dp.entry_copies.push_back((0, vec![0u8; 64]));
    assert!(r.input(), "there was input to take");
    let c = r.core.counters();
    assert_eq!((c.hits_received, c.entry_copies_received), (1, 2));
    assert!(r.dp.entry_copies.is_empty());
    assert_eq!(r.dp.publications.len(), published, "no table change");
}
