//! Reload: a new config applied as a difference. Changes of the core's own settings that need
//! a restart (ports, interfaces, workers, EAL arguments, the SSM range, limits, `control`, `rpf`)
//! are refused here; every running protocol then checks its own section
//! (`Protocol::prepare_reload`) and either refuses, with its reason, or says what it asks of
//! the core: RIB routes, memberships, entries to refresh or make (`ReloadRequests`). Only when
//! all accepted does anything change: each protocol takes its new settings
//! (`Protocol::commit_reload`) and the core applies its requests, so the MGM updates only the
//! entries whose outgoing interfaces change and flows whose routes did not change are not
//! touched. A protocol the old config did not run and the new one does needs a restart too.

use crate::config::{Config, InterfaceConfig};
use crate::control_core::data_plane::DataPlane;
use crate::control_core::fib_sync::{apply_changes, refresh_entries};
use crate::control_core::protocol_turn::refresh_rpf;
use crate::control_core::start::{make_entries, mgm_err};
use crate::control_core::state::State;
use crate::protocols::shared::ReloadRequests;
use crate::protocols::Registration;
use mgm::{MembershipFlags, ProtocolHandle};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The interfaces without the protocols' per-interface sections (which their protocols judge).
fn core_part(interfaces: &[InterfaceConfig]) -> Vec<InterfaceConfig> {
    interfaces
        .iter()
        .map(|i| InterfaceConfig {
            igmp: None,
            ..i.clone()
        })
        .collect()
}

/// Applies `new` in place of `old` (see the module doc); the message says what changed.
/// `registry` is what the core was started with.
pub fn apply_reload(
    st: &mut State,
    dp: &mut dyn DataPlane,
    now: Duration,
    registry: &[Registration],
    old: &Config,
    new: &Config,
) -> Result<String, String> {
    let restart = [
        (old.ports != new.ports, "ports"),
        (
            core_part(&old.interfaces) != core_part(&new.interfaces),
            "interfaces",
        ),
        (old.workers != new.workers, "workers"),
        (old.eal != new.eal, "eal"),
        // The IGMP instance takes the SSM range at start.
        (old.ssm_range != new.ssm_range, "ssm_range"),
        (old.limits != new.limits, "limits"),
        (old.control != new.control, "control"),
        (old.rpf_kernel_table != new.rpf_kernel_table, "rpf"),
        (old.dataplane != new.dataplane, "dataplane"),
    ];
    if let Some((_, what)) = restart.iter().find(|(changed, _)| *changed) {
        return Err(format!(
            "`{what}` changed: restart mrouter to apply that (nothing was changed)"
        ));
    }
    let running: Vec<&'static str> = st.host.protocols.iter().map(|(_, p)| p.name()).collect();
    for r in registry.iter().filter(|r| !running.contains(&r.name)) {
        if (r.start)(new, now)?.is_some() {
            let section = r
                .config
                .keys
                .first()
                .map(|k| k.to_string())
                .or_else(|| {
                    r.config
                        .interface_keys
                        .first()
                        .map(|k| format!("interfaces[].{k}"))
                })
                .unwrap_or_else(|| r.name.to_string());
            return Err(format!(
                "`{section}` changed: {} would start; restart mrouter to apply that (nothing was changed)",
                r.name
            ));
        }
    }
    let mut plans: Vec<(ProtocolHandle, ReloadRequests)> = Vec::new();
    for (handle, p) in st.host.protocols.iter() {
        plans.push((handle, p.prepare_reload(old, new)?));
    }
    let (mut removed, mut added, mut rpf_changed) = (0, 0, 0);
    let mut refresh: HashSet<Ipv4Addr> = HashSet::new();
    let mut misses = Vec::new();
    for (handle, plan) in plans {
        if let Some(p) = st.host.protocols.by_handle_mut(handle) {
            p.commit_reload(now, new);
        }
        for &(network, prefix_len) in &plan.rpf_routes_removed {
            st.host.rib.remove_route(network, prefix_len);
            rpf_changed += 1;
        }
        for &(network, prefix_len, iface, next_hop) in &plan.rpf_routes_added {
            st.host
                .rib
                .add_route(network, prefix_len, iface.id(), next_hop);
            rpf_changed += 1;
        }
        for &(scope, iface) in &plan.memberships_removed {
            st.mgm
                .delete_group_membership(
                    now,
                    &mut st.host,
                    handle,
                    scope,
                    iface,
                    MembershipFlags::JOIN,
                )
                .map_err(|e| mgm_err(&format!("remove membership on {iface}"), e))?;
            removed += 1;
        }
        for &(scope, iface) in &plan.memberships_added {
            st.mgm
                .add_group_membership(
                    now,
                    &mut st.host,
                    handle,
                    scope,
                    iface,
                    MembershipFlags::JOIN,
                )
                .map_err(|e| mgm_err(&format!("add membership on {iface}"), e))?;
            added += 1;
        }
        refresh.extend(plan.refresh_groups);
        misses.extend(plan.misses);
    }
    // Rebuilt after every protocol took its settings (the TTL thresholds are static
    // routing's); the MGM's own updates are applied after, in order.
    let refreshed = refresh_entries(st, dp, now, |m| refresh.contains(&m.group));
    make_entries(st, &misses, now);
    if rpf_changed > 0 {
        refresh_rpf(st, now);
    }
    apply_changes(st, dp, now);
    if refreshed > 0 {
        dp.publish();
    }
    Ok(format!(
        "reloaded: {removed} memberships removed, {added} added, {refreshed} entries refreshed, {rpf_changed} RPF routes changed"
    ))
}
