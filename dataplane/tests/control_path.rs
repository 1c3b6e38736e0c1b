//! The control-packet path on real DPDK (net_pcap): IGMP, PIM and 224.0.0.0/24 packets are
//! handed to the control core over their own ring (never forwarded), and the control core sends
//! frames of its own on a tx queue of its own.

use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, PortSpec};
use dataplane::wire::{build_udp_frame, ipv4, EthernetAddress};
use dataplane::worker::Counters;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const HOST: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 7]);

fn with_protocol(mut f: Vec<u8>, protocol: u8) -> Vec<u8> {
    f[14 + 9] = protocol;
    ipv4::Packet::new_unchecked(&mut f[14..]).fill_checksum();
    f
}

#[test]
fn control_packets_reach_the_control_core_and_it_sends_on_its_own_queue() {
    let dir = std::env::temp_dir().join(format!("mrouter-ctl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (input, out1, ctl1) = (
        dir.join("in.pcap"),
        dir.join("out1.pcap"),
        dir.join("ctl1.pcap"),
    );
    let src = Ipv4Addr::new(10, 0, 1, 2);
    let igmp = with_protocol(
        build_udp_frame(HOST, src, Ipv4Addr::new(239, 1, 1, 1), 1, b"igmp"),
        ipv4::PROTOCOL_IGMP,
    );
    let pim = with_protocol(
        build_udp_frame(HOST, src, Ipv4Addr::new(224, 0, 0, 13), 1, b"pim"),
        ipv4::PROTOCOL_PIM,
    );
    let mdns = build_udp_frame(HOST, src, Ipv4Addr::new(224, 0, 0, 251), 255, b"mdns");
    let data = build_udp_frame(HOST, src, Ipv4Addr::new(239, 1, 1, 1), 16, b"data");
    pcap::write_file(&input, &[igmp.clone(), data, pim.clone(), mdns.clone()]).unwrap();

    let ports = vec![
        PortSpec {
            device: format!("net_pcap0,rx_pcap={}", input.display()),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
            interface_mtu: None,
            vlans: Vec::new(),
        },
        // Two tx files: queue 0 for the worker, queue 1 for the control core.
        PortSpec {
            device: format!(
                "net_pcap1,tx_pcap={},tx_pcap={}",
                out1.display(),
                ctl1.display()
            ),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
            interface_mtu: None,
            vlans: Vec::new(),
        },
    ];
    let args = vdev_eal_args("ctl", 256, "0", &ports);
    let eal = Eal::init(&args).unwrap();
    let mut table = ForwardingTable::new();
    table.insert(
        Some(src),
        Ipv4Addr::new(239, 1, 1, 1),
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
    let mut dp = Dataplane::start(eal, &ports, table, &[]).unwrap();
    assert!(dp.control_queues()[1], "port 1 has a control queue");
    let mac1: Vec<u8> = dp.port_info()[1]
        .1
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();

    let end = Instant::now() + Duration::from_secs(10);
    let mut rx = 0;
    while rx < 4 {
        assert!(Instant::now() < end);
        rx += dp.poll_inline(1);
    }
    let mut punted = Vec::new();
    dp.drain_control(16, |port, m| punted.push((port, m.to_vec())));
    assert_eq!(
        punted,
        vec![(0, igmp.clone()), (0, pim), (0, mdns)],
        "in arrival order, untouched"
    );

    // The control core answers on port 1 with a frame of its own.
    let query = with_protocol(
        build_udp_frame(
            HOST,
            Ipv4Addr::new(10, 0, 2, 1),
            Ipv4Addr::new(224, 0, 0, 1),
            1,
            b"query",
        ),
        ipv4::PROTOCOL_IGMP,
    );
    assert!(dp.send_control(1, &query));
    assert!(!dp.send_control(9, &query), "no such port");
    let (counters, _) = dp.stop();
    let mut c = Counters::default();
    for w in &counters {
        c.add(w);
    }
    assert_eq!(c.punted, 3);
    assert_eq!(c.tx_packets, 1, "only the data packet was forwarded");
    let sent = pcap::read_file(&ctl1).unwrap();
    let mut want = query.clone();
    want[6..12].copy_from_slice(&mac1);
    assert_eq!(sent, vec![want], "sent with the port's source MAC");
    assert_eq!(pcap::read_file(&out1).unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A port with a single tx queue (one tx_pcap file): the control core has no queue of its own
/// there, so its frames go through the worker, over a bounded ring the worker drains once per
/// loop turn. A full ring refuses a frame (counted); the worker never waits.
#[test]
fn on_a_single_queue_port_control_frames_go_out_through_the_worker_bounded_and_counted() {
    use dataplane::port_set::ControlTxMode;
    use dataplane::worker::control_link::TO_WORKER_RING;
    let dir = std::env::temp_dir().join(format!("mrouter-ctl1q-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (input, out1) = (dir.join("in.pcap"), dir.join("out1.pcap"));
    let src = Ipv4Addr::new(10, 0, 1, 2);
    let data = build_udp_frame(HOST, src, Ipv4Addr::new(239, 1, 1, 1), 16, b"data");
    pcap::write_file(&input, &[data]).unwrap();
    let ports = vec![
        PortSpec {
            device: format!("net_pcap0,rx_pcap={}", input.display()),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
            interface_mtu: None,
            vlans: Vec::new(),
        },
        PortSpec {
            device: format!("net_pcap1,tx_pcap={}", out1.display()),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
            interface_mtu: None,
            vlans: Vec::new(),
        },
    ];
    let args = vdev_eal_args("ctl1q", 256, "0", &ports);
    let eal = Eal::init(&args).unwrap();
    let mut table = ForwardingTable::new();
    table.insert(
        Some(src),
        Ipv4Addr::new(239, 1, 1, 1),
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
    let mut dp = Dataplane::start(eal, &ports, table, &[]).unwrap();
    assert!(!dp.control_queues()[1], "one tx queue: the worker's");
    assert_eq!(dp.port_status()[1].control_tx, ControlTxMode::Worker(0));
    let query = with_protocol(
        build_udp_frame(
            HOST,
            Ipv4Addr::new(10, 0, 2, 1),
            Ipv4Addr::new(224, 0, 0, 1),
            1,
            b"query",
        ),
        ipv4::PROTOCOL_IGMP,
    );
    // The worker has not run: the ring fills and refuses the rest.
    let extra = 40;
    let taken = (0..TO_WORKER_RING + extra)
        .filter(|_| dp.send_control(1, &query))
        .count();
    assert_eq!(taken, TO_WORKER_RING);
    let st = &dp.port_status()[1];
    assert_eq!(
        (st.control_frames, st.control_refused),
        (TO_WORKER_RING as u64, extra as u64)
    );
    // Each loop turn sends a bounded batch; the data packet is forwarded alongside.
    let end = Instant::now() + Duration::from_secs(10);
    while dp.control_link_totals().0 < TO_WORKER_RING as u64 {
        assert!(Instant::now() < end, "{:?}", dp.control_link_totals());
        dp.poll_inline(1);
    }
    assert_eq!(dp.control_link_totals(), (TO_WORKER_RING as u64, 0, 0));
    let (counters, _) = dp.stop();
    assert_eq!(
        counters[0].tx_packets, 1,
        "control frames are not forwarding copies"
    );
    let sent = pcap::read_file(&out1).unwrap();
    assert_eq!(sent.len(), TO_WORKER_RING + 1);
    assert_eq!(
        sent.iter()
            .filter(|f| f[14 + 9] == ipv4::PROTOCOL_IGMP)
            .count(),
        TO_WORKER_RING
    );
    let _ = std::fs::remove_dir_all(&dir);
}
