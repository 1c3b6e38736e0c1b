//! The static routes as show data.

use super::instance::StaticRouting;
use crate::interface::Interface;
use serde::Serialize;
use std::net::Ipv4Addr;

/// One route, for show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticRouteInfo {
    /// Source; `None` for a (*,G) route.
    pub source: Option<Ipv4Addr>,
    /// Group.
    pub group: Ipv4Addr,
    /// Incoming interface (`None`: none).
    pub iif: Option<Interface>,
    /// Outgoing interfaces with their TTL thresholds.
    pub oifs: Vec<(Interface, u8)>,
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
                iif: Interface::from_id(r.iif),
                oifs: r
                    .oifs
                    .iter()
                    .filter_map(|&(i, t)| Some((Interface::from_id(i)?, t)))
                    .collect(),
            })
            .collect();
        out.sort_by_key(|r| (r.group, r.source));
        out
    }
}
