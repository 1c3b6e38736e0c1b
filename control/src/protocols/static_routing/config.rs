//! The static routes of the config file (its `routes` section, validated by `crate::config`)
//! as the protocol keeps them, and the MGM memberships they stand for.

use super::instance::{StaticRoute, StaticRouting};
use crate::config::Config;
use crate::interface::interface_id;
use mgm::{InterfaceId, Scope};
use std::net::Ipv4Addr;

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
}

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
