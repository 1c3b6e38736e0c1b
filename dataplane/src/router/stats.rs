//! The running data plane's read side: port and worker state, counters, the MTUs and the
//! packet pool, for the control core's statistics and `show` commands.

use super::{Dataplane, Placement};
use crate::dpdk::{Mempool, Port, PortStats};
use crate::port_set::PortStatus;
use crate::worker::Counters;
use std::sync::atomic::Ordering;

impl Dataplane {
    /// Every port's state (running, control transmit mode, start failures), by index.
    pub fn port_status(&self) -> Vec<PortStatus> {
        self.ports.status()
    }

    /// Control frames the workers sent for the control core, refused by their tx queue, and
    /// dropped because the port had stopped (summed over the workers).
    pub fn control_link_totals(&self) -> (u64, u64, u64) {
        self.ports.link_totals()
    }

    /// (packets, bytes) counted on counter index `index`, summed over the workers.
    pub fn entry_totals(&self, index: u32) -> (u64, u64) {
        self.entry_counters.iter().fold((0, 0), |(p, b), e| {
            let (ep, eb) = e.read(index);
            (p + ep, b + eb)
        })
    }

    /// Copies of counter index `index`'s entry handed to port `port`'s tx queues, summed over
    /// the workers.
    pub fn entry_out(&self, index: u32, port: u16) -> u64 {
        self.entry_counters
            .iter()
            .map(|e| e.read_out(index, port))
            .sum()
    }

    /// Wrong-interface packets of counter index `index`'s entry, summed over the workers.
    pub fn entry_wrong_if(&self, index: u32) -> u64 {
        self.entry_counters
            .iter()
            .map(|e| e.read_wrong_if(index))
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

    /// Every port's counters, by port index. An af_packet port's `imissed` is the kernel's
    /// count of frames its sockets' rx rings had no room for (the driver reports none).
    pub fn port_stats(&self) -> Vec<PortStats> {
        let mut stats: Vec<PortStats> = self.ports.ports().iter().map(Port::stats).collect();
        for (i, s) in stats.iter_mut().enumerate() {
            if let Some(iface) = self.ports.kernel_iface(i) {
                s.imissed += crate::dpdk::af_packet::ring_drops(iface);
            }
        }
        stats
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

    /// Port `port`'s MAC address and the MTU its interface sends with (for its kernel twin).
    pub fn port_mac_mtu(&self, port: usize) -> Option<([u8; 6], u16)> {
        let p = self.ports.ports().get(port)?;
        Some((p.mac().0, self.mtus.get(port).copied().unwrap_or(p.mtu())))
    }

    /// Mbufs in use (in rx rings, tx rings and in flight).
    pub fn mbufs_in_use(&self) -> u32 {
        self.pool.in_use()
    }

    /// Fragments sent on each slot (port index, then VLAN interfaces; all workers).
    pub fn port_fragments(&self) -> Vec<u64> {
        let mut out = vec![0; self.mtus.len()];
        for w in &self.fragments {
            for (o, a) in out.iter_mut().zip(w.iter()) {
                // Relaxed: a statistic; each counter has one writer.
                *o += a.load(Ordering::Relaxed);
            }
        }
        out
    }

    /// The MTU each slot's copies are sent with (larger ones are fragmented), by slot (port
    /// index, then VLAN interfaces: see [`crate::worker::vlan`]).
    pub fn port_mtus(&self) -> &[u16] {
        &self.mtus
    }

    /// Frames with a tag for no interface (or QinQ) received on each port, by port index
    /// (all workers).
    pub fn port_unknown_vlan(&self) -> Vec<u64> {
        let mut out = vec![0; self.ports.ports().len()];
        for w in &self.vlans {
            for (o, n) in out.iter_mut().zip(w.unknown()) {
                *o += n;
            }
        }
        out
    }

    /// Bytes of packet one mbuf of the pool holds.
    pub fn mbuf_data_room(&self) -> usize {
        self.pool.data_room()
    }

    /// The packet pool the ports receive into and the workers copy from (for a control core
    /// or a test that builds packets of its own, or that needs to know the pool's state).
    pub fn pool(&self) -> Mempool {
        self.pool
    }
}
