//! Replication on real DPDK (net_pcap): packet sizes 64, 256, 1024 and 1500 at fan-out 1 to 8,
//! with the copy limit at 1024 bytes: packets up to it are copied whole, 1500-byte ones get a
//! header mbuf chained to the shared payload (the default limit copies those whole too);
//! every output frame must be byte-exact either way.

use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, DataplaneLimits, PortSpec};
use dataplane::wire::{build_udp_frame, ipv4, EthernetAddress};
use dataplane::worker::replicate::COPY_LIMIT;
use dataplane::worker::{Counters, DropReason};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const OUTPUTS: usize = 8;

fn expected(frame: &[u8], mac: [u8; 6]) -> Vec<u8> {
    let mut f = frame.to_vec();
    let g = [f[30], f[31], f[32], f[33]];
    f[..6].copy_from_slice(&[0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]]);
    f[6..12].copy_from_slice(&mac);
    f[14 + 8] -= 1;
    f[24] = 0;
    f[25] = 0;
    let sum = ipv4::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f
}

#[test]
fn every_copy_is_byte_exact_for_every_size_and_fan_out() {
    let dir = std::env::temp_dir().join(format!("mrouter-repl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.pcap");
    let outs: Vec<_> = (1..=OUTPUTS)
        .map(|p| dir.join(format!("out{p}.pcap")))
        .collect();

    // (size, fan-out k, seq): group 239.0.0.k goes to ports 1..=k.
    let mut frames = Vec::new();
    let mut fanout_of = Vec::new();
    // Both replication paths are exercised: whole copies up to the limit, header chains over
    // it (lowered below the default, which copies every standard frame whole).
    let copy_limit: usize = 1024;
    const { assert!(1500 <= COPY_LIMIT) };
    for size in [64usize, 256, copy_limit, 1500] {
        for k in 1..=OUTPUTS as u8 {
            for seq in 0..2u8 {
                let payload: Vec<u8> = (0..size - 42).map(|i| (i as u8) ^ seq ^ k).collect();
                let f = build_udp_frame(
                    EthernetAddress([2, 0, 0, 0, 0, 1]),
                    Ipv4Addr::new(10, 0, 1, 2),
                    Ipv4Addr::new(239, 0, 0, k),
                    64,
                    &payload,
                );
                assert_eq!(f.len(), size);
                frames.push(f);
                fanout_of.push(k as usize);
            }
        }
    }
    pcap::write_file(&input, &frames).unwrap();

    let mut ports = vec![PortSpec {
        device: format!("net_pcap0,rx_pcap={}", input.display()),
        rx_queues: 1,
        tx_queues: 1,
        mtu: None,
        interface_mtu: None,
        vlans: Vec::new(),
    }];
    ports.extend(outs.iter().enumerate().map(|(i, o)| PortSpec {
        device: format!("net_pcap{},tx_pcap={}", i + 1, o.display()),
        rx_queues: 1,
        tx_queues: 1,
        mtu: None,
        interface_mtu: None,
        vlans: Vec::new(),
    }));
    let args = vdev_eal_args("repl", 512, "0", &ports);
    let eal = Eal::init(&args).unwrap();
    let mut table = ForwardingTable::new();
    for k in 1..=OUTPUTS as u16 {
        table.insert(
            None,
            Ipv4Addr::new(239, 0, 0, k as u8),
            Route {
                counter: dataplane::fib::NO_COUNTER,
                iif: 0,
                flags: dataplane::fib::EntryFlags::NONE,
                oifs: (1..=k)
                    .map(|port| Oif {
                        port,
                        ttl_threshold: 1,
                    })
                    .collect(),
            },
        );
    }
    let limits = DataplaneLimits {
        copy_limit: copy_limit as u32,
        ..DataplaneLimits::default()
    };
    let mut dp = Dataplane::start_with(eal, &ports, table, &[], limits).unwrap();
    let baseline = dp.mbufs_in_use();
    let macs: Vec<[u8; 6]> = dp
        .port_info()
        .iter()
        .map(|(_, m)| {
            let v: Vec<u8> = m
                .split(':')
                .map(|h| u8::from_str_radix(h, 16).unwrap())
                .collect();
            v.try_into().unwrap()
        })
        .collect();
    let end = Instant::now() + Duration::from_secs(10);
    let mut rx = 0;
    while rx < frames.len() as u64 {
        assert!(Instant::now() < end);
        rx += dp.poll_inline(1);
    }
    dp.poll_inline(1);
    assert_eq!(
        dp.mbufs_in_use(),
        baseline,
        "every copy and every shared payload was freed after tx"
    );
    let (counters, _) = dp.stop();
    let mut c = Counters::default();
    for w in &counters {
        c.add(w);
    }
    let copies: usize = fanout_of.iter().sum();
    assert_eq!(c.tx_packets, copies as u64);
    assert_eq!(
        c.dropped(DropReason::NoMbuf) + c.dropped(DropReason::TxFull),
        0
    );
    for (p, out) in outs.iter().enumerate() {
        let port = p + 1;
        let want: Vec<Vec<u8>> = frames
            .iter()
            .zip(&fanout_of)
            .filter(|(_, &k)| k >= port)
            .map(|(f, _)| expected(f, macs[port]))
            .collect();
        let got = pcap::read_file(out).unwrap();
        assert_eq!(got.len(), want.len(), "port {port}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(g == w, "port {port} frame {i} ({} bytes) differs", w.len());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
