//! The control core's link to one worker, served once per loop turn (after the turn's tx
//! flush), never on the per-packet path:
//!
//! - **Control frames on ports where the control core has no tx queue of its own** (a
//!   single-queue device, a memif peer that offers one queue pair): the control core hands the
//!   frame (IGMP, later PIM and kernel-twin traffic) over a bounded SPSC ring, and the worker
//!   sends it on its own tx queue of that port. A full ring refuses the frame on the control
//!   side (counted there); the worker takes at most [`FRAMES_PER_TURN`] per turn and never
//!   waits. Frames the tx queue refuses are freed and counted here.
//! - **Rx queues of ports that start late or restart** (a memif peer that was not there yet,
//!   or went away): the control core gives a started port's rx queues to the worker, and takes
//!   them back before it stops the port, so no worker ever polls a port that is not started.
//!
//! Ownership of an rx queue moves over the rings (never shared), so the worker's hot loop
//! stays as it is: it polls whatever is in its rx list.

use crate::dpdk::{Mbuf, RxQueue, TxQueue};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Messages from the control core a worker takes per loop turn at most.
pub const FRAMES_PER_TURN: usize = 32;
/// Capacity of the control core's ring to a worker (frames and port commands).
pub const TO_WORKER_RING: usize = 512;
/// Capacity of a worker's ring back to the control core (rx queues handed back, acks).
pub const FROM_WORKER_RING: usize = 256;

/// What the control core asks of a worker.
pub enum ToWorker {
    /// Send this whole frame on port `port` through the worker's tx queue of that port.
    Frame {
        /// Port index.
        port: u16,
        /// The frame (source MAC already set).
        mbuf: Mbuf,
    },
    /// Poll this rx queue of port `port` from now on (the port has started).
    AddRx {
        /// Port index.
        port: u16,
        /// The queue.
        queue: RxQueue,
    },
    /// Stop using port `port`: hand back its rx queues, then acknowledge with
    /// [`FromWorker::Parked`]; frames for it are dropped until an [`ToWorker::AddRx`] or
    /// [`ToWorker::Unpark`] for it.
    Park {
        /// Port index.
        port: u16,
    },
    /// Port `port` may be sent on again (it restarted; its rx queues follow as `AddRx`).
    Unpark {
        /// Port index.
        port: u16,
    },
}

/// What a worker tells the control core.
pub enum FromWorker {
    /// An rx queue of a port being parked, which this worker no longer polls.
    RxQueue {
        /// Port index.
        port: u16,
        /// The queue.
        queue: RxQueue,
    },
    /// Every rx queue of `port` this worker had was handed back and nothing more will be sent
    /// on it: the control core may stop the port once every worker said so.
    Parked {
        /// Port index.
        port: u16,
    },
}

/// The link's counters, written by the worker only (plain load + store, once per frame on a
/// cold path), read by the control core. Relaxed: statistics, one turn stale at worst.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Control frames handed to a tx queue and sent.
    pub frames_sent: AtomicU64,
    /// Control frames the tx queue refused (freed).
    pub frames_tx_full: AtomicU64,
    /// Control frames for a port that was parked (not started): freed.
    pub frames_port_down: AtomicU64,
}

impl LinkStats {
    fn bump(c: &AtomicU64, n: u64) {
        if n > 0 {
            c.store(c.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        }
    }
}

/// The worker's end of the link.
pub struct ControlLink {
    from_control: rtrb::Consumer<ToWorker>,
    to_control: rtrb::Producer<FromWorker>,
    /// Ports parked: frames for them are dropped, and their rx queues are not polled.
    parked: Vec<bool>,
    /// Park requests whose rx queues could not all be handed back yet (ring full).
    parking: Vec<u16>,
    stats: Arc<LinkStats>,
}

/// The control core's end of one worker's link.
pub struct ControlEnd {
    /// Frames and commands to the worker.
    pub to_worker: rtrb::Producer<ToWorker>,
    /// Rx queues and acks from the worker.
    pub from_worker: rtrb::Consumer<FromWorker>,
    /// The worker's counters of this link.
    pub stats: Arc<LinkStats>,
}

/// A link for a worker of a router with `ports` ports: the worker's end and the control
/// core's.
pub fn link(ports: usize) -> (ControlLink, ControlEnd) {
    let (to_worker, from_control) = rtrb::RingBuffer::new(TO_WORKER_RING);
    let (to_control, from_worker) = rtrb::RingBuffer::new(FROM_WORKER_RING);
    let stats = Arc::new(LinkStats::default());
    (
        ControlLink {
            from_control,
            to_control,
            parked: vec![false; ports],
            parking: Vec::new(),
            stats: Arc::clone(&stats),
        },
        ControlEnd {
            to_worker,
            from_worker,
            stats,
        },
    )
}

impl ControlLink {
    /// Marks port `port` parked before the worker starts (a port that did not start): frames
    /// for it are dropped until its rx queues arrive.
    pub fn set_parked(&mut self, port: u16) {
        if let Some(p) = self.parked.get_mut(usize::from(port)) {
            *p = true;
        }
    }

    /// Once per loop turn, after the turn's tx flush: takes up to [`FRAMES_PER_TURN`] messages
    /// from the control core. Frames go out on this worker's tx queue of their port (flushed
    /// here); rx queues are added to or taken from `rx`. Bounded, never waits; costs one ring
    /// check when there is nothing to do.
    #[inline]
    pub fn turn(&mut self, rx: &mut Vec<(u16, RxQueue)>, tx: &mut [TxQueue]) {
        if self.from_control.is_empty() && self.parking.is_empty() {
            return;
        }
        self.serve(rx, tx);
    }

    #[cold]
    fn serve(&mut self, rx: &mut Vec<(u16, RxQueue)>, tx: &mut [TxQueue]) {
        let mut pushed = 0u64; // bit per port pushed to (ports beyond 63 flush every port)
        let mut any = false;
        let (mut down, mut sent, mut refused) = (0, 0, 0);
        for _ in 0..FRAMES_PER_TURN {
            let Ok(msg) = self.from_control.pop() else {
                break;
            };
            match msg {
                ToWorker::Frame { port, mbuf } => {
                    let p = usize::from(port);
                    if self.parked.get(p).copied().unwrap_or(true) || p >= tx.len() {
                        down += 1;
                        drop(mbuf);
                        continue;
                    }
                    // The turn's flush left the buffer empty and at most FRAMES_PER_TURN are
                    // pushed, so push never forces a flush here.
                    refused += tx[p].push(mbuf) as u64;
                    sent += 1;
                    pushed |= 1u64.checked_shl(u32::from(port)).unwrap_or(0);
                    any = true;
                }
                ToWorker::AddRx { port, queue } => {
                    if let Some(p) = self.parked.get_mut(usize::from(port)) {
                        *p = false;
                    }
                    self.parking.retain(|&q| q != port);
                    rx.push((port, queue));
                }
                ToWorker::Park { port } => {
                    if let Some(p) = self.parked.get_mut(usize::from(port)) {
                        *p = true;
                    }
                    if !self.parking.contains(&port) {
                        self.parking.push(port);
                    }
                }
                ToWorker::Unpark { port } => {
                    if let Some(p) = self.parked.get_mut(usize::from(port)) {
                        *p = false;
                    }
                    self.parking.retain(|&q| q != port);
                }
            }
        }
        if any {
            for (i, q) in tx.iter_mut().enumerate() {
                if i >= 64 || pushed & (1 << i) != 0 {
                    refused += q.flush() as u64;
                }
            }
        }
        LinkStats::bump(&self.stats.frames_sent, sent - refused.min(sent));
        LinkStats::bump(&self.stats.frames_tx_full, refused);
        LinkStats::bump(&self.stats.frames_port_down, down);
        self.hand_back(rx);
    }

    /// Hands the rx queues of ports being parked back to the control core, then acknowledges
    /// each port; what the ring cannot take now is tried again next turn.
    fn hand_back(&mut self, rx: &mut Vec<(u16, RxQueue)>) {
        let mut i = 0;
        while i < self.parking.len() {
            let port = self.parking[i];
            let mut complete = true;
            let mut j = 0;
            while j < rx.len() {
                if rx[j].0 != port {
                    j += 1;
                    continue;
                }
                if self.to_control.slots() < 2 {
                    complete = false; // keep one slot for the ack
                    break;
                }
                let (_, queue) = rx.remove(j);
                if let Err(rtrb::PushError::Full(FromWorker::RxQueue { port, queue })) =
                    self.to_control.push(FromWorker::RxQueue { port, queue })
                {
                    // Not expected (a free slot was checked): keep polling it for now.
                    rx.push((port, queue));
                    complete = false;
                    break;
                }
            }
            if complete && self.to_control.push(FromWorker::Parked { port }).is_ok() {
                self.parking.remove(i);
            } else {
                i += 1;
            }
        }
    }
}
