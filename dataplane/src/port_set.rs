//! The router's ports after start: which queue the control core sends on, which ports run,
//! and the retries that bring a late or lost peer in.
//!
//! - **Control transmit.** Where a port has a tx queue beyond the workers' (the device has
//!   one to spare and its peer does not limit the count), the control core sends on it
//!   directly. Otherwise its frames go through worker 0's tx queue of that port, over the
//!   worker's control link (see [`crate::worker::control_link`]): bounded, counted, the worker
//!   never waits. A memif port is always given one tx queue per worker and no more (unless
//!   the config asks for more): a memif client that offers more rings than the server has
//!   queues is refused at the handshake ("Invalid ring index"), and the peer's count cannot be
//!   known before connecting. pktgen-dpdk gives a memif port one queue pair by default.
//! - **Ports that cannot start** (a memif server that is not listening yet) do not stop the
//!   router: they stay link-down, are logged once at warning level with the driver's reason,
//!   counted, and started again every [`RETRY_EVERY`]. Their rx queues stay with the control
//!   core until the port starts, so no worker polls a port that is not started.
//! - **A memif client whose link is down** for [`RESTART_AFTER`] (the server went away, or
//!   refused the connection) is restarted: the workers hand its rx queues back and stop
//!   sending on it, then it is stopped and started again, which makes the driver connect anew
//!   (DPDK 22.11's memif client connects only when started).
//! - A port whose link is still down [`WARN_AFTER`] after it started is a warning, once per
//!   down period.

use crate::dpdk::{Mbuf, Mempool, Port, RxQueue, TxQueue};
use crate::worker::control_link::{ControlEnd, FromWorker, ToWorker};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often a port that could not start is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);
/// How long a memif client's link may stay down before the port is restarted to reconnect.
pub const RESTART_AFTER: Duration = Duration::from_secs(2);
/// How long a started port's link may stay down before that is a warning.
pub const WARN_AFTER: Duration = Duration::from_secs(3);

/// How the control core sends on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlTxMode {
    /// On a tx queue of its own (this queue index).
    OwnQueue(u16),
    /// Through this worker's tx queue of the port (a single-queue device or a memif peer with
    /// one queue pair).
    Worker(usize),
}

impl std::fmt::Display for ControlTxMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlTxMode::OwnQueue(q) => write!(f, "own-queue:{q}"),
            ControlTxMode::Worker(w) => write!(f, "worker:{w}"),
        }
    }
}

/// A port's state as `show interfaces` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortStatus {
    /// Started and used by the workers (false while it cannot start, or restarts).
    pub running: bool,
    /// How the control core sends on it.
    pub control_tx: ControlTxMode,
    /// Why it last failed to start, if it ever did.
    pub last_error: Option<String>,
    /// Failed start attempts.
    pub start_failures: u64,
    /// Restarts to reconnect a memif client whose link stayed down.
    pub restarts: u64,
    /// Control frames handed to the port's queue (own queue) or to the worker's ring.
    pub control_frames: u64,
    /// Control frames refused: the port not running, no mbuf, or the queue or ring full.
    pub control_refused: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Started; its rx queues are with the workers.
    Running,
    /// Waiting for every worker to hand back its rx queues (`acks` still due).
    Parking { acks: usize },
    /// Not started; its rx queues are with the control core.
    Stopped,
}

enum ControlTx {
    Own(Box<TxQueue>),
    Worker(usize),
}

struct Life {
    phase: Phase,
    /// A memif client: restarted when its link stays down.
    restartable: bool,
    /// Its socket: a retry is tried only once a server listens there (the driver logs an
    /// error for every failed connection).
    peer_socket: Option<String>,
    next_attempt: Instant,
    /// Since when the link is down while running (None: up, or not running).
    down_since: Option<Instant>,
    warned: bool,
    /// A restart was logged in this down period.
    restart_logged: bool,
    /// Rx queues the control core holds, each with the worker it belongs to.
    held_rx: Vec<(usize, RxQueue)>,
    status: PortStatus,
    /// Whether the last start attempt failed (one warning per streak of failures).
    failing: bool,
}

/// The ports, their control transmit and their life cycle.
pub struct PortSet {
    ports: Vec<Port>,
    names: Vec<String>,
    /// Per port, the kernel interface whose state stands for the link (af_packet ports).
    kernel_ifaces: Vec<Option<String>>,
    control_tx: Vec<ControlTx>,
    life: Vec<Life>,
    links: Vec<ControlEnd>,
    pool: Mempool,
}

/// One port as [`PortSet::new`] takes it.
pub struct PortSetup {
    /// The started (or not) port.
    pub port: Port,
    /// How logs name the port (its index).
    pub name: String,
    /// See [`crate::router::PortSpec::kernel_iface`].
    pub kernel_iface: Option<String>,
    /// A memif client.
    pub restartable: bool,
    /// The socket a memif client connects to.
    pub peer_socket: Option<String>,
    /// The control core's own tx queue, if the port has one.
    pub own_tx: Option<TxQueue>,
    /// `Err(reason)` if the port did not start; its rx queues are in `held_rx`.
    pub started: Result<(), String>,
    /// Rx queues of a port that did not start, with their workers.
    pub held_rx: Vec<(usize, RxQueue)>,
}

impl PortSet {
    /// The ports in index order, with each worker's control end in worker order.
    pub fn new(setups: Vec<PortSetup>, links: Vec<ControlEnd>, pool: Mempool) -> PortSet {
        let now = Instant::now();
        let mut set = PortSet {
            ports: Vec::new(),
            names: Vec::new(),
            kernel_ifaces: Vec::new(),
            control_tx: Vec::new(),
            life: Vec::new(),
            links,
            pool,
        };
        for s in setups {
            let (control_tx, mode) = match s.own_tx {
                Some(q) => {
                    let n = q.queue();
                    (ControlTx::Own(Box::new(q)), ControlTxMode::OwnQueue(n))
                }
                None => (ControlTx::Worker(0), ControlTxMode::Worker(0)),
            };
            let failed = s.started.as_ref().err().cloned();
            set.life.push(Life {
                phase: if failed.is_some() {
                    Phase::Stopped
                } else {
                    Phase::Running
                },
                restartable: s.restartable,
                peer_socket: s.peer_socket,
                next_attempt: now + RETRY_EVERY,
                down_since: Some(now),
                warned: false,
                restart_logged: false,
                held_rx: s.held_rx,
                status: PortStatus {
                    running: failed.is_none(),
                    control_tx: mode,
                    start_failures: u64::from(failed.is_some()),
                    last_error: failed.clone(),
                    restarts: 0,
                    control_frames: 0,
                    control_refused: 0,
                },
                failing: failed.is_some(),
            });
            if let Some(e) = failed {
                eprintln!(
                    "mrouter: warning: port {} ({}) did not start: {e}; it stays link-down and is started again every {} s",
                    s.name,
                    s.port.name(),
                    RETRY_EVERY.as_secs()
                );
            }
            set.ports.push(s.port);
            set.names.push(s.name);
            set.kernel_ifaces.push(s.kernel_iface);
            set.control_tx.push(control_tx);
        }
        set
    }

    /// The ports, by index.
    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    /// Whether port `port` is started and used by the workers.
    pub fn running(&self, port: usize) -> bool {
        self.life
            .get(port)
            .is_some_and(|l| l.phase == Phase::Running)
    }

    /// The kernel interface of port `port` (af_packet ports), if any.
    pub fn kernel_iface(&self, port: usize) -> Option<&str> {
        self.kernel_ifaces.get(port)?.as_deref()
    }

    /// The link as the device (or, for af_packet, the kernel interface) reports it.
    fn device_link_up(&self, port: usize) -> bool {
        if let Some(Some(iface)) = self.kernel_ifaces.get(port) {
            let state = std::fs::read_to_string(format!("/sys/class/net/{iface}/operstate"))
                .unwrap_or_default();
            return !matches!(
                state.trim(),
                "down" | "lowerlayerdown" | "notpresent" | "dormant"
            );
        }
        self.ports.get(port).is_some_and(Port::link_up)
    }

    /// Whether port `port` can carry traffic now: running and its link up.
    pub fn link_up(&self, port: usize) -> bool {
        self.running(port) && self.device_link_up(port)
    }

    /// Every port's state, by index.
    pub fn status(&self) -> Vec<PortStatus> {
        self.life
            .iter()
            .map(|l| {
                let mut s = l.status.clone();
                s.running = l.phase == Phase::Running;
                s
            })
            .collect()
    }

    /// Control frames the workers sent for the control core, refused by their tx queue, and
    /// dropped because their port had stopped, summed over the workers.
    pub fn link_totals(&self) -> (u64, u64, u64) {
        self.links.iter().fold((0, 0, 0), |(a, b, c), l| {
            (
                a + l.stats.frames_sent.load(Ordering::Relaxed),
                b + l.stats.frames_tx_full.load(Ordering::Relaxed),
                c + l.stats.frames_port_down.load(Ordering::Relaxed),
            )
        })
    }

    /// Sends `frame` out of `port` for the control core (source MAC set to the port's), on
    /// its own queue or through a worker. False if the port does not exist or is not running,
    /// no mbuf was free, or the queue or the worker's ring was full.
    pub fn send_control(&mut self, port: usize, frame: &[u8]) -> bool {
        let sent = self.try_send(port, frame);
        if let Some(l) = self.life.get_mut(port) {
            if sent {
                l.status.control_frames += 1;
            } else {
                l.status.control_refused += 1;
            }
        }
        sent
    }

    fn try_send(&mut self, port: usize, frame: &[u8]) -> bool {
        if !self.running(port) {
            return false;
        }
        let Some(p) = self.ports.get(port) else {
            return false;
        };
        let Some(mut m) = Mbuf::from_bytes(&self.pool, frame) else {
            return false;
        };
        if m.data().len() >= 12 {
            m.data_mut()[6..12].copy_from_slice(&p.mac().0);
        }
        match &mut self.control_tx[port] {
            ControlTx::Own(q) => q.push(m) + q.flush() == 0,
            ControlTx::Worker(w) => match self.links.get_mut(*w) {
                Some(link) => link
                    .to_worker
                    .push(ToWorker::Frame {
                        port: port as u16,
                        mbuf: m,
                    })
                    .is_ok(),
                None => false,
            },
        }
    }

    /// The control core's periodic care of the ports (call it with every link check): takes
    /// back rx queues the workers handed over, starts ports that are stopped (every
    /// [`RETRY_EVERY`]), restarts memif clients whose link stayed down, warns about links
    /// down too long. Returns whether a port started or stopped (the link state changed).
    pub fn maintain(&mut self, now: Instant) -> bool {
        let mut changed = false;
        for w in 0..self.links.len() {
            while let Ok(msg) = self.links[w].from_worker.pop() {
                match msg {
                    FromWorker::RxQueue { port, queue } => {
                        if let Some(l) = self.life.get_mut(usize::from(port)) {
                            l.held_rx.push((w, queue));
                        }
                    }
                    FromWorker::Parked { port } => {
                        if let Some(l) = self.life.get_mut(usize::from(port)) {
                            if let Phase::Parking { acks } = &mut l.phase {
                                *acks = acks.saturating_sub(1);
                            }
                        }
                    }
                }
            }
        }
        for p in 0..self.ports.len() {
            changed |= self.maintain_port(p, now);
        }
        changed
    }

    fn maintain_port(&mut self, p: usize, now: Instant) -> bool {
        match self.life[p].phase {
            Phase::Running => {
                let up = self.device_link_up(p);
                let l = &mut self.life[p];
                if up {
                    l.down_since = None;
                    l.warned = false;
                    l.restart_logged = false;
                    return false;
                }
                let since = *l.down_since.get_or_insert(now);
                let down_for = now.saturating_duration_since(since);
                if !l.warned && down_for >= WARN_AFTER {
                    l.warned = true;
                    let hint = if self.ports[p].name().starts_with("net_memif") {
                        " (a memif peer must be there and offer at least as many queue pairs as this port has: one per worker, plus any `tx_queues` beyond that)"
                    } else {
                        ""
                    };
                    eprintln!(
                        "mrouter: warning: port {} ({}) link still down after {} s{hint}",
                        self.names[p],
                        self.ports[p].name(),
                        down_for.as_secs()
                    );
                }
                if l.restartable && down_for >= RESTART_AFTER && now >= l.next_attempt {
                    return self.park(p, now);
                }
                false
            }
            Phase::Parking { acks: 0 } => {
                if let Err(e) = self.ports[p].stop() {
                    eprintln!("mrouter: warning: {e}");
                }
                self.life[p].phase = Phase::Stopped;
                self.life[p].status.restarts += 1;
                self.start(p, now)
            }
            Phase::Parking { .. } => false,
            Phase::Stopped => {
                if now >= self.life[p].next_attempt {
                    self.start(p, now)
                } else {
                    false
                }
            }
        }
    }

    /// Asks every worker to stop using port `p` (the first step of a restart).
    fn park(&mut self, p: usize, now: Instant) -> bool {
        let workers = self.links.len();
        if self.links.iter().any(|l| l.to_worker.slots() == 0) {
            return false; // a ring is full of frames: next time
        }
        for l in &mut self.links {
            let _ = l.to_worker.push(ToWorker::Park { port: p as u16 });
        }
        let life = &mut self.life[p];
        if !life.restart_logged {
            life.restart_logged = true;
            println!(
                "mrouter: port {} ({}) link down for {} s: restarting it to connect again (every {} s while it stays down)",
                self.names[p],
                self.ports[p].name(),
                RESTART_AFTER.as_secs(),
                RESTART_AFTER.as_secs()
            );
        }
        life.phase = Phase::Parking { acks: workers };
        life.next_attempt = now + RETRY_EVERY;
        life.down_since = None;
        true
    }

    /// Starts stopped port `p`; on success its rx queues go back to their workers.
    fn start(&mut self, p: usize, now: Instant) -> bool {
        let port = &self.ports[p];
        let life = &mut self.life[p];
        life.next_attempt = now + RETRY_EVERY;
        let result = match &life.peer_socket {
            Some(sock) if !unix_socket_listening(sock) => Err(format!(
                "no memif server listens on {sock} yet (the driver's last word: {})",
                life.status.last_error.as_deref().unwrap_or("-")
            )),
            _ => port.start().map_err(|e| e.to_string()),
        };
        match result {
            Ok(()) => {
                // Not every vdev has either mode; where it has, traffic needs it.
                if let Err(e) = port.enable_allmulticast() {
                    eprintln!("mrouter: warning: {e}");
                }
                if life.failing {
                    println!("mrouter: port {} ({}) started", self.names[p], port.name());
                }
                life.failing = false;
                life.phase = Phase::Running;
                life.down_since = Some(now);
                life.next_attempt = now + RESTART_AFTER;
                for l in &mut self.links {
                    // The ring has room for these (the control core sends a few frames a
                    // second at most); a frame pushed after them is simply sent.
                    let _ = l.to_worker.push(ToWorker::Unpark { port: p as u16 });
                }
                let mut keep = Vec::new();
                for (w, queue) in life.held_rx.drain(..) {
                    match self.links[w].to_worker.push(ToWorker::AddRx {
                        port: p as u16,
                        queue,
                    }) {
                        Ok(()) => {}
                        Err(rtrb::PushError::Full(ToWorker::AddRx { queue, .. })) => {
                            keep.push((w, queue))
                        }
                        Err(_) => {}
                    }
                }
                if !keep.is_empty() {
                    // Not expected; retried by stopping and starting again.
                    life.held_rx = keep;
                    life.phase = Phase::Stopped;
                    let _ = port.stop();
                }
                true
            }
            Err(e) => {
                life.status.start_failures += 1;
                if !e.starts_with("no memif server") || life.status.last_error.is_none() {
                    life.status.last_error = Some(e.clone());
                }
                if !life.failing {
                    eprintln!(
                        "mrouter: warning: port {} ({}) did not start: {e}; started again every {} s",
                        self.names[p],
                        port.name(),
                        RETRY_EVERY.as_secs()
                    );
                }
                life.failing = true;
                false
            }
        }
    }

    /// Frees what the control core holds (its own tx queues' buffers, the rings to the
    /// workers) before the ports close.
    pub fn release(&mut self) {
        self.control_tx.clear();
        self.links.clear();
    }
}

/// Whether some process listens on the Unix socket `path` (abstract, as memif uses by
/// default, or a file), by `/proc/net/unix` of this network namespace. True when that cannot
/// be read (then the driver finds out).
fn unix_socket_listening(path: &str) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/unix") else {
        return true;
    };
    // Columns: Num RefCount Protocol Flags Type St Inode Path; a listener has flags 00010000
    // (__SO_ACCEPTCON).
    table.lines().skip(1).any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() >= 8
            && cols[3] == "00010000"
            && cols[7].strip_prefix('@').unwrap_or(cols[7]) == path
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_nobody_listens_on_is_not_listening() {
        assert!(!unix_socket_listening("/nonexistent/mrouter-test.sock"));
        let dir = std::env::temp_dir().join(format!("mrouter-ps-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("l.sock");
        let _l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(unix_socket_listening(path.to_str().unwrap()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
