//! Entry flags on real DPDK (net_pcap): what a routing protocol can ask of an entry beyond
//! forwarding from its incoming port. Any port accepted (but never sent back out of it), a hit
//! signalled to the control core, a copy of every packet to the control core (also for an entry
//! without outgoing ports); and an entry without flags still drops and signals a packet from
//! the wrong port.

mod common;
use dataplane::dpdk::Eal;
use dataplane::fib::{EntryFlags, ForwardingTable, Oif, Route, NO_COUNTER};
use dataplane::pcap;
use dataplane::router::{vdev_eal_args, Dataplane};
use dataplane::wire::{build_udp_frame, ipv4, EthernetAddress};
use dataplane::worker::{Counters, DropReason, Signal};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const HOST: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 7]);

fn route(iif: u16, flags: EntryFlags, oifs: &[u16]) -> Route {
    Route {
        counter: NO_COUNTER,
        iif,
        flags,
        oifs: oifs
            .iter()
            .map(|&port| Oif {
                port,
                ttl_threshold: 1,
            })
            .collect::<Vec<_>>()
            .into(),
    }
}

fn addr(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn frame(source: &str, group: &str, payload: &[u8]) -> Vec<u8> {
    build_udp_frame(HOST, addr(source), addr(group), 16, payload)
}

/// The (source, group, payload) of a forwarded frame, checking its TTL went down by one.
fn flow_of(f: &[u8]) -> (Ipv4Addr, Ipv4Addr, Vec<u8>) {
    let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
    assert_eq!(ip.ttl(), 15, "TTL decremented once");
    assert!(ip.verify_checksum());
    (
        Ipv4Addr::from(ip.src_u32()),
        Ipv4Addr::from(ip.dst_u32()),
        // The UDP payload (frames are padded to the Ethernet minimum).
        f[14 + 28..14 + 20 + usize::from(u16::from_be_bytes([f[38], f[39]]))].to_vec(),
    )
}

#[test]
fn flagged_entries_accept_any_port_signal_hits_and_copy_to_the_control_core() {
    let dir = std::env::temp_dir().join(format!("mrouter-flags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (in0, in1, out1, out2) = (
        dir.join("in0.pcap"),
        dir.join("in1.pcap"),
        dir.join("out1.pcap"),
        dir.join("out2.pcap"),
    );
    let any = frame("10.0.1.2", "239.1.1.1", b"any-from-0");
    let any_back = frame("10.0.1.2", "239.1.1.1", b"any-from-1");
    let hit: Vec<Vec<u8>> = (0..3)
        .map(|k| frame("10.0.1.3", "239.1.1.2", format!("hit-{k}").as_bytes()))
        .collect();
    let copied: Vec<Vec<u8>> = (0..2)
        .map(|k| frame("10.0.1.4", "239.1.1.3", format!("copy-{k}").as_bytes()))
        .collect();
    let plain_wrong = frame("10.0.1.5", "239.1.1.4", b"wrong-port");
    let mut first = vec![any.clone()];
    first.extend(hit.iter().cloned());
    first.extend(copied.iter().cloned());
    pcap::write_file(&in0, &first).unwrap();
    pcap::write_file(&in1, &[any_back.clone(), plain_wrong]).unwrap();

    let ports = vec![
        common::spec(&format!("net_pcap0,rx_pcap={}", in0.display()), 1, 1),
        common::spec(
            &format!(
                "net_pcap1,rx_pcap={},tx_pcap={}",
                in1.display(),
                out1.display()
            ),
            1,
            1,
        ),
        common::spec(&format!("net_pcap2,tx_pcap={}", out2.display()), 1, 1),
    ];
    let eal = Eal::init(&vdev_eal_args("flags", 256, "0", &ports)).unwrap();
    let mut table = ForwardingTable::new();
    table.insert(
        Some(addr("10.0.1.2")),
        addr("239.1.1.1"),
        route(0, EntryFlags::ACCEPT_ANY_IIF, &[1, 2]),
    );
    table.insert(
        Some(addr("10.0.1.3")),
        addr("239.1.1.2"),
        route(0, EntryFlags::SIGNAL_ON_HIT, &[2]),
    );
    // No outgoing ports: nothing forwarded, every packet still copied.
    table.insert(
        Some(addr("10.0.1.4")),
        addr("239.1.1.3"),
        route(0, EntryFlags::COPY_TO_CONTROL, &[]),
    );
    table.insert(
        Some(addr("10.0.1.5")),
        addr("239.1.1.4"),
        route(0, EntryFlags::NONE, &[2]),
    );
    let mut dp = Dataplane::start(eal, &ports, table, &[]).unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let mut rx = 0;
    while rx < first.len() as u64 + 2 {
        assert!(Instant::now() < end, "only {rx} packets received");
        rx += dp.poll_inline(1);
    }
    let mut signals = Vec::new();
    dp.drain_signals_by_worker(64, |_, s| signals.push(s));
    let mut copies = Vec::new();
    dp.drain_entry_copies(64, |port, m| copies.push((port, m.to_vec())));
    let (workers, _) = dp.stop();
    let mut c = Counters::default();
    for w in &workers {
        c.add(w);
    }

    // The copies are the packets as received, in order, with their arrival port.
    assert_eq!(
        copies,
        copied.iter().map(|f| (0, f.clone())).collect::<Vec<_>>()
    );
    assert_eq!((c.copied_to_control, c.copies_dropped), (2, 0));
    // One hit signal per flow and filter interval; every signal sent was counted.
    let hits: Vec<&Signal> = signals
        .iter()
        .filter(|s| matches!(s, Signal::Hit { .. }))
        .collect();
    assert!(!hits.is_empty());
    assert_eq!(hits.len() as u64, c.hits_signalled);
    for s in &hits {
        assert_eq!(
            **s,
            Signal::Hit {
                source: u32::from(addr("10.0.1.3")),
                group: u32::from(addr("239.1.1.2")),
                port: 0,
            }
        );
    }
    // The unflagged entry still refuses its packet from the wrong port, and says so.
    assert!(signals.contains(&Signal::WrongInterface {
        source: u32::from(addr("10.0.1.5")),
        group: u32::from(addr("239.1.1.4")),
        port: 1,
    }));
    assert_eq!(c.dropped(DropReason::WrongInterface), 1);
    assert_eq!(
        c.dropped(DropReason::NoOutgoing),
        2,
        "the copied entry's packets"
    );

    // Port 1 got the any-port flow from port 0 only (never its own packet back); port 2 got
    // it from both ports, and the hit flow.
    let on1: Vec<_> = pcap::read_file(&out1)
        .unwrap()
        .iter()
        .map(|f| flow_of(f))
        .collect();
    assert_eq!(
        on1,
        vec![(addr("10.0.1.2"), addr("239.1.1.1"), b"any-from-0".to_vec())]
    );
    let mut on2: Vec<Vec<u8>> = pcap::read_file(&out2)
        .unwrap()
        .iter()
        .map(|f| flow_of(f).2)
        .collect();
    on2.sort();
    let mut want: Vec<Vec<u8>> = vec![b"any-from-0".to_vec(), b"any-from-1".to_vec()];
    want.extend((0..3).map(|k| format!("hit-{k}").into_bytes()));
    want.sort();
    assert_eq!(on2, want);
    assert_eq!(c.tx_packets, 6);
    let _ = std::fs::remove_dir_all(&dir);
}
