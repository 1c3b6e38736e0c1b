//! Deterministic tests of the control loop: one thread drives the worker (inline, on net_pcap
//! ports) and the control core turn by turn, so every step is observable: a miss goes to the
//! MGM, the static protocol's RPF callback and creation alert run, the MFE lands in the
//! published table, held packets follow; negative entries; wrong-interface counting.

use control::clock::Clock;
use control::config;
use control::control_core::{ControlCore, DpdkPlane};
use control::daemon::port_specs;
use dataplane::dpdk::Eal;
use dataplane::fib::ForwardingTable;
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane};
use dataplane::wire::{build_udp_frame, EthernetAddress};
use dataplane::worker::{Counters, DropReason};
use mgm::InterfaceId;
use std::net::Ipv4Addr;
use std::time::Duration;

const HOST: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 9]);

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn frame(src: &str, group: &str, seq: u8) -> Vec<u8> {
    build_udp_frame(HOST, ip(src), ip(group), 16, &[seq; 8])
}

/// EAL for one test process: no hugepages, main lcore only, the config's ports as vdevs.
fn eal_for(cfg: &config::Config) -> Eal {
    Eal::init(&vdev_eal_args("control-loop", 256, "0", &port_specs(cfg))).unwrap()
}

/// An empty scratch directory of this test process.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mrouter-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn total(dp: &Dataplane) -> Counters {
    let mut t = Counters::default();
    for c in dp.worker_counters() {
        t.add(&c);
    }
    t
}

#[test]
fn misses_become_mfes_through_rpf_and_creation_alerts_and_held_packets_follow() {
    let dir = scratch("loop");
    let (in0, in1, out1, out2) = (
        dir.join("in0.pcap"),
        dir.join("in1.pcap"),
        dir.join("out1.pcap"),
        dir.join("out2.pcap"),
    );
    pcap::write_file(
        &in0,
        &[
            frame("10.0.1.2", "239.1.1.1", 0), // (*,G) to if1 and if2
            frame("10.0.1.2", "239.1.1.1", 1),
            frame("10.0.1.2", "239.2.2.2", 2), // exact (S,G) overrides (*,G): if1 only
            frame("10.0.2.7", "239.1.1.1", 3), // source on if1's subnet, arriving on if0
            frame("10.0.1.2", "239.9.9.9", 4), // nobody routes it: negative
        ],
    )
    .unwrap();
    pcap::write_file(&in1, &[frame("10.0.1.2", "239.1.1.1", 5)]).unwrap(); // wrong interface
    let text = format!(
        r#"ports:
  - {{ name: p0, device: "net_pcap0,rx_pcap={}" }}
  - {{ name: p1, device: "net_pcap1,rx_pcap={},tx_pcap={}" }}
  - {{ name: p2, device: "net_pcap2,tx_pcap={}" }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24 }}
  - {{ name: if2, port: p2, address: 10.0.3.1/24 }}
routes:
  - {{ group: 239.1.1.1, iif: if0, oifs: [ {{ interface: if1 }}, {{ interface: if2, ttl_threshold: 4 }} ] }}
  - {{ group: 239.2.2.0, iif: if0, oifs: [ {{ interface: if2 }} ] }}
  - {{ group: 239.2.2.2, iif: if0, oifs: [ {{ interface: if1 }}, {{ interface: if2 }} ] }}
  - {{ group: 239.2.2.2, source: 10.0.1.2, iif: if0, oifs: [ {{ interface: if1 }} ] }}
"#,
        in0.display(),
        in1.display(),
        out1.display(),
        out2.display()
    );
    let cfg = config::parse(&text, "loop.yaml").unwrap();
    let mut core = ControlCore::new(&cfg, Duration::ZERO).unwrap();
    let clock = Clock::start();
    let eal = eal_for(&cfg);
    let mut dp = Dataplane::start(eal, &port_specs(&cfg), ForwardingTable::new(), &[]).unwrap();

    // The static (S,G) route's entry exists before any packet (created at start).
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    let sg = dp
        .fib()
        .get(Some(ip("10.0.1.2")), ip("239.2.2.2"))
        .cloned()
        .expect("(S,G) at start");
    assert_eq!(
        (sg.iif, sg.oifs.iter().map(|o| o.port).collect::<Vec<_>>()),
        (0, vec![1])
    );

    // Turn 1: the worker takes all six frames; the (*,G) flows miss and are held.
    while total(&dp).rx_packets < 6 {
        dp.poll_inline(1);
    }
    assert_eq!(total(&dp).tx_packets, 1, "only the (S,G) packet went out");
    assert_eq!(dp.fib().get(Some(ip("10.0.1.2")), ip("239.1.1.1")), None);

    // Turn 2: the control core resolves the misses and publishes.
    assert!(core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock)));
    let now = core.uptime();
    let m = core
        .mgm()
        .get_mfe(now, ip("10.0.1.2"), ip("239.1.1.1"))
        .unwrap();
    assert_eq!(
        m.iif,
        InterfaceId::new(1),
        "if0, by the connected route and the static route"
    );
    assert_eq!(m.oifs, vec![InterfaceId::new(2), InterfaceId::new(3)]);
    let route = dp
        .fib()
        .get(Some(ip("10.0.1.2")), ip("239.1.1.1"))
        .cloned()
        .unwrap();
    assert_eq!(route.iif, 0);
    assert_eq!(
        route
            .oifs
            .iter()
            .map(|o| (o.port, o.ttl_threshold))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 4)]
    );
    // 10.0.2.7 is on if1's subnet; the static route's RPF callback made its IIF if0.
    let moved = core
        .mgm()
        .get_mfe(now, ip("10.0.2.7"), ip("239.1.1.1"))
        .unwrap();
    assert_eq!(moved.iif, InterfaceId::new(1));
    assert_eq!(moved.oifs, vec![InterfaceId::new(2), InterfaceId::new(3)]);
    // Nobody routes 239.9.9.9: a negative entry stops further misses.
    let neg = core
        .mgm()
        .get_mfe(now, ip("10.0.1.2"), ip("239.9.9.9"))
        .unwrap();
    assert!(neg.oifs.is_empty());
    assert!(dp
        .fib()
        .get(Some(ip("10.0.1.2")), ip("239.9.9.9"))
        .unwrap()
        .oifs
        .is_empty());
    assert_eq!(
        core.counters().mfes_installed,
        4,
        "three on demand plus the static (S,G)"
    );

    // Turn 3: the worker releases the held packets; the one from if1 is on the wrong interface.
    dp.poll_inline(1);
    let c = total(&dp);
    assert_eq!(c.dropped(DropReason::NoOutgoing), 1);
    assert_eq!(c.dropped(DropReason::WrongInterface), 1);
    // Turn 4: the MGM counts the wrong-interface packet on the entry.
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    let stats = core
        .mgm()
        .get_mfe_stats(
            core.uptime(),
            ip("10.0.1.2"),
            ip("239.1.1.1"),
            mgm::StatsLayout::Extended,
            usize::MAX,
        )
        .unwrap();
    assert_eq!(stats.counters.pkts_different_if, 1);
    // The workers' per-entry counters reach the MGM at the next sweep (once a second).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    let counted = |s: &str, g: &str| {
        let st = core
            .mgm()
            .get_mfe_stats(
                core.uptime(),
                ip(s),
                ip(g),
                mgm::StatsLayout::Extended,
                usize::MAX,
            )
            .unwrap();
        (st.counters.in_packets, st.counters.in_octets)
    };
    assert_eq!(
        counted("10.0.1.2", "239.1.1.1"),
        (2, 120),
        "two 60-byte frames forwarded"
    );
    assert_eq!(counted("10.0.2.7", "239.1.1.1"), (1, 60));
    assert_eq!(counted("10.0.1.2", "239.2.2.2"), (1, 60));
    assert_eq!(
        counted("10.0.1.2", "239.9.9.9"),
        (0, 0),
        "negative entries forward nothing"
    );

    let (counters, _) = dp.stop();
    let mut c = Counters::default();
    for w in &counters {
        c.add(w);
    }
    assert_eq!(
        c.dropped(DropReason::NoRoute) + c.dropped(DropReason::PendingOverflow),
        0
    );
    let seqs = |p: &std::path::Path| -> Vec<u8> {
        pcap::read_file(p).unwrap().iter().map(|f| f[42]).collect()
    };
    assert_eq!(
        seqs(&out1),
        vec![2, 0, 1, 3],
        "(S,G) first, then the held (*,G) packets in order"
    );
    assert_eq!(
        seqs(&out2),
        vec![0, 1, 3],
        "TTL 16 passes threshold 4; the (S,G) is not here"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resource_limits_refuse_new_flows_count_them_and_leave_admitted_flows_alone() {
    let dir = scratch("limits");
    let (in0, out1) = (dir.join("in0.pcap"), dir.join("out1.pcap"));
    pcap::write_file(
        &in0,
        &[
            frame("10.0.1.2", "239.1.1.1", 0), // admitted
            frame("10.0.1.2", "239.1.1.2", 1), // admitted: the source's 2 per second
            frame("10.0.1.2", "239.1.1.3", 2), // refused: per-source limit
            frame("10.0.1.2", "239.1.1.4", 3), // refused: per-source limit
            frame("10.0.1.3", "239.1.1.1", 4), // admitted: the third and last entry
            frame("10.0.1.3", "239.1.1.2", 5), // refused: max_mfes
            frame("10.0.1.1", "239.1.1.1", 6), // the router's own address: dropped at once
        ],
    )
    .unwrap();
    let text = format!(
        r#"ports:
  - {{ name: p0, device: "net_pcap0,rx_pcap={}" }}
  - {{ name: p1, device: "net_pcap1,tx_pcap={}" }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24 }}
routes:
  - {{ group: 239.1.1.1, iif: if0, oifs: [ {{ interface: if1 }} ] }}
  - {{ group: 239.1.1.2, iif: if0, oifs: [ {{ interface: if1 }} ] }}
  - {{ group: 239.1.1.3, iif: if0, oifs: [ {{ interface: if1 }} ] }}
  - {{ group: 239.1.1.4, iif: if0, oifs: [ {{ interface: if1 }} ] }}
limits: {{ max_mfes: 3, miss_rate_per_source: 2 }}
"#,
        in0.display(),
        out1.display()
    );
    let cfg = config::parse(&text, "limits.yaml").unwrap();
    let mut core = ControlCore::new(&cfg, Duration::ZERO).unwrap();
    let clock = Clock::start();
    let eal = eal_for(&cfg);
    let mut dp = Dataplane::start_with(
        eal,
        &port_specs(&cfg),
        control::daemon::initial_table(&cfg),
        &[],
        control::daemon::dataplane_limits(&cfg),
    )
    .unwrap();
    while total(&dp).rx_packets < 7 {
        dp.poll_inline(1);
    }
    assert_eq!(total(&dp).dropped(DropReason::OwnSource), 1);
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    let c = core.counters();
    assert_eq!(c.misses_source_limited, 2, "{c:?}");
    assert_eq!(c.misses_mfe_limit, 1, "{c:?}");
    assert_eq!(c.misses_own_source, 0, "the worker never signalled it");
    assert_eq!(core.mgm().mfe_count(), 3);
    // The admitted flows' held packets leave; the refused ones stay held and expire as no_route.
    dp.poll_inline(1);
    std::thread::sleep(std::time::Duration::from_millis(150));
    dp.poll_inline(1);
    let (counters, _) = dp.stop();
    let mut t = Counters::default();
    for w in &counters {
        t.add(w);
    }
    assert_eq!(t.dropped(DropReason::NoRoute), 3);
    let seqs: Vec<u8> = pcap::read_file(&out1)
        .unwrap()
        .iter()
        .map(|f| f[42])
        .collect();
    assert_eq!(
        seqs,
        vec![0, 1, 4],
        "exactly the admitted flows were forwarded"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_wrong_interface_packet_is_counted_on_its_entry_though_signals_are_sampled() {
    let dir = scratch("wrongif");
    let (in0, in1, out) = (
        dir.join("in0.pcap"),
        dir.join("in1.pcap"),
        dir.join("out.pcap"),
    );
    pcap::write_file::<_, Vec<u8>>(&in0, &[]).unwrap();
    // Five packets of the (S,G) on if1, whose route says if0: the worker signals the first
    // (its repeat filter holds the rest back) and drops all five.
    let frames: Vec<Vec<u8>> = (0..5).map(|i| frame("10.0.1.2", "239.2.2.2", i)).collect();
    pcap::write_file(&in1, &frames).unwrap();
    let text = format!(
        r#"ports:
  - {{ name: p0, device: "net_pcap0,rx_pcap={}" }}
  - {{ name: p1, device: "net_pcap1,rx_pcap={}" }}
  - {{ name: p2, device: "net_pcap2,tx_pcap={}" }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24 }}
  - {{ name: if2, port: p2, address: 10.0.3.1/24 }}
routes:
  - {{ group: 239.2.2.2, source: 10.0.1.2, iif: if0, oifs: [ {{ interface: if2 }} ] }}
"#,
        in0.display(),
        in1.display(),
        out.display()
    );
    let cfg = config::parse(&text, "wrongif.yaml").unwrap();
    let mut core = ControlCore::new(&cfg, Duration::ZERO).unwrap();
    let clock = Clock::start();
    let eal = eal_for(&cfg);
    let mut dp = Dataplane::start(eal, &port_specs(&cfg), ForwardingTable::new(), &[]).unwrap();
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock)); // the static (S,G) entry is installed
    while total(&dp).rx_packets < 5 {
        dp.poll_inline(1);
    }
    assert_eq!(total(&dp).dropped(DropReason::WrongInterface), 5);
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    let different_if = |core: &ControlCore| {
        core.mgm()
            .get_mfe_stats(
                core.uptime(),
                ip("10.0.1.2"),
                ip("239.2.2.2"),
                mgm::StatsLayout::Extended,
                usize::MAX,
            )
            .unwrap()
            .counters
            .pkts_different_if
    };
    assert_eq!(core.counters().wrong_if_received, 1, "one signal (sampled)");
    assert_eq!(
        different_if(&core),
        1,
        "the signal's packet, before the sweep"
    );
    // The next sweep (once a second) brings the entry's count to the workers' exact one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    assert_eq!(different_if(&core), 5);
    core.turn(clock.now(), &mut DpdkPlane::new(&mut dp, &clock));
    assert_eq!(different_if(&core), 5, "not counted twice");
    let _ = dp.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
