//! Unicast datagrams of the protocols (PIM's Register and Register-Stop): they need a route
//! and the next hop's MAC address, which the kernel has (its routes, its ARP over the twins),
//! so they go to the kernel through this trait (`crate::twin::raw` on the daemon, a recorder
//! in tests): the core does no I/O of its own. The kernel sends them on a twin, whose frames
//! leave through the port (`twins.rs`).

use crate::protocols::shared::Datagram;

/// Where the core hands unicast datagrams.
pub trait UnicastOut {
    /// Sends `d` (its `dst` unicast) through the kernel; false if refused.
    fn send(&mut self, d: &Datagram) -> bool;
}
