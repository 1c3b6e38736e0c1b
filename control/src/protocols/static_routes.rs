//! Static multicast routes from the config, as an MGM routing protocol (smcroute-style: a
//! (*,G) route creates (S,G) entries on demand for every source that sends).
//!
//! - It owns every interface and turns each route's outgoing interfaces into MGM memberships:
//!   (S,G) routes into source-specific ones, (*,G) routes into any-source ones.
//! - RPF callback: the route's configured incoming interface replaces the one the unicast
//!   lookup toward S found (a static route says where its traffic comes from). The MGM calls
//!   it for traffic that arrived on one of the interfaces this protocol owns (every interface
//!   but the IGMP proxy's upstream one), whatever interface the route toward S names, as the
//!   seed page "RPF Alert Callbacks" says; traffic arriving on the proxy's upstream interface
//!   is the proxy's to decide, even for a group a static route names.
//! - Creation alert: an exact (S,G) route overrides the (*,G) route of its group, so only its
//!   own outgoing interfaces stay enabled (MGM's OIF list is the union of both memberships).

use crate::config::Config;
use mgm::{ClientId, InterfaceId, Mgm, MgmClient, OifEntry, RpfRequest};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// The protocol id the static routes register with (Windows' `PROTO_IP_NETMGMT`, "routes added
/// by management", the closest documented id).
pub const STATIC_PROTOCOL: ClientId = ClientId {
    protocol: 3,
    component: 1,
};

/// The MGM interface of config interface `ifidx` (MGM index 0 means "none", so +1).
pub fn interface_id(ifidx: usize) -> InterfaceId {
    InterfaceId::new(ifidx as u32 + 1)
}

/// The config interface index of an MGM interface, if it is one.
pub fn config_index(iface: InterfaceId) -> Option<usize> {
    (iface.index as usize).checked_sub(1)
}

/// One route as the protocol keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticRoute {
    /// Where the route's traffic must arrive.
    pub iif: InterfaceId,
    /// Outgoing interfaces with their TTL thresholds.
    pub oifs: Vec<(InterfaceId, u8)>,
}

/// The protocol's state: the routes, keyed by (source or 0.0.0.0 for (*,G), group).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StaticRouting {
    routes: HashMap<(Ipv4Addr, Ipv4Addr), StaticRoute>,
}

impl StaticRouting {
    /// The routes of `cfg`.
    pub fn from_config(cfg: &Config) -> StaticRouting {
        let routes = cfg
            .routes
            .iter()
            .map(|r| {
                (
                    (r.source.unwrap_or(Ipv4Addr::UNSPECIFIED), r.group),
                    StaticRoute {
                        iif: interface_id(r.iif),
                        oifs: r
                            .oifs
                            .iter()
                            .map(|o| (interface_id(o.interface), o.ttl_threshold))
                            .collect(),
                    },
                )
            })
            .collect();
        StaticRouting { routes }
    }

    /// The route that governs (S,G): the exact one, else the group's (*,G) one.
    pub fn route_for(&self, source: Ipv4Addr, group: Ipv4Addr) -> Option<&StaticRoute> {
        self.routes
            .get(&(source, group))
            .or_else(|| self.routes.get(&(Ipv4Addr::UNSPECIFIED, group)))
    }

    /// Every route: ((source, 0.0.0.0 for *), group) -> route.
    pub fn routes(&self) -> &HashMap<(Ipv4Addr, Ipv4Addr), StaticRoute> {
        &self.routes
    }

    /// TTL threshold of `oif` for (S,G) (1 when the route does not say).
    pub fn ttl_threshold(&self, source: Ipv4Addr, group: Ipv4Addr, oif: InterfaceId) -> u8 {
        self.route_for(source, group)
            .and_then(|r| r.oifs.iter().find(|(i, _)| *i == oif))
            .map_or(1, |(_, t)| *t)
    }
}

impl MgmClient for StaticRouting {
    fn rpf(&mut self, _mgm: &Mgm, request: &mut RpfRequest<'_>) {
        if let Some(route) = self.route_for(request.source, request.group) {
            request.iif = route.iif;
        }
    }

    fn creation_alert(
        &mut self,
        _mgm: &Mgm,
        source: Ipv4Addr,
        group: Ipv4Addr,
        _iif: InterfaceId,
        oifs: &mut [OifEntry],
    ) {
        if let Some(route) = self.route_for(source, group) {
            for oif in oifs.iter_mut() {
                oif.enabled = route.oifs.iter().any(|(i, _)| *i == oif.iface);
            }
        }
    }
}
