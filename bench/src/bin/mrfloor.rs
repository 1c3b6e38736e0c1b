//! `mrfloor`: the per-packet floor of a byte-exact copying multicast router on the benchmark's
//! ports (a `net_pcap` `infinite_rx` source, `net_null` `no-rx` sinks), measured the way
//! `mrbench` measures every program (port counters through DPDK telemetry).
//!
//!   mrfloor -l 0,1 --no-pci --file-prefix F --vdev net_pcap0,... --vdev net_null1,no-rx=1 \
//!       [--vdev net_null2,no-rx=1 ...] -- --fanout K --work io|rewrite|copy|chain --duration S
//!
//! One forwarding lcore polls port 0 and does only what such a router cannot avoid, using
//! mrouter's own building blocks (its mbuf pool and cache sizes, its buffered tx queues, its
//! bulk-filled stash of fresh mbufs, its frame copy and its rewrite), with no classification,
//! no lookup and no counters beyond the ports' own:
//!
//! - `io`: every packet to port 1 unchanged (should come out near `testpmd --forward-mode=io`);
//! - `rewrite`: fan-out 1 with the rewrite (group MAC, port MAC, TTL - 1, RFC 1624 checksum);
//! - `copy`: fan-out K: the rewrite, K - 1 whole copies and the received mbuf, each with its
//!   port's source MAC, to ports 1..=K.
//! - `chain`: fan-out K with the payload shared: the rewrite, then K - 1 header chains
//!   (`Mbuf::header_chain`: a fresh mbuf holding the rewritten Ethernet and IPv4 headers,
//!   chained to an indirect mbuf over the rest of the received packet, the scheme mrouter uses
//!   above its `COPY_LIMIT`) and the received mbuf itself, each with its port's source MAC.
//!   Sending K chains and dropping the received mbuf's own reference instead would cost one
//!   more header mbuf, indirect mbuf, attach and detach per packet, so it is not the floor of
//!   the scheme; ipv4_multicast also sends the received mbuf to the last port at fan-out 2
//!   (its `MCAST_CLONE_PORTS`). Every sink must be able to send multi-segment mbufs
//!   (`Port::supports_chains`, as mrouter checks); mrfloor refuses to start otherwise.
//!
//! It trusts every frame to be an untagged IPv4 packet (the benchmark's pcaps are); a short
//! frame is sent on without the rewrite, never read past its end (in `chain` mode it, and a
//! frame whose IPv4 header length is below 20 bytes, is copied whole).

use bench::floor::{group_of, split_args, Opts, Work};
use clap::Parser;
use dataplane::dpdk::{
    CopyWithMac, Eal, Mbuf, MbufStash, Mempool, Port, RxQueue, TxQueue, BURST, ETHER_HEADER_LEN,
    MBUF_HEADROOM, SHARED_FROM,
};
use dataplane::router::{DataplaneLimits, POOL_CACHE, QUEUE_DESC};
use dataplane::worker::replicate::{rewrite_for_forwarding, rewrite_whole};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let (eal_args, own) = split_args(&argv);
    let opts = Opts::parse_from(own);
    if let Err(e) = run(&eal_args, &opts) {
        eprintln!("mrfloor: {e}");
        std::process::exit(1);
    }
}

/// mrouter's pool size for these ports and one worker (`Dataplane::start_with`): every rx and
/// tx descriptor (one rx queue, a tx queue for the worker and one for the control core where
/// the device has two), two lcore caches plus a stash each, the pending queue's most, 4096.
fn mrouter_pool_size(ports: &[Port]) -> u32 {
    let workers = 1u32;
    let descs: u32 = ports
        .iter()
        .map(|p| (1 + tx_queues(p) as u32) * u32::from(QUEUE_DESC))
        .sum();
    dataplane::router::pool_size(descs, workers, &DataplaneLimits::default())
}

/// Tx queues as mrouter configures them with one worker: its own and the control core's where
/// the device offers two.
fn tx_queues(p: &Port) -> u16 {
    2u16.min(p.max_queues().1.max(1))
}

fn run(eal_args: &[String], opts: &Opts) -> Result<(), String> {
    let names = opts.ports_to_open(eal_args)?;
    let eal = Eal::init(eal_args).map_err(|e| e.to_string())?;
    let ports: Vec<Port> = names
        .iter()
        .map(|n| Port::by_name(n))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if opts.work == Work::Chain {
        if let Some(p) = ports[1..].iter().find(|p| !p.supports_chains()) {
            return Err(format!(
                "--work chain: sink {} (driver {}) cannot send multi-segment mbufs (no \
                 multi-segment tx offload), so it cannot take header chains",
                p.name(),
                p.driver_name()
            ));
        }
    }
    let room = DataplaneLimits::default()
        .mbuf_data_room
        .saturating_add(MBUF_HEADROOM);
    let pool = Mempool::with_data_room(
        "mrfloor_pkt",
        mrouter_pool_size(&ports),
        POOL_CACHE,
        eal.socket_id(),
        room,
    )
    .map_err(|e| e.to_string())?;
    for p in &ports {
        p.configure(1, tx_queues(p), QUEUE_DESC, &pool)
            .map_err(|e| e.to_string())?;
        p.start().map_err(|e| e.to_string())?;
        let _ = p.enable_allmulticast();
    }
    let rxq = ports[0].take_rx_queue(0).ok_or("rx queue taken")?;
    let txqs: Vec<TxQueue> = ports[1..]
        .iter()
        .map(|p| p.take_tx_queue(0).ok_or("tx queue taken"))
        .collect::<Result<_, _>>()?;
    let macs: Vec<[u8; 6]> = ports[1..].iter().map(|p| p.mac().0).collect();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| e.to_string())?;
    }
    println!(
        "mrfloor: work {}, fan-out {}, ports {}, pool {} mbufs (cache {POOL_CACHE}), lcore {}",
        opts.work.name(),
        opts.fanout,
        names.join(" "),
        mrouter_pool_size(&ports),
        opts.lcore
    );
    for p in &ports[1..] {
        println!("mrfloor: sink {} mac {}", p.name(), p.mac());
    }
    let worker_stop = Arc::clone(&stop);
    let work = opts.work;
    let whole = Arc::new(AtomicU64::new(0));
    let worker_whole = Arc::clone(&whole);
    eal.launch(opts.lcore, move || {
        let n = forward(work, rxq, txqs, &macs, pool, &worker_stop);
        worker_whole.store(n, Ordering::Relaxed);
        0
    })
    .map_err(|e| e.to_string())?;
    let until = Instant::now() + Duration::from_secs_f64(opts.duration);
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    eal.wait(opts.lcore);
    let s0 = ports[0].stats();
    let out: u64 = ports[1..].iter().map(|p| p.stats().opackets).sum();
    println!(
        "mrfloor: received {} (missed {}, no mbuf {}), sent {out}",
        s0.ipackets, s0.imissed, s0.rx_nombuf
    );
    if work == Work::Chain {
        println!(
            "mrfloor: copies made whole instead of chained: {}",
            whole.load(Ordering::Relaxed)
        );
    }
    for p in &ports {
        let _ = p.close();
    }
    eal.cleanup().map_err(|e| e.to_string())
}

/// Sets a frame's source MAC (`replicate::set_source_mac`, without its panic on a frame
/// shorter than an Ethernet header).
#[inline(always)]
fn set_source_mac(header: &mut [u8], mac: [u8; 6]) {
    if let Some(src) = header.get_mut(6..12) {
        src.copy_from_slice(&mac);
    }
}

/// A whole copy of `src` to each of `tx`, with the MAC of its port.
#[inline(always)]
fn copy_each(
    src: &impl CopyWithMac,
    tx: &mut [TxQueue],
    macs: &[[u8; 6]],
    pool: &Mempool,
    stash: &mut MbufStash,
) {
    for (q, mac) in tx.iter_mut().zip(macs) {
        if let Some(c) = src.copy_with_source_mac(pool, stash, *mac) {
            q.push(c);
        }
    }
}

/// The forwarding loop: a burst from the source, the work on each packet, every tx queue
/// flushed once per turn (as mrouter's worker does). Gives the number of copies the chain
/// work made whole (frames too short for a header chain, or a header chain refused).
fn forward(
    work: Work,
    mut rxq: RxQueue,
    mut tx: Vec<TxQueue>,
    macs: &[[u8; 6]],
    pool: Mempool,
    stop: &AtomicBool,
) -> u64 {
    let k = tx.len();
    let mut whole = 0u64;
    let mut burst: Vec<Mbuf> = Vec::with_capacity(BURST);
    let mut stash = MbufStash::with_capacity(BURST * 16);
    while !stop.load(Ordering::Relaxed) {
        let n = rxq.rx_burst(&mut burst);
        if n > 0 {
            match work {
                Work::Io => {
                    for m in burst.drain(..) {
                        tx[0].push(m);
                    }
                }
                Work::Rewrite => {
                    for mut m in burst.drain(..) {
                        let group = group_of(m.data());
                        rewrite_whole(m.data_mut(), group, macs[0]);
                        tx[0].push(m);
                    }
                }
                Work::Copy => {
                    stash.fill(&pool, n * (k - 1));
                    stash.prefetch();
                    for mut m in burst.drain(..) {
                        let group = group_of(m.data());
                        if m.data().len() >= 34 {
                            rewrite_for_forwarding(m.data_mut(), group);
                        }
                        // mrouter's copies: the source read once, each copy's MAC written
                        // with its data, a one-line frame without a choice per copy (a chained
                        // frame, never from this source, is copied by `copy_one_segment`).
                        if let Some(line) = m.line_source() {
                            copy_each(&line, &mut tx[..k - 1], macs, &pool, &mut stash);
                        } else if let Some(src) = m.copy_source() {
                            copy_each(&src, &mut tx[..k - 1], macs, &pool, &mut stash);
                        } else {
                            for (q, mac) in tx[..k - 1].iter_mut().zip(macs) {
                                if let Some(mut c) = m.copy_one_segment(&pool, &mut stash) {
                                    set_source_mac(c.header_mut(), *mac);
                                    q.push(c);
                                }
                            }
                        }
                        set_source_mac(m.header_mut(), macs[k - 1]);
                        tx[k - 1].push(m);
                    }
                    if !stash.is_empty() {
                        stash.release();
                    }
                }
                Work::Chain => {
                    // Two fresh mbufs per extra copy: the header and the indirect payload.
                    stash.fill(&pool, n * (k - 1) * 2);
                    stash.prefetch();
                    for mut m in burst.drain(..) {
                        let group = group_of(m.data());
                        let header_len = match m.data().get(ETHER_HEADER_LEN) {
                            Some(&vihl) if m.data().len() >= SHARED_FROM => {
                                rewrite_for_forwarding(m.data_mut(), group);
                                ETHER_HEADER_LEN + usize::from(vihl & 0x0f) * 4
                            }
                            _ => 0,
                        };
                        for (q, mac) in tx[..k - 1].iter_mut().zip(macs) {
                            // header_chain refuses a header shorter than Ethernet + 20 bytes
                            // or longer than the frame: such a frame is copied whole.
                            let c = m.header_chain(&pool, &mut stash, header_len).or_else(|| {
                                whole += 1;
                                m.copy_one_segment(&pool, &mut stash)
                            });
                            if let Some(mut c) = c {
                                set_source_mac(c.header_mut(), *mac);
                                q.push(c);
                            }
                        }
                        set_source_mac(m.header_mut(), macs[k - 1]);
                        tx[k - 1].push(m);
                    }
                    if !stash.is_empty() {
                        stash.release();
                    }
                }
            }
        }
        for q in &mut tx {
            q.flush();
        }
    }
    whole
}
