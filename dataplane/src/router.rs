//! Assembly of the data plane: configure and start ports, create the mbuf pool, give every
//! worker its rx queues and its own tx queue on every port, launch workers on their lcores, and
//! stop everything in order (workers, then ports, then EAL). A port that cannot start does not
//! stop the router: see [`crate::port_set`], which also says where the control core sends.

use crate::dpdk::{DpdkError, Eal, LaunchError, Mempool, Port, PortStats, BURST};
use crate::fib::rcu::{self, FibWriter};
use crate::fib::ForwardingTable;
use crate::port_set::{PortSet, PortSetup, PortStatus};
use crate::worker::control_link;
use crate::worker::entry_counters::EntryCounters;
use crate::worker::pending::Pending;
use crate::worker::{signal, Counters, Punted, Signal, SignalRx, Worker, WorkerStats};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Descriptors per rx and tx queue.
pub const QUEUE_DESC: u16 = 1024;
/// Per-lcore mempool cache: at least burst x a fan-out of 8 (see `Mempool::new`).
pub const POOL_CACHE: u32 = 256;

/// Bounds on what the workers hold for flows being resolved (see [`Pending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataplaneLimits {
    /// Flows each worker holds first packets for.
    pub pending_flows: usize,
    /// Packets held per flow.
    pub pending_per_flow: usize,
    /// Workers measure the cycles of each loop stage (`worker::profile`).
    pub stage_cycles: bool,
}

impl Default for DataplaneLimits {
    fn default() -> Self {
        DataplaneLimits {
            pending_flows: crate::worker::pending::FLOWS,
            pending_per_flow: crate::worker::pending::PER_FLOW,
            stage_cycles: false,
        }
    }
}

/// One port as the router wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// Device as given in the config: vdev devargs (`net_pcap0,rx_pcap=x.pcap`) or a PCI address.
    pub device: String,
    /// Rx queues (spread over the workers).
    pub rx_queues: u16,
    /// Tx queues wanted; raised to the number of workers, which each need their own. One more
    /// than the workers' gives the control core a queue of its own; where this does not ask
    /// for one, the control core gets one only if the device has a queue to spare and is not
    /// a memif port (whose peer limits the count: see [`crate::port_set`]).
    pub tx_queues: u16,
    /// MTU to set, if any.
    pub mtu: Option<u16>,
}

impl PortSpec {
    /// The name EAL gives the device: the devargs up to the first comma.
    pub fn eal_name(&self) -> &str {
        self.device.split(',').next().unwrap_or(&self.device)
    }

    /// Whether the device is a virtual device (`net_*`) rather than a bus address.
    pub fn is_vdev(&self) -> bool {
        self.device.starts_with("net_")
    }

    /// The kernel interface behind an af_packet port (`iface=` in its devargs). That driver
    /// reports its link up from the start whatever the interface does, so the kernel's
    /// operational state is read instead.
    pub fn kernel_iface(&self) -> Option<&str> {
        if !self.device.starts_with("net_af_packet") {
            return None;
        }
        self.device
            .split(',')
            .find_map(|kv| kv.strip_prefix("iface="))
            .filter(|i| !i.is_empty() && !i.contains(['/', '.']))
    }

    /// Whether the device's queue count is set by its peer (memif: a client offering more
    /// rings than the server has queues is refused), so no queue beyond what the config asks
    /// for is added for the control core.
    pub fn peer_limited(&self) -> bool {
        self.device.starts_with("net_memif")
    }

    /// A memif client (the driver's default role), which connects only when started: it is
    /// restarted while its link stays down.
    pub fn reconnects_by_restart(&self) -> bool {
        self.peer_limited() && !self.device.split(',').any(|kv| kv == "role=server")
    }

    /// The socket a memif client connects to (`socket=`, default `/run/memif.sock`), so a
    /// retry can first look whether a server listens there.
    pub fn memif_socket(&self) -> Option<&str> {
        if !self.reconnects_by_restart() {
            return None;
        }
        Some(
            self.device
                .split(',')
                .find_map(|kv| kv.strip_prefix("socket="))
                .unwrap_or("/run/memif.sock"),
        )
    }

    /// The EAL arguments that create or allow the device.
    pub fn eal_args(&self) -> [String; 2] {
        if self.is_vdev() {
            ["--vdev".into(), self.device.clone()]
        } else {
            ["-a".into(), self.device.clone()]
        }
    }
}

/// EAL arguments for a process that runs on virtual devices only, with no hugepages and no
/// shared runtime files (tests and tools): `program --no-huge -m MEMORY_MB --no-shconf
/// --no-pci -l LCORES --log-level *:warning`, then each port's device.
pub fn vdev_eal_args(
    program: &str,
    memory_mb: u32,
    lcores: &str,
    ports: &[PortSpec],
) -> Vec<String> {
    let mut args: Vec<String> = [
        program,
        "--no-huge",
        "-m",
        &memory_mb.to_string(),
        "--no-shconf",
        "--no-pci",
        "-l",
        lcores,
        "--log-level",
        "*:warning",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(ports.iter().flat_map(PortSpec::eal_args));
    args
}

/// Why the data plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A DPDK call failed.
    #[error(transparent)]
    Dpdk(#[from] DpdkError),
    /// A worker could not be launched.
    #[error("worker on lcore {lcore}: {source}")]
    Launch {
        /// The lcore.
        lcore: u32,
        /// Why.
        source: LaunchError,
    },
}

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
    entry_counters: Vec<Arc<EntryCounters>>,
    stop: Arc<AtomicBool>,
    workers: Vec<(Placement, Arc<WorkerStats>)>,
    inline_counters: Counters,
    inline_burst: Vec<crate::dpdk::Mbuf>,
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
        let pool_size = (descs + (n_workers as u32 + 1) * (POOL_CACHE + BURST as u32 * 16) + 4096)
            .next_power_of_two()
            - 1;
        let pool = Mempool::new("mrouter_pkt", pool_size, POOL_CACHE, eal.socket_id())?;
        let mut macs = Vec::with_capacity(ports.len());
        let mut max_frames = Vec::with_capacity(ports.len());
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
            port.configure(spec.rx_queues, txq, QUEUE_DESC, &pool, spec.mtu)?;
            // A port that cannot start (a memif server not listening yet) starts link-down
            // and is retried; configuration errors above are the config's and stop us.
            let result = port.start().map_err(|e| e.to_string());
            if result.is_ok() {
                port.enable_allmulticast()?;
            }
            started.push(result);
            macs.push(port.mac().0);
            // An untagged Ethernet header on top of the MTU.
            max_frames.push(u32::from(port.mtu()) + crate::dpdk::ETHER_HEADER_LEN as u32);
        }
        let chains: Vec<bool> = handles.iter().map(Port::supports_chains).collect();
        let (mut fib, readers) = rcu::new(n_workers);
        for (source, group, route) in table.routes() {
            fib.insert(source, group, route.clone());
        }
        fib.publish();
        let stop = Arc::new(AtomicBool::new(false));
        let hz = crate::dpdk::tsc_hz();
        let mut signal_rx = Vec::with_capacity(n_workers);
        let mut punt_rx = Vec::with_capacity(n_workers);
        let mut entry_counters = Vec::with_capacity(n_workers);
        let mut control_ends = Vec::with_capacity(n_workers);
        let mut built: Vec<Worker> = readers
            .into_iter()
            .enumerate()
            .map(|(w, fib)| Worker {
                signals: {
                    let (tx, rx) = signal::channel(hz);
                    signal_rx.push(rx);
                    tx
                },
                pending: Pending::with_limits(hz, limits.pending_flows, limits.pending_per_flow),
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
                        crate::worker::entry_counters::SLOTS,
                        ports.len(),
                    ));
                    entry_counters.push(Arc::clone(&e));
                    e
                },
                punt: {
                    let (tx, rx) = signal::punt_channel();
                    punt_rx.push(rx);
                    tx
                },
                rx: Vec::new(),
                tx: handles
                    .iter()
                    .map(|p| p.take_tx_queue(w as u16).expect("tx queues >= workers"))
                    .collect(),
                macs: macs.clone(),
                max_frames: max_frames.clone(),
                chains: chains.clone(),
                pool,
                stash: crate::dpdk::MbufStash::with_capacity(BURST * 8),
                fib,
                stop: Arc::clone(&stop),
                stats: Arc::new(WorkerStats::default()),
                clock: crate::worker::profile::StageClock::new(limits.stage_cycles),
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
            entry_counters,
            stop,
            workers: Vec::new(),
            inline_counters: Counters::default(),
            inline_burst: Vec::with_capacity(BURST),
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

    /// Sends `frame` (a whole Ethernet frame; its source MAC is set to the port's) out of port
    /// `port` for the control core: on its own tx queue where the port has one, otherwise
    /// through worker 0's queue (see [`crate::port_set`]). False if the port does not exist or
    /// is not running, no mbuf was free, or the queue (or the worker's ring) was full.
    pub fn send_control(&mut self, port: usize, frame: &[u8]) -> bool {
        self.ports.send_control(port, frame)
    }

    /// The control core's care of the ports, with every link check: starts ports that could
    /// not start, restarts memif clients whose link stayed down, warns about links down too
    /// long. True if a port started or stopped.
    pub fn maintain_ports(&mut self) -> bool {
        self.ports.maintain(std::time::Instant::now())
    }

    /// Every port's state (running, control transmit mode, start failures), by index.
    pub fn port_status(&self) -> Vec<PortStatus> {
        self.ports.status()
    }

    /// Control frames the workers sent for the control core, refused by their tx queue, and
    /// dropped because the port had stopped (summed over the workers).
    pub fn control_link_totals(&self) -> (u64, u64, u64) {
        self.ports.link_totals()
    }

    /// (packets, bytes) counted on entry slot `slot`, summed over the workers.
    pub fn entry_totals(&self, slot: u32) -> (u64, u64) {
        self.entry_counters.iter().fold((0, 0), |(p, b), e| {
            let (ep, eb) = e.read(slot);
            (p + ep, b + eb)
        })
    }

    /// Copies of slot `slot`'s entry handed to port `port`'s tx queues, summed over the workers.
    pub fn entry_out(&self, slot: u32, port: u16) -> u64 {
        self.entry_counters
            .iter()
            .map(|e| e.read_out(slot, port))
            .sum()
    }

    /// Wrong-interface packets of slot `slot`'s entry, summed over the workers.
    pub fn entry_wrong_if(&self, slot: u32) -> u64 {
        self.entry_counters
            .iter()
            .map(|e| e.read_wrong_if(slot))
            .sum()
    }

    /// Each worker's published counters, in worker order.
    pub fn worker_counters(&self) -> Vec<Counters> {
        self.workers.iter().map(|(_, s)| s.read()).collect()
    }

    /// Cycles per loop stage of each worker (published when the workers stop; all zero unless
    /// `DataplaneLimits::stage_cycles` was set).
    pub fn worker_stage_cycles(&self) -> Vec<crate::worker::profile::StageBudget> {
        self.workers.iter().map(|(_, s)| s.stages.read()).collect()
    }

    /// Lcore of each worker (`None` = main lcore).
    pub fn worker_lcores(&self) -> Vec<Option<u32>> {
        self.workers
            .iter()
            .map(|(p, _)| match p {
                Placement::Lcore(l) => Some(*l),
                Placement::Inline(_) => None,
            })
            .collect()
    }

    /// Whether each port has a tx queue of the control core's own, by port index (the
    /// others' control frames go through a worker).
    pub fn control_queues(&self) -> Vec<bool> {
        self.ports
            .status()
            .iter()
            .map(|s| matches!(s.control_tx, crate::port_set::ControlTxMode::OwnQueue(_)))
            .collect()
    }

    /// Every port's counters, by port index.
    pub fn port_stats(&self) -> Vec<PortStats> {
        self.ports.ports().iter().map(Port::stats).collect()
    }

    /// Whether port `port` can carry traffic now: started, and its link up (false for an
    /// unknown port). For an af_packet port, the kernel interface's operational state
    /// (`/sys/class/net/IFACE/operstate`: anything but down, lowerlayerdown, notpresent or
    /// dormant counts as up), as that driver always says up.
    pub fn link_up(&self, port: usize) -> bool {
        self.ports.link_up(port)
    }

    /// Every port's driver and MAC, by port index.
    pub fn port_info(&self) -> Vec<(String, String)> {
        self.ports
            .ports()
            .iter()
            .map(|p| (p.driver_name(), p.mac().to_string()))
            .collect()
    }

    /// Mbufs in use (in rx rings, tx rings and in flight).
    pub fn mbufs_in_use(&self) -> u32 {
        self.pool.in_use()
    }

    /// The packet pool the ports receive into and the workers copy from (for a control core
    /// or a test that builds packets of its own, or that needs to know the pool's state).
    pub fn pool(&self) -> Mempool {
        self.pool
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
