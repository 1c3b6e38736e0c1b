//! The poll-mode worker: rx burst -> classify -> TTL check -> route lookup -> incoming-interface
//! check -> replicate -> buffered tx, flushed once per loop turn. Misses are held in the pending
//! queue and signalled to the control core; wrong-interface packets are signalled too.
//!
//! A worker never blocks or locks, and allocates only on the miss path; it writes only its own
//! counters (see [`stats`]).

pub mod control_link;
pub mod entry_counters;
pub mod mcast_input;
pub mod pending;
pub mod replicate;
pub mod signal;
pub mod stats;

pub use mcast_input::{classify, Flow};
pub use signal::{Punted, Signal, SignalRx, SignalTx};
pub use stats::{Counters, DropReason, WorkerStats};

use crate::dpdk::{tsc, Mbuf, Mempool, RxQueue, TxQueue, BURST};
use crate::fib::rcu::FibReader;
use crate::fib::Route;
use pending::{Hold, Pending};
use replicate::Egress;
use signal::Sent;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Everything one worker owns.
pub struct Worker {
    /// The rx queues this worker polls, each with the index of its port.
    pub rx: Vec<(u16, RxQueue)>,
    /// This worker's own tx queue on every port, by port index.
    pub tx: Vec<TxQueue>,
    /// Every port's MAC address, by port index.
    pub macs: Vec<[u8; 6]>,
    /// Whether each port can send chained mbufs, by port index.
    pub chains: Vec<bool>,
    /// Pool for extra copies.
    pub pool: Mempool,
    /// Fresh mbufs for a burst's copies, taken from `pool` in one call.
    pub stash: crate::dpdk::MbufStash,
    /// This worker's read handle on the published table.
    pub fib: FibReader,
    /// Misses and wrong-interface signals to the control core.
    pub signals: SignalTx,
    /// First packets of flows being resolved.
    pub pending: Pending,
    /// Control packets to the control core.
    pub punt: rtrb::Producer<Punted>,
    /// This worker's per-entry counters.
    pub entries: Arc<entry_counters::EntryCounters>,
    /// Set by the control side to stop the loop.
    pub stop: Arc<AtomicBool>,
    /// Where this worker publishes its counters.
    pub stats: Arc<WorkerStats>,
    /// The router's own addresses (host order): such sources are dropped, never held.
    pub own_sources: Box<[u32]>,
    /// The control core's thread, unparked when a miss or a control packet is queued for it,
    /// so it need not poll the rings while idle.
    pub control: std::thread::Thread,
    /// Frames the control core sends through this worker, rx queues of ports that start late.
    pub link: control_link::ControlLink,
}

/// The parts of a worker one packet needs, borrowed apart from the rx queues.
struct Ctx<'a> {
    fib: &'a FibReader,
    entries: &'a entry_counters::EntryCounters,
    signals: &'a mut SignalTx,
    punt: &'a mut rtrb::Producer<Punted>,
    pending: &'a mut Pending,
    own_sources: &'a [u32],
    control: &'a std::thread::Thread,
    out: Egress<'a>,
    now: u64,
}

impl Worker {
    /// Polls until `stop` is set, then flushes and publishes the final counters.
    pub fn run(mut self) {
        let mut counters = Counters::default();
        let mut burst: Vec<Mbuf> = Vec::with_capacity(BURST);
        // Relaxed: the flag carries no data; a worker seeing it one turn late is fine.
        let mut published = counters;
        while !self.stop.load(Ordering::Relaxed) {
            self.poll_once(&mut burst, &mut counters);
            self.fib.quiescent();
            if counters != published {
                self.stats.publish(&counters);
                published = counters;
            }
        }
        self.finish(&mut counters);
        self.stats.publish(&counters);
    }

    /// Stopping: sends what is buffered and drops what is still held (counted as no route).
    pub fn finish(&mut self, c: &mut Counters) {
        let held = self.pending.drain_all();
        c.drop(DropReason::NoRoute, held.len() as u64);
        drop(held);
        for q in &mut self.tx {
            c.unsent(q.flush() as u64);
        }
    }

    /// One loop turn: release held packets whose entry has appeared, one burst from every rx
    /// queue, then flush every tx queue. The caller reports the quiescent state
    /// ([`FibReader::quiescent`]) between turns.
    #[inline]
    pub fn poll_once(&mut self, burst: &mut Vec<Mbuf>, c: &mut Counters) {
        let mut ctx = Ctx {
            fib: &self.fib,
            entries: &self.entries,
            signals: &mut self.signals,
            punt: &mut self.punt,
            pending: &mut self.pending,
            own_sources: &self.own_sources,
            control: &self.control,
            out: Egress {
                pool: &self.pool,
                tx: &mut self.tx,
                macs: &self.macs,
                chains: &self.chains,
                stash: &mut self.stash,
            },
            now: tsc(),
        };
        if ctx.pending.held_flows > 0 {
            release_pending(&mut ctx, c);
        }
        for (port, rxq) in &mut self.rx {
            let n = rxq.rx_burst(burst);
            if n == 0 {
                continue;
            }
            c.rx_packets += n as u64;
            // The burst goes through in stages, so that the table's cache misses overlap instead
            // of following one another packet by packet: classify every packet and start loading
            // its table slot; then its bucket; then, with the route found, its counter slot and
            // OIF list; then forward each packet (lookups now hit the cache).
            let mut flows = [Err(DropReason::BadHeader); BURST];
            for (f, m) in flows.iter_mut().zip(burst.iter()) {
                *f = classify(m.data());
                if let Ok(flow) = f {
                    ctx.fib.prefetch_slot(flow.source, flow.group);
                }
            }
            let flows = &flows[..burst.len().min(BURST)];
            for flow in flows.iter().flatten() {
                ctx.fib.prefetch_bucket(flow.source, flow.group);
            }
            // The lookup itself: its result is what each packet is forwarded by.
            let fib = ctx.fib;
            let mut routes: [Option<&Route>; BURST] = [None; BURST];
            let mut copies = 0;
            for ((r, flow), m) in routes.iter_mut().zip(flows).zip(burst.iter()) {
                let Ok(flow) = flow else { continue };
                if flow.ttl > 1 {
                    *r = fib.lookup(flow.source, flow.group);
                    if let Some(route) = r {
                        ctx.entries.prefetch(route.counter);
                        replicate::prefetch_oifs(route);
                        copies += replicate::extra_copies(route, m.pkt_len());
                    }
                }
            }
            // The burst's whole copies come from a few bulk allocations (what is left is
            // freed at the end of the turn).
            ctx.out.stash.fill(ctx.out.pool, copies);
            for ((m, flow), route) in burst.drain(..).zip(flows.iter().copied()).zip(routes) {
                forward(m, flow, route, *port, &mut ctx, c);
            }
        }
        if !ctx.out.stash.is_empty() {
            ctx.out.stash.release();
        }
        for q in ctx.out.tx.iter_mut() {
            c.unsent(q.flush() as u64);
        }
        self.link.turn(&mut self.rx, &mut self.tx);
    }
}

/// Sends held packets of flows that now have an entry; drops those held too long.
#[cold]
fn release_pending(ctx: &mut Ctx<'_>, c: &mut Counters) {
    let fib = ctx.fib;
    let (ready, expired) = ctx
        .pending
        .take_ready(ctx.now, |s, g| fib.lookup(s, g).is_some());
    c.drop(DropReason::NoRoute, expired.len() as u64);
    drop(expired);
    for packets in ready {
        for (m, flow, port) in packets {
            route_packet(m, &flow, fib.lookup(flow.source, flow.group), port, ctx, c);
        }
    }
}

/// One packet, already classified and looked up (`route`: the table's entry for its flow at
/// the lookup stage), through the other stages.
#[inline]
fn forward(
    m: Mbuf,
    classified: Result<Flow, DropReason>,
    route: Option<&Route>,
    in_port: u16,
    ctx: &mut Ctx<'_>,
    c: &mut Counters,
) {
    let flow = match classified {
        Ok(flow) => flow,
        Err(DropReason::LocalControl) => return punt(m, in_port, ctx, c),
        Err(reason) => return c.drop(reason, 1),
    };
    // A TTL 0/1 packet can never be forwarded: drop it before it costs a lookup or a miss.
    if flow.ttl <= 1 {
        return c.drop(DropReason::TtlExpired, 1);
    }
    // Packets held for this flow go first, so a flow resolved mid-turn stays in order. While
    // it is unresolved they stay where they are (with their original hold time, so a flow that
    // keeps sending still expires) and this packet queues after them.
    if ctx.pending.held_flows > 0 && ctx.pending.may_hold(&flow) && route.is_some() {
        if let Some(held) = ctx.pending.take_flow(&flow) {
            // Held packets are of the same (S,G), so of the same route.
            for (hm, hf, port) in held {
                route_packet(hm, &hf, route, port, ctx, c);
            }
        }
    }
    route_packet(m, &flow, route, in_port, ctx, c);
}

/// Incoming-interface check and replication of a classified packet (TTL > 1) by its route,
/// or the miss path when it has none.
#[inline]
fn route_packet(
    m: Mbuf,
    flow: &Flow,
    route: Option<&Route>,
    in_port: u16,
    ctx: &mut Ctx<'_>,
    c: &mut Counters,
) {
    let Some(route) = route else {
        return miss(m, flow, in_port, ctx, c);
    };
    if route.oifs.is_empty() {
        // A negative entry: nobody wants this traffic (or there is no route to its source).
        return c.drop(DropReason::NoOutgoing, 1);
    }
    if route.iif != in_port {
        c.drop(DropReason::WrongInterface, 1);
        ctx.entries.count_wrong_if(route.counter);
        let s = Signal::WrongInterface {
            source: flow.source,
            group: flow.group,
            port: in_port,
        };
        if ctx.signals.send(s, ctx.now) == Sent::RingFull {
            c.signals_dropped += 1;
        }
        return;
    }
    let counts = ctx.entries.entry(route.counter);
    counts.count(m.pkt_len());
    replicate::replicate(m, flow, route, counts, &mut ctx.out, c);
}

/// Hands a control packet to the control core; counted as a drop if its ring is full.
#[cold]
fn punt(m: Mbuf, port: u16, ctx: &mut Ctx<'_>, c: &mut Counters) {
    match ctx.punt.push(Punted { port, mbuf: m }) {
        Ok(()) => {
            c.punted += 1;
            ctx.control.unpark();
        }
        Err(_) => c.drop(DropReason::LocalControl, 1),
    }
}

#[cold]
fn miss(m: Mbuf, flow: &Flow, in_port: u16, ctx: &mut Ctx<'_>, c: &mut Counters) {
    // Checked here, not per packet: such a source never gets an entry (the control core
    // refuses it too), so every one of its packets comes this way.
    if ctx.own_sources.contains(&flow.source) {
        return c.drop(DropReason::OwnSource, 1);
    }
    if ctx.pending.hold(m, *flow, in_port, ctx.now) == Hold::Overflow {
        c.drop(DropReason::PendingOverflow, 1);
    }
    // Signalled for a held packet and for an overflowing one alike (the control core may have
    // rate-limited an earlier signal); the ring's repeat filter keeps it to one per interval.
    let s = Signal::Miss {
        source: flow.source,
        group: flow.group,
        port: in_port,
        at: ctx.now,
    };
    match ctx.signals.send(s, ctx.now) {
        Sent::Queued => {
            c.misses_signalled += 1;
            // Cold path (a new flow): an atomic swap, and a futex wake only when the control
            // core is parked.
            ctx.control.unpark();
        }
        Sent::Filtered => {}
        Sent::RingFull => c.signals_dropped += 1,
    }
}
