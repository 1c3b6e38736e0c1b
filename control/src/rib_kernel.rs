//! RPF from the kernel's routing table (`rpf: { kernel: true, table: main }`): the IPv4
//! unicast routes of one kernel table, which routing daemons (FRR's OSPF, IS-IS, BGP through
//! zebra) and `ip route` fill in the namespace mrouter runs in, over the kernel twins.
//!
//! At start the table is dumped over rtnetlink (after subscribing to route, address and link
//! changes, so none is missed in between); each control turn then reads at most
//! [`DATAGRAMS_PER_TURN`] change datagrams. A route's outgoing interface is a twin's kernel
//! index, mapped to the twin's interface; a route through an interface mrouter does not own
//! maps to no interface, so the MGM makes entries for its sources negative. The caller
//! re-validates every entry whose source a changed prefix covers.
//!
//! The kernel removes the routes through an interface that goes down or loses its address
//! without a route message for each: a link or address-removal message makes mrouter dump
//! the table again and compare.
//!
//! Order of preference (see `crate::control_core::RouterHost::rpf_with_origin`): the longest prefix wins
//! across the interfaces' connected subnets, the config's `rpf_routes` and the kernel's routes;
//! on the same prefix, connected and `rpf_routes` win over the kernel.
//!
//! Limits: one route per prefix (the kernel may hold several with different metrics or TOS:
//! the last added or changed is used, and deleting any of them deletes it here); of an ECMP
//! route the first next hop. Messages of other families, tables or types (local, broadcast,
//! unreachable...) are ignored and counted; what the crate cannot parse is counted too.

use crate::control_core::{KernelRibCounters, KernelRoutes};
use crate::rtnl::{Received, Rtnl};
use mgm::{InterfaceId, MulticastRib, RpfLookup, RpfRoute};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Change datagrams read per control turn at most.
pub const DATAGRAMS_PER_TURN: usize = 32;

/// One kernel route as mrouter keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KernelRoute {
    ifindex: u32,
    gateway: Ipv4Addr,
}

/// The kernel's routes of one table, for RPF.
pub struct KernelRib {
    table: u32,
    events: Rtnl,
    routes: HashMap<(Ipv4Addr, u8), KernelRoute>,
    rib: MulticastRib,
    /// The interface of each twin's kernel interface index.
    interfaces: HashMap<u32, InterfaceId>,
    counters: KernelRibCounters,
}

impl KernelRib {
    /// Subscribes to changes, then dumps `table`; `interfaces` maps the twins' kernel interface
    /// indices to their interfaces (any other index is an interface mrouter does not own).
    pub fn start(table: u32, interfaces: HashMap<u32, InterfaceId>) -> std::io::Result<KernelRib> {
        let events = Rtnl::subscribe()?;
        let mut rib = KernelRib {
            table,
            events,
            routes: HashMap::new(),
            rib: MulticastRib::new(),
            interfaces,
            counters: KernelRibCounters::default(),
        };
        rib.dump()?;
        Ok(rib)
    }

    fn dump(&mut self) -> std::io::Result<()> {
        let mut rtnl = Rtnl::new()?;
        rtnl.dump_routes()?;
        'read: loop {
            for r in rtnl.recv()? {
                match r {
                    Received::Done => break 'read,
                    Received::Message(m) => {
                        self.apply(&m);
                    }
                    Received::Unparsed => self.counters.unparsed += 1,
                }
            }
        }
        Ok(())
    }

    /// Reads the changes that arrived (bounded); returns the prefixes whose route changed.
    fn read_changes(&mut self) -> Vec<(Ipv4Addr, u8)> {
        let mut changed = Vec::new();
        let mut resync = false;
        for _ in 0..DATAGRAMS_PER_TURN {
            let received = match self.events.recv() {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    // ENOBUFS: changes were lost; read the whole table again.
                    self.counters.receive_errors += 1;
                    resync = true;
                    break;
                }
            };
            for r in received {
                match r {
                    // The kernel removes the routes through an interface that goes down or
                    // loses its address without a message per route: read the table again.
                    Received::Message(
                        RouteNetlinkMessage::NewLink(_)
                        | RouteNetlinkMessage::DelLink(_)
                        | RouteNetlinkMessage::DelAddress(_),
                    ) => {
                        self.counters.ignored += 1;
                        resync = true;
                    }
                    Received::Message(m) => changed.extend(self.apply(&m)),
                    Received::Done => {}
                    Received::Unparsed => self.counters.unparsed += 1,
                }
            }
        }
        if resync {
            changed.extend(self.resync());
        }
        changed
    }

    /// Dumps the table again and returns the prefixes whose route differs from before.
    fn resync(&mut self) -> Vec<(Ipv4Addr, u8)> {
        self.counters.resyncs += 1;
        let before = std::mem::take(&mut self.routes);
        let counters = self.counters;
        self.rib = MulticastRib::new();
        if self.dump().is_err() {
            self.counters.receive_errors += 1;
        }
        // A dump re-adds every route: only real differences count.
        self.counters.routes_added = counters.routes_added;
        self.counters.routes_removed = counters.routes_removed;
        let mut changed = Vec::new();
        for (prefix, route) in &before {
            match self.routes.get(prefix) {
                Some(now) if now == route => {}
                Some(_) => {
                    self.counters.routes_added += 1;
                    changed.push(*prefix);
                }
                None => {
                    self.counters.routes_removed += 1;
                    changed.push(*prefix);
                }
            }
        }
        for prefix in self.routes.keys().filter(|p| !before.contains_key(p)) {
            self.counters.routes_added += 1;
            changed.push(*prefix);
        }
        changed
    }

    /// Applies one message; returns the prefix whose route it changed.
    fn apply(&mut self, msg: &RouteNetlinkMessage) -> Option<(Ipv4Addr, u8)> {
        let (add, m) = match msg {
            RouteNetlinkMessage::NewRoute(m) => (true, m),
            RouteNetlinkMessage::DelRoute(m) => (false, m),
            _ => {
                self.counters.ignored += 1;
                return None;
            }
        };
        let Some((prefix, route)) = self.parse(m) else {
            self.counters.ignored += 1;
            return None;
        };
        if add {
            if self.routes.insert(prefix, route) == Some(route) {
                return None;
            }
            let iif = self
                .interfaces
                .get(&route.ifindex)
                .copied()
                .unwrap_or(InterfaceId::NONE);
            self.rib.add_route(prefix.0, prefix.1, iif, route.gateway);
            self.counters.routes_added += 1;
        } else {
            self.routes.remove(&prefix)?;
            self.rib.remove_route(prefix.0, prefix.1);
            self.counters.routes_removed += 1;
        }
        Some(prefix)
    }

    /// The prefix and route of an IPv4 unicast route of our table; `None` for anything else.
    fn parse(&self, m: &RouteMessage) -> Option<((Ipv4Addr, u8), KernelRoute)> {
        let h = &m.header;
        if h.address_family != AddressFamily::Inet || h.kind != RouteType::Unicast {
            return None;
        }
        let mut table = u32::from(h.table);
        let (mut dst, mut ifindex, mut gateway) = (Ipv4Addr::UNSPECIFIED, None, None);
        for a in &m.attributes {
            match a {
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Destination(RouteAddress::Inet(d)) => dst = *d,
                RouteAttribute::Oif(i) => ifindex = Some(*i),
                RouteAttribute::Gateway(RouteAddress::Inet(g)) => gateway = Some(*g),
                RouteAttribute::MultiPath(hops) if ifindex.is_none() => {
                    if let Some(hop) = hops.first() {
                        ifindex = Some(hop.interface_index);
                        gateway = hop.attributes.iter().find_map(|a| match a {
                            RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(*g),
                            _ => None,
                        });
                    }
                }
                _ => {}
            }
        }
        if table != self.table || h.destination_prefix_length > 32 {
            return None;
        }
        Some((
            (dst, h.destination_prefix_length),
            KernelRoute {
                ifindex: ifindex?,
                gateway: gateway.unwrap_or(Ipv4Addr::UNSPECIFIED),
            },
        ))
    }
}

impl KernelRoutes for KernelRib {
    fn poll(&mut self) -> Vec<(Ipv4Addr, u8)> {
        self.read_changes()
    }

    fn lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.rib.rpf_lookup(source)
    }

    fn counters(&self) -> KernelRibCounters {
        self.counters
    }
}
