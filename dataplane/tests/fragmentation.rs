//! Copies larger than their outgoing interface's MTU, on real DPDK virtual devices: crafted
//! frames go in through a `net_pcap` rx file, the real worker forwards them, and every frame in
//! the `net_pcap` tx files is checked byte for byte against fragments computed here, without
//! the router's code (RFC 791: payload runs of a multiple of 8 bytes, offsets, MF, TTL - 1 and
//! a recomputed header checksum in each). Don't Fragment set: counted, not sent.
//!
//! EAL initialises once per process: run with `cargo nextest` (one process per test).

use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, DataplaneLimits, PortSpec, StartError};
use dataplane::wire::{build_udp_frame, ipv4, EthernetAddress};
use dataplane::worker::{Counters, DropReason};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SENDER: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x01, 0x02]);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mrouter-frag-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A UDP datagram of `len` payload bytes (a pattern, so misplaced bytes show).
fn datagram(group: &str, len: usize, seed: u8) -> Vec<u8> {
    let payload: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect();
    build_udp_frame(SENDER, ip("10.0.1.2"), ip(group), 16, &payload)
}

/// Sets flags and offset of `frame`'s IPv4 header (checksum recomputed).
fn with_flags(mut frame: Vec<u8>, df: bool, mf: bool, offset: u16) -> Vec<u8> {
    let mut p = ipv4::Packet::new_unchecked(&mut frame[14..]);
    p.set_dont_frag(df);
    p.set_more_frags(mf);
    p.set_frag_offset(offset);
    p.fill_checksum();
    frame
}

/// What leaves a port with source MAC `mac` and MTU `mtu` for `frame` (options-free), computed
/// here: group MAC, port MAC, TTL - 1, and one frame per run of `(mtu - 20) & !7` payload
/// bytes with its total length, MF (the original's on the last), offset (the original's plus
/// the run's) and a fully recomputed checksum.
fn fragments(frame: &[u8], mac: [u8; 6], mtu: usize) -> Vec<Vec<u8>> {
    let g = &frame[30..34];
    let mut head = frame[..34].to_vec();
    head[..6].copy_from_slice(&[0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]]);
    head[6..12].copy_from_slice(&mac);
    head[14 + 8] -= 1;
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    let payload = &frame[34..14 + total];
    let flags = u16::from_be_bytes([frame[20], frame[21]]);
    let (orig_mf, orig_off) = (flags & 0x2000 != 0, usize::from(flags & 0x1fff) * 8);
    let step = (mtu - 20) & !7;
    if total <= mtu {
        let mut f = frame[..14 + total].to_vec();
        f[..34].copy_from_slice(&head);
        f[24..26].fill(0);
        let sum = ipv4::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        return vec![f];
    }
    payload
        .chunks(step)
        .enumerate()
        .map(|(k, run)| {
            let mut f = head.clone();
            f[16..18].copy_from_slice(&((20 + run.len()) as u16).to_be_bytes());
            let mf = orig_mf || (k + 1) * step < payload.len();
            let word = (u16::from(mf) << 13) | ((orig_off + k * step) / 8) as u16;
            f[20..22].copy_from_slice(&word.to_be_bytes());
            f[24..26].fill(0);
            let sum = ipv4::checksum(&f[14..34]);
            f[24..26].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(run);
            f
        })
        .collect()
}

fn parse_mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn route(oifs: &[u16]) -> Route {
    Route {
        counter: dataplane::fib::NO_COUNTER,
        iif: 0,
        flags: dataplane::fib::EntryFlags::NONE,
        oifs: oifs
            .iter()
            .map(|&port| Oif {
                port,
                ttl_threshold: 1,
            })
            .collect(),
    }
}

struct Run {
    macs: Vec<[u8; 6]>,
    counters: Counters,
    fragments: Vec<u64>,
    mtus: Vec<u16>,
}

/// One rx port reading `input`, a tx port per entry of `mtus` (its interface MTU; `None`:
/// the port's 1,500), mbufs of `data_room` bytes; polls until every frame was received.
fn run(dir: &std::path::Path, input: &[Vec<u8>], mtus: &[Option<u16>], data_room: u16) -> Run {
    let in0 = dir.join("in0.pcap");
    pcap::write_file(&in0, input).unwrap();
    let mut ports = vec![PortSpec {
        device: format!("net_pcap0,rx_pcap={}", in0.display()),
        rx_queues: 1,
        tx_queues: 1,
        mtu: None,
        interface_mtu: None,
        vlans: Vec::new(),
    }];
    for (i, mtu) in mtus.iter().enumerate() {
        let out = dir.join(format!("out{}.pcap", i + 1));
        ports.push(PortSpec {
            device: format!("net_pcap{},tx_pcap={}", i + 1, out.display()),
            rx_queues: 1,
            tx_queues: 1,
            mtu: None,
            interface_mtu: *mtu,
            vlans: Vec::new(),
        });
    }
    // 512 MB: a pool of jumbo mbufs takes about 160.
    let eal = Eal::init(&vdev_eal_args("frag-test", 512, "0", &ports)).expect("EAL init");
    let mut table = ForwardingTable::new();
    let all: Vec<u16> = (1..=mtus.len() as u16).collect();
    table.insert(None, ip("239.1.1.1"), route(&all));
    table.insert(None, ip("239.2.2.2"), route(&all[all.len() - 1..]));
    let limits = DataplaneLimits {
        mbuf_data_room: data_room,
        // The worker classifies four frames at a time here (eight where the CPU has AVX2
        // elsewhere), so a real data plane runs the four-lane path too.
        avx2: false,
        ..DataplaneLimits::default()
    };
    let mut dp = Dataplane::start_with(eal, &ports, table, &[], limits).expect("data plane");
    let macs = dp.port_info().iter().map(|(_, m)| parse_mac(m)).collect();
    let mtus = dp.port_mtus().to_vec();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut received = 0;
    while received < input.len() as u64 && Instant::now() < deadline {
        received += dp.poll_inline(1);
    }
    // Flushes reach the pcap files within the poll that sent them; one more turn for luck.
    dp.poll_inline(1);
    let fragments = dp.port_fragments();
    let (counters, _) = dp.stop();
    let mut total = Counters::default();
    for c in &counters {
        total.add(c);
    }
    Run {
        macs,
        counters: total,
        fragments,
        mtus,
    }
}

fn output(dir: &std::path::Path, port: usize) -> Vec<Vec<u8>> {
    pcap::read_file(dir.join(format!("out{port}.pcap"))).unwrap()
}

/// Port 1 has the port's MTU (1,500), port 2 an interface MTU of 576. Packets that fit go out
/// whole; larger ones (DF clear) are fragmented per port to that port's MTU, byte for byte,
/// on the multi-port path (239.1.1.1) and the single-port one (239.2.2.2); DF set: counted
/// `mtu_exceeded` per copy, nothing sent.
#[test]
fn copies_over_the_mtu_are_fragmented_or_dropped_when_df_is_set() {
    let dir = scratch("mixed");
    let over = datagram("239.1.1.1", 1473, 1); // 1,501 bytes of IPv4
    let fits = datagram("239.1.1.1", 1472, 2); // 1,500: port 1 whole, port 2 fragmented
    let df = with_flags(datagram("239.1.1.1", 1473, 3), true, false, 0);
    let small = datagram("239.1.1.1", 100, 4);
    let alone = datagram("239.2.2.2", 1000, 5); // port 2 only, over its 576
    let input = vec![over.clone(), fits.clone(), df, small.clone(), alone.clone()];
    let r = run(&dir, &input, &[None, Some(576)], 2048);
    assert_eq!(r.mtus[1..], [1500, 576]);
    let (m1, m2) = (r.macs[1], r.macs[2]);
    let expect1: Vec<Vec<u8>> = [&over, &fits, &small]
        .iter()
        .flat_map(|f| fragments(f, m1, 1500))
        .collect();
    let expect2: Vec<Vec<u8>> = [&over, &fits, &small, &alone]
        .iter()
        .flat_map(|f| fragments(f, m2, 576))
        .collect();
    assert_eq!(
        output(&dir, 1).len(),
        2 + 1 + 1,
        "1,501 in two, 1,500 and 128 whole"
    );
    assert_eq!(output(&dir, 1), expect1, "port 1 (MTU 1,500)");
    assert_eq!(output(&dir, 2), expect2, "port 2 (MTU 576)");
    for f in output(&dir, 1).iter().chain(&output(&dir, 2)) {
        let p = ipv4::Packet::new_checked(&f[14..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.ttl(), 15);
    }
    let c = r.counters;
    assert_eq!(c.rx_packets, 5);
    assert_eq!(
        c.dropped(DropReason::MtuExceeded),
        2,
        "both copies of the DF one"
    );
    assert_eq!(c.dropped(DropReason::FragmentNoMbuf), 0);
    assert_eq!(c.dropped(DropReason::FragmentRefused), 0);
    assert_eq!(c.tx_packets, (expect1.len() + expect2.len()) as u64);
    assert_eq!(r.fragments[1], 2, "port 1: the 1,501-byte packet's two");
    assert_eq!(
        r.fragments[2],
        (expect2.len() - 1) as u64,
        "port 2: all but the 128-byte packet"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A packet that is itself a fragment (MF set, or a non-zero offset) is cut further with
/// offsets counted from its own and MF kept on its last piece where it was set.
#[test]
fn fragments_of_a_fragment_keep_offsets_and_more_fragments() {
    let dir = scratch("refrag");
    let middle = with_flags(datagram("239.1.1.1", 1992, 6), false, true, 2960);
    let last = with_flags(datagram("239.1.1.1", 1992, 7), false, false, 4960);
    let r = run(&dir, &[middle.clone(), last.clone()], &[Some(1000)], 2048);
    let expect: Vec<Vec<u8>> = [&middle, &last]
        .iter()
        .flat_map(|f| fragments(f, r.macs[1], 1000))
        .collect();
    let out = output(&dir, 1);
    assert_eq!(out, expect);
    let mf: Vec<bool> = out
        .iter()
        .map(|f| ipv4::Packet::new_unchecked(&f[14..]).more_frags())
        .collect();
    assert_eq!(mf, [true, true, true, true, true, false]);
    assert_eq!(r.counters.tx_packets, 6);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Jumbo frames: with mbufs of 9,216 bytes an 8,028-byte datagram arrives in one mbuf and
/// leaves a 1,500 port as six fragments, byte for byte.
#[test]
fn a_jumbo_packet_is_fragmented_to_the_port_mtu() {
    let dir = scratch("jumbo");
    let big = datagram("239.2.2.2", 8000, 8);
    let r = run(&dir, std::slice::from_ref(&big), &[None], 9216);
    let expect = fragments(&big, r.macs[1], 1500);
    assert_eq!(expect.len(), 6);
    assert_eq!(output(&dir, 1), expect);
    assert_eq!(r.fragments[1], 6);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With the default 2,048-byte mbufs the pcap driver receives it as a chain, which the
/// classifier does not parse: counted `bad_header`, nothing sent (the README's known limit:
/// set `dataplane.mbuf_data_room` for larger frames).
#[test]
fn a_frame_larger_than_the_mbufs_is_counted_not_sent() {
    let dir = scratch("chain");
    let big = datagram("239.2.2.2", 8000, 8);
    let r = run(&dir, std::slice::from_ref(&big), &[None], 2048);
    assert_eq!(output(&dir, 1), Vec::<Vec<u8>>::new());
    assert_eq!(r.counters.rx_packets, 1);
    assert_eq!(r.counters.dropped(DropReason::BadHeader), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An MTU whose frames do not fit the mbufs is refused before the device is touched.
#[test]
fn a_port_mtu_the_mbufs_cannot_take_is_a_start_error() {
    let dir = scratch("badmtu");
    let ports = vec![PortSpec {
        device: format!("net_pcap0,tx_pcap={}", dir.join("o.pcap").display()),
        rx_queues: 1,
        tx_queues: 1,
        mtu: Some(9000),
        interface_mtu: None,
        vlans: Vec::new(),
    }];
    let eal = Eal::init(&vdev_eal_args("frag-test", 256, "0", &ports)).expect("EAL init");
    let Err(e) = Dataplane::start(eal, &ports, ForwardingTable::new(), &[]) else {
        panic!("started with MTU 9000 on mbufs of 2048");
    };
    assert!(
        matches!(
            e,
            StartError::MbufTooSmall {
                port: 0,
                mtu: 9000,
                data_room: 2048
            }
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A device that refuses the MTU (net_pcap has no MTU setting) stops the start with an error
/// that names the port and the MTU.
#[test]
fn a_port_mtu_the_device_refuses_is_a_start_error() {
    let dir = scratch("refused");
    let ports = vec![PortSpec {
        device: format!("net_pcap0,tx_pcap={}", dir.join("o.pcap").display()),
        rx_queues: 1,
        tx_queues: 1,
        mtu: Some(9000),
        interface_mtu: None,
        vlans: Vec::new(),
    }];
    let eal = Eal::init(&vdev_eal_args("frag-test", 512, "0", &ports)).expect("EAL init");
    let limits = DataplaneLimits {
        mbuf_data_room: 9216,
        ..DataplaneLimits::default()
    };
    let Err(e) = Dataplane::start_with(eal, &ports, ForwardingTable::new(), &[], limits) else {
        panic!("net_pcap took MTU 9000");
    };
    assert!(
        matches!(
            e,
            StartError::PortMtu {
                port: 0,
                mtu: 9000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("MTU 9000"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
