//! The pending queue on real DPDK (net_pcap): the first packets of a flow that misses are held,
//! a single miss is signalled, and once the control side installs the entry the held packets
//! go out in order; packets beyond the bound are counted, flows never resolved are dropped
//! after the hold time, and every mbuf returns to the pool.

use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, PortSpec};
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
        PortSpec {
            device: format!("net_pcap0,rx_pcap={}", input.display()),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
        },
        PortSpec {
            device: format!("net_pcap1,tx_pcap={}", out.display()),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
        },
    ];
    let args = vdev_eal_args("pending", 256, "0", &ports);
    let eal = Eal::init(&args).unwrap();
    let mut dp = Dataplane::start(eal, &ports, ForwardingTable::new(), &[]).unwrap();
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
