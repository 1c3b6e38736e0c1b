//! Data-plane tests on real DPDK virtual devices: crafted frames go in through `net_pcap` rx
//! files, the real worker forwards them, and every frame in the `net_pcap` tx files is checked
//! byte for byte against what a router must send.
//!
//! EAL initialises once per process: run with `cargo nextest` (one process per test).

use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, PortSpec};
use dataplane::wire::{build_udp_frame, ipv4, EthernetAddress};
use dataplane::worker::{Counters, DropReason};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SENDER: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x01, 0x02]);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mrouter-dp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn udp(src: &str, group: &str, ttl: u8, tag: u8) -> Vec<u8> {
    build_udp_frame(SENDER, ip(src), ip(group), ttl, &[tag; 18])
}

/// What the router must make of `frame` on a port with source MAC `mac`, computed without the
/// router's code: group MAC, port MAC, TTL - 1 and a fully recomputed checksum.
fn expected(frame: &[u8], mac: [u8; 6]) -> Vec<u8> {
    let mut f = frame.to_vec();
    let group = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
    let g = group.octets();
    f[..6].copy_from_slice(&[0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]]);
    f[6..12].copy_from_slice(&mac);
    f[14 + 8] -= 1;
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    let sum = ipv4::checksum(&f[14..34]);
    f[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
    f
}

fn parse_mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

/// One single-queue port per device string.
fn pcap_ports(devices: Vec<String>) -> Vec<PortSpec> {
    devices
        .into_iter()
        .map(|device| PortSpec {
            device,
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
            interface_mtu: None,
            vlans: Vec::new(),
        })
        .collect()
}

fn route(iif: u16, oifs: &[(u16, u8)]) -> Route {
    Route {
        counter: dataplane::fib::NO_COUNTER,
        iif,
        flags: dataplane::fib::EntryFlags::NONE,
        oifs: oifs
            .iter()
            .map(|&(port, ttl_threshold)| Oif {
                port,
                ttl_threshold,
            })
            .collect(),
    }
}

fn eal(extra: &[String], lcores: &str) -> Eal {
    let mut args = vdev_eal_args("dp-test", 256, lcores, &[]);
    args.extend_from_slice(extra);
    Eal::init(&args).expect("EAL init")
}

fn sum(counters: &[Counters]) -> Counters {
    let mut total = Counters::default();
    for c in counters {
        total.add(c);
    }
    total
}

/// Starts the data plane on the main lcore, polls until `expect` frames were received (10 s at
/// most), stops it; the ports' MACs and the summed counters.
fn run_inline(
    eal: Eal,
    ports: &[PortSpec],
    table: ForwardingTable,
    expect: u64,
) -> (Vec<[u8; 6]>, Counters) {
    let mut dp = Dataplane::start(eal, ports, table, &[]).expect("data plane starts");
    let macs: Vec<[u8; 6]> = dp.port_info().iter().map(|(_, m)| parse_mac(m)).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut received = 0;
    while received < expect && Instant::now() < deadline {
        received += dp.poll_inline(1);
    }
    let (counters, _ports) = dp.stop();
    (macs, sum(&counters))
}

#[test]
fn forwards_replicates_and_drops_by_reason_byte_for_byte() {
    let dir = scratch("fwd");
    let in0 = dir.join("in0.pcap");
    let in1 = dir.join("in1.pcap");
    let out: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("out{i}.pcap"))).collect();

    let star_g = udp("10.0.1.2", "239.1.1.1", 16, 1); // (*,G) -> ports 1 and 2
    let sg = udp("10.0.1.2", "239.2.2.2", 16, 2); // (S,G) -> port 1 only
    let other_source = udp("10.0.1.9", "239.2.2.2", 16, 3); // no (*,G) for 239.2.2.2
    let ttl1 = udp("10.0.1.2", "239.1.1.1", 1, 4);
    let ttl0 = udp("10.0.1.2", "239.1.1.1", 0, 5);
    let threshold = udp("10.0.1.2", "239.3.3.3", 16, 6); // port 1 (thr 1) yes, port 2 (thr 32) no
    let unicast = udp("10.0.1.2", "10.0.2.2", 16, 7);
    let mut bad_sum = udp("10.0.1.2", "239.1.1.1", 16, 8);
    bad_sum[14 + 10] ^= 0xff;
    let truncated = star_g[..30].to_vec();
    let link_local = udp("10.0.1.2", "224.0.0.251", 1, 9);
    let mut arp = udp("10.0.1.2", "239.1.1.1", 16, 10);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let ttl2 = udp("10.0.1.2", "239.1.1.1", 2, 11); // forwarded with TTL 1
    let all_below = udp("10.0.1.2", "239.3.3.3", 1 + 1, 12); // TTL 2: passes thr 1 only
    let below_every = udp("10.0.1.2", "239.4.4.4", 16, 13); // only oif has thr 200
    let wrong_if = udp("10.0.2.7", "239.1.1.1", 16, 14); // arrives on port 1

    let input0 = vec![
        star_g.clone(),
        sg.clone(),
        other_source,
        ttl1,
        ttl0,
        threshold.clone(),
        unicast,
        bad_sum,
        truncated,
        link_local,
        arp,
        ttl2.clone(),
        all_below.clone(),
        below_every,
    ];
    pcap::write_file(&in0, &input0).unwrap();
    pcap::write_file(&in1, &[wrong_if]).unwrap();

    let ports = pcap_ports(vec![
        format!(
            "net_pcap0,rx_pcap={},tx_pcap={}",
            in0.display(),
            out[0].display()
        ),
        format!(
            "net_pcap1,rx_pcap={},tx_pcap={}",
            in1.display(),
            out[1].display()
        ),
        format!("net_pcap2,tx_pcap={}", out[2].display()),
    ]);
    let eal_args: Vec<String> = ports.iter().flat_map(|p| p.eal_args()).collect();
    let eal = eal(&eal_args, "0");

    let mut table = ForwardingTable::new();
    table.insert(None, ip("239.1.1.1"), route(0, &[(1, 1), (2, 1)]));
    table.insert(Some(ip("10.0.1.2")), ip("239.2.2.2"), route(0, &[(1, 1)]));
    table.insert(None, ip("239.3.3.3"), route(0, &[(1, 1), (2, 32)]));
    table.insert(None, ip("239.4.4.4"), route(0, &[(2, 200)]));

    let (macs, c) = run_inline(eal, &ports, table, 15);

    assert_eq!(c.rx_packets, 15, "every input frame was received");
    let expect1 = vec![
        expected(&star_g, macs[1]),
        expected(&sg, macs[1]),
        expected(&threshold, macs[1]),
        expected(&ttl2, macs[1]),
        expected(&all_below, macs[1]),
    ];
    let expect2 = vec![expected(&star_g, macs[2]), expected(&ttl2, macs[2])];
    assert_eq!(pcap::read_file(&out[1]).unwrap(), expect1, "port 1 output");
    assert_eq!(pcap::read_file(&out[2]).unwrap(), expect2, "port 2 output");
    assert_eq!(
        pcap::read_file(&out[0]).unwrap(),
        Vec::<Vec<u8>>::new(),
        "nothing back out the incoming port"
    );
    // The forwarded TTL-2 packet leaves with TTL 1.
    assert_eq!(pcap::read_file(&out[2]).unwrap()[1][14 + 8], 1);

    assert_eq!(c.tx_packets, 7);
    assert_eq!(c.dropped(DropReason::NoRoute), 1);
    assert_eq!(c.dropped(DropReason::TtlExpired), 2);
    assert_eq!(c.dropped(DropReason::NotMulticast), 1);
    assert_eq!(c.dropped(DropReason::BadHeader), 2);
    assert_eq!(
        c.punted, 1,
        "the link-local packet went to the control core"
    );
    assert_eq!(c.dropped(DropReason::LocalControl), 0);
    assert_eq!(c.dropped(DropReason::NotIpv4), 1);
    assert_eq!(c.dropped(DropReason::NoOutgoing), 1);
    assert_eq!(c.dropped(DropReason::WrongInterface), 1);
    assert_eq!(c.dropped(DropReason::TxFull), 0);
    assert_eq!(c.dropped(DropReason::NoMbuf), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn worker_on_its_own_lcore_forwards_a_stream_without_loss_or_reorder() {
    let dir = scratch("lcore");
    let in0 = dir.join("in0.pcap");
    let out1 = dir.join("out1.pcap");
    let out2 = dir.join("out2.pcap");
    let frames: Vec<Vec<u8>> = (0..2000u32)
        .map(|i| {
            let payload = i.to_be_bytes();
            build_udp_frame(SENDER, ip("10.0.1.2"), ip("239.5.5.5"), 64, &payload)
        })
        .collect();
    pcap::write_file(&in0, &frames).unwrap();
    let ports = pcap_ports(vec![
        format!("net_pcap0,rx_pcap={}", in0.display()),
        format!("net_pcap1,tx_pcap={}", out1.display()),
        format!("net_pcap2,tx_pcap={}", out2.display()),
    ]);
    let eal_args: Vec<String> = ports.iter().flat_map(|p| p.eal_args()).collect();
    let eal = eal(&eal_args, "0-1");
    let mut table = ForwardingTable::new();
    table.insert(
        Some(ip("10.0.1.2")),
        ip("239.5.5.5"),
        route(0, &[(1, 1), (2, 1)]),
    );
    let dp = Dataplane::start(eal, &ports, table, &[1]).expect("data plane starts");
    assert_eq!(dp.worker_lcores(), vec![Some(1)]);
    let macs: Vec<[u8; 6]> = dp.port_info().iter().map(|(_, m)| parse_mac(m)).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sum(&dp.worker_counters()).tx_packets < 4000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (counters, ports_after) = dp.stop();
    let c = sum(&counters);
    assert_eq!(c.rx_packets, 2000);
    assert_eq!(c.tx_packets, 4000);
    assert_eq!(ports_after[1].opackets, 2000);
    assert_eq!(ports_after[2].opackets, 2000);
    for (path, mac) in [(&out1, macs[1]), (&out2, macs[2])] {
        let got = pcap::read_file(path).unwrap();
        let want: Vec<Vec<u8>> = frames.iter().map(|f| expected(f, mac)).collect();
        assert_eq!(got.len(), want.len());
        assert!(
            got == want,
            "frames differ or are out of order on {}",
            path.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn packets_from_the_routers_own_address_are_dropped_never_held_nor_signalled() {
    let dir = scratch("own");
    let in0 = dir.join("in0.pcap");
    let out1 = dir.join("out1.pcap");
    let own = ip("10.0.1.1");
    let mut frames: Vec<Vec<u8>> = (0..3u8)
        .map(|i| build_udp_frame(SENDER, own, ip("239.9.9.9"), 64, &[i]))
        .collect();
    frames.push(build_udp_frame(
        SENDER,
        ip("10.0.1.2"),
        ip("239.9.9.9"),
        64,
        &[9],
    ));
    pcap::write_file(&in0, &frames).unwrap();
    let ports = pcap_ports(vec![
        format!("net_pcap0,rx_pcap={}", in0.display()),
        format!("net_pcap1,tx_pcap={}", out1.display()),
    ]);
    let eal_args: Vec<String> = ports.iter().flat_map(|p| p.eal_args()).collect();
    let eal = eal(&eal_args, "0");
    let mut table = ForwardingTable::new();
    table.set_own_sources([own, ip("10.0.2.1")]);
    let mut dp = Dataplane::start(eal, &ports, table, &[]).expect("data plane starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut received = 0;
    while received < 4 && Instant::now() < deadline {
        received += dp.poll_inline(1);
    }
    let mut signals = Vec::new();
    dp.drain_signals(16, |s| signals.push(s));
    assert_eq!(
        signals.len(),
        1,
        "only the other source's miss is signalled: {signals:?}"
    );
    let (counters, _) = dp.stop();
    let c = sum(&counters);
    assert_eq!(c.rx_packets, 4);
    assert_eq!(c.dropped(DropReason::OwnSource), 3);
    assert_eq!(c.tx_packets, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
