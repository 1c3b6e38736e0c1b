//! The core following the kernel's routes (`rpf: { kernel: true }`): each turn the route
//! changes that arrived (bounded: see `crate::rib_kernel`) re-validate, through the MGM, every
//! entry whose source a changed prefix covers, so its incoming interface follows the route
//! (the RPF callback runs again) or the entry becomes negative when no route is left.

use crate::control_core::kernel_routes::covers;
use crate::control_core::state::State;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Reads the kernel's route changes and re-validates the entries they touch; returns how
/// many prefixes changed.
pub fn follow_kernel_routes(st: &mut State, now: Duration) -> usize {
    let Some(kernel) = st.host.kernel.as_mut() else {
        return 0;
    };
    let changed = kernel.poll();
    if changed.is_empty() {
        return 0;
    }
    let stale: Vec<(Ipv4Addr, Ipv4Addr)> = st
        .mgm
        .mfes(now)
        .filter(|m| changed.iter().any(|p| covers(*p, m.source)))
        .map(|m| (m.source, m.group))
        .collect();
    for (source, group) in stale {
        if st.mgm.revalidate(now, &mut st.host, source, group).is_ok() {
            st.counters.kernel_rib_entries_revalidated += 1;
        }
    }
    changed.len()
}
