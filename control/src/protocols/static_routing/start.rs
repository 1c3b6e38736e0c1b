//! What the static routes ask of the MGM at start: their interfaces, their memberships and
//! the entries of the exact (S,G) routes.

use crate::config::Config;
use crate::interface::{interface_id, Interface};
use crate::protocols::shared::StartRequests;
use mgm::{InterfaceId, Scope};

/// The (scope, interface) memberships the static routes of `cfg` stand for.
pub fn memberships(cfg: &Config) -> Result<Vec<(Scope, InterfaceId)>, String> {
    let mut out = Vec::new();
    for r in &cfg.routes {
        let scope = match r.source {
            Some(s) => Scope::source_group(s, r.group),
            None => Scope::any_source(r.group),
        }
        .map_err(|e| format!("route for {}: {e} (Windows error {})", r.group, e.code()))?;
        out.extend(r.oifs.iter().map(|o| (scope, interface_id(o.interface))));
    }
    Ok(out)
}

/// Every interface no other protocol owns (all but the IGMP proxy's upstream one when it
/// runs); the `rpf_routes` into the RIB; the
/// routes' memberships; the exact (S,G) routes' entries made at once, as if their first
/// packet had arrived on the route's incoming interface, so they forward from the first packet
/// on.
pub fn start_requests(cfg: &Config) -> Result<StartRequests, String> {
    Ok(StartRequests {
        unclaimed_interfaces: true,
        rpf_routes: cfg
            .rpf_routes
            .iter()
            .map(|r| {
                (
                    r.network,
                    r.prefix_len,
                    Interface::from_config_index(r.interface),
                    r.next_hop.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                )
            })
            .collect(),
        memberships: memberships(cfg)?,
        misses: cfg
            .routes
            .iter()
            .filter_map(|r| Some((r.source?, r.group, Interface::from_config_index(r.iif))))
            .collect(),
        ..StartRequests::default()
    })
}
