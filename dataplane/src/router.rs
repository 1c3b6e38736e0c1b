//! Assembly of the data plane: configure and start ports, create the mbuf pool, give every
//! worker its rx queues and its own tx queue on every port, launch workers on their lcores, and
//! stop everything in order (workers, then ports, then EAL). A port that cannot start does not
//! stop the router: see [`crate::port_set`], which also says where the control core sends.

use crate::dpdk::{Eal, Mempool, Port, PortStats, BURST};
use crate::fib::rcu::{self, FibWriter};
use crate::fib::ForwardingTable;
use crate::port_set::{PortSet, PortSetup};
pub use crate::port_spec::{memif_identity, port_mtu, vdev_eal_args, PortSpec};
pub use crate::settings::{DataplaneLimits, StartError, DEFAULT_MBUF_DATA_ROOM};
use crate::worker::control_link;
use crate::worker::entry_counters::EntryCounters;
use crate::worker::pending::Pending;
use crate::worker::{signal, Counters, Punted, Signal, SignalRx, Worker, WorkerStats};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

mod stats;

/// Descriptors per rx and tx queue.
pub const QUEUE_DESC: u16 = 1024;
/// Per-lcore mempool cache: at least burst x a fan-out of 8 (see `Mempool::new`).
pub const POOL_CACHE: u32 = 256;

/// Where a worker runs.
enum Placement {
    /// On its own EAL lcore.
    Lcore(u32),
    /// On the main lcore, polled by [`Dataplane::poll_inline`].
    Inline(Box<Worker>),
}

/// A running data plane.
pub struct Dataplane {
    eal: Eal,
    ports: PortSet,
    pool: Mempool,
    fib: FibWriter,
    signal_rx: Vec<SignalRx>,
    punt_rx: Vec<rtrb::Consumer<Punted>>,
    copy_rx: Vec<rtrb::Consumer<Punted>>,
    entry_counters: Vec<Arc<EntryCounters>>,
    stop: Arc<AtomicBool>,
    workers: Vec<(Placement, Arc<WorkerStats>)>,
    inline_counters: Counters,
    inline_burst: Vec<crate::dpdk::Mbuf>,
    /// Every worker's fragment counters, by slot (port, then VLAN interfaces: see
    /// [`crate::worker::vlan`]).
    fragments: Vec<Arc<[AtomicU64]>>,
    /// The MTU copies are sent with on each slot (the interface's, else the port's).
    mtus: Vec<u16>,
    /// Every worker's VLAN map (with its frames for unknown VLANs).
    vlans: Vec<Arc<crate::worker::vlan::VlanMap>>,
    exceptions: Arc<crate::worker::exception::ExceptionPorts>,
    /// Kernel twins' tap ports, polled by the control core (closed before the pool is
    /// counted at stop).
    taps: Vec<crate::tap::KernelTap>,
}

/// The packet pool's size: every rx and tx descriptor (`descs`), the lcore caches of the
/// workers and the control core with a burst's stash each, what the workers may hold in their
/// pending queues, and 4096 to spare; a power of two less one (what the mempool sizes best).
/// (`mrfloor`, the benchmark's floor program, sizes its pool the same way.)
pub fn pool_size(descs: u32, workers: u32, limits: &DataplaneLimits) -> u32 {
    let held = (limits.pending_flows * limits.pending_per_flow + limits.pending_shared) as u32;
    (descs + (workers + 1) * (POOL_CACHE + BURST as u32 * 16) + workers * held + 4096)
        .next_power_of_two()
        - 1
}

impl Dataplane {
    /// Configures and starts `ports` (port index = position in the slice), then starts one
    /// worker per lcore in `worker_lcores`, or a single worker on the main lcore when it is
    /// empty (then call [`Dataplane::poll_inline`]). Rx queues are dealt round-robin over the
    /// workers.
    pub fn start(
        eal: Eal,
        ports: &[PortSpec],
        table: ForwardingTable,
        worker_lcores: &[u32],
    ) -> Result<Dataplane, StartError> {
        Self::start_with(eal, ports, table, worker_lcores, DataplaneLimits::default())
    }

    /// [`Dataplane::start`] with pending-queue bounds other than the defaults.
    pub fn start_with(
        eal: Eal,
        ports: &[PortSpec],
        table: ForwardingTable,
        worker_lcores: &[u32],
        limits: DataplaneLimits,
    ) -> Result<Dataplane, StartError> {
        let n_workers = worker_lcores.len().max(1);
        let handles: Vec<Port> = ports
            .iter()
            .map(|p| Port::by_name(p.eal_name()))
            .collect::<Result<_, _>>()?;
        let descs: u32 = ports
            .iter()
            .map(|p| {
                (p.rx_queues as u32 + p.tx_queues.max(n_workers as u16) as u32) * QUEUE_DESC as u32
            })
            .sum();
        let pool_size = pool_size(descs, n_workers as u32, &limits);
        let room = limits
            .mbuf_data_room
            .saturating_add(crate::dpdk::MBUF_HEADROOM);
        let pool =
            Mempool::with_data_room("mrouter_pkt", pool_size, POOL_CACHE, eal.socket_id(), room)?;
        let mut macs = Vec::with_capacity(ports.len());
        let mut max_frames = Vec::with_capacity(ports.len());
        let mut mtus = Vec::with_capacity(ports.len());
        let mut port_mtus = Vec::with_capacity(ports.len());
        let mut started = Vec::with_capacity(ports.len());
        for (spec, port) in ports.iter().zip(&handles) {
            // One tx queue per worker, plus one for the control core where the device has it
            // and no peer limits the count (otherwise its frames go through worker 0).
            let workers_txq = spec.tx_queues.max(n_workers as u16);
            let txq = if spec.peer_limited() {
                workers_txq
            } else {
                (n_workers as u16 + 1)
                    .max(workers_txq)
                    .min(port.max_queues().1.max(workers_txq))
            };
            let index = macs.len();
            if let Some(mtu) = spec.mtu {
                if usize::from(mtu) + crate::dpdk::ETHER_HEADER_LEN > pool.data_room() {
                    let data_room = pool.data_room() as u16;
                    return Err(StartError::MbufTooSmall {
                        port: index,
                        mtu,
                        data_room,
                    });
                }
            }
            port.configure(spec.rx_queues, txq, QUEUE_DESC, &pool)?;
            if let Some((id, server, socket)) = spec.memif_identity() {
                if !port.guard_memif_bursts(id, server, socket) {
                    eprintln!(
                        "mrouter: warning: port {index} ({}): the memif driver's disconnect lock was not found (a DPDK other than 22.11?): a peer that goes away while a worker polls this port may crash mrouter",
                        port.name()
                    );
                }
            }
            if let Some(mtu) = spec.mtu {
                port.set_mtu(mtu).map_err(|source| StartError::PortMtu {
                    port: index,
                    mtu,
                    source,
                })?;
            }
            // A port that cannot start (a memif server not listening yet) starts link-down
            // and is retried; configuration errors above are the config's and stop us.
            let result = port.start().map_err(|e| e.to_string());
            if result.is_ok() {
                port.enable_allmulticast()?;
            }
            started.push(result);
            macs.push(port.mac().0);
            let port_mtu = port_mtu(spec, port);
            let mtu = match spec.interface_mtu {
                Some(mtu) if mtu > port_mtu => {
                    return Err(StartError::InterfaceMtu {
                        port: index,
                        mtu,
                        port_mtu,
                    })
                }
                Some(mtu) => mtu,
                None => port_mtu,
            };
            mtus.push(mtu);
            // An untagged Ethernet header on top of the MTU.
            max_frames.push(u32::from(mtu) + crate::dpdk::ETHER_HEADER_LEN as u32);
            port_mtus.push(port_mtu);
        }
        let vlan_specs: Vec<&[crate::worker::vlan::VlanSpec]> =
            ports.iter().map(|p| p.vlans.as_slice()).collect();
        // The VLAN interfaces' MTUs follow the ports' in slot order.
        let vlan_mtus = crate::worker::vlan::slot_mtus(&vlan_specs, &port_mtus).map_err(
            |(port, mtu, port_mtu)| StartError::InterfaceMtu {
                port,
                mtu,
                port_mtu,
            },
        )?;
        mtus.extend(vlan_mtus);
        let slots = mtus.len();
        let mut vlans = Vec::with_capacity(n_workers);
        let chains: Vec<bool> = handles.iter().map(Port::supports_chains).collect();
        let exceptions = Arc::new(crate::worker::exception::ExceptionPorts::new(&macs));
        let (mut fib, readers) = rcu::new(n_workers);
        for (source, group, route) in table.routes() {
            fib.insert(source, group, route.clone());
        }
        fib.publish();
        let stop = Arc::new(AtomicBool::new(false));
        let hz = crate::dpdk::tsc_hz();
        let mut signal_rx = Vec::with_capacity(n_workers);
        let mut punt_rx = Vec::with_capacity(n_workers);
        let mut copy_rx = Vec::with_capacity(n_workers);
        let mut entry_counters = Vec::with_capacity(n_workers);
        let mut control_ends = Vec::with_capacity(n_workers);
        let mut fragments = Vec::with_capacity(n_workers);
        let mut built: Vec<Worker> = readers
            .into_iter()
            .enumerate()
            .map(|(w, fib)| Worker {
                signals: {
                    let (tx, rx) = signal::channel(hz);
                    signal_rx.push(rx);
                    tx
                },
                pending: Pending::with_limits(
                    hz,
                    limits.pending_flows,
                    limits.pending_per_flow,
                    limits.pending_shared,
                ),
                own_sources: table.own_sources().into(),
                control: std::thread::current(),
                link: {
                    let (mut link, end) = control_link::link(ports.len());
                    for (p, s) in started.iter().enumerate() {
                        if s.is_err() {
                            link.set_parked(p as u16);
                        }
                    }
                    control_ends.push(end);
                    link
                },
                entries: {
                    let e = Arc::new(EntryCounters::new(
                        crate::worker::entry_counters::COUNTED_ENTRIES,
                        slots,
                    ));
                    entry_counters.push(Arc::clone(&e));
                    e
                },
                punt: {
                    let (tx, rx) = signal::punt_channel();
                    punt_rx.push(rx);
                    tx
                },
                copies: {
                    let (tx, rx) = signal::copy_channel();
                    copy_rx.push(rx);
                    tx
                },
                rx: Vec::new(),
                tx: handles
                    .iter()
                    .map(|p| p.take_tx_queue(w as u16).expect("tx queues >= workers"))
                    .collect(),
                ports: macs
                    .iter()
                    .zip(&max_frames)
                    .zip(&chains)
                    .map(
                        |((&mac, &max_frame), &chains)| crate::worker::replicate::PortOut {
                            mac,
                            chains,
                            max_frame,
                        },
                    )
                    .collect(),
                fragments: {
                    let f: Arc<[AtomicU64]> = (0..slots).map(|_| AtomicU64::new(0)).collect();
                    fragments.push(Arc::clone(&f));
                    f
                },
                pool,
                stash: crate::dpdk::MbufStash::with_capacity(BURST * 16),
                copy_limit: limits.copy_limit,
                fib,
                stop: Arc::clone(&stop),
                stats: Arc::new(WorkerStats::default()),
                clock: crate::worker::profile::StageClock::new(limits.stage_cycles),
                avx2: limits.avx2 && crate::worker::has_avx2(),
                exceptions: Arc::clone(&exceptions),
                vlans: {
                    let v = Arc::new(crate::worker::vlan::VlanMap::new(&vlan_specs, &port_mtus));
                    vlans.push(Arc::clone(&v));
                    v
                },
            })
            .collect();
        let mut next = 0;
        let mut setups = Vec::with_capacity(ports.len());
        for (index, ((spec, port), started)) in ports.iter().zip(handles).zip(started).enumerate() {
            let mut held_rx = Vec::new();
            for q in 0..spec.rx_queues {
                let rxq = port.take_rx_queue(q).expect("rx queue configured");
                let w = next % n_workers;
                if started.is_ok() {
                    built[w].rx.push((index as u16, rxq));
                } else {
                    held_rx.push((w, rxq));
                }
                next += 1;
            }
            setups.push(PortSetup {
                own_tx: port.take_tx_queue(n_workers as u16),
                name: index.to_string(),
                kernel_iface: spec.kernel_iface().map(str::to_string),
                restartable: spec.reconnects_by_restart(),
                peer_socket: spec.memif_socket().map(str::to_string),
                started,
                held_rx,
                port,
            });
        }
        let mut dp = Dataplane {
            eal,
            ports: PortSet::new(setups, control_ends, pool),
            pool,
            fib,
            signal_rx,
            punt_rx,
            copy_rx,
            entry_counters,
            stop,
            workers: Vec::new(),
            inline_counters: Counters::default(),
            inline_burst: Vec::with_capacity(BURST),
            fragments,
            mtus,
            vlans,
            exceptions,
            taps: Vec::new(),
        };
        if worker_lcores.is_empty() {
            let w = built.pop().expect("one worker");
            let stats = Arc::clone(&w.stats);
            dp.workers.push((Placement::Inline(Box::new(w)), stats));
            return Ok(dp);
        }
        for (w, &lcore) in built.into_iter().zip(worker_lcores) {
            let stats = Arc::clone(&w.stats);
            if let Err(source) = dp.eal.launch(lcore, move || {
                w.run();
                0
            }) {
                dp.shutdown();
                return Err(StartError::Launch { lcore, source });
            }
            dp.workers.push((Placement::Lcore(lcore), stats));
        }
        Ok(dp)
    }

    /// Runs `turns` poll-loop turns of the main-lcore worker (no-op when workers have lcores).
    /// Returns the packets received in those turns.
    pub fn poll_inline(&mut self, turns: usize) -> u64 {
        let before = self.inline_counters.rx_packets;
        for (placement, stats) in &mut self.workers {
            if let Placement::Inline(w) = placement {
                for _ in 0..turns {
                    w.poll_once(&mut self.inline_burst, &mut self.inline_counters);
                    w.fib.quiescent();
                }
                stats.publish(&self.inline_counters);
            }
        }
        self.inline_counters.rx_packets - before
    }

    /// The control core's handle on the forwarding table: stage changes with it, then
    /// [`Dataplane::publish`].
    pub fn fib(&mut self) -> &mut FibWriter {
        &mut self.fib
    }

    /// Publishes staged table changes; returns the epoch to wait for with
    /// [`Dataplane::synchronize`].
    pub fn publish(&mut self) -> u64 {
        let epoch = self.fib.publish();
        // A worker on the main lcore is between turns whenever this runs: it holds nothing.
        for (placement, _) in &mut self.workers {
            if let Placement::Inline(w) = placement {
                w.fib.quiescent();
            }
        }
        epoch
    }

    /// Waits until no worker can still use table state from before `epoch` (every worker
    /// passed a quiescent point). False if a worker did not within `timeout`.
    pub fn synchronize(&mut self, epoch: u64, timeout: std::time::Duration) -> bool {
        self.fib.synchronize(epoch, timeout)
    }

    /// This worker-side tx queue of a port, for a control core (or a test) that sends packets
    /// of its own; `None` if the queue does not exist or belongs to a worker.
    pub fn take_tx_queue(&self, port: usize, queue: u16) -> Option<crate::dpdk::TxQueue> {
        self.ports.ports().get(port)?.take_tx_queue(queue)
    }

    /// Takes up to `max` signals (misses, wrong-interface packets) from the workers' rings, in
    /// turn, and gives each to `f`. Returns how many were taken. Bounded work per call.
    pub fn drain_signals(&mut self, max: usize, mut f: impl FnMut(Signal)) -> usize {
        self.drain_signals_by_worker(max, |_, s| f(s))
    }

    /// [`Dataplane::drain_signals`], giving `f` the index of the worker each signal came from.
    pub fn drain_signals_by_worker(
        &mut self,
        max: usize,
        mut f: impl FnMut(usize, Signal),
    ) -> usize {
        let mut taken = 0;
        let mut progress = true;
        while taken < max && progress {
            progress = false;
            for (w, rx) in self.signal_rx.iter_mut().enumerate() {
                if taken >= max {
                    break;
                }
                if let Ok(s) = rx.pop() {
                    f(w, s);
                    taken += 1;
                    progress = true;
                }
            }
        }
        taken
    }

    /// Takes up to `max` control packets punted by the workers and gives each, with the index
    /// of the port it arrived on, to `f`. Returns how many were taken.
    pub fn drain_control(
        &mut self,
        max: usize,
        mut f: impl FnMut(u16, crate::dpdk::Mbuf),
    ) -> usize {
        let mut taken = 0;
        for rx in &mut self.punt_rx {
            while taken < max {
                let Ok(p) = rx.pop() else { break };
                f(p.port, p.mbuf);
                taken += 1;
            }
        }
        taken
    }

    /// Takes up to `max` copies of packets of entries flagged
    /// [`crate::fib::EntryFlags::COPY_TO_CONTROL`] and gives each, with the index of the port
    /// its packet arrived on, to `f`. Returns how many were taken.
    pub fn drain_entry_copies(
        &mut self,
        max: usize,
        mut f: impl FnMut(u16, crate::dpdk::Mbuf),
    ) -> usize {
        let mut taken = 0;
        for rx in &mut self.copy_rx {
            while taken < max {
                let Ok(p) = rx.pop() else { break };
                f(p.port, p.mbuf);
                taken += 1;
            }
        }
        taken
    }

    /// Sends `frame` (a whole Ethernet frame; its source MAC is set to the port's) out of port
    /// `port` for the control core: on its own tx queue where the port has one, otherwise
    /// through worker 0's queue (see [`crate::port_set`]). False if the port does not exist or
    /// is not running, no mbuf was free, or the queue (or the worker's ring) was full.
    pub fn send_control(&mut self, port: usize, frame: &[u8]) -> bool {
        self.ports.send_control(port, frame)
    }

    /// Punts port `port`'s exception traffic (ARP, unicast to its MAC, broadcast) to the
    /// control core from now on, or drops it as `not_ipv4`/`not_multicast` again (`on`
    /// false, the default): for the port's kernel twin (see [`crate::worker::exception`]).
    pub fn set_exception_punt(&self, port: usize, on: bool) {
        self.exceptions.set(port, on);
    }

    /// Creates a kernel twin's tap port (see [`crate::tap`]) on the packet pool; returns its
    /// index for [`Dataplane::tap`].
    pub fn add_tap(
        &mut self,
        iface: &str,
        mac: [u8; 6],
        mtu: u16,
    ) -> Result<usize, crate::dpdk::DpdkError> {
        let vdev = format!("net_tap_mrouter{}", self.taps.len());
        let tap = crate::tap::KernelTap::create(&vdev, iface, mac, mtu, &self.pool)?;
        self.taps.push(tap);
        Ok(self.taps.len() - 1)
    }

    /// Hands `frame` to tap `i`'s kernel side (a copy from the packet pool); false if there
    /// is no such tap, no mbuf, or the tap refused it.
    pub fn tap_send(&mut self, i: usize, frame: &[u8]) -> bool {
        let Some(tap) = self.taps.get_mut(i) else {
            return false;
        };
        crate::dpdk::Mbuf::from_bytes(&self.pool, frame).is_some_and(|m| tap.send(m))
    }

    /// Up to `max` frames (rounded up to a burst) the kernel sent on tap `i`, each given to
    /// `f`; returns how many.
    pub fn tap_recv(&mut self, i: usize, max: usize, mut f: impl FnMut(&[u8])) -> usize {
        let Some(tap) = self.taps.get_mut(i) else {
            return 0;
        };
        let mut read = 0;
        let mut burst = Vec::with_capacity(BURST);
        while read < max {
            let n = tap.recv(&mut burst);
            if n == 0 {
                break;
            }
            read += n;
            for m in burst.drain(..) {
                f(m.data());
            }
        }
        read
    }

    /// Sets tap `i`'s kernel interface up or down.
    pub fn tap_set_link(&mut self, i: usize, up: bool) -> Result<(), crate::dpdk::DpdkError> {
        match self.taps.get(i) {
            Some(tap) => tap.set_link(up),
            None => Ok(()),
        }
    }

    /// The control core's care of the ports, with every link check: starts ports that could
    /// not start, restarts memif clients whose link stayed down, warns about links down too
    /// long. True if a port started or stopped.
    pub fn maintain_ports(&mut self) -> bool {
        self.ports.maintain(std::time::Instant::now())
    }

    fn shutdown(&mut self) {
        // Relaxed is enough: the workers only need to see it eventually, and the wait below
        // synchronises with their exit.
        self.stop.store(true, Ordering::Relaxed);
        for (placement, stats) in &mut self.workers {
            match placement {
                Placement::Lcore(l) => {
                    self.eal.wait(*l);
                }
                Placement::Inline(w) => {
                    w.finish(&mut self.inline_counters);
                    stats.publish(&self.inline_counters);
                }
            }
        }
    }

    /// Stops the workers, collects their final counters and the final port counters, closes
    /// the ports (pcap ports write their files out here) and releases EAL.
    pub fn stop(self) -> (Vec<Counters>, Vec<PortStats>) {
        let stopped = self.stop_and_count();
        (stopped.workers, stopped.ports)
    }

    /// [`Dataplane::stop`], also counting the mbufs still in use once everything the data plane
    /// held (workers' pending queues and tx buffers, punt rings, control queues, the ports' rx
    /// rings) has been freed: anything above 0 is a leak, or an mbuf the caller still holds.
    pub fn stop_and_count(mut self) -> Stopped {
        self.shutdown();
        let counters = self.worker_counters();
        let stage_cycles = self.worker_stage_cycles();
        let ports = self.port_stats();
        // Workers, punt rings and the control queues hold mbufs that must go before the ports
        // close and EAL is released.
        self.workers.clear();
        self.punt_rx.clear();
        self.copy_rx.clear();
        for tap in self.taps.drain(..) {
            if let Err(e) = tap.close() {
                eprintln!("mrouter: {e}");
            }
        }
        self.ports.release();
        for p in self.ports.ports() {
            if let Err(e) = p.close() {
                eprintln!("mrouter: {e}");
            }
        }
        // Read before EAL releases the memory the pool lives in.
        let mbufs_in_use = self.pool.in_use();
        if let Err(e) = self.eal.cleanup() {
            eprintln!("mrouter: {e}");
        }
        Stopped {
            workers: counters,
            stage_cycles,
            ports,
            mbufs_in_use,
        }
    }
}

/// What [`Dataplane::stop_and_count`] reports.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Each worker's final counters, in worker order.
    pub workers: Vec<Counters>,
    /// Each worker's cycles per loop stage (all zero unless measured).
    pub stage_cycles: Vec<crate::worker::profile::StageBudget>,
    /// Every port's final counters, by port index.
    pub ports: Vec<PortStats>,
    /// Mbufs of the packet pool still in use after everything was freed and the ports closed.
    pub mbufs_in_use: u32,
}
