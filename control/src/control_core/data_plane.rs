//! What the control core needs of the data plane, as a trait, so the core runs the same on
//! DPDK ([`super::dpdk::DpdkPlane`]) and in a test with a recording fake (no EAL, no clock).
//!
//! Ports are port indices (`u16`, the position in the config's `ports`); entries are named by
//! (source, group) with `None` for (*,G); per-entry counters by their counter index (the
//! `counter` of a [`Route`]). Times are on the daemon's clock (`crate::clock::Clock`).

use dataplane::fib::Route;
use std::net::Ipv4Addr;
use std::time::Duration;

/// A signal a worker sent the control core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerSignal {
    /// No entry for (source, group): the MGM should create one.
    Miss {
        /// Source.
        source: Ipv4Addr,
        /// Group.
        group: Ipv4Addr,
        /// Port the packet arrived on.
        port: u16,
        /// When the worker received the packet, on the daemon's clock (for the
        /// miss-to-install latency).
        at: Duration,
    },
    /// A packet of (source, group) arrived on a port other than its entry's incoming one.
    WrongInterface {
        /// Source.
        source: Ipv4Addr,
        /// Group.
        group: Ipv4Addr,
        /// Port the packet arrived on.
        port: u16,
    },
    /// A packet of an entry flagged `SIGNAL_ON_HIT` (`dataplane::fib::EntryFlags`) was
    /// forwarded.
    Hit {
        /// Source.
        source: Ipv4Addr,
        /// Group.
        group: Ipv4Addr,
        /// Port the packet arrived on.
        port: u16,
    },
}

/// A publication of the staged entry changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publication {
    /// The epoch to wait for ([`DataPlane::acknowledged`]) before reusing what it removed.
    pub epoch: u64,
    /// When it was published, on the daemon's clock.
    pub at: Duration,
}

/// The data plane as the control core drives it. Every call does bounded work.
pub trait DataPlane {
    /// Takes up to `max` worker signals, giving each with the index of its worker to `f`.
    /// Returns how many were taken.
    fn drain_signals(&mut self, max: usize, f: &mut dyn FnMut(usize, WorkerSignal)) -> usize;

    /// Takes up to `max` frames the workers punted to the control plane, giving each whole
    /// Ethernet frame with the port it arrived on to `f`. Returns how many were taken.
    fn drain_punted(&mut self, max: usize, f: &mut dyn FnMut(u16, &[u8])) -> usize;

    /// Takes up to `max` copies of packets of entries flagged `COPY_TO_CONTROL`
    /// (`dataplane::fib::EntryFlags`), giving each whole frame with the port its packet arrived
    /// on to `f`. Returns how many were taken.
    fn drain_entry_copies(&mut self, max: usize, f: &mut dyn FnMut(u16, &[u8])) -> usize;

    /// Sends a whole Ethernet frame out of `port` (its source MAC is set to the port's).
    /// False if it was refused (no such port, port stopped, no buffer, queue full).
    fn send_frame(&mut self, port: u16, frame: &[u8]) -> bool;

    /// Stages an entry (added or replaced); seen by the workers after [`DataPlane::publish`].
    fn insert_entry(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr, route: Route);

    /// Stages the removal of an entry.
    fn remove_entry(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr);

    /// Publishes the staged changes to the workers.
    fn publish(&mut self) -> Publication;

    /// Whether every worker has passed publication `epoch` (nothing it removed is in use).
    fn acknowledged(&mut self, epoch: u64) -> bool;

    /// How many entries can have counters (counter indices `0..counter_capacity()`).
    fn counter_capacity(&self) -> usize;

    /// (packets, bytes) counted on counter index `counter`, summed over the workers.
    fn entry_totals(&self, counter: u32) -> (u64, u64);

    /// Copies of counter index `counter`'s entry handed to `port`, summed over the workers.
    fn entry_out(&self, counter: u32, port: u16) -> u64;

    /// Wrong-interface packets of counter index `counter`'s entry, summed over the workers.
    fn entry_wrong_if(&self, counter: u32) -> u64;

    /// Whether `port`'s link is up.
    fn link_up(&self, port: u16) -> bool;

    /// Care of the ports at each link check: start ports that could not start, restart
    /// disconnected clients.
    fn maintain_ports(&mut self);

    /// Port `port`'s MAC address and the MTU its interface sends with (for a kernel twin).
    fn port_mac_mtu(&self, port: u16) -> Option<([u8; 6], u16)>;

    /// Makes the workers punt `port`'s exception traffic (ARP, unicast to the port's MAC,
    /// broadcast) to the control core (`on`), or drop it as before.
    fn set_exception_punt(&mut self, port: u16, on: bool);

    /// Creates a kernel twin's tap (kernel interface `name`, MAC `mac`, MTU `mtu`); returns
    /// its index for the `tap_*` calls.
    fn add_tap(&mut self, name: &str, mac: [u8; 6], mtu: u16) -> Result<usize, String>;

    /// Hands a whole Ethernet frame to tap `tap`'s kernel side; false if it was refused.
    fn tap_send(&mut self, tap: usize, frame: &[u8]) -> bool;

    /// Takes up to `max` frames (rounded up to a burst) the kernel sent on tap `tap`, giving
    /// each to `f`. Returns how many were taken.
    fn tap_recv(&mut self, tap: usize, max: usize, f: &mut dyn FnMut(&[u8])) -> usize;

    /// Sets tap `tap`'s kernel interface up or down.
    fn tap_set_link(&mut self, tap: usize, up: bool) -> Result<(), String>;
}
