//! The static routing protocol's state: the routes, and its MGM callbacks.

use super::start::start_requests;
use crate::config::Config;
use crate::protocols::shared::{ReloadRequests, ShowView, StartRequests};
use crate::protocols::{Protocol, Started};
use mgm::{ClientId, InterfaceId, Mgm, MgmClient, OifEntry, RpfRequest};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The protocol id the static routes register with (Windows' `PROTO_IP_NETMGMT`, "routes added
/// by management", the closest documented id).
pub const STATIC_PROTOCOL: ClientId = ClientId {
    protocol: 3,
    component: 1,
};

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
    pub(super) routes: HashMap<(Ipv4Addr, Ipv4Addr), StaticRoute>,
}

impl StaticRouting {
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

impl Protocol for StaticRouting {
    fn name(&self) -> &'static str {
        "static"
    }

    fn client_id(&self) -> ClientId {
        STATIC_PROTOCOL
    }

    fn config_section(&self) -> &'static str {
        "routes"
    }

    fn start_requests(&self, cfg: &Config) -> Result<StartRequests, String> {
        start_requests(cfg)
    }

    fn prepare_reload(&self, old: &Config, new: &Config) -> Result<ReloadRequests, String> {
        super::reload::prepare(old, new)
    }

    fn commit_reload(&mut self, _now: Duration, new: &Config) {
        *self = StaticRouting::from_config(new);
    }

    fn show(&self, _now: Duration) -> Vec<ShowView> {
        vec![ShowView::new("static routes", &self.route_infos())]
    }
}

/// The registry's constructor: static routing always runs (it owns every interface but the
/// IGMP proxy's upstream one).
pub(super) fn start(cfg: &Config, _now: Duration) -> Started {
    Ok(Some(Box::new(StaticRouting::from_config(cfg))))
}
