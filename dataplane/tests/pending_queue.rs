//! The pending queue on real DPDK (net_pcap): the first packets of a flow that misses are held,
//! a single miss is signalled, and once the control side installs the entry the held packets
//! go out in order; packets beyond the bound are counted, flows never resolved are dropped
//! after the hold time, and every mbuf returns to the pool. A flow that starts fast holds its
//! start from the budget the held flows share.

mod common;
use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, DataplaneLimits};
use dataplane::wire::{build_udp_frame, EthernetAddress};
use dataplane::worker::pending::{HOLD_MS, PER_FLOW};
use dataplane::worker::{Counters, DropReason, Signal};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

fn frame(source: Ipv4Addr, group: Ipv4Addr, seq: u32) -> Vec<u8> {
    build_udp_frame(
        EthernetAddress([2, 0, 0, 0, 0, 1]),
        source,
        group,
        32,
        &seq.to_be_bytes(),
    )
}

fn seq_of(f: &[u8]) -> u32 {
    let p = &f[14 + 20 + 8..];
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
}

fn total(dp: &Dataplane) -> Counters {
    let mut t = Counters::default();
    for c in dp.worker_counters() {
        t.add(&c);
    }
    t
}

#[test]
fn first_packets_wait_for_the_entry_and_leave_in_order() {
    let dir = std::env::temp_dir().join(format!("mrouter-pending-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (input, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
    let (a, b) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 1, 3));
    let (ga, gb) = (Ipv4Addr::new(239, 1, 1, 1), Ipv4Addr::new(239, 2, 2, 2));
    let mut frames: Vec<Vec<u8>> = (0..10).map(|i| frame(a, ga, i)).collect();
    frames.push(frame(b, gb, 100));
    frames.push(frame(b, gb, 101));
    pcap::write_file(&input, &frames).unwrap();

    let ports = vec![
        common::spec(&format!("net_pcap0,rx_pcap={}", input.display()), 1, 1),
        common::spec(&format!("net_pcap1,tx_pcap={}", out.display()), 1, 1),
    ];
    let args = vdev_eal_args("pending", 256, "0", &ports);
    let eal = Eal::init(&args).unwrap();
    // Each flow's own packets only (no shared budget): the per-flow bound is what is tested.
    let limits = DataplaneLimits {
        pending_shared: 0,
        ..DataplaneLimits::default()
    };
    let mut dp = Dataplane::start_with(eal, &ports, ForwardingTable::new(), &[], limits).unwrap();
    let baseline = dp.mbufs_in_use();

    let end = Instant::now() + Duration::from_secs(10);
    while total(&dp).rx_packets < 12 {
        assert!(Instant::now() < end);
        dp.poll_inline(1);
    }
    let c = total(&dp);
    assert_eq!(c.tx_packets, 0, "nothing can be forwarded yet");
    assert_eq!(c.dropped(DropReason::PendingOverflow), 10 - PER_FLOW as u64);
    let mut signals = Vec::new();
    dp.drain_signals(100, |s| {
        // The worker's TSC when the packet came in: compared apart.
        let Signal::Miss { at, .. } = s else {
            panic!("{s:?}")
        };
        assert!(at > 0);
        if let Signal::Miss {
            source,
            group,
            port,
            ..
        } = s
        {
            signals.push(Signal::Miss {
                source,
                group,
                port,
                at: 0,
            })
        }
    });
    assert_eq!(
        signals,
        vec![
            Signal::Miss {
                source: a.into(),
                group: ga.into(),
                port: 0,
                at: 0
            },
            Signal::Miss {
                source: b.into(),
                group: gb.into(),
                port: 0,
                at: 0
            },
        ],
        "one miss per flow, repeats filtered"
    );

    // The control side installs flow A only.
    dp.fib().insert(
        Some(a),
        ga,
        Route {
            counter: dataplane::fib::NO_COUNTER,
            iif: 0,
            flags: dataplane::fib::EntryFlags::NONE,
            oifs: vec![Oif {
                port: 1,
                ttl_threshold: 1,
            }]
            .into(),
        },
    );
    dp.publish();
    dp.poll_inline(1);
    assert_eq!(
        total(&dp).tx_packets,
        PER_FLOW as u64,
        "held packets released at once"
    );
    // Flow B is never resolved: after the hold time its packets are dropped.
    std::thread::sleep(Duration::from_millis(HOLD_MS + 20));
    dp.poll_inline(1);
    let c = total(&dp);
    assert_eq!(c.dropped(DropReason::NoRoute), 2);
    assert_eq!(
        dp.mbufs_in_use(),
        baseline,
        "every held or dropped mbuf went back to the pool"
    );
    let (_, _) = dp.stop();
    let got: Vec<u32> = pcap::read_file(&out)
        .unwrap()
        .iter()
        .map(|f| seq_of(f))
        .collect();
    assert_eq!(got, (0..PER_FLOW as u32).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_fast_start_is_held_from_the_shared_budget_and_released_in_order() {
    let dir = std::env::temp_dir().join(format!("mrouter-pending-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (input, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
    let (a, b) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 1, 3));
    let g = Ipv4Addr::new(239, 1, 1, 1);
    const SHARED: usize = 100;
    // Flow A starts with 150 packets: its own 8 and 100 from the shared budget are held, the
    // rest overflow. Flow B then still gets its own 8 (of 20), none of the spent budget.
    let mut frames: Vec<Vec<u8>> = (0..150).map(|i| frame(a, g, i)).collect();
    frames.extend((0..20).map(|i| frame(b, g, 1000 + i)));
    pcap::write_file(&input, &frames).unwrap();
    let ports = vec![
        common::spec(&format!("net_pcap0,rx_pcap={}", input.display()), 1, 1),
        common::spec(&format!("net_pcap1,tx_pcap={}", out.display()), 1, 1),
    ];
    let eal = Eal::init(&vdev_eal_args("pendshared", 256, "0", &ports)).unwrap();
    let limits = DataplaneLimits {
        pending_shared: SHARED,
        ..DataplaneLimits::default()
    };
    let mut dp = Dataplane::start_with(eal, &ports, ForwardingTable::new(), &[], limits).unwrap();
    let baseline = dp.mbufs_in_use();
    let end = Instant::now() + Duration::from_secs(10);
    while total(&dp).rx_packets < frames.len() as u64 {
        assert!(Instant::now() < end);
        dp.poll_inline(1);
    }
    let held_a = PER_FLOW + SHARED;
    let overflow = (150 - held_a) + (20 - PER_FLOW);
    assert_eq!(
        total(&dp).dropped(DropReason::PendingOverflow),
        overflow as u64
    );
    let route = || Route {
        counter: dataplane::fib::NO_COUNTER,
        iif: 0,
        flags: dataplane::fib::EntryFlags::NONE,
        oifs: vec![Oif {
            port: 1,
            ttl_threshold: 1,
        }]
        .into(),
    };
    // A and B resolved: all they held goes out, in order, and the budget is free again.
    dp.fib().insert(Some(a), g, route());
    dp.fib().insert(Some(b), g, route());
    dp.publish();
    dp.poll_inline(1);
    assert_eq!(total(&dp).tx_packets, (held_a + PER_FLOW) as u64);
    assert_eq!(
        dp.mbufs_in_use(),
        baseline,
        "every held mbuf was sent or freed"
    );
    let (_, _) = dp.stop();
    let got: Vec<u32> = pcap::read_file(&out)
        .unwrap()
        .iter()
        .map(|f| seq_of(f))
        .collect();
    let mut want: Vec<u32> = (0..held_a as u32).collect();
    want.extend(1000..1000 + PER_FLOW as u32);
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}
