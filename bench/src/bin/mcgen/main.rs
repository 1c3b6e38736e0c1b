//! `mcgen`: a DPDK multicast traffic generator, in the spirit of pktgen.
//!
//! ```text
//! mcgen [EAL args] -- --tx PORT --rx PORT[,PORT..] [--sources N --groups N --size B --pps R
//!                     --duration S --ttl T --vlan ID] [--config streams.yaml] [--json out.json]
//! ```
//!
//! Streams (sources x groups) leave the tx port round-robin, each packet carrying a stream id,
//! a sequence number and the TSC at transmit (see `bench::stamp`). Every rx port is expected
//! to receive every stream (the router's outgoing interfaces); per port and stream it counts
//! packets, loss, duplicates and reordering, and it histograms the latency. The main lcore
//! prints a live table per port each second (Mpps and Mbit/s at layer 1, +24 bytes per frame,
//! as pktgen counts, plus imissed / rx_nombuf / errors) and a progress line; a worker lcore
//! does the tx/rx loop. Ports are EAL devices: vdevs (`--vdev net_memif0,...`) or PCI NICs.

mod config;
mod igmp;
mod report;

use bench::flow::{NewFlows, Receive};
use bench::frames::{self, FrameSpec};
use bench::stamp::{self, Stamp};
use clap::Parser;
use dataplane::dpdk::{tsc, tsc_hz, Eal, Mbuf, Mempool, Port, PortStats, RxQueue, TxQueue, BURST};
use dataplane::router::memif_identity;
use igmp::{igmp_turn, IgmpChurn, IgmpSent};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One stream: its template frame and where the stamp goes.
pub struct Stream {
    pub spec: FrameSpec,
    frame: Vec<u8>,
    stamp_at: usize,
}

/// What the worker hands back.
pub struct Outcome {
    /// Packets sent per stream.
    pub sent: Vec<u64>,
    /// Transmit attempts the queue refused (retried later; not counted as sent).
    pub tx_full: u64,
    /// Allocation failures.
    pub no_mbuf: u64,
    pub rx: Receive,
    /// Seconds of transmission actually done.
    pub tx_secs: f64,
    /// New sources sent (one packet each), if a storm was asked for.
    pub new_sent: u64,
    /// New sources received.
    pub new_rx: NewFlows,
    /// Wall-clock times (seconds since the Unix epoch) of the first and last new source sent.
    pub new_first_at: Option<f64>,
    pub new_last_at: Option<f64>,
    /// Packets sent per stream when the first new source was sent (loss after it is the
    /// storm's).
    pub sent_at_storm: Option<Vec<u64>>,
    /// IGMP churn, if asked for.
    pub igmp: Option<IgmpSent>,
}

/// New sources to create while the streams run (a miss storm).
#[derive(Debug, Clone)]
pub struct NewSources {
    pub rate: f64,
    pub source: std::net::Ipv4Addr,
    pub group: std::net::Ipv4Addr,
    pub ttl: u8,
    pub size: u16,
    /// Seconds after the start of transmission.
    pub start: f64,
    pub duration: f64,
    /// Groups taken in turn from `group` upwards.
    pub groups: u32,
}

fn epoch_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Counters the live table reads while the worker runs.
#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    received: AtomicU64,
    done: AtomicBool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (eal_args, own) = match args.iter().position(|a| a == "--") {
        Some(i) => (args[..i].to_vec(), args[i + 1..].to_vec()),
        None => (args[..1].to_vec(), args[1..].to_vec()),
    };
    let mut own_argv = vec![args[0].clone()];
    own_argv.extend(own);
    let opts = config::Opts::parse_from(own_argv);
    if let Err(e) = run(&eal_args, &opts) {
        eprintln!("mcgen: {e}");
        std::process::exit(1);
    }
}

/// The devargs of vdev `name` in the EAL arguments (`--vdev X` or `--vdev=X`).
fn vdev_args<'a>(eal_args: &'a [String], name: &str) -> Option<&'a str> {
    let mut args = eal_args.iter();
    while let Some(a) = args.next() {
        let dev = match a.strip_prefix("--vdev=") {
            Some(d) => d,
            None if a == "--vdev" => args.next()?,
            None => continue,
        };
        if dev.split(',').next() == Some(name) {
            return Some(dev);
        }
    }
    None
}

fn run(eal_args: &[String], opts: &config::Opts) -> Result<(), String> {
    let plan = config::plan(opts)?;
    let streams: Vec<Stream> = plan
        .sets
        .iter()
        .flat_map(|s| {
            (0..s.sources).flat_map(move |i| {
                (0..s.groups).map(move |j| FrameSpec {
                    source: frames::add(s.source, i),
                    group: frames::add(s.group, j),
                    ttl: s.ttl,
                    size: s.size,
                    vlan: s.vlan,
                })
            })
        })
        .map(|spec| {
            let frame = frames::template(&spec);
            let stamp_at = stamp::udp_payload_offset(&frame).expect("template is IPv4/UDP");
            Stream {
                spec,
                frame,
                stamp_at,
            }
        })
        .collect();

    let eal = Eal::init(eal_args).map_err(|e| e.to_string())?;
    let hz = tsc_hz();
    let pool = Mempool::new("mcgen_pkt", 32767, 256, eal.socket_id()).map_err(|e| e.to_string())?;
    // Distinct port names in order: tx first, then rx.
    let mut names: Vec<String> = vec![plan.tx.clone()];
    for r in &plan.rx {
        if !names.contains(r) {
            names.push(r.clone());
        }
    }
    let ports: Vec<Port> = names
        .iter()
        .map(|n| Port::by_name(n))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for p in &ports {
        let q = opts.queues.max(1);
        p.configure(q, q, 1024, &pool).map_err(|e| e.to_string())?;
        // A memif peer (mrouter) that stops while this thread polls would otherwise crash
        // mcgen inside the driver (see `Port::guard_memif_bursts`).
        if let Some((id, server, socket)) = vdev_args(eal_args, p.name()).and_then(memif_identity) {
            if !p.guard_memif_bursts(id, server, socket) {
                eprintln!(
                    "mcgen: warning: port {}: the memif driver's disconnect lock was not found: stop mcgen before its peer",
                    p.name()
                );
            }
        }
        p.start().map_err(|e| e.to_string())?;
        let _ = p.enable_allmulticast(); // not every vdev has either mode; tx ports need neither
    }
    let deadline = Instant::now() + Duration::from_secs_f64(opts.link_wait);
    while !ports.iter().all(Port::link_up) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in &ports {
        if !p.link_up() {
            eprintln!(
                "mcgen: warning: port {} link is down; sending anyway",
                p.name()
            );
        }
    }
    let txq = ports[0].take_tx_queue(0).ok_or("tx queue taken")?;
    let rx_index: Vec<usize> = plan
        .rx
        .iter()
        .map(|r| names.iter().position(|n| n == r).unwrap_or(0))
        .collect();
    let rxqs: Vec<RxQueue> = rx_index
        .iter()
        .map(|&i| ports[i].take_rx_queue(0).ok_or("rx queue taken"))
        .collect::<Result<_, _>>()?;
    // The other rx queues of the rx ports: a router with a tx queue of its control core's own
    // sends its IGMP queries there. Drained every turn, counted as foreign.
    let extra_rxqs: Vec<RxQueue> = rx_index
        .iter()
        .flat_map(|&i| {
            let port = &ports[i];
            (1..opts.queues.max(1)).filter_map(move |q| port.take_rx_queue(q))
        })
        .collect();

    let progress = Arc::new(Progress::default());
    let result: Arc<Mutex<Option<Outcome>>> = Arc::new(Mutex::new(None));
    let (pr, res) = (Arc::clone(&progress), Arc::clone(&result));
    let (pps, duration, drain) = (plan.pps, plan.duration, opts.drain);
    let newsrc = opts
        .new_sources_rate
        .filter(|r| *r > 0.0)
        .map(|rate| NewSources {
            rate,
            source: opts.new_source,
            group: opts.new_group,
            ttl: plan.sets[0].ttl,
            size: plan.sets[0].size,
            start: opts.new_start,
            duration: opts
                .new_duration
                .unwrap_or((duration - opts.new_start).max(0.0)),
            groups: opts.new_groups.max(1),
        });
    let igmp = match &opts.igmp_port {
        Some(name) => {
            let i = names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("--igmp-port {name} is not one of the ports"))?;
            if i == 0 {
                return Err("--igmp-port must not be the tx port".into());
            }
            let txq = ports[i].take_tx_queue(0).ok_or("igmp tx queue taken")?;
            let frames = (0..opts.igmp_groups.max(1))
                .map(|g| {
                    let group = frames::add(opts.igmp_group, g);
                    (
                        frames::igmp_v2(opts.igmp_host, group, false),
                        frames::igmp_v2(opts.igmp_host, group, true),
                    )
                })
                .collect();
            Some(IgmpChurn {
                txq,
                frames,
                rate: opts.igmp_rate.max(0.001),
            })
        }
        None => None,
    };
    let n_rx = rxqs.len();
    if opts.start_delay > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(opts.start_delay));
    }
    let base: Vec<PortStats> = ports.iter().map(Port::stats).collect();
    eal.launch(opts.lcore, move || {
        let out = generate(
            streams, newsrc, igmp, txq, rxqs, extra_rxqs, pool, hz, pps, duration, drain, &pr,
        );
        pr.done.store(true, Ordering::Release);
        *res.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
        0
    })
    .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let mut last = (started, base.clone());
    let interval = Duration::from_secs_f64(opts.interval.max(0.1));
    while !progress.done.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(20));
        if last.0.elapsed() >= interval {
            let now: Vec<PortStats> = ports.iter().map(Port::stats).collect();
            if !opts.quiet {
                report::live(
                    &names,
                    &last.1,
                    &now,
                    last.0.elapsed().as_secs_f64(),
                    started.elapsed().as_secs_f64(),
                    duration,
                    &progress.sent,
                    &progress.received,
                );
            }
            last = (Instant::now(), now);
        }
    }
    eal.wait(opts.lcore);
    let outcome = result
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or("worker gave no result")?;
    let end: Vec<PortStats> = ports.iter().map(Port::stats).collect();
    let json = report::final_report(&plan, &names, n_rx, &outcome, &base, &end, hz);
    if let Some(path) = &opts.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if opts.linger > 0.0 {
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
        }
        let until = Instant::now() + Duration::from_secs_f64(opts.linger);
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for p in &ports {
        let _ = p.close();
    }
    Ok(())
}

/// The tx/rx loop. Paces with the TSC: by time t it has sent `pps * t` packets (at most a
/// burst per turn, so a slow turn catches up gradually); without a rate it sends a burst every
/// turn. Streams take turns packet by packet. Every turn also drains every rx queue.
#[allow(clippy::too_many_arguments)]
fn generate(
    streams: Vec<Stream>,
    newsrc: Option<NewSources>,
    mut igmp: Option<IgmpChurn>,
    mut txq: TxQueue,
    mut rxqs: Vec<RxQueue>,
    mut extra_rxqs: Vec<RxQueue>,
    pool: Mempool,
    hz: u64,
    pps: Option<f64>,
    duration: f64,
    drain: f64,
    progress: &Progress,
) -> Outcome {
    let n = streams.len();
    let mut sent = vec![0u64; n];
    let mut rx = Receive::new(rxqs.len(), n);
    let (mut tx_full, mut no_mbuf, mut total_sent, mut total_rx) = (0u64, 0u64, 0u64, 0u64);
    let mut next = 0usize;
    let mut burst_streams = [0usize; BURST];
    let mut bufs: Vec<Mbuf> = Vec::with_capacity(BURST);
    let start = tsc();
    let end_tx = start + (duration * hz as f64) as u64;
    let end = end_tx + (drain * hz as f64) as u64;
    let ns_per_tick = 1e9 / hz as f64;
    let mut turns = 0u64;
    // New sources: template of the first one (its source address is rewritten per packet).
    let new_tmpl = newsrc.as_ref().map(|ns| {
        let f = frames::template(&FrameSpec {
            source: ns.source,
            group: ns.group,
            ttl: ns.ttl,
            size: ns.size,
            vlan: None,
        });
        let at = stamp::udp_payload_offset(&f).expect("template is IPv4/UDP");
        (f, at)
    });
    let (new_start, new_end, new_rate) = newsrc.as_ref().map_or((u64::MAX, 0, 0.0), |ns| {
        let a = start + (ns.start * hz as f64) as u64;
        (a, a + (ns.duration * hz as f64) as u64, ns.rate)
    });
    let (new_base, new_group, new_groups) = newsrc.as_ref().map_or(
        (
            std::net::Ipv4Addr::UNSPECIFIED,
            std::net::Ipv4Addr::UNSPECIFIED,
            1,
        ),
        |n| (n.source, n.group, n.groups),
    );
    let mut igmp_sent = IgmpSent::default();
    let mut joined = vec![false; igmp.as_ref().map_or(0, |c| c.frames.len())];
    // IGMP messages sent in the cycle (its position); the final leaves come after it.
    let mut igmp_k = 0u64;
    let mut sent_at_storm = None;
    let (mut new_sent, mut new_first_at, mut new_last_at) = (0u64, None, None);
    let mut new_rx = NewFlows::default();
    loop {
        let now = tsc();
        if now >= end {
            break;
        }
        if now < end_tx {
            let want = match pps {
                Some(r) => ((((now - start) as f64) * r / hz as f64) as u64)
                    .saturating_sub(total_sent - new_sent),
                None => BURST as u64,
            }
            .min(BURST as u64) as usize;
            let mut k = 0;
            // New sources first, paced on their own, at most half a burst per turn.
            if let Some((tmpl, at)) = &new_tmpl {
                if now >= new_start {
                    let t = now.min(new_end) - new_start;
                    let due = (((t as f64) * new_rate / hz as f64) as u64)
                        .saturating_sub(new_sent)
                        .min(BURST as u64 / 2);
                    for _ in 0..due {
                        let Some(mut m) = Mbuf::alloc(&pool) else {
                            no_mbuf += 1;
                            break;
                        };
                        if !m.append(tmpl) {
                            no_mbuf += 1;
                            break;
                        }
                        let src = frames::add(new_base, new_sent as u32);
                        let group =
                            frames::add(new_group, (new_sent % u64::from(new_groups)) as u32);
                        set_source_group(m.data_mut(), src, group);
                        stamp::write(
                            m.data_mut(),
                            *at,
                            Stamp {
                                stream: stamp::NEW_FLOW,
                                seq: new_sent as u32,
                                tsc: now,
                            },
                        );
                        new_sent += 1;
                        burst_streams[k] = usize::MAX;
                        txq.push(m);
                        k += 1;
                        new_last_at = Some(epoch_secs());
                        if new_first_at.is_none() {
                            new_first_at = new_last_at;
                            sent_at_storm = Some(sent.clone());
                        }
                    }
                }
            }
            let want = (want + k).min(BURST);
            while k < want {
                let Some(mut m) = Mbuf::alloc(&pool) else {
                    no_mbuf += 1;
                    break;
                };
                let s = &streams[next];
                if !m.append(&s.frame) {
                    no_mbuf += 1;
                    break;
                }
                let seq = sent[next] as u32;
                stamp::write(
                    m.data_mut(),
                    s.stamp_at,
                    Stamp {
                        stream: next as u16,
                        seq,
                        tsc: now,
                    },
                );
                sent[next] += 1;
                burst_streams[k] = next;
                next = if next + 1 == n { 0 } else { next + 1 };
                txq.push(m);
                k += 1;
            }
            let unsent = txq.flush();
            // The queue refused the last `unsent` packets (and freed them): give their
            // sequence numbers back so every stream's sequence stays gapless.
            for i in (k - unsent..k).rev() {
                let st = burst_streams[i];
                if st == usize::MAX {
                    new_sent -= 1;
                } else {
                    sent[st] -= 1;
                    next = st;
                }
            }
            tx_full += unsent as u64;
            total_sent += (k - unsent) as u64;
        }
        if let Some(c) = igmp.as_mut() {
            igmp_turn(
                c,
                &pool,
                now,
                start,
                end_tx,
                hz,
                &mut igmp_k,
                &mut joined,
                &mut igmp_sent,
            );
        }
        for (p, q) in rxqs.iter_mut().enumerate() {
            if q.rx_burst(&mut bufs) == 0 {
                continue;
            }
            let t = tsc();
            for m in &bufs {
                match stamp::read(m.data()) {
                    Some(st) if st.stream == stamp::NEW_FLOW => {
                        let ns = (t.saturating_sub(st.tsc) as f64 * ns_per_tick) as u64;
                        if !new_rx.record(st.seq, new_sent, ns) {
                            rx.foreign += 1;
                        }
                    }
                    Some(st) => {
                        let ns = (t.saturating_sub(st.tsc) as f64 * ns_per_tick) as u64;
                        let s = st.stream as usize;
                        rx.record(p, s, st.seq, sent.get(s).copied().unwrap_or(0), ns);
                    }
                    None => rx.foreign += 1,
                }
            }
            total_rx += bufs.len() as u64;
            Mbuf::free_bulk(&mut bufs);
        }
        for q in &mut extra_rxqs {
            let n = q.rx_burst(&mut bufs);
            rx.foreign += n as u64;
            total_rx += n as u64;
            Mbuf::free_bulk(&mut bufs);
        }
        turns += 1;
        if turns & 1023 == 0 {
            progress.sent.store(total_sent, Ordering::Relaxed);
            progress.received.store(total_rx, Ordering::Relaxed);
        }
    }
    progress.sent.store(total_sent, Ordering::Relaxed);
    progress.received.store(total_rx, Ordering::Relaxed);
    Outcome {
        sent,
        tx_full,
        no_mbuf,
        rx,
        tx_secs: duration,
        new_sent,
        new_rx,
        new_first_at,
        new_last_at,
        sent_at_storm,
        igmp: igmp.map(|_| igmp_sent),
    }
}

/// Rewrites the IPv4 source and destination (and the group MAC) of an untagged Ethernet/IPv4
/// frame, and its header checksum.
fn set_source_group(frame: &mut [u8], src: std::net::Ipv4Addr, group: std::net::Ipv4Addr) {
    const IP: usize = 14;
    let ihl = usize::from(frame[IP] & 0x0f) * 4;
    frame[..6].copy_from_slice(&dataplane::wire::ether::multicast_mac(group).0);
    frame[IP + 12..IP + 16].copy_from_slice(&src.octets());
    frame[IP + 16..IP + 20].copy_from_slice(&group.octets());
    frame[IP + 10..IP + 12].copy_from_slice(&[0, 0]);
    let mut sum = 0u32;
    for c in frame[IP..IP + ihl].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    frame[IP + 10..IP + 12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}
