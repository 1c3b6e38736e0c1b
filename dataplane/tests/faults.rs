//! Fault injection on real DPDK virtual devices: what each fault does to forwarding and which
//! counter says so. The mbuf pool runs dry (on rx and on replication), a tx queue fills up, the
//! miss ring to the control core fills up, and the control core stops running for a second.
//! After each fault, forwarding resumes and every mbuf is back in its pool.
//!
//! Traffic comes in through a `net_ring` loopback port (the test transmits on a queue of its
//! own, which comes back on an rx queue the worker polls) or a `net_pcap` file; it leaves
//! through `net_null` sinks (which count and free), an undrained `net_ring` (a tx queue nobody
//! empties) or a `net_pcap` file.

use dataplane::dpdk::PortStats;
use dataplane::fib::ForwardingTable;
use dataplane::pcap;
use dataplane::router::Dataplane;
use dataplane::worker::signal::{RESIGNAL_MS, RING_SIZE};
use dataplane::worker::{Counters, DropReason, Signal};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

mod common;
use common::*;

#[test]
fn mempool_exhausted_on_rx_is_counted_as_rx_nombuf_and_forwarding_resumes_without_leak() {
    let dir = scratch("rx");
    let (input, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
    let (s, g) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(239, 1, 1, 1));
    const N: u32 = 300;
    let frames: Vec<Vec<u8>> = (0..N).map(|i| frame(s, g, i, 64)).collect();
    pcap::write_file(&input, &frames).unwrap();
    let ports = vec![
        spec(&format!("net_pcap0,rx_pcap={}", input.display()), 1, 1),
        spec(&format!("net_pcap1,tx_pcap={}", out.display()), 1, 1),
    ];
    let (eal, _runtime) = eal("rx", "0", &ports);
    let mut table = ForwardingTable::new();
    table.insert(Some(s), g, route(0, &[1]));
    // The worker runs on this thread, so taking every mbuf here leaves none for its receives.
    let mut dp = Dataplane::start(eal, &ports, table, &[]).unwrap();
    let baseline = dp.mbufs_in_use();
    let hoard = exhaust(&dp.pool());
    assert!(!hoard.is_empty());
    assert_eq!(dp.pool().available(), 0, "the pool is dry");

    // While the pool is dry, every receive fails: the PMD counts it, nothing crashes.
    const DRY_TURNS: usize = 20;
    dp.poll_inline(DRY_TURNS);
    let dry = dp.port_stats()[0];
    assert!(
        dry.rx_nombuf > 0,
        "receives without an mbuf counted: {dry:?}"
    );
    assert_eq!(total(&dp).rx_packets, 0);
    assert_eq!(dp.mbufs_in_use(), baseline + hoard.len() as u32);

    // The mbufs come back: the rest of the file is received and forwarded.
    drop(hoard);
    let end = Instant::now() + Duration::from_secs(20);
    while total(&dp).rx_packets + dp.port_stats()[0].rx_nombuf < N as u64 {
        assert!(Instant::now() < end, "{:?}", total(&dp));
        dp.poll_inline(1);
    }
    dp.poll_inline(1);
    let lost = dp.port_stats()[0].rx_nombuf;
    assert_eq!(lost, dry.rx_nombuf, "no failures once mbufs were back");
    let c = total(&dp);
    assert_eq!(c.rx_packets, N as u64 - lost);
    assert_eq!(
        c.tx_packets, c.rx_packets,
        "everything received was forwarded"
    );
    assert_eq!(c.dropped(DropReason::NoMbuf), 0);
    assert_eq!(
        dp.mbufs_in_use(),
        baseline,
        "every mbuf is back in the pool"
    );
    let stopped = dp.stop_and_count();
    assert_eq!(stopped.mbufs_in_use, 0, "nothing left in use at exit");
    // The frames read while the pool was dry are the ones lost; the rest left in order.
    let got: Vec<u32> = pcap::read_file(&out)
        .unwrap()
        .iter()
        .map(|f| seq_of(f))
        .collect();
    assert_eq!(got, (lost as u32..N).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mempool_exhausted_on_replication_is_counted_as_no_mbuf_and_the_last_copy_still_leaves() {
    let ports = vec![loopback(), sink(1), sink(2)];
    let (eal, _runtime) = eal("repl", "0", &ports);
    let s = Ipv4Addr::new(10, 0, 1, 2);
    // Fan-out 2 for a small group (copied whole) and a large one (header chained to the
    // shared payload: net_null takes chains).
    let (small, large) = (Ipv4Addr::new(239, 1, 1, 1), Ipv4Addr::new(239, 2, 2, 2));
    let mut table = ForwardingTable::new();
    table.insert(None, small, route(0, &[1, 2]));
    table.insert(None, large, route(0, &[1, 2]));
    // 1500-byte packets share their payload only above a copy limit below them.
    let limits = dataplane::router::DataplaneLimits {
        copy_limit: 1024,
        ..Default::default()
    };
    let mut dp = Dataplane::start_with(eal, &ports, table, &[], limits).unwrap();
    let mut inj = Injector::new(&dp, "faults_repl");
    let baseline = dp.mbufs_in_use();
    let sent = |dp: &Dataplane, port: usize| dp.port_stats()[port].opackets;

    // Dry pool: no extra copy can be made; the received mbuf still goes to the last port.
    let mut hoard = exhaust(&dp.pool());
    for i in 0..20 {
        let f = frame(
            s,
            if i % 2 == 0 { small } else { large },
            i,
            64 + 1436 * (i % 2) as usize,
        );
        inj.send(&f, || {});
    }
    wait_rx(&mut dp, 20);
    let c = total(&dp);
    assert_eq!(
        c.dropped(DropReason::NoMbuf),
        20,
        "one copy per packet: {c:?}"
    );
    assert_eq!(sent(&dp, 1), 0, "port 1 would have needed a copy");
    assert_eq!(sent(&dp, 2), 20, "port 2 got the received mbuf itself");

    // One mbuf free: a large packet's header mbuf can be had but not the clone of its
    // payload; the header goes back to the pool.
    drop(hoard.pop());
    inj.send(&frame(s, large, 100, 1500), || {});
    wait_rx(&mut dp, 21);
    assert_eq!(total(&dp).dropped(DropReason::NoMbuf), 21);
    assert_eq!(sent(&dp, 2), 21);
    assert_eq!(
        dp.mbufs_in_use(),
        baseline + hoard.len() as u32,
        "the half-made copy was freed"
    );

    // The mbufs come back: both ports get every copy again.
    drop(hoard);
    for i in 0..40 {
        let f = frame(
            s,
            if i % 2 == 0 { small } else { large },
            i,
            64 + 1436 * (i % 2) as usize,
        );
        inj.send(&f, || {});
    }
    wait_rx(&mut dp, 61);
    dp.poll_inline(1);
    let c = total(&dp);
    assert_eq!(c.dropped(DropReason::NoMbuf), 21, "no more failures: {c:?}");
    assert_eq!(sent(&dp, 1), 40);
    assert_eq!(sent(&dp, 2), 61);
    assert_eq!(c.tx_packets, 40 + 61);
    assert_eq!(dp.mbufs_in_use(), baseline, "no copy leaked");
    assert_eq!(
        inj.pool.in_use(),
        0,
        "every received mbuf went back to its pool"
    );
    drop(inj);
    let stopped = dp.stop_and_count();
    assert_eq!(stopped.mbufs_in_use, 0);
}

#[test]
fn a_full_tx_queue_is_counted_as_tx_full_and_other_ports_keep_their_copies() {
    // Port 1 is a ring nobody drains (no rx queue): once its 1023 slots are taken, every
    // further copy to it is refused.
    let ports = vec![loopback(), spec("net_ring1", 0, 1), sink(2)];
    let (eal, _runtime) = eal("txfull", "0", &ports);
    let (s, g) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(239, 1, 1, 1));
    let mut table = ForwardingTable::new();
    table.insert(Some(s), g, route(0, &[1, 2]));
    let mut dp = Dataplane::start(eal, &ports, table, &[]).unwrap();
    let mut inj = Injector::new(&dp, "faults_txfull");
    let baseline = dp.mbufs_in_use();
    const N: u32 = 2000;
    for i in 0..N {
        inj.send(&frame(s, g, i, 64), || {
            dp.poll_inline(1);
        });
        if i % 256 == 255 {
            dp.poll_inline(1);
        }
    }
    wait_rx(&mut dp, N as u64);
    dp.poll_inline(1);
    let c = total(&dp);
    let p: Vec<PortStats> = dp.port_stats();
    assert!(
        p[1].opackets > 0 && p[1].opackets < N as u64,
        "port 1's ring filled up: {:?}",
        p[1]
    );
    assert_eq!(
        c.dropped(DropReason::TxFull),
        N as u64 - p[1].opackets,
        "every refused copy counted: {c:?}"
    );
    assert_eq!(p[2].opackets, N as u64, "port 2 lost nothing");
    assert_eq!(c.tx_packets, p[1].opackets + p[2].opackets);
    // The copies port 1 took still sit in its ring; everything else was freed.
    assert_eq!(dp.mbufs_in_use(), baseline + p[1].opackets as u32);
    assert_eq!(inj.pool.in_use(), 0);
    drop(inj);
    dp.stop();
}

fn new_source(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i)
}

#[test]
fn a_full_miss_ring_drops_signals_without_blocking_and_the_flows_resolve_once_drained() {
    let ports = vec![loopback(), sink(1)];
    let (eal, _runtime) = eal("missring", "0-1", &ports);
    let established = (Ipv4Addr::new(10, 0, 1, 1), Ipv4Addr::new(239, 1, 1, 1));
    let group = Ipv4Addr::new(239, 2, 2, 2);
    let mut table = ForwardingTable::new();
    table.insert(Some(established.0), established.1, route(0, &[1]));
    // The worker on its own lcore; this thread is the control core and does not drain.
    let mut dp = Dataplane::start(eal, &ports, table, &[1]).unwrap();
    let mut inj = Injector::new(&dp, "faults_missring");
    let baseline = dp.mbufs_in_use();
    const NEW: u32 = RING_SIZE as u32 + 1000;
    let mut sent = 0u64;
    let mut established_sent = 0u64;
    // Round 1: one packet of each of NEW new flows (every one misses), with a packet of the
    // established flow after every tenth.
    for i in 0..NEW {
        inj.send(&frame(new_source(i), group, 1, 64), || {});
        sent += 1;
        if i % 10 == 0 {
            inj.send(&frame(established.0, established.1, i, 64), || {});
            sent += 1;
            established_sent += 1;
        }
    }
    wait_rx(&mut dp, sent);
    let c = total(&dp);
    assert_eq!(
        c.signals_dropped,
        (NEW as usize - RING_SIZE) as u64,
        "the ring took {RING_SIZE} signals, the rest were dropped and counted: {c:?}"
    );
    assert_eq!(
        c.misses_signalled + c.signals_dropped,
        NEW as u64,
        "every new flow's signal was either queued or counted as dropped: {c:?}"
    );
    assert_eq!(
        dp.port_stats()[1].opackets,
        established_sent,
        "the established flow kept flowing while the ring was full"
    );

    // The control side drains and installs what it was told about; the next packet of each
    // flow it missed signals again.
    let mut resolved = BTreeSet::new();
    let mut drain_and_install = |dp: &mut Dataplane| {
        let mut got = Vec::new();
        while dp.drain_signals(1024, |s| got.push(s)) > 0 {}
        for s in &got {
            let Signal::Miss { source, group, .. } = *s else {
                panic!("unexpected {s:?}")
            };
            if resolved.insert(source) {
                dp.fib().insert(
                    Some(Ipv4Addr::from(source)),
                    Ipv4Addr::from(group),
                    route(0, &[1]),
                );
            }
        }
        let epoch = dp.publish();
        assert!(dp.synchronize(epoch, Duration::from_secs(10)));
        got.len()
    };
    assert_eq!(drain_and_install(&mut dp), RING_SIZE);
    std::thread::sleep(Duration::from_millis(RESIGNAL_MS * 2));
    for i in 0..NEW {
        inj.send(&frame(new_source(i), group, 2, 64), || {});
        sent += 1;
    }
    wait_rx(&mut dp, sent);
    assert_eq!(
        drain_and_install(&mut dp),
        NEW as usize - RING_SIZE,
        "the flows whose signal was dropped signalled again"
    );
    assert_eq!(resolved.len(), NEW as usize, "every flow got its entry");

    // Round 3: every flow is forwarded, nothing misses any more. Held packets of round 2
    // leave (or expire) within the hold time first.
    std::thread::sleep(Duration::from_millis(300));
    let before = (total(&dp), dp.port_stats()[1].opackets);
    for i in 0..NEW {
        inj.send(&frame(new_source(i), group, 3, 64), || {});
        sent += 1;
    }
    wait_rx(&mut dp, sent);
    std::thread::sleep(Duration::from_millis(50));
    let c = total(&dp);
    assert_eq!(dp.port_stats()[1].opackets - before.1, NEW as u64);
    assert_eq!(c.misses_signalled, before.0.misses_signalled);
    assert_eq!(dp.drain_signals(1024, |_| {}), 0);
    // Every packet is accounted for: forwarded, or dropped while its flow was unresolved.
    assert_eq!(
        c.rx_packets,
        c.tx_packets + c.dropped(DropReason::PendingOverflow) + c.dropped(DropReason::NoRoute),
        "{c:?}"
    );
    assert_eq!(dp.mbufs_in_use(), baseline);
    assert_eq!(inj.pool.in_use(), 0, "held and dropped packets were freed");
    drop(inj);
    let stopped = dp.stop_and_count();
    assert_eq!(stopped.mbufs_in_use, 0);
}

#[test]
fn established_flows_keep_flowing_while_the_control_core_is_stalled_for_a_second() {
    let dir = scratch("stall");
    let out = dir.join("out.pcap");
    let ports = vec![
        loopback(),
        spec(&format!("net_pcap1,tx_pcap={}", out.display()), 1, 1),
    ];
    let (eal, _runtime) = eal("stall", "0-1", &ports);
    let (s, g) = (Ipv4Addr::new(10, 0, 1, 1), Ipv4Addr::new(239, 1, 1, 1));
    let mut table = ForwardingTable::new();
    table.insert(Some(s), g, route(0, &[1]));
    let mut dp = Dataplane::start(eal, &ports, table, &[1]).unwrap();
    let mut inj = Injector::new(&dp, "faults_stall");
    // A sender on a thread of its own: the established flow every millisecond for 1.5 s, and a
    // new source every 10 ms (misses that nobody will answer while the control core stalls).
    let sender = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        let mut new_flows = 0u32;
        let start = Instant::now();
        let mut seq = 0u32;
        let mut next_new_flow = 0u32;
        while start.elapsed() < Duration::from_millis(1500) {
            if inj.try_send(&frame(s, g, seq, 64)) {
                accepted.push(seq);
            }
            if seq == next_new_flow {
                next_new_flow += 10;
                if inj.try_send(&frame(new_source(seq), g, seq, 64)) {
                    new_flows += 1;
                }
            }
            seq += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        (accepted, new_flows, inj)
    });
    // The control core does not run: it neither drains the rings nor publishes.
    let stalled = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    assert!(stalled.elapsed() >= Duration::from_secs(1));
    let (accepted, new_flows, inj) = sender.join().unwrap();
    assert!(accepted.len() > 500, "enough traffic: {}", accepted.len());
    let sent = accepted.len() as u64 + new_flows as u64;
    wait_rx(&mut dp, sent);
    // The control core wakes up: every new source's miss waited in the ring.
    let mut signals = BTreeSet::new();
    while dp.drain_signals(1024, |sig| {
        if let Signal::Miss { source, group, .. } = sig {
            signals.insert((source, group));
        }
    }) > 0
    {}
    assert_eq!(signals.len(), new_flows as usize, "one miss per new source");
    drop(inj);
    let stopped = dp.stop_and_count();
    let mut c = Counters::default();
    for w in &stopped.workers {
        c.add(w);
    }
    assert_eq!(c.tx_packets, accepted.len() as u64, "{c:?}");
    assert_eq!(stopped.mbufs_in_use, 0);
    let got: Vec<u32> = pcap::read_file(&out)
        .unwrap()
        .iter()
        .map(|f| seq_of(f))
        .collect();
    assert_eq!(
        got, accepted,
        "the established flow arrived whole and in order"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unresolved_flow_that_keeps_sending_still_expires_from_the_pending_queue() {
    // A flow nobody resolves (the control core refuses it, say at max_mfes) keeps sending:
    // its held packets must expire after the hold time, not wait forever because newer
    // packets keep arriving, or a few such flows would take every pending slot for good.
    let ports = vec![loopback(), sink(1)];
    let (eal, _runtime) = eal("expire", "0", &ports);
    let mut dp = Dataplane::start(eal, &ports, ForwardingTable::new(), &[]).unwrap();
    let baseline = dp.mbufs_in_use();
    let mut inject = Injector::new(&dp, "expire_inject");
    let (s, g) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(239, 7, 7, 7));
    let hold = Duration::from_millis(dataplane::worker::pending::HOLD_MS);
    const N: u32 = 15;
    let start = Instant::now();
    for i in 0..N {
        inject.send(&frame(s, g, i, 64), || {
            dp.poll_inline(1);
        });
        // One packet every hold/5: three hold times of sending in all.
        let next = start + hold / 5 * (i + 1);
        while Instant::now() < next {
            dp.poll_inline(1);
        }
    }
    wait_rx(&mut dp, u64::from(N));
    dp.poll_inline(4);
    let c = total(&dp);
    assert!(
        c.dropped(DropReason::NoRoute) > 0,
        "held packets expired while the flow kept sending: {c:?}"
    );
    // Whatever is still held expires too; every packet is accounted for.
    std::thread::sleep(hold + Duration::from_millis(20));
    dp.poll_inline(2);
    let c = total(&dp);
    assert_eq!(
        c.dropped(DropReason::NoRoute) + c.dropped(DropReason::PendingOverflow),
        u64::from(N),
        "{c:?}"
    );
    assert_eq!(c.tx_packets, 0);
    assert_eq!(dp.mbufs_in_use(), baseline, "nothing left held");
    drop(inject);
    let _ = dp.stop();
}

/// The pool runs dry while a copy is fragmented: counted `fragment_no_mbuf` per copy, the
/// fragments already made still leave (here: one of three), nothing leaks, and fragmenting
/// resumes when mbufs come back.
#[test]
fn mempool_exhausted_while_fragmenting_is_counted_as_fragment_no_mbuf_without_leak() {
    let mut narrow = sink(1);
    narrow.interface_mtu = Some(576);
    let ports = vec![loopback(), narrow];
    let (eal, _runtime) = eal("frag", "0", &ports);
    let (s, g) = (Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(239, 3, 3, 3));
    let mut table = ForwardingTable::new();
    table.insert(None, g, route(0, &[1]));
    let mut dp = Dataplane::start(eal, &ports, table, &[]).unwrap();
    let mut inj = Injector::new(&dp, "faults_frag");
    let baseline = dp.mbufs_in_use();
    // 1,500 bytes of IPv4 for an MTU of 576: three fragments each.
    let big = |i| frame(s, g, i, 1514);

    let mut hoard = exhaust(&dp.pool());
    for i in 0..5 {
        inj.send(&big(i), || {});
    }
    wait_rx(&mut dp, 5);
    let c = total(&dp);
    assert_eq!(c.dropped(DropReason::FragmentNoMbuf), 5, "{c:?}");
    assert_eq!((c.tx_packets, dp.port_fragments()[1]), (0, 0));

    // One mbuf: the first fragment is made and sent, the second finds the pool empty.
    drop(hoard.pop());
    inj.send(&big(5), || {});
    wait_rx(&mut dp, 6);
    dp.poll_inline(1);
    let c = total(&dp);
    assert_eq!(c.dropped(DropReason::FragmentNoMbuf), 6, "{c:?}");
    assert_eq!((c.tx_packets, dp.port_fragments()[1]), (1, 1));

    drop(hoard);
    for i in 10..15 {
        inj.send(&big(i), || {});
    }
    wait_rx(&mut dp, 11);
    dp.poll_inline(1);
    let c = total(&dp);
    assert_eq!(
        c.dropped(DropReason::FragmentNoMbuf),
        6,
        "no more failures: {c:?}"
    );
    assert_eq!((c.tx_packets, dp.port_fragments()[1]), (16, 16));
    assert_eq!(dp.port_stats()[1].opackets, 16);
    assert_eq!(dp.mbufs_in_use(), baseline, "no fragment leaked");
    assert_eq!(
        inj.pool.in_use(),
        0,
        "every received mbuf went back to its pool"
    );
    drop(inj);
    let stopped = dp.stop_and_count();
    assert_eq!(stopped.mbufs_in_use, 0);
}
