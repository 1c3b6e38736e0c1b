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
pub mod profile;
pub mod replicate;
pub mod signal;
pub mod stats;

pub use mcast_input::{classify, classify_fast, Flow};
pub use signal::{Punted, Signal, SignalRx, SignalTx};
pub use stats::{Counters, DropReason, WorkerStats};

use crate::dpdk::{tsc, Mbuf, Mempool, RxQueue, TxQueue, BURST};
use crate::fib::rcu::{BucketRef, FibReader};
use crate::fib::Route;
use entry_counters::EntryCounts;
use pending::{Hold, Pending};
use profile::{Stage, StageClock};
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
    /// The largest frame every port sends (its MTU plus the Ethernet header), by port index.
    pub max_frames: Vec<u32>,
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
    /// Per-stage cycle budget (measures only when asked for; see [`profile`]).
    pub clock: StageClock,
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
            self.clock.end_turn();
        }
        self.finish(&mut counters);
        self.stats.publish(&counters);
        self.stats.stages.publish(&self.clock);
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
        let clock = &mut self.clock;
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
                max_frames: &self.max_frames,
                chains: &self.chains,
                stash: &mut self.stash,
            },
            now: tsc(),
        };
        if ctx.pending.held_flows > 0 {
            release_pending(&mut ctx, c);
        }
        clock.mark(Stage::Turn);
        for (port, rxq) in &mut self.rx {
            let n = rxq.rx_burst(burst);
            clock.mark(Stage::Rx);
            if n == 0 {
                continue;
            }
            c.rx_packets += n as u64;
            clock.received(n);
            let hw_checksum = rxq.hw_ip_checksum();
            forward_burst(&mut ctx, *port, hw_checksum, burst, c, clock);
        }
        if !ctx.out.stash.is_empty() {
            ctx.out.stash.release();
        }
        clock.mark(Stage::Turn);
        for q in ctx.out.tx.iter_mut() {
            c.unsent(q.flush() as u64);
        }
        clock.mark(Stage::Tx);
        // Control-core frames for ports without a control queue, late ports' rx queues.
        self.link.turn(&mut self.rx, &mut self.tx);
    }
}

/// What becomes of a packet that is not looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Control traffic for the control core.
    Punt,
    /// Dropped, counted under this reason.
    Drop(DropReason),
}

/// The indices of the set bits of `mask`, lowest first.
#[inline(always)]
fn bits(mut mask: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        // Below 32 anyway; the mask tells the compiler, so indexing BURST-sized arrays by it
        // needs no bounds check.
        let i = mask.trailing_zeros() as usize & (BURST - 1);
        mask &= mask - 1;
        Some(i)
    })
}

/// The full classifier for a frame the fast path did not take: the flow to look up (TTL above
/// 1), or what becomes of the packet.
#[cold]
#[inline(never)]
fn classify_slow(frame: &[u8]) -> Result<Flow, Verdict> {
    match classify(frame) {
        Ok(flow) if flow.ttl > 1 => Ok(flow),
        // A TTL 0/1 packet can never be forwarded: dropped before it costs a lookup or a miss.
        Ok(_) => Err(Verdict::Drop(DropReason::TtlExpired)),
        Err(DropReason::LocalControl) => Err(Verdict::Punt),
        Err(reason) => Err(Verdict::Drop(reason)),
    }
}

/// One received burst through the stages, each a pass over the burst so that the table's
/// cache misses overlap instead of following one another packet by packet:
/// 1. classify: the fast path's wide compares for the common header shape (the header checksum
///    verified in software unless the port's rx offload found it good), the full classifier
///    for the rest; packets to look up are a bitmask, the others get a [`Verdict`];
/// 2. lookup: each flow was hashed once in the classify pass, which also started loading its
///    table slot; then its bucket; then the lookup itself, whose result is what the packet is
///    forwarded by; packets whose entry takes them from this port (the common case) are a
///    second bitmask, and their counter slot and OIF list start loading;
/// 3. counters: per-entry packets and bytes, once per run of packets of the same entry;
/// 4. replicate: rewrite and copies onto the tx buffers; misses, negative entries, wrong
///    interfaces, punts and drops take their own (cold) paths here, in arrival order.
#[inline]
fn forward_burst(
    ctx: &mut Ctx<'_>,
    in_port: u16,
    hw_checksum: bool,
    burst: &mut Vec<Mbuf>,
    c: &mut Counters,
    clock: &mut StageClock,
) {
    let n = burst.len().min(BURST);
    let fib = ctx.fib;
    let mut flows = [Flow::default(); BURST];
    let mut slots = [0usize; BURST];
    let mut other = [Verdict::Punt; BURST];
    let mut lookup = 0u32;
    for (i, m) in burst[..n].iter().enumerate() {
        let frame = m.data();
        // Software verification only where the device did not find the checksum good.
        let verify = !(hw_checksum && m.ip_checksum_good());
        let flow = match classify_fast(frame, verify) {
            Some(flow) => flow,
            None => match classify_slow(frame) {
                Ok(flow) => flow,
                Err(v) => {
                    other[i] = v;
                    continue;
                }
            },
        };
        // The lookup's first step while the flow is in registers: hash it once and start
        // loading its table slot.
        flows[i] = flow;
        slots[i] = fib.slot_of(flow.source, flow.group);
        fib.prefetch_slot_at(slots[i]);
        lookup |= 1 << i;
    }
    clock.mark(Stage::Classify);

    let mut buckets = [BucketRef::default(); BURST];
    for i in bits(lookup) {
        buckets[i] = fib.load_bucket(slots[i]);
    }
    let mut routes: [Option<&Route>; BURST] = [None; BURST];
    let mut counts = [EntryCounts::default(); BURST];
    let mut hit = 0u32;
    let mut copies = 0;
    for i in bits(lookup) {
        let flow = &flows[i];
        let route = fib.lookup_in(buckets[i], flow.source, flow.group);
        routes[i] = route;
        if let Some(route) = route {
            let oifs = route.oifs.len();
            if route.iif == in_port && oifs > 0 {
                hit |= 1 << i;
                counts[i] = ctx.entries.entry(route.counter);
                counts[i].prefetch();
                if oifs > 1 {
                    replicate::prefetch_oifs(route);
                    copies += replicate::extra_copies(route, burst[i].pkt_len());
                }
            }
        }
    }
    // The burst's whole copies come from a few bulk allocations (what is left is freed at the
    // end of the turn); their lines start loading now, while the counters are counted.
    if copies > 0 {
        ctx.out.stash.fill(ctx.out.pool, copies);
        ctx.out.stash.prefetch();
    }
    clock.mark(Stage::Lookup);

    // Same-entry packets often come in runs: count each run once.
    let mut run = (EntryCounts::default(), 0u64, 0u64);
    for i in bits(hit) {
        let len = u64::from(burst[i].pkt_len());
        if run.1 > 0 && counts[i].same(run.0) {
            run.1 += 1;
            run.2 += len;
        } else {
            if run.1 > 0 {
                run.0.count_many(run.1, run.2);
            }
            run = (counts[i], 1, len);
        }
    }
    if run.1 > 0 {
        run.0.count_many(run.1, run.2);
    }
    clock.mark(Stage::Counters);

    for (i, m) in burst.drain(..).enumerate() {
        let bit = 1u32 << i;
        if hit & bit != 0 {
            if let Some(route) = routes[i] {
                if ctx.pending.held_flows > 0 {
                    send_held_first(&flows[i], route, ctx, c);
                }
                replicate::replicate(m, &flows[i], route, counts[i], &mut ctx.out, c);
            }
        } else if lookup & bit != 0 {
            if let (true, Some(route)) = (ctx.pending.held_flows > 0, routes[i]) {
                send_held_first(&flows[i], route, ctx, c);
            }
            route_packet(m, &flows[i], routes[i], in_port, ctx, c);
        } else {
            match other[i] {
                Verdict::Punt => punt(m, in_port, ctx, c),
                Verdict::Drop(reason) => c.drop(reason, 1),
            }
        }
    }
    clock.mark(Stage::Replicate);
}

/// Packets held for `flow` go before a newer packet of it, so a flow resolved mid-turn stays in
/// order. While it is unresolved they stay where they are (with their original hold time, so a
/// flow that keeps sending still expires) and the newer packet queues after them.
#[cold]
fn send_held_first(flow: &Flow, route: &Route, ctx: &mut Ctx<'_>, c: &mut Counters) {
    if !ctx.pending.may_hold(flow) {
        return;
    }
    if let Some(held) = ctx.pending.take_flow(flow) {
        // Held packets are of the same (S,G), so of the same route.
        for (hm, hf, port) in held {
            route_packet(hm, &hf, Some(route), port, ctx, c);
        }
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
