//! Static routing's config sections, `routes` (static multicast routes) and `rpf_routes`
//! (static unicast routes for RPF): declared here as serde types, validated against the
//! router's interfaces into the model's [`RouteConfig`]s and [`RpfRouteConfig`]s, and the
//! routes as the protocol keeps them.

use super::instance::{StaticRoute, StaticRouting};
use crate::config::values::{Group, NextHop, Prefix, Source};
use crate::config::{
    Config, ConfigSection, InterfaceConfig, OifConfig, RouteConfig, RpfRouteConfig, SectionError,
    Violation,
};
use crate::interface::interface_id;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// Static routing's part of the config file.
pub(super) const SECTION: ConfigSection = ConfigSection {
    keys: &["routes", "rpf_routes"],
    interface_keys: &[],
    load,
    check: crate::config::section::no_check,
};

/// The keys static routing reads from the file; serde_yaml reports a bad value with its line
/// and path (`routes[0].oifs[1].ttl_threshold`). Other keys are the core's and other
/// protocols'.
#[derive(Debug, Deserialize)]
struct Sections {
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    rpf_routes: Vec<RawRpfRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    group: Group,
    #[serde(default)]
    source: Option<Source>,
    iif: String,
    /// Required, so that a route that drops (`oifs: []`) is written on purpose.
    oifs: Vec<RawOif>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOif {
    interface: String,
    #[serde(default)]
    ttl_threshold: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRpfRoute {
    prefix: Prefix,
    interface: String,
    #[serde(default)]
    next_hop: Option<NextHop>,
}

fn load(text: &str, cfg: &mut Config) -> Result<(), SectionError> {
    let raw: Sections = serde_yaml::from_str(text)?;
    cfg.routes = routes(&raw.routes, &cfg.interfaces)?;
    cfg.rpf_routes = rpf_routes(&raw.rpf_routes, &cfg.interfaces)?;
    let exact = cfg.routes.iter().filter(|r| r.source.is_some()).count() as u64;
    if exact > cfg.limits.max_mfes {
        return Err(Violation::new(
            "limits.max_mfes",
            format!(
                "{} is fewer than the {exact} exact (S,G) routes, which each need an entry",
                cfg.limits.max_mfes
            ),
        )
        .into());
    }
    Ok(())
}

fn routes(raw: &[RawRoute], interfaces: &[InterfaceConfig]) -> Result<Vec<RouteConfig>, Violation> {
    let find = |name: &str| interfaces.iter().position(|i| i.name == name);
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let source = r.source.and_then(|s| s.0);
        let group = r.group.0;
        let Some(iif) = find(&r.iif) else {
            return Err(Violation::new(
                format!("routes[{i}].iif"),
                format!("no interface is named {}", r.iif),
            ));
        };
        let mut oifs: Vec<OifConfig> = Vec::with_capacity(r.oifs.len());
        for (j, o) in r.oifs.iter().enumerate() {
            let field = format!("routes[{i}].oifs[{j}].interface");
            let Some(interface) = find(&o.interface) else {
                return Err(Violation::new(
                    field,
                    format!("no interface is named {}", o.interface),
                ));
            };
            if interface == iif {
                return Err(Violation::new(
                    field,
                    format!("{} is the incoming interface of this route", o.interface),
                ));
            }
            if let Some(first) = oifs.iter().position(|x| x.interface == interface) {
                return Err(Violation::new(
                    field,
                    format!("{} is already routes[{i}].oifs[{first}]", o.interface),
                ));
            }
            oifs.push(OifConfig {
                interface,
                ttl_threshold: o.ttl_threshold.unwrap_or(1),
            });
        }
        if let Some(first) = seen.insert((source, group), i) {
            let s = source.map_or_else(|| "*".to_string(), |s| s.to_string());
            return Err(Violation::new(
                format!("routes[{i}]"),
                format!("route ({s}, {group}) is already routes[{first}]"),
            ));
        }
        out.push(RouteConfig {
            source,
            group,
            iif,
            oifs,
        });
    }
    Ok(out)
}

fn rpf_routes(
    raw: &[RawRpfRoute],
    interfaces: &[InterfaceConfig],
) -> Result<Vec<RpfRouteConfig>, Violation> {
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let Some(interface) = interfaces.iter().position(|f| f.name == r.interface) else {
            return Err(Violation::new(
                format!("rpf_routes[{i}].interface"),
                format!("no interface named {}", r.interface),
            ));
        };
        if let Some(first) = seen.insert((r.prefix.network, r.prefix.len), i) {
            return Err(Violation::new(
                format!("rpf_routes[{i}].prefix"),
                format!(
                    "{}/{} is already rpf_routes[{first}]",
                    r.prefix.network, r.prefix.len
                ),
            ));
        }
        let next_hop = r.next_hop.map(|n| n.0);
        if let Some(nh) = next_hop {
            let f = &interfaces[interface];
            if !f.contains(nh) || nh == f.address {
                return Err(Violation::new(
                    format!("rpf_routes[{i}].next_hop"),
                    format!(
                        "{nh} is not a neighbour on {} ({}/{})",
                        f.name, f.address, f.prefix_len
                    ),
                ));
            }
        }
        out.push(RpfRouteConfig {
            network: r.prefix.network,
            prefix_len: r.prefix.len,
            interface,
            next_hop,
        });
    }
    Ok(out)
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
}
