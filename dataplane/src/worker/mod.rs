//! The poll-mode worker: rx burst -> classify -> TTL check -> route lookup -> incoming-interface
//! check -> replicate -> buffered tx, flushed once per loop turn. Misses are held in the pending
//! queue and signalled to the control core; wrong-interface packets are signalled too.
//!
//! A worker never blocks or locks, and allocates only on the miss path; it writes only its own
//! counters (see [`stats`]).

pub mod control_link;
pub mod entry_counters;
pub mod exception;
pub mod fragment;
pub mod mcast_input;
pub mod pending;
pub mod profile;
pub mod replicate;
pub mod signal;
pub mod stats;
pub mod vlan;

pub use mcast_input::{classify, classify_fast, classify_fast4, Flow, Lanes, LANES};
pub use signal::{Punted, Signal, SignalRx, SignalTx};
pub use stats::{Counters, DropReason, WorkerStats};

use crate::dpdk::{tsc, Mbuf, Mempool, RxQueue, TxQueue, BURST};
use crate::fib::rcu::{BucketRef, FibReader, Slots};
use crate::fib::Route;
use pending::{Hold, Pending};
use profile::{Stage, StageClock};
use replicate::Egress;
use signal::Sent;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// While packets flow, a worker publishes its counters once every this many loop turns (a
/// turn is at most a burst per rx queue: a few microseconds), and on every turn that received
/// nothing.
pub const PUBLISH_EVERY: u32 = 64;
const _: () = assert!(PUBLISH_EVERY.is_power_of_two());

/// Everything one worker owns.
pub struct Worker {
    /// The rx queues this worker polls, each with the index of its port.
    pub rx: Vec<(u16, RxQueue)>,
    /// This worker's own tx queue on every port, by port index.
    pub tx: Vec<TxQueue>,
    /// What a copy needs of each port (MAC, largest frame, chains), by port index.
    pub ports: Vec<replicate::PortOut>,
    /// Fragments this worker sent, by port index (this worker writes, anyone reads).
    pub fragments: Arc<[std::sync::atomic::AtomicU64]>,
    /// Pool for extra copies.
    pub pool: Mempool,
    /// Fresh mbufs for a burst's copies, taken from `pool` in one call.
    pub stash: crate::dpdk::MbufStash,
    /// Packets up to this many bytes are copied whole (see [`replicate::COPY_LIMIT`]).
    pub copy_limit: u32,
    /// This worker's read handle on the published table.
    pub fib: FibReader,
    /// Misses and wrong-interface signals to the control core.
    pub signals: SignalTx,
    /// First packets of flows being resolved.
    pub pending: Pending,
    /// Control packets to the control core.
    pub punt: rtrb::Producer<Punted>,
    /// Copies of flagged entries' packets to the control core.
    pub copies: rtrb::Producer<Punted>,
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
    /// Ports whose exception traffic (ARP, unicast to the router) is punted, not dropped.
    pub exceptions: Arc<exception::ExceptionPorts>,
    /// The VLAN interfaces: tagged frames in, tagged copies out (see [`vlan`]).
    pub vlans: Arc<vlan::VlanMap>,
    /// Classify eight frames at once in AVX2 ([`mcast_input::lanes8`]); true only where the
    /// CPU has it ([`has_avx2`]).
    pub avx2: bool,
}

/// Whether this CPU has AVX2, for [`Worker::avx2`].
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The parts of a worker one packet needs, borrowed apart from the rx queues.
struct Ctx<'a> {
    fib: &'a FibReader,
    entries: &'a entry_counters::EntryCounters,
    signals: &'a mut SignalTx,
    punt: &'a mut rtrb::Producer<Punted>,
    copies: &'a mut rtrb::Producer<Punted>,
    pending: &'a mut Pending,
    own_sources: &'a [u32],
    control: &'a std::thread::Thread,
    exceptions: &'a exception::ExceptionPorts,
    out: Egress<'a>,
    now: u64,
    avx2: bool,
}

impl Worker {
    /// Polls until `stop` is set, then flushes and publishes the final counters.
    pub fn run(mut self) {
        let mut counters = Counters::default();
        let mut burst: Vec<Mbuf> = Vec::with_capacity(BURST);
        // Relaxed: the flag carries no data; a worker seeing it one turn late is fine.
        let mut published = counters;
        let mut turns = 0u32;
        while !self.stop.load(Ordering::Relaxed) {
            let received = counters.rx_packets;
            self.poll_once(&mut burst, &mut counters);
            self.fib.quiescent();
            turns = turns.wrapping_add(1);
            // While packets flow, every PUBLISH_EVERY turns (comparing and storing the counters
            // every turn cost about 3 cycles per packet); at once on a turn without packets,
            // so what readers see is exact whenever traffic pauses.
            let idle = counters.rx_packets == received;
            if (idle || turns & (PUBLISH_EVERY - 1) == 0) && counters != published {
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
            copies: &mut self.copies,
            pending: &mut self.pending,
            own_sources: &self.own_sources,
            control: &self.control,
            exceptions: &self.exceptions,
            out: Egress {
                pool: &self.pool,
                tx: &mut self.tx,
                ports: &self.ports,
                stash: &mut self.stash,
                copy_limit: self.copy_limit,
                whole_max: replicate::whole_max(&self.ports, self.copy_limit),
                fragments: &self.fragments,
                vlans: &self.vlans,
            },
            now: tsc(),
            avx2: self.avx2,
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
    /// An 802.1Q/802.1ad tagged frame, for [`tagged`].
    Tagged,
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
/// 1), or what becomes of the packet. Exception traffic for a port with a kernel twin (ARP,
/// unicast to the router: see [`exception`]) is punted instead of dropped.
#[cold]
#[inline(never)]
fn classify_slow(
    frame: &[u8],
    port: u16,
    exceptions: &exception::ExceptionPorts,
) -> Result<Flow, Verdict> {
    match classify(frame) {
        Ok(flow) if flow.ttl > 1 => Ok(flow),
        // A TTL 0/1 packet can never be forwarded: dropped before it costs a lookup or a miss.
        Ok(_) => Err(Verdict::Drop(DropReason::TtlExpired)),
        Err(DropReason::LocalControl) => Err(Verdict::Punt),
        Err(DropReason::NotIpv4) if vlan::is_tagged(frame) => Err(Verdict::Tagged),
        Err(reason) if exceptions.wants(port, frame, reason) => Err(Verdict::Punt),
        Err(reason) => Err(Verdict::Drop(reason)),
    }
}

/// A burst's flows, one array per field (the four-lane classifier stores each field of four
/// flows with one vector store).
struct Flows {
    source: [u32; BURST],
    group: [u32; BURST],
    ttl: [u32; BURST],
}

impl Default for Flows {
    fn default() -> Self {
        Flows {
            source: [0; BURST],
            group: [0; BURST],
            ttl: [0; BURST],
        }
    }
}

impl Flows {
    /// Packet `i`'s flow.
    #[inline(always)]
    fn get(&self, i: usize) -> Flow {
        let i = i & (BURST - 1);
        Flow {
            source: self.source[i],
            group: self.group[i],
            ttl: self.ttl[i] as u8,
        }
    }

    #[inline(always)]
    fn set(&mut self, i: usize, flow: Flow) {
        let i = i & (BURST - 1);
        self.source[i] = flow.source;
        self.group[i] = flow.group;
        self.ttl[i] = u32::from(flow.ttl);
    }
}

/// Which of a group's frames the device did not find with a good IPv4 checksum (software
/// verification only for those), one bit per frame.
#[inline(always)]
fn to_verify(group: &[Mbuf], hw_checksum: bool) -> u32 {
    if hw_checksum {
        group
            .iter()
            .enumerate()
            .fold(0, |v, (k, m)| v | u32::from(!m.ip_checksum_good()) << k)
    } else {
        (1 << group.len()) - 1
    }
}

/// The fast path over `burst[start..]` four frames at a time ([`classify_fast4`]): the flows
/// and table slots of the frames taken (at their places in the burst), whose slots start
/// loading. Returns the frames taken (a bit each, by place in the burst) and where the groups
/// ended (the frames from there, fewer than four, go one by one).
#[inline(always)]
fn classify_groups4(
    burst: &[Mbuf],
    start: usize,
    hw_checksum: bool,
    slots: Slots<'_>,
    flows: &mut Flows,
    slot_of: &mut [u32; BURST],
) -> (u32, usize) {
    let start = start.min(burst.len());
    let mut fast = 0u32;
    let groups = burst[start..]
        .chunks_exact(LANES)
        .zip(flows.source[start..].chunks_exact_mut(LANES))
        .zip(flows.group[start..].chunks_exact_mut(LANES))
        .zip(flows.ttl[start..].chunks_exact_mut(LANES))
        .zip(slot_of[start..].chunks_exact_mut(LANES));
    for (at, ((((group, source), dest), ttl), slot)) in (start..BURST).step_by(LANES).zip(groups) {
        let frames: [&[u8]; LANES] = std::array::from_fn(|k| group[k].data());
        let lanes = classify_fast4(frames, to_verify(group, hw_checksum));
        let hashed = slots.slots(&lanes.source, &lanes.group);
        source.copy_from_slice(&lanes.source);
        dest.copy_from_slice(&lanes.group);
        ttl.copy_from_slice(&lanes.ttl);
        slot.copy_from_slice(&hashed);
        // Every lane's slot, taken or not (see `classify_groups8`).
        for &h in &hashed {
            slots.prefetch(h as usize);
        }
        fast |= lanes.mask << at;
    }
    (fast, start + ((burst.len() - start) & !(LANES - 1)))
}

/// [`classify_groups4`] eight frames at a time in AVX2 ([`mcast_input::lanes8`]), then one
/// group of four if four or more are left.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn classify_groups8(
    burst: &[Mbuf],
    hw_checksum: bool,
    slots: Slots<'_>,
    flows: &mut Flows,
    slot_of: &mut [u32; BURST],
) -> (u32, usize) {
    use mcast_input::LANES8;
    let mut fast = 0u32;
    let groups = burst
        .chunks_exact(LANES8)
        .zip(flows.source.chunks_exact_mut(LANES8))
        .zip(flows.group.chunks_exact_mut(LANES8))
        .zip(flows.ttl.chunks_exact_mut(LANES8))
        .zip(slot_of.chunks_exact_mut(LANES8));
    // (No closures, iterator adapters built on them or `array::from_fn` in the loop body:
    // those are compiled without AVX2 and would call the intrinsics instead of inlining them.)
    for (at, ((((group, source), dest), ttl), slot)) in (0..BURST).step_by(LANES8).zip(groups) {
        let mut frames: [&[u8]; LANES8] = [&[]; LANES8];
        let mut verify = 0u32;
        for k in 0..LANES8 {
            frames[k] = group[k].data();
            verify |= u32::from(!(hw_checksum && group[k].ip_checksum_good())) << k;
        }
        // SAFETY: this function runs only where the CPU has AVX2 (its own contract).
        let lanes = unsafe { mcast_input::lanes8::classify(frames, verify) };
        let hashed = slots.slots(&lanes.source, &lanes.group);
        source.copy_from_slice(&lanes.source);
        dest.copy_from_slice(&lanes.group);
        ttl.copy_from_slice(&lanes.ttl);
        slot.copy_from_slice(&hashed);
        // Every lane's slot, taken or not, without a loop over the mask (a lane not taken
        // hashed whatever it held: a harmless prefetch of some slot; 8 instructions per packet
        // for the loop against 3).
        for &h in &hashed {
            slots.prefetch(h as usize);
        }
        fast |= lanes.mask << at;
    }
    // Four or more left (a burst of other than a multiple of eight): one group of four.
    let (more, end) = classify_groups4(
        burst,
        burst.len() & !(LANES8 - 1),
        hw_checksum,
        slots,
        flows,
        slot_of,
    );
    (fast | more, end)
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
/// 3. replicate: per-entry packets and bytes (on the counter line the lookup pass started
///    loading, beside the per-port copy counts), rewrite and copies onto the tx buffers;
///    misses, negative entries, wrong interfaces, punts and drops take their own (cold) paths
///    here, in arrival order. (A pass of its own counted runs of one entry's packets once per
///    run; folding the counts into this pass was 26 instructions per packet fewer at fan-out 1
///    (callgrind, the benchmark's 16 interleaved sources), and the stage clock's "counters"
///    stage is now only its mark.)
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
    let slots = fib.slots();
    let mut flows = Flows::default();
    let mut slot_of = [0u32; BURST];
    let mut other = [Verdict::Punt; BURST];
    // Frames are classified four (eight with AVX2) at a time by the fast path's lane-wise
    // checks; the ones it does not take (and a tail of fewer than a group) go one by one.
    // A group's flows are hashed together and the table slot of each one taken starts
    // loading (the lookup's first step).
    #[cfg(target_arch = "x86_64")]
    let (fast, grouped) = if ctx.avx2 {
        // SAFETY: `avx2` is set only where the CPU has AVX2 (`has_avx2`).
        unsafe { classify_groups8(&burst[..n], hw_checksum, slots, &mut flows, &mut slot_of) }
    } else {
        classify_groups4(&burst[..n], 0, hw_checksum, slots, &mut flows, &mut slot_of)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (fast, grouped) =
        classify_groups4(&burst[..n], 0, hw_checksum, slots, &mut flows, &mut slot_of);
    let mut lookup = fast;
    let all = ((1u64 << n) - 1) as u32;
    for i in bits(all & !fast) {
        let m = &burst[i];
        let frame = m.data();
        let verify = !(hw_checksum && m.ip_checksum_good());
        let tail = i >= grouped;
        let flow = match tail.then(|| classify_fast(frame, verify)).flatten() {
            Some(flow) => flow,
            None => match classify_slow(frame, in_port, ctx.exceptions) {
                Ok(flow) => flow,
                Err(v) => {
                    other[i] = v;
                    continue;
                }
            },
        };
        flows.set(i, flow);
        slot_of[i] = slots.slot(flow.source, flow.group) as u32;
        slots.prefetch(slot_of[i] as usize);
        lookup |= 1 << i;
    }
    clock.mark(Stage::Classify);

    let mut buckets = [BucketRef::default(); BURST];
    let mut routes: [Option<&Route>; BURST] = [None; BURST];
    let mut hit = 0u32;
    let mut copies = 0;
    // The two lookup passes over the packets to look up: every one of them in the common case,
    // as a plain count (a loop over the mask's bits cost 4 instructions per packet a pass).
    macro_rules! lookup_passes {
        ($looked_up:expr) => {
            for i in $looked_up {
                let i = i & (BURST - 1);
                buckets[i] = slots.load_bucket(slot_of[i] as usize);
            }
            for i in $looked_up {
                let i = i & (BURST - 1);
                let route = fib.lookup_in(buckets[i], flows.source[i], flows.group[i]);
                routes[i] = route;
                if let Some(route) = route {
                    let oifs = route.oifs.len();
                    // The incoming port and "no flags" in one compare.
                    if route.gate() == u32::from(in_port) && oifs > 0 {
                        hit |= 1 << i;
                        ctx.entries.prefetch(route.counter);
                        if oifs > 1 {
                            replicate::prefetch_oifs(route);
                            copies += replicate::extra_copies(
                                route,
                                burst[i].pkt_len(),
                                ctx.out.copy_limit,
                            );
                        }
                    }
                }
            }
        };
    }
    if lookup == all {
        lookup_passes!(0..n);
    } else {
        lookup_passes!(bits(lookup));
    }
    // The burst's whole copies come from a few bulk allocations (what is left is freed at the
    // end of the turn); their lines start loading now, while the counters are counted.
    if copies > 0 {
        ctx.out.stash.fill(ctx.out.pool, copies);
        ctx.out.stash.prefetch();
    }
    clock.mark(Stage::Lookup);

    clock.mark(Stage::Counters);

    if hit == all && ctx.pending.held_flows == 0 {
        // Every packet hit and no flow is held (the common case under load): no verdicts to
        // dispatch, and no held packet can appear (only a miss holds one).
        let mut queued = 0;
        for (i, m) in burst.drain(..).enumerate() {
            // Below BURST anyway (n is); the mask tells the compiler.
            let i = i & (BURST - 1);
            if let Some(route) = routes[i] {
                queued += forward_hit(m, &flows.get(i), route, ctx, c);
            }
        }
        c.queued(queued);
        clock.mark(Stage::Replicate);
        return;
    }
    for (i, m) in burst.drain(..).enumerate() {
        let bit = 1u32 << i;
        if hit & bit != 0 {
            if let Some(route) = routes[i] {
                let flow = flows.get(i);
                if ctx.pending.held_flows > 0 {
                    send_held_first(&flow, route, ctx, c);
                }
                let queued = forward_hit(m, &flow, route, ctx, c);
                c.queued(queued);
            }
        } else if lookup & bit != 0 {
            let flow = flows.get(i);
            if let (true, Some(route)) = (ctx.pending.held_flows > 0, routes[i]) {
                send_held_first(&flow, route, ctx, c);
            }
            route_packet(m, &flow, routes[i], in_port, ctx, c);
        } else {
            match other[i] {
                Verdict::Punt => punt(m, in_port, ctx, c),
                Verdict::Drop(reason) => c.drop(reason, 1),
                Verdict::Tagged => tagged(m, in_port, ctx, c),
            }
        }
    }
    clock.mark(Stage::Replicate);
}

/// A tagged frame: the tag is taken out and the frame goes on as one that arrived untagged
/// on its VLAN interface's slot (see [`vlan`]), looked up here rather than in the burst's
/// lookup pass, which untagged packets keep to themselves.
#[cold]
#[inline(never)]
fn tagged(mut m: Mbuf, in_port: u16, ctx: &mut Ctx<'_>, c: &mut Counters) {
    let slot = match ctx.out.vlans.receive(&mut m, in_port) {
        Ok(slot) => slot,
        Err(reason) => return c.drop(reason, 1),
    };
    match classify_slow(m.data(), slot, ctx.exceptions) {
        Ok(flow) => {
            let fib = ctx.fib;
            let route = fib.lookup(flow.source, flow.group);
            if let (true, Some(route)) = (ctx.pending.held_flows > 0, route) {
                send_held_first(&flow, route, ctx, c);
            }
            route_packet(m, &flow, route, slot, ctx, c);
        }
        Err(Verdict::Punt) => punt(m, slot, ctx, c),
        Err(Verdict::Drop(reason)) => c.drop(reason, 1),
        // A second tag is refused by `receive`, so this is a frame cut short.
        Err(Verdict::Tagged) => c.drop(DropReason::UnknownVlan, 1),
    }
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
    if !route.flags.is_empty() {
        return flagged(m, flow, route, in_port, ctx, c);
    }
    if route.oifs.is_empty() {
        // A negative entry: nobody wants this traffic (or there is no route to its source).
        return c.drop(DropReason::NoOutgoing, 1);
    }
    if route.iif != in_port {
        return wrong_interface(flow, route, in_port, ctx, c);
    }
    let queued = forward_hit(m, flow, route, ctx, c);
    c.queued(queued);
}

/// A packet of an entry without flags that came in on its incoming port: counted on the entry
/// (on the counter line the lookup pass prefetched, beside the copies' counts that replicate
/// adds) and replicated. Returns the copies queued, which the caller adds to `c.tx_packets`
/// ([`replicate::replicate`]).
#[inline(always)]
#[must_use]
fn forward_hit(m: Mbuf, flow: &Flow, route: &Route, ctx: &mut Ctx<'_>, c: &mut Counters) -> u64 {
    let counts = ctx.entries.entry(route.counter);
    counts.count(m.pkt_len());
    replicate::replicate(m, flow, route, counts, &mut ctx.out, c)
}

/// A packet of an entry that arrived on another port than the entry's incoming one: dropped,
/// counted on the entry, and signalled (the MGM's wrong-interface callback drives asserts).
#[cold]
fn wrong_interface(flow: &Flow, route: &Route, in_port: u16, ctx: &mut Ctx<'_>, c: &mut Counters) {
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
}

/// A packet of an entry with [`crate::fib::EntryFlags`]: the incoming-port test (unless any
/// port is accepted), the hit signal, the copy to the control core, then forwarding as usual
/// (never back out of the port it came in on).
#[cold]
#[inline(never)]
fn flagged(m: Mbuf, flow: &Flow, route: &Route, in_port: u16, ctx: &mut Ctx<'_>, c: &mut Counters) {
    use crate::fib::EntryFlags;
    let flags = route.flags;
    let any_port = flags.contains(EntryFlags::ACCEPT_ANY_IIF);
    if route.iif != in_port && !any_port {
        return wrong_interface(flow, route, in_port, ctx, c);
    }
    if flags.contains(EntryFlags::SIGNAL_ON_HIT) {
        let s = Signal::Hit {
            source: flow.source,
            group: flow.group,
            port: in_port,
        };
        match ctx.signals.send(s, ctx.now) {
            Sent::Queued => {
                c.hits_signalled += 1;
                ctx.control.unpark();
            }
            Sent::Filtered => {}
            Sent::RingFull => c.signals_dropped += 1,
        }
    }
    if flags.contains(EntryFlags::COPY_TO_CONTROL) {
        match m.copy_one_segment(ctx.out.pool, ctx.out.stash) {
            Some(copy) => match ctx.copies.push(Punted {
                port: in_port,
                mbuf: copy,
            }) {
                Ok(()) => {
                    c.copied_to_control += 1;
                    ctx.control.unpark();
                }
                Err(_) => c.copies_dropped += 1,
            },
            None => c.copies_dropped += 1,
        }
    }
    let counts = ctx.entries.entry(route.counter);
    counts.count(m.pkt_len());
    if route.oifs.is_empty() {
        return c.drop(DropReason::NoOutgoing, 1);
    }
    if any_port && route.oifs.iter().any(|o| o.port == in_port) {
        // Not back out of the port it came in on: the others get their copies (a short list
        // stays inline; a list longer than an entry holds inline is collected, which
        // allocates, as the miss path does).
        let rest = route.oifs.iter().filter(|o| o.port != in_port).copied();
        let others = if route.oifs.len() <= crate::fib::INLINE_OIFS + 1 {
            let mut oifs = [crate::fib::Oif::default(); crate::fib::INLINE_OIFS];
            let mut len = 0;
            for (slot, o) in oifs.iter_mut().zip(rest) {
                *slot = o;
                len += 1;
            }
            crate::fib::OifList::inline(oifs, len)
        } else {
            rest.collect()
        };
        if others.is_empty() {
            return c.drop(DropReason::NoOutgoing, 1);
        }
        let route = Route {
            oifs: others,
            ..route.clone()
        };
        return replicate::flagged(m, flow, &route, counts, &mut ctx.out, c);
    }
    replicate::flagged(m, flow, route, counts, &mut ctx.out, c);
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
