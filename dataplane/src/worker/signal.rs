//! Signals from a worker to the control core: cache misses and wrong-interface packets, over a
//! bounded single-producer single-consumer ring per worker (`rtrb`: wait-free push and pop, no
//! lock, no allocation after creation). A full ring drops the signal and counts it; the worker
//! never blocks.
//!
//! A small direct-mapped filter keeps one flow from flooding the ring: a (S,G) is signalled
//! again only after [`RESIGNAL_MS`] (the control core may have rate-limited the first signal,
//! so it must come back eventually).

/// What the control core is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// No entry for (S,G): the MGM should create one.
    Miss {
        /// Source, host order.
        source: u32,
        /// Group, host order.
        group: u32,
        /// Port index the packet arrived on.
        port: u16,
        /// The worker's TSC in the loop turn that received the packet (for the control core's
        /// miss-to-install latency).
        at: u64,
    },
    /// A packet of (S,G) arrived on a port other than the entry's incoming interface.
    WrongInterface {
        /// Source, host order.
        source: u32,
        /// Group, host order.
        group: u32,
        /// Port index the packet arrived on.
        port: u16,
    },
    /// A packet of an entry flagged [`crate::fib::EntryFlags::SIGNAL_ON_HIT`] was forwarded.
    Hit {
        /// Source, host order.
        source: u32,
        /// Group, host order.
        group: u32,
        /// Port index the packet arrived on.
        port: u16,
    },
}

/// Signals a worker's ring holds.
pub const RING_SIZE: usize = 4096;
/// Minimum time between two signals of the same kind for the same (S,G) from one worker.
pub const RESIGNAL_MS: u64 = 20;
const FILTER_SLOTS: usize = 1024;

/// The worker's end: the ring producer and the repeat filter.
pub struct SignalTx {
    ring: rtrb::Producer<Signal>,
    filter: Box<[(u64, u64)]>,
    interval_tsc: u64,
}

/// The control core's end.
pub type SignalRx = rtrb::Consumer<Signal>;

/// A ring for one worker; `tsc_hz` converts the resignal interval to TSC ticks.
pub fn channel(tsc_hz: u64) -> (SignalTx, SignalRx) {
    let (ring, rx) = rtrb::RingBuffer::new(RING_SIZE);
    (
        SignalTx {
            ring,
            filter: vec![(u64::MAX, 0); FILTER_SLOTS].into_boxed_slice(),
            interval_tsc: (tsc_hz / 1000).max(1) * RESIGNAL_MS,
        },
        rx,
    )
}

/// What happened to a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// On the ring.
    Queued,
    /// The same (S,G) was signalled moments ago: not repeated.
    Filtered,
    /// The ring was full: dropped (and counted by the caller).
    RingFull,
}

impl SignalTx {
    /// Sends `signal` unless the filter says it was just sent; `now_tsc` is the current TSC.
    #[inline]
    pub fn send(&mut self, signal: Signal, now_tsc: u64) -> Sent {
        let (kind, source, group) = match signal {
            Signal::Miss { source, group, .. } => (0u64, source, group),
            Signal::WrongInterface { source, group, .. } => (1u64, source, group),
            Signal::Hit { source, group, .. } => (2u64, source, group),
        };
        let key = (u64::from(source) << 32 | u64::from(group)) ^ (kind << 62);
        let slot = &mut self.filter
            [(key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize % FILTER_SLOTS];
        if slot.0 == key && now_tsc.wrapping_sub(slot.1) < self.interval_tsc {
            return Sent::Filtered;
        }
        match self.ring.push(signal) {
            Ok(()) => {
                *slot = (key, now_tsc);
                Sent::Queued
            }
            Err(_) => Sent::RingFull,
        }
    }
}

/// A control packet (IGMP, PIM, 224.0.0.0/24, and on ports with a kernel twin ARP and
/// unicast to the router) handed to the control core, with the port index it arrived on. It has its own ring so data never starves it.
pub struct Punted {
    /// Port index the packet arrived on.
    pub port: u16,
    /// The packet.
    pub mbuf: crate::dpdk::Mbuf,
}

/// Control packets a worker's punt ring holds.
pub const PUNT_RING_SIZE: usize = 1024;

/// A punt ring: the worker's end and the control core's end.
pub fn punt_channel() -> (rtrb::Producer<Punted>, rtrb::Consumer<Punted>) {
    rtrb::RingBuffer::new(PUNT_RING_SIZE)
}

/// Copies of data packets (entries flagged `COPY_TO_CONTROL`) a worker's copy ring holds. A
/// ring of their own: a flow's copies never crowd out control packets.
pub const COPY_RING_SIZE: usize = 512;

/// A copy ring: the worker's end and the control core's end.
pub fn copy_channel() -> (rtrb::Producer<Punted>, rtrb::Consumer<Punted>) {
    rtrb::RingBuffer::new(COPY_RING_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miss(source: u32) -> Signal {
        Signal::Miss {
            source,
            group: 0xef01_0101,
            port: 0,
            at: 0,
        }
    }

    #[test]
    fn repeats_are_filtered_until_the_interval_passes() {
        let (mut tx, mut rx) = channel(1000 * 1000); // 1000 ticks per ms
        assert_eq!(tx.send(miss(1), 0), Sent::Queued);
        assert_eq!(tx.send(miss(1), 5), Sent::Filtered);
        assert_eq!(tx.send(miss(2), 5), Sent::Queued);
        let wif = Signal::WrongInterface {
            source: 1,
            group: 0xef01_0101,
            port: 1,
        };
        assert_eq!(tx.send(wif, 6), Sent::Queued, "another kind is another key");
        assert_eq!(tx.send(miss(1), 1000 * RESIGNAL_MS), Sent::Queued);
        let got: Vec<Signal> = std::iter::from_fn(|| rx.pop().ok()).collect();
        assert_eq!(got, vec![miss(1), miss(2), wif, miss(1)]);
    }

    #[test]
    fn a_full_ring_drops_and_says_so() {
        let (mut tx, mut rx) = channel(1000);
        for s in 0..RING_SIZE as u32 {
            assert_eq!(tx.send(miss(s), 0), Sent::Queued);
        }
        assert_eq!(tx.send(miss(u32::MAX), 0), Sent::RingFull);
        assert_eq!(rx.pop(), Ok(miss(0)));
        assert_eq!(tx.send(miss(u32::MAX), 0), Sent::Queued);
    }

    #[test]
    fn a_worker_and_the_control_core_on_two_threads_lose_or_repeat_nothing() {
        // The worker side sends distinct signals as fast as it can (counting a full ring as the
        // worker does); the control side pops concurrently. What arrives is exactly what was
        // queued, in order. (Run under ThreadSanitizer and Miri by their scripts.)
        let n: u32 = if cfg!(miri) { 300 } else { 100_000 };
        let (mut tx, mut rx) = channel(1000);
        let worker = std::thread::spawn(move || {
            let mut queued = Vec::new();
            let mut full = 0u64;
            for s in 0..n {
                match tx.send(miss(s), 0) {
                    Sent::Queued => queued.push(s),
                    Sent::RingFull => full += 1,
                    Sent::Filtered => unreachable!("distinct sources are never filtered"),
                }
            }
            (queued, full)
        });
        let mut got = Vec::new();
        loop {
            match rx.pop() {
                Ok(Signal::Miss { source, .. }) => got.push(source),
                Ok(other) => panic!("{other:?}"),
                Err(_) if worker.is_finished() && rx.is_empty() => break,
                Err(_) => std::hint::spin_loop(),
            }
        }
        let (queued, full) = worker.join().unwrap();
        assert_eq!(got, queued, "every queued signal once, in order");
        assert_eq!(queued.len() as u64 + full, u64::from(n));
    }
}
