//! The control core's start: the MGM, the RIB (connected subnets), and every
//! protocol the config runs, started from what it asks for ([`StartRequests`]) in the order
//! the MGM's alert rules need: routing protocols registered with their interfaces, then their
//! memberships, then their first entries; local membership (IGMP) last.

use crate::config::Config;
use crate::control_core::admission::MissLimiter;
use crate::control_core::counter_index::CounterIndices;
use crate::control_core::counters::ControlCounters;
use crate::control_core::host::RouterHost;
use crate::control_core::latency::MissLatency;
use crate::control_core::ports::PortMap;
use crate::control_core::state::State;
use crate::interface::{interface_id, Interface};
use crate::protocols::registry::{self, Protocols};
use crate::protocols::shared::StartRequests;
use crate::protocols::static_routing::StaticRouting;
use crate::protocols::{Protocol, Registration};
use mgm::{MembershipFlags, Mgm, Miss, MulticastRib, ProtocolHandle};
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// An MGM error as a message, with the Windows error code it corresponds to.
pub fn mgm_err(what: &str, e: mgm::MgmError) -> String {
    format!("{what}: {e} (Windows error {})", e.code())
}

/// The core's state at `now`: the RIB with the interfaces' connected subnets, and every
/// protocol of `registry` the config runs started (see the module doc; static routing, which
/// adds the `rpf_routes`, always runs).
pub fn start(cfg: &Config, now: Duration, registry: &[Registration]) -> Result<State, String> {
    let started = registry::start_with(registry, cfg, now)?;
    let mut st = State {
        mgm: Mgm::new(mgm::MgmConfig {
            default_lifetime: cfg.limits.entry_lifetime,
            // Off unless a protocol asks (PIM's Assert): Windows never calls it.
            wrong_if_callback: started.iter().any(|p| p.wants_wrong_interface()),
            ..Default::default()
        }),
        host: RouterHost {
            protocols: Protocols::new(),
            rib: MulticastRib::new(),
            kernel: None,
        },
        ports: PortMap::new(cfg),
        counters: ControlCounters::default(),
        meta: HashMap::new(),
        limiter: MissLimiter::new(cfg.limits, cfg.workers.len()),
        own_addresses: cfg.interfaces.iter().map(|i| i.address).collect(),
        // Per slot: copies are counted per outgoing interface, VLAN interfaces included.
        indices: CounterIndices::new(PortMap::new(cfg).slots()),
        latency: MissLatency::default(),
        events: VecDeque::new(),
        twins: Default::default(),
        unicast: None,
    };
    if !started.iter().any(|p| p.as_any().is::<StaticRouting>()) {
        return Err("static routing did not start".into());
    }
    for (idx, iface) in cfg.interfaces.iter().enumerate() {
        st.host.rib.add_route(
            iface.network(),
            iface.prefix_len,
            interface_id(idx),
            Ipv4Addr::UNSPECIFIED,
        );
    }
    let mut all = Vec::new();
    for p in started {
        let requests = p.start_requests(cfg)?;
        all.push((p, requests));
    }
    // Interfaces other routing protocols own (IGMP, a local-membership protocol, owns its
    // interfaces beside their routing protocol).
    let claimed: Vec<Interface> = all
        .iter()
        .filter(|(_, r)| !r.local_membership)
        .flat_map(|(_, r)| r.interfaces.iter().copied())
        .collect();
    let mut routing = Vec::new();
    let mut local = Vec::new();
    for (p, mut requests) in all {
        if requests.unclaimed_interfaces {
            requests.interfaces.extend(
                (0..cfg.interfaces.len())
                    .map(Interface::from_config_index)
                    .filter(|i| !claimed.contains(i)),
            );
        }
        if requests.local_membership {
            local.push((p, requests));
        } else {
            routing.push((p, requests));
        }
    }
    // The routing protocols first, in registry order, each with its interfaces: all of them
    // are registered before any route's membership, so each hears (through the alert rules)
    // of every group the others add (the IGMP proxy of the static routes' groups).
    let mut registered = Vec::new();
    for (p, requests) in routing {
        let handle = register(&mut st, cfg, now, p, &requests)?;
        registered.push((handle, requests));
    }
    for (handle, requests) in &registered {
        for &(scope, iface) in &requests.memberships {
            st.mgm
                .add_group_membership(
                    now,
                    &mut st.host,
                    *handle,
                    scope,
                    iface,
                    MembershipFlags::JOIN,
                )
                .map_err(|e| mgm_err(&format!("membership on {iface}"), e))?;
        }
    }
    for (_, requests) in &registered {
        make_entries(&mut st, &requests.misses, now);
    }
    // Local membership (IGMP) last, as the MGM's IGMP client on its interfaces; its startup
    // queries go out at the first turns.
    for (p, requests) in local {
        register(&mut st, cfg, now, p, &requests)?;
    }
    Ok(st)
}

/// Registers `p` with the MGM and gives it its interfaces, the memberships that come with
/// them and its RPF routes.
fn register(
    st: &mut State,
    cfg: &Config,
    now: Duration,
    p: Box<dyn Protocol>,
    requests: &StartRequests,
) -> Result<ProtocolHandle, String> {
    let name = p.name();
    let iface_name = |iface: Interface| {
        cfg.interfaces
            .get(iface.config_index())
            .map_or_else(|| iface.to_string(), |i| i.name.clone())
    };
    let handle = st
        .mgm
        .register_protocol(now, p.client_id())
        .map_err(|e| mgm_err(&format!("register {name}"), e))?;
    st.host.protocols.insert(handle, p);
    for &iface in &requests.interfaces {
        st.mgm
            .take_interface_ownership(now, &mut st.host, handle, iface.id())
            .map_err(|e| mgm_err(&format!("{name} on {}", iface_name(iface)), e))?;
    }
    for &(scope, iface) in &requests.interface_memberships {
        st.mgm
            .add_group_membership(
                now,
                &mut st.host,
                handle,
                scope,
                iface.id(),
                MembershipFlags::JOIN,
            )
            .map_err(|e| mgm_err(&format!("{name} membership on {}", iface_name(iface)), e))?;
    }
    for &(network, prefix_len, iface, next_hop) in &requests.rpf_routes {
        st.host
            .rib
            .add_route(network, prefix_len, iface.id(), next_hop);
    }
    Ok(handle)
}

/// Creates the MFEs of `misses` (source, group, arrival interface) now, as if their first
/// packet had arrived, unless they exist; their installs are applied at the next turn.
pub fn make_entries(st: &mut State, misses: &[(Ipv4Addr, Ipv4Addr, Interface)], now: Duration) {
    for &(source, group, arrival) in misses {
        if st.mgm.get_mfe(now, source, group).is_ok() {
            continue;
        }
        let miss = Miss {
            source,
            group,
            arrival: arrival.id(),
            header: &[],
        };
        if st.mgm.handle_miss(now, &mut st.host, &miss).is_err() {
            st.counters.misses_rejected += 1;
        }
    }
}
