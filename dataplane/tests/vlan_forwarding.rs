//! 802.1Q VLAN interfaces on real DPDK virtual devices: crafted tagged frames go in through a
//! `net_pcap` rx file, the real worker forwards them, and every frame in the `net_pcap` tx
//! files is checked byte for byte against copies computed here without the router's code
//! (tag removed, group MAC, the port's MAC, TTL - 1 with a recomputed checksum, the outgoing
//! interface's tag put in; RFC 791 fragments, each tagged, where the interface's MTU is
//! smaller).
//!
//! Ports: 0 (rx) has VLAN 10; 1 (tx) has VLAN 20 (MTU 576) and VLAN 30; 2 (tx) is untagged.
//! Slots: 0, 1, 2 the ports, 3 = VLAN 10, 4 = VLAN 20, 5 = VLAN 30.
//!
//! EAL initialises once per process: run with `cargo nextest` (one process per test).

use dataplane::dpdk::Eal;
use dataplane::fib::{ForwardingTable, Oif, Route};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane, DataplaneLimits, PortSpec};
use dataplane::wire::{build_udp_frame, ipv4, EthernetAddress};
use dataplane::worker::vlan::VlanSpec;
use dataplane::worker::{Counters, DropReason};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const SENDER: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x01, 0x02]);

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A UDP datagram of `len` payload bytes (a pattern, so misplaced bytes show).
fn datagram(group: &str, len: usize, seed: u8) -> Vec<u8> {
    let payload: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect();
    build_udp_frame(SENDER, ip("10.0.10.2"), ip(group), 16, &payload)
}

/// `frame` with a tag (TPID 0x8100 and `tci`) behind its MACs.
fn tagged(frame: &[u8], tci: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

/// What leaves a port with MAC `mac` and IP MTU `mtu` for the untagged `frame`, with the
/// VLAN tag `vid` if any: whole, or RFC 791 fragments (runs of `(mtu - 20) & !7` bytes).
fn expected(frame: &[u8], mac: [u8; 6], mtu: usize, vid: Option<u16>) -> Vec<Vec<u8>> {
    let g = &frame[30..34];
    let mut head = frame[..34].to_vec();
    head[..6].copy_from_slice(&[0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]]);
    head[6..12].copy_from_slice(&mac);
    head[14 + 8] -= 1;
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    let payload = &frame[34..14 + total];
    let step = (mtu - 20) & !7;
    let runs: Vec<&[u8]> = if total <= mtu {
        vec![payload]
    } else {
        payload.chunks(step).collect()
    };
    let n = runs.len();
    runs.iter()
        .enumerate()
        .map(|(k, run)| {
            let mut f = head.clone();
            f[16..18].copy_from_slice(&((20 + run.len()) as u16).to_be_bytes());
            let mf = n > 1 && k + 1 < n;
            let word = (u16::from(mf) << 13) | ((k * step) / 8) as u16;
            f[20..22].copy_from_slice(&word.to_be_bytes());
            f[24..26].fill(0);
            let sum = ipv4::checksum(&f[14..34]);
            f[24..26].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(run);
            match vid {
                Some(v) => tagged(&f, v),
                None => f,
            }
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

/// A route with the flag the control core sets when an outgoing interface is a VLAN's.
fn route(iif: u16, oifs: &[u16]) -> Route {
    Route {
        counter: 0,
        iif,
        flags: dataplane::fib::EntryFlags::TAGGED_OIFS,
        oifs: oifs
            .iter()
            .map(|&port| Oif {
                port,
                ttl_threshold: 1,
            })
            .collect(),
    }
}

/// Tagged in, tagged and untagged out, byte for byte; priority tags, wrong VLANs, unknown
/// VLANs and QinQ as the module doc of `worker::vlan` says. `copy_limit` 256 sends the
/// 1,000-byte datagram's copies down the shared-payload path where the port allows it.
#[test]
fn tagged_frames_are_routed_between_vlans_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("mrouter-vlan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let small = datagram("239.1.1.1", 100, 1);
    let big = datagram("239.1.1.1", 1000, 2);
    let prio = datagram("239.2.2.2", 60, 3);
    let alone = datagram("239.3.3.3", 1000, 4);
    let mut qinq = tagged(&tagged(&small, 10), 10);
    qinq[12..14].copy_from_slice(&[0x88, 0xa8]);
    let input = vec![
        tagged(&small, 0xa00a), // VLAN 10, priority 5
        tagged(&big, 10),
        tagged(&prio, 0x6000), // priority-tagged: the port's untagged interface
        tagged(&alone, 10),    // one outgoing interface, VLAN 20: fragmented, tagged
        tagged(&small, 99),    // no interface has VLAN 99
        tagged(&small, 11),    // nor VLAN 11 on this port
        qinq,                  // 802.1ad: not supported
        small.clone(),         // untagged: the wrong interface for 239.1.1.1
    ];
    let in0 = dir.join("in0.pcap");
    pcap::write_file(&in0, &input).unwrap();
    let spec = |device: String, vlans: Vec<VlanSpec>| PortSpec {
        device,
        rx_queues: 1,
        tx_queues: 1,
        mtu: None,
        interface_mtu: None,
        vlans,
    };
    let ports = vec![
        spec(
            format!("net_pcap0,rx_pcap={}", in0.display()),
            vec![VlanSpec { vid: 10, mtu: None }],
        ),
        spec(
            format!("net_pcap1,tx_pcap={}", dir.join("out1.pcap").display()),
            vec![
                VlanSpec {
                    vid: 20,
                    mtu: Some(576),
                },
                VlanSpec { vid: 30, mtu: None },
            ],
        ),
        spec(
            format!("net_pcap2,tx_pcap={}", dir.join("out2.pcap").display()),
            vec![],
        ),
    ];
    let eal = Eal::init(&vdev_eal_args("vlan-test", 512, "0", &ports)).expect("EAL init");
    let mut table = ForwardingTable::new();
    table.insert(None, ip("239.1.1.1"), route(3, &[4, 5, 2]));
    table.insert(None, ip("239.2.2.2"), route(0, &[5]));
    table.insert(None, ip("239.3.3.3"), route(3, &[4]));
    let limits = DataplaneLimits {
        copy_limit: 256,
        ..DataplaneLimits::default()
    };
    let mut dp = Dataplane::start_with(eal, &ports, table, &[], limits).expect("data plane");
    let macs: Vec<[u8; 6]> = dp.port_info().iter().map(|(_, m)| parse_mac(m)).collect();
    assert_eq!(dp.port_mtus(), [1500, 1500, 1500, 1500, 576, 1500]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut received = 0;
    while received < input.len() as u64 && Instant::now() < deadline {
        received += dp.poll_inline(1);
    }
    dp.poll_inline(1);
    let fragments = dp.port_fragments();
    let unknown = dp.port_unknown_vlan();
    let per_slot: Vec<u64> = (0..6).map(|s| dp.entry_out(0, s)).collect();
    let (counters, _) = dp.stop();
    let mut c = Counters::default();
    for w in &counters {
        c.add(w);
    }

    let (m1, m2) = (macs[1], macs[2]);
    let mut want1 = Vec::new();
    let mut want2 = Vec::new();
    for f in [&small, &big] {
        want1.extend(expected(f, m1, 576, Some(20)));
        want1.extend(expected(f, m1, 1500, Some(30)));
        want2.extend(expected(f, m2, 1500, None));
    }
    want1.extend(expected(&prio, m1, 1500, Some(30)));
    want1.extend(expected(&alone, m1, 576, Some(20)));
    let out1 = pcap::read_file(dir.join("out1.pcap")).unwrap();
    let out2 = pcap::read_file(dir.join("out2.pcap")).unwrap();
    assert_eq!(out1.len(), want1.len(), "frames on port 1");
    for (k, (got, want)) in out1.iter().zip(&want1).enumerate() {
        assert_eq!(got, want, "port 1 frame {k}");
    }
    assert_eq!(out2, want2, "port 2");
    // 2 + 2 fragments of the two 1,000-byte datagrams on VLAN 20, counted for its slot.
    assert_eq!(fragments, [0, 0, 0, 0, 4, 0]);
    assert_eq!(unknown, [3, 0, 0], "VLAN 99, VLAN 11 and QinQ on port 0");
    assert_eq!(c.dropped(DropReason::UnknownVlan), 3);
    assert_eq!(c.dropped(DropReason::WrongInterface), 1);
    // Every entry shares counter 0: copies per slot (a fragmented copy counts once).
    assert_eq!(per_slot, [0, 0, 2, 0, 3, 3]);
    let _ = std::fs::remove_dir_all(&dir);
}
