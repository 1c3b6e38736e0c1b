//! The control core without DPDK: a reload is applied as a difference (entries of unchanged
//! routes untouched), a reload that needs a restart changes nothing; entries expire when idle
//! and are re-validated when they carried traffic; counter indices are reused only after the
//! workers passed the publication that freed them.

mod core_support;

use control::config;
use core_support::*;
use dataplane::fib::NO_COUNTER;

const ROUTES: &str = r#"routes:
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 } ] }
  - { group: 239.2.2.2, iif: if0, oifs: [ { interface: if1 } ] }"#;

const NEW_ROUTES: &str = r#"routes:
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 } ] }
  - { group: 239.2.2.2, iif: if0, oifs: [ { interface: if1 }, { interface: if2 } ] }
  - { group: 239.3.3.3, iif: if0, oifs: [ { interface: if2 } ] }
  - { group: 239.4.4.4, source: 10.0.1.2, iif: if0, oifs: [ { interface: if1 } ] }"#;

#[test]
fn a_reload_is_applied_as_a_difference_and_leaves_unchanged_entries_alone() {
    let mut r = Router::new(&three_ports("", ROUTES));
    let s = ip("10.0.1.2");
    r.miss(s, ip("239.1.1.1"), 0);
    r.miss(s, ip("239.2.2.2"), 0);
    r.input();
    let a_before = r.dp.changes_of(s, ip("239.1.1.1"));
    assert_eq!(a_before.len(), 1);

    r.advance(secs(3));
    let new = config::parse(&three_ports("", NEW_ROUTES), "new.yaml").unwrap();
    let msg = r
        .core
        .reload(r.now, &r.cfg, &new, &mut r.dp)
        .expect("applied");
    assert_eq!(
        msg,
        "reloaded: 0 memberships removed, 3 added, 1 entries refreshed, 0 RPF routes changed"
    );
    r.cfg = new;
    r.input();
    assert_eq!(
        r.dp.changes_of(s, ip("239.1.1.1")),
        a_before,
        "the unchanged route's entry was not touched"
    );
    assert_eq!(r.dp.oifs(s, ip("239.2.2.2")), Some(vec![(1, 1), (2, 1)]));
    assert_eq!(
        r.dp.oifs(s, ip("239.4.4.4")),
        Some(vec![(1, 1)]),
        "the new exact route's entry is made at once"
    );
    r.miss(s, ip("239.3.3.3"), 0);
    r.input();
    assert_eq!(r.dp.oifs(s, ip("239.3.3.3")), Some(vec![(2, 1)]));
    assert_eq!(r.core.counters().reloads, 1);

    // A change that needs a restart is refused and changes nothing.
    let published = r.dp.publications.len();
    let moved = three_ports("", NEW_ROUTES).replace("10.0.3.1/24", "10.0.9.1/24");
    let bad = config::parse(&moved, "bad.yaml").unwrap();
    let err = r.core.reload(r.now, &r.cfg, &bad, &mut r.dp).unwrap_err();
    assert!(err.contains("`interfaces` changed"), "{err}");
    assert_eq!(r.dp.publications.len(), published);
    assert_eq!(r.dp.oifs(s, ip("239.2.2.2")), Some(vec![(1, 1), (2, 1)]));
    assert_eq!(r.core.counters().reloads_failed, 1);
}

#[test]
fn idle_entries_expire_and_entries_with_traffic_are_revalidated() {
    let lifetime = "limits: { entry_lifetime: 10 }";
    let mut r = Router::new(&three_ports("", &format!("{ROUTES}\n{lifetime}")));
    let (idle, busy) = (ip("10.0.1.2"), ip("10.0.1.3"));
    let g = ip("239.1.1.1");
    r.miss(idle, g, 0);
    r.miss(busy, g, 0);
    r.input();
    let busy_route = r.dp.entry(busy, g).unwrap().clone();
    // The busy flow forwards 100 packets a second; the sweep (once a second) tells the MGM.
    for _ in 0..9 {
        r.dp.count(busy, g, 100, 60);
        r.advance(secs(1));
    }
    let stats = |r: &Router| {
        r.core
            .mgm()
            .get_mfe_stats(r.now, busy, g, mgm::StatsLayout::Extended, usize::MAX)
            .unwrap()
            .counters
    };
    assert_eq!((stats(&r).in_packets, stats(&r).in_octets), (900, 54_000));
    r.advance(ms(999));
    assert!(r.dp.entry(idle, g).is_some(), "not yet: 9.999 s");
    r.advance(ms(1));
    assert_eq!(r.dp.entry(idle, g), None, "idle: deleted at 10 s");
    assert_eq!(
        r.dp.entry(busy, g),
        Some(&busy_route),
        "busy: re-validated in place"
    );
    let m = r.core.mgm().counters();
    assert_eq!((m.expirations, m.revalidations), (1, 1));
    assert_eq!(r.core.counters().mfes_deleted, 1);
}

#[test]
fn a_counter_index_is_reused_only_after_the_workers_passed_the_publication_that_freed_it() {
    let lifetime = "limits: { entry_lifetime: 5 }";
    let mut r = Router::new(&three_ports("", &format!("{ROUTES}\n{lifetime}")));
    let g = ip("239.1.1.1");
    r.miss(ip("10.0.1.2"), g, 0);
    r.input();
    let first = r.dp.entry(ip("10.0.1.2"), g).unwrap().counter;
    assert_ne!(first, NO_COUNTER);
    // A worker is slow to pass the publication that deletes the entry.
    r.dp.auto_ack = false;
    r.advance(secs(5));
    assert_eq!(r.dp.entry(ip("10.0.1.2"), g), None);
    r.miss(ip("10.0.1.3"), g, 0);
    r.input();
    let second = r.dp.entry(ip("10.0.1.3"), g).unwrap().counter;
    assert_ne!(second, first, "the freed index may still be counted on");
    // Whatever the old entry counted late is not the next owner's.
    r.dp.totals.insert(first, (7, 420));
    r.dp.acknowledge_all();
    r.dp.auto_ack = true;
    r.miss(ip("10.0.1.4"), g, 0);
    r.input();
    let third = r.dp.entry(ip("10.0.1.4"), g).unwrap().counter;
    assert_eq!(third, first, "reused once acknowledged");
    r.dp.count(ip("10.0.1.4"), g, 1, 60);
    r.advance(secs(1)); // the next sweep
    let st = r
        .core
        .mgm()
        .get_mfe_stats(
            r.now,
            ip("10.0.1.4"),
            g,
            mgm::StatsLayout::Extended,
            usize::MAX,
        )
        .unwrap();
    assert_eq!((st.counters.in_packets, st.counters.in_octets), (1, 60));
}

#[test]
fn a_sweep_of_a_large_table_takes_several_steps_and_misses_no_entry() {
    use control::control_core::{SWEEP_EVERY, SWEEP_PER_STEP};
    let limits =
        "limits: { miss_burst: 10000, miss_rate_per_worker: 100000, miss_rate_per_source: 10000 }";
    let mut r = Router::new(&three_ports("", &format!("{ROUTES}\n{limits}")));
    let g = ip("239.1.1.1");
    let n = SWEEP_PER_STEP + 1000;
    // Sources in 10.0.1.0 and up, but none of the router's own addresses.
    let sources: Vec<std::net::Ipv4Addr> = (1..)
        .map(|i: u32| std::net::Ipv4Addr::from(u32::from(ip("10.0.1.0")) + i))
        .filter(|a| !r.cfg.interfaces.iter().any(|f| f.address == *a))
        .take(n)
        .collect();
    let source = |i: usize| sources[i];
    for i in 0..n {
        r.miss(source(i), g, 0);
    }
    while !r.dp.signals.is_empty() {
        r.input();
    }
    assert_eq!(r.core.mgm().mfe_count(), n);
    for i in 0..n {
        r.dp.count(source(i), g, 1, 60);
    }
    let in_packets = |r: &Router, i: usize| {
        r.core
            .mgm()
            .get_mfe_stats(r.now, source(i), g, mgm::StatsLayout::Extended, usize::MAX)
            .unwrap()
            .counters
            .in_packets
    };
    let by_index = |r: &Router, i: usize| r.dp.entry(source(i), g).unwrap().counter as usize;
    let (early, late): (Vec<usize>, Vec<usize>) =
        (0..n).partition(|&i| by_index(&r, i) < SWEEP_PER_STEP);
    r.advance(SWEEP_EVERY);
    assert!(early.iter().all(|&i| in_packets(&r, i) == 1));
    assert!(
        late.iter().all(|&i| in_packets(&r, i) == 0),
        "one step at a time"
    );
    r.advance(ms(2));
    assert!(
        (0..n).all(|i| in_packets(&r, i) == 1),
        "the next step, 2 ms later"
    );
}

#[test]
fn entries_beyond_the_counters_capacity_forward_uncounted() {
    let mut r = Router::new(&three_ports("", ROUTES));
    r.dp.counter_capacity = 2;
    let g = ip("239.1.1.1");
    for n in 2..5 {
        r.miss(std::net::Ipv4Addr::new(10, 0, 1, n), g, 0);
    }
    r.input();
    let counters: Vec<u32> = (2..5)
        .map(|n| {
            r.dp.entry(std::net::Ipv4Addr::new(10, 0, 1, n), g)
                .unwrap()
                .counter
        })
        .collect();
    assert_eq!(counters, vec![0, 1, NO_COUNTER]);
    assert_eq!(
        r.dp.oifs(ip("10.0.1.4"), g),
        Some(vec![(1, 1)]),
        "forwarded all the same"
    );
}

#[test]
fn each_protocol_judges_its_own_section_on_reload() {
    let igmp = ", igmp: { version: 2 }";
    let mut r = Router::new(&three_ports(igmp, ROUTES));
    let s = ip("10.0.1.2");
    r.miss(s, ip("239.1.1.1"), 0);
    r.input();
    r.advance(secs(1));
    let published = r.dp.publications.len();
    let refused = |r: &mut Router, text: String| {
        let new = config::parse(&text, "new.yaml").unwrap();
        r.core.reload(r.now, &r.cfg, &new, &mut r.dp).unwrap_err()
    };
    // IGMP's settings on if1: IGMP refuses, naming the interface.
    let err = refused(&mut r, three_ports(", igmp: { version: 3 }", ROUTES));
    assert!(
        err.contains("`interfaces[1].igmp` (if1) changed") && err.contains("restart"),
        "{err}"
    );
    // IGMP on another interface too: the same.
    let err = refused(
        &mut r,
        three_ports(igmp, ROUTES).replace("10.0.3.1/24 }", "10.0.3.1/24, igmp: {} }"),
    );
    assert!(err.contains("`interfaces[2].igmp` (if2) changed"), "{err}");
    // A proxy that did not run would start: refused by the core for it.
    let err = refused(
        &mut r,
        three_ports(igmp, "routes: []\nigmp_proxy: { upstream: if0 }"),
    );
    assert!(err.contains("`igmp_proxy` changed"), "{err}");
    assert_eq!(r.dp.publications.len(), published, "nothing published");
    assert_eq!(r.core.counters().reloads_failed, 3);

    // Static routing's RPF routes are applied as a difference: the RIB has the new one.
    let rpf = "rpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if2 }";
    let new = config::parse(&three_ports(igmp, &format!("{ROUTES}\n{rpf}")), "new.yaml").unwrap();
    let msg = r.core.reload(r.now, &r.cfg, &new, &mut r.dp).unwrap();
    assert_eq!(
        msg,
        "reloaded: 0 memberships removed, 0 added, 0 entries refreshed, 1 RPF routes changed"
    );
    assert_eq!(
        r.core.rpf(ip("10.9.1.1")).map(|route| route.iif),
        Some(control::interface::interface_id(2))
    );
    r.cfg = new;
    let back = config::parse(&three_ports(igmp, ROUTES), "back.yaml").unwrap();
    let msg = r.core.reload(r.now, &r.cfg, &back, &mut r.dp).unwrap();
    assert!(msg.ends_with("1 RPF routes changed"), "{msg}");
    assert_ne!(
        r.core.rpf(ip("10.9.1.1")).map(|route| route.iif),
        Some(control::interface::interface_id(2))
    );
}
