//! Neighbours (RFC 7761 4.3.1), DR election (4.3.2) and the LAN Prune Delay values (4.3.3).

use crate::harness::*;
use control::protocols::pim::*;
use dataplane::wire::pim::{Hello, LanPruneDelay};

#[test]
fn dr_by_priority() {
    let mut lab = Lab::new();
    assert_eq!(lab.dr(), ip("10.0.2.1"), "alone, this router is the DR");
    // A lower address with a higher priority wins.
    lab.hello_from("10.0.2.0", &hello(105, Some(5), 1));
    assert_eq!(lab.dr(), ip("10.0.2.0"));
    assert!(lab.events.contains(&PimEvent::DrChanged {
        iface: iface(),
        dr: ip("10.0.2.0")
    }));
    // A higher address with a lower priority does not.
    lab.hello_from("10.0.2.200", &hello(105, Some(2), 2));
    assert_eq!(lab.dr(), ip("10.0.2.0"));
    assert!(!lab.interface().is_dr());
}

#[test]
fn dr_by_address_when_priorities_tie() {
    let mut lab = Lab::new();
    lab.hello_from("10.0.2.0", &hello(105, Some(1), 1));
    assert_eq!(lab.dr(), ip("10.0.2.1"), "same priority, ours is higher");
    lab.hello_from("10.0.2.7", &hello(105, Some(1), 2));
    assert_eq!(lab.dr(), ip("10.0.2.7"));
    let dr_events = lab
        .events
        .iter()
        .filter(|e| matches!(e, PimEvent::DrChanged { .. }))
        .count();
    assert_eq!(dr_events, 1, "{:?}", lab.events);
}

#[test]
fn a_neighbour_without_the_priority_option_makes_it_by_address() {
    let mut lab = Lab::with(
        PimInterfaceSettings {
            dr_priority: 100,
            ..PimInterfaceSettings::default()
        },
        1,
    );
    lab.hello_from("10.0.2.5", &hello(105, Some(200), 1));
    assert_eq!(lab.dr(), ip("10.0.2.5"), "priority 200 wins");
    // One neighbour without the option: addresses only (4.3.2), whatever the priorities.
    lab.hello_from("10.0.2.9", &hello(105, None, 2));
    assert_eq!(lab.dr(), ip("10.0.2.9"));
    // It sends the option again: priorities count again.
    lab.hello_from("10.0.2.9", &hello(105, Some(1), 2));
    assert_eq!(lab.dr(), ip("10.0.2.5"));
}

#[test]
fn a_neighbour_expires_at_its_holdtime() {
    let mut lab = Lab::new();
    lab.advance(secs(1));
    lab.hello_from("10.0.2.9", &hello(7, Some(1), 1));
    assert_eq!(lab.dr(), ip("10.0.2.9"));
    assert!(lab.events.contains(&PimEvent::NeighborUp {
        iface: iface(),
        address: ip("10.0.2.9")
    }));
    lab.advance(ms(6_999));
    assert_eq!(
        lab.neighbors(),
        [ip("10.0.2.9")],
        "still within its holdtime"
    );
    // A Hello refreshes it for another holdtime.
    lab.hello_from("10.0.2.9", &hello(7, Some(1), 1));
    lab.advance(ms(6_999));
    assert_eq!(lab.neighbors(), [ip("10.0.2.9")]);
    lab.advance(ms(1));
    assert!(lab.neighbors().is_empty(), "expired");
    assert_eq!(lab.dr(), ip("10.0.2.1"), "the DR is elected again");
    assert!(lab.events.contains(&PimEvent::NeighborDown {
        iface: iface(),
        address: ip("10.0.2.9")
    }));
    assert_eq!(lab.interface().counters.neighbors_expired, 1);
}

#[test]
fn a_hello_without_holdtime_means_105_s_and_0xffff_never_expires() {
    let mut lab = Lab::new();
    let no_holdtime = Hello {
        holdtime: None,
        ..hello(0, Some(1), 1)
    };
    lab.hello_from("10.0.2.3", &no_holdtime);
    lab.hello_from("10.0.2.4", &hello(0xffff, Some(1), 2));
    lab.advance(secs(104));
    assert_eq!(lab.neighbors(), [ip("10.0.2.3"), ip("10.0.2.4")]);
    lab.advance(secs(1));
    assert_eq!(lab.neighbors(), [ip("10.0.2.4")]);
    lab.advance(secs(100_000));
    assert_eq!(lab.neighbors(), [ip("10.0.2.4")]);
}

#[test]
fn a_goodbye_removes_the_neighbour_at_once() {
    let mut lab = Lab::new();
    lab.hello_from("10.0.2.9", &hello(105, Some(1), 1));
    assert_eq!(lab.dr(), ip("10.0.2.9"));
    lab.hello_from("10.0.2.9", &hello(0, Some(1), 1));
    assert!(lab.neighbors().is_empty());
    assert_eq!(lab.dr(), ip("10.0.2.1"));
    assert_eq!(lab.interface().counters.neighbors_goodbye, 1);
    // A goodbye from a stranger changes nothing.
    lab.hello_from("10.0.2.8", &hello(0, Some(1), 1));
    assert!(lab.neighbors().is_empty());
}

#[test]
fn a_changed_generation_id_is_a_restart() {
    let mut lab = Lab::new();
    lab.advance(secs(10));
    lab.hello_from("10.0.2.9", &hello(105, Some(1), 1111));
    lab.advance(secs(20));
    let uptime_before = lab.pim.neighbor_infos(lab.now)[0].uptime;
    assert_eq!(uptime_before, secs(20));
    // The same Generation ID: a refresh, no event.
    lab.events.clear();
    lab.hello_from("10.0.2.9", &hello(105, Some(1), 1111));
    assert!(lab.events.is_empty(), "{:?}", lab.events);
    // A new one: it restarted. A Hello from us follows within the triggered delay, so it
    // learns of us at once (and its state machines start again).
    let t = lab.now;
    let next_periodic = lab.interface().hello_due;
    lab.hello_from("10.0.2.9", &hello(105, Some(1), 2222));
    assert_eq!(
        lab.events,
        [PimEvent::NeighborRestarted {
            iface: iface(),
            address: ip("10.0.2.9")
        }]
    );
    let n = &lab.pim.neighbor_infos(lab.now)[0];
    assert_eq!((n.generation_id, n.uptime), (Some(2222), secs(0)));
    assert_eq!(lab.interface().counters.neighbors_restarted, 1);
    let due = lab.interface().hello_due;
    assert!(due - t < secs(5) && due <= next_periodic, "{due:?}");
}

#[test]
fn lan_prune_delay_values() {
    let mut lab = Lab::with(
        PimInterfaceSettings {
            propagation_delay_ms: 400,
            override_interval_ms: 2000,
            ..PimInterfaceSettings::default()
        },
        1,
    );
    let i = lab.interface();
    assert!(i.lan_delay_enabled());
    assert_eq!(i.effective_propagation_delay(), ms(400), "ours, alone");
    assert_eq!(i.effective_override_interval(), ms(2000));
    let lpd = |t: bool, p: u16, o: u16| Hello {
        lan_prune_delay: Some(LanPruneDelay {
            join_suppression_disabled: t,
            propagation_delay_ms: p,
            override_interval_ms: o,
        }),
        ..hello(105, Some(1), 1)
    };
    lab.hello_from("10.0.2.2", &lpd(false, 800, 1000));
    lab.hello_from("10.0.2.3", &lpd(false, 100, 3000));
    let i = lab.interface();
    assert_eq!(i.effective_propagation_delay(), ms(800), "the largest");
    assert_eq!(i.effective_override_interval(), ms(3000));
    assert_eq!(i.jp_override_interval(), ms(3800));
    assert!(i.suppression_enabled());
    // One with the T bit: join suppression off.
    lab.hello_from("10.0.2.2", &lpd(true, 800, 1000));
    assert!(!lab.interface().suppression_enabled());
    // One without the option: the defaults, suppression on.
    let plain = Hello {
        lan_prune_delay: None,
        ..hello(105, Some(1), 4)
    };
    lab.hello_from("10.0.2.4", &plain);
    let i = lab.interface();
    assert!(!i.lan_delay_enabled());
    assert_eq!(i.effective_propagation_delay(), ms(500));
    assert_eq!(i.effective_override_interval(), ms(2500));
    assert!(i.suppression_enabled());
}

#[test]
fn secondary_addresses_name_the_same_neighbour() {
    let mut lab = Lab::new();
    let h = Hello {
        addresses: vec![ip("192.0.2.9")],
        ..hello(105, Some(1), 1)
    };
    lab.hello_from("10.0.2.9", &h);
    let i = lab.interface();
    assert_eq!(
        i.neighbor(ip("192.0.2.9")).map(|n| n.address),
        Some(ip("10.0.2.9"))
    );
    assert!(i.neighbor(ip("192.0.2.10")).is_none());
}

#[test]
fn events_nobody_takes_are_bounded_and_counted() {
    let mut pim = Pim::new(&PimSettings::default(), 1);
    pim.add_interface(
        secs(0),
        iface(),
        ip("10.0.2.1"),
        24,
        PimInterfaceSettings::default(),
    );
    let hello_bytes =
        |holdtime| dataplane::wire::pim::Repr::Hello(hello(holdtime, Some(1), 1)).to_bytes();
    let all = dataplane::wire::pim::ALL_PIM_ROUTERS;
    // Each round: neighbour up, DR changed, goodbye (down), DR changed back: 4 events.
    for n in 0..300u64 {
        let t = secs(n);
        pim.handle_packet(t, iface(), ip("10.0.2.9"), all, &hello_bytes(105));
        pim.handle_packet(t, iface(), ip("10.0.2.9"), all, &hello_bytes(0));
    }
    assert_eq!(pim.events_dropped(), 1200 - MAX_EVENTS as u64);
    let kept: Vec<_> = std::iter::from_fn(|| pim.poll_pim_event()).collect();
    assert_eq!(kept.len(), MAX_EVENTS);
    assert_eq!(
        kept.last(),
        Some(&PimEvent::DrChanged {
            iface: iface(),
            dr: ip("10.0.2.1")
        }),
        "the latest are kept"
    );
}
