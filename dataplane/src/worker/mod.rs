//! The poll-mode worker: rx burst -> classify -> route lookup -> incoming-interface and TTL
//! checks -> replicate -> buffered tx, flushed once per loop turn.
//!
//! A worker never blocks, allocates or locks on the per-packet path; it writes only its own
//! counters (see [`stats`]).

pub mod mcast_input;
pub mod replicate;
pub mod stats;

pub use mcast_input::{classify, Flow};
pub use stats::{Counters, DropReason, WorkerStats};

use crate::dpdk::{Mbuf, Mempool, RxQueue, TxQueue, BURST};
use crate::fib::rcu::FibReader;
use replicate::Egress;
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
    /// Pool for extra copies.
    pub pool: Mempool,
    /// This worker's read handle on the published table.
    pub fib: FibReader,
    /// Set by the control side to stop the loop.
    pub stop: Arc<AtomicBool>,
    /// Where this worker publishes its counters.
    pub stats: Arc<WorkerStats>,
}

impl Worker {
    /// Polls until `stop` is set, then flushes and publishes the final counters.
    pub fn run(mut self) {
        let mut counters = Counters::default();
        let mut burst: Vec<Mbuf> = Vec::with_capacity(BURST);
        // Relaxed: the flag carries no data; a worker seeing it one turn late is fine.
        while !self.stop.load(Ordering::Relaxed) {
            let before = counters.rx_packets;
            self.poll_once(&mut burst, &mut counters);
            self.fib.quiescent();
            if counters.rx_packets != before {
                self.stats.publish(&counters);
            }
        }
        for q in &mut self.tx {
            counters.unsent(q.flush() as u64);
        }
        self.stats.publish(&counters);
    }

    /// One loop turn: one burst from every rx queue, then flush every tx queue. The caller
    /// reports the quiescent state ([`FibReader::quiescent`]) between turns.
    #[inline]
    pub fn poll_once(&mut self, burst: &mut Vec<Mbuf>, c: &mut Counters) {
        let table = &self.fib;
        let mut out = Egress {
            pool: &self.pool,
            tx: &mut self.tx,
            macs: &self.macs,
        };
        for (port, rxq) in &mut self.rx {
            let n = rxq.rx_burst(burst);
            if n == 0 {
                continue;
            }
            c.rx_packets += n as u64;
            for m in burst.drain(..) {
                forward(m, *port, table, &mut out, c);
            }
        }
        for q in out.tx.iter_mut() {
            c.unsent(q.flush() as u64);
        }
    }
}

/// One packet through every stage.
#[inline]
fn forward(m: Mbuf, in_port: u16, table: &FibReader, out: &mut Egress<'_>, c: &mut Counters) {
    let flow = match classify(m.data()) {
        Ok(flow) => flow,
        Err(reason) => return c.drop(reason, 1),
    };
    let Some(route) = table.lookup(flow.source, flow.group) else {
        return c.drop(DropReason::NoRoute, 1);
    };
    if route.iif != in_port {
        return c.drop(DropReason::WrongInterface, 1);
    }
    if flow.ttl <= 1 {
        return c.drop(DropReason::TtlExpired, 1);
    }
    replicate::replicate(m, &flow, route, out, c);
}
