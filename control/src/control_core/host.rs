//! The MGM's host: what the MGM calls back into (the protocols, by handle, and the multicast
//! RIB for RPF, and the kernel's routes when RPF reads them).

use crate::control_core::kernel_routes::KernelRoutes;
use crate::protocols::registry::Protocols;
use crate::protocols::static_routing::StaticRouting;
use mgm::{Clients, MgmClient, MulticastRib, ProtocolHandle, RpfLookup, RpfRoute};
use std::net::Ipv4Addr;

/// What the MGM calls back into: the protocols and the RPF table.
pub struct RouterHost {
    /// The running protocols (static routing always; IGMP and the IGMP proxy when the config
    /// has them), keyed by their MGM handle.
    pub protocols: Protocols,
    /// Connected subnets (and, later, static unicast routes) for RPF.
    pub rib: MulticastRib,
    /// The kernel's routes, when `rpf.kernel` is on (see `crate::rib_kernel`).
    pub kernel: Option<Box<dyn KernelRoutes>>,
}

impl RouterHost {
    /// The static routing protocol (it always runs: the control core's start fails without it).
    pub fn static_routing(&self) -> &StaticRouting {
        self.protocols
            .get::<StaticRouting>()
            .expect("static routing runs from the start")
    }
}

impl RouterHost {
    /// The RPF route toward `source` and whether it is the kernel's: the longest prefix of
    /// the connected subnets and `rpf_routes` (`rib`) and the kernel's routes; on the same
    /// prefix, `rib`'s.
    pub fn rpf_with_origin(&self, source: Ipv4Addr) -> Option<(RpfRoute, bool)> {
        let ours = self.rib.rpf_lookup(source);
        let kernel = self.kernel.as_ref().and_then(|k| k.lookup(source));
        match (ours, kernel) {
            (Some(o), Some(k)) if u32::from(k.route.mask) > u32::from(o.route.mask) => {
                Some((k, true))
            }
            (Some(o), _) => Some((o, false)),
            (None, k) => k.map(|k| (k, true)),
        }
    }
}

impl Clients for RouterHost {
    fn client(&mut self, handle: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        self.protocols.client(handle)
    }
}

impl RpfLookup for RouterHost {
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.rpf_with_origin(source).map(|(r, _)| r)
    }
}
