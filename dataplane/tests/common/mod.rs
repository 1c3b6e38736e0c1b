//! What the fault-injection tests share: a loopback port to inject through, sinks, an EAL of
//! the test's own, and helpers to wait for the worker and to drain a pool.
#![allow(dead_code)] // not every test binary uses every helper

use dataplane::dpdk::{Eal, Mbuf, Mempool, TxQueue};
use dataplane::fib::{Oif, Route};
use dataplane::router::{vdev_eal_args, Dataplane, PortSpec};
use dataplane::wire::{build_udp_frame, EthernetAddress};
use dataplane::worker::Counters;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
/// The queue of the loopback port the test sends on (0 is the worker's, 1 the control core's).
pub const INJECT_QUEUE: u16 = 2;

pub fn route(iif: u16, oifs: &[u16]) -> Route {
    Route {
        counter: dataplane::fib::NO_COUNTER,
        iif,
        flags: dataplane::fib::EntryFlags::NONE,
        oifs: oifs
            .iter()
            .map(|&port| Oif {
                port,
                ttl_threshold: 1,
            })
            .collect(),
    }
}

/// A UDP frame from `source` to `group` of `size` bytes carrying `seq` first.
pub fn frame(source: Ipv4Addr, group: Ipv4Addr, seq: u32, size: usize) -> Vec<u8> {
    let mut payload = seq.to_be_bytes().to_vec();
    payload.resize(size.max(46) - 42, 0xa5);
    build_udp_frame(MAC, source, group, 64, &payload)
}

pub fn seq_of(f: &[u8]) -> u32 {
    let p = &f[14 + 20 + 8..];
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
}

pub fn total(dp: &Dataplane) -> Counters {
    let mut t = Counters::default();
    for c in dp.worker_counters() {
        t.add(&c);
    }
    t
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mrouter-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn spec(device: &str, rx_queues: u16, tx_queues: u16) -> PortSpec {
    PortSpec {
        device: device.into(),
        rx_queues,
        tx_queues,
        mtu: None,
        interface_mtu: None,
        vlans: Vec::new(),
    }
}

/// The loopback port the test injects through.
pub fn loopback() -> PortSpec {
    spec("net_ring0", 3, 3)
}

/// A sink that counts and frees what it is sent.
pub fn sink(n: u32) -> PortSpec {
    spec(&format!("net_null{n},no-rx=1"), 1, 1)
}

/// EAL's runtime directory for one test's file prefix, removed when the test ends.
pub struct RuntimeDir(pub PathBuf);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// EAL with a file prefix of this test's own, no hugepages, on `lcores`. Keep the
/// [`RuntimeDir`] until the data plane has stopped.
pub fn eal(name: &str, lcores: &str, ports: &[PortSpec]) -> (Eal, RuntimeDir) {
    let prefix = format!("mrt-faults-{name}-{}", std::process::id());
    let runtime = RuntimeDir(PathBuf::from("/var/run/dpdk").join(&prefix));
    let mut args = vdev_eal_args(&format!("faults-{name}"), 512, lcores, ports);
    args.extend(["--file-prefix".into(), prefix]);
    (Eal::init(&args).expect("EAL"), runtime)
}

/// Sends frames into the loopback port from a pool of the test's own.
pub struct Injector {
    pub tx: TxQueue,
    pub pool: Mempool,
}

impl Injector {
    pub fn new(dp: &Dataplane, pool_name: &str) -> Injector {
        Injector {
            tx: dp.take_tx_queue(0, INJECT_QUEUE).expect("injection queue"),
            pool: Mempool::new(pool_name, 4095, 0, 0).expect("test pool"),
        }
    }

    /// Sends one frame; true if the loopback ring took it.
    pub fn try_send(&mut self, f: &[u8]) -> bool {
        let m = Mbuf::from_bytes(&self.pool, f).expect("test pool has room");
        self.tx.push(m) + self.tx.flush() == 0
    }

    /// Sends one frame, waiting (calling `turn`, which polls an inline worker or does nothing
    /// when the worker has its own lcore) while the loopback ring is full.
    pub fn send(&mut self, f: &[u8], mut turn: impl FnMut()) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.try_send(f) {
            assert!(Instant::now() < end, "the worker stopped taking packets");
            turn();
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// Polls (inline workers) or waits (lcore workers) until the workers have received `n`.
pub fn wait_rx(dp: &mut Dataplane, n: u64) {
    let end = Instant::now() + Duration::from_secs(20);
    while total(dp).rx_packets < n {
        assert!(
            Instant::now() < end,
            "received {} of {n}: {:?}",
            total(dp).rx_packets,
            total(dp)
        );
        if dp.poll_inline(1) == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Takes every mbuf left in `pool` (the caller's lcore cache first, then the shared ring).
pub fn exhaust(pool: &Mempool) -> Vec<Mbuf> {
    std::iter::from_fn(|| Mbuf::alloc(pool)).collect()
}
