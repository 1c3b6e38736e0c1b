//! A source of unicast routes for RPF beside the multicast RIB: the kernel's routing table
//! (`crate::rib_kernel`, over rtnetlink, made by the daemon), reached through a trait so the
//! core does no I/O of its own and a test can give it routes.
//!
//! Order of preference (`RouterHost::rpf_with_origin`): the longest prefix wins across the
//! interfaces' connected subnets, the config's `rpf_routes` and the kernel's routes; on the
//! same prefix, connected and `rpf_routes` win over the kernel.

use mgm::RpfRoute;
use std::net::Ipv4Addr;

/// What the kernel RIB counted (shown by `show stats` as `kernel_rib_*`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KernelRibCounters {
    /// Routes added or replaced.
    pub routes_added: u64,
    /// Routes removed.
    pub routes_removed: u64,
    /// Route messages of other tables, families or types, and address and link messages.
    pub ignored: u64,
    /// Messages the netlink crate could not parse, and kernel errors.
    pub unparsed: u64,
    /// Receive errors on the subscription (an overrun: the table is dumped again).
    pub receive_errors: u64,
    /// Times the table was dumped again (an interface went down or lost an address, whose
    /// routes the kernel removes without a message each; an overrun).
    pub resyncs: u64,
}

/// Unicast routes that change while mrouter runs.
pub trait KernelRoutes {
    /// Reads the changes that arrived (bounded work); returns the prefixes whose route
    /// changed.
    fn poll(&mut self) -> Vec<(Ipv4Addr, u8)>;

    /// The route toward `source` (longest prefix); its `iif` is `InterfaceId::NONE` for a
    /// route through an interface mrouter does not own.
    fn lookup(&self, source: Ipv4Addr) -> Option<RpfRoute>;

    /// What it counted.
    fn counters(&self) -> KernelRibCounters;
}

/// Whether `addr` is in `network/len`.
pub fn covers((network, len): (Ipv4Addr, u8), addr: Ipv4Addr) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    u32::from(addr) & mask == u32::from(network) & mask
}
