//! A reload of the static routes and the RPF routes, as a difference: the memberships, RIB
//! routes and entries that change, nothing else. A route whose incoming interface changes is
//! refused (its entries would keep the old one until they expire).

use super::start::{memberships, start_requests};
use crate::config::{Config, RouteConfig};
use crate::interface::Interface;
use crate::protocols::shared::ReloadRequests;
use mgm::{InterfaceId, Scope};
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// What going from `old` to `new` asks of the core (see [`ReloadRequests`]).
pub(super) fn prepare(old: &Config, new: &Config) -> Result<ReloadRequests, String> {
    let old_routes = by_key(old);
    let new_routes = by_key(new);
    for (key, r) in &new_routes {
        if let Some(o) = old_routes.get(key) {
            if o.iif != r.iif {
                let src = if key.0.is_unspecified() {
                    "*".to_string()
                } else {
                    key.0.to_string()
                };
                return Err(format!(
                    "the incoming interface of route ({src}, {}) changed: remove the route, reload, then add it back (nothing was changed)",
                    key.1
                ));
            }
        }
    }
    let before: HashSet<(Scope, InterfaceId)> = memberships(old)?.into_iter().collect();
    let after: HashSet<(Scope, InterfaceId)> = memberships(new)?.into_iter().collect();
    // New sources use changed RPF routes at once; entries already made keep their IIF until
    // the MGM re-validates them (at the end of their lifetime).
    let rpf_routes_removed = old
        .rpf_routes
        .iter()
        .filter(|r| !new.rpf_routes.contains(r))
        .map(|r| (r.network, r.prefix_len))
        .collect();
    let rpf_routes_added = new
        .rpf_routes
        .iter()
        .filter(|r| !old.rpf_routes.contains(r))
        .map(|r| {
            (
                r.network,
                r.prefix_len,
                Interface::from_config_index(r.interface),
                r.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED),
            )
        })
        .collect();
    // TTL thresholds live in the static routes, not in the MGM: the entries of groups whose
    // routes changed at all are rebuilt.
    let refresh_groups: HashSet<Ipv4Addr> = old_routes
        .iter()
        .filter(|(k, r)| new_routes.get(k) != Some(r))
        .chain(
            new_routes
                .iter()
                .filter(|(k, r)| old_routes.get(k) != Some(r)),
        )
        .map(|((_, g), _)| *g)
        .collect();
    Ok(ReloadRequests {
        rpf_routes_removed,
        rpf_routes_added,
        memberships_removed: before.difference(&after).copied().collect(),
        memberships_added: after.difference(&before).copied().collect(),
        refresh_groups: refresh_groups.into_iter().collect(),
        misses: start_requests(new)?.misses,
    })
}

/// The routes of `cfg` by (source or 0.0.0.0 for (*,G), group), as the protocol keys them.
fn by_key(cfg: &Config) -> HashMap<(Ipv4Addr, Ipv4Addr), &RouteConfig> {
    cfg.routes
        .iter()
        .map(|r| ((r.source.unwrap_or(Ipv4Addr::UNSPECIFIED), r.group), r))
        .collect()
}
