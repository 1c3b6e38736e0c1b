//! Rules that span several fields: references by name, uniqueness. Turns the raw schema into
//! the public model, where names have become indices.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::protocols::igmp::{IgmpInterfaceConfig, IgmpSection};

use super::{
    raw::{RawConfig, RawIgmpProxy, RawInterface, RawLimits, RawPort, RawRoute, RawRpfRoute},
    values::Bounded,
    Config, ControlConfig, IgmpProxyConfig, InterfaceConfig, Limits, OifConfig, PortConfig,
    RouteConfig, RpfRouteConfig,
};

/// A rule broken at `field` (a path such as `routes[1].iif`); the caller finds its line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Violation {
    pub field: String,
    pub message: String,
}

fn violation(field: String, message: String) -> Violation {
    Violation { field, message }
}

pub(super) fn validate(raw: RawConfig) -> Result<Config, Violation> {
    if raw.ports.is_empty() {
        return Err(violation(
            "ports".into(),
            "at least one port is required".into(),
        ));
    }
    let ports = ports(&raw.ports)?;
    let ssm_range = raw
        .ssm_range
        .map_or((Ipv4Addr::new(232, 0, 0, 0), 8), |p| (p.network, p.len));
    let interfaces = interfaces(&raw.interfaces, &ports, ssm_range)?;
    let routes = routes(&raw.routes, &interfaces)?;
    let rpf_routes = rpf_routes(&raw.rpf_routes, &interfaces)?;
    let igmp_proxy = raw
        .igmp_proxy
        .as_ref()
        .map(|p| igmp_proxy(p, &interfaces, &routes))
        .transpose()?;
    let limits = limits(raw.limits.as_ref(), &routes)?;
    let control = match raw.control.as_ref().and_then(|c| c.nice) {
        None => ControlConfig::default(),
        Some(n) if (-20..=19).contains(&n) => ControlConfig {
            nice: Some(n as i8),
        },
        Some(n) => {
            return Err(violation(
                "control.nice".into(),
                format!("{n} is out of range (-20 to 19)"),
            ))
        }
    };

    let mut seen = HashMap::new();
    for (i, lcore) in raw.workers.iter().enumerate() {
        if let Some(first) = seen.insert(*lcore, i) {
            return Err(violation(
                format!("workers[{i}]"),
                format!("lcore {lcore} is already workers[{first}]"),
            ));
        }
    }
    Ok(Config {
        eal: raw.eal,
        ports,
        interfaces,
        routes,
        workers: raw.workers,
        rpf_routes,
        ssm_range,
        igmp_proxy,
        limits,
        control,
    })
}

fn limits(raw: Option<&RawLimits>, routes: &[RouteConfig]) -> Result<Limits, Violation> {
    let d = Limits::default();
    let Some(raw) = raw else {
        return Ok(d);
    };
    let pick = |v: Option<Bounded<1, 10_000_000>>, default: u32| v.map_or(default, |b| b.0 as u32);
    let miss_rate = pick(raw.miss_rate, d.miss_rate);
    let l = Limits {
        max_mfes: raw.max_mfes.map_or(d.max_mfes, |b| b.0),
        pending_flows: raw.pending_flows.map_or(d.pending_flows, |b| b.0 as u32),
        pending_packets_per_flow: raw
            .pending_packets_per_flow
            .map_or(d.pending_packets_per_flow, |b| b.0 as u32),
        miss_rate,
        miss_burst: pick(raw.miss_burst, d.miss_burst),
        miss_rate_per_worker: pick(raw.miss_rate_per_worker, miss_rate),
        miss_rate_per_source: pick(raw.miss_rate_per_source, d.miss_rate_per_source),
        entry_lifetime: raw
            .entry_lifetime
            .map_or(d.entry_lifetime, |b| std::time::Duration::from_secs(b.0)),
    };
    let exact = routes.iter().filter(|r| r.source.is_some()).count() as u64;
    if exact > l.max_mfes {
        return Err(violation(
            "limits.max_mfes".into(),
            format!(
                "{} is fewer than the {exact} exact (S,G) routes, which each need an entry",
                l.max_mfes
            ),
        ));
    }
    Ok(l)
}

/// The proxy's upstream runs no IGMP router side and carries no static route's traffic out
/// (the proxy owns it); at least one other interface runs IGMP (its downstream side).
fn igmp_proxy(
    raw: &RawIgmpProxy,
    interfaces: &[InterfaceConfig],
    routes: &[RouteConfig],
) -> Result<IgmpProxyConfig, Violation> {
    let field = "igmp_proxy.upstream".to_string();
    let Some(upstream) = interfaces.iter().position(|i| i.name == raw.upstream) else {
        return Err(violation(
            field,
            format!("no interface is named {}", raw.upstream),
        ));
    };
    if interfaces[upstream].igmp.is_some() {
        return Err(violation(
            field,
            format!(
                "{} has an igmp section: the proxy speaks IGMP there as a host, not as a router (remove it)",
                raw.upstream
            ),
        ));
    }
    if !interfaces.iter().any(|i| i.igmp.is_some()) {
        return Err(violation(
            "igmp_proxy".into(),
            "the proxy has no downstream interface: give at least one other interface an igmp section".into(),
        ));
    }
    for (i, r) in routes.iter().enumerate() {
        if let Some(j) = r.oifs.iter().position(|o| o.interface == upstream) {
            return Err(violation(
                format!("routes[{i}].oifs[{j}].interface"),
                format!(
                    "{} is the IGMP proxy's upstream interface: the proxy decides what goes out there",
                    raw.upstream
                ),
            ));
        }
    }
    let unsolicited_report_interval = raw
        .unsolicited_report_interval
        .map_or(Duration::from_secs(1), |s| Duration::from_secs_f64(s.0));
    Ok(IgmpProxyConfig {
        upstream,
        version: raw.version.map_or(3, |b| b.0 as u8),
        robustness: raw.robustness.map_or(2, |b| b.0 as u8),
        unsolicited_report_interval,
    })
}

fn igmp(
    i: usize,
    raw: &IgmpSection,
    ssm_range: (Ipv4Addr, u8),
) -> Result<IgmpInterfaceConfig, Violation> {
    raw.validate(&format!("interfaces[{i}].igmp"), ssm_range)
        .map_err(|(field, message)| violation(field, message))
}

fn rpf_routes(
    raw: &[RawRpfRoute],
    interfaces: &[InterfaceConfig],
) -> Result<Vec<RpfRouteConfig>, Violation> {
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let Some(interface) = interfaces.iter().position(|f| f.name == r.interface) else {
            return Err(violation(
                format!("rpf_routes[{i}].interface"),
                format!("no interface named {}", r.interface),
            ));
        };
        if let Some(first) = seen.insert((r.prefix.network, r.prefix.len), i) {
            return Err(violation(
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
                return Err(violation(
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

fn ports(raw: &[RawPort]) -> Result<Vec<PortConfig>, Violation> {
    let mut names = HashMap::new();
    let mut devices = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        if let Some(first) = names.insert(p.name.0.as_str(), i) {
            return Err(violation(
                format!("ports[{i}].name"),
                format!("port name {} is already used by ports[{first}]", p.name.0),
            ));
        }
        if let Some(first) = devices.insert(p.device.key.as_str(), i) {
            let msg = format!(
                "device {} is already used by port {}",
                p.device.key, raw[first].name.0
            );
            return Err(violation(format!("ports[{i}].device"), msg));
        }
        let count = |q: Option<Bounded<1, 64>>| q.map_or(1, |q| q.0 as u16);
        out.push(PortConfig {
            name: p.name.0.clone(),
            device: p.device.devargs.clone(),
            rx_queues: count(p.rx_queues),
            tx_queues: count(p.tx_queues),
            mtu: p.mtu.map(|m| m.0 as u16),
        });
    }
    Ok(out)
}

fn interfaces(
    raw: &[RawInterface],
    ports: &[PortConfig],
    ssm_range: (Ipv4Addr, u8),
) -> Result<Vec<InterfaceConfig>, Violation> {
    let mut names = HashMap::new();
    let mut on_port: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<InterfaceConfig> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        if let Some(first) = names.insert(r.name.0.as_str(), i) {
            let msg = format!(
                "interface name {} is already used by interfaces[{first}]",
                r.name.0
            );
            return Err(violation(format!("interfaces[{i}].name"), msg));
        }
        let Some(port) = ports.iter().position(|p| p.name == r.port) else {
            return Err(violation(
                format!("interfaces[{i}].port"),
                format!("no port is named {}", r.port),
            ));
        };
        if let Some(first) = on_port.insert(port, i) {
            let msg = format!(
                "port {} already has interface {} (at most one per port)",
                r.port, raw[first].name.0
            );
            return Err(violation(format!("interfaces[{i}].port"), msg));
        }
        let new = InterfaceConfig {
            name: r.name.0.clone(),
            port,
            address: r.address.address,
            prefix_len: r.address.prefix_len,
            igmp: r.igmp.as_ref().map(|g| igmp(i, g, ssm_range)).transpose()?,
        };
        // Overlapping subnets would make the connected route, and so RPF, ambiguous.
        if let Some(old) = out
            .iter()
            .find(|old| old.contains(new.network()) || new.contains(old.network()))
        {
            let msg = format!(
                "{}/{} overlaps interface {} ({}/{})",
                new.address, new.prefix_len, old.name, old.address, old.prefix_len
            );
            return Err(violation(format!("interfaces[{i}].address"), msg));
        }
        out.push(new);
    }
    Ok(out)
}

fn routes(raw: &[RawRoute], interfaces: &[InterfaceConfig]) -> Result<Vec<RouteConfig>, Violation> {
    let find = |name: &str| interfaces.iter().position(|i| i.name == name);
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let source = r.source.and_then(|s| s.0);
        let group = r.group.0;
        let Some(iif) = find(&r.iif) else {
            return Err(violation(
                format!("routes[{i}].iif"),
                format!("no interface is named {}", r.iif),
            ));
        };
        let mut oifs: Vec<OifConfig> = Vec::with_capacity(r.oifs.len());
        for (j, o) in r.oifs.iter().enumerate() {
            let field = format!("routes[{i}].oifs[{j}].interface");
            let Some(interface) = find(&o.interface) else {
                return Err(violation(
                    field,
                    format!("no interface is named {}", o.interface),
                ));
            };
            if interface == iif {
                return Err(violation(
                    field,
                    format!("{} is the incoming interface of this route", o.interface),
                ));
            }
            if let Some(first) = oifs.iter().position(|x| x.interface == interface) {
                return Err(violation(
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
            return Err(violation(
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
