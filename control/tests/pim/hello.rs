//! Sending Hellos (RFC 7761 4.3.1): the first after a random delay below
//! Triggered_Hello_Delay, then every Hello period; triggered ones; the goodbye.

use crate::harness::*;
use control::protocols::pim::*;

#[test]
fn first_hello_within_the_triggered_delay_then_every_period() {
    let mut delays = Vec::new();
    for seed in 1..40 {
        let mut lab = Lab::with(PimInterfaceSettings::default(), seed);
        let start = lab.now;
        assert!(lab.sent.is_empty(), "nothing at once");
        lab.advance(secs(100));
        let times: Vec<_> = lab.hellos_since(start).iter().map(|(t, _)| *t).collect();
        let first = times[0] - start;
        assert!(first < secs(5), "seed {seed}: first Hello after {first:?}");
        delays.push(first);
        // Then exactly every 30 s.
        for w in times.windows(2) {
            assert_eq!(w[1] - w[0], secs(30), "seed {seed}: {times:?}");
        }
        assert_eq!(times.len(), 4, "{times:?}");
    }
    delays.sort();
    delays.dedup();
    // Seeds 2k and 2k+1 are the same generator.
    assert!(
        delays.len() >= 19,
        "the delay is drawn, not fixed: {delays:?}"
    );
}

#[test]
fn the_hello_carries_holdtime_priority_generation_id_and_lan_prune_delay() {
    let mut lab = Lab::with(
        PimInterfaceSettings {
            dr_priority: 42,
            hello_interval: secs(2),
            holdtime: secs(7),
            ..PimInterfaceSettings::default()
        },
        3,
    );
    lab.advance(secs(5));
    let (_, h) = lab.hellos_since(secs(0))[0].clone();
    assert_eq!(h.holdtime, Some(7));
    assert_eq!(h.dr_priority, Some(42));
    let gen = lab.interface().generation_id;
    assert_eq!(h.generation_id, Some(gen));
    let lpd = h.lan_prune_delay.unwrap();
    assert_eq!(
        (
            lpd.join_suppression_disabled,
            lpd.propagation_delay_ms,
            lpd.override_interval_ms
        ),
        (false, 500, 2500)
    );
    // The Generation ID stays for the life of the interface...
    assert!(lab
        .sent
        .iter()
        .all(|(_, _, h)| h.generation_id == Some(gen)));
    // ...and another start (another seed: the daemon's is random) picks another.
    let other = Lab::with(PimInterfaceSettings::default(), 4);
    assert_ne!(other.interface().generation_id, gen);
}

#[test]
fn a_new_neighbour_triggers_a_hello_within_the_delay() {
    for seed in 1..30 {
        let mut lab = Lab::with(PimInterfaceSettings::default(), seed);
        lab.advance(secs(10)); // past the first Hello; the next is 30 s later
        let t = lab.now;
        lab.hello_from("10.0.2.2", &hello(105, Some(1), 1));
        lab.advance(secs(5));
        let after = lab.hellos_since(t);
        assert_eq!(after.len(), 1, "seed {seed}: {after:?}");
        assert!(
            after[0].0 - t < secs(5),
            "seed {seed}: {:?}",
            after[0].0 - t
        );
        // A refresh from the same neighbour triggers nothing: the next is a period later.
        let t2 = lab.now;
        lab.hello_from("10.0.2.2", &hello(105, Some(1), 1));
        lab.advance(secs(20));
        let last = lab.hellos_since(t2);
        assert!(
            last.iter().all(|(at, _)| *at - after[0].0 >= secs(30)),
            "seed {seed}: {last:?}"
        );
    }
}

#[test]
fn a_triggered_hello_never_delays_a_due_one() {
    let mut lab = Lab::with(
        PimInterfaceSettings {
            hello_interval: secs(2),
            holdtime: secs(7),
            ..PimInterfaceSettings::default()
        },
        9,
    );
    lab.advance(secs(10));
    let t = lab.now;
    let next = lab.interface().hello_due;
    assert!(next - t <= secs(2));
    lab.hello_from("10.0.2.2", &hello(105, Some(1), 1));
    assert!(lab.interface().hello_due <= next);
}

#[test]
fn goodbye_on_shutdown_and_when_pim_stops_on_an_interface() {
    let mut lab = Lab::new();
    lab.advance(secs(10));
    lab.hello_from("10.0.2.2", &hello(105, Some(1), 1));
    let t = lab.now;
    lab.pim.shutdown();
    lab.drain();
    let after = lab.hellos_since(t);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].1.holdtime, Some(0), "a goodbye: holdtime 0");
    assert!(lab.pim.interface(iface()).is_none());
    assert!(lab.events.contains(&PimEvent::NeighborDown {
        iface: iface(),
        address: ip("10.0.2.2")
    }));
    assert_eq!(lab.pim.poll_timeout(), None, "no timer left");
}

#[test]
fn a_changed_priority_goes_out_at_once_on_reload() {
    let mut lab = Lab::new();
    lab.advance(secs(10));
    lab.hello_from("10.0.2.9", &hello(105, Some(1), 1));
    lab.advance(secs(5));
    assert_eq!(lab.dr(), ip("10.0.2.9"));
    let t = lab.now;
    let mut new = PimSettings::default();
    new.interfaces.insert(
        IFACE,
        PimInterfaceSettings {
            dr_priority: 50,
            ..PimInterfaceSettings::default()
        },
    );
    lab.pim.reconfigure(t, &new);
    lab.advance(ms(1));
    let after = lab.hellos_since(t);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].1.dr_priority, Some(50));
    assert_eq!(lab.dr(), ip("10.0.2.1"), "now we win on priority");
}

#[test]
fn a_link_coming_up_brings_the_next_hello_forward() {
    let mut lab = Lab::new();
    lab.advance(secs(10)); // the next periodic Hello is up to 30 s away
    let t = lab.now;
    lab.pim.link_up(t, iface());
    let due = lab.interface().hello_due;
    assert!(
        due - t < secs(5),
        "within the triggered delay: {:?}",
        due - t
    );
    lab.advance(secs(5));
    assert_eq!(lab.hellos_since(t).len(), 1);
    // Another interface's link: nothing here.
    let t = lab.now;
    let before = lab.interface().hello_due;
    lab.pim
        .link_up(t, control::interface::Interface::from_config_index(2));
    assert_eq!(lab.interface().hello_due, before);
}
