//! The static routes as show data.

use super::instance::StaticRouting;
use serde::Serialize;
use std::net::Ipv4Addr;

/// One route, for show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticRouteInfo {
    /// Source; `None` for a (*,G) route.
    pub source: Option<Ipv4Addr>,
    /// Group.
    pub group: Ipv4Addr,
    /// Incoming interface (MGM index).
    pub iif: u32,
    /// Outgoing interfaces (MGM index) with their TTL thresholds.
    pub oifs: Vec<(u32, u8)>,
}

impl StaticRouting {
    /// Every route, in (group, source) order.
    pub fn route_infos(&self) -> Vec<StaticRouteInfo> {
        let mut out: Vec<StaticRouteInfo> = self
            .routes
            .iter()
            .map(|(&(source, group), r)| StaticRouteInfo {
                source: (!source.is_unspecified()).then_some(source),
                group,
                iif: r.iif.index,
                oifs: r.oifs.iter().map(|(i, t)| (i.index, *t)).collect(),
            })
            .collect();
        out.sort_by_key(|r| (r.group, r.source));
        out
    }
}
